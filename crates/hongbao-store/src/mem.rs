//! An in-memory store with fault injection, for simulations and tests (feature `mem`).
//!
//! [`MemStore`] implements the whole [`Store`] contract over ordered maps in memory, with the
//! constraints a database would enforce: a commit is validated completely before anything of it
//! is applied (an insert must be new, an update must find its row, a reference must name a row
//! that exists once the batch is written, a claim's person and share must be unique on its
//! packet, log entries must continue the stored log exactly and a checkpoint must grow), so a
//! refused commit writes nothing. One write transaction is open at a time (later ones wait, like
//! SQLite's single writer), a dropped one writes nothing, and reads see committed state only: a
//! read transaction keeps the snapshot it began with. The contract suite proves it behaves like
//! the real backends (`cargo test -p hongbao-store`).
//!
//! It exists because a database is far too slow for a simulation of a million operations, and
//! because a test needs to make a database fail on purpose. [`Faults`] makes the next commits
//! fail before they are applied (nothing stored), fail after (stored, but the caller is told it
//! failed, as when a commit reached the disk and the connection died before the answer), or hang
//! forever before or after applying, so that a test can kill the engine at exactly that point
//! (drop its runtime) and start a new one on the same store. It can also make the next write
//! transactions fail to begin and the next reads fail, and make every call yield to the
//! scheduler once, as a database's I/O would, so that a test can kill the caller in the middle of
//! a batch rather than only between batches.
//!
//! **Boundary:** it keeps nothing on disk and is not a backend for `hongbao serve`; like every
//! store it decides nothing (no balance, no limit, no id).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use hongbao_core::event::Event;
use hongbao_core::ledger::{Account, AccountKind, PendingStatus, PendingTransfer, Phase, Transfer};
use hongbao_core::packet::{Claim, Packet, PacketStatus};
use hongbao_core::principal::{Owner, Principal};
use hongbao_core::user::{Group, User};
use hongbao_core::world::Write;
use hongbao_core::{AccountId, ClaimId, Fact, GroupId, Key, KeyId, PacketId, Timestamp, TransferId, UserId};
use tokio::sync::{Notify, OwnedMutexGuard};

use crate::{
    CheckpointRow, Commit, Due, Dump, HistoryItem, IdempotencyRecord, LogRow, NonceRecord, ReadTx, Store, StoreError,
    WriteTx,
};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere in a test must not hide the state from the check that reports it.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What an armed fault does to a commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommitFault {
    /// Answers [`StoreError::Unavailable`] and writes nothing: the disk is full, the connection
    /// dropped before `COMMIT`.
    FailBeforeApply,
    /// Writes the whole commit, then answers [`StoreError::Unavailable`]: the commit reached the
    /// disk but its answer was lost, so the caller believes it failed.
    FailAfterApply,
    /// Never answers and writes nothing: the process dies after deciding a batch, before its
    /// commit reaches the store. Dropping the pending commit (killing the caller) rolls it back.
    HangBeforeApply,
    /// Writes the whole commit, then never answers: the process dies after the commit, before it
    /// replies to anyone.
    HangAfterApply,
}

/// How many faults [`Faults`] injected, by kind, and how many commits were applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Commits that wrote their batch (including those that then failed or hung after applying).
    pub applied: u64,
    pub failed_before_apply: u64,
    pub failed_after_apply: u64,
    pub hung_before_apply: u64,
    pub hung_after_apply: u64,
    /// Write transactions refused at `begin`.
    pub failed_writes: u64,
    /// Reads refused (loads, idempotency look-ups, due work, the log's size and entries,
    /// checkpoints, history, dumps).
    pub failed_reads: u64,
}

impl FaultCounts {
    /// Every fault injected, whatever its kind.
    pub fn total(&self) -> u64 {
        self.failed_before_apply
            + self.failed_after_apply
            + self.hung_before_apply
            + self.hung_after_apply
            + self.failed_writes
            + self.failed_reads
    }
}

#[derive(Debug, Default)]
struct Armed {
    /// The fault the next commits suffer, and for how many more commits.
    commit: Option<(CommitFault, u32)>,
    writes: u32,
    reads: u32,
}

#[derive(Debug, Default)]
struct FaultState {
    armed: Mutex<Armed>,
    counts: Mutex<FaultCounts>,
    /// Commits hanging (or that hung and were dropped) so far.
    hangs: AtomicU64,
    hung: Notify,
    yielding: AtomicBool,
}

/// The fault switchboard of a [`MemStore`]: cheap to clone, every clone arms the same store.
///
/// Faults are armed for a number of operations and then disarm themselves; arming again
/// replaces what was armed. Nothing is random here: the test chooses when and what.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    state: Arc<FaultState>,
}

impl Faults {
    /// The next `n` commits suffer `fault` (`n = 0` disarms commit faults).
    pub fn fail_commits(&self, fault: CommitFault, n: u32) {
        lock(&self.state.armed).commit = (n > 0).then_some((fault, n));
    }

    /// The next `n` write transactions fail to begin with [`StoreError::Unavailable`].
    pub fn fail_writes(&self, n: u32) {
        lock(&self.state.armed).writes = n;
    }

    /// The next `n` reads of stored data (a load in a read or write transaction, an idempotency
    /// look-up, due work, the log's size or entries, a checkpoint, a history, a dump) fail with
    /// [`StoreError::Unavailable`]. Nonces, the development clock and the log's key are not
    /// affected.
    pub fn fail_reads(&self, n: u32) {
        lock(&self.state.armed).reads = n;
    }

    /// Whether every call yields to the scheduler once before it does its work (off at first):
    /// in-memory calls otherwise complete without ever letting another task run, so a batch
    /// would always run from its first load to its commit in one go.
    pub fn set_yielding(&self, on: bool) {
        self.state.yielding.store(on, Ordering::SeqCst);
    }

    /// Disarms every fault (yielding is not a fault and stays as it is). A commit already
    /// hanging stays hung until it is dropped.
    pub fn disarm(&self) {
        *lock(&self.state.armed) = Armed::default();
    }

    /// Whether any fault is still armed.
    pub fn armed(&self) -> bool {
        let armed = lock(&self.state.armed);
        armed.commit.is_some() || armed.writes > 0 || armed.reads > 0
    }

    /// What was injected so far.
    pub fn counts(&self) -> FaultCounts {
        *lock(&self.state.counts)
    }

    /// How many commits have hung so far.
    pub fn hangs(&self) -> u64 {
        self.state.hangs.load(Ordering::SeqCst)
    }

    /// Returns once more than `seen` commits have hung: the moment to kill the caller.
    pub async fn hung_beyond(&self, seen: u64) {
        loop {
            let notified = self.state.hung.notified();
            tokio::pin!(notified);
            // Registered before the check, so a hang between the two is not missed.
            notified.as_mut().enable();
            if self.hangs() > seen {
                return;
            }
            notified.await;
        }
    }

    async fn pause(&self) {
        if self.state.yielding.load(Ordering::SeqCst) {
            tokio::task::yield_now().await;
        }
    }

    fn count(&self, add: impl FnOnce(&mut FaultCounts)) {
        add(&mut lock(&self.state.counts));
    }

    fn take_commit(&self) -> Option<CommitFault> {
        let mut armed = lock(&self.state.armed);
        let (fault, left) = armed.commit?;
        armed.commit = (left > 1).then_some((fault, left - 1));
        Some(fault)
    }

    fn take(&self, pick: impl FnOnce(&mut Armed) -> &mut u32) -> bool {
        let mut armed = lock(&self.state.armed);
        let left = pick(&mut armed);
        if *left == 0 {
            return false;
        }
        *left -= 1;
        true
    }

    /// Hangs forever, after telling whoever waits in [`Faults::hung_beyond`].
    async fn hang(&self) {
        self.state.hangs.fetch_add(1, Ordering::SeqCst);
        self.state.hung.notify_waiters();
        std::future::pending::<()>().await;
    }
}

/// A pending transfer's fate; the transfer itself is the row in `transfers`, as in SQL.
#[derive(Clone, Debug)]
struct PendingRow {
    deadline: Timestamp,
    status: PendingStatus,
    resolved_at: Option<Timestamp>,
}

/// Everything committed. Cloned only when a commit lands while a read snapshot holds it.
#[derive(Clone, Debug)]
struct State {
    users: BTreeMap<UserId, User>,
    accounts: BTreeMap<AccountId, Account>,
    groups: BTreeMap<GroupId, Group>,
    packets: BTreeMap<PacketId, Packet>,
    claims: BTreeMap<ClaimId, Claim>,
    /// The unique (packet, person) and (packet, share) of claims.
    claim_of: HashMap<(PacketId, UserId), ClaimId>,
    claims_of: HashMap<PacketId, BTreeMap<u32, ClaimId>>,
    pendings: BTreeMap<TransferId, PendingRow>,
    transfers: BTreeMap<TransferId, Transfer>,
    /// Each account's original (posted or pending) transfers, for its history.
    history: HashMap<AccountId, BTreeSet<TransferId>>,
    principals: BTreeMap<KeyId, Principal>,
    operators: usize,
    idempotency: BTreeMap<(String, String), IdempotencyRecord>,
    events: Vec<Event>,
    log: Vec<LogRow>,
    log_of_transfer: HashMap<TransferId, u64>,
    log_of_packet: HashMap<PacketId, Vec<u64>>,
    checkpoints: BTreeMap<u64, CheckpointRow>,
    /// Active packets by expiry, and open pending transfers by deadline: the jobs' work lists.
    due_packets: BTreeSet<(Timestamp, PacketId)>,
    due_pendings: BTreeSet<(Timestamp, TransferId)>,
}

impl State {
    /// A new store holds the external account and nothing else, as a migrated database does.
    fn genesis() -> State {
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
            idempotency: BTreeMap::new(),
            events: Vec::new(),
            log: Vec::new(),
            log_of_transfer: HashMap::new(),
            log_of_packet: HashMap::new(),
            checkpoints: BTreeMap::new(),
            due_packets: BTreeSet::new(),
            due_pendings: BTreeSet::new(),
        }
    }

    fn log_size(&self) -> u64 {
        len_u64(self.log.len())
    }

    fn pending(&self, id: TransferId) -> Result<Option<PendingTransfer>, StoreError> {
        let Some(row) = self.pendings.get(&id) else { return Ok(None) };
        let transfer = self
            .transfers
            .get(&id)
            .ok_or_else(|| StoreError::Corrupt(format!("pending record {id} has no transfer")))?;
        Ok(Some(PendingTransfer { transfer: transfer.clone(), status: row.status, resolved_at: row.resolved_at }))
    }

    fn claims_of(&self, packet: PacketId) -> Vec<Claim> {
        self.claims_of
            .get(&packet)
            .map(|by_seq| by_seq.values().filter_map(|id| self.claims.get(id)).cloned().collect())
            .unwrap_or_default()
    }

    /// The stored records among `keys`, once each.
    fn idempotency(&self, keys: &[(String, String)]) -> Vec<IdempotencyRecord> {
        let distinct: BTreeSet<&(String, String)> = keys.iter().collect();
        distinct.into_iter().filter_map(|key| self.idempotency.get(key)).cloned().collect()
    }

    fn load(&self, keys: &[Key]) -> Result<Vec<Fact>, StoreError> {
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
                })
            })
            .collect()
    }

    fn due(&self, now: Timestamp, limit: u32) -> Due {
        let limit = limit as usize;
        Due {
            packets: self.due_packets.iter().take_while(|(at, _)| *at <= now).take(limit).map(|(_, id)| *id).collect(),
            pendings: self
                .due_pendings
                .iter()
                .take_while(|(at, _)| *at <= now)
                .take(limit)
                .map(|(_, id)| *id)
                .collect(),
        }
    }

    fn dump(&self) -> Result<Dump, StoreError> {
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
        Ok(Dump {
            facts,
            idempotency: self.idempotency.values().cloned().collect(),
            events: self.events.clone(),
            log: self.log.clone(),
            checkpoints: self.checkpoints.values().cloned().collect(),
        })
    }
}

fn len_u64(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

fn corrupt(message: impl fmt::Display) -> StoreError {
    StoreError::Corrupt(message.to_string())
}

/// Checks that rows of one table can be written: an insert is new (in the store and in the
/// batch), an update finds its row (in the store, or inserted by the same batch, as SQL's
/// inserts-then-updates would).
fn check_rows<K: Ord + Copy + fmt::Display, V>(
    table: &str,
    written: &[(Write, V)],
    id: impl Fn(&V) -> K,
    stored: impl Fn(&K) -> bool,
) -> Result<BTreeSet<K>, StoreError> {
    let mut inserted = BTreeSet::new();
    for (write, row) in written {
        let key = id(row);
        if *write == Write::Insert && (stored(&key) || !inserted.insert(key)) {
            return Err(corrupt(format_args!("insert of {table} row {key}: the row already exists")));
        }
    }
    for (write, row) in written {
        let key = id(row);
        if *write == Write::Update && !stored(&key) && !inserted.contains(&key) {
            return Err(corrupt(format_args!("update of {table} row {key}: the row does not exist")));
        }
    }
    Ok(inserted)
}

/// Checks that `commit` can be written in full onto `state`; nothing is changed. The same
/// constraints as the SQL schemas: keys, uniqueness, references (checked as if deferred to the
/// end of the batch), and the log's continuity.
fn validate(state: &State, commit: &Commit) -> Result<(), StoreError> {
    let changes = &commit.changes;
    // The log first, as the SQL stores do: a batch built on another log fails before anything.
    let mut next = state.log_size();
    for row in &commit.log {
        if row.index != next {
            return Err(corrupt(format_args!(
                "log entry {} appended where entry {next} comes next: the log grows by one, without gaps or repeats",
                row.index
            )));
        }
        if i64::try_from(row.index).is_err() {
            return Err(corrupt(format_args!("log entry {} is past the largest index", row.index)));
        }
        next += 1;
    }
    if let Some(checkpoint) = &commit.checkpoint {
        if checkpoint.size > next {
            return Err(corrupt(format_args!("checkpoint of size {} for a log of {next} entries", checkpoint.size)));
        }
        if let Some((&latest, _)) = state.checkpoints.last_key_value()
            && checkpoint.size <= latest
        {
            return Err(corrupt(format_args!(
                "checkpoint of size {} does not grow the latest checkpoint, of size {latest}",
                checkpoint.size
            )));
        }
    }
    let mut logged = HashSet::new();
    for transfer in commit.log.iter().filter_map(|row| row.transfer_id) {
        if state.log_of_transfer.contains_key(&transfer) || !logged.insert(transfer) {
            return Err(corrupt(format_args!("transfer {transfer} is already in the log")));
        }
    }

    let new_users = check_rows("users", &changes.users, |u| u.id, |id| state.users.contains_key(id))?;
    let new_accounts = check_rows("accounts", &changes.accounts, |a| a.id, |id| state.accounts.contains_key(id))?;
    check_rows("groups", &changes.groups, |g| g.id, |id| state.groups.contains_key(id))?;
    for (_, group) in &changes.groups {
        // One row per member, as the (group, user) key of `group_members` would have it.
        let distinct: BTreeSet<&UserId> = group.members.iter().collect();
        if distinct.len() != group.members.len() {
            return Err(corrupt(format_args!("group {} lists a member twice", group.id)));
        }
    }
    let new_packets = check_rows("packets", &changes.packets, |p| p.id, |id| state.packets.contains_key(id))?;
    check_rows("claims", &changes.claims, |c| c.id, |id| state.claims.contains_key(id))?;
    if let Some((_, pending)) =
        changes.pendings.iter().find(|(_, p)| !matches!(p.transfer.phase, Phase::Pending { .. }))
    {
        return Err(corrupt(format_args!(
            "pending record {} wraps a transfer that is not pending",
            pending.transfer.id
        )));
    }
    check_rows("pendings", &changes.pendings, |p| p.transfer.id, |id| state.pendings.contains_key(id))?;

    // Claims: one per person and one per share of a packet, and their packet must exist.
    let mut people = HashMap::new();
    let mut shares = HashMap::new();
    for (_, claim) in &changes.claims {
        let person = (claim.packet_id, claim.user_id);
        let taken_by = |owner: Option<&ClaimId>| owner.is_some_and(|owner| *owner != claim.id);
        let share_owner = state.claims_of.get(&claim.packet_id).and_then(|by_seq| by_seq.get(&claim.seq));
        if taken_by(state.claim_of.get(&person)) || taken_by(people.get(&person)) {
            return Err(corrupt(format_args!(
                "claim {}: {} already claimed packet {}",
                claim.id, claim.user_id, claim.packet_id
            )));
        }
        if taken_by(share_owner) || taken_by(shares.get(&(claim.packet_id, claim.seq))) {
            return Err(corrupt(format_args!(
                "claim {}: share {} of packet {} is already taken",
                claim.id, claim.seq, claim.packet_id
            )));
        }
        people.insert(person, claim.id);
        shares.insert((claim.packet_id, claim.seq), claim.id);
        if !state.packets.contains_key(&claim.packet_id) && !new_packets.contains(&claim.packet_id) {
            return Err(corrupt(format_args!(
                "claim {} names packet {}, which does not exist",
                claim.id, claim.packet_id
            )));
        }
    }

    // Principals are only inserted; a user's key names a user.
    let mut keys = HashSet::new();
    for principal in &changes.principals {
        if state.principals.contains_key(&principal.key_id) || !keys.insert(principal.key_id) {
            return Err(corrupt(format_args!("insert of principals row {}: the row already exists", principal.key_id)));
        }
        if let Owner::User { user_id } = principal.owner
            && !state.users.contains_key(&user_id)
            && !new_users.contains(&user_id)
        {
            return Err(corrupt(format_args!("key {} names user {user_id}, which does not exist", principal.key_id)));
        }
    }

    // Transfers are only inserted, between accounts that exist.
    let mut transfers = HashSet::new();
    for transfer in &changes.transfers {
        if state.transfers.contains_key(&transfer.id) || !transfers.insert(transfer.id) {
            return Err(corrupt(format_args!("insert of transfers row {}: the row already exists", transfer.id)));
        }
        for account in [transfer.debit, transfer.credit] {
            if !state.accounts.contains_key(&account) && !new_accounts.contains(&account) {
                return Err(corrupt(format_args!(
                    "transfer {} names account {account}, which does not exist",
                    transfer.id
                )));
            }
        }
    }
    for (_, pending) in &changes.pendings {
        let id = pending.transfer.id;
        if !state.transfers.contains_key(&id) && !transfers.contains(&id) {
            return Err(corrupt(format_args!("pending record {id} names a transfer that does not exist")));
        }
    }

    let mut records = HashSet::new();
    for record in &commit.idempotency {
        let key = (record.principal.clone(), record.key.clone());
        if state.idempotency.contains_key(&key) || !records.insert(key) {
            return Err(corrupt(format_args!(
                "insert of idempotency row ({:?}, {:?}): the row already exists",
                record.principal, record.key
            )));
        }
    }
    Ok(())
}

impl State {
    /// Writes a commit [`validate`] accepted.
    fn apply(&mut self, commit: Commit) {
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
        for (_, packet) in changes.packets {
            if let Some(old) = self.packets.get(&packet.id) {
                self.due_packets.remove(&(old.expires_at, old.id));
            }
            if packet.status == PacketStatus::Active {
                self.due_packets.insert((packet.expires_at, packet.id));
            }
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
            if let Some(old) = self.pendings.get(&id) {
                self.due_pendings.remove(&(old.deadline, id));
            }
            let row =
                PendingRow { deadline: pending.deadline(), status: pending.status, resolved_at: pending.resolved_at };
            if row.status == PendingStatus::Pending {
                self.due_pendings.insert((row.deadline, id));
            }
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

/// What lives outside transactions, as in the SQL stores: nonces, the development clock and the
/// log's key.
#[derive(Debug, Default)]
struct Shared {
    nonces: BTreeMap<(KeyId, [u8; 16]), i64>,
    dev_clock_offset_ms: i64,
    log_key: Option<String>,
}

struct Inner {
    /// The committed state. A read snapshot holds a clone of the `Arc`; a commit then copies the
    /// state before changing it, so the snapshot never sees the change.
    state: Mutex<Arc<State>>,
    /// Held by the one open write transaction.
    writer: Arc<tokio::sync::Mutex<()>>,
    shared: Mutex<Shared>,
    faults: Faults,
}

/// The in-memory store: see the module documentation. Cheap to clone; clones share the data
/// and the [`Faults`].
#[derive(Clone)]
pub struct MemStore {
    inner: Arc<Inner>,
}

impl fmt::Debug for MemStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.inner.state);
        f.debug_struct("MemStore")
            .field("users", &state.users.len())
            .field("transfers", &state.transfers.len())
            .field("log", &state.log.len())
            .field("faults", &self.inner.faults.counts())
            .finish_non_exhaustive()
    }
}

impl Default for MemStore {
    fn default() -> Self {
        MemStore::new()
    }
}

impl MemStore {
    /// A new store holding only the external account.
    pub fn new() -> MemStore {
        MemStore {
            inner: Arc::new(Inner {
                state: Mutex::new(Arc::new(State::genesis())),
                writer: Arc::new(tokio::sync::Mutex::new(())),
                shared: Mutex::new(Shared::default()),
                faults: Faults::default(),
            }),
        }
    }

    /// The fault switchboard.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    fn snapshot(&self) -> Arc<State> {
        lock(&self.inner.state).clone()
    }

    /// Yields if asked to, then fails if a read failure is armed: what every read does first.
    async fn read_starts(&self) -> Result<(), StoreError> {
        let faults = &self.inner.faults;
        faults.pause().await;
        if faults.take(|armed| &mut armed.reads) {
            faults.count(|c| c.failed_reads += 1);
            return Err(StoreError::Unavailable("injected fault: the read failed".to_owned()));
        }
        Ok(())
    }

    /// Validates, then applies, `commit` to the committed state.
    fn apply(&self, mut commit: Commit) -> Result<(), StoreError> {
        let mut state = lock(&self.inner.state);
        validate(&state, &commit)?;
        let nonces = std::mem::take(&mut commit.nonces);
        Arc::make_mut(&mut state).apply(commit);
        // Under the state's lock still: a reader never sees the batch without its nonces.
        let mut shared = lock(&self.inner.shared);
        for nonce in nonces {
            let expires = shared.nonces.entry((nonce.key, nonce.digest)).or_insert(nonce.expires_at_s);
            *expires = (*expires).max(nonce.expires_at_s);
        }
        Ok(())
    }
}

/// A read snapshot: the committed state when it began.
struct MemReadTx {
    store: MemStore,
    snapshot: Arc<State>,
}

#[async_trait]
impl ReadTx for MemReadTx {
    async fn load(&mut self, keys: &[Key]) -> Result<Vec<Fact>, StoreError> {
        self.store.read_starts().await?;
        self.snapshot.load(keys)
    }

    async fn idempotency(&mut self, keys: &[(String, String)]) -> Result<Vec<IdempotencyRecord>, StoreError> {
        self.store.read_starts().await?;
        Ok(self.snapshot.idempotency(keys))
    }
}

/// The one write transaction. It writes nothing until [`WriteTx::commit`]; dropping it writes
/// nothing and frees the writer.
struct MemWriteTx {
    store: MemStore,
    _writer: OwnedMutexGuard<()>,
}

#[async_trait]
impl ReadTx for MemWriteTx {
    async fn load(&mut self, keys: &[Key]) -> Result<Vec<Fact>, StoreError> {
        self.store.read_starts().await?;
        // The only writer: the committed state cannot change under this transaction.
        lock(&self.store.inner.state).load(keys)
    }

    async fn idempotency(&mut self, keys: &[(String, String)]) -> Result<Vec<IdempotencyRecord>, StoreError> {
        self.store.read_starts().await?;
        Ok(lock(&self.store.inner.state).idempotency(keys))
    }
}

#[async_trait]
impl WriteTx for MemWriteTx {
    async fn due(&mut self, now: Timestamp, limit: u32) -> Result<Due, StoreError> {
        self.store.read_starts().await?;
        Ok(lock(&self.store.inner.state).due(now, limit))
    }

    async fn commit(self: Box<Self>, commit: Commit) -> Result<(), StoreError> {
        let faults = self.store.inner.faults.clone();
        faults.pause().await;
        let fault = faults.take_commit();
        match fault {
            Some(CommitFault::FailBeforeApply) => {
                faults.count(|c| c.failed_before_apply += 1);
                return Err(StoreError::Unavailable(
                    "injected fault: the commit failed before it was applied".to_owned(),
                ));
            }
            Some(CommitFault::HangBeforeApply) => {
                faults.count(|c| c.hung_before_apply += 1);
                // `self` (and the writer) is held until whoever awaits this is dropped.
                faults.hang().await;
            }
            _ => {}
        }
        let written = commit.written.clone();
        self.store.apply(commit)?;
        // Told where a database would tell it, between its rows and its flush: the faults below
        // then fail (or hang) a commit that has already told it.
        if let Some(written) = written {
            written.notify_one();
        }
        faults.count(|c| c.applied += 1);
        match fault {
            Some(CommitFault::FailAfterApply) => {
                faults.count(|c| c.failed_after_apply += 1);
                Err(StoreError::Unavailable(
                    "injected fault: the commit was applied but its answer was lost".to_owned(),
                ))
            }
            Some(CommitFault::HangAfterApply) => {
                faults.count(|c| c.hung_after_apply += 1);
                faults.hang().await;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    async fn log_size(&mut self) -> Result<u64, StoreError> {
        self.store.read_starts().await?;
        Ok(lock(&self.store.inner.state).log_size())
    }
}

#[async_trait]
impl Store for MemStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    fn durability(&self) -> String {
        "in memory: nothing survives the process (tests and simulations only)".to_owned()
    }

    async fn write(&self) -> Result<Box<dyn WriteTx>, StoreError> {
        let faults = &self.inner.faults;
        faults.pause().await;
        if faults.take(|armed| &mut armed.writes) {
            faults.count(|c| c.failed_writes += 1);
            return Err(StoreError::Unavailable("injected fault: the write transaction could not begin".to_owned()));
        }
        let writer = self.inner.writer.clone().lock_owned().await;
        Ok(Box::new(MemWriteTx { store: self.clone(), _writer: writer }))
    }

    async fn read(&self) -> Result<Box<dyn ReadTx>, StoreError> {
        Ok(Box::new(MemReadTx { store: self.clone(), snapshot: self.snapshot() }))
    }

    async fn history(
        &self,
        account: AccountId,
        before: Option<TransferId>,
        limit: u32,
    ) -> Result<Vec<HistoryItem>, StoreError> {
        self.read_starts().await?;
        let state = self.snapshot();
        let Some(ids) = state.history.get(&account) else { return Ok(Vec::new()) };
        let older = match before {
            Some(before) => ids.range(..before),
            None => ids.range(..),
        };
        older
            .rev()
            .take(limit as usize)
            .map(|id| {
                let transfer =
                    state.transfers.get(id).ok_or_else(|| corrupt(format_args!("transfer {id} is missing")))?;
                Ok(HistoryItem {
                    transfer_id: transfer.id,
                    amount: transfer.amount,
                    incoming: transfer.credit == account,
                    kind: transfer.kind,
                    pending: state.pendings.get(id).map(|p| p.status),
                    packet_id: transfer.packet_id,
                    claim_id: transfer.claim_id,
                    note: transfer.note.clone(),
                    created_at: transfer.created_at,
                })
            })
            .collect()
    }

    async fn dump(&self) -> Result<Dump, StoreError> {
        self.read_starts().await?;
        self.snapshot().dump()
    }

    async fn has_operator(&self) -> Result<bool, StoreError> {
        Ok(lock(&self.inner.state).operators > 0)
    }

    async fn log_entries(&self, start: u64, limit: u32) -> Result<Vec<LogRow>, StoreError> {
        self.read_starts().await?;
        let state = lock(&self.inner.state);
        let Ok(start) = usize::try_from(start) else { return Ok(Vec::new()) };
        Ok(state.log.iter().skip(start).take(limit as usize).cloned().collect())
    }

    async fn log_index_of(&self, transfer: TransferId) -> Result<Option<u64>, StoreError> {
        self.read_starts().await?;
        Ok(lock(&self.inner.state).log_of_transfer.get(&transfer).copied())
    }

    async fn log_entries_of_packet(&self, packet: PacketId, limit: u32) -> Result<Vec<LogRow>, StoreError> {
        self.read_starts().await?;
        let state = lock(&self.inner.state);
        let Some(indexes) = state.log_of_packet.get(&packet) else { return Ok(Vec::new()) };
        let row = |index: &u64| usize::try_from(*index).ok().and_then(|i| state.log.get(i)).cloned();
        Ok(indexes.iter().take(limit as usize).filter_map(row).collect())
    }

    async fn latest_checkpoint(&self) -> Result<Option<CheckpointRow>, StoreError> {
        self.read_starts().await?;
        Ok(lock(&self.inner.state).checkpoints.last_key_value().map(|(_, c)| c.clone()))
    }

    async fn remember_nonce(
        &self,
        key: KeyId,
        digest: [u8; 16],
        expires_at_s: i64,
        now_s: i64,
    ) -> Result<bool, StoreError> {
        let mut shared = lock(&self.inner.shared);
        match shared.nonces.get_mut(&(key, digest)) {
            None => {
                shared.nonces.insert((key, digest), expires_at_s);
                Ok(true)
            }
            // An expired record is renewed; a live one means a replay.
            Some(expires) if *expires <= now_s => {
                *expires = expires_at_s;
                Ok(true)
            }
            Some(_) => Ok(false),
        }
    }

    async fn live_nonces(&self, now_s: i64, limit: u32) -> Result<Vec<NonceRecord>, StoreError> {
        self.read_starts().await?;
        let shared = lock(&self.inner.shared);
        let mut live: Vec<NonceRecord> = shared
            .nonces
            .iter()
            .filter(|(_, expires)| **expires > now_s)
            .map(|(&(key, digest), &expires_at_s)| NonceRecord { key, digest, expires_at_s })
            .collect();
        live.sort_unstable_by_key(|n| (n.expires_at_s, n.key, n.digest));
        live.truncate(limit as usize);
        Ok(live)
    }

    async fn secrets_not_starting_with(
        &self,
        sealed_prefix: &str,
        limit: u32,
    ) -> Result<Vec<(KeyId, String)>, StoreError> {
        self.read_starts().await?;
        let state = lock(&self.inner.state);
        Ok(state
            .principals
            .values()
            .filter(|p| !p.secret.expose().starts_with(sealed_prefix))
            .take(limit as usize)
            .map(|p| (p.key_id, p.secret.expose().to_owned()))
            .collect())
    }

    async fn secret_starting_with(&self, sealed_prefix: &str) -> Result<Option<(KeyId, String)>, StoreError> {
        self.read_starts().await?;
        let state = lock(&self.inner.state);
        Ok(state
            .principals
            .values()
            .find(|p| p.secret.expose().starts_with(sealed_prefix))
            .map(|p| (p.key_id, p.secret.expose().to_owned())))
    }

    async fn replace_secrets(&self, replaced: &[(KeyId, String, String)]) -> Result<u64, StoreError> {
        let _writer = self.inner.writer.lock().await;
        let mut state = lock(&self.inner.state);
        let state = Arc::make_mut(&mut state);
        let mut count = 0;
        for (key, old, new) in replaced {
            if let Some(principal) = state.principals.get_mut(key)
                && principal.secret.expose() == old
            {
                principal.secret = hongbao_core::principal::Secret::from_stored(new.clone());
                count += 1;
            }
        }
        Ok(count)
    }

    async fn forget_nonces(&self, before_s: i64, limit: u32) -> Result<u64, StoreError> {
        let mut shared = lock(&self.inner.shared);
        let mut expired: Vec<(i64, (KeyId, [u8; 16]))> =
            shared.nonces.iter().filter(|(_, expires)| **expires < before_s).map(|(k, e)| (*e, *k)).collect();
        expired.sort_unstable();
        expired.truncate(limit as usize);
        for (_, key) in &expired {
            shared.nonces.remove(key);
        }
        Ok(len_u64(expired.len()))
    }

    async fn dev_clock_offset(&self) -> Result<i64, StoreError> {
        Ok(lock(&self.inner.shared).dev_clock_offset_ms)
    }

    async fn advance_dev_clock(&self, by_ms: i64) -> Result<i64, StoreError> {
        if by_ms < 0 {
            return Err(corrupt(format_args!("the development clock cannot move back (by {by_ms} ms)")));
        }
        let mut shared = lock(&self.inner.shared);
        let moved = shared
            .dev_clock_offset_ms
            .checked_add(by_ms)
            .ok_or_else(|| corrupt(format_args!("moving the development clock by {by_ms} ms overflows")))?;
        shared.dev_clock_offset_ms = moved;
        Ok(moved)
    }

    async fn log_key(&self, proposed: &str) -> Result<String, StoreError> {
        Ok(lock(&self.inner.shared).log_key.get_or_insert_with(|| proposed.to_owned()).clone())
    }

    async fn purge_idempotency(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError> {
        // Behind the writer, as in SQLite: a purge never lands inside a batch.
        let _writer = self.inner.writer.clone().lock_owned().await;
        let mut state = lock(&self.inner.state);
        let mut old: Vec<(Timestamp, (String, String))> = state
            .idempotency
            .iter()
            .filter(|(_, record)| record.created_at < before)
            .map(|(key, record)| (record.created_at, key.clone()))
            .collect();
        old.sort_unstable();
        old.truncate(limit as usize);
        if !old.is_empty() {
            let state = Arc::make_mut(&mut state);
            for (_, key) in &old {
                state.idempotency.remove(key);
            }
        }
        Ok(len_u64(old.len()))
    }
}

#[cfg(test)]
mod tests {
    use hongbao_core::ops::{Command, PacketSpec};
    use hongbao_core::{Fen, Timestamp};

    use super::*;
    use crate::contract::Scenario;

    /// A new store; nothing else must outlive it, so the guard is an empty string (`()` would
    /// make the macro's `drop(guard)` a lint).
    async fn fresh() -> (MemStore, String) {
        (MemStore::new(), String::new())
    }

    /// The whole backend contract, on the in-memory store.
    mod contract {
        crate::contract_tests!(super::fresh);
    }

    async fn dump_text(store: &MemStore) -> String {
        format!("{:?}", store.dump().await.expect("dump"))
    }

    /// A scenario with one more deposit run in the world and not committed yet.
    async fn scenario(store: &MemStore) -> (Scenario, Commit) {
        let mut s = Scenario::new(77);
        let alice = s.user(store, "alice").await;
        s.run(Command::Deposit { user: alice, amount: Fen::new(500) });
        let changes = s.take_changes();
        let batch = s.batch(changes, Vec::new());
        (s, batch)
    }

    #[tokio::test]
    async fn a_commit_failing_before_it_is_applied_writes_nothing_and_the_next_one_commits() {
        let store = MemStore::new();
        let (mut s, batch) = scenario(&store).await;
        let before = dump_text(&store).await;
        store.faults().fail_commits(CommitFault::FailBeforeApply, 2);
        for _ in 0..2 {
            let tx = store.write().await.expect("write");
            assert!(matches!(tx.commit(batch.clone()).await, Err(StoreError::Unavailable(_))));
            assert_eq!(dump_text(&store).await, before, "a commit failing before it applies writes nothing");
        }
        assert!(!store.faults().armed(), "the fault disarms itself after two commits");
        s.save(&store, batch).await;
        crate::contract::assert_store_holds_world(&store, &s.world).await;
        let counts = store.faults().counts();
        assert_eq!((counts.failed_before_apply, counts.total()), (2, 2));
    }

    #[tokio::test]
    async fn a_commit_failing_after_it_is_applied_is_stored_though_the_caller_sees_an_error() {
        let store = MemStore::new();
        let (mut s, batch) = scenario(&store).await;
        store.faults().fail_commits(CommitFault::FailAfterApply, 1);
        let tx = store.write().await.expect("write");
        assert!(matches!(tx.commit(batch.clone()).await, Err(StoreError::Unavailable(_))));
        s.remember(batch.clone());
        crate::contract::assert_store_holds_world(&store, &s.world).await;
        assert_eq!(store.dump().await.expect("dump").log, s.log);
        // Sent again (a caller retrying blindly), the same batch is refused: its rows exist.
        let tx = store.write().await.expect("write");
        assert!(matches!(tx.commit(batch).await, Err(StoreError::Corrupt(_))));
        assert_eq!(store.faults().counts().failed_after_apply, 1);
    }

    #[tokio::test]
    async fn a_hung_commit_dropped_before_it_applies_writes_nothing_and_frees_the_writer() {
        let store = MemStore::new();
        let (mut s, batch) = scenario(&store).await;
        let before = dump_text(&store).await;
        store.faults().fail_commits(CommitFault::HangBeforeApply, 1);
        let tx = store.write().await.expect("write");
        let hung = tokio::spawn(tx.commit(batch.clone()));
        store.faults().hung_beyond(0).await;
        hung.abort();
        assert!(hung.await.expect_err("aborted").is_cancelled());
        assert_eq!(dump_text(&store).await, before, "the crash before the commit lost the batch, whole");
        s.save(&store, batch).await;
        crate::contract::assert_store_holds_world(&store, &s.world).await;
        assert_eq!(store.faults().hangs(), 1);
    }

    #[tokio::test]
    async fn a_hung_commit_dropped_after_it_applies_keeps_the_batch() {
        let store = MemStore::new();
        let (mut s, batch) = scenario(&store).await;
        store.faults().fail_commits(CommitFault::HangAfterApply, 1);
        let tx = store.write().await.expect("write");
        let hung = tokio::spawn(tx.commit(batch.clone()));
        store.faults().hung_beyond(0).await;
        hung.abort();
        assert!(hung.await.expect_err("aborted").is_cancelled());
        s.remember(batch);
        crate::contract::assert_store_holds_world(&store, &s.world).await;
        // The writer is free again.
        s.step(&store, Command::CreateUser { name: "bob".to_owned() }).await;
        assert_eq!(store.faults().counts().hung_after_apply, 1);
    }

    #[tokio::test]
    async fn armed_write_and_read_failures_refuse_that_many_calls_then_disarm() {
        let store = MemStore::new();
        store.faults().fail_writes(1);
        store.faults().fail_reads(3);
        assert!(matches!(store.write().await.map(|_| ()), Err(StoreError::Unavailable(_))));
        let mut tx = store.write().await.expect("the second write begins");
        let keys = [Key::Account(AccountId::EXTERNAL)];
        assert!(tx.load(&keys).await.is_err());
        drop(tx);
        assert!(store.read().await.expect("read").load(&keys).await.is_err());
        assert!(store.latest_checkpoint().await.is_err(), "a log read fails too");
        assert_eq!(store.read().await.expect("read").load(&keys).await.expect("disarmed").len(), 1);
        assert!(store.remember_nonce(KeyId::from_uuid(AccountId::EXTERNAL.uuid()), [0; 16], 1, 0).await.is_ok());
        store.faults().fail_reads(5);
        store.faults().disarm();
        assert!(!store.faults().armed());
        let counts = store.faults().counts();
        assert_eq!((counts.failed_writes, counts.failed_reads), (1, 3));
    }

    #[tokio::test]
    async fn a_store_that_yields_on_every_call_keeps_the_contract() {
        let store = MemStore::new();
        store.faults().set_yielding(true);
        crate::contract::every_entity_round_trips_exactly_through_inserts_and_updates(&store).await;
        crate::contract::a_failing_commit_writes_nothing_at_all(&MemStore::new()).await;
    }

    #[tokio::test]
    async fn due_work_follows_packet_status_and_pending_fate_through_updates() {
        let store = MemStore::new();
        let mut s = Scenario::new(78);
        let alice = s.user(&store, "alice").await;
        let bob = s.user(&store, "bob").await;
        s.deposit(&store, alice, 10_000).await;
        let packet = s.send(&store, alice, PacketSpec::Exclusive { recipient: bob, amount: Fen::new(10) }, 0).await;
        let delayed = s.transfer(&store, alice, bob, 100, 7_200, None).await;
        let never = Timestamp::from_millis(i64::MAX);
        let due =
            |store: MemStore| async move { store.write().await.expect("write").due(never, 10).await.expect("due") };
        assert_eq!(due(store.clone()).await, Due { packets: vec![packet], pendings: vec![delayed] });
        s.claim(&store, bob, packet).await;
        s.step(&store, Command::RevokeTransfer { actor: alice, transfer: delayed }).await;
        assert_eq!(due(store.clone()).await, Due::default(), "an exhausted packet and a voided transfer are not due");
    }
}
