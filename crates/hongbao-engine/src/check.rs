//! `hongbao check`: every invariant of docs/DESIGN.md against what a store holds.

use std::collections::{HashMap, HashSet};
use std::fmt;

use ed25519_dalek::VerifyingKey;
use hongbao_audit::note::{self, Verifier};
use hongbao_audit::{Tree, leaf_hash};
use hongbao_core::case::{Case, Report};
use hongbao_core::document::Document;
use hongbao_core::event::EventKind;
use hongbao_core::freeze::Freeze;
use hongbao_core::hex::hex;
use hongbao_core::invariants::{self, Violation};
use hongbao_core::ledger::{PendingStatus, PendingTransfer};
use hongbao_core::log::{LogRecord, decode, encode};
use hongbao_core::packet::{Claim, ClaimStatus, Packet, PacketStatus};
use hongbao_core::principal::Owner;
use hongbao_core::returns::ReturnRequest;
use hongbao_core::seizure::{Seizure, SeizureStatus};
use hongbao_core::user::{Group, UserStatus};
use hongbao_core::{
    CaseId, ClaimId, DocumentId, Fact, Fen, FreezeId, GroupId, KeyId, Limits, PacketId, ReportId, ReturnRequestId,
    SeizureId, TransferId, UserId, World, fairness,
};
use hongbao_store::{Dump, Store, StoreError};

mod returns;

/// What the check found.
#[derive(Clone, Debug, Default)]
pub struct CheckReport {
    pub backend: &'static str,
    pub users: usize,
    pub accounts: usize,
    pub packets: usize,
    pub claims: usize,
    pub transfers: usize,
    /// Events stored: in the log's entries while the log is on, in the `events` table while it
    /// is off.
    pub events: u64,
    pub idempotency_records: usize,
    pub violations: Vec<Violation>,
    /// Entries in the transparency log and signed checkpoints.
    pub log_entries: usize,
    pub checkpoints: usize,
    /// What is wrong with the transparency log (edited, missing or reordered entries, bad
    /// signatures, checkpoints the entries do not hash to).
    pub log_problems: Vec<String>,
}

impl CheckReport {
    pub fn passed(&self) -> bool {
        self.violations.is_empty() && self.log_problems.is_empty()
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "checked {} store: {} users, {} accounts, {} packets, {} claims, {} transfers, {} events, {} idempotency records",
            self.backend,
            self.users,
            self.accounts,
            self.packets,
            self.claims,
            self.transfers,
            self.events,
            self.idempotency_records
        )?;
        if self.log_problems.is_empty() {
            writeln!(
                f,
                "transparency log: {} entries, {} signed checkpoints, every one consistent with the entries",
                self.log_entries, self.checkpoints
            )?;
        } else {
            writeln!(f, "transparency log: {} problem(s):", self.log_problems.len())?;
            for problem in &self.log_problems {
                writeln!(f, "  - {problem}")?;
            }
        }
        if self.violations.is_empty() {
            return write!(f, "all nine invariants hold");
        }
        writeln!(f, "{} violation(s):", self.violations.len())?;
        for violation in &self.violations {
            writeln!(f, "  - {violation}")?;
        }
        Ok(())
    }
}

/// Loads everything from `store` and checks the nine invariants: double entry (against the
/// transfers, independently of the stored totals), no negative wallet, escrow equal to what is
/// unclaimed, shares and claims that add up, every stored idempotent answer backed by what it
/// names, the due work scheduled exactly as the state implies, and legal holds that hold
/// together (documents registered before they are revealed), reports and cases that name
/// each other, and return requests that give back no more than was paid, to the payer only.
///
/// # Errors
/// [`StoreError`] when the store cannot be read.
pub async fn check(
    store: &dyn Store,
    limits: &Limits,
    log_key: Option<&VerifyingKey>,
) -> Result<CheckReport, StoreError> {
    let dump = store.dump().await?;
    let (log_problems, logged_events) = check_log(&dump, log_key);
    let world = World::complete_from(dump.facts);
    let mut violations = invariants::check(&world, limits);
    let mut replies = Vec::new();
    for record in &dump.idempotency {
        match crate::stored::decode(&record.outcome) {
            Ok(Ok(reply)) => replies.push(reply),
            Ok(Err(_)) => {}
            Err(err) => violations.push(Violation {
                invariant: 5,
                message: format!(
                    "the stored answer for key {:?} of {} is unreadable: {err}",
                    record.key, record.principal
                ),
            }),
        }
    }
    violations.extend(invariants::check_replies(&world, &replies));
    violations.extend(invariants::check_deadlines(&world, &dump.deadlines));
    Ok(CheckReport {
        backend: store.backend(),
        users: world.users().count(),
        accounts: world.accounts().count(),
        packets: world.packets().count(),
        claims: world.claims().count(),
        transfers: world.transfers().count(),
        events: (dump.events.len() + logged_events) as u64,
        idempotency_records: dump.idempotency.len(),
        violations,
        log_entries: dump.log.len(),
        checkpoints: dump.checkpoints.len(),
        log_problems,
    })
}

/// Rebuilds the log's tree from the stored entries and checks it against every signed
/// checkpoint, and checks that the transfer entries are exactly the ledger's transfers,
/// re-encoded. An edited, deleted or reordered entry fails here. Also answers how many entries
/// record events.
fn check_log(dump: &Dump, key: Option<&VerifyingKey>) -> (Vec<String>, usize) {
    let mut problems = Vec::new();
    if dump.log.is_empty() && dump.checkpoints.is_empty() {
        return (problems, 0);
    }
    let mut tree = Tree::new();
    for row in &dump.log {
        if row.index != tree.len() {
            problems.push(format!("entry {} is missing (the next stored entry is {})", tree.len(), row.index));
            return (problems, 0);
        }
        tree.push(leaf_hash(&row.entry));
    }
    match key {
        None => problems.push("no public key given: checkpoint signatures cannot be verified".to_owned()),
        Some(key) => {
            for checkpoint in &dump.checkpoints {
                let origin = checkpoint.note.lines().next().unwrap_or_default();
                let opened = Verifier::parse(&note::vkey(origin, key))
                    .map_err(|e| e.to_string())
                    .and_then(|verifier| note::open(&checkpoint.note, &verifier).map_err(|e| e.to_string()));
                match opened {
                    Err(why) => problems.push(format!("checkpoint {} does not verify: {why}", checkpoint.size)),
                    Ok(opened) => match tree.root_at(opened.size) {
                        Ok(root) if root == opened.root && opened.size == checkpoint.size => {}
                        Ok(_) => problems.push(format!(
                            "the entries do not hash to the signed root of checkpoint {}: entries were edited, \
                             removed or reordered",
                            opened.size
                        )),
                        Err(_) => problems.push(format!(
                            "checkpoint {} covers more entries than the log holds ({})",
                            opened.size,
                            tree.len()
                        )),
                    },
                }
            }
        }
    }
    // The transfer entries must be exactly the ledger's transfers: every one once, with the
    // bytes it encodes to. Events are kept only in the log while it is on (see the engine's
    // commit), so they are held against the ledger's entities instead (see `Ledger`).
    let mut transfers = HashMap::new();
    let mut ledger = Ledger::default();
    for fact in &dump.facts {
        match fact {
            Fact::Transfer(id, Some(transfer)) => {
                transfers.insert(*id, encode(&LogRecord::Transfer(transfer.clone())));
            }
            other => ledger.learn(other),
        }
    }
    let mut events = 0;
    for row in &dump.log {
        match decode(&row.entry).map(|entry| entry.record) {
            Err(why) => problems.push(format!("entry {}: {why}", row.index)),
            Ok(LogRecord::Transfer(transfer)) => match transfers.remove(&transfer.id) {
                Some(bytes) if bytes == row.entry => {}
                Some(_) => {
                    problems.push(format!("entry {} differs from transfer {} in the ledger", row.index, transfer.id))
                }
                None => problems.push(format!(
                    "entry {} records transfer {}, which the ledger does not have once",
                    row.index, transfer.id
                )),
            },
            Ok(LogRecord::Event(event)) => {
                events += 1;
                if let Some(problem) = ledger.contradicts(&event.what) {
                    problems.push(format!("entry {}: {problem}", row.index));
                }
            }
        }
    }
    if !transfers.is_empty() {
        problems.push(format!("{} transfer(s) of the ledger are not in the log", transfers.len()));
    }
    problems.extend(ledger.unmatched());
    (problems, events)
}

/// The ledger's entities a log's events are held against, and the events already seen, so that
/// an event that may happen once per entity (a user created, a packet sent, opened or closed,
/// a claim taken) is caught when logged twice or for something the ledger does not have.
#[derive(Default)]
struct Ledger<'a> {
    users: HashMap<UserId, UserStatus>,
    groups: HashMap<GroupId, &'a Group>,
    packets: HashMap<PacketId, &'a Packet>,
    claims: HashMap<ClaimId, &'a Claim>,
    pendings: HashMap<TransferId, &'a PendingTransfer>,
    operators: HashMap<KeyId, &'a Owner>,
    documents: HashMap<DocumentId, &'a Document>,
    freezes: HashMap<FreezeId, &'a Freeze>,
    seizures: HashMap<SeizureId, &'a Seizure>,
    reports: HashMap<ReportId, &'a Report>,
    /// Every transfer of the ledger, for the payments a confirmation names.
    transfer_ids: HashSet<TransferId>,
    cases: HashMap<CaseId, &'a Case>,
    return_requests: HashMap<ReturnRequestId, &'a ReturnRequest>,
    /// How many notes each return request has by the log's events so far.
    notes_by_log: HashMap<ReturnRequestId, usize>,
    /// The commitment of every document of the ledger.
    commitments: HashSet<String>,
    /// `(what, id)` of every once-only event seen.
    seen: HashSet<(&'static str, u128)>,
    /// Whether each user is locked, by the log's lock and unlock events so far.
    locked_by_log: HashMap<UserId, bool>,
    /// What each freeze holds, by the log's freeze events so far.
    held_by_log: HashMap<FreezeId, Fen>,
}

impl<'a> Ledger<'a> {
    fn learn(&mut self, fact: &'a Fact) {
        match fact {
            Fact::User(id, Some(user)) => {
                self.users.insert(*id, user.status);
            }
            Fact::Group(id, Some(group)) => {
                self.groups.insert(*id, group);
            }
            Fact::Packet(id, Some(packet)) => {
                self.packets.insert(*id, packet);
            }
            Fact::Claim(id, Some(claim)) => {
                self.claims.insert(*id, claim);
            }
            Fact::Pending(id, Some(pending)) => {
                self.pendings.insert(*id, pending);
            }
            Fact::Principal(id, Some(principal)) if matches!(principal.owner, Owner::Operator { .. }) => {
                self.operators.insert(*id, &principal.owner);
            }
            Fact::Document(id, Some(document)) => {
                self.documents.insert(*id, document);
                self.commitments.insert(document.commitment());
            }
            Fact::Freeze(id, Some(freeze)) => {
                self.freezes.insert(*id, freeze);
            }
            Fact::Seizure(id, Some(seizure)) => {
                self.seizures.insert(*id, seizure);
            }
            Fact::Transfer(id, Some(_)) => {
                self.transfer_ids.insert(*id);
            }
            Fact::Report(id, Some(report)) => {
                self.reports.insert(*id, report);
            }
            Fact::Case(id, Some(case)) => {
                self.cases.insert(*id, case);
            }
            Fact::ReturnRequest(id, Some(request)) => {
                self.return_requests.insert(*id, request);
            }
            _ => {}
        }
    }

    /// Whether `id` is seen for the first time as `what`.
    fn first(&mut self, what: &'static str, id: u128) -> bool {
        self.seen.insert((what, id))
    }

    /// What is wrong with a logged event that the ledger contradicts, if anything.
    fn contradicts(&mut self, what: &EventKind) -> Option<String> {
        let differs = |thing: String| Some(format!("{thing} differs from the ledger"));
        match what {
            EventKind::UserCreated { user_id } => {
                if !self.first("user", user_id.uuid().as_u128()) {
                    return Some(format!("user {user_id} is created a second time"));
                }
                (!self.users.contains_key(user_id)).then(|| format!("user {user_id} is not in the ledger"))
            }
            EventKind::OperatorCreated { key_id, name, roles } => match self.operators.get(key_id) {
                Some(Owner::Operator { name: n, roles: r }) if (n, r) == (name, roles) => None,
                _ => differs(format!("operator key {key_id}")),
            },
            EventKind::GroupCreated { group_id, owner, members } => {
                if !self.first("group", group_id.uuid().as_u128()) {
                    return Some(format!("group {group_id} is created a second time"));
                }
                match self.groups.get(group_id) {
                    Some(group) if (group.owner, group.size()) == (*owner, *members) => None,
                    _ => differs(format!("the creation of group {group_id}")),
                }
            }
            EventKind::PacketSent { packet_id, sender, kind, count, total, commitment } => {
                if !self.first("sent", packet_id.uuid().as_u128()) {
                    return Some(format!("packet {packet_id} is sent a second time"));
                }
                let Some(packet) = self.packets.get(packet_id) else {
                    return Some(format!("packet {packet_id} is not in the ledger"));
                };
                let expected = packet.salt.as_ref().map(|salt| fairness::commitment(salt, &packet.shares));
                let same = (*sender, *kind, *count, *total, commitment)
                    == (packet.sender, packet.kind, packet.count(), packet.total, &expected);
                if same { None } else { differs(format!("the sending of packet {packet_id}")) }
            }
            EventKind::PacketOpened { packet_id, .. } => {
                if !self.first("opened", packet_id.uuid().as_u128()) {
                    return Some(format!("packet {packet_id} is opened a second time"));
                }
                match self.packets.get(packet_id) {
                    Some(packet) if packet.touched => None,
                    _ => differs(format!("the opening of packet {packet_id}")),
                }
            }
            EventKind::PacketClaimed { packet_id, claim_id, user_id, amount } => {
                if !self.first("claimed", claim_id.uuid().as_u128()) {
                    return Some(format!("claim {claim_id} is logged twice"));
                }
                match self.claims.get(claim_id) {
                    Some(c) if (c.packet_id, c.user_id, c.amount) == (*packet_id, *user_id, *amount) => None,
                    _ => differs(format!("claim {claim_id}")),
                }
            }
            EventKind::PacketRecalled { packet_id, .. } | EventKind::PacketExpired { packet_id, .. } => {
                let status = if matches!(what, EventKind::PacketRecalled { .. }) {
                    PacketStatus::Recalled
                } else {
                    PacketStatus::Expired
                };
                if !self.first("closed", packet_id.uuid().as_u128()) {
                    return Some(format!("packet {packet_id} is closed a second time"));
                }
                match self.packets.get(packet_id) {
                    Some(packet) if packet.status == status => None,
                    _ => Some(format!("packet {packet_id} is not {} in the ledger", status.as_str())),
                }
            }
            EventKind::LuckySharesRevealed { packet_id, salt, shares } => match self.packets.get(packet_id) {
                Some(packet) if packet.salt.as_ref() == Some(salt) && packet.shares[..] == shares[..] => None,
                _ => differs(format!("the reveal of packet {packet_id}")),
            },
            // A delayed claim arrives before it can be returned; one revoked never arrives.
            EventKind::ClaimArrived { claim_id } => match self.claims.get(claim_id) {
                Some(c) if matches!(c.status, ClaimStatus::Arrived | ClaimStatus::Returned) => None,
                _ => differs(format!("the arrival of claim {claim_id}")),
            },
            EventKind::ClaimRevoked { claim_id, amount } | EventKind::ClaimReturned { claim_id, amount } => {
                let status = if matches!(what, EventKind::ClaimRevoked { .. }) {
                    ClaimStatus::Revoked
                } else {
                    ClaimStatus::Returned
                };
                match self.claims.get(claim_id) {
                    Some(c) if (c.status, c.amount) == (status, *amount) => None,
                    _ => differs(format!("the {} claim {claim_id}", status.as_str())),
                }
            }
            EventKind::TransferArrived { transfer_id } | EventKind::TransferRevoked { transfer_id } => {
                let status = if matches!(what, EventKind::TransferArrived { .. }) {
                    PendingStatus::Posted
                } else {
                    PendingStatus::Voided
                };
                match self.pendings.get(transfer_id) {
                    Some(p) if p.status == status => None,
                    _ => differs(format!("the end of pending transfer {transfer_id}")),
                }
            }
            // A lock or unlock is logged only when it changes the user's status, so they take
            // turns; the last one must be the status the ledger ended with (see `unmatched`).
            EventKind::UserLocked { user_id, .. } | EventKind::UserUnlocked { user_id, .. } => {
                let lock = matches!(what, EventKind::UserLocked { .. });
                if !self.users.contains_key(user_id) {
                    return Some(format!("user {user_id} is not in the ledger"));
                }
                let was = self.locked_by_log.insert(*user_id, lock).unwrap_or(false);
                (was == lock).then(|| {
                    format!(
                        "user {user_id} is {} when the log already had it so",
                        if lock { "locked" } else { "unlocked" }
                    )
                })
            }
            // A freeze is placed once, as the ledger has it, citing committed documents; what it
            // holds moves only by these events, and must end as the ledger's `held`.
            EventKind::FreezePlaced { freeze_id, user_id, kind, amount, held, documents, .. } => {
                if !self.first("freeze", freeze_id.uuid().as_u128()) {
                    return Some(format!("freeze {freeze_id} is placed a second time"));
                }
                let Some(freeze) = self.freezes.get(freeze_id) else {
                    return Some(format!("freeze {freeze_id} is not in the ledger"));
                };
                let cited: Vec<String> = freeze
                    .documents
                    .iter()
                    .take(documents.len())
                    .filter_map(|id| self.documents.get(id).map(|d| d.commitment()))
                    .collect();
                // A partial release later sets the amount of a whole-wallet freeze: only a placed
                // amount is as logged.
                let amount_kept = amount.is_none() || freeze.amount.is_some_and(|now| Some(now) <= *amount);
                if (freeze.user_id, freeze.kind, freeze.tally.ever_held >= *held) != (*user_id, *kind, true)
                    || !amount_kept
                    || cited != *documents
                {
                    return differs(format!("the placing of freeze {freeze_id}"));
                }
                self.held_by_log.insert(*freeze_id, *held);
                None
            }
            // A forced transfer is proposed once as the ledger has it, and ends once: executed
            // (its transfer, both officers, the freeze's held down by its amount), rejected or
            // expired, as the ledger says.
            EventKind::SeizureProposed { seizure_id, freeze_id, amount, to, documents, actor } => {
                if !self.first("seizure", seizure_id.uuid().as_u128()) {
                    return Some(format!("forced transfer {seizure_id} is proposed a second time"));
                }
                match self.seizures.get(seizure_id) {
                    Some(s)
                        if (s.freeze_id, s.amount, s.to, s.proposed_by) == (*freeze_id, *amount, *to, *actor)
                            && documents.iter().all(|c| self.commitments.contains(c)) =>
                    {
                        None
                    }
                    _ => differs(format!("the proposal of forced transfer {seizure_id}")),
                }
            }
            EventKind::SeizureExecuted { seizure_id, freeze_id, amount, transfer_id, proposed_by, approved_by } => {
                if !self.first("seizure decided", seizure_id.uuid().as_u128()) {
                    return Some(format!("forced transfer {seizure_id} is decided a second time"));
                }
                let logged = (SeizureStatus::Executed, Some(*transfer_id), *proposed_by, Some(*approved_by), *amount);
                let matches = self.seizures.get(seizure_id).is_some_and(|s| {
                    s.freeze_id == *freeze_id
                        && (s.status, s.transfer_id, s.proposed_by, s.decided_by, s.amount) == logged
                        && s.proposed_by != *approved_by
                });
                if !matches {
                    return differs(format!("the execution of forced transfer {seizure_id}"));
                }
                match self.held_by_log.get_mut(freeze_id).map(|held| held.checked_sub(*amount)) {
                    Some(Ok(next)) if !next.is_negative() => {
                        self.held_by_log.insert(*freeze_id, next);
                        None
                    }
                    _ => Some(format!("forced transfer {seizure_id} moves more than its freeze held by the log")),
                }
            }
            EventKind::SeizureRejected { seizure_id, .. } | EventKind::SeizureExpired { seizure_id } => {
                let status = if matches!(what, EventKind::SeizureRejected { .. }) {
                    SeizureStatus::Rejected
                } else {
                    SeizureStatus::Expired
                };
                if !self.first("seizure decided", seizure_id.uuid().as_u128()) {
                    return Some(format!("forced transfer {seizure_id} is decided a second time"));
                }
                match self.seizures.get(seizure_id) {
                    Some(s) if s.status == status => None,
                    _ => Some(format!("forced transfer {seizure_id} is not {} in the ledger", status.as_str())),
                }
            }
            // A report is filed once, as the ledger has it; a rule fires about a case the ledger
            // has, about its subject; a case closes once, as the ledger has it closed.
            EventKind::ReportFiled { report_id, reporter, subject, amount, evidence } => {
                if !self.first("report", report_id.uuid().as_u128()) {
                    return Some(format!("report {report_id} is filed a second time"));
                }
                match self.reports.get(report_id) {
                    Some(r)
                        if (r.reporter, r.subject, r.amount) == (*reporter, *subject, *amount)
                            && u32::try_from(r.evidence.len()) == Ok(*evidence) =>
                    {
                        None
                    }
                    _ => differs(format!("the filing of report {report_id}")),
                }
            }
            EventKind::ReturnRequested { .. }
            | EventKind::ReturnAccepted { .. }
            | EventKind::ReturnDeclined { .. }
            | EventKind::ReturnWithdrawn { .. }
            | EventKind::ReturnExpired { .. }
            | EventKind::ReturnNoted { .. } => self.contradicts_return(what),
            EventKind::RuleFired { case_id, user_id, .. } => match self.cases.get(case_id) {
                Some(case) if case.subject == *user_id => None,
                _ => differs(format!("the rule that opened case {case_id}")),
            },
            // A confirmation is spent by the payment it names, which the ledger has, once.
            EventKind::RiskConfirmed { id, .. } => {
                if !self.first("confirmation", id.as_u128()) {
                    return Some(format!("confirmation {id} is used a second time"));
                }
                let paid = self.transfer_ids.contains(&TransferId::from_uuid(*id))
                    || self.packets.contains_key(&PacketId::from_uuid(*id));
                (!paid).then(|| format!("confirmation {id} names no payment of the ledger"))
            }
            EventKind::CaseClosed { case_id, outcome, .. } => {
                if !self.first("case closed", case_id.uuid().as_u128()) {
                    return Some(format!("case {case_id} is closed a second time"));
                }
                match self.cases.get(case_id) {
                    Some(case) if case.outcome == Some(*outcome) && !case.is_open() => None,
                    _ => differs(format!("the closing of case {case_id}")),
                }
            }
            EventKind::FreezeRenewed { freeze_id, documents, .. } => {
                if !self.held_by_log.contains_key(freeze_id) {
                    return Some(format!("freeze {freeze_id} is renewed before it is placed"));
                }
                match self.freezes.get(freeze_id) {
                    Some(f) if f.renewals > 0 && documents.iter().all(|c| self.commitments.contains(c)) => None,
                    _ => differs(format!("the renewal of freeze {freeze_id}")),
                }
            }
            EventKind::FreezeHeld { freeze_id, amount }
            | EventKind::FreezeReleased { freeze_id, amount, .. }
            | EventKind::FreezeExpired { freeze_id, amount }
            | EventKind::FreezeConverted { freeze_id, amount, .. } => {
                let more = matches!(what, EventKind::FreezeHeld { .. });
                if let EventKind::FreezeReleased { documents, .. } = what
                    && documents.iter().any(|c| !self.commitments.contains(c))
                {
                    return Some(format!("freeze {freeze_id} is released citing a document the ledger does not have"));
                }
                let ends = matches!(what, EventKind::FreezeExpired { .. } | EventKind::FreezeConverted { .. });
                if ends && !self.first("freeze ended", freeze_id.uuid().as_u128()) {
                    return Some(format!("freeze {freeze_id} ends a second time"));
                }
                if let EventKind::FreezeConverted { into, .. } = what {
                    let converted = self.freezes.get(freeze_id).is_some_and(|f| f.status.as_str() == "converted");
                    if !converted || !self.freezes.contains_key(into) {
                        return differs(format!("the conversion of freeze {freeze_id}"));
                    }
                }
                let Some(held) = self.held_by_log.get_mut(freeze_id) else {
                    return Some(format!("freeze {freeze_id} changes before it is placed"));
                };
                let next = if more { held.checked_add(*amount) } else { held.checked_sub(*amount) };
                match next {
                    Ok(next) if !next.is_negative() => {
                        *held = next;
                        None
                    }
                    _ => Some(format!("freeze {freeze_id} lets go of more than the log had it hold")),
                }
            }
            // The log commits to a document once, and reveals it at most once: its salt and file
            // hash, which must open the commitment (recomputed here from the stored salt).
            EventKind::DocumentRegistered { document_id, commitment, actor } => {
                if !self.first("document", document_id.uuid().as_u128()) {
                    return Some(format!("document {document_id} is registered a second time"));
                }
                match self.documents.get(document_id) {
                    Some(d) if (&d.commitment(), d.registered_by) == (commitment, *actor) => None,
                    _ => differs(format!("the registration of document {document_id}")),
                }
            }
            EventKind::DocumentRevealed { document_id, salt, sha256, .. } => {
                if !self.first("revealed", document_id.uuid().as_u128()) {
                    return Some(format!("document {document_id} is revealed a second time"));
                }
                match self.documents.get(document_id) {
                    Some(d) if d.revealed_at.is_some() && d.salt == *salt && hex(&d.sha256) == *sha256 => None,
                    _ => differs(format!("the reveal of document {document_id}")),
                }
            }
        }
    }

    /// The ledger's users, groups, packets and claims no event in the log created, and users
    /// whose lock or frozen money is not what the log's events leave them with.
    fn unmatched(&self) -> Vec<String> {
        let missing = |what: &'static str, ids: &mut dyn Iterator<Item = u128>| {
            ids.filter(|id| !self.seen.contains(&(what, *id))).count()
        };
        let counts = [
            ("user(s)", missing("user", &mut self.users.keys().map(|id| id.uuid().as_u128()))),
            ("group(s)", missing("group", &mut self.groups.keys().map(|id| id.uuid().as_u128()))),
            ("packet(s)", missing("sent", &mut self.packets.keys().map(|id| id.uuid().as_u128()))),
            ("claim(s)", missing("claimed", &mut self.claims.keys().map(|id| id.uuid().as_u128()))),
            ("document(s)", missing("document", &mut self.documents.keys().map(|id| id.uuid().as_u128()))),
            ("freeze(s)", missing("freeze", &mut self.freezes.keys().map(|id| id.uuid().as_u128()))),
            ("forced transfer(s)", missing("seizure", &mut self.seizures.keys().map(|id| id.uuid().as_u128()))),
            (
                "return request(s)",
                missing("return request", &mut self.return_requests.keys().map(|id| id.uuid().as_u128())),
            ),
            (
                "closing(s) of return requests",
                missing(
                    "return closed",
                    &mut self.return_requests.values().filter(|r| !r.is_open()).map(|r| r.id.uuid().as_u128()),
                ),
            ),
            (
                "reveal(s) of documents",
                missing(
                    "revealed",
                    &mut self.documents.values().filter(|d| d.revealed_at.is_some()).map(|d| d.id.uuid().as_u128()),
                ),
            ),
        ];
        let mut problems: Vec<String> = counts
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(what, n)| format!("{n} {what} of the ledger are not in the log"))
            .collect();
        let locks = self
            .users
            .iter()
            .filter(|(id, status)| {
                self.locked_by_log.get(id).copied().unwrap_or(false) != (**status == UserStatus::Locked)
            })
            .count();
        if locks > 0 {
            problems.push(format!("{locks} user(s) are locked or unlocked otherwise than the log's last event says"));
        }
        let freezes = self
            .freezes
            .values()
            .filter(|f| self.held_by_log.get(&f.id).copied().unwrap_or(Fen::ZERO) != f.held)
            .count();
        if freezes > 0 {
            problems.push(format!("{freezes} freeze(s) hold another amount than the log's freeze events add up to"));
        }
        problems.extend(self.notes_unmatched());
        problems
    }
}
