//! A fresh database for every run: a new SQLite file in the bench's temporary directory, or a
//! new PostgreSQL database on the given server, created for the run and dropped after it. No
//! run pays for another's rows, and each starts from the same empty state.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::Context;
use clap::ValueEnum;
use hongbao_store::Store;
use hongbao_store_postgres::{PostgresOptions, PostgresStore, server_name, with_database};
use hongbao_store_sqlite::{Durability, SqliteStore};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use uuid::Uuid;

/// The stores hongbao runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    Sqlite,
    Postgres,
}

impl StoreKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            StoreKind::Sqlite => "sqlite",
            StoreKind::Postgres => "postgres",
        }
    }
}

/// How long the bench waits to reach PostgreSQL before saying it cannot.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a SQLite connection of a baseline waits for the file's write lock before it fails
/// with `busy`: long, so that only a real stall counts as an error.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Where runs get their databases.
#[derive(Debug)]
pub struct Databases {
    pub kind: StoreKind,
    /// SQLite files and the servers' data directories live here.
    pub dir: PathBuf,
    /// The PostgreSQL server, as a URL naming a database to connect to for `CREATE DATABASE`.
    pub postgres_url: String,
    pub durability: Durability,
    counter: AtomicU32,
}

impl Databases {
    pub fn new(kind: StoreKind, dir: &Path, postgres_url: &str, durability: Durability) -> Databases {
        Databases {
            kind,
            dir: dir.to_owned(),
            postgres_url: postgres_url.to_owned(),
            durability,
            counter: AtomicU32::new(0),
        }
    }

    /// A new, empty database (no schema) named after `label`.
    ///
    /// # Errors
    /// When the PostgreSQL server cannot be reached or refuses to create a database.
    pub async fn fresh(&self, label: &str) -> anyhow::Result<Fresh> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        match self.kind {
            StoreKind::Sqlite => Ok(Fresh::Sqlite(self.dir.join(format!("{n:02}-{label}.db")))),
            StoreKind::Postgres => {
                let name = format!("hb_bench_{}_{n}_{label}", std::process::id());
                let mut admin = admin(&self.postgres_url).await?;
                admin
                    .execute(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                    .await
                    .with_context(|| format!("cannot create the database {name}"))?;
                let _ = admin.close().await;
                let url = with_database(&self.postgres_url, &name);
                Ok(Fresh::Postgres(PgDatabase { name, url, admin_url: self.postgres_url.clone(), dropped: false }))
            }
        }
    }

    /// A scratch directory of `label` (a server's data directory).
    pub fn scratch_dir(&self, label: &str) -> anyhow::Result<PathBuf> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let dir = self.dir.join(format!("{n:02}-{label}"));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(dir)
    }

    /// The durability in force, as one line for the reports: SQLite's setting (the same for every
    /// run's connections), or what the PostgreSQL server says it applies.
    ///
    /// # Errors
    /// When PostgreSQL cannot be reached.
    pub async fn durability_in_force(&self) -> anyhow::Result<String> {
        match self.kind {
            StoreKind::Sqlite => Ok(format!("sqlite WAL, synchronous={}", self.durability.as_str().to_uppercase())),
            StoreKind::Postgres => {
                let mut admin = admin(&self.postgres_url).await?;
                let (commit, fsync): (String, String) =
                    sqlx::query_as("SELECT current_setting('synchronous_commit'), current_setting('fsync')")
                        .fetch_one(&mut admin)
                        .await
                        .context("cannot read PostgreSQL's durability settings")?;
                let _ = admin.close().await;
                Ok(format!("postgres synchronous_commit={commit}, fsync={fsync}"))
            }
        }
    }

    /// Before a measured phase: a checkpoint on PostgreSQL (needs a superuser; without one the
    /// runs go without), then `sync`, so that no run pays for writing back the dirty pages of
    /// the one before it (or of its own setup) while it fsyncs its commits.
    pub async fn settle(&self) {
        if self.kind == StoreKind::Postgres
            && let Ok(mut admin) = admin(&self.postgres_url).await
        {
            let _ = admin.execute("CHECKPOINT").await;
            let _ = admin.close().await;
        }
        let _ = tokio::task::spawn_blocking(|| std::process::Command::new("sync").status()).await;
    }

    /// The PostgreSQL server's version (`server_version`), for the reports.
    pub async fn postgres_version(&self) -> Option<String> {
        if self.kind != StoreKind::Postgres {
            return None;
        }
        let mut admin = admin(&self.postgres_url).await.ok()?;
        let version: Option<String> = sqlx::query_scalar("SHOW server_version").fetch_one(&mut admin).await.ok();
        let _ = admin.close().await;
        version
    }
}

async fn admin(url: &str) -> anyhow::Result<PgConnection> {
    let where_ = server_name(url).unwrap_or_else(|| "an unparsable URL".to_owned());
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(url)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(anyhow::anyhow!("cannot reach PostgreSQL at {where_}: {e}")),
        Err(_) => Err(anyhow::anyhow!("cannot reach PostgreSQL at {where_}: no answer within {CONNECT_TIMEOUT:?}")),
    }
}

/// One run's database.
#[derive(Debug)]
pub enum Fresh {
    Sqlite(PathBuf),
    Postgres(PgDatabase),
}

/// A database made for one run. Dropped by [`Fresh::remove`], or when this guard is dropped.
#[derive(Debug)]
pub struct PgDatabase {
    pub name: String,
    pub url: String,
    admin_url: String,
    dropped: bool,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if !self.dropped {
            drop_blocking(&self.admin_url, &self.name);
        }
    }
}

/// Drops database `name` from a thread of its own (a `Drop` cannot await, nor block the runtime).
fn drop_blocking(admin_url: &str, name: &str) {
    let (admin_url, name) = (admin_url.to_owned(), name.to_owned());
    let dropped = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        runtime.block_on(drop_database(&admin_url, &name)).map_err(|e| e.to_string())
    })
    .join();
    if let Ok(Err(why)) = dropped {
        eprintln!("bench: the database was not dropped: {why}");
    }
}

async fn drop_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let mut conn = admin(admin_url).await?;
    conn.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
        .await
        .with_context(|| format!("cannot drop the database {name}"))?;
    let _ = conn.close().await;
    Ok(())
}

impl Fresh {
    /// What `hongbao serve --database` takes: the file or the URL.
    pub fn database_arg(&self) -> String {
        match self {
            Fresh::Sqlite(path) => path.display().to_string(),
            Fresh::Postgres(db) => db.url.clone(),
        }
    }

    /// Opens hongbao's store on it, creating the schema.
    ///
    /// # Errors
    /// When the database cannot be opened or migrated.
    pub async fn open_store(&self, durability: Durability) -> anyhow::Result<OpenStore> {
        match self {
            Fresh::Sqlite(path) => Ok(OpenStore::Sqlite(SqliteStore::open(path, durability).await?)),
            Fresh::Postgres(db) => {
                let options = PostgresOptions { connections_max: 10, ..PostgresOptions::default() };
                Ok(OpenStore::Postgres(PostgresStore::connect(&db.url, options).await?))
            }
        }
    }

    /// A plain connection pool of `connections` for the baselines, with the durability of the
    /// run (SQLite: WAL and the same `synchronous`; PostgreSQL: the server's). With
    /// `store_settings`, SQLite's connections are set up as hongbao's writer is (statement
    /// journals in memory, its page cache; its checkpoints come from an open store).
    ///
    /// # Errors
    /// When the database cannot be opened.
    pub async fn raw_pool(
        &self,
        connections: u32,
        durability: Durability,
        store_settings: bool,
    ) -> anyhow::Result<RawPool> {
        match self {
            Fresh::Sqlite(path) => {
                let synchronous = match durability {
                    Durability::Full => SqliteSynchronous::Full,
                    Durability::Normal => SqliteSynchronous::Normal,
                    Durability::Off => SqliteSynchronous::Off,
                };
                let options = if store_settings {
                    hongbao_store_sqlite::writer_options(path, durability)
                } else {
                    SqliteConnectOptions::new()
                        .filename(path)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(synchronous)
                        .busy_timeout(SQLITE_BUSY_TIMEOUT)
                        .foreign_keys(true)
                };
                let options = options.create_if_missing(true);
                let pool = SqlitePoolOptions::new()
                    .max_connections(connections)
                    .min_connections(connections)
                    .connect_with(options)
                    .await
                    .with_context(|| format!("cannot open {}", path.display()))?;
                Ok(RawPool::Sqlite(pool))
            }
            Fresh::Postgres(db) => {
                let pool = PgPoolOptions::new()
                    .max_connections(connections)
                    .min_connections(connections)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect(&db.url)
                    .await
                    .with_context(|| format!("cannot connect to the database {}", db.name))?;
                Ok(RawPool::Postgres(pool))
            }
        }
    }

    /// Deletes the database now: a SQLite file with its WAL (whose dirty pages then need no
    /// writing back), or a PostgreSQL database.
    pub async fn remove(self) {
        match self {
            Fresh::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Fresh::Postgres(mut db) => {
                db.dropped = true;
                if let Err(err) = drop_database(&db.admin_url, &db.name).await {
                    eprintln!("bench: {err:#}");
                }
            }
        }
    }
}

/// hongbao's store, kept concrete so that a SQLite file can be closed before a server opens it.
#[derive(Clone, Debug)]
pub enum OpenStore {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl OpenStore {
    pub fn arc(&self) -> Arc<dyn Store> {
        match self {
            OpenStore::Sqlite(store) => Arc::new(store.clone()),
            OpenStore::Postgres(store) => Arc::new(store.clone()),
        }
    }

    /// Closes the SQLite connections, waiting for open transactions (PostgreSQL's close as the
    /// last clone is dropped).
    pub async fn close(&self) {
        if let OpenStore::Sqlite(store) = self {
            store.close().await;
        }
    }
}

/// A plain pool on one of the two databases.
#[derive(Clone, Debug)]
pub enum RawPool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl RawPool {
    pub async fn close(&self) {
        match self {
            RawPool::Sqlite(pool) => pool.close().await,
            RawPool::Postgres(pool) => pool.close().await,
        }
    }

    /// One number from a query, e.g. a count.
    ///
    /// # Errors
    /// When the query fails.
    pub async fn scalar(&self, sql: &'static str) -> anyhow::Result<i64> {
        Ok(match self {
            RawPool::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await?,
            RawPool::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await?,
        })
    }

    /// Runs statements separated by `;` (a schema).
    ///
    /// # Errors
    /// When one fails.
    pub async fn execute_script(&self, script: &str) -> anyhow::Result<()> {
        for statement in script.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let sql = AssertSqlSafe(statement.to_owned());
            match self {
                RawPool::Sqlite(pool) => {
                    pool.execute(sql).await?;
                }
                RawPool::Postgres(pool) => {
                    pool.execute(sql).await?;
                }
            }
        }
        Ok(())
    }

    /// What SQLite's connections apply (`PRAGMA synchronous`), to show the baselines run with the
    /// same durability; `None` on PostgreSQL, whose setting is the server's.
    pub async fn sqlite_synchronous(&self) -> Option<String> {
        let RawPool::Sqlite(pool) = self else { return None };
        let level: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(pool).await.ok()?;
        Some(match level {
            0 => "OFF".to_owned(),
            1 => "NORMAL".to_owned(),
            2 => "FULL".to_owned(),
            3 => "EXTRA".to_owned(),
            other => other.to_string(),
        })
    }
}

/// One value of a row inserted by [`RawPool::insert_rows`], typed so that a `NULL` is too.
#[derive(Clone, Debug)]
pub enum V {
    Uuid(Uuid),
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    /// An array of fen: `bigint[]` on PostgreSQL, a JSON array on SQLite (as the stores keep shares).
    Fen(Vec<i64>),
    Bool(bool),
    NullUuid,
    NullInt,
    NullText,
}

type SqliteQuery = sqlx::query::Query<'static, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>;
type PgQuery = sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments>;

fn bind_sqlite(query: SqliteQuery, value: V) -> SqliteQuery {
    match value {
        V::Uuid(u) => query.bind(u),
        V::Int(i) => query.bind(i),
        V::Text(t) => query.bind(t),
        V::Bytes(b) => query.bind(b),
        V::Fen(fen) => query.bind(format!("[{}]", fen.iter().map(i64::to_string).collect::<Vec<_>>().join(","))),
        V::Bool(b) => query.bind(b),
        V::NullUuid => query.bind(None::<Uuid>),
        V::NullInt => query.bind(None::<i64>),
        V::NullText => query.bind(None::<String>),
    }
}

fn bind_pg(query: PgQuery, value: V) -> PgQuery {
    match value {
        V::Uuid(u) => query.bind(u),
        V::Int(i) => query.bind(i),
        V::Text(t) => query.bind(t),
        V::Bytes(b) => query.bind(b),
        V::Fen(fen) => query.bind(fen),
        V::Bool(b) => query.bind(b),
        V::NullUuid => query.bind(None::<Uuid>),
        V::NullInt => query.bind(None::<i64>),
        V::NullText => query.bind(None::<String>),
    }
}

/// Bound parameters per statement: SQLite's smallest limit (999), PostgreSQL's well inside its.
const SQLITE_PARAMS_MAX: usize = 999;
/// Rows per SQLite statement at most: what hongbao's store measured best.
const SQLITE_ROWS_MAX: usize = 64;
const PG_PARAMS_MAX: usize = 30_000;

/// `head (?, ?), (?, ?) tail` (or `($1, $2), ($3, $4)` on PostgreSQL) for `rows` rows of
/// `columns`.
///
/// SQLite's placeholders are anonymous, as the store's are: a numbered `?NNN` is a named
/// parameter to SQLite, and sqlx looks up every parameter's name when it binds, a walk of the
/// statement's list of names each time, so a statement of 768 numbered parameters spent more time
/// binding than writing (the ceiling of `hot` was 15 000–23 000 claims/s that way).
fn values_sql(head: &str, tail: &str, columns: usize, rows: usize, postgres: bool) -> String {
    let mut sql = String::with_capacity(head.len() + rows * columns * 6);
    sql.push_str(head);
    let mut n = 0;
    for row in 0..rows {
        sql.push_str(if row == 0 { " (" } else { ", (" });
        for column in 0..columns {
            n += 1;
            if column > 0 {
                sql.push_str(", ");
            }
            if postgres {
                sql.push('$');
                sql.push_str(&n.to_string());
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql.push_str(tail);
    sql
}

/// Runs `head (…), (…) tail` over `rows` on an open SQLite connection, as many rows per
/// statement as the parameters allow: a multi-row `INSERT … VALUES`, or an
/// `UPDATE … FROM (VALUES …) AS v …` (whose columns are `v.column1`, `v.column2`, …).
///
/// # Errors
/// When a statement fails.
pub async fn values_sqlite(
    conn: &mut sqlx::SqliteConnection,
    head: &str,
    tail: &str,
    columns: usize,
    rows: Vec<Vec<V>>,
) -> anyhow::Result<()> {
    // As many rows per statement as hongbao's store takes (64, within the parameter limit), so
    // that the ceiling is not held back by statements of a size SQLite handles worse.
    let per = (SQLITE_PARAMS_MAX / columns).clamp(1, SQLITE_ROWS_MAX);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<V>> = rows.by_ref().take(per).collect();
        let mut query = sqlx::query(AssertSqlSafe(values_sql(head, tail, columns, chunk.len(), false)));
        for value in chunk.into_iter().flatten() {
            query = bind_sqlite(query, value);
        }
        query.execute(&mut *conn).await.with_context(|| format!("{head} …"))?;
    }
    Ok(())
}

/// Inserts `rows` on an open PostgreSQL connection, as many per statement as the parameters allow.
///
/// # Errors
/// When a statement fails.
pub async fn insert_pg(conn: &mut PgConnection, head: &str, columns: usize, rows: Vec<Vec<V>>) -> anyhow::Result<()> {
    let per = (PG_PARAMS_MAX / columns).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<V>> = rows.by_ref().take(per).collect();
        let mut query = sqlx::query(AssertSqlSafe(values_sql(head, "", columns, chunk.len(), true)));
        for value in chunk.into_iter().flatten() {
            query = bind_pg(query, value);
        }
        query.execute(&mut *conn).await.with_context(|| format!("{head} …"))?;
    }
    Ok(())
}

impl RawPool {
    /// Inserts `rows` (each `columns` values) with `head` (`INSERT INTO t (a, b) VALUES`), in
    /// one transaction: for setting up a run, not for measuring one.
    ///
    /// # Errors
    /// When a statement fails; nothing is inserted then.
    pub async fn insert_rows(&self, head: &str, columns: usize, rows: Vec<Vec<V>>) -> anyhow::Result<()> {
        match self {
            RawPool::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                values_sqlite(&mut tx, head, "", columns, rows).await?;
                tx.commit().await?;
            }
            RawPool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                insert_pg(&mut tx, head, columns, rows).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }
}
