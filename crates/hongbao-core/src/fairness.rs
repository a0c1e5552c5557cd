//! Provably fair lucky packets: the shares are committed to when the packet is sent and
//! revealed when it closes, so anyone can check that nobody re-dealt them in between.
//!
//! At send, a random 32-byte salt is drawn with the shares, and the commitment
//! `SHA-256("hongbao/lucky-shares/v1\n" || salt || share₀ || share₁ || …)` (each share as an
//! 8-byte big-endian fen count, in claim order) goes into the `packet_sent` event. When the
//! packet is exhausted or expires, a `lucky_shares_revealed` event publishes the salt and the
//! shares. Both events are in the transparency log: recomputing the commitment from the reveal,
//! and checking each claim took the share at its position, proves the deal was fixed at send.
//! The salt keeps the shares secret until then (without it the commitment of a small packet
//! could be brute-forced).

use std::fmt;
use std::str::FromStr;

use rand::CryptoRng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::hex::{hex, unhex32};
use crate::money::Fen;

/// The domain separator of version 1 of the commitment.
pub const COMMITMENT_PREFIX: &[u8] = b"hongbao/lucky-shares/v1\n";

/// A packet's secret salt, shown as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Salt(pub [u8; 32]);

impl Salt {
    pub fn draw(rng: &mut impl CryptoRng) -> Salt {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        Salt(bytes)
    }
}

impl fmt::Display for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secret until the reveal: never in a debug print.
        f.write_str("Salt(<hidden>)")
    }
}

impl FromStr for Salt {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        unhex32(s).map(Salt).ok_or_else(|| "a salt is 64 lowercase hex digits".to_owned())
    }
}

impl Serialize for Salt {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Salt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The commitment to `shares` under `salt`, as 64 lowercase hex digits.
pub fn commitment(salt: &Salt, shares: &[Fen]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(COMMITMENT_PREFIX);
    hasher.update(salt.0);
    for share in shares {
        hasher.update(share.get().to_be_bytes());
    }
    hex(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commitment_binds_the_salt_the_shares_and_their_order() {
        let salt = Salt([7; 32]);
        let shares = [Fen::new(300), Fen::new(200), Fen::new(500)];
        let base = commitment(&salt, &shares);
        assert_eq!(base.len(), 64);
        assert_ne!(base, commitment(&Salt([8; 32]), &shares));
        assert_ne!(base, commitment(&salt, &[Fen::new(200), Fen::new(300), Fen::new(500)]));
        assert_ne!(base, commitment(&salt, &[Fen::new(300), Fen::new(200), Fen::new(499), Fen::new(1)]));
        assert_eq!(base, commitment(&salt, &shares));
    }

    #[test]
    fn a_salt_shows_as_hex_and_parses_back_but_never_in_debug() {
        let salt = Salt([0xab; 32]);
        assert_eq!(salt.to_string().parse::<Salt>(), Ok(salt));
        assert!(!format!("{salt:?}").contains("ab"));
    }
}
