//! What the transparency log records: one entry per transfer and per legally relevant event,
//! in a documented, versioned, canonical encoding.
//!
//! **Encoding, version 1.** An entry is the UTF-8 JSON text of
//! `{"v":1,"transfer":{…}}` or `{"v":1,"event":{…}}`, exactly as [`encode`] writes it: no
//! whitespace, object members in the order of the Rust struct fields, ids as prefixed strings,
//! amounts as integer fen, times as RFC 3339 UTC with milliseconds, no floats. The same record
//! always encodes to the same bytes, so anyone can re-derive an entry from the ledger's rows
//! and compare. A new field is added as optional; a change of meaning gets a new `v`. The
//! format is spelled by types of its own ([`crate::log_v1`]), never by the domain types.

use serde::{Deserialize, Serialize};

use crate::event::{Event, EventKind};
use crate::id::{PacketId, TransferId};
use crate::ledger::Transfer;
use crate::log_v1::RecordV1;

/// The version [`encode`] writes.
pub const ENTRY_VERSION: u32 = 1;

/// One record of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogRecord {
    Transfer(Transfer),
    Event(Event),
}

/// An entry as encoded: its version and its record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    pub v: u32,
    #[serde(flatten)]
    pub record: LogRecord,
}

impl LogRecord {
    /// The transfer this entry is, if it is one.
    pub fn transfer_id(&self) -> Option<TransferId> {
        match self {
            LogRecord::Transfer(t) => Some(t.id),
            LogRecord::Event(_) => None,
        }
    }

    /// The packet this entry is about, if any.
    pub fn packet_id(&self) -> Option<PacketId> {
        match self {
            LogRecord::Transfer(t) => t.packet_id,
            LogRecord::Event(e) => match &e.what {
                EventKind::PacketSent { packet_id, .. }
                | EventKind::PacketOpened { packet_id, .. }
                | EventKind::PacketClaimed { packet_id, .. }
                | EventKind::PacketRecalled { packet_id, .. }
                | EventKind::PacketExpired { packet_id, .. }
                | EventKind::LuckySharesRevealed { packet_id, .. } => Some(*packet_id),
                _ => None,
            },
        }
    }
}

/// The entry's bytes (version 1): `{"v":1,` and the record in the format's types, written
/// without copying the record into an envelope (serde's `flatten` buffers every field first).
pub fn encode(record: &LogRecord) -> Vec<u8> {
    let head = format!("{{\"v\":{ENTRY_VERSION},");
    let mut out = Vec::with_capacity(512);
    // Serialising these plain structs cannot fail: no maps with non-string keys, no floats.
    if serde_json::to_writer(&mut out, &RecordV1::from(record)).is_err() || out.first() != Some(&b'{') {
        return Vec::new();
    }
    // `{"transfer":{…}}` becomes `{"v":1,"transfer":{…}}`.
    out.splice(..1, head.into_bytes());
    out
}

/// Reads an entry back.
///
/// # Errors
/// A message when the bytes are not a version-1 entry.
pub fn decode(bytes: &[u8]) -> Result<LogEntry, String> {
    /// The envelope as read.
    #[derive(Deserialize)]
    struct Read {
        v: u32,
        #[serde(flatten)]
        record: serde_json::Value,
    }
    let read: Read = serde_json::from_slice(bytes).map_err(|e| format!("not a log entry: {e}"))?;
    if read.v != ENTRY_VERSION {
        return Err(format!("log entry version {} is not supported", read.v));
    }
    let record: RecordV1 = serde_json::from_value(read.record).map_err(|e| format!("not a log entry: {e}"))?;
    Ok(LogEntry { v: read.v, record: record.into() })
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;

    use super::*;
    use crate::event::EventKind;
    use crate::id::{AccountId, ClaimId, UserId};
    use crate::ledger::{Phase, TransferKind};
    use crate::money::Fen;
    use crate::time::Timestamp;

    fn records() -> Vec<LogRecord> {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let now = Timestamp::from_millis(1_795_000_000_123);
        let packet = PacketId::mint(now, &mut rng);
        let user = UserId::mint(now, &mut rng);
        let claim = ClaimId::mint(now, &mut rng);
        let plain = Transfer {
            id: TransferId::mint(now, &mut rng),
            debit: AccountId::EXTERNAL,
            credit: AccountId::wallet(user),
            amount: Fen::new(12_345),
            kind: TransferKind::Deposit,
            phase: Phase::Posted,
            packet_id: None,
            claim_id: None,
            note: Some("a \"quoted\" note, 红包\n".to_owned()),
            created_at: now,
        };
        let claimed = Transfer {
            id: TransferId::mint(now, &mut rng),
            debit: AccountId::escrow(packet),
            credit: AccountId::wallet(user),
            kind: TransferKind::PacketClaim,
            packet_id: Some(packet),
            claim_id: Some(claim),
            note: None,
            ..plain.clone()
        };
        let pending = Transfer {
            id: TransferId::mint(now, &mut rng),
            kind: TransferKind::Transfer,
            phase: Phase::Pending { deadline: now.plus_seconds(86_400) },
            note: None,
            ..plain.clone()
        };
        let events = [
            EventKind::OperatorCreated {
                key_id: crate::id::KeyId::mint(now, &mut rng),
                name: "risk desk".to_owned(),
                roles: vec![crate::principal::Role::RiskOfficer, crate::principal::Role::Auditor],
            },
            EventKind::PacketSent {
                packet_id: packet,
                sender: user,
                kind: crate::packet::PacketKind::Lucky,
                count: 2,
                total: Fen::new(3),
                commitment: Some("c0ffee".to_owned()),
            },
            EventKind::PacketClaimed { packet_id: packet, claim_id: claim, user_id: user, amount: Fen::new(1) },
            EventKind::LuckySharesRevealed {
                packet_id: packet,
                salt: crate::fairness::Salt([0xa5; 32]),
                shares: vec![Fen::new(1), Fen::new(2)],
            },
        ];
        let mut all = vec![LogRecord::Transfer(plain), LogRecord::Transfer(claimed), LogRecord::Transfer(pending)];
        all.extend(events.into_iter().map(|what| LogRecord::Event(Event { at: now, what })));
        all
    }

    #[test]
    fn an_entry_starts_with_its_version_and_reads_back() {
        for record in records() {
            let bytes = encode(&record);
            assert!(bytes.starts_with(b"{\"v\":1,\""));
            assert_eq!(decode(&bytes), Ok(LogEntry { v: ENTRY_VERSION, record }));
        }
    }

    /// Version 1's bytes, written down: a change to any domain type that would change what is
    /// logged fails here (the format's types in `log_v1` are what must stay as they are).
    #[test]
    fn version_1_bytes_are_pinned() {
        let pinned = [
            r#"{"v":1,"transfer":{"id":"trf_01a1ee565e7b79a4be9587bac7ae71e3","debit":"acc_00000000000000000000000000000000","credit":"acc_01a1ee565e7b7eb7b1c85bc46ef77862","amount":12345,"kind":"deposit","phase":{"phase":"posted"},"packet_id":null,"claim_id":null,"note":"a \"quoted\" note, 红包\n","created_at":"2026-11-18T11:06:40.123Z"}}"#,
            r#"{"v":1,"transfer":{"id":"trf_01a1ee565e7b7cf384877a83fb94ca8c","debit":"acc_01a1ee565e7b7f94ab810f26371d126f","credit":"acc_01a1ee565e7b7eb7b1c85bc46ef77862","amount":12345,"kind":"packet_claim","phase":{"phase":"posted"},"packet_id":"pkt_01a1ee565e7b7f94ab810f26371d126f","claim_id":"clm_01a1ee565e7b7d23a1a095796d2cfffb","note":null,"created_at":"2026-11-18T11:06:40.123Z"}}"#,
            r#"{"v":1,"transfer":{"id":"trf_01a1ee565e7b71cea93e1371f7e69ad1","debit":"acc_00000000000000000000000000000000","credit":"acc_01a1ee565e7b7eb7b1c85bc46ef77862","amount":12345,"kind":"transfer","phase":{"phase":"pending","deadline":"2026-11-19T11:06:40.123Z"},"packet_id":null,"claim_id":null,"note":null,"created_at":"2026-11-18T11:06:40.123Z"}}"#,
            r#"{"v":1,"event":{"at":"2026-11-18T11:06:40.123Z","type":"operator_created","key_id":"key_01a1ee565e7b7eb1bc7a92b1866e09b1","name":"risk desk","roles":["risk_officer","auditor"]}}"#,
            r#"{"v":1,"event":{"at":"2026-11-18T11:06:40.123Z","type":"packet_sent","packet_id":"pkt_01a1ee565e7b7f94ab810f26371d126f","sender":"usr_01a1ee565e7b7eb7b1c85bc46ef77862","kind":"lucky","count":2,"total":3,"commitment":"c0ffee"}}"#,
            r#"{"v":1,"event":{"at":"2026-11-18T11:06:40.123Z","type":"packet_claimed","packet_id":"pkt_01a1ee565e7b7f94ab810f26371d126f","claim_id":"clm_01a1ee565e7b7d23a1a095796d2cfffb","user_id":"usr_01a1ee565e7b7eb7b1c85bc46ef77862","amount":1}}"#,
            r#"{"v":1,"event":{"at":"2026-11-18T11:06:40.123Z","type":"lucky_shares_revealed","packet_id":"pkt_01a1ee565e7b7f94ab810f26371d126f","salt":"a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5","shares":[1,2]}}"#,
        ];
        let records = records();
        assert_eq!(records.len(), pinned.len());
        for (record, pinned) in records.iter().zip(pinned) {
            assert_eq!(String::from_utf8(encode(record)).unwrap(), pinned);
            assert_eq!(decode(pinned.as_bytes()).map(|e| e.record).as_ref(), Ok(record));
        }
    }

    #[test]
    fn an_entry_of_another_version_or_shape_is_refused_with_a_message() {
        assert_eq!(decode(br#"{"v":2,"event":{}}"#), Err("log entry version 2 is not supported".to_owned()));
        assert!(decode(br#"{"v":1,"event":{"type":"no_such_event"}}"#).unwrap_err().starts_with("not a log entry"));
        assert!(decode(b"[]").unwrap_err().starts_with("not a log entry"));
    }
}
