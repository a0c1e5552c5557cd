//! Starting and stopping a server: store, engine, jobs, bootstrap, listener, graceful shutdown.
//! `hongbao serve`, the demo and the tests all start a server through [`start`].

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hongbao_core::Limits;
use hongbao_core::ops::{Command, Reply};
use hongbao_core::principal::Role;
use hongbao_engine::{Clock, DevClock, Engine, EngineConfig, SystemClock};
use hongbao_store::Store;
use hongbao_store_sqlite::{Durability, SqliteStore};
use serde::{Deserialize, Serialize};
use std::future::IntoFuture as _;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::state::{AppState, HttpConfig};

/// Everything configurable, as the config file (`--config`, TOML) and the environment give it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub limits: Limits,
    pub engine: EngineConfig,
    pub http: HttpConfig,
    pub storage: StorageSettings,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSettings {
    /// SQLite durability: `full` (default), `normal`, or `off` (benchmarks only).
    pub durability: Durability,
}

impl Settings {
    /// # Errors
    /// A message naming the first unusable value.
    pub fn validate(&self) -> Result<(), String> {
        self.limits.validate().map_err(|e| e.to_string())?;
        self.engine.validate()?;
        self.http.validate()
    }
}

/// How to start a server.
#[derive(Clone, Debug)]
pub struct Options {
    pub listen: SocketAddr,
    /// Holds `hongbao.db` (unless `database` says otherwise) and the bootstrap credentials.
    pub data_dir: PathBuf,
    /// The SQLite file; `<data_dir>/hongbao.db` when `None`.
    pub database: Option<PathBuf>,
    /// Enables `POST /v1/dev/clock` and a business clock that can move forward.
    pub dev_clock: bool,
    pub settings: Settings,
}

/// Why a server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("{0}")]
    Io(String),
    #[error(transparent)]
    Store(#[from] hongbao_store::StoreError),
    #[error(transparent)]
    Engine(#[from] hongbao_engine::EngineError),
}

/// A running server.
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    /// `http://<addr>`.
    pub url: String,
    /// Where the root operator's credentials were written, when this start created them.
    pub root_credentials: Option<PathBuf>,
    pub engine: Engine,
    stop: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops taking connections, lets requests in flight finish (up to the grace period),
    /// applies what the engine has queued, and returns.
    ///
    /// # Errors
    /// When the listener failed.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.stop.send(true);
        self.finish().await
    }

    /// Runs until `signal` completes, then stops as [`Running::stop`] does.
    ///
    /// # Errors
    /// When the listener failed.
    pub async fn run_until(self, signal: impl std::future::Future<Output = ()>) -> std::io::Result<()> {
        signal.await;
        self.stop().await
    }

    async fn finish(self) -> std::io::Result<()> {
        let served = self.task.await.map_err(std::io::Error::other)?;
        self.engine.shutdown().await;
        served
    }
}

/// Opens the store, starts the engine and its jobs, creates the root operator on first start,
/// and serves HTTP on `options.listen`.
///
/// # Errors
/// [`StartError`] with a message a person can act on.
pub async fn start(options: Options) -> Result<Running, StartError> {
    options.settings.validate().map_err(StartError::Config)?;
    std::fs::create_dir_all(&options.data_dir)
        .map_err(|e| StartError::Io(format!("cannot create the data directory {}: {e}", options.data_dir.display())))?;
    let database = options.database.clone().unwrap_or_else(|| options.data_dir.join("hongbao.db"));
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&database, options.settings.storage.durability).await?);
    let clock: Arc<dyn Clock> = if options.dev_clock { Arc::new(DevClock::new()) } else { Arc::new(SystemClock) };
    let settings = options.settings;
    let engine = Engine::start(store.clone(), clock, settings.limits.clone(), settings.engine.clone(), None)?;
    engine.spawn_jobs();

    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| StartError::Io(format!("cannot listen on {}: {e}", options.listen)))?;
    let addr = listener.local_addr().map_err(|e| StartError::Io(e.to_string()))?;
    let url = format!("http://{addr}");
    let root_credentials = bootstrap(&engine, store.as_ref(), &options.data_dir, &url).await?;

    let state = AppState::new(engine.clone(), settings.http.clone(), options.dev_clock).map_err(StartError::Config)?;
    let forget = state.clone();
    tokio::spawn(async move {
        // Keeps the rate limiter's memory to the keys that were active lately.
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            forget.rate_limits.forget_idle();
        }
    });
    let (stop, mut stopped) = watch::channel(false);
    let mut deadline = stop.subscribe();
    let grace = Duration::from_secs(settings.http.shutdown_grace_s);
    let app = crate::app(state);
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.changed().await;
            })
            .into_future();
        // Requests in flight get `grace` to finish once the stop is asked; then we stop anyway.
        let give_up = async move {
            let _ = deadline.changed().await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            served = server => served,
            () = give_up => {
                tracing::warn!(grace_s = grace.as_secs(), "requests still running after the grace period; stopping anyway");
                Ok(())
            }
        }
    });
    tracing::info!(%url, database = %database.display(), dev_clock = options.dev_clock, "hongbao is serving");
    Ok(Running { addr, url, root_credentials, engine, stop, task })
}

/// Creates the operator `root` with every role when the database has no operator, and writes
/// `{"url", "key_id", "secret"}` to `<data_dir>/root-credentials.json` with mode 0600.
async fn bootstrap(
    engine: &Engine,
    store: &dyn Store,
    data_dir: &Path,
    url: &str,
) -> Result<Option<PathBuf>, StartError> {
    if store.has_operator().await? {
        return Ok(None);
    }
    let command = Command::CreateOperator { name: "root".to_owned(), roles: Role::ALL.to_vec() };
    let Reply::Operator(root) = engine.execute(command).await? else {
        return Err(StartError::Io("creating the root operator answered something else".to_owned()));
    };
    let path = data_dir.join("root-credentials.json");
    let body = serde_json::json!({ "url": url, "key_id": root.key_id, "secret": root.secret.expose() });
    write_private(&path, &serde_json::to_vec_pretty(&body).unwrap_or_default())
        .map_err(|e| StartError::Io(format!("cannot write {}: {e}", path.display())))?;
    Ok(Some(path))
}

/// Writes a file only its owner can read (mode 0600 from the moment it exists).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
