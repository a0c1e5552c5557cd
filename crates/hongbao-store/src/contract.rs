//! The contract every [`Store`] must pass, written once and run against each backend.
//!
//! Each case is a `pub async fn case(store: &dyn Store)` that panics when the store breaks the
//! contract; it expects a new, empty store (one that has only run its migrations). A backend
//! runs the whole suite from its integration tests with [`contract_tests!`](crate::contract_tests),
//! which generates one `#[tokio::test]` per case:
//!
//! ```text
//! async fn fresh() -> (MyStore, TempDir) { /* a new store, and whatever must outlive it */ }
//! hongbao_store::contract_tests!(fresh);
//! ```
//!
//! The data is realistic because the core makes it: the suite runs real commands on a complete
//! in-memory [`World`] with a seeded random source and a fake clock, commits
//! [`World::take_changes`] to the store after every command (so later commands update rows
//! earlier ones inserted), with the transparency-log rows the engine would append for them, and
//! compares what the store loads back with the world's own entities, events and log. The world
//! is the second, independent path to every expected value.

use std::sync::Arc;
use std::time::Duration;

use hongbao_core::event::{Event, EventKind};
use hongbao_core::invariants;
use hongbao_core::ledger::{PendingStatus, Phase, Transfer, TransferKind};
use hongbao_core::log::{self, LogRecord};
use hongbao_core::ops::{self, Command, Ctx, PacketSpec, Reply};
use hongbao_core::packet::{ClaimStatus, PacketStatus};
use hongbao_core::principal::{Owner, Principal, Role};
use hongbao_core::user::{User, UserStatus};
use hongbao_core::world::Write;
use hongbao_core::{
    AccountId, Changes, ClaimId, Fact, Fen, GroupId, Key, KeyId, Limits, PacketId, Timestamp, TransferId, UserId, World,
};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use tokio::sync::Notify;

use crate::{CheckpointRow, Commit, Dump, HistoryItem, IdempotencyRecord, LogRow, NonceRecord, ReadTx, Store};

/// Generates one `#[tokio::test]` per contract case, in the module where it is invoked.
///
/// `$fresh` is a function or closure taking no arguments and returning a future of
/// `(store, guard)`: a new, empty store and a value that must live as long as the test (a
/// temporary directory, a database to drop); the guard is dropped after the store.
///
/// `contract_tests!(optional $fresh)` is for a backend that needs a server the machine may not
/// run: `$fresh` returns a future of `Option<(store, guard)>`, and `None` ends the test early.
/// Such a `$fresh` must say why it gave none (and fail instead where the server is required).
#[macro_export]
macro_rules! contract_tests {
    // First: `optional` could otherwise be taken for the start of an expression.
    (optional $fresh:expr) => {
        $crate::contract_tests!(@list optional $fresh);
    };
    ($fresh:expr) => {
        $crate::contract_tests!(@list required $fresh);
    };
    (@list $mode:ident $fresh:expr) => {
        $crate::contract_tests!(@cases $mode $fresh;
            a_new_store_holds_only_the_external_account,
            every_entity_round_trips_exactly_through_inserts_and_updates,
            missing_keys_load_as_none_or_an_empty_list,
            claim_of_and_claims_of_find_exactly_a_packets_claims,
            a_read_transaction_sees_one_snapshot,
            idempotency_records_round_trip_keyed_by_principal_and_key,
            a_failing_commit_writes_nothing_at_all,
            written_is_told_by_a_commit_that_lands_and_not_by_one_whose_rows_are_refused,
            dropping_a_write_transaction_rolls_it_back_and_frees_the_writer,
            due_respects_time_status_limit_and_order,
            history_shows_a_wallets_own_transfers_newest_first_with_their_status,
            history_pages_with_before_without_gaps_or_repeats,
            dump_rebuilds_a_world_that_passes_the_invariant_check,
            purge_idempotency_deletes_only_older_records_up_to_the_limit,
            has_operator_is_true_only_once_an_operator_key_is_committed,
            log_rows_and_a_checkpoint_commit_atomically_with_the_changes,
            log_indexes_must_continue_exactly_from_the_current_size,
            log_size_counts_the_committed_entries_inside_a_write_transaction,
            log_entries_pages_through_the_whole_log_in_index_order,
            log_index_of_and_log_entries_of_packet_find_a_transfers_and_a_packets_entries,
            latest_checkpoint_is_the_largest_committed_one,
            checkpoints_must_grow_and_cover_no_more_than_the_log,
            dump_returns_every_event_log_entry_and_checkpoint_in_order,
            a_nonce_is_accepted_once_per_key_and_refused_again_until_it_expires,
            a_covered_nonce_is_one_record_with_the_nonces_remembered_plainly,
            nonces_remembered_together_answer_each_as_if_remembered_alone,
            forget_nonces_deletes_only_records_expired_before_the_bound_up_to_the_limit,
            the_dev_clock_offset_starts_at_zero_and_only_moves_forward,
            log_key_keeps_the_first_value_proposed,
            nonces_of_a_commit_are_stored_with_its_changes_and_only_with_them,
            live_nonces_are_the_unexpired_records_soonest_first_up_to_the_limit,
            secrets_are_found_by_prefix_and_replaced_only_where_unchanged,
        );
    };
    (@cases required $fresh:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let (store, guard) = ($fresh)().await;
                $crate::contract::$case(&store).await;
                drop(store);
                drop(guard);
            }
        )+
    };
    (@cases optional $fresh:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let Some((store, guard)) = ($fresh)().await else { return };
                $crate::contract::$case(&store).await;
                drop(store);
                drop(guard);
            }
        )+
    };
}

/// The business clock's start: 2026-11-18T11:06:40Z.
pub const T0: Timestamp = Timestamp::from_millis(1_795_000_000_000);

/// The longest any store call may take in the suite before it counts as hung.
const PATIENCE: Duration = Duration::from_secs(30);

/// Awaits `future`, failing the test instead of hanging when it does not finish.
async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(PATIENCE, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what} did not finish within {PATIENCE:?}"),
    }
}

/// A complete core world driven by commands, and the store that mirrors it.
#[derive(Debug)]
pub struct Scenario {
    pub world: World,
    pub now: Timestamp,
    pub limits: Limits,
    rng: ChaCha8Rng,
    /// Every event committed so far, in the order committed.
    pub events: Vec<Event>,
    /// Every log row committed so far: entry `i` is at position `i`.
    pub log: Vec<LogRow>,
    /// Every checkpoint committed so far, by size.
    pub checkpoints: Vec<CheckpointRow>,
}

impl Scenario {
    /// The world at genesis (only the external account exists), at [`T0`].
    pub fn new(seed: u64) -> Scenario {
        Scenario {
            world: World::genesis(),
            now: T0,
            limits: Limits::default(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            events: Vec::new(),
            log: Vec::new(),
            checkpoints: Vec::new(),
        }
    }

    /// Moves the clock.
    pub fn advance_s(&mut self, seconds: u32) {
        self.now = self.now.plus_seconds(seconds);
    }

    /// A fresh random id source for tests that need ids nobody used.
    pub fn mint_uuid(&mut self) -> uuid::Uuid {
        hongbao_core::id::mint_uuid(self.now, &mut self.rng)
    }

    /// Runs `command` on the world only. Panics if the core refuses it: the suite only issues
    /// commands that are allowed.
    pub fn run(&mut self, command: Command) -> Reply {
        let mut ctx = Ctx { now: self.now, mint_at: self.now, limits: &self.limits, rng: &mut self.rng };
        match ops::run(&mut self.world, &mut ctx, &command) {
            Ok(reply) => reply,
            Err(fail) => panic!("the core refused {command:?}: {fail:?}"),
        }
    }

    /// The changes made since the last call. Nothing is remembered as committed until
    /// [`Scenario::save`] commits them.
    pub fn take_changes(&mut self) -> Changes {
        self.world.take_changes()
    }

    /// The size of the log committed so far.
    pub fn log_size(&self) -> u64 {
        len_u64(self.log.len())
    }

    /// The batch the engine would commit for `changes`: the changes, `idempotency`, and the log
    /// rows recording them, indexed from the log committed so far. No checkpoint.
    pub fn batch(&self, changes: Changes, idempotency: Vec<IdempotencyRecord>) -> Commit {
        let log = log_rows(self.log_size(), &changes.log);
        Commit { changes, idempotency, log, ..Commit::default() }
    }

    /// Commits `batch`, panicking on failure, and remembers what it committed.
    pub async fn save(&mut self, store: &dyn Store, batch: Commit) {
        commit(store, batch.clone()).await;
        self.remember(batch);
    }

    /// Remembers `batch` as committed, for a test that committed it itself.
    pub fn remember(&mut self, batch: Commit) {
        self.events.extend(batch.changes.events);
        self.log.extend(batch.log);
        self.checkpoints.extend(batch.checkpoint);
    }

    /// Commits what the world changed since the last commit, with its log rows.
    pub async fn commit(&mut self, store: &dyn Store) {
        let changes = self.take_changes();
        let batch = self.batch(changes, Vec::new());
        self.save(store, batch).await;
    }

    /// Runs `command` and commits its changes.
    pub async fn step(&mut self, store: &dyn Store, command: Command) -> Reply {
        let reply = self.run(command);
        self.commit(store).await;
        reply
    }

    pub async fn user(&mut self, store: &dyn Store, name: &str) -> UserId {
        let user = self.user_in_world_only(name);
        self.commit(store).await;
        user
    }

    /// Creates a user in the world without committing.
    pub fn user_in_world_only(&mut self, name: &str) -> UserId {
        match self.run(Command::CreateUser { name: name.to_owned() }) {
            Reply::User(created) => created.user_id,
            other => panic!("creating a user answered {other:?}"),
        }
    }

    /// Creates an operator and commits; returns the operator's key id.
    pub async fn operator(&mut self, store: &dyn Store, name: &str, roles: &[Role]) -> KeyId {
        let key = self.operator_in_world_only(name, roles);
        self.commit(store).await;
        key
    }

    /// Creates an operator in the world without committing.
    pub fn operator_in_world_only(&mut self, name: &str, roles: &[Role]) -> KeyId {
        match self.run(Command::CreateOperator { name: name.to_owned(), roles: roles.to_vec() }) {
            Reply::Operator(created) => created.key_id,
            other => panic!("creating an operator answered {other:?}"),
        }
    }

    /// The key `CreateUser` made for `user`.
    pub fn key_of(&self, user: UserId) -> KeyId {
        match self.world.principals().find(|p| p.user() == Some(user)) {
            Some(principal) => principal.key_id,
            None => panic!("user {user} has no key in the world"),
        }
    }

    /// A principal of the world, which must exist.
    pub fn principal(&self, key: KeyId) -> Principal {
        match self.world.principal(key) {
            Ok(Some(principal)) => principal.clone(),
            other => panic!("key {key} is not in the world: {other:?}"),
        }
    }

    pub async fn deposit(&mut self, store: &dyn Store, user: UserId, fen: i64) {
        self.step(store, Command::Deposit { user, amount: Fen::new(fen) }).await;
    }

    pub async fn group(&mut self, store: &dyn Store, actor: UserId, members: &[UserId]) -> GroupId {
        let command = Command::CreateGroup { actor, name: "家人".to_owned(), members: members.to_vec() };
        match self.step(store, command).await {
            Reply::Group(view) => view.group_id,
            other => panic!("creating a group answered {other:?}"),
        }
    }

    pub async fn send(&mut self, store: &dyn Store, actor: UserId, spec: PacketSpec, delay_s: u32) -> PacketId {
        let command = Command::SendPacket { actor, spec, greeting: None, arrival_delay_s: delay_s };
        match self.step(store, command).await {
            Reply::Packet(view) => view.packet_id,
            other => panic!("sending a packet answered {other:?}"),
        }
    }

    pub async fn claim(&mut self, store: &dyn Store, actor: UserId, packet: PacketId) -> ClaimId {
        match self.step(store, Command::ClaimPacket { actor, packet }).await {
            Reply::Claimed(receipt) => receipt.claim_id,
            other => panic!("claiming answered {other:?}"),
        }
    }

    pub async fn transfer(
        &mut self,
        store: &dyn Store,
        actor: UserId,
        to: UserId,
        fen: i64,
        delay_s: u32,
        note: Option<&str>,
    ) -> TransferId {
        let command = Command::Transfer {
            actor,
            to,
            amount: Fen::new(fen),
            note: note.map(str::to_owned),
            arrival_delay_s: delay_s,
        };
        match self.step(store, command).await {
            Reply::Transfer(receipt) => receipt.transfer_id,
            other => panic!("transferring answered {other:?}"),
        }
    }

    /// The transfer that moved a claim's money.
    pub fn claim_transfer(&self, claim: ClaimId) -> TransferId {
        match self.world.claim(claim) {
            Ok(Some(claim)) => claim.transfer_id,
            other => panic!("claim {claim} is not in the world: {other:?}"),
        }
    }
}

/// Commits `batch` in one write transaction, panicking on failure.
pub async fn commit(store: &dyn Store, batch: Commit) {
    let tx = bounded("write", store.write()).await.expect("a write transaction begins");
    bounded("commit", tx.commit(batch)).await.expect("the commit succeeds");
}

/// Tries to commit `batch`, and answers whether the store refused it.
async fn refused(store: &dyn Store, batch: Commit) -> bool {
    let tx = bounded("write", store.write()).await.expect("a write transaction begins");
    bounded("commit", tx.commit(batch)).await.is_err()
}

/// Commits idempotency records alone.
async fn commit_records(store: &dyn Store, records: Vec<IdempotencyRecord>) {
    commit(store, Commit { idempotency: records, ..Commit::default() }).await;
}

/// The log rows the engine appends for `records` to a log of `size` entries: each record
/// encoded as [`hongbao_core::log`] says, at the next index, with the transfer and the packet
/// it names.
pub fn log_rows(size: u64, records: &[LogRecord]) -> Vec<LogRow> {
    (size..)
        .zip(records)
        .map(|(index, record)| LogRow {
            index,
            entry: log::encode(record),
            transfer_id: record.transfer_id(),
            packet_id: record.packet_id(),
        })
        .collect()
}

/// A checkpoint of the first `size` entries. The note is shaped like a signed note (several
/// lines, a blank one, non-ASCII text, a final newline), all of which must come back exactly.
pub fn checkpoint(size: u64, created_at: Timestamp) -> CheckpointRow {
    let note = format!("hongbao.example/log\n{size}\nq0Zx3Vb+root/hash=\n\n— hongbao 红包 Az09+sig/==\n");
    CheckpointRow { size, note, created_at }
}

fn len_u64(len: usize) -> u64 {
    u64::try_from(len).expect("a length fits in 64 bits")
}

/// Who and what the full scenario made.
#[derive(Debug)]
pub struct Cast {
    pub alice: UserId,
    pub bob: UserId,
    pub carol: UserId,
    pub dave: UserId,
    /// An operator with every role.
    pub root: KeyId,
    /// An operator with two roles, asked for out of order, and a name that is not ASCII.
    pub auditor: KeyId,
    pub group: GroupId,
    /// Lucky, 3 shares, two claimed, then expired with one share refunded.
    pub lucky: PacketId,
    /// Normal with delayed arrival, 2 shares: bob's claim revoked, carol's settled.
    pub delayed: PacketId,
    /// Exclusive to bob, claimed and returned.
    pub exclusive: PacketId,
    /// Normal, recalled before anyone touched it.
    pub recalled: PacketId,
    pub bob_delayed_claim: ClaimId,
    pub carol_delayed_claim: ClaimId,
    /// alice → dave, delayed, revoked by alice.
    pub revoked_transfer: TransferId,
    /// alice → dave, delayed, settled at its deadline.
    pub settled_transfer: TransferId,
}

/// Every kind of entity and every kind of change, committed one command at a time. With
/// `check_each_step`, the whole store is compared with the world after every commit.
pub async fn full_scenario(store: &dyn Store, s: &mut Scenario, check_each_step: bool) -> Cast {
    macro_rules! checked {
        ($e:expr) => {{
            let value = $e;
            if check_each_step {
                assert_store_holds_world(store, &s.world).await;
            }
            value
        }};
    }
    let alice = checked!(s.user(store, "alice").await);
    let bob = checked!(s.user(store, "bob").await);
    let carol = checked!(s.user(store, "carol").await);
    let dave = checked!(s.user(store, "戴夫").await);
    let root = checked!(s.operator(store, "root", &Role::ALL).await);
    let auditor = checked!(s.operator(store, "审计 auditor", &[Role::Auditor, Role::RiskOfficer]).await);
    checked!(s.deposit(store, alice, 1_000_000).await);
    checked!(s.deposit(store, bob, 50_000).await);
    let group = checked!(s.group(store, alice, &[bob, carol, dave]).await);

    let lucky = PacketSpec::Lucky { group_id: group, count: 3, total: Fen::new(3_000) };
    let lucky = checked!(s.send(store, alice, lucky, 0).await);
    let delayed = PacketSpec::Normal { group_id: group, count: 2, amount_each: Fen::new(500) };
    let delayed = checked!(s.send(store, alice, delayed, 7_200).await);
    let exclusive = PacketSpec::Exclusive { recipient: bob, amount: Fen::new(888) };
    let exclusive = checked!(s.send(store, alice, exclusive, 0).await);
    let recalled = PacketSpec::Normal { group_id: group, count: 3, amount_each: Fen::new(100) };
    let recalled = checked!(s.send(store, alice, recalled, 0).await);
    checked!(s.step(store, Command::RecallPacket { actor: alice, packet: recalled }).await);

    s.advance_s(60);
    checked!(s.step(store, Command::OpenPacket { actor: bob, packet: lucky }).await);
    checked!(s.claim(store, bob, lucky).await);
    checked!(s.claim(store, carol, lucky).await);
    let bob_delayed_claim = checked!(s.claim(store, bob, delayed).await);
    let carol_delayed_claim = checked!(s.claim(store, carol, delayed).await);
    checked!(s.step(store, Command::RevokeClaim { actor: alice, claim: bob_delayed_claim }).await);
    let exclusive_claim = checked!(s.claim(store, bob, exclusive).await);
    checked!(s.step(store, Command::ReturnClaim { actor: bob, claim: exclusive_claim }).await);

    let revoked_transfer = checked!(s.transfer(store, alice, dave, 2_000, 7_200, Some("房租")).await);
    checked!(s.step(store, Command::RevokeTransfer { actor: alice, transfer: revoked_transfer }).await);
    // A second later, so that the two transfers to dave have a known order.
    s.advance_s(1);
    let settled_transfer = checked!(s.transfer(store, alice, dave, 3_000, 7_200, None).await);
    checked!(s.transfer(store, bob, carol, 100, 0, Some("奶茶 🧋")).await);
    checked!(s.step(store, Command::Withdraw { actor: bob, amount: Fen::new(1_000) }).await);
    checked!(s.step(store, Command::LockUser { user: carol }).await);
    checked!(s.step(store, Command::UnlockUser { user: carol }).await);
    checked!(s.step(store, Command::FreezeFunds { user: bob, amount: Fen::new(500) }).await);
    checked!(s.step(store, Command::UnfreezeFunds { user: bob, amount: Fen::new(200) }).await);

    s.advance_s(7_200);
    let carol_pending = s.claim_transfer(carol_delayed_claim);
    checked!(s.step(store, Command::SettlePending { transfer: carol_pending }).await);
    checked!(s.step(store, Command::SettlePending { transfer: settled_transfer }).await);
    s.advance_s(24 * 3_600);
    checked!(s.step(store, Command::ExpirePacket { packet: lucky }).await);
    checked!(s.step(store, Command::Withdraw { actor: dave, amount: Fen::new(1_000) }).await);

    Cast {
        alice,
        bob,
        carol,
        dave,
        root,
        auditor,
        group,
        lucky,
        delayed,
        exclusive,
        recalled,
        bob_delayed_claim,
        carol_delayed_claim,
        revoked_transfer,
        settled_transfer,
    }
}

/// The key a fact answers.
pub fn fact_key(fact: &Fact) -> Key {
    match fact {
        Fact::User(id, _) => Key::User(*id),
        Fact::Account(id, _) => Key::Account(*id),
        Fact::Group(id, _) => Key::Group(*id),
        Fact::Packet(id, _) => Key::Packet(*id),
        Fact::Claim(id, _) => Key::Claim(*id),
        Fact::ClaimOf(packet, user, _) => Key::ClaimOf(*packet, *user),
        Fact::ClaimsOf(packet, _) => Key::ClaimsOf(*packet),
        Fact::Pending(id, _) => Key::Pending(*id),
        Fact::Transfer(id, _) => Key::Transfer(*id),
        Fact::Principal(id, _) => Key::Principal(*id),
    }
}

/// The claims of a packet may come in any order; compare them by share.
fn normalised(mut fact: Fact) -> Fact {
    if let Fact::ClaimsOf(_, claims) = &mut fact {
        claims.sort_by_key(|c| c.seq);
    }
    fact
}

/// What the store must answer for every entity of `world`, and for every packet's claims.
pub fn facts_of(world: &World) -> Vec<Fact> {
    let mut facts = Vec::new();
    facts.extend(world.users().map(|u| Fact::User(u.id, Some(u.clone()))));
    facts.extend(world.accounts().map(|a| Fact::Account(a.id, Some(a.clone()))));
    facts.extend(world.groups().map(|g| Fact::Group(g.id, Some(g.clone()))));
    facts.extend(world.packets().map(|p| Fact::Packet(p.id, Some(p.clone()))));
    facts.extend(world.claims().map(|c| Fact::Claim(c.id, Some(c.clone()))));
    facts.extend(world.claims().map(|c| Fact::ClaimOf(c.packet_id, c.user_id, Some(c.clone()))));
    for packet in world.packets() {
        let claims = world.claims_of(packet.id).expect("a complete world knows every packet's claims");
        facts.push(normalised(Fact::ClaimsOf(packet.id, claims.into_iter().cloned().collect())));
    }
    facts.extend(world.pendings().map(|p| Fact::Pending(p.transfer.id, Some(p.clone()))));
    facts.extend(world.transfers().map(|t| Fact::Transfer(t.id, Some(t.clone()))));
    facts.extend(world.principals().map(|p| Fact::Principal(p.key_id, Some(p.clone()))));
    facts
}

/// Loads the key of every expected fact through `tx` and asserts the answers equal them: one
/// answer per key, in any order.
pub async fn assert_loads(tx: &mut dyn ReadTx, expected: &[Fact]) {
    let keys: Vec<Key> = expected.iter().map(fact_key).collect();
    let loaded = bounded("load", tx.load(&keys)).await.expect("loading succeeds");
    assert_eq!(loaded.len(), keys.len(), "one fact per key: asked {keys:?}, got {loaded:?}");
    let mut loaded: Vec<Fact> = loaded.into_iter().map(normalised).collect();
    for fact in expected {
        let fact = normalised(fact.clone());
        match loaded.iter().position(|f| *f == fact) {
            Some(at) => {
                loaded.swap_remove(at);
            }
            None => {
                let key = fact_key(&fact);
                let answered: Vec<&Fact> = loaded.iter().filter(|f| fact_key(f) == key).collect();
                panic!("for {key:?} the store answered {answered:#?}\nbut the world has {fact:#?}");
            }
        }
    }
}

/// Asserts that a read snapshot of the store holds exactly the world's entities.
pub async fn assert_store_holds_world(store: &dyn Store, world: &World) {
    let mut tx = bounded("read", store.read()).await.expect("a read transaction begins");
    assert_loads(tx.as_mut(), &facts_of(world)).await;
}

/// A dump in a comparable form: facts and records sorted by their debug text, the rest in the
/// order stored.
#[derive(Debug, PartialEq)]
struct Comparable {
    facts: Vec<String>,
    records: Vec<String>,
    events: Vec<Event>,
    log: Vec<LogRow>,
    checkpoints: Vec<CheckpointRow>,
}

fn comparable(dump: &Dump) -> Comparable {
    let mut facts: Vec<String> = dump.facts.iter().map(|f| format!("{f:?}")).collect();
    facts.sort();
    let mut records: Vec<String> = dump.idempotency.iter().map(|r| format!("{r:?}")).collect();
    records.sort();
    Comparable {
        facts,
        records,
        events: dump.events.clone(),
        log: dump.log.clone(),
        checkpoints: dump.checkpoints.clone(),
    }
}

async fn log_size(store: &dyn Store) -> u64 {
    let mut tx = bounded("write", store.write()).await.expect("a write begins");
    bounded("log_size", tx.log_size()).await.expect("log_size succeeds")
}

async fn latest_checkpoint(store: &dyn Store) -> Option<CheckpointRow> {
    bounded("latest_checkpoint", store.latest_checkpoint()).await.expect("latest_checkpoint succeeds")
}

async fn has_operator(store: &dyn Store) -> bool {
    bounded("has_operator", store.has_operator()).await.expect("has_operator succeeds")
}

async fn dump(store: &dyn Store) -> Dump {
    bounded("dump", store.dump()).await.expect("the dump succeeds")
}

fn record(principal: &str, key: &str, created_at: Timestamp) -> IdempotencyRecord {
    // Distinct per record, and with 0x00 and 0xff bytes, which a text column would mangle.
    let seed = principal.bytes().chain(key.bytes()).fold(7u8, |h, b| h.wrapping_mul(31).wrapping_add(b));
    let mut fingerprint = [0u8; 32];
    let mut next = seed;
    for byte in &mut fingerprint {
        next = next.wrapping_mul(37).wrapping_add(11);
        *byte = next;
    }
    fingerprint[0] = 0;
    fingerprint[31] = 0xff;
    IdempotencyRecord {
        principal: principal.to_owned(),
        key: key.to_owned(),
        fingerprint,
        outcome: format!(r#"{{"reply":"moved","key":"{key}","note":"红包 🧧"}}"#),
        created_at,
    }
}

fn sorted(mut records: Vec<IdempotencyRecord>) -> Vec<IdempotencyRecord> {
    records.sort_by(|a, b| (&a.principal, &a.key).cmp(&(&b.principal, &b.key)));
    records
}

/// A new store holds the external account (as [`World::genesis`] does) and nothing else.
pub async fn a_new_store_holds_only_the_external_account(store: &dyn Store) {
    assert!(!store.backend().is_empty(), "a backend names itself");
    assert!(!store.durability().is_empty(), "a backend states its durability");
    let genesis = World::genesis();
    assert_store_holds_world(store, &genesis).await;
    let dump = dump(store).await;
    assert_eq!(dump.facts, facts_of(&genesis), "a new store holds only the external account");
    assert!(dump.idempotency.is_empty());
    assert!(dump.events.is_empty() && dump.log.is_empty() && dump.checkpoints.is_empty(), "{dump:?}");
    assert_eq!(log_size(store).await, 0, "the log is empty");
    assert_eq!(latest_checkpoint(store).await, None);
    let mut tx = bounded("write", store.write()).await.expect("a write begins");
    let due = bounded("due", tx.due(Timestamp::from_millis(i64::MAX), 100)).await.expect("due succeeds");
    assert_eq!(due, crate::Due::default());
    drop(tx);
    let history = bounded("history", store.history(AccountId::EXTERNAL, None, 100)).await.expect("history");
    assert!(history.is_empty());
}

/// Every entity, inserted and then updated by real commands, loads back exactly as the core
/// left it, after every single commit, through a read snapshot and through a write transaction.
pub async fn every_entity_round_trips_exactly_through_inserts_and_updates(store: &dyn Store) {
    let mut s = Scenario::new(1);
    let cast = full_scenario(store, &mut s, true).await;
    let expected = facts_of(&s.world);
    let mut tx = bounded("write", store.write()).await.expect("a write begins");
    assert_loads(tx.as_mut(), &expected).await;
    drop(tx);

    // The scenario did reach every state it claims to, so the comparisons above covered them.
    let w = &s.world;
    let packet_status = |id| w.packet(id).ok().flatten().map(|p| p.status);
    assert_eq!(packet_status(cast.lucky), Some(PacketStatus::Expired));
    assert_eq!(packet_status(cast.delayed), Some(PacketStatus::Exhausted));
    assert_eq!(packet_status(cast.exclusive), Some(PacketStatus::Exhausted));
    assert_eq!(packet_status(cast.recalled), Some(PacketStatus::Recalled));
    assert!(w.packet(cast.lucky).ok().flatten().is_some_and(|p| p.touched));
    // A lucky packet's secret salt comes back exactly; the other kinds have none.
    let mut tx = bounded("read", store.read()).await.expect("a read begins");
    let keys = [cast.lucky, cast.delayed, cast.exclusive].map(Key::Packet);
    let loaded = bounded("load", tx.load(&keys)).await.expect("load");
    drop(tx);
    let salt_of = |id: PacketId| {
        let stored = loaded.iter().find_map(|f| match f {
            Fact::Packet(at, Some(p)) if *at == id => Some(p.salt),
            _ => None,
        });
        (stored.expect("the packet is stored"), w.packet(id).ok().flatten().and_then(|p| p.salt))
    };
    let (stored, drawn) = salt_of(cast.lucky);
    assert!(drawn.is_some(), "the core drew a salt for the lucky packet");
    assert!(stored == drawn, "the lucky packet's salt round-trips");
    assert_eq!(salt_of(cast.delayed), (None, None), "a normal packet has no salt");
    assert_eq!(salt_of(cast.exclusive), (None, None), "an exclusive packet has no salt");
    let claim_status = |id| w.claim(id).ok().flatten().map(|c| c.status);
    assert_eq!(claim_status(cast.bob_delayed_claim), Some(ClaimStatus::Revoked));
    assert_eq!(claim_status(cast.carol_delayed_claim), Some(ClaimStatus::Arrived));
    assert!(w.claims().any(|c| c.status == ClaimStatus::Returned));
    let pending_status = |id| w.pending(id).ok().flatten().map(|p| p.status);
    assert_eq!(pending_status(cast.revoked_transfer), Some(PendingStatus::Voided));
    assert_eq!(pending_status(cast.settled_transfer), Some(PendingStatus::Posted));
    assert!(w.users().all(|u| u.status == UserStatus::Active), "carol was locked and unlocked");
    let bob_wallet = w.account(AccountId::wallet(cast.bob)).ok().flatten().map(|a| a.frozen());
    assert_eq!(bob_wallet, Some(Fen::new(300)));
    for phase in ["posted", "pending", "post_pending", "void_pending"] {
        let found = w.transfers().any(|t| match t.phase {
            Phase::Posted => phase == "posted",
            Phase::Pending { .. } => phase == "pending",
            Phase::PostPending { .. } => phase == "post_pending",
            Phase::VoidPending { .. } => phase == "void_pending",
        });
        assert!(found, "the scenario makes a {phase} transfer");
    }
    assert!(w.transfers().any(|t| t.note.is_some()), "a transfer with a note");
    for user in [cast.alice, cast.bob, cast.carol, cast.dave] {
        let key = s.principal(s.key_of(user));
        assert_eq!(key.owner, Owner::User { user_id: user }, "every user has a key of their own");
    }
    let owner = |key| s.principal(key).owner;
    assert_eq!(owner(cast.root), Owner::Operator { name: "root".to_owned(), roles: Role::ALL.to_vec() });
    let auditor_roles = vec![Role::RiskOfficer, Role::Auditor];
    assert_eq!(owner(cast.auditor), Owner::Operator { name: "审计 auditor".to_owned(), roles: auditor_roles });
    assert_eq!(w.principals().count(), 6, "four users' keys and two operators' keys");
}

/// A key naming nothing gets `None` (or an empty list of claims), one answer per key, the same
/// in a read snapshot and in a write transaction.
pub async fn missing_keys_load_as_none_or_an_empty_list(store: &dyn Store) {
    let mut s = Scenario::new(2);
    let alice = s.user(store, "alice").await;
    let bob = s.user(store, "bob").await;
    s.deposit(store, alice, 10_000).await;
    let group = s.group(store, alice, &[bob]).await;
    let unclaimed =
        s.send(store, alice, PacketSpec::Normal { group_id: group, count: 2, amount_each: Fen::new(10) }, 0).await;

    let nobody = UserId::from_uuid(s.mint_uuid());
    let nothing = s.mint_uuid();
    let expected = vec![
        Fact::User(nobody, None),
        Fact::Account(AccountId::from_uuid(nothing), None),
        Fact::Group(GroupId::from_uuid(nothing), None),
        Fact::Packet(PacketId::from_uuid(nothing), None),
        Fact::Claim(ClaimId::from_uuid(nothing), None),
        Fact::ClaimOf(PacketId::from_uuid(nothing), alice, None),
        Fact::ClaimOf(unclaimed, bob, None),
        Fact::ClaimOf(unclaimed, nobody, None),
        Fact::ClaimsOf(PacketId::from_uuid(nothing), Vec::new()),
        Fact::ClaimsOf(unclaimed, Vec::new()),
        Fact::Pending(TransferId::from_uuid(nothing), None),
        Fact::Transfer(TransferId::from_uuid(nothing), None),
        Fact::Principal(KeyId::from_uuid(nothing), None),
        // A user's id is not the id of their key.
        Fact::Principal(KeyId::from_uuid(alice.uuid()), None),
        // A key asked twice is answered twice.
        Fact::User(nobody, None),
        // Next to existing ones, and an existing transfer is not a pending one.
        Fact::User(alice, s.world.user(alice).ok().flatten().cloned()),
        Fact::Principal(s.key_of(alice), Some(s.principal(s.key_of(alice)))),
    ];
    let deposit = s.world.transfers().find(|t| t.kind == TransferKind::Deposit).map(|t| t.id);
    let deposit = deposit.expect("the deposit transfer");
    let mut expected = expected;
    expected.push(Fact::Pending(deposit, None));

    let mut tx = bounded("read", store.read()).await.expect("a read begins");
    assert_loads(tx.as_mut(), &expected).await;
    drop(tx);
    let mut tx = bounded("write", store.write()).await.expect("a write begins");
    assert_loads(tx.as_mut(), &expected).await;
    let none = bounded("load", tx.load(&[])).await.expect("loading nothing succeeds");
    assert!(none.is_empty());
}

/// `ClaimOf` finds the one claim a person made on a packet and `ClaimsOf` every claim of that
/// packet and no other's.
pub async fn claim_of_and_claims_of_find_exactly_a_packets_claims(store: &dyn Store) {
    let mut s = Scenario::new(3);
    let alice = s.user(store, "alice").await;
    let mut members = Vec::new();
    for name in ["bob", "carol", "dave", "erin"] {
        members.push(s.user(store, name).await);
    }
    s.deposit(store, alice, 100_000).await;
    let group = s.group(store, alice, &members).await;
    let first = s.send(store, alice, PacketSpec::Lucky { group_id: group, count: 4, total: Fen::new(1_000) }, 0).await;
    let second = s.send(store, alice, PacketSpec::Lucky { group_id: group, count: 4, total: Fen::new(400) }, 0).await;
    let mut first_claims = Vec::new();
    for &member in &members[..3] {
        first_claims.push(s.claim(store, member, first).await);
    }
    let other = s.claim(store, members[3], second).await;

    let claim = |id: ClaimId| s.world.claim(id).ok().flatten().cloned().expect("the claim exists");
    let mut expected: Vec<Fact> =
        first_claims.iter().map(|&id| claim(id)).map(|c| Fact::ClaimOf(first, c.user_id, Some(c))).collect();
    expected.push(Fact::ClaimOf(first, members[3], None));
    expected.push(Fact::ClaimOf(second, members[0], None));
    expected.push(Fact::ClaimOf(second, members[3], Some(claim(other))));
    expected.push(Fact::ClaimsOf(first, first_claims.iter().map(|&id| claim(id)).collect()));
    expected.push(Fact::ClaimsOf(second, vec![claim(other)]));
    let mut tx = bounded("read", store.read()).await.expect("a read begins");
    assert_loads(tx.as_mut(), &expected).await;

    // The claims come with their shares in order of claiming.
    let loaded = bounded("load", tx.load(&[Key::ClaimsOf(first)])).await.expect("load");
    let [Fact::ClaimsOf(_, claims)] = loaded.as_slice() else { panic!("one ClaimsOf fact, got {loaded:?}") };
    let mut seqs: Vec<u32> = claims.iter().map(|c| c.seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, vec![0, 1, 2]);
}

/// Loads in one read transaction see the state at its first load, not later commits.
pub async fn a_read_transaction_sees_one_snapshot(store: &dyn Store) {
    let mut s = Scenario::new(4);
    let alice = s.user(store, "alice").await;
    let before = s.world.user(alice).ok().flatten().cloned();
    let mut snapshot = bounded("read", store.read()).await.expect("a read begins");
    assert_loads(snapshot.as_mut(), &[Fact::User(alice, before.clone())]).await;

    s.step(store, Command::LockUser { user: alice }).await;
    let bob = s.user(store, "bob").await;
    assert_loads(snapshot.as_mut(), &[Fact::User(alice, before), Fact::User(bob, None)]).await;
    drop(snapshot);

    let after = s.world.user(alice).ok().flatten().cloned();
    assert_eq!(after.as_ref().map(|u| u.status), Some(UserStatus::Locked));
    assert_store_holds_world(store, &s.world).await;
}

/// Idempotency records come back byte for byte, found by principal and key together.
pub async fn idempotency_records_round_trip_keyed_by_principal_and_key(store: &dyn Store) {
    let a1 = record("key_alice", "k1", T0);
    let b1 = record("key_bob", "k1", T0.plus_millis(1));
    let a2 = record("key_alice", "k2", T0.plus_millis(2));
    commit_records(store, vec![a1.clone(), b1.clone()]).await;
    commit_records(store, vec![a2.clone()]).await;

    let mut tx = bounded("write", store.write()).await.expect("a write begins");
    let ask = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs.iter().map(|(p, k)| ((*p).to_owned(), (*k).to_owned())).collect()
    };
    let keys =
        ask(&[("key_alice", "k1"), ("key_bob", "k1"), ("key_alice", "k3"), ("key_carol", "k2"), ("key_bob", "k2")]);
    let found = bounded("idempotency", tx.idempotency(&keys)).await.expect("the lookup succeeds");
    assert_eq!(sorted(found), sorted(vec![a1.clone(), b1.clone()]));
    let found = bounded("idempotency", tx.idempotency(&ask(&[("key_alice", "k2")]))).await.expect("lookup");
    assert_eq!(found, vec![a2.clone()]);
    let found = bounded("idempotency", tx.idempotency(&[])).await.expect("lookup");
    assert!(found.is_empty());
    drop(tx);

    // A read snapshot finds the same (the engine decides from one while a batch commits).
    let mut snapshot = bounded("read", store.read()).await.expect("a read begins");
    let found = bounded("idempotency", snapshot.idempotency(&keys)).await.expect("the lookup succeeds");
    assert_eq!(sorted(found), sorted(vec![a1.clone(), b1.clone()]));
    let found = bounded("idempotency", snapshot.idempotency(&ask(&[("key_alice", "k2")]))).await.expect("lookup");
    assert_eq!(found, vec![a2.clone()]);
    drop(snapshot);

    assert_eq!(sorted(dump(store).await.idempotency), sorted(vec![a1, b1, a2]));
}

/// A commit that fails anywhere (a duplicate insert, an update of a missing row, a repeated
/// transfer, principal key or idempotency key) writes nothing of its batch, its log rows
/// included; the store stays usable.
pub async fn a_failing_commit_writes_nothing_at_all(store: &dyn Store) {
    let mut s = Scenario::new(5);
    let alice = s.user(store, "alice").await;
    let bob = s.user(store, "bob").await;
    s.deposit(store, alice, 100_000).await;
    let group = s.group(store, alice, &[bob]).await;
    let stored_record = record("key_alice", "stored", T0);
    commit_records(store, vec![stored_record.clone()]).await;
    let delayed =
        s.send(store, alice, PacketSpec::Normal { group_id: group, count: 2, amount_each: Fen::new(100) }, 7_200).await;
    let stored_transfer = s.world.transfers().next().cloned().expect("a stored transfer");
    let stored_user = s.world.user(alice).ok().flatten().cloned().expect("alice");
    let stored_principal = s.principal(s.key_of(alice));
    let before = comparable(&dump(store).await);
    assert!(!has_operator(store).await);

    // A valid batch touching every table: a new user and their key, an operator, a deposit, a
    // packet, a claim (pending), account updates, events.
    s.user_in_world_only("erin");
    s.operator_in_world_only("ops", &[Role::Admin]);
    s.run(Command::Deposit { user: bob, amount: Fen::new(5_000) });
    s.run(Command::SendPacket {
        actor: bob,
        spec: PacketSpec::Lucky { group_id: group, count: 2, total: Fen::new(300) },
        greeting: Some("新年快乐".to_owned()),
        arrival_delay_s: 0,
    });
    s.run(Command::ClaimPacket { actor: bob, packet: delayed });
    let changes = s.take_changes();
    assert!(!changes.users.is_empty() && !changes.claims.is_empty() && !changes.pendings.is_empty());
    assert_eq!(changes.principals.len(), 2, "erin's key and the operator's");
    let fresh_record = record("key_bob", "fresh", s.now);
    let batch = s.batch(changes, vec![fresh_record.clone()]);
    assert!(!batch.log.is_empty(), "the batch appends to the log");
    let nothing = s.mint_uuid();

    type Spoil = fn(&mut Changes, &mut Vec<IdempotencyRecord>, &Spoilers);
    let spoilers: [(&str, Spoil); 8] = [
        ("an insert of an existing user", |c, _, x| c.users.push((Write::Insert, x.user.clone()))),
        ("an update of a missing packet", |c, _, x| {
            let mut packet = c.packets[0].1.clone();
            packet.id = PacketId::from_uuid(x.nothing);
            c.packets.push((Write::Update, packet));
        }),
        ("a transfer that already exists", |c, _, x| c.transfers.push(x.transfer.clone())),
        ("an idempotency key already stored", |_, r, x| r.push(x.record.clone())),
        ("an update of a missing pending transfer", |c, _, x| {
            let mut pending = c.pendings[0].1.clone();
            pending.transfer.id = TransferId::from_uuid(x.nothing);
            c.pendings.push((Write::Update, pending));
        }),
        ("an update of a missing claim", |c, _, x| {
            let mut claim = c.claims[0].1.clone();
            claim.id = ClaimId::from_uuid(x.nothing);
            c.claims.push((Write::Update, claim));
        }),
        ("a principal key already stored", |c, _, x| c.principals.push(x.principal.clone())),
        ("a stored key id given to a new operator", |c, _, x| {
            let operator = c.principals.iter().find(|p| matches!(p.owner, Owner::Operator { .. }));
            let mut operator = operator.cloned().expect("the batch creates an operator");
            operator.key_id = x.principal.key_id;
            c.principals.push(operator);
        }),
    ];
    let x = Spoilers {
        user: stored_user,
        transfer: stored_transfer,
        principal: stored_principal,
        record: stored_record,
        nothing,
    };
    for (what, spoil) in spoilers {
        let mut spoiled = batch.clone();
        spoil(&mut spoiled.changes, &mut spoiled.idempotency, &x);
        assert!(refused(store, spoiled).await, "a batch with {what} must not commit");
        assert_eq!(comparable(&dump(store).await), before, "a batch with {what} wrote something");
        assert!(!has_operator(store).await, "a batch with {what} left its operator behind");
    }

    // The batch itself was fine, and the store still accepts it.
    s.save(store, batch).await;
    assert_store_holds_world(store, &s.world).await;
    let after = dump(store).await;
    assert_eq!((after.events, after.log), (s.events, s.log));
    assert!(after.idempotency.contains(&fresh_record));
    assert!(has_operator(store).await, "the operator of the good batch");
}

/// What the spoilers of [`a_failing_commit_writes_nothing_at_all`] add to a valid batch.
struct Spoilers {
    user: User,
    transfer: Transfer,
    principal: Principal,
    record: IdempotencyRecord,
    nothing: uuid::Uuid,
}

/// A write transaction dropped without commit leaves nothing behind and does not keep the
/// writer: the next write begins and commits.
/// `written` promises that a commit's rows are written and only its flush remains: a writer that
/// pipelines closes its next batch on it. A commit that lands has told it; one whose rows are
/// refused never has.
pub async fn written_is_told_by_a_commit_that_lands_and_not_by_one_whose_rows_are_refused(store: &dyn Store) {
    async fn told(written: &Notify) -> bool {
        // A notification given before anyone waited is kept, and taken by the first wait.
        tokio::time::timeout(Duration::ZERO, written.notified()).await.is_ok()
    }
    let mut s = Scenario::new(31);
    let alice = s.user(store, "alice").await;
    s.run(Command::Deposit { user: alice, amount: Fen::new(100) });
    let changes = s.take_changes();
    let written = Arc::new(Notify::new());
    let tx = store.write().await.expect("a write begins");
    let batch = Commit { changes: changes.clone(), written: Some(written.clone()), ..Commit::default() };
    tx.commit(batch).await.expect("the deposit commits");
    assert!(told(&written).await, "a commit that landed told that its rows were written");
    // The same deposit again: its transfer is already stored.
    let refused = Arc::new(Notify::new());
    let tx = store.write().await.expect("a write begins");
    let again = tx.commit(Commit { changes, written: Some(refused.clone()), ..Commit::default() }).await;
    assert!(again.is_err(), "a transfer is stored once");
    assert!(!told(&refused).await, "a commit whose rows were refused never told they were written");
}

pub async fn dropping_a_write_transaction_rolls_it_back_and_frees_the_writer(store: &dyn Store) {
    let mut s = Scenario::new(6);
    let alice = s.user(store, "alice").await;
    let before = comparable(&dump(store).await);

    let mut tx = bounded("write", store.write()).await.expect("a write begins");
    bounded("load", tx.load(&[Key::User(alice)])).await.expect("load");
    bounded("due", tx.due(s.now, 10)).await.expect("due");
    drop(tx);
    assert_eq!(comparable(&dump(store).await), before);

    // Twice in a row, in case a backend frees the writer lazily.
    for _ in 0..2 {
        let tx = bounded("the write after a dropped one", store.write()).await.expect("a write begins");
        drop(tx);
    }
    s.step(store, Command::LockUser { user: alice }).await;
    assert_store_holds_world(store, &s.world).await;
}

/// `due` lists active packets past expiry and open pending transfers past their deadline
/// (inclusive), oldest deadline first, at most `limit` of each, and nothing else.
pub async fn due_respects_time_status_limit_and_order(store: &dyn Store) {
    let mut s = Scenario::new(7);
    let alice = s.user(store, "alice").await;
    let bob = s.user(store, "bob").await;
    s.deposit(store, alice, 100_000).await;
    let group = s.group(store, alice, &[bob]).await;
    let normal = |count| PacketSpec::Normal { group_id: group, count, amount_each: Fen::new(100) };

    // Created in one order, expiring in another, so "oldest first" cannot be the id order.
    s.limits.expiry_s = 3 * 3_600;
    let late = s.send(store, alice, normal(2), 0).await;
    s.advance_s(1);
    s.limits.expiry_s = 3_600;
    let early = s.send(store, alice, normal(2), 0).await;
    let exhausted = s.send(store, alice, normal(1), 0).await;
    s.claim(store, bob, exhausted).await;
    let recalled = s.send(store, alice, normal(1), 0).await;
    s.step(store, Command::RecallPacket { actor: alice, packet: recalled }).await;
    s.limits.expiry_s = 2 * 3_600;
    let middle = s.send(store, alice, normal(2), 0).await;

    let slow = s.transfer(store, alice, bob, 100, 24 * 3_600, None).await;
    s.advance_s(1);
    let fast = s.transfer(store, alice, bob, 100, 2 * 3_600, None).await;
    let revoked = s.transfer(store, alice, bob, 100, 2 * 3_600, None).await;
    s.step(store, Command::RevokeTransfer { actor: alice, transfer: revoked }).await;
    let settled = s.transfer(store, alice, bob, 100, 2 * 3_600, None).await;

    let deadline = |id| s.world.pending(id).ok().flatten().map(|p| p.deadline()).expect("pending");
    let expiry = |id| s.world.packet(id).ok().flatten().map(|p| p.expires_at).expect("packet");
    let (fast_at, early_at) = (deadline(fast), expiry(early));
    let never = Timestamp::from_millis(i64::MAX);

    let due = |at: Timestamp, limit: u32| async move {
        let mut tx = bounded("write", store.write()).await.expect("a write begins");
        bounded("due", tx.due(at, limit)).await.expect("due succeeds")
    };
    let nothing = due(T0, 100).await;
    assert!(nothing.packets.is_empty() && nothing.pendings.is_empty(), "nothing is due at the start: {nothing:?}");
    let just = due(early_at.plus_millis(-1), 100).await;
    assert!(just.packets.is_empty(), "a packet is not due a millisecond before its expiry: {just:?}");
    let at_expiry = due(early_at, 100).await;
    assert_eq!(at_expiry.packets, vec![early], "a packet is due at its expiry");
    let at_deadline = due(fast_at, 100).await;
    assert!(at_deadline.pendings.contains(&fast) && !at_deadline.pendings.contains(&slow));

    // Settle one pending transfer: posted ones are not due any more.
    s.now = fast_at;
    s.step(store, Command::SettlePending { transfer: settled }).await;

    let all = due(never, 100).await;
    assert_eq!(all.packets, vec![early, middle, late], "active packets only, by expiry");
    assert_eq!(all.pendings, vec![fast, slow], "open pending transfers only, by deadline");
    let one = due(never, 1).await;
    assert_eq!((one.packets, one.pendings), (vec![early], vec![fast]));
    let none = due(never, 0).await;
    assert!(none.packets.is_empty() && none.pendings.is_empty());

    // Once expired, a packet is not due any more.
    s.step(store, Command::ExpirePacket { packet: early }).await;
    assert_eq!(due(never, 100).await.packets, vec![middle, late]);
}

/// The history a wallet should show: its own original transfers, newest first, computed from
/// the world alone.
pub fn expected_history(world: &World, account: AccountId) -> Vec<HistoryItem> {
    let mut items: Vec<HistoryItem> = world
        .transfers()
        .filter(|t| t.phase.is_original() && (t.debit == account || t.credit == account))
        .map(|t| HistoryItem {
            transfer_id: t.id,
            amount: t.amount,
            incoming: t.credit == account,
            kind: t.kind,
            pending: world.pending(t.id).ok().flatten().map(|p| p.status),
            packet_id: t.packet_id,
            claim_id: t.claim_id,
            note: t.note.clone(),
            created_at: t.created_at,
        })
        .collect();
    items.sort_by_key(|item| std::cmp::Reverse(item.transfer_id));
    items
}

async fn history(store: &dyn Store, account: AccountId, before: Option<TransferId>, limit: u32) -> Vec<HistoryItem> {
    bounded("history", store.history(account, before, limit)).await.expect("history succeeds")
}

/// A wallet's history is its transfers in both directions, newest first, with the kind and the
/// fate of pending ones, and without the transfers that only resolve a pending one.
pub async fn history_shows_a_wallets_own_transfers_newest_first_with_their_status(store: &dyn Store) {
    let mut s = Scenario::new(8);
    let cast = full_scenario(store, &mut s, false).await;
    for user in [cast.alice, cast.bob, cast.carol, cast.dave] {
        let wallet = AccountId::wallet(user);
        let expected = expected_history(&s.world, wallet);
        assert_eq!(history(store, wallet, None, 1_000).await, expected, "history of {user}");
    }

    // The comparisons above covered what they should.
    let bob = history(store, AccountId::wallet(cast.bob), None, 1_000).await;
    let revoked = s.claim_transfer(cast.bob_delayed_claim);
    let item = bob.iter().find(|i| i.transfer_id == revoked).expect("bob's revoked claim is in his history");
    assert_eq!(
        (item.incoming, item.kind, item.pending),
        (true, TransferKind::PacketClaim, Some(PendingStatus::Voided))
    );
    assert!(bob.iter().any(|i| !i.incoming && i.kind == TransferKind::Withdrawal && i.pending.is_none()));
    assert!(bob.iter().any(|i| !i.incoming && i.kind == TransferKind::ClaimReturn));
    let dave = history(store, AccountId::wallet(cast.dave), None, 1_000).await;
    let fates: Vec<Option<PendingStatus>> =
        dave.iter().filter(|i| i.kind == TransferKind::Transfer).map(|i| i.pending).collect();
    assert_eq!(
        fates,
        vec![Some(PendingStatus::Posted), Some(PendingStatus::Voided)],
        "dave's two transfers in, newest first"
    );
    let resolutions =
        s.world.transfers().filter(|t| !t.phase.is_original() && t.credit == AccountId::wallet(cast.dave)).count();
    assert!(resolutions > 0, "the world has resolutions on dave's wallet, which history leaves out");
    assert!(dave.iter().all(|i| s.world.transfer(i.transfer_id).ok().flatten().is_some_and(|t| t.phase.is_original())));
    assert!(history(store, AccountId::from_uuid(s.mint_uuid()), None, 10).await.is_empty(), "no history for nobody");
}

/// Following `before` from page to page yields the whole history once, in order, for any page
/// size, and a page never holds more than `limit` items.
pub async fn history_pages_with_before_without_gaps_or_repeats(store: &dyn Store) {
    let mut s = Scenario::new(9);
    let cast = full_scenario(store, &mut s, false).await;
    // More transfers in the same millisecond, so ids, not times, must order them.
    for fen in 1..=5 {
        s.transfer(store, cast.bob, cast.alice, fen, 0, None).await;
        s.transfer(store, cast.alice, cast.bob, fen, 0, None).await;
    }
    for user in [cast.alice, cast.bob] {
        let wallet = AccountId::wallet(user);
        let full = expected_history(&s.world, wallet);
        assert!(full.len() > 10, "enough history to page through");
        for limit in [1, 2, 3, 7] {
            let mut pages = Vec::new();
            let mut before = None;
            loop {
                let page = history(store, wallet, before, limit).await;
                assert!(page.len() <= limit as usize, "a page of {} items with limit {limit}", page.len());
                let Some(last) = page.last() else { break };
                before = Some(last.transfer_id);
                pages.extend(page);
                assert!(pages.len() <= full.len(), "paging with limit {limit} does not end");
            }
            assert_eq!(pages, full, "pages of {limit} put together");
        }
        let first = full[0].transfer_id;
        assert_eq!(history(store, wallet, Some(first), 1_000).await, full[1..].to_vec(), "strictly older than before");
        assert!(history(store, wallet, None, 0).await.is_empty(), "limit 0 gives nothing");
    }
}

/// The dump holds every entity once, every idempotency record and every event, and the world
/// it rebuilds passes the invariant check.
pub async fn dump_rebuilds_a_world_that_passes_the_invariant_check(store: &dyn Store) {
    let mut s = Scenario::new(10);
    full_scenario(store, &mut s, false).await;
    let records = vec![record("key_alice", "k1", s.now), record("key_bob", "k1", s.now)];
    commit_records(store, records.clone()).await;
    assert!(invariants::check(&s.world, &s.limits).is_empty(), "the scenario itself is sound");

    let dump = dump(store).await;
    assert_eq!(dump.events, s.events, "every event is stored, in order");
    assert!(dump.events.len() >= 20, "the scenario emits events: {}", dump.events.len());
    assert_eq!(sorted(dump.idempotency.clone()), sorted(records));
    let mut expected: Vec<Fact> =
        facts_of(&s.world).into_iter().filter(|f| !matches!(f, Fact::ClaimOf(..) | Fact::ClaimsOf(..))).collect();
    let mut facts = dump.facts.clone();
    let order = |f: &Fact| format!("{f:?}");
    expected.sort_by_key(order);
    facts.sort_by_key(order);
    assert_eq!(facts, expected, "one fact per entity, exactly the world's");
    let owners: Vec<&Owner> = facts
        .iter()
        .filter_map(|f| match f {
            Fact::Principal(_, Some(p)) => Some(&p.owner),
            _ => None,
        })
        .collect();
    assert_eq!(owners.iter().filter(|o| matches!(o, Owner::User { .. })).count(), 4, "the users' keys");
    assert_eq!(owners.iter().filter(|o| matches!(o, Owner::Operator { .. })).count(), 2, "the operators' keys");

    let rebuilt = World::complete_from(dump.facts);
    let violations = invariants::check(&rebuilt, &s.limits);
    assert!(violations.is_empty(), "the dumped world breaks invariants: {violations:#?}");
    assert_eq!(rebuilt.claims().count(), s.world.claims().count());
}

/// Purging deletes records created strictly before the bound, at most `limit` per call, and
/// keeps the rest.
pub async fn purge_idempotency_deletes_only_older_records_up_to_the_limit(store: &dyn Store) {
    let records: Vec<IdempotencyRecord> =
        (0..5).map(|i| record("key_alice", &format!("k{i}"), T0.plus_millis(i * 1_000))).collect();
    commit_records(store, records.clone()).await;
    let bound = T0.plus_millis(3_000);
    let purge = |limit| async move {
        bounded("purge", store.purge_idempotency(bound, limit)).await.expect("the purge succeeds")
    };

    assert_eq!(purge(2).await, 2, "at most the limit");
    let left = dump(store).await.idempotency;
    assert_eq!(left.len(), 3);
    assert!(records[3..].iter().all(|r| left.contains(r)), "records at or after the bound stay");
    assert_eq!(purge(10).await, 1, "the one old record left");
    assert_eq!(sorted(dump(store).await.idempotency), sorted(records[3..].to_vec()));
    assert_eq!(purge(10).await, 0, "nothing older is left");
    assert_eq!(purge(0).await, 0);
    assert_eq!(dump(store).await.idempotency.len(), 2);
}

/// Start-up creates the first operator only when there is none: a user's key is not an
/// operator, and an operator counts once committed, whatever else is stored.
pub async fn has_operator_is_true_only_once_an_operator_key_is_committed(store: &dyn Store) {
    let mut s = Scenario::new(15);
    assert!(!has_operator(store).await, "a new store has no operator");
    s.user(store, "alice").await;
    s.user(store, "bob").await;
    assert_eq!(dump(store).await.facts.iter().filter(|f| matches!(f, Fact::Principal(..))).count(), 2);
    assert!(!has_operator(store).await, "users' keys are not operators");

    s.operator_in_world_only("root", &Role::ALL);
    let changes = s.take_changes();
    assert!(!has_operator(store).await, "an operator not yet committed does not count");
    let batch = s.batch(changes, Vec::new());
    s.save(store, batch).await;
    assert!(has_operator(store).await, "the committed operator counts");

    // More users and operators change nothing.
    s.user(store, "carol").await;
    s.operator(store, "auditor", &[Role::Auditor]).await;
    assert!(has_operator(store).await);
    assert_store_holds_world(store, &s.world).await;
}

/// A scenario with a log: two users, a deposit, a group and a lucky packet, committed one
/// command at a time.
async fn small_log(store: &dyn Store, s: &mut Scenario) -> (UserId, UserId, PacketId) {
    let alice = s.user(store, "alice").await;
    let bob = s.user(store, "bob").await;
    s.deposit(store, alice, 100_000).await;
    let group = s.group(store, alice, &[bob]).await;
    let lucky = s.send(store, alice, PacketSpec::Lucky { group_id: group, count: 2, total: Fen::new(300) }, 0).await;
    (alice, bob, lucky)
}

/// Runs, without committing, commands whose log has transfers and events interleaved: a
/// deposit, a claim (its transfer, then its event) and a transfer.
fn mixed_batch(s: &mut Scenario, alice: UserId, bob: UserId, lucky: PacketId) -> Changes {
    s.run(Command::Deposit { user: bob, amount: Fen::new(500) });
    s.run(Command::ClaimPacket { actor: bob, packet: lucky });
    s.run(Command::Transfer { actor: alice, to: bob, amount: Fen::new(200), note: None, arrival_delay_s: 0 });
    let changes = s.take_changes();
    assert!(changes.log.len() >= 4, "three transfers and an event: {} records", changes.log.len());
    changes
}

/// The log rows and the checkpoint of a batch are written in the same transaction as its
/// changes: a batch that fails for any reason, in its changes or in its checkpoint, leaves no
/// row and no checkpoint behind, and a batch that commits leaves all of them.
pub async fn log_rows_and_a_checkpoint_commit_atomically_with_the_changes(store: &dyn Store) {
    let mut s = Scenario::new(20);
    let (alice, bob, lucky) = small_log(store, &mut s).await;
    let stored_user = s.world.user(alice).ok().flatten().cloned().expect("alice");
    let changes = mixed_batch(&mut s, alice, bob, lucky);
    let mut batch = s.batch(changes, vec![record("key_alice", "k1", s.now)]);
    let size_after = s.log_size() + len_u64(batch.log.len());
    batch.checkpoint = Some(checkpoint(size_after, s.now));
    let before = comparable(&dump(store).await);

    let mut spoiled = batch.clone();
    spoiled.changes.users.push((Write::Insert, stored_user));
    assert!(refused(store, spoiled).await, "a batch inserting an existing user must not commit");
    assert_eq!(comparable(&dump(store).await), before, "the failed batch wrote something");
    let mut spoiled = batch.clone();
    spoiled.checkpoint = Some(checkpoint(size_after + 1, s.now));
    assert!(refused(store, spoiled).await, "a checkpoint past the log must not commit");
    assert_eq!(comparable(&dump(store).await), before, "the batch with a bad checkpoint wrote something");
    assert_eq!(log_size(store).await, s.log_size());
    assert_eq!(latest_checkpoint(store).await, None);

    s.save(store, batch.clone()).await;
    assert_store_holds_world(store, &s.world).await;
    let after = dump(store).await;
    assert_eq!(after.log, s.log, "every log row");
    assert_eq!(after.log[after.log.len() - batch.log.len()..], batch.log[..], "the batch's rows at the end");
    assert_eq!(after.events, s.events);
    assert_eq!(after.checkpoints, s.checkpoints);
    assert!(after.idempotency.contains(&batch.idempotency[0]));
    assert_eq!(log_size(store).await, size_after);
    assert_eq!(latest_checkpoint(store).await, batch.checkpoint);
}

/// The entries of a batch continue the stored log exactly: a batch whose first index leaves a
/// gap, repeats a stored entry or starts again from 0, or whose own indexes skip or repeat,
/// fails as a whole.
pub async fn log_indexes_must_continue_exactly_from_the_current_size(store: &dyn Store) {
    let mut s = Scenario::new(21);
    let (alice, bob, lucky) = small_log(store, &mut s).await;
    assert!(s.log_size() >= 4, "a log to continue");
    let changes = mixed_batch(&mut s, alice, bob, lucky);
    let batch = s.batch(changes, Vec::new());
    let before = comparable(&dump(store).await);

    type Spoil = fn(&mut Vec<LogRow>);
    let spoilers: [(&str, Spoil); 6] = [
        ("a gap before its first entry", |log| log.iter_mut().for_each(|row| row.index += 1)),
        ("a repeat of the last stored entry", |log| log.iter_mut().for_each(|row| row.index -= 1)),
        ("indexes starting again from 0", |log| (0..).zip(log.iter_mut()).for_each(|(i, row)| row.index = i)),
        ("a gap inside the batch", |log| log[2..].iter_mut().for_each(|row| row.index += 1)),
        ("a repeat inside the batch", |log| log[2..].iter_mut().for_each(|row| row.index -= 1)),
        ("its last entry given twice", |log| log.push(log[log.len() - 1].clone())),
    ];
    for (what, spoil) in spoilers {
        let mut spoiled = batch.clone();
        spoil(&mut spoiled.log);
        assert!(refused(store, spoiled).await, "a batch with {what} must not commit");
        assert_eq!(comparable(&dump(store).await), before, "a batch with {what} wrote something");
    }

    s.save(store, batch).await;
    let stored = dump(store).await.log;
    assert_eq!(stored, s.log);
    assert!(stored.iter().zip(0..).all(|(row, i)| row.index == i), "indexes 0..n");
    assert_store_holds_world(store, &s.world).await;
}

/// `log_size` in a write transaction is the number of committed entries, where the engine
/// numbers the entries of the batch it then commits in the same transaction; a batch dropped or
/// refused does not change it.
pub async fn log_size_counts_the_committed_entries_inside_a_write_transaction(store: &dyn Store) {
    let mut s = Scenario::new(22);
    assert_eq!(log_size(store).await, 0);
    let (alice, _, _) = small_log(store, &mut s).await;
    assert_eq!(log_size(store).await, s.log_size());
    assert!(s.log_size() > 0);

    // As the engine does: ask for the size, number the rows from it, commit, all in one
    // transaction.
    s.run(Command::Deposit { user: alice, amount: Fen::new(700) });
    let changes = s.take_changes();
    let mut tx = bounded("write", store.write()).await.expect("a write begins");
    let size = bounded("log_size", tx.log_size()).await.expect("log_size");
    assert_eq!(size, s.log_size());
    let log = log_rows(size, &changes.log);
    let batch = Commit { changes, log, ..Commit::default() };
    bounded("commit", tx.commit(batch.clone())).await.expect("the commit succeeds");
    s.remember(batch);
    assert_eq!(log_size(store).await, s.log_size());

    // A write transaction dropped without a commit, and a batch refused, leave it as it was.
    s.run(Command::Deposit { user: alice, amount: Fen::new(800) });
    let changes = s.take_changes();
    let mut batch = s.batch(changes, Vec::new());
    let tx = bounded("write", store.write()).await.expect("a write begins");
    drop(tx);
    assert_eq!(log_size(store).await, s.log_size());
    let mut repeated = batch.clone();
    repeated.log.iter_mut().for_each(|row| row.index -= 1);
    assert!(refused(store, repeated).await);
    assert_eq!(log_size(store).await, s.log_size());
    batch.checkpoint = Some(checkpoint(s.log_size() + len_u64(batch.log.len()), s.now));
    s.save(store, batch).await;
    assert_eq!(log_size(store).await, s.log_size());
    assert_eq!(dump(store).await.log, s.log);
}

async fn log_entries(store: &dyn Store, start: u64, limit: u32) -> Vec<LogRow> {
    bounded("log_entries", store.log_entries(start, limit)).await.expect("log_entries succeeds")
}

/// `log_entries` reads the log from `start` in index order, at most `limit` entries: following
/// it page after page yields the whole log once, for any page size.
pub async fn log_entries_pages_through_the_whole_log_in_index_order(store: &dyn Store) {
    let mut s = Scenario::new(23);
    full_scenario(store, &mut s, false).await;
    let size = s.log_size();
    assert!(size > 40, "a log to page through: {size} entries");
    assert_eq!(log_entries(store, 0, 100_000).await, s.log, "the whole log");
    for limit in [1, 2, 3, 7, 64] {
        let mut pages = Vec::new();
        let mut start = 0;
        loop {
            let page = log_entries(store, start, limit).await;
            assert!(page.len() <= limit as usize, "a page of {} entries with limit {limit}", page.len());
            let Some(last) = page.last() else { break };
            start = last.index + 1;
            pages.extend(page);
            assert!(pages.len() <= s.log.len(), "paging with limit {limit} does not end");
        }
        assert_eq!(pages, s.log, "pages of {limit} put together");
    }
    assert_eq!(log_entries(store, 5, 3).await, s.log[5..8].to_vec(), "from the middle");
    assert_eq!(log_entries(store, size - 1, 10).await, s.log[s.log.len() - 1..].to_vec(), "the last entry");
    assert!(log_entries(store, size, 10).await.is_empty(), "nothing at the size");
    assert!(log_entries(store, u64::MAX, 10).await.is_empty(), "nothing far past it");
    assert!(log_entries(store, 0, 0).await.is_empty(), "limit 0 gives nothing");
}

/// A transfer's entry is found by its id, and a packet's entries (its transfers and its
/// events, the reveal of a lucky one included) in index order, cut at `limit`.
pub async fn log_index_of_and_log_entries_of_packet_find_a_transfers_and_a_packets_entries(store: &dyn Store) {
    let mut s = Scenario::new(24);
    let cast = full_scenario(store, &mut s, false).await;

    let transfers: Vec<Transfer> = s.world.transfers().cloned().collect();
    assert!(transfers.len() > 10);
    for transfer in &transfers {
        let at = bounded("log_index_of", store.log_index_of(transfer.id)).await.expect("log_index_of");
        let index = at.unwrap_or_else(|| panic!("transfer {} has no log entry", transfer.id));
        let row = &s.log[usize::try_from(index).expect("an index fits")];
        assert_eq!(row.transfer_id, Some(transfer.id));
        let decoded = log::decode(&row.entry).expect("the entry decodes");
        assert_eq!(decoded.record, LogRecord::Transfer(transfer.clone()), "entry {index} records the transfer");
    }
    let nothing = TransferId::from_uuid(s.mint_uuid());
    assert_eq!(bounded("log_index_of", store.log_index_of(nothing)).await.expect("log_index_of"), None);

    for packet in [cast.lucky, cast.delayed, cast.exclusive, cast.recalled] {
        let expected: Vec<LogRow> = s.log.iter().filter(|row| row.packet_id == Some(packet)).cloned().collect();
        assert!(expected.len() >= 3, "packet {packet} has entries: {expected:?}");
        let of_packet = |limit| async move {
            bounded("log_entries_of_packet", store.log_entries_of_packet(packet, limit)).await.expect("succeeds")
        };
        assert_eq!(of_packet(1_000).await, expected, "the entries of packet {packet}");
        assert_eq!(of_packet(2).await, expected[..2].to_vec(), "the first two entries of packet {packet}");
        assert!(of_packet(0).await.is_empty());
    }
    let lucky = bounded("log_entries_of_packet", store.log_entries_of_packet(cast.lucky, 1_000)).await.expect("ok");
    let revealed = lucky.iter().any(|row| {
        matches!(
            log::decode(&row.entry).map(|e| e.record),
            Ok(LogRecord::Event(Event { what: EventKind::LuckySharesRevealed { .. }, .. }))
        )
    });
    assert!(revealed, "the expired lucky packet's reveal is among its entries");
    let nobody = PacketId::from_uuid(s.mint_uuid());
    let none = bounded("log_entries_of_packet", store.log_entries_of_packet(nobody, 10)).await.expect("succeeds");
    assert!(none.is_empty(), "no entries for a packet nobody sent");
}

/// The latest checkpoint is the one of the largest size, with its note exactly as committed; a
/// checkpoint may come in a batch that appends nothing.
pub async fn latest_checkpoint_is_the_largest_committed_one(store: &dyn Store) {
    let mut s = Scenario::new(25);
    assert_eq!(latest_checkpoint(store).await, None, "a new store has no checkpoint");
    let (alice, _, _) = small_log(store, &mut s).await;
    let first = checkpoint(2, s.now);
    s.save(store, Commit { checkpoint: Some(first.clone()), ..Commit::default() }).await;
    assert_eq!(latest_checkpoint(store).await, Some(first));

    s.advance_s(1);
    let second = checkpoint(s.log_size(), s.now);
    s.save(store, Commit { checkpoint: Some(second.clone()), ..Commit::default() }).await;
    assert_eq!(latest_checkpoint(store).await, Some(second.clone()));

    // Later commits without a checkpoint change nothing.
    s.deposit(store, alice, 1).await;
    assert_eq!(latest_checkpoint(store).await, Some(second));
    assert_eq!(dump(store).await.checkpoints, s.checkpoints);
}

/// A checkpoint must be larger than every stored one and no larger than the log after the
/// batch's own entries; one that is not fails its whole batch.
pub async fn checkpoints_must_grow_and_cover_no_more_than_the_log(store: &dyn Store) {
    let mut s = Scenario::new(26);
    let (alice, _, _) = small_log(store, &mut s).await;
    let stored = s.log_size();
    assert!(stored > 3);
    s.save(store, Commit { checkpoint: Some(checkpoint(3, s.now)), ..Commit::default() }).await;

    s.run(Command::Deposit { user: alice, amount: Fen::new(900) });
    let changes = s.take_changes();
    let batch = s.batch(changes, Vec::new());
    let appended = len_u64(batch.log.len());
    assert!(appended > 0);
    let before = comparable(&dump(store).await);
    for (what, size) in [
        ("the size of the stored checkpoint", 3),
        ("a size below the stored checkpoint", 2),
        ("a size past the log after the batch", stored + appended + 1),
        ("a size far past the log", u64::MAX),
    ] {
        let mut spoiled = batch.clone();
        spoiled.checkpoint = Some(checkpoint(size, s.now));
        assert!(refused(store, spoiled).await, "a checkpoint of {what} must not commit");
        assert_eq!(comparable(&dump(store).await), before, "a checkpoint of {what} let its batch write something");
    }
    let without_rows = Commit { checkpoint: Some(checkpoint(stored + 1, s.now)), ..Commit::default() };
    assert!(refused(store, without_rows).await, "a checkpoint cannot count entries that are not appended");

    // Exactly the log after the batch is fine, and so is a checkpoint between the two.
    let mut good = batch;
    good.checkpoint = Some(checkpoint(stored + appended, s.now));
    s.save(store, good.clone()).await;
    assert_eq!(latest_checkpoint(store).await, good.checkpoint);
    let sizes: Vec<u64> = dump(store).await.checkpoints.iter().map(|c| c.size).collect();
    assert_eq!(sizes, vec![3, stored + appended]);
}

/// The dump holds every event in the order committed (decoded, new fields included), every log
/// entry by index and every checkpoint by size.
pub async fn dump_returns_every_event_log_entry_and_checkpoint_in_order(store: &dyn Store) {
    let mut s = Scenario::new(27);
    let cast = full_scenario(store, &mut s, false).await;
    s.save(store, Commit { checkpoint: Some(checkpoint(7, s.now)), ..Commit::default() }).await;
    s.advance_s(1);
    s.step(store, Command::Deposit { user: cast.carol, amount: Fen::new(1_000) }).await;
    s.save(store, Commit { checkpoint: Some(checkpoint(s.log_size(), s.now)), ..Commit::default() }).await;

    let dump = dump(store).await;
    assert_eq!(dump.events, s.events, "every event, in order");
    assert_eq!(dump.log, s.log, "every log entry, by index");
    assert_eq!(dump.checkpoints, s.checkpoints, "every checkpoint, by size");
    assert_eq!(dump.checkpoints.len(), 2);

    // The log records the events and transfers the dump holds, in the same order.
    let logged: Vec<Event> = dump
        .log
        .iter()
        .filter_map(|row| match log::decode(&row.entry).map(|e| e.record) {
            Ok(LogRecord::Event(event)) => Some(event),
            _ => None,
        })
        .collect();
    assert_eq!(logged, dump.events, "the log's events are the stored events");
    // The new kinds of event and field came back, so the comparison covered them.
    let commitment = dump.events.iter().any(
        |e| matches!(&e.what, EventKind::PacketSent { packet_id, commitment: Some(_), .. } if *packet_id == cast.lucky),
    );
    assert!(commitment, "the lucky packet's commitment is stored");
    let revealed = dump
        .events
        .iter()
        .any(|e| matches!(&e.what, EventKind::LuckySharesRevealed { packet_id, .. } if *packet_id == cast.lucky));
    assert!(revealed, "the lucky packet's reveal is stored");
}

/// Unix seconds of [`T0`], for the nonce records.
const T0_S: i64 = T0.millis() / 1_000;

async fn remember(store: &dyn Store, key: KeyId, digest: [u8; 16], expires_at_s: i64, now_s: i64) -> bool {
    bounded("remember_nonce", store.remember_nonce(key, digest, expires_at_s, now_s))
        .await
        .expect("remember_nonce succeeds")
}

/// A nonce digest whose bytes include 0x00 and 0xff, which a text column would mangle.
fn digest(seed: u8) -> [u8; 16] {
    let mut digest = [0u8; 16];
    for (i, byte) in (0u8..).zip(digest.iter_mut()) {
        *byte = seed.wrapping_mul(29).wrapping_add(i.wrapping_mul(17));
    }
    digest[0] = 0;
    digest[15] = 0xff;
    digest
}

/// A nonce is accepted once and refused while its record lives (`now < expires_at`); records are
/// kept per key, so another key may use the same nonce; once expired, the nonce is accepted again
/// and remembered with its new expiry.
pub async fn a_nonce_is_accepted_once_per_key_and_refused_again_until_it_expires(store: &dyn Store) {
    let mut s = Scenario::new(40);
    let (alice, bob) = (KeyId::from_uuid(s.mint_uuid()), KeyId::from_uuid(s.mint_uuid()));
    let (nonce, other) = (digest(1), digest(2));
    let (now, expires) = (T0_S, T0_S + 300);

    assert!(remember(store, alice, nonce, expires, now).await, "a new nonce is accepted");
    assert!(!remember(store, alice, nonce, expires, now).await, "the same nonce again is a replay");
    assert!(!remember(store, alice, nonce, expires + 300, expires - 1).await, "a replay up to its last second");
    assert!(remember(store, bob, nonce, expires, now).await, "another key may use the same nonce");
    assert!(remember(store, alice, other, expires, now).await, "the same key may use another nonce");
    assert!(!remember(store, bob, nonce, expires, now + 1).await, "bob's record is his own");

    let renewed = expires + 600;
    assert!(remember(store, alice, nonce, renewed, expires).await, "an expired nonce is accepted again");
    assert!(!remember(store, alice, nonce, renewed, expires).await, "and remembered again");
    assert!(!remember(store, alice, nonce, renewed, renewed - 1).await, "until its new expiry");
    assert!(remember(store, alice, nonce, renewed + 300, renewed).await);
    assert!(!remember(store, alice, other, expires, expires - 1).await, "the other nonce is still remembered");
}

/// Several nonces remembered at once answer, in their order, what each would have answered
/// alone: new ones are fresh, a live record and a repeat within the same call are replays, an
/// expired record is renewed; covered or not, they are the same records.
pub async fn nonces_remembered_together_answer_each_as_if_remembered_alone(store: &dyn Store) {
    let mut s = Scenario::new(42);
    let (alice, bob) = (KeyId::from_uuid(s.mint_uuid()), KeyId::from_uuid(s.mint_uuid()));
    let (now, expires) = (T0_S, T0_S + 300);
    assert!(remember(store, alice, digest(10), expires, now).await, "a live record");
    assert!(remember(store, alice, digest(11), now - 1, now - 301).await, "a record expired by `now`");
    let record = |key, seed| NonceRecord { key, digest: digest(seed), expires_at_s: expires };
    let asks =
        [record(alice, 12), record(alice, 10), record(bob, 10), record(alice, 11), record(alice, 12), record(bob, 13)];
    for covered in [false, true] {
        let asks: Vec<NonceRecord> =
            asks.iter().map(|a| NonceRecord { expires_at_s: a.expires_at_s + i64::from(covered), ..*a }).collect();
        let answered = bounded("remember_nonces", store.remember_nonces(&asks, now, covered)).await;
        let fresh = answered.expect("remember_nonces succeeds");
        let expected = if covered {
            // Every one of them is now recorded and live.
            vec![false; asks.len()]
        } else {
            vec![true, false, true, true, false, true]
        };
        assert_eq!(fresh, expected, "covered: {covered}");
    }
    assert!(!remember(store, bob, digest(13), expires, now + 1).await, "a record made together refuses a replay alone");
    assert!(
        bounded("remember_nonces", store.remember_nonces(&[], now, false)).await.expect("nothing to do").is_empty()
    );
}

async fn remember_covered(store: &dyn Store, key: KeyId, digest: [u8; 16], expires_at_s: i64, now_s: i64) -> bool {
    bounded("remember_nonce_covered", store.remember_nonce_covered(key, digest, expires_at_s, now_s))
        .await
        .expect("remember_nonce_covered succeeds")
}

/// A nonce remembered for a covered request (a read, or a request with an idempotency key) is
/// the same record as one remembered plainly: each refuses the other's replay, and both expire
/// alike.
pub async fn a_covered_nonce_is_one_record_with_the_nonces_remembered_plainly(store: &dyn Store) {
    let mut s = Scenario::new(41);
    let key = KeyId::from_uuid(s.mint_uuid());
    let (covered, plain) = (digest(3), digest(4));
    let (now, expires) = (T0_S, T0_S + 300);

    assert!(remember_covered(store, key, covered, expires, now).await, "a new nonce is accepted");
    assert!(!remember_covered(store, key, covered, expires, now).await, "its replay is refused");
    assert!(!remember(store, key, covered, expires, now + 1).await, "and refused when remembered plainly");
    assert!(remember(store, key, plain, expires, now).await);
    assert!(!remember_covered(store, key, plain, expires, now + 1).await, "a plain record refuses a covered replay");
    assert!(remember_covered(store, key, covered, expires + 300, expires).await, "an expired nonce is accepted again");
}

async fn forget(store: &dyn Store, before_s: i64, limit: u32) -> u64 {
    bounded("forget_nonces", store.forget_nonces(before_s, limit)).await.expect("forget_nonces succeeds")
}

/// Forgetting deletes records that expired strictly before the bound, at most `limit` per call,
/// and keeps the rest: their nonces are still refused.
pub async fn forget_nonces_deletes_only_records_expired_before_the_bound_up_to_the_limit(store: &dyn Store) {
    let mut s = Scenario::new(41);
    let key = KeyId::from_uuid(s.mint_uuid());
    let expiry = |i: u8| T0_S + 10 * i64::from(i);
    for i in 0..5 {
        assert!(remember(store, key, digest(i), expiry(i), T0_S - 1).await);
    }
    assert_eq!(forget(store, expiry(0), 10).await, 0, "nothing expired before the first expiry");
    let bound = expiry(3);
    assert_eq!(forget(store, bound, 2).await, 2, "at most the limit");
    assert_eq!(forget(store, bound, 10).await, 1, "the one expired record left");
    assert_eq!(forget(store, bound, 10).await, 0, "nothing expired is left");
    assert_eq!(forget(store, i64::MAX, 0).await, 0, "limit 0 deletes nothing");
    for i in [3, 4] {
        assert!(!remember(store, key, digest(i), expiry(i), bound - 1).await, "record {i} at or after the bound stays");
    }
    assert_eq!(forget(store, i64::MAX, 10).await, 2, "every record expires before the end of time");
    // Now forgotten, nonce 4 is new again even before its old expiry.
    assert!(remember(store, key, digest(4), expiry(4), bound - 1).await, "a forgotten record is gone");
}

async fn dev_clock_offset(store: &dyn Store) -> i64 {
    bounded("dev_clock_offset", store.dev_clock_offset()).await.expect("dev_clock_offset succeeds")
}

/// The development clock's offset starts at 0 and moves forward by what it is asked; a move
/// backwards, or past the largest offset, is refused and changes nothing.
pub async fn the_dev_clock_offset_starts_at_zero_and_only_moves_forward(store: &dyn Store) {
    assert_eq!(dev_clock_offset(store).await, 0, "a new store's clock is real time");
    let advance = |by_ms| async move { bounded("advance_dev_clock", store.advance_dev_clock(by_ms)).await };
    assert_eq!(advance(0).await.expect("a move by nothing"), 0);
    assert_eq!(advance(1_500).await.expect("a move forward"), 1_500);
    assert_eq!(dev_clock_offset(store).await, 1_500);
    assert!(advance(-1).await.is_err(), "the clock never goes back");
    assert_eq!(dev_clock_offset(store).await, 1_500, "a refused move changes nothing");
    assert_eq!(advance(86_400_000).await.expect("a day forward"), 86_401_500, "moves add up");
    assert!(advance(i64::MAX).await.is_err(), "an offset past i64::MAX is refused");
    assert!(advance(i64::MIN).await.is_err());
    assert_eq!(dev_clock_offset(store).await, 86_401_500, "refused moves change nothing");
}

/// The first key proposed is stored and every later call answers it, whatever it proposes.
pub async fn log_key_keeps_the_first_value_proposed(store: &dyn Store) {
    let log_key = |proposed: &'static str| async move {
        bounded("log_key", store.log_key(proposed)).await.expect("log_key succeeds")
    };
    let first = "hongbao.example/log+5d9f2a1c+AXk2bGF0aW9uIGtleSDnuqLljIUgZm9yIHRlc3Rz/+==";
    let second = "hongbao.example/log+0badc0de+AW5vdCB0aGUgZmlyc3Qga2V5";
    assert_eq!(log_key(first).await, first, "the first key proposed is stored");
    assert_eq!(log_key(second).await, first, "a later proposal gets the stored key");
    assert_eq!(log_key(first).await, first);
    assert_eq!(log_key(second).await, first);
}

/// The nonces of a commit are stored in its transaction: once it lands each is refused as a
/// replay, a nonce given twice (in one commit or two) keeps its later expiry, and a commit that is
/// refused stores none of its nonces.
pub async fn nonces_of_a_commit_are_stored_with_its_changes_and_only_with_them(store: &dyn Store) {
    let mut s = Scenario::new(43);
    let key = KeyId::from_uuid(s.mint_uuid());
    let (now, expires) = (T0_S, T0_S + 300);
    let record = |seed, expires_at_s| NonceRecord { key, digest: digest(seed), expires_at_s };
    s.run(Command::CreateUser { name: "noncer".to_owned() });
    let changes = s.take_changes();
    let mut batch = s.batch(changes, Vec::new());
    batch.nonces = vec![record(20, expires), record(21, expires), record(20, expires + 60)];
    s.save(store, batch.clone()).await;
    assert!(!remember(store, key, digest(20), expires, now).await, "a committed nonce is a replay");
    assert!(!remember(store, key, digest(21), expires, now).await);
    assert!(!remember(store, key, digest(20), expires, expires + 59).await, "the later of two expiries is kept");
    assert!(remember(store, key, digest(20), expires + 600, expires + 60).await, "and it expires then");

    // The same user inserted again is refused, and the nonces that came with it are not stored.
    let mut again = batch;
    again.log.clear();
    again.nonces = vec![record(22, expires)];
    assert!(refused(store, again).await, "a batch inserting an existing user is refused");
    assert!(remember(store, key, digest(22), expires, now).await, "a refused batch stores no nonce");

    // A nonce already stored is renewed by a commit, to the later expiry.
    commit(store, Commit { nonces: vec![record(21, expires + 900)], ..Commit::default() }).await;
    assert!(!remember(store, key, digest(21), expires, expires + 899).await, "renewed by the second commit");
    commit(store, Commit { nonces: vec![record(21, now + 1)], ..Commit::default() }).await;
    assert!(!remember(store, key, digest(21), expires, expires + 899).await, "an earlier expiry does not shorten it");
}

async fn live_nonces(store: &dyn Store, now_s: i64, limit: u32) -> Vec<NonceRecord> {
    bounded("live_nonces", store.live_nonces(now_s, limit)).await.expect("live_nonces succeeds")
}

/// `live_nonces` answers the records that live at `now` (`now < expires_at`), soonest to expire
/// first, at most `limit`, whether they were remembered alone or with a commit.
pub async fn live_nonces_are_the_unexpired_records_soonest_first_up_to_the_limit(store: &dyn Store) {
    let mut s = Scenario::new(44);
    let (alice, bob) = (KeyId::from_uuid(s.mint_uuid()), KeyId::from_uuid(s.mint_uuid()));
    assert!(live_nonces(store, T0_S, 10).await.is_empty(), "a new store has none");
    let expiry = |i: u8| T0_S + 10 * i64::from(i);
    for i in [3, 1, 4] {
        assert!(remember(store, alice, digest(i), expiry(i), T0_S - 1).await);
    }
    let committed = [
        NonceRecord { key: bob, digest: digest(2), expires_at_s: expiry(2) },
        NonceRecord { key: bob, digest: digest(5), expires_at_s: expiry(5) },
    ];
    commit(store, Commit { nonces: committed.to_vec(), ..Commit::default() }).await;
    let all = live_nonces(store, T0_S, 10).await;
    let order: Vec<i64> = all.iter().map(|n| n.expires_at_s).collect();
    assert_eq!(order, [1, 2, 3, 4, 5].map(expiry), "soonest to expire first");
    assert_eq!(all[1], committed[0], "a committed record as it was given");
    assert_eq!(all[0], NonceRecord { key: alice, digest: digest(1), expires_at_s: expiry(1) });
    assert_eq!(live_nonces(store, T0_S, 2).await, all[..2], "at most the limit");
    assert_eq!(live_nonces(store, expiry(3), 10).await, all[3..], "a record expiring at `now` is dead");
    assert!(live_nonces(store, expiry(5), 10).await.is_empty());
}

/// The store finds secrets by what they start with, as text, and replaces one only if it is
/// still the value the caller read: two nodes sealing at once cannot undo each other.
pub async fn secrets_are_found_by_prefix_and_replaced_only_where_unchanged(store: &dyn Store) {
    let mut s = Scenario::new(45);
    let users = [s.user(store, "sealed-a").await, s.user(store, "sealed-b").await, s.user(store, "sealed-c").await];
    let keys: Vec<KeyId> = users.iter().map(|&u| s.key_of(u)).collect();
    let stored = |key: KeyId| s.principal(key).secret.expose().to_owned();
    let prefix = "sealed%_.";
    assert_eq!(bounded("secret_starting_with", store.secret_starting_with(prefix)).await.expect("succeeds"), None);
    let mut clear = bounded("secrets", store.secrets_not_starting_with(prefix, 10)).await.expect("succeeds");
    clear.sort();
    let mut expected: Vec<(KeyId, String)> = keys.iter().map(|&k| (k, stored(k))).collect();
    expected.sort();
    assert_eq!(clear, expected, "every secret is in the clear");
    assert_eq!(
        bounded("secrets", store.secrets_not_starting_with(prefix, 2)).await.expect("succeeds").len(),
        2,
        "at most the limit"
    );

    let sealed = |k: KeyId| format!("{prefix}{k}");
    let replaced = vec![
        (keys[0], stored(keys[0]), sealed(keys[0])),
        // Another node sealed this one first: the value read is no longer there.
        (keys[1], "not what is stored".to_owned(), sealed(keys[1])),
    ];
    assert_eq!(bounded("replace_secrets", store.replace_secrets(&replaced)).await.expect("succeeds"), 1);
    assert_eq!(bounded("replace_secrets", store.replace_secrets(&[])).await.expect("nothing to do"), 0);
    let found = bounded("secret_starting_with", store.secret_starting_with(prefix)).await.expect("succeeds");
    assert_eq!(found, Some((keys[0], sealed(keys[0]))));
    let mut clear = bounded("secrets", store.secrets_not_starting_with(prefix, 10)).await.expect("succeeds");
    clear.sort();
    let mut expected: Vec<(KeyId, String)> = keys[1..].iter().map(|&k| (k, stored(k))).collect();
    expected.sort();
    assert_eq!(clear, expected, "the others are left as they were");
    // A key read through a snapshot now carries the replaced value.
    let mut tx = bounded("read", store.read()).await.expect("a read transaction begins");
    let facts = bounded("load", tx.load(&[Key::Principal(keys[0])])).await.expect("load succeeds");
    match facts.as_slice() {
        [Fact::Principal(_, Some(principal))] => assert_eq!(principal.secret.expose(), sealed(keys[0])),
        other => panic!("loading the principal answered {other:?}"),
    }
}
