//! The handle: [`Engine`] starts the writer, puts commands, jobs and nonces on its queue and
//! waits for their answers; reads (queries, history, receipts, principals) go to the store.

use std::sync::Arc;

use hongbao_core::ops::{Command, Reply};
use hongbao_core::principal::Principal;
use hongbao_core::query::{self, Answer, Query};
use hongbao_core::{CoreError, Fact, Fail, Key, KeyId, Limits, Timestamp, TransferId, UserId, World};
use hongbao_store::{CheckpointRow, HistoryItem, NonceRecord, ReadTx, Store, StoreError};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::{mpsc, oneshot};

use crate::audit::{Audit, AuditError};
use crate::clock::Clock;
use crate::config::{DEV_CLOCK_AHEAD_MAX_S, EngineConfig, EngineError, Idempotency, JobOutcome, Receipt, StartOptions};
use crate::load::{GroupCache, load};
use crate::queue::Msg;
use crate::seal::SecretsKey;
use crate::secrets::{check_secrets_key, seal_stored_secrets};
use crate::thread::OwnThread;
use crate::writer::Writer;

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

    /// The store itself, for tools and tests (the invariant check, the benchmark, fault
    /// injection). The server does not use it: it reads through the handle's methods.
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

    /// As [`Engine::execute_signed`], answering the type `T` the command answers
    /// (`UserCreated` for `CreateUser`, `PacketView` for `SendPacket`, …).
    ///
    /// # Errors
    /// See [`Engine::execute_signed`]; [`EngineError::Internal`] if the command answered
    /// another kind of reply (a bug, logged here).
    pub async fn run<T: TryFrom<Reply, Error = Reply>>(
        &self,
        command: Command,
        idempotency: Option<Idempotency>,
        nonce: Option<NonceRecord>,
    ) -> Result<T, EngineError> {
        let reply = self.execute_signed(command, idempotency, nonce).await?;
        T::try_from(reply).map_err(|other| wrong_kind::<T>(other.kind()))
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

    /// The production loop of the engine's own jobs ([`crate::jobs::engine_jobs`], without the
    /// nonce purge): it only schedules; each job's work is its [`crate::jobs::Job::run_once`].
    pub fn spawn_jobs(&self) -> crate::jobs::Running {
        crate::jobs::spawn(self, crate::jobs::engine_jobs(self, false))
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

    /// As [`Engine::query`], answering the type `T` the question answers.
    ///
    /// # Errors
    /// See [`Engine::query`]; [`EngineError::Internal`] if it answered another kind (a bug).
    pub async fn ask<T: TryFrom<Answer, Error = Answer>>(&self, question: &Query) -> Result<T, EngineError> {
        let answer = self.query(question).await?;
        T::try_from(answer).map_err(|other| wrong_kind::<T>(other.kind()))
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
pub(crate) async fn sync_clock(clock: &dyn Clock, store: &dyn Store) -> Result<(), StoreError> {
    if clock.follows_store() {
        clock.set_offset_ms(store.dev_clock_offset().await?);
    }
    Ok(())
}

/// Runs `decide` against `world`, loading whatever it asks for, until it answers.
/// The outer error is storage; the inner one is the rules' refusal.
pub(crate) async fn resolve<T>(
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

/// The error for an answer of another kind than `T`: a bug, logged.
fn wrong_kind<T>(got: &str) -> EngineError {
    let wanted = std::any::type_name::<T>();
    tracing::error!(wanted, got, "a command or query answered another kind than its caller expects");
    EngineError::Internal(format!("expected {wanted}, the engine answered `{got}`"))
}
