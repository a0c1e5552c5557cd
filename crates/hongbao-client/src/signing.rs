//! Request signing as docs/API.md defines it, shared by the client (to sign) and the server (to
//! verify), so that both sides run exactly the same code.
//!
//! A signed request carries a key id, a timestamp, a nonce and an HMAC-SHA256 of the
//! [canonical string](canonical_string). This module only computes and checks; it reads no
//! clock, draws no random numbers and keeps no state: the caller supplies the time, remembers
//! nonces and decides how far a timestamp may be off ([`TIMESTAMP_SKEW_MAX_S`] is the API's
//! number).

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The key id of the principal that signs.
pub const KEY_HEADER: &str = "X-Hongbao-Key";
/// Unix time in seconds, decimal.
pub const TIMESTAMP_HEADER: &str = "X-Hongbao-Timestamp";
/// A fresh value per request; see [`is_valid_nonce`].
pub const NONCE_HEADER: &str = "X-Hongbao-Nonce";
/// Lowercase hex HMAC-SHA256 of the canonical string.
pub const SIGNATURE_HEADER: &str = "X-Hongbao-Signature";
/// Makes a POST safe to repeat; see [`is_valid_idempotency_key`].
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// How far a request's timestamp may be from the server's real clock, in either direction.
pub const TIMESTAMP_SKEW_MAX_S: i64 = 300;
pub const NONCE_CHARS_MIN: usize = 16;
pub const NONCE_CHARS_MAX: usize = 64;
pub const IDEMPOTENCY_KEY_CHARS_MAX: usize = 255;

/// Bytes in an HMAC-SHA256 tag (64 hex digits).
const SIGNATURE_BYTES: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// The string that is signed: `method`, `path_and_query` exactly as sent (the query string
/// included, not re-encoded or re-ordered), `timestamp` and `nonce` exactly as in their
/// headers, and the lowercase hex SHA-256 of the raw `body` bytes (of no bytes when there is
/// no body), joined by `\n` without a trailing newline.
///
/// The server must pass the header values and the request target it received, not values it
/// parsed and printed again, or a signature over `0123` would not match one over `123`.
pub fn canonical_string(method: &str, path_and_query: &str, timestamp: &str, nonce: &str, body: &[u8]) -> String {
    let body_hash = body_sha256_hex(body);
    [method, path_and_query, timestamp, nonce, body_hash.as_str()].join("\n")
}

/// Lowercase hex SHA-256 of `body`.
pub fn body_sha256_hex(body: &[u8]) -> String {
    to_hex(&Sha256::digest(body))
}

/// Lowercase hex HMAC-SHA256 of `canonical`, keyed with the UTF-8 bytes of `secret`.
pub fn sign(secret: &str, canonical: &str) -> String {
    to_hex(&mac(secret).chain_update(canonical.as_bytes()).finalize().into_bytes())
}

/// Whether `signature_hex` is the signature of `canonical` under `secret`.
///
/// The comparison takes the same time wherever the first wrong byte is (hmac's
/// `verify_slice`), so a caller cannot find a valid signature byte by byte. Anything that is
/// not exactly 64 lowercase hex digits is simply `false`.
pub fn verify(secret: &str, canonical: &str, signature_hex: &str) -> bool {
    let Some(tag) = from_lower_hex(signature_hex) else {
        return false;
    };
    // The length is public (it is in the API), so checking it first leaks nothing.
    if tag.len() != SIGNATURE_BYTES {
        return false;
    }
    mac(secret).chain_update(canonical.as_bytes()).verify_slice(&tag).is_ok()
}

/// Whether `nonce` has 16 to 64 characters, each of `[A-Za-z0-9_-]`.
pub fn is_valid_nonce(nonce: &str) -> bool {
    (NONCE_CHARS_MIN..=NONCE_CHARS_MAX).contains(&nonce.len())
        && nonce.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether `key` has 1 to 255 characters, each printable ASCII (space to `~`).
pub fn is_valid_idempotency_key(key: &str) -> bool {
    (1..=IDEMPOTENCY_KEY_CHARS_MAX).contains(&key.len()) && key.bytes().all(|b| (b' '..=b'~').contains(&b))
}

/// Parses a timestamp header: decimal Unix seconds, digits only, no sign and no leading zero,
/// so that each instant has exactly one spelling. `None` for anything else or out of range.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let canonical =
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

/// Whether a request signed at `timestamp_s` is acceptable at `now_s` (both Unix seconds).
pub fn within_skew(timestamp_s: i64, now_s: i64) -> bool {
    timestamp_s.abs_diff(now_s) <= TIMESTAMP_SKEW_MAX_S.unsigned_abs()
}

fn mac(secret: &str) -> HmacSha256 {
    // HMAC hashes long keys and pads short ones: every length is valid, including zero.
    HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts a key of any length")
}

/// `bytes` as lowercase hex digits, two per byte.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        hex.push(char::from(DIGITS[usize::from(b >> 4)]));
        hex.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    hex
}

/// Decodes lowercase hex only: docs/API.md says the signature is lowercase, and accepting one
/// spelling keeps signatures comparable as strings in logs.
fn from_lower_hex(text: &str) -> Option<Vec<u8>> {
    fn digit(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes.chunks_exact(2).map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "hbs_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const BODY: &[u8] = br#"{"to":"usr_0190f0a0b0c0d0e0f000000000000000","amount":1050}"#;

    // Computed independently with Python 3's standard library:
    //   body = b'{"to":"usr_0190f0a0b0c0d0e0f000000000000000","amount":1050}'
    //   canon = "\n".join(["POST", "/v1/transfers?trace=a%20b&x=1", "1795000000",
    //                      "nonce_0123456789-ABC", hashlib.sha256(body).hexdigest()])
    //   hmac.new(SECRET.encode(), canon.encode(), hashlib.sha256).hexdigest()
    const BODY_SHA256: &str = "657b21a333f37762079a8e70eaa6ef64027184d58b400a03a5e20c074626fe9d";
    const SIGNATURE: &str = "fefb1881faab0cc34c541f3700b50aa92cdfcd1ec3297660416ab35f2842a272";

    fn canonical() -> String {
        canonical_string("POST", "/v1/transfers?trace=a%20b&x=1", "1795000000", "nonce_0123456789-ABC", BODY)
    }

    #[test]
    fn sign_matches_a_vector_computed_with_python() {
        assert_eq!(sign(SECRET, &canonical()), SIGNATURE);
    }

    #[test]
    fn sign_keys_with_the_utf8_bytes_of_a_non_ascii_secret() {
        // Python: hmac.new("秘密-key".encode("utf-8"), canon.encode(), hashlib.sha256).hexdigest()
        // with canon = "\n".join(["GET", "/v1/me/transactions?limit=10", "1700000000",
        //                         "0123456789abcdef", hashlib.sha256(b"").hexdigest()])
        let canonical = canonical_string("GET", "/v1/me/transactions?limit=10", "1700000000", "0123456789abcdef", b"");
        assert_eq!(sign("秘密-key", &canonical), "ed12a286f415f118b9511f35607fd1839ed0c48879d6626b91c6e02d45ddc63d");
    }

    #[test]
    fn canonical_string_keeps_the_query_exactly_and_has_no_trailing_newline() {
        let expected = format!("POST\n/v1/transfers?trace=a%20b&x=1\n1795000000\nnonce_0123456789-ABC\n{BODY_SHA256}");
        assert_eq!(canonical(), expected);
        let reordered =
            canonical_string("POST", "/v1/transfers?x=1&trace=a%20b", "1795000000", "nonce_0123456789-ABC", BODY);
        assert_ne!(sign(SECRET, &reordered), SIGNATURE);
    }

    #[test]
    fn an_empty_body_hashes_as_the_empty_string() {
        let canonical = canonical_string("GET", "/v1/me", "1", "0123456789abcdef", b"");
        assert!(
            canonical.ends_with("\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            "{canonical}"
        );
        assert_eq!(canonical.lines().count(), 5);
    }

    #[test]
    fn verify_accepts_the_signature_and_rejects_a_one_character_change() {
        assert!(verify(SECRET, &canonical(), SIGNATURE));
        for i in 0..SIGNATURE.len() {
            let mut changed = SIGNATURE.as_bytes().to_vec();
            changed[i] = if changed[i] == b'0' { b'1' } else { b'0' };
            let changed = String::from_utf8(changed).unwrap();
            assert!(!verify(SECRET, &canonical(), &changed), "position {i}");
        }
        let mut canonical = canonical();
        canonical.push(' ');
        assert!(!verify(SECRET, &canonical, SIGNATURE));
        assert!(!verify("hbs_other", &self::canonical(), SIGNATURE));
    }

    #[test]
    fn verify_rejects_malformed_signatures_without_panicking() {
        let upper = SIGNATURE.to_uppercase();
        let truncated = &SIGNATURE[..62];
        let longer = format!("{SIGNATURE}00");
        for bad in ["", "0", "zz", upper.as_str(), truncated, longer.as_str(), "é"] {
            assert!(!verify(SECRET, &canonical(), bad), "{bad:?}");
        }
    }

    #[test]
    fn nonces_are_16_to_64_url_safe_characters() {
        for good in ["0123456789abcdef", "A-Z_a-z-0123456789", &"x".repeat(64)] {
            assert!(is_valid_nonce(good), "{good:?}");
        }
        for bad in ["", "0123456789abcde", &"x".repeat(65), "0123456789abcde!", "0123456789abcdé", "0123456789 abcdef"]
        {
            assert!(!is_valid_nonce(bad), "{bad:?}");
        }
    }

    #[test]
    fn idempotency_keys_are_1_to_255_printable_ascii_characters() {
        for good in ["k", "order 42 / retry ~", &"k".repeat(255)] {
            assert!(is_valid_idempotency_key(good), "{good:?}");
        }
        for bad in ["", &"k".repeat(256), "tab\there", "new\nline", "ключ", "\u{7f}"] {
            assert!(!is_valid_idempotency_key(bad), "{bad:?}");
        }
    }

    #[test]
    fn timestamps_have_one_spelling() {
        assert_eq!(parse_timestamp("1795000000"), Some(1_795_000_000));
        assert_eq!(parse_timestamp("0"), Some(0));
        for bad in ["", "01795000000", "+1795000000", "-1", "1795000000.5", " 1", "99999999999999999999"] {
            assert_eq!(parse_timestamp(bad), None, "{bad:?}");
        }
        assert!(within_skew(1_000, 1_300) && within_skew(1_300, 1_000));
        assert!(!within_skew(1_000, 1_301) && !within_skew(i64::MIN, i64::MAX));
    }
}
