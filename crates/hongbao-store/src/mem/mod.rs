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
//!
//! By concern: `faults.rs` (the switchboard), `state.rs` (the committed tables and their
//! lookups), `validate.rs` (a commit's constraints), `tx.rs` (the transactions) and `store.rs`
//! (the `Store` methods).

mod faults;
mod state;
mod store;
#[cfg(test)]
mod tests;
mod tx;
mod validate;

pub use faults::{CommitFault, FaultCounts, Faults};

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use hongbao_core::evidence::EvidenceFile;
use hongbao_core::{EvidenceId, KeyId};

use self::state::State;
use self::validate::validate;
use crate::{Commit, StoreError};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere in a test must not hide the state from the check that reports it.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn len_u64(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

fn corrupt(message: impl fmt::Display) -> StoreError {
    StoreError::Corrupt(message.to_string())
}

/// What lives outside transactions, as in the SQL stores: nonces, the development clock and the
/// log's key.
#[derive(Debug, Default)]
struct Shared {
    nonces: BTreeMap<(KeyId, [u8; 16]), i64>,
    dev_clock_offset_ms: i64,
    log_key: Option<String>,
    evidence: BTreeMap<EvidenceId, EvidenceFile>,
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
