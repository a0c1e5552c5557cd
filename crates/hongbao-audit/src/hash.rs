//! RFC 6962 / RFC 9162 §2.1 hashing: the only three hash shapes a Merkle log ever computes.

use sha2::{Digest, Sha256};

/// A SHA-256 output: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// Domain separation prefix of a leaf: without it a leaf could be passed off as an interior
/// node whose children concatenate to the same bytes (RFC 9162 §2.1.1, second preimages).
const LEAF_PREFIX: u8 = 0x00;
/// Domain separation prefix of an interior node.
const NODE_PREFIX: u8 = 0x01;

/// The hash of one log entry: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    Sha256::new().chain_update([LEAF_PREFIX]).chain_update(data).finalize().into()
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    // One contiguous buffer and one call: this is the hot path of every proof.
    let mut input = [0u8; 65];
    input[0] = NODE_PREFIX;
    input[1..33].copy_from_slice(left);
    input[33..].copy_from_slice(right);
    Sha256::digest(input).into()
}

/// The root of the empty tree: the SHA-256 of no bytes at all (`MTH({}) = SHA-256()`).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_the_sha256_of_nothing() {
        // The well-known SHA-256 of the empty string.
        let expected = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(hex(&empty_root()), expected);
    }

    #[test]
    fn leaf_and_node_hashes_are_domain_separated() {
        let left = leaf_hash(b"a");
        let right = leaf_hash(b"b");
        let mut concatenated = Vec::from(left);
        concatenated.extend_from_slice(&right);
        assert_ne!(node_hash(&left, &right), leaf_hash(&concatenated));
        assert_ne!(node_hash(&left, &right), node_hash(&right, &left));
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
