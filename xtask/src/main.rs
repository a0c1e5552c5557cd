//! Project tasks beyond `cargo test`: `cargo xtask test` (the whole suite, after making sure the
//! PostgreSQL it needs is running), `cargo xtask purity` (hongbao-core has no dependency that does
//! I/O, reads a clock or OS randomness, and its source calls none) and `cargo xtask ci`
//! (formatting, purity, lints, then the same suite). Plain `std::process::Command`, no
//! dependencies, so it builds in a second on a fresh machine.

mod purity;

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    let result = match task.as_str() {
        "test" => test(),
        "purity" => purity::check(),
        "ci" => ci(),
        _ => {
            eprintln!("usage: cargo xtask <test|purity|ci>");
            eprintln!("  test    run the whole test suite (what the README calls the test command)");
            eprintln!("  purity  check that hongbao-core does no I/O and reads no clock or OS randomness");
            eprintln!("  ci      check formatting, purity and lints, then run the test suite (what .ci/run runs)");
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

pub(crate) fn run(program: &str, args: &[&str]) -> Result<(), String> {
    eprintln!("xtask: running {program} {}", args.join(" "));
    let status = Command::new(program).args(args).status().map_err(|e| format!("cannot start {program}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("`{program} {}` exited with {status}", args.join(" "))) }
}

fn has_nextest() -> bool {
    Command::new("cargo").args(["nextest", "--version"]).output().is_ok_and(|o| o.status.success())
}

/// Whether the test PostgreSQL answers (`pg_isready`).
fn postgres_ready(host: &str, port: &str) -> bool {
    Command::new("pg_isready").args(["-h", host, "-p", port, "-t", "2"]).output().is_ok_and(|o| o.status.success())
}

/// Makes sure the PostgreSQL the tests use is running: starts the machine's cluster when it is
/// down. Under CI a PostgreSQL that cannot be reached fails the run; elsewhere the PostgreSQL
/// suites report themselves skipped, and this says so first.
fn ensure_postgres() -> Result<(), String> {
    let url =
        std::env::var("HONGBAO_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let authority = url.split("://").nth(1).unwrap_or_default().split('/').next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or("127.0.0.1:5432");
    let (host, port) = host_port.split_once(':').unwrap_or((host_port, "5432"));
    if postgres_ready(host, port) {
        eprintln!("xtask: PostgreSQL is up at {host}:{port}");
        return Ok(());
    }
    eprintln!("xtask: PostgreSQL is not answering at {host}:{port}; starting the machine's cluster");
    let versions =
        std::fs::read_dir("/etc/postgresql").map(|d| d.filter_map(Result::ok).collect::<Vec<_>>()).unwrap_or_default();
    for version in versions {
        let version = version.file_name().to_string_lossy().into_owned();
        let _ = Command::new("pg_ctlcluster").args(["--skip-systemctl-redirect", &version, "main", "start"]).status();
    }
    for _ in 0..30 {
        if postgres_ready(host, port) {
            eprintln!("xtask: PostgreSQL started");
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    let message = format!("PostgreSQL is not reachable at {host}:{port} and could not be started");
    if std::env::var_os("CI").is_some() {
        Err(format!("{message}: CI runs the PostgreSQL suites"))
    } else {
        eprintln!("xtask: {message}: the PostgreSQL suites will report themselves SKIPPED");
        Ok(())
    }
}

fn test() -> Result<(), String> {
    ensure_postgres()?;
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
    purity::check()?;
    run("cargo", &["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"])?;
    test()
}
