//! The committed state: every table as an ordered map, the lookups a transaction answers
//! from it, and the application of a validated commit.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use hongbao_core::case::{Case, Report};
use hongbao_core::document::Document;
use hongbao_core::due::{Deadline, DueItem, DueKind};
use hongbao_core::event::Event;
use hongbao_core::freeze::Freeze;
use hongbao_core::ledger::{Account, AccountKind, PendingStatus, PendingTransfer, Transfer};
use hongbao_core::packet::{Claim, Packet};
use hongbao_core::principal::{Owner, Principal};
use hongbao_core::returns::ReturnRequest;
use hongbao_core::seizure::Seizure;
use hongbao_core::user::{Group, User};
use hongbao_core::world::Write;
use hongbao_core::{
    AccountId, CaseId, ClaimId, DocumentId, Fact, FreezeId, GroupId, Key, KeyId, PacketId, ReportId, ReturnRequestId,
    SeizureId, Timestamp, TransferId, UserId,
};
use uuid::Uuid;

use super::len_u64;
use crate::deadlines::ScheduleWrites;
use crate::{CheckpointRow, Commit, Dump, IdempotencyRecord, LogRow, StoreError};

/// A pending transfer's fate; the transfer itself is the row in `transfers`, as in SQL.
#[derive(Clone, Debug)]
pub(super) struct PendingRow {
    pub(super) status: PendingStatus,
    pub(super) resolved_at: Option<Timestamp>,
}

/// Everything committed. Cloned only when a commit lands while a read snapshot holds it.
#[derive(Clone, Debug)]
pub(super) struct State {
    pub(super) users: BTreeMap<UserId, User>,
    pub(super) accounts: BTreeMap<AccountId, Account>,
    pub(super) groups: BTreeMap<GroupId, Group>,
    pub(super) packets: BTreeMap<PacketId, Packet>,
    pub(super) claims: BTreeMap<ClaimId, Claim>,
    /// The unique (packet, person) and (packet, share) of claims.
    pub(super) claim_of: HashMap<(PacketId, UserId), ClaimId>,
    pub(super) claims_of: HashMap<PacketId, BTreeMap<u32, ClaimId>>,
    pub(super) pendings: BTreeMap<TransferId, PendingRow>,
    pub(super) transfers: BTreeMap<TransferId, Transfer>,
    /// Each account's original (posted or pending) transfers, for its history.
    pub(super) history: HashMap<AccountId, BTreeSet<TransferId>>,
    pub(super) principals: BTreeMap<KeyId, Principal>,
    pub(super) operators: usize,
    pub(super) documents: BTreeMap<DocumentId, Document>,
    pub(super) freezes: BTreeMap<FreezeId, Freeze>,
    pub(super) seizures: BTreeMap<SeizureId, Seizure>,
    pub(super) reports: BTreeMap<ReportId, Report>,
    pub(super) cases: BTreeMap<CaseId, Case>,
    pub(super) return_requests: BTreeMap<ReturnRequestId, ReturnRequest>,
    pub(super) idempotency: BTreeMap<(String, String), IdempotencyRecord>,
    pub(super) events: Vec<Event>,
    pub(super) log: Vec<LogRow>,
    pub(super) log_of_transfer: HashMap<TransferId, u64>,
    pub(super) log_of_packet: HashMap<PacketId, Vec<u64>>,
    pub(super) checkpoints: BTreeMap<u64, CheckpointRow>,
    /// The schedule of due work by time (the jobs' work list), and each item's time by key.
    pub(super) due: BTreeSet<DueItem>,
    pub(super) due_at: HashMap<(DueKind, Uuid), Timestamp>,
}

impl State {
    /// A new store holds the external account and nothing else, as a migrated database does.
    pub(super) fn genesis() -> State {
        let external = Account::open(AccountId::EXTERNAL, AccountKind::External);
        State {
            users: BTreeMap::new(),
            accounts: BTreeMap::from([(external.id, external)]),
            groups: BTreeMap::new(),
            packets: BTreeMap::new(),
            claims: BTreeMap::new(),
            claim_of: HashMap::new(),
            claims_of: HashMap::new(),
            pendings: BTreeMap::new(),
            transfers: BTreeMap::new(),
            history: HashMap::new(),
            principals: BTreeMap::new(),
            operators: 0,
            documents: BTreeMap::new(),
            freezes: BTreeMap::new(),
            seizures: BTreeMap::new(),
            reports: BTreeMap::new(),
            cases: BTreeMap::new(),
            return_requests: BTreeMap::new(),
            idempotency: BTreeMap::new(),
            events: Vec::new(),
            log: Vec::new(),
            log_of_transfer: HashMap::new(),
            log_of_packet: HashMap::new(),
            checkpoints: BTreeMap::new(),
            due: BTreeSet::new(),
            due_at: HashMap::new(),
        }
    }

    pub(super) fn log_size(&self) -> u64 {
        len_u64(self.log.len())
    }

    pub(super) fn pending(&self, id: TransferId) -> Result<Option<PendingTransfer>, StoreError> {
        let Some(row) = self.pendings.get(&id) else { return Ok(None) };
        let transfer = self
            .transfers
            .get(&id)
            .ok_or_else(|| StoreError::Corrupt(format!("pending record {id} has no transfer")))?;
        Ok(Some(PendingTransfer { transfer: transfer.clone(), status: row.status, resolved_at: row.resolved_at }))
    }

    pub(super) fn claims_of(&self, packet: PacketId) -> Vec<Claim> {
        self.claims_of
            .get(&packet)
            .map(|by_seq| by_seq.values().filter_map(|id| self.claims.get(id)).cloned().collect())
            .unwrap_or_default()
    }

    /// The stored records among `keys`, once each.
    pub(super) fn idempotency(&self, keys: &[(String, String)]) -> Vec<IdempotencyRecord> {
        let distinct: BTreeSet<&(String, String)> = keys.iter().collect();
        distinct.into_iter().filter_map(|key| self.idempotency.get(key)).cloned().collect()
    }

    pub(super) fn load(&self, keys: &[Key]) -> Result<Vec<Fact>, StoreError> {
        keys.iter()
            .map(|key| {
                Ok(match *key {
                    Key::User(id) => Fact::User(id, self.users.get(&id).cloned()),
                    Key::Account(id) => Fact::Account(id, self.accounts.get(&id).cloned()),
                    Key::Group(id) => Fact::Group(id, self.groups.get(&id).cloned()),
                    Key::Packet(id) => Fact::Packet(id, self.packets.get(&id).cloned()),
                    Key::Claim(id) => Fact::Claim(id, self.claims.get(&id).cloned()),
                    Key::ClaimOf(packet, user) => Fact::ClaimOf(
                        packet,
                        user,
                        self.claim_of.get(&(packet, user)).and_then(|id| self.claims.get(id)).cloned(),
                    ),
                    Key::ClaimsOf(packet) => Fact::ClaimsOf(packet, self.claims_of(packet)),
                    Key::Pending(id) => Fact::Pending(id, self.pending(id)?),
                    Key::Transfer(id) => Fact::Transfer(id, self.transfers.get(&id).cloned()),
                    Key::Principal(id) => Fact::Principal(id, self.principals.get(&id).cloned()),
                    Key::Document(id) => Fact::Document(id, self.documents.get(&id).cloned()),
                    Key::Freeze(id) => Fact::Freeze(id, self.freezes.get(&id).cloned()),
                    Key::Seizure(id) => Fact::Seizure(id, self.seizures.get(&id).cloned()),
                    Key::SeizuresOf(freeze) => Fact::SeizuresOf(
                        freeze,
                        self.seizures.values().filter(|s| s.freeze_id == freeze).cloned().collect(),
                    ),
                    Key::Report(id) => Fact::Report(id, self.reports.get(&id).cloned()),
                    Key::OpenReportsOn(subject) => Fact::OpenReportsOn(
                        subject,
                        self.reports.values().filter(|r| r.subject == subject && r.is_open()).cloned().collect(),
                    ),
                    Key::Case(id) => Fact::Case(id, self.cases.get(&id).cloned()),
                    Key::ReturnRequest(id) => Fact::ReturnRequest(id, self.return_requests.get(&id).cloned()),
                    Key::ReturnsOf(target) => Fact::ReturnsOf(
                        target,
                        self.return_requests.values().filter(|r| r.target == target).cloned().collect(),
                    ),
                    Key::OpenCase(subject, kind) => Fact::OpenCase(
                        subject,
                        kind,
                        self.cases.values().find(|c| c.subject == subject && c.kind == kind && c.is_open()).cloned(),
                    ),
                    Key::ReceiptsSince(user, since) => {
                        let wallet = AccountId::wallet(user);
                        let mut found: Vec<Transfer> = self
                            .transfers
                            .values()
                            .filter(|t| {
                                t.credit == wallet
                                    && t.created_at >= since
                                    && t.phase.is_original()
                                    && matches!(
                                        t.kind,
                                        hongbao_core::ledger::TransferKind::Transfer
                                            | hongbao_core::ledger::TransferKind::PacketClaim
                                    )
                            })
                            .cloned()
                            .collect();
                        found.sort_unstable_by_key(|t| t.id);
                        found.truncate(hongbao_core::world::RECEIPTS_MAX as usize);
                        Fact::ReceiptsSince(user, since, found)
                    }
                    Key::SharesGroup(a, b) => {
                        let shares = self.groups.values().any(|g| g.has_member(a) && g.has_member(b));
                        Fact::SharesGroup(a, b, shares)
                    }
                    Key::FreezesOf(user) => {
                        let mut all: Vec<Freeze> =
                            self.freezes.values().filter(|f| f.user_id == user).cloned().collect();
                        all.sort_unstable_by_key(|f| f.seq);
                        Fact::FreezesOf(user, all)
                    }
                })
            })
            .collect()
    }

    pub(super) fn due(&self, now: Timestamp, limit: u32) -> Vec<DueItem> {
        self.due.iter().take_while(|item| item.at <= now).take(limit as usize).copied().collect()
    }

    /// Writes a batch's changes of schedule, as the SQL stores' upserts and deletes do.
    fn schedule(&mut self, deadlines: &[Deadline]) {
        let writes = ScheduleWrites::of(deadlines);
        for (kind, id) in writes.deletes {
            if let Some(at) = self.due_at.remove(&(kind, id)) {
                self.due.remove(&DueItem { at, kind, id });
            }
        }
        for item in writes.upserts {
            if let Some(at) = self.due_at.insert((item.kind, item.id), item.at) {
                self.due.remove(&DueItem { at, ..item });
            }
            self.due.insert(item);
        }
    }

    pub(super) fn dump(&self) -> Result<Dump, StoreError> {
        let mut facts = Vec::new();
        facts.extend(self.users.values().map(|u| Fact::User(u.id, Some(u.clone()))));
        facts.extend(self.accounts.values().map(|a| Fact::Account(a.id, Some(a.clone()))));
        facts.extend(self.groups.values().map(|g| Fact::Group(g.id, Some(g.clone()))));
        facts.extend(self.packets.values().map(|p| Fact::Packet(p.id, Some(p.clone()))));
        facts.extend(self.claims.values().map(|c| Fact::Claim(c.id, Some(c.clone()))));
        for &id in self.pendings.keys() {
            facts.push(Fact::Pending(id, self.pending(id)?));
        }
        facts.extend(self.transfers.values().map(|t| Fact::Transfer(t.id, Some(t.clone()))));
        facts.extend(self.principals.values().map(|p| Fact::Principal(p.key_id, Some(p.clone()))));
        facts.extend(self.documents.values().map(|d| Fact::Document(d.id, Some(d.clone()))));
        facts.extend(self.freezes.values().map(|f| Fact::Freeze(f.id, Some(f.clone()))));
        facts.extend(self.seizures.values().map(|s| Fact::Seizure(s.id, Some(s.clone()))));
        facts.extend(self.reports.values().map(|r| Fact::Report(r.id, Some(r.clone()))));
        facts.extend(self.cases.values().map(|c| Fact::Case(c.id, Some(c.clone()))));
        facts.extend(self.return_requests.values().map(|r| Fact::ReturnRequest(r.id, Some(r.clone()))));
        Ok(Dump {
            facts,
            idempotency: self.idempotency.values().cloned().collect(),
            events: self.events.clone(),
            log: self.log.clone(),
            checkpoints: self.checkpoints.values().cloned().collect(),
            deadlines: self.due.iter().copied().collect(),
        })
    }
}

impl State {
    /// Writes a commit [`validate`] accepted.
    pub(super) fn apply(&mut self, commit: Commit) {
        // The nonces were taken out by `MemStore::apply`: they live with the shared state.
        let Commit { changes, idempotency, log, checkpoint, nonces: _, written: _ } = commit;
        for (_, user) in changes.users {
            self.users.insert(user.id, user);
        }
        for (_, account) in changes.accounts {
            self.accounts.insert(account.id, account);
        }
        for (_, mut group) in changes.groups {
            // Members come back sorted whatever order they were written in, as from SQL.
            group.members.sort_unstable();
            self.groups.insert(group.id, group);
        }
        self.schedule(&changes.deadlines);
        for (_, packet) in changes.packets {
            self.packets.insert(packet.id, packet);
        }
        for (_, claim) in changes.claims {
            if let Some(old) = self.claims.get(&claim.id) {
                self.claim_of.remove(&(old.packet_id, old.user_id));
                if let Some(by_seq) = self.claims_of.get_mut(&old.packet_id) {
                    by_seq.remove(&old.seq);
                }
            }
            self.claim_of.insert((claim.packet_id, claim.user_id), claim.id);
            self.claims_of.entry(claim.packet_id).or_default().insert(claim.seq, claim.id);
            self.claims.insert(claim.id, claim);
        }
        for principal in changes.principals {
            if matches!(principal.owner, Owner::Operator { .. }) {
                self.operators += 1;
            }
            self.principals.insert(principal.key_id, principal);
        }
        for (write, document) in changes.documents {
            match (write, self.documents.get_mut(&document.id)) {
                // The SQL stores update a document's reveal only: the rest is never changed.
                (Write::Update, Some(stored)) => stored.revealed_at = document.revealed_at,
                _ => {
                    self.documents.insert(document.id, document);
                }
            }
        }
        for (_, freeze) in changes.freezes {
            self.freezes.insert(freeze.id, freeze);
        }
        for (_, seizure) in changes.seizures {
            self.seizures.insert(seizure.id, seizure);
        }
        for (_, report) in changes.reports {
            self.reports.insert(report.id, report);
        }
        for (_, case) in changes.cases {
            self.cases.insert(case.id, case);
        }
        for (_, request) in changes.return_requests {
            self.return_requests.insert(request.id, request);
        }
        for transfer in changes.transfers {
            if transfer.phase.is_original() {
                for account in [transfer.debit, transfer.credit] {
                    self.history.entry(account).or_default().insert(transfer.id);
                }
            }
            self.transfers.insert(transfer.id, transfer);
        }
        for (_, pending) in changes.pendings {
            let id = pending.transfer.id;
            let row = PendingRow { status: pending.status, resolved_at: pending.resolved_at };
            self.pendings.insert(id, row);
        }
        self.events.extend(changes.events);
        for record in idempotency {
            self.idempotency.insert((record.principal.clone(), record.key.clone()), record);
        }
        for row in log {
            if let Some(transfer) = row.transfer_id {
                self.log_of_transfer.insert(transfer, row.index);
            }
            if let Some(packet) = row.packet_id {
                self.log_of_packet.entry(packet).or_default().push(row.index);
            }
            self.log.push(row);
        }
        if let Some(checkpoint) = checkpoint {
            self.checkpoints.insert(checkpoint.size, checkpoint);
        }
    }
}
