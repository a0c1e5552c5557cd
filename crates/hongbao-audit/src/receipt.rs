//! Checking a tlog-proof receipt end to end: shape, signature, origin, index, inclusion.

use crate::hash::leaf_hash;
use crate::note::{self, Checkpoint, NoteError, Verifier};
use crate::proof::{self, ProofTextError};
use crate::verify::{ProofError, verify_inclusion};

/// A receipt that checked out: the entry is at `index` in the tree `checkpoint` describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The entry's zero-based index in the log.
    pub index: u64,
    /// The signed checkpoint the entry was proven against.
    pub checkpoint: Checkpoint,
}

/// Why a receipt was refused, naming the first check that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The text is not a well-formed tlog-proof.
    #[error("malformed proof text: {0}")]
    Malformed(#[from] ProofTextError),
    /// The checkpoint note is malformed, not signed by the log's key, badly signed, or not a
    /// checkpoint.
    #[error("checkpoint refused: {0}")]
    Checkpoint(#[from] NoteError),
    /// The checkpoint is validly signed but for another log.
    #[error("checkpoint origin {origin:?} is not the log key's name {key_name:?}")]
    OriginMismatch {
        /// The origin line of the checkpoint.
        origin: String,
        /// The name of the log's key.
        key_name: String,
    },
    /// The entry's index is not inside the checkpointed tree.
    #[error("entry index {index} is not below checkpoint size {size}")]
    IndexOutOfRange {
        /// The index the proof claims.
        index: u64,
        /// The checkpoint's tree size.
        size: u64,
    },
    /// The hashes do not prove this entry at this index under the checkpoint's root.
    #[error("inclusion proof failed: {0}")]
    NotIncluded(ProofError),
}

/// Checks that `entry` is in the log whose key is `verifier`, as the tlog-proof `proof_text`
/// claims: the text must parse, its checkpoint must be signed by `verifier` with an origin equal
/// to the key's name, the index must be inside the tree, and `leaf_hash(entry)` must lead to the
/// checkpoint's root along the proof's hashes.
///
/// The proof's `extra` data is not returned: nothing authenticates it.
///
/// # Errors
///
/// [`ReceiptError::Malformed`], [`ReceiptError::Checkpoint`], [`ReceiptError::OriginMismatch`],
/// [`ReceiptError::IndexOutOfRange`] or [`ReceiptError::NotIncluded`], in the order checked.
pub fn verify_receipt(entry: &[u8], proof_text: &str, verifier: &Verifier) -> Result<Verified, ReceiptError> {
    let proof = proof::parse(proof_text)?;
    let checkpoint = note::open(&proof.checkpoint, verifier)?;
    if checkpoint.origin != verifier.name() {
        return Err(ReceiptError::OriginMismatch { origin: checkpoint.origin, key_name: verifier.name().to_owned() });
    }
    if proof.index >= checkpoint.size {
        return Err(ReceiptError::IndexOutOfRange { index: proof.index, size: checkpoint.size });
    }
    verify_inclusion(&leaf_hash(entry), proof.index, checkpoint.size, &proof.hashes, &checkpoint.root)
        .map_err(ReceiptError::NotIncluded)?;
    Ok(Verified { index: proof.index, checkpoint })
}
