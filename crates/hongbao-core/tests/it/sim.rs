//! A deterministic simulation: random sequences of every command against a fake clock, with
//! the background jobs run the way the engine runs them, and every invariant checked after
//! every step.
//!
//! The run is split into bounded episodes, each in a fresh world, because the full check is
//! O(state): many short episodes keep it affordable while still reaching deep states (expired
//! packets with pending claims, revoked and returned claims, locked and frozen wallets).
//!
//! Environment:
//! - `HONGBAO_SIM_OPS`: operations to run in total (default [`DEFAULT_OPS`]);
//! - `HONGBAO_SIM_SEED`: one base seed instead of the fixed [`DEFAULT_SEEDS`];
//! - `HONGBAO_SIM_EPISODE`: run only this episode of the base seed (to replay a failure).
//!
//! An episode depends on nothing but its seed, so a failure replays exactly from the line it
//! prints.

use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;
use std::time::Instant;

use hongbao_core::ReturnRequestId;
use hongbao_core::case::Payment;
use hongbao_core::due::{Deadline, DueItem, DueKind};
use hongbao_core::event::EventKind;
use hongbao_core::ledger::{AccountKind, PendingStatus};
use hongbao_core::ops::TransferStatus;
use hongbao_core::packet::{ClaimStatus, Packet, PacketKind, PacketStatus};
use hongbao_core::returns::ReturnStatus;
use hongbao_core::user::UserStatus;
use hongbao_core::{
    AccountId, ClaimId, Command, CoreError, DocumentId, Fen, FreezeId, FrozenReason, GroupId, Limits, PacketId,
    PacketSpec, RecallRefusal, Reply, Timestamp, TransferId, UserId, World, invariants,
};
use rand::rngs::ChaCha8Rng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};

use crate::support::{
    self, Wallet, fingerprint, join, lock, precautionary, register_document, release, unlock, wallet_of,
};

/// Operations in the default run (`cargo test`): comfortably more than 100 000.
const DEFAULT_OPS: u64 = 120_000;
/// Commands per episode; each episode starts from an empty world.
const EPISODE_OPS: u64 = 1_000;
/// Base seeds of the default run; episodes are spread over them.
const DEFAULT_SEEDS: [u64; 4] = [0x5eed_0001, 0xdead_beef, 0x2026_1118, 0x0bad_cafe];

/// How one kind of command fared.
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    ok: u64,
    refused: u64,
}

#[derive(Debug, Default)]
struct Stats {
    ops: u64,
    episodes: u64,
    clock_moves: u64,
    by_kind: BTreeMap<&'static str, Tally>,
    /// Refusals by command kind and error code, for `HONGBAO_SIM_VERBOSE`.
    refusals: BTreeMap<(&'static str, &'static str), u64>,
    /// How often each rule fired.
    rules_fired: BTreeMap<String, u64>,
}

impl Stats {
    fn add(&mut self, other: &Stats) {
        self.ops += other.ops;
        self.episodes += other.episodes;
        self.clock_moves += other.clock_moves;
        for (kind, tally) in &other.by_kind {
            let mine = self.by_kind.entry(kind).or_default();
            mine.ok += tally.ok;
            mine.refused += tally.refused;
        }
        for (key, n) in &other.refusals {
            *self.refusals.entry(*key).or_default() += n;
        }
        for (rule, n) in &other.rules_fired {
            *self.rules_fired.entry(rule.clone()).or_default() += n;
        }
    }
}

/// Every kind the simulation must have seen both succeed and be refused. For the jobs,
/// "succeeded" means something was due and "refused" that nothing was.
const KINDS: [&str; 40] = [
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
    "renew_freeze",
    "convert_freeze",
    "propose_seizure",
    "approve_seizure",
    "reject_seizure",
    "register_document",
    "reveal_document",
    "file_report",
    "record_signal",
    "add_case_note",
    "close_case",
    "expire_packet",
    "settle_pending",
    "expire_freeze",
    "expire_seizure",
    "open_return_request",
    "accept_return_request",
    "decline_return_request",
    "withdraw_return_request",
    "add_return_note",
    "expire_return_request",
];

/// The defaults, but an anomaly rule that needs only 4 receipts in its window and a fan-in rule
/// that needs only 3 payers: so that both fire now and then among a few dozen users.
fn sim_limits() -> Limits {
    let mut limits = Limits::default();
    limits.risk.anomaly_receipts_new_region.receipts_min = 4;
    limits.risk.aml_fan_in.payers_min = 3;
    limits
}

/// `command` (a transfer or a packet) confirmed with `id`.
fn with_confirmation(mut command: Command, id: hongbao_core::id::Uuid) -> Command {
    let confirmed = Some(hongbao_core::warning::RiskConfirmation { id });
    match &mut command {
        Command::Transfer { risk_confirmation, .. } | Command::SendPacket { risk_confirmation, .. } => {
            *risk_confirmation = confirmed;
        }
        other => panic!("{other:?} is not a payment"),
    }
    command
}

/// What the generator knows a command must do, when it chose the arguments to make it so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// A plausible command: it may succeed or be refused, depending on the state.
    Either,
    /// Deliberately wrong: it must be refused with this error code.
    Refused(&'static str),
}

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

#[test]
fn seeded_simulation_keeps_every_invariant_after_every_step() {
    let started = Instant::now();
    let ops_wanted = env_u64("HONGBAO_SIM_OPS").unwrap_or(DEFAULT_OPS);
    let seeds: Vec<u64> = env_u64("HONGBAO_SIM_SEED").map_or_else(|| DEFAULT_SEEDS.to_vec(), |seed| vec![seed]);
    let only_episode = env_u64("HONGBAO_SIM_EPISODE");

    // (base seed, episode index) for every episode, spread evenly over the seeds.
    let per_seed = ops_wanted.div_ceil(EPISODE_OPS * seeds.len() as u64).max(1);
    let work: Vec<(u64, u64)> = match only_episode {
        Some(episode) => seeds.iter().map(|&seed| (seed, episode)).collect(),
        None => seeds.iter().flat_map(|&seed| (0..per_seed).map(move |episode| (seed, episode))).collect(),
    };
    let threads = std::thread::available_parallelism().map_or(1, usize::from).clamp(1, 4);
    let total = Mutex::new(Stats::default());
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (work, total) = (&work, &total);
            scope.spawn(move || {
                let mut mine = Stats::default();
                for &(seed, episode) in work.iter().skip(t).step_by(threads) {
                    mine.add(&run_episode(seed, episode));
                }
                total.lock().expect("no thread panicked holding the lock").add(&mine);
            });
        }
    });
    let stats = total.into_inner().expect("no thread panicked holding the lock");

    let tallies: Vec<String> = stats.by_kind.iter().map(|(kind, t)| format!("{kind} {}/{}", t.ok, t.refused)).collect();
    println!(
        "simulation: {} ops in {} episodes ({} clock moves, seeds {:x?}) in {:.1?}; ok/refused (jobs: due/idle): {}; \
         rules fired: {:?}",
        stats.ops,
        stats.episodes,
        stats.clock_moves,
        seeds,
        started.elapsed(),
        tallies.join(", "),
        stats.rules_fired
    );
    if std::env::var_os("HONGBAO_SIM_VERBOSE").is_some() {
        for ((kind, code), n) in &stats.refusals {
            println!("  {kind} refused as {code}: {n}");
        }
    }
    if only_episode.is_none() {
        assert!(stats.ops >= ops_wanted, "ran {} ops, wanted {ops_wanted}", stats.ops);
        for kind in KINDS {
            let tally = stats.by_kind.get(kind).copied().unwrap_or_default();
            assert!(tally.ok > 0, "{kind} never succeeded: the simulation does not exercise it");
            assert!(tally.refused > 0, "{kind} was never refused: the simulation does not exercise it");
        }
        for rule in ["fraud_reports", "anomaly_receipts_new_region", "aml_fan_in"] {
            assert!(stats.rules_fired.contains_key(rule), "{rule} never fired: the simulation does not exercise it");
        }
    }
}

#[test]
fn an_episode_replays_exactly_from_its_seed() {
    let (mut a, mut b) = (Episode::new(0x7e57, 3), Episode::new(0x7e57, 3));
    a.tracing = true;
    b.tracing = true;
    for _ in 0..300 {
        a.step();
        b.step();
    }
    assert_eq!(a.trace, b.trace, "the same seed gives the same commands and answers");
    assert_eq!(fingerprint(&a.world), fingerprint(&b.world));
    let mut c = Episode::new(0x7e57, 4);
    c.tracing = true;
    for _ in 0..300 {
        c.step();
    }
    assert_ne!(a.trace, c.trace, "another episode takes another path");
}

/// Runs one episode, printing how to replay it if anything in it fails.
fn run_episode(seed: u64, episode: u64) -> Stats {
    let mut ep = Episode::new(seed, episode);
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        while ep.stats.ops < EPISODE_OPS {
            ep.step();
        }
        ep.finish();
    }));
    if let Err(cause) = result {
        eprintln!(
            "simulation failed: base seed {seed:#x}, episode {episode} (episode seed {:#x}), step {}, \
             at {} (+{} ms), last command {:?}\nreplay with HONGBAO_SIM_SEED={seed:#x} HONGBAO_SIM_EPISODE={episode}",
            episode_seed(seed, episode),
            ep.step,
            ep.now,
            ep.now.millis() - support::T0.millis(),
            ep.last,
        );
        panic::resume_unwind(cause);
    }
    ep.stats.episodes = 1;
    ep.stats
}

/// One episode: a world, the generator's memory of what it created, and the model the rules are
/// checked against.
struct Episode {
    world: World,
    limits: Limits,
    /// Chooses what to do next.
    dice: ChaCha8Rng,
    /// The core's random source (ids, lucky splits).
    core_rng: ChaCha8Rng,
    now: Timestamp,
    step: u64,
    last: Option<Command>,
    users: Vec<UserId>,
    groups: Vec<GroupId>,
    packets: Vec<PacketId>,
    claims: Vec<ClaimId>,
    transfers: Vec<TransferId>,
    documents: Vec<DocumentId>,
    freezes: Vec<FreezeId>,
    seizures: Vec<hongbao_core::SeizureId>,
    cases: Vec<hongbao_core::CaseId>,
    /// Every return request an answer named.
    returns: Vec<ReturnRequestId>,
    /// The refusal of the last command refused, for a payer who confirms.
    last_refusal: Option<CoreError>,
    replies: Vec<Reply>,
    /// The schedule of due work as a store keeps it: every change's deadlines applied in turn.
    schedule: BTreeMap<(DueKind, uuid::Uuid), Timestamp>,
    /// Money that entered and left the system through deposits and withdrawals.
    deposited: i128,
    withdrawn: i128,
    stats: Stats,
    /// A digest of the world after each step, when `tracing`, to compare two runs of one seed.
    trace: Vec<u64>,
    tracing: bool,
}

/// What a command's accounts looked like before it ran, to check what it did to them.
struct Before {
    print: u64,
    packet: Option<Packet>,
    claim: Option<hongbao_core::packet::Claim>,
    pending: Option<hongbao_core::ledger::PendingTransfer>,
    wallets: Vec<(UserId, Wallet)>,
}

impl Episode {
    fn new(seed: u64, episode: u64) -> Episode {
        let seed = episode_seed(seed, episode);
        Episode {
            world: World::genesis(),
            limits: sim_limits(),
            dice: ChaCha8Rng::seed_from_u64(seed),
            core_rng: ChaCha8Rng::seed_from_u64(mix(seed)),
            now: support::T0,
            step: 0,
            last: None,
            users: Vec::new(),
            groups: Vec::new(),
            packets: Vec::new(),
            claims: Vec::new(),
            transfers: Vec::new(),
            documents: Vec::new(),
            freezes: Vec::new(),
            seizures: Vec::new(),
            cases: Vec::new(),
            returns: Vec::new(),
            last_refusal: None,
            replies: Vec::new(),
            schedule: BTreeMap::new(),
            deposited: 0,
            withdrawn: 0,
            stats: Stats::default(),
            trace: Vec::new(),
            tracing: false,
        }
    }

    // ----- choosing -------------------------------------------------------------------------

    fn chance(&mut self, p: f64) -> bool {
        self.dice.random_bool(p)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        items.choose(&mut self.dice).copied()
    }

    /// Mostly one of the latest items, where the action is; sometimes any.
    fn pick_recent<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        if items.len() > 12 && self.chance(0.75) {
            let tail = &items[items.len() - 12..];
            return tail.choose(&mut self.dice).copied();
        }
        self.pick(items)
    }

    /// Mostly an item for which `wanted` holds (where the interesting cases are), sometimes any
    /// recent one.
    fn pick_where<T: Copy>(&mut self, items: &[T], wanted: impl Fn(&Episode, T) -> bool) -> Option<T> {
        if self.chance(0.75) {
            let fitting: Vec<T> = items.iter().copied().filter(|item| wanted(self, *item)).collect();
            if let Some(item) = self.pick_recent(&fitting) {
                return Some(item);
            }
        }
        self.pick_recent(items)
    }

    /// Any existing user ([`Episode::choose`] creates three before anything else).
    fn any_user(&mut self) -> UserId {
        let i = self.dice.random_range(0..self.users.len());
        self.users[i]
    }

    /// A user other than `user`, when there is one.
    fn other_user(&mut self, user: UserId) -> UserId {
        let others: Vec<UserId> = self.users.iter().copied().filter(|u| *u != user).collect();
        self.pick(&others).unwrap_or(user)
    }

    /// A user for whom `wanted` holds, mostly; any user otherwise.
    fn user_where(&mut self, wanted: impl Fn(&Episode, UserId) -> bool) -> UserId {
        let fitting: Vec<UserId> = self.users.iter().copied().filter(|u| wanted(self, *u)).collect();
        match self.pick(&fitting) {
            Some(user) if self.chance(0.9) => user,
            _ => self.any_user(),
        }
    }

    fn is_locked(&self, user: UserId) -> bool {
        self.world.user(user).expect("complete world").is_some_and(|u| u.status == UserStatus::Locked)
    }

    fn unknown_user(&mut self) -> UserId {
        UserId::mint(self.now, &mut self.dice)
    }

    fn packet(&self, id: PacketId) -> Option<&Packet> {
        self.world.packet(id).expect("complete world")
    }

    fn members(&self, group: GroupId) -> Vec<UserId> {
        self.world.group(group).expect("complete world").map(|g| g.members.clone()).unwrap_or_default()
    }

    fn wallet(&self, user: UserId) -> Wallet {
        wallet_of(&self.world, AccountId::wallet(user))
    }

    /// Who may see a packet: the sender, the group's members or the recipient.
    fn eligible(&self, packet: &Packet) -> Vec<UserId> {
        match packet.recipient() {
            Some(recipient) => vec![recipient],
            None => self.members(packet.group().expect("a group packet")),
        }
    }

    /// A user who may not see the packet at all, if there is one.
    fn stranger_to(&mut self, packet: &Packet) -> Option<UserId> {
        let eligible = self.eligible(packet);
        let strangers: Vec<UserId> =
            self.users.iter().copied().filter(|u| *u != packet.sender && !eligible.contains(u)).collect();
        self.pick(&strangers)
    }

    /// An amount to spend from `user`'s wallet: mostly affordable, sometimes not.
    fn amount_for(&mut self, user: UserId) -> i64 {
        let available = self.wallet(user).available;
        if available > 0 && self.chance(0.85) {
            self.dice.random_range(1..=available.min(50_000))
        } else {
            self.dice.random_range(1..=100_000)
        }
    }

    fn delay(&mut self) -> u32 {
        *[0, 0, 0, 7200, 86_400].choose(&mut self.dice).expect("not empty")
    }

    /// A greeting or note: usually fine, sometimes one character too long.
    fn text(&mut self) -> (Option<String>, bool) {
        match self.dice.random_range(0..10) {
            0..=4 => (None, false),
            5 => (Some("🧧".repeat(10)), false),
            6 => (Some("恭喜发财，大吉大利".into()), false),
            7 => (Some("x".repeat(64)), false),
            8 => (Some(String::new()), false),
            _ => (Some("福".repeat(65)), true),
        }
    }

    /// The next thing to happen: a command with what it must do, or a move of the clock.
    fn choose(&mut self) -> Option<(Command, Expect)> {
        use Expect::{Either, Refused};
        if self.users.len() < 3 {
            return Some((Command::CreateUser { name: format!("user {}", self.users.len()) }, Either));
        }
        let roll = self.dice.random_range(0..1120);
        let choice = match roll {
            0..=29 => {
                let name = match self.dice.random_range(0..12) {
                    0 => return Some((Command::CreateUser { name: String::new() }, Refused("invalid_request"))),
                    1 => return Some((Command::CreateUser { name: "名".repeat(65) }, Refused("invalid_request"))),
                    2 => "   ".to_owned(),
                    3 => {
                        let all = hongbao_core::principal::Role::ALL;
                        let roles: Vec<_> = all.iter().copied().filter(|_| self.dice.random_range(0..3) == 0).collect();
                        let expect = if roles.is_empty() { Refused("invalid_request") } else { Either };
                        return Some((Command::CreateOperator { name: "operator".to_owned(), roles }, expect));
                    }
                    _ => format!("user {}", self.users.len()),
                };
                let expect = if name.trim().is_empty() { Refused("invalid_request") } else { Either };
                (Command::CreateUser { name }, expect)
            }
            30..=59 => {
                let actor = self.any_user();
                let size = self.dice.random_range(1..=self.users.len().min(12));
                let mut members: Vec<UserId> = self.users.sample(&mut self.dice, size).copied().collect::<Vec<_>>();
                match self.dice.random_range(0..10) {
                    0 => {
                        members.push(self.unknown_user());
                        (Command::CreateGroup { actor, name: "g".into(), members }, Refused("invalid_request"))
                    }
                    1 => {
                        let actor = self.unknown_user();
                        (Command::CreateGroup { actor, name: "g".into(), members }, Refused("not_found"))
                    }
                    2 => (Command::CreateGroup { actor, name: String::new(), members }, Refused("invalid_request")),
                    _ => (Command::CreateGroup { actor, name: "family".into(), members }, Either),
                }
            }
            60..=139 => {
                let user = self.any_user();
                match self.dice.random_range(0..20) {
                    0 => (
                        Command::Deposit { user, amount: Fen::new(self.dice.random_range(-1000..=0)) },
                        Refused("invalid_request"),
                    ),
                    1 => (Command::Deposit { user: self.unknown_user(), amount: Fen::new(100) }, Refused("not_found")),
                    _ => (Command::Deposit { user, amount: Fen::new(self.dice.random_range(1..=200_000)) }, Either),
                }
            }
            140..=179 => {
                let actor = self.any_user();
                if self.chance(0.05) {
                    (Command::Withdraw { actor, amount: Fen::ZERO }, Refused("invalid_request"))
                } else {
                    let amount = Fen::new(self.amount_for(actor));
                    (Command::Withdraw { actor, amount }, Either)
                }
            }
            1060..=1119 => self.choose_return()?,
            180..=339 => self.choose_send(),
            340..=409 => self.choose_on_packet(|actor, packet| Command::OpenPacket { actor, packet }, false)?,
            410..=609 => self.choose_on_packet(|actor, packet| Command::ClaimPacket { actor, packet }, false)?,
            610..=659 => self.choose_on_packet(|actor, packet| Command::RecallPacket { actor, packet }, true)?,
            660..=699 => self.choose_on_claim(true)?,
            700..=739 => self.choose_on_claim(false)?,
            740..=819 => {
                let actor = self.any_user();
                let (note, too_long) = self.text();
                let mut delay = self.delay();
                let mut to = self.other_user(actor);
                let mut amount = self.amount_for(actor);
                match self.dice.random_range(0..25) {
                    0 => amount = -amount,
                    1 => to = actor,
                    2 => to = self.unknown_user(),
                    3 => delay = 3600,
                    _ => {}
                }
                // Input comes first; an unknown recipient is found only after the payer's lock.
                let bad_input = amount < 1 || to == actor || too_long || delay == 3600;
                let expect = if bad_input || (!self.is_locked(actor) && !self.users.contains(&to)) {
                    Refused("invalid_request")
                } else {
                    Either
                };
                (
                    Command::Transfer {
                        actor,
                        to,
                        amount: Fen::new(amount),
                        note,
                        arrival_delay_s: delay,
                        risk_confirmation: None,
                    },
                    expect,
                )
            }
            820..=849 => {
                let now = self.now;
                let open =
                    |ep: &Episode, t| ep.world.pending(t).expect("complete world").is_some_and(|p| p.is_open_at(now));
                let transfer = self.pick_where(&self.transfers.clone(), open)?;
                let (debit, credit) = {
                    let t = self.world.transfer(transfer).expect("complete world").expect("recorded transfer");
                    (t.debit, t.credit)
                };
                let sender = self.users.iter().copied().find(|u| AccountId::wallet(*u) == debit).expect("a user");
                let recipient = self.users.iter().copied().find(|u| AccountId::wallet(*u) == credit).expect("a user");
                match self.dice.random_range(0..20) {
                    0 => (Command::RevokeTransfer { actor: recipient, transfer }, Refused("forbidden")),
                    1 => {
                        let transfer = TransferId::mint(self.now, &mut self.dice);
                        (Command::RevokeTransfer { actor: sender, transfer }, Refused("not_found"))
                    }
                    _ => (Command::RevokeTransfer { actor: sender, transfer }, Either),
                }
            }
            850..=859 => {
                let user = if self.chance(0.05) { self.unknown_user() } else { self.any_user() };
                let expect = if self.users.contains(&user) { Either } else { Refused("not_found") };
                (lock(user), expect)
            }
            880..=889 => return self.choose_seizure(),
            860..=879 => {
                let user = if self.chance(0.05) { self.unknown_user() } else { self.user_where(Episode::is_locked) };
                let expect = if self.users.contains(&user) { Either } else { Refused("not_found") };
                (unlock(user), expect)
            }
            890..=897 => {
                let sha256: [u8; 32] = self.dice.random();
                match self.dice.random_range(0..10usize) {
                    0 => (register_document(sha256, self.now.plus_millis(1)), Refused("invalid_request")),
                    1 => {
                        let mut command = register_document(sha256, self.now);
                        if let Command::RegisterDocument { spec, .. } = &mut command {
                            spec.reference = " ".to_owned();
                        }
                        (command, Refused("invalid_request"))
                    }
                    n => {
                        let mut command = register_document(sha256, self.now.plus_millis(-86_400_000));
                        if let Command::RegisterDocument { spec, .. } = &mut command {
                            use hongbao_core::document::DocumentKind;
                            spec.kind = [
                                DocumentKind::CourtRuling,
                                DocumentKind::AssistanceNotice,
                                DocumentKind::ReleaseNotice,
                                DocumentKind::TransferOrder,
                            ][n % 4];
                        }
                        (command, Either)
                    }
                }
            }
            898..=904 => {
                let (officer, reason) = (support::officer(), "the court asked for proof".to_owned());
                match self.dice.random_range(0..10) {
                    0 => {
                        let document = DocumentId::mint(self.now, &mut self.dice);
                        (Command::RevealDocument { officer, document, reason }, Refused("not_found"))
                    }
                    1 => {
                        let document = self.pick(&self.documents.clone())?;
                        (
                            Command::RevealDocument { officer, document, reason: String::new() },
                            Refused("invalid_request"),
                        )
                    }
                    _ => (
                        Command::RevealDocument { officer, document: self.pick(&self.documents.clone())?, reason },
                        Either,
                    ),
                }
            }
            905..=924 => {
                let user = self.any_user();
                let available = self.wallet(user).available;
                let mut command = precautionary(user, None);
                let Command::PlaceFreeze { spec, .. } = &mut command else { unreachable!() };
                let expect = match self.dice.random_range(0..12) {
                    0 => {
                        spec.amount = Some(Fen::ZERO);
                        Refused("invalid_request")
                    }
                    1 => {
                        // A court freeze without its documents, or beyond its term.
                        spec.kind = hongbao_core::risk::FreezeKind::Court;
                        spec.documents = self.pick(&self.documents.clone()).into_iter().collect();
                        Refused("invalid_request")
                    }
                    2 => {
                        spec.expires_at = Some(self.now.plus_seconds(3 * 24 * 3_600));
                        Refused("invalid_request")
                    }
                    3 | 4 => Either,
                    _ => {
                        spec.amount = Some(Fen::new(self.dice.random_range(1..=available.max(0) * 2 + 100)));
                        if self.chance(0.3) {
                            spec.expires_at = Some(self.now.plus_seconds(self.dice.random_range(1..=48 * 3_600)));
                        }
                        Either
                    }
                };
                (command, expect)
            }
            940..=944 => {
                let freeze = self.pick(&self.freezes.clone())?;
                let (end, active) = {
                    let f = self.world.freeze(freeze).expect("complete world").expect("placed");
                    (f.expires_at, f.is_active())
                };
                // Another risk officer than the one who placed it, now and then the same one.
                let officer = if self.chance(0.9) { support::other_officer() } else { support::officer() };
                let end = end.unwrap_or(self.now);
                let expires_at = end.plus_seconds(self.dice.random_range(1..=3 * 24 * 3_600));
                let reason = "still under review".to_owned();
                let command =
                    Command::RenewFreeze { officer, legal: false, freeze, reason, documents: Vec::new(), expires_at };
                let _ = active;
                (command, Either)
            }
            945..=949 => {
                let freeze = self.pick(&self.freezes.clone())?;
                let kind = if self.chance(0.5) {
                    hongbao_core::risk::FreezeKind::Police
                } else {
                    hongbao_core::risk::FreezeKind::Court
                };
                let documents: Vec<DocumentId> = (0..2).filter_map(|_| self.pick(&self.documents.clone())).collect();
                let officer = support::officer();
                let reason = "a court took the case".to_owned();
                (Command::ConvertFreeze { officer, freeze, kind, reason, documents, expires_at: None }, Either)
            }
            925..=939 => {
                let freeze = self.pick(&self.freezes.clone())?;
                let (active, held, legal_hold) = {
                    let f = self.world.freeze(freeze).expect("complete world").expect("placed");
                    let legal_hold = matches!(
                        f.kind,
                        hongbao_core::risk::FreezeKind::Court | hongbao_core::risk::FreezeKind::Police
                    );
                    (f.is_active(), f.held.get(), legal_hold)
                };
                let amount = match self.dice.random_range(0..4) {
                    0 if held > 0 => Some(self.dice.random_range(1..=held)),
                    1 => Some(held + 1),
                    _ => None,
                };
                // A court or police freeze is released under a release notice only.
                let documents: Vec<DocumentId> = self.pick(&self.documents.clone()).into_iter().collect();
                let notice = documents.iter().any(|d| {
                    let d = self.world.document(*d).expect("complete world").expect("registered");
                    d.kind == hongbao_core::document::DocumentKind::ReleaseNotice
                });
                let expect = if !active {
                    Refused("conflict")
                } else if legal_hold && !notice {
                    Refused("invalid_request")
                } else if amount.is_some_and(|a| a > held) {
                    Refused("conflict")
                } else {
                    Either
                };
                if self.chance(0.05) {
                    let Command::ReleaseFreeze { freeze, legal, officer, amount, documents, .. } =
                        release(freeze, amount)
                    else {
                        unreachable!()
                    };
                    let reason = String::new();
                    let command = Command::ReleaseFreeze { officer, legal, freeze, reason, amount, documents };
                    return Some((command, Refused("invalid_request")));
                }
                let mut command = release(freeze, amount);
                if let Command::ReleaseFreeze { documents: cited, .. } = &mut command {
                    *cited = documents;
                }
                (command, expect)
            }
            950..=979 => {
                self.move_clock();
                return None;
            }
            1000..=1029 => return self.choose_report(),
            1030..=1039 => return self.choose_case(),
            1040..=1059 => return Some(self.choose_signal()),
            _ => {
                self.run_due_jobs();
                return None;
            }
        };
        Some(choice)
    }

    /// A fraud report: mostly by someone who paid the subject (a transfer or a claim on their
    /// packet), with evidence; sometimes malformed, or citing money someone else paid. Reports pile
    /// up on the users paid most, so the `fraud_reports` rule fires now and then.
    fn choose_report(&mut self) -> Option<(Command, Expect)> {
        use hongbao_core::case::Payment;
        use hongbao_core::ledger::TransferKind;
        let (reporter, subject, payment) = if self.chance(0.6) {
            let transfer = self.pick_recent(&self.transfers.clone())?;
            let t = self.world.transfer(transfer).expect("complete world").expect("recorded").clone();
            if t.kind != TransferKind::Transfer {
                return None;
            }
            let payer = self.users.iter().copied().find(|u| AccountId::wallet(*u) == t.debit)?;
            let payee = self.users.iter().copied().find(|u| AccountId::wallet(*u) == t.credit)?;
            (payer, payee, Payment::Transfer(transfer))
        } else {
            let claim = self.pick_recent(&self.claims.clone())?;
            let c = self.world.claim(claim).expect("complete world").expect("claimed").clone();
            let sender = self.packet(c.packet_id)?.sender;
            let cited = if self.chance(0.5) { Payment::Claim(claim) } else { Payment::Transfer(c.transfer_id) };
            (sender, c.user_id, cited)
        };
        let evidence: Vec<hongbao_core::EvidenceId> = (0..self.dice.random_range(0..=2))
            .map(|_| hongbao_core::EvidenceId::mint(self.now, &mut self.dice))
            .collect();
        let report = |reporter, subject, payments, description: &str| Command::FileReport {
            actor: reporter,
            subject,
            payments,
            description: description.to_owned(),
            evidence: evidence.clone(),
        };
        let said = "他说帮我投资，收钱后把我拉黑了\nthen blocked me";
        Some(match self.dice.random_range(0..20) {
            0 => (report(reporter, subject, vec![payment], " "), Expect::Refused("invalid_request")),
            1 => (report(reporter, subject, Vec::new(), said), Expect::Refused("invalid_request")),
            2 => (report(subject, subject, vec![payment], said), Expect::Refused("invalid_request")),
            3 => {
                // Money someone else paid: refused alike, whoever it was.
                let other = self.other_user(reporter);
                (report(other, subject, vec![payment], said), Expect::Refused("invalid_request"))
            }
            4 => (report(reporter, self.unknown_user(), vec![payment], said), Expect::Refused("not_found")),
            5 => (report(reporter, subject, vec![payment, payment], said), Expect::Refused("invalid_request")),
            _ => (report(reporter, subject, vec![payment], said), Expect::Either),
        })
    }

    /// A login signal about a user, from one of a few regions (the first ever is new; with the
    /// simulation's low `receipts_min`, the anomaly rule fires now and then); sometimes blank or
    /// about nobody.
    /// A return request: asked for a recent transfer or claim by its payer (now and then by
    /// someone else, for more than is left, or with a mediator who may not share a group), or
    /// answered, withdrawn or noted by one of its parties (now and then by the wrong one).
    fn choose_return(&mut self) -> Option<(Command, Expect)> {
        use Expect::{Either, Refused};
        let open_one = self.returns.is_empty() || self.chance(0.35);
        if open_one {
            let target = if self.chance(0.5) {
                Payment::Transfer(self.pick_recent(&self.transfers.clone())?)
            } else {
                Payment::Claim(self.pick_recent(&self.claims.clone())?)
            };
            let (payer, payee) = match target {
                Payment::Transfer(t) => {
                    let t = self.world.transfer(t).expect("complete world").expect("made");
                    (UserId::from_uuid(t.debit.uuid()), UserId::from_uuid(t.credit.uuid()))
                }
                Payment::Claim(c) => {
                    let c = self.world.claim(c).expect("complete world").expect("made").clone();
                    (self.packet(c.packet_id).expect("its packet").sender, c.user_id)
                }
            };
            let actor = if self.chance(0.1) { payee } else { payer };
            let amount = match self.dice.random_range(0..10) {
                0 => Some(Fen::ZERO),
                1..=4 => None,
                _ => Some(Fen::new(self.dice.random_range(1..=2_000))),
            };
            let mediator = if self.chance(0.3) { Some(self.any_user()) } else { None };
            let message = if self.chance(0.03) { " ".to_owned() } else { "please give it back".to_owned() };
            let bad = message.trim().is_empty() || amount == Some(Fen::ZERO);
            let expect = if bad { Refused("invalid_request") } else { Either };
            return Some((Command::OpenReturnRequest { actor, target, amount, message, mediator }, expect));
        }
        let request = self.pick_recent(&self.returns.clone())?;
        let r = self.world.return_request(request).expect("complete world").expect("opened").clone();
        let strangers: Vec<UserId> =
            self.users.iter().copied().filter(|&u| u != r.payer && u != r.payee && Some(u) != r.mediator).collect();
        let stranger = self.pick(&strangers);
        let someone = match self.dice.random_range(0..10) {
            0 if stranger.is_some() => stranger.expect("some"),
            1 => r.payer,
            2 => r.mediator.unwrap_or(r.payee),
            _ => r.payee,
        };
        let command = match self.dice.random_range(0..10) {
            0..=3 => Command::AcceptReturnRequest { actor: someone, request },
            4 | 5 => Command::DeclineReturnRequest { actor: someone, request, message: "it was a gift".to_owned() },
            6 => Command::WithdrawReturnRequest { actor: if self.chance(0.8) { r.payer } else { someone }, request },
            _ => Command::AddReturnNote { actor: someone, request, text: "let us talk".to_owned() },
        };
        let by_stranger = strangers.contains(&someone);
        let expect = if by_stranger && !matches!(command, Command::WithdrawReturnRequest { .. }) {
            Refused("not_found")
        } else {
            Either
        };
        Some((command, expect))
    }

    fn choose_signal(&mut self) -> (Command, Expect) {
        use hongbao_core::signal::Signal;
        const REGIONS: [&str; 6] = ["CN-GD", "CN-BJ", "CN-SH", "CN-XJ", "HK", "广东"];
        let login = |user, region: &str| Command::RecordSignal {
            user,
            signal: Signal::Login { region: region.to_owned(), device_id: "device 1".to_owned() },
        };
        let region = REGIONS[self.dice.random_range(0..REGIONS.len())];
        match self.dice.random_range(0..20) {
            0 => (login(self.any_user(), " "), Expect::Refused("invalid_request")),
            1 => (login(self.unknown_user(), region), Expect::Refused("not_found")),
            _ => (login(self.any_user(), region), Expect::Either),
        }
    }

    /// An officer's note on a case, or closing one, upheld or dismissed.
    fn choose_case(&mut self) -> Option<(Command, Expect)> {
        use hongbao_core::case::CaseOutcome;
        let case = self.pick_recent(&self.cases.clone())?;
        let officer = support::officer();
        let open = self.world.case(case).expect("complete world").is_some_and(|c| c.is_open());
        Some(match self.dice.random_range(0..10) {
            0 => (Command::AddCaseNote { officer, case, text: String::new() }, Expect::Refused("invalid_request")),
            1..=3 => {
                let text = "called the subject; no answer\n已电话联系".to_owned();
                (Command::AddCaseNote { officer, case, text }, Expect::Either)
            }
            n => {
                let outcome = if n % 2 == 0 { CaseOutcome::Upheld } else { CaseOutcome::Dismissed };
                let expect = if open { Expect::Either } else { Expect::Refused("invalid_state") };
                let reason = "the evidence was reviewed".to_owned();
                (Command::CloseCase { officer, case, outcome, reason }, expect)
            }
        })
    }

    /// A forced transfer: proposed by the officer, approved by another (sometimes by the same),
    /// rejected, of money some freeze may or may not hold.
    fn choose_seizure(&mut self) -> Option<(Command, Expect)> {
        let (first, second) = (support::officer(), support::other_officer());
        match self.dice.random_range(0..10) {
            0..=3 => {
                // Mostly the money of a court or police freeze, under a transfer order.
                let seizable: Vec<FreezeId> = self
                    .world
                    .freezes()
                    .filter(|f| {
                        f.is_active()
                            && f.held.is_positive()
                            && f.kind.needs_document()
                            && f.kind != hongbao_core::risk::FreezeKind::EmergencyStop
                    })
                    .map(|f| f.id)
                    .collect();
                let mut seizable = seizable;
                seizable.sort_unstable();
                let freeze = match self.pick(&seizable) {
                    Some(freeze) if self.chance(0.8) => freeze,
                    _ => self.pick(&self.freezes.clone())?,
                };
                let held = self.world.freeze(freeze).expect("complete world").expect("placed").held.get();
                let amount = Fen::new(match self.dice.random_range(0..10) {
                    // All of it, some of it, or more than it holds.
                    0..=2 => held.max(1),
                    3..=8 => self.dice.random_range(1..=held.max(1)),
                    _ => held + 1,
                });
                let to = match self.pick(&self.users.clone()) {
                    Some(user) if self.chance(0.7) => hongbao_core::seizure::SeizureTarget::User(user),
                    _ => hongbao_core::seizure::SeizureTarget::External,
                };
                let orders: Vec<DocumentId> = self
                    .documents
                    .iter()
                    .copied()
                    .filter(|d| {
                        let d = self.world.document(*d).expect("complete world").expect("registered");
                        d.kind == hongbao_core::document::DocumentKind::TransferOrder
                    })
                    .collect();
                let documents: Vec<DocumentId> = match self.pick(&orders) {
                    Some(order) if self.chance(0.85) => vec![order],
                    _ => self.pick(&self.documents.clone()).into_iter().collect(),
                };
                let reason = "the court ordered it".to_owned();
                Some((
                    Command::ProposeSeizure { officer: first, freeze, amount, to, reason, documents },
                    Expect::Either,
                ))
            }
            4..=7 => {
                let seizure = self.pick(&self.seizures.clone())?;
                let officer = if self.chance(0.9) { second } else { first };
                let expect = if officer == first { Expect::Refused("forbidden") } else { Expect::Either };
                let awaiting =
                    self.world.seizure(seizure).expect("complete world").is_some_and(|s| s.is_open_at(self.now));
                let expect = if awaiting { expect } else { Expect::Refused("invalid_state") };
                Some((Command::ApproveSeizure { officer, seizure }, expect))
            }
            _ => {
                let seizure = self.pick(&self.seizures.clone())?;
                let reason = "the order was withdrawn".to_owned();
                Some((Command::RejectSeizure { officer: second, seizure, reason }, Expect::Either))
            }
        }
    }

    fn choose_send(&mut self) -> (Command, Expect) {
        let actor = self.any_user();
        let (greeting, too_long) = self.text();
        let mut delay = self.delay();
        let mine: Vec<GroupId> = self.groups.iter().copied().filter(|g| self.members(*g).contains(&actor)).collect();
        let mut group = self.pick(&mine);
        let size = group.map_or(1, |g| self.members(g).len());
        let mut count = u32::try_from(self.dice.random_range(1..=size.min(20))).expect("at most 20");
        let mut share = self.dice.random_range(1..=2_000i64);
        let mut recipient = self.other_user(actor);
        match self.dice.random_range(0..40) {
            0 => count = 0,
            1 => count = 101,
            2 => share = 20_001,
            3 => share = -share,
            4 => delay = 60,
            5 => group = Some(GroupId::mint(self.now, &mut self.dice)),
            6 => recipient = actor,
            // More shares than the group has members: refused once the group is known.
            7 => count = u32::try_from(size + 1).expect("small"),
            _ => {}
        }
        let counts = 1..=self.limits.count_max;
        let shares = self.limits.share_min_fen..=self.limits.share_max_fen;
        let (spec, bad_spec) = match (self.dice.random_range(0..3), group) {
            (0, Some(group_id)) => {
                let bad = !counts.contains(&count) || !shares.contains(&share);
                (PacketSpec::Normal { group_id, count, amount_each: Fen::new(share) }, bad)
            }
            (1, Some(group_id)) => {
                // A lucky total of `count` shares of about `share` each, sometimes at the edges of
                // what can be split: every share 1 fen, or every share the maximum.
                let bad = !counts.contains(&count) || !shares.contains(&share);
                let per_share = match self.dice.random_range(0..20) {
                    0 | 1 if !bad => self.limits.share_min_fen,
                    2 if !bad => self.limits.share_max_fen,
                    _ => share,
                };
                let total = i64::from(count) * per_share;
                (PacketSpec::Lucky { group_id, count, total: Fen::new(total) }, bad)
            }
            _ => {
                let bad = !shares.contains(&share) || recipient == actor;
                (PacketSpec::Exclusive { recipient, amount: Fen::new(share) }, bad)
            }
        };
        // Input is checked before any state, so bad input is refused the same way every time.
        let bad_input = bad_spec || too_long || !self.limits.arrival_delays_s.contains(&delay);
        let expect = if bad_input { Expect::Refused("invalid_request") } else { Expect::Either };
        (Command::SendPacket { actor, spec, greeting, arrival_delay_s: delay, risk_confirmation: None }, expect)
    }

    /// A command about a packet: mostly by someone who may see it, sometimes by its sender, a
    /// stranger, another member (a recall), or about a packet that does not exist.
    fn choose_on_packet(
        &mut self,
        make: fn(UserId, PacketId) -> Command,
        is_recall: bool,
    ) -> Option<(Command, Expect)> {
        use Expect::{Either, Refused};
        let now = self.now;
        let id = if is_recall {
            self.pick_where(&self.packets.clone(), |ep, p| {
                ep.packet(p).is_some_and(|p| recall_reason(p, now).is_none())
            })?
        } else {
            self.pick_where(&self.packets.clone(), |ep, p| {
                ep.packet(p).is_some_and(|p| p.status_at(now) == PacketStatus::Active)
            })?
        };
        let packet = self.packet(id).expect("recorded packet").clone();
        let eligible = self.eligible(&packet);
        let others: Vec<UserId> = eligible.iter().copied().filter(|u| *u != packet.sender).collect();
        let sender = packet.sender;
        let (command, expect) = match self.dice.random_range(0..20) {
            0 => (make(sender, PacketId::mint(self.now, &mut self.dice)), Refused("not_found")),
            1 | 2 => match self.stranger_to(&packet) {
                Some(stranger) => (make(stranger, id), Refused("not_found")),
                None => (make(sender, id), Either),
            },
            3 | 4 if is_recall => match self.pick(&others) {
                Some(member) => (make(member, id), Refused("forbidden")),
                None => (make(sender, id), Either),
            },
            _ if is_recall => (make(sender, id), Either),
            3..=5 => (make(sender, id), Either),
            _ => {
                let fresh: Vec<UserId> =
                    eligible.iter().copied().filter(|u| matches!(self.world.claim_of(id, *u), Ok(None))).collect();
                let actor = match self.pick(&fresh) {
                    Some(actor) if self.chance(0.8) => actor,
                    _ => self.pick(&eligible).expect("someone is eligible"),
                };
                (make(actor, id), Either)
            }
        };
        // Claiming twice is refused the same way whatever the packet's state.
        let expect = match &command {
            Command::ClaimPacket { actor, packet } if matches!(self.world.claim_of(*packet, *actor), Ok(Some(_))) => {
                Refused("already_claimed")
            }
            _ => expect,
        };
        Some((command, expect))
    }

    /// A command about a claim: revoke (`by_sender`) or return, mostly by the one allowed to.
    fn choose_on_claim(&mut self, by_sender: bool) -> Option<(Command, Expect)> {
        let now = self.now;
        let wanted = if by_sender { ClaimStatus::Pending } else { ClaimStatus::Arrived };
        let id = self.pick_where(&self.claims.clone(), |ep, c| {
            ep.world.claim(c).expect("complete world").is_some_and(|c| c.status_at(now) == wanted)
        })?;
        let claim = self.world.claim(id).expect("complete world").expect("recorded claim").clone();
        let sender = self.packet(claim.packet_id).expect("claim's packet").sender;
        let (allowed, other) = if by_sender { (sender, claim.user_id) } else { (claim.user_id, sender) };
        let roll = self.dice.random_range(0..20);
        let (actor, claim_id, expect) = match roll {
            0 => (allowed, ClaimId::mint(self.now, &mut self.dice), Expect::Refused("not_found")),
            1 | 2 if other != allowed => (other, id, Expect::Refused("forbidden")),
            3 => {
                let strangers: Vec<UserId> =
                    self.users.iter().copied().filter(|u| *u != allowed && *u != other).collect();
                match self.pick(&strangers) {
                    Some(stranger) => (stranger, id, Expect::Refused("not_found")),
                    None => (allowed, id, Expect::Either),
                }
            }
            _ => (allowed, id, Expect::Either),
        };
        let command = if by_sender {
            Command::RevokeClaim { actor, claim: claim_id }
        } else {
            Command::ReturnClaim { actor, claim: claim_id }
        };
        Some((command, expect))
    }

    // ----- the clock and the jobs -----------------------------------------------------------

    fn move_clock(&mut self) {
        let millis = match self.dice.random_range(0..20) {
            0..=10 => self.dice.random_range(1..=600_000),
            11..=16 => self.dice.random_range(3_600_000..=3 * 3_600_000),
            17 => self.dice.random_range(86_400_000..=90_000_000),
            // Exactly onto a deadline, or one millisecond before it: the boundaries of the rules.
            _ => {
                let now = self.now;
                let mut deadlines: Vec<Timestamp> = self.world.packets().map(|p| p.expires_at).collect();
                deadlines.extend(self.world.pendings().map(|p| p.deadline()));
                deadlines.retain(|d| *d > now);
                deadlines.sort_unstable();
                let to = self.pick(&deadlines).unwrap_or(now.plus_millis(1));
                let to = if self.chance(0.3) { to.plus_millis(-1) } else { to };
                (to.millis() - now.millis()).max(1)
            }
        };
        self.now = self.now.plus_millis(millis);
        self.stats.clock_moves += 1;
        if self.tracing {
            self.trace.push(millis.unsigned_abs());
        }
        // The engine runs its jobs soon, but not always before the next request.
        if self.chance(0.6) {
            self.run_due_jobs();
        }
    }

    /// The background jobs as the engine finds them: scan for due work, then run each item,
    /// sometimes twice at the same instant (a second node, a retry) — which must do nothing.
    fn run_due_jobs(&mut self) {
        let now = self.now;
        let mut packets: Vec<PacketId> = self
            .world
            .packets()
            .filter(|p| p.status == PacketStatus::Active && p.expires_at <= now)
            .map(|p| p.id)
            .collect();
        let mut pendings: Vec<TransferId> = self
            .world
            .pendings()
            .filter(|p| p.status == PendingStatus::Pending && p.deadline() <= now)
            .map(|p| p.transfer.id)
            .collect();
        // Hash maps iterate in a different order every process: sort, so a seed replays.
        packets.sort_unstable();
        pendings.sort_unstable();
        let mut jobs: Vec<Command> = packets.into_iter().map(|packet| Command::ExpirePacket { packet }).collect();
        jobs.extend(pendings.into_iter().map(|transfer| Command::SettlePending { transfer }));
        let mut freezes: Vec<FreezeId> = self
            .world
            .freezes()
            .filter(|f| f.is_active() && f.expires_at.is_some_and(|at| at <= now))
            .map(|f| f.id)
            .collect();
        freezes.sort_unstable();
        jobs.extend(freezes.into_iter().map(|freeze| Command::ExpireFreeze { freeze }));
        let mut seizures: Vec<hongbao_core::SeizureId> = self
            .world
            .seizures()
            .filter(|s| s.status == hongbao_core::seizure::SeizureStatus::AwaitingApproval && s.expires_at <= now)
            .map(|s| s.id)
            .collect();
        seizures.sort_unstable();
        jobs.extend(seizures.into_iter().map(|seizure| Command::ExpireSeizure { seizure }));
        let mut returns: Vec<ReturnRequestId> =
            self.world.return_requests().filter(|r| r.is_open() && r.expires_at <= now).map(|r| r.id).collect();
        returns.sort_unstable();
        jobs.extend(returns.into_iter().map(|request| Command::ExpireReturnRequest { request }));
        // Sometimes a job for something that is not due, or no longer is.
        if self.chance(0.3) {
            if let Some(packet) = self.pick(&self.packets.clone()) {
                jobs.push(Command::ExpirePacket { packet });
            }
            let claims = self.claims.clone();
            if let Some(claim) = self.pick(&claims) {
                let transfer = self.world.claim(claim).expect("complete world").expect("recorded").transfer_id;
                jobs.push(Command::SettlePending { transfer });
            }
            if let Some(transfer) = self.pick(&self.transfers.clone()) {
                jobs.push(Command::SettlePending { transfer });
            }
            if let Some(freeze) = self.pick(&self.freezes.clone()) {
                jobs.push(Command::ExpireFreeze { freeze });
            }
            if let Some(seizure) = self.pick(&self.seizures.clone()) {
                jobs.push(Command::ExpireSeizure { seizure });
            }
            if let Some(request) = self.pick(&self.returns.clone()) {
                jobs.push(Command::ExpireReturnRequest { request });
            }
        }
        for job in jobs {
            self.execute(job.clone(), Expect::Either);
            if self.chance(0.25) {
                let reply = self.execute(job.clone(), Expect::Either);
                assert_eq!(reply, Some(Reply::Settled { changed: false }), "{job:?} ran twice at {now}");
            }
        }
    }

    // ----- running and checking -------------------------------------------------------------

    fn step(&mut self) {
        if let Some((command, expect)) = self.choose() {
            let reply = self.execute(command.clone(), expect);
            // A proposal is mostly decided soon, by the second officer (proposals are rare: the
            // court or police freeze they need comes from a conversion).
            if let (Command::ProposeSeizure { .. }, Some(Reply::Seizure(view))) = (&command, &reply)
                && self.chance(0.6)
            {
                let approve = Command::ApproveSeizure { officer: support::other_officer(), seizure: view.seizure_id };
                self.execute(approve, Expect::Either);
            }
            // A payer asked to confirm mostly does, with the confirmation the refusal named;
            // now and then twice, which the second time is refused as used.
            if let Some(CoreError::RiskConfirmationRequired { confirmation, .. }) = self.last_refusal.take()
                && self.chance(0.8)
            {
                let confirmed = with_confirmation(command, confirmation);
                let paid = self.execute(confirmed.clone(), Expect::Either).is_some();
                if paid && self.chance(0.1) {
                    self.execute(confirmed, Expect::Refused("conflict"));
                }
            }
        }
    }

    fn before(&self, command: &Command) -> Before {
        let mut users: Vec<UserId> = Vec::new();
        let (mut packet, mut claim, mut pending) = (None, None, None);
        match command {
            Command::CreateUser { .. }
            | Command::CreateOperator { .. }
            | Command::RegisterDocument { .. }
            | Command::RevealDocument { .. } => {}
            Command::CreateGroup { actor, .. } => users.push(*actor),
            Command::Deposit { user, .. } | Command::LockUser { user, .. } | Command::UnlockUser { user, .. } => {
                users.push(*user)
            }
            Command::PlaceFreeze { spec, .. } => users.push(spec.user),
            Command::FileReport { actor, subject, .. } => users.extend([*actor, *subject]),
            Command::RecordSignal { user, .. } => users.push(*user),
            Command::AddCaseNote { case, .. } | Command::CloseCase { case, .. } => {
                if let Some(c) = self.world.case(*case).expect("complete world") {
                    users.push(c.subject);
                }
            }
            Command::ApproveSeizure { seizure, .. }
            | Command::RejectSeizure { seizure, .. }
            | Command::ExpireSeizure { seizure } => {
                if let Some(s) = self.world.seizure(*seizure).expect("complete world") {
                    users.push(s.user_id);
                    if let hongbao_core::seizure::SeizureTarget::User(to) = s.to {
                        users.push(to);
                    }
                }
            }
            Command::ReleaseFreeze { freeze, .. }
            | Command::ExpireFreeze { freeze }
            | Command::RenewFreeze { freeze, .. }
            | Command::ConvertFreeze { freeze, .. }
            | Command::ProposeSeizure { freeze, .. } => {
                if let Some(f) = self.world.freeze(*freeze).expect("complete world") {
                    users.push(f.user_id);
                }
            }
            Command::Withdraw { actor, .. } => users.push(*actor),
            Command::SendPacket { actor, .. } => users.push(*actor),
            Command::OpenPacket { actor, packet: id }
            | Command::ClaimPacket { actor, packet: id }
            | Command::RecallPacket { actor, packet: id } => {
                users.push(*actor);
                packet = self.packet(*id).cloned();
            }
            Command::RevokeClaim { actor, claim: id } | Command::ReturnClaim { actor, claim: id } => {
                users.push(*actor);
                claim = self.world.claim(*id).expect("complete world").cloned();
            }
            Command::Transfer { actor, to, .. } => users.extend([*actor, *to]),
            Command::RevokeTransfer { transfer, .. } | Command::SettlePending { transfer } => {
                pending = self.world.pending(*transfer).expect("complete world").cloned();
            }
            Command::ExpirePacket { packet: id } => packet = self.packet(*id).cloned(),
            Command::OpenReturnRequest { actor, target, .. } => {
                users.push(*actor);
                match target {
                    Payment::Transfer(t) => {
                        if let Some(t) = self.world.transfer(*t).expect("complete world") {
                            users.extend([t.debit, t.credit].map(|a| UserId::from_uuid(a.uuid())));
                            if let Some(c) = t.claim_id {
                                claim = self.world.claim(c).expect("complete world").cloned();
                            }
                        }
                    }
                    Payment::Claim(c) => claim = self.world.claim(*c).expect("complete world").cloned(),
                }
            }
            Command::AcceptReturnRequest { actor, request }
            | Command::DeclineReturnRequest { actor, request, .. }
            | Command::WithdrawReturnRequest { actor, request }
            | Command::AddReturnNote { actor, request, .. } => {
                users.push(*actor);
                if let Some(r) = self.world.return_request(*request).expect("complete world") {
                    users.extend([r.payer, r.payee]);
                }
            }
            Command::ExpireReturnRequest { request } => {
                if let Some(r) = self.world.return_request(*request).expect("complete world") {
                    users.extend([r.payer, r.payee]);
                }
            }
        }
        if let Some(c) = &claim {
            packet = self.packet(c.packet_id).cloned();
            users.push(c.user_id);
        }
        if let Some(p) = &packet {
            users.push(p.sender);
        }
        if let Some(p) = &pending {
            for user in &self.users {
                if [p.transfer.debit, p.transfer.credit].contains(&AccountId::wallet(*user)) {
                    users.push(*user);
                }
            }
        }
        users.sort_unstable();
        users.dedup();
        let wallets = users.into_iter().map(|u| (u, self.wallet(u))).collect();
        Before { print: fingerprint(&self.world), packet, claim, pending, wallets }
    }

    /// Writes a batch's changes of schedule as the stores do: upsert a deadline, delete one no
    /// longer due. A change that names nothing to delete is a bug of the world's bookkeeping.
    fn keep_schedule(&mut self, deadlines: &[Deadline]) {
        for deadline in deadlines {
            let key = (deadline.kind, deadline.id);
            match deadline.at {
                Some(at) => {
                    self.schedule.insert(key, at);
                }
                None => assert!(self.schedule.remove(&key).is_some(), "{deadline:?} removes what was never scheduled"),
            }
        }
    }

    /// Runs one command, checks everything the simulation can see, and returns the answer.
    fn execute(&mut self, command: Command, expect: Expect) -> Option<Reply> {
        self.step += 1;
        self.stats.ops += 1;
        self.last = Some(command.clone());
        let kind = command.kind();
        let before = self.before(&command);
        let result = support::run(&mut self.world, &self.limits, &mut self.core_rng, self.now, &command);
        let changes = self.world.take_changes();
        self.keep_schedule(&changes.deadlines);

        let violations = invariants::check(&self.world, &self.limits);
        assert!(violations.is_empty(), "invariants broken after {command:?} -> {result:?}:\n{}", join(&violations));
        let scheduled: Vec<DueItem> = self.schedule.iter().map(|(&(kind, id), &at)| DueItem { at, kind, id }).collect();
        let violations = invariants::check_deadlines(&self.world, &scheduled);
        assert!(violations.is_empty(), "schedule wrong after {command:?} -> {result:?}:\n{}", join(&violations));

        let reply = match result {
            Err(err) => {
                self.stats.by_kind.entry(kind).or_default().refused += 1;
                *self.stats.refusals.entry((kind, err.code())).or_default() += 1;
                assert!(!command.is_job(), "a job is never refused, but {command:?} got {err:?}");
                assert_eq!(fingerprint(&self.world), before.print, "refused {command:?} ({err:?}) changed the world");
                assert!(changes.is_empty(), "refused {command:?} ({err:?}) left rows to write: {changes:?}");
                if let Expect::Refused(code) = expect {
                    assert_eq!(err.code(), code, "{command:?} should be refused as {code}, got {err:?}");
                }
                self.check_refusal(&command, &before, &err);
                self.last_refusal = Some(err.clone());
                self.check_money_in_the_system();
                if self.tracing {
                    self.trace.push(fingerprint(&self.world) ^ 1);
                }
                return None;
            }
            Ok(reply) => reply,
        };
        assert_eq!(expect, Expect::Either, "{command:?} should have been refused, but answered {reply:?}");
        let violations = invariants::check_replies(&self.world, [&reply]);
        assert!(violations.is_empty(), "{command:?} answered {reply:?}:\n{}", join(&violations));
        let counted = match reply {
            Reply::Settled { changed } => changed,
            _ => true,
        };
        let tally = self.stats.by_kind.entry(kind).or_default();
        if counted {
            tally.ok += 1;
        } else {
            tally.refused += 1;
        }
        self.check_success(&command, &before, &reply, &changes);
        self.check_money_in_the_system();
        self.remember(&reply, &changes);
        self.check_rules_fired(&changes);
        self.replies.push(reply.clone());
        if self.tracing {
            self.trace.push(fingerprint(&self.world));
        }
        Some(reply)
    }

    /// Double entry seen from outside: the money inside the system is what came in minus what
    /// went out, and the external account holds exactly the opposite.
    fn check_money_in_the_system(&self) {
        let mut inside = 0i128;
        let mut outside = 0i128;
        for account in self.world.accounts() {
            let balance = i128::from(account.balance().expect("fits").get());
            if account.kind == AccountKind::External {
                outside += balance;
            } else {
                inside += balance;
            }
        }
        let expected = self.deposited - self.withdrawn;
        assert_eq!(inside, expected, "money inside is not deposits − withdrawals");
        assert_eq!(outside, -expected, "the external account does not mirror the money inside");
    }

    /// What a rule that fired in this command's entry did: the anomaly rule's subject is locked,
    /// with an active anomaly freeze of their whole wallet and an open anomaly case citing it.
    fn check_rules_fired(&mut self, changes: &hongbao_core::Changes) {
        for event in &changes.events {
            let EventKind::RuleFired { rule, user_id, case_id, .. } = &event.what else { continue };
            *self.stats.rules_fired.entry(rule.clone()).or_default() += 1;
            let case = self.world.case(*case_id).expect("complete world").expect("the case it names");
            assert_eq!(case.subject, *user_id);
            if rule == "anomaly_receipts_new_region" {
                assert!(self.is_locked(*user_id), "the anomaly rule locks");
                assert_eq!((case.kind, case.is_open()), (hongbao_core::case::CaseKind::Anomaly, true));
                let freeze = case.freezes().next().expect("an anomaly case cites its freeze");
                let f = self.world.freeze(freeze).expect("complete world").expect("placed").clone();
                assert_eq!((f.kind, f.amount, f.user_id), (hongbao_core::risk::FreezeKind::Anomaly, None, *user_id));
                assert!(f.is_active() && f.created_by.is_none() && f.expires_at.is_none(), "{f:?}");
            }
        }
    }

    fn remember(&mut self, reply: &Reply, changes: &hongbao_core::Changes) {
        // What the rules opened and placed in the same entry, whatever the command was.
        for event in &changes.events {
            match &event.what {
                EventKind::RuleFired { case_id, .. } if !self.cases.contains(case_id) => self.cases.push(*case_id),
                EventKind::FreezePlaced { freeze_id, .. } if !self.freezes.contains(freeze_id) => {
                    self.freezes.push(*freeze_id)
                }
                _ => {}
            }
        }
        match reply {
            Reply::User(u) => self.users.push(u.user_id),
            Reply::Group(g) => self.groups.push(g.group_id),
            Reply::Packet(p) if !self.packets.contains(&p.packet_id) => self.packets.push(p.packet_id),
            Reply::Claimed(c) => self.claims.push(c.claim_id),
            Reply::Transfer(t) if t.status != TransferStatus::Revoked => self.transfers.push(t.transfer_id),
            Reply::DocumentRegistered(d) => self.documents.push(d.document_id),
            Reply::Freeze(f) if !self.freezes.contains(&f.freeze_id) => self.freezes.push(f.freeze_id),
            Reply::Seizure(s) if !self.seizures.contains(&s.seizure_id) => self.seizures.push(s.seizure_id),
            Reply::Report(r) => {
                if let Some(case) = r.case_id.filter(|c| !self.cases.contains(c)) {
                    self.cases.push(case);
                }
            }
            Reply::ReturnRequest(r) if !self.returns.contains(&r.id) => self.returns.push(r.id),
            _ => {}
        }
    }

    fn wallet_before(before: &Before, user: UserId) -> Wallet {
        before.wallets.iter().find(|(u, _)| *u == user).map(|(_, w)| *w).expect("wallet recorded before")
    }

    /// What a refusal tells about the state before it, checked against that state.
    fn check_refusal(&self, command: &Command, before: &Before, err: &CoreError) {
        let now = self.now;
        match (command, err) {
            (Command::RecallPacket { .. }, CoreError::RecallNotAllowed { reason }) => {
                let packet = before.packet.as_ref().expect("a refused recall names a packet");
                assert_eq!(Some(*reason), recall_reason(packet, now), "recall of {packet:?} at {now}");
            }
            (Command::ClaimPacket { .. }, CoreError::PacketExhausted) => {
                let packet = before.packet.as_ref().expect("packet");
                assert_eq!(packet.status, PacketStatus::Exhausted);
            }
            (Command::ClaimPacket { .. }, CoreError::PacketExpired) => {
                let packet = before.packet.as_ref().expect("packet");
                assert!(!open_at(packet, now) && packet.status != PacketStatus::Exhausted, "{packet:?} at {now}");
            }
            (Command::ClaimPacket { .. }, CoreError::PacketRecalled) => {
                assert_eq!(before.packet.as_ref().expect("packet").status, PacketStatus::Recalled);
            }
            (Command::RevokeClaim { .. }, CoreError::NotPending) => {
                let claim = before.claim.as_ref().expect("claim");
                assert!(!pending_at(claim, now), "a pending claim was not revocable: {claim:?} at {now}");
            }
            (_, CoreError::InsufficientFunds { needed, available }) => {
                assert!(available < needed, "{err:?}");
            }
            (_, CoreError::AccountFrozen { reason: FrozenReason::Held }) => {
                // Only money a freeze holds stood in the way: it is a wallet with frozen money.
                let actor = Self::payer(command);
                assert!(self.wallet(actor).frozen > 0, "{command:?} refused as held, with nothing frozen");
            }
            (_, CoreError::AccountFrozen { reason: FrozenReason::Locked }) => {
                let user = self.world.user(Self::payer(command)).expect("complete world").expect("actor exists");
                assert_eq!(user.status, UserStatus::Locked);
            }
            _ => {}
        }
    }

    /// Who pays in a command that a lock or a hold can refuse.
    fn payer(command: &Command) -> UserId {
        match command {
            Command::Withdraw { actor, .. }
            | Command::SendPacket { actor, .. }
            | Command::ClaimPacket { actor, .. }
            | Command::ReturnClaim { actor, .. }
            | Command::AcceptReturnRequest { actor, .. }
            | Command::Transfer { actor, .. } => *actor,
            other => panic!("{other:?} is not refused for a locked or held account"),
        }
    }

    /// What a success must have done to the accounts it touched.
    fn check_success(&mut self, command: &Command, before: &Before, reply: &Reply, changes: &hongbao_core::Changes) {
        let now = self.now;
        // A locked account pays nothing: whoever paid was active.
        let payer = match command {
            Command::Withdraw { actor, .. }
            | Command::SendPacket { actor, .. }
            | Command::ClaimPacket { actor, .. }
            | Command::ReturnClaim { actor, .. }
            | Command::AcceptReturnRequest { actor, .. }
            | Command::Transfer { actor, .. } => Some(*actor),
            _ => None,
        };
        // (The anomaly rule may lock a claimant in the same entry, after the share arrived.)
        let locked_here = |user| {
            changes.events.iter().any(|e| matches!(e.what, EventKind::UserLocked { user_id, .. } if user_id == user))
        };
        if let Some(payer) = payer {
            assert!(!self.is_locked(payer) || locked_here(payer), "{command:?} succeeded for a locked account");
        }
        let moved = changes.transfers.len();
        let wallet = |ep: &Episode, user: UserId| ep.wallet(user);
        match (command, reply) {
            (Command::CreateUser { .. }, Reply::User(u)) => {
                assert_eq!(wallet(self, u.user_id), Wallet::default());
            }
            (Command::CreateOperator { roles, .. }, Reply::Operator(o)) => {
                assert!(!o.roles.is_empty() && o.roles.iter().all(|r| roles.contains(r)));
                assert_eq!(moved, 0, "an operator holds no money");
                assert!(matches!(self.world.principal(o.key_id), Ok(Some(p)) if p.user().is_none()));
            }
            (Command::CreateGroup { actor, .. }, Reply::Group(g)) => {
                assert!(g.members.contains(actor), "the creator is a member");
            }
            (Command::Deposit { user, amount }, Reply::Moved(m)) => {
                self.deposited += i128::from(amount.get());
                let was = Self::wallet_before(before, *user);
                assert_eq!(wallet(self, *user).balance, was.balance + amount.get());
                assert_eq!(m.balance.get(), was.balance + amount.get());
                assert_eq!(moved, 1);
            }
            (Command::Withdraw { actor, amount }, Reply::Moved(m)) => {
                self.withdrawn += i128::from(amount.get());
                let was = Self::wallet_before(before, *actor);
                assert!(was.available >= amount.get(), "withdrew more than was available");
                assert_eq!(m.balance.get(), was.balance - amount.get());
                assert_eq!(moved, 1);
            }
            (Command::SendPacket { actor, spec, arrival_delay_s, .. }, Reply::Packet(view)) => {
                let total = match *spec {
                    PacketSpec::Normal { count, amount_each, .. } => amount_each.get() * i64::from(count),
                    PacketSpec::Lucky { total, .. } => total.get(),
                    PacketSpec::Exclusive { amount, .. } => amount.get(),
                };
                assert_eq!(view.total.get(), total);
                let was = Self::wallet_before(before, *actor);
                assert_eq!(wallet(self, *actor).balance, was.balance - total, "the sender paid the total");
                let packet = self.packet(view.packet_id).expect("sent packet");
                assert_eq!(packet.status, PacketStatus::Active);
                assert_eq!(packet.expires_at, now.plus_seconds(self.limits.expiry_s));
                assert_eq!(packet.arrival_delay_s, *arrival_delay_s);
                assert_eq!(wallet_of(&self.world, AccountId::escrow(packet.id)).balance, total);
                assert_eq!(moved, 1);
            }
            (Command::OpenPacket { actor, .. }, Reply::Packet(view)) => {
                let was = before.packet.as_ref().expect("packet");
                let is = self.packet(view.packet_id).expect("packet");
                assert_eq!(is.touched, was.touched || *actor != was.sender, "only a recipient touches");
                assert_eq!(moved, 0);
            }
            (Command::ClaimPacket { actor, .. }, Reply::Claimed(receipt)) => {
                let was = before.packet.as_ref().expect("packet");
                assert!(open_at(was, now), "claimed a packet that was not open: {was:?} at {now}");
                let share = was.shares[was.claimed_count as usize];
                assert_eq!(receipt.amount, share, "a claim pays exactly the share at its position");
                assert!(receipt.amount <= self.limits.share_max());
                let mine = Self::wallet_before(before, *actor);
                let now_mine = wallet(self, *actor);
                if was.arrival_delay_s == 0 {
                    assert_eq!(receipt.status, ClaimStatus::Arrived);
                    assert_eq!(now_mine.balance, mine.balance + share.get());
                } else {
                    assert_eq!(receipt.status, ClaimStatus::Pending);
                    assert_eq!(receipt.arrives_at, now.plus_seconds(was.arrival_delay_s));
                    assert_eq!(now_mine.balance, mine.balance);
                    assert_eq!(now_mine.pending_in, mine.pending_in + share.get());
                }
                assert_eq!(moved, 1);
            }
            (Command::RecallPacket { actor, .. }, Reply::Recalled(r)) => {
                let was = before.packet.as_ref().expect("packet");
                assert_eq!(recall_reason(was, now), None, "recalled {was:?} against the policy");
                assert_eq!(*actor, was.sender);
                assert_eq!(r.refunded, was.total, "an unclaimed packet refunds its whole total");
                let mine = Self::wallet_before(before, *actor);
                assert_eq!(wallet(self, *actor).balance, mine.balance + was.total.get());
                assert_eq!(wallet_of(&self.world, AccountId::escrow(was.id)), Wallet::default());
                assert_eq!(moved, 1);
            }
            (Command::RevokeClaim { actor, .. }, Reply::Claim(detail)) => {
                let claim = before.claim.as_ref().expect("claim");
                assert!(pending_at(claim, now), "revoked a claim that was not pending: {claim:?} at {now}");
                assert_eq!(detail.status, ClaimStatus::Revoked);
                let sender = Self::wallet_before(before, *actor);
                assert_eq!(wallet(self, *actor).balance, sender.balance + claim.amount.get());
                if claim.user_id != *actor {
                    let claimant = Self::wallet_before(before, claim.user_id);
                    assert_eq!(wallet(self, claim.user_id).pending_in, claimant.pending_in - claim.amount.get());
                    assert_eq!(wallet(self, claim.user_id).balance, claimant.balance);
                }
                assert_eq!(moved, 2, "a void and a refund");
            }
            (Command::ReturnClaim { actor, .. }, Reply::Claim(detail)) => {
                let claim = before.claim.as_ref().expect("claim");
                let arrived = claim.status == ClaimStatus::Arrived
                    || (claim.status == ClaimStatus::Pending && now >= claim.arrives_at);
                assert!(arrived, "returned a claim that had not arrived: {claim:?} at {now}");
                assert_eq!(detail.status, ClaimStatus::Returned);
                let sender = before.packet.as_ref().expect("packet").sender;
                let was_pending = claim.status == ClaimStatus::Pending;
                let mine = Self::wallet_before(before, *actor);
                let posted = if was_pending { claim.amount.get() } else { 0 };
                assert_eq!(wallet(self, *actor).balance, mine.balance + posted - claim.amount.get());
                let theirs = Self::wallet_before(before, sender);
                assert_eq!(wallet(self, sender).balance, theirs.balance + claim.amount.get());
                assert_eq!(moved, if was_pending { 2 } else { 1 });
            }
            (Command::Transfer { actor, to, amount, arrival_delay_s, .. }, Reply::Transfer(receipt)) => {
                let (mine, theirs) = (Self::wallet_before(before, *actor), Self::wallet_before(before, *to));
                let (mine_now, theirs_now) = (wallet(self, *actor), wallet(self, *to));
                assert!(mine.available >= amount.get(), "paid more than was available");
                if *arrival_delay_s == 0 {
                    assert_eq!(receipt.status, TransferStatus::Arrived);
                    assert_eq!(mine_now.balance, mine.balance - amount.get());
                    assert_eq!(theirs_now.balance, theirs.balance + amount.get());
                } else {
                    assert_eq!(receipt.status, TransferStatus::Pending);
                    assert_eq!(receipt.arrives_at, now.plus_seconds(*arrival_delay_s));
                    assert_eq!(mine_now.balance, mine.balance);
                    assert_eq!(mine_now.available, mine.available - amount.get());
                    assert_eq!(theirs_now.pending_in, theirs.pending_in + amount.get());
                }
                assert_eq!(moved, 1);
            }
            (Command::RevokeTransfer { actor, .. }, Reply::Transfer(receipt)) => {
                let pending = before.pending.as_ref().expect("a revoked transfer was pending");
                let open = pending.status == PendingStatus::Pending && now < pending.deadline();
                assert!(open, "revoked a transfer that was no longer pending: {pending:?} at {now}");
                assert_eq!(receipt.status, TransferStatus::Revoked);
                let mine = Self::wallet_before(before, *actor);
                // Back to available, or to a freeze of the wallet still short of its amount.
                let back = wallet(self, *actor);
                assert_eq!(back.available + back.frozen, mine.available + mine.frozen + pending.transfer.amount.get());
                assert_eq!(back.balance, mine.balance);
                assert_eq!(moved, 1);
            }
            (Command::LockUser { user, .. }, Reply::Me(me)) => {
                assert_eq!(me.status, UserStatus::Locked);
                assert_eq!(wallet(self, *user), Self::wallet_before(before, *user), "locking moves no money");
            }
            (Command::UnlockUser { user, .. }, Reply::Me(me)) => {
                assert_eq!(me.status, UserStatus::Active);
                assert_eq!(wallet(self, *user), Self::wallet_before(before, *user), "unlocking moves no money");
            }
            (Command::PlaceFreeze { spec, .. }, Reply::Freeze(view)) => {
                let was = Self::wallet_before(before, spec.user);
                let available = was.available.max(0);
                let expected = spec.amount.map_or(available, |a| a.get().min(available));
                assert_eq!(view.held.get(), expected, "a freeze holds at once what it can of its amount");
                let now = wallet(self, spec.user);
                assert_eq!((now.frozen, now.balance), (was.frozen + expected, was.balance), "never a balance");
                assert_eq!(moved, 0);
            }
            (Command::ReleaseFreeze { freeze, amount, .. }, Reply::Freeze(view)) => {
                let user = view.user_id;
                let (was, now) = (Self::wallet_before(before, user), wallet(self, user));
                let released = view.tally.released.get();
                assert!(amount.is_none_or(|a| a.get() <= released), "{amount:?} of {view:?}");
                assert!(now.frozen <= was.frozen, "a release holds no more than before");
                assert_eq!(now.balance, was.balance);
                assert_eq!(view.freeze_id, *freeze);
                assert_eq!(moved, 0);
            }
            (Command::RenewFreeze { freeze, expires_at, .. }, Reply::Freeze(view)) => {
                assert_eq!((view.freeze_id, view.expires_at), (*freeze, Some(*expires_at)));
                let was = before.wallets.iter().find(|(u, _)| *u == view.user_id).map(|(_, w)| *w);
                assert_eq!(was, Some(wallet(self, view.user_id)), "a renewal moves nothing");
                assert_eq!(moved, 0);
            }
            (Command::ConvertFreeze { freeze, kind, .. }, Reply::Freeze(view)) => {
                let old = self.world.freeze(*freeze).expect("complete world").expect("placed");
                assert_eq!((old.status.as_str(), view.kind, view.held), ("converted", *kind, old.tally.converted));
                let was = Self::wallet_before(before, view.user_id);
                assert_eq!(was, wallet(self, view.user_id), "a conversion holds the same money");
                assert_eq!(moved, 0);
            }
            (Command::ProposeSeizure { .. } | Command::RejectSeizure { .. }, Reply::Seizure(view)) => {
                let was = Self::wallet_before(before, view.user_id);
                assert_eq!(was, wallet(self, view.user_id), "only an approval moves money");
                assert_eq!(moved, 0);
            }
            (Command::ApproveSeizure { officer, .. }, Reply::Seizure(view)) => {
                assert_ne!(Some(view.proposed_by), view.approved_by, "four eyes");
                assert_eq!(view.approved_by, Some(*officer));
                let (was, now) = (Self::wallet_before(before, view.user_id), wallet(self, view.user_id));
                assert_eq!(now.balance, was.balance - view.amount.get(), "the amount left the frozen wallet");
                assert_eq!(now.frozen, was.frozen - view.amount.get(), "and only frozen money");
                assert_eq!(now.available, was.available, "nothing of what was available");
                assert_eq!(moved, 1, "one transfer");
                if view.to == hongbao_core::seizure::SeizureTarget::External {
                    // Out of the system, to the account the order names: as a withdrawal.
                    self.withdrawn += i128::from(view.amount.get());
                }
            }
            (Command::FileReport { actor, subject, .. }, Reply::Report(r)) => {
                assert_eq!((r.reporter, r.subject, r.status.as_str()), (*actor, *subject, "open"));
                let (was, now) = (Self::wallet_before(before, *subject), wallet(self, *subject));
                assert_eq!(now.balance, was.balance, "a report moves no money");
                assert!(now.frozen >= was.frozen, "a report only ever holds more");
                let case = r.case_id.map(|c| self.world.case(c).expect("complete world").expect("opened").clone());
                if now.frozen > was.frozen {
                    let case = case.expect("money is held only by the rule, which opens a case");
                    assert!(case.freezes().count() == 1 && case.is_open(), "{case:?}");
                }
                assert_eq!(moved, 0);
            }
            (Command::RecordSignal { user, .. }, Reply::Signal(s)) => {
                assert_eq!(s.user_id, *user);
                let (was, now) = (Self::wallet_before(before, *user), wallet(self, *user));
                assert_eq!(now.balance, was.balance, "a signal moves no money");
                match s.case_id {
                    Some(_) => {
                        // The whole wallet: everything that was available is held.
                        assert_eq!(now.frozen, was.frozen + was.available.max(0), "the whole wallet is held");
                        assert_eq!(now.available, was.available.min(0));
                    }
                    None => assert_eq!(now, was, "a signal that fires nothing changes no wallet"),
                }
                assert!(s.case_id.is_none() || s.new_region, "only a new region fires it");
                assert_eq!(moved, 0);
            }
            (Command::AddCaseNote { case, text, .. }, Reply::Case(c)) => {
                assert_eq!((c.id, c.timeline.last().map(|t| t.reason.as_str())), (*case, Some(text.as_str())));
                let was = Self::wallet_before(before, c.subject);
                assert_eq!(was, wallet(self, c.subject), "a note moves nothing");
                assert_eq!(moved, 0);
            }
            (Command::CloseCase { case, outcome, .. }, Reply::Case(c)) => {
                assert_eq!((c.id, c.outcome, c.is_open()), (*case, Some(*outcome), false));
                let (was, now) = (Self::wallet_before(before, c.subject), wallet(self, c.subject));
                assert_eq!(now.balance, was.balance, "closing a case moves no money");
                for freeze in c.freezes() {
                    let f = self.world.freeze(freeze).expect("complete world").expect("placed");
                    let released = *outcome == hongbao_core::case::CaseOutcome::Dismissed
                        && f.kind == hongbao_core::risk::FreezeKind::Precautionary;
                    assert!(!(released && f.is_active()), "a dismissed case's precautionary freeze stays: {f:?}");
                }
                for report in c.reports() {
                    let r = self.world.report(report).expect("complete world").expect("filed");
                    assert!(!r.is_open(), "a closed case's report {report} stays open");
                }
                assert_eq!(moved, 0);
            }
            (Command::ExpireSeizure { .. }, Reply::Settled { .. }) => assert_eq!(moved, 0),
            (Command::ExpireFreeze { freeze }, Reply::Settled { changed }) => {
                let stored = self.world.freeze(*freeze).expect("complete world");
                if *changed {
                    let stored = stored.expect("an expired freeze exists");
                    assert_eq!(stored.status.as_str(), "expired");
                    assert!(stored.expires_at.is_some_and(|at| at <= self.now), "expired at its end, not before");
                } else {
                    assert!(changes.is_empty(), "an idle job wrote {changes:?}");
                }
                assert_eq!(moved, 0);
            }
            (Command::RegisterDocument { spec, .. }, Reply::DocumentRegistered(r)) => {
                let stored = self.world.document(r.document_id).expect("complete world").expect("registered");
                assert_eq!((stored.sha256, stored.revealed_at), (spec.sha256, None));
                assert_eq!(r.commitment, hongbao_core::document::commitment(&stored.salt, &spec.sha256));
                assert_eq!(moved, 0);
            }
            (Command::RevealDocument { document, .. }, Reply::DocumentRevealed(r)) => {
                let sha256 = hongbao_core::hex::parse_sha256("sha256", &r.sha256).expect("hex");
                assert_eq!(r.document_id, *document);
                assert_eq!(r.commitment, hongbao_core::document::commitment(&r.salt, &sha256), "the reveal opens it");
                assert_eq!(moved, 0);
            }
            (Command::ExpirePacket { .. }, Reply::Settled { changed }) => {
                let due = before.packet.as_ref().filter(|p| p.status == PacketStatus::Active && now >= p.expires_at);
                assert_eq!(*changed, due.is_some(), "expiry ran exactly when due");
                match due {
                    Some(was) => {
                        let sender = Self::wallet_before(before, was.sender);
                        let unclaimed = was.total.get() - was.claimed_amount.get();
                        assert_eq!(wallet(self, was.sender).balance, sender.balance + unclaimed);
                        assert_eq!(self.packet(was.id).expect("packet").status, PacketStatus::Expired);
                        assert_eq!(moved, 1);
                    }
                    None => assert!(changes.is_empty(), "an idle job wrote {changes:?}"),
                }
            }
            (Command::SettlePending { .. }, Reply::Settled { changed }) => {
                let due = before.pending.as_ref().filter(|p| p.status == PendingStatus::Pending && now >= p.deadline());
                assert_eq!(*changed, due.is_some(), "settlement ran exactly when due");
                match due {
                    Some(was) => {
                        let credit = wallet_of(&self.world, was.transfer.credit);
                        let (posted, open) = (credit.balance, credit.pending_in);
                        let user = self.users.iter().copied().find(|u| AccountId::wallet(*u) == was.transfer.credit);
                        let user = user.expect("pending transfers pay a user");
                        let before_credit = Self::wallet_before(before, user);
                        assert_eq!(posted, before_credit.balance + was.transfer.amount.get());
                        assert_eq!(open, before_credit.pending_in - was.transfer.amount.get());
                        assert_eq!(moved, 1);
                    }
                    None => assert!(changes.is_empty(), "an idle job wrote {changes:?}"),
                }
            }
            (Command::OpenReturnRequest { actor, .. }, Reply::ReturnRequest(r)) => {
                assert_eq!((r.payer, r.status), (*actor, ReturnStatus::Open));
                assert!(r.amount.is_positive() && r.expires_at > now);
                // Asking moves no money; only a payment that was due is posted on the way, as the
                // job would have.
                match changes.transfers.as_slice() {
                    [] => {
                        for user in [r.payer, r.payee] {
                            assert_eq!(wallet(self, user), Self::wallet_before(before, user), "asking moves nothing");
                        }
                    }
                    [posted] => {
                        let carried = match r.target {
                            Payment::Transfer(t) => t,
                            Payment::Claim(c) => {
                                self.world.claim(c).expect("complete world").expect("made").transfer_id
                            }
                        };
                        let phase = hongbao_core::ledger::Phase::PostPending { pending_id: carried };
                        assert_eq!(posted.phase, phase, "only the payment asked back is posted");
                    }
                    more => panic!("asking moved {more:?}"),
                }
            }
            (Command::AcceptReturnRequest { request, .. }, Reply::ReturnRequest(r)) => {
                assert_eq!((r.id, r.status), (*request, ReturnStatus::Accepted));
                let (payer, payee) = (Self::wallet_before(before, r.payer), Self::wallet_before(before, r.payee));
                assert_eq!(wallet(self, r.payer).balance, payer.balance + r.amount.get(), "back to the payer");
                assert_eq!(wallet(self, r.payee).balance, payee.balance - r.amount.get(), "from the payee");
                assert!(payee.available >= r.amount.get(), "gave back more than was available");
                assert_eq!(moved, 1);
            }
            (
                Command::DeclineReturnRequest { request, .. }
                | Command::WithdrawReturnRequest { request, .. }
                | Command::AddReturnNote { request, .. },
                Reply::ReturnRequest(r),
            ) => {
                assert_eq!(r.id, *request);
                for user in [r.payer, r.payee] {
                    assert_eq!(wallet(self, user), Self::wallet_before(before, user), "nothing moves");
                }
                assert_eq!(moved, 0);
            }
            (Command::ExpireReturnRequest { request }, Reply::Settled { changed }) => {
                let r = self.world.return_request(*request).expect("complete world");
                if *changed {
                    let r = r.expect("an expired request exists");
                    assert_eq!(r.status, ReturnStatus::Expired);
                    assert!(r.expires_at <= now, "expired at its end, not before");
                } else {
                    assert!(changes.is_empty(), "an idle job wrote {changes:?}");
                }
                assert_eq!(moved, 0);
            }
            (command, reply) => panic!("{command:?} answered with the wrong kind of reply {reply:?}"),
        }
    }

    /// End of the episode: every acknowledged answer still checks out; then, with the clock a
    /// week later and every job run, every packet is closed, nothing is pending and every escrow
    /// is empty.
    fn finish(&mut self) {
        let violations = invariants::check_replies(&self.world, &self.replies);
        assert!(violations.is_empty(), "acknowledged answers lost:\n{}", join(&violations));
        self.now = self.now.plus_seconds(7 * 86_400);
        self.run_due_jobs();
        for packet in self.world.packets() {
            assert_ne!(packet.status, PacketStatus::Active, "{} is still active a week later", packet.id);
            let escrow = wallet_of(&self.world, AccountId::escrow(packet.id));
            assert_eq!(escrow, Wallet::default(), "{} still holds money a week later", packet.id);
        }
        for pending in self.world.pendings() {
            assert_ne!(pending.status, PendingStatus::Pending, "{} is still pending", pending.transfer.id);
        }
        for claim in self.world.claims() {
            assert_ne!(claim.status, ClaimStatus::Pending, "{} is still pending", claim.id);
        }
        let violations = invariants::check_replies(&self.world, &self.replies);
        assert!(violations.is_empty(), "acknowledged answers lost:\n{}", join(&violations));
    }
}

/// Whether a packet may still be claimed at `now`, from its stored fields: active and not yet
/// expired (at `expires_at` exactly it is expired).
fn open_at(packet: &Packet, now: Timestamp) -> bool {
    packet.status == PacketStatus::Active && now < packet.expires_at
}

/// Whether a claim is still pending at `now`: at `arrives_at` exactly the money has arrived.
fn pending_at(claim: &hongbao_core::packet::Claim, now: Timestamp) -> bool {
    claim.status == ClaimStatus::Pending && now < claim.arrives_at
}

/// The recall policy of docs/DESIGN.md, written again from the table rather than taken from the core,
/// so that the simulation checks the core against the design.
fn recall_reason(packet: &Packet, now: Timestamp) -> Option<RecallRefusal> {
    if !open_at(packet, now) {
        Some(RecallRefusal::NotActive)
    } else if packet.kind == PacketKind::Lucky {
        Some(RecallRefusal::LuckyPacket)
    } else if packet.claimed_count > 0 {
        Some(RecallRefusal::Claimed)
    } else if packet.touched {
        Some(RecallRefusal::Touched)
    } else {
        None
    }
}
