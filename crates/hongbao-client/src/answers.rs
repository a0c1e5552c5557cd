//! The few request options and answers that have no type in `hongbao-core`.
//!
//! Every other answer is a core view (`PacketView`, `MeView`, `ClaimReceipt`, …): those already
//! serialize to exactly the API's JSON, so redefining them here could only let the two drift.

use hongbao_core::ledger::TransferKind;
use hongbao_core::{Fen, PacketId, Timestamp, TransferId};
use serde::{Deserialize, Serialize};

/// The optional fields of `POST /v1/packets`. `None` leaves the field out of the body, so the
/// server's default applies (the standard greeting, no delay).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PacketOptions {
    pub greeting: Option<String>,
    /// 0, 7200 or 86400 in the API; other values are sent as they are, for tests.
    pub arrival_delay_seconds: Option<u32>,
}

impl PacketOptions {
    pub fn greeting(mut self, greeting: impl Into<String>) -> PacketOptions {
        self.greeting = Some(greeting.into());
        self
    }

    pub fn arrival_delay_seconds(mut self, delay_s: u32) -> PacketOptions {
        self.arrival_delay_seconds = Some(delay_s);
        self
    }
}

/// The optional fields of `POST /v1/transfers`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransferOptions {
    pub note: Option<String>,
    pub arrival_delay_seconds: Option<u32>,
}

impl TransferOptions {
    pub fn note(mut self, note: impl Into<String>) -> TransferOptions {
        self.note = Some(note.into());
        self
    }

    pub fn arrival_delay_seconds(mut self, delay_s: u32) -> TransferOptions {
        self.arrival_delay_seconds = Some(delay_s);
        self
    }
}

/// One page of `GET /v1/me/transactions`, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionPage {
    pub items: Vec<Transaction>,
    /// Pass it back as `cursor` for the next page; `None` on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// One movement of the caller's money.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub transfer_id: TransferId,
    /// Always positive: `direction` says which way it went.
    pub amount: Fen,
    pub direction: Direction,
    pub kind: TransferKind,
    /// Kept as text (`arrived`, `pending`, `revoked` in docs/API.md today): a value added later
    /// must not make a whole page unreadable.
    pub status: String,
    #[serde(default)]
    pub packet_id: Option<PacketId>,
    pub created_at: Timestamp,
}

/// Whether money came into or went out of the caller's wallet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    pub const fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// What `GET /v1/receipts/{transfer_id}` answers: a transfer's log entry and the proof that it
/// is in the log, verifiable offline (`hongbao verify receipt`). Saved as it is, it is the
/// receipt file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Base64 of the entry's exact logged bytes.
    pub entry: String,
    /// The C2SP tlog-proof text.
    pub proof: String,
    /// The entry as readable JSON (not signed: the bytes are).
    pub decoded: serde_json::Value,
}

/// What `POST /v1/dev/clock` answers: the business time after moving it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevClock {
    pub now: Timestamp,
}
