//! The HTTP API of hongbao (docs/API.md): signed requests, idempotency keys, limits on everything,
//! one error shape, and an OpenAPI document generated from the same code as the routes.
//!
//! This crate translates. It turns requests into `hongbao-core` commands and queries, hands
//! them to the `hongbao-engine`, and turns answers back into HTTP. It decides no money rule,
//! and it never talks to a database except to look up a signing key.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::{Config, SwaggerUi};

pub mod auth;
pub mod caches;
pub mod error;
pub mod extract;
mod listen;
mod openapi;
pub mod routes;
pub mod run;
pub mod state;
pub mod tls;

pub use error::ApiError;
pub use state::{AppState, HttpConfig};

use crate::error::ErrorCode;

/// Adds the request-signing scheme to the document.
struct Signed;

impl utoipa::Modify for Signed {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let description = "Every request except the public ones carries X-Hongbao-Key (the key id), \
            X-Hongbao-Timestamp (Unix seconds, within 300 s of the server's clock), X-Hongbao-Nonce \
            (16–64 characters of [A-Za-z0-9_-], fresh for each request) and X-Hongbao-Signature: the \
            lowercase hex HMAC-SHA256, keyed with the secret's UTF-8 bytes, of five lines joined by \\n \
            — METHOD, the path with its query string exactly as sent, the timestamp, the nonce, and the \
            lowercase hex SHA-256 of the raw body. Errors: 401 `unauthenticated` (missing or unknown \
            key, malformed headers), 401 `signature_invalid`, 401 `timestamp_skew`, 409 \
            `replayed_request`, 429 `rate_limited` (with Retry-After), 503 `overloaded`.";
        components.add_security_scheme(
            "signed",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description("X-Hongbao-Key", description))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hongbao",
        description = "Red packets (红包) over a double-entry ledger that never loses or invents a fen. \
            Amounts are integer fen; times are RFC 3339 UTC; ids are opaque prefixed strings. Every \
            error is `{\"error\": {\"code\", \"message\", …}}` and changes nothing. Besides the codes \
            of each operation: 400 `invalid_request` (malformed JSON, wrong types, unknown or missing \
            fields), 413 `payload_too_large` (over 64 KiB), 422 `idempotency_key_reused`, 429 \
            `rate_limited`, 503 `overloaded` (too much work in flight: retry shortly) and 503 \
            `unavailable` (storage cannot be reached: nothing was applied, retry shortly).",
        license(name = "MIT OR Apache-2.0")
    ),
    modifiers(&Signed),
    tags(
        (name = "users", description = "Users and operators (admin)"),
        (name = "money", description = "Balances, deposits, withdrawals, history"),
        (name = "groups", description = "Chat groups"),
        (name = "packets", description = "Red packets and their claims"),
        (name = "transfers", description = "User-to-user transfers (转账)"),
        (name = "risk", description = "Risk control and legal holds (风控与冻结): locks, the rules in force"),
        (name = "returns", description = "Getting money back by agreement (协商退还): return requests a payer \
            opens and only the payee can accept, with a mediator who shares a group with both"),
        (name = "evidence", description = "Evidence files: screenshots, scans and texts that reports, disputes \
            and documents cite by id and SHA-256"),
        (name = "development", description = "Only with `serve --dev-clock`"),
        (name = "audit", description = "The transparency log: every transfer and legally relevant event in an \
            append-only Merkle log (RFC 6962 hashing), signed checkpoints (C2SP tlog-checkpoint, Ed25519), \
            proofs, receipts. Public reads need no signature."),
        (name = "service", description = "Public, unsigned: health and readiness"),
    )
)]
struct ApiDoc;

/// The routes that need a signed request, with their OpenAPI description.
fn signed_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(routes::users::create_user))
        .routes(routes!(routes::users::create_operator))
        .routes(routes!(routes::money::deposit))
        .routes(routes!(routes::money::me))
        .routes(routes!(routes::money::withdraw))
        .routes(routes!(routes::money::transactions))
        .routes(routes!(routes::groups::create_group))
        .routes(routes!(routes::groups::group))
        .routes(routes!(routes::packets::send_packet))
        .routes(routes!(routes::packets::packet))
        .routes(routes!(routes::packets::open))
        .routes(routes!(routes::packets::claim))
        .routes(routes!(routes::packets::recall))
        .routes(routes!(routes::packets::revoke_claim))
        .routes(routes!(routes::packets::return_claim))
        .routes(routes!(routes::transfers::transfer))
        .routes(routes!(routes::transfers::revoke_transfer))
        .routes(routes!(routes::risk::lock))
        .routes(routes!(routes::risk::unlock))
        .routes(routes!(routes::risk::signal))
        .routes(routes!(routes::risk::rules))
        .routes(routes!(routes::documents::register))
        .routes(routes!(routes::documents::reveal))
        .routes(routes!(routes::freezes::place, routes::freezes::list))
        .routes(routes!(routes::freezes::get))
        .routes(routes!(routes::freezes::release))
        .routes(routes!(routes::freezes::renew))
        .routes(routes!(routes::freezes::convert))
        .routes(routes!(routes::freezes::holds))
        .routes(routes!(routes::seizures::propose, routes::seizures::list))
        .routes(routes!(routes::seizures::approve))
        .routes(routes!(routes::seizures::reject))
        .routes(routes!(routes::cases::file, routes::cases::reports))
        .routes(routes!(routes::cases::list))
        .routes(routes!(routes::cases::get))
        .routes(routes!(routes::cases::note))
        .routes(routes!(routes::cases::close))
        .routes(routes!(routes::returns::open))
        .routes(routes!(routes::returns::mine))
        .routes(routes!(routes::returns::accept))
        .routes(routes!(routes::returns::decline))
        .routes(routes!(routes::returns::withdraw))
        .routes(routes!(routes::returns::note))
        .routes(routes!(routes::evidence::upload))
        .routes(routes!(routes::evidence::download))
        .routes(routes!(routes::dev::dev_clock))
        .routes(routes!(routes::audit::receipt))
        .routes(routes!(routes::audit::packet))
}

/// The transparency log's public reads: no signature needed (a signed request is authenticated,
/// and an auditor is shown entries in full).
fn audit_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(routes::audit::checkpoint))
        .routes(routes!(routes::audit::public_key))
        .routes(routes!(routes::audit::entries))
        .routes(routes!(routes::audit::inclusion))
        .routes(routes!(routes::audit::consistency))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "service", responses((status = 200, description = "Alive")))]
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the store answers a read.
#[utoipa::path(get, path = "/readyz", tag = "service", responses(
    (status = 200, description = "Ready"),
    (status = 503, description = "`unavailable`: the store does not answer", body = hongbao_wire::ErrorBody),
))]
async fn readyz(State(app): State<AppState>) -> Result<&'static str, ApiError> {
    if app.engine.store_answers(Duration::from_secs(2)).await {
        Ok("ready")
    } else {
        Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the store does not answer"))
    }
}

/// The OpenAPI document, as JSON.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut api) = api_router().split_for_parts();
    openapi::add_common_responses(&mut api);
    api
}

fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(signed_routes())
        .merge(audit_routes())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

fn metrics() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        // One recorder per process; a second app in the same process (tests) shares it.
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows this one only");
        }
        handle
    })
}

async fn render_metrics() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics().render())
}

/// Reads the request's body (within `http.body_max_bytes`, or `http.evidence_max_bytes` for an
/// upload, which first takes one of `http.evidence_uploads_max` permits and holds it until
/// answered; and within `http.body_timeout_ms`), then bounds the requests in flight (beyond the
/// bound: an immediate `503 overloaded`, never a queue), then logs each request once, counts it
/// and times it. A body still arriving holds no in-flight permit, so slow senders cannot crowd
/// out the requests being answered. Never logs bodies or headers, so no secret or signature
/// reaches the log.
async fn observe(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let limit = app.config.body_limit(&parts.method, parts.uri.path());
    // A large body is read only with an upload's permit, so they cannot fill the memory.
    let _upload = if limit > app.config.body_max_bytes {
        let Ok(permit) = app.uploads.try_acquire() else {
            metrics::counter!("hongbao_http_shed_total").increment(1);
            return ApiError::overloaded().into_response();
        };
        Some(permit)
    } else {
        None
    };
    let body = match extract::read_body(body, limit, app.config.body_timeout()).await {
        Ok(body) => body,
        Err(err) => {
            metrics::counter!("hongbao_http_body_refused_total", "code" => err.code).increment(1);
            tracing::debug!(method = %parts.method, code = err.code, "request body refused");
            return err.into_response();
        }
    };
    let request = Request::from_parts(parts, axum::body::Body::from(body));
    let Ok(_permit) = app.inflight.try_acquire() else {
        metrics::counter!("hongbao_http_shed_total").increment(1);
        return ApiError::overloaded().into_response();
    };
    let started = Instant::now();
    let method = request.method().clone();
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let code = response.extensions().get::<ErrorCode>().map_or("", |c| c.0);
    let elapsed = started.elapsed();
    let labels = [("method", method.to_string()), ("route", route.clone()), ("status", status.to_string())];
    metrics::counter!("hongbao_http_requests_total", &labels).increment(1);
    metrics::histogram!("hongbao_http_request_seconds", &labels).record(elapsed.as_secs_f64());
    if status >= 500 {
        tracing::warn!(%method, route, status, code, ms = elapsed.as_millis(), "request failed");
    } else {
        tracing::debug!(%method, route, status, code, ms = elapsed.as_millis(), "request");
    }
    response
}

async fn not_found() -> ApiError {
    ApiError::not_found("endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this endpoint does not take that method")
}

/// The whole application: every route, the signature check on `/v1`, the in-flight bound,
/// the docs page, metrics, and the JSON fallbacks.
pub fn app(state: AppState) -> Router {
    // Install the recorder before the first request, so no count is lost.
    metrics();
    let (signed, _) = OpenApiRouter::new().merge(signed_routes()).split_for_parts();
    let signed = signed.layer(middleware::from_fn_with_state(state.clone(), auth::authenticate));
    let (audit, _) = OpenApiRouter::new().merge(audit_routes()).split_for_parts();
    let audit = audit.layer(middleware::from_fn_with_state(state.clone(), auth::authenticate_if_signed));
    let (public, _) = OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz)).split_for_parts();
    Router::new()
        .merge(signed)
        .merge(audit)
        .merge(public)
        .route("/metrics", get(render_metrics))
        // No online validator: the page sends the document nowhere.
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi()).config(Config::default().validator_url("none")))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}
