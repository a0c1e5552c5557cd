//! The single writer: it takes batches off the queue, decides each command in order through the
//! core, writes a batch in one transaction and answers once it is committed (group commit); on a
//! store with one writer it pipelines (`crate::pipeline` tells how).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use hongbao_core::ops::{self, Command, Ctx, Reply};
use hongbao_core::{Changes, CoreError, Fail, Limits, Timestamp, World};
use hongbao_store::{Commit, IdempotencyRecord, ReadTx, Store, StoreError, WriteTx};
use rand::rngs::StdRng;
use tokio::sync::{Notify, mpsc, oneshot};

use crate::audit::{Audit, AuditError};
use crate::clock::Clock;
use crate::config::{EngineConfig, EngineError, JobOutcome};
use crate::engine::sync_clock;
use crate::load::{GroupCache, Reading, load_with};
use crate::pipeline::{Carried, InFlight, JOINING_CHUNK_MAX, Kept, Pipeline, Prepared, commit, joined};
use crate::queue::{Asked, Msg, Outcome, answer, fingerprint, joins_pipeline, unanswered};
use crate::seal::SecretsKey;
use crate::secrets::secret_not_again;
use crate::stored;
use crate::thread::OwnThread;

pub(crate) struct Writer {
    /// The time the ids of the current batch carry: each batch's is at least a millisecond
    /// after the one before, so that a request made after another was answered gets ids that
    /// sort after its ids even within one millisecond (ids are otherwise random within it).
    /// It runs ahead of the clock only while batches come faster than one per millisecond.
    pub(crate) mint_at: Timestamp,
    pub(crate) groups: GroupCache,
    pub(crate) rx: mpsc::Receiver<Msg>,
    /// Messages taken off the queue while a batch took in more commands, and left for the loop.
    pub(crate) held: Vec<Msg>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) limits: Arc<Limits>,
    pub(crate) config: EngineConfig,
    pub(crate) rng: StdRng,
    pub(crate) audit: Option<Arc<Audit>>,
    /// Seals the secrets of the principals a batch creates.
    pub(crate) secrets: Option<SecretsKey>,
    /// Where pipelined batches commit; `None` when the writer does not pipeline, or on a runtime
    /// of one thread, where they commit in tasks of that runtime.
    pub(crate) commits: Option<OwnThread>,
    /// The thread the writer itself runs on, on a runtime of several threads; it ends when the
    /// writer does.
    pub(crate) thread: Option<OwnThread>,
}

impl Writer {
    /// Takes batches off the queue and applies each in one transaction; on a store with one
    /// writer, decides the next batch while one commits (`crate::pipeline`).
    pub(crate) async fn run(mut self, clock: Arc<dyn Clock>) {
        let mut buf = Vec::with_capacity(self.config.batch_max);
        let mut stopping = None;
        let mut pipeline = Pipeline::default();
        loop {
            // Messages a batch took off the queue but left for this loop come first; a commit
            // that lands while the writer waits is answered at once.
            if self.held.is_empty() {
                if pipeline.receive(&mut self.rx, &mut buf, self.config.batch_max).await == 0 {
                    break;
                }
            } else {
                buf.append(&mut self.held);
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
                self.batch(work, clock.as_ref(), &mut pipeline).await;
            }
            if !checkpoints.is_empty() {
                pipeline.land().await;
                // After the batch, so a checkpoint asked for with it covers its entries.
                let result = self.checkpoint(clock.now()).await;
                for reply in checkpoints {
                    let _ = reply.send(result.clone());
                }
            }
        }
        pipeline.land().await;
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
    /// that one is durable. Leaves the batch now committing, if any, in `pipeline`.
    pub(crate) async fn batch(&mut self, work: Vec<Msg>, clock: &dyn Clock, pipeline: &mut Pipeline) {
        let mut now = clock.now();
        self.mint_at = now.max(self.mint_at.plus_millis(1));
        let pipelined = self.config.pipeline && !self.store.shared() && work.iter().all(joins_pipeline);
        if !pipelined {
            pipeline.land().await;
            self.apply(work, now).await;
            return;
        }
        // Decide from the world of the batch in flight while it commits.
        let Carried { mut world, mut known, mut before } = pipeline.carry().await;
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
            return;
        }
        // The batch before has landed (its answers go out once this batch's commit has started),
        // or failed (this batch is decided again), or is still committing: then this batch's
        // commit waits for it in its own task, begins the moment it lands (not at all, should it
        // fail), and passes its result on.
        let (landed_before, committing_before) = match (before, landed) {
            (Some(flight), Some(Err(err))) => {
                answer(flight.outcomes, Err(err));
                self.decide_again(requests, outcomes, now).await;
                return;
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
                return;
            }
        }
        pipeline.committing(InFlight { commit, written, outcomes, world, known });
    }

    /// Decides the commands of a batch again, from the store, in a transaction of their own: the
    /// batch had been decided from one whose commit failed, and nothing of it was written.
    pub(crate) async fn decide_again(&mut self, requests: Vec<Asked>, outcomes: Vec<Outcome>, now: Timestamp) {
        // Both in the order of the batch's messages: each message has one outcome.
        let work = requests.into_iter().zip(outcomes).filter_map(|(asked, outcome)| asked.again(outcome)).collect();
        self.apply(work, now).await;
    }

    /// What the batch decided in `world` writes; the groups it writes leave the cache.
    /// Secrets are sealed here, as they leave for the store: the world keeps them as minted.
    pub(crate) fn changes(&mut self, world: &mut World) -> Changes {
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
    pub(crate) async fn apply(&mut self, work: Vec<Msg>, now: Timestamp) {
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
    pub(crate) async fn decide(
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
                            stored::decode(&record.outcome)
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
                                    outcome: stored::encode(&decided),
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
    pub(crate) async fn prefetch(
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
    pub(crate) async fn decide_one(
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
    pub(crate) async fn checkpoint(&mut self, now: Timestamp) -> Result<u64, EngineError> {
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
    pub(crate) async fn jobs(
        &mut self,
        tx: &mut dyn WriteTx,
        world: &mut World,
        now: Timestamp,
    ) -> Result<JobOutcome, StoreError> {
        let limit = self.config.job_batch_max;
        let due = tx.due(now, limit).await?;
        let more = due.len() >= limit as usize;
        let commands: Vec<Command> = due.iter().map(|item| item.kind.command(item.id)).collect();
        self.prefetch(tx, world, &commands, now).await?;
        let mut outcome = JobOutcome { more, ..JobOutcome::default() };
        for (item, command) in due.iter().zip(&commands) {
            match self.decide_one(tx, world, command, now).await? {
                Ok(Reply::Settled { changed: true }) => outcome.count(item.kind),
                // Nothing to do: a command of this batch got there first (and its change takes the
                // item off the schedule), or the store is damaged (`hongbao check`: invariant 6).
                Ok(_) => tracing::debug!(kind = %item.kind, ?command, "due work found nothing to do"),
                // A refused job means the stored data contradicts the rules: say so loudly.
                Err(err) => return Err(StoreError::Corrupt(format!("background job {command:?} refused: {err}"))),
            }
        }
        Ok(outcome)
    }
}
