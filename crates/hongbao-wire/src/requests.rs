//! What clients send: request bodies (JSON, unknown fields refused) and query parameters.
//!
//! Amounts are JSON integers of fen, read as `i64` so that a negative or zero amount reaches
//! the core's rules and is refused there with the API's message, not as a decoding error.
//! Optional fields left `None` are left out of a serialized body, so the server's default applies.

use hongbao_core::case::{CaseKind, CaseOutcome, CaseStatus, Payment};
use hongbao_core::document::DocumentKind;
use hongbao_core::freeze::FreezeStatus;
use hongbao_core::ops::PacketSpec;
use hongbao_core::principal::Role;
use hongbao_core::risk::FreezeKind;
use hongbao_core::seizure::{SeizureStatus, SeizureTarget};
use hongbao_core::signal::Signal;
use hongbao_core::{DocumentId, EvidenceId, Fen, FreezeId, GroupId, Timestamp, UserId};
use serde::{Deserialize, Serialize};

/// Creates a user with their first signing key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"name": "alice"})))]
pub struct CreateUserRequest {
    /// 1 to 64 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub name: String,
}

/// Creates an operator: a key with roles.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"name": "risk desk", "roles": ["risk_officer"]})))]
pub struct CreateOperatorRequest {
    /// 1 to 64 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub name: String,
    /// At least one of `admin`, `risk_officer`, `legal_officer`, `auditor`.
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub roles: Vec<Role>,
}

/// Why an operator acts: recorded with the action (the log names the officer), never shown to
/// the user it concerns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"reason": "three fraud reports with evidence"})))]
pub struct ReasonRequest {
    /// 1 to 500 characters, not blank.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 500))]
    pub reason: String,
}

/// Why an officer reveals a document: optional, and so is the body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"reason": "the court published its ruling"})))]
pub struct RevealRequest {
    /// 1 to 500 characters, not blank.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 500))]
    pub reason: Option<String>,
}

/// An amount in fen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"amount": 10000})))]
pub struct AmountRequest {
    /// Integer fen, at least 1 (a deposit at most `limits.deposit_max_fen`, ¥10 000 000 by default).
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub amount: i64,
}

impl AmountRequest {
    pub fn new(amount: Fen) -> AmountRequest {
        AmountRequest { amount: amount.get() }
    }
}

/// Paging of the history.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct HistoryParams {
    /// 1 to 100 items (default 20).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"name": "family", "members": ["usr_0190f0a0b0c0d0e0f000000000000001"]})))]
pub struct CreateGroupRequest {
    /// 1 to 64 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub name: String,
    /// Other members; the caller is always a member. At most 500 in all.
    #[cfg_attr(feature = "openapi", schema(max_items = 499))]
    pub members: Vec<UserId>,
}

/// A red packet to send: `normal` (equal shares), `lucky` (random shares) or `exclusive` (one
/// recipient).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"kind": "lucky", "group_id": "grp_0190f0a0b0c0d0e0f000000000000001", "count": 3, "total": 1000, "greeting": "恭喜发财"})))]
pub enum SendPacketRequest {
    Normal {
        group_id: GroupId,
        /// 1 to 100, and at most the group's size.
        #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
        count: u32,
        /// Fen per share, 1 to 20 000.
        #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 20_000))]
        amount_each: i64,
        /// At most 64 characters.
        #[cfg_attr(feature = "openapi", schema(max_length = 64))]
        #[serde(skip_serializing_if = "Option::is_none")]
        greeting: Option<String>,
        /// 0 (default), 7200 or 86400.
        #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 86_400))]
        #[serde(skip_serializing_if = "Option::is_none")]
        arrival_delay_seconds: Option<u32>,
    },
    Lucky {
        group_id: GroupId,
        /// 1 to 100, and at most the group's size.
        #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
        count: u32,
        /// Fen to split, at least 1 per share and at most 20 000 per share.
        #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 2_000_000))]
        total: i64,
        /// At most 64 characters.
        #[cfg_attr(feature = "openapi", schema(max_length = 64))]
        #[serde(skip_serializing_if = "Option::is_none")]
        greeting: Option<String>,
        /// 0 (default), 7200 or 86400.
        #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 86_400))]
        #[serde(skip_serializing_if = "Option::is_none")]
        arrival_delay_seconds: Option<u32>,
    },
    Exclusive {
        recipient: UserId,
        /// Fen, 1 to 20 000.
        #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 20_000))]
        amount: i64,
        /// At most 64 characters.
        #[cfg_attr(feature = "openapi", schema(max_length = 64))]
        #[serde(skip_serializing_if = "Option::is_none")]
        greeting: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        arrival_delay_seconds: Option<u32>,
        /// The `confirmation_token` of a `409 risk_confirmation_required` answer to this same
        /// request: the payer was warned and goes on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(max_length = 200))]
        risk_confirmation: Option<String>,
    },
}

impl SendPacketRequest {
    /// The body that sends `spec` with these options.
    pub fn new(spec: &PacketSpec, greeting: Option<String>, arrival_delay_seconds: Option<u32>) -> SendPacketRequest {
        match *spec {
            PacketSpec::Normal { group_id, count, amount_each } => SendPacketRequest::Normal {
                group_id,
                count,
                amount_each: amount_each.get(),
                greeting,
                arrival_delay_seconds,
            },
            PacketSpec::Lucky { group_id, count, total } => {
                SendPacketRequest::Lucky { group_id, count, total: total.get(), greeting, arrival_delay_seconds }
            }
            PacketSpec::Exclusive { recipient, amount } => SendPacketRequest::Exclusive {
                recipient,
                amount: amount.get(),
                greeting,
                arrival_delay_seconds,
                risk_confirmation: None,
            },
        }
    }

    /// The confirmation token an exclusive packet's request carries, and the request without it
    /// (what the token is bound to).
    pub fn take_confirmation(&mut self) -> Option<String> {
        match self {
            SendPacketRequest::Exclusive { risk_confirmation, .. } => risk_confirmation.take(),
            SendPacketRequest::Normal { .. } | SendPacketRequest::Lucky { .. } => None,
        }
    }

    /// Carries `token`, when it is an exclusive packet's request.
    #[must_use]
    pub fn confirmed(mut self, token: Option<String>) -> SendPacketRequest {
        if let SendPacketRequest::Exclusive { risk_confirmation, .. } = &mut self {
            *risk_confirmation = token;
        }
        self
    }

    /// The packet asked for, its greeting and its arrival delay.
    pub fn into_parts(self) -> (PacketSpec, Option<String>, Option<u32>) {
        match self {
            SendPacketRequest::Normal { group_id, count, amount_each, greeting, arrival_delay_seconds } => (
                PacketSpec::Normal { group_id, count, amount_each: Fen::new(amount_each) },
                greeting,
                arrival_delay_seconds,
            ),
            SendPacketRequest::Lucky { group_id, count, total, greeting, arrival_delay_seconds } => {
                (PacketSpec::Lucky { group_id, count, total: Fen::new(total) }, greeting, arrival_delay_seconds)
            }
            SendPacketRequest::Exclusive { recipient, amount, greeting, arrival_delay_seconds, .. } => {
                (PacketSpec::Exclusive { recipient, amount: Fen::new(amount) }, greeting, arrival_delay_seconds)
            }
        }
    }
}

/// Money to another user (转账).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"to": "usr_0190f0a0b0c0d0e0f000000000000001", "amount": 1234, "note": "dinner"})))]
pub struct TransferRequest {
    pub to: UserId,
    /// Fen, at least 1.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub amount: i64,
    /// At most 64 characters.
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// 0 (default), 7200 or 86400.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 86_400))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arrival_delay_seconds: Option<u32>,
    /// The `confirmation_token` of a `409 risk_confirmation_required` answer to this same request:
    /// the payer was warned and goes on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub risk_confirmation: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"advance_seconds": 86400})))]
pub struct DevClockRequest {
    /// Seconds to move the business clock forward, at least 1; the clock runs at most ten years
    /// ahead of real time.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 4_294_967_295_u32))]
    pub advance_seconds: u32,
}

// ----- risk control and legal holds ----------------------------------------------------------

/// Registers a legal document (legal_officer, risk_officer). The log records only its
/// commitment; the authority and reference are kept for the officers (and shown to the user
/// concerned unless `confidential`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "kind": "assistance_notice",
    "authority": "深圳市南山区人民法院",
    "reference": "(2026)粤0305执保123号",
    "issued_at": "2026-12-01T09:30:00.000Z",
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "evidence_id": "evd_0190f0a0b0c0d0e0f000000000000001",
    "confidential": true
})))]
pub struct RegisterDocumentRequest {
    pub kind: DocumentKind,
    /// Who issued it: 1 to 200 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub authority: String,
    /// Its number, as the authority wrote it: 1 to 200 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub reference: String,
    /// When it was issued (RFC 3339); not in the future.
    pub issued_at: Timestamp,
    /// The SHA-256 of the paper's scan, 64 hex digits.
    #[cfg_attr(feature = "openapi", schema(min_length = 64, max_length = 64))]
    pub sha256: String,
    /// The scan as an evidence file the caller uploaded, whose SHA-256 must be `sha256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_id: Option<EvidenceId>,
    /// Whether the authority and reference are withheld from the user it concerns.
    pub confidential: bool,
}

/// Places a freeze: a court, police or emergency freeze by a legal officer, citing the documents
/// its kind needs; a precautionary one by a risk officer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "user_id": "usr_0190f0a0b0c0d0e0f000000000000002",
    "kind": "court",
    "amount": 500000,
    "reason": "civil preservation order",
    "documents": ["doc_0190f0a0b0c0d0e0f000000000000003", "doc_0190f0a0b0c0d0e0f000000000000004"]
})))]
pub struct PlaceFreezeRequest {
    pub user_id: UserId,
    pub kind: FreezeKind,
    /// Integer fen, at least 1; left out: the whole wallet and everything that arrives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub amount: Option<i64>,
    /// 1 to 500 characters: why (never shown to the user).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 500))]
    pub reason: String,
    /// Registered documents (`POST /v1/documents`), at most 16.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(max_items = 16))]
    pub documents: Vec<DocumentId>,
    /// When it ends (default: the longest term of its kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// A police freeze in a major case may last a year.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub major_case: bool,
}

/// Releases a freeze, or `amount` of what it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "reason": "the court lifted the preservation order",
    "documents": ["doc_0190f0a0b0c0d0e0f000000000000005"]
})))]
pub struct ReleaseFreezeRequest {
    /// 1 to 500 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 500))]
    pub reason: String,
    /// Integer fen, at most what it holds; left out: all of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub amount: Option<i64>,
    /// Registered documents; a court or police freeze needs a `release_notice`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(max_items = 16))]
    pub documents: Vec<DocumentId>,
}

/// Renews a freeze before it ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "reason": "the court renewed the preservation",
    "documents": ["doc_0190f0a0b0c0d0e0f000000000000006"],
    "expires_at": "2027-12-01T00:00:00.000Z"
})))]
pub struct RenewFreezeRequest {
    /// 1 to 500 characters; left out, the documents cited are the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 500))]
    pub reason: Option<String>,
    /// Registered documents; a court, police or emergency freeze needs one it did not cite before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(max_items = 16))]
    pub documents: Vec<DocumentId>,
    /// The new end: after the current one, at most one term of its kind past it.
    pub expires_at: Timestamp,
}

/// Converts a precautionary or emergency freeze into a court or police one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "kind": "court",
    "reason": "the court ordered the preservation",
    "documents": ["doc_0190f0a0b0c0d0e0f000000000000003", "doc_0190f0a0b0c0d0e0f000000000000004"]
})))]
pub struct ConvertFreezeRequest {
    /// `court` or `police`.
    pub kind: FreezeKind,
    /// 1 to 500 characters; left out, the documents cited are the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 500))]
    pub reason: Option<String>,
    /// Registered documents, as placing a freeze of `kind` needs.
    #[cfg_attr(feature = "openapi", schema(max_items = 16))]
    pub documents: Vec<DocumentId>,
    /// When the new freeze ends (default: the longest term of its kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

/// Proposes a forced transfer of frozen money (legal_officer); a different legal officer approves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "freeze_id": "frz_0190f0a0b0c0d0e0f000000000000007",
    "amount": 300000,
    "to": "usr_0190f0a0b0c0d0e0f000000000000001",
    "reason": "the court ordered the money returned to the victim",
    "documents": ["doc_0190f0a0b0c0d0e0f000000000000008"]
})))]
pub struct ProposeSeizureRequest {
    pub freeze_id: FreezeId,
    /// Integer fen, at least 1, at most what the freeze holds.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub amount: i64,
    /// A user id, or `"external"`.
    pub to: SeizureTarget,
    /// 1 to 500 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 500))]
    pub reason: String,
    /// Registered documents, among them a `transfer_order`.
    #[cfg_attr(feature = "openapi", schema(max_items = 16))]
    pub documents: Vec<DocumentId>,
}

/// Which forced transfers to list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct SeizuresParams {
    /// Only those of this status (`awaiting_approval`: the approvals inbox).
    pub status: Option<SeizureStatus>,
}

/// A fraud report (举报) by a user who paid the subject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "subject": "usr_0190f0a0b0c0d0e0f000000000000002",
    "transfers": ["trf_0190f0a0b0c0d0e0f000000000000009"],
    "description": "He sold me a concert ticket, took the money and blocked me.",
    "evidence": ["evd_0190f0a0b0c0d0e0f00000000000000a"]
})))]
pub struct FileReportRequest {
    /// The user reported.
    pub subject: UserId,
    /// The transfers (`trf_…`) by which you paid them, or the claims (`clm_…`) they made on your
    /// packets: 1 to 100, each money you paid them that did not come back.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 100))]
    pub transfers: Vec<Payment>,
    /// What happened, 1 to 2 000 characters (line breaks allowed).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 2000))]
    pub description: String,
    /// Evidence files you uploaded (`POST /v1/evidence`), at most 20.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 20))]
    pub evidence: Vec<EvidenceId>,
}

/// What an app tells risk control about a user (`POST /v1/risk/signals`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "user_id": "usr_0190f0a0b0c0d0e0f000000000000002",
    "kind": "login",
    "region": "CN-GD",
    "device_id": "a1b2c3d4"
})))]
pub struct SignalRequest {
    pub user_id: UserId,
    pub kind: SignalKind,
    /// Where the login came from, as the app names regions (compared exactly): 1 to 64
    /// characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub region: String,
    /// The device logged in from: 1 to 64 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub device_id: String,
}

/// The kinds of signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SignalKind {
    Login,
}

impl SignalRequest {
    pub fn new(user_id: UserId, signal: &Signal) -> SignalRequest {
        let Signal::Login { region, device_id } = signal;
        SignalRequest { user_id, kind: SignalKind::Login, region: region.clone(), device_id: device_id.clone() }
    }

    /// The user and the signal about them.
    pub fn into_parts(self) -> (UserId, Signal) {
        match self.kind {
            SignalKind::Login => (self.user_id, Signal::Login { region: self.region, device_id: self.device_id }),
        }
    }
}

/// Whose reports to list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ReportsParams {
    /// The user reported.
    pub subject: UserId,
}

/// Which cases to list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct CasesParams {
    pub status: Option<CaseStatus>,
    pub kind: Option<CaseKind>,
}

/// A note on a case's timeline or a return request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"text": "Called the subject; he says the tickets were sent."})))]
pub struct NoteRequest {
    /// 1 to 2 000 characters (line breaks allowed).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 2000))]
    pub text: String,
}

/// Closes a case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "outcome": "dismissed",
    "reason": "the payments were for goods the subject delivered"
})))]
pub struct CloseCaseRequest {
    /// `upheld` (what is held stays held, for the law to take over) or `dismissed` (its
    /// precautionary freezes are released).
    pub outcome: CaseOutcome,
    /// 1 to 500 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 500))]
    pub reason: String,
}

/// Which freezes to list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct FreezesParams {
    /// The user whose freezes to list (all of theirs); left out, the newest 100 across users.
    pub user_id: Option<UserId>,
    pub status: Option<FreezeStatus>,
    pub kind: Option<FreezeKind>,
}

// ----- the transparency log's query parameters ---------------------------------------------

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct EntriesParams {
    /// The first index (default 0).
    pub start: Option<u64>,
    /// At most this many, 1 to 1000 (default 100).
    pub limit: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct InclusionParams {
    pub index: u64,
    /// The tree size (default: the latest checkpoint's).
    pub size: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ConsistencyParams {
    /// The earlier tree size.
    pub old: u64,
    /// The later tree size (default: the latest checkpoint's).
    pub new: Option<u64>,
}

#[cfg(test)]
mod tests {
    use hongbao_core::ops::PacketSpec;
    use hongbao_core::{Fen, GroupId, UserId};

    use super::*;

    #[test]
    fn a_packet_body_carries_its_spec_and_gives_it_back() {
        let group: GroupId = "grp_0190f0a0b0c0d0e0f000000000000000".parse().unwrap();
        let user: UserId = "usr_0190f0a0b0c0d0e0f000000000000001".parse().unwrap();
        let specs = [
            PacketSpec::Normal { group_id: group, count: 2, amount_each: Fen::new(50) },
            PacketSpec::Lucky { group_id: group, count: 3, total: Fen::new(1000) },
            PacketSpec::Exclusive { recipient: user, amount: Fen::new(7) },
        ];
        for spec in specs {
            let body = SendPacketRequest::new(&spec, Some("大吉".to_owned()), Some(7200));
            let json = serde_json::to_string(&body).unwrap();
            let read: SendPacketRequest = serde_json::from_str(&json).unwrap();
            assert_eq!(read.into_parts(), (spec, Some("大吉".to_owned()), Some(7200)), "{json}");
        }
    }

    #[test]
    fn options_left_out_are_not_sent_and_unknown_fields_are_refused() {
        let group: GroupId = "grp_0190f0a0b0c0d0e0f000000000000000".parse().unwrap();
        let spec = PacketSpec::Lucky { group_id: group, count: 3, total: Fen::new(1000) };
        let json = serde_json::to_value(SendPacketRequest::new(&spec, None, None)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "lucky", "group_id": group.to_string(), "count": 3, "total": 1000})
        );
        let extra = serde_json::json!({"to": "usr_0190f0a0b0c0d0e0f000000000000001", "amount": 1, "memo": "x"});
        assert!(serde_json::from_value::<TransferRequest>(extra).is_err());
    }
}
