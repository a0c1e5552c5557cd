//! The fault switchboard: which commits, begins and reads fail or hang next, and how many did.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::lock;

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
pub(super) struct Armed {
    /// The fault the next commits suffer, and for how many more commits.
    pub(super) commit: Option<(CommitFault, u32)>,
    pub(super) writes: u32,
    pub(super) reads: u32,
}

#[derive(Debug, Default)]
pub(super) struct FaultState {
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

    pub(super) async fn pause(&self) {
        if self.state.yielding.load(Ordering::SeqCst) {
            tokio::task::yield_now().await;
        }
    }

    pub(super) fn count(&self, add: impl FnOnce(&mut FaultCounts)) {
        add(&mut lock(&self.state.counts));
    }

    pub(super) fn take_commit(&self) -> Option<CommitFault> {
        let mut armed = lock(&self.state.armed);
        let (fault, left) = armed.commit?;
        armed.commit = (left > 1).then_some((fault, left - 1));
        Some(fault)
    }

    pub(super) fn take(&self, pick: impl FnOnce(&mut Armed) -> &mut u32) -> bool {
        let mut armed = lock(&self.state.armed);
        let left = pick(&mut armed);
        if *left == 0 {
            return false;
        }
        *left -= 1;
        true
    }

    /// Hangs forever, after telling whoever waits in [`Faults::hung_beyond`].
    pub(super) async fn hang(&self) {
        self.state.hangs.fetch_add(1, Ordering::SeqCst);
        self.state.hung.notify_waiters();
        std::future::pending::<()>().await;
    }
}
