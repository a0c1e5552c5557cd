//! What a command that succeeded answers: [`Reply`] and the answer types it holds.
//!
//! Each answer type converts from a [`Reply`] (`TryFrom<Reply>`, generated once below for every
//! variant), so a caller names the answer it expects and gets that type, or the reply back when
//! the command answered another kind — a bug, handled in one place by whoever runs commands.

use serde::{Deserialize, Serialize};

use crate::case::{Case, Report};
use crate::fairness::Salt;
use crate::freeze::FreezeView;
use crate::id::{CaseId, ClaimId, DocumentId, KeyId, PacketId, TransferId, UserId};
use crate::money::Fen;
use crate::packet::{Claim, ClaimReceipt, ClaimStatus, PacketStatus, PacketView};
use crate::principal::{Role, Secret};
use crate::returns::ReturnRequest;
use crate::seizure::SeizureView;
use crate::time::Timestamp;
use crate::user::{GroupView, MeView};

/// What creating a user answers: the only time the secret is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserCreated {
    pub user_id: UserId,
    pub name: String,
    pub key_id: KeyId,
    pub secret: Secret,
}

/// What creating an operator answers: the only time the secret is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperatorCreated {
    pub name: String,
    pub roles: Vec<Role>,
    pub key_id: KeyId,
    pub secret: Secret,
}

/// What a deposit or withdrawal answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Moved {
    pub transfer_id: TransferId,
    pub balance: Fen,
}

/// What a recall answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recalled {
    pub packet_id: PacketId,
    pub refunded: Fen,
    pub status: PacketStatus,
}

/// A claim with its packet, as revoking or returning it answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimDetail {
    pub claim_id: ClaimId,
    pub packet_id: PacketId,
    pub user_id: UserId,
    pub amount: Fen,
    pub claimed_at: Timestamp,
    pub status: ClaimStatus,
    pub arrives_at: Timestamp,
}

impl ClaimDetail {
    pub(crate) fn new(claim: &Claim) -> ClaimDetail {
        ClaimDetail {
            claim_id: claim.id,
            packet_id: claim.packet_id,
            user_id: claim.user_id,
            amount: claim.amount,
            claimed_at: claim.claimed_at,
            status: claim.status,
            arrives_at: claim.arrives_at,
        }
    }
}

/// Where a user-to-user transfer stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TransferStatus {
    Arrived,
    Pending,
    Revoked,
}

impl TransferStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            TransferStatus::Arrived => "arrived",
            TransferStatus::Pending => "pending",
            TransferStatus::Revoked => "revoked",
        }
    }
}

/// What a user-to-user transfer, or revoking one, answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransferReceipt {
    pub transfer_id: TransferId,
    pub status: TransferStatus,
    pub arrives_at: Timestamp,
    /// The payee rating's notices (and, when confirmed, what was confirmed); left out when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::warning::Warning>,
}

/// What registering a document answers: what the log recorded of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DocumentRegistered {
    pub document_id: DocumentId,
    /// SHA-256 of `"hongbao/document/v1\n"`, the salt and the file's SHA-256 (64 hex digits).
    pub commitment: String,
}

/// What revealing a document answers: everything needed to recompute its commitment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DocumentRevealed {
    pub document_id: DocumentId,
    pub commitment: String,
    /// 64 lowercase hex digits.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub salt: Salt,
    /// The file's SHA-256, 64 lowercase hex digits.
    pub sha256: String,
    pub revealed_at: Timestamp,
}

/// What a signal answers (`202 Accepted`): whether the login came from a region not seen lately,
/// and the case the anomaly rule opened when it fired.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignalAccepted {
    pub user_id: UserId,
    pub new_region: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<CaseId>,
}

/// The answer to a command that succeeded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    User(UserCreated),
    Operator(OperatorCreated),
    Group(GroupView),
    Moved(Moved),
    Packet(PacketView),
    Claimed(ClaimReceipt),
    Recalled(Recalled),
    Claim(ClaimDetail),
    Transfer(TransferReceipt),
    Me(MeView),
    DocumentRegistered(DocumentRegistered),
    DocumentRevealed(DocumentRevealed),
    Freeze(FreezeView),
    Seizure(SeizureView),
    Report(Report),
    Case(Case),
    Signal(SignalAccepted),
    ReturnRequest(ReturnRequest),
    /// Background work: whether anything was due.
    Settled {
        changed: bool,
    },
}

/// `From<T> for Reply` and `TryFrom<Reply> for T`, for each `Variant(T)` of [`Reply`].
macro_rules! typed_replies {
    ($($variant:ident($answer:ty)),* $(,)?) => {
        $(
            impl From<$answer> for Reply {
                fn from(answer: $answer) -> Reply {
                    Reply::$variant(answer)
                }
            }

            impl TryFrom<Reply> for $answer {
                type Error = Reply;

                fn try_from(reply: Reply) -> Result<$answer, Reply> {
                    match reply {
                        Reply::$variant(answer) => Ok(answer),
                        other => Err(other),
                    }
                }
            }
        )*
    };
}

typed_replies! {
    User(UserCreated),
    Operator(OperatorCreated),
    Group(GroupView),
    Moved(Moved),
    Packet(PacketView),
    Claimed(ClaimReceipt),
    Recalled(Recalled),
    Claim(ClaimDetail),
    Transfer(TransferReceipt),
    Me(MeView),
    DocumentRegistered(DocumentRegistered),
    DocumentRevealed(DocumentRevealed),
    Freeze(FreezeView),
    Seizure(SeizureView),
    Report(Report),
    Case(Case),
    Signal(SignalAccepted),
    ReturnRequest(ReturnRequest),
}

impl Reply {
    /// The reply's kind, as its JSON tag says it (`user`, `packet`, …): for messages.
    pub const fn kind(&self) -> &'static str {
        match self {
            Reply::User(_) => "user",
            Reply::Operator(_) => "operator",
            Reply::Group(_) => "group",
            Reply::Moved(_) => "moved",
            Reply::Packet(_) => "packet",
            Reply::Claimed(_) => "claimed",
            Reply::Recalled(_) => "recalled",
            Reply::Claim(_) => "claim",
            Reply::Transfer(_) => "transfer",
            Reply::Me(_) => "me",
            Reply::DocumentRegistered(_) => "document_registered",
            Reply::DocumentRevealed(_) => "document_revealed",
            Reply::Freeze(_) => "freeze",
            Reply::Seizure(_) => "seizure",
            Reply::Report(_) => "report",
            Reply::Case(_) => "case",
            Reply::Signal(_) => "signal",
            Reply::ReturnRequest(_) => "return_request",
            Reply::Settled { .. } => "settled",
        }
    }
}
