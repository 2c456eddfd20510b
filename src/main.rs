//! The `taskmem` binary: no subcommand opens the GUI; subcommands run headless.

use std::process::ExitCode;

use clap::Parser;
use taskmem::cli::{Cli, run};

fn main() -> ExitCode {
    taskmem::alloc::limit_arenas();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    match cli.command {
        Some(command) => match run(command) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {err}");
                ExitCode::from(err.exit_code())
            }
        },
        None => match taskmem::app::run_native(cli.video) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {err:#}");
                ExitCode::FAILURE
            }
        },
    }
}
