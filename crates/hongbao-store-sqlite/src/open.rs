//! Opening the file: the connections and their settings, the migrations, private file modes,
//! the background WAL checkpoints, and what SQLite reports is in force.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hongbao_store::StoreError;
use sqlx::SqlSafeStr;
use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use crate::db_error;
use crate::durability::Durability;

/// How long a connection waits for a lock another process holds before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read-only connections: enough for the API's reads next to the engine's snapshots, few enough
/// that each keeps its page cache warm.
const READ_CONNECTIONS_MAX: u32 = 4;

/// Prepared statements each connection keeps. sqlx's default (100) is fewer than the shapes a
/// busy writer cycles through: every `IN (…)` look-up of `load` has up to nine shapes and every
/// multi-row insert of `write` up to seven, and an evicted statement is prepared again on its next
/// use. A few hundred small statements cost far less memory than the page cache.
const STATEMENTS_CACHED_MAX: usize = 256;

/// The writer's page cache (`PRAGMA cache_size`, negative: in KiB): 32 MiB.
const WRITER_CACHE_KIB: &str = "-32768";

/// How often a background connection copies the WAL into the database file. SQLite otherwise
/// does it inside whichever commit crosses 1 000 pages of WAL, and that commit (with every
/// request waiting on its batch) then also waits for the copy and its flush.
const WAL_CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);

/// Pages of WAL (4 KiB each, so 400 MiB) past which the writer still checkpoints by itself: a
/// backstop, so that the WAL stays bounded should the background checkpoints fail or fall
/// behind. Under load one interval's writes alone can pass 10 000 pages (`hongbao bench`
/// `spread` over HTTP dirties about 60 000 pages a second: WALs of 15 000 to 28 000 pages were
/// seen); with the backstop there, it fired in a commit every quarter of a second, which then
/// took 25 ms instead of 2 and set the p99 latency.
const WAL_AUTOCHECKPOINT_PAGES: &str = "100000";

/// The schema, version by version. A released migration is never edited (its checksum is
/// stored in the file); a change is a new file with the next number.
const MIGRATIONS: [(i64, &str, &str); 13] = [
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (2, "principals", include_str!("../migrations/0002_principals.sql")),
    (3, "transparency log", include_str!("../migrations/0003_transparency_log.sql")),
    (4, "shared state", include_str!("../migrations/0004_shared_state.sql")),
    (5, "deadlines", include_str!("../migrations/0005_deadlines.sql")),
    (6, "evidence", include_str!("../migrations/0006_evidence.sql")),
    (7, "documents", include_str!("../migrations/0007_documents.sql")),
    (8, "freezes", include_str!("../migrations/0008_freezes.sql")),
    (9, "seizures", include_str!("../migrations/0009_seizures.sql")),
    (10, "cases", include_str!("../migrations/0010_cases.sql")),
    (11, "member groups", include_str!("../migrations/0011_member_groups.sql")),
    (12, "logins", include_str!("../migrations/0012_logins.sql")),
    (13, "return requests", include_str!("../migrations/0013_return_requests.sql")),
];

fn migrator() -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(version, description.into(), MigrationType::Simple, sql.into_sql_str(), false)
        })
        .collect();
    Migrator::with_migrations(migrations)
}

fn migrate_error(err: MigrateError) -> StoreError {
    match err {
        MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _) => db_error(e, "migrate the schema"),
        // A file migrated by a newer version, edited by hand, or left half-migrated: refuse it
        // rather than guess.
        other => StoreError::Corrupt(format!("the database schema does not match this version: {other}")),
    }
}

/// The durability settings as SQLite reports them (lower-case names), from
/// [`SqliteStore::in_force`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InForce {
    /// `wal` always.
    pub journal_mode: String,
    /// `full`, `normal` or `off`, as the [`Durability`] asked.
    pub writer_synchronous: String,
    pub reader_synchronous: String,
    pub foreign_keys: bool,
    /// Readers refuse to write.
    pub reader_query_only: bool,
    /// Pages of WAL past which the writer checkpoints by itself (the background checkpoints
    /// normally come first).
    pub writer_wal_autocheckpoint: i64,
    /// `2`: the writer's statement journals are kept in memory.
    pub writer_temp_store: i64,
}

/// hongbao's state in one SQLite file. Cloning shares the same connections.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    /// Exactly one connection: SQLite has one writer per file anyway, and waiting in the pool's
    /// queue is fairer and cheaper than spinning on `SQLITE_BUSY`.
    pub(crate) writer: SqlitePool,
    pub(crate) readers: SqlitePool,
    /// One connection that only checkpoints the WAL, every [`WAL_CHECKPOINT_INTERVAL`].
    checkpointer: SqlitePool,
    /// Stops the background checkpoints when the last clone of the store is dropped.
    _checkpoints: Arc<AbortOnDrop>,
    pub(crate) durability: Durability,
    path: PathBuf,
}

/// What one checkpoint of the WAL did (`PRAGMA wal_checkpoint`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalCheckpoint {
    /// Pages in the WAL.
    pub wal_pages: i64,
    /// Of those, pages copied into the database file (all of them unless a reader still reads
    /// an older snapshot).
    pub checkpointed_pages: i64,
}

#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn checkpoint_wal(pool: &SqlitePool) -> Result<WalCheckpoint, StoreError> {
    // PASSIVE: copies what no reader still needs, never waits for the writer or the readers.
    let (_busy, wal_pages, checkpointed_pages): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(pool)
        .await
        .map_err(|e| db_error(e, "checkpoint the WAL"))?;
    Ok(WalCheckpoint { wal_pages, checkpointed_pages })
}

/// The options of every connection of the store: WAL, `synchronous` as `durability` asks,
/// foreign keys, a bounded wait for locks.
fn connect_options(path: &Path, durability: Durability) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true)
        .statement_cache_capacity(STATEMENTS_CACHED_MAX)
        // Also on readers: the last connection to close checkpoints the WAL into the file.
        .synchronous(durability.synchronous())
}

/// The options of the store's writing connection (public for the benchmark's ceiling, which
/// writes the same rows with the same settings): those of every connection, and statement
/// journals in memory, a 32 MiB page cache, and SQLite's own checkpoints only as a backstop
/// (an open [`SqliteStore`] checkpoints the file in the background).
pub fn writer_options(path: &Path, durability: Durability) -> SqliteConnectOptions {
    connect_options(path, durability)
        .journal_mode(SqliteJournalMode::Wal)
        // A multi-row statement inside a batch keeps a statement journal (to undo just that
        // statement); in memory rather than in a temporary file written with a system call per
        // page.
        .pragma("temp_store", "MEMORY")
        // The pages a batch touches (indexes of claims, transfers, the log) stay cached between
        // batches: 32 MiB instead of SQLite's 2 MiB.
        .pragma("cache_size", WRITER_CACHE_KIB)
        .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
}

/// Makes the database file readable by its owner only, whatever the umask: a new file is created
/// empty with mode 0600 before SQLite opens it (SQLite gives its `-wal` and `-shm` files the
/// database's mode), and an existing file, WAL or shared memory with looser modes is tightened.
fn private_files(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let failed = |e: std::io::Error, file: &Path| {
            StoreError::Unavailable(format!("cannot restrict {} to its owner: {e}", file.display()))
        };
        match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(failed(e, path)),
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            let file = PathBuf::from(name);
            let Ok(meta) = std::fs::symlink_metadata(&file) else { continue };
            if meta.is_file() && meta.permissions().mode() & 0o177 != 0 {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| failed(e, &file))?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl SqliteStore {
    /// Opens the database at `path`, creating the file if it is missing, and brings its schema
    /// up to date.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the file cannot be opened or switched to WAL;
    /// [`StoreError::Corrupt`] when it is not a database or its schema does not match this
    /// version (a newer one, or a migration that changed since it was applied).
    pub async fn open(path: &Path, durability: Durability) -> Result<SqliteStore, StoreError> {
        private_files(path)?;
        let options = connect_options(path, durability);
        // The pools keep their connections for the store's lifetime: reopening a connection costs
        // more than an idle one, and a WAL file's shared memory lives as long as one is open.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(writer_options(path, durability).create_if_missing(true))
            .await
            .map_err(|e| db_error(e, format_args!("open {}", path.display())))?;
        // SQLite answers a journal mode it cannot set (on some file systems) with the old one
        // rather than an error: check, so that durability is never lower than promised.
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&writer)
            .await
            .map_err(|e| db_error(e, "read the journal mode"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Unavailable(format!(
                "{} could not be switched to the WAL journal (it is in {mode} mode)",
                path.display()
            )));
        }
        migrator().run(&writer).await.map_err(migrate_error)?;
        // `query_only` rather than a read-only open: a read-only connection cannot create the
        // WAL's shared-memory file, and readers must work whatever the writer is doing.
        let checkpointer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone())
            .await
            .map_err(|e| db_error(e, format_args!("open {} for checkpoints", path.display())))?;
        let readers = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS_MAX)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.pragma("query_only", "ON"))
            .await
            .map_err(|e| db_error(e, format_args!("open {} for reading", path.display())))?;
        let pool = checkpointer.clone();
        let checkpoints = tokio::spawn(async move {
            let mut tick = tokio::time::interval(WAL_CHECKPOINT_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                tick.tick().await;
                if pool.is_closed() {
                    return;
                }
                match checkpoint_wal(&pool).await {
                    Ok(_) => failing = false,
                    // Said once per spell of failures (a full disk fails every tick).
                    Err(err) if !failing => {
                        failing = true;
                        tracing::warn!(%err, "checkpointing the WAL failed; the writer checkpoints by itself meanwhile");
                    }
                    Err(_) => {}
                }
            }
        });
        let _checkpoints = Arc::new(AbortOnDrop(checkpoints));
        Ok(SqliteStore { writer, readers, checkpointer, _checkpoints, durability, path: path.to_owned() })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The durability setting the store was opened with.
    pub fn durability_setting(&self) -> Durability {
        self.durability
    }

    /// What SQLite itself reports for the settings durability depends on, read from the writer
    /// and from one reader (waits for an open write transaction to end).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when a connection fails.
    pub async fn in_force(&self) -> Result<InForce, StoreError> {
        async fn pragma(pool: &SqlitePool, sql: &'static str) -> Result<i64, StoreError> {
            sqlx::query_scalar(sql).fetch_one(pool).await.map_err(|e| db_error(e, sql))
        }
        let synchronous = |level: i64| match level {
            0 => "off".to_owned(),
            1 => "normal".to_owned(),
            2 => "full".to_owned(),
            3 => "extra".to_owned(),
            other => other.to_string(),
        };
        let journal_mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&self.writer)
            .await
            .map_err(|e| db_error(e, "PRAGMA journal_mode"))?;
        Ok(InForce {
            journal_mode: journal_mode.to_ascii_lowercase(),
            writer_synchronous: synchronous(pragma(&self.writer, "PRAGMA synchronous").await?),
            reader_synchronous: synchronous(pragma(&self.readers, "PRAGMA synchronous").await?),
            foreign_keys: pragma(&self.writer, "PRAGMA foreign_keys").await? == 1,
            reader_query_only: pragma(&self.readers, "PRAGMA query_only").await? == 1,
            writer_wal_autocheckpoint: pragma(&self.writer, "PRAGMA wal_autocheckpoint").await?,
            writer_temp_store: pragma(&self.writer, "PRAGMA temp_store").await?,
        })
    }

    /// Closes every connection, waiting for open transactions to end; the last one to close
    /// checkpoints the WAL into the database file. Later calls fail with
    /// [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.checkpointer.close().await;
        self.readers.close().await;
        self.writer.close().await;
    }

    /// Copies the WAL into the database file now, as the background checkpoints do.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database fails.
    pub async fn checkpoint_wal(&self) -> Result<WalCheckpoint, StoreError> {
        checkpoint_wal(&self.checkpointer).await
    }
}
