//! The stored answer of a request made with an `Idempotency-Key`: a persisted format of its own,
//! so that a repeat of the request — a day later, perhaps after an upgrade — answers exactly what
//! the first answer said.
//!
//! **Version 1** is `{"v":1,"answer":A}`, where `A` is the decided `Result<Reply, CoreError>`
//! in its serde JSON (`{"Ok":{"reply":"moved",…}}` or `{"Err":{"error":"insufficient_funds",…}}`), a new key's secret
//! blanked ([`without_secret`]). Its bytes are pinned by the test below: renaming a field of a
//! reply or an error fails it, and must then either keep the old name on the wire
//! (`#[serde(rename)]`) or become version 2 with a reader for version 1 kept here. Records
//! written before the version existed are the bare `A`, and are read as version 1.

use hongbao_core::CoreError;
use hongbao_core::ops::Reply;
use serde::{Deserialize, Serialize};

use crate::secrets::without_secret;

/// The version this engine writes.
const VERSION: u64 = 1;

#[derive(Serialize)]
struct Written<'a> {
    v: u64,
    answer: &'a Result<Reply, CoreError>,
}

/// The version of a stored answer (its other fields ignored).
#[derive(Deserialize)]
struct Version {
    v: u64,
}

#[derive(Deserialize)]
struct ReadV1 {
    answer: Result<Reply, CoreError>,
}

/// The stored form of `decided`, without any secret it holds.
pub(crate) fn encode(decided: &Result<Reply, CoreError>) -> String {
    let answer = without_secret(decided);
    // An answer is made of strings, integers and enums: encoding it cannot fail.
    serde_json::to_string(&Written { v: VERSION, answer: &answer }).unwrap_or_default()
}

/// The answer `text` stores, of any version this engine reads.
///
/// # Errors
/// Why `text` is not a stored answer this engine can read.
pub fn decode(text: &str) -> Result<Result<Reply, CoreError>, String> {
    if text.starts_with("{\"v\":") {
        let version: Version = serde_json::from_str(text).map_err(|e| format!("not a stored answer: {e}"))?;
        return match version.v {
            1 => serde_json::from_str::<ReadV1>(text)
                .map(|read| read.answer)
                .map_err(|e| format!("version 1, unreadable: {e}")),
            other => Err(format!("version {other}, which this version of hongbao does not read")),
        };
    }
    // Before versions: the bare answer, identical to version 1's.
    serde_json::from_str(text).map_err(|e| format!("unversioned, unreadable: {e}"))
}

#[cfg(test)]
mod tests {
    use hongbao_core::error::RecallRefusal;
    use hongbao_core::ops::{Moved, TransferReceipt, TransferStatus, UserCreated};
    use hongbao_core::packet::{ClaimReceipt, ClaimStatus};
    use hongbao_core::principal::Secret;
    use hongbao_core::user::{MeView, UserStatus};
    use hongbao_core::{ClaimId, Fen, KeyId, PacketId, Timestamp, TransferId, UserId};

    use super::*;

    fn id<T: std::str::FromStr>(text: &str) -> T
    where
        T::Err: std::fmt::Debug,
    {
        text.parse().unwrap()
    }

    /// Answers of each shape, and the exact bytes version 1 stores for them.
    fn pinned() -> Vec<(Result<Reply, CoreError>, &'static str)> {
        let at = Timestamp::from_millis(1_790_000_000_000);
        let user: UserId = id("usr_0190f0a0b0c0d0e0f000000000000001");
        let transfer: TransferId = id("trf_0190f0a0b0c0d0e0f000000000000002");
        vec![
            (
                Ok(Reply::Moved(Moved { transfer_id: transfer, balance: Fen::new(12_345) })),
                r#"{"v":1,"answer":{"Ok":{"reply":"moved","transfer_id":"trf_0190f0a0b0c0d0e0f000000000000002","balance":12345}}}"#,
            ),
            (
                Ok(Reply::Claimed(ClaimReceipt {
                    claim_id: id::<ClaimId>("clm_0190f0a0b0c0d0e0f000000000000003"),
                    packet_id: id::<PacketId>("pkt_0190f0a0b0c0d0e0f000000000000004"),
                    amount: Fen::new(88),
                    status: ClaimStatus::Pending,
                    arrives_at: at,
                })),
                r#"{"v":1,"answer":{"Ok":{"reply":"claimed","claim_id":"clm_0190f0a0b0c0d0e0f000000000000003","packet_id":"pkt_0190f0a0b0c0d0e0f000000000000004","amount":88,"status":"pending","arrives_at":"2026-09-21T14:13:20.000Z"}}}"#,
            ),
            (
                Ok(Reply::Transfer(TransferReceipt {
                    transfer_id: transfer,
                    status: TransferStatus::Pending,
                    arrives_at: at,
                    warnings: Vec::new(),
                })),
                r#"{"v":1,"answer":{"Ok":{"reply":"transfer","transfer_id":"trf_0190f0a0b0c0d0e0f000000000000002","status":"pending","arrives_at":"2026-09-21T14:13:20.000Z"}}}"#,
            ),
            (
                Ok(Reply::Me(MeView {
                    user_id: user,
                    name: "alice".to_owned(),
                    balance: Fen::new(100),
                    available: Fen::new(70),
                    pending_in: Fen::new(5),
                    pending_out: Fen::new(20),
                    frozen: Fen::new(10),
                    status: UserStatus::Active,
                })),
                r#"{"v":1,"answer":{"Ok":{"reply":"me","user_id":"usr_0190f0a0b0c0d0e0f000000000000001","name":"alice","balance":100,"available":70,"pending_in":5,"pending_out":20,"frozen":10,"status":"active"}}}"#,
            ),
            (
                // The secret is blanked: shown once, never stored.
                Ok(Reply::User(UserCreated {
                    user_id: user,
                    name: "alice".to_owned(),
                    key_id: id::<KeyId>("key_0190f0a0b0c0d0e0f000000000000005"),
                    secret: Secret::from_stored("hbs_never_stored".to_owned()),
                })),
                r#"{"v":1,"answer":{"Ok":{"reply":"user","user_id":"usr_0190f0a0b0c0d0e0f000000000000001","name":"alice","key_id":"key_0190f0a0b0c0d0e0f000000000000005","secret":""}}}"#,
            ),
            (
                Err(CoreError::InsufficientFunds { needed: Fen::new(500), available: Fen::new(499) }),
                r#"{"v":1,"answer":{"Err":{"error":"insufficient_funds","needed":500,"available":499}}}"#,
            ),
            (
                Err(CoreError::RecallNotAllowed { reason: RecallRefusal::Touched }),
                r#"{"v":1,"answer":{"Err":{"error":"recall_not_allowed","reason":"touched"}}}"#,
            ),
        ]
    }

    #[test]
    fn version_1_bytes_are_pinned_and_read_back() {
        for (answer, bytes) in pinned() {
            let stored = encode(&answer);
            assert_eq!(stored, bytes);
            assert_eq!(decode(&stored).unwrap(), *without_secret(&answer));
        }
    }

    #[test]
    fn answers_stored_before_versions_are_read_as_version_1() {
        for (answer, bytes) in pinned() {
            let bare = &bytes["{\"v\":1,\"answer\":".len()..bytes.len() - 1];
            assert_eq!(decode(bare).unwrap(), *without_secret(&answer), "{bare}");
        }
    }

    #[test]
    fn an_unknown_version_or_a_damaged_record_is_refused_by_name() {
        let later = decode(r#"{"v":2,"answer":{"Ok":{"reply":"moved"}}}"#).unwrap_err();
        assert!(later.contains("version 2"), "{later}");
        assert!(decode(r#"{"v":1,"answer":{"Ok":{"reply":"nope"}}}"#).unwrap_err().contains("version 1"));
        assert!(decode("not json").is_err());
    }
}
