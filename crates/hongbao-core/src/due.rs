//! Deadlines: work that falls due by itself, described by a kind.
//!
//! An entity with a deadline (an active packet's expiry, a pending transfer's arrival) implies
//! one [`DueItem`]. The world notes every change of what an entity implies as a [`Deadline`] in
//! [`Changes::deadlines`](crate::Changes), the stores keep the items in one table in the same
//! transaction as the entity, and the jobs take what is due from that table and run
//! [`DueKind::command`] for each. Invariant 6 of docs/DESIGN.md holds the table equal to what
//! the state implies ([`implied`]).
//!
//! A new kind of deadline (a freeze's end, a dispute's deadline, a clawback window) is a new
//! [`DueKind`] with its command and a note in `World::apply` of where its entity implies it;
//! the stores and the `Store` trait do not change.

use std::fmt;

use uuid::Uuid;

use crate::freeze::Freeze;
use crate::id::{FreezeId, PacketId, ReturnRequestId, SeizureId, TransferId};
use crate::ledger::{PendingStatus, PendingTransfer};
use crate::ops::Command;
use crate::packet::{Packet, PacketStatus};
use crate::returns::ReturnRequest;
use crate::seizure::{Seizure, SeizureStatus};
use crate::time::Timestamp;
use crate::world::World;

/// What falls due. The name is stored: never rename one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DueKind {
    /// An active packet's expiry: the unclaimed rest goes back to the sender.
    PacketExpiry,
    /// A pending transfer's arrival: the money is posted to the payee.
    PendingArrival,
    /// An active freeze's end: what it holds is released.
    FreezeEnd,
    /// A forced transfer's approval window: undecided, it expires.
    SeizureExpiry,
    /// An open return request's window: unanswered, it expires.
    ReturnExpiry,
}

impl DueKind {
    pub const ALL: [DueKind; 5] = [
        DueKind::PacketExpiry,
        DueKind::PendingArrival,
        DueKind::FreezeEnd,
        DueKind::SeizureExpiry,
        DueKind::ReturnExpiry,
    ];

    /// The stored name.
    pub const fn name(self) -> &'static str {
        match self {
            DueKind::PacketExpiry => "packet_expiry",
            DueKind::PendingArrival => "pending_arrival",
            DueKind::FreezeEnd => "freeze_end",
            DueKind::SeizureExpiry => "seizure_expiry",
            DueKind::ReturnExpiry => "return_expiry",
        }
    }

    /// The kind a stored name names, if any.
    pub fn from_name(name: &str) -> Option<DueKind> {
        DueKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The background command that does the work due for the entity `id`. It re-checks the
    /// state, so running it for a deadline that no longer holds changes nothing.
    pub const fn command(self, id: Uuid) -> Command {
        match self {
            DueKind::PacketExpiry => Command::ExpirePacket { packet: PacketId::from_uuid(id) },
            DueKind::PendingArrival => Command::SettlePending { transfer: TransferId::from_uuid(id) },
            DueKind::FreezeEnd => Command::ExpireFreeze { freeze: FreezeId::from_uuid(id) },
            DueKind::SeizureExpiry => Command::ExpireSeizure { seizure: SeizureId::from_uuid(id) },
            DueKind::ReturnExpiry => Command::ExpireReturnRequest { request: ReturnRequestId::from_uuid(id) },
        }
    }
}

impl fmt::Display for DueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One scheduled piece of work: `kind` for the entity `id`, due at `at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DueItem {
    pub at: Timestamp,
    pub kind: DueKind,
    pub id: Uuid,
}

/// A change of schedule for the store to write: `kind` for `id` is now due at `at`, or no
/// longer due at all (`None`: the work was done or is no longer needed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    pub kind: DueKind,
    pub id: Uuid,
    pub at: Option<Timestamp>,
}

/// When `packet` expires, while it is active.
pub fn of_packet(packet: &Packet) -> Option<Timestamp> {
    (packet.status == PacketStatus::Active).then_some(packet.expires_at)
}

/// When `pending` arrives by itself, while it is open.
pub fn of_pending(pending: &PendingTransfer) -> Option<Timestamp> {
    (pending.status == PendingStatus::Pending).then(|| pending.deadline())
}

/// When `freeze` ends by itself, while it is active and has an end.
pub fn of_freeze(freeze: &Freeze) -> Option<Timestamp> {
    if freeze.is_active() { freeze.expires_at } else { None }
}

/// When an undecided proposal expires.
pub fn of_seizure(seizure: &Seizure) -> Option<Timestamp> {
    (seizure.status == SeizureStatus::AwaitingApproval).then_some(seizure.expires_at)
}

/// When an open return request expires.
pub fn of_return_request(request: &ReturnRequest) -> Option<Timestamp> {
    request.is_open().then_some(request.expires_at)
}

/// Every item a complete world implies, in the order they fall due.
pub fn implied(world: &World) -> Vec<DueItem> {
    let packets = world
        .packets()
        .filter_map(|p| of_packet(p).map(|at| DueItem { at, kind: DueKind::PacketExpiry, id: p.id.uuid() }));
    let pendings = world.pendings().filter_map(|p| {
        of_pending(p).map(|at| DueItem { at, kind: DueKind::PendingArrival, id: p.transfer.id.uuid() })
    });
    let freezes = world
        .freezes()
        .filter_map(|f| of_freeze(f).map(|at| DueItem { at, kind: DueKind::FreezeEnd, id: f.id.uuid() }));
    let seizures = world
        .seizures()
        .filter_map(|s| of_seizure(s).map(|at| DueItem { at, kind: DueKind::SeizureExpiry, id: s.id.uuid() }));
    let returns = world
        .return_requests()
        .filter_map(|r| of_return_request(r).map(|at| DueItem { at, kind: DueKind::ReturnExpiry, id: r.id.uuid() }));
    let mut items: Vec<DueItem> = packets.chain(pendings).chain(freezes).chain(seizures).chain(returns).collect();
    items.sort_unstable();
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_what_the_stores_hold() {
        for kind in DueKind::ALL {
            assert_eq!(DueKind::from_name(kind.name()), Some(kind));
        }
        // Stored in every database: changing one is a migration, not a rename.
        assert_eq!(DueKind::PacketExpiry.name(), "packet_expiry");
        assert_eq!(DueKind::PendingArrival.name(), "pending_arrival");
        assert_eq!(DueKind::FreezeEnd.name(), "freeze_end");
        assert_eq!(DueKind::from_name("dispute_deadline"), None);
    }

    #[test]
    fn each_kind_runs_its_own_command_on_its_own_entity() {
        let id = Uuid::from_u128(7);
        assert_eq!(DueKind::PacketExpiry.command(id), Command::ExpirePacket { packet: PacketId::from_uuid(id) });
        assert_eq!(DueKind::PendingArrival.command(id), Command::SettlePending { transfer: TransferId::from_uuid(id) });
    }
}
