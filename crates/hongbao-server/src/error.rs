//! The one error shape of docs/API.md: `{"error": {"code", "message", …}}` with the right status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hongbao_core::CoreError;
use hongbao_engine::EngineError;
use hongbao_wire::{ErrorBody, ErrorObject};
use serde_json::{Map, Value};

/// An error answer. Building one changes nothing; it is logged by the request middleware.
#[derive(Clone, Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Extra machine-readable detail, inside the `error` object (e.g. `reason`).
    pub detail: Map<String, Value>,
    /// Seconds after which a rate-limited client may try again.
    pub retry_after_s: Option<u64>,
    /// Whether the answer closes the connection (`Connection: close`).
    pub close: bool,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), detail: Map::new(), retry_after_s: None, close: false }
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    pub fn payload_too_large(limit_bytes: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is larger than {limit_bytes} bytes"),
        )
    }

    /// The body did not arrive in time. The answer closes the connection (`close`), since the
    /// rest of the body will not be read.
    pub fn request_timeout(timeout: std::time::Duration) -> ApiError {
        let mut error = ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!("the request body did not arrive within {} ms", timeout.as_millis()),
        );
        error.close = true;
        error
    }

    pub fn overloaded() -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", "the service is overloaded; try again shortly")
    }

    pub fn rate_limited(retry_after_s: u64) -> ApiError {
        let mut err = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests from this key; try again in {retry_after_s} s"),
        );
        err.retry_after_s = Some(retry_after_s);
        err.detail.insert("retry_after_seconds".to_owned(), retry_after_s.into());
        err
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> ApiError {
        self.detail.insert(key.to_owned(), value.into());
        self
    }
}

impl From<CoreError> for ApiError {
    fn from(err: CoreError) -> Self {
        let status = match &err {
            CoreError::InvalidRequest { .. } | CoreError::InvalidFreeze { .. } => StatusCode::BAD_REQUEST,
            CoreError::NotFound { .. } => StatusCode::NOT_FOUND,
            CoreError::Forbidden { .. } | CoreError::FourEyes | CoreError::RiskBlocked { .. } => StatusCode::FORBIDDEN,
            CoreError::PacketExpired => StatusCode::GONE,
            CoreError::AccountFrozen { .. } => StatusCode::LOCKED,
            CoreError::AlreadyClaimed
            | CoreError::PacketExhausted
            | CoreError::PacketRecalled
            | CoreError::PacketVoided
            | CoreError::RecallNotAllowed { .. }
            | CoreError::NotPending
            | CoreError::InsufficientFunds { .. }
            | CoreError::Conflict { .. }
            | CoreError::InvalidState { .. }
            | CoreError::RiskConfirmationRequired { .. } => StatusCode::CONFLICT,
        };
        let api = ApiError::new(status, err.code(), err.to_string());
        match err {
            CoreError::RecallNotAllowed { reason } => api.with("reason", reason.as_str()),
            CoreError::AccountFrozen { reason } => api.with("reason", reason.as_str()),
            CoreError::InvalidFreeze { reason, .. } => api.with("reason", reason.as_str()),
            CoreError::FourEyes => api.with("reason", "four_eyes"),
            CoreError::InvalidState { reason, .. } => api.with("reason", reason),
            CoreError::InsufficientFunds { needed, available } => {
                api.with("needed", needed.get()).with("available", available.get())
            }
            CoreError::RiskBlocked { warnings } => api.with("warnings", warnings_json(&warnings)),
            // The route that sent the payment turns the id into a token bound to the caller
            // (`routes::warnings`) before the answer goes out.
            CoreError::RiskConfirmationRequired { warnings, confirmation } => api
                .with("warnings", warnings_json(&warnings))
                .with(crate::routes::warnings::CONFIRMATION_ID, confirmation.simple().to_string()),
            _ => api,
        }
    }
}

fn warnings_json(warnings: &[hongbao_core::warning::Warning]) -> Value {
    serde_json::to_value(warnings).unwrap_or(Value::Null)
}

impl From<EngineError> for ApiError {
    fn from(err: EngineError) -> Self {
        match err {
            EngineError::Refused(err) => err.into(),
            EngineError::IdempotencyKeyReused => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was already used with a different request",
            ),
            EngineError::SecretShownOnce { key_id, user_id } => {
                let api = ApiError::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    format!(
                        "this request was already applied and created key {key_id}; its secret was shown once, when \
                         it was created, and is not kept"
                    ),
                )
                .with("reason", "secret_shown_once")
                .with("key_id", key_id.to_string());
                match user_id {
                    Some(user) => api.with("user_id", user.to_string()),
                    None => api,
                }
            }
            EngineError::Overloaded => ApiError::overloaded(),
            // Storage trouble is not the client's fault and may pass: say so, and that nothing
            // was applied, rather than pretending to be overloaded.
            EngineError::Unavailable(_) | EngineError::Stopped => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the service cannot reach its storage right now; nothing was applied, try again shortly",
            ),
            EngineError::Config(message) | EngineError::Internal(message) => ApiError::internal(message),
            EngineError::Audit(err) => err.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            ErrorBody { error: ErrorObject { code: self.code.to_owned(), message: self.message, detail: self.detail } };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after_s
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if self.close {
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response.extensions_mut().insert(ErrorCode(self.code));
        response
    }
}

/// The code of an error answer, for the request log and metrics.
#[derive(Clone, Copy, Debug)]
pub struct ErrorCode(pub &'static str);
