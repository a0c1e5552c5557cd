//! The `hongbao` command. Only the command-line definition and glue live here: the rules are
//! in `hongbao-core`, the ordering and batching in `hongbao-engine`, storage in the store
//! crates.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ed25519_dalek::VerifyingKey;
use hongbao_server::run::{Database, LOG_KEY_FILE, Settings, read_log_key};
use out::outln;

mod client_cmd;
mod demo;
mod out;
mod serve;
mod verify;

#[derive(Debug, Parser)]
#[command(name = "hongbao", version, about = "Red packets (红包) over a double-entry ledger that never loses a fen")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Serve the HTTP API (docs/API.md) on an embedded SQLite database or on PostgreSQL.
    Serve(serve::ServeArgs),
    /// Bring a database to this version's schema (PostgreSQL; SQLite migrates when opened).
    Migrate {
        /// A PostgreSQL URL or a SQLite file.
        #[arg(long, env = "HONGBAO_DATABASE")]
        database: String,
        #[arg(long, env = "HONGBAO_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Measure throughput and latency of the hot, spread and mixed workloads against the naive
    /// way and the storage engine's batched ceiling (see docs/BENCHMARKS.md).
    Bench(hongbao_bench::BenchArgs),
    /// Run a narrated scenario on a fresh temporary database and check every invariant.
    Demo {
        /// Keep the demo database in this directory instead of a temporary one.
        #[arg(long, value_name = "DIR")]
        keep: Option<PathBuf>,
    },
    /// Verify every invariant of the ledger and the transparency log on a database; exits 1 and
    /// lists each problem.
    Check {
        /// The data directory of `hongbao serve`; its database is <data-dir>/hongbao.db.
        #[arg(long, env = "HONGBAO_DATA_DIR", default_value = "./hongbao-data")]
        data_dir: PathBuf,
        /// The database, instead of the one in the data directory: a SQLite file or a
        /// PostgreSQL URL.
        #[arg(long, value_name = "PATH_OR_URL", env = "HONGBAO_DATABASE")]
        database: Option<String>,
        /// The server's config file, so the check uses the same limits.
        #[arg(long, env = "HONGBAO_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
        /// The log's verifier key (name+keyid+base64, or a file holding it); by default the
        /// public half of <data-dir>/log-signing-key.
        #[arg(long, env = "HONGBAO_LOG_KEY")]
        public_key: Option<String>,
    },
    /// Verify receipts, checkpoints and lucky packets against the log's public key.
    #[command(subcommand)]
    Verify(verify::VerifyCmd),
    /// Read the public transparency log: its key and its latest checkpoint.
    #[command(subcommand)]
    Audit(verify::AuditCmd),
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
        // The reader of our output went away (`| head`): it has what it wanted.
        Err(err) if out::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Cmd::Serve(args) => serve::run(args).await,
        Cmd::Migrate { database, config } => serve::migrate(&database, config.as_ref()).await,
        Cmd::Demo { keep } => demo::run(keep).await,
        Cmd::Bench(args) => hongbao_bench::run(args).await,
        Cmd::Check { data_dir, database, config, public_key } => {
            let settings = serve::settings(config.as_ref())?;
            let key = match public_key {
                Some(text) => Some(*verify::verifier(&text)?.verifying_key()),
                None => {
                    // The configured key file, else the one in the data directory, else the one
                    // next to a SQLite database.
                    let next_to_database = database
                        .as_deref()
                        .filter(|d| !d.starts_with("postgres"))
                        .and_then(|d| std::path::Path::new(d).parent().map(|p| p.join(LOG_KEY_FILE)));
                    let candidates =
                        [settings.audit.signing_key_file.clone(), Some(data_dir.join(LOG_KEY_FILE)), next_to_database];
                    let file = candidates.into_iter().flatten().find(|f| f.exists());
                    file.map(|f| read_log_key(&f)).transpose()?.map(|k| k.verifying_key())
                }
            };
            let database = match database {
                Some(text) => Database::parse(&text),
                None => Database::Sqlite(data_dir.join("hongbao.db")),
            };
            check(database, &settings, key.as_ref()).await
        }
        Cmd::Client(cmd) => client_cmd::run(cmd).await,
        Cmd::Verify(cmd) => verify::run(cmd).await,
        Cmd::Audit(cmd) => verify::audit(cmd).await,
    }
}

async fn check(database: Database, settings: &Settings, log_key: Option<&VerifyingKey>) -> anyhow::Result<ExitCode> {
    if let Database::Sqlite(path) = &database
        && !path.exists()
    {
        anyhow::bail!("no database at {}", path.display());
    }
    let store = database.open(&settings.storage).await.with_context(|| format!("cannot open {database}"))?;
    let report = hongbao_engine::check(store.as_ref(), &settings.limits, log_key).await?;
    outln!("{report}");
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
