//! Connecting: the pools and their bounds, the migrations or their check, and the durability
//! the server reports.

use std::time::Duration;

use hongbao_store::StoreError;
use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, SqlSafeStr, Transaction};

use crate::db_error;
use crate::options::{PostgresOptions, Schema};

/// The schema, version by version. A released migration is never edited (its checksum is
/// stored in the database); a change is a new file with the next number.
const MIGRATIONS: [(i64, &str, &str); 10] = [
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (2, "deadlines", include_str!("../migrations/0002_deadlines.sql")),
    (3, "evidence", include_str!("../migrations/0003_evidence.sql")),
    (4, "documents", include_str!("../migrations/0004_documents.sql")),
    (5, "freezes", include_str!("../migrations/0005_freezes.sql")),
    (6, "seizures", include_str!("../migrations/0006_seizures.sql")),
    (7, "cases", include_str!("../migrations/0007_cases.sql")),
    (8, "member groups", include_str!("../migrations/0008_member_groups.sql")),
    (9, "logins", include_str!("../migrations/0009_logins.sql")),
    (10, "return requests", include_str!("../migrations/0010_return_requests.sql")),
];

fn migrator() -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(version, description.into(), MigrationType::Simple, sql.into_sql_str(), false)
        })
        .collect();
    // Locking (sqlx's default): the migrator holds an advisory lock while it runs, so several
    // nodes starting at once migrate one after the other and the later ones find nothing to do.
    Migrator::with_migrations(migrations)
}

fn migrate_error(err: MigrateError) -> StoreError {
    match err {
        MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _) => db_error(e, "migrate the schema"),
        // A database migrated by a newer version, edited by hand, or left half-migrated: refuse
        // it rather than guess.
        other => StoreError::Corrupt(format!("the database schema does not match this version: {other}")),
    }
}

/// What `synchronous_commit` (and `fsync`) promise, in words, for [`Store::durability`].
fn describe_durability(synchronous_commit: &str, fsync: &str) -> String {
    let commit = match synchronous_commit {
        "on" => {
            "every commit is flushed to the write-ahead log on disk (and to synchronous standbys, if any) \
             before it is acknowledged"
        }
        "remote_apply" => {
            "every commit is on disk and applied by the synchronous standbys, if any, before it is acknowledged"
        }
        "remote_write" => {
            "every commit is on disk here and written, not yet flushed, by the synchronous standbys, if any, \
             before it is acknowledged"
        }
        "local" => {
            "every commit is flushed to the local write-ahead log on disk before it is acknowledged; \
             standbys are not waited for"
        }
        "off" => "commits are acknowledged before they reach the disk: the last ones may be lost if the server crashes",
        _ => "a setting this version does not know",
    };
    let mut words = format!("postgres, synchronous_commit={synchronous_commit}: {commit}");
    if fsync == "off" {
        words.push_str(
            "; fsync=off: the server does not force its writes to disk, so a power failure may lose commits \
             and damage the database",
        );
    }
    words
}

/// hongbao's state in a PostgreSQL database, which other nodes may share. Cloning shares the
/// same connections.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    /// Exactly one connection, for [`Store::write`]: a node has one writer, as the engine uses
    /// it. It also makes a dropped write transaction harmless to the next one: sqlx rolls it back
    /// as the connection goes back to its pool, in a task of its own, and the next write cannot
    /// have the connection before that, so it never meets the old transaction's locks.
    pub(crate) writer: PgPool,
    /// The rest, for reads and for the single statements (nonces, purges, the clock).
    pub(crate) pool: PgPool,
    synchronous_commit: String,
    pub(crate) durability: String,
    options: PostgresOptions,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user[:password]@host[:port]/database`),
    /// deals with the schema as [`PostgresOptions::schema`] says, and reads the durability the
    /// server applies.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the options are invalid, the URL does not parse or no
    /// connection is made within the acquire timeout (the server is down or unreachable);
    /// [`StoreError::Corrupt`] when the schema does not match this version (migrated by a newer
    /// one, a migration changed since it was applied, or, with [`Schema::Verify`], not migrated).
    pub async fn connect(url: &str, options: PostgresOptions) -> Result<PostgresStore, StoreError> {
        options.validate().map_err(|e| StoreError::Unavailable(e.to_string()))?;
        // The URL's own text is never repeated: it may carry a password.
        let connect: PgConnectOptions =
            url.parse().map_err(|e| StoreError::Unavailable(format!("the PostgreSQL URL does not parse: {e}")))?;
        let server = format!(
            "{}:{}/{}",
            connect.get_host(),
            connect.get_port(),
            connect.get_database().unwrap_or(connect.get_username())
        );
        let connect = connect.application_name("hongbao").options([
            ("statement_timeout", options.statement_timeout_ms.to_string()),
            ("idle_in_transaction_session_timeout", options.idle_in_transaction_timeout_ms.to_string()),
        ]);
        let acquire_timeout = Duration::from_millis(options.acquire_timeout_ms);
        let pool = PgPoolOptions::new()
            .max_connections(options.connections_max - 1)
            .acquire_timeout(acquire_timeout)
            .connect_with(connect.clone())
            .await
            .map_err(|e| db_error(e, format_args!("connect to PostgreSQL at {server}")))?;
        // Lazily: the first write opens it, and `pool` has just shown that the server answers.
        // A batch looks every row up by its key. A plan PostgreSQL made while a table was still
        // small (a fresh database, before autovacuum analysed it) scans the whole table, and a
        // prepared statement keeps that plan as the table grows: every batch then reads every
        // claim and every idempotency record (seen in `hongbao bench`, 5 million rows read by
        // 600 batches). The writer's connection therefore never chooses a full scan while an
        // index can answer.
        let writer = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(acquire_timeout)
            .connect_lazy_with(connect.options([("enable_seqscan", "off")]));
        let (synchronous_commit, fsync): (String, String) =
            sqlx::query_as("SELECT current_setting('synchronous_commit'), current_setting('fsync')")
                .fetch_one(&pool)
                .await
                .map_err(|e| db_error(e, "read the durability settings"))?;
        let durability = describe_durability(&synchronous_commit, &fsync);
        let store = PostgresStore { writer, pool, synchronous_commit, durability, options };
        match store.options.schema {
            Schema::Migrate => store.migrate().await?,
            Schema::Verify => store.verify_schema().await?,
        }
        Ok(store)
    }

    /// Brings the schema up to date: applies, in order, every embedded migration the database
    /// lacks. Safe to run from several nodes at once (they take turns on sqlx's migration lock)
    /// and again and again (an applied migration is not applied twice).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the database was migrated by a newer version or an applied
    /// migration changed; [`StoreError::Unavailable`] when the database fails.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrator().run(&self.pool).await.map_err(migrate_error)
    }

    /// Checks, without changing anything, that exactly this version's migrations are applied.
    async fn verify_schema(&self) -> Result<(), StoreError> {
        let applied: Vec<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations WHERE success ORDER BY version")
                .fetch_all(&self.pool)
                .await
                .map_err(|e| match &e {
                    // 42P01, undefined table: no migration ever ran here.
                    sqlx::Error::Database(db) if db.code().as_deref() == Some("42P01") => StoreError::Corrupt(
                        "the database has no hongbao schema: run `hongbao migrate` first".to_owned(),
                    ),
                    _ => db_error(e, "read the applied migrations"),
                })?;
        let expected: Vec<(i64, Vec<u8>)> = migrator().iter().map(|m| (m.version, m.checksum.to_vec())).collect();
        if applied == expected {
            Ok(())
        } else {
            let versions =
                |list: &[(i64, Vec<u8>)]| list.iter().map(|m| m.0.to_string()).collect::<Vec<_>>().join(", ");
            Err(StoreError::Corrupt(format!(
                "the database schema does not match this version: applied migrations [{}], expected [{}] \
                 (with these checksums); run `hongbao migrate` with the matching version",
                versions(&applied),
                versions(&expected)
            )))
        }
    }

    /// `synchronous_commit` as the server reported it when the store connected.
    pub fn synchronous_commit(&self) -> &str {
        &self.synchronous_commit
    }

    /// The options the store was connected with.
    pub fn options(&self) -> &PostgresOptions {
        &self.options
    }

    /// Closes every connection, waiting for open transactions to end. Later calls fail with
    /// [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }

    pub(crate) async fn begin_read(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        // One snapshot for the whole transaction, taken at its first query; READ ONLY so that
        // nothing read through it can ever write.
        self.pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await
            .map_err(|e| db_error(e, "begin a read"))
    }
}
