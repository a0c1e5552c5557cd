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
//! shared by several nodes: [`Store::shared`](hongbao_store::Store::shared) is false.
//!
//! It deliberately does not decide anything: it never computes a balance, checks a limit or
//! chooses an id (that is `hongbao-core`), never encodes, hashes or signs a log entry, and it
//! does not batch or order commands (that is the engine). It does not support several processes writing the same file at speed: a second
//! process waits for the write lock, up to a busy timeout, and that is all. Durability is a
//! setting the caller chooses and [`Store::durability`](hongbao_store::Store::durability) reports; it is never lowered silently.
//!
//! By concern: `open.rs` (the file, its connections and settings), `durability.rs`, `store.rs`
//! (the `Store` methods), `tx.rs` (the transactions), `load.rs` (a batch's reads), `write.rs`
//! (its commit) and `rows.rs` (SQLite's values for `hongbao_store::columns`).

// The shared column lists (`user_columns!` …) of `hongbao_store::columns`.
#[macro_use]
extern crate hongbao_store;

#[macro_use]
mod rows;
mod deadlines;
mod durability;
mod load;
mod open;
mod store;
mod tables;
mod tx;
mod write;

use std::fmt::Display;

use hongbao_store::StoreError;

pub use crate::durability::{Durability, UnknownDurability};
pub use crate::open::{InForce, SqliteStore, WalCheckpoint, writer_options};

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
