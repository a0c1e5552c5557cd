//! Starting and stopping a server: store, engine, jobs, bootstrap, listener, graceful shutdown.
//! `hongbao serve`, the demo and the tests all start a server through [`start`].

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::{SigningKey, VerifyingKey};
use hongbao_core::ops::{Command, Reply};
use hongbao_core::principal::Role;
use hongbao_core::{Limits, Timestamp};
use hongbao_engine::jobs::{Job, JobClock, JobReport};
use hongbao_engine::{AuditConfig, Clock, DevClock, Engine, EngineConfig, EngineError, StartOptions, SystemClock};
use hongbao_store::Store;
use hongbao_store_postgres::{PostgresOptions, PostgresStore};
use hongbao_store_sqlite::{Durability, SqliteStore};
use serde::{Deserialize, Serialize};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::state::{AppState, HttpConfig};
use crate::tls::TlsFiles;

/// Everything configurable, as the config file (`--config`, TOML) and the environment give it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub limits: Limits,
    pub engine: EngineConfig,
    pub http: HttpConfig,
    pub storage: StorageSettings,
    pub audit: AuditSettings,
}

/// The transparency log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSettings {
    /// Whether every transfer and event is appended to the log (on by default). A database
    /// whose log has entries cannot be served with the log off: it would leave a gap.
    pub enabled: bool,
    /// The log's name (the checkpoints' origin line). Default: `hongbao.local/<8 hex digits of
    /// the public key's SHA-256>`, stable for a given key.
    pub origin: Option<String>,
    /// The Ed25519 signing key (32-byte seed as 64 hex digits, in a file readable by its owner
    /// only). Default: `<data-dir>/log-signing-key`, created at first start.
    pub signing_key_file: Option<PathBuf>,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings { enabled: true, origin: None, signing_key_file: None }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSettings {
    /// SQLite durability: `full` (default), `normal`, or `off` (benchmarks only).
    pub durability: Durability,
    /// PostgreSQL: the pool and its timeouts (`--database postgres://…`).
    pub postgres: PostgresOptions,
    /// The key the principals' secrets are sealed with at rest (32 bytes as 64 hex digits, in a
    /// file readable by its owner only; the same file on every node of a database). Default:
    /// `<data-dir>/secrets-key`, created at first start.
    pub secrets_key_file: Option<PathBuf>,
}

/// Where the state lives: an embedded SQLite file (one node), or PostgreSQL (several nodes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Database {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; anything else is a SQLite file path.
    pub fn parse(text: &str) -> Database {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Database::Postgres(text.to_owned())
        } else {
            Database::Sqlite(PathBuf::from(text))
        }
    }

    /// Opens the store (migrating it to this version's schema).
    ///
    /// # Errors
    /// [`StartError`] when the database cannot be opened or migrated.
    pub async fn open(&self, storage: &StorageSettings) -> Result<Arc<dyn Store>, StartError> {
        Ok(match self {
            Database::Sqlite(path) => Arc::new(SqliteStore::open(path, storage.durability).await?),
            Database::Postgres(url) => {
                storage.postgres.validate().map_err(|e| StartError::Config(e.to_string()))?;
                Arc::new(PostgresStore::connect(url, storage.postgres.clone()).await?)
            }
        })
    }
}

impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            // The URL may hold a password: show where, not how.
            Database::Postgres(url) => {
                let host = url.split('@').next_back().unwrap_or("postgres");
                write!(f, "postgres://…@{host}")
            }
        }
    }
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
    /// The database; the SQLite file `<data_dir>/hongbao.db` when `None`.
    pub database: Option<Database>,
    /// Enables `POST /v1/dev/clock` and a business clock that can move forward.
    pub dev_clock: bool,
    /// Serve https with this certificate and key; plain http when `None`.
    pub tls: Option<TlsFiles>,
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
    Engine(#[from] EngineError),
}

/// A running server.
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    /// `http://<addr>`, or `https://<addr>` with TLS.
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
    // Before anything is created: a bad certificate stops the start with nothing changed.
    let tls = options.tls.as_ref().map(crate::tls::acceptor).transpose()?;
    private_dir(&options.data_dir)?;
    let database = options.database.clone().unwrap_or_else(|| Database::Sqlite(options.data_dir.join("hongbao.db")));
    let store = database.open(&options.settings.storage).await?;
    let clock: Arc<dyn Clock> = if options.dev_clock { Arc::new(DevClock::new()) } else { Arc::new(SystemClock) };
    let settings = options.settings;
    let audit = audit_config(&settings.audit, &options.data_dir, store.as_ref()).await?;
    let secrets = Some(secrets_key(&settings.storage, &options.data_dir)?);
    let start = StartOptions { rng_seed: None, audit, secrets };
    let engine = Engine::start(store.clone(), clock, settings.limits.clone(), settings.engine.clone(), start).await?;

    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| StartError::Io(format!("cannot listen on {}: {e}", options.listen)))?;
    let addr = listener.local_addr().map_err(|e| StartError::Io(e.to_string()))?;
    let url = format!("{}://{addr}", if tls.is_some() { "https" } else { "http" });
    let root_credentials = bootstrap(&engine, store.as_ref(), &options.data_dir, &url).await?;
    if root_credentials.is_none() {
        // Another node may have created root meanwhile, sealing its secret with its own key.
        engine.check_secrets_key().await?;
    }
    if engine.audit().is_some_and(|log| log.corrupt().is_none())
        && let Err(err) = engine.checkpoint_now().await
    {
        // A checkpoint from the first moment, rather than after the first tick; another node
        // signing at the same moment is no reason not to start.
        tracing::warn!(%err, "the first checkpoint was not signed; the job signs one shortly");
    }

    let state = AppState::new(engine.clone(), settings.http.clone(), options.dev_clock).map_err(StartError::Config)?;
    if !store.shared() {
        // The nonces this node stored before it stopped (or crashed) are refused again.
        let now_s = hongbao_engine::system_now().millis().div_euclid(1000);
        let limit = u32::try_from(settings.http.nonce_cache_max).unwrap_or(u32::MAX);
        let live = store.live_nonces(now_s, limit).await?;
        tracing::debug!(nonces = live.len(), "nonces still live loaded");
        state.nonces.restore(&live);
    }
    let mut jobs = hongbao_engine::jobs::engine_jobs(&engine, true);
    jobs.push(Arc::new(ForgetIdleRateLimits(state.clone())));
    hongbao_engine::jobs::spawn(&engine, jobs);
    let (stop, stopped) = watch::channel(false);
    let mut deadline = stop.subscribe();
    let grace = Duration::from_secs(settings.http.shutdown_grace_s);
    let app = crate::app(state);
    let http = settings.http.clone();
    let task = tokio::spawn(async move {
        let server = crate::listen::serve(listener, app, &http, tls, stopped);
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
    tracing::info!(%url, %database, dev_clock = options.dev_clock, "hongbao is serving");
    Ok(Running { addr, url, root_credentials, engine, stop, task })
}

/// Keeps the rate limiter's memory to the keys that were active lately.
struct ForgetIdleRateLimits(AppState);

#[async_trait::async_trait]
impl Job for ForgetIdleRateLimits {
    fn name(&self) -> &'static str {
        "rate-limit memory"
    }
    fn period(&self) -> Duration {
        Duration::from_secs(60)
    }
    fn clock(&self) -> JobClock {
        JobClock::Real
    }
    async fn run_once(&self, _now: Timestamp) -> Result<JobReport, EngineError> {
        self.0.rate_limits.forget_idle();
        Ok(JobReport { done: 0, more: false })
    }
}

/// The log's signing configuration: the key from its file (created at first start, mode
/// 0600) and the origin.
async fn audit_config(
    settings: &AuditSettings,
    data_dir: &Path,
    store: &dyn Store,
) -> Result<Option<AuditConfig>, StartError> {
    if !settings.enabled {
        if !store.log_entries(0, 1).await?.is_empty() {
            return Err(StartError::Config(
                "this database has a transparency log: serving it with audit.enabled = false would leave a gap in it"
                    .to_owned(),
            ));
        }
        return Ok(None);
    }
    let path = settings.signing_key_file.clone().unwrap_or_else(|| data_dir.join(LOG_KEY_FILE));
    let signing_key = if path.exists() {
        read_log_key(&path)?
    } else if settings.signing_key_file.is_some() {
        return Err(StartError::Config(format!("the log signing key file {} does not exist", path.display())));
    } else {
        let key = SigningKey::from_bytes(&rand_seed()?);
        let hex: String = key.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
        write_private(&path, format!("{hex}\n").as_bytes())
            .map_err(|e| StartError::Io(format!("cannot write {}: {e}", path.display())))?;
        key
    };
    let origin = settings.origin.clone().unwrap_or_else(|| default_origin(&signing_key.verifying_key()));
    // Every node of a database must sign with the one key its log started with.
    let vkey = hongbao_audit::note::vkey(&origin, &signing_key.verifying_key());
    let stored = store.log_key(&vkey).await?;
    if stored != vkey {
        return Err(StartError::Config(format!(
            "this database's transparency log is signed by {stored}, but this node's key is {vkey}: \
             give every node the same key (audit.signing_key_file) and origin (audit.origin)"
        )));
    }
    Ok(Some(AuditConfig { origin, signing_key }))
}

/// The file in the data directory holding the log's signing key.
pub const LOG_KEY_FILE: &str = "log-signing-key";

/// The file in the data directory the root operator's credentials are written to at first start.
pub const ROOT_CREDENTIALS_FILE: &str = "root-credentials.json";

/// The file in the data directory holding the key the secrets are sealed with.
pub const SECRETS_KEY_FILE: &str = "secrets-key";

/// The key secrets are sealed with: read from its file, or created there at first start (only
/// at the default place: a file named in the settings must exist).
fn secrets_key(settings: &StorageSettings, data_dir: &Path) -> Result<hongbao_engine::seal::SecretsKey, StartError> {
    let path = settings.secrets_key_file.clone().unwrap_or_else(|| data_dir.join(SECRETS_KEY_FILE));
    let bytes = if path.exists() {
        tighten(&path)?;
        read_hex_key(&path, "secrets key")?
    } else if settings.secrets_key_file.is_some() {
        return Err(StartError::Config(format!("the secrets key file {} does not exist", path.display())));
    } else {
        let bytes = rand_seed()?;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        write_private(&path, format!("{hex}\n").as_bytes())
            .map_err(|e| StartError::Io(format!("cannot write {}: {e}", path.display())))?;
        bytes
    };
    Ok(hongbao_engine::seal::SecretsKey::from_bytes(&bytes))
}

/// The files hongbao keeps in its data directory, each mode 0600.
const DATA_FILES: [&str; 6] =
    ["hongbao.db", "hongbao.db-wal", "hongbao.db-shm", LOG_KEY_FILE, SECRETS_KEY_FILE, ROOT_CREDENTIALS_FILE];

/// Creates the data directory, or tightens it, to mode 0700, and tightens the files hongbao
/// keeps in it to 0600: they are the database, the keys and the root credentials, whatever the
/// umask was when they were made. (The store creates its files 0600 itself.)
fn private_dir(dir: &Path) -> Result<(), StartError> {
    let failed =
        |e: std::io::Error| StartError::Io(format!("cannot prepare the data directory {}: {e}", dir.display()));
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder.create(dir).map_err(failed)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(failed)?;
    }
    #[cfg(not(unix))]
    builder.create(dir).map_err(failed)?;
    for name in DATA_FILES {
        let path = dir.join(name);
        // Not following links: a link's mode is its target's, which may not be ours.
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            tighten(&path)?;
        }
    }
    Ok(())
}

/// Sets a file to mode 0600 if any other bit is set.
fn tighten(path: &Path) -> Result<(), StartError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let failed =
            |e: std::io::Error| StartError::Io(format!("cannot restrict {} to its owner: {e}", path.display()));
        let mode = std::fs::metadata(path).map_err(failed)?.permissions().mode();
        if mode & 0o177 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(failed)?;
            tracing::warn!(path = %path.display(), mode = format!("{:o}", mode & 0o777), "restricted a file readable by others to its owner");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// `hongbao.local/` and the first 8 hex digits of the SHA-256 of the public key.
pub fn default_origin(key: &VerifyingKey) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(key.as_bytes());
    let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("hongbao.local/{hex}")
}

/// Reads a signing key file: 64 hex digits (and an optional newline).
///
/// # Errors
/// [`StartError::Config`] naming the file, never showing its content.
pub fn read_log_key(path: &Path) -> Result<SigningKey, StartError> {
    Ok(SigningKey::from_bytes(&read_hex_key(path, "log signing key")?))
}

/// Reads 32 bytes written as 64 hex digits (and an optional newline) from a key file.
///
/// # Errors
/// [`StartError::Config`] naming the file, never showing its content.
fn read_hex_key(path: &Path, what: &str) -> Result<[u8; 32], StartError> {
    let bad = || StartError::Config(format!("{} is not a {what} (64 hex digits)", path.display()));
    let text =
        std::fs::read_to_string(path).map_err(|e| StartError::Io(format!("cannot read {}: {e}", path.display())))?;
    let text = text.trim();
    if text.len() != 64 {
        return Err(bad());
    }
    let mut seed = [0u8; 32];
    for (i, byte) in seed.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16).map_err(|_| bad())?;
    }
    Ok(seed)
}

fn rand_seed() -> Result<[u8; 32], StartError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| StartError::Io(format!("the operating system's random generator failed: {e}")))?;
    Ok(seed)
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
    let root = match engine.execute(command).await {
        Ok(Reply::Operator(root)) => root,
        Ok(_) => return Err(StartError::Io("creating the root operator answered something else".to_owned())),
        // Several nodes starting together: another one created root first (the database
        // allows only one), which is exactly what should happen.
        Err(_) if store.has_operator().await? => return Ok(None),
        Err(err) => return Err(err.into()),
    };
    let path = data_dir.join(ROOT_CREDENTIALS_FILE);
    let body = serde_json::json!({ "url": url, "key_id": root.key_id, "secret": root.secret.expose() });
    write_private(&path, &serde_json::to_vec_pretty(&body).unwrap_or_default())
        .map_err(|e| StartError::Io(format!("cannot write {}: {e}", path.display())))?;
    Ok(Some(path))
}

/// Writes a file only its owner can read: a new file of mode 0600 from the moment it exists,
/// then renamed over `path`. A file already at `path` is replaced, never written into, so its
/// looser mode (or another reader's open handle) never sees the new bytes.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = (|| {
        let mut file = options.open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written?;
    // The rename is durable once the directory is.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}
