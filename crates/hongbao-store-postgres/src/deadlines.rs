//! The table of due work on PostgreSQL (see `hongbao_store::deadlines`): written with the batch,
//! taken oldest first by the jobs of every node, dumped for the check.
//!
//! Nodes share the work through advisory try-locks, one per row and transaction, taken as the
//! rows are read: a row another node's job holds is skipped, so two nodes running the jobs at
//! once get disjoint work and neither waits. A row lock (`FOR UPDATE SKIP LOCKED`) would do the
//! same but deadlock: a batch holding a packet to take its last share deletes the packet's row
//! here, while the job holding that row waits for the packet. With advisory locks the delete
//! goes through, and the job, which then loads the packet with the lock of every load, waits for
//! that batch and finds nothing left to do. Each expiry and arrival still happens once: the core
//! re-checks the entity under its lock.

use hongbao_core::Timestamp;
use hongbao_core::due::{Deadline, DueItem};
use hongbao_store::StoreError;
use hongbao_store::deadlines::{ScheduleWrites, decode};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row as _};
use uuid::Uuid;

use crate::tables::{DEADLINES, insert_all};
use crate::{db_error, rows};

/// The class of the jobs' advisory locks (`'hd'` in ASCII), apart from the idempotency keys'.
const DEADLINE_LOCK_CLASS: i32 = 0x6864;

/// Writes a batch's changes of schedule: new and moved items upserted (as the other tables are
/// written), finished ones deleted; deleting an item that is not there is no error.
///
/// # Errors
/// [`StoreError`] when a statement fails.
pub(crate) async fn write(conn: &mut PgConnection, deadlines: &[Deadline]) -> Result<(), StoreError> {
    let writes = ScheduleWrites::of(deadlines);
    let upserts: Vec<&DueItem> = writes.upserts.iter().collect();
    insert_all(conn, &DEADLINES, &upserts).await?;
    if !writes.deletes.is_empty() {
        let (kinds, ids): (Vec<&str>, Vec<Uuid>) = writes.deletes.iter().map(|(kind, id)| (kind.name(), *id)).unzip();
        sqlx::query("DELETE FROM deadlines WHERE (kind, id) IN (SELECT * FROM UNNEST($1::text[], $2::uuid[]))")
            .bind(kinds)
            .bind(ids)
            .execute(&mut *conn)
            .await
            .map_err(|e| db_error(e, "take done work off the schedule"))?;
    }
    Ok(())
}

/// Up to `limit` items due at `now`, oldest first, each held by this transaction's advisory
/// lock (see the module documentation) and skipped when another transaction holds it.
///
/// The lock is tried as rows are read in the index's order, so it is taken for the rows
/// returned; should the planner read more rows than it returns, the extra ones are only left
/// for another node's next run.
///
/// # Errors
/// [`StoreError`] when the query fails or a row does not decode.
pub(crate) async fn due(conn: &mut PgConnection, now: Timestamp, limit: u32) -> Result<Vec<DueItem>, StoreError> {
    let rows = sqlx::query(
        "SELECT kind, id, due_at FROM deadlines \
         WHERE due_at <= $1 \
           AND pg_try_advisory_xact_lock($3, ('x' || left(md5(kind || id::text), 8))::bit(32)::integer) \
         ORDER BY due_at, kind, id LIMIT $2",
    )
    .bind(now.millis())
    .bind(i64::from(limit))
    .bind(DEADLINE_LOCK_CLASS)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| db_error(e, "find due work"))?;
    rows.iter().map(item).collect()
}

/// Every scheduled item, oldest first, for the check.
///
/// # Errors
/// [`StoreError`] when the query fails or a row does not decode.
pub(crate) async fn all(conn: &mut PgConnection) -> Result<Vec<DueItem>, StoreError> {
    let rows = sqlx::query("SELECT kind, id, due_at FROM deadlines ORDER BY due_at, kind, id")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| db_error(e, "read the schedule of due work"))?;
    rows.iter().map(item).collect()
}

fn item(row: &PgRow) -> Result<DueItem, StoreError> {
    let corrupt = |e: sqlx::Error| StoreError::Corrupt(format!("deadlines: {e}"));
    let kind: &str = row.try_get("kind").map_err(corrupt)?;
    let id = rows::id(row, "deadlines", "id")?;
    let due_at: i64 = row.try_get("due_at").map_err(corrupt)?;
    decode(kind, id, due_at)
}
