//! The `taskmem` binary: no subcommand opens the GUI; subcommands run headless.

use std::process::ExitCode;

use clap::Parser;
use taskmem::cli::{Cli, run};

/// Caps glibc's malloc at one arena per core (its default is eight per core). Each thread
/// that allocates gets an arena, and an arena keeps what was freed in it: a remote batch
/// (threads that decode, encode and send, one per stream and one per request) held 50 MB
/// more at its peak for it, and 100 MB more overall, with no gain in speed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn limit_malloc_arenas() {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let arenas = libc::c_int::try_from(cores.max(2)).unwrap_or(libc::c_int::MAX);
    // SAFETY: `mallopt` only sets a tuning parameter of the allocator; it is called before
    // any other thread exists, and a refusal (0) leaves glibc's default in place.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() -> ExitCode {
    limit_malloc_arenas();
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
