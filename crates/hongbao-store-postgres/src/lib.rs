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
//! - the background jobs take their items of due work with advisory try-locks, skipping what
//!   another node's job holds, and the core re-checks each entity under its load's lock, so two
//!   nodes never expire the same packet or settle the same arrival (see `deadlines`);
//! - appends to the transparency log (and events, and checkpoints) are serialised by the lock
//!   on the one row of `log_head`, held from [`WriteTx::log_size`](hongbao_store::WriteTx::log_size) to the commit;
//! - idempotency keys are locked (advisory, per transaction) before they are looked up, so the
//!   same request arriving at two nodes is decided once and replayed once;
//! - nonces, the development clock and the log's key live in the database (`shared()` is true).
//!
//! A node writes through exactly one connection, as SQLite does, so its write transactions follow
//! each other (a dropped one is rolled back before the next begins). Reads ([`Store::read`](hongbao_store::Store::read), the
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
//! [`Store::durability`](hongbao_store::Store::durability) as read from the server, never changed by the store.
//!
//! By concern: `connect.rs` (the pools, the schema, the durability), `options.rs`, `store.rs`
//! (the `Store` methods), `tx.rs` (the transactions), `load.rs` (a batch's reads and locks),
//! `write.rs` (its commit), `rows.rs` (PostgreSQL's values for `hongbao_store::columns`) and
//! `url.rs` (another database on the same server) and `testing.rs` (feature `testing`).

// The shared column lists (`user_columns!` …) of `hongbao_store::columns`.
#[macro_use]
extern crate hongbao_store;

#[macro_use]
mod rows;
mod connect;
mod deadlines;
mod load;
mod options;
mod store;
mod tables;
#[cfg(feature = "testing")]
pub mod testing;
mod tx;
mod url;
mod write;

use std::fmt::Display;

use hongbao_store::StoreError;

pub use crate::connect::PostgresStore;
pub use crate::options::{InvalidOption, PostgresOptions, Schema};
pub use crate::url::{server_name, with_database};

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
