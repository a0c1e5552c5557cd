//! The read snapshot and the hand-driven write transaction of a batch.

use async_trait::async_trait;
use hongbao_core::due::DueItem;
use hongbao_core::{Fact, Key, Timestamp};
use hongbao_store::{Commit, IdempotencyRecord, ReadTx, StoreError, WriteTx};
use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqliteConnection, Transaction};

use crate::{db_error, deadlines, load, write};

/// A read snapshot. Dropping it ends the transaction.
#[derive(Debug)]
pub(crate) struct SqliteReadTx {
    pub(crate) tx: Transaction<'static, Sqlite>,
}

#[async_trait]
impl ReadTx for SqliteReadTx {
    async fn load(&mut self, keys: &[Key]) -> Result<Vec<Fact>, StoreError> {
        load::load(&mut self.tx, keys).await
    }

    async fn idempotency(&mut self, keys: &[(String, String)]) -> Result<Vec<IdempotencyRecord>, StoreError> {
        write::idempotency(&mut self.tx, keys).await
    }
}

/// The write transaction of a batch, on the one writer connection. The transaction is driven
/// by hand (`BEGIN IMMEDIATE` … `COMMIT`) rather than through sqlx's transaction type, because a
/// `COMMIT` that fails (a full disk, a read-only file system) must leave the connection clean
/// for the next batch: it is rolled back, and when even that fails the connection is closed and
/// the pool opens a new one. Dropping it without `commit` or `rollback` closes the connection,
/// which rolls the transaction back.
#[derive(Debug)]
pub(crate) struct SqliteWriteTx {
    pub(crate) conn: Option<PoolConnection<Sqlite>>,
}

impl SqliteWriteTx {
    fn conn(&mut self) -> &mut SqliteConnection {
        self.conn.as_deref_mut().expect("a write transaction has its connection until it ends")
    }

    /// Ends the transaction with `ROLLBACK`; a connection that cannot roll back is closed.
    async fn end(mut conn: PoolConnection<Sqlite>) {
        if sqlx::query("ROLLBACK").execute(&mut *conn).await.is_err() {
            conn.close_on_drop();
        }
    }
}

impl Drop for SqliteWriteTx {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.as_mut() {
            // Not ended by commit or rollback (an error path): closing the connection rolls the
            // transaction back, and the pool opens a fresh one.
            conn.close_on_drop();
        }
    }
}

#[async_trait]
impl ReadTx for SqliteWriteTx {
    async fn load(&mut self, keys: &[Key]) -> Result<Vec<Fact>, StoreError> {
        load::load(self.conn(), keys).await
    }

    async fn idempotency(&mut self, keys: &[(String, String)]) -> Result<Vec<IdempotencyRecord>, StoreError> {
        write::idempotency(self.conn(), keys).await
    }
}

#[async_trait]
impl WriteTx for SqliteWriteTx {
    async fn due(&mut self, now: Timestamp, limit: u32) -> Result<Vec<DueItem>, StoreError> {
        deadlines::due(self.conn(), now, limit).await
    }

    async fn commit(mut self: Box<Self>, commit: Commit) -> Result<(), StoreError> {
        let written = write::commit(self.conn(), &commit).await;
        let mut conn = self.conn.take().expect("a write transaction has its connection until it ends");
        if let Err(err) = written {
            SqliteWriteTx::end(conn).await;
            return Err(err);
        }
        // Every row is written; what remains is the WAL's frames and their flush.
        if let Some(written) = &commit.written {
            written.notify_one();
        }
        if let Err(err) = sqlx::query("COMMIT").execute(&mut *conn).await {
            // SQLite may already have rolled back (a full disk); make sure, or start afresh.
            SqliteWriteTx::end(conn).await;
            return Err(db_error(err, "commit"));
        }
        Ok(())
    }

    async fn rollback(mut self: Box<Self>) {
        if let Some(conn) = self.conn.take() {
            SqliteWriteTx::end(conn).await;
        }
    }

    async fn log_size(&mut self) -> Result<u64, StoreError> {
        // The transaction began IMMEDIATE and holds the write lock: no other writer can append
        // between this answer and the commit.
        write::log_size(self.conn()).await
    }
}
