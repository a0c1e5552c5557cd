//! The shared store of hongbao: all its state in one PostgreSQL database, behind
//! [`hongbao_store::Store`], for several `hongbao serve` nodes at once.
//!
//! Each node runs one engine, so one write transaction at a time, against the same database as
//! the others. What keeps them correct together, none of it a money rule:
//!
//! - a write transaction is READ COMMITTED and its loads lock what the batch may change
//!   (`SELECT … FOR NO KEY UPDATE` on users, accounts, groups, packets, claims and pending
//!   records; a packet's lock also guards its set of claims): a second node's batch on the same
//!   packet waits for the first to commit and then decides from what it wrote (see `load`);
//! - new rows rely on primary and unique keys: a row two nodes both insert fails the second
//!   batch at once, as [`StoreError::Conflict`], as do a deadlock and a serialization failure;
//!   nothing of that batch is written and it may be tried again;
//! - the background jobs take their work with `FOR NO KEY UPDATE SKIP LOCKED`, so two nodes never
//!   expire the same packet or settle the same arrival;
//! - appends to the transparency log (and events, and checkpoints) are serialised by the lock
//!   on the one row of `log_head`, held from [`WriteTx::log_size`] to the commit;
//! - idempotency keys are locked (advisory, per transaction) before they are looked up, so the
//!   same request arriving at two nodes is decided once and replayed once;
//! - nonces, the development clock and the log's key live in the database (`shared()` is true).
//!
//! A node writes through exactly one connection, as SQLite does, so its write transactions follow
//! each other (a dropped one is rolled back before the next begins). Reads ([`Store::read`], the
//! history, the check) use the others, in REPEATABLE READ, READ ONLY transactions: one snapshot
//! each, and no lock taken. Every wait is bounded: a connection is
//! acquired within [`PostgresOptions::acquire_timeout_ms`] (so an outage answers
//! [`StoreError::Unavailable`] quickly rather than hanging a request), and every statement,
//! lock waits included, ends within [`PostgresOptions::statement_timeout_ms`].
//!
//! It deliberately does not decide anything: it never computes a balance, checks a limit or
//! chooses an id (that is `hongbao-core`), never encodes, hashes or signs a log entry, and does
//! not batch or order commands (that is the engine). It does not distribute the data: the schema
//! keeps every per-packet table keyed or indexed by packet id and every per-account table by
//! account id so that a distributed engine can shard it later, but this crate targets one
//! PostgreSQL primary. Durability is the server's (`synchronous_commit`), reported by
//! [`Store::durability`] as read from the server, never changed by the store.

#[macro_use]
mod rows;
mod load;
#[cfg(feature = "testing")]
pub mod testing;
mod write;

use std::collections::{HashMap, HashSet};
use std::fmt::{self, Display};
use std::time::Duration;

use async_trait::async_trait;
use hongbao_core::{AccountId, Fact, Key, KeyId, PacketId, Timestamp, TransferId};
use hongbao_store::{
    CheckpointRow, Commit, Due, Dump, HistoryItem, IdempotencyRecord, LogRow, NonceRecord, ReadTx, Store, StoreError,
    WriteTx,
};
use serde::{Deserialize, Serialize};
use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{PgConnection, Postgres, SqlSafeStr, Transaction};

use crate::load::Lock;

/// The schema, version by version. A released migration is never edited (its checksum is
/// stored in the database); a change is a new file with the next number.
const MIGRATIONS: [(i64, &str, &str); 1] = [(1, "init", include_str!("../migrations/0001_init.sql"))];

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

/// What [`PostgresStore::connect`] does about the schema.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schema {
    /// Bring the schema up to date (what `hongbao migrate` does), under the migration lock. The
    /// default.
    #[default]
    Migrate,
    /// Only check that every migration of this version is applied, and refuse to start
    /// otherwise: for deployments that migrate as a separate step, with other rights.
    Verify,
}

impl Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Schema::Migrate => "migrate",
            Schema::Verify => "verify",
        })
    }
}

/// How the store uses the server: its pool and its bounds. Every field has a default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostgresOptions {
    /// Connections this node opens at most: one for its writer (the engine's batches), the
    /// others for reads (the API, the log's catch-up while a batch is open) and single statements.
    pub connections_max: u32,
    /// How long a request waits for a connection before failing with
    /// [`StoreError::Unavailable`]. Short, so that an outage is an error at once, not a hang.
    pub acquire_timeout_ms: u64,
    /// The longest a statement may run, waiting for a lock included (PostgreSQL's
    /// `statement_timeout`); past it the statement fails and its batch is rolled back.
    pub statement_timeout_ms: u64,
    /// The longest a transaction may sit idle (`idle_in_transaction_session_timeout`): a node
    /// that stalls mid-batch then loses its locks instead of blocking every other node.
    pub idle_in_transaction_timeout_ms: u64,
    pub schema: Schema,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            connections_max: 10,
            acquire_timeout_ms: 2_000,
            statement_timeout_ms: 30_000,
            idle_in_transaction_timeout_ms: 60_000,
            schema: Schema::Migrate,
        }
    }
}

/// An option of [`PostgresOptions`] that cannot work.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid PostgreSQL option {field}: {why}")]
pub struct InvalidOption {
    pub field: &'static str,
    pub why: &'static str,
}

impl PostgresOptions {
    /// Checks every bound is usable: at least two connections, and every timeout at least 1 ms
    /// (PostgreSQL reads 0 as "no limit", and every wait needs one) and at most `i32::MAX` ms.
    ///
    /// # Errors
    /// [`InvalidOption`] naming the first field that is not.
    pub fn validate(&self) -> Result<(), InvalidOption> {
        let fail = |field, why| Err(InvalidOption { field, why });
        if self.connections_max < 2 {
            // The engine's write transaction holds the writer's while it reads the log through another.
            return fail("connections_max", "at least two connections are needed: the writer's, and one to read with");
        }
        for (field, value) in [
            ("acquire_timeout_ms", self.acquire_timeout_ms),
            ("statement_timeout_ms", self.statement_timeout_ms),
            ("idle_in_transaction_timeout_ms", self.idle_in_transaction_timeout_ms),
        ] {
            if value == 0 {
                return fail(field, "0 would mean waiting forever: give a bound in milliseconds");
            }
            if i32::try_from(value).is_err() {
                return fail(field, "PostgreSQL takes at most 2147483647 ms");
            }
        }
        Ok(())
    }
}

/// Turns a database error into a [`StoreError`], saying what was being done.
///
/// By SQLSTATE: a unique violation (23505), a serialization failure (40001) or a deadlock
/// (40P01) is [`StoreError::Conflict`]: on a shared database another node's concurrent batch is
/// the likely cause, and trying again is safe. (A duplicate key from a wrong belief of the
/// engine looks the same to PostgreSQL; retried, it fails again.) Any other broken constraint
/// (class 23: a reference to nothing, a CHECK), bad data (class 22), damaged data (XX001, XX002)
/// or a schema that lacks what this version needs (42P01, 42703) is [`StoreError::Corrupt`]:
/// retrying cannot help. Everything else (no connection within the acquire timeout, a closed
/// connection, a statement timeout, the server shutting down, a full disk, a read-only standby)
/// is [`StoreError::Unavailable`].
pub(crate) fn db_error(err: sqlx::Error, doing: impl Display) -> StoreError {
    match &err {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            match code.as_ref() {
                "23505" | "40001" | "40P01" => StoreError::Conflict(format!("{doing}: {db}")),
                "XX001" | "XX002" | "42P01" | "42703" => StoreError::Corrupt(format!("{doing}: {db}")),
                code if code.starts_with("23") || code.starts_with("22") => {
                    StoreError::Corrupt(format!("{doing}: {db}"))
                }
                _ => StoreError::Unavailable(format!("{doing}: {db}")),
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
    writer: PgPool,
    /// The rest, for reads and for the single statements (nonces, purges, the clock).
    pool: PgPool,
    synchronous_commit: String,
    durability: String,
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

    async fn begin_read(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        // One snapshot for the whole transaction, taken at its first query; READ ONLY so that
        // nothing read through it can ever write.
        self.pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await
            .map_err(|e| db_error(e, "begin a read"))
    }
}

/// The history query, with or without the `before` bound. Each side of the transfer is read
/// newest first from its own index and cut at `limit`, then the two are merged: an `OR` of the
/// two columns could not use either index in order.
macro_rules! history_query {
    ($before:literal) => {
        concat!(
            "WITH mine (id) AS ( \
                 (SELECT id FROM transfers WHERE debit = $1",
            $before,
            " AND phase IN ('posted', 'pending') ORDER BY id DESC LIMIT $3) \
                 UNION ALL \
                 (SELECT id FROM transfers WHERE credit = $1",
            $before,
            " AND phase IN ('posted', 'pending') ORDER BY id DESC LIMIT $3) \
             ) \
             SELECT ",
            transfer_columns!(),
            ", p.status AS pending_status \
             FROM mine JOIN transfers t ON t.id = mine.id LEFT JOIN pendings p ON p.transfer_id = t.id \
             ORDER BY t.id DESC LIMIT $3"
        )
    };
}

fn decode_all<T>(found: &[PgRow], decode: fn(&PgRow) -> Result<T, StoreError>) -> Result<Vec<T>, StoreError> {
    found.iter().map(decode).collect()
}

async fn fetch_all(conn: &mut PgConnection, sql: &'static str, what: &str) -> Result<Vec<PgRow>, StoreError> {
    sqlx::query(sql).fetch_all(&mut *conn).await.map_err(|e| db_error(e, format_args!("read all {what}")))
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn durability(&self) -> String {
        self.durability.clone()
    }

    async fn write(&self) -> Result<Box<dyn WriteTx>, StoreError> {
        // READ COMMITTED, said explicitly whatever the server's default: the loads lock what they
        // return, and each later statement sees what other nodes committed before it.
        let tx = self
            .writer
            .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
            .await
            .map_err(|e| db_error(e, "begin a write"))?;
        Ok(Box::new(PgWriteTx { tx, log_size: None }))
    }

    async fn read(&self) -> Result<Box<dyn ReadTx>, StoreError> {
        Ok(Box::new(PgReadTx { tx: self.begin_read().await? }))
    }

    async fn history(
        &self,
        account: AccountId,
        before: Option<TransferId>,
        limit: u32,
    ) -> Result<Vec<HistoryItem>, StoreError> {
        let query = match before {
            Some(before) => sqlx::query(history_query!(" AND id < $2")).bind(account.uuid()).bind(before.uuid()),
            // `$2` is still bound, so that both forms take the same parameters.
            None => sqlx::query(history_query!(" AND $2::uuid IS NULL")).bind(account.uuid()).bind(None::<uuid::Uuid>),
        };
        let found = query
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
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
        // One snapshot, so the check sees one consistent state however long it takes.
        let mut tx = self.begin_read().await?;
        let conn: &mut PgConnection = &mut tx;
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

        let sql = concat!("SELECT ", claim_columns!(), " FROM claims c ORDER BY c.id");
        let claims = decode_all(&fetch_all(conn, sql, "claims").await?, rows::claim)?;
        facts.extend(claims.into_iter().map(|c| Fact::Claim(c.id, Some(c))));

        // A LEFT JOIN, so that a pending record without its transfer is seen, not skipped.
        let sql = concat!(
            "SELECT ",
            transfer_columns!(),
            ", p.transfer_id AS pending_transfer_id, p.status AS pending_status, p.resolved_at AS resolved_at \
             FROM pendings p LEFT JOIN transfers t ON t.id = p.transfer_id ORDER BY p.transfer_id"
        );
        for row in fetch_all(conn, sql, "pending transfers").await? {
            let transfer: Option<uuid::Uuid> = sqlx::Row::try_get(&row, "id")
                .map_err(|e| StoreError::Corrupt(format!("pendings.transfer_id: {e}")))?;
            if transfer.is_none() {
                let orphan: uuid::Uuid = sqlx::Row::try_get(&row, "pending_transfer_id")
                    .map_err(|e| StoreError::Corrupt(format!("pendings.transfer_id: {e}")))?;
                return Err(StoreError::Corrupt(format!("pending record {orphan} has no transfer")));
            }
            let pending = rows::pending(&row)?;
            facts.push(Fact::Pending(pending.transfer.id, Some(pending)));
        }

        let sql = concat!("SELECT ", transfer_columns!(), " FROM transfers t ORDER BY t.id");
        let transfers = decode_all(&fetch_all(conn, sql, "transfers").await?, rows::transfer)?;
        facts.extend(transfers.into_iter().map(|t| Fact::Transfer(t.id, Some(t))));

        let sql = concat!("SELECT ", principal_columns!(), " FROM principals ORDER BY key_id");
        let principals = decode_all(&fetch_all(conn, sql, "principals").await?, rows::principal)?;
        facts.extend(principals.into_iter().map(|p| Fact::Principal(p.key_id, Some(p))));

        let sql = concat!("SELECT ", idempotency_columns!(), " FROM idempotency ORDER BY principal, key");
        let idempotency = decode_all(&fetch_all(conn, sql, "idempotency records").await?, rows::idempotency)?;

        let sql = "SELECT seq, body::text AS body FROM events ORDER BY seq";
        let events = decode_all(&fetch_all(conn, sql, "events").await?, rows::event)?;

        let sql = concat!("SELECT ", log_columns!(), " FROM log_entries ORDER BY idx");
        let log = decode_all(&fetch_all(conn, sql, "log entries").await?, rows::log_row)?;

        let sql = concat!("SELECT ", checkpoint_columns!(), " FROM checkpoints ORDER BY size");
        let checkpoints = decode_all(&fetch_all(conn, sql, "checkpoints").await?, rows::checkpoint)?;
        Ok(Dump { facts, idempotency, events, log, checkpoints })
    }

    async fn has_operator(&self) -> Result<bool, StoreError> {
        // Answered from the partial index `principals_operators`.
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM principals WHERE operator_name IS NOT NULL)")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error(e, "look for an operator"))
    }

    async fn log_entries(&self, start: u64, limit: u32) -> Result<Vec<LogRow>, StoreError> {
        // No entry has an index past i64::MAX, so a start beyond it finds nothing.
        let Ok(start) = i64::try_from(start) else { return Ok(Vec::new()) };
        let sql = concat!("SELECT ", log_columns!(), " FROM log_entries WHERE idx >= $1 ORDER BY idx LIMIT $2");
        let found = sqlx::query(sql)
            .bind(start)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, format_args!("read log entries from {start}")))?;
        decode_all(&found, rows::log_row)
    }

    async fn log_index_of(&self, transfer: TransferId) -> Result<Option<u64>, StoreError> {
        let found = sqlx::query("SELECT idx FROM log_entries WHERE transfer_id = $1")
            .bind(transfer.uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error(e, format_args!("find the log entry of transfer {transfer}")))?;
        found.map(|row| rows::log_index(&row)).transpose()
    }

    async fn log_entries_of_packet(&self, packet: PacketId, limit: u32) -> Result<Vec<LogRow>, StoreError> {
        // Read in index order straight from `log_entries_by_packet`.
        let sql = concat!("SELECT ", log_columns!(), " FROM log_entries WHERE packet_id = $1 ORDER BY idx LIMIT $2");
        let found = sqlx::query(sql)
            .bind(packet.uuid())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, format_args!("read the log entries of packet {packet}")))?;
        decode_all(&found, rows::log_row)
    }

    async fn latest_checkpoint(&self) -> Result<Option<CheckpointRow>, StoreError> {
        let sql = concat!("SELECT ", checkpoint_columns!(), " FROM checkpoints ORDER BY size DESC LIMIT 1");
        let found =
            sqlx::query(sql).fetch_optional(&self.pool).await.map_err(|e| db_error(e, "read the latest checkpoint"))?;
        found.as_ref().map(rows::checkpoint).transpose()
    }

    fn shared(&self) -> bool {
        true
    }

    async fn remember_nonce(
        &self,
        key: KeyId,
        digest: [u8; 16],
        expires_at_s: i64,
        now_s: i64,
    ) -> Result<bool, StoreError> {
        let fresh = self.remember_nonces(&[NonceRecord { key, digest, expires_at_s }], now_s, false).await?;
        Ok(fresh.first() == Some(&true))
    }

    async fn remember_nonce_covered(
        &self,
        key: KeyId,
        digest: [u8; 16],
        expires_at_s: i64,
        now_s: i64,
    ) -> Result<bool, StoreError> {
        let fresh = self.remember_nonces(&[NonceRecord { key, digest, expires_at_s }], now_s, true).await?;
        Ok(fresh.first() == Some(&true))
    }

    async fn remember_nonces(
        &self,
        nonces: &[NonceRecord],
        now_s: i64,
        covered: bool,
    ) -> Result<Vec<bool>, StoreError> {
        // One statement for all of them, in one transaction, atomic between nodes: a new nonce
        // is inserted, an expired record is renewed, and a live one is left alone (no row
        // returned). Of two nodes inserting the same nonce at once, the second waits for the
        // first and then finds its live record. The rest go in key order, so that nodes
        // remembering overlapping nonces wait for each other rather than deadlock; a repeat
        // within the call is a replay without asking (one statement may not upsert a row twice).
        //
        // Covered: committed without waiting for its own WAL flush. The records are visible to
        // every node at once (visibility does not wait for the flush), and the next synchronous
        // commit on this server — the engine's batch that answers the requests — flushes the
        // WAL past them. Only a crash of PostgreSQL itself within a few `wal_writer_delay`s, with
        // no synchronous commit since, can lose them, and then the requests they guarded had no
        // durable outcome to replay.
        let mut first: HashMap<(KeyId, [u8; 16]), usize> = HashMap::with_capacity(nonces.len());
        for (i, n) in nonces.iter().enumerate() {
            first.entry((n.key, n.digest)).or_insert(i);
        }
        let mut asked: Vec<&NonceRecord> = first.values().map(|&i| &nonces[i]).collect();
        asked.sort_unstable_by_key(|n| (n.key, n.digest));
        if asked.is_empty() {
            return Ok(Vec::new());
        }
        let doing = || format!("remember {} nonces", asked.len());
        let mut tx = self.pool.begin().await.map_err(|e| db_error(e, doing()))?;
        if covered {
            sqlx::query("SET LOCAL synchronous_commit = off")
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error(e, doing()))?;
        }
        let stored: Vec<(uuid::Uuid, Vec<u8>)> = sqlx::query_as(
            "INSERT INTO nonces (key_id, digest, expires_at) \
             SELECT * FROM UNNEST($1::uuid[], $2::bytea[], $3::bigint[]) \
             ON CONFLICT (key_id, digest) DO UPDATE SET expires_at = EXCLUDED.expires_at \
             WHERE nonces.expires_at <= $4 \
             RETURNING key_id, digest",
        )
        .bind(asked.iter().map(|n| n.key.uuid()).collect::<Vec<_>>())
        .bind(asked.iter().map(|n| n.digest.to_vec()).collect::<Vec<_>>())
        .bind(asked.iter().map(|n| n.expires_at_s).collect::<Vec<_>>())
        .bind(now_s)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| db_error(e, doing()))?;
        tx.commit().await.map_err(|e| db_error(e, doing()))?;
        let fresh: HashSet<(uuid::Uuid, Vec<u8>)> = stored.into_iter().collect();
        Ok(nonces
            .iter()
            .enumerate()
            .map(|(i, n)| {
                first.get(&(n.key, n.digest)) == Some(&i) && fresh.contains(&(n.key.uuid(), n.digest.to_vec()))
            })
            .collect())
    }

    async fn live_nonces(&self, now_s: i64, limit: u32) -> Result<Vec<NonceRecord>, StoreError> {
        let found = sqlx::query(
            "SELECT key_id, digest, expires_at FROM nonces WHERE expires_at > $1 ORDER BY expires_at LIMIT $2",
        )
        .bind(now_s)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error(e, "read the live nonces"))?;
        decode_all(&found, rows::nonce)
    }

    async fn secrets_not_starting_with(
        &self,
        sealed_prefix: &str,
        limit: u32,
    ) -> Result<Vec<(KeyId, String)>, StoreError> {
        let found = sqlx::query(
            "SELECT key_id, secret FROM principals WHERE NOT starts_with(secret, $1) ORDER BY key_id LIMIT $2",
        )
        .bind(sealed_prefix)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error(e, "find the secrets stored in the clear"))?;
        decode_all(&found, rows::stored_secret)
    }

    async fn secret_starting_with(&self, sealed_prefix: &str) -> Result<Option<(KeyId, String)>, StoreError> {
        let found =
            sqlx::query("SELECT key_id, secret FROM principals WHERE starts_with(secret, $1) ORDER BY key_id LIMIT 1")
                .bind(sealed_prefix)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| db_error(e, "find a sealed secret"))?;
        found.as_ref().map(rows::stored_secret).transpose()
    }

    async fn replace_secrets(&self, replaced: &[(KeyId, String, String)]) -> Result<u64, StoreError> {
        if replaced.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "UPDATE principals SET secret = r.new FROM UNNEST($1::uuid[], $2::text[], $3::text[]) AS r (key_id, old, new) \
             WHERE principals.key_id = r.key_id AND principals.secret = r.old",
        )
        .bind(replaced.iter().map(|(key, _, _)| key.uuid()).collect::<Vec<_>>())
        .bind(replaced.iter().map(|(_, old, _)| old.as_str()).collect::<Vec<_>>())
        .bind(replaced.iter().map(|(_, _, new)| new.as_str()).collect::<Vec<_>>())
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, format_args!("replace {} secrets", replaced.len())))?;
        // The old rows stay in the table's pages as dead tuples until rewritten: a full vacuum
        // rewrites the table without them. It runs once, when a database written by an older
        // version is first opened by this one.
        sqlx::query("VACUUM FULL principals")
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "vacuum the principals after replacing secrets"))?;
        Ok(done.rows_affected())
    }

    async fn forget_nonces(&self, before_s: i64, limit: u32) -> Result<u64, StoreError> {
        // SKIP LOCKED: nodes purging at once share the work instead of queueing for it.
        let done = sqlx::query(
            "DELETE FROM nonces WHERE (key_id, digest) IN \
             (SELECT key_id, digest FROM nonces WHERE expires_at < $1 ORDER BY expires_at LIMIT $2 \
              FOR UPDATE SKIP LOCKED)",
        )
        .bind(before_s)
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, "forget expired nonces"))?;
        Ok(done.rows_affected())
    }

    async fn dev_clock_offset(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT offset_ms FROM dev_clock WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error(e, "read the development clock"))
    }

    async fn advance_dev_clock(&self, by_ms: i64) -> Result<i64, StoreError> {
        if by_ms < 0 {
            return Err(StoreError::Corrupt(format!("the development clock cannot move back (by {by_ms} ms)")));
        }
        // One statement: concurrent moves from several nodes add up, none is lost.
        let moved: Option<i64> = sqlx::query_scalar(
            "UPDATE dev_clock SET offset_ms = offset_ms + $1 \
             WHERE id = 1 AND offset_ms <= 9223372036854775807 - $1 RETURNING offset_ms",
        )
        .bind(by_ms)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error(e, "move the development clock"))?;
        moved.ok_or_else(|| StoreError::Corrupt(format!("moving the development clock by {by_ms} ms overflows")))
    }

    async fn log_key(&self, proposed: &str) -> Result<String, StoreError> {
        // Two statements: the select's snapshot is taken after the insert, so it sees the row
        // whichever node inserted it.
        sqlx::query("INSERT INTO log_key (id, verifier) VALUES (1, $1) ON CONFLICT (id) DO NOTHING")
            .bind(proposed)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "store the log's key"))?;
        sqlx::query_scalar("SELECT verifier FROM log_key WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error(e, "read the log's key"))
    }

    async fn purge_idempotency(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError> {
        // SKIP LOCKED: a record a batch is replaying right now is left for the next purge.
        let done = sqlx::query(
            "DELETE FROM idempotency WHERE (principal, key) IN \
             (SELECT principal, key FROM idempotency WHERE created_at < $1 ORDER BY created_at LIMIT $2 \
              FOR UPDATE SKIP LOCKED)",
        )
        .bind(before.millis())
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, "purge idempotency records"))?;
        Ok(done.rows_affected())
    }
}

/// A read snapshot. Dropping it ends the transaction.
#[derive(Debug)]
struct PgReadTx {
    tx: Transaction<'static, Postgres>,
}

#[async_trait]
impl ReadTx for PgReadTx {
    async fn load(&mut self, keys: &[Key]) -> Result<Vec<Fact>, StoreError> {
        load::load(&mut self.tx, keys, Lock::Nothing).await
    }

    async fn idempotency(&mut self, keys: &[(String, String)]) -> Result<Vec<IdempotencyRecord>, StoreError> {
        write::idempotency(&mut self.tx, keys, Lock::Nothing).await
    }
}

/// The write transaction of a batch. Dropping it without `commit` rolls it back, which also
/// releases its locks.
#[derive(Debug)]
struct PgWriteTx {
    tx: Transaction<'static, Postgres>,
    /// The log's size, once [`WriteTx::log_size`] has taken the log's lock in this transaction.
    log_size: Option<u64>,
}

#[async_trait]
impl ReadTx for PgWriteTx {
    async fn load(&mut self, keys: &[Key]) -> Result<Vec<Fact>, StoreError> {
        load::load(&mut self.tx, keys, Lock::ForWrite).await
    }

    async fn idempotency(&mut self, keys: &[(String, String)]) -> Result<Vec<IdempotencyRecord>, StoreError> {
        write::idempotency(&mut self.tx, keys, Lock::ForWrite).await
    }
}

#[async_trait]
impl WriteTx for PgWriteTx {
    async fn due(&mut self, now: Timestamp, limit: u32) -> Result<Due, StoreError> {
        write::due(&mut self.tx, now, limit).await
    }

    async fn rollback(self: Box<Self>) {
        // Awaited here, so the next write on this node's one writer connection never meets
        // locks of this one still held by a rollback running in the background.
        let _ = self.tx.rollback().await;
    }

    async fn commit(self: Box<Self>, commit: Commit) -> Result<(), StoreError> {
        let PgWriteTx { mut tx, log_size } = *self;
        // On any error `tx` is dropped here, which rolls back everything written so far.
        write::commit(&mut tx, &commit, log_size).await?;
        if let Some(written) = &commit.written {
            written.notify_one();
        }
        tx.commit().await.map_err(|e| db_error(e, "commit"))
    }

    async fn log_size(&mut self) -> Result<u64, StoreError> {
        // The lock is held until the transaction ends, so the size cannot change before the
        // commit: asked twice, it is read once.
        if let Some(size) = self.log_size {
            return Ok(size);
        }
        let size = write::log_size(&mut self.tx).await?;
        self.log_size = Some(size);
        Ok(size)
    }
}
