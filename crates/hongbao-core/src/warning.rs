//! Tiered warnings before a payment (分级预警): before a transfer or an exclusive packet, the
//! payee is rated from the `warnings` numbers and the state of risk control.
//!
//! - `notice`: the payer and payee share no group, or the payee's account is younger than
//!   `notice_account_younger_than_s` (7 days): the payment goes ahead, its answer carries the
//!   warnings.
//! - `confirm`: the amount is at least `confirm_amount_min_fen` (¥5 000), or the payee has an open
//!   fraud report: the payment is refused with a confirmation the shell turns into a token bound
//!   to the payer's key and the request; the same request with that token goes ahead, and the
//!   log records that the payer was warned and went on. The token names the id the payment will
//!   take, so it is spent by the payment itself: a second use finds that id taken.
//! - `block`: the payee has an open fraud case or an active anomaly freeze: refused.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why a payee is rated as they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum WarningCode {
    /// `notice`: the payer and payee are in no group together.
    NoSharedGroup,
    /// `notice`: the payee's account is new.
    NewAccount,
    /// `confirm`: a large amount.
    LargeAmount,
    /// `confirm`: someone reported the payee for fraud, and the report is open.
    PayeeReported,
    /// `block`: the payee is the subject of an open fraud case.
    PayeeUnderInvestigation,
    /// `block`: the payee's wallet is held by an anomaly freeze.
    PayeeHeld,
}

impl WarningCode {
    pub const fn as_str(self) -> &'static str {
        match self {
            WarningCode::NoSharedGroup => "no_shared_group",
            WarningCode::NewAccount => "new_account",
            WarningCode::LargeAmount => "large_amount",
            WarningCode::PayeeReported => "payee_reported",
            WarningCode::PayeeUnderInvestigation => "payee_under_investigation",
            WarningCode::PayeeHeld => "payee_held",
        }
    }

    /// The tier it puts a payment in.
    pub const fn tier(self) -> Tier {
        match self {
            WarningCode::NoSharedGroup | WarningCode::NewAccount => Tier::Notice,
            WarningCode::LargeAmount | WarningCode::PayeeReported => Tier::Confirm,
            WarningCode::PayeeUnderInvestigation | WarningCode::PayeeHeld => Tier::Block,
        }
    }
}

/// How serious a warning is, least first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Notice,
    Confirm,
    Block,
}

/// One warning, as the payer is shown it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Warning {
    pub code: WarningCode,
    pub message: String,
}

/// The highest tier of `warnings`, if any.
pub fn tier_of(warnings: &[Warning]) -> Option<Tier> {
    warnings.iter().map(|w| w.code.tier()).max()
}

/// A payer's confirmation, as the shell found it in a valid token: the id the payment takes
/// (the transfer's, or the exclusive packet's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RiskConfirmation {
    pub id: Uuid,
}
