//! Project tasks beyond `cargo test`: `cargo xtask test` (the whole suite) and `cargo xtask ci`
//! (formatting, lints, then the same suite). Plain `std::process::Command`, no dependencies,
//! so it builds in a second on a fresh machine.

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    let result = match task.as_str() {
        "test" => test(),
        "ci" => ci(),
        _ => {
            eprintln!("usage: cargo xtask <test|ci>");
            eprintln!("  test  run the whole test suite (what the README calls the test command)");
            eprintln!("  ci    check formatting and lints, then run the test suite (what .ci/run runs)");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask {task}: FAILED: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    eprintln!("xtask: running {program} {}", args.join(" "));
    let status = Command::new(program).args(args).status().map_err(|e| format!("cannot start {program}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("`{program} {}` exited with {status}", args.join(" "))) }
}

fn has_nextest() -> bool {
    Command::new("cargo").args(["nextest", "--version"]).output().is_ok_and(|o| o.status.success())
}

fn test() -> Result<(), String> {
    // nextest runs test binaries in parallel processes; plain `cargo test` gives the same verdict.
    if has_nextest() {
        run("cargo", &["nextest", "run", "--workspace", "--no-fail-fast", "--failure-output", "final"])?;
        // nextest does not run doctests.
        run("cargo", &["test", "--workspace", "--doc"])
    } else {
        run("cargo", &["test", "--workspace", "--no-fail-fast"])
    }
}

fn ci() -> Result<(), String> {
    run("cargo", &["fmt", "--all", "--", "--check"])?;
    run("cargo", &["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"])?;
    test()
}
