//! What runs inside the write transaction: writing a batch (its changes, idempotency records,
//! log entries and checkpoint; the schedule of due work is `deadlines`'), taking the log's lock,
//! and looking up idempotency records.
//!
//! Every table is written with a fixed number of statements whatever the batch's size: new rows
//! with `INSERT … SELECT … FROM UNNEST($1::uuid[], $2::text[], …)` (one array per column, so the
//! statement has one shape and stays prepared), changed rows with `UPDATE … FROM UNNEST(…)`,
//! whose `RETURNING` list shows that each row it was given existed. A batch of a thousand claims
//! is then about twenty round trips.

use std::collections::BTreeSet;

use hongbao_core::Changes;
use hongbao_core::ledger::Transfer;
use hongbao_core::principal::Principal;
use hongbao_store::append::{LogWriters, check_append};
use hongbao_store::{Commit, IdempotencyRecord, LogRow, NonceRecord, StoreError};
use sqlx::PgConnection;

use crate::load::Lock;
use crate::tables::{
    ACCOUNTS, CASES, CLAIMS, DOCUMENT_REVEAL, DOCUMENTS, FREEZES, IDEMPOTENCY, LOG_ENTRIES, NONCES, PACKET_STATE,
    PACKETS, PENDINGS, PRINCIPALS, REPORTS, RETURN_REQUESTS, SEIZURES, TRANSFERS, USERS, check_pendings, groups,
    insert_all, insert_events, write_all, write_split,
};
use crate::{db_error, deadlines, rows};

/// Takes the log's lock and answers the log's size: one past the last index, read from the end of
/// the primary key's index. Equal to the count because [`check_append`] keeps the indexes
/// contiguous from 0.
///
/// The lock is the one row of `log_head`, held until the transaction ends: another node's batch
/// asking for it waits until this one has committed (or rolled back), and its next statement,
/// which reads the size, then sees the entries this one appended. Two statements, not one: a
/// single statement's snapshot is taken before it waits for the lock, so it would miss them.
///
/// # Errors
/// [`StoreError`] when a query fails (the lock not granted within the statement timeout
/// included) or the log's head is missing.
pub(crate) async fn log_size(conn: &mut PgConnection) -> Result<u64, StoreError> {
    let head: Option<i32> = sqlx::query_scalar("SELECT id FROM log_head WHERE id = 1 FOR UPDATE")
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| db_error(e, "lock the log"))?;
    if head.is_none() {
        return Err(StoreError::Corrupt("log_head has no row: the log cannot be locked".to_owned()));
    }
    let size: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| db_error(e, "read the size of the log"))?;
    u64::try_from(size).map_err(|_| StoreError::Corrupt(format!("the log has {size} entries")))
}

async fn latest_checkpoint_size(conn: &mut PgConnection) -> Result<Option<u64>, StoreError> {
    let size: Option<i64> = sqlx::query_scalar("SELECT MAX(size) FROM checkpoints")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| db_error(e, "read the size of the latest checkpoint"))?;
    size.map(|size| u64::try_from(size).map_err(|_| StoreError::Corrupt(format!("a checkpoint of size {size}"))))
        .transpose()
}

/// Writes a whole batch: its changes, idempotency records, nonces, log entries and checkpoint. The
/// caller commits, or drops the transaction on error so that nothing of the batch remains.
///
/// A batch that appends to the log, stores events or a checkpoint holds the log's lock before it
/// writes anything (taking it here if [`log_size`] did not): its entries continue the log as it
/// is, and its events are numbered after those of every batch committed before it.
///
/// # Errors
/// [`StoreError::Corrupt`] when a row breaks a constraint, an update finds no row, or the log
/// entries or the checkpoint do not fit the stored log; [`StoreError::Conflict`] when another
/// node raced this batch (see [`check_append`] and [`crate::db_error`]);
/// [`StoreError::Unavailable`] when the database fails.
pub(crate) async fn commit(conn: &mut PgConnection, commit: &Commit, size: Option<u64>) -> Result<(), StoreError> {
    if !commit.log.is_empty() || commit.checkpoint.is_some() || !commit.changes.events.is_empty() {
        let (size, seen) = match size {
            Some(size) => (size, LogWriters::SharedSizeRead),
            None => (log_size(conn).await?, LogWriters::SharedSizeAtCommit),
        };
        let latest = match commit.checkpoint {
            Some(_) => latest_checkpoint_size(conn).await?,
            None => None,
        };
        check_append(size, seen, &commit.log, commit.checkpoint.as_ref(), latest)?;
    }
    changes(conn, &commit.changes).await?;
    let records: Vec<&IdempotencyRecord> = commit.idempotency.iter().collect();
    insert_all(conn, &IDEMPOTENCY, &records).await?;
    let nonces = hongbao_store::distinct_nonces(&commit.nonces);
    let nonces: Vec<&NonceRecord> = nonces.iter().collect();
    insert_all(conn, &NONCES, &nonces).await?;
    let log: Vec<&LogRow> = commit.log.iter().collect();
    insert_all(conn, &LOG_ENTRIES, &log).await?;
    if let Some(checkpoint) = &commit.checkpoint {
        sqlx::query("INSERT INTO checkpoints (size, note, created_at) VALUES ($1, $2, $3)")
            .bind(i64::try_from(checkpoint.size).unwrap_or(i64::MAX))
            .bind(&checkpoint.note)
            .bind(checkpoint.created_at.millis())
            .execute(&mut *conn)
            .await
            .map_err(|e| db_error(e, format_args!("insert of the checkpoint of size {}", checkpoint.size)))?;
    }
    Ok(())
}

/// Writes every change of a batch.
async fn changes(conn: &mut PgConnection, changes: &Changes) -> Result<(), StoreError> {
    write_all(conn, &USERS, &changes.users).await?;
    write_all(conn, &ACCOUNTS, &changes.accounts).await?;
    groups(conn, &changes.groups).await?;
    write_split(conn, &PACKETS, &PACKET_STATE, &changes.packets).await?;
    write_all(conn, &CLAIMS, &changes.claims).await?;
    let principals: Vec<&Principal> = changes.principals.iter().collect();
    insert_all(conn, &PRINCIPALS, &principals).await?;
    write_split(conn, &DOCUMENTS, &DOCUMENT_REVEAL, &changes.documents).await?;
    write_all(conn, &FREEZES, &changes.freezes).await?;
    write_all(conn, &SEIZURES, &changes.seizures).await?;
    write_all(conn, &REPORTS, &changes.reports).await?;
    write_all(conn, &CASES, &changes.cases).await?;
    write_all(conn, &RETURN_REQUESTS, &changes.return_requests).await?;
    let transfers: Vec<&Transfer> = changes.transfers.iter().collect();
    insert_all(conn, &TRANSFERS, &transfers).await?;
    check_pendings(&changes.pendings)?;
    write_all(conn, &PENDINGS, &changes.pendings).await?;
    deadlines::write(conn, &changes.deadlines).await?;
    insert_events(conn, &changes.events).await
}

/// The class of hongbao's advisory locks on idempotency keys (`'hb'` in ASCII), so that they
/// cannot meet other advisory locks of the same database.
const IDEMPOTENCY_LOCK_CLASS: i32 = 0x6862;

/// A stable 32-bit hash of an idempotency key (FNV-1a), the same on every node and version. A
/// collision only makes two unrelated keys wait for each other.
fn idempotency_lock(principal: &str, key: &str) -> i32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in principal.bytes().chain([0]).chain(key.bytes()) {
        hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
    }
    i32::from_be_bytes(hash.to_be_bytes())
}

/// The stored records among `keys`, once each.
///
/// On a shared database two nodes may get the same request at once (a client retrying through
/// a load balancer). So the keys are locked first, with transaction-scoped advisory locks taken
/// in one order: a second node asking for a key waits until the first one's batch has committed,
/// then finds its record and replays it, instead of deciding the command again and failing at
/// commit on the duplicate key. The records are read by a later statement, whose snapshot
/// includes what was committed while waiting. A read snapshot (`Lock::Nothing`) takes no lock.
///
/// # Errors
/// [`StoreError`] when a query fails or a record does not decode.
pub(crate) async fn idempotency(
    conn: &mut PgConnection,
    keys: &[(String, String)],
    lock: Lock,
) -> Result<Vec<IdempotencyRecord>, StoreError> {
    let distinct: BTreeSet<&(String, String)> = keys.iter().collect();
    if distinct.is_empty() {
        return Ok(Vec::new());
    }
    if lock == Lock::ForWrite {
        let locks: BTreeSet<i32> = distinct.iter().map(|(principal, key)| idempotency_lock(principal, key)).collect();
        sqlx::query("SELECT pg_advisory_xact_lock($1, k) FROM UNNEST($2::integer[]) AS k")
            .bind(IDEMPOTENCY_LOCK_CLASS)
            .bind(locks.into_iter().collect::<Vec<i32>>())
            .execute(&mut *conn)
            .await
            .map_err(|e| db_error(e, "lock idempotency keys"))?;
    }
    let (principals, keys): (Vec<String>, Vec<String>) = distinct.into_iter().cloned().unzip();
    let sql = concat!(
        "SELECT ",
        idempotency_columns!(),
        " FROM idempotency WHERE (principal, key) IN (SELECT * FROM UNNEST($1::text[], $2::text[]))"
    );
    let found = sqlx::query(sql)
        .bind(principals)
        .bind(keys)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| db_error(e, "look up idempotency keys"))?;
    found.iter().map(rows::idempotency).collect()
}
