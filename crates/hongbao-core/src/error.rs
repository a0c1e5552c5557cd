//! The domain's refusals. Each maps to one API error code; none carries a secret.

use serde::{Deserialize, Serialize};

use crate::money::{Fen, MoneyError};

/// Why a sender may not recall a packet, in the order the rules check them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RecallRefusal {
    /// The packet is no longer active (exhausted, expired, recalled or voided).
    NotActive,
    /// Lucky packets are never recallable.
    LuckyPacket,
    /// Someone has claimed a share.
    Claimed,
    /// A recipient has opened it.
    Touched,
}

impl RecallRefusal {
    /// The refusal in words, for people.
    pub const fn explain(self) -> &'static str {
        match self {
            RecallRefusal::NotActive => "this packet is no longer active, so there is nothing to recall",
            RecallRefusal::LuckyPacket => "lucky packets can never be recalled",
            RecallRefusal::Claimed => "someone has already claimed a share of this packet",
            RecallRefusal::Touched => "a recipient has already opened this packet",
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            RecallRefusal::NotActive => "not_active",
            RecallRefusal::LuckyPacket => "lucky_packet",
            RecallRefusal::Claimed => "claimed",
            RecallRefusal::Touched => "touched",
        }
    }
}

/// Why money may not leave an account (`423 account_frozen`, its `reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FrozenReason {
    /// Risk control locked the user: they may receive money but not pay or claim.
    Locked,
    /// The money is there but a freeze holds it.
    Held,
}

impl FrozenReason {
    pub const fn explain(self) -> &'static str {
        match self {
            FrozenReason::Locked => {
                "this account is locked by risk control: it can receive money, but cannot send, transfer, withdraw \
                 or claim"
            }
            FrozenReason::Held => "this money is held by a freeze and cannot be spent",
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            FrozenReason::Locked => "locked",
            FrozenReason::Held => "held",
        }
    }
}

/// Why a freeze's terms are refused (`400 invalid_request`, its `reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FreezeRefusal {
    /// The kind of freeze, or its release, must cite a document of a kind it lacks.
    DocumentRequired,
    /// `expires_at` lies beyond the longest term of the kind.
    TermTooLong,
}

impl FreezeRefusal {
    pub const fn as_str(self) -> &'static str {
        match self {
            FreezeRefusal::DocumentRequired => "document_required",
            FreezeRefusal::TermTooLong => "term_too_long",
        }
    }
}

/// A command the rules refuse. Refusing changes nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum CoreError {
    /// The input breaks a limit or is malformed; the message names the limit.
    #[error("{message}")]
    InvalidRequest { message: String },
    /// The thing does not exist, or the caller may not see it (never leak existence).
    #[error("{what} not found")]
    NotFound { what: String },
    /// The caller can see the thing but may not do this to it.
    #[error("{message}")]
    Forbidden { message: String },
    #[error("you have already claimed a share of this packet")]
    AlreadyClaimed,
    #[error("every share of this packet has been claimed")]
    PacketExhausted,
    #[error("this packet was recalled by its sender")]
    PacketRecalled,
    #[error("this packet was voided")]
    PacketVoided,
    #[error("this packet has expired")]
    PacketExpired,
    #[error("{}", reason.explain())]
    RecallNotAllowed { reason: RecallRefusal },
    #[error("only a pending amount can be revoked, and this one is not pending")]
    NotPending,
    #[error("insufficient funds: {needed} needed, {available} available")]
    InsufficientFunds { needed: Fen, available: Fen },
    #[error("{message}")]
    Conflict { message: String },
    #[error("{}", reason.explain())]
    AccountFrozen { reason: FrozenReason },
    /// A forced transfer approved by the officer who proposed it (`403`, `reason: "four_eyes"`).
    #[error("a forced transfer is approved by another legal officer than the one who proposed it")]
    FourEyes,
    /// What the command acts on is no longer in the state it needs (`409 invalid_state`);
    /// `reason` names what it is instead (`expired`, `executed`, `released`, …).
    #[error("{message}")]
    InvalidState { reason: String, message: String },
    /// A freeze's documents or term do not meet its kind's rules; `message` says which.
    #[error("{message}")]
    InvalidFreeze { reason: FreezeRefusal, message: String },
    /// The payee is rated `block` (`403 risk_blocked`): an open fraud case, or an anomaly freeze.
    #[error("this payment is blocked: {}", crate::error::joined_messages(warnings))]
    RiskBlocked { warnings: Vec<crate::warning::Warning> },
    /// The payee is rated `confirm` (`409 risk_confirmation_required`): the same request again
    /// with the confirmation the shell makes of `confirmation` (the id the payment will take)
    /// goes ahead.
    #[error("confirm this payment: {}", crate::error::joined_messages(warnings))]
    RiskConfirmationRequired { warnings: Vec<crate::warning::Warning>, confirmation: uuid::Uuid },
}

/// The messages of `warnings`, in one sentence.
pub(crate) fn joined_messages(warnings: &[crate::warning::Warning]) -> String {
    warnings.iter().map(|w| w.message.as_str()).collect::<Vec<_>>().join("; ")
}

impl CoreError {
    pub fn invalid(message: impl Into<String>) -> CoreError {
        CoreError::InvalidRequest { message: message.into() }
    }

    pub fn not_found(what: impl Into<String>) -> CoreError {
        CoreError::NotFound { what: what.into() }
    }

    pub fn forbidden(message: impl Into<String>) -> CoreError {
        CoreError::Forbidden { message: message.into() }
    }

    pub fn conflict(message: impl Into<String>) -> CoreError {
        CoreError::Conflict { message: message.into() }
    }

    /// The machine-readable code of docs/API.md for this refusal.
    pub const fn code(&self) -> &'static str {
        match self {
            CoreError::InvalidRequest { .. } => "invalid_request",
            CoreError::NotFound { .. } => "not_found",
            CoreError::Forbidden { .. } => "forbidden",
            CoreError::AlreadyClaimed => "already_claimed",
            CoreError::PacketExhausted => "packet_exhausted",
            // A voided packet is taken back by its campaign: to a claimer it is recalled.
            CoreError::PacketRecalled | CoreError::PacketVoided => "packet_recalled",
            CoreError::PacketExpired => "packet_expired",
            CoreError::RecallNotAllowed { .. } => "recall_not_allowed",
            CoreError::NotPending => "not_pending",
            CoreError::InsufficientFunds { .. } => "insufficient_funds",
            CoreError::Conflict { .. } => "conflict",
            CoreError::AccountFrozen { .. } => "account_frozen",
            CoreError::InvalidFreeze { .. } => "invalid_request",
            CoreError::FourEyes => "forbidden",
            CoreError::InvalidState { .. } => "invalid_state",
            CoreError::RiskBlocked { .. } => "risk_blocked",
            CoreError::RiskConfirmationRequired { .. } => "risk_confirmation_required",
        }
    }
}

impl From<MoneyError> for CoreError {
    fn from(err: MoneyError) -> Self {
        CoreError::invalid(err.to_string())
    }
}
