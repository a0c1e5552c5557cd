//! Request extractors whose failures use the API's error shape (axum's `AppJson` pattern).

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use hongbao_client::signing;
use serde::de::DeserializeOwned;

use crate::auth::NonceTicket;
use crate::error::ApiError;

/// A JSON body. Malformed JSON, a wrong type, a missing or an unknown field (request types
/// deny unknown fields) are all `400 invalid_request`, with serde's precise message.
#[derive(Debug)]
pub struct AppJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state).await.map_err(|e| ApiError::invalid(e.body_text()))?;
        // Only an object: serde would otherwise read a JSON array as the fields in order, and
        // `[100]` would pass for `{"amount": 100}`.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::invalid("the request body must be a JSON object"));
        }
        serde_json::from_slice(&bytes).map(AppJson).map_err(|e| ApiError::invalid(format!("invalid JSON body: {e}")))
    }
}

/// A JSON body whose fields are all optional, which may also be left out altogether (an empty
/// body reads as `T::default()`); anything else is as [`AppJson`].
#[derive(Debug)]
pub struct AppJsonOrEmpty<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for AppJsonOrEmpty<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state).await.map_err(|e| ApiError::invalid(e.body_text()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(AppJsonOrEmpty(T::default()));
        }
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::invalid("the request body must be a JSON object"));
        }
        serde_json::from_slice(&bytes)
            .map(AppJsonOrEmpty)
            .map_err(|e| ApiError::invalid(format!("invalid JSON body: {e}")))
    }
}

/// A POST that takes no parameters: an empty body or `{}`. Anything else is refused, so that a
/// field a client believes it is sending is never silently ignored.
#[derive(Debug)]
pub struct NoBody;

impl<S: Send + Sync> FromRequest<S> for NoBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state).await.map_err(|e| ApiError::invalid(e.body_text()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(NoBody);
        }
        match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&bytes) {
            Ok(map) if map.is_empty() => Ok(NoBody),
            Ok(map) => {
                let fields: Vec<&str> = map.keys().map(String::as_str).collect();
                Err(ApiError::invalid(format!("this request takes no fields, got: {}", fields.join(", "))))
            }
            Err(e) => Err(ApiError::invalid(format!("invalid JSON body: {e}"))),
        }
    }
}

/// The optional `Idempotency-Key` header (1–255 printable ASCII characters, given at most
/// once), and the request's nonce still to be stored ([`NonceTicket`]): what a command needs
/// besides its fields.
#[derive(Clone, Debug, Default)]
pub struct IdempotencyKey {
    pub key: Option<String>,
    pub nonce: Option<NonceTicket>,
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let nonce = parts.extensions.get::<NonceTicket>().cloned();
        let mut values = parts.headers.get_all(signing::IDEMPOTENCY_KEY_HEADER).iter();
        let Some(value) = values.next() else {
            return Ok(IdempotencyKey { key: None, nonce });
        };
        if values.next().is_some() {
            return Err(ApiError::invalid("Idempotency-Key is given more than once"));
        }
        match value.to_str() {
            Ok(key) if signing::is_valid_idempotency_key(key) => {
                Ok(IdempotencyKey { key: Some(key.to_owned()), nonce })
            }
            _ => Err(ApiError::invalid("Idempotency-Key must be 1 to 255 printable ASCII characters")),
        }
    }
}

/// Query parameters, refused in the API's error shape when malformed.
#[derive(Debug)]
pub struct AppQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for AppQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded_from_str(query).map(AppQuery)
    }
}

fn serde_urlencoded_from_str<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{query}").parse().map_err(|_| ApiError::invalid("bad query string"))?,
    )
    .map(|q| q.0)
    .map_err(|e| ApiError::invalid(e.body_text()))
}

/// A path segment that must be an id of kind `T`; anything else cannot exist: 404.
pub fn path_id<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, ApiError> {
    text.parse().map_err(|_| ApiError::not_found(what))
}

/// A request's whole body: at most `limit` bytes (else `413 payload_too_large`), arrived within
/// `timeout` of the call (else `408 request_timeout`, and the connection closes: the rest of
/// the body is never read).
pub async fn read_body(body: Body, limit: usize, timeout: Duration) -> Result<Bytes, ApiError> {
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(err)) => {
            // `to_bytes` reports a length limit as an error whose source chain says so.
            let too_large = std::error::Error::source(&err)
                .is_some_and(|source| source.to_string().contains("length limit exceeded"));
            if too_large {
                Err(ApiError::payload_too_large(limit))
            } else {
                Err(ApiError::invalid(format!("could not read the request body: {err}")))
            }
        }
        Err(_) => Err(ApiError::request_timeout(timeout)),
    }
}
