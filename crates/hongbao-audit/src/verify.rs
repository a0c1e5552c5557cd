//! Proof verification exactly as RFC 9162 §2.1.3.2 and §2.1.4.2 state it.
//!
//! **Boundary:** nothing here looks at [`crate::Tree`]. A client holds only a root, a size and
//! a proof, so the verifiers are written from the RFC's bit-walking algorithms alone; the tests
//! then check the tree's proofs against them, which gives two independent paths to agree.

use crate::hash::{Hash, empty_root, node_hash};

/// Why a proof could not be produced or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree of that size (this includes every index of the
    /// empty tree).
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The index asked about.
        index: u64,
        /// The tree size it was asked about.
        size: u64,
    },
    /// The tree was asked about a size larger than the number of leaves it holds.
    #[error("tree size {size} exceeds the {len} leaves held")]
    SizeBeyondTree {
        /// The size asked about.
        size: u64,
        /// The number of leaves the tree holds.
        len: u64,
    },
    /// A consistency proof was asked for or checked from a larger tree to a smaller one.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    OldSizeAboveNew {
        /// The older (claimed prefix) size.
        old_size: u64,
        /// The newer size.
        new_size: u64,
    },
    /// The proof holds more hashes than the path from that position to the root has levels.
    #[error("proof has too many hashes ({len}) for this index and size")]
    ProofTooLong {
        /// The number of hashes in the proof.
        len: usize,
    },
    /// The proof ran out of hashes before reaching the root.
    #[error("proof has too few hashes ({len}) for this index and size")]
    ProofTooShort {
        /// The number of hashes in the proof.
        len: usize,
    },
    /// The inclusion proof is well-formed but does not lead to the expected root.
    #[error("proof does not lead to the expected root")]
    RootMismatch,
    /// The consistency proof is well-formed but does not rebuild the old root.
    #[error("proof does not lead to the old root")]
    OldRootMismatch,
    /// The consistency proof is well-formed but does not rebuild the new root.
    #[error("proof does not lead to the new root")]
    NewRootMismatch,
    /// Two different sizes need at least one hash to prove consistency (RFC 9162 §2.1.4.2 step 1).
    #[error("consistency proof between different non-zero sizes is empty")]
    EmptyProof,
    /// Equal sizes, or an empty old tree, are consistent without any proof; hashes sent anyway
    /// mean the sender and the verifier disagree about what is being proved.
    #[error("expected an empty proof for these sizes, got {len} hashes")]
    UnexpectedProof {
        /// The number of hashes in the proof.
        len: usize,
    },
    /// A tree of size 0 has exactly one root, `SHA-256()`.
    #[error("a tree of size 0 must have the empty root")]
    NotEmptyRoot,
    /// Two trees of the same size are consistent only when they are the same tree.
    #[error("trees of the same size have different roots")]
    SameSizeRootsDiffer,
}

/// Checks that `leaf` (a [`crate::leaf_hash`]) sits at `index` in the tree of `size` leaves whose
/// root is `root`, following RFC 9162 §2.1.3.2 step by step.
///
/// # Errors
///
/// [`ProofError::IndexOutOfRange`] when `index >= size`; [`ProofError::ProofTooLong`] or
/// [`ProofError::ProofTooShort`] when the proof's length does not fit the index and size;
/// [`ProofError::RootMismatch`] when the hashes do not lead to `root`.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    // Step 1.
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // Steps 2 and 3: `f` is the RFC's `fn`, a keyword here.
    let mut f = index;
    let mut s = size - 1;
    let mut r = *leaf;
    // Step 4.
    for p in proof {
        if s == 0 {
            return Err(ProofError::ProofTooLong { len: proof.len() });
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            // Skip the levels where this node has no right sibling: on the right edge of an
            // unbalanced tree a node is promoted unchanged.
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    // Step 5.
    if s != 0 {
        return Err(ProofError::ProofTooShort { len: proof.len() });
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a prefix of the tree of
/// `new_size` leaves with root `new_root`, following RFC 9162 §2.1.4.2 step by step.
///
/// The RFC's algorithm covers `0 < old_size < new_size`. The two edge cases are decided from the
/// definitions rather than left open: a tree is consistent with itself, so equal sizes need an
/// empty proof and equal roots; and the empty tree (whose only root is `SHA-256()`) is a prefix
/// of every tree, so `old_size == 0` needs an empty proof and that empty root.
///
/// # Errors
///
/// [`ProofError::OldSizeAboveNew`]; for the edge cases [`ProofError::UnexpectedProof`],
/// [`ProofError::NotEmptyRoot`] and [`ProofError::SameSizeRootsDiffer`]; otherwise
/// [`ProofError::EmptyProof`], [`ProofError::ProofTooLong`], [`ProofError::ProofTooShort`],
/// [`ProofError::OldRootMismatch`] or [`ProofError::NewRootMismatch`].
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::OldSizeAboveNew { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::UnexpectedProof { len: proof.len() });
        }
        if old_size == 0 && *old_root != empty_root() {
            return Err(ProofError::NotEmptyRoot);
        }
        if old_size == new_size && old_root != new_root {
            return Err(ProofError::SameSizeRootsDiffer);
        }
        return Ok(());
    }

    // Step 1.
    let Some((first, rest)) = proof.split_first() else {
        return Err(ProofError::EmptyProof);
    };
    // Step 2: when the old tree is a complete subtree its root is the path's first value, and the
    // proof leaves it out because the verifier already has it.
    let (start, path) = if old_size.is_power_of_two() { (old_root, proof) } else { (first, rest) };
    // Step 3.
    let mut f = old_size - 1;
    let mut s = new_size - 1;
    // Step 4.
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    // Step 5.
    let mut fr = *start;
    let mut sr = *start;
    // Step 6.
    for c in path {
        if s == 0 {
            return Err(ProofError::ProofTooLong { len: proof.len() });
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    // Step 7: `s` must be used up too, or a proof for one size could pass for another.
    if s != 0 {
        return Err(ProofError::ProofTooShort { len: proof.len() });
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(ProofError::NewRootMismatch);
    }
    Ok(())
}
