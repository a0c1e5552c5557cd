//! Pipelining on a store with one writer (SQLite; not a database shared by several nodes):
//! while a batch commits, the next is decided.
//!
//! A batch whose commit is under way is [`InFlight`]; the writer's [`Pipeline`] holds at most one.
//! While it commits (SQLite writes it and waits for the disk on a thread of its own), the next
//! batch is decided from the committing batch's world — everything it read and everything it
//! changed, newer than the database — and from a read snapshot for the rest, which no one else
//! can have changed ([`Pipeline::carry`]; a world grown past [`CARRIED_MAX`] is not carried: the
//! batch lands first and the next starts afresh). Commands that arrive meanwhile join the next
//! batch, in chunks of [`JOINING_CHUNK_MAX`]. Once the store tells that the committing batch's
//! rows are written (`Commit::written`), the next batch closes and is [`Prepared`] (changes
//! taken, log entries encoded and hashed), and its commit waits to begin the moment that one
//! lands. The next batch's answers wait for the batch before to commit; if that commit fails,
//! the next batch is not begun but decided again from the store. Background jobs, checkpoints,
//! batches that do not pipeline and shutdown wait for the commit in flight
//! ([`Pipeline::land`]). `Writer::batch` drives these steps.

use std::collections::HashMap;
use std::sync::Arc;

use hongbao_core::{Changes, World};
use hongbao_store::{Commit, IdempotencyRecord, LogRow, NonceRecord, Store, StoreError, WriteTx};
use tokio::sync::{Notify, mpsc};

use crate::audit::Audit;
use crate::queue::{Msg, Outcome, answer};

/// Entities and idempotency records a world may hold when the next batch is decided from it;
/// beyond this the writer waits for the commit in flight and starts the next batch afresh.
pub(crate) const CARRIED_MAX: usize = 50_000;

/// Commands taken in at a time while the batch before commits.
pub(crate) const JOINING_CHUNK_MAX: usize = 64;

/// A batch whose commit is under way. Its answers wait for the commit; meanwhile the next batch
/// may be decided from its world.
pub(crate) struct InFlight {
    pub(crate) commit: tokio::task::JoinHandle<Result<(), StoreError>>,
    /// Told by the store once the batch's rows are written and only the flush remains.
    pub(crate) written: Arc<Notify>,
    pub(crate) outcomes: Vec<Outcome>,
    /// What the batch decided from, its own effects included.
    pub(crate) world: World,
    /// The idempotency records it read and wrote.
    pub(crate) known: HashMap<(String, String), IdempotencyRecord>,
}

impl InFlight {
    /// Waits for the commit and answers the batch; `false` when nothing of it was applied.
    pub(crate) async fn land(self) -> bool {
        let InFlight { commit, outcomes, .. } = self;
        answer(outcomes, joined(commit.await))
    }
}

/// The writer's pipelining state: the batch whose commit is under way, if any.
#[derive(Default)]
pub(crate) struct Pipeline(Option<InFlight>);

/// What the next batch is decided from: the world and idempotency records of the batch in
/// flight (empty when there is none, or it was too large to carry and has landed), and that
/// batch, still committing, whose answers now wait for the next one's commit to begin.
pub(crate) struct Carried {
    pub(crate) world: World,
    pub(crate) known: HashMap<(String, String), IdempotencyRecord>,
    pub(crate) before: Option<InFlight>,
}

impl Pipeline {
    /// Takes up to `max` messages into `buf`, answering the batch in flight should its commit
    /// land first; how many arrived (0: the queue is closed and empty).
    pub(crate) async fn receive(&mut self, rx: &mut mpsc::Receiver<Msg>, buf: &mut Vec<Msg>, max: usize) -> usize {
        loop {
            let Some(flight) = self.0.as_mut() else { return rx.recv_many(buf, max).await };
            tokio::select! {
                biased;
                result = &mut flight.commit => {
                    if let Some(flight) = self.0.take() {
                        answer(flight.outcomes, joined(result));
                    }
                }
                n = rx.recv_many(buf, max) => return n,
            }
        }
    }

    /// Waits for the batch in flight, if any, and answers it.
    pub(crate) async fn land(&mut self) {
        if let Some(flight) = self.0.take() {
            flight.land().await;
        }
    }

    /// Hands the batch in flight over to the next batch, to be decided from its world, unless
    /// that world grew past [`CARRIED_MAX`]: then it lands first and the next batch starts afresh.
    pub(crate) async fn carry(&mut self) -> Carried {
        match self.0.take() {
            Some(mut flight) if flight.world.size().saturating_add(flight.known.len()) <= CARRIED_MAX => {
                let world = std::mem::take(&mut flight.world);
                let known = std::mem::take(&mut flight.known);
                Carried { world, known, before: Some(flight) }
            }
            Some(flight) => {
                flight.land().await;
                Carried { world: World::partial(), known: HashMap::new(), before: None }
            }
            None => Carried { world: World::partial(), known: HashMap::new(), before: None },
        }
    }

    /// The batch now committing; there is none in flight when this is called (it was carried or
    /// landed).
    pub(crate) fn committing(&mut self, flight: InFlight) {
        debug_assert!(self.0.is_none(), "one batch in flight at a time");
        self.0 = Some(flight);
    }
}

/// A commit task's result; one that panicked or was cancelled applied nothing it answers for.
pub(crate) fn joined(result: Result<Result<(), StoreError>, tokio::task::JoinError>) -> Result<(), StoreError> {
    result.unwrap_or_else(|err| Err(StoreError::Unavailable(format!("the commit stopped: {err}"))))
}

/// A decided batch ready to be written: its changes and idempotency records, and its log
/// entries already encoded and hashed. None of that needs the transaction (an entry's bytes do
/// not depend on where in the log it lands), so a pipelined batch is prepared while the one
/// before it commits.
pub(crate) struct Prepared {
    pub(crate) changes: Changes,
    pub(crate) records: Vec<IdempotencyRecord>,
    pub(crate) nonces: Vec<NonceRecord>,
    /// The batch's log rows, numbered from 0 ([`Audit::rows`]).
    pub(crate) log: Vec<LogRow>,
    pub(crate) leaves: Vec<hongbao_audit::Hash>,
}

impl Prepared {
    pub(crate) fn new(audit: Option<&Audit>, mut changes: Changes, kept: Kept) -> Prepared {
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

    pub(crate) fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.records.is_empty() && self.nonces.is_empty()
    }
}

/// What a batch keeps besides its changes: the idempotency records it wrote and the nonces of
/// the requests it answers.
#[derive(Default)]
pub(crate) struct Kept {
    pub(crate) records: Vec<IdempotencyRecord>,
    pub(crate) nonces: Vec<NonceRecord>,
}

impl Kept {
    pub(crate) fn append(&mut self, mut other: Kept) {
        self.records.append(&mut other.records);
        self.nonces.append(&mut other.nonces);
    }
}

/// Writes a prepared batch, with its log entries, in the transaction `tx`, and commits;
/// `written` is told once its rows are written and only the commit's flush remains.
pub(crate) async fn commit(
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
