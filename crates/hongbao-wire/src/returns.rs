//! Return requests (docs/API.md "Return requests and disputes"): what a payer sends to ask for
//! money back, what the payee sends to decline, and the page of a user's requests. A request's
//! own JSON is the core's [`ReturnRequest`], re-exported here.

use hongbao_core::UserId;
use hongbao_core::case::Payment;
pub use hongbao_core::returns::{ReturnNote, ReturnRequest, ReturnRole, ReturnStatus};
use serde::{Deserialize, Serialize};

/// Asks the payee of a payment to give back all or part of it (`POST /v1/return-requests`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "target": "trf_0190f0a0b0c0d0e0f000000000000009",
    "amount": 5000,
    "message": "I sent this by mistake, it was meant for my sister. Please send it back.",
    "mediator": "usr_0190f0a0b0c0d0e0f000000000000003"
})))]
pub struct OpenReturnRequestBody {
    /// A transfer (`trf_…`) you made to the payee, or a claim (`clm_…`) the payee made on your
    /// packet, that has arrived.
    pub target: Payment,
    /// Fen, at least 1 and at most what of the target has not come back; all of that when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub amount: Option<i64>,
    /// To the payee, 1 to 2 000 characters (line breaks allowed).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 2000))]
    pub message: String,
    /// A common friend who shares a group with both of you: sees the request and may add notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mediator: Option<UserId>,
}

/// The payee's word when declining.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"message": "This was the rent you owed me."})))]
pub struct DeclineReturnRequestBody {
    /// 1 to 2 000 characters (line breaks allowed).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 2000))]
    pub message: String,
}

/// Which of the caller's return requests, and the page (`GET /v1/me/return-requests`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ReturnRequestsParams {
    /// Those the caller asked (`payer`), was asked (`payee`) or mediates (`mediator`); all three
    /// when absent.
    pub role: Option<ReturnRole>,
    /// 1 to 100 items (default 20).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of return requests, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReturnRequestsPage {
    pub items: Vec<ReturnRequest>,
    /// Pass as `cursor` for the next (older) page; `null` on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}
