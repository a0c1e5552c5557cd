//! The answers that have no type in the core: a page of history, the transparency log's views
//! and proofs, receipts, and the development clock.

use hongbao_core::ledger::TransferKind;
use hongbao_core::{Fen, PacketId, Timestamp, TransferId};
use serde::{Deserialize, Serialize};

/// A page of history, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransactionsPage {
    pub items: Vec<TransactionItem>,
    /// Pass as `cursor` for the next (older) page; `null` on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// One movement of the caller's money.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransactionItem {
    pub transfer_id: TransferId,
    pub amount: Fen,
    /// `in` or `out` of the caller's wallet.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub direction: Direction,
    /// What moved the money: `deposit`, `withdrawal`, `packet_send`, `packet_claim`,
    /// `packet_refund`, `packet_recall`, `claim_revoke`, `claim_return`, `transfer`, `seizure`,
    /// `return`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: TransferKind,
    // Text, not an enumeration, for clients: a status added later must not make a whole page
    // unreadable.
    /// `arrived`, `pending` (delayed arrival) or `revoked`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packet_id: Option<PacketId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
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

// What `POST /v1/dev/clock` answers (no description in the OpenAPI document, as before).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DevClockAnswer {
    /// The business clock after the move.
    pub now: Timestamp,
}

/// One entry of the log: to the public its leaf hash only; to an auditor its bytes too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntryView {
    pub index: u64,
    /// Base64 of the entry's leaf hash, SHA-256(0x00 || the entry's bytes) (RFC 6962 §2.1).
    pub leaf_hash: String,
    /// Base64 of the entry's exact bytes; only to an auditor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// The entry as JSON, for reading (the bytes are what is signed); only to an auditor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub decoded: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntriesPage {
    pub entries: Vec<EntryView>,
    /// The index to ask from next, or `null` at the end of the log.
    pub next: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InclusionProof {
    pub index: u64,
    pub size: u64,
    /// Base64 SHA-256 hashes from the leaf's sibling up to the root's child (RFC 6962 §2.1.1).
    pub hashes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsistencyProof {
    pub old: u64,
    pub new: u64,
    /// Base64 SHA-256 hashes (RFC 9162 §2.1.4).
    pub hashes: Vec<String>,
}

/// An entry with its proof under a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProvenEntry {
    pub index: u64,
    /// Base64 of the entry's exact bytes.
    pub entry: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub decoded: serde_json::Value,
    /// A C2SP tlog-proof (c2sp.org/tlog-proof@v1) of the entry under the checkpoint.
    pub proof: String,
}

/// Everything the log holds about a packet, each entry with its inclusion proof: for a lucky
/// packet, the commitment at send, the claims in order and the reveal at close, so anyone can
/// check that nobody re-dealt the shares (`hongbao verify packet`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PacketLog {
    pub packet_id: PacketId,
    /// The signed checkpoint every proof is against.
    pub checkpoint: String,
    pub entries: Vec<ProvenEntry>,
    /// Whether every entry about the packet is included (false past 1000 entries).
    pub complete: bool,
}

// Saved as it is, it is the receipt file `hongbao verify receipt` reads.
/// A receipt anyone can verify offline with the log's public key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiptView {
    /// Base64 of the entry's exact logged bytes.
    pub entry: String,
    /// The C2SP tlog-proof text (c2sp.org/tlog-proof@v1): index, inclusion proof, signed checkpoint.
    pub proof: String,
    /// The entry as readable JSON.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub decoded: serde_json::Value,
}
