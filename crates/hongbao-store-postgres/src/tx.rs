//! The read snapshot and the write transaction of a batch, with the log's lock.

use async_trait::async_trait;
use hongbao_core::due::DueItem;
use hongbao_core::{Fact, Key, Timestamp};
use hongbao_store::{Commit, IdempotencyRecord, ReadTx, StoreError, WriteTx};
use sqlx::{Postgres, Transaction};

use crate::load::Lock;

use crate::{db_error, deadlines, load, write};

/// A read snapshot. Dropping it ends the transaction.
#[derive(Debug)]
pub(crate) struct PgReadTx {
    pub(crate) tx: Transaction<'static, Postgres>,
}

#[async_trait]
impl ReadTx for PgReadTx {
    async fn load(&mut self, keys: &[Key]) -> Result<Vec<Fact>, StoreError> {
        load::load(&mut self.tx, keys, Lock::Nothing).await
    }

    async fn idempotency(&mut self, keys: &[(String, String)]) -> Result<Vec<IdempotencyRecord>, StoreError> {
        write::idempotency(&mut self.tx, keys, Lock::Nothing).await
    }
}

/// The write transaction of a batch. Dropping it without `commit` rolls it back, which also
/// releases its locks.
#[derive(Debug)]
pub(crate) struct PgWriteTx {
    pub(crate) tx: Transaction<'static, Postgres>,
    /// The log's size, once [`WriteTx::log_size`] has taken the log's lock in this transaction.
    pub(crate) log_size: Option<u64>,
}

#[async_trait]
impl ReadTx for PgWriteTx {
    async fn load(&mut self, keys: &[Key]) -> Result<Vec<Fact>, StoreError> {
        load::load(&mut self.tx, keys, Lock::ForWrite).await
    }

    async fn idempotency(&mut self, keys: &[(String, String)]) -> Result<Vec<IdempotencyRecord>, StoreError> {
        write::idempotency(&mut self.tx, keys, Lock::ForWrite).await
    }
}

#[async_trait]
impl WriteTx for PgWriteTx {
    async fn due(&mut self, now: Timestamp, limit: u32) -> Result<Vec<DueItem>, StoreError> {
        deadlines::due(&mut self.tx, now, limit).await
    }

    async fn rollback(self: Box<Self>) {
        // Awaited here, so the next write on this node's one writer connection never meets
        // locks of this one still held by a rollback running in the background.
        let _ = self.tx.rollback().await;
    }

    async fn commit(self: Box<Self>, commit: Commit) -> Result<(), StoreError> {
        let PgWriteTx { mut tx, log_size } = *self;
        // On any error `tx` is dropped here, which rolls back everything written so far.
        write::commit(&mut tx, &commit, log_size).await?;
        if let Some(written) = &commit.written {
            written.notify_one();
        }
        tx.commit().await.map_err(|e| db_error(e, "commit"))
    }

    async fn log_size(&mut self) -> Result<u64, StoreError> {
        // The lock is held until the transaction ends, so the size cannot change before the
        // commit: asked twice, it is read once.
        if let Some(size) = self.log_size {
            return Ok(size);
        }
        let size = write::log_size(&mut self.tx).await?;
        self.log_size = Some(size);
        Ok(size)
    }
}
