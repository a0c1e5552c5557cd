//! The state the core decides on, and the changes it decides.
//!
//! A [`World`] holds the entities one batch of commands needs. It is either *complete* (the
//! simulation: everything is in memory, a missing entity does not exist) or *partial* (the
//! engine: a missing entity is simply not loaded yet). Reading an entity a partial world does
//! not hold fails with [`Fail::Need`]; the engine loads it from the store and runs the command
//! again. Commands never change the world before they have read everything they need, so a
//! rerun sees the same state.
//!
//! A command writes into a [`Draft`]; only when it succeeds does the world absorb the draft,
//! so a refused command changes nothing. The world remembers what changed, and
//! [`World::take_changes`] hands the engine exactly the rows to write in one transaction.
//!
//! - `draft.rs` — [`Draft`], one command's scratch space, and the [`Effects`] it collects.
//! - `changes.rs` — what a batch changed ([`Changes`]) and the marks that collect it.
//! - `risk.rs` — the facts of risk control: reports, cases, and the questions the payee rating
//!   and the rules ask.

use std::collections::{BTreeMap, HashMap};

use crate::case::{Case, CaseKind, Payment, Report};
use crate::document::Document;
use crate::due::{self, DueKind};
use crate::error::CoreError;
use crate::freeze::Freeze;
use crate::id::{
    AccountId, CaseId, ClaimId, DocumentId, FreezeId, GroupId, KeyId, PacketId, ReportId, ReturnRequestId, SeizureId,
    TransferId, UserId,
};
use crate::ledger::{Account, AccountKind, PendingTransfer, Transfer};
use crate::log::LogRecord;
use crate::money::MoneyError;
use crate::packet::{Claim, Packet};
use crate::principal::Principal;
use crate::returns::ReturnRequest;
use crate::seizure::Seizure;
use crate::time::Timestamp;
use crate::user::{Group, User};

mod changes;
mod draft;
mod returns;
mod risk;

pub use changes::{Changes, Write};
pub use draft::{Draft, Effects, Refs};

use changes::Dirty;

/// Something a command needs to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    User(UserId),
    Account(AccountId),
    Group(GroupId),
    Packet(PacketId),
    Claim(ClaimId),
    /// The claim a person made on a packet, if any.
    ClaimOf(PacketId, UserId),
    /// Every claim of a packet.
    ClaimsOf(PacketId),
    /// A pending transfer and its status.
    Pending(TransferId),
    /// Any transfer.
    Transfer(TransferId),
    /// A signing key.
    Principal(KeyId),
    /// A registered legal document.
    Document(DocumentId),
    Freeze(FreezeId),
    /// Every freeze of a user's wallet, in the order they were placed.
    FreezesOf(UserId),
    Seizure(SeizureId),
    /// Every proposal to seize money of a freeze.
    SeizuresOf(FreezeId),
    Report(ReportId),
    /// Every open report on a user.
    OpenReportsOn(UserId),
    Case(CaseId),
    /// The open case of this kind about a user, if any (there is at most one).
    OpenCase(UserId, CaseKind),
    /// Whether two users are members of one group (the payee rating of a payment).
    SharesGroup(UserId, UserId),
    /// The incoming claims and transfers of a user's wallet made at or after the time, at most
    /// [`RECEIPTS_MAX`] (the fan-in rule).
    ReceiptsSince(UserId, Timestamp),
    ReturnRequest(ReturnRequestId),
    /// Every return request ever made for a payment (at most
    /// [`RETURNS_PER_TARGET_MAX`](crate::returns::RETURNS_PER_TARGET_MAX)).
    ReturnsOf(Payment),
}

/// The most receipts one [`Key::ReceiptsSince`] loads.
pub const RECEIPTS_MAX: u32 = 10_000;

/// What a store found for a [`Key`] (`None`: it does not exist).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fact {
    User(UserId, Option<User>),
    Account(AccountId, Option<Account>),
    Group(GroupId, Option<Group>),
    Packet(PacketId, Option<Packet>),
    Claim(ClaimId, Option<Claim>),
    ClaimOf(PacketId, UserId, Option<Claim>),
    ClaimsOf(PacketId, Vec<Claim>),
    Pending(TransferId, Option<PendingTransfer>),
    Transfer(TransferId, Option<Transfer>),
    Principal(KeyId, Option<Principal>),
    Document(DocumentId, Option<Document>),
    Freeze(FreezeId, Option<Freeze>),
    FreezesOf(UserId, Vec<Freeze>),
    Seizure(SeizureId, Option<Seizure>),
    SeizuresOf(FreezeId, Vec<Seizure>),
    Report(ReportId, Option<Report>),
    OpenReportsOn(UserId, Vec<Report>),
    Case(CaseId, Option<Case>),
    OpenCase(UserId, CaseKind, Option<Case>),
    SharesGroup(UserId, UserId, bool),
    /// The receipts found (original transfers, oldest first), each claim's with its packet.
    ReceiptsSince(UserId, Timestamp, Vec<Transfer>),
    ReturnRequest(ReturnRequestId, Option<ReturnRequest>),
    ReturnsOf(Payment, Vec<ReturnRequest>),
}

/// Why a command did not complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fail {
    /// The world lacks these entities: load them and run the command again.
    Need(Vec<Key>),
    /// The rules refuse the command.
    Refused(CoreError),
}

impl From<CoreError> for Fail {
    fn from(err: CoreError) -> Self {
        Fail::Refused(err)
    }
}

impl From<MoneyError> for Fail {
    fn from(err: MoneyError) -> Self {
        Fail::Refused(err.into())
    }
}

/// Entities by id, each `None` when known not to exist.
type Table<K, V> = HashMap<K, Option<V>>;

fn mark<K: Ord>(dirty: &mut BTreeMap<K, Write>, key: K, existed: bool) {
    let write = if existed { Write::Update } else { Write::Insert };
    // A row inserted earlier in the batch stays an insert when changed again.
    dirty.entry(key).or_insert(write);
}

/// Puts `value` into `table` and marks it to be written; answers whether it existed before.
fn put<K: Ord + Copy + std::hash::Hash, V>(
    table: &mut Table<K, V>,
    dirty: &mut BTreeMap<K, Write>,
    id: K,
    value: V,
) -> bool {
    let existed = matches!(table.get(&id), Some(Some(_)));
    mark(dirty, id, existed);
    table.insert(id, Some(value));
    existed
}

fn read<'a, K: std::hash::Hash + Eq, V>(
    table: &'a Table<K, V>,
    id: &K,
    complete: bool,
    key: Key,
) -> Result<Option<&'a V>, Fail> {
    match table.get(id) {
        Some(entry) => Ok(entry.as_ref()),
        None if complete => Ok(None),
        None => Err(Fail::Need(vec![key])),
    }
}

/// The entities a batch of commands decides on. See the module documentation.
#[derive(Debug, Default)]
pub struct World {
    complete: bool,
    users: Table<UserId, User>,
    accounts: Table<AccountId, Account>,
    groups: Table<GroupId, Group>,
    packets: Table<PacketId, Packet>,
    claims: Table<ClaimId, Claim>,
    claim_of: HashMap<(PacketId, UserId), Option<ClaimId>>,
    /// Present only for packets whose full claim list is known.
    claims_of: HashMap<PacketId, Vec<ClaimId>>,
    pendings: Table<TransferId, PendingTransfer>,
    transfers: Table<TransferId, Transfer>,
    principals: Table<KeyId, Principal>,
    documents: Table<DocumentId, Document>,
    freezes: Table<FreezeId, Freeze>,
    /// Present only for users whose full list of freezes is known, in placement order.
    freezes_of: HashMap<UserId, Vec<FreezeId>>,
    seizures: Table<SeizureId, Seizure>,
    /// Present only for freezes whose full list of proposals is known.
    seizures_of: HashMap<FreezeId, Vec<SeizureId>>,
    reports: Table<ReportId, Report>,
    /// Present only for users whose open reports are all known.
    open_reports_on: HashMap<UserId, Vec<ReportId>>,
    cases: Table<CaseId, Case>,
    /// Present only for the users and kinds whose open case is known.
    open_case: HashMap<(UserId, CaseKind), Option<CaseId>>,
    /// Whether two users share a group, for the pairs asked about (either order).
    shares_group: HashMap<(UserId, UserId), bool>,
    /// The users and times whose receipts since then are all in `transfers`.
    receipts_since: std::collections::HashSet<(UserId, Timestamp)>,
    return_requests: Table<ReturnRequestId, ReturnRequest>,
    /// Present only for payments whose full list of requests is known.
    returns_of: HashMap<Payment, Vec<ReturnRequestId>>,
    orphan_claims: Vec<ClaimId>,
    dirty: Dirty,
}

impl World {
    /// A world that holds everything: a missing entity does not exist. For the simulation and
    /// the invariant check.
    pub fn complete() -> World {
        World { complete: true, ..World::default() }
    }

    /// A complete world at the beginning of time: only the external account exists.
    pub fn genesis() -> World {
        let mut world = World::complete();
        let external = Account::open(AccountId::EXTERNAL, AccountKind::External);
        world.accounts.insert(external.id, Some(external));
        world
    }

    /// A complete world holding exactly these facts, as a store dumps them for the check.
    pub fn complete_from(facts: impl IntoIterator<Item = Fact>) -> World {
        let mut world = World::complete();
        for fact in facts {
            world.learn(fact);
        }
        // Index every packet's claims in one pass rather than per packet.
        let mut by_packet: HashMap<PacketId, Vec<(u32, ClaimId)>> = HashMap::new();
        for claim in world.claims.values().flatten() {
            by_packet.entry(claim.packet_id).or_default().push((claim.seq, claim.id));
        }
        for packet in world.packets.values().flatten() {
            let mut ids = by_packet.remove(&packet.id).unwrap_or_default();
            ids.sort_unstable();
            world.claims_of.insert(packet.id, ids.into_iter().map(|(_, id)| id).collect());
        }
        // Claims of packets that do not exist stay unindexed; the check reports them.
        world.orphan_claims = by_packet.into_values().flatten().map(|(_, id)| id).collect();
        world
    }

    /// Claims whose packet does not exist (only a damaged store has any).
    pub fn orphan_claims(&self) -> &[ClaimId] {
        &self.orphan_claims
    }

    /// A world filled on demand from a store.
    pub fn partial() -> World {
        World::default()
    }

    /// How many entities (and answers about claims) the world holds: a measure of its memory.
    pub fn size(&self) -> usize {
        self.users.len()
            + self.accounts.len()
            + self.groups.len()
            + self.packets.len()
            + self.claims.len()
            + self.claim_of.len()
            + self.claims_of.len()
            + self.pendings.len()
            + self.transfers.len()
            + self.principals.len()
            + self.documents.len()
            + self.freezes.len()
            + self.freezes_of.len()
            + self.seizures.len()
            + self.seizures_of.len()
            + self.reports.len()
            + self.open_reports_on.len()
            + self.cases.len()
            + self.open_case.len()
            + self.shares_group.len()
            + self.receipts_since.len()
            + self.return_requests.len()
            + self.returns_of.len()
    }

    pub fn is_complete(&self) -> bool {
        self.complete
    }

    pub fn user(&self, id: UserId) -> Result<Option<&User>, Fail> {
        read(&self.users, &id, self.complete, Key::User(id))
    }

    pub fn account(&self, id: AccountId) -> Result<Option<&Account>, Fail> {
        read(&self.accounts, &id, self.complete, Key::Account(id))
    }

    pub fn group(&self, id: GroupId) -> Result<Option<&Group>, Fail> {
        read(&self.groups, &id, self.complete, Key::Group(id))
    }

    pub fn packet(&self, id: PacketId) -> Result<Option<&Packet>, Fail> {
        read(&self.packets, &id, self.complete, Key::Packet(id))
    }

    pub fn claim(&self, id: ClaimId) -> Result<Option<&Claim>, Fail> {
        read(&self.claims, &id, self.complete, Key::Claim(id))
    }

    pub fn pending(&self, id: TransferId) -> Result<Option<&PendingTransfer>, Fail> {
        read(&self.pendings, &id, self.complete, Key::Pending(id))
    }

    pub fn transfer(&self, id: TransferId) -> Result<Option<&Transfer>, Fail> {
        read(&self.transfers, &id, self.complete, Key::Transfer(id))
    }

    pub fn principal(&self, id: KeyId) -> Result<Option<&Principal>, Fail> {
        read(&self.principals, &id, self.complete, Key::Principal(id))
    }

    pub fn document(&self, id: DocumentId) -> Result<Option<&Document>, Fail> {
        read(&self.documents, &id, self.complete, Key::Document(id))
    }

    pub fn freeze(&self, id: FreezeId) -> Result<Option<&Freeze>, Fail> {
        read(&self.freezes, &id, self.complete, Key::Freeze(id))
    }

    pub fn seizure(&self, id: SeizureId) -> Result<Option<&Seizure>, Fail> {
        read(&self.seizures, &id, self.complete, Key::Seizure(id))
    }

    /// Every proposal to seize money of `freeze`.
    pub fn seizures_of(&self, freeze: FreezeId) -> Result<Vec<&Seizure>, Fail> {
        match self.seizures_of.get(&freeze) {
            Some(ids) => Ok(ids.iter().filter_map(|id| self.seizures.get(id).and_then(Option::as_ref)).collect()),
            None if self.complete => Ok(self.seizures().filter(|s| s.freeze_id == freeze).collect()),
            None => Err(Fail::Need(vec![Key::SeizuresOf(freeze)])),
        }
    }

    /// Every freeze of `user`'s wallet, in the order they were placed.
    pub fn freezes_of(&self, user: UserId) -> Result<Vec<&Freeze>, Fail> {
        match self.freezes_of.get(&user) {
            Some(ids) => Ok(ids.iter().filter_map(|id| self.freezes.get(id).and_then(Option::as_ref)).collect()),
            None if self.complete => {
                let mut all: Vec<&Freeze> = self.freezes().filter(|f| f.user_id == user).collect();
                all.sort_unstable_by_key(|f| f.seq);
                Ok(all)
            }
            None => Err(Fail::Need(vec![Key::FreezesOf(user)])),
        }
    }

    /// The claim `user` made on `packet`, if any.
    pub fn claim_of(&self, packet: PacketId, user: UserId) -> Result<Option<&Claim>, Fail> {
        match self.claim_of.get(&(packet, user)) {
            Some(Some(id)) => self.claim(*id),
            Some(None) => Ok(None),
            None if self.complete => Ok(None),
            None => Err(Fail::Need(vec![Key::ClaimOf(packet, user)])),
        }
    }

    /// Every claim of `packet`.
    pub fn claims_of(&self, packet: PacketId) -> Result<Vec<&Claim>, Fail> {
        match self.claims_of.get(&packet) {
            Some(ids) => Ok(ids.iter().filter_map(|id| self.claims.get(id).and_then(Option::as_ref)).collect()),
            None if self.complete => Ok(Vec::new()),
            None => Err(Fail::Need(vec![Key::ClaimsOf(packet)])),
        }
    }

    /// Asks for every one of `keys` the world does not hold yet, all at once rather than one per
    /// rerun.
    ///
    /// # Errors
    /// [`Fail::Need`] with the missing keys.
    pub fn need(&self, keys: impl IntoIterator<Item = Key>) -> Result<(), Fail> {
        let missing: Vec<Key> = keys.into_iter().filter(|&k| !self.knows(k)).collect();
        if missing.is_empty() { Ok(()) } else { Err(Fail::Need(missing)) }
    }

    /// The documents `ids` name, in their order, all asked for at once.
    ///
    /// # Errors
    /// [`Fail::Need`]; [`CoreError::NotFound`] naming a document that does not exist.
    pub fn documents_named(&self, ids: &[DocumentId]) -> Result<Vec<&Document>, Fail> {
        self.need(ids.iter().map(|&id| Key::Document(id)))?;
        ids.iter()
            .map(|&id| self.document(id)?.ok_or_else(|| CoreError::not_found(format!("document {id}")).into()))
            .collect()
    }

    /// Whether the world already holds what `key` names (so loading it again is pointless).
    pub fn knows(&self, key: Key) -> bool {
        self.complete
            || match key {
                Key::User(id) => self.users.contains_key(&id),
                Key::Account(id) => self.accounts.contains_key(&id),
                Key::Group(id) => self.groups.contains_key(&id),
                Key::Packet(id) => self.packets.contains_key(&id),
                Key::Claim(id) => self.claims.contains_key(&id),
                Key::ClaimOf(packet, user) => self.claim_of.contains_key(&(packet, user)),
                Key::ClaimsOf(packet) => self.claims_of.contains_key(&packet),
                Key::Pending(id) => self.pendings.contains_key(&id),
                Key::Transfer(id) => self.transfers.contains_key(&id),
                Key::Principal(id) => self.principals.contains_key(&id),
                Key::Document(id) => self.documents.contains_key(&id),
                Key::Freeze(id) => self.freezes.contains_key(&id),
                Key::FreezesOf(user) => self.freezes_of.contains_key(&user),
                Key::Seizure(id) => self.seizures.contains_key(&id),
                Key::SeizuresOf(freeze) => self.seizures_of.contains_key(&freeze),
                Key::Report(id) => self.reports.contains_key(&id),
                Key::OpenReportsOn(user) => self.open_reports_on.contains_key(&user),
                Key::Case(id) => self.cases.contains_key(&id),
                Key::OpenCase(user, kind) => self.open_case.contains_key(&(user, kind)),
                Key::SharesGroup(a, b) => {
                    self.shares_group.contains_key(&(a, b)) || self.shares_group.contains_key(&(b, a))
                }
                Key::ReceiptsSince(user, since) => self.receipts_since.contains(&(user, since)),
                Key::ReturnRequest(id) => self.return_requests.contains_key(&id),
                Key::ReturnsOf(target) => self.returns_of.contains_key(&target),
            }
    }

    /// Takes in what a store found. What the world already holds wins: it may have been
    /// changed by an earlier command of this batch and not be written yet.
    pub fn learn(&mut self, fact: Fact) {
        match fact {
            Fact::User(id, user) => {
                self.users.entry(id).or_insert(user);
            }
            Fact::Account(id, account) => {
                self.accounts.entry(id).or_insert(account);
            }
            Fact::Group(id, group) => {
                self.groups.entry(id).or_insert(group);
            }
            Fact::Packet(id, packet) => {
                self.packets.entry(id).or_insert(packet);
            }
            Fact::Claim(id, claim) => {
                if let Some(claim) = &claim {
                    self.claim_of.entry((claim.packet_id, claim.user_id)).or_insert(Some(claim.id));
                }
                self.claims.entry(id).or_insert(claim);
            }
            Fact::ClaimOf(packet, user, claim) => {
                self.claim_of.entry((packet, user)).or_insert(claim.as_ref().map(|c| c.id));
                if let Some(claim) = claim {
                    self.claims.entry(claim.id).or_insert(Some(claim));
                }
            }
            Fact::ClaimsOf(packet, stored) => {
                if self.claims_of.contains_key(&packet) {
                    return;
                }
                for claim in stored {
                    self.claim_of.entry((packet, claim.user_id)).or_insert(Some(claim.id));
                    self.claims.entry(claim.id).or_insert(Some(claim));
                }
                // The stored claims plus those this batch made and has not written yet.
                let mut ids: Vec<(u32, ClaimId)> =
                    self.claims.values().flatten().filter(|c| c.packet_id == packet).map(|c| (c.seq, c.id)).collect();
                ids.sort_unstable();
                self.claims_of.insert(packet, ids.into_iter().map(|(_, id)| id).collect());
            }
            Fact::Pending(id, pending) => {
                self.pendings.entry(id).or_insert(pending);
            }
            Fact::Transfer(id, transfer) => {
                self.transfers.entry(id).or_insert(transfer);
            }
            Fact::Principal(id, principal) => {
                self.principals.entry(id).or_insert(principal);
            }
            Fact::Document(id, document) => {
                self.documents.entry(id).or_insert(document);
            }
            Fact::Freeze(id, freeze) => {
                self.freezes.entry(id).or_insert(freeze);
            }
            Fact::Seizure(id, seizure) => {
                self.seizures.entry(id).or_insert(seizure);
            }
            Fact::SeizuresOf(freeze, stored) => {
                if self.seizures_of.contains_key(&freeze) {
                    return;
                }
                for seizure in stored {
                    self.seizures.entry(seizure.id).or_insert(Some(seizure));
                }
                let ids: Vec<SeizureId> =
                    self.seizures.values().flatten().filter(|s| s.freeze_id == freeze).map(|s| s.id).collect();
                self.seizures_of.insert(freeze, ids);
            }
            fact @ (Fact::Report(..)
            | Fact::OpenReportsOn(..)
            | Fact::Case(..)
            | Fact::OpenCase(..)
            | Fact::ReceiptsSince(..)
            | Fact::SharesGroup(..)) => self.learn_risk(fact),
            fact @ (Fact::ReturnRequest(..) | Fact::ReturnsOf(..)) => self.learn_returns(fact),
            Fact::FreezesOf(user, stored) => {
                if self.freezes_of.contains_key(&user) {
                    return;
                }
                for freeze in stored {
                    self.freezes.entry(freeze.id).or_insert(Some(freeze));
                }
                // The stored freezes plus those this batch placed and has not written yet.
                let mut ids: Vec<(u32, FreezeId)> =
                    self.freezes.values().flatten().filter(|f| f.user_id == user).map(|f| (f.seq, f.id)).collect();
                ids.sort_unstable();
                self.freezes_of.insert(user, ids.into_iter().map(|(_, id)| id).collect());
            }
        }
    }

    /// Absorbs what a successful command decided.
    pub fn apply(&mut self, draft: Effects) {
        for user in draft.users {
            put(&mut self.users, &mut self.dirty.users, user.id, user);
        }
        for account in draft.accounts.into_values() {
            put(&mut self.accounts, &mut self.dirty.accounts, account.id, account);
        }
        for group in draft.groups {
            for ((a, b), shares) in &mut self.shares_group {
                *shares |= group.has_member(*a) && group.has_member(*b);
            }
            put(&mut self.groups, &mut self.dirty.groups, group.id, group);
        }
        for packet in draft.packets {
            // The stores write only a packet's state on update (see `Packet`).
            debug_assert!(
                self.packets.get(&packet.id).and_then(Option::as_ref).is_none_or(|old| old.same_terms(&packet)),
                "an operation changed the terms of {}",
                packet.id
            );
            let id = packet.id;
            let before = self.packets.get(&id).and_then(Option::as_ref).and_then(due::of_packet);
            self.dirty.note_deadline(DueKind::PacketExpiry, id.uuid(), before, due::of_packet(&packet));
            if !put(&mut self.packets, &mut self.dirty.packets, id, packet) {
                // A new packet has no claims: its (empty) list is known.
                self.claims_of.entry(id).or_default();
            }
        }
        for claim in draft.claims {
            let (id, packet, user) = (claim.id, claim.packet_id, claim.user_id);
            if !put(&mut self.claims, &mut self.dirty.claims, id, claim) {
                self.claim_of.insert((packet, user), Some(id));
                if let Some(list) = self.claims_of.get_mut(&packet) {
                    list.push(id);
                }
            }
        }
        for pending in draft.pendings {
            let id = pending.transfer.id;
            let before = self.pendings.get(&id).and_then(Option::as_ref).and_then(due::of_pending);
            self.dirty.note_deadline(DueKind::PendingArrival, id.uuid(), before, due::of_pending(&pending));
            put(&mut self.pendings, &mut self.dirty.pendings, pending.transfer.id, pending);
        }
        for principal in draft.principals {
            self.principals.insert(principal.key_id, Some(principal.clone()));
            self.dirty.principals.push(principal);
        }
        for document in draft.documents {
            put(&mut self.documents, &mut self.dirty.documents, document.id, document);
        }
        for seizure in draft.seizures {
            let (id, freeze) = (seizure.id, seizure.freeze_id);
            let before = self.seizures.get(&id).and_then(Option::as_ref).and_then(due::of_seizure);
            self.dirty.note_deadline(DueKind::SeizureExpiry, id.uuid(), before, due::of_seizure(&seizure));
            if !put(&mut self.seizures, &mut self.dirty.seizures, id, seizure)
                && let Some(list) = self.seizures_of.get_mut(&freeze)
            {
                list.push(id);
            }
        }
        for freeze in draft.freezes {
            let (id, user) = (freeze.id, freeze.user_id);
            let before = self.freezes.get(&id).and_then(Option::as_ref).and_then(due::of_freeze);
            self.dirty.note_deadline(DueKind::FreezeEnd, id.uuid(), before, due::of_freeze(&freeze));
            if !put(&mut self.freezes, &mut self.dirty.freezes, id, freeze)
                && let Some(list) = self.freezes_of.get_mut(&user)
            {
                list.push(id);
            }
        }
        self.apply_risk(draft.reports, draft.cases);
        self.apply_returns(draft.return_requests);
        for transfer in &draft.transfers {
            self.transfers.insert(transfer.id, Some(transfer.clone()));
        }
        self.dirty.log.extend(draft.transfers.iter().cloned().map(LogRecord::Transfer));
        self.dirty.log.extend(draft.events.iter().cloned().map(LogRecord::Event));
        self.dirty.transfers.extend(draft.transfers);
        self.dirty.events.extend(draft.events);
    }

    /// Every entity, for the invariant check of a complete world.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.users.values().flatten()
    }

    pub fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.accounts.values().flatten()
    }

    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.groups.values().flatten()
    }

    pub fn packets(&self) -> impl Iterator<Item = &Packet> {
        self.packets.values().flatten()
    }

    pub fn claims(&self) -> impl Iterator<Item = &Claim> {
        self.claims.values().flatten()
    }

    pub fn pendings(&self) -> impl Iterator<Item = &PendingTransfer> {
        self.pendings.values().flatten()
    }

    pub fn transfers(&self) -> impl Iterator<Item = &Transfer> {
        self.transfers.values().flatten()
    }

    pub fn principals(&self) -> impl Iterator<Item = &Principal> {
        self.principals.values().flatten()
    }

    pub fn documents(&self) -> impl Iterator<Item = &Document> {
        self.documents.values().flatten()
    }

    pub fn freezes(&self) -> impl Iterator<Item = &Freeze> {
        self.freezes.values().flatten()
    }

    pub fn seizures(&self) -> impl Iterator<Item = &Seizure> {
        self.seizures.values().flatten()
    }
}
