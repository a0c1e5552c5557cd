//! What every handler shares: the engine, the HTTP limits, and the authentication caches.

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::http::Method;
use hongbao_core::evidence::EVIDENCE_BYTES_MAX;
use hongbao_engine::Engine;
use serde::{Deserialize, Serialize};

use crate::caches::{NonceCache, PrincipalCache, RateLimits};
use hongbao_engine::nonces::NonceWriter;

/// The HTTP layer's limits. Every one has a bound and a default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Largest request body accepted (docs/API.md: 64 KiB).
    pub body_max_bytes: usize,
    /// Largest evidence file accepted by `POST /v1/evidence`, the one endpoint whose body may
    /// be larger than `body_max_bytes` (docs/API.md: 5 MiB, also the most it may be set to).
    pub evidence_max_bytes: usize,
    /// Evidence uploads being received or handled at once; beyond this the answer is an
    /// immediate 503, so large bodies cannot fill the memory.
    pub evidence_uploads_max: usize,
    /// Requests per second one key may make, on average.
    pub rate_per_key_per_s: u32,
    /// Requests one key may make in a burst above its average.
    pub rate_per_key_burst: u32,
    /// Requests being handled at once; beyond this the answer is an immediate 503.
    pub inflight_max: usize,
    /// Nonces remembered at once (each until its timestamp leaves the allowed skew); about
    /// 60 bytes each. When full, requests are refused (`503`) rather than replays let through.
    pub nonce_cache_max: usize,
    /// Principals kept in memory.
    pub principal_cache_max: usize,
    /// Default page size of `/v1/me/transactions`.
    pub history_page_default: u32,
    /// How long a graceful shutdown waits for requests in flight, in seconds.
    pub shutdown_grace_s: u64,
    /// Connections open at once. Beyond it the server stops accepting until one closes; it is
    /// lowered at start to what the process's open-file limit allows.
    pub connections_max: usize,
    /// How long a connection has, from opening or from its last answer, to send a complete
    /// request head, in milliseconds: a client that sends headers slowly, or a connection left
    /// idle, is closed after it.
    pub header_timeout_ms: u64,
    /// How long a request's body may take to arrive once its head has, in milliseconds; then
    /// the answer is `408 request_timeout` and the connection closes.
    pub body_timeout_ms: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            body_max_bytes: 64 * 1024,
            evidence_max_bytes: EVIDENCE_BYTES_MAX,
            evidence_uploads_max: 16,
            rate_per_key_per_s: 100,
            rate_per_key_burst: 200,
            inflight_max: 4_096,
            nonce_cache_max: 2_000_000,
            principal_cache_max: 100_000,
            history_page_default: 20,
            shutdown_grace_s: 30,
            connections_max: 4_096,
            header_timeout_ms: 10_000,
            body_timeout_ms: 10_000,
        }
    }
}

/// The one route whose body may be larger than `body_max_bytes`.
pub const EVIDENCE_UPLOAD: (&Method, &str) = (&Method::POST, "/v1/evidence");

impl HttpConfig {
    /// The largest body a request to `path` by `method` may have.
    pub fn body_limit(&self, method: &Method, path: &str) -> usize {
        if (method, path) == EVIDENCE_UPLOAD { self.evidence_max_bytes } else { self.body_max_bytes }
    }

    /// `body_timeout_ms` as a duration.
    pub fn body_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.body_timeout_ms)
    }

    /// # Errors
    /// A message naming the first field out of range.
    pub fn validate(&self) -> Result<(), String> {
        let fields = [
            ("body_max_bytes", self.body_max_bytes as u64),
            ("evidence_max_bytes", self.evidence_max_bytes as u64),
            ("evidence_uploads_max", self.evidence_uploads_max as u64),
            ("rate_per_key_per_s", u64::from(self.rate_per_key_per_s)),
            ("rate_per_key_burst", u64::from(self.rate_per_key_burst)),
            ("inflight_max", self.inflight_max as u64),
            ("nonce_cache_max", self.nonce_cache_max as u64),
            ("principal_cache_max", self.principal_cache_max as u64),
            ("history_page_default", u64::from(self.history_page_default)),
            ("connections_max", self.connections_max as u64),
            ("header_timeout_ms", self.header_timeout_ms),
            ("body_timeout_ms", self.body_timeout_ms),
        ];
        if let Some((name, _)) = fields.iter().find(|(_, v)| *v == 0) {
            return Err(format!("http.{name} must be at least 1"));
        }
        if self.body_max_bytes > 16 * 1024 * 1024 {
            return Err("http.body_max_bytes must be at most 16 MiB".to_owned());
        }
        if self.evidence_max_bytes > EVIDENCE_BYTES_MAX {
            return Err(format!("http.evidence_max_bytes must be at most {EVIDENCE_BYTES_MAX} (5 MiB)"));
        }
        let hour_ms = 3_600_000;
        if let Some((name, _)) =
            [("header_timeout_ms", self.header_timeout_ms), ("body_timeout_ms", self.body_timeout_ms)]
                .into_iter()
                .find(|(_, v)| *v > hour_ms)
        {
            return Err(format!("http.{name} must be at most {hour_ms} (one hour)"));
        }
        if self.connections_max > 1_000_000 {
            return Err("http.connections_max must be at most 1000000".to_owned());
        }
        Ok(())
    }
}

/// Shared by every request. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub struct Inner {
    pub engine: Engine,
    pub config: HttpConfig,
    /// Whether `POST /v1/dev/clock` exists.
    pub dev_clock: bool,
    pub nonces: NonceCache,
    /// Records nonces in the database, in groups, when the store is shared.
    pub nonce_writer: Option<NonceWriter>,
    pub principals: PrincipalCache,
    pub rate_limits: RateLimits,
    /// Permits for requests in flight (`inflight_max`).
    pub inflight: tokio::sync::Semaphore,
    /// Permits for evidence uploads (`evidence_uploads_max`), taken before the body is read.
    pub uploads: tokio::sync::Semaphore,
}

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.inner
    }
}

impl AppState {
    /// # Errors
    /// A message when the configuration is unusable.
    pub fn new(engine: Engine, config: HttpConfig, dev_clock: bool) -> Result<AppState, String> {
        config.validate()?;
        let per_s = NonZeroU32::new(config.rate_per_key_per_s).ok_or("http.rate_per_key_per_s must be at least 1")?;
        let burst = NonZeroU32::new(config.rate_per_key_burst).ok_or("http.rate_per_key_burst must be at least 1")?;
        let skew = hongbao_client::signing::TIMESTAMP_SKEW_MAX_S;
        Ok(AppState {
            inner: Arc::new(Inner {
                nonces: NonceCache::new(config.nonce_cache_max, skew),
                // As many as may be in flight: a request waiting for its nonce holds a permit.
                nonce_writer: engine.nonce_writer(config.inflight_max),
                principals: PrincipalCache::new(config.principal_cache_max),
                rate_limits: RateLimits::new(per_s, burst),
                inflight: tokio::sync::Semaphore::new(config.inflight_max),
                uploads: tokio::sync::Semaphore::new(config.evidence_uploads_max),
                engine,
                config,
                dev_clock,
            }),
        })
    }
}
