//! The `hongbao` command. Only the command-line definition and glue live here: the rules are
//! in `hongbao-core`, the ordering and batching in `hongbao-engine`, storage in the store
//! crates.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use hongbao_core::Limits;
use hongbao_store_sqlite::{Durability, SqliteStore};

mod client_cmd;
mod demo;
mod serve;

#[derive(Debug, Parser)]
#[command(name = "hongbao", version, about = "Red packets (红包) over a double-entry ledger that never loses a fen")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Serve the HTTP API (API.md) on an embedded SQLite database.
    Serve(serve::ServeArgs),
    /// Run a narrated scenario on a fresh temporary database and check every invariant.
    Demo {
        /// Keep the demo database in this directory instead of a temporary one.
        #[arg(long, value_name = "DIR")]
        keep: Option<PathBuf>,
    },
    /// Verify every invariant of the ledger on a database; exits 1 and lists each violation.
    Check {
        /// The data directory of `hongbao serve`; its database is <data-dir>/hongbao.db.
        #[arg(long, env = "HONGBAO_DATA_DIR", default_value = "./hongbao-data")]
        data_dir: PathBuf,
        /// The SQLite database file, instead of the one in the data directory.
        #[arg(long, value_name = "PATH", env = "HONGBAO_DATABASE")]
        database: Option<PathBuf>,
        /// The server's config file, so the check uses the same limits.
        #[arg(long, env = "HONGBAO_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
    // The client commands (`me`, `send`, `claim`, …), each a subcommand of its own.
    #[command(flatten)]
    Client(client_cmd::ClientCmd),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HONGBAO_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Cmd::Serve(args) => serve::run(args).await,
        Cmd::Demo { keep } => demo::run(keep).await,
        Cmd::Check { data_dir, database, config } => {
            let limits = serve::settings(config.as_ref())?.limits;
            check(database.unwrap_or_else(|| data_dir.join("hongbao.db")), &limits).await
        }
        Cmd::Client(cmd) => client_cmd::run(cmd).await,
    }
}

async fn check(database: PathBuf, limits: &Limits) -> anyhow::Result<ExitCode> {
    if !database.exists() {
        anyhow::bail!("no database at {}", database.display());
    }
    let store = SqliteStore::open(&database, Durability::Full)
        .await
        .with_context(|| format!("cannot open {}", database.display()))?;
    let report = hongbao_engine::check(&store, limits).await?;
    println!("{report}");
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
