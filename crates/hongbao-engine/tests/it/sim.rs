//! A seeded simulation of the engine under faults, in the spirit of Jepsen's bank test and
//! TigerBeetle's simulator: many clients send random commands of every kind through
//! [`Engine::execute_once`](hongbao_engine::Engine::execute_once), each with its own
//! idempotency keys, while the clock moves, the jobs run and the store fails at random.
//!
//! **Faults** (armed on the [`MemStore`] before a round, at random): a commit refused before it
//! is applied; a commit applied but answered as failed (the answer lost); a commit that hangs
//! before it is applied and one that hangs after, each followed by a **crash** (the node's
//! runtime is dropped: the writer, its in-memory world, its queue and every queued command
//! vanish, and a new engine starts on the same store with another configuration); a write
//! transaction that cannot begin; reads that fail (loads, the log's entries, checkpoints). Besides: a crash with commands queued, at a
//! random answer; a graceful shutdown with commands queued; a full queue (`Overloaded`).
//!
//! **Clients** act as real ones: an operation that got no answer (`Unavailable`, `Stopped`,
//! `Overloaded`, or nothing at all because the node died) is sent again with the same key until
//! it is answered; an impatient client sometimes sends one request twice at once; clients ask
//! answered requests again, and now and then reuse a key for another request.
//!
//! **Checks.** After every round: every answer to a key answered before is the same answer
//! (repeats, duplicates, re-asks), a reused key is refused, and the engine's log is not marked
//! corrupt. Every [`CHECK_EVERY_OPS`] acknowledged operations, after every crash or restart and
//! at the end of each episode, the simulation quiesces (faults off, every unanswered operation
//! retried until answered, due jobs run, a checkpoint signed) and checks everything:
//! `hongbao check` on the store (the nine invariants, the log against its signed checkpoints);
//! the engine's tree is the stored log and the latest checkpoint covers it; every acknowledged
//! answer is the stored record for its key and there is no other record; and every account's
//! five totals, every entity and every transfer reconcile with a model computed from the
//! acknowledged answers alone, so an operation applied twice, lost, or applied though refused
//! shows up as a difference. The rules run too, with an anomaly rule that needs only
//! [`ANOMALY_RECEIPTS_MIN`] receipts so that it fires now and then: what it freezes and locks no
//! answer reports, so the model takes it from the stored anomaly cases (each checked by `hongbao
//! check`), and everything else stays exact.
//!
//! The run is split into episodes of [`EPISODE_OPS`] operations, each on a new store, so the
//! full check stays cheap. Environment:
//! - `HONGBAO_FAULT_SIM_OPS`: acknowledged operations to run in all (default [`DEFAULT_OPS`]);
//! - `HONGBAO_FAULT_SIM_SEED`: one base seed instead of [`DEFAULT_SEEDS`];
//! - `HONGBAO_FAULT_SIM_EPISODE`: only this episode of the base seed (to replay a failure);
//! - `HONGBAO_FAULT_SIM_EPISODE_OPS`: operations per episode (default [`EPISODE_OPS`]; longer
//!   episodes reach larger stores, each full check costing more).
//!
//! An episode depends on nothing but its seed (one thread, current-thread runtimes, seeded
//! random sources, a manual clock), so a failure replays exactly from the line it prints.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use hongbao_core::case::{Case, CaseKind, CaseOutcome};
use hongbao_core::ledger::{PendingStatus, TransferKind};
use hongbao_core::ops::{Command, FreezeSpec, PacketSpec, Reply, TransferStatus};
use hongbao_core::packet::{ClaimStatus, PacketKind, PacketStatus};
use hongbao_core::principal::Role;
use hongbao_core::risk::FreezeKind;
use hongbao_core::signal::Signal;
use hongbao_core::user::UserStatus;
use hongbao_core::{
    AccountId, ClaimId, Fact, Fen, FreezeId, GroupId, KeyId, Limits, PacketId, Timestamp, TransferId, UserId,
};
use hongbao_engine::{Clock, EngineConfig, EngineError, Idempotency, JobOutcome, ManualClock};
use hongbao_store::mem::{CommitFault, FaultCounts, MemStore};
use hongbao_store::{Dump, Store};
use rand::rngs::ChaCha8Rng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, RngExt, SeedableRng};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::crash::Node;
use crate::support::{START, audit_config};

/// Acknowledged operations in the default run (`cargo test`).
const DEFAULT_OPS: u64 = 100_000;
/// Acknowledged operations per episode by default; each episode starts from an empty store.
const EPISODE_OPS: u64 = 2_000;
/// Acknowledged operations between two full checks.
const CHECK_EVERY_OPS: u64 = 250;
/// Base seeds of the default run; episodes are spread over them.
const DEFAULT_SEEDS: [u64; 2] = [0xfa17_5eed, 0x2026_0707];
/// Users per episode at most: enough for crowded groups and packets, few enough to meet again.
const USERS_MAX: usize = 24;
/// Operator principals (they create users, deposit, lock and freeze).
const OPERATORS: usize = 2;
/// New operations a round starts at most.
const NEW_PER_ROUND_MAX: usize = 24;
/// Retry rounds a quiescence may take before it counts as stuck.
const QUIESCE_ROUNDS_MAX: u32 = 1_000;
/// How far back the clients look for packets, claims and transfers to act on.
const RECENT: usize = 48;
/// Receipts within its window that fire the anomaly rule here (the default, 30, would fire
/// rarely among a few dozen users).
const ANOMALY_RECEIPTS_MIN: u32 = 4;
/// The regions a login signal names (a blank one now and then, which is refused).
const REGIONS: [&str; 4] = ["CN-GD", "CN-BJ", "HK", "广东"];

/// The defaults, with an anomaly rule that fires among a few dozen users.
fn sim_limits() -> Limits {
    let mut limits = Limits::default();
    limits.risk.anomaly_receipts_new_region.receipts_min = ANOMALY_RECEIPTS_MIN;
    limits
}

type Answer = Result<Reply, EngineError>;

/// A splitmix64 step: spreads (base seed, episode) over the seed space.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn episode_seed(base: u64, episode: u64) -> u64 {
    mix(base ^ mix(episode))
}

fn env_u64(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let text = text.trim();
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={text:?} is not a number")))
}

/// Every kind of command the clients send; each must both succeed and be refused in a run.
const KINDS: [&str; 22] = [
    "create_user",
    "create_operator",
    "create_group",
    "deposit",
    "withdraw",
    "send_normal",
    "send_lucky",
    "send_exclusive",
    "open_packet",
    "claim_packet",
    "recall_packet",
    "revoke_claim",
    "return_claim",
    "transfer",
    "revoke_transfer",
    "lock_user",
    "unlock_user",
    "place_freeze",
    "release_freeze",
    "file_report",
    "close_case",
    "record_signal",
];

/// Whether an answer settles the request (`Ok`) or leaves it unanswered (`Err(why)`), to be
/// sent again. Anything else is a failure of the engine.
fn settled(answer: &Answer) -> Result<(), &'static str> {
    match answer {
        Ok(_)
        | Err(EngineError::Refused(_) | EngineError::IdempotencyKeyReused | EngineError::SecretShownOnce { .. }) => {
            Ok(())
        }
        Err(EngineError::Unavailable(_)) => Err("unavailable"),
        Err(EngineError::Stopped) => Err("stopped"),
        Err(EngineError::Overloaded) => Err("overloaded"),
        Err(other @ (EngineError::Config(_) | EngineError::Audit(_) | EngineError::Internal(_))) => {
            panic!("a command was answered {other:?}, which no command may be")
        }
    }
}

/// An answer as a repeat of its request gives it: the same, except that a key created is
/// answered without its secret, which is shown once (`SecretShownOnce`).
fn as_repeated(answer: &Answer) -> Answer {
    match answer {
        Ok(Reply::User(created)) => {
            Err(EngineError::SecretShownOnce { key_id: created.key_id, user_id: Some(created.user_id) })
        }
        Ok(Reply::Operator(created)) => Err(EngineError::SecretShownOnce { key_id: created.key_id, user_id: None }),
        other => other.clone(),
    }
}

/// What happened in a run, summed over episodes.
#[derive(Clone, Debug, Default)]
struct Stats {
    episodes: u64,
    /// Client operations acknowledged, each under its own idempotency key.
    ops: u64,
    /// Every request the engine was sent: first tries, retries, duplicates, re-asks, key-reuse
    /// probes, job runs, checkpoints.
    requests: u64,
    retries: u64,
    duplicates: u64,
    reasks: u64,
    reuse_probes: u64,
    job_runs: u64,
    expired: u64,
    settled: u64,
    checkpoints: u64,
    /// Requests left without an answer, by why.
    unanswered: BTreeMap<&'static str, u64>,
    /// Faults the store injected.
    faults: FaultCounts,
    /// Engine restarts, by kind.
    restarts: BTreeMap<&'static str, u64>,
    full_checks: u64,
    clock_moves: u64,
    rounds: u64,
    /// Acknowledged operations by kind: (succeeded, refused).
    by_kind: BTreeMap<&'static str, (u64, u64)>,
    /// Anomaly cases the rule opened (at an episode's last full check).
    anomaly_cases: u64,
}

impl Stats {
    fn add(&mut self, other: &Stats) {
        self.episodes += other.episodes;
        self.ops += other.ops;
        self.requests += other.requests;
        self.retries += other.retries;
        self.duplicates += other.duplicates;
        self.reasks += other.reasks;
        self.reuse_probes += other.reuse_probes;
        self.job_runs += other.job_runs;
        self.expired += other.expired;
        self.settled += other.settled;
        self.checkpoints += other.checkpoints;
        for (why, n) in &other.unanswered {
            *self.unanswered.entry(why).or_default() += n;
        }
        let (f, o) = (&mut self.faults, &other.faults);
        f.applied += o.applied;
        f.failed_before_apply += o.failed_before_apply;
        f.failed_after_apply += o.failed_after_apply;
        f.hung_before_apply += o.hung_before_apply;
        f.hung_after_apply += o.hung_after_apply;
        f.failed_writes += o.failed_writes;
        f.failed_reads += o.failed_reads;
        for (kind, n) in &other.restarts {
            *self.restarts.entry(kind).or_default() += n;
        }
        self.full_checks += other.full_checks;
        self.clock_moves += other.clock_moves;
        self.rounds += other.rounds;
        self.anomaly_cases += other.anomaly_cases;
        for (kind, (ok, refused)) in &other.by_kind {
            let mine = self.by_kind.entry(kind).or_default();
            mine.0 += ok;
            mine.1 += refused;
        }
    }

    fn summary(&self) -> String {
        let f = &self.faults;
        let mut text = format!(
            "{} ops acknowledged in {} episodes ({} rounds, {} requests: {} retries, {} duplicates, {} re-asks, \
             {} key-reuse probes, {} job runs expiring {} packets and settling {} pendings, {} checkpoints); \
             faults injected: {} commits failed before applying, {} applied but answered as failed, {} hung before \
             applying, {} hung after applying, {} writes refused, {} reads failed ({} in all; {} commits applied); \
             restarts: {:?}; unanswered: {:?}; {} full checks; {} clock moves; {} anomaly cases",
            self.ops,
            self.episodes,
            self.rounds,
            self.requests,
            self.retries,
            self.duplicates,
            self.reasks,
            self.reuse_probes,
            self.job_runs,
            self.expired,
            self.settled,
            self.checkpoints,
            f.failed_before_apply,
            f.failed_after_apply,
            f.hung_before_apply,
            f.hung_after_apply,
            f.failed_writes,
            f.failed_reads,
            f.total(),
            f.applied,
            self.restarts,
            self.unanswered,
            self.full_checks,
            self.clock_moves,
            self.anomaly_cases,
        );
        let tallies: Vec<String> =
            self.by_kind.iter().map(|(kind, (ok, refused))| format!("{kind} {ok}/{refused}")).collect();
        let _ = write!(text, "; ok/refused: {}", tallies.join(", "));
        text
    }
}

// ----- the model: what the acknowledged answers alone say --------------------------------------

#[derive(Clone, Debug)]
struct PacketModel {
    sender: UserId,
    total: i64,
    count: usize,
    expires_at: Timestamp,
    delayed: bool,
    lucky: bool,
    group: Option<GroupId>,
    recipient: Option<UserId>,
    claims: Vec<ClaimId>,
    claimed_by: BTreeSet<UserId>,
    recalled: Option<i64>,
    touched: bool,
}

impl PacketModel {
    fn claimed(&self, model: &Model) -> i64 {
        self.claims.iter().map(|c| model.claims[c].amount).sum()
    }

    /// The status once every job due at `now` has run.
    fn status(&self, now: Timestamp) -> PacketStatus {
        if self.recalled.is_some() {
            PacketStatus::Recalled
        } else if self.claims.len() == self.count {
            PacketStatus::Exhausted
        } else if self.expires_at <= now {
            PacketStatus::Expired
        } else {
            PacketStatus::Active
        }
    }
}

#[derive(Clone, Debug)]
struct ClaimModel {
    packet: PacketId,
    user: UserId,
    amount: i64,
    arrives_at: Timestamp,
    delayed: bool,
    revoked: bool,
    returned: bool,
}

impl ClaimModel {
    fn status(&self, now: Timestamp) -> ClaimStatus {
        if self.revoked {
            ClaimStatus::Revoked
        } else if self.returned {
            ClaimStatus::Returned
        } else if self.delayed && now < self.arrives_at {
            ClaimStatus::Pending
        } else {
            ClaimStatus::Arrived
        }
    }
}

#[derive(Clone, Debug)]
struct TransferModel {
    from: UserId,
    to: UserId,
    amount: i64,
    arrives_at: Timestamp,
    delayed: bool,
    revoked: bool,
}

/// A pending amount's fate once every job due at `now` has run.
fn pending_fate(delayed: bool, revoked: bool, arrives_at: Timestamp, now: Timestamp) -> Option<PendingStatus> {
    match (delayed, revoked) {
        (false, _) => None,
        (true, true) => Some(PendingStatus::Voided),
        (true, false) if arrives_at <= now => Some(PendingStatus::Posted),
        (true, false) => Some(PendingStatus::Pending),
    }
}

/// An account's five totals: debits and credits posted, debits and credits pending, frozen.
type Totals = [i64; 5];
const DEBITS_POSTED: usize = 0;
const CREDITS_POSTED: usize = 1;
const DEBITS_PENDING: usize = 2;
const CREDITS_PENDING: usize = 3;
const FROZEN: usize = 4;

/// Everything the acknowledged answers say, and nothing else.
#[derive(Debug, Default)]
struct Model {
    users: Vec<UserId>,
    keys: BTreeSet<KeyId>,
    locked: BTreeSet<UserId>,
    groups: BTreeMap<GroupId, Vec<UserId>>,
    groups_of: BTreeMap<UserId, Vec<GroupId>>,
    packet_order: Vec<PacketId>,
    packets: BTreeMap<PacketId, PacketModel>,
    sent: BTreeMap<UserId, Vec<PacketId>>,
    claims: BTreeMap<ClaimId, ClaimModel>,
    claims_by: BTreeMap<UserId, Vec<ClaimId>>,
    claims_on: BTreeMap<UserId, Vec<ClaimId>>,
    transfers: BTreeMap<TransferId, TransferModel>,
    transfers_from: BTreeMap<UserId, Vec<TransferId>>,
    deposits: BTreeMap<TransferId, (UserId, i64)>,
    withdrawals: BTreeMap<TransferId, (UserId, i64)>,
    /// Every freeze an answer placed. What each holds grows as money arrives (top-ups no answer
    /// reports), so the wallets' frozen totals are reconciled with the stored freezes instead.
    freezes: Vec<FreezeId>,
    /// Every case a report's or a signal's answer opened or joined, and every anomaly case a
    /// full check found stored: the freezes their rules placed are explained by them.
    cases: BTreeSet<hongbao_core::CaseId>,
    /// The subjects of the stored anomaly cases at the last full check: the rule locked them
    /// (and held their wallets) in the entry of some claim, transfer or login.
    ruled: BTreeSet<UserId>,
    /// The freezes those anomaly cases list, which operators may release too.
    ruled_freezes: BTreeSet<FreezeId>,
    /// The regions of each user's acknowledged login signals.
    logins: BTreeMap<UserId, BTreeSet<String>>,
    /// A rough guess of each wallet's available money, only to choose plausible amounts.
    estimate: BTreeMap<UserId, i64>,
}

/// The stored anomaly cases: the rule opened each in the entry that fired it.
fn anomaly_cases(dump: &Dump) -> impl Iterator<Item = &Case> {
    dump.facts.iter().filter_map(|fact| match fact {
        Fact::Case(_, Some(case)) if case.kind == CaseKind::Anomaly => Some(case),
        _ => None,
    })
}

fn recent<T>(items: &[T]) -> &[T] {
    &items[items.len().saturating_sub(RECENT)..]
}

fn fen(amount: Fen) -> i64 {
    amount.get()
}

impl Model {
    fn guess(&mut self, user: UserId, by: i64) {
        *self.estimate.entry(user).or_default() += by;
    }

    fn sender_of(&self, claim: &ClaimModel) -> UserId {
        self.packets[&claim.packet].sender
    }

    fn visible(&self, user: UserId, packet: &PacketModel) -> bool {
        packet.sender == user
            || packet.recipient == Some(user)
            || packet.group.is_some_and(|g| self.groups.get(&g).is_some_and(|m| m.contains(&user)))
    }

    /// Takes in the first acknowledged answer to `command`, sent by `principal`; returns the
    /// user a `CreateUser` created, who becomes a client.
    fn learn(&mut self, command: &Command, answer: &Answer) -> Option<(UserId, KeyId)> {
        // The first answer was lost (a crash after the commit): the repeat names the key.
        match (command, answer) {
            (Command::CreateUser { .. }, Err(EngineError::SecretShownOnce { key_id, user_id: Some(user) })) => {
                self.users.push(*user);
                self.keys.insert(*key_id);
                return Some((*user, *key_id));
            }
            (Command::CreateOperator { .. }, Err(EngineError::SecretShownOnce { key_id, .. })) => {
                self.keys.insert(*key_id);
                return None;
            }
            _ => {}
        }
        let Ok(reply) = answer else { return None };
        match (command, reply) {
            (Command::CreateUser { .. }, Reply::User(created)) => {
                self.users.push(created.user_id);
                self.keys.insert(created.key_id);
                return Some((created.user_id, created.key_id));
            }
            (Command::CreateOperator { .. }, Reply::Operator(created)) => {
                self.keys.insert(created.key_id);
            }
            (Command::CreateGroup { .. }, Reply::Group(view)) => {
                for &member in &view.members {
                    self.groups_of.entry(member).or_default().push(view.group_id);
                }
                self.groups.insert(view.group_id, view.members.clone());
            }
            (Command::Deposit { user, amount }, Reply::Moved(moved)) => {
                self.deposits.insert(moved.transfer_id, (*user, fen(*amount)));
                self.guess(*user, fen(*amount));
            }
            (Command::Withdraw { actor, amount }, Reply::Moved(moved)) => {
                self.withdrawals.insert(moved.transfer_id, (*actor, fen(*amount)));
                self.guess(*actor, -fen(*amount));
            }
            (Command::SendPacket { actor, spec, arrival_delay_s, .. }, Reply::Packet(view)) => {
                let asked = match *spec {
                    PacketSpec::Normal { count, amount_each, .. } => fen(amount_each) * i64::from(count),
                    PacketSpec::Lucky { total, .. } | PacketSpec::Exclusive { amount: total, .. } => fen(total),
                };
                assert_eq!((view.sender, fen(view.total)), (*actor, asked), "{command:?} answered {view:?}");
                assert_eq!(view.arrival_delay_seconds, *arrival_delay_s);
                let packet = PacketModel {
                    sender: *actor,
                    total: fen(view.total),
                    count: view.count as usize,
                    expires_at: view.expires_at,
                    delayed: view.arrival_delay_seconds > 0,
                    lucky: view.kind == PacketKind::Lucky,
                    group: view.group_id,
                    recipient: view.recipient,
                    claims: Vec::new(),
                    claimed_by: BTreeSet::new(),
                    recalled: None,
                    touched: false,
                };
                assert!(self.packets.insert(view.packet_id, packet).is_none(), "packet {} twice", view.packet_id);
                self.packet_order.push(view.packet_id);
                self.sent.entry(*actor).or_default().push(view.packet_id);
                self.guess(*actor, -fen(view.total));
            }
            (Command::OpenPacket { actor, packet }, Reply::Packet(_)) => {
                let known = self.packets.get_mut(packet).expect("a packet some acknowledged send made");
                known.touched |= known.sender != *actor;
            }
            (Command::ClaimPacket { actor, packet }, Reply::Claimed(receipt)) => {
                let known = self.packets.get_mut(packet).expect("a packet some acknowledged send made");
                assert_eq!(receipt.packet_id, *packet);
                assert!(known.claims.len() < known.count, "more claims acknowledged than {packet} has shares");
                assert!(known.claimed_by.insert(*actor), "{actor} claimed {packet} twice");
                assert_eq!(receipt.status == ClaimStatus::Pending, known.delayed, "{receipt:?} of {known:?}");
                known.claims.push(receipt.claim_id);
                known.touched |= known.sender != *actor;
                let claim = ClaimModel {
                    packet: *packet,
                    user: *actor,
                    amount: fen(receipt.amount),
                    arrives_at: receipt.arrives_at,
                    delayed: known.delayed,
                    revoked: false,
                    returned: false,
                };
                let sender = known.sender;
                self.claims_by.entry(*actor).or_default().push(receipt.claim_id);
                self.claims_on.entry(sender).or_default().push(receipt.claim_id);
                if !claim.delayed {
                    self.guess(*actor, claim.amount);
                }
                assert!(self.claims.insert(receipt.claim_id, claim).is_none());
                let packet = &self.packets[packet];
                assert!(packet.claimed(self) <= packet.total, "claims of {receipt:?} exceed the packet's total");
            }
            (Command::RecallPacket { packet, .. }, Reply::Recalled(recalled)) => {
                let known = &self.packets[packet];
                assert_eq!(fen(recalled.refunded), known.total - known.claimed(self), "{recalled:?} of {known:?}");
                let sender = known.sender;
                if let Some(known) = self.packets.get_mut(packet) {
                    known.recalled = Some(fen(recalled.refunded));
                }
                self.guess(sender, fen(recalled.refunded));
            }
            (Command::RevokeClaim { claim, .. }, Reply::Claim(detail)) => {
                let known = self.claims.get_mut(claim).expect("a claim some acknowledged answer made");
                assert_eq!((detail.amount.get(), detail.status), (known.amount, ClaimStatus::Revoked));
                known.revoked = true;
                let (amount, sender) = (known.amount, self.sender_of(&self.claims[claim]));
                self.guess(sender, amount);
            }
            (Command::ReturnClaim { claim, .. }, Reply::Claim(detail)) => {
                let known = self.claims.get_mut(claim).expect("a claim some acknowledged answer made");
                assert_eq!((detail.amount.get(), detail.status), (known.amount, ClaimStatus::Returned));
                known.returned = true;
                let (amount, user) = (known.amount, known.user);
                let sender = self.sender_of(&self.claims[claim]);
                self.guess(user, -amount);
                self.guess(sender, amount);
            }
            (Command::Transfer { actor, to, amount, arrival_delay_s, .. }, Reply::Transfer(receipt)) => {
                let delayed = *arrival_delay_s > 0;
                let expected = if delayed { TransferStatus::Pending } else { TransferStatus::Arrived };
                assert_eq!(receipt.status, expected, "{command:?} answered {receipt:?}");
                let transfer = TransferModel {
                    from: *actor,
                    to: *to,
                    amount: fen(*amount),
                    arrives_at: receipt.arrives_at,
                    delayed,
                    revoked: false,
                };
                assert!(self.transfers.insert(receipt.transfer_id, transfer).is_none());
                self.transfers_from.entry(*actor).or_default().push(receipt.transfer_id);
                self.guess(*actor, -fen(*amount));
                if !delayed {
                    self.guess(*to, fen(*amount));
                }
            }
            (Command::RevokeTransfer { transfer, .. }, Reply::Transfer(receipt)) => {
                assert_eq!(receipt.status, TransferStatus::Revoked);
                let known = self.transfers.get_mut(transfer).expect("a transfer some acknowledged answer made");
                assert!(known.delayed && !known.revoked, "{known:?} revoked");
                known.revoked = true;
                let (from, amount) = (known.from, known.amount);
                self.guess(from, amount);
            }
            (Command::LockUser { user, .. }, Reply::Me(me)) => {
                assert_eq!(me.status, UserStatus::Locked);
                self.locked.insert(*user);
            }
            (Command::UnlockUser { user, .. }, Reply::Me(me)) => {
                assert_eq!(me.status, UserStatus::Active);
                self.locked.remove(user);
            }
            (Command::PlaceFreeze { spec, .. }, Reply::Freeze(view)) => {
                assert_eq!((view.user_id, view.kind), (spec.user, spec.kind));
                if !self.freezes.contains(&view.freeze_id) {
                    self.freezes.push(view.freeze_id);
                }
                self.guess(spec.user, -fen(view.held));
            }
            (Command::ReleaseFreeze { freeze, .. }, Reply::Freeze(view)) => {
                assert_eq!(view.freeze_id, *freeze);
                let known = self.freezes.contains(freeze) || self.ruled_freezes.contains(freeze);
                assert!(known, "released a freeze neither an answer nor a stored rule's case placed");
            }
            (Command::CloseCase { case, outcome, .. }, Reply::Case(closed)) => {
                assert_eq!((closed.id, closed.outcome, closed.is_open()), (*case, Some(*outcome), false));
                assert!(self.cases.contains(case), "closed a case neither an answer nor a full check named");
            }
            (Command::RecordSignal { user, signal: Signal::Login { region, .. } }, Reply::Signal(accepted)) => {
                assert_eq!(accepted.user_id, *user);
                assert!(accepted.case_id.is_none() || accepted.new_region, "only a new region fires the rule");
                self.logins.entry(*user).or_default().insert(region.clone());
                self.cases.extend(accepted.case_id);
            }
            (Command::FileReport { actor, subject, payments, .. }, Reply::Report(report)) => {
                assert_eq!((report.reporter, report.subject, report.status.as_str()), (*actor, *subject, "open"));
                let cited = payments.iter().map(|p| match p {
                    hongbao_core::case::Payment::Transfer(id) => self.transfers.get(id).map_or(0, |t| t.amount),
                    hongbao_core::case::Payment::Claim(_) => 0,
                });
                assert_eq!(report.amount.get(), cited.sum::<i64>(), "a report sums what it cites");
                self.cases.extend(report.case_id);
            }
            _ => panic!("{command:?} was answered {reply:?}"),
        }
        None
    }

    /// Takes in what the anomaly rule did, from the stored cases a full check found (and `hongbao
    /// check` verified): who it locked, what it holds, which cases an operator may close.
    fn learn_rules(&mut self, dump: &Dump) {
        for case in anomaly_cases(dump) {
            self.cases.insert(case.id);
            self.ruled.insert(case.subject);
            self.ruled_freezes.extend(case.freezes());
        }
    }

    /// Every account's totals once every job due at `now` has run, from the answers alone.
    fn totals(&self, now: Timestamp) -> BTreeMap<AccountId, Totals> {
        let mut totals: BTreeMap<AccountId, Totals> = BTreeMap::new();
        totals.insert(AccountId::EXTERNAL, [0; 5]);
        for &user in &self.users {
            totals.insert(AccountId::wallet(user), [0; 5]);
        }
        for &packet in self.packets.keys() {
            totals.insert(AccountId::escrow(packet), [0; 5]);
        }
        let mut add = |account: AccountId, column: usize, amount: i64| {
            totals.get_mut(&account).unwrap_or_else(|| panic!("no account {account} in the model"))[column] += amount;
        };
        let mut post = |from: AccountId, to: AccountId, amount: i64| {
            add(from, DEBITS_POSTED, amount);
            add(to, CREDITS_POSTED, amount);
        };
        let external = AccountId::EXTERNAL;
        for &(user, amount) in self.deposits.values() {
            post(external, AccountId::wallet(user), amount);
        }
        for &(user, amount) in self.withdrawals.values() {
            post(AccountId::wallet(user), external, amount);
        }
        for (&id, packet) in &self.packets {
            let (wallet, escrow) = (AccountId::wallet(packet.sender), AccountId::escrow(id));
            post(wallet, escrow, packet.total);
            if let Some(refunded) = packet.recalled {
                post(escrow, wallet, refunded);
            } else if packet.status(now) == PacketStatus::Expired {
                let refund = packet.total - packet.claimed(self);
                if refund > 0 {
                    post(escrow, wallet, refund);
                }
            }
        }
        let mut pending = Vec::new();
        for claim in self.claims.values() {
            let (escrow, wallet) = (AccountId::escrow(claim.packet), AccountId::wallet(claim.user));
            let sender = AccountId::wallet(self.sender_of(claim));
            match pending_fate(claim.delayed, claim.revoked, claim.arrives_at, now) {
                None | Some(PendingStatus::Posted) => post(escrow, wallet, claim.amount),
                // Voided, and the share goes back to the sender.
                Some(PendingStatus::Voided) => post(escrow, sender, claim.amount),
                Some(PendingStatus::Pending) => pending.push((escrow, wallet, claim.amount)),
            }
            if claim.returned {
                post(wallet, sender, claim.amount);
            }
        }
        for transfer in self.transfers.values() {
            let (from, to) = (AccountId::wallet(transfer.from), AccountId::wallet(transfer.to));
            match pending_fate(transfer.delayed, transfer.revoked, transfer.arrives_at, now) {
                None | Some(PendingStatus::Posted) => post(from, to, transfer.amount),
                Some(PendingStatus::Voided) => {}
                Some(PendingStatus::Pending) => pending.push((from, to, transfer.amount)),
            }
        }
        for (from, to, amount) in pending {
            add(from, DEBITS_PENDING, amount);
            add(to, CREDITS_PENDING, amount);
        }
        totals
    }

    /// Checks that the store holds exactly what the answers say, once every job due at `now`
    /// has run: every account's totals, every entity and its status, every transfer.
    fn reconcile(&self, dump: &Dump, now: Timestamp) {
        let mut totals = self.totals(now);
        // Frozen money is what the stored active freezes hold, each placed by an answer (or by
        // the rule, for a case a report's answer named).
        let by_rules: BTreeSet<FreezeId> = dump
            .facts
            .iter()
            .filter_map(|f| match f {
                Fact::Case(id, Some(case)) if self.cases.contains(id) || case.kind == CaseKind::Anomaly => {
                    Some(case.freezes().collect::<Vec<_>>())
                }
                _ => None,
            })
            .flatten()
            .collect();
        let ruled: BTreeSet<UserId> = anomaly_cases(dump).map(|case| case.subject).collect();
        // Until a region could be forgotten, every acknowledged login's region is kept.
        let forgetting = now.millis() - START.millis()
            >= i64::from(sim_limits().risk.anomaly_receipts_new_region.region_unseen_s) * 1_000;
        for fact in &dump.facts {
            if let Fact::Freeze(id, Some(freeze)) = fact {
                let explained = self.freezes.contains(id) || (freeze.created_by.is_none() && by_rules.contains(id));
                assert!(explained, "freeze {id} is explained by no answer");
                if freeze.is_active() {
                    totals.entry(AccountId::wallet(freeze.user_id)).or_default()[FROZEN] += fen(freeze.held);
                }
            }
        }
        let mut users = BTreeSet::new();
        let mut keys = BTreeSet::new();
        let mut groups = BTreeSet::new();
        let mut packets = BTreeSet::new();
        let mut claims = BTreeSet::new();
        let mut originals: BTreeMap<&str, Vec<TransferId>> = BTreeMap::new();
        for fact in &dump.facts {
            match fact {
                Fact::Account(id, Some(account)) => {
                    let expected =
                        totals.remove(id).unwrap_or_else(|| panic!("account {id} is explained by no answer"));
                    let b = account.balances();
                    let stored = [b.debits_posted, b.credits_posted, b.debits_pending, b.credits_pending, b.frozen];
                    assert_eq!(
                        stored.map(Fen::get),
                        expected,
                        "the totals of account {id} (debits and credits posted, \
                        debits and credits pending, frozen) differ from what the acknowledged answers say"
                    );
                }
                Fact::User(id, Some(user)) => {
                    users.insert(*id);
                    // An operator's lock stands until an operator's unlock; the anomaly rule
                    // locks the subjects of its cases too, in entries no answer describes.
                    let stored = user.status == UserStatus::Locked;
                    let locked = self.locked.contains(id);
                    assert!(stored || !locked, "user {id} is not locked, though an acknowledged lock says so");
                    assert!(!stored || locked || ruled.contains(id), "user {id} is locked by no answer and no case");
                    let regions: BTreeSet<String> = user.logins.regions.iter().map(|r| r.region.clone()).collect();
                    let acked = self.logins.get(id).cloned().unwrap_or_default();
                    assert!(regions.is_subset(&acked), "user {id} has logins no answer accepted: {regions:?}");
                    assert!(forgetting || regions == acked, "user {id} lost acknowledged logins: {regions:?}");
                }
                Fact::Principal(id, Some(_)) => {
                    keys.insert(*id);
                }
                Fact::Group(id, Some(group)) => {
                    groups.insert(*id);
                    assert_eq!(Some(&group.members), self.groups.get(id), "the members of group {id}");
                }
                Fact::Packet(id, Some(packet)) => {
                    packets.insert(*id);
                    let known = self.packets.get(id).unwrap_or_else(|| panic!("packet {id} is explained by no answer"));
                    assert_eq!(packet.status, known.status(now), "the status of packet {id}: {known:?}");
                    assert_eq!(packet.claimed_count as usize, known.claims.len(), "the claims of packet {id}");
                }
                Fact::Claim(id, Some(claim)) => {
                    claims.insert(*id);
                    let known = self.claims.get(id).unwrap_or_else(|| panic!("claim {id} is explained by no answer"));
                    assert_eq!((claim.amount.get(), claim.user_id), (known.amount, known.user), "claim {id}");
                    assert_eq!(claim.status, known.status(now), "the status of claim {id}: {known:?}");
                }
                Fact::Pending(id, Some(pending)) => {
                    let t = &pending.transfer;
                    let fate = match (t.kind, t.claim_id) {
                        (TransferKind::Transfer, _) => {
                            let known = self.transfers.get(id).unwrap_or_else(|| panic!("pending {id} unexplained"));
                            pending_fate(known.delayed, known.revoked, known.arrives_at, now)
                        }
                        (TransferKind::PacketClaim, Some(claim)) => {
                            let known = self.claims.get(&claim).unwrap_or_else(|| panic!("pending {id} unexplained"));
                            pending_fate(known.delayed, known.revoked, known.arrives_at, now)
                        }
                        _ => panic!("an unexpected pending transfer: {pending:?}"),
                    };
                    assert_eq!(Some(pending.status), fate, "the fate of pending transfer {id}");
                }
                Fact::Transfer(id, Some(transfer)) if transfer.phase.is_original() => {
                    originals.entry(transfer.kind.as_str()).or_default().push(*id);
                }
                _ => {}
            }
        }
        assert!(totals.is_empty(), "accounts the answers made are not stored: {:?}", totals.keys());
        let model_users: BTreeSet<UserId> = self.users.iter().copied().collect();
        assert_eq!(users, model_users, "the stored users are the acknowledged ones");
        assert_eq!(keys, self.keys, "the stored keys are the acknowledged ones");
        assert_eq!(groups, self.groups.keys().copied().collect(), "the stored groups are the acknowledged ones");
        assert_eq!(packets, self.packets.keys().copied().collect(), "the stored packets are the acknowledged ones");
        assert_eq!(claims, self.claims.keys().copied().collect(), "the stored claims are the acknowledged ones");
        let ids = |kind: TransferKind| {
            originals.get(kind.as_str()).cloned().unwrap_or_default().into_iter().collect::<BTreeSet<_>>()
        };
        let count = |kind: TransferKind| originals.get(kind.as_str()).map_or(0, Vec::len);
        assert_eq!(ids(TransferKind::Deposit), self.deposits.keys().copied().collect(), "deposits");
        assert_eq!(ids(TransferKind::Withdrawal), self.withdrawals.keys().copied().collect(), "withdrawals");
        assert_eq!(ids(TransferKind::Transfer), self.transfers.keys().copied().collect(), "user transfers");
        let refunded = self
            .packets
            .values()
            .filter(|p| p.recalled.is_none() && p.status(now) == PacketStatus::Expired && p.total > p.claimed(self))
            .count();
        let expected = [
            (TransferKind::PacketSend, self.packets.len()),
            (TransferKind::PacketClaim, self.claims.len()),
            (TransferKind::PacketRecall, self.packets.values().filter(|p| p.recalled.is_some()).count()),
            (TransferKind::PacketRefund, refunded),
            (TransferKind::ClaimRevoke, self.claims.values().filter(|c| c.revoked).count()),
            (TransferKind::ClaimReturn, self.claims.values().filter(|c| c.returned).count()),
        ];
        for (kind, n) in expected {
            assert_eq!(count(kind), n, "{} transfers stored, against the answers' {n}", kind.as_str());
        }
    }
}

// ----- clients, requests and rounds -------------------------------------------------------------

#[derive(Debug)]
struct Unanswered {
    key: String,
    command: Command,
    attempts: u32,
}

#[derive(Debug)]
struct Client {
    principal: String,
    user: Option<UserId>,
    keys_used: u64,
    outstanding: Option<Unanswered>,
}

#[derive(Debug)]
struct Acked {
    client: usize,
    key: String,
    command: Command,
    answer: Answer,
    /// The stored record's text, once a full check has read it and found it says `answer`:
    /// later checks compare the text, which is cheaper than reading it again.
    record: Option<String>,
}

#[derive(Clone, Debug)]
enum Request {
    /// The client's outstanding operation (a first try or a retry).
    Op {
        client: usize,
    },
    /// An acknowledged request, asked again.
    ReAsk {
        acked: usize,
    },
    /// An acknowledged request's key, with another command.
    Reuse {
        acked: usize,
        probe: Command,
    },
    Jobs,
    Checkpoint,
    Shutdown,
}

enum Call {
    Execute(Command, Idempotency),
    Jobs(Timestamp),
    Checkpoint,
    Shutdown,
}

#[derive(Debug)]
enum Got {
    Answer(Answer),
    Jobs(Result<JobOutcome, EngineError>),
    Checkpoint(Result<u64, EngineError>),
    Shutdown,
}

/// How a round ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// Every request was answered.
    Answered,
    /// A commit hung: the node is killed there.
    Hung,
    /// The node is killed after this many answers, with commands still queued.
    Killed,
}

/// The answers of one round, as its tasks deliver them.
struct Slots {
    got: Mutex<Vec<Option<Got>>>,
    done: AtomicUsize,
    changed: Notify,
}

/// One episode: a store, the node running on it, the clients and what they were told.
/// The risk officer the episode's locks name (the engine records, the server authorises).
fn officer() -> hongbao_core::KeyId {
    hongbao_core::KeyId::from_uuid(hongbao_core::id::Uuid::from_u128(0x0ff1ce))
}

struct Episode {
    dice: ChaCha8Rng,
    store: MemStore,
    clock: Arc<ManualClock>,
    node: Option<Node>,
    clients: Vec<Client>,
    model: Model,
    acked: Vec<Acked>,
    stats: Stats,
    /// A digest of every answer and every check, to compare two runs of one seed.
    trace: Sha256,
    since_check: u64,
    /// Multiplies the chance of every fault (the replay test wants many in a short run).
    fault_scale: u32,
    /// The requests of the round being run, for the failure report.
    last: Vec<String>,
}

impl Episode {
    fn new(base: u64, index: u64) -> Episode {
        let seed = episode_seed(base, index);
        let store = MemStore::new();
        let clock = Arc::new(ManualClock::new(START));
        let clients = (0..OPERATORS)
            .map(|i| Client { principal: format!("operator-{i}"), user: None, keys_used: 0, outstanding: None })
            .collect();
        let mut episode = Episode {
            dice: ChaCha8Rng::seed_from_u64(seed),
            store,
            clock,
            node: None,
            clients,
            model: Model::default(),
            acked: Vec::new(),
            stats: Stats { episodes: 1, ..Stats::default() },
            trace: Sha256::new(),
            since_check: 0,
            fault_scale: 1,
            last: Vec::new(),
        };
        episode.start_node();
        episode
    }

    fn chance(&mut self, p: f64) -> bool {
        self.dice.random_bool(p.min(1.0))
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        items.choose(&mut self.dice).copied()
    }

    /// Mostly an item for which `wanted` holds, sometimes any: the interesting cases are
    /// common, and the refusals still happen.
    fn pick_where<T: Copy>(&mut self, items: &[T], wanted: impl Fn(&Model, T) -> bool) -> Option<T> {
        if self.chance(0.8) {
            let fitting: Vec<T> = items.iter().copied().filter(|item| wanted(&self.model, *item)).collect();
            if let Some(item) = self.pick(&fitting) {
                return Some(item);
            }
        }
        self.pick(items)
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// A new engine on the store, with a configuration drawn at random: batches of one command
    /// or many, a queue small enough to overflow or not, job runs that do a little or a lot,
    /// batches decided while the one before commits (pipelined) or each in turn.
    fn start_node(&mut self) {
        let mut seed = [0u8; 32];
        self.dice.fill_bytes(&mut seed);
        let config = EngineConfig {
            batch_max: self.pick(&[1, 3, 16, 1_024]).expect("not empty"),
            queue_capacity: self.pick(&[8, 64, 10_000]).expect("not empty"),
            job_batch_max: self.pick(&[2, 1_000]).expect("not empty"),
            pipeline: self.chance(0.75),
            ..EngineConfig::default()
        };
        // Most nodes run on a store that yields at every call, so a crash can land in the middle
        // of a batch; the others see whole batches run at once.
        let yielding = self.chance(0.75);
        self.store.faults().set_yielding(yielding);
        self.node = Some(Node::start_with(&self.store, &self.clock, sim_limits(), config, seed));
    }

    fn node(&self) -> &Node {
        self.node.as_ref().expect("a node is running")
    }

    fn restart(&mut self, kind: &'static str, crash: bool) {
        let node = self.node.take().expect("a node is running");
        if crash {
            node.crash()
        } else {
            node.shutdown()
        }
        *self.stats.restarts.entry(kind).or_default() += 1;
        self.trace.update(kind.as_bytes());
        self.start_node();
    }

    // ----- choosing what to do ------------------------------------------------------------

    fn any_user(&mut self) -> Option<UserId> {
        let users = self.model.users.clone();
        self.pick(&users)
    }

    fn other_user(&mut self, user: UserId) -> Option<UserId> {
        let others: Vec<UserId> = self.model.users.iter().copied().filter(|u| *u != user).collect();
        self.pick(&others)
    }

    fn unknown<T>(&mut self, make: fn(hongbao_core::id::Uuid) -> T) -> T {
        make(hongbao_core::id::mint_uuid(self.now(), &mut self.dice))
    }

    /// An amount to spend from `user`'s wallet: mostly affordable, sometimes not.
    fn amount_for(&mut self, user: UserId) -> Fen {
        let guess = self.model.estimate.get(&user).copied().unwrap_or(0);
        if guess > 0 && self.chance(0.85) {
            Fen::new(self.dice.random_range(1..=guess.min(50_000)))
        } else {
            Fen::new(self.dice.random_range(1..=100_000))
        }
    }

    fn delay(&mut self) -> u32 {
        let delay = self.pick(&[0, 0, 0, 7_200, 86_400]).expect("not empty");
        // Now and then one that is not allowed.
        if self.chance(0.01) { 3_600 } else { delay }
    }

    /// The next operation of operator `client`.
    fn operator_command(&mut self, client: usize) -> Command {
        let users = self.model.users.len();
        let mut roll = if users < 3 { 0 } else { self.dice.random_range(0..100) };
        if client != 0 && (55..=73).contains(&roll) {
            // Locking is last-writer-wins: only the first operator locks and unlocks, one
            // request at a time, so the order of its answers is the order they were applied
            // and the model knows who is locked. Sums (deposits, freezes) need no such care.
            roll = 20;
        }
        let Some(user) = self.any_user() else {
            return Command::CreateUser { name: "first".to_owned() };
        };
        match roll {
            0..=19 if users < USERS_MAX || self.chance(0.02) => {
                let name = if self.chance(0.04) { String::new() } else { format!("user {users}") };
                Command::CreateUser { name }
            }
            47..=54 => {
                let user = if self.chance(0.02) { self.unknown(UserId::from_uuid) } else { user };
                let region = if self.chance(0.02) { " " } else { self.pick(&REGIONS).expect("not empty") };
                let signal = Signal::Login { region: region.to_owned(), device_id: "device 1".to_owned() };
                Command::RecordSignal { user, signal }
            }
            0..=46 => {
                let user = if self.chance(0.02) { self.unknown(UserId::from_uuid) } else { user };
                let amount = if self.chance(0.02) { 0 } else { self.dice.random_range(1..=200_000) };
                Command::Deposit { user, amount: Fen::new(amount) }
            }
            55..=61 => {
                let user = if self.chance(0.05) { self.unknown(UserId::from_uuid) } else { user };
                Command::LockUser { officer: officer(), user, reason: "sim".to_owned() }
            }
            62..=73 => {
                let locked: Vec<UserId> = self.model.locked.union(&self.model.ruled).copied().collect();
                let user = match self.pick(&locked) {
                    Some(locked) if self.chance(0.9) => locked,
                    _ if self.chance(0.1) => self.unknown(UserId::from_uuid),
                    _ => user,
                };
                Command::UnlockUser { officer: officer(), user, reason: "sim".to_owned() }
            }
            74..=85 => {
                let guess = self.model.estimate.get(&user).copied().unwrap_or(0);
                let amount = match self.dice.random_range(0..20) {
                    0 => Some(0),
                    1..=3 => None,
                    _ => Some(self.dice.random_range(1..=guess.max(0) * 2 + 100)),
                };
                let spec = FreezeSpec {
                    user,
                    kind: FreezeKind::Precautionary,
                    amount: amount.map(Fen::new),
                    reason: "sim".to_owned(),
                    documents: Vec::new(),
                    expires_at: None,
                    major_case: false,
                };
                Command::PlaceFreeze { officer: officer(), spec }
            }
            86..=97 => {
                let mut freezes = self.model.freezes.clone();
                freezes.extend(self.model.ruled_freezes.iter().copied().filter(|f| !self.model.freezes.contains(f)));
                let Some(freeze) = self.pick(&freezes) else {
                    return Command::Deposit { user, amount: Fen::new(100) };
                };
                let amount = if self.chance(0.3) { Some(Fen::new(self.dice.random_range(1..=500))) } else { None };
                let reason = "sim".to_owned();
                Command::ReleaseFreeze {
                    officer: officer(),
                    legal: false,
                    freeze,
                    reason,
                    amount,
                    documents: Vec::new(),
                }
            }
            98 if !self.model.cases.is_empty() => {
                // Closing a case a report opened: dismissed, its hold is released too.
                let cases: Vec<_> = self.model.cases.iter().copied().collect();
                let case = self.pick(&cases).expect("not empty");
                let outcome = if self.chance(0.5) { CaseOutcome::Dismissed } else { CaseOutcome::Upheld };
                Command::CloseCase { officer: officer(), case, outcome, reason: "sim".to_owned() }
            }
            _ => {
                let roles: Vec<Role> = Role::ALL.iter().copied().filter(|_| self.chance(0.4)).collect();
                Command::CreateOperator { name: "operator".to_owned(), roles }
            }
        }
    }

    /// The next operation of user `u`.
    fn user_command(&mut self, u: UserId) -> Command {
        let roll = self.dice.random_range(0..100);
        let chosen = match roll {
            0..=4 => Some(self.create_group(u)),
            5..=11 => {
                let amount = if self.chance(0.02) { Fen::ZERO } else { self.amount_for(u) };
                Some(Command::Withdraw { actor: u, amount })
            }
            12..=33 => Some(self.send(u)),
            34..=40 => self.on_packet(u, false).map(|packet| Command::OpenPacket { actor: u, packet }),
            41..=62 => self.on_packet(u, true).map(|packet| Command::ClaimPacket { actor: u, packet }),
            63..=67 => self.recall(u),
            68..=72 => self.revoke_claim(u),
            73..=77 => self.return_claim(u),
            78..=81 => self.report(u),
            82..=92 => None,
            _ => self.revoke_transfer(u),
        };
        chosen.unwrap_or_else(|| self.transfer(u))
    }

    fn create_group(&mut self, u: UserId) -> Command {
        let size = self.dice.random_range(1..=self.model.users.len().min(10));
        let mut members: Vec<UserId> = self.model.users.sample(&mut self.dice, size).copied().collect();
        let mut name = "family".to_owned();
        match self.dice.random_range(0..40) {
            0 => members.push(self.unknown(UserId::from_uuid)),
            1 => name = " ".to_owned(),
            _ => {}
        }
        Command::CreateGroup { actor: u, name, members }
    }

    fn send(&mut self, u: UserId) -> Command {
        let delay = self.delay();
        let greeting = self.chance(0.2).then(|| "恭喜发财".to_owned());
        let groups = self.model.groups_of.get(&u).map(|g| recent(g).to_vec()).unwrap_or_default();
        let group = if self.chance(0.7) { self.pick(&groups) } else { None };
        let mut share = self.dice.random_range(1..=2_000i64);
        if self.chance(0.02) {
            share = 20_001;
        }
        let spec = match group {
            Some(group_id) => {
                let size = self.model.groups.get(&group_id).map_or(1, Vec::len);
                let mut count = u32::try_from(self.dice.random_range(1..=size.min(10))).expect("small");
                if self.chance(0.02) {
                    count = 0;
                }
                if self.chance(0.5) {
                    PacketSpec::Normal { group_id, count, amount_each: Fen::new(share) }
                } else {
                    PacketSpec::Lucky { group_id, count, total: Fen::new(share * i64::from(count.max(1))) }
                }
            }
            None => {
                let recipient = match self.other_user(u) {
                    Some(other) if self.chance(0.97) => other,
                    _ => u,
                };
                PacketSpec::Exclusive { recipient, amount: Fen::new(share) }
            }
        };
        Command::SendPacket { actor: u, spec, greeting, arrival_delay_s: delay, risk_confirmation: None }
    }

    /// A packet for `u` to open or claim: mostly one `u` can see and (to claim) may still claim.
    fn on_packet(&mut self, u: UserId, claiming: bool) -> Option<PacketId> {
        if self.chance(0.03) {
            return Some(self.unknown(PacketId::from_uuid));
        }
        let now = self.now();
        let order = recent(&self.model.packet_order).to_vec();
        self.pick_where(&order, |m, id| {
            let p = &m.packets[&id];
            m.visible(u, p) && (!claiming || (p.status(now) == PacketStatus::Active && !p.claimed_by.contains(&u)))
        })
    }

    fn recall(&mut self, u: UserId) -> Option<Command> {
        let now = self.now();
        let mine = self.model.sent.get(&u).map(|s| recent(s).to_vec()).unwrap_or_default();
        let packet = self.pick_where(&mine, |m, id| {
            let p = &m.packets[&id];
            !p.lucky && p.claims.is_empty() && !p.touched && p.status(now) == PacketStatus::Active
        })?;
        // Now and then by someone who is not the sender.
        let actor = if self.chance(0.05) { self.other_user(u).unwrap_or(u) } else { u };
        Some(Command::RecallPacket { actor, packet })
    }

    fn revoke_claim(&mut self, u: UserId) -> Option<Command> {
        let now = self.now();
        let on_mine = self.model.claims_on.get(&u).map(|c| recent(c).to_vec()).unwrap_or_default();
        let claim = self.pick_where(&on_mine, |m, id| m.claims[&id].status(now) == ClaimStatus::Pending)?;
        Some(Command::RevokeClaim { actor: u, claim })
    }

    fn return_claim(&mut self, u: UserId) -> Option<Command> {
        let now = self.now();
        let mine = self.model.claims_by.get(&u).map(|c| recent(c).to_vec()).unwrap_or_default();
        let claim = self.pick_where(&mine, |m, id| {
            let c = &m.claims[&id];
            c.status(now) == ClaimStatus::Arrived && m.sender_of(c) != u
        })?;
        Some(Command::ReturnClaim { actor: u, claim })
    }

    fn revoke_transfer(&mut self, u: UserId) -> Option<Command> {
        if self.chance(0.03) {
            return Some(Command::RevokeTransfer { actor: u, transfer: self.unknown(TransferId::from_uuid) });
        }
        let now = self.now();
        let mine = self.model.transfers_from.get(&u).map(|t| recent(t).to_vec()).unwrap_or_default();
        let transfer = self.pick_where(&mine, |m, id| {
            let t = &m.transfers[&id];
            pending_fate(t.delayed, t.revoked, t.arrives_at, now) == Some(PendingStatus::Pending)
        })?;
        // Now and then by its recipient, who may not.
        let actor = if self.chance(0.05) { self.model.transfers[&transfer].to } else { u };
        Some(Command::RevokeTransfer { actor, transfer })
    }

    /// A report by `u` on someone they paid (a fraud case and its hold follow at the third
    /// reporter with evidence), now and then citing another's transfer, which is refused.
    fn report(&mut self, u: UserId) -> Option<Command> {
        let mine = self.model.transfers_from.get(&u).map(|t| recent(t).to_vec()).unwrap_or_default();
        let transfer = self.pick(&mine)?;
        let subject = self.model.transfers[&transfer].to;
        let actor = if self.chance(0.05) { self.other_user(u).unwrap_or(u) } else { u };
        let evidence =
            (0..self.dice.random_range(0..=2u8)).map(|_| self.unknown(hongbao_core::EvidenceId::from_uuid)).collect();
        Some(Command::FileReport {
            actor,
            subject,
            payments: vec![hongbao_core::case::Payment::Transfer(transfer)],
            description: "took the money and blocked me".to_owned(),
            evidence,
        })
    }

    fn transfer(&mut self, u: UserId) -> Command {
        let to = match self.other_user(u) {
            Some(other) if self.chance(0.97) => other,
            _ => u,
        };
        let amount = self.amount_for(u);
        let note = self.chance(0.2).then(|| "奶茶 🧋".to_owned());
        let arrival_delay_s = self.delay();
        Command::Transfer { actor: u, to, amount, note, arrival_delay_s, risk_confirmation: None }
    }

    // ----- rounds ---------------------------------------------------------------------------

    /// Arms this round's faults at random; answers after how many answers to kill the node
    /// regardless, if it is to be killed so.
    fn arm_faults(&mut self, requests: usize) -> Option<usize> {
        let scale = f64::from(self.fault_scale);
        let faults = self.store.faults().clone();
        let roll = self.dice.random_range(0.0..1.0) / scale;
        let n = self.dice.random_range(1..=2);
        match roll {
            r if r < 0.05 => faults.fail_commits(CommitFault::FailBeforeApply, n),
            r if r < 0.10 => faults.fail_commits(CommitFault::FailAfterApply, n),
            r if r < 0.115 => faults.fail_commits(CommitFault::HangBeforeApply, 1),
            r if r < 0.13 => faults.fail_commits(CommitFault::HangAfterApply, 1),
            r if r < 0.145 => faults.fail_writes(n),
            r if r < 0.16 => faults.fail_reads(n),
            _ => {}
        }
        // After at least one answer, so that something was under way when the node dies.
        (self.chance(0.01 * scale) && requests > 1).then(|| self.dice.random_range(1..requests))
    }

    /// What this round sends: retries of unanswered operations, new operations from idle
    /// clients, and now and then a duplicate, a re-ask, a key-reuse probe, a job run, a
    /// checkpoint or a graceful shutdown.
    fn plan(&mut self) -> Vec<Request> {
        let mut requests = Vec::new();
        for client in 0..self.clients.len() {
            if self.clients[client].outstanding.is_some() && self.chance(0.8) {
                requests.push(Request::Op { client });
                self.stats.retries += 1;
            }
        }
        let wanted = self.dice.random_range(1..=NEW_PER_ROUND_MAX);
        for _ in 0..wanted {
            let client = self.dice.random_range(0..self.clients.len());
            if self.clients[client].outstanding.is_some() {
                continue;
            }
            let command = match self.clients[client].user {
                Some(user) => self.user_command(user),
                None => self.operator_command(client),
            };
            let c = &mut self.clients[client];
            c.keys_used += 1;
            c.outstanding = Some(Unanswered { key: format!("k{}", c.keys_used), command, attempts: 0 });
            requests.push(Request::Op { client });
        }
        if self.chance(0.05) && !requests.is_empty() {
            // An impatient client sends the same request twice at once.
            let twice = requests[self.dice.random_range(0..requests.len())].clone();
            requests.push(twice);
            self.stats.duplicates += 1;
        }
        if self.chance(0.2) && !self.acked.is_empty() {
            requests.push(Request::ReAsk { acked: self.dice.random_range(0..self.acked.len()) });
            self.stats.reasks += 1;
        }
        if self.chance(0.03) && !self.acked.is_empty() {
            let acked = self.dice.random_range(0..self.acked.len());
            let mut probe = Command::Deposit { user: self.unknown(UserId::from_uuid), amount: Fen::new(1) };
            if probe == self.acked[acked].command {
                probe = Command::CreateUser { name: "probe".to_owned() };
            }
            requests.push(Request::Reuse { acked, probe });
            self.stats.reuse_probes += 1;
        }
        if self.chance(0.1) {
            requests.push(Request::Jobs);
        }
        if self.chance(0.05) {
            requests.push(Request::Checkpoint);
        }
        requests.shuffle(&mut self.dice);
        if self.chance(0.006 * f64::from(self.fault_scale)) {
            let at = self.dice.random_range(0..=requests.len());
            requests.insert(at, Request::Shutdown);
        }
        requests
    }

    fn call(&self, request: &Request) -> Call {
        let keyed = |client: usize, key: &str| Idempotency {
            principal: self.clients[client].principal.clone(),
            key: key.to_owned(),
        };
        match request {
            Request::Op { client } => {
                let op = self.clients[*client].outstanding.as_ref().expect("an outstanding operation");
                Call::Execute(op.command.clone(), keyed(*client, &op.key))
            }
            Request::ReAsk { acked } => {
                let a = &self.acked[*acked];
                Call::Execute(a.command.clone(), keyed(a.client, &a.key))
            }
            Request::Reuse { acked, probe } => {
                let a = &self.acked[*acked];
                Call::Execute(probe.clone(), keyed(a.client, &a.key))
            }
            Request::Jobs => Call::Jobs(self.now()),
            Request::Checkpoint => Call::Checkpoint,
            Request::Shutdown => Call::Shutdown,
        }
    }

    /// Sends `requests` at once and waits until all are answered, a commit hangs, or
    /// `kill_after` of them are answered.
    fn send_round(&mut self, requests: &[Request], kill_after: Option<usize>) -> (Vec<Option<Got>>, End) {
        self.last = requests
            .iter()
            .map(|r| match r {
                Request::Op { client } => format!("{:?}", self.clients[*client].outstanding),
                other => format!("{other:?}"),
            })
            .collect();
        let calls: Vec<Call> = requests.iter().map(|r| self.call(r)).collect();
        let total = calls.len();
        let slots = Arc::new(Slots {
            got: Mutex::new((0..total).map(|_| None).collect()),
            done: AtomicUsize::new(0),
            changed: Notify::new(),
        });
        let faults = self.store.faults().clone();
        let hangs = faults.hangs();
        let node = self.node();
        let engine = node.engine.clone();
        let end = node.block_on(async {
            for (i, call) in calls.into_iter().enumerate() {
                let (engine, slots) = (engine.clone(), slots.clone());
                tokio::spawn(async move {
                    let got = match call {
                        Call::Execute(command, key) => Got::Answer(engine.execute_once(command, Some(key)).await),
                        Call::Jobs(now) => Got::Jobs(engine.run_once(now).await),
                        Call::Checkpoint => Got::Checkpoint(engine.checkpoint_now().await),
                        Call::Shutdown => {
                            engine.shutdown().await;
                            Got::Shutdown
                        }
                    };
                    slots.got.lock().unwrap_or_else(PoisonError::into_inner)[i] = Some(got);
                    slots.done.fetch_add(1, Ordering::SeqCst);
                    slots.changed.notify_waiters();
                });
            }
            loop {
                let changed = slots.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                let done = slots.done.load(Ordering::SeqCst);
                if done == total {
                    return End::Answered;
                }
                if kill_after.is_some_and(|k| done >= k) {
                    return End::Killed;
                }
                if faults.hangs() > hangs {
                    return End::Hung;
                }
                tokio::select! {
                    biased;
                    () = &mut changed => {}
                    () = faults.hung_beyond(hangs) => {}
                }
            }
        });
        drop(engine);
        let got = std::mem::take(&mut *slots.got.lock().unwrap_or_else(PoisonError::into_inner));
        (got, end)
    }

    /// Takes in a round's answers, checking each against what was answered before.
    fn absorb(&mut self, requests: &[Request], got: Vec<Option<Got>>) {
        // The first acknowledgement of each client in this round, for its duplicate.
        let mut acked_now: BTreeMap<usize, usize> = BTreeMap::new();
        for (request, got) in requests.iter().zip(got) {
            self.stats.requests += 1;
            let answer = match got {
                Some(Got::Answer(answer)) => Some(answer),
                Some(Got::Jobs(Ok(outcome))) => {
                    self.stats.job_runs += 1;
                    self.stats.expired += u64::from(outcome.expired);
                    self.stats.settled += u64::from(outcome.settled);
                    continue;
                }
                Some(Got::Checkpoint(Ok(_))) => {
                    self.stats.checkpoints += 1;
                    continue;
                }
                Some(Got::Jobs(Err(_)) | Got::Checkpoint(Err(_)) | Got::Shutdown) => continue,
                None => None,
            };
            let Some(answer) = answer else {
                *self.stats.unanswered.entry("lost in a crash").or_default() += 1;
                continue;
            };
            if let Err(why) = settled(&answer) {
                *self.stats.unanswered.entry(why).or_default() += 1;
                if let Request::Op { client } = request
                    && let Some(op) = self.clients[*client].outstanding.as_mut()
                {
                    op.attempts += 1;
                }
                continue;
            }
            match request {
                Request::Op { client } => match acked_now.get(client) {
                    Some(&first) => {
                        let earlier = &self.acked[first];
                        assert_eq!(
                            as_repeated(&answer),
                            as_repeated(&earlier.answer),
                            "two copies of one request ({:?}) answered differently",
                            earlier.command
                        );
                    }
                    None => {
                        let at = self.acknowledge(*client, answer);
                        acked_now.insert(*client, at);
                    }
                },
                Request::ReAsk { acked } => {
                    let earlier = &self.acked[*acked];
                    assert_eq!(
                        answer,
                        as_repeated(&earlier.answer),
                        "asked again, {:?} under key {:?} was answered differently",
                        earlier.command,
                        earlier.key
                    );
                }
                Request::Reuse { acked, probe } => {
                    let earlier = &self.acked[*acked];
                    assert_eq!(
                        answer,
                        Err(EngineError::IdempotencyKeyReused),
                        "key {:?} of {:?} was reused for {probe:?}",
                        earlier.key,
                        earlier.command
                    );
                }
                Request::Jobs | Request::Checkpoint | Request::Shutdown => unreachable!("handled above"),
            }
        }
    }

    /// The first answer to a client's outstanding operation: it is recorded, and the model
    /// learns what it says.
    fn acknowledge(&mut self, client: usize, answer: Answer) -> usize {
        let op = self.clients[client].outstanding.take().expect("an outstanding operation");
        assert_ne!(
            answer,
            Err(EngineError::IdempotencyKeyReused),
            "a fresh key for {:?} was taken for reused",
            op.command
        );
        let tally = self.stats.by_kind.entry(op.command.kind()).or_default();
        if answer.is_ok() {
            tally.0 += 1;
        } else {
            tally.1 += 1;
        }
        if let Some((user, key)) = self.model.learn(&op.command, &answer) {
            self.clients.push(Client { principal: key.to_string(), user: Some(user), keys_used: 0, outstanding: None });
        }
        self.trace.update(self.clients[client].principal.as_bytes());
        self.trace.update(op.key.as_bytes());
        self.trace.update(format!("{answer:?}").as_bytes());
        self.stats.ops += 1;
        self.since_check += 1;
        self.acked.push(Acked { client, key: op.key, command: op.command, answer, record: None });
        self.acked.len() - 1
    }

    /// One round: faults, requests, answers, a crash or a restart if it came to that, checks.
    fn step(&mut self) {
        self.stats.rounds += 1;
        let requests = self.plan();
        let kill_after = self.arm_faults(requests.len());
        let before = self.store.faults().counts();
        let (got, end) = self.send_round(&requests, kill_after);
        self.store.faults().disarm();
        self.absorb(&requests, got);
        let after = self.store.faults().counts();
        let restarted = match end {
            End::Hung if after.hung_before_apply > before.hung_before_apply => {
                self.restart("crash between deciding a batch and committing it", true);
                true
            }
            End::Hung => {
                self.restart("crash after a commit, before any reply", true);
                true
            }
            End::Killed => {
                self.restart("crash with commands queued", true);
                true
            }
            End::Answered if requests.iter().any(|r| matches!(r, Request::Shutdown)) => {
                self.restart("graceful shutdown with commands queued", false);
                true
            }
            End::Answered => false,
        };
        if let Some(why) = self.node().engine.audit().and_then(|a| a.corrupt()) {
            panic!("the engine marked its log corrupt: {why}");
        }
        if restarted || self.since_check >= CHECK_EVERY_OPS {
            self.check();
        }
        if self.chance(0.05) {
            let by = self.pick(&[1, 60, 3_600, 7_201, 86_401, 86_401]).expect("not empty");
            self.clock.advance(by).expect("a manual clock moves");
            self.stats.clock_moves += 1;
        }
    }

    /// Faults off, every unanswered operation retried until answered, every due job run and a
    /// checkpoint signed: the state the full check compares with the model.
    fn quiesce(&mut self) {
        self.store.faults().disarm();
        for _ in 0..QUIESCE_ROUNDS_MAX {
            let requests: Vec<Request> = (0..self.clients.len())
                .filter(|&c| self.clients[c].outstanding.is_some())
                .map(|client| Request::Op { client })
                .collect();
            if requests.is_empty() {
                break;
            }
            self.stats.retries += requests.len() as u64;
            let (got, end) = self.send_round(&requests, None);
            assert_eq!(end, End::Answered, "without faults every request is answered");
            self.absorb(&requests, got);
        }
        let stuck: Vec<&Unanswered> = self.clients.iter().filter_map(|c| c.outstanding.as_ref()).collect();
        assert!(stuck.is_empty(), "operations still unanswered after {QUIESCE_ROUNDS_MAX} rounds: {stuck:?}");
        let node = self.node.as_ref().expect("a node is running");
        let now = self.clock.now();
        loop {
            let outcome = node.block_on(node.engine.run_due(now)).expect("jobs run without faults");
            self.stats.job_runs += 1;
            self.stats.expired += u64::from(outcome.expired);
            self.stats.settled += u64::from(outcome.settled);
            if !outcome.more {
                break;
            }
        }
        node.block_on(node.engine.checkpoint_now()).expect("a checkpoint without faults");
        self.stats.checkpoints += 1;
    }

    /// The full check: see the module documentation.
    fn check(&mut self) {
        self.quiesce();
        self.since_check = 0;
        self.stats.full_checks += 1;
        let node = self.node.as_ref().expect("a node is running");
        let now = self.clock.now();
        let log_key = audit_config().signing_key.verifying_key();
        let report = node.block_on(hongbao_engine::check(&self.store, &sim_limits(), Some(&log_key)));
        let report = report.expect("the check reads the store");
        assert!(report.passed(), "{report}");
        let dump = node.block_on(self.store.dump()).expect("a dump");

        let audit = node.engine.audit().expect("the log is on");
        assert_eq!(audit.corrupt(), None);
        let size = dump.log.len() as u64;
        assert_eq!(audit.size(), size, "the engine's tree is the stored log");
        let signed = dump.checkpoints.last().map_or(0, |c| c.size);
        assert_eq!(signed, size, "the latest signed checkpoint covers the whole log");

        // Every acknowledged answer is the record of its key, and no other record exists.
        let records: BTreeMap<(&str, &str), &str> =
            dump.idempotency.iter().map(|r| ((r.principal.as_str(), r.key.as_str()), r.outcome.as_str())).collect();
        assert_eq!(records.len(), self.acked.len(), "one stored record per acknowledged operation");
        for acked in &mut self.acked {
            let principal = self.clients[acked.client].principal.as_str();
            let outcome = *records.get(&(principal, acked.key.as_str())).unwrap_or_else(|| {
                panic!("no record of the acknowledged {:?} under key {:?}", acked.command, acked.key)
            });
            match &acked.record {
                Some(seen) => assert_eq!(outcome, seen, "the record of key {:?} changed", acked.key),
                None => {
                    let stored = hongbao_engine::stored::decode(outcome).expect("a readable record");
                    let stored = stored.map_err(EngineError::Refused);
                    // A record never keeps a secret: it answers as a repeat does.
                    assert_eq!(as_repeated(&stored), as_repeated(&acked.answer), "the record of key {:?}", acked.key);
                    if let Ok(Reply::User(created)) = &stored {
                        assert!(created.secret.expose().is_empty(), "the record of key {:?} keeps a secret", acked.key);
                    }
                    acked.record = Some(outcome.to_owned());
                }
            }
        }

        self.model.reconcile(&dump, now);
        self.model.learn_rules(&dump);
        self.stats.anomaly_cases = anomaly_cases(&dump).count() as u64;

        // A few acknowledged requests asked again, with no fault armed.
        let sample = 8.min(self.acked.len());
        let requests: Vec<Request> =
            (0..sample).map(|_| Request::ReAsk { acked: self.dice.random_range(0..self.acked.len()) }).collect();
        self.stats.reasks += requests.len() as u64;
        let (got, end) = self.send_round(&requests, None);
        assert_eq!(end, End::Answered);
        self.absorb(&requests, got);

        self.trace.update(format!("check {size} {:?}", dump.checkpoints.last()).as_bytes());
    }

    fn run(&mut self, ops: u64) {
        while self.stats.ops < ops {
            self.step();
        }
        self.check();
    }

    /// A digest of every answer, every restart and every check, and of the store at the end.
    fn fingerprint(&self) -> String {
        let mut trace = self.trace.clone();
        let dump = self.node().block_on(self.store.dump()).expect("a dump");
        trace.update(format!("{:?}{:?}{:?}{:?}", dump.facts, dump.idempotency, dump.events, dump.log).as_bytes());
        trace.finalize().iter().take(8).fold(String::new(), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
    }

    fn finish(mut self) -> Stats {
        if let Some(node) = self.node.take() {
            node.shutdown();
        }
        self.stats.faults = self.store.faults().counts();
        self.stats
    }
}

/// Runs one episode, printing how to replay it if anything in it fails.
fn run_episode(base: u64, index: u64, ops: u64) -> Stats {
    let mut episode = Episode::new(base, index);
    let result = panic::catch_unwind(AssertUnwindSafe(|| episode.run(ops)));
    if let Err(cause) = result {
        eprintln!(
            "fault simulation failed: base seed {base:#x}, episode {index} (episode seed {:#x}), round {}, \
             {} ops acknowledged, at {} (+{} s)\nlast round's requests:\n  {}\nreplay with: \
             HONGBAO_FAULT_SIM_SEED={base:#x} HONGBAO_FAULT_SIM_EPISODE={index} \
             HONGBAO_FAULT_SIM_EPISODE_OPS={ops} cargo test -p hongbao-engine --test it -- sim:: --nocapture",
            episode_seed(base, index),
            episode.stats.rounds,
            episode.stats.ops,
            episode.now(),
            (episode.now().millis() - START.millis()) / 1_000,
            episode.last.join("\n  "),
        );
        panic::resume_unwind(cause);
    }
    episode.finish()
}

#[test]
fn an_engine_under_random_faults_and_crashes_loses_no_acknowledged_operation_and_applies_none_twice() {
    let started = Instant::now();
    let ops_wanted = env_u64("HONGBAO_FAULT_SIM_OPS").unwrap_or(DEFAULT_OPS);
    let seeds: Vec<u64> = env_u64("HONGBAO_FAULT_SIM_SEED").map_or_else(|| DEFAULT_SEEDS.to_vec(), |seed| vec![seed]);
    let only_episode = env_u64("HONGBAO_FAULT_SIM_EPISODE");
    let episode_ops = env_u64("HONGBAO_FAULT_SIM_EPISODE_OPS").unwrap_or(EPISODE_OPS).max(1);
    let per_seed = ops_wanted.div_ceil(episode_ops * seeds.len() as u64).max(1);
    let work: Vec<(u64, u64)> = match only_episode {
        Some(episode) => seeds.iter().map(|&seed| (seed, episode)).collect(),
        None => seeds.iter().flat_map(|&seed| (0..per_seed).map(move |episode| (seed, episode))).collect(),
    };
    let threads = std::thread::available_parallelism().map_or(1, usize::from).clamp(1, 4);
    let total = Mutex::new(Stats::default());
    let failed = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (work, total, failed) = (&work, &total, &failed);
            scope.spawn(move || {
                let mut mine = Stats::default();
                for &(seed, episode) in work.iter().skip(t).step_by(threads) {
                    if failed.load(Ordering::SeqCst) {
                        break;
                    }
                    match panic::catch_unwind(|| run_episode(seed, episode, episode_ops)) {
                        Ok(stats) => mine.add(&stats),
                        Err(cause) => {
                            failed.store(true, Ordering::SeqCst);
                            panic::resume_unwind(cause);
                        }
                    }
                }
                total.lock().unwrap_or_else(PoisonError::into_inner).add(&mine);
            });
        }
    });
    let stats = total.into_inner().unwrap_or_else(PoisonError::into_inner);
    println!(
        "fault simulation: seeds {seeds:x?}, episodes of {episode_ops} ops, {:.1?}: {}",
        started.elapsed(),
        stats.summary()
    );
    if only_episode.is_some() {
        return;
    }
    assert!(stats.ops >= ops_wanted, "acknowledged {} operations, wanted {ops_wanted}", stats.ops);
    for kind in KINDS {
        let (ok, refused) = stats.by_kind.get(kind).copied().unwrap_or_default();
        assert!(ok > 0 && refused > 0, "{kind} succeeded {ok} and was refused {refused} times: exercise both");
    }
    let f = &stats.faults;
    let injected = [
        f.failed_before_apply,
        f.failed_after_apply,
        f.hung_before_apply,
        f.hung_after_apply,
        f.failed_writes,
        f.failed_reads,
    ];
    assert!(injected.iter().all(|n| *n > 0), "every kind of fault was injected: {f:?}");
    assert_eq!(stats.restarts.len(), 4, "every kind of restart happened: {:?}", stats.restarts);
    assert!(stats.expired > 0 && stats.settled > 0, "the jobs had work");
    assert!(stats.anomaly_cases > 0, "the anomaly rule fired");
}

#[test]
fn a_fault_simulation_replays_exactly_from_its_seed() {
    let run = |index| {
        let mut episode = Episode::new(0x7e57, index);
        episode.fault_scale = 4;
        episode.run(400);
        let print = episode.fingerprint();
        (print, episode.finish())
    };
    let (first, stats) = run(1);
    let (again, same) = run(1);
    assert_eq!(first, again, "the same seed gives the same answers, restarts and store");
    assert_eq!(format!("{stats:?}"), format!("{same:?}"));
    assert!(stats.faults.total() > 0 && !stats.restarts.is_empty(), "the run had faults and crashes: {stats:?}");
    let (other, _) = run(2);
    assert_ne!(first, other, "another episode takes another path");
}
