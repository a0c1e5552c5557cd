//! The `hongbao` command. Only the command-line definition and glue live here: the rules are
//! in `hongbao-core`, the ordering and batching in `hongbao-engine`, storage in the store
//! crates.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use hongbao_core::Limits;
use hongbao_store_sqlite::{Durability, SqliteStore};

mod demo;

#[derive(Debug, Parser)]
#[command(name = "hongbao", version, about = "Red packets (红包) over a double-entry ledger that never loses a fen")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run a narrated scenario on a fresh temporary database and check every invariant.
    Demo {
        /// Keep the demo database in this directory instead of a temporary one.
        #[arg(long, value_name = "DIR")]
        keep: Option<PathBuf>,
    },
    /// Verify every invariant of the ledger on a database; exits 1 and lists each violation.
    Check {
        /// The SQLite database file.
        #[arg(long, value_name = "PATH", env = "HONGBAO_DATABASE")]
        database: PathBuf,
    },
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
        Cmd::Demo { keep } => demo::run(keep).await,
        Cmd::Check { database } => check(database).await,
    }
}

async fn check(database: PathBuf) -> anyhow::Result<ExitCode> {
    if !database.exists() {
        anyhow::bail!("no database at {}", database.display());
    }
    let store = SqliteStore::open(&database, Durability::Full)
        .await
        .with_context(|| format!("cannot open {}", database.display()))?;
    let report = hongbao_engine::check(&store, &Limits::default()).await?;
    println!("{report}");
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Opens (creating if needed) the SQLite store at `path`, shared by the demo and `check`.
pub(crate) async fn open_store(path: &std::path::Path) -> anyhow::Result<Arc<SqliteStore>> {
    let store =
        SqliteStore::open(path, Durability::Full).await.with_context(|| format!("cannot open {}", path.display()))?;
    Ok(Arc::new(store))
}
