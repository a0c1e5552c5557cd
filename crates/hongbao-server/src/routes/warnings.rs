//! Tiered warnings at the edge (docs/API.md "Tiered warnings"): the confirmation token of a
//! `409 risk_confirmation_required` answer, and checking it when the request comes again.
//!
//! The core rates the payee and, for `confirm`, refuses with the id the payment will take. The
//! token binds that id to the caller's key and to the request: it is
//! `hbrc1.<id>.<expires_at_ms>.<mac>`, the MAC being the HMAC-SHA256, under the caller's own
//! signing secret, of the key id, the method and path, the SHA-256 of the request's body without
//! the token, the id and the expiry. Another key, another body or a changed expiry does not
//! verify; the payment takes the id, so the token is spent by it (a second use finds the id
//! taken). Nothing about the token is stored.

use hongbao_client::signing;
use hongbao_core::id::Uuid;
use hongbao_core::warning::RiskConfirmation;
use hongbao_core::{KeyId, Timestamp};
use serde::Serialize;

use crate::error::ApiError;

/// Where the core's refusal carries the id, until [`finish`] replaces it by the token.
pub const CONFIRMATION_ID: &str = "confirmation_id";
const PREFIX: &str = "hbrc1";
const DOMAIN: &str = "hongbao/risk-confirmation/v1";

/// The request a token is bound to: the caller, the method and path, and the body without the
/// token.
pub struct Bound<'a> {
    key: KeyId,
    secret: &'a str,
    route: &'static str,
    body_sha256: String,
}

impl std::fmt::Debug for Bound<'_> {
    // Never the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bound").field("key", &self.key).field("route", &self.route).finish_non_exhaustive()
    }
}

impl<'a> Bound<'a> {
    pub fn new(key: KeyId, secret: &'a str, route: &'static str, body: &impl Serialize) -> Bound<'a> {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        Bound { key, secret, route, body_sha256: signing::body_sha256_hex(&bytes) }
    }

    fn canonical(&self, id: Uuid, expires_at_ms: i64) -> String {
        [
            DOMAIN,
            &self.key.to_string(),
            self.route,
            &self.body_sha256,
            &id.simple().to_string(),
            &expires_at_ms.to_string(),
        ]
        .join("\n")
    }

    fn token(&self, id: Uuid, expires_at_ms: i64) -> String {
        let mac = signing::sign(self.secret, &self.canonical(id, expires_at_ms));
        format!("{PREFIX}.{}.{expires_at_ms}.{mac}", id.simple())
    }

    /// The confirmation `token` stands for, when it verifies for this request and has not
    /// expired at `now`; `None` when it expired (the core then asks again).
    ///
    /// # Errors
    /// `400 invalid_request` when it is malformed or was issued for another key or request.
    pub fn check(&self, token: &str, now: Timestamp) -> Result<Option<RiskConfirmation>, ApiError> {
        let mismatch = || {
            ApiError::invalid(
                "risk_confirmation does not match this request: a token confirms the very request it was \
                 issued for, signed by the same key",
            )
        };
        let mut parts = token.split('.');
        let (Some(PREFIX), Some(id), Some(expires), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(mismatch());
        };
        let id = Uuid::try_parse(id).map_err(|_| mismatch())?;
        let expires_at_ms: i64 = expires.parse().map_err(|_| mismatch())?;
        if !signing::verify(self.secret, &self.canonical(id, expires_at_ms), mac) {
            return Err(mismatch());
        }
        Ok((now.millis() < expires_at_ms).then_some(RiskConfirmation { id }))
    }

    /// The answer to a refusal: a `409 risk_confirmation_required` gets the token for the id the
    /// core chose, valid for `ttl_s` from `now`, and its expiry; any other refusal is as it was.
    pub fn finish(&self, mut err: ApiError, now: Timestamp, ttl_s: u32) -> ApiError {
        let Some(id) = err.detail.remove(CONFIRMATION_ID) else { return err };
        let Some(id) = id.as_str().and_then(|id| Uuid::try_parse(id).ok()) else { return err };
        let expires_at = now.plus_seconds(ttl_s);
        err.detail.insert("confirmation_token".to_owned(), self.token(id, expires_at.millis()).into());
        err.detail.insert("expires_at".to_owned(), serde_json::to_value(expires_at).unwrap_or_default());
        err
    }
}
