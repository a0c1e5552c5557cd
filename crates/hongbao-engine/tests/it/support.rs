//! A fresh engine on a fresh SQLite file per test, and helpers to drive it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use ed25519_dalek::SigningKey;
use hongbao_core::ops::{Command, PacketSpec, Reply};
use hongbao_core::packet::PacketView;
use hongbao_core::query::{Answer, Query};
use hongbao_core::{Fen, GroupId, Limits, PacketId, Timestamp, TransferId, UserId};
use hongbao_engine::{AuditConfig, Engine, EngineConfig, ManualClock, StartOptions};
use hongbao_store::{
    CheckpointRow, Commit, Dump, HistoryItem, IdempotencyRecord, LogRow, ReadTx, Store, StoreError, WriteTx,
};
use hongbao_store_sqlite::{Durability, SqliteStore};
use tokio::sync::{Notify, Semaphore};

/// 2026-11-26T00:00:00Z: tests start at a fixed, readable time.
pub const START: Timestamp = Timestamp::from_millis(1_795_651_200_000);

pub struct App {
    pub engine: Engine,
    pub clock: Arc<ManualClock>,
    pub store: Arc<Gate>,
    pub dir: tempfile::TempDir,
}

/// The test log's fixed key and name.
pub fn audit_config() -> AuditConfig {
    AuditConfig { origin: "test.hongbao.local/log".to_owned(), signing_key: SigningKey::from_bytes(&[9; 32]) }
}

/// A store wrapper the tests can hold shut (to fill the queue and see batching) or make fail
/// (to see a failed commit apply nothing). It counts commits.
pub struct Gate {
    inner: SqliteStore,
    pub state: Arc<GateState>,
}

pub struct GateState {
    pub open: Semaphore,
    /// Lets commits whose rows are written go on to their flush (see [`Gate::hold_flushes`]).
    pub flush: Semaphore,
    pub commits: AtomicUsize,
    pub fail_next_commit: AtomicBool,
    /// Fails the next commit after its rows are written and it has told so.
    pub fail_next_flush: AtomicBool,
    /// Commits that told their rows were written.
    pub written: AtomicUsize,
    /// Groups the engine asked the store for.
    pub group_loads: AtomicUsize,
    /// Write transactions asked for (held or not).
    pub writes_asked: AtomicUsize,
    /// Loads through a read snapshot (how the engine decides a batch while another commits).
    pub snapshot_loads: AtomicUsize,
    /// Told whenever a counter above moves.
    pub moved: Notify,
}

impl GateState {
    fn count_group_loads(&self, keys: &[hongbao_core::Key]) {
        let groups = keys.iter().filter(|k| matches!(k, hongbao_core::Key::Group(_))).count();
        self.group_loads.fetch_add(groups, Ordering::SeqCst);
    }

    fn count(&self, counter: &AtomicUsize) {
        counter.fetch_add(1, Ordering::SeqCst);
        self.moved.notify_waiters();
    }
}

impl Gate {
    /// Holds every write transaction until [`Gate::release`].
    pub fn close(&self) {
        self.state.open.forget_permits(usize::MAX);
    }

    /// Lets `n` more write transactions begin.
    pub fn release(&self, n: usize) {
        self.state.open.add_permits(n);
    }

    pub fn commits(&self) -> usize {
        self.state.commits.load(Ordering::SeqCst)
    }

    pub fn group_loads(&self) -> usize {
        self.state.group_loads.load(Ordering::SeqCst)
    }

    pub fn fail_next_commit(&self) {
        self.state.fail_next_commit.store(true, Ordering::SeqCst);
    }

    /// Holds every commit between writing its rows (told to the engine) and its flush, until
    /// [`Gate::release_flushes`].
    pub fn hold_flushes(&self) {
        self.state.flush.forget_permits(usize::MAX);
    }

    pub fn release_flushes(&self, n: usize) {
        self.state.flush.add_permits(n);
    }

    pub fn fail_next_flush(&self) {
        self.state.fail_next_flush.store(true, Ordering::SeqCst);
    }

    /// Waits (at most ten seconds) until `holds` is true of the counters.
    pub async fn until(&self, what: &str, holds: impl Fn(&GateState) -> bool) {
        let waited = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            loop {
                // Registered before the check, so a move between the check and the wait is seen.
                let moved = self.state.moved.notified();
                if holds(&self.state) {
                    return;
                }
                moved.await;
            }
        });
        waited.await.unwrap_or_else(|_| panic!("still waiting for {what} after ten seconds"));
    }
}

#[async_trait]
impl Store for Gate {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn durability(&self) -> String {
        self.inner.durability()
    }

    async fn write(&self) -> Result<Box<dyn WriteTx>, StoreError> {
        self.state.count(&self.state.writes_asked);
        let permit = self.state.open.acquire().await.map_err(|e| StoreError::Unavailable(e.to_string()))?;
        permit.forget();
        let inner = self.inner.write().await?;
        Ok(Box::new(GateTx { inner, state: self.state.clone() }))
    }

    async fn read(&self) -> Result<Box<dyn ReadTx>, StoreError> {
        let inner = self.inner.read().await?;
        Ok(Box::new(GateReadTx { inner, state: self.state.clone() }))
    }

    async fn history(
        &self,
        account: hongbao_core::AccountId,
        before: Option<TransferId>,
        limit: u32,
    ) -> Result<Vec<HistoryItem>, StoreError> {
        self.inner.history(account, before, limit).await
    }

    async fn dump(&self) -> Result<Dump, StoreError> {
        self.inner.dump().await
    }

    async fn purge_idempotency(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError> {
        self.inner.purge_idempotency(before, limit).await
    }

    async fn has_operator(&self) -> Result<bool, StoreError> {
        self.inner.has_operator().await
    }

    async fn put_evidence(
        &self,
        file: &hongbao_core::evidence::EvidenceFile,
    ) -> Result<(hongbao_core::EvidenceId, Timestamp), StoreError> {
        self.inner.put_evidence(file).await
    }

    async fn evidence(
        &self,
        id: hongbao_core::EvidenceId,
    ) -> Result<Option<hongbao_core::evidence::EvidenceFile>, StoreError> {
        self.inner.evidence(id).await
    }

    async fn freezes(
        &self,
        status: Option<hongbao_core::freeze::FreezeStatus>,
        kind: Option<hongbao_core::risk::FreezeKind>,
        limit: u32,
    ) -> Result<Vec<hongbao_core::freeze::Freeze>, StoreError> {
        self.inner.freezes(status, kind, limit).await
    }

    async fn seizures(
        &self,
        status: Option<hongbao_core::seizure::SeizureStatus>,
        limit: u32,
    ) -> Result<Vec<hongbao_core::seizure::Seizure>, StoreError> {
        self.inner.seizures(status, limit).await
    }

    async fn evidence_cited(&self, id: hongbao_core::EvidenceId) -> Result<bool, StoreError> {
        self.inner.evidence_cited(id).await
    }

    async fn reports_on(
        &self,
        subject: hongbao_core::UserId,
        limit: u32,
    ) -> Result<Vec<hongbao_core::case::Report>, StoreError> {
        self.inner.reports_on(subject, limit).await
    }

    async fn cases(
        &self,
        status: Option<hongbao_core::case::CaseStatus>,
        kind: Option<hongbao_core::case::CaseKind>,
        limit: u32,
    ) -> Result<Vec<hongbao_core::case::Case>, StoreError> {
        self.inner.cases(status, kind, limit).await
    }

    async fn log_entries(&self, start: u64, limit: u32) -> Result<Vec<LogRow>, StoreError> {
        self.inner.log_entries(start, limit).await
    }

    async fn return_requests_of(
        &self,
        user: hongbao_core::UserId,
        role: Option<hongbao_core::returns::ReturnRole>,
        before: Option<hongbao_core::ReturnRequestId>,
        limit: u32,
    ) -> Result<Vec<hongbao_core::returns::ReturnRequest>, StoreError> {
        self.inner.return_requests_of(user, role, before, limit).await
    }

    async fn log_index_of(&self, transfer: TransferId) -> Result<Option<u64>, StoreError> {
        self.inner.log_index_of(transfer).await
    }

    async fn log_entries_of_packet(&self, packet: PacketId, limit: u32) -> Result<Vec<LogRow>, StoreError> {
        self.inner.log_entries_of_packet(packet, limit).await
    }

    async fn latest_checkpoint(&self) -> Result<Option<CheckpointRow>, StoreError> {
        self.inner.latest_checkpoint().await
    }

    async fn remember_nonce(
        &self,
        key: hongbao_core::KeyId,
        digest: [u8; 16],
        expires_at_s: i64,
        now_s: i64,
    ) -> Result<bool, StoreError> {
        self.inner.remember_nonce(key, digest, expires_at_s, now_s).await
    }

    async fn forget_nonces(&self, before_s: i64, limit: u32) -> Result<u64, StoreError> {
        self.inner.forget_nonces(before_s, limit).await
    }

    async fn live_nonces(&self, now_s: i64, limit: u32) -> Result<Vec<hongbao_store::NonceRecord>, StoreError> {
        self.inner.live_nonces(now_s, limit).await
    }

    async fn secrets_not_starting_with(
        &self,
        sealed_prefix: &str,
        limit: u32,
    ) -> Result<Vec<(hongbao_core::KeyId, String)>, StoreError> {
        self.inner.secrets_not_starting_with(sealed_prefix, limit).await
    }

    async fn secret_starting_with(
        &self,
        sealed_prefix: &str,
    ) -> Result<Option<(hongbao_core::KeyId, String)>, StoreError> {
        self.inner.secret_starting_with(sealed_prefix).await
    }

    async fn replace_secrets(&self, replaced: &[(hongbao_core::KeyId, String, String)]) -> Result<u64, StoreError> {
        self.inner.replace_secrets(replaced).await
    }

    async fn dev_clock_offset(&self) -> Result<i64, StoreError> {
        self.inner.dev_clock_offset().await
    }

    async fn advance_dev_clock(&self, by_ms: i64) -> Result<i64, StoreError> {
        self.inner.advance_dev_clock(by_ms).await
    }

    async fn log_key(&self, proposed: &str) -> Result<String, StoreError> {
        self.inner.log_key(proposed).await
    }
}

/// A read snapshot (the engine decides a batch from one while the batch before it commits).
struct GateReadTx {
    inner: Box<dyn ReadTx>,
    state: Arc<GateState>,
}

#[async_trait]
impl ReadTx for GateReadTx {
    async fn load(&mut self, keys: &[hongbao_core::Key]) -> Result<Vec<hongbao_core::Fact>, StoreError> {
        self.state.count_group_loads(keys);
        self.state.count(&self.state.snapshot_loads);
        self.inner.load(keys).await
    }

    async fn idempotency(&mut self, keys: &[(String, String)]) -> Result<Vec<IdempotencyRecord>, StoreError> {
        self.inner.idempotency(keys).await
    }
}

struct GateTx {
    inner: Box<dyn WriteTx>,
    state: Arc<GateState>,
}

#[async_trait]
impl ReadTx for GateTx {
    async fn load(&mut self, keys: &[hongbao_core::Key]) -> Result<Vec<hongbao_core::Fact>, StoreError> {
        self.state.count_group_loads(keys);
        self.inner.load(keys).await
    }

    async fn idempotency(&mut self, keys: &[(String, String)]) -> Result<Vec<IdempotencyRecord>, StoreError> {
        self.inner.idempotency(keys).await
    }
}

#[async_trait]
impl WriteTx for GateTx {
    async fn due(&mut self, now: Timestamp, limit: u32) -> Result<Vec<hongbao_core::due::DueItem>, StoreError> {
        self.inner.due(now, limit).await
    }

    async fn rollback(self: Box<Self>) {
        self.inner.rollback().await;
    }

    async fn commit(self: Box<Self>, commit: Commit) -> Result<(), StoreError> {
        if self.state.fail_next_commit.swap(false, Ordering::SeqCst) {
            return Err(StoreError::Unavailable("injected commit failure".to_owned()));
        }
        self.state.commits.fetch_add(1, Ordering::SeqCst);
        let mut commit = commit;
        if let Some(written) = commit.written.take() {
            // As a database would: the rows are written, only the flush remains.
            written.notify_one();
            self.state.count(&self.state.written);
            let permit = self.state.flush.acquire().await.map_err(|e| StoreError::Unavailable(e.to_string()))?;
            permit.forget();
            if self.state.fail_next_flush.swap(false, Ordering::SeqCst) {
                self.inner.rollback().await;
                return Err(StoreError::Unavailable("injected failure of the flush".to_owned()));
            }
        }
        self.inner.commit(commit).await
    }

    async fn log_size(&mut self) -> Result<u64, StoreError> {
        self.inner.log_size().await
    }
}

pub async fn app() -> App {
    app_with(EngineConfig::default()).await
}

pub async fn app_with(config: EngineConfig) -> App {
    app_with_limits(config, Limits::default()).await
}

pub async fn app_with_limits(config: EngineConfig, limits: Limits) -> App {
    app_from(config, limits, Some(audit_config())).await
}

/// An engine with the transparency log turned off.
pub async fn app_without_log() -> App {
    app_from(EngineConfig::default(), Limits::default(), None).await
}

async fn app_from(config: EngineConfig, limits: Limits, audit: Option<AuditConfig>) -> App {
    let dir = tempfile::tempdir().unwrap();
    let inner = SqliteStore::open(&dir.path().join("test.db"), Durability::Full).await.unwrap();
    let state = GateState {
        open: Semaphore::new(Semaphore::MAX_PERMITS / 2),
        flush: Semaphore::new(Semaphore::MAX_PERMITS / 2),
        commits: AtomicUsize::new(0),
        fail_next_commit: AtomicBool::new(false),
        fail_next_flush: AtomicBool::new(false),
        written: AtomicUsize::new(0),
        group_loads: AtomicUsize::new(0),
        writes_asked: AtomicUsize::new(0),
        snapshot_loads: AtomicUsize::new(0),
        moved: Notify::new(),
    };
    let store = Arc::new(Gate { inner, state: Arc::new(state) });
    let clock = Arc::new(ManualClock::new(START));
    let options = StartOptions { rng_seed: Some([7; 32]), audit, secrets: Some(secrets_key()) };
    let engine = Engine::start(store.clone(), clock.clone(), limits, config, options).await.unwrap();
    App { engine, clock, store, dir }
}

impl App {
    pub async fn exec(&self, command: Command) -> Reply {
        match self.engine.execute(command).await {
            Ok(reply) => reply,
            Err(err) => panic!("command failed: {err}"),
        }
    }

    /// A user with `yuan` deposited.
    pub async fn user(&self, name: &str, yuan: i64) -> UserId {
        let Reply::User(user) = self.exec(Command::CreateUser { name: name.to_owned() }).await else { panic!() };
        if yuan > 0 {
            self.exec(Command::Deposit { user: user.user_id, amount: Fen::new(yuan * 100) }).await;
        }
        user.user_id
    }

    pub async fn group(&self, owner: UserId, members: &[UserId]) -> GroupId {
        let command = Command::CreateGroup { actor: owner, name: "group".to_owned(), members: members.to_vec() };
        let Reply::Group(group) = self.exec(command).await else { panic!() };
        group.group_id
    }

    pub async fn send(&self, sender: UserId, spec: PacketSpec, arrival_delay_s: u32) -> PacketView {
        let command =
            Command::SendPacket { actor: sender, spec, greeting: None, arrival_delay_s, risk_confirmation: None };
        let Reply::Packet(view) = self.exec(command).await else { panic!() };
        view
    }

    pub async fn balance(&self, user: UserId) -> Fen {
        let Answer::Me(me) = self.engine.query(&Query::Me { actor: user }).await.unwrap() else { panic!() };
        me.balance
    }

    pub async fn view(&self, actor: UserId, packet: PacketId) -> PacketView {
        let Answer::Packet(view) = self.engine.query(&Query::Packet { actor, packet }).await.unwrap() else { panic!() };
        view
    }

    /// Runs `hongbao check` on the store and fails the test on any violation.
    pub async fn assert_invariants(&self) {
        let key = audit_config().signing_key.verifying_key();
        let report = hongbao_engine::check(self.store.as_ref(), &Limits::default(), Some(&key)).await.unwrap();
        assert!(report.passed(), "{report}");
    }
}

/// The secrets key of the engine tests: secrets are sealed as `serve` seals them.
pub fn secrets_key() -> hongbao_engine::seal::SecretsKey {
    hongbao_engine::seal::SecretsKey::from_bytes(&[0x5e; 32])
}
