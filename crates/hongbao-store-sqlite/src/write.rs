//! What runs inside the write transaction: writing a batch (its changes, idempotency records,
//! log entries and checkpoint; the schedule of due work is `deadlines`'), and looking up
//! idempotency records.
//!
//! New rows go in with multi-row `INSERT … VALUES (…), (…)` statements: a batch of a thousand
//! claims inserts about six thousand rows, and one statement per row spends most of its time
//! executing statements rather than writing pages (measured on such a batch: about 2.5 times
//! slower than 64 rows per statement). Updates are batched the same way (`UPDATE … FROM (VALUES …)`), and
//! each statement is checked to have found every one of its rows.

use std::collections::BTreeSet;

use hongbao_core::Changes;
use hongbao_core::document::Document;
use hongbao_core::ledger::Transfer;
use hongbao_core::packet::Packet;
use hongbao_core::principal::Principal;
use hongbao_store::append::{LogWriters, check_append};
use hongbao_store::{Commit, IdempotencyRecord, LogRow, NonceRecord, StoreError};
use sqlx::SqliteConnection;

use crate::tables::{
    ACCOUNTS, Bind, CASES, CLAIMS, DOCUMENT_REVEAL, DOCUMENTS, EVENTS, EventRow, FREEZES, IDEMPOTENCY, LOG_ENTRIES,
    NONCES, NONCES_UPSERT, PACKET_STATE, PACKETS, PENDINGS, PRINCIPALS, REPORTS, RETURN_REQUESTS, SEIZURES, TRANSFERS,
    USERS, bind_account, bind_case, bind_claim, bind_document, bind_document_reveal, bind_event, bind_freeze,
    bind_log_row, bind_nonce, bind_packet, bind_packet_state, bind_pending, bind_principal, bind_record, bind_report,
    bind_return_request, bind_seizure, bind_transfer, bind_user, check_pendings, groups, insert_all, insert_all_then,
    write_all, write_split,
};
use crate::{db_error, deadlines, rows};

/// The number of log entries: one past the last index, read from the end of the rowid b-tree.
/// Equal to the count because [`check_append`] keeps the indexes contiguous from 0.
///
/// # Errors
/// [`StoreError`] when the query fails or the stored index is out of range.
pub(crate) async fn log_size(conn: &mut SqliteConnection) -> Result<u64, StoreError> {
    let size: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| db_error(e, "read the size of the log"))?;
    u64::try_from(size).map_err(|_| StoreError::Corrupt(format!("the log has {size} entries")))
}

async fn latest_checkpoint_size(conn: &mut SqliteConnection) -> Result<Option<u64>, StoreError> {
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
/// # Errors
/// [`StoreError::Corrupt`] when an insert meets an existing row, an update finds none, a
/// reference names a missing row, or the log entries or checkpoint do not continue the stored
/// log; [`StoreError::Unavailable`] when the database fails.
pub(crate) async fn commit(conn: &mut SqliteConnection, commit: &Commit) -> Result<(), StoreError> {
    // The append is checked first: a batch built on another log fails before writing anything.
    if !commit.log.is_empty() || commit.checkpoint.is_some() {
        let size = log_size(conn).await?;
        let latest = match commit.checkpoint {
            Some(_) => latest_checkpoint_size(conn).await?,
            None => None,
        };
        check_append(size, LogWriters::One, &commit.log, commit.checkpoint.as_ref(), latest)?;
    }
    changes(conn, &commit.changes).await?;
    let records: Vec<&IdempotencyRecord> = commit.idempotency.iter().collect();
    insert_all(conn, &IDEMPOTENCY, &records, bind_record, |r| format!("({:?}, {:?})", r.principal, r.key)).await?;
    let nonces = hongbao_store::distinct_nonces(&commit.nonces);
    let nonces: Vec<&NonceRecord> = nonces.iter().collect();
    insert_all_then(conn, &NONCES, NONCES_UPSERT, &nonces, bind_nonce, |n| format!("of key {}", n.key)).await?;
    let log: Vec<&LogRow> = commit.log.iter().collect();
    insert_all(conn, &LOG_ENTRIES, &log, bind_log_row, |row| row.index.to_string()).await?;
    if let Some(checkpoint) = &commit.checkpoint {
        sqlx::query("INSERT INTO checkpoints (size, note, created_at) VALUES (?1, ?2, ?3)")
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
async fn changes(conn: &mut SqliteConnection, changes: &Changes) -> Result<(), StoreError> {
    write_all(conn, &changes.users, &USERS, bind_user, |u| u.id.to_string()).await?;
    write_all(conn, &changes.accounts, &ACCOUNTS, bind_account, |a| a.id.to_string()).await?;
    groups(conn, &changes.groups).await?;
    let (insert, update) =
        ((&PACKETS, bind_packet as Bind<Packet>), (&PACKET_STATE, bind_packet_state as Bind<Packet>));
    write_split(conn, &changes.packets, insert, update, |p| p.id.to_string()).await?;
    write_all(conn, &changes.claims, &CLAIMS, bind_claim, |c| c.id.to_string()).await?;
    let principals: Vec<&Principal> = changes.principals.iter().collect();
    insert_all(conn, &PRINCIPALS, &principals, bind_principal, |p| p.key_id.to_string()).await?;
    let (insert, update) =
        ((&DOCUMENTS, bind_document as Bind<Document>), (&DOCUMENT_REVEAL, bind_document_reveal as Bind<Document>));
    write_split(conn, &changes.documents, insert, update, |d| d.id.to_string()).await?;
    write_all(conn, &changes.freezes, &FREEZES, bind_freeze, |f| f.id.to_string()).await?;
    write_all(conn, &changes.seizures, &SEIZURES, bind_seizure, |s| s.id.to_string()).await?;
    write_all(conn, &changes.reports, &REPORTS, bind_report, |r| r.id.to_string()).await?;
    write_all(conn, &changes.cases, &CASES, bind_case, |c| c.id.to_string()).await?;
    write_all(conn, &changes.return_requests, &RETURN_REQUESTS, bind_return_request, |r| r.id.to_string()).await?;
    let transfers: Vec<&Transfer> = changes.transfers.iter().collect();
    insert_all(conn, &TRANSFERS, &transfers, bind_transfer, |t| t.id.to_string()).await?;
    check_pendings(&changes.pendings)?;
    write_all(conn, &changes.pendings, &PENDINGS, bind_pending, |p| p.transfer.id.to_string()).await?;
    deadlines::write(conn, &changes.deadlines).await?;
    let events = changes
        .events
        .iter()
        .map(|event| match serde_json::to_string(event) {
            Ok(body) => Ok(EventRow { event, body }),
            Err(e) => {
                Err(StoreError::Corrupt(format!("event {} at {} cannot be encoded: {e}", event.what.name(), event.at)))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let events: Vec<&EventRow<'_>> = events.iter().collect();
    insert_all(conn, &EVENTS, &events, bind_event, |row| format!("{} at {}", row.event.what.name(), row.event.at)).await
}

/// The stored records among `keys`, once each.
///
/// # Errors
/// [`StoreError`] when a query fails or a record does not decode.
pub(crate) async fn idempotency(
    conn: &mut SqliteConnection,
    keys: &[(String, String)],
) -> Result<Vec<IdempotencyRecord>, StoreError> {
    let mut found = Vec::new();
    let distinct: BTreeSet<&(String, String)> = keys.iter().collect();
    for (principal, key) in distinct {
        let sql = concat!("SELECT ", idempotency_columns!(), " FROM idempotency WHERE principal = ?1 AND key = ?2");
        let row = sqlx::query(sql)
            .bind(principal)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| db_error(e, "look up an idempotency key"))?;
        if let Some(row) = row {
            found.push(rows::idempotency(&row)?);
        }
    }
    Ok(found)
}
