//! Helpers shared by the integration tests: the fixtures folder and running the binary.
// Each test file uses only some of them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn asset(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/assets")
        .join(name)
}

/// Runs the `taskmem` binary with `args`.
pub fn taskmem(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taskmem"))
        .args(args)
        .output()
        .expect("run taskmem")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
