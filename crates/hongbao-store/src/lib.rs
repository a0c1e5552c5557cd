//! The storage boundary: what the engine needs from a database, as one trait.
//!
//! A store remembers; it never decides. It loads the entities the core asks for
//! ([`hongbao_core::Key`] → [`hongbao_core::Fact`]), writes the [`hongbao_core::Changes`] a batch
//! of commands decided (the schedule of due work among them, see [`deadlines`]), together with
//! the idempotency records, the transparency-log entries and
//! the checkpoint of that batch, in **one** transaction ([`Commit`]), and answers the read-only
//! queries of the API. Every backend passes the same contract suite (`contract`, compiled only
//! with the feature `contract`, which the backends' tests enable), so the engine behaves the
//! same on each. With the feature `mem`, [`mem::MemStore`] is a faithful
//! in-memory store with fault injection, for simulations and tests.
//!
//! **Boundary:** nothing here knows a money rule. A store never computes a balance, never
//! checks a limit and never chooses an id. It does not encode, hash or sign log entries either
//! (the engine does): it keeps their bytes, and refuses an append that does not continue the
//! stored log exactly or a checkpoint that does not fit it.

use std::sync::Arc;

use async_trait::async_trait;
use hongbao_core::case::{Case, CaseKind, CaseStatus, Report};
use hongbao_core::due::DueItem;
use hongbao_core::event::Event;
use hongbao_core::evidence::EvidenceFile;
use hongbao_core::freeze::{Freeze, FreezeStatus};
use hongbao_core::ledger::{PendingStatus, TransferKind};
use hongbao_core::returns::{ReturnRequest, ReturnRole};
use hongbao_core::risk::FreezeKind;
use hongbao_core::seizure::{Seizure, SeizureStatus};
use hongbao_core::{
    AccountId, Changes, ClaimId, EvidenceId, Fact, Fen, Key, KeyId, PacketId, ReturnRequestId, Timestamp, TransferId,
};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

pub mod append;
pub mod assemble;
mod column_lists;
pub mod columns;
#[cfg(feature = "contract")]
pub mod contract;
pub mod deadlines;
pub mod loaded;
#[cfg(any(test, feature = "mem"))]
pub mod mem;

/// A storage failure. The batch it happened in is rolled back; nothing was acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or refused the write (disk full, read-only, down).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The stored data breaks an assumption (a row that must exist does not, a bad value).
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// Another writer sharing the database changed the same rows at the same time: a duplicate
    /// key from a race, a serialization failure or a deadlock. Only a shared store (several
    /// nodes over one database) reports it; an embedded store has one writer and never does.
    /// Nothing of the batch was written, and trying it again may succeed: treat it like
    /// [`StoreError::Unavailable`], never as a sign of damage.
    #[error("a concurrent write conflicted: {0}")]
    Conflict(String),
}

/// The stored answer to a request made with an `Idempotency-Key`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// Who made the request (the key id of the signing principal).
    pub principal: String,
    /// The client's key, 1–255 printable ASCII characters.
    pub key: String,
    /// SHA-256 of the request, so that the same key with another request is recognised.
    pub fingerprint: [u8; 32],
    /// The answer, as JSON, returned again for a repeat of the same request.
    pub outcome: String,
    pub created_at: Timestamp,
}

/// One line of a user's history: a transfer that moved money in or out of their wallet.
/// Transfers that only resolve a pending one are not shown; the pending one carries the status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryItem {
    pub transfer_id: TransferId,
    pub amount: Fen,
    /// `true` when money came into the wallet.
    pub incoming: bool,
    pub kind: TransferKind,
    /// `None` for a transfer posted at once.
    pub pending: Option<PendingStatus>,
    pub packet_id: Option<PacketId>,
    pub claim_id: Option<ClaimId>,
    pub note: Option<String>,
    pub created_at: Timestamp,
}

/// Everything a store holds, for the invariant check.
#[derive(Clone, Debug, Default)]
pub struct Dump {
    /// Every entity: users, accounts, groups, packets, claims, pending records, transfers and
    /// principals.
    pub facts: Vec<Fact>,
    pub idempotency: Vec<IdempotencyRecord>,
    /// Every stored event, in the order it was stored.
    pub events: Vec<Event>,
    /// Every transparency-log entry, by index.
    pub log: Vec<LogRow>,
    /// Every signed checkpoint, by size.
    pub checkpoints: Vec<CheckpointRow>,
    /// The schedule of due work, oldest first.
    pub deadlines: Vec<DueItem>,
}

/// One entry of the transparency log, at its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRow {
    /// Zero-based, contiguous: the entries of a log of size n are 0..n.
    pub index: u64,
    /// The entry's exact bytes (see `hongbao_core::log`): what the leaf hash is computed from.
    pub entry: Vec<u8>,
    /// The transfer the entry records, if it records one (for receipts).
    pub transfer_id: Option<TransferId>,
    /// The packet the entry is about, if any (for fairness proofs).
    pub packet_id: Option<PacketId>,
}

/// A signed checkpoint of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointRow {
    pub size: u64,
    /// The whole signed note, exactly as signed.
    pub note: String,
    pub created_at: Timestamp,
}

/// One nonce to remember, for [`Store::remember_nonces`] and [`Commit::nonces`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NonceRecord {
    pub key: KeyId,
    /// The nonce's 16-byte digest.
    pub digest: [u8; 16],
    /// When the record may be forgotten (Unix seconds).
    pub expires_at_s: i64,
}

/// `nonces` with each `(key, digest)` once, at the latest of its expiries, in a stable order:
/// what a store writes for [`Commit::nonces`] (PostgreSQL refuses an upsert that meets the same
/// row twice in one statement).
#[must_use]
pub fn distinct_nonces(nonces: &[NonceRecord]) -> Vec<NonceRecord> {
    let mut sorted = nonces.to_vec();
    sorted.sort_unstable_by(|a, b| (a.key, a.digest).cmp(&(b.key, b.digest)).then(b.expires_at_s.cmp(&a.expires_at_s)));
    sorted.dedup_by(|later, first| (later.key, later.digest) == (first.key, first.digest));
    sorted
}

/// Everything one batch writes, atomically.
#[derive(Clone, Debug, Default)]
pub struct Commit {
    pub changes: Changes,
    pub idempotency: Vec<IdempotencyRecord>,
    /// Nonces of the signed requests the batch answers, remembered in the same transaction as
    /// their effects: a request whose effect is stored is refused as a replay after any restart.
    /// A nonce already stored gets the later of the two expiries.
    pub nonces: Vec<NonceRecord>,
    /// Entries appended to the log, with contiguous indexes from the log's current size.
    pub log: Vec<LogRow>,
    /// A newly signed checkpoint.
    pub checkpoint: Option<CheckpointRow>,
    /// Told once every row of the commit is written and only making it durable remains (on
    /// SQLite, just before `COMMIT` and its flush), so that a pipelining writer can close the
    /// next batch and have it ready the moment this one lands. The commit may still fail after
    /// it. A store need not tell it: the writer then waits for the commit to land.
    pub written: Option<Arc<Notify>>,
}

/// Reads inside one consistent snapshot.
#[async_trait]
pub trait ReadTx: Send {
    /// Loads what each key names; the answer has one fact per key, in any order.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails.
    async fn load(&mut self, keys: &[Key]) -> Result<Vec<Fact>, StoreError>;

    /// The stored idempotency records for these `(principal, key)` pairs, where they exist.
    /// Inside a write transaction on a shared database the keys are locked first, so the same
    /// request arriving at two nodes is decided once.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails.
    async fn idempotency(&mut self, keys: &[(String, String)]) -> Result<Vec<IdempotencyRecord>, StoreError>;
}

/// The one write transaction of a batch. Dropping it without `commit` rolls it back.
#[async_trait]
pub trait WriteTx: ReadTx {
    /// Up to `limit` items of the schedule due at `now` (every kind together), oldest first.
    /// On a shared database, items another transaction is working on are skipped.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails or a row does not decode.
    async fn due(&mut self, now: Timestamp, limit: u32) -> Result<Vec<DueItem>, StoreError>;

    /// Writes the changes, the new idempotency records, the log entries and the checkpoint, and
    /// commits, atomically.
    ///
    /// The log entries must continue the stored log exactly: the first at index
    /// [`WriteTx::log_size`], the next one after it, and so on. A checkpoint must be larger than
    /// every stored one and no larger than the log after the append.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when a row breaks a constraint, or the log entries or the checkpoint
    /// do not fit the stored log; [`StoreError::Conflict`] on a shared database when another
    /// writer raced this one (then the same batch may succeed if tried again); [`StoreError`] when
    /// anything else fails. Either way nothing was written.
    async fn commit(self: Box<Self>, commit: Commit) -> Result<(), StoreError>;

    /// Ends the transaction without writing anything. Dropping it does the same, but may cost
    /// more (a store may close the connection to be sure); the engine rolls back explicitly on
    /// its common path, a batch that had nothing to write.
    async fn rollback(self: Box<Self>) {}

    /// The number of entries in the transparency log, as this transaction sees it. On a shared
    /// database this also takes the log's lock, so appends from several writers stay in order.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails.
    async fn log_size(&mut self) -> Result<u64, StoreError>;
}

/// A database holding hongbao's state. See the crate documentation.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A short name for reports: `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// The durability setting in force, in words (for benchmarks and `check`).
    fn durability(&self) -> String;

    /// Begins the write transaction of a batch. Only one is open at a time per engine.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails.
    async fn write(&self) -> Result<Box<dyn WriteTx>, StoreError>;

    /// Begins a read-only snapshot.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails.
    async fn read(&self) -> Result<Box<dyn ReadTx>, StoreError>;

    /// A wallet's history, newest first: at most `limit` items older than `before`.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails.
    async fn history(
        &self,
        account: AccountId,
        before: Option<TransferId>,
        limit: u32,
    ) -> Result<Vec<HistoryItem>, StoreError>;

    /// Everything stored, for `hongbao check`.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails or a row cannot be decoded.
    async fn dump(&self) -> Result<Dump, StoreError>;

    /// Whether any operator principal exists. Start-up asks this to decide whether to create
    /// the first (`root`) operator; a user's key does not count.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails.
    async fn has_operator(&self) -> Result<bool, StoreError>;

    /// Log entries from `start`, at most `limit`, in index order.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails.
    async fn log_entries(&self, start: u64, limit: u32) -> Result<Vec<LogRow>, StoreError>;

    /// The log index of the entry recording `transfer`.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails.
    async fn log_index_of(&self, transfer: TransferId) -> Result<Option<u64>, StoreError>;

    /// The entries about `packet`, in index order, at most `limit`.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails.
    async fn log_entries_of_packet(&self, packet: PacketId, limit: u32) -> Result<Vec<LogRow>, StoreError>;

    /// The checkpoint of the largest size.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails.
    async fn latest_checkpoint(&self) -> Result<Option<CheckpointRow>, StoreError>;

    /// Whether several nodes may share this store (then nonces, the development clock and the
    /// log's key must live in it, not in one node's memory).
    fn shared(&self) -> bool {
        false
    }

    /// Records that `key` used a nonce (given as a 16-byte digest); `false` if it was already
    /// recorded and has not expired: a replay. `expires_at_s` is when the record may be forgotten
    /// (Unix seconds). A record lives while `now_s < expires_at_s`; a nonce whose record has
    /// expired is accepted again and remembered with its new expiry. Atomic: of several callers
    /// racing with the same nonce, one gets `true`.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails.
    async fn remember_nonce(
        &self,
        key: KeyId,
        digest: [u8; 16],
        expires_at_s: i64,
        now_s: i64,
    ) -> Result<bool, StoreError>;

    /// [`Store::remember_nonce`] for a request whose outcome is made durable by a later commit
    /// of the engine, or that has no outcome to protect: a read, or a request with an
    /// idempotency key (the engine commits its record, a refusal included, after this call).
    /// The record need not reach the disk by itself: any later durable commit on the same
    /// database carries it there, since a database's log is flushed in order. A store whose
    /// every commit is a flush (PostgreSQL) may then skip this one's; the default is
    /// [`Store::remember_nonce`].
    ///
    /// # Errors
    /// [`StoreError`] when the database fails.
    async fn remember_nonce_covered(
        &self,
        key: KeyId,
        digest: [u8; 16],
        expires_at_s: i64,
        now_s: i64,
    ) -> Result<bool, StoreError> {
        self.remember_nonce(key, digest, expires_at_s, now_s).await
    }

    /// [`Store::remember_nonce`] (or, when `covered`, [`Store::remember_nonce_covered`]) for
    /// several nonces at `now_s`, as one transaction where the store has them: whether each was
    /// fresh, in the order given. A nonce given twice is fresh at most the first time. The
    /// default asks one at a time.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails; then none of them may be taken as fresh.
    async fn remember_nonces(
        &self,
        nonces: &[NonceRecord],
        now_s: i64,
        covered: bool,
    ) -> Result<Vec<bool>, StoreError> {
        let mut fresh = Vec::with_capacity(nonces.len());
        for n in nonces {
            fresh.push(if covered {
                self.remember_nonce_covered(n.key, n.digest, n.expires_at_s, now_s).await?
            } else {
                self.remember_nonce(n.key, n.digest, n.expires_at_s, now_s).await?
            });
        }
        Ok(fresh)
    }

    /// The nonce records that live at `now_s` (`now_s < expires_at_s`), at most `limit`, soonest
    /// to expire first: what a node that keeps its nonces in memory loads when it starts.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails.
    async fn live_nonces(&self, now_s: i64, limit: u32) -> Result<Vec<NonceRecord>, StoreError>;

    /// Deletes nonce records that expired before `before_s`, at most `limit`; returns how many.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails.
    async fn forget_nonces(&self, before_s: i64, limit: u32) -> Result<u64, StoreError>;

    /// The development clock's offset from real time, in milliseconds (0 until moved). Kept in
    /// the database so every node sees the same business time.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails.
    async fn dev_clock_offset(&self) -> Result<i64, StoreError>;

    /// Moves the development clock forward by `by_ms` (never back) and answers the new offset.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when `by_ms` is negative or the offset would pass `i64::MAX` (a
    /// caller's mistake: nothing changes); [`StoreError`] when the database fails.
    async fn advance_dev_clock(&self, by_ms: i64) -> Result<i64, StoreError>;

    /// The log's verifier key (`name+keyid+base64`): the first call stores `proposed` and every
    /// later call answers what was stored, so every node can check it signs with the same key.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails.
    async fn log_key(&self, proposed: &str) -> Result<String, StoreError>;

    /// Principals whose stored secret does not start with `sealed_prefix`, at most `limit`, with
    /// the secret as stored: the keys an older version stored in the clear, to be sealed
    /// ([`Store::replace_secrets`]). The store does not know what sealing is; it compares text.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails.
    async fn secrets_not_starting_with(
        &self,
        sealed_prefix: &str,
        limit: u32,
    ) -> Result<Vec<(KeyId, String)>, StoreError>;

    /// One principal whose stored secret starts with `sealed_prefix`, if any, so that a node can
    /// check it holds the key the database's secrets were sealed with.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails.
    async fn secret_starting_with(&self, sealed_prefix: &str) -> Result<Option<(KeyId, String)>, StoreError>;

    /// For each `(key, old, new)`, replaces the stored secret of `key` by `new` if it is still
    /// `old` (so that two nodes sealing at once cannot undo each other); answers how many were
    /// replaced. The old value must not remain readable in the database's files afterwards,
    /// where the store can see to it (SQLite: its freed pages are zeroed and its WAL truncated).
    ///
    /// # Errors
    /// [`StoreError`] when the database fails.
    async fn replace_secrets(&self, replaced: &[(KeyId, String, String)]) -> Result<u64, StoreError>;

    /// Keeps an evidence file, once and for good, and answers the id and creation time it is
    /// stored under: the file's own, or those of the file the same uploader already stored with
    /// the same bytes and content type (an upload sent again is the same file). Written at once and durably,
    /// outside any batch: no entity refers to a file before it is stored.
    ///
    /// # Errors
    /// [`StoreError`] when another file has this id (a constraint, as in a commit) or the
    /// database fails; nothing is stored then.
    async fn put_evidence(&self, file: &EvidenceFile) -> Result<(EvidenceId, Timestamp), StoreError>;

    /// The evidence file stored under `id`, if any.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when its bytes no longer match its SHA-256; [`StoreError`] when
    /// the database fails.
    async fn evidence(&self, id: EvidenceId) -> Result<Option<EvidenceFile>, StoreError>;

    /// Whether a registered document or a report cites the evidence file `id`: then the officers
    /// who work on them may read it.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails.
    async fn evidence_cited(&self, id: EvidenceId) -> Result<bool, StoreError>;

    /// The freezes of `status` and `kind` (any with `None`), newest placed first, at most
    /// `limit`: what officers list across users.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails or a row does not decode.
    async fn freezes(
        &self,
        status: Option<FreezeStatus>,
        kind: Option<FreezeKind>,
        limit: u32,
    ) -> Result<Vec<Freeze>, StoreError>;

    /// The forced transfers of `status` (every status with `None`), newest proposed first, at
    /// most `limit`: the approvals inbox.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails or a row does not decode.
    async fn seizures(&self, status: Option<SeizureStatus>, limit: u32) -> Result<Vec<Seizure>, StoreError>;

    /// The reports on `subject`, open and closed, newest first, at most `limit`.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails or a row does not decode.
    async fn reports_on(&self, subject: hongbao_core::UserId, limit: u32) -> Result<Vec<Report>, StoreError>;

    /// The cases of `status` and `kind` (any with `None`), newest opened first, at most `limit`:
    /// the officers' queue.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails or a row does not decode.
    async fn cases(
        &self,
        status: Option<CaseStatus>,
        kind: Option<CaseKind>,
        limit: u32,
    ) -> Result<Vec<Case>, StoreError>;

    /// The return requests in which `user` is the `role` (any of the three with `None`), newest
    /// first, only those older than `before` when given (the cursor of a page), at most `limit`.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails or a row does not decode.
    async fn return_requests_of(
        &self,
        user: hongbao_core::UserId,
        role: Option<ReturnRole>,
        before: Option<ReturnRequestId>,
        limit: u32,
    ) -> Result<Vec<ReturnRequest>, StoreError>;

    /// Deletes idempotency records created before `before`, at most `limit`; returns how many.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails.
    async fn purge_idempotency(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError>;
}
