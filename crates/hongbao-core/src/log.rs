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

/// The entry's bytes (version 1).
pub fn encode(record: &LogRecord) -> Vec<u8> {
    // Serialising these plain structs cannot fail: no maps with non-string keys, no floats.
    serde_json::to_vec(&LogEntry { v: ENTRY_VERSION, record: record.clone() }).unwrap_or_default()
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
