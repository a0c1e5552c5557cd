//! An in-memory, append-only Merkle tree that answers RFC 9162 §2.1 questions about any of its
//! prefixes.
//!
//! **Invariant:** `levels[k][j]` is the hash of the complete subtree of leaves
//! `[j * 2^k, (j + 1) * 2^k)`, and every such subtree that fits in the leaves pushed so far is
//! stored. Any range the RFC's recursions visit starts at a multiple of the smallest power of two
//! not below its length, so it splits into at most one stored subtree per bit of its length:
//! a root, a proof hash and a whole proof each cost O(log n) lookups and hashes.

use crate::hash::{Hash, empty_root, node_hash};
use crate::verify::ProofError;

/// An append-only Merkle tree of leaf hashes, kept whole in memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    /// Level 0 holds the leaf hashes; level `k` the hashes of aligned complete subtrees of `2^k`
    /// leaves.
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf hash (see [`crate::leaf_hash`]) and returns its index.
    ///
    /// Costs one hash per complete subtree the new leaf closes: amortised one, at most log n.
    pub fn push(&mut self, leaf_hash: Hash) -> u64 {
        let index = self.len();
        let mut level = 0;
        let mut hash = leaf_hash;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let row = &mut self.levels[level];
            row.push(hash);
            // A row of odd length ends with a subtree still waiting for its right sibling.
            if row.len() % 2 == 1 {
                return index;
            }
            hash = node_hash(&row[row.len() - 2], &row[row.len() - 1]);
            level += 1;
        }
    }

    /// The number of leaves.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| widen(leaves.len()))
    }

    /// Whether no leaf has been pushed yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The hash of leaf `index`, if it exists.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        let index = usize::try_from(index).ok()?;
        self.levels.first()?.get(index).copied()
    }

    /// The root of the whole tree (`SHA-256()` when empty).
    pub fn root(&self) -> Hash {
        self.range_hash(0, self.leaf_count())
    }

    /// The root of the tree made of the first `size` leaves.
    ///
    /// # Errors
    ///
    /// [`ProofError::SizeBeyondTree`] when `size > len()`.
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        let size = self.check_size(size)?;
        Ok(self.range_hash(0, size))
    }

    /// The inclusion proof of leaf `index` in the tree of the first `size` leaves: RFC 9162
    /// §2.1.3.1's `PATH(index, D[0:size])`, from the leaf's sibling up to the root's child.
    ///
    /// # Errors
    ///
    /// [`ProofError::SizeBeyondTree`] when `size > len()`; [`ProofError::IndexOutOfRange`] when
    /// `index >= size`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        let size_leaves = self.check_size(size)?;
        if index >= size {
            return Err(ProofError::IndexOutOfRange { index, size });
        }
        // `index < size <= len`, which is a `usize`.
        let mut m = narrow(index);
        let mut start = 0;
        let mut n = size_leaves;
        // Walk down from the root, collecting the sibling of each subtree that holds the leaf;
        // the RFC lists them from the bottom up, hence the reversal at the end.
        let mut top_down = Vec::new();
        while n > 1 {
            let k = split_point(n);
            if m < k {
                top_down.push(self.range_hash(start + k, start + n));
                n = k;
            } else {
                top_down.push(self.range_hash(start, start + k));
                start += k;
                m -= k;
                n -= k;
            }
        }
        top_down.reverse();
        Ok(top_down)
    }

    /// The consistency proof from the tree of the first `old_size` leaves to the tree of the first
    /// `new_size` leaves: RFC 9162 §2.1.4.1's `PROOF(old_size, D[0:new_size])`. It is empty when
    /// the sizes are equal or `old_size` is 0, where there is nothing to prove.
    ///
    /// # Errors
    ///
    /// [`ProofError::SizeBeyondTree`] when `new_size > len()`; [`ProofError::OldSizeAboveNew`]
    /// when `old_size > new_size`.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, ProofError> {
        let new_leaves = self.check_size(new_size)?;
        if old_size > new_size {
            return Err(ProofError::OldSizeAboveNew { old_size, new_size });
        }
        if old_size == 0 || old_size == new_size {
            return Ok(Vec::new());
        }
        // SUBPROOF(m, D[start:start+n], complete), unrolled. `complete` stays true while the old
        // tree is still a complete subtree of the one we are in: the verifier knows its hash
        // already, so it is not sent.
        let mut m = narrow(old_size);
        let mut start = 0;
        let mut n = new_leaves;
        let mut complete = true;
        let mut top_down = Vec::new();
        while m != n {
            let k = split_point(n);
            if m <= k {
                top_down.push(self.range_hash(start + k, start + n));
                n = k;
            } else {
                top_down.push(self.range_hash(start, start + k));
                start += k;
                m -= k;
                n -= k;
                complete = false;
            }
        }
        if !complete {
            top_down.push(self.range_hash(start, start + n));
        }
        top_down.reverse();
        Ok(top_down)
    }

    fn leaf_count(&self) -> usize {
        self.levels.first().map_or(0, Vec::len)
    }

    fn check_size(&self, size: u64) -> Result<usize, ProofError> {
        let len = self.len();
        if size > len {
            return Err(ProofError::SizeBeyondTree { size, len });
        }
        Ok(narrow(size))
    }

    /// `MTH(D[start:end])`, for a range whose start is aligned as the module invariant says.
    fn range_hash(&self, start: usize, end: usize) -> Hash {
        let n = end - start;
        if n == 0 {
            return empty_root();
        }
        debug_assert!(end <= self.leaf_count(), "range {start}..{end} is beyond the tree");
        debug_assert!(start.is_multiple_of(n.next_power_of_two()), "range {start}..{end} is not aligned");
        // The range is one stored subtree per set bit of `n`, largest first; MTH nests them to
        // the right: node(c1, node(c2, ... ck)), because each split takes the largest power of
        // two below the length, which is exactly the highest set bit.
        let mut acc: Option<Hash> = None;
        let mut remaining = n;
        while remaining != 0 {
            let level = remaining.trailing_zeros();
            let width = 1usize << level;
            remaining &= !width;
            // Subtrees are visited from the smallest, which sits at the right end.
            let offset = start + remaining;
            let subtree = self.levels[level as usize][offset >> level];
            acc = Some(match acc {
                None => subtree,
                Some(right) => node_hash(&subtree, &right),
            });
        }
        acc.unwrap_or_else(empty_root)
    }
}

/// The largest power of two strictly below `n`, for `n >= 2`: where RFC 9162 splits a tree.
fn split_point(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

fn widen(n: usize) -> u64 {
    // No target Rust supports has a `usize` wider than 64 bits.
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Converts a value already checked to be at most the tree's length, itself a `usize`.
fn narrow(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    #[test]
    fn split_point_is_the_largest_power_of_two_below() {
        let cases = [(2, 1), (3, 2), (4, 2), (5, 4), (8, 4), (9, 8), (300, 256), (1 << 40, 1 << 39)];
        for (n, k) in cases {
            assert_eq!(split_point(n), k, "n = {n}");
        }
    }

    #[test]
    fn levels_hold_every_complete_aligned_subtree() {
        let mut tree = Tree::new();
        for i in 0u32..37 {
            tree.push(leaf_hash(&i.to_be_bytes()));
        }
        let expected_row_lengths = [37, 18, 9, 4, 2, 1];
        let row_lengths: Vec<usize> = tree.levels.iter().map(Vec::len).collect();
        assert_eq!(row_lengths, expected_row_lengths);
        for (level, row) in tree.levels.iter().enumerate().skip(1) {
            for (j, hash) in row.iter().enumerate() {
                let below = &tree.levels[level - 1];
                assert_eq!(*hash, node_hash(&below[2 * j], &below[2 * j + 1]), "level {level} index {j}");
            }
        }
    }
}
