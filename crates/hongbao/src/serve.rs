//! `hongbao serve` and `hongbao migrate`: the HTTP API on an embedded SQLite database or on
//! PostgreSQL, configured by flags, a TOML file and `HONGBAO_…` environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use hongbao_server::run::{Database, Options, Settings, start};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HONGBAO_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory for the database and the bootstrap credentials.
    #[arg(long, env = "HONGBAO_DATA_DIR", default_value = "./hongbao-data")]
    data_dir: PathBuf,
    /// The database: a SQLite file (default: <data-dir>/hongbao.db) or a PostgreSQL URL
    /// (postgres://user@host/db), which several nodes may share.
    #[arg(long, env = "HONGBAO_DATABASE")]
    database: Option<String>,
    /// Enable POST /v1/dev/clock, which moves the business clock forward (development only).
    #[arg(long)]
    dev_clock: bool,
    /// A TOML file with [limits], [engine], [http] and [storage] tables; every field optional.
    /// Environment variables override it, e.g. HONGBAO_LIMITS__SHARE_MAX_FEN=10000.
    #[arg(long, env = "HONGBAO_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
}

/// Reads the settings: defaults, then the file, then `HONGBAO_<TABLE>__<FIELD>` variables.
pub fn settings(file: Option<&PathBuf>) -> anyhow::Result<Settings> {
    let mut figment = Figment::new();
    if let Some(file) = file {
        if !file.exists() {
            anyhow::bail!("the config file {} does not exist", file.display());
        }
        figment = figment.merge(Toml::file(file));
    }
    let tables = ["limits__", "engine__", "http__", "storage__"];
    let env =
        Env::prefixed("HONGBAO_").filter(move |key| tables.iter().any(|t| key.as_str().starts_with(t))).split("__");
    let settings: Settings = figment.merge(env).extract().context("invalid configuration")?;
    settings.validate().map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    Ok(settings)
}

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let settings = settings(args.config.as_ref())?;
    let options = Options {
        listen: args.listen,
        data_dir: args.data_dir,
        database: args.database.as_deref().map(Database::parse),
        dev_clock: args.dev_clock,
        settings,
    };
    let running = start(options).await?;
    if let Some(path) = &running.root_credentials {
        // The path, never the secret: the file is readable by its owner only.
        say(&format!("created the operator root; its credentials are in {}", path.display()));
    }
    say(&format!("hongbao serving on {}", running.url));
    running.run_until(shutdown_signal()).await.context("the server stopped with an error")?;
    say("hongbao stopped");
    Ok(ExitCode::SUCCESS)
}

/// A line on standard output that cannot take the server down: a closed stdout (a supervisor
/// that went away) is no reason to stop serving or to fail a clean shutdown.
fn say(line: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// `hongbao migrate`: brings a database to this version's schema, and stops.
pub async fn migrate(database: &str, config: Option<&PathBuf>) -> anyhow::Result<ExitCode> {
    let settings = settings(config)?;
    let database = Database::parse(database);
    // Opening migrates (sqlx's migration lock keeps concurrent nodes safe).
    let store = database.open(&settings.storage).await?;
    say(&format!("{database} is at this version's schema ({} store, {})", store.backend(), store.durability()));
    Ok(ExitCode::SUCCESS)
}
