//! What the engine is configured with ([`EngineConfig`], [`StartOptions`]), what it answers
//! besides the core's replies ([`Receipt`], [`JobOutcome`]), and how it fails ([`EngineError`]).

use hongbao_core::due::DueKind;
use hongbao_core::{CoreError, KeyId, UserId};
use hongbao_store::StoreError;
use serde::{Deserialize, Serialize};

use crate::audit::{AuditConfig, AuditError};
use crate::seal::SecretsKey;

/// The engine's limits. Every queue, batch and loop has a bound.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Commands waiting for the writer; beyond this a command is refused at once (overloaded).
    pub queue_capacity: usize,
    /// Commands applied in one storage transaction.
    pub batch_max: usize,
    /// Items of due work (of every kind together) handled per job run.
    pub job_batch_max: u32,
    /// Job runs one `run_due_jobs` call makes at most before it yields.
    pub job_rounds_max: u32,
    /// How often the production loop looks for due work.
    pub job_interval_ms: u64,
    /// How long idempotency keys are kept (docs/API.md promises at least 24 h).
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
    /// A bug: the engine broke a promise of its own (a command answered with another kind of
    /// reply than the caller expected). Logged where it is raised; nothing more to do.
    #[error("internal error: {0}")]
    Internal(String),
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
    /// Freezes that reached their end and let go of what they held.
    #[serde(default)]
    pub freezes_expired: u32,
    /// Forced transfers nobody approved within their window.
    #[serde(default)]
    pub seizures_expired: u32,
    /// Return requests nobody answered within their window.
    #[serde(default)]
    pub returns_expired: u32,
    /// More work was due than one run handles.
    pub more: bool,
}

impl JobOutcome {
    /// Counts one piece of due work of `kind` done.
    pub(crate) fn count(&mut self, kind: DueKind) {
        let counter = match kind {
            DueKind::PacketExpiry => &mut self.expired,
            DueKind::PendingArrival => &mut self.settled,
            DueKind::FreezeEnd => &mut self.freezes_expired,
            DueKind::SeizureExpiry => &mut self.seizures_expired,
            DueKind::ReturnExpiry => &mut self.returns_expired,
        };
        *counter = counter.saturating_add(1);
    }

    pub(crate) fn add(&mut self, other: JobOutcome) {
        self.expired = self.expired.saturating_add(other.expired);
        self.settled = self.settled.saturating_add(other.settled);
        self.freezes_expired = self.freezes_expired.saturating_add(other.freezes_expired);
        self.seizures_expired = self.seizures_expired.saturating_add(other.seizures_expired);
        self.returns_expired = self.returns_expired.saturating_add(other.returns_expired);
        self.more = other.more;
    }
}
