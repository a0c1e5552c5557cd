//! The log's reads and the store's health, for the edges: what the HTTP server asks without
//! the writer (a page of log entries, the latest checkpoint, this node's tree brought up to a
//! size, whether the store answers), and the nonce writer of a shared store. The edges reach
//! the store only through these and the handle's other methods.

use std::time::Duration;

use hongbao_core::PacketId;
use hongbao_store::{CheckpointRow, LogRow};

use crate::audit::AuditError;
use crate::config::EngineError;
use crate::engine::Engine;
use crate::nonces::NonceWriter;

impl Engine {
    /// The latest signed checkpoint, if any.
    ///
    /// # Errors
    /// [`EngineError::Unavailable`].
    pub async fn latest_checkpoint(&self) -> Result<Option<CheckpointRow>, EngineError> {
        Ok(self.store().latest_checkpoint().await?)
    }

    /// The ids of up to `limit` freezes of `status` and `kind`, newest placed first, across users
    /// (their views are the query `Freezes`).
    ///
    /// # Errors
    /// [`EngineError::Unavailable`].
    pub async fn freeze_ids(
        &self,
        status: Option<hongbao_core::freeze::FreezeStatus>,
        kind: Option<hongbao_core::risk::FreezeKind>,
        limit: u32,
    ) -> Result<Vec<hongbao_core::FreezeId>, EngineError> {
        Ok(self.store().freezes(status, kind, limit).await?.into_iter().map(|f| f.id).collect())
    }

    /// A page of the return requests in which `user` is the `role` (any with `None`), newest first, older than
    /// `before` when given, at most `limit`, each as it stands now (one past its window has
    /// expired, whether or not the job has run).
    ///
    /// # Errors
    /// [`EngineError::Unavailable`].
    pub async fn return_requests_of(
        &self,
        user: hongbao_core::UserId,
        role: Option<hongbao_core::returns::ReturnRole>,
        before: Option<hongbao_core::ReturnRequestId>,
        limit: u32,
    ) -> Result<Vec<hongbao_core::returns::ReturnRequest>, EngineError> {
        let now = self.clock().now();
        let found = self.store().return_requests_of(user, role, before, limit).await?;
        Ok(found.into_iter().map(|r| r.as_of(now)).collect())
    }

    /// The ids of up to `limit` forced transfers of `status`, newest proposed first (the inbox;
    /// their views are the query `Seizures`).
    ///
    /// # Errors
    /// [`EngineError::Unavailable`].
    pub async fn seizure_ids(
        &self,
        status: Option<hongbao_core::seizure::SeizureStatus>,
        limit: u32,
    ) -> Result<Vec<hongbao_core::SeizureId>, EngineError> {
        Ok(self.store().seizures(status, limit).await?.into_iter().map(|s| s.id).collect())
    }

    /// Up to `limit` reports on `subject`, newest first.
    ///
    /// # Errors
    /// [`EngineError::Unavailable`].
    pub async fn reports_on(
        &self,
        subject: hongbao_core::UserId,
        limit: u32,
    ) -> Result<Vec<hongbao_core::case::Report>, EngineError> {
        Ok(self.store().reports_on(subject, limit).await?)
    }

    /// Up to `limit` cases of `status` and `kind`, newest opened first (the officers' queue).
    ///
    /// # Errors
    /// [`EngineError::Unavailable`].
    pub async fn cases(
        &self,
        status: Option<hongbao_core::case::CaseStatus>,
        kind: Option<hongbao_core::case::CaseKind>,
        limit: u32,
    ) -> Result<Vec<hongbao_core::case::Case>, EngineError> {
        Ok(self.store().cases(status, kind, limit).await?)
    }

    /// Up to `limit` log entries from index `start`.
    ///
    /// # Errors
    /// [`EngineError::Unavailable`].
    pub async fn log_entries(&self, start: u64, limit: u32) -> Result<Vec<LogRow>, EngineError> {
        Ok(self.store().log_entries(start, limit).await?)
    }

    /// The first `limit` log entries about `packet`, in log order.
    ///
    /// # Errors
    /// [`EngineError::Unavailable`].
    pub async fn log_entries_of_packet(&self, packet: PacketId, limit: u32) -> Result<Vec<LogRow>, EngineError> {
        Ok(self.store().log_entries_of_packet(packet, limit).await?)
    }

    /// Reads into this node's tree the entries up to `size` that another node appended, so
    /// that proofs up to `size` can be made.
    ///
    /// # Errors
    /// [`EngineError::Audit`] when the log is off; [`EngineError::Unavailable`].
    pub async fn catch_up_log(&self, size: u64) -> Result<(), EngineError> {
        let audit = self.audit().ok_or(EngineError::Audit(AuditError::Disabled))?;
        Ok(audit.catch_up(self.store().as_ref(), size).await?)
    }

    /// Whether the store opens a read within `wait`.
    pub async fn store_answers(&self, wait: Duration) -> bool {
        matches!(tokio::time::timeout(wait, self.store().read()).await, Ok(Ok(_)))
    }

    /// On a store shared by several nodes, the writer that records signed requests' nonces in
    /// groups before they are served (its queue holds `capacity`); `None` on a store with one
    /// writer, where nonces ride in the engine's own commits.
    #[must_use]
    pub fn nonce_writer(&self, capacity: usize) -> Option<NonceWriter> {
        self.store().shared().then(|| NonceWriter::start(self.store().clone(), capacity))
    }
}
