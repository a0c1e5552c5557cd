//! The single writer: a bounded queue in front, one storage transaction per batch behind.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use hongbao_core::ops::{self, Command, Ctx, Reply};
use hongbao_core::principal::Principal;
use hongbao_core::query::{self, Answer, Query};
use hongbao_core::user::Group;
use hongbao_core::{Changes, CoreError, Fact, Fail, GroupId, Key, KeyId, Limits, Timestamp, TransferId, UserId, World};
use hongbao_store::{
    CheckpointRow, Commit, HistoryItem, IdempotencyRecord, LogRow, NonceRecord, ReadTx, Store, StoreError, WriteTx,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::audit::{Audit, AuditConfig, AuditError};
use crate::clock::Clock;
use crate::seal::{SEALED_PREFIX, SecretsKey};

/// The engine's limits. Every queue, batch and loop has a bound.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Commands waiting for the writer; beyond this a command is refused at once (overloaded).
    pub queue_capacity: usize,
    /// Commands applied in one storage transaction.
    pub batch_max: usize,
    /// Due packets and due pending transfers handled per job run (each).
    pub job_batch_max: u32,
    /// Job runs one `run_due_jobs` call makes at most before it yields.
    pub job_rounds_max: u32,
    /// How often the production loop looks for due work.
    pub job_interval_ms: u64,
    /// How long idempotency keys are kept (API.md promises at least 24 h).
    pub idempotency_retention_s: u32,
    /// Idempotency records deleted per purge run.
    pub idempotency_purge_max: u32,
    /// Rounds of bulk loading before a batch runs.
    pub prefetch_rounds_max: u32,
    /// Loads one command may ask for before it is declared broken.
    pub load_rounds_max: u32,
    /// Largest page of history a caller may ask for.
    pub history_page_max: u32,
    /// How often the transparency log signs a checkpoint when it has grown.
    pub checkpoint_interval_ms: u64,
    /// On a store with one writer (SQLite), decide the next batch while the one before it
    /// commits (see the engine's documentation). Off: each batch decides and commits in turn.
    pub pipeline: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            queue_capacity: 10_000,
            batch_max: 1_024,
            job_batch_max: 200,
            job_rounds_max: 1_000,
            job_interval_ms: 1_000,
            idempotency_retention_s: 48 * 3600,
            idempotency_purge_max: 10_000,
            prefetch_rounds_max: 8,
            load_rounds_max: 32,
            history_page_max: 100,
            checkpoint_interval_ms: 500,
            pipeline: true,
        }
    }
}

impl EngineConfig {
    /// # Errors
    /// A message naming the first field out of range.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("queue_capacity", self.queue_capacity as u64),
            ("batch_max", self.batch_max as u64),
            ("job_batch_max", u64::from(self.job_batch_max)),
            ("job_rounds_max", u64::from(self.job_rounds_max)),
            ("job_interval_ms", self.job_interval_ms),
            ("idempotency_purge_max", u64::from(self.idempotency_purge_max)),
            ("load_rounds_max", u64::from(self.load_rounds_max)),
            ("history_page_max", u64::from(self.history_page_max)),
            ("checkpoint_interval_ms", self.checkpoint_interval_ms),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("engine.{name} must be at least 1"));
        }
        if self.idempotency_retention_s < 24 * 3600 {
            return Err("engine.idempotency_retention_s must be at least 86400 (24 h)".to_owned());
        }
        Ok(())
    }
}

/// How far the development clock may run ahead of real time: ten years, far beyond any
/// deadline of the rules, and far from where times stop printing as dates (year 9999). Two
/// nodes advancing at once may pass it by one advance (at most 136 years): still far from it.
pub const DEV_CLOCK_AHEAD_MAX_S: i64 = 10 * 366 * 86_400;

/// Why the engine did not apply a command.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The rules refused it; nothing changed.
    #[error(transparent)]
    Refused(CoreError),
    /// The idempotency key was used before with another request.
    #[error("this idempotency key was already used with a different request")]
    IdempotencyKeyReused,
    /// The request was applied before under this idempotency key, and created a key whose
    /// secret was shown then: it is never shown again (the stored answer does not hold it).
    #[error(
        "this request was already applied and created key {key_id}; its secret was shown once, when it was created"
    )]
    SecretShownOnce { key_id: KeyId, user_id: Option<UserId> },
    /// The queue is full: try again shortly.
    #[error("the service is overloaded; try again shortly")]
    Overloaded,
    /// Storage failed; the command was not applied.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The engine has stopped.
    #[error("the engine has stopped")]
    Stopped,
    /// A configuration value is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The transparency log cannot answer (disabled, corrupt, or asked out of range).
    #[error(transparent)]
    Audit(AuditError),
}

impl From<StoreError> for EngineError {
    fn from(err: StoreError) -> Self {
        EngineError::Unavailable(err.to_string())
    }
}

/// What [`Engine::start`] may be given besides the essentials.
#[derive(Clone, Debug, Default)]
pub struct StartOptions {
    /// Fixes the random source (tests only); without it the writer seeds a CSPRNG from the
    /// operating system.
    pub rng_seed: Option<[u8; 32]>,
    /// Enables the transparency log.
    pub audit: Option<AuditConfig>,
    /// Seals the principals' secrets at rest ([`crate::seal`]); without it they are stored as
    /// given (tests of the engine alone). A database whose secrets are sealed needs it.
    pub secrets: Option<SecretsKey>,
}

/// A receipt: a transfer's log entry and the proof it is in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub index: u64,
    /// The entry's exact bytes.
    pub entry: Vec<u8>,
    /// The C2SP tlog-proof text (c2sp.org/tlog-proof@v1).
    pub proof: String,
}

/// Who made a request and the key they gave it, for exactly-once retries.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Idempotency {
    pub principal: String,
    pub key: String,
}

/// What one run of the background jobs did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobOutcome {
    /// Packets expired and refunded.
    pub expired: u32,
    /// Pending transfers posted (claims and transfers arrived).
    pub settled: u32,
    /// More work was due than one run handles.
    pub more: bool,
}

impl JobOutcome {
    fn add(&mut self, other: JobOutcome) {
        self.expired = self.expired.saturating_add(other.expired);
        self.settled = self.settled.saturating_add(other.settled);
        self.more = other.more;
    }
}

type Answered<T> = oneshot::Sender<Result<T, EngineError>>;

enum Msg {
    Command {
        command: Command,
        idempotency: Option<Idempotency>,
        /// The nonce of the signed request that asked, stored with the batch (whatever the
        /// command's outcome), so that a replay is refused after any restart.
        nonce: Option<NonceRecord>,
        reply: Answered<Reply>,
    },
    /// Nonces of requests that ran no command, to store with the next batch; answered once they
    /// are durable, when asked.
    Nonces {
        records: Vec<NonceRecord>,
        reply: Option<Answered<()>>,
    },
    Jobs {
        now: Timestamp,
        reply: Answered<JobOutcome>,
    },
    /// Sign a checkpoint if the log grew; answers the latest signed size.
    Checkpoint {
        reply: Answered<u64>,
    },
    Shutdown {
        done: oneshot::Sender<()>,
    },
}

enum Outcome {
    Command(Answered<Reply>, Result<Reply, EngineError>),
    Jobs(Answered<JobOutcome>, Result<JobOutcome, EngineError>),
    Nonces(Option<Answered<()>>, Result<(), EngineError>),
}

impl Outcome {
    fn fail(self, err: &EngineError) -> Outcome {
        match self {
            Outcome::Command(reply, _) => Outcome::Command(reply, Err(err.clone())),
            Outcome::Jobs(reply, _) => Outcome::Jobs(reply, Err(err.clone())),
            Outcome::Nonces(reply, _) => Outcome::Nonces(reply, Err(err.clone())),
        }
    }

    fn send(self) {
        // A caller that stopped waiting is no reason to fail the batch.
        match self {
            Outcome::Command(reply, result) => drop(reply.send(result)),
            Outcome::Jobs(reply, result) => drop(reply.send(result)),
            Outcome::Nonces(reply, result) => {
                if let Some(reply) = reply {
                    drop(reply.send(result));
                } else if let Err(err) = result {
                    tracing::warn!(%err, "nonces of requests that ran no command were not stored");
                }
            }
        }
    }
}

/// The engine: receives commands, orders them, applies them in batches (group commit), and
/// answers. Cheap to clone; every clone talks to the same writer.
#[derive(Clone, Debug)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    queue: mpsc::Sender<Msg>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    limits: Arc<Limits>,
    config: EngineConfig,
    audit: Option<Arc<Audit>>,
    secrets: Option<SecretsKey>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("store", &self.store.backend()).field("clock", &self.clock).finish()
    }
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Msg::Command { .. } => "Command",
            Msg::Nonces { .. } => "Nonces",
            Msg::Jobs { .. } => "Jobs",
            Msg::Checkpoint { .. } => "Checkpoint",
            Msg::Shutdown { .. } => "Shutdown",
        })
    }
}

impl Engine {
    /// Starts the writer task on the current tokio runtime. `rng_seed` fixes the random source
    /// (tests only); without it the writer seeds a CSPRNG from the operating system.
    ///
    /// # Errors
    /// [`EngineError::Config`] when the limits or the configuration are unusable.
    pub async fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        limits: Limits,
        config: EngineConfig,
        options: StartOptions,
    ) -> Result<Engine, EngineError> {
        limits.validate().map_err(|e| EngineError::Config(e.to_string()))?;
        config.validate().map_err(EngineError::Config)?;
        let audit = match options.audit {
            Some(audit) => Some(Arc::new(Audit::load(store.as_ref(), audit).await?)),
            None => None,
        };
        let (queue, rx) = mpsc::channel(config.queue_capacity);
        let limits = Arc::new(limits);
        let mut rng = match options.rng_seed {
            Some(seed) => StdRng::from_seed(seed),
            None => rand::make_rng(),
        };
        seal_stored_secrets(store.as_ref(), options.secrets.as_ref(), &mut rng).await?;
        let mut writer = Writer {
            mint_at: Timestamp::from_millis(0),
            groups: GroupCache::default(),
            rx,
            held: Vec::new(),
            store: store.clone(),
            limits: limits.clone(),
            config: config.clone(),
            rng,
            audit: audit.clone(),
            secrets: options.secrets.clone(),
            commits: (OwnThread::wanted() && config.pipeline && !store.shared())
                .then(|| OwnThread::start("hongbao-commit"))
                .transpose()?,
            thread: None,
        };
        if OwnThread::wanted() {
            let thread = OwnThread::start("hongbao-writer")?;
            let runs_on = thread.handle.clone();
            writer.thread = Some(thread);
            runs_on.spawn(writer.run(clock.clone()));
        } else {
            tokio::spawn(writer.run(clock.clone()));
        }
        let secrets = options.secrets;
        Ok(Engine { inner: Arc::new(Inner { queue, store, clock, limits, config, audit, secrets }) })
    }

    /// The transparency log, when it is enabled.
    pub fn audit(&self) -> Option<&Arc<Audit>> {
        self.inner.audit.as_ref()
    }

    /// Signs a checkpoint now if the log has grown; answers the latest signed size.
    ///
    /// # Errors
    /// See [`EngineError`].
    pub async fn checkpoint_now(&self) -> Result<u64, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.enqueue(Msg::Checkpoint { reply })?;
        answer.await.map_err(|_| EngineError::Stopped)?
    }

    /// The latest signed checkpoint, signing one first if none covers entry `index` yet, with
    /// this node's tree read up to it (another node may have appended and signed).
    ///
    /// # Errors
    /// See [`EngineError`].
    pub async fn checkpoint_covering(&self, index: u64) -> Result<CheckpointRow, EngineError> {
        let audit = self.audit().ok_or(EngineError::Audit(AuditError::Disabled))?;
        if let Some(why) = audit.corrupt() {
            return Err(EngineError::Audit(AuditError::Corrupt(why)));
        }
        let store = &self.inner.store;
        let mut latest = store.latest_checkpoint().await?;
        if latest.as_ref().is_none_or(|c| c.size <= index) {
            self.checkpoint_now().await?;
            latest = store.latest_checkpoint().await?;
        }
        let checkpoint = latest.filter(|c| c.size > index).ok_or_else(|| {
            EngineError::Audit(AuditError::Corrupt("no signed checkpoint covers the entry".to_owned()))
        })?;
        audit.catch_up(store.as_ref(), checkpoint.size).await?;
        Ok(checkpoint)
    }

    /// A receipt for `transfer`, for a user whose wallet it moved money in or out of: the
    /// entry's exact bytes and a C2SP tlog-proof of its inclusion under a signed checkpoint.
    ///
    /// # Errors
    /// [`EngineError::Refused`] (not found) when the user may not see the transfer or it is not
    /// in the log; [`EngineError::Audit`] when the log is disabled or corrupt.
    pub async fn receipt(&self, user: UserId, transfer: TransferId) -> Result<Receipt, EngineError> {
        let audit = self.audit().ok_or(EngineError::Audit(AuditError::Disabled))?.clone();
        let store = &self.inner.store;
        let mut read = store.read().await?;
        let wallet = hongbao_core::AccountId::wallet(user);
        let visible = read.load(&[Key::Transfer(transfer)]).await?.into_iter().any(
            |fact| matches!(fact, hongbao_core::Fact::Transfer(_, Some(t)) if t.debit == wallet || t.credit == wallet),
        );
        drop(read);
        let not_found = || EngineError::Refused(CoreError::not_found("transfer"));
        if !visible {
            return Err(not_found());
        }
        let index = store.log_index_of(transfer).await?.ok_or_else(not_found)?;
        let checkpoint = self.checkpoint_covering(index).await?;
        let hashes = audit.inclusion_proof(index, checkpoint.size).map_err(EngineError::Audit)?;
        let entry = store.log_entries(index, 1).await?.into_iter().next().ok_or_else(not_found)?.entry;
        let proof = hongbao_audit::proof::format(index, &hashes, &checkpoint.note);
        Ok(Receipt { index, entry, proof })
    }

    /// The principal of `key` with its secret as it was handed out (opened, when sealed), or
    /// `None` for a key that does not exist.
    ///
    /// # Errors
    /// [`EngineError::Unavailable`] when the store fails, or the secret does not open.
    pub async fn principal(&self, key: KeyId) -> Result<Option<Principal>, EngineError> {
        let mut tx = self.inner.store.read().await?;
        let facts = tx.load(&[Key::Principal(key)]).await?;
        let Some(mut principal) = facts.into_iter().find_map(|fact| match fact {
            Fact::Principal(id, Some(principal)) if id == key => Some(principal),
            _ => None,
        }) else {
            return Ok(None);
        };
        if crate::seal::is_sealed(&principal.secret) {
            let Some(secrets) = &self.inner.secrets else {
                return Err(EngineError::Unavailable(format!(
                    "the secret of key {key} is sealed, and no secrets key is set"
                )));
            };
            principal.secret =
                secrets.open(key, &principal.secret).map_err(|e| EngineError::Unavailable(e.to_string()))?;
        }
        Ok(Some(principal))
    }

    /// Checks again that this node's secrets key opens the database's secrets: for a node that
    /// started on an empty database while another node created the first principal, sealed with
    /// whatever key that node was given.
    ///
    /// # Errors
    /// [`EngineError::Config`] when the keys differ; [`EngineError::Unavailable`] when the store
    /// fails.
    pub async fn check_secrets_key(&self) -> Result<(), EngineError> {
        check_secrets_key(self.inner.store.as_ref(), self.inner.secrets.as_ref()).await.map(|_| ())
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    fn enqueue(&self, msg: Msg) -> Result<(), EngineError> {
        self.inner.queue.try_send(msg).map_err(|err| match err {
            mpsc::error::TrySendError::Full(_) => EngineError::Overloaded,
            mpsc::error::TrySendError::Closed(_) => EngineError::Stopped,
        })
    }

    /// Applies one command and answers once it is durably stored.
    ///
    /// # Errors
    /// See [`EngineError`].
    pub async fn execute(&self, command: Command) -> Result<Reply, EngineError> {
        self.execute_once(command, None).await
    }

    /// Applies one command at most once per `(principal, key)`: a repeat of the same request
    /// answers the stored first answer again and changes nothing.
    ///
    /// # Errors
    /// See [`EngineError`]; [`EngineError::IdempotencyKeyReused`] for the same key with
    /// another request.
    pub async fn execute_once(&self, command: Command, idempotency: Option<Idempotency>) -> Result<Reply, EngineError> {
        self.execute_signed(command, idempotency, None).await
    }

    /// As [`Engine::execute_once`], storing `nonce` (the signed request's) in the same
    /// transaction as the command's effects, whatever its outcome: once the answer is given, a
    /// replay of the request is refused after any restart.
    ///
    /// # Errors
    /// See [`Engine::execute_once`]. On [`EngineError::Overloaded`] or [`EngineError::Stopped`]
    /// nothing was queued, the nonce included.
    pub async fn execute_signed(
        &self,
        command: Command,
        idempotency: Option<Idempotency>,
        nonce: Option<NonceRecord>,
    ) -> Result<Reply, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.enqueue(Msg::Command { command, idempotency, nonce, reply })?;
        answer.await.map_err(|_| EngineError::Stopped)?
    }

    /// Stores the nonces of requests that ran no command, with the next batch, and answers once
    /// they are durable.
    ///
    /// # Errors
    /// [`EngineError::Overloaded`] when the queue is full (nothing stored);
    /// [`EngineError::Unavailable`] when the batch failed.
    pub async fn remember_nonces(&self, records: Vec<NonceRecord>) -> Result<(), EngineError> {
        let (reply, answer) = oneshot::channel();
        self.enqueue(Msg::Nonces { records, reply: Some(reply) })?;
        answer.await.map_err(|_| EngineError::Stopped)?
    }

    /// Stores the nonces with the next batch without waiting for it (a read's: its replay
    /// changes nothing).
    ///
    /// # Errors
    /// [`EngineError::Overloaded`] when the queue is full: nothing is stored.
    pub fn remember_nonces_later(&self, records: Vec<NonceRecord>) -> Result<(), EngineError> {
        self.enqueue(Msg::Nonces { records, reply: None })
    }

    /// Runs the background jobs once for `now`: expires due packets and posts due pending
    /// transfers, at most `job_batch_max` of each, in one transaction. Running it twice for
    /// the same instant does nothing the second time.
    ///
    /// # Errors
    /// See [`EngineError`].
    pub async fn run_once(&self, now: Timestamp) -> Result<JobOutcome, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.enqueue(Msg::Jobs { now, reply })?;
        answer.await.map_err(|_| EngineError::Stopped)?
    }

    /// Runs the jobs until nothing more is due at `now` (at most `job_rounds_max` runs).
    ///
    /// # Errors
    /// See [`EngineError`].
    pub async fn run_due(&self, now: Timestamp) -> Result<JobOutcome, EngineError> {
        let mut total = JobOutcome::default();
        for _ in 0..self.inner.config.job_rounds_max {
            let outcome = self.run_once(now).await?;
            total.add(outcome);
            if !outcome.more {
                break;
            }
        }
        Ok(total)
    }

    /// Moves the business clock forward and runs every job that became due.
    ///
    /// # Errors
    /// [`EngineError::Config`] when the clock follows real time; [`EngineError::Refused`] when
    /// the business time would be more than [`DEV_CLOCK_AHEAD_MAX_S`] ahead of real time; else as
    /// [`Engine::run_due`].
    pub async fn advance_clock(&self, seconds: u32) -> Result<Timestamp, EngineError> {
        let clock = &self.inner.clock;
        let ahead_ms = self.now().await?.millis().saturating_sub(crate::clock::system_now().millis());
        let after_ms = ahead_ms.saturating_add(i64::from(seconds) * 1000);
        if after_ms > DEV_CLOCK_AHEAD_MAX_S * 1000 {
            return Err(EngineError::Refused(CoreError::invalid(format!(
                "the business clock may run at most {} days ahead of real time; it is {} days ahead, and {seconds} s more would pass that",
                DEV_CLOCK_AHEAD_MAX_S / 86_400,
                ahead_ms / 86_400_000
            ))));
        }
        let now = if clock.follows_store() {
            let offset = self.inner.store.advance_dev_clock(i64::from(seconds) * 1000).await?;
            clock.set_offset_ms(offset);
            clock.now()
        } else {
            clock.advance(seconds).map_err(|e| EngineError::Config(e.to_string()))?
        };
        self.run_due(now).await?;
        Ok(now)
    }

    /// The business time, after taking the shared development clock's offset from the store
    /// when the clock follows it.
    ///
    /// # Errors
    /// [`EngineError::Unavailable`] when the store cannot be read.
    pub async fn now(&self) -> Result<Timestamp, EngineError> {
        sync_clock(self.inner.clock.as_ref(), self.inner.store.as_ref()).await?;
        Ok(self.inner.clock.now())
    }

    /// The production loop: every `job_interval_ms`, runs what is due and purges expired
    /// idempotency keys. It only schedules; the work is done by [`Engine::run_once`].
    pub fn spawn_jobs(&self) -> tokio::task::JoinHandle<()> {
        if self.inner.audit.is_some() {
            let engine = self.clone();
            tokio::spawn(async move {
                let period = Duration::from_millis(engine.inner.config.checkpoint_interval_ms);
                let mut tick = tokio::time::interval(period);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    match engine.checkpoint_now().await {
                        Ok(_) => {}
                        Err(EngineError::Stopped) => return,
                        Err(err) => tracing::warn!(%err, "signing a checkpoint failed; retrying next tick"),
                    }
                }
            });
        }
        let engine = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(engine.inner.config.job_interval_ms));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let now = match engine.now().await {
                    Ok(now) => now,
                    Err(err) => {
                        tracing::warn!(%err, "cannot read the business time; retrying next tick");
                        continue;
                    }
                };
                match engine.run_due(now).await {
                    Ok(outcome) if outcome.expired + outcome.settled > 0 => {
                        tracing::info!(expired = outcome.expired, settled = outcome.settled, "background jobs ran");
                    }
                    Ok(_) => {}
                    Err(EngineError::Stopped) => return,
                    Err(err) => tracing::warn!(%err, "background jobs failed; retrying next tick"),
                }
                let config = &engine.inner.config;
                let before = now.plus_millis(-i64::from(config.idempotency_retention_s) * 1000);
                if let Err(err) = engine.inner.store.purge_idempotency(before, config.idempotency_purge_max).await {
                    tracing::warn!(%err, "purging idempotency keys failed");
                }
            }
        })
    }

    /// Answers a read-only question from a consistent snapshot, without the writer.
    ///
    /// # Errors
    /// [`EngineError::Refused`] (not found) or [`EngineError::Unavailable`].
    pub async fn query(&self, question: &Query) -> Result<Answer, EngineError> {
        let now = self.now().await?;
        let mut tx = self.inner.store.read().await?;
        let mut world = World::partial();
        let rounds = self.inner.config.load_rounds_max;
        let answer = resolve(tx.as_mut(), &mut world, rounds, |w| query::answer(w, now, question)).await?;
        answer.map_err(EngineError::Refused)
    }

    /// A user's history, newest first, at most `history_page_max` items.
    ///
    /// # Errors
    /// [`EngineError::Unavailable`].
    pub async fn history(
        &self,
        user: UserId,
        before: Option<TransferId>,
        limit: u32,
    ) -> Result<Vec<HistoryItem>, EngineError> {
        let limit = limit.clamp(1, self.inner.config.history_page_max);
        Ok(self.inner.store.history(hongbao_core::AccountId::wallet(user), before, limit).await?)
    }

    /// Stops taking commands, applies and answers those already queued, and returns once the
    /// writer has stopped.
    pub async fn shutdown(&self) {
        let (done, finished) = oneshot::channel();
        if self.inner.queue.send(Msg::Shutdown { done }).await.is_ok() {
            let _ = finished.await;
        }
    }
}

/// Takes the development clock's offset from the store, when the clock follows it.
async fn sync_clock(clock: &dyn Clock, store: &dyn Store) -> Result<(), StoreError> {
    if clock.follows_store() {
        clock.set_offset_ms(store.dev_clock_offset().await?);
    }
    Ok(())
}

/// Runs `decide` against `world`, loading whatever it asks for, until it answers.
/// The outer error is storage; the inner one is the rules' refusal.
async fn resolve<T>(
    tx: &mut dyn ReadTx,
    world: &mut World,
    rounds_max: u32,
    mut decide: impl FnMut(&World) -> Result<T, Fail>,
) -> Result<Result<T, CoreError>, StoreError> {
    for _ in 0..rounds_max {
        match decide(world) {
            Ok(value) => return Ok(Ok(value)),
            Err(Fail::Refused(err)) => return Ok(Err(err)),
            Err(Fail::Need(keys)) => load(tx, world, keys).await?,
        }
    }
    Err(StoreError::Corrupt(format!("a command still needed more data after {rounds_max} loads")))
}

async fn load(tx: &mut dyn ReadTx, world: &mut World, keys: Vec<Key>) -> Result<(), StoreError> {
    load_with(tx, world, keys, None).await
}

/// Loads `keys` into `world`, the groups among them from `cache` when it holds them.
async fn load_with(
    tx: &mut dyn ReadTx,
    world: &mut World,
    keys: Vec<Key>,
    mut cache: Option<&mut GroupCache>,
) -> Result<(), StoreError> {
    let mut seen = HashSet::new();
    let keys: Vec<Key> = keys.into_iter().filter(|k| !world.knows(*k) && seen.insert(*k)).collect();
    if keys.is_empty() {
        return Err(StoreError::Corrupt("the core asked for data it already holds".to_owned()));
    }
    let from_store: Vec<Key> = match cache.as_deref() {
        Some(cache) => keys.iter().copied().filter(|key| !cache.lend(*key, world)).collect(),
        None => keys.clone(),
    };
    if !from_store.is_empty() {
        for fact in tx.load(&from_store).await? {
            if let Some(cache) = cache.as_deref_mut() {
                cache.keep(&fact);
            }
            world.learn(fact);
        }
    }
    if let Some(missing) = keys.iter().find(|k| !world.knows(**k)) {
        return Err(StoreError::Corrupt(format!("the store did not answer {missing:?}")));
    }
    Ok(())
}

fn fingerprint(command: &Command) -> [u8; 32] {
    // The command, not the raw HTTP body: the same request in other whitespace is the same.
    let bytes = serde_json::to_vec(command).unwrap_or_default();
    Sha256::digest(&bytes).into()
}

/// Member entries the writer's group cache holds at most (a `UserId` is 16 bytes: 16 MiB).
const GROUP_CACHE_MEMBERS_MAX: usize = 1_000_000;

/// The groups the writer has loaded, kept across batches. A group never changes once created
/// (no command edits one), so a copy loaded from committed data stays true on every node; it
/// saves reading a group's whole member list again for every batch that claims from one of its
/// packets (a 500-member group is 500 rows). Only groups that exist are kept; a group a batch
/// writes is dropped from the cache all the same, should a later command ever edit one. When
/// it would hold more than [`GROUP_CACHE_MEMBERS_MAX`] members it starts again empty.
#[derive(Debug, Default)]
struct GroupCache {
    groups: HashMap<GroupId, Group>,
    members: usize,
}

impl GroupCache {
    /// Teaches `world` the group `key` names, if it is cached; `false` when it must be loaded.
    fn lend(&self, key: Key, world: &mut World) -> bool {
        let Key::Group(id) = key else { return false };
        let Some(group) = self.groups.get(&id) else { return false };
        world.learn(Fact::Group(id, Some(group.clone())));
        true
    }

    /// Keeps a group the store answered.
    fn keep(&mut self, fact: &Fact) {
        let Fact::Group(id, Some(group)) = fact else { return };
        if self.members.saturating_add(group.members.len()) > GROUP_CACHE_MEMBERS_MAX {
            self.groups.clear();
            self.members = 0;
        }
        if let Some(old) = self.groups.insert(*id, group.clone()) {
            self.members -= old.members.len();
        }
        self.members += group.members.len();
    }

    /// Drops the groups a batch writes.
    fn forget<'a>(&mut self, written: impl IntoIterator<Item = &'a Group>) {
        for group in written {
            if let Some(old) = self.groups.remove(&group.id) {
                self.members -= old.members.len();
            }
        }
    }
}

struct Writer {
    /// The time the ids of the current batch carry: each batch's is at least a millisecond
    /// after the one before, so that a request made after another was answered gets ids that
    /// sort after its ids even within one millisecond (ids are otherwise random within it).
    /// It runs ahead of the clock only while batches come faster than one per millisecond.
    mint_at: Timestamp,
    groups: GroupCache,
    rx: mpsc::Receiver<Msg>,
    /// Messages taken off the queue while a batch took in more commands, and left for the loop.
    held: Vec<Msg>,
    store: Arc<dyn Store>,
    limits: Arc<Limits>,
    config: EngineConfig,
    rng: StdRng,
    audit: Option<Arc<Audit>>,
    /// Seals the secrets of the principals a batch creates.
    secrets: Option<SecretsKey>,
    /// Where pipelined batches commit; `None` when the writer does not pipeline, or on a runtime
    /// of one thread, where they commit in tasks of that runtime.
    commits: Option<OwnThread>,
    /// The thread the writer itself runs on, on a runtime of several threads; it ends when the
    /// writer does.
    thread: Option<OwnThread>,
}

/// A thread of its own, with a runtime of one thread, for the writer and for its commits.
///
/// The writer waits on the store between every step of a batch, and the pipeline waits on the
/// hand-over from one commit to the next (the next batch is ready and waits for the one before
/// to land; the writer's connection is idle until it begins). On the shared runtime each of those
/// wake-ups is one among the clients' tasks, all runnable on two cores (measured: about 2 ms
/// between one commit and the next on SQLite). On a thread of its own, which sleeps while the
/// database works, the task runs as soon as it wakes: PostgreSQL `hot` via engine 15 569 and
/// 15 932 claims/s on the shared runtime, 16 563 and 16 553 with the writer on its own thread.
struct OwnThread {
    handle: tokio::runtime::Handle,
    /// Dropped with the writer: the thread's runtime then stops and the thread ends.
    _stop: oneshot::Sender<()>,
}

impl OwnThread {
    /// On a runtime of several threads. On a runtime of one thread (the fault simulation's,
    /// which must replay exactly from its seed) the writer and its commits stay on it.
    fn wanted() -> bool {
        tokio::runtime::Handle::current().runtime_flavor() != tokio::runtime::RuntimeFlavor::CurrentThread
    }

    fn start(name: &str) -> Result<OwnThread, EngineError> {
        let failed = |e: std::io::Error| EngineError::Unavailable(format!("cannot start the thread {name}: {e}"));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(failed)?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let _ = runtime.block_on(stopped);
            })
            .map_err(failed)?;
        Ok(OwnThread { handle, _stop: stop })
    }
}

/// Entities and idempotency records a world may hold when the next batch is decided from it;
/// beyond this the writer waits for the commit in flight and starts the next batch afresh.
const CARRIED_MAX: usize = 50_000;

/// Commands taken in at a time while the batch before commits.
const JOINING_CHUNK_MAX: usize = 64;

/// Where a batch reads what it decides from.
enum Reading<'t> {
    /// The batch's own write transaction: commands and background jobs.
    Write(&'t mut dyn WriteTx),
    /// A snapshot of what is committed, under the world of the batch still committing
    /// (commands only; see [`Writer::run`]).
    Snapshot(&'t mut dyn ReadTx),
}

impl Reading<'_> {
    fn tx(&mut self) -> &mut dyn ReadTx {
        match self {
            Reading::Write(tx) => &mut **tx,
            Reading::Snapshot(tx) => &mut **tx,
        }
    }
}

/// A batch whose commit is under way. Its answers wait for the commit; meanwhile the next batch
/// may be decided from its world (see [`Writer::run`]).
struct InFlight {
    commit: tokio::task::JoinHandle<Result<(), StoreError>>,
    /// Told by the store once the batch's rows are written and only the flush remains.
    written: Arc<Notify>,
    outcomes: Vec<Outcome>,
    /// What the batch decided from, its own effects included.
    world: World,
    /// The idempotency records it read and wrote.
    known: HashMap<(String, String), IdempotencyRecord>,
}

impl InFlight {
    /// Waits for the commit and answers the batch; `false` when nothing of it was applied.
    async fn land(self) -> bool {
        let InFlight { commit, outcomes, .. } = self;
        answer(outcomes, joined(commit.await))
    }
}

/// A commit task's result; one that panicked or was cancelled applied nothing it answers for.
fn joined(result: Result<Result<(), StoreError>, tokio::task::JoinError>) -> Result<(), StoreError> {
    result.unwrap_or_else(|err| Err(StoreError::Unavailable(format!("the commit stopped: {err}"))))
}

/// Sends a batch's answers once its commit has ended; `false` (and every answer a failure)
/// when the commit failed.
fn answer(outcomes: Vec<Outcome>, result: Result<(), StoreError>) -> bool {
    let size = outcomes.len();
    let applied = result.is_ok();
    let outcomes = match result {
        Ok(()) => outcomes,
        Err(err) => {
            tracing::error!(%err, size, "batch failed; nothing in it was applied");
            let err = EngineError::from(err);
            outcomes.into_iter().map(|o| o.fail(&err)).collect()
        }
    };
    tracing::trace!(size, "batch done");
    for outcome in outcomes {
        outcome.send();
    }
    applied
}

/// Failed answers for messages a batch could not get to (the error replaces them).
fn unanswered(work: Vec<Msg>) -> Vec<Outcome> {
    work.into_iter()
        .filter_map(|msg| match msg {
            Msg::Command { reply, .. } => Some(Outcome::Command(reply, Err(EngineError::Stopped))),
            Msg::Jobs { reply, .. } => Some(Outcome::Jobs(reply, Err(EngineError::Stopped))),
            Msg::Nonces { reply, .. } => Some(Outcome::Nonces(reply, Err(EngineError::Stopped))),
            Msg::Shutdown { .. } | Msg::Checkpoint { .. } => None,
        })
        .collect()
}

/// A decided batch ready to be written: its changes and idempotency records, and its log
/// entries already encoded and hashed. None of that needs the transaction (an entry's bytes do
/// not depend on where in the log it lands), so a pipelined batch is prepared while the one
/// before it commits.
struct Prepared {
    changes: Changes,
    records: Vec<IdempotencyRecord>,
    nonces: Vec<NonceRecord>,
    /// The batch's log rows, numbered from 0 ([`Audit::rows`]).
    log: Vec<LogRow>,
    leaves: Vec<hongbao_audit::Hash>,
}

impl Prepared {
    fn new(audit: Option<&Audit>, mut changes: Changes, kept: Kept) -> Prepared {
        let Kept { records, nonces } = kept;
        let log = match audit {
            Some(_) if !changes.log.is_empty() => Audit::rows(&changes.log),
            _ => Vec::new(),
        };
        if !log.is_empty() {
            // The log is where events are kept while it is on: each is an entry of its own, in
            // the order it happened, so the `events` table would only hold a second copy (and
            // every claim would write its event twice).
            changes.events = Vec::new();
        }
        let leaves = log.iter().map(|row| hongbao_audit::leaf_hash(&row.entry)).collect();
        Prepared { changes, records, nonces, log, leaves }
    }

    fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.records.is_empty() && self.nonces.is_empty()
    }
}

/// What a batch keeps besides its changes: the idempotency records it wrote and the nonces of
/// the requests it answers.
#[derive(Default)]
struct Kept {
    records: Vec<IdempotencyRecord>,
    nonces: Vec<NonceRecord>,
}

impl Kept {
    fn append(&mut self, mut other: Kept) {
        self.records.append(&mut other.records);
        self.nonces.append(&mut other.nonces);
    }
}

/// What a message of a batch asked, kept to decide it again should the batch before fail.
enum Asked {
    Command(Command, Option<Idempotency>, Option<NonceRecord>),
    Nonces(Vec<NonceRecord>),
}

impl Asked {
    fn of(msg: &Msg) -> Option<Asked> {
        match msg {
            Msg::Command { command, idempotency, nonce, .. } => {
                Some(Asked::Command(command.clone(), idempotency.clone(), *nonce))
            }
            Msg::Nonces { records, .. } => Some(Asked::Nonces(records.clone())),
            Msg::Jobs { .. } | Msg::Checkpoint { .. } | Msg::Shutdown { .. } => None,
        }
    }

    /// The message again, with the reply of its first outcome.
    fn again(self, outcome: Outcome) -> Option<Msg> {
        match (self, outcome) {
            (Asked::Command(command, idempotency, nonce), Outcome::Command(reply, _)) => {
                Some(Msg::Command { command, idempotency, nonce, reply })
            }
            (Asked::Nonces(records), Outcome::Nonces(reply, _)) => Some(Msg::Nonces { records, reply }),
            _ => None,
        }
    }
}

/// Whether the pipeline may decide `msg` while the batch before commits: commands and nonces,
/// which read only what the world of that batch holds.
fn joins_pipeline(msg: &Msg) -> bool {
    matches!(msg, Msg::Command { .. } | Msg::Nonces { .. })
}

/// Writes a prepared batch, with its log entries, in the transaction `tx`, and commits;
/// `written` is told once its rows are written and only the commit's flush remains.
async fn commit(
    store: &dyn Store,
    audit: Option<&Audit>,
    mut tx: Box<dyn WriteTx>,
    prepared: Prepared,
    written: Option<Arc<Notify>>,
) -> Result<(), StoreError> {
    if prepared.is_empty() {
        // Nothing to write (refusals, reads, no due work).
        tx.rollback().await;
        return Ok(());
    }
    let Prepared { changes, records, nonces, mut log, leaves } = prepared;
    if let (Some(audit), false) = (audit, log.is_empty()) {
        // The log's size as the database has it (on a shared database this also takes the
        // log's lock); entries another writer appended are read in first.
        let size = tx.log_size().await?;
        // A corrupt log is still written to, so nothing goes unrecorded, but its tree is not
        // trusted or extended any more (no checkpoint, no receipt).
        if audit.corrupt().is_none() {
            audit.catch_up(store, size).await?;
        }
        for row in &mut log {
            row.index = size
                .checked_add(row.index)
                .ok_or_else(|| StoreError::Corrupt(format!("a log of {size} entries cannot grow")))?;
        }
    }
    let first = log.first().map(|row| row.index);
    tx.commit(Commit { changes, idempotency: records, nonces, log, checkpoint: None, written }).await?;
    if let (Some(audit), Some(first)) = (audit, first)
        && audit.corrupt().is_none()
    {
        audit.extend(first, &leaves);
    }
    Ok(())
}

/// The answer as an idempotency record keeps it: a new key's secret is not kept (it is shown
/// once, in the first answer), and an empty one stands in its place.
fn without_secret(decided: &Result<Reply, CoreError>) -> std::borrow::Cow<'_, Result<Reply, CoreError>> {
    use hongbao_core::principal::Secret;
    match decided {
        Ok(Reply::User(created)) => {
            let created =
                hongbao_core::ops::UserCreated { secret: Secret::from_stored(String::new()), ..created.clone() };
            std::borrow::Cow::Owned(Ok(Reply::User(created)))
        }
        Ok(Reply::Operator(created)) => {
            let created =
                hongbao_core::ops::OperatorCreated { secret: Secret::from_stored(String::new()), ..created.clone() };
            std::borrow::Cow::Owned(Ok(Reply::Operator(created)))
        }
        other => std::borrow::Cow::Borrowed(other),
    }
}

/// A replayed answer that created a key: the key exists, and its secret is not shown again.
fn secret_not_again(reply: Reply) -> Result<Reply, EngineError> {
    match reply {
        Reply::User(created) => {
            Err(EngineError::SecretShownOnce { key_id: created.key_id, user_id: Some(created.user_id) })
        }
        Reply::Operator(created) => Err(EngineError::SecretShownOnce { key_id: created.key_id, user_id: None }),
        other => Ok(other),
    }
}

/// Principals sealed per round when a node seals the secrets an older version stored in the clear.
const SEAL_ROUND_MAX: u32 = 10_000;
/// Rounds of sealing at most: a billion principals.
const SEAL_ROUNDS_MAX: u32 = 100_000;

/// Checks that `secrets` opens the database's sealed secrets; without a key, refuses a database
/// whose secrets are sealed. Returns the key to seal with, if any.
///
/// # Errors
/// [`EngineError::Config`] when the key does not fit the database; [`EngineError::Unavailable`]
/// when the store fails.
async fn check_secrets_key<'k>(
    store: &dyn Store,
    secrets: Option<&'k SecretsKey>,
) -> Result<Option<&'k SecretsKey>, EngineError> {
    let sealed = store.secret_starting_with(SEALED_PREFIX).await?;
    match (secrets, sealed) {
        (None, Some(_)) => {
            Err(EngineError::Config("this database's secrets are sealed: give the node its secrets key".to_owned()))
        }
        (Some(secrets), Some((key, stored))) => {
            secrets.open(key, &hongbao_core::principal::Secret::from_stored(stored)).map_err(|_| {
                EngineError::Config(
                    "this node's secrets key does not open the database's secrets: give every node the same \
                     secrets key file (storage.secrets_key_file)"
                        .to_owned(),
                )
            })?;
            Ok(Some(secrets))
        }
        (secrets, None) => Ok(secrets),
    }
}

/// Checks that `secrets` opens the database's sealed secrets ([`check_secrets_key`]), and seals
/// those an older version stored in the clear.
///
/// # Errors
/// As [`check_secrets_key`].
async fn seal_stored_secrets(
    store: &dyn Store,
    secrets: Option<&SecretsKey>,
    rng: &mut StdRng,
) -> Result<(), EngineError> {
    let Some(secrets) = check_secrets_key(store, secrets).await? else { return Ok(()) };
    // Each round takes secrets still in the clear; one another node sealed meanwhile is left to
    // it (compare-and-set), so the rounds end when none is left.
    for _ in 0..SEAL_ROUNDS_MAX {
        let clear = store.secrets_not_starting_with(SEALED_PREFIX, SEAL_ROUND_MAX).await?;
        if clear.is_empty() {
            return Ok(());
        }
        let replaced: Vec<(KeyId, String, String)> = clear
            .into_iter()
            .map(|(key, old)| {
                let new = secrets.seal(key, &hongbao_core::principal::Secret::from_stored(old.clone()), rng);
                (key, old, new.expose().to_owned())
            })
            .collect();
        let count = store.replace_secrets(&replaced).await?;
        tracing::info!(sealed = count, "sealed secrets stored in the clear by an older version");
    }
    Err(EngineError::Unavailable(format!(
        "secrets are still stored in the clear after sealing {SEAL_ROUNDS_MAX} rounds of {SEAL_ROUND_MAX}"
    )))
}

/// What woke the writer.
enum Wake {
    Received(usize),
    Landed(Result<(), StoreError>),
}

impl Writer {
    /// Takes batches off the queue and applies each in one transaction.
    ///
    /// On a store with one writer (SQLite; not a database shared by several nodes) the writer
    /// pipelines: while a batch commits (SQLite writes it and waits for the disk on a thread of
    /// its own), the next batch is decided from the committing batch's world — everything it
    /// read and everything it changed, newer than the database — and from a read snapshot for
    /// the rest, which no one else can have changed. Once the store tells that the committing
    /// batch's rows are written, the next batch closes and its commit waits, prepared, to begin
    /// the moment that one lands. The next batch's answers wait for the batch before to commit;
    /// if that commit fails, the next batch is not begun but decided again from the store.
    /// Background jobs, checkpoints and shutdown wait for the commit in flight.
    async fn run(mut self, clock: Arc<dyn Clock>) {
        let mut buf = Vec::with_capacity(self.config.batch_max);
        let mut stopping = None;
        let mut inflight: Option<InFlight> = None;
        loop {
            // Wait for work; a commit that lands meanwhile is answered at once.
            let wake = match inflight.as_mut() {
                // Messages a batch took off the queue but left for this loop come first.
                _ if !self.held.is_empty() => {
                    buf.append(&mut self.held);
                    Wake::Received(buf.len())
                }
                Some(flight) => tokio::select! {
                    biased;
                    result = &mut flight.commit => Wake::Landed(joined(result)),
                    n = self.rx.recv_many(&mut buf, self.config.batch_max) => Wake::Received(n),
                },
                None => Wake::Received(self.rx.recv_many(&mut buf, self.config.batch_max).await),
            };
            match wake {
                Wake::Landed(result) => {
                    if let Some(flight) = inflight.take() {
                        answer(flight.outcomes, result);
                    }
                    continue;
                }
                Wake::Received(0) => break,
                Wake::Received(_) => {}
            }
            let mut work = Vec::with_capacity(buf.len());
            let mut checkpoints = Vec::new();
            for msg in buf.drain(..) {
                match msg {
                    Msg::Shutdown { done } => {
                        // Take nothing new; what is queued is still applied below.
                        self.rx.close();
                        stopping = Some(done);
                    }
                    Msg::Checkpoint { reply } => checkpoints.push(reply),
                    msg => work.push(msg),
                }
            }
            if !work.is_empty() {
                // A failure to read the shared clock shows up as the batch's own storage error.
                let _ = sync_clock(clock.as_ref(), self.store.as_ref()).await;
                inflight = self.batch(work, clock.as_ref(), inflight.take()).await;
            }
            if !checkpoints.is_empty() {
                if let Some(flight) = inflight.take() {
                    flight.land().await;
                }
                // After the batch, so a checkpoint asked for with it covers its entries.
                let result = self.checkpoint(clock.now()).await;
                for reply in checkpoints {
                    let _ = reply.send(result.clone());
                }
            }
        }
        if let Some(flight) = inflight.take() {
            flight.land().await;
        }
        if let Some(done) = stopping {
            // One last checkpoint, so the log's tail is signed when the node stops rather than
            // left for the next start (or another node) to cover.
            if self.audit.as_ref().is_some_and(|audit| audit.corrupt().is_none())
                && let Err(err) = self.checkpoint(clock.now()).await
            {
                tracing::warn!(%err, "signing the last checkpoint before stopping failed");
            }
            let _ = done.send(());
        }
    }

    /// Decides one batch and starts its commit; answers the batch in flight before it, once
    /// that one is durable. Returns the batch now in flight, if any.
    async fn batch(&mut self, work: Vec<Msg>, clock: &dyn Clock, inflight: Option<InFlight>) -> Option<InFlight> {
        let mut now = clock.now();
        self.mint_at = now.max(self.mint_at.plus_millis(1));
        let pipelined = self.config.pipeline && !self.store.shared() && work.iter().all(joins_pipeline);
        if !pipelined {
            if let Some(flight) = inflight {
                flight.land().await;
            }
            self.apply(work, now).await;
            return None;
        }
        // Decide from the world of the batch in flight while it commits, unless it grew large:
        // then wait for it and start afresh.
        let (mut world, mut known, mut before) = match inflight {
            Some(mut flight) if flight.world.size().saturating_add(flight.known.len()) <= CARRIED_MAX => {
                let world = std::mem::take(&mut flight.world);
                let known = std::mem::take(&mut flight.known);
                (world, known, Some(flight))
            }
            Some(flight) => {
                flight.land().await;
                (World::partial(), HashMap::new(), None)
            }
            None => (World::partial(), HashMap::new(), None),
        };
        // Kept to decide the batch again should the one before it fail.
        let mut requests: Vec<Asked> = Vec::with_capacity(work.len());
        let (mut outcomes, mut kept) = (Vec::with_capacity(work.len()), Kept::default());
        let mut failed = None;
        let mut landed = None;
        let mut chunk = work;
        loop {
            requests.extend(chunk.iter().filter_map(Asked::of));
            let decided = match self.store.read().await {
                Ok(mut snapshot) => {
                    self.decide(Reading::Snapshot(snapshot.as_mut()), &mut world, &mut known, chunk, now).await
                }
                Err(err) => Err((unanswered(chunk), err)),
            };
            match decided {
                Ok((answers, written)) => {
                    outcomes.extend(answers);
                    kept.append(written);
                }
                Err((answers, err)) => {
                    outcomes.extend(answers);
                    failed = Some(err);
                    break;
                }
            }
            // While the batch before commits, what arrives meanwhile joins this batch: decided
            // now, committed together after it.
            let Some(flight) = before.as_mut() else { break };
            // In chunks small enough that the commit, once it lands, waits little for the next.
            let room = self.config.batch_max.saturating_sub(outcomes.len()).min(JOINING_CHUNK_MAX);
            if room == 0 || !self.held.is_empty() {
                break;
            }
            let mut more = Vec::new();
            tokio::select! {
                biased;
                result = &mut flight.commit => {
                    landed = Some(joined(result));
                    break;
                }
                // Only its flush remains: this batch closes now, to be ready to begin the moment
                // that one lands; what arrives from here on waits for the next batch.
                () = flight.written.notified() => break,
                n = self.rx.recv_many(&mut more, room) => if n == 0 { break },
            }
            // Commands join; from the first other message on, everything waits for the loop.
            let first_other = more.iter().position(|msg| !joins_pipeline(msg)).unwrap_or(more.len());
            self.held.extend(more.drain(first_other..));
            if more.is_empty() {
                break;
            }
            chunk = more;
            now = clock.now();
            self.mint_at = now.max(self.mint_at.plus_millis(1));
        }
        if let Some(err) = failed {
            if let Some(flight) = before {
                match landed {
                    Some(result) => answer(flight.outcomes, result),
                    None => flight.land().await,
                };
            }
            answer(outcomes, Err(err));
            return None;
        }
        // The batch before has landed (its answers go out once this batch's commit has started),
        // or failed (this batch is decided again), or is still committing: then this batch's
        // commit waits for it in its own task, begins the moment it lands (not at all, should it
        // fail), and passes its result on.
        let (landed_before, committing_before) = match (before, landed) {
            (Some(flight), Some(Err(err))) => {
                answer(flight.outcomes, Err(err));
                self.decide_again(requests, outcomes, now).await;
                return None;
            }
            (Some(flight), Some(Ok(()))) => (Some(flight.outcomes), None),
            (Some(InFlight { commit, outcomes, .. }), None) => (None, Some((commit, outcomes))),
            (None, _) => (None, None),
        };
        let (commit_before, outcomes_before) = committing_before.unzip();
        let (tell, told) = oneshot::channel();
        let changes = self.changes(&mut world);
        let (store, audit) = (self.store.clone(), self.audit.clone());
        let written = Arc::new(Notify::new());
        let tell_written = written.clone();
        let commit_task = async move {
            let prepared = Prepared::new(audit.as_deref(), changes, kept);
            if let Some(commit_before) = commit_before {
                let result = joined(commit_before.await);
                let applied = result.is_ok();
                let _ = tell.send(result);
                if !applied {
                    return Err(StoreError::Unavailable("not begun: the batch it was decided from failed".to_owned()));
                }
            }
            if prepared.is_empty() {
                return Ok(());
            }
            let tx = store.write().await?;
            commit(store.as_ref(), audit.as_deref(), tx, prepared, Some(tell_written)).await
        };
        let commit = match &self.commits {
            Some(thread) => thread.handle.spawn(commit_task),
            None => tokio::spawn(commit_task),
        };
        if let Some(outcomes_before) = landed_before {
            answer(outcomes_before, Ok(()));
        }
        if let Some(outcomes_before) = outcomes_before {
            // Should this batch's task stop before it tells (a panic), the batch before is
            // answered as failed, like a commit whose answer was lost: it may still land, and this
            // batch is then decided again from whatever the store holds once it has.
            let result = told.await.unwrap_or_else(|_| Err(StoreError::Unavailable("the commit stopped".to_owned())));
            if !answer(outcomes_before, result) {
                // This batch's commit did not begin, and it was decided from effects that were
                // not applied.
                let _ = commit.await;
                self.decide_again(requests, outcomes, now).await;
                return None;
            }
        }
        Some(InFlight { commit, written, outcomes, world, known })
    }

    /// Decides the commands of a batch again, from the store, in a transaction of their own: the
    /// batch had been decided from one whose commit failed, and nothing of it was written.
    async fn decide_again(&mut self, requests: Vec<Asked>, outcomes: Vec<Outcome>, now: Timestamp) {
        // Both in the order of the batch's messages: each message has one outcome.
        let work = requests.into_iter().zip(outcomes).filter_map(|(asked, outcome)| asked.again(outcome)).collect();
        self.apply(work, now).await;
    }

    /// What the batch decided in `world` writes; the groups it writes leave the cache.
    /// Secrets are sealed here, as they leave for the store: the world keeps them as minted.
    fn changes(&mut self, world: &mut World) -> Changes {
        let mut changes = world.take_changes();
        self.groups.forget(changes.groups.iter().map(|(_, group)| group));
        if let Some(secrets) = &self.secrets {
            for principal in &mut changes.principals {
                principal.secret = secrets.seal(principal.key_id, &principal.secret, &mut self.rng);
            }
        }
        changes
    }

    /// Applies one batch in one transaction, deciding and committing in turn, and answers it.
    async fn apply(&mut self, work: Vec<Msg>, now: Timestamp) {
        let mut tx = match self.store.write().await {
            Ok(tx) => tx,
            Err(err) => {
                answer(unanswered(work), Err(err));
                return;
            }
        };
        let (mut world, mut known) = (World::partial(), HashMap::new());
        let result = match self.decide(Reading::Write(tx.as_mut()), &mut world, &mut known, work, now).await {
            Ok((outcomes, kept)) => {
                let changes = self.changes(&mut world);
                let prepared = Prepared::new(self.audit.as_deref(), changes, kept);
                let result = commit(self.store.as_ref(), self.audit.as_deref(), tx, prepared, None).await;
                (outcomes, result)
            }
            Err((outcomes, err)) => (outcomes, Err(err)),
        };
        answer(result.0, result.1);
    }

    /// Decides every message of a batch against `world`, reading what it lacks through `reading`:
    /// the answers, still to be sent, and the idempotency records to write. On a storage error,
    /// every message's answer is a failure.
    async fn decide(
        &mut self,
        mut reading: Reading<'_>,
        world: &mut World,
        known: &mut HashMap<(String, String), IdempotencyRecord>,
        work: Vec<Msg>,
        now: Timestamp,
    ) -> Result<(Vec<Outcome>, Kept), (Vec<Outcome>, StoreError)> {
        // Until a message is handled its reply channel is kept here, so a storage failure can
        // still answer it.
        let mut pending: Vec<Option<Msg>> = work.into_iter().map(Some).collect();
        let mut outcomes: Vec<Outcome> = Vec::with_capacity(pending.len());
        macro_rules! fail {
            ($err:expr) => {{
                outcomes.extend(unanswered(pending.iter_mut().filter_map(Option::take).collect()));
                return Err((outcomes, $err));
            }};
        }
        macro_rules! try_store {
            ($e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(err) => fail!(err),
                }
            };
        }

        let idempotency_keys: Vec<(String, String)> = pending
            .iter()
            .filter_map(|m| match m {
                Some(Msg::Command { idempotency: Some(i), .. }) => Some((i.principal.clone(), i.key.clone())),
                _ => None,
            })
            .filter(|key| !known.contains_key(key))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if !idempotency_keys.is_empty() {
            for record in try_store!(reading.tx().idempotency(&idempotency_keys).await) {
                known.entry((record.principal.clone(), record.key.clone())).or_insert(record);
            }
        }
        let commands: Vec<Command> = pending
            .iter()
            .filter_map(|m| match m {
                Some(Msg::Command { command, .. }) => Some(command.clone()),
                _ => None,
            })
            .collect();
        try_store!(self.prefetch(reading.tx(), world, &commands, now).await);

        let mut kept = Kept::default();
        for index in 0..pending.len() {
            let Some(msg) = pending[index].take() else { continue };
            match msg {
                Msg::Nonces { records, reply } => {
                    kept.nonces.extend(records);
                    outcomes.push(Outcome::Nonces(reply, Ok(())));
                }
                Msg::Command { command, idempotency, nonce, reply } => {
                    kept.nonces.extend(nonce);
                    // Only a request with a key is fingerprinted (a JSON encoding and a hash).
                    let slot = idempotency.map(|i| ((i.principal, i.key), fingerprint(&command)));
                    let replay = slot.as_ref().and_then(|(key, print)| known.get(key).map(|record| (record, print)));
                    let replay = replay.map(|(record, print)| {
                        if record.fingerprint == *print {
                            serde_json::from_str::<Result<Reply, CoreError>>(&record.outcome)
                                .map_err(|e| EngineError::Unavailable(format!("stored answer unreadable: {e}")))
                                .and_then(|r| r.map_err(EngineError::Refused))
                                .and_then(secret_not_again)
                        } else {
                            Err(EngineError::IdempotencyKeyReused)
                        }
                    });
                    let result = match replay {
                        Some(result) => result,
                        None => {
                            let decided = match self.decide_one(reading.tx(), world, &command, now).await {
                                Ok(decided) => decided,
                                Err(err) => {
                                    outcomes.push(Outcome::Command(reply, Err(EngineError::Stopped)));
                                    fail!(err)
                                }
                            };
                            if let Some(((principal, key), print)) = slot {
                                let record = IdempotencyRecord {
                                    principal: principal.clone(),
                                    key: key.clone(),
                                    fingerprint: print,
                                    outcome: serde_json::to_string(&without_secret(&decided)).unwrap_or_default(),
                                    created_at: now,
                                };
                                known.insert((principal, key), record.clone());
                                kept.records.push(record);
                            }
                            decided.map_err(EngineError::Refused)
                        }
                    };
                    outcomes.push(Outcome::Command(reply, result));
                }
                Msg::Jobs { now: job_now, reply } => {
                    let ran = match &mut reading {
                        Reading::Write(tx) => self.jobs(&mut **tx, world, job_now).await,
                        Reading::Snapshot(_) => {
                            Err(StoreError::Unavailable("background jobs run in a write transaction".to_owned()))
                        }
                    };
                    match ran {
                        Ok(outcome) => outcomes.push(Outcome::Jobs(reply, Ok(outcome))),
                        Err(err) => {
                            outcomes.push(Outcome::Jobs(reply, Err(EngineError::Stopped)));
                            fail!(err)
                        }
                    }
                }
                Msg::Shutdown { .. } | Msg::Checkpoint { .. } => {}
            }
        }

        Ok((outcomes, kept))
    }

    /// Runs every command once without keeping its effects, only to learn what it reads, and
    /// loads all of that in bulk: a batch of a thousand claims then costs a handful of queries
    /// instead of thousands.
    async fn prefetch(
        &mut self,
        tx: &mut dyn ReadTx,
        world: &mut World,
        commands: &[Command],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        // Only the commands that still lacked data run again: the world only gains facts here,
        // so a command that could run once would run the same way again.
        let mut waiting: Vec<&Command> = commands.iter().collect();
        for _ in 0..self.config.prefetch_rounds_max {
            let mut ctx = Ctx { now, mint_at: now.max(self.mint_at), limits: &self.limits, rng: &mut self.rng };
            let mut seen = HashSet::new();
            let mut keys = Vec::new();
            waiting.retain(|command| match ops::execute(world, &mut ctx, command) {
                Err(Fail::Need(need)) => {
                    keys.extend(need.into_iter().filter(|k| !world.knows(*k) && seen.insert(*k)));
                    true
                }
                Ok(_) | Err(Fail::Refused(_)) => false,
            });
            if keys.is_empty() {
                break;
            }
            load_with(tx, world, keys, Some(&mut self.groups)).await?;
        }
        Ok(())
    }

    /// Decides one command, loading what it needs, and applies its effects to the world.
    async fn decide_one(
        &mut self,
        tx: &mut dyn ReadTx,
        world: &mut World,
        command: &Command,
        now: Timestamp,
    ) -> Result<Result<Reply, CoreError>, StoreError> {
        let mut ctx = Ctx { now, mint_at: now.max(self.mint_at), limits: &self.limits, rng: &mut self.rng };
        let rounds = self.config.load_rounds_max;
        for _ in 0..rounds {
            match ops::execute(world, &mut ctx, command) {
                Ok((reply, effects)) => {
                    world.apply(effects);
                    return Ok(Ok(reply));
                }
                Err(Fail::Refused(err)) => return Ok(Err(err)),
                Err(Fail::Need(keys)) => load_with(tx, world, keys, Some(&mut self.groups)).await?,
            }
        }
        Err(StoreError::Corrupt(format!("a command still needed more data after {rounds} loads")))
    }

    /// Signs and stores a checkpoint when the log has grown; answers the latest signed size.
    async fn checkpoint(&mut self, now: Timestamp) -> Result<u64, EngineError> {
        let Some(audit) = &self.audit else {
            return Err(EngineError::Audit(AuditError::Disabled));
        };
        if let Some(why) = audit.corrupt() {
            return Err(EngineError::Audit(AuditError::Corrupt(why)));
        }
        // Inside a write transaction holding the log's lock: no node appends meanwhile, so the
        // checkpoint covers the whole log, which this node first reads up to its end.
        let mut tx = self.store.write().await?;
        let size = tx.log_size().await?;
        audit.catch_up(self.store.as_ref(), size).await?;
        if let Some(latest) = self.store.latest_checkpoint().await? {
            // Another node may have signed already.
            audit.signed(latest.size);
        }
        let Some(row) = audit.next_checkpoint(now) else {
            tx.rollback().await;
            return Ok(audit.signed_size());
        };
        let size = row.size;
        tx.commit(Commit { checkpoint: Some(row), ..Commit::default() }).await?;
        audit.signed(size);
        tracing::debug!(size, "signed a checkpoint");
        Ok(size)
    }

    /// One run of the background jobs at `now`, inside the batch's transaction.
    async fn jobs(
        &mut self,
        tx: &mut dyn WriteTx,
        world: &mut World,
        now: Timestamp,
    ) -> Result<JobOutcome, StoreError> {
        let limit = self.config.job_batch_max;
        let due = tx.due(now, limit).await?;
        let limit = limit as usize;
        let more = due.packets.len() >= limit || due.pendings.len() >= limit;
        let commands: Vec<Command> = due
            .packets
            .iter()
            .map(|&packet| Command::ExpirePacket { packet })
            .chain(due.pendings.iter().map(|&transfer| Command::SettlePending { transfer }))
            .collect();
        self.prefetch(tx, world, &commands, now).await?;
        let mut outcome = JobOutcome { more, ..JobOutcome::default() };
        for command in &commands {
            match self.decide_one(tx, world, command, now).await? {
                Ok(Reply::Settled { changed: true }) => match command {
                    Command::ExpirePacket { .. } => outcome.expired += 1,
                    _ => outcome.settled += 1,
                },
                Ok(_) => {}
                // A refused job means the stored data contradicts the rules: say so loudly.
                Err(err) => return Err(StoreError::Corrupt(format!("background job {command:?} refused: {err}"))),
            }
        }
        Ok(outcome)
    }
}
