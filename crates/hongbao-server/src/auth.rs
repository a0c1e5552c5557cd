//! Signed requests (docs/API.md "Signing requests"): who is calling, checked on every `/v1` request.
//!
//! In order: the four headers are present and well formed; the timestamp is within the skew
//! of the *real* clock (never the development clock); the body fits the limit; the key is
//! known; the HMAC matches (constant time); the nonce was not seen for this key within the
//! window; the key is under its rate limit. Only then does the handler run, with the caller's
//! [`Principal`] in the request's extensions.

use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hongbao_client::signing;
use hongbao_core::ops::{self, Actor};
use hongbao_core::principal::{Principal, Role};
use hongbao_core::{KeyId, UserId};
use hongbao_engine::system_now;
use hongbao_store::NonceRecord;

use crate::caches::{NonceRefusal, digest};
use crate::error::ApiError;
use crate::extract::read_body;
use crate::state::AppState;
use hongbao_engine::nonces::NonceError;

/// The one value of the header `name`. A header given twice is refused rather than one of its
/// values chosen: a proxy and the server could otherwise each read another one.
fn header<'a>(parts: &'a Parts, name: &str) -> Result<&'a str, ApiError> {
    let mut values = parts.headers.get_all(name).iter();
    let value = values.next().ok_or_else(|| ApiError::unauthenticated(format!("the {name} header is missing")))?;
    if values.next().is_some() {
        return Err(ApiError::unauthenticated(format!("the {name} header is given more than once")));
    }
    value.to_str().map_err(|_| ApiError::unauthenticated(format!("the {name} header is not ASCII")))
}

async fn principal(state: &AppState, key: KeyId) -> Result<Option<Arc<Principal>>, ApiError> {
    if let Some(known) = state.principals.get(key) {
        return Ok(Some(known));
    }
    let found = state.engine.principal(key).await?.map(Arc::new);
    if let Some(found) = &found {
        state.principals.put(found.clone());
    }
    Ok(found)
}

/// The middleware: authenticates the request or answers the error.
pub async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let read = request.method() == axum::http::Method::GET;
    let (request, ticket) = match verify(&state, request).await {
        Ok(verified) => verified,
        Err(err) => return err.into_response(),
    };
    let response = next.run(request).await;
    let Some(record) = ticket.and_then(|ticket| ticket.take()) else { return response };
    if read {
        if let Err(err) = state.engine.remember_nonces_later(vec![record]) {
            tracing::warn!(%err, "the nonce of a read was not stored");
        }
        return response;
    }
    match state.engine.remember_nonces(vec![record]).await {
        Ok(()) => response,
        // Unless it is stored the answer must not go out: its request could be replayed after
        // a restart, and succeed where it was refused.
        Err(err) => ApiError::from(err).into_response(),
    }
}

/// The middleware of endpoints that answer everyone and show more to some: a request with any
/// signing header is authenticated as [`authenticate`] does (and refused if that fails); one
/// with none goes on unsigned.
pub async fn authenticate_if_signed(state: State<AppState>, request: Request, next: Next) -> Response {
    let headers = [signing::KEY_HEADER, signing::TIMESTAMP_HEADER, signing::NONCE_HEADER, signing::SIGNATURE_HEADER];
    if headers.iter().any(|name| request.headers().contains_key(*name)) {
        authenticate(state, request, next).await
    } else {
        next.run(request).await
    }
}

async fn verify(state: &AppState, request: Request) -> Result<(Request, Option<NonceTicket>), ApiError> {
    let (parts, body) = request.into_parts();
    let key_text = header(&parts, signing::KEY_HEADER)?;
    let timestamp_text = header(&parts, signing::TIMESTAMP_HEADER)?;
    let nonce = header(&parts, signing::NONCE_HEADER)?;
    let signature = header(&parts, signing::SIGNATURE_HEADER)?;

    let Some(timestamp) = signing::parse_timestamp(timestamp_text) else {
        return Err(ApiError::unauthenticated("X-Hongbao-Timestamp must be Unix seconds in decimal"));
    };
    let now_s = system_now().millis().div_euclid(1000);
    if !signing::within_skew(timestamp, now_s) {
        return Err(ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "timestamp_skew",
            format!(
                "the request's timestamp is more than {} s from the server's clock; check the client's clock",
                signing::TIMESTAMP_SKEW_MAX_S
            ),
        )
        .with("server_time", now_s));
    }
    if !signing::is_valid_nonce(nonce) {
        return Err(ApiError::unauthenticated("X-Hongbao-Nonce must be 16 to 64 characters of [A-Za-z0-9_-]"));
    }
    let limit = state.config.body_limit(&parts.method, parts.uri.path());
    let body = read_body(body, limit, state.config.body_timeout()).await?;

    // An unknown or malformed key id is the same answer: nothing to learn from probing.
    let unknown = || ApiError::unauthenticated("unknown key");
    let key: KeyId = key_text.parse().map_err(|_| unknown())?;
    let principal = principal(state, key).await?.ok_or_else(unknown)?;
    let target = parts.uri.path_and_query().map_or_else(|| parts.uri.path(), |pq| pq.as_str());
    let canonical = signing::canonical_string(parts.method.as_str(), target, timestamp_text, nonce, &body);
    if !signing::verify(principal.secret.expose(), &canonical, signature) {
        return Err(ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "signature_invalid",
            "the signature does not match the request; sign METHOD, path and query, timestamp, nonce and the body's SHA-256",
        ));
    }
    // Only a correctly signed request within its key's rate may use up a nonce, so neither
    // strangers nor a flooding key can fill the cache that protects everyone.
    state.rate_limits.check(key).map_err(ApiError::rate_limited)?;
    let replayed = || {
        ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "replayed_request",
            "this nonce was already used by this key; sign every request with a fresh nonce",
        )
    };
    if let Some(writer) = &state.nonce_writer {
        // Several nodes: the nonce must be seen by all of them, so it is kept in the database.
        // A read changes nothing, and a request with an idempotency key has its outcome (a
        // refusal too) committed by the engine after this record: either way the record need not
        // be flushed on its own (see `Store::remember_nonce_covered`). Any other request waits
        // for its record to be durable, so that a replay after a database crash is still refused.
        let expires_at_s = timestamp.saturating_add(signing::TIMESTAMP_SKEW_MAX_S);
        let covered =
            parts.method == axum::http::Method::GET || parts.headers.contains_key(signing::IDEMPOTENCY_KEY_HEADER);
        // Recorded together with the nonces of the requests arriving meanwhile (`NonceWriter`).
        let record = NonceRecord { key, digest: digest(key, nonce), expires_at_s };
        match writer.remember(record, covered, now_s).await {
            Ok(true) => {}
            Ok(false) => return Err(replayed()),
            Err(NonceError::Overloaded) => return Err(ApiError::overloaded()),
            Err(NonceError::Store(err)) => return Err(ApiError::from(hongbao_engine::EngineError::from(err))),
        }
        let mut request = Request::from_parts(parts, Body::from(body));
        request.extensions_mut().insert(Caller(principal));
        Ok((request, None))
    } else {
        // One node: the nonce is checked in memory, and stored in the database with the batch
        // that answers the request (see `NonceTicket`), so that it outlives a restart.
        match state.nonces.check_and_record(key, nonce, timestamp, now_s) {
            Ok(()) => {}
            Err(NonceRefusal::Replayed) => return Err(replayed()),
            Err(NonceRefusal::Full) => return Err(ApiError::overloaded()),
        }
        let expires_at_s = timestamp.saturating_add(signing::TIMESTAMP_SKEW_MAX_S);
        let ticket = NonceTicket::new(NonceRecord { key, digest: digest(key, nonce), expires_at_s });
        let mut request = Request::from_parts(parts, Body::from(body));
        request.extensions_mut().insert(Caller(principal));
        request.extensions_mut().insert(ticket.clone());
        Ok((request, Some(ticket)))
    }
}

/// The nonce of a request on a node that keeps nonces in memory, waiting to be stored. The
/// command the request runs takes it ([`NonceTicket::take`]) into the batch that applies it, so
/// the nonce is durable with the effect it guards; a request that runs no command (refused
/// before it, a read, the dev clock) has it stored by [`authenticate`] before its answer goes
/// out (a read's without waiting: its replay changes nothing).
#[derive(Clone, Debug)]
pub struct NonceTicket(Arc<Mutex<Option<NonceRecord>>>);

impl NonceTicket {
    fn new(record: NonceRecord) -> NonceTicket {
        NonceTicket(Arc::new(Mutex::new(Some(record))))
    }

    /// The nonce, for the batch that will store it; `None` once taken.
    pub fn take(&self) -> Option<NonceRecord> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
    }

    /// Gives back a nonce whose command was not queued, for [`authenticate`] to store.
    pub fn give_back(&self, record: NonceRecord) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(record);
    }
}

/// The authenticated principal of a request.
#[derive(Clone, Debug)]
pub struct Caller(pub Arc<Principal>);

fn caller(parts: &Parts) -> Result<Arc<Principal>, ApiError> {
    parts
        .extensions
        .get::<Caller>()
        .map(|c| c.0.clone())
        .ok_or_else(|| ApiError::unauthenticated("this endpoint needs a signed request"))
}

/// Who signed the request, if anyone did (behind [`authenticate_if_signed`]).
#[derive(Clone, Debug)]
pub struct MaybeCaller(pub Option<Arc<Principal>>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeCaller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeCaller(parts.extensions.get::<Caller>().map(|c| c.0.clone())))
    }
}

/// A signed request, by a user or an operator.
#[derive(Clone, Debug)]
pub struct AnyCaller(pub Arc<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for AnyCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        caller(parts).map(AnyCaller)
    }
}

/// A request signed with a user's key: the handler acts for that user only.
#[derive(Clone, Debug)]
pub struct UserCaller {
    pub user: UserId,
    pub key_id: KeyId,
}

impl UserCaller {
    /// Who signed, for the command the handler builds.
    pub fn signer(&self) -> Signer {
        Signer { key_id: self.key_id, actor: Actor::User(self.user) }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for UserCaller {
    type Rejection = ApiError;

    // The core's rule, checked here too so that a caller who may not use the endpoint is told
    // so before anything about the request's body.
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let principal = caller(parts)?;
        let user = ops::require_user(&Actor::of(&principal))?;
        Ok(UserCaller { user, key_id: principal.key_id })
    }
}

/// The roles an endpoint needs, as a type, for [`Officer`] to check.
pub trait Roles: Send + Sync + 'static {
    /// The operator needs at least one of these.
    const ROLES: &'static [Role];
}

/// Creating users and operators, deposits, the development clock.
#[derive(Clone, Copy, Debug)]
pub struct Admin;

impl Roles for Admin {
    const ROLES: &'static [Role] = &[Role::Admin];
}

/// Locks, and the rules' table.
#[derive(Clone, Copy, Debug)]
pub struct Risk;

impl Roles for Risk {
    const ROLES: &'static [Role] = &[Role::RiskOfficer];
}

/// Documents and freezes: risk control and legal holds.
#[derive(Clone, Copy, Debug)]
pub struct Holds;

impl Roles for Holds {
    const ROLES: &'static [Role] = &[Role::RiskOfficer, Role::LegalOfficer];
}

/// Forced transfers: legal officers.
#[derive(Clone, Copy, Debug)]
pub struct Legal;

impl Roles for Legal {
    const ROLES: &'static [Role] = &[Role::LegalOfficer];
}

/// The approvals inbox: legal officers and auditors.
#[derive(Clone, Copy, Debug)]
pub struct LegalReaders;

impl Roles for LegalReaders {
    const ROLES: &'static [Role] = &[Role::LegalOfficer, Role::Auditor];
}

/// Reading freezes: risk control, legal holds and audit.
#[derive(Clone, Copy, Debug)]
pub struct HoldsReaders;

impl Roles for HoldsReaders {
    const ROLES: &'static [Role] = &[Role::RiskOfficer, Role::LegalOfficer, Role::Auditor];
}

/// Any operator: reading what is configured.
#[derive(Clone, Copy, Debug)]
pub struct AnyOperator;

impl Roles for AnyOperator {
    const ROLES: &'static [Role] = &Role::ALL;
}

/// A request signed by an operator holding one of `R`'s roles.
#[derive(Clone, Debug)]
pub struct Officer<R> {
    pub key_id: KeyId,
    pub actor: Actor,
    roles: PhantomData<R>,
}

/// A request signed by an operator with the `admin` role.
pub type AdminCaller = Officer<Admin>;

impl<R> Officer<R> {
    /// Who signed, for the command the handler builds.
    pub fn signer(&self) -> Signer {
        Signer { key_id: self.key_id, actor: self.actor.clone() }
    }
}

impl<S: Send + Sync, R: Roles> FromRequestParts<S> for Officer<R> {
    type Rejection = ApiError;

    // As for `UserCaller`: the core's rule, before the body is read.
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let principal = caller(parts)?;
        let actor = Actor::of(&principal);
        ops::require_any_role(&actor, R::ROLES)?;
        Ok(Officer { key_id: principal.key_id, actor, roles: PhantomData })
    }
}

/// Who signed a request that becomes a command: the key (idempotency keys are per key) and the
/// actor the core authorises.
#[derive(Clone, Debug)]
pub struct Signer {
    pub key_id: KeyId,
    pub actor: Actor,
}
