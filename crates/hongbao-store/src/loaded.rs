//! What [`ReadTx::load`](crate::ReadTx::load) does around its queries, the same for every SQL
//! store: a batch's keys become the ids each table is asked for ([`Wanted`]), and the rows found
//! become one fact per key ([`Found::facts`]). The queries themselves stay with each backend.

use std::collections::{BTreeSet, HashMap};

use hongbao_core::case::{Case, CaseKind, Report};
use hongbao_core::document::Document;
use hongbao_core::freeze::Freeze;
use hongbao_core::ledger::{Account, PendingTransfer, Transfer};
use hongbao_core::packet::{Claim, Packet};
use hongbao_core::principal::Principal;
use hongbao_core::returns::ReturnRequest;
use hongbao_core::seizure::Seizure;
use hongbao_core::user::{Group, User};
use hongbao_core::{Fact, GroupId, Key, PacketId, UserId};
use uuid::Uuid;

use crate::StoreError;

/// The distinct ids of each kind of key.
#[derive(Debug, Default)]
pub struct Wanted {
    pub users: BTreeSet<Uuid>,
    pub accounts: BTreeSet<Uuid>,
    pub groups: BTreeSet<Uuid>,
    pub packets: BTreeSet<Uuid>,
    pub claims: BTreeSet<Uuid>,
    pub claim_of: BTreeSet<(PacketId, UserId)>,
    pub claims_of: BTreeSet<Uuid>,
    pub pendings: BTreeSet<Uuid>,
    pub transfers: BTreeSet<Uuid>,
    pub principals: BTreeSet<Uuid>,
    pub documents: BTreeSet<Uuid>,
    pub freezes: BTreeSet<Uuid>,
    /// Users whose every freeze is asked for.
    pub freezes_of: BTreeSet<Uuid>,
    pub seizures: BTreeSet<Uuid>,
    /// Freezes whose every proposal is asked for.
    pub seizures_of: BTreeSet<Uuid>,
    pub reports: BTreeSet<Uuid>,
    /// Users whose every open report is asked for.
    pub open_reports_on: BTreeSet<Uuid>,
    pub cases: BTreeSet<Uuid>,
    /// Users and kinds whose open case is asked for.
    pub open_cases: BTreeSet<(Uuid, CaseKind)>,
    /// Pairs of users asked whether they share a group.
    pub shares_group: BTreeSet<(Uuid, Uuid)>,
    /// Users and times whose receipts since then are asked for.
    pub receipts_since: BTreeSet<(Uuid, i64)>,
    pub return_requests: BTreeSet<Uuid>,
    /// Payments (transfers and claims) whose every return request is asked for.
    pub returns_of: BTreeSet<Uuid>,
}

impl Wanted {
    /// The ids `keys` ask for, each once.
    #[must_use]
    pub fn of(keys: &[Key]) -> Wanted {
        let mut want = Wanted::default();
        for key in keys {
            match *key {
                Key::User(id) => want.users.insert(id.uuid()),
                Key::Account(id) => want.accounts.insert(id.uuid()),
                Key::Group(id) => want.groups.insert(id.uuid()),
                Key::Packet(id) => want.packets.insert(id.uuid()),
                Key::Claim(id) => want.claims.insert(id.uuid()),
                Key::ClaimOf(packet, user) => want.claim_of.insert((packet, user)),
                Key::ClaimsOf(packet) => want.claims_of.insert(packet.uuid()),
                Key::Pending(id) => want.pendings.insert(id.uuid()),
                Key::Transfer(id) => want.transfers.insert(id.uuid()),
                Key::Principal(id) => want.principals.insert(id.uuid()),
                Key::Document(id) => want.documents.insert(id.uuid()),
                Key::Freeze(id) => want.freezes.insert(id.uuid()),
                Key::FreezesOf(user) => want.freezes_of.insert(user.uuid()),
                Key::Seizure(id) => want.seizures.insert(id.uuid()),
                Key::SeizuresOf(freeze) => want.seizures_of.insert(freeze.uuid()),
                Key::Report(id) => want.reports.insert(id.uuid()),
                Key::OpenReportsOn(user) => want.open_reports_on.insert(user.uuid()),
                Key::Case(id) => want.cases.insert(id.uuid()),
                Key::OpenCase(user, kind) => want.open_cases.insert((user.uuid(), kind)),
                Key::SharesGroup(a, b) => want.shares_group.insert((a.uuid(), b.uuid())),
                Key::ReceiptsSince(user, since) => want.receipts_since.insert((user.uuid(), since.millis())),
                Key::ReturnRequest(id) => want.return_requests.insert(id.uuid()),
                Key::ReturnsOf(target) => want.returns_of.insert(target.uuid()),
            };
        }
        want
    }
}

/// The ids of `set`, in order, to bind to a query.
#[must_use]
pub fn ids(set: &BTreeSet<Uuid>) -> Vec<Uuid> {
    set.iter().copied().collect()
}

/// Decodes rows and indexes them by the id `key` gives.
///
/// # Errors
/// The first error of `decode`.
pub fn index<R, T>(
    rows: &[R],
    decode: fn(&R) -> Result<T, StoreError>,
    key: fn(&T) -> Uuid,
) -> Result<HashMap<Uuid, T>, StoreError> {
    rows.iter().map(|row| decode(row).map(|value| (key(&value), value))).collect()
}

/// Gives the groups found their members, from the `(group, member)` rows read for them, sorted:
/// the core searches members by bisection, whatever order the database used.
pub fn add_members(groups: &mut HashMap<Uuid, Group>, members: Vec<(GroupId, UserId)>) {
    for (group, user) in members {
        if let Some(group) = groups.get_mut(&group.uuid()) {
            group.members.push(user);
        }
    }
    for group in groups.values_mut() {
        group.members.sort_unstable();
    }
}

/// Claims by their packet's id, each packet's in share order.
#[must_use]
pub fn claims_by_packet(claims: Vec<Claim>) -> HashMap<Uuid, Vec<Claim>> {
    let mut by_packet: HashMap<Uuid, Vec<Claim>> = HashMap::new();
    for claim in claims {
        by_packet.entry(claim.packet_id.uuid()).or_default().push(claim);
    }
    for list in by_packet.values_mut() {
        list.sort_unstable_by_key(|c| c.seq);
    }
    by_packet
}

/// The smallest transfer id a receipt made at or after `since_ms` can have. Ids are minted at
/// the time of their batch, but a confirmed payment takes the id its confirmation named, up to a
/// day before (`confirm_token_ttl_s` is at most a day): the floor is a day earlier, and the time
/// itself is checked on `created_at`.
#[must_use]
pub fn receipts_floor(since_ms: i64) -> Uuid {
    let floor = u64::try_from(since_ms.saturating_sub(86_400_000)).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(floor, &[0; 10]).into_uuid()
}

/// Open reports by their subject's id.
#[must_use]
pub fn reports_by_subject(reports: Vec<Report>) -> HashMap<Uuid, Vec<Report>> {
    let mut by_subject: HashMap<Uuid, Vec<Report>> = HashMap::new();
    for report in reports {
        by_subject.entry(report.subject.uuid()).or_default().push(report);
    }
    by_subject
}

/// Open cases by their subject's id and kind.
#[must_use]
pub fn cases_by_subject(cases: Vec<Case>) -> HashMap<(Uuid, CaseKind), Case> {
    cases.into_iter().map(|c| ((c.subject.uuid(), c.kind), c)).collect()
}

/// Freezes by their user's id, each user's in placement order.
#[must_use]
pub fn freezes_by_user(freezes: Vec<Freeze>) -> HashMap<Uuid, Vec<Freeze>> {
    let mut by_user: HashMap<Uuid, Vec<Freeze>> = HashMap::new();
    for freeze in freezes {
        by_user.entry(freeze.user_id.uuid()).or_default().push(freeze);
    }
    for list in by_user.values_mut() {
        list.sort_unstable_by_key(|f| f.seq);
    }
    by_user
}

/// Proposals by their freeze's id.
#[must_use]
pub fn seizures_by_freeze(seizures: Vec<Seizure>) -> HashMap<Uuid, Vec<Seizure>> {
    let mut by_freeze: HashMap<Uuid, Vec<Seizure>> = HashMap::new();
    for seizure in seizures {
        by_freeze.entry(seizure.freeze_id.uuid()).or_default().push(seizure);
    }
    by_freeze
}

/// Return requests by their target's id.
#[must_use]
pub fn returns_by_target(requests: Vec<ReturnRequest>) -> HashMap<Uuid, Vec<ReturnRequest>> {
    let mut by_target: HashMap<Uuid, Vec<ReturnRequest>> = HashMap::new();
    for request in requests {
        by_target.entry(request.target.uuid()).or_default().push(request);
    }
    by_target
}

/// The rows found for a [`Wanted`], by id.
#[derive(Debug, Default)]
pub struct Found {
    pub users: HashMap<Uuid, User>,
    pub accounts: HashMap<Uuid, Account>,
    /// With their members ([`add_members`]).
    pub groups: HashMap<Uuid, Group>,
    pub packets: HashMap<Uuid, Packet>,
    pub claims: HashMap<Uuid, Claim>,
    /// The claim each person made on each packet, where they made one.
    pub claim_of: HashMap<(PacketId, UserId), Claim>,
    /// Every claim of each packet asked for ([`claims_by_packet`]).
    pub claims_of: HashMap<Uuid, Vec<Claim>>,
    pub pendings: HashMap<Uuid, PendingTransfer>,
    pub transfers: HashMap<Uuid, Transfer>,
    pub principals: HashMap<Uuid, Principal>,
    pub documents: HashMap<Uuid, Document>,
    pub freezes: HashMap<Uuid, Freeze>,
    /// Every freeze of each user asked for ([`freezes_by_user`]).
    pub freezes_of: HashMap<Uuid, Vec<Freeze>>,
    pub seizures: HashMap<Uuid, Seizure>,
    /// Every proposal on each freeze asked for.
    pub seizures_of: HashMap<Uuid, Vec<Seizure>>,
    pub reports: HashMap<Uuid, Report>,
    /// Every open report on each user asked for.
    pub open_reports_on: HashMap<Uuid, Vec<Report>>,
    pub cases: HashMap<Uuid, Case>,
    /// The open case of each user and kind asked for.
    pub open_cases: HashMap<(Uuid, CaseKind), Case>,
    /// The pairs asked about that share a group.
    pub shares_group: std::collections::HashSet<(Uuid, Uuid)>,
    /// The receipts found for each user and time asked for.
    pub receipts_since: HashMap<(Uuid, i64), Vec<Transfer>>,
    pub return_requests: HashMap<Uuid, ReturnRequest>,
    /// Every request of each payment asked for ([`returns_by_target`]).
    pub returns_of: HashMap<Uuid, Vec<ReturnRequest>>,
}

impl Found {
    /// One fact per key (a key given twice gets two equal facts), in the order of `keys`.
    #[must_use]
    pub fn facts(&self, keys: &[Key]) -> Vec<Fact> {
        keys.iter()
            .map(|key| match *key {
                Key::User(id) => Fact::User(id, self.users.get(&id.uuid()).cloned()),
                Key::Account(id) => Fact::Account(id, self.accounts.get(&id.uuid()).cloned()),
                Key::Group(id) => Fact::Group(id, self.groups.get(&id.uuid()).cloned()),
                Key::Packet(id) => Fact::Packet(id, self.packets.get(&id.uuid()).cloned()),
                Key::Claim(id) => Fact::Claim(id, self.claims.get(&id.uuid()).cloned()),
                Key::ClaimOf(packet, user) => Fact::ClaimOf(packet, user, self.claim_of.get(&(packet, user)).cloned()),
                Key::ClaimsOf(packet) => {
                    Fact::ClaimsOf(packet, self.claims_of.get(&packet.uuid()).cloned().unwrap_or_default())
                }
                Key::Pending(id) => Fact::Pending(id, self.pendings.get(&id.uuid()).cloned()),
                Key::Transfer(id) => Fact::Transfer(id, self.transfers.get(&id.uuid()).cloned()),
                Key::Principal(id) => Fact::Principal(id, self.principals.get(&id.uuid()).cloned()),
                Key::Document(id) => Fact::Document(id, self.documents.get(&id.uuid()).cloned()),
                Key::Freeze(id) => Fact::Freeze(id, self.freezes.get(&id.uuid()).cloned()),
                Key::Seizure(id) => Fact::Seizure(id, self.seizures.get(&id.uuid()).cloned()),
                Key::SeizuresOf(freeze) => {
                    Fact::SeizuresOf(freeze, self.seizures_of.get(&freeze.uuid()).cloned().unwrap_or_default())
                }
                Key::Report(id) => Fact::Report(id, self.reports.get(&id.uuid()).cloned()),
                Key::OpenReportsOn(user) => {
                    Fact::OpenReportsOn(user, self.open_reports_on.get(&user.uuid()).cloned().unwrap_or_default())
                }
                Key::Case(id) => Fact::Case(id, self.cases.get(&id.uuid()).cloned()),
                Key::OpenCase(user, kind) => {
                    Fact::OpenCase(user, kind, self.open_cases.get(&(user.uuid(), kind)).cloned())
                }
                Key::SharesGroup(a, b) => Fact::SharesGroup(a, b, self.shares_group.contains(&(a.uuid(), b.uuid()))),
                Key::ReceiptsSince(user, since) => Fact::ReceiptsSince(
                    user,
                    since,
                    self.receipts_since.get(&(user.uuid(), since.millis())).cloned().unwrap_or_default(),
                ),
                Key::FreezesOf(user) => {
                    Fact::FreezesOf(user, self.freezes_of.get(&user.uuid()).cloned().unwrap_or_default())
                }
                Key::ReturnRequest(id) => Fact::ReturnRequest(id, self.return_requests.get(&id.uuid()).cloned()),
                Key::ReturnsOf(target) => {
                    Fact::ReturnsOf(target, self.returns_of.get(&target.uuid()).cloned().unwrap_or_default())
                }
            })
            .collect()
    }
}
