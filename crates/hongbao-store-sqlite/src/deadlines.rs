//! The table of due work on SQLite (see `hongbao_store::deadlines`): written with the batch,
//! read oldest first by the jobs, dumped for the check. One writer at a time, so nothing here
//! locks.

use hongbao_core::Timestamp;
use hongbao_core::due::{Deadline, DueItem};
use hongbao_store::StoreError;
use hongbao_store::deadlines::{ScheduleWrites, decode};
use sqlx::{AssertSqlSafe, Row as _, SqliteConnection};
use uuid::Uuid;

use crate::db_error;
use crate::tables::{DEADLINES, DEADLINES_UPSERT, bind_deadline, insert_all_then};

/// Items taken off the schedule per `DELETE` at most (two parameters each).
const DELETES_PER_STATEMENT_MAX: usize = 64;

/// Writes a batch's changes of schedule: new and moved items upserted (with the other tables'
/// multi-row statements), finished ones deleted; deleting an item that is not there is no error.
///
/// # Errors
/// [`StoreError`] when a statement fails.
pub(crate) async fn write(conn: &mut SqliteConnection, deadlines: &[Deadline]) -> Result<(), StoreError> {
    let writes = ScheduleWrites::of(deadlines);
    let upserts: Vec<&DueItem> = writes.upserts.iter().collect();
    insert_all_then(conn, &DEADLINES, DEADLINES_UPSERT, &upserts, bind_deadline, |item| {
        format!("{} of {}", item.kind, item.id)
    })
    .await?;
    for chunk in writes.deletes.chunks(DELETES_PER_STATEMENT_MAX) {
        let sql =
            format!("DELETE FROM deadlines WHERE (kind, id) IN (VALUES {})", vec!["(?, ?)"; chunk.len()].join(", "));
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (kind, id) in chunk {
            query = query.bind(kind.name()).bind(*id);
        }
        query.execute(&mut *conn).await.map_err(|e| db_error(e, "take done work off the schedule"))?;
    }
    Ok(())
}

/// Up to `limit` items due at `now`, oldest first.
///
/// # Errors
/// [`StoreError`] when the query fails or a row does not decode.
pub(crate) async fn due(conn: &mut SqliteConnection, now: Timestamp, limit: u32) -> Result<Vec<DueItem>, StoreError> {
    let rows =
        sqlx::query("SELECT kind, id, due_at FROM deadlines WHERE due_at <= ?1 ORDER BY due_at, kind, id LIMIT ?2")
            .bind(now.millis())
            .bind(i64::from(limit))
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| db_error(e, "find due work"))?;
    rows.iter().map(item).collect()
}

/// Every scheduled item, oldest first, for the check.
///
/// # Errors
/// [`StoreError`] when the query fails or a row does not decode.
pub(crate) async fn all(conn: &mut SqliteConnection) -> Result<Vec<DueItem>, StoreError> {
    let rows = sqlx::query("SELECT kind, id, due_at FROM deadlines ORDER BY due_at, kind, id")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| db_error(e, "read the schedule of due work"))?;
    rows.iter().map(item).collect()
}

fn item(row: &sqlx::sqlite::SqliteRow) -> Result<DueItem, StoreError> {
    let corrupt = |e: sqlx::Error| StoreError::Corrupt(format!("deadlines: {e}"));
    let kind: &str = row.try_get("kind").map_err(corrupt)?;
    let id: Uuid = row.try_get("id").map_err(corrupt)?;
    let due_at: i64 = row.try_get("due_at").map_err(corrupt)?;
    decode(kind, id, due_at)
}
