//! The transparency log's live state: the Merkle tree of every entry, the signing key, and the
//! checkpoints.
//!
//! Entries are appended by the writer in the same transaction as the changes they record; the
//! tree in memory grows only after that transaction committed. At start the tree is rebuilt
//! from the stored entries and compared with the latest signed checkpoint: if they disagree,
//! someone edited, deleted or reordered entries, and the log is marked corrupt — it then signs
//! no checkpoint and issues no receipt until an operator has looked (`hongbao check` says what).

use std::sync::{Mutex, PoisonError, RwLock};

use ed25519_dalek::SigningKey;
use hongbao_audit::note::{self, Checkpoint, Verifier};
use hongbao_audit::{Hash, Tree, leaf_hash};
use hongbao_core::Timestamp;
use hongbao_core::log::{LogRecord, encode};
use hongbao_store::{CheckpointRow, LogRow, Store, StoreError};

/// Entries read per query while loading the tree.
const LOAD_PAGE: u32 = 10_000;

/// How the log signs.
#[derive(Clone)]
pub struct AuditConfig {
    /// The log's name: the origin line of its checkpoints and the name of its key.
    pub origin: String,
    pub signing_key: SigningKey,
}

impl std::fmt::Debug for AuditConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The signing key never reaches a log line.
        f.debug_struct("AuditConfig").field("origin", &self.origin).finish_non_exhaustive()
    }
}

/// Why the log cannot answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// The stored entries do not match what the log signed: see `hongbao check`.
    #[error("the transparency log does not match its signed checkpoint: {0}")]
    Corrupt(String),
    /// An index or size outside the log.
    #[error("{0}")]
    OutOfRange(String),
    /// The server runs without a transparency log.
    #[error("the transparency log is not enabled on this server")]
    Disabled,
}

/// The log: see the module documentation.
pub struct Audit {
    origin: String,
    key: SigningKey,
    verifier: Verifier,
    tree: RwLock<Tree>,
    corrupt: RwLock<Option<String>>,
    /// The size of the latest signed checkpoint.
    signed: Mutex<u64>,
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audit").field("origin", &self.origin).field("size", &self.size()).finish_non_exhaustive()
    }
}

impl Audit {
    /// Rebuilds the tree from `store` and checks it against the latest checkpoint.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read or the origin is not a valid key name.
    pub async fn load(store: &dyn Store, config: AuditConfig) -> Result<Audit, StoreError> {
        let vkey = note::vkey(&config.origin, &config.signing_key.verifying_key());
        let verifier = Verifier::parse(&vkey).map_err(|e| StoreError::Corrupt(format!("log origin: {e}")))?;
        let audit = Audit {
            origin: config.origin,
            key: config.signing_key,
            verifier,
            tree: RwLock::new(Tree::new()),
            corrupt: RwLock::new(None),
            signed: Mutex::new(0),
        };
        if let Err(why) = audit.catch_up(store, u64::MAX).await {
            // A gap: entries were deleted. Serve on, but never vouch for this log again.
            tracing::error!(%why, "the transparency log has a gap");
            *audit.corrupt.write().unwrap_or_else(PoisonError::into_inner) = Some(why.to_string());
            return Ok(audit);
        }
        if let Some(latest) = store.latest_checkpoint().await? {
            match audit.matches(&latest) {
                Ok(()) => *audit.signed.lock().unwrap_or_else(PoisonError::into_inner) = latest.size,
                Err(why) => {
                    tracing::error!(%why, "the transparency log does not match its latest checkpoint");
                    *audit.corrupt.write().unwrap_or_else(PoisonError::into_inner) = Some(why);
                }
            }
        }
        Ok(audit)
    }

    /// Whether the stored checkpoint is one this key signed over the tree as it is now.
    fn matches(&self, checkpoint: &CheckpointRow) -> Result<(), String> {
        let opened =
            note::open(&checkpoint.note, &self.verifier).map_err(|e| format!("checkpoint {}: {e}", checkpoint.size))?;
        if opened.size != checkpoint.size {
            return Err(format!("checkpoint stored at size {} says size {}", checkpoint.size, opened.size));
        }
        let tree = self.tree.read().unwrap_or_else(PoisonError::into_inner);
        let root = tree.root_at(opened.size).map_err(|e| format!("checkpoint of size {}: {e}", opened.size))?;
        if root != opened.root {
            return Err(format!("the stored entries hash to another root at size {} than the signed one", opened.size));
        }
        Ok(())
    }

    /// Reads stored entries the tree does not have yet, up to `size` (appended by this node
    /// before a restart, or by another node on a shared database).
    ///
    /// # Errors
    /// [`StoreError`] when reading fails or the entries are not contiguous.
    pub async fn catch_up(&self, store: &dyn Store, size: u64) -> Result<(), StoreError> {
        loop {
            let have = self.size();
            // A corrupt log's tree is not extended: it is not trusted for anything any more.
            if have >= size || self.corrupt().is_some() {
                return Ok(());
            }
            let page = store.log_entries(have, LOAD_PAGE).await?;
            if page.is_empty() {
                // Asked beyond the end: the proofs then say what is out of range.
                return Ok(());
            }
            let mut tree = self.tree.write().unwrap_or_else(PoisonError::into_inner);
            for row in page {
                if row.index != tree.len() {
                    return Err(StoreError::Corrupt(format!("log entry {} follows entry {}", row.index, tree.len())));
                }
                tree.push(leaf_hash(&row.entry));
            }
        }
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The verifier key, in the Go signed-note format.
    pub fn vkey(&self) -> String {
        note::vkey(&self.origin, &self.key.verifying_key())
    }

    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Entries in the tree (committed entries).
    pub fn size(&self) -> u64 {
        self.tree.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Why the log may not be trusted, if it may not.
    pub fn corrupt(&self) -> Option<String> {
        self.corrupt.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn ensure_sound(&self) -> Result<(), AuditError> {
        match self.corrupt() {
            Some(why) => Err(AuditError::Corrupt(why)),
            None => Ok(()),
        }
    }

    /// The rows for `records`, numbered from 0: an entry's bytes do not depend on where it
    /// lands, and the commit moves the rows to the end of the stored log.
    pub fn rows(records: &[LogRecord]) -> Vec<LogRow> {
        records
            .iter()
            .zip(0..)
            .map(|(record, index)| LogRow {
                index,
                entry: encode(record),
                transfer_id: record.transfer_id(),
                packet_id: record.packet_id(),
            })
            .collect()
    }

    /// Adds the leaves of committed entries `first..` to the tree.
    pub(crate) fn extend(&self, first: u64, leaves: &[Hash]) {
        let mut tree = self.tree.write().unwrap_or_else(PoisonError::into_inner);
        // The leaves come from the commit that just succeeded, which continued the stored log;
        // anything else is a bug, marked rather than trusted.
        if first != tree.len() {
            tracing::error!(first, size = tree.len(), "committed log entries do not continue the tree");
            drop(tree);
            *self.corrupt.write().unwrap_or_else(PoisonError::into_inner) =
                Some(format!("entries from {first} were committed out of order"));
            return;
        }
        for leaf in leaves {
            tree.push(*leaf);
        }
    }

    /// A signed checkpoint of the whole tree, when it has grown since the last one.
    pub(crate) fn next_checkpoint(&self, now: Timestamp) -> Option<CheckpointRow> {
        if self.corrupt().is_some() {
            return None;
        }
        let tree = self.tree.read().unwrap_or_else(PoisonError::into_inner);
        let size = tree.len();
        if size <= *self.signed.lock().unwrap_or_else(PoisonError::into_inner) {
            return None;
        }
        let root = tree.root_at(size).ok()?;
        let checkpoint = Checkpoint { origin: self.origin.clone(), size, root };
        Some(CheckpointRow { size, note: note::sign(&checkpoint, &self.origin, &self.key), created_at: now })
    }

    /// Records that `size` was durably signed.
    pub(crate) fn signed(&self, size: u64) {
        let mut signed = self.signed.lock().unwrap_or_else(PoisonError::into_inner);
        *signed = (*signed).max(size);
    }

    /// The size of the latest signed checkpoint.
    pub fn signed_size(&self) -> u64 {
        *self.signed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The inclusion proof of entry `index` in the tree of `size`.
    ///
    /// # Errors
    /// [`AuditError`].
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, AuditError> {
        self.ensure_sound()?;
        let tree = self.tree.read().unwrap_or_else(PoisonError::into_inner);
        tree.inclusion_proof(index, size).map_err(|e| AuditError::OutOfRange(e.to_string()))
    }

    /// The consistency proof from the tree of `old` to the tree of `new`.
    ///
    /// # Errors
    /// [`AuditError`].
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, AuditError> {
        self.ensure_sound()?;
        let tree = self.tree.read().unwrap_or_else(PoisonError::into_inner);
        tree.consistency_proof(old, new).map_err(|e| AuditError::OutOfRange(e.to_string()))
    }
}
