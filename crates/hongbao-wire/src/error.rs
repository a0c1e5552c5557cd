//! The body of every error answer: `{"error": {"code", "message", …}}`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The body of every error answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorObject,
}

/// What went wrong: a stable `code` for machines, a `message` for people, and extra detail
/// such as `reason` (recall refusals) or `needed`/`available` (insufficient funds).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorObject {
    /// One of the codes of docs/API.md, e.g. `invalid_request`, `packet_exhausted`.
    pub code: String,
    pub message: String,
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: Map<String, Value>,
}
