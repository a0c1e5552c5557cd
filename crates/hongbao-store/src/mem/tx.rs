//! The read snapshot and the one write transaction, with the faults injected into commits.

use std::sync::Arc;

use async_trait::async_trait;
use hongbao_core::due::DueItem;
use hongbao_core::{Fact, Key, Timestamp};
use tokio::sync::OwnedMutexGuard;

use super::faults::CommitFault;
use super::state::State;
use super::{MemStore, lock};
use crate::{Commit, IdempotencyRecord, ReadTx, StoreError, WriteTx};

/// A read snapshot: the committed state when it began.
pub(super) struct MemReadTx {
    pub(super) store: MemStore,
    pub(super) snapshot: Arc<State>,
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
pub(super) struct MemWriteTx {
    pub(super) store: MemStore,
    pub(super) _writer: OwnedMutexGuard<()>,
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
    async fn due(&mut self, now: Timestamp, limit: u32) -> Result<Vec<DueItem>, StoreError> {
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
