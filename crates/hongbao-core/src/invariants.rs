//! The invariants of docs/DESIGN.md, checked over a complete [`World`].
//!
//! The check is a second, independent path to the same numbers: it recomputes every account's
//! totals from the transfers alone and compares them with the stored totals the commands kept
//! up to date, and it recomputes every packet's state from its claims. Sums use `i128`, so the
//! check itself cannot overflow.

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::case::CaseKind;
use crate::config::Limits;
use crate::document::Document;
use crate::due::{self, DueItem, DueKind};
use crate::freeze::{missing_documents, required_documents};
use crate::id::{AccountId, ClaimId, FreezeId, TransferId, UserId};
use crate::ledger::{AccountKind, Balances, PendingStatus, Phase, TransferKind};
use crate::money::Fen;
use crate::ops::Reply;
use crate::packet::{Claim, ClaimStatus, PacketStatus};
use crate::risk::FreezeKind;
use crate::seizure::{SeizureStatus, SeizureTarget};
use crate::time::Timestamp;
use crate::world::World;

mod returns;

use returns::check_returns;

/// One broken invariant, in words precise enough to find the row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Which invariant of docs/DESIGN.md (1 to 9).
    pub invariant: u8,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invariant {}: {}", self.invariant, self.message)
    }
}

#[derive(Default, Clone, Copy, PartialEq, Eq, Debug)]
struct Totals {
    debits_posted: i128,
    credits_posted: i128,
    debits_pending: i128,
    credits_pending: i128,
}

impl From<Balances> for Totals {
    fn from(b: Balances) -> Self {
        Totals {
            debits_posted: b.debits_posted.get().into(),
            credits_posted: b.credits_posted.get().into(),
            debits_pending: b.debits_pending.get().into(),
            credits_pending: b.credits_pending.get().into(),
        }
    }
}

struct Report {
    violations: Vec<Violation>,
}

impl Report {
    fn fail(&mut self, invariant: u8, message: String) {
        self.violations.push(Violation { invariant, message });
    }
}

/// Checks invariants 1 to 4 and 7 to 9 over a complete world. An empty result means they all hold.
pub fn check(world: &World, limits: &Limits) -> Vec<Violation> {
    let mut report = Report { violations: Vec::new() };
    check_ledger(world, &mut report);
    check_accounts(world, &mut report);
    check_packets(world, limits, &mut report);
    check_documents(world, &mut report);
    check_freezes(world, &mut report);
    check_seizures(world, &mut report);
    check_cases(world, &mut report);
    check_returns(world, &mut report);
    report.violations
}

/// Invariant 8, reports and cases: at most one open case of a kind per subject and one open
/// report per reporter and subject; a report and its case name each other, and a closed case's
/// reports are closed; a report's amount is the sum of the transfers it cites, each paid to its
/// subject; a case's freezes hold its subject's money, and a freeze no officer placed is a
/// rule's, listed by one case of the rule's kind (an anomaly freeze by an anomaly case, a
/// precautionary one by a fraud case); what a user's logins remember is bounded and in order.
fn check_cases(world: &World, report: &mut Report) {
    let mut open_cases = HashSet::new();
    let mut listed: HashMap<FreezeId, Vec<CaseKind>> = HashMap::new();
    for case in world.cases() {
        for id in case.freezes() {
            listed.entry(id).or_default().push(case.kind);
        }
        if case.is_open() && !open_cases.insert((case.subject, case.kind)) {
            report.fail(8, format!("two {} cases about {} are open", case.kind.as_str(), case.subject));
        }
        if case.is_open() == case.outcome.is_some() || case.is_open() == case.closed_at.is_some() {
            report.fail(8, format!("case {} is {} with outcome {:?}", case.id, case.status.as_str(), case.outcome));
        }
        for id in case.reports() {
            match world.report(id).ok().flatten() {
                Some(r) if r.case_id == Some(case.id) && (case.is_open() || !r.is_open()) => {}
                found => report.fail(8, format!("case {} lists report {id}, which is {found:?}", case.id)),
            }
        }
        for id in case.freezes() {
            if world.freeze(id).ok().flatten().is_none_or(|f| f.user_id != case.subject) {
                report.fail(
                    8,
                    format!("case {} lists freeze {id}, which does not hold {}'s money", case.id, case.subject),
                );
            }
        }
    }
    for f in world.freezes().filter(|f| f.created_by.is_none()) {
        let rule = match f.kind {
            FreezeKind::Anomaly => Some(CaseKind::Anomaly),
            FreezeKind::Precautionary => Some(CaseKind::Fraud),
            _ => None,
        };
        let cases = listed.get(&f.id).map_or(&[][..], Vec::as_slice);
        if rule.is_none_or(|kind| cases != [kind]) {
            report.fail(
                8,
                format!("freeze {} ({}) was placed by no officer but its cases are {cases:?}", f.id, f.kind.as_str()),
            );
        }
    }
    for user in world.users() {
        let regions = &user.logins.regions;
        let ordered = regions.windows(2).all(|w| w[0].last_at >= w[1].last_at);
        let distinct = regions.iter().map(|r| &r.region).collect::<HashSet<_>>().len() == regions.len();
        if regions.len() > crate::signal::REGIONS_MAX || !ordered || !distinct {
            report.fail(
                8,
                format!(
                    "{}'s logins remember {} regions, ordered {ordered}, distinct {distinct}",
                    user.id,
                    regions.len()
                ),
            );
        }
    }
    let mut open_reports = HashSet::new();
    for r in world.reports() {
        if r.is_open() && !open_reports.insert((r.reporter, r.subject)) {
            report.fail(8, format!("{} has two open reports on {}", r.reporter, r.subject));
        }
        if let Some(case) = r.case_id
            && world.case(case).ok().flatten().is_none_or(|c| !c.reports().any(|id| id == r.id))
        {
            report.fail(8, format!("report {} names case {case}, which does not list it", r.id));
        }
        let mut sum: i128 = 0;
        for &id in &r.transfers {
            match world.transfer(id).ok().flatten() {
                Some(t) if t.credit == AccountId::wallet(r.subject) => sum += i128::from(t.amount.get()),
                _ => report.fail(8, format!("report {} cites {id}, which paid nothing to {}", r.id, r.subject)),
            }
        }
        if sum != i128::from(r.amount.get()) || !r.amount.is_positive() {
            report.fail(8, format!("report {} reports {} but its transfers paid {sum}", r.id, r.amount));
        }
    }
}

/// Invariant 7, for forced transfers: each executed one is exactly its transfer (the frozen
/// wallet to its destination, its amount), a freeze's `seized` is the sum of its executed ones,
/// and no two proposals on one freeze await approval at once.
fn check_seizures(world: &World, report: &mut Report) {
    let mut seized: HashMap<crate::id::FreezeId, i128> = HashMap::new();
    let mut awaiting: HashMap<crate::id::FreezeId, Vec<(Timestamp, Timestamp)>> = HashMap::new();
    for s in world.seizures() {
        match s.status {
            SeizureStatus::Executed => {
                *seized.entry(s.freeze_id).or_default() += i128::from(s.amount.get());
                let to = match s.to {
                    SeizureTarget::User(user) => AccountId::wallet(user),
                    SeizureTarget::External => AccountId::EXTERNAL,
                };
                let expected = (AccountId::wallet(s.user_id), to, s.amount, TransferKind::Seizure);
                let found = s.transfer_id.and_then(|t| world.transfer(t).ok().flatten());
                if found.is_none_or(|t| (t.debit, t.credit, t.amount, t.kind) != expected) {
                    report.fail(7, format!("forced transfer {} does not match its transfer {:?}", s.id, s.transfer_id));
                }
            }
            SeizureStatus::AwaitingApproval => {
                awaiting.entry(s.freeze_id).or_default().push((s.proposed_at, s.expires_at))
            }
            SeizureStatus::Rejected | SeizureStatus::Expired => {}
        }
        if s.status != SeizureStatus::Executed && s.transfer_id.is_some() {
            report.fail(7, format!("forced transfer {} is {} but names a transfer", s.id, s.status.as_str()));
        }
    }
    for freeze in world.freezes() {
        let sum = seized.remove(&freeze.id).unwrap_or(0);
        if sum != i128::from(freeze.tally.seized.get()) {
            report.fail(
                7,
                format!("freeze {} seized {} but its forced transfers moved {sum}", freeze.id, freeze.tally.seized),
            );
        }
    }
    for freeze in seized.keys() {
        report.fail(7, format!("forced transfers moved money of freeze {freeze}, which does not exist"));
    }
    for (freeze, mut windows) in awaiting {
        windows.sort_unstable();
        if windows.windows(2).any(|w| w[1].0 < w[0].1) {
            report.fail(7, format!("freeze {freeze} has two forced transfers awaiting approval at once"));
        }
    }
}

/// Invariant 7, for freezes: every wallet's frozen total is what its active freezes hold; its
/// `holding` flag says whether one of them is short, and then nothing of it is available; no
/// freeze holds more than its amount, an ended one holds nothing, and each accounts for every
/// fen it ever held; a court, police or emergency freeze cites the documents its kind needs.
fn check_freezes(world: &World, report: &mut Report) {
    let mut held: HashMap<UserId, (i128, bool)> = HashMap::new();
    for freeze in world.freezes() {
        let id = freeze.id;
        if freeze.held.is_negative()
            || freeze.amount.is_some_and(|amount| freeze.held > amount || !amount.is_positive())
        {
            report.fail(7, format!("freeze {id} holds {} of its amount {:?}", freeze.held, freeze.amount));
        }
        if !freeze.tally_adds_up() {
            report.fail(7, format!("freeze {id} does not account for what it held: {:?}", freeze.tally));
        }
        if freeze.is_active() {
            let entry = held.entry(freeze.user_id).or_default();
            entry.0 += i128::from(freeze.held.get());
            entry.1 |= freeze.is_short();
        } else if freeze.held != Fen::ZERO || freeze.ended_at.is_none() {
            report.fail(7, format!("freeze {id} is {} but holds {}", freeze.status.as_str(), freeze.held));
        }
        if !matches!(world.account(AccountId::wallet(freeze.user_id)), Ok(Some(_))) {
            report.fail(7, format!("freeze {id} holds the wallet of {}, which does not exist", freeze.user_id));
        }
        let cited: Vec<&Document> = freeze.documents.iter().filter_map(|d| world.document(*d).ok().flatten()).collect();
        if cited.len() != freeze.documents.len() {
            report.fail(7, format!("freeze {id} cites a document that does not exist"));
        }
        if !missing_documents(required_documents(freeze.kind), &cited).is_empty() {
            report.fail(7, format!("{} freeze {id} lacks a document its kind needs", freeze.kind.as_str()));
        }
    }
    for account in world.accounts().filter(|a| a.kind == AccountKind::Wallet) {
        let user = UserId::from_uuid(account.id.uuid());
        let (sum, short) = held.get(&user).copied().unwrap_or_default();
        if i128::from(account.frozen().get()) != sum {
            report.fail(
                7,
                format!("wallet {} has {} frozen but its active freezes hold {sum}", account.id, account.frozen()),
            );
        }
        if account.holding() != short {
            report.fail(
                7,
                format!("wallet {} says holding is {} but a short freeze is {short}", account.id, account.holding()),
            );
        }
        if short && account.available().is_ok_and(Fen::is_positive) {
            report.fail(7, format!("wallet {} has money available while a freeze of it is short", account.id));
        }
    }
}

/// Invariant 7, for documents: each was issued before it was registered and revealed after.
/// (That the log committed to each, and revealed what it holds, is the log's check.)
fn check_documents(world: &World, report: &mut Report) {
    for document in world.documents() {
        let id = document.id;
        if document.issued_at > document.created_at {
            report.fail(7, format!("document {id} was issued after it was registered"));
        }
        if document.revealed_at.is_some_and(|at| at < document.created_at) {
            report.fail(7, format!("document {id} was revealed before it was registered"));
        }
    }
}

/// Invariant 1: double entry, from the stored totals and again from the transfers.
fn check_ledger(world: &World, report: &mut Report) {
    let (mut posted, mut pending) = (0i128, 0i128);
    for account in world.accounts() {
        let t = Totals::from(account.balances());
        posted += t.credits_posted - t.debits_posted;
        pending += t.credits_pending - t.debits_pending;
    }
    if posted != 0 {
        report.fail(1, format!("posted balances sum to {posted} fen, not 0"));
    }
    if pending != 0 {
        report.fail(1, format!("pending credits and debits differ by {pending} fen"));
    }

    let mut replayed: HashMap<AccountId, Totals> = HashMap::new();
    let mut resolutions: HashMap<TransferId, (TransferId, PendingStatus)> = HashMap::new();
    for transfer in world.transfers() {
        let amount = i128::from(transfer.amount.get());
        if amount < 1 {
            report.fail(1, format!("transfer {} moves {amount} fen; every transfer moves at least 1", transfer.id));
        }
        for side in [transfer.debit, transfer.credit] {
            if !matches!(world.account(side), Ok(Some(_))) {
                report.fail(1, format!("transfer {} names account {side}, which does not exist", transfer.id));
            }
        }
        let mut d = *replayed.entry(transfer.debit).or_default();
        let mut c = *replayed.entry(transfer.credit).or_default();
        match transfer.phase {
            Phase::Posted => {
                d.debits_posted += amount;
                c.credits_posted += amount;
            }
            Phase::Pending { .. } => {
                d.debits_pending += amount;
                c.credits_pending += amount;
                if !matches!(world.pending(transfer.id), Ok(Some(_))) {
                    report.fail(1, format!("pending transfer {} has no pending record", transfer.id));
                }
            }
            Phase::PostPending { pending_id } | Phase::VoidPending { pending_id } => {
                let post = matches!(transfer.phase, Phase::PostPending { .. });
                d.debits_pending -= amount;
                c.credits_pending -= amount;
                if post {
                    d.debits_posted += amount;
                    c.credits_posted += amount;
                }
                let status = if post { PendingStatus::Posted } else { PendingStatus::Voided };
                if let Some((first, _)) = resolutions.insert(pending_id, (transfer.id, status)) {
                    report.fail(
                        1,
                        format!("pending transfer {pending_id} resolved twice, by {first} and {}", transfer.id),
                    );
                }
                match world.pending(pending_id) {
                    Ok(Some(p)) => {
                        let o = &p.transfer;
                        if (o.debit, o.credit, o.amount) != (transfer.debit, transfer.credit, transfer.amount) {
                            report.fail(
                                1,
                                format!("transfer {} resolves {pending_id} with other accounts or amount", transfer.id),
                            );
                        }
                    }
                    _ => report
                        .fail(1, format!("transfer {} resolves unknown pending transfer {pending_id}", transfer.id)),
                }
            }
        }
        replayed.insert(transfer.debit, d);
        replayed.insert(transfer.credit, c);
    }
    for account in world.accounts() {
        let stored = Totals::from(account.balances());
        let from_transfers = replayed.get(&account.id).copied().unwrap_or_default();
        if stored != from_transfers {
            report.fail(
                1,
                format!("account {} stores {stored:?} but its transfers add up to {from_transfers:?}", account.id),
            );
        }
    }
    for pending in world.pendings() {
        let id = pending.transfer.id;
        if !matches!(pending.transfer.phase, Phase::Pending { .. }) {
            report.fail(1, format!("pending record {id} wraps a transfer that is not pending"));
        }
        let resolved = resolutions.get(&id).map(|(_, status)| *status);
        let consistent = match pending.status {
            PendingStatus::Pending => resolved.is_none() && pending.resolved_at.is_none(),
            status => resolved == Some(status) && pending.resolved_at.is_some(),
        };
        if !consistent {
            report.fail(
                1,
                format!("pending transfer {id} is {} but its resolution says {resolved:?}", pending.status.as_str()),
            );
        }
    }
}

/// Invariant 2: no wallet or escrow is negative, and available money never is.
fn check_accounts(world: &World, report: &mut Report) {
    for account in world.accounts() {
        let b = account.balances();
        if [b.debits_posted, b.credits_posted, b.debits_pending, b.credits_pending, b.frozen]
            .iter()
            .any(|f| f.is_negative())
        {
            report.fail(2, format!("account {} has a negative running total: {b:?}", account.id));
        }
        if account.kind == AccountKind::External {
            continue;
        }
        match (account.balance(), account.available()) {
            (Ok(balance), Ok(available)) if !balance.is_negative() && !available.is_negative() => {}
            (balance, available) => report.fail(
                2,
                format!(
                    "{} account {} has balance {balance:?} and available {available:?}",
                    account.kind.as_str(),
                    account.id
                ),
            ),
        }
    }
    for user in world.users() {
        match world.account(AccountId::wallet(user.id)) {
            Ok(Some(account)) if account.kind == AccountKind::Wallet => {}
            _ => report.fail(2, format!("user {} has no wallet account", user.id)),
        }
    }
    for principal in world.principals() {
        if let Some(user) = principal.user()
            && !matches!(world.user(user), Ok(Some(_)))
        {
            report.fail(5, format!("key {} belongs to user {user}, who does not exist", principal.key_id));
        }
    }
}

/// Invariants 3 and 4: escrow matches what is unclaimed; shares and claims add up.
fn check_packets(world: &World, limits: &Limits, report: &mut Report) {
    for claim in world.orphan_claims() {
        report.fail(4, format!("claim {claim} belongs to a packet that does not exist"));
    }
    let returned: HashSet<_> =
        world.transfers().filter(|t| t.kind == TransferKind::ClaimReturn).filter_map(|t| t.claim_id).collect();
    for packet in world.packets() {
        let id = packet.id;
        let shares: i128 = packet.shares.iter().map(|s| i128::from(s.get())).sum();
        if packet.shares.is_empty() || shares != i128::from(packet.total.get()) {
            report.fail(
                4,
                format!(
                    "packet {id} has {} shares summing to {shares} fen, but a total of {}",
                    packet.shares.len(),
                    packet.total
                ),
            );
        }
        if let Some(bad) = packet.shares.iter().find(|s| **s < limits.share_min() || **s > limits.share_max()) {
            report.fail(4, format!("packet {id} has a share of {bad}, outside the share limits"));
        }

        let claims = world.claims_of(id).unwrap_or_default();
        let mut users = HashSet::new();
        let mut seqs: Vec<u32> = Vec::new();
        let (mut claimed, mut pending_claims) = (0i128, 0i128);
        for claim in &claims {
            if !users.insert(claim.user_id) {
                report.fail(4, format!("{} claimed packet {id} twice", claim.user_id));
            }
            seqs.push(claim.seq);
            if packet.shares.get(claim.seq as usize) != Some(&claim.amount) {
                report.fail(
                    4,
                    format!(
                        "claim {} took {} but share {} of packet {id} is {:?}",
                        claim.id,
                        claim.amount,
                        claim.seq,
                        packet.shares.get(claim.seq as usize)
                    ),
                );
            }
            claimed += i128::from(claim.amount.get());
            if claim.status == ClaimStatus::Pending {
                pending_claims += i128::from(claim.amount.get());
            }
            check_claim_ledger(world, claim, &returned, report);
        }
        seqs.sort_unstable();
        if seqs.iter().copied().ne(0..packet.claimed_count) {
            report.fail(
                4,
                format!("packet {id} counts {} claims but has claims for shares {seqs:?}", packet.claimed_count),
            );
        }
        if claimed != i128::from(packet.claimed_amount.get()) {
            report.fail(
                4,
                format!("packet {id} counts {} claimed but its claims sum to {claimed} fen", packet.claimed_amount),
            );
        }
        let full = packet.claimed_count == packet.count();
        let status_fits = match packet.status {
            PacketStatus::Exhausted => full,
            PacketStatus::Active => !full,
            PacketStatus::Recalled => packet.claimed_count == 0,
            PacketStatus::Expired | PacketStatus::Voided => true,
        };
        if !status_fits {
            report.fail(
                4,
                format!(
                    "packet {id} is {} with {} of {} shares claimed",
                    packet.status.as_str(),
                    packet.claimed_count,
                    packet.count()
                ),
            );
        }

        let Ok(Some(escrow)) = world.account(AccountId::escrow(id)) else {
            report.fail(3, format!("packet {id} has no escrow account"));
            continue;
        };
        let b = Totals::from(escrow.balances());
        let held = b.credits_posted - b.debits_posted - b.debits_pending;
        let unclaimed = i128::from(packet.total.get()) - i128::from(packet.claimed_amount.get());
        let expected = if packet.status == PacketStatus::Active { unclaimed } else { 0 };
        if held != expected {
            report.fail(
                3,
                format!(
                    "packet {id} ({}) holds {held} fen in escrow beyond pending claims, expected {expected}",
                    packet.status.as_str()
                ),
            );
        }
        if b.debits_pending != pending_claims || b.credits_pending != 0 || escrow.frozen().is_positive() {
            report.fail(
                3,
                format!(
                    "packet {id} escrow reserves {} fen for pending claims of {pending_claims} fen",
                    b.debits_pending
                ),
            );
        }
    }
}

/// A claim's status agrees with the transfers that moved its money.
fn check_claim_ledger(world: &World, claim: &Claim, returned: &HashSet<ClaimId>, report: &mut Report) {
    let Ok(Some(transfer)) = world.transfer(claim.transfer_id) else {
        report.fail(4, format!("claim {} has no transfer {}", claim.id, claim.transfer_id));
        return;
    };
    let expected =
        (AccountId::escrow(claim.packet_id), AccountId::wallet(claim.user_id), claim.amount, TransferKind::PacketClaim);
    if (transfer.debit, transfer.credit, transfer.amount, transfer.kind) != expected {
        report.fail(4, format!("claim {} does not match its transfer {}", claim.id, transfer.id));
    }
    let pending = world.pending(claim.transfer_id).ok().flatten().map(|p| p.status);
    let fits = match claim.status {
        ClaimStatus::Pending => pending == Some(PendingStatus::Pending),
        ClaimStatus::Arrived => pending.is_none() || pending == Some(PendingStatus::Posted),
        ClaimStatus::Revoked => pending == Some(PendingStatus::Voided),
        ClaimStatus::Returned => {
            (pending.is_none() || pending == Some(PendingStatus::Posted)) && returned.contains(&claim.id)
        }
    };
    if !fits {
        report.fail(4, format!("claim {} is {} but its transfer is {pending:?}", claim.id, claim.status.as_str()));
    }
}

/// Invariant 5 for acknowledged answers: everything an answer names exists in the world.
pub fn check_replies<'a>(world: &World, replies: impl IntoIterator<Item = &'a Reply>) -> Vec<Violation> {
    let mut report = Report { violations: Vec::new() };
    for reply in replies {
        let found = match reply {
            Reply::User(u) => {
                matches!(world.user(u.user_id), Ok(Some(_)))
                    && matches!(world.principal(u.key_id), Ok(Some(p)) if p.user() == Some(u.user_id))
            }
            Reply::Operator(o) => matches!(world.principal(o.key_id), Ok(Some(_))),
            Reply::Group(g) => matches!(world.group(g.group_id), Ok(Some(_))),
            Reply::Moved(m) => matches!(world.transfer(m.transfer_id), Ok(Some(_))),
            Reply::Packet(p) => matches!(world.packet(p.packet_id), Ok(Some(_))),
            Reply::Claimed(c) => matches!(world.claim(c.claim_id), Ok(Some(_))),
            Reply::Recalled(r) => {
                matches!(world.packet(r.packet_id), Ok(Some(p)) if p.status == PacketStatus::Recalled)
            }
            Reply::Claim(c) => matches!(world.claim(c.claim_id), Ok(Some(_))),
            Reply::Transfer(t) => matches!(world.transfer(t.transfer_id), Ok(Some(_))),
            Reply::Me(m) => matches!(world.user(m.user_id), Ok(Some(_))),
            Reply::DocumentRegistered(r) => {
                matches!(world.document(r.document_id), Ok(Some(d)) if d.commitment() == r.commitment)
            }
            Reply::Freeze(f) => matches!(world.freeze(f.freeze_id), Ok(Some(_))),
            Reply::Seizure(s) => matches!(world.seizure(s.seizure_id), Ok(Some(_))),
            Reply::Report(r) => matches!(world.report(r.id), Ok(Some(_))),
            Reply::Case(c) => matches!(world.case(c.id), Ok(Some(_))),
            Reply::Signal(s) => {
                matches!(world.user(s.user_id), Ok(Some(_)))
                    && s.case_id.is_none_or(|id| matches!(world.case(id), Ok(Some(c)) if c.subject == s.user_id))
            }
            Reply::DocumentRevealed(r) => {
                matches!(world.document(r.document_id), Ok(Some(d)) if d.revealed_at.is_some() && d.salt == r.salt)
            }
            Reply::ReturnRequest(r) => matches!(world.return_request(r.id), Ok(Some(_))),
            Reply::Settled { .. } => true,
        };
        if !found {
            report.fail(5, format!("an acknowledged answer names something that is not stored: {reply:?}"));
        }
    }
    report.violations
}

/// Invariant 6: what is scheduled is exactly what the state implies. `stored` is the stores'
/// table of due work; every active packet has one expiry item at its `expires_at`, every open
/// pending transfer one arrival item at its deadline, and nothing else is there.
pub fn check_deadlines(world: &World, stored: &[DueItem]) -> Vec<Violation> {
    let mut report = Report { violations: Vec::new() };
    let implied: HashMap<(DueKind, uuid::Uuid), Timestamp> =
        due::implied(world).into_iter().map(|item| ((item.kind, item.id), item.at)).collect();
    let mut seen = HashSet::new();
    for item in stored {
        if !seen.insert((item.kind, item.id)) {
            report.fail(6, format!("{} for {} is scheduled twice", item.kind, item.id));
            continue;
        }
        match implied.get(&(item.kind, item.id)) {
            Some(&at) if at == item.at => {}
            Some(&at) => {
                report.fail(6, format!("{} for {} is scheduled at {} but due at {at}", item.kind, item.id, item.at))
            }
            None => {
                report.fail(6, format!("{} for {} is scheduled at {} but nothing is due", item.kind, item.id, item.at))
            }
        }
    }
    let mut missing: Vec<_> = implied.iter().filter(|(key, _)| !seen.contains(*key)).collect();
    missing.sort_unstable();
    for ((kind, id), at) in missing {
        report.fail(6, format!("{kind} for {id} is due at {at} but not scheduled"));
    }
    report.violations
}
