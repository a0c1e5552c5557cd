//! Signing secrets at rest: each principal's HMAC secret is stored sealed with XChaCha20-Poly1305
//! under a key that lives outside the database (`<data-dir>/secrets-key`, mode 0600), so that a
//! copy of the database file, its WAL or a dump holds no usable secret.
//!
//! Sealed rather than derived from a master key: a secret that was handed out before this
//! version stored it in the clear must keep working, and only encryption can keep its value
//! while taking it off the disk. The key id is the associated data, so a sealed secret moved
//! to another principal's row does not open. A sealed value is `hbsealed1.` and the URL-safe
//! base64 (no padding) of the 24-byte random nonce followed by the ciphertext and its tag.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hongbao_core::KeyId;
use hongbao_core::principal::Secret;
use rand::Rng;

/// What every sealed secret starts with; a stored secret without it is in the clear (written by
/// a version before sealing) and is sealed when a node opens the database.
pub const SEALED_PREFIX: &str = "hbsealed1.";

const NONCE_BYTES: usize = 24;

/// The key secrets are sealed with: 32 bytes, kept in a file readable by its owner only and the
/// same on every node of a database. `Debug` never shows it.
#[derive(Clone)]
pub struct SecretsKey {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretsKey(<redacted>)")
    }
}

/// Why a stored secret did not open.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Not a sealed value: an older version's secret in the clear.
    #[error("the secret of key {0} is not sealed")]
    NotSealed(KeyId),
    /// Sealed with another key, or altered.
    #[error(
        "the secret of key {0} does not open with this node's secrets key (another key sealed it, or it was altered)"
    )]
    WrongKey(KeyId),
}

impl SecretsKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> SecretsKey {
        SecretsKey { cipher: XChaCha20Poly1305::new(bytes.into()) }
    }

    /// Seals `secret` for the principal `key`, with a fresh nonce from `rng`.
    pub fn seal(&self, key: KeyId, secret: &Secret, rng: &mut impl Rng) -> Secret {
        let mut nonce = [0u8; NONCE_BYTES];
        rng.fill_bytes(&mut nonce);
        let aad = key.uuid();
        let payload = Payload { msg: secret.expose().as_bytes(), aad: aad.as_bytes() };
        // Encryption fails only for a message beyond 256 GiB; a secret is 68 bytes.
        let sealed = self.cipher.encrypt(&XNonce::from(nonce), payload).unwrap_or_default();
        let mut bytes = Vec::with_capacity(NONCE_BYTES + sealed.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        Secret::from_stored(format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The secret that `stored` seals for the principal `key`.
    ///
    /// # Errors
    /// [`SealError`] when it is not sealed, or does not open with this key for this principal.
    pub fn open(&self, key: KeyId, stored: &Secret) -> Result<Secret, SealError> {
        let text = stored.expose().strip_prefix(SEALED_PREFIX).ok_or(SealError::NotSealed(key))?;
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| SealError::WrongKey(key))?;
        if bytes.len() < NONCE_BYTES {
            return Err(SealError::WrongKey(key));
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| SealError::WrongKey(key))?;
        let aad = key.uuid();
        let opened = self
            .cipher
            .decrypt(&XNonce::from(nonce), Payload { msg: sealed, aad: aad.as_bytes() })
            .map_err(|_| SealError::WrongKey(key))?;
        String::from_utf8(opened).map(Secret::from_stored).map_err(|_| SealError::WrongKey(key))
    }
}

/// Whether a stored secret is sealed (by any key).
pub fn is_sealed(stored: &Secret) -> bool {
    stored.expose().starts_with(SEALED_PREFIX)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn key(n: u128) -> KeyId {
        KeyId::from_uuid(hongbao_core::id::Uuid::from_u128(n))
    }

    #[test]
    fn a_sealed_secret_opens_for_its_key_only_and_shows_nothing_of_the_secret() {
        let mut rng = StdRng::from_seed([7; 32]);
        let sealing = SecretsKey::from_bytes(&[1; 32]);
        let secret = Secret::from_stored(format!("hbs_{}", "ab".repeat(32)));
        let sealed = sealing.seal(key(1), &secret, &mut rng);
        assert!(is_sealed(&sealed));
        assert!(!sealed.expose().contains("abab"), "no part of the secret shows");
        assert_eq!(sealing.open(key(1), &sealed), Ok(secret.clone()));
        assert_eq!(sealing.open(key(2), &sealed), Err(SealError::WrongKey(key(2))), "bound to its principal");
        let other = SecretsKey::from_bytes(&[2; 32]);
        assert_eq!(other.open(key(1), &sealed), Err(SealError::WrongKey(key(1))), "bound to its key");
        assert_eq!(sealing.open(key(1), &secret), Err(SealError::NotSealed(key(1))));
        let again = sealing.seal(key(1), &secret, &mut rng);
        assert_ne!(again, sealed, "a fresh nonce each time");
        let mut altered = sealed.expose().to_owned();
        altered.pop();
        altered.push(if sealed.expose().ends_with('A') { 'B' } else { 'A' });
        assert_eq!(sealing.open(key(1), &Secret::from_stored(altered)), Err(SealError::WrongKey(key(1))));
        assert_eq!(
            sealing.open(key(1), &Secret::from_stored(format!("{SEALED_PREFIX}!!"))),
            Err(SealError::WrongKey(key(1)))
        );
    }
}
