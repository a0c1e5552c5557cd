//! What the transparency log records: one entry per transfer and per legally relevant event,
//! in a documented, versioned, canonical encoding.
//!
//! **Encoding, version 1.** An entry is the UTF-8 JSON text of
//! `{"v":1,"transfer":{…}}` or `{"v":1,"event":{…}}`, exactly as [`encode`] writes it: no
//! whitespace, object members in the order of the Rust struct fields, ids as prefixed strings,
//! amounts as integer fen, times as RFC 3339 UTC with milliseconds, no floats. The same record
//! always encodes to the same bytes, so anyone can re-derive an entry from the ledger's rows
//! and compare. A new field is added as optional; a change of meaning gets a new `v`.

use serde::{Deserialize, Serialize};

use crate::event::{Event, EventKind};
use crate::id::{PacketId, TransferId};
use crate::ledger::Transfer;

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

/// The entry's bytes (version 1): exactly the JSON of [`LogEntry`], written without copying
/// the record into one (serde's `flatten` buffers every field before writing it).
pub fn encode(record: &LogRecord) -> Vec<u8> {
    let head = format!("{{\"v\":{ENTRY_VERSION},");
    let mut out = Vec::with_capacity(512);
    // Serialising these plain structs cannot fail: no maps with non-string keys, no floats.
    if serde_json::to_writer(&mut out, record).is_err() || out.first() != Some(&b'{') {
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
    let entry: LogEntry = serde_json::from_slice(bytes).map_err(|e| format!("not a log entry: {e}"))?;
    if entry.v != ENTRY_VERSION {
        return Err(format!("log entry version {} is not supported", entry.v));
    }
    Ok(entry)
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
        let events = [
            EventKind::PacketClaimed { packet_id: packet, claim_id: claim, user_id: user, amount: Fen::new(1) },
            EventKind::LuckySharesRevealed {
                packet_id: packet,
                salt: crate::fairness::Salt([0xa5; 32]),
                shares: vec![Fen::new(1), Fen::new(2)],
            },
        ];
        let mut all = vec![LogRecord::Transfer(plain), LogRecord::Transfer(claimed)];
        all.extend(events.into_iter().map(|what| LogRecord::Event(Event { at: now, what })));
        all
    }

    #[test]
    fn an_entry_is_exactly_the_json_of_its_log_entry_and_reads_back() {
        for record in records() {
            let bytes = encode(&record);
            let through_serde = serde_json::to_vec(&LogEntry { v: ENTRY_VERSION, record: record.clone() }).unwrap();
            assert_eq!(String::from_utf8(bytes.clone()).unwrap(), String::from_utf8(through_serde).unwrap());
            assert!(bytes.starts_with(b"{\"v\":1,\""));
            assert_eq!(decode(&bytes), Ok(LogEntry { v: ENTRY_VERSION, record }));
        }
    }
}
