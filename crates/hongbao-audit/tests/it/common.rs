//! Helpers shared by the integration tests.

use ed25519_dalek::SigningKey;
use hongbao_audit::note::Verifier;
use hongbao_audit::{Hash, Tree, empty_root, leaf_hash, node_hash};

/// The largest tree size the exhaustive tests walk.
pub const SIZE_MAX: u64 = 300;

/// The data of entry `i` in the test logs.
pub fn entry(i: u64) -> Vec<u8> {
    format!("red packet {i}").into_bytes()
}

/// A tree of the entries `0..size`.
pub fn tree_of(size: u64) -> Tree {
    let mut tree = Tree::new();
    for i in 0..size {
        tree.push(leaf_hash(&entry(i)));
    }
    tree
}

/// MTH straight from the recursive definition of RFC 9162 §2.1.1, with no shared code path
/// with `Tree`: split at the largest power of two strictly below the length.
pub fn naive_root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [leaf] => *leaf,
        _ => {
            let mut k = 1;
            while k * 2 < leaves.len() {
                k *= 2;
            }
            node_hash(&naive_root(&leaves[..k]), &naive_root(&leaves[k..]))
        }
    }
}

/// A deterministic signing key; tests need no randomness.
pub fn signing_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub fn verifier(name: &str, key: &SigningKey) -> Verifier {
    Verifier::new(name, key.verifying_key()).unwrap()
}

pub fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length");
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

pub fn hex32(text: &str) -> Hash {
    hex(text).try_into().unwrap()
}

/// The same hashes with one bit of hash `i` flipped.
pub fn with_flipped_bit(proof: &[Hash], i: usize) -> Vec<Hash> {
    let mut tampered = proof.to_vec();
    tampered[i][0] ^= 0x10;
    tampered
}
