//! What a batch changed: the rows the world marks as it absorbs each command ([`Dirty`]), and
//! the [`Changes`] it hands the store to write in one transaction.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::case::{Case, Report};
use crate::document::Document;
use crate::due::{Deadline, DueKind};
use crate::event::Event;
use crate::freeze::Freeze;
use crate::id::{
    AccountId, CaseId, ClaimId, DocumentId, FreezeId, GroupId, PacketId, ReportId, ReturnRequestId, SeizureId,
    TransferId, UserId,
};
use crate::ledger::{Account, PendingTransfer, Transfer};
use crate::log::LogRecord;
use crate::packet::{Claim, Packet};
use crate::principal::Principal;
use crate::returns::ReturnRequest;
use crate::seizure::Seizure;
use crate::time::Timestamp;
use crate::user::{Group, User};

use super::{Table, World};

/// Whether a changed row is new or already stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    Insert,
    Update,
}

/// The rows a batch changed, for the store to write in one transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub users: Vec<(Write, User)>,
    pub accounts: Vec<(Write, Account)>,
    pub groups: Vec<(Write, Group)>,
    pub packets: Vec<(Write, Packet)>,
    pub claims: Vec<(Write, Claim)>,
    pub pendings: Vec<(Write, PendingTransfer)>,
    /// New principals (never updated yet: keys are created, not edited).
    pub principals: Vec<Principal>,
    pub documents: Vec<(Write, Document)>,
    pub freezes: Vec<(Write, Freeze)>,
    pub seizures: Vec<(Write, Seizure)>,
    pub reports: Vec<(Write, Report)>,
    pub cases: Vec<(Write, Case)>,
    pub return_requests: Vec<(Write, ReturnRequest)>,
    /// New transfers, in the order they were made.
    pub transfers: Vec<Transfer>,
    /// New events, in the order they happened.
    pub events: Vec<Event>,
    /// The transfers and events again, interleaved in the order they happened (each command's
    /// transfers, then its events): what the transparency log appends.
    pub log: Vec<LogRecord>,
    /// What falls due changed: new deadlines, moved ones, and those no longer due.
    pub deadlines: Vec<Deadline>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
            && self.accounts.is_empty()
            && self.groups.is_empty()
            && self.packets.is_empty()
            && self.claims.is_empty()
            && self.pendings.is_empty()
            && self.principals.is_empty()
            && self.documents.is_empty()
            && self.freezes.is_empty()
            && self.seizures.is_empty()
            && self.reports.is_empty()
            && self.cases.is_empty()
            && self.return_requests.is_empty()
            && self.transfers.is_empty()
            && self.events.is_empty()
            && self.log.is_empty()
            && self.deadlines.is_empty()
    }
}

#[derive(Debug, Default)]
pub(super) struct Dirty {
    pub(super) users: BTreeMap<UserId, Write>,
    pub(super) accounts: BTreeMap<AccountId, Write>,
    pub(super) groups: BTreeMap<GroupId, Write>,
    pub(super) packets: BTreeMap<PacketId, Write>,
    pub(super) claims: BTreeMap<ClaimId, Write>,
    pub(super) pendings: BTreeMap<TransferId, Write>,
    pub(super) principals: Vec<Principal>,
    pub(super) documents: BTreeMap<DocumentId, Write>,
    pub(super) freezes: BTreeMap<FreezeId, Write>,
    pub(super) seizures: BTreeMap<SeizureId, Write>,
    pub(super) reports: BTreeMap<ReportId, Write>,
    pub(super) cases: BTreeMap<CaseId, Write>,
    pub(super) return_requests: BTreeMap<ReturnRequestId, Write>,
    pub(super) transfers: Vec<Transfer>,
    pub(super) events: Vec<Event>,
    pub(super) log: Vec<LogRecord>,
    /// For each deadline an entity of the batch implied: what it was before the batch and
    /// what it is now.
    pub(super) deadlines: BTreeMap<(DueKind, Uuid), (Option<Timestamp>, Option<Timestamp>)>,
}

impl Dirty {
    pub(super) fn note_deadline(
        &mut self,
        kind: DueKind,
        id: Uuid,
        before: Option<Timestamp>,
        after: Option<Timestamp>,
    ) {
        self.deadlines.entry((kind, id)).or_insert((before, after)).1 = after;
    }
}

impl World {
    /// The rows changed since the last call, to be written in one transaction.
    pub fn take_changes(&mut self) -> Changes {
        let dirty = std::mem::take(&mut self.dirty);
        fn rows<K: Ord + std::hash::Hash, V: Clone>(dirty: BTreeMap<K, Write>, table: &Table<K, V>) -> Vec<(Write, V)> {
            dirty
                .into_iter()
                .filter_map(|(id, write)| table.get(&id).and_then(Option::as_ref).map(|v| (write, v.clone())))
                .collect()
        }
        Changes {
            users: rows(dirty.users, &self.users),
            accounts: rows(dirty.accounts, &self.accounts),
            groups: rows(dirty.groups, &self.groups),
            packets: rows(dirty.packets, &self.packets),
            claims: rows(dirty.claims, &self.claims),
            pendings: rows(dirty.pendings, &self.pendings),
            principals: dirty.principals,
            documents: rows(dirty.documents, &self.documents),
            freezes: rows(dirty.freezes, &self.freezes),
            seizures: rows(dirty.seizures, &self.seizures),
            reports: rows(dirty.reports, &self.reports),
            cases: rows(dirty.cases, &self.cases),
            return_requests: rows(dirty.return_requests, &self.return_requests),
            transfers: dirty.transfers,
            events: dirty.events,
            log: dirty.log,
            deadlines: dirty
                .deadlines
                .into_iter()
                .filter(|(_, (before, after))| before != after)
                .map(|((kind, id), (_, at))| Deadline { kind, id, at })
                .collect(),
        }
    }
}
