//! Background work, in one home: every periodic task is a [`Job`] with a name, a period, the
//! clock its instant comes from and one step, [`Job::run_once`]`(now)`; [`spawn`] only
//! schedules jobs, so a test drives exactly the same step with the instant it chooses.
//!
//! The engine's own jobs are here: [`DueWork`] (packets that expire and pending money that
//! arrives, decided by the core through the writer, like any command but apart from users'
//! commands), [`SignCheckpoint`], [`PurgeIdempotency`] and [`ForgetNonces`]. An edge adds its
//! own (the server's rate-limit memory) by implementing the trait. A new kind of deadline (a
//! freeze's end, a dispute's deadline, a clawback window) is a new case of the due work the
//! core decides, not a new loop: it runs inside [`DueWork`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hongbao_core::Timestamp;

use crate::clock::system_now;
use crate::config::EngineError;
use crate::engine::Engine;

/// Where a job's `now` comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobClock {
    /// The business time ([`Engine::now`]): deadlines of packets, transfers and holds, which a
    /// development clock moves forward.
    Business,
    /// The machine's time: for what is bounded by real time, such as the nonces of signed
    /// requests, whose timestamps are the clients' real clocks.
    Real,
}

/// What one run of a job did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JobReport {
    /// Items handled (packets expired and transfers settled, records purged, checkpoints signed).
    pub done: u64,
    /// More was due than one run handles: the scheduler runs the job again at once, up to
    /// `job_rounds_max` runs a tick.
    pub more: bool,
}

/// A periodic task.
#[async_trait]
pub trait Job: Send + Sync + 'static {
    /// A short name, for logs.
    fn name(&self) -> &'static str;
    /// How long between two ticks.
    fn period(&self) -> Duration;
    /// Which clock gives `now`.
    fn clock(&self) -> JobClock {
        JobClock::Business
    }
    /// Does a bounded amount of what is due at `now`. Running it again for the same `now`
    /// does nothing more than what was left over.
    ///
    /// # Errors
    /// [`EngineError::Stopped`] ends the job's loop; any other error is logged and the job runs
    /// again at its next tick.
    async fn run_once(&self, now: Timestamp) -> Result<JobReport, EngineError>;
}

/// Packets that expire and pending money that arrives: at most `job_batch_max` of each in one
/// transaction of the writer ([`Engine::run_once`]).
#[derive(Debug)]
pub struct DueWork(pub Engine);

#[async_trait]
impl Job for DueWork {
    fn name(&self) -> &'static str {
        "due work"
    }
    fn period(&self) -> Duration {
        Duration::from_millis(self.0.config().job_interval_ms)
    }
    async fn run_once(&self, now: Timestamp) -> Result<JobReport, EngineError> {
        let outcome = self.0.run_once(now).await?;
        if outcome.expired + outcome.settled > 0 {
            tracing::info!(expired = outcome.expired, settled = outcome.settled, "due work done");
        }
        Ok(JobReport { done: u64::from(outcome.expired) + u64::from(outcome.settled), more: outcome.more })
    }
}

/// Signs a checkpoint of the transparency log when it has grown.
#[derive(Debug)]
pub struct SignCheckpoint(pub Engine);

#[async_trait]
impl Job for SignCheckpoint {
    fn name(&self) -> &'static str {
        "checkpoint signing"
    }
    fn period(&self) -> Duration {
        Duration::from_millis(self.0.config().checkpoint_interval_ms)
    }
    async fn run_once(&self, _now: Timestamp) -> Result<JobReport, EngineError> {
        // The writer signs with its own clock, after the batch in front of it.
        self.0.checkpoint_now().await?;
        Ok(JobReport { done: 1, more: false })
    }
}

/// Forgets stored answers to idempotent requests older than `idempotency_retention_s`, at most
/// `idempotency_purge_max` a run.
#[derive(Debug)]
pub struct PurgeIdempotency(pub Engine);

#[async_trait]
impl Job for PurgeIdempotency {
    fn name(&self) -> &'static str {
        "idempotency purge"
    }
    fn period(&self) -> Duration {
        Duration::from_millis(self.0.config().job_interval_ms)
    }
    async fn run_once(&self, now: Timestamp) -> Result<JobReport, EngineError> {
        let config = self.0.config();
        let before = now.plus_millis(-i64::from(config.idempotency_retention_s) * 1000);
        let limit = config.idempotency_purge_max;
        let done = self.0.store().purge_idempotency(before, limit).await?;
        Ok(JobReport { done, more: done >= u64::from(limit) })
    }
}

/// Forgets the nonces of signed requests that can no longer be replayed (their expiry, in real
/// time, has passed), at most [`ForgetNonces::LIMIT`] a run.
#[derive(Debug)]
pub struct ForgetNonces(pub Engine);

impl ForgetNonces {
    /// Nonces forgotten in one run at most.
    pub const LIMIT: u32 = 100_000;
}

#[async_trait]
impl Job for ForgetNonces {
    fn name(&self) -> &'static str {
        "nonce purge"
    }
    fn period(&self) -> Duration {
        Duration::from_secs(60)
    }
    fn clock(&self) -> JobClock {
        JobClock::Real
    }
    async fn run_once(&self, now: Timestamp) -> Result<JobReport, EngineError> {
        let done = self.0.store().forget_nonces(now.millis().div_euclid(1000), Self::LIMIT).await?;
        Ok(JobReport { done, more: done >= u64::from(Self::LIMIT) })
    }
}

/// The engine's own jobs: due work and the idempotency purge always, checkpoint signing when
/// the log is on, the nonce purge when asked (a server that signs requests).
#[must_use]
pub fn engine_jobs(engine: &Engine, nonces: bool) -> Vec<Arc<dyn Job>> {
    let mut jobs: Vec<Arc<dyn Job>> =
        vec![Arc::new(DueWork(engine.clone())), Arc::new(PurgeIdempotency(engine.clone()))];
    if engine.audit().is_some() {
        jobs.push(Arc::new(SignCheckpoint(engine.clone())));
    }
    if nonces {
        jobs.push(Arc::new(ForgetNonces(engine.clone())));
    }
    jobs
}

/// The tasks of running jobs.
#[derive(Debug)]
pub struct Running {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops every job at its next await point. Dropping [`Running`] leaves them running.
    pub fn abort(&self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Runs each job in a task of its own, every `period`; a tick whose run reports `more` runs
/// again at once, up to `job_rounds_max` runs. The tasks end when the engine stops.
pub fn spawn(engine: &Engine, jobs: Vec<Arc<dyn Job>>) -> Running {
    let tasks = jobs
        .into_iter()
        .map(|job| {
            let engine = engine.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(job.period());
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    if tick_once(&engine, job.as_ref()).await.is_err() {
                        return;
                    }
                }
            })
        })
        .collect();
    Running { tasks }
}

/// One tick of `job`; `Err` once the engine has stopped.
async fn tick_once(engine: &Engine, job: &dyn Job) -> Result<(), ()> {
    let now = match job.clock() {
        JobClock::Real => system_now(),
        JobClock::Business => match engine.now().await {
            Ok(now) => now,
            Err(err) => {
                tracing::warn!(job = job.name(), %err, "cannot read the business time; trying again next tick");
                return Ok(());
            }
        },
    };
    for _ in 0..engine.config().job_rounds_max {
        match job.run_once(now).await {
            Ok(report) if report.more => {}
            Ok(_) => break,
            Err(EngineError::Stopped) => return Err(()),
            Err(err) => {
                tracing::warn!(job = job.name(), %err, "a background job failed; trying again next tick");
                break;
            }
        }
    }
    Ok(())
}
