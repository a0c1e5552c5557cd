//! hongbao's tamper-evident transparency log, as pure functions: an append-only RFC 6962 Merkle
//! tree, its inclusion and consistency proofs, Ed25519-signed checkpoints in the C2SP
//! signed-note format, and the C2SP tlog-proof receipt that lets anyone check offline that an
//! entry was logged.
//!
//! The formats are the public ones so that other tools can check hongbao's log: hashing, proofs
//! and verification follow RFC 9162 §2.1 (the same tree as RFC 6962), checkpoints follow
//! c2sp.org/tlog-checkpoint and c2sp.org/signed-note, receipts follow c2sp.org/tlog-proof. The
//! verifiers are written from the RFC's algorithms alone, independently of [`Tree`], so a proof
//! that [`Tree`] produces is checked by a second path.
//!
//! It deliberately does no I/O, no async, reads no clock and owns no random number generator:
//! the log's storage, its signing key and when it signs are the caller's. [`Tree`] keeps every
//! hash in memory and is for building and testing; a persistent log stores the same per-level
//! hashes elsewhere. Witness cosignatures, tiles and key generation are out of scope.

pub mod note;
pub mod proof;

mod hash;
mod receipt;
mod tree;
mod verify;

pub use hash::{Hash, empty_root, leaf_hash, node_hash};
pub use receipt::{ReceiptError, Verified, verify_receipt};
pub use tree::Tree;
pub use verify::{ProofError, verify_consistency, verify_inclusion};

/// Parses ASCII decimal with no sign and no leading zero (except `0` itself) into a `u64`, the
/// form both checkpoints and proofs require; Rust's own parser would also take a leading `+`.
pub(crate) fn parse_decimal(text: &str) -> Option<u64> {
    let canonical = match text.as_bytes() {
        [] => false,
        [b'0'] => true,
        [b'0', ..] => false,
        digits => digits.iter().all(u8::is_ascii_digit),
    };
    if canonical { text.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::parse_decimal;

    #[test]
    fn decimals_parse_only_in_canonical_form() {
        assert_eq!(parse_decimal("0"), Some(0));
        assert_eq!(parse_decimal("10"), Some(10));
        assert_eq!(parse_decimal("18446744073709551615"), Some(u64::MAX));
        for bad in ["", "00", "01", "+1", "-1", " 1", "1 ", "1e3", "0x10", "18446744073709551616", "١"] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }
}
