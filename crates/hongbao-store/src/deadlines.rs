//! The table of due work, as every backend keeps it: one row per scheduled [`DueItem`], keyed by
//! its kind and entity, written from [`Changes::deadlines`](hongbao_core::Changes) in the
//! batch's transaction and read by [`WriteTx::due`](crate::WriteTx::due) oldest first. A new
//! kind of deadline needs nothing here: the kind is a stored name.

use hongbao_core::Timestamp;
use hongbao_core::due::{Deadline, DueItem, DueKind};
use uuid::Uuid;

use crate::StoreError;

/// A batch's changes of schedule, as a backend writes them: the items to insert or move
/// (upserts), and the items no longer due (deletes; one that is not there is no error).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ScheduleWrites {
    pub upserts: Vec<DueItem>,
    pub deletes: Vec<(DueKind, Uuid)>,
}

impl ScheduleWrites {
    pub fn of(deadlines: &[Deadline]) -> ScheduleWrites {
        let mut writes = ScheduleWrites::default();
        for deadline in deadlines {
            match deadline.at {
                Some(at) => writes.upserts.push(DueItem { at, kind: deadline.kind, id: deadline.id }),
                None => writes.deletes.push((deadline.kind, deadline.id)),
            }
        }
        writes
    }
}

/// A stored row back into an item.
///
/// # Errors
/// [`StoreError::Corrupt`] when the kind is not one this version knows (a newer node wrote it,
/// or the row is damaged).
pub fn decode(kind: &str, id: Uuid, due_at: i64) -> Result<DueItem, StoreError> {
    let kind = DueKind::from_name(kind)
        .ok_or_else(|| StoreError::Corrupt(format!("deadlines: unknown kind {kind:?} for {id}")))?;
    Ok(DueItem { at: Timestamp::from_millis(due_at), kind, id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_split_into_upserts_and_deletes_and_rows_decode_by_name() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let at = Timestamp::from_millis(5);
        let writes = ScheduleWrites::of(&[
            Deadline { kind: DueKind::PacketExpiry, id: a, at: Some(at) },
            Deadline { kind: DueKind::PendingArrival, id: b, at: None },
        ]);
        assert_eq!(writes.upserts, vec![DueItem { at, kind: DueKind::PacketExpiry, id: a }]);
        assert_eq!(writes.deletes, vec![(DueKind::PendingArrival, b)]);
        assert_eq!(
            decode("pending_arrival", b, 5).expect("known"),
            DueItem { at, kind: DueKind::PendingArrival, id: b }
        );
        assert!(matches!(decode("dispute_deadline", b, 5), Err(StoreError::Corrupt(_))));
    }
}
