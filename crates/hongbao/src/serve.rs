//! `hongbao serve` and `hongbao migrate`: the HTTP API on an embedded SQLite database or on
//! PostgreSQL, configured by flags, a TOML file and `HONGBAO_…` environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use hongbao_server::run::{Database, Options, Settings, start};
use hongbao_server::tls::TlsFiles;

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
    /// A TOML file with [limits], [engine], [http], [storage] and [audit] tables; every field
    /// optional. Environment variables override it, e.g. HONGBAO_LIMITS__SHARE_MAX_FEN=10000.
    #[arg(long, env = "HONGBAO_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Serve https with this PEM certificate chain (the server's certificate first). Without
    /// it the server speaks plain http: put it behind a TLS proxy, or keep it on loopback.
    #[arg(long, env = "HONGBAO_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert, readable by its owner (and group) only.
    #[arg(long, env = "HONGBAO_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

/// Reads the settings: defaults, then the file, then `HONGBAO_<TABLE>__<FIELD>` variables
/// (any case, e.g. `HONGBAO_LIMITS__SHARE_MAX_FEN=10000`). A variable that names a table or a
/// field that does not exist, or whose value does not fit its field, stops the start with a
/// message naming the variable: a setting given and silently not applied is a surprise.
pub fn settings(file: Option<&PathBuf>) -> anyhow::Result<Settings> {
    let mut figment = Figment::new();
    if let Some(file) = file {
        if !file.exists() {
            anyhow::bail!("the config file {} does not exist", file.display());
        }
        figment = figment.merge(Toml::file(file));
    }
    let tables = tables();
    check_environment(std::env::vars_os(), &tables)?;
    let prefixes: Vec<String> = tables.iter().map(|t| format!("{t}__")).collect();
    let env = Env::prefixed(ENV_PREFIX)
        .filter(move |key| {
            let key = key.as_str().to_ascii_lowercase();
            prefixes.iter().any(|p| key.starts_with(p.as_str()))
        })
        .split("__");
    let settings: Settings = figment.merge(env).extract().map_err(explain)?;
    settings.validate().map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    Ok(settings)
}

const ENV_PREFIX: &str = "HONGBAO_";

/// figment's errors, with a value from the environment named by its variable
/// (`HONGBAO_LIMITS__SHARE_MAX_FEN: invalid type …`), the way the operator wrote it.
fn explain(errors: figment::Error) -> anyhow::Error {
    let lines: Vec<String> = errors
        .into_iter()
        .map(|err| {
            let from_env = err.metadata.as_ref().is_some_and(|m| m.name.contains("environment"));
            if from_env && !err.path.is_empty() {
                let name = err.path.iter().map(|p| p.to_ascii_uppercase()).collect::<Vec<_>>().join("__");
                format!("{ENV_PREFIX}{name}: {}", err.kind)
            } else {
                err.to_string()
            }
        })
        .collect();
    anyhow::anyhow!("invalid configuration: {}", lines.join("; "))
}

/// The configuration's tables (`limits`, `engine`, …), as [`Settings`] names them, so a new
/// table is settable from the environment the day it exists.
fn tables() -> Vec<String> {
    match serde_json::to_value(Settings::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => unreachable!("Settings serializes as a table of tables"),
    }
}

/// Refuses `HONGBAO_…` variables meant as settings that would not be applied: an unknown table
/// (`HONGBAO_LIMIT__…`), a single underscore where two are needed (`HONGBAO_LIMITS_SHARE…`), a
/// value that is not UTF-8. The other `HONGBAO_…` variables (`HONGBAO_LISTEN`, `HONGBAO_URL`, …)
/// belong to the command-line flags and are left to them.
fn check_environment(
    vars: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
    tables: &[String],
) -> anyhow::Result<()> {
    let known =
        || tables.iter().map(|t| format!("HONGBAO_{}__", t.to_ascii_uppercase())).collect::<Vec<_>>().join(", ");
    for (name, value) in vars {
        let Some(name) = name.to_str() else { continue };
        // figment takes the prefix in any case, so the check does too.
        let prefixed = name.get(..ENV_PREFIX.len()).is_some_and(|p| p.eq_ignore_ascii_case(ENV_PREFIX));
        let Some(rest) = name.get(ENV_PREFIX.len()..).filter(|_| prefixed) else { continue };
        let lower = rest.to_ascii_lowercase();
        if let Some((table, field)) = lower.split_once("__") {
            if !tables.iter().any(|t| t == table) {
                anyhow::bail!("invalid configuration: {name}: there is no [{table}] table (settings are {}…)", known());
            }
            if field.is_empty() {
                anyhow::bail!("invalid configuration: {name} names no field of [{table}]");
            }
            if value.to_str().is_none() {
                anyhow::bail!("invalid configuration: {name}: the value is not UTF-8");
            }
        } else if let Some(table) = tables.iter().find(|t| lower.starts_with(&format!("{t}_"))) {
            let field = &rest[table.len() + 1..];
            anyhow::bail!(
                "invalid configuration: {name} is not understood; a field of [{table}] is set as \
                 HONGBAO_{}__{field} (two underscores)",
                table.to_ascii_uppercase()
            );
        }
    }
    Ok(())
}

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let settings = settings(args.config.as_ref())?;
    let options = Options {
        listen: args.listen,
        data_dir: args.data_dir,
        database: args.database.as_deref().map(Database::parse),
        dev_clock: args.dev_clock,
        tls: args.tls_cert.zip(args.tls_key).map(|(cert, key)| TlsFiles { cert, key }),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(vars: &[(&str, &str)]) -> Result<(), String> {
        let vars = vars.iter().map(|(k, v)| ((*k).into(), (*v).into()));
        check_environment(vars, &tables()).map_err(|e| e.to_string())
    }

    #[test]
    fn every_table_of_the_settings_is_settable_from_the_environment() {
        let mut tables = tables();
        tables.sort();
        assert_eq!(tables, ["audit", "engine", "http", "limits", "storage"]);
    }

    #[test]
    fn a_setting_variable_that_would_not_be_applied_is_refused_by_name() {
        assert_eq!(checked(&[("HONGBAO_LIMITS__SHARE_MAX_FEN", "100"), ("HONGBAO_LISTEN", "x")]), Ok(()));
        assert_eq!(checked(&[("hongbao_audit__enabled", "false"), ("OTHER_LIMIT__X", "1")]), Ok(()));
        let unknown = checked(&[("HONGBAO_LIMIT__SHARE_MAX_FEN", "100")]).unwrap_err();
        assert!(unknown.contains("HONGBAO_LIMIT__SHARE_MAX_FEN: there is no [limit] table"), "{unknown}");
        let single = checked(&[("HONGBAO_LIMITS_SHARE_MAX_FEN", "100")]).unwrap_err();
        assert!(single.contains("set as HONGBAO_LIMITS__SHARE_MAX_FEN (two underscores)"), "{single}");
        let empty = checked(&[("HONGBAO_HTTP__", "1")]).unwrap_err();
        assert!(empty.contains("HONGBAO_HTTP__ names no field of [http]"), "{empty}");
        let lower = checked(&[("hongbao_limit__share_max_fen", "100")]).unwrap_err();
        assert!(
            lower.contains("there is no [limit] table"),
            "a lowercase variable is checked as figment reads it: {lower}"
        );
    }

    #[test]
    fn the_risk_table_is_read_from_the_config_file_and_refused_naming_the_field_when_unsound() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hongbao.toml");
        std::fs::write(
            &file,
            "[limits.risk.fraud_reports]\nreporters_min = 4\n[limits.risk.freezes.court]\nterm_max_s = 86400\n",
        )
        .unwrap();
        let read = settings(Some(&file)).unwrap();
        assert_eq!(read.limits.risk.fraud_reports.reporters_min, 4);
        assert_eq!(read.limits.risk.freezes.court.term_max_s, Some(86_400));
        assert_eq!(read.limits.risk.fraud_reports.window_s, 7 * 24 * 3600, "a field left out keeps its default");
        std::fs::write(&file, "[limits.risk.aml_fan_in]\nwithdrawn_percent_min = 120\n").unwrap();
        let err = settings(Some(&file)).unwrap_err().to_string();
        assert!(err.contains("risk.aml_fan_in.withdrawn_percent_min is 120"), "{err}");
    }
}
