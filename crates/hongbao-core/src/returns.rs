//! Return requests (协商退还): a payer asks the payee to give back money that arrived; nobody
//! can take it. The payee accepts (the money moves back at once, to the original payer's wallet
//! and nowhere else), declines, or lets it expire; the payer may withdraw it; a mediator — a
//! common friend who shares a group with both (第三方调解) — sees it and adds notes.
//!
//! A return is always the reversal of its target: of a transfer the payer made to the payee, or
//! of a share the payee claimed from the payer's packet. What may still be returned of a target
//! is its amount less every return accepted for it, so several partial returns never add up to
//! more than was paid.

use serde::{Deserialize, Serialize};

use crate::case::Payment;
use crate::id::{ReturnRequestId, TransferId, UserId};
use crate::money::Fen;
use crate::time::Timestamp;

/// The most requests one payment may have had (open and closed): asking again and again is not
/// a way to wear the payee down.
pub const RETURNS_PER_TARGET_MAX: usize = 20;
/// The most notes one request keeps.
pub const RETURN_NOTES_MAX: usize = 50;

/// The numbers of return requests (`[limits.returns]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReturnRules {
    /// How long a request stays open before it expires by itself (7 days).
    pub request_open_s: u32,
}

impl Default for ReturnRules {
    fn default() -> Self {
        ReturnRules { request_open_s: 7 * 24 * 3_600 }
    }
}

impl ReturnRules {
    /// Checks that the numbers make sense.
    ///
    /// # Errors
    /// What is wrong, in words.
    pub fn validate(&self) -> Result<(), String> {
        if !(3_600..=90 * 24 * 3_600).contains(&self.request_open_s) {
            return Err("returns.request_open_s must be between 3600 (an hour) and 7776000 (90 days)".to_owned());
        }
        Ok(())
    }
}

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ReturnStatus {
    Open,
    Accepted,
    Declined,
    Withdrawn,
    Expired,
}

impl ReturnStatus {
    pub const ALL: [ReturnStatus; 5] = [
        ReturnStatus::Open,
        ReturnStatus::Accepted,
        ReturnStatus::Declined,
        ReturnStatus::Withdrawn,
        ReturnStatus::Expired,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ReturnStatus::Open => "open",
            ReturnStatus::Accepted => "accepted",
            ReturnStatus::Declined => "declined",
            ReturnStatus::Withdrawn => "withdrawn",
            ReturnStatus::Expired => "expired",
        }
    }

    /// The status a stored name names, if any.
    pub fn from_name(name: &str) -> Option<ReturnStatus> {
        ReturnStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// Who a user is to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ReturnRole {
    Payer,
    Payee,
    Mediator,
}

impl ReturnRole {
    pub const fn as_str(self) -> &'static str {
        match self {
            ReturnRole::Payer => "payer",
            ReturnRole::Payee => "payee",
            ReturnRole::Mediator => "mediator",
        }
    }
}

/// A note on a request, by its payer, payee or mediator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReturnNote {
    pub by: UserId,
    pub at: Timestamp,
    pub text: String,
}

/// A request to give money back. Its JSON form is what the API shows to the three parties and
/// what the stores keep.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReturnRequest {
    #[serde(rename = "request_id")]
    pub id: ReturnRequestId,
    /// The transfer (`trf_…`) or claim (`clm_…`) whose money is asked back.
    pub target: Payment,
    /// Who paid, and gets the money back.
    pub payer: UserId,
    /// Who received it, and alone can give it back.
    pub payee: UserId,
    /// What is asked back: at most what of the target had not come back when it was opened.
    pub amount: Fen,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mediator: Option<UserId>,
    pub status: ReturnStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<ReturnNote>,
    /// The payee's word when declining.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_message: Option<String>,
    /// The transfer that gave the money back, once accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_transfer_id: Option<TransferId>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
}

impl ReturnRequest {
    pub fn is_open(&self) -> bool {
        self.status == ReturnStatus::Open
    }

    /// What `user` is to the request, if anything.
    pub fn role_of(&self, user: UserId) -> Option<ReturnRole> {
        if user == self.payer {
            Some(ReturnRole::Payer)
        } else if user == self.payee {
            Some(ReturnRole::Payee)
        } else if self.mediator == Some(user) {
            Some(ReturnRole::Mediator)
        } else {
            None
        }
    }

    /// The request as it stands at `now`: one still stored open past its `expires_at` has
    /// expired, whether or not the job that records it has run yet (it closes it as of then).
    #[must_use]
    pub fn as_of(mut self, now: Timestamp) -> ReturnRequest {
        if self.is_open() && now >= self.expires_at {
            self.status = ReturnStatus::Expired;
            self.closed_at = Some(self.expires_at);
        }
        self
    }

    /// The money this request gave back.
    pub fn returned(&self) -> Fen {
        if self.status == ReturnStatus::Accepted { self.amount } else { Fen::ZERO }
    }
}

/// What of a payment has come back through its accepted requests.
pub fn returned_of<'a>(requests: impl IntoIterator<Item = &'a ReturnRequest>) -> Result<Fen, crate::money::MoneyError> {
    requests.into_iter().try_fold(Fen::ZERO, |sum, r| sum.checked_add(r.returned()))
}
