//! The embedded store of hongbao: all its state in one SQLite file, behind [`hongbao_store::Store`].
//!
//! This is the default backend: `hongbao serve` needs nothing else. It keeps one writer (a pool
//! of exactly one connection whose transactions begin with `BEGIN IMMEDIATE`, so a batch never
//! fails half-way for want of the write lock) and a few read-only connections for snapshots,
//! history and the check; SQLite's WAL journal lets them read while the writer writes. The
//! schema is a numbered list of embedded migrations, run when the file is opened. The
//! transparency log is two append-only tables, `log_entries` and `checkpoints`, written in the
//! batch's own transaction; because the writer holds the write lock from `BEGIN`, the log size
//! it reads cannot change before its commit. The nonces seen, the development clock's offset and
//! the log's key are kept in the file too (so they survive a restart), though one file is never
//! shared by several nodes: [`Store::shared`] is false.
//!
//! It deliberately does not decide anything: it never computes a balance, checks a limit or
//! chooses an id (that is `hongbao-core`), never encodes, hashes or signs a log entry, and it
//! does not batch or order commands (that is the engine). It does not support several processes writing the same file at speed: a second
//! process waits for the write lock, up to a busy timeout, and that is all. Durability is a
//! setting the caller chooses and [`Store::durability`] reports; it is never lowered silently.

#[macro_use]
mod rows;
mod load;
mod write;

use std::fmt::{self, Display};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hongbao_core::{AccountId, Fact, Key, KeyId, PacketId, Timestamp, TransferId};
use hongbao_store::{
    CheckpointRow, Commit, Due, Dump, HistoryItem, IdempotencyRecord, LogRow, NonceRecord, ReadTx, Store, StoreError,
    WriteTx,
};
use serde::{Deserialize, Serialize};
use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{SqlSafeStr, Sqlite, SqliteConnection, Transaction};

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
const MIGRATIONS: [(i64, &str, &str); 4] = [
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (2, "principals", include_str!("../migrations/0002_principals.sql")),
    (3, "transparency log", include_str!("../migrations/0003_transparency_log.sql")),
    (4, "shared state", include_str!("../migrations/0004_shared_state.sql")),
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

/// How hard SQLite works to keep a commit through a crash. The journal is always WAL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    /// `synchronous=FULL`: a commit is on disk before it is acknowledged. The default.
    #[default]
    Full,
    /// `synchronous=NORMAL`: a commit survives a crash of the process, but the last ones may be
    /// lost if the machine loses power.
    Normal,
    /// `synchronous=OFF`: for benchmarks only. A power failure may lose commits and damage the file.
    Off,
}

impl Durability {
    pub const fn as_str(self) -> &'static str {
        match self {
            Durability::Full => "full",
            Durability::Normal => "normal",
            Durability::Off => "off",
        }
    }

    fn synchronous(self) -> SqliteSynchronous {
        match self {
            Durability::Full => SqliteSynchronous::Full,
            Durability::Normal => SqliteSynchronous::Normal,
            Durability::Off => SqliteSynchronous::Off,
        }
    }

    /// What the setting promises, in words, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Durability::Full => "sqlite WAL, synchronous=FULL: every commit is on disk before it is acknowledged",
            Durability::Normal => {
                "sqlite WAL, synchronous=NORMAL: commits survive a crash of the process, \
                 but the last ones may be lost on power failure"
            }
            Durability::Off => {
                "sqlite WAL, synchronous=OFF (benchmarks only): commits may be lost \
                 and the file damaged on power failure"
            }
        }
    }
}

impl Display for Durability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A durability name that is not `full`, `normal` or `off`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown durability {0:?}: expected full, normal or off")]
pub struct UnknownDurability(pub String);

impl FromStr for Durability {
    type Err = UnknownDurability;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Durability::Full, Durability::Normal, Durability::Off]
            .into_iter()
            .find(|d| d.as_str() == text)
            .ok_or_else(|| UnknownDurability(text.to_owned()))
    }
}

/// Turns a database error into a [`StoreError`], saying what was being done.
///
/// A constraint the data breaks (a duplicate key, an update of a missing row, a reference to
/// nothing) or a value that does not decode is [`StoreError::Corrupt`]: retrying cannot help.
/// Everything else (I/O, a lock held too long, a closed pool) is [`StoreError::Unavailable`].
/// Never [`StoreError::Conflict`]: with one writer, a duplicate key is not a race but a batch
/// built on a wrong belief.
pub(crate) fn db_error(err: sqlx::Error, doing: impl Display) -> StoreError {
    match &err {
        sqlx::Error::Database(db) => {
            // SQLite's primary result codes are the low byte of the extended ones.
            let primary = db.code().and_then(|c| c.parse::<i32>().ok()).map(|c| c & 0xff);
            let constraint = !matches!(db.kind(), sqlx::error::ErrorKind::Other);
            // 11: SQLITE_CORRUPT, 26: SQLITE_NOTADB.
            if constraint || matches!(primary, Some(11 | 26)) {
                StoreError::Corrupt(format!("{doing}: {db}"))
            } else {
                StoreError::Unavailable(format!("{doing}: {db}"))
            }
        }
        sqlx::Error::RowNotFound
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_) => StoreError::Corrupt(format!("{doing}: {err}")),
        _ => StoreError::Unavailable(format!("{doing}: {err}")),
    }
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
    writer: SqlitePool,
    readers: SqlitePool,
    /// One connection that only checkpoints the WAL, every [`WAL_CHECKPOINT_INTERVAL`].
    checkpointer: SqlitePool,
    /// Stops the background checkpoints when the last clone of the store is dropped.
    _checkpoints: Arc<AbortOnDrop>,
    durability: Durability,
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

/// The history query, with or without the `before` bound. Each side of the transfer is read
/// newest first from its own index and cut at `limit`, then the two are merged: an `OR` of the
/// two columns would make SQLite scan or sort.
macro_rules! history_query {
    ($before:literal) => {
        concat!(
            "WITH mine (id) AS ( \
                 SELECT id FROM (SELECT id FROM transfers WHERE debit = ?1",
            $before,
            " AND phase IN ('posted', 'pending') ORDER BY id DESC LIMIT ?3) \
                 UNION ALL \
                 SELECT id FROM (SELECT id FROM transfers WHERE credit = ?1",
            $before,
            " AND phase IN ('posted', 'pending') ORDER BY id DESC LIMIT ?3) \
             ) \
             SELECT ",
            transfer_columns!(),
            ", p.status AS pending_status \
             FROM mine JOIN transfers t ON t.id = mine.id LEFT JOIN pendings p ON p.transfer_id = t.id \
             ORDER BY t.id DESC LIMIT ?3"
        )
    };
}

fn decode_all<T>(found: &[SqliteRow], decode: fn(&SqliteRow) -> Result<T, StoreError>) -> Result<Vec<T>, StoreError> {
    found.iter().map(decode).collect()
}

async fn fetch_all(conn: &mut SqliteConnection, sql: &'static str, what: &str) -> Result<Vec<SqliteRow>, StoreError> {
    sqlx::query(sql).fetch_all(&mut *conn).await.map_err(|e| db_error(e, format_args!("read all {what}")))
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn durability(&self) -> String {
        self.durability.describe().to_owned()
    }

    async fn write(&self) -> Result<Box<dyn WriteTx>, StoreError> {
        // IMMEDIATE takes the write lock now: the batch's loads then see the state its commit
        // will build on, and the commit cannot fail for want of the lock.
        let mut conn = self.writer.acquire().await.map_err(|e| db_error(e, "begin a write"))?;
        if let Err(err) = sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
            // A connection that cannot begin is not trusted for the next batch either.
            conn.close_on_drop();
            return Err(db_error(err, "begin a write"));
        }
        Ok(Box::new(SqliteWriteTx { conn: Some(conn) }))
    }

    async fn read(&self) -> Result<Box<dyn ReadTx>, StoreError> {
        // A deferred transaction: its snapshot is fixed by its first read, and every later load
        // sees that same snapshot.
        let tx = self.readers.begin().await.map_err(|e| db_error(e, "begin a read"))?;
        Ok(Box::new(SqliteReadTx { tx }))
    }

    async fn history(
        &self,
        account: AccountId,
        before: Option<TransferId>,
        limit: u32,
    ) -> Result<Vec<HistoryItem>, StoreError> {
        let query = match before {
            Some(before) => sqlx::query(history_query!(" AND id < ?2")).bind(account.uuid()).bind(before.uuid()),
            None => sqlx::query(history_query!("")).bind(account.uuid()).bind(None::<uuid::Uuid>),
        };
        let found = query
            .bind(i64::from(limit))
            .fetch_all(&self.readers)
            .await
            .map_err(|e| db_error(e, format_args!("read the history of {account}")))?;
        found
            .iter()
            .map(|row| {
                let transfer = rows::transfer(row)?;
                Ok(HistoryItem {
                    transfer_id: transfer.id,
                    amount: transfer.amount,
                    incoming: transfer.credit == account,
                    kind: transfer.kind,
                    pending: rows::opt_pending_status(row)?,
                    packet_id: transfer.packet_id,
                    claim_id: transfer.claim_id,
                    note: transfer.note,
                    created_at: transfer.created_at,
                })
            })
            .collect()
    }

    async fn dump(&self) -> Result<Dump, StoreError> {
        // One read transaction, so the check sees one consistent state however long it takes.
        let mut tx = self.readers.begin().await.map_err(|e| db_error(e, "begin a read"))?;
        let conn: &mut SqliteConnection = &mut tx;
        let mut facts = Vec::new();

        let sql = concat!("SELECT ", user_columns!(), " FROM users ORDER BY id");
        let users = decode_all(&fetch_all(conn, sql, "users").await?, rows::user)?;
        facts.extend(users.into_iter().map(|u| Fact::User(u.id, Some(u))));

        let sql = concat!("SELECT ", account_columns!(), " FROM accounts ORDER BY id");
        let accounts = decode_all(&fetch_all(conn, sql, "accounts").await?, rows::account)?;
        facts.extend(accounts.into_iter().map(|a| Fact::Account(a.id, Some(a))));

        let sql = concat!("SELECT ", group_columns!(), " FROM groups ORDER BY id");
        let mut groups = decode_all(&fetch_all(conn, sql, "groups").await?, rows::group)?;
        let sql = "SELECT group_id, user_id FROM group_members ORDER BY group_id, user_id";
        let members = decode_all(&fetch_all(conn, sql, "group members").await?, rows::member)?;
        let mut by_group: std::collections::HashMap<_, Vec<_>> = std::collections::HashMap::new();
        for (group, user) in members {
            by_group.entry(group).or_default().push(user);
        }
        for group in &mut groups {
            let mut members = by_group.remove(&group.id).unwrap_or_default();
            members.sort_unstable();
            group.members = members;
        }
        if let Some(group) = by_group.keys().next() {
            return Err(StoreError::Corrupt(format!("group_members names group {group}, which does not exist")));
        }
        facts.extend(groups.into_iter().map(|g| Fact::Group(g.id, Some(g))));

        let sql = concat!("SELECT ", packet_columns!(), " FROM packets ORDER BY id");
        let packets = decode_all(&fetch_all(conn, sql, "packets").await?, rows::packet)?;
        facts.extend(packets.into_iter().map(|p| Fact::Packet(p.id, Some(p))));

        let sql = concat!("SELECT ", claim_columns!(), " FROM claims ORDER BY id");
        let claims = decode_all(&fetch_all(conn, sql, "claims").await?, rows::claim)?;
        facts.extend(claims.into_iter().map(|c| Fact::Claim(c.id, Some(c))));

        let sql = concat!(
            "SELECT ",
            transfer_columns!(),
            ", p.status AS pending_status, p.resolved_at AS resolved_at \
             FROM pendings p JOIN transfers t ON t.id = p.transfer_id ORDER BY p.transfer_id"
        );
        let pendings = decode_all(&fetch_all(conn, sql, "pending transfers").await?, rows::pending)?;
        let pending_rows: i64 = sqlx::query_scalar("SELECT count(*) FROM pendings")
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| db_error(e, "count pending transfers"))?;
        if usize::try_from(pending_rows).ok() != Some(pendings.len()) {
            return Err(StoreError::Corrupt(format!(
                "{pending_rows} pending records but only {} have their transfer",
                pendings.len()
            )));
        }
        facts.extend(pendings.into_iter().map(|p| Fact::Pending(p.transfer.id, Some(p))));

        let sql = concat!("SELECT ", transfer_columns!(), " FROM transfers t ORDER BY t.id");
        let transfers = decode_all(&fetch_all(conn, sql, "transfers").await?, rows::transfer)?;
        facts.extend(transfers.into_iter().map(|t| Fact::Transfer(t.id, Some(t))));

        let sql = concat!("SELECT ", principal_columns!(), " FROM principals ORDER BY key_id");
        let principals = decode_all(&fetch_all(conn, sql, "principals").await?, rows::principal)?;
        facts.extend(principals.into_iter().map(|p| Fact::Principal(p.key_id, Some(p))));

        let sql = concat!("SELECT ", idempotency_columns!(), " FROM idempotency ORDER BY principal, key");
        let idempotency = decode_all(&fetch_all(conn, sql, "idempotency records").await?, rows::idempotency)?;

        let sql = "SELECT seq, body FROM events ORDER BY seq";
        let events = decode_all(&fetch_all(conn, sql, "events").await?, rows::event)?;

        let sql = concat!("SELECT ", log_columns!(), " FROM log_entries ORDER BY idx");
        let log = decode_all(&fetch_all(conn, sql, "log entries").await?, rows::log_row)?;

        let sql = concat!("SELECT ", checkpoint_columns!(), " FROM checkpoints ORDER BY size");
        let checkpoints = decode_all(&fetch_all(conn, sql, "checkpoints").await?, rows::checkpoint)?;
        Ok(Dump { facts, idempotency, events, log, checkpoints })
    }

    async fn has_operator(&self) -> Result<bool, StoreError> {
        // The condition matches the partial index `principals_operators`, so SQLite answers from
        // it without scanning the users' keys.
        let found: i64 = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM principals WHERE operator_name IS NOT NULL)")
            .fetch_one(&self.readers)
            .await
            .map_err(|e| db_error(e, "look for an operator"))?;
        Ok(found != 0)
    }

    async fn log_entries(&self, start: u64, limit: u32) -> Result<Vec<LogRow>, StoreError> {
        // No entry has an index past i64::MAX, so a start beyond it finds nothing.
        let Ok(start) = i64::try_from(start) else { return Ok(Vec::new()) };
        let sql = concat!("SELECT ", log_columns!(), " FROM log_entries WHERE idx >= ?1 ORDER BY idx LIMIT ?2");
        let found = sqlx::query(sql)
            .bind(start)
            .bind(i64::from(limit))
            .fetch_all(&self.readers)
            .await
            .map_err(|e| db_error(e, format_args!("read log entries from {start}")))?;
        decode_all(&found, rows::log_row)
    }

    async fn log_index_of(&self, transfer: TransferId) -> Result<Option<u64>, StoreError> {
        let found = sqlx::query("SELECT idx FROM log_entries WHERE transfer_id = ?1")
            .bind(transfer.uuid())
            .fetch_optional(&self.readers)
            .await
            .map_err(|e| db_error(e, format_args!("find the log entry of transfer {transfer}")))?;
        found.map(|row| rows::log_index(&row)).transpose()
    }

    async fn log_entries_of_packet(&self, packet: PacketId, limit: u32) -> Result<Vec<LogRow>, StoreError> {
        // Read in index order straight from `log_entries_by_packet`.
        let sql = concat!("SELECT ", log_columns!(), " FROM log_entries WHERE packet_id = ?1 ORDER BY idx LIMIT ?2");
        let found = sqlx::query(sql)
            .bind(packet.uuid())
            .bind(i64::from(limit))
            .fetch_all(&self.readers)
            .await
            .map_err(|e| db_error(e, format_args!("read the log entries of packet {packet}")))?;
        decode_all(&found, rows::log_row)
    }

    async fn latest_checkpoint(&self) -> Result<Option<CheckpointRow>, StoreError> {
        let sql = concat!("SELECT ", checkpoint_columns!(), " FROM checkpoints ORDER BY size DESC LIMIT 1");
        let found = sqlx::query(sql)
            .fetch_optional(&self.readers)
            .await
            .map_err(|e| db_error(e, "read the latest checkpoint"))?;
        found.as_ref().map(rows::checkpoint).transpose()
    }

    async fn remember_nonce(
        &self,
        key: KeyId,
        digest: [u8; 16],
        expires_at_s: i64,
        now_s: i64,
    ) -> Result<bool, StoreError> {
        // One statement: a new nonce is inserted, an expired record is renewed, and a live one is
        // left alone, which changes no row. Through the writer, the one connection that writes.
        let done = sqlx::query(
            "INSERT INTO nonces (key_id, digest, expires_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (key_id, digest) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE nonces.expires_at <= ?4",
        )
        .bind(key.uuid())
        .bind(&digest[..])
        .bind(expires_at_s)
        .bind(now_s)
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, format_args!("remember a nonce of key {key}")))?;
        Ok(done.rows_affected() == 1)
    }

    async fn live_nonces(&self, now_s: i64, limit: u32) -> Result<Vec<NonceRecord>, StoreError> {
        // In expiry order from `nonces_by_expiry`.
        let found = sqlx::query(
            "SELECT key_id, digest, expires_at FROM nonces WHERE expires_at > ?1 ORDER BY expires_at LIMIT ?2",
        )
        .bind(now_s)
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await
        .map_err(|e| db_error(e, "read the live nonces"))?;
        decode_all(&found, rows::nonce)
    }

    async fn secrets_not_starting_with(
        &self,
        sealed_prefix: &str,
        limit: u32,
    ) -> Result<Vec<(KeyId, String)>, StoreError> {
        // `substr` rather than LIKE: the prefix is compared as text, whatever characters it has.
        let found = sqlx::query(
            "SELECT key_id, secret FROM principals WHERE substr(secret, 1, length(?1)) <> ?1 ORDER BY key_id LIMIT ?2",
        )
        .bind(sealed_prefix)
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await
        .map_err(|e| db_error(e, "find the secrets stored in the clear"))?;
        decode_all(&found, rows::stored_secret)
    }

    async fn secret_starting_with(&self, sealed_prefix: &str) -> Result<Option<(KeyId, String)>, StoreError> {
        let found = sqlx::query(
            "SELECT key_id, secret FROM principals WHERE substr(secret, 1, length(?1)) = ?1 ORDER BY key_id LIMIT 1",
        )
        .bind(sealed_prefix)
        .fetch_optional(&self.writer)
        .await
        .map_err(|e| db_error(e, "find a sealed secret"))?;
        found.as_ref().map(rows::stored_secret).transpose()
    }

    async fn replace_secrets(&self, replaced: &[(KeyId, String, String)]) -> Result<u64, StoreError> {
        if replaced.is_empty() {
            return Ok(0);
        }
        let mut conn = self.writer.acquire().await.map_err(|e| db_error(e, "replace secrets"))?;
        // Freed bytes zeroed, so the old value does not stay in the page it leaves.
        sqlx::query("PRAGMA secure_delete = ON")
            .execute(&mut *conn)
            .await
            .map_err(|e| db_error(e, "turn on secure_delete"))?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| db_error(e, "replace secrets"))?;
        let mut count = 0;
        for (key, old, new) in replaced {
            let done = sqlx::query("UPDATE principals SET secret = ?1 WHERE key_id = ?2 AND secret = ?3")
                .bind(new)
                .bind(key.uuid())
                .bind(old)
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error(e, format_args!("replace the secret of key {key}")))?;
            count += done.rows_affected();
        }
        tx.commit().await.map_err(|e| db_error(e, "commit the replaced secrets"))?;
        // The WAL still holds the pages as they were: copy it into the file and empty it.
        // VACUUM then rewrites the file without the old pages anywhere in it.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut *conn)
            .await
            .map_err(|e| db_error(e, "checkpoint the WAL after replacing secrets"))?;
        sqlx::query("VACUUM").execute(&mut *conn).await.map_err(|e| db_error(e, "vacuum after replacing secrets"))?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut *conn)
            .await
            .map_err(|e| db_error(e, "checkpoint the WAL after the vacuum"))?;
        Ok(count)
    }

    async fn forget_nonces(&self, before_s: i64, limit: u32) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM nonces WHERE (key_id, digest) IN \
             (SELECT key_id, digest FROM nonces WHERE expires_at < ?1 ORDER BY expires_at LIMIT ?2)",
        )
        .bind(before_s)
        .bind(i64::from(limit))
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, "forget expired nonces"))?;
        Ok(done.rows_affected())
    }

    async fn dev_clock_offset(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT offset_ms FROM dev_clock WHERE id = 1")
            .fetch_one(&self.readers)
            .await
            .map_err(|e| db_error(e, "read the development clock"))
    }

    async fn advance_dev_clock(&self, by_ms: i64) -> Result<i64, StoreError> {
        if by_ms < 0 {
            return Err(StoreError::Corrupt(format!("the development clock cannot move back (by {by_ms} ms)")));
        }
        // The guard keeps the sum within i64: SQLite would turn an overflowing sum into a REAL.
        let moved: Option<i64> = sqlx::query_scalar(
            "UPDATE dev_clock SET offset_ms = offset_ms + ?1 \
             WHERE id = 1 AND offset_ms <= 9223372036854775807 - ?1 RETURNING offset_ms",
        )
        .bind(by_ms)
        .fetch_optional(&self.writer)
        .await
        .map_err(|e| db_error(e, "move the development clock"))?;
        moved.ok_or_else(|| StoreError::Corrupt(format!("moving the development clock by {by_ms} ms overflows")))
    }

    async fn log_key(&self, proposed: &str) -> Result<String, StoreError> {
        // Both through the writer: the select sees the row whichever call inserted it.
        sqlx::query("INSERT INTO log_key (id, verifier) VALUES (1, ?1) ON CONFLICT (id) DO NOTHING")
            .bind(proposed)
            .execute(&self.writer)
            .await
            .map_err(|e| db_error(e, "store the log's key"))?;
        sqlx::query_scalar("SELECT verifier FROM log_key WHERE id = 1")
            .fetch_one(&self.writer)
            .await
            .map_err(|e| db_error(e, "read the log's key"))
    }

    async fn purge_idempotency(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError> {
        // Through the one writer, so a purge queues behind the engine's batch instead of
        // competing with it for the lock.
        let done = sqlx::query(
            "DELETE FROM idempotency WHERE rowid IN \
             (SELECT rowid FROM idempotency WHERE created_at < ?1 ORDER BY created_at LIMIT ?2)",
        )
        .bind(before.millis())
        .bind(i64::from(limit))
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, "purge idempotency records"))?;
        Ok(done.rows_affected())
    }
}

/// A read snapshot. Dropping it ends the transaction.
#[derive(Debug)]
struct SqliteReadTx {
    tx: Transaction<'static, Sqlite>,
}

#[async_trait]
impl ReadTx for SqliteReadTx {
    async fn load(&mut self, keys: &[Key]) -> Result<Vec<Fact>, StoreError> {
        load::load(&mut self.tx, keys).await
    }

    async fn idempotency(&mut self, keys: &[(String, String)]) -> Result<Vec<IdempotencyRecord>, StoreError> {
        write::idempotency(&mut self.tx, keys).await
    }
}

/// The write transaction of a batch, on the one writer connection. The transaction is driven
/// by hand (`BEGIN IMMEDIATE` … `COMMIT`) rather than through sqlx's transaction type, because a
/// `COMMIT` that fails (a full disk, a read-only file system) must leave the connection clean
/// for the next batch: it is rolled back, and when even that fails the connection is closed and
/// the pool opens a new one. Dropping it without `commit` or `rollback` closes the connection,
/// which rolls the transaction back.
#[derive(Debug)]
struct SqliteWriteTx {
    conn: Option<PoolConnection<Sqlite>>,
}

impl SqliteWriteTx {
    fn conn(&mut self) -> &mut SqliteConnection {
        self.conn.as_deref_mut().expect("a write transaction has its connection until it ends")
    }

    /// Ends the transaction with `ROLLBACK`; a connection that cannot roll back is closed.
    async fn end(mut conn: PoolConnection<Sqlite>) {
        if sqlx::query("ROLLBACK").execute(&mut *conn).await.is_err() {
            conn.close_on_drop();
        }
    }
}

impl Drop for SqliteWriteTx {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.as_mut() {
            // Not ended by commit or rollback (an error path): closing the connection rolls the
            // transaction back, and the pool opens a fresh one.
            conn.close_on_drop();
        }
    }
}

#[async_trait]
impl ReadTx for SqliteWriteTx {
    async fn load(&mut self, keys: &[Key]) -> Result<Vec<Fact>, StoreError> {
        load::load(self.conn(), keys).await
    }

    async fn idempotency(&mut self, keys: &[(String, String)]) -> Result<Vec<IdempotencyRecord>, StoreError> {
        write::idempotency(self.conn(), keys).await
    }
}

#[async_trait]
impl WriteTx for SqliteWriteTx {
    async fn due(&mut self, now: Timestamp, limit: u32) -> Result<Due, StoreError> {
        write::due(self.conn(), now, limit).await
    }

    async fn commit(mut self: Box<Self>, commit: Commit) -> Result<(), StoreError> {
        let written = write::commit(self.conn(), &commit).await;
        let mut conn = self.conn.take().expect("a write transaction has its connection until it ends");
        if let Err(err) = written {
            SqliteWriteTx::end(conn).await;
            return Err(err);
        }
        // Every row is written; what remains is the WAL's frames and their flush.
        if let Some(written) = &commit.written {
            written.notify_one();
        }
        if let Err(err) = sqlx::query("COMMIT").execute(&mut *conn).await {
            // SQLite may already have rolled back (a full disk); make sure, or start afresh.
            SqliteWriteTx::end(conn).await;
            return Err(db_error(err, "commit"));
        }
        Ok(())
    }

    async fn rollback(mut self: Box<Self>) {
        if let Some(conn) = self.conn.take() {
            SqliteWriteTx::end(conn).await;
        }
    }

    async fn log_size(&mut self) -> Result<u64, StoreError> {
        // The transaction began IMMEDIATE and holds the write lock: no other writer can append
        // between this answer and the commit.
        write::log_size(self.conn()).await
    }
}
