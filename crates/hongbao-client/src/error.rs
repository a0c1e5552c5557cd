//! Everything a call can fail with: the API's own refusals and the ways of not getting one.

use std::path::PathBuf;

use reqwest::StatusCode;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with the API's error shape `{"error": {"code", "message", …}}`.
    /// `body` is the whole answer, so extra fields such as `error.reason` stay reachable (see
    /// [`ClientError::reason`]).
    #[error("{code}: {message}{}", reason_suffix(body))]
    Api {
        status: StatusCode,
        code: String,
        message: String,
        body: serde_json::Value,
        /// The `Retry-After` header in seconds, when the server sent one (`429`).
        retry_after_s: Option<u64>,
    },
    /// The server answered, but not with what the API promises: an error without the error
    /// shape, or a success whose body does not decode as the expected type.
    #[error("unexpected answer from the server ({status}): {detail}")]
    UnexpectedAnswer { status: StatusCode, detail: String, body: String },
    #[error("the answer is larger than {limit_bytes} bytes")]
    AnswerTooLarge { limit_bytes: usize },
    #[error("no answer from the server")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("not a usable server URL `{url}`: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot send header `{name}`: {reason}")]
    BadHeader { name: String, reason: String },
    #[error("not a usable CA certificate: {0}")]
    BadCertificate(String),
    #[error("cannot encode the request body: {0}")]
    Encode(String),
    #[error("the operating system's random generator failed: {0}")]
    Random(String),
    #[error("cannot read or write credentials {}", path.display())]
    CredentialsIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("credentials {} are not a JSON object {{\"url\", \"key_id\", \"secret\"}}", path.display())]
    CredentialsFormat {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl ClientError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Api { status, .. } | ClientError::UnexpectedAnswer { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether no answer came (a refused or reset connection, a timeout): the request may or may
    /// not have been carried out, so only a request with an `Idempotency-Key` is safe to resend.
    pub fn is_no_answer(&self) -> bool {
        matches!(self, ClientError::Transport { .. })
    }

    /// The API's error code (`insufficient_funds`, …), when the server refused.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// `error.reason` of the API's error (e.g. `touched` for `recall_not_allowed`).
    pub fn reason(&self) -> Option<&str> {
        match self {
            ClientError::Api { body, .. } => error_reason(body),
            _ => None,
        }
    }
}

fn error_reason(body: &serde_json::Value) -> Option<&str> {
    body.get("error")?.get("reason")?.as_str()
}

fn reason_suffix(body: &serde_json::Value) -> String {
    error_reason(body).map(|reason| format!(" (reason: {reason})")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_error_shows_code_message_and_reason() {
        let body = serde_json::json!({"error": {"code": "recall_not_allowed", "message": "someone opened it", "reason": "touched"}});
        let err = ClientError::Api {
            status: StatusCode::CONFLICT,
            code: "recall_not_allowed".to_owned(),
            message: "someone opened it".to_owned(),
            body,
            retry_after_s: None,
        };
        assert_eq!(err.to_string(), "recall_not_allowed: someone opened it (reason: touched)");
        assert_eq!(err.reason(), Some("touched"));
        assert_eq!(err.code(), Some("recall_not_allowed"));
        assert_eq!(err.status(), Some(StatusCode::CONFLICT));
    }
}
