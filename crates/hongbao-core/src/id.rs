//! Identifiers: UUIDv7 values in newtypes, shown with a kind prefix (`pkt_0190…`).
//!
//! Ids are minted from the business clock and the random source the caller passes in, so a
//! seeded simulation produces the same ids every run, and ids sort by creation time.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
pub use uuid::Uuid;

use crate::time::Timestamp;

/// Why an id string could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind} id: expected `{prefix}_` followed by 32 hex digits")]
pub struct IdError {
    pub kind: &'static str,
    pub prefix: &'static str,
}

/// A new UUIDv7 for `now`, its random bits drawn from `rng`.
pub fn mint_uuid(now: Timestamp, rng: &mut impl Rng) -> Uuid {
    let mut random = [0u8; 10];
    rng.fill_bytes(&mut random);
    // A business clock before 1970 cannot happen; saturate rather than panic.
    let millis = u64::try_from(now.millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

/// Every kind's prefix is three letters.
const PREFIX_LEN: usize = 3;

/// An id's text: its prefix, `_`, and 32 lowercase hex digits.
const TEXT_LEN: usize = PREFIX_LEN + 1 + 32;

/// Writes an id's text into `buf` without allocating (ids are written in every log entry and
/// every answer).
fn text<'b>(prefix: &str, uuid: Uuid, buf: &'b mut [u8; TEXT_LEN]) -> &'b str {
    buf[..PREFIX_LEN].copy_from_slice(prefix.as_bytes());
    buf[PREFIX_LEN] = b'_';
    uuid.simple().encode_lower(&mut buf[PREFIX_LEN + 1..]);
    // ASCII letters, `_` and hex digits: always UTF-8.
    std::str::from_utf8(buf).unwrap_or_default()
}

macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Uuid);

        const _: () = assert!($prefix.len() == PREFIX_LEN, "an id prefix is three letters");

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn uuid(self) -> Uuid {
                self.0
            }

            /// A fresh id for `now`, random bits from `rng`.
            pub fn mint(now: Timestamp, rng: &mut impl Rng) -> Self {
                Self(mint_uuid(now, rng))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(text($prefix, self.0, &mut [0; TEXT_LEN]))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let err = || IdError { kind: $kind, prefix: $prefix };
                let hex = s
                    .strip_prefix($prefix)
                    .and_then(|rest| rest.strip_prefix('_'))
                    .ok_or_else(err)?;
                if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(err());
                }
                Uuid::try_parse(hex).map(Self).map_err(|_| err())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(text($prefix, self.0, &mut [0; TEXT_LEN]))
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

define_id!(
    /// A person who sends and claims money.
    UserId, "usr", "user"
);
define_id!(
    /// A chat group whose members may claim its packets.
    GroupId, "grp", "group"
);
define_id!(
    /// A red packet.
    PacketId, "pkt", "packet"
);
define_id!(
    /// One share taken from a packet by one person.
    ClaimId, "clm", "claim"
);
define_id!(
    /// One immutable ledger transfer.
    TransferId, "trf", "transfer"
);
define_id!(
    /// The public half of a principal's credentials: names whose secret signs a request.
    KeyId, "key", "key"
);
define_id!(
    /// A file a principal uploaded as evidence (a screenshot, a scan, a chat export).
    EvidenceId, "evd", "evidence file"
);
define_id!(
    /// A legal document an officer registered (a court ruling, a police notice).
    DocumentId, "doc", "document"
);
define_id!(
    /// A hold on a user's wallet (a court, police, emergency, precautionary or anomaly freeze).
    FreezeId, "frz", "freeze"
);
define_id!(
    /// A proposed forced transfer of frozen money (划转), awaiting a second officer.
    SeizureId, "szr", "seizure"
);
define_id!(
    /// A user's report (举报) that another user defrauded them.
    ReportId, "rpt", "report"
);
define_id!(
    /// A payer's request that the payee give money back (协商退还).
    ReturnRequestId, "ret", "return request"
);
define_id!(
    /// What risk and legal officers work on: reports, freezes and rule hits about one user.
    CaseId, "cas", "case"
);
define_id!(
    /// A ledger account. A wallet shares its owner's UUID and an escrow its packet's, so the
    /// account of a user or packet is found without an index, and tables keyed by account id
    /// distribute with the user or packet they belong to.
    AccountId, "acc", "account"
);

impl AccountId {
    /// The one account through which money enters (deposits) and leaves (withdrawals).
    pub const EXTERNAL: AccountId = AccountId(Uuid::nil());

    pub const fn wallet(user: UserId) -> AccountId {
        AccountId(user.uuid())
    }

    pub const fn escrow(packet: PacketId) -> AccountId {
        AccountId(packet.uuid())
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;

    use super::*;

    #[test]
    fn ids_round_trip_through_their_text_form() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let id = PacketId::mint(Timestamp::from_millis(1_700_000_000_000), &mut rng);
        let text = id.to_string();
        assert!(text.starts_with("pkt_") && text.len() == 36, "{text}");
        assert_eq!(text.parse::<PacketId>(), Ok(id));
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{text}\""));
    }

    #[test]
    fn an_id_shows_as_its_prefix_and_its_uuid_in_lowercase_hex() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..100 {
            let uuid = mint_uuid(Timestamp::from_millis(1_795_000_000_000), &mut rng);
            let expected = format!("{}", uuid.simple());
            assert_eq!(UserId::from_uuid(uuid).to_string(), format!("usr_{expected}"));
            assert_eq!(AccountId::from_uuid(uuid).to_string(), format!("acc_{expected}"));
            let json = serde_json::to_string(&TransferId::from_uuid(uuid)).unwrap();
            assert_eq!(json, format!("\"trf_{expected}\""));
        }
        assert_eq!(AccountId::EXTERNAL.to_string(), format!("acc_{}", "0".repeat(32)));
        assert_eq!(format!("{:?}", KeyId::from_uuid(Uuid::max())), format!("key_{}", "f".repeat(32)));
    }

    #[test]
    fn ids_of_another_kind_or_malformed_are_rejected() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let user = UserId::mint(Timestamp::from_millis(1), &mut rng).to_string();
        assert!(user.parse::<PacketId>().is_err());
        for bad in ["", "usr_", "usr_xyz", "usr-0190f0a0b0c0d0e0f000000000000000", &format!("{user}0")] {
            assert!(bad.parse::<UserId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn minted_ids_sort_by_time() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let a = TransferId::mint(Timestamp::from_millis(1_000), &mut rng);
        let b = TransferId::mint(Timestamp::from_millis(2_000), &mut rng);
        assert!(a < b);
    }
}
