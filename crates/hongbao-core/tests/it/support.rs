//! A small harness over the pure core: a complete in-memory world, a seeded random source and
//! a fake clock that the test moves by hand. Every helper that succeeds also checks the
//! invariants, so a scenario cannot pass over a broken ledger.

use std::hash::{Hash, Hasher};

use hongbao_core::ledger::{Account, PendingTransfer, Transfer};
use hongbao_core::ops::{self, ClaimDetail, Recalled, TransferReceipt};
use hongbao_core::packet::{Claim, ClaimReceipt, Packet, PacketView};
use hongbao_core::user::{Group, User};
use hongbao_core::{
    AccountId, ClaimId, Command, CoreError, Ctx, Fail, Fen, GroupId, KeyId, Limits, PacketId, PacketSpec, Reply,
    Timestamp, TransferId, UserId, World, invariants,
};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

/// The business time every scenario starts at (2026-11-18, a plausible "now").
pub const T0: Timestamp = Timestamp::from_millis(1_795_000_000_000);

/// The key the tests' risk officer acts with (the core records it; the shell authorises it).
pub fn officer() -> KeyId {
    KeyId::from_uuid(hongbao_core::id::Uuid::from_u128(0x0ff1ce))
}

/// A second risk officer's key.
pub fn other_officer() -> KeyId {
    KeyId::from_uuid(hongbao_core::id::Uuid::from_u128(0x0ff1ce2))
}

/// Risk control locks `user`.
pub fn lock(user: UserId) -> Command {
    Command::LockUser { officer: officer(), user, reason: "fraud reports".to_owned() }
}

/// An officer registers a court ruling whose scan hashes to `sha256`, issued at `issued_at`.
pub fn register_document(sha256: [u8; 32], issued_at: Timestamp) -> Command {
    let spec = hongbao_core::ops::DocumentSpec {
        kind: hongbao_core::document::DocumentKind::CourtRuling,
        authority: "深圳市南山区人民法院".to_owned(),
        reference: "(2026)粤0305执保123号".to_owned(),
        issued_at,
        sha256,
        evidence_id: None,
        confidential: false,
    };
    Command::RegisterDocument { officer: officer(), spec }
}

/// A risk officer's precautionary freeze of `amount` fen of `user`'s wallet (`None`: all of it).
pub fn precautionary(user: UserId, amount: Option<i64>) -> Command {
    let spec = hongbao_core::ops::FreezeSpec {
        user,
        kind: hongbao_core::risk::FreezeKind::Precautionary,
        amount: amount.map(Fen::new),
        reason: "three fraud reports".to_owned(),
        documents: Vec::new(),
        expires_at: None,
        major_case: false,
    };
    Command::PlaceFreeze { officer: officer(), spec }
}

/// The risk officer releases all of `freeze`, or `amount` of it.
pub fn release(freeze: hongbao_core::FreezeId, amount: Option<i64>) -> Command {
    Command::ReleaseFreeze {
        officer: officer(),
        legal: true,
        freeze,
        reason: "cleared after review".to_owned(),
        amount: amount.map(Fen::new),
        documents: Vec::new(),
    }
}

/// Risk control unlocks `user`.
pub fn unlock(user: UserId) -> Command {
    Command::UnlockUser { officer: officer(), user, reason: "cleared after review".to_owned() }
}

/// Runs `command` against `world` and turns a request for more state into a test failure: a
/// complete world holds everything, so asking for more is a bug in the core.
pub fn run(
    world: &mut World,
    limits: &Limits,
    rng: &mut ChaCha8Rng,
    now: Timestamp,
    command: &Command,
) -> Result<Reply, CoreError> {
    let mut ctx = Ctx { now, mint_at: now, limits, rng };
    match ops::run(world, &mut ctx, command) {
        Ok(reply) => Ok(reply),
        Err(Fail::Refused(err)) => Err(err),
        Err(Fail::Need(keys)) => panic!("a complete world asked for {keys:?} running {command:?}"),
    }
}

/// Panics with every violation when an invariant of docs/DESIGN.md is broken.
pub fn assert_invariants(world: &World, limits: &Limits, after: &dyn std::fmt::Debug) {
    let violations = invariants::check(world, limits);
    assert!(violations.is_empty(), "invariants broken after {after:?}:\n{}", join(&violations));
}

pub fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

/// Everything a command could change, sorted so two snapshots compare equal exactly when the
/// worlds hold the same entities with the same values.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    users: Vec<User>,
    accounts: Vec<Account>,
    groups: Vec<Group>,
    packets: Vec<Packet>,
    claims: Vec<Claim>,
    pendings: Vec<PendingTransfer>,
    transfers: Vec<Transfer>,
}

impl Snapshot {
    pub fn of(world: &World) -> Snapshot {
        fn sorted<T: Clone, K: Ord>(items: impl Iterator<Item = T>, key: impl Fn(&T) -> K) -> Vec<T> {
            let mut items: Vec<T> = items.collect();
            items.sort_by_key(key);
            items
        }
        Snapshot {
            users: sorted(world.users().cloned(), |u| u.id),
            accounts: sorted(world.accounts().cloned(), |a| a.id),
            groups: sorted(world.groups().cloned(), |g| g.id),
            packets: sorted(world.packets().cloned(), |p| p.id),
            claims: sorted(world.claims().cloned(), |c| c.id),
            pendings: sorted(world.pendings().cloned(), |p| p.transfer.id),
            transfers: sorted(world.transfers().cloned(), |t| t.id),
        }
    }
}

/// A fast, deterministic, non-cryptographic hasher (the multiply-rotate of rustc's FxHash): the
/// simulation fingerprints the world before every command, and SipHash made that its hot spot.
#[derive(Default)]
struct Fx(u64);

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn finish(&self) -> u64 {
        // One more round so that the last word written is mixed into every bit.
        (self.0 ^ (self.0 >> 29)).wrapping_mul(0x94d0_49bb_1331_11eb)
    }
}

/// A cheap digest of the same state as [`Snapshot`], for the simulation, which compares before
/// and after every refused command. Entities are hashed one by one and the hashes added, so the
/// digest does not depend on the order a hash map happens to iterate in.
pub fn fingerprint(world: &World) -> u64 {
    fn one(item: impl Hash) -> u64 {
        let mut hasher = Fx::default();
        item.hash(&mut hasher);
        hasher.finish()
    }
    let mut sum = 0u64;
    let mut add = |h: u64| sum = sum.wrapping_add(h);
    for u in world.users() {
        add(one(("user", u.id, u.status.as_str(), &u.name)));
    }
    for a in world.accounts() {
        let b = a.balances();
        add(one(("account", a.id, b.debits_posted, b.credits_posted, b.debits_pending, b.credits_pending, b.frozen)));
    }
    for g in world.groups() {
        add(one(("group", g.id, &g.members)));
    }
    for p in world.packets() {
        add(one(("packet", p.id, p.status.as_str(), p.claimed_count, p.claimed_amount, p.touched, p.total)));
    }
    for c in world.claims() {
        add(one(("claim", c.id, c.status.as_str(), c.amount, c.seq)));
    }
    for p in world.pendings() {
        add(one(("pending", p.transfer.id, p.status.as_str(), p.resolved_at)));
    }
    for t in world.transfers() {
        add(one(("transfer", t.id)));
    }
    for d in world.documents() {
        add(one(("document", d.id, d.revealed_at)));
    }
    for f in world.freezes() {
        add(one(("freeze", f.id, f.held, f.amount, f.status.as_str(), f.documents.len(), f.tally.ever_held)));
    }
    for a in world.accounts() {
        add(one(("holding", a.id, a.holding())));
    }
    sum
}

/// What a wallet holds, as the rules see it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wallet {
    pub balance: i64,
    pub available: i64,
    pub pending_in: i64,
    pub pending_out: i64,
    pub frozen: i64,
}

pub fn wallet_of(world: &World, account: AccountId) -> Wallet {
    match world.account(account) {
        Ok(Some(a)) => Wallet {
            balance: a.balance().expect("balance fits").get(),
            available: a.available().expect("available fits").get(),
            pending_in: a.pending_in().get(),
            pending_out: a.pending_out().get(),
            frozen: a.frozen().get(),
        },
        _ => Wallet::default(),
    }
}

/// A fresh world, a seeded random source and a clock at [`T0`].
#[derive(Debug)]
pub struct Harness {
    pub world: World,
    pub limits: Limits,
    pub rng: ChaCha8Rng,
    pub now: Timestamp,
    names: u32,
}

impl Default for Harness {
    fn default() -> Self {
        Harness::new()
    }
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with_limits(Limits::default())
    }

    pub fn with_limits(limits: Limits) -> Harness {
        Harness { world: World::genesis(), limits, rng: ChaCha8Rng::seed_from_u64(0x4b1d), now: T0, names: 0 }
    }

    /// Runs a command; on success checks the invariants and that the reply names stored things.
    pub fn run(&mut self, command: Command) -> Result<Reply, CoreError> {
        let result = run(&mut self.world, &self.limits, &mut self.rng, self.now, &command);
        if let Ok(reply) = &result {
            assert_invariants(&self.world, &self.limits, &command);
            let violations = invariants::check_replies(&self.world, [reply]);
            assert!(violations.is_empty(), "{command:?} answered {reply:?}:\n{}", join(&violations));
        }
        result
    }

    /// Places a freeze that must succeed.
    pub fn freeze(&mut self, command: Command) -> hongbao_core::freeze::FreezeView {
        match self.ok(command) {
            Reply::Freeze(view) => view,
            other => panic!("a freeze answered {other:?}"),
        }
    }

    /// Runs a command that must succeed.
    pub fn ok(&mut self, command: Command) -> Reply {
        match self.run(command.clone()) {
            Ok(reply) => reply,
            Err(err) => panic!("{command:?} was refused: {err:?}"),
        }
    }

    /// Runs a command that must be refused, checks that it changed nothing at all, and returns
    /// the refusal.
    pub fn refused(&mut self, command: Command) -> CoreError {
        self.world.take_changes();
        let before = Snapshot::of(&self.world);
        let err = match self.run(command.clone()) {
            Ok(reply) => panic!("{command:?} should have been refused but answered {reply:?}"),
            Err(err) => err,
        };
        assert_eq!(Snapshot::of(&self.world), before, "refused {command:?} ({err:?}) changed the world");
        assert!(self.world.take_changes().is_empty(), "refused {command:?} left rows to write");
        assert_invariants(&self.world, &self.limits, &command);
        err
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot::of(&self.world)
    }

    pub fn advance_s(&mut self, seconds: u32) {
        self.now = self.now.plus_seconds(seconds);
    }

    pub fn user(&mut self) -> UserId {
        self.names += 1;
        match self.ok(Command::CreateUser { name: format!("user {}", self.names) }) {
            Reply::User(created) => created.user_id,
            other => panic!("CreateUser answered {other:?}"),
        }
    }

    pub fn funded_user(&mut self, fen: i64) -> UserId {
        let user = self.user();
        self.ok(Command::Deposit { user, amount: Fen::new(fen) });
        user
    }

    /// A group owned by `owner` with `members` (the owner is added by the core).
    pub fn group(&mut self, owner: UserId, members: &[UserId]) -> GroupId {
        let command = Command::CreateGroup { actor: owner, name: "family".into(), members: members.to_vec() };
        match self.ok(command) {
            Reply::Group(view) => view.group_id,
            other => panic!("CreateGroup answered {other:?}"),
        }
    }

    pub fn send(&mut self, actor: UserId, spec: PacketSpec, arrival_delay_s: u32) -> PacketId {
        match self.ok(Command::SendPacket { actor, spec, greeting: None, arrival_delay_s, risk_confirmation: None }) {
            Reply::Packet(view) => view.packet_id,
            other => panic!("SendPacket answered {other:?}"),
        }
    }

    pub fn open(&mut self, actor: UserId, packet: PacketId) -> PacketView {
        match self.ok(Command::OpenPacket { actor, packet }) {
            Reply::Packet(view) => view,
            other => panic!("OpenPacket answered {other:?}"),
        }
    }

    pub fn claim(&mut self, actor: UserId, packet: PacketId) -> ClaimReceipt {
        match self.ok(Command::ClaimPacket { actor, packet }) {
            Reply::Claimed(receipt) => receipt,
            other => panic!("ClaimPacket answered {other:?}"),
        }
    }

    pub fn recall(&mut self, actor: UserId, packet: PacketId) -> Recalled {
        match self.ok(Command::RecallPacket { actor, packet }) {
            Reply::Recalled(recalled) => recalled,
            other => panic!("RecallPacket answered {other:?}"),
        }
    }

    pub fn revoke_claim(&mut self, actor: UserId, claim: ClaimId) -> ClaimDetail {
        match self.ok(Command::RevokeClaim { actor, claim }) {
            Reply::Claim(detail) => detail,
            other => panic!("RevokeClaim answered {other:?}"),
        }
    }

    pub fn return_claim(&mut self, actor: UserId, claim: ClaimId) -> ClaimDetail {
        match self.ok(Command::ReturnClaim { actor, claim }) {
            Reply::Claim(detail) => detail,
            other => panic!("ReturnClaim answered {other:?}"),
        }
    }

    pub fn transfer(&mut self, actor: UserId, to: UserId, fen: i64, arrival_delay_s: u32) -> TransferReceipt {
        let transfer = |risk_confirmation| Command::Transfer {
            actor,
            to,
            amount: Fen::new(fen),
            note: None,
            arrival_delay_s,
            risk_confirmation,
        };
        // A payer asked to confirm (a large amount, a reported payee) confirms, as one would.
        let reply = match self.run(transfer(None)) {
            Err(CoreError::RiskConfirmationRequired { confirmation, .. }) => {
                self.ok(transfer(Some(hongbao_core::warning::RiskConfirmation { id: confirmation })))
            }
            other => other.unwrap_or_else(|err| panic!("a transfer was refused: {err:?}")),
        };
        match reply {
            Reply::Transfer(receipt) => receipt,
            other => panic!("Transfer answered {other:?}"),
        }
    }

    /// Runs the expiry job for one packet and says whether it did anything.
    pub fn expire(&mut self, packet: PacketId) -> bool {
        match self.ok(Command::ExpirePacket { packet }) {
            Reply::Settled { changed } => changed,
            other => panic!("ExpirePacket answered {other:?}"),
        }
    }

    /// Runs the arrival job for one pending transfer and says whether it did anything.
    pub fn settle(&mut self, transfer: TransferId) -> bool {
        match self.ok(Command::SettlePending { transfer }) {
            Reply::Settled { changed } => changed,
            other => panic!("SettlePending answered {other:?}"),
        }
    }

    pub fn packet(&self, id: PacketId) -> Packet {
        self.world.packet(id).expect("complete world").expect("packet exists").clone()
    }

    pub fn claim_record(&self, id: ClaimId) -> Claim {
        self.world.claim(id).expect("complete world").expect("claim exists").clone()
    }

    pub fn wallet(&self, user: UserId) -> Wallet {
        wallet_of(&self.world, AccountId::wallet(user))
    }

    pub fn balance(&self, user: UserId) -> i64 {
        self.wallet(user).balance
    }

    pub fn escrow(&self, packet: PacketId) -> Wallet {
        wallet_of(&self.world, AccountId::escrow(packet))
    }

    /// An id nobody has: for commands that name something that does not exist.
    pub fn unknown_user(&mut self) -> UserId {
        UserId::mint(self.now, &mut self.rng)
    }
}
