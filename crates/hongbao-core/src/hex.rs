//! Hex text of digests and keys: lowercase out, either case in.

use std::fmt::Write;

use crate::error::CoreError;

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// 32 bytes from exactly 64 lowercase hex digits (the canonical text, as logged).
pub fn unhex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// A SHA-256 a request gives: 64 hex digits, either case.
///
/// # Errors
/// [`CoreError::InvalidRequest`] naming the field `what`.
pub fn parse_sha256(what: &str, text: &str) -> Result<[u8; 32], CoreError> {
    unhex32(&text.to_ascii_lowercase())
        .ok_or_else(|| CoreError::invalid(format!("{what} must be 64 hex digits (a SHA-256)")))
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    #[test]
    fn sha256_text_round_trips_and_bad_text_is_refused() {
        let digest: [u8; 32] = Sha256::digest(b"x").into();
        assert_eq!(parse_sha256("sha256", &hex(&digest)), Ok(digest));
        assert_eq!(parse_sha256("sha256", &hex(&digest).to_uppercase()), Ok(digest));
        assert_eq!(unhex32(&hex(&digest).to_uppercase()), None);
        for bad in ["", "00", &"+f".repeat(32), &"g".repeat(64), &"é".repeat(32)] {
            assert!(parse_sha256("sha256", bad).is_err(), "{bad:?}");
        }
    }
}
