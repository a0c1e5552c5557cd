//! Requests and answers under the caller's full control: [`RawRequest`] with its [`Signing`]
//! (proper, none, or parts replaced for tests), and [`RawResponse`], whatever the status.

use std::fmt;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::ClientError;

/// A request under the caller's full control, for [`Client::send`].
#[derive(Clone, Debug)]
pub struct RawRequest {
    pub method: Method,
    /// `/v1/me/transactions?limit=10`: appended to the client's URL as it is.
    pub path_and_query: String,
    /// The exact bytes sent and hashed; empty means no body.
    pub body: Vec<u8>,
    /// Sent after the signing headers, in order; a name may repeat.
    pub headers: Vec<(String, String)>,
    pub signing: Signing,
}

impl RawRequest {
    /// A properly signed request with no body and no extra headers.
    pub fn new(method: Method, path_and_query: impl Into<String>) -> RawRequest {
        RawRequest {
            method,
            path_and_query: path_and_query.into(),
            body: Vec::new(),
            headers: Vec::new(),
            signing: Signing::Proper,
        }
    }

    pub fn get(path_and_query: impl Into<String>) -> RawRequest {
        RawRequest::new(Method::GET, path_and_query)
    }

    pub fn post(path_and_query: impl Into<String>) -> RawRequest {
        RawRequest::new(Method::POST, path_and_query)
    }

    /// The body, as exact bytes (malformed JSON included).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> RawRequest {
        self.body = body.into();
        self
    }

    /// The body, as compact JSON.
    pub fn json(self, body: &serde_json::Value) -> RawRequest {
        self.body(body.to_string())
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> RawRequest {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn signing(mut self, signing: Signing) -> RawRequest {
        self.signing = signing;
        self
    }
}

/// How [`Client::send`] authenticates a request.
#[derive(Clone, Debug, Default)]
pub enum Signing {
    /// The client's key and secret, the current Unix time and a fresh nonce from the OS.
    #[default]
    Proper,
    /// None of the four signing headers: for public endpoints and tests of their absence.
    Unsigned,
    /// Proper signing with some parts replaced (boxed: it is much larger than the others).
    Custom(Box<SignParts>),
}

impl Signing {
    pub fn custom(parts: SignParts) -> Signing {
        Signing::Custom(Box::new(parts))
    }
}

/// Replacements for the parts of a proper signature; each `None` keeps the proper value.
/// The timestamp and nonce given are both sent and signed, so a request with an old timestamp
/// or a reused nonce is otherwise perfectly signed. `Debug` hides `secret`.
#[derive(Clone, Default)]
pub struct SignParts {
    /// Sent as `X-Hongbao-Key` (it is not part of the canonical string).
    pub key_id: Option<String>,
    /// Signs with this secret instead of the client's.
    pub secret: Option<String>,
    /// Sent and signed as the timestamp, as it is (it need not be a number).
    pub timestamp: Option<String>,
    /// Sent and signed as the nonce, as it is.
    pub nonce: Option<String>,
    /// Signed as the path and query instead of the one actually sent.
    pub path: Option<String>,
    /// Sent instead of the computed signature.
    pub signature: Option<String>,
    /// Signing headers to leave out (`signing::NONCE_HEADER`, …), compared case-insensitively.
    pub omit: Vec<&'static str>,
}

impl fmt::Debug for SignParts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignParts")
            .field("key_id", &self.key_id)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("timestamp", &self.timestamp)
            .field("nonce", &self.nonce)
            .field("path", &self.path)
            .field("signature", &self.signature)
            .field("omit", &self.omit)
            .finish()
    }
}

/// What the server answered, whatever the status.
#[derive(Clone, Debug)]
pub struct RawResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Decodes the body as `T`, whatever the status.
    ///
    /// # Errors
    /// [`ClientError::UnexpectedAnswer`] when it is not JSON of that shape.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        serde_json::from_slice(&self.body).map_err(|e| ClientError::UnexpectedAnswer {
            status: self.status,
            detail: format!("cannot decode the answer as {}: {e}", std::any::type_name::<T>()),
            body: self.text(),
        })
    }

    /// `error.code` of an answer in the API's error shape.
    pub fn error_code(&self) -> Option<String> {
        let body: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        Some(body.get("error")?.get("code")?.as_str()?.to_owned())
    }

    /// The answer itself if its status is 2xx.
    ///
    /// # Errors
    /// [`ClientError::Api`] for an answer in the API's error shape, otherwise
    /// [`ClientError::UnexpectedAnswer`].
    pub fn error_for_status(self) -> Result<RawResponse, ClientError> {
        if self.status.is_success() {
            return Ok(self);
        }
        let body: Option<serde_json::Value> = serde_json::from_slice(&self.body).ok();
        let error = body.as_ref().and_then(|b| b.get("error"));
        let code = error.and_then(|e| e.get("code")).and_then(serde_json::Value::as_str);
        match (code, body.as_ref()) {
            (Some(code), Some(body)) => Err(ClientError::Api {
                status: self.status,
                code: code.to_owned(),
                message: error
                    .and_then(|e| e.get("message"))
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                body: body.clone(),
                retry_after_s: self
                    .headers
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse().ok()),
            }),
            _ => Err(ClientError::UnexpectedAnswer {
                status: self.status,
                detail: "an error without the API's {\"error\": {\"code\", \"message\"}} shape".to_owned(),
                body: self.text(),
            }),
        }
    }
}
