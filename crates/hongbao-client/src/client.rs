//! [`Client`]: signed requests and a raw [`Client::send`] for tests; its one method per endpoint
//! is in `endpoints.rs`.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hongbao_core::ops::{OperatorCreated, UserCreated};
use hongbao_core::principal::Secret;
use rand::TryRng;
use rand::rngs::SysRng;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ClientError;
use crate::raw::{RawRequest, RawResponse, SignParts, Signing};
use crate::signing;

/// How long one request may take, connection included, unless [`Client::with_timeout`].
pub const REQUEST_TIMEOUT_DEFAULT: Duration = Duration::from_secs(30);
/// The largest answer read; the API's largest (a packet with 100 claims) is far smaller.
pub const ANSWER_BYTES_MAX: usize = 8 * 1024 * 1024;
/// Random bytes in a nonce: 128 bits, shown as 32 hex digits.
const NONCE_BYTES: usize = 16;

/// A signed client for one principal of one hongbao service. Cheap to clone: clones share
/// the connection pool.
///
/// Each endpoint method returns a [`Call`]; `.await` it for the typed answer, or
/// [`Call::send_raw`] it for the status, headers and bytes. `Debug` never shows the secret.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    /// `scheme://host:port`, without a trailing slash.
    base: Arc<str>,
    key_id: Arc<str>,
    secret: Arc<Secret>,
    timeout: Duration,
}

impl Client {
    /// A client for the service at `url` (`http://127.0.0.1:8080` or `https://…`), signing as
    /// `key_id` with `secret`. An https server's certificate is checked against the system's
    /// roots; [`Client::with_options`] trusts a private CA instead.
    ///
    /// # Errors
    /// As [`Client::with_options`].
    pub fn new(url: &str, key_id: impl fmt::Display, secret: &str) -> Result<Client, ClientError> {
        Client::with_options(url, key_id, secret, &ClientOptions::default())
    }

    /// A client as [`Client::new`], with a time limit and the roots its TLS trusts.
    ///
    /// # Errors
    /// [`ClientError::BadUrl`] unless `url` is `http://host[:port]` or `https://host[:port]`
    /// with no path, query or fragment (a path prefix would be signed as part of the request
    /// path, which a server behind a proxy would not see); [`ClientError::BadCertificate`] if
    /// `options.ca_cert_pem` holds no PEM certificate; [`ClientError::Transport`] if the HTTP
    /// stack cannot be set up.
    pub fn with_options(
        url: &str,
        key_id: impl fmt::Display,
        secret: &str,
        options: &ClientOptions,
    ) -> Result<Client, ClientError> {
        let base = base_url(url)?;
        install_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .connect_timeout(Duration::from_secs(5))
            .https_only(base.starts_with("https://"));
        if let Some(pem) = &options.ca_cert_pem {
            let certificates = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| ClientError::BadCertificate(e.to_string()))
                .and_then(|certs| {
                    if certs.is_empty() {
                        Err(ClientError::BadCertificate("no PEM certificate in it".to_owned()))
                    } else {
                        Ok(certs)
                    }
                })?;
            builder = builder.tls_certs_only(certificates);
        }
        let http = builder.build().map_err(|source| ClientError::Transport { url: base.clone(), source })?;
        Ok(Client {
            http,
            base: base.into(),
            key_id: key_id.to_string().into(),
            secret: Arc::new(Secret::from_stored(secret.to_owned())),
            timeout: options.timeout.unwrap_or(REQUEST_TIMEOUT_DEFAULT),
        })
    }

    /// The same service and connection pool, signing as another principal.
    pub fn with_credentials(&self, key_id: impl fmt::Display, secret: &str) -> Client {
        Client {
            key_id: key_id.to_string().into(),
            secret: Arc::new(Secret::from_stored(secret.to_owned())),
            ..self.clone()
        }
    }

    /// The same service, signing as the user `created` describes.
    pub fn for_user(&self, created: &UserCreated) -> Client {
        self.with_credentials(created.key_id, created.secret.expose())
    }

    /// The same service, signing as the operator `created` describes.
    pub fn for_operator(&self, created: &OperatorCreated) -> Client {
        self.with_credentials(created.key_id, created.secret.expose())
    }

    /// The same client with another per-request time limit.
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        Client { timeout, ..self.clone() }
    }

    /// The service's URL, `http://host:port`.
    pub fn url(&self) -> &str {
        &self.base
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Sends `request` as it says and returns whatever the server answered, any status.
    ///
    /// The signature covers the path and query as they go on the wire, which is `request`'s
    /// after URL parsing (`/v1/./me` is sent, and so signed, as `/v1/me`). A non-empty body
    /// gets `Content-Type: application/json` unless `request.headers` has a content type.
    ///
    /// # Errors
    /// Only when there is no answer: [`ClientError::BadUrl`], [`ClientError::BadHeader`],
    /// [`ClientError::Random`], [`ClientError::Transport`], [`ClientError::AnswerTooLarge`].
    pub async fn send(&self, request: RawRequest) -> Result<RawResponse, ClientError> {
        let RawRequest { method, path_and_query, body, headers: extra, signing: mode } = request;
        let full = format!("{}{}", self.base, path_and_query);
        let url = Url::parse(&full).map_err(|e| ClientError::BadUrl { url: full.clone(), reason: e.to_string() })?;
        let target = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };

        let mut headers = HeaderMap::new();
        if let Some(parts) = match mode {
            Signing::Proper => Some(SignParts::default()),
            Signing::Unsigned => None,
            Signing::Custom(parts) => Some(*parts),
        } {
            let timestamp = match parts.timestamp {
                Some(timestamp) => timestamp,
                None => unix_now_s().to_string(),
            };
            let nonce = match parts.nonce {
                Some(nonce) => nonce,
                None => fresh_nonce()?,
            };
            let signature = match parts.signature {
                Some(signature) => signature,
                None => {
                    let signed_path = parts.path.as_deref().unwrap_or(&target);
                    let canonical = signing::canonical_string(method.as_str(), signed_path, &timestamp, &nonce, &body);
                    let secret = parts.secret.as_deref().unwrap_or(self.secret.expose());
                    signing::sign(secret, &canonical)
                }
            };
            let key_id = parts.key_id.unwrap_or_else(|| self.key_id.to_string());
            for (name, value) in [
                (signing::KEY_HEADER, key_id),
                (signing::TIMESTAMP_HEADER, timestamp),
                (signing::NONCE_HEADER, nonce),
                (signing::SIGNATURE_HEADER, signature),
            ] {
                if !parts.omit.iter().any(|omitted| omitted.eq_ignore_ascii_case(name)) {
                    append(&mut headers, name, &value)?;
                }
            }
        }
        let has_content_type = extra.iter().any(|(name, _)| name.eq_ignore_ascii_case(CONTENT_TYPE.as_str()));
        if !body.is_empty() && !has_content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        for (name, value) in &extra {
            append(&mut headers, name, value)?;
        }

        let transport = |source| ClientError::Transport { url: url.to_string(), source };
        let mut response = self
            .http
            .request(method, url.clone())
            .headers(headers)
            .body(body)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > ANSWER_BYTES_MAX {
                return Err(ClientError::AnswerTooLarge { limit_bytes: ANSWER_BYTES_MAX });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(RawResponse { status, headers, body })
    }

    pub(crate) fn call<T>(&self, method: Method, path_and_query: String, body: Option<&impl Serialize>) -> Call<'_, T> {
        let body = match body {
            Some(body) => serde_json::to_vec(body).map_err(|e| e.to_string()),
            None => Ok(Vec::new()),
        };
        self.call_with(method, path_and_query, body)
    }

    /// A call whose body is `body` as it is (encoded already, or why it could not be).
    pub(crate) fn call_with<T>(
        &self,
        method: Method,
        path_and_query: String,
        body: Result<Vec<u8>, String>,
    ) -> Call<'_, T> {
        Call {
            client: self,
            request: RawRequest {
                method,
                path_and_query,
                body: Vec::new(),
                headers: Vec::new(),
                signing: Signing::Proper,
            },
            body,
            answer: PhantomData,
        }
    }

    pub(crate) fn get<T>(&self, path: String) -> Call<'_, T> {
        self.call(Method::GET, path, None::<&()>)
    }

    pub(crate) fn post<T>(&self, path: String, body: Option<&impl Serialize>) -> Call<'_, T> {
        self.call(Method::POST, path, body)
    }

    /// `GET /healthz`, unsigned. Any status is an answer, not an error.
    ///
    /// # Errors
    /// As [`Client::send`].
    pub async fn healthz(&self) -> Result<RawResponse, ClientError> {
        self.send(RawRequest::get("/healthz").signing(Signing::Unsigned)).await
    }

    /// `GET /readyz`, unsigned. Any status is an answer (`503` while not ready).
    ///
    /// # Errors
    /// As [`Client::send`].
    pub async fn readyz(&self) -> Result<RawResponse, ClientError> {
        self.send(RawRequest::get("/readyz").signing(Signing::Unsigned)).await
    }

    /// `GET /openapi.json`, unsigned.
    pub fn openapi(&self) -> Call<'_, serde_json::Value> {
        self.get::<serde_json::Value>("/openapi.json".into()).signing(Signing::Unsigned)
    }
}

/// One prepared API call. `.await` it (or [`Call::send`]) for the typed answer; a status
/// outside 2xx becomes [`ClientError::Api`]. [`Call::send_raw`] answers whatever came back.
#[must_use = "a call does nothing until it is awaited or sent"]
pub struct Call<'c, T> {
    client: &'c Client,
    request: RawRequest,
    /// The encoded body, or why encoding failed (reported when sent, so builders stay simple).
    body: Result<Vec<u8>, String>,
    answer: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Call<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("method", &self.request.method)
            .field("path_and_query", &self.request.path_and_query)
            .field("answer", &std::any::type_name::<T>())
            .finish_non_exhaustive()
    }
}

impl<'c, T: DeserializeOwned> Call<'c, T> {
    /// Sends `Idempotency-Key: key`: the same key and body from the same principal answers
    /// the first response again and does nothing else. Sent as given, also on a GET.
    pub fn idempotency_key(self, key: impl Into<String>) -> Self {
        self.header(signing::IDEMPOTENCY_KEY_HEADER, key)
    }

    /// Adds a header to the request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.request.headers.push((name.into(), value.into()));
        self
    }

    /// Signs differently (or not at all), for tests of authentication.
    pub fn signing(mut self, signing: Signing) -> Self {
        self.request.signing = signing;
        self
    }

    /// The request this call would send, to change further and pass to [`Client::send`].
    ///
    /// # Errors
    /// [`ClientError::Encode`] if the body could not be encoded.
    pub fn into_request(self) -> Result<RawRequest, ClientError> {
        let body = self.body.map_err(ClientError::Encode)?;
        Ok(RawRequest { body, ..self.request })
    }

    /// Sends the call and answers whatever came back, any status.
    ///
    /// # Errors
    /// As [`Client::send`], and [`ClientError::Encode`].
    pub async fn send_raw(self) -> Result<RawResponse, ClientError> {
        let client = self.client;
        client.send(self.into_request()?).await
    }

    /// Sends the call and decodes a 2xx answer as `T`.
    ///
    /// # Errors
    /// [`ClientError::Api`] for the API's refusals, [`ClientError::UnexpectedAnswer`] for an
    /// answer of another shape, and everything [`Call::send_raw`] fails with.
    pub async fn send(self) -> Result<T, ClientError> {
        self.send_raw().await?.error_for_status()?.json()
    }
}

impl<'c, T: DeserializeOwned + Send + 'c> IntoFuture for Call<'c, T> {
    type Output = Result<T, ClientError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<T, ClientError>> + Send + 'c>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// Checks `url` and returns it as `scheme://host[:port]`.
fn base_url(url: &str) -> Result<String, ClientError> {
    let bad = |reason: &str| ClientError::BadUrl { url: url.to_owned(), reason: reason.to_owned() };
    let parsed = Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("only http:// and https:// are supported"));
    }
    if parsed.path() != "/" || parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad("expected http(s)://host[:port] with no path, query or fragment"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("credentials go in the signing headers, not in the URL"));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// Options of [`Client::with_options`]; the defaults are [`Client::new`]'s.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// The longest one request may take; [`REQUEST_TIMEOUT_DEFAULT`] when `None`.
    pub timeout: Option<Duration>,
    /// PEM certificates to trust, instead of the system's roots, for an https server (a test
    /// certificate, a company CA).
    pub ca_cert_pem: Option<Vec<u8>>,
}

/// TLS uses ring's primitives, chosen once per process; a provider someone else installed first
/// is kept. ring builds with nothing but a C compiler, where aws-lc (rustls's default) needs
/// CMake on a fresh machine; what ring lacks is a post-quantum key exchange, which is why rustls
/// marks its provider deprecated (docs/RELIABILITY.md says so under "Not promised yet").
fn install_crypto_provider() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        #[allow(deprecated)]
        let provider = rustls::crypto::ring::default_provider();
        let _ = provider.install_default();
    });
}

fn append(headers: &mut HeaderMap, name: &str, value: &str) -> Result<(), ClientError> {
    let bad = |reason: String| ClientError::BadHeader { name: name.to_owned(), reason };
    let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| bad(e.to_string()))?;
    let header_value = HeaderValue::from_str(value).map_err(|e| bad(e.to_string()))?;
    headers.append(header_name, header_value);
    Ok(())
}

fn unix_now_s() -> u64 {
    // A clock before 1970 cannot sign anything valid; 0 lets the server say `timestamp_skew`.
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// 32 lowercase hex digits from the operating system's generator.
fn fresh_nonce() -> Result<String, ClientError> {
    let mut bytes = [0u8; NONCE_BYTES];
    SysRng.try_fill_bytes(&mut bytes).map_err(|e| ClientError::Random(e.to_string()))?;
    Ok(signing::to_hex(&bytes))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;
    use reqwest::header::RETRY_AFTER;

    use super::*;

    #[test]
    fn the_url_must_be_http_or_https_to_a_host() {
        assert_eq!(base_url("http://127.0.0.1:8080").unwrap(), "http://127.0.0.1:8080");
        assert_eq!(base_url("https://pay.example:8443/").unwrap(), "https://pay.example:8443");
        assert_eq!(base_url("http://127.0.0.1:8080/").unwrap(), "http://127.0.0.1:8080");
        assert_eq!(base_url("http://localhost").unwrap(), "http://localhost");
        for bad in ["ftp://127.0.0.1", "127.0.0.1:8080", "http://h/api", "http://h/?x=1", "http://u:p@h", ""] {
            assert!(matches!(base_url(bad), Err(ClientError::BadUrl { .. })), "{bad:?}");
        }
    }

    #[test]
    fn nonces_are_fresh_and_valid() {
        let a = fresh_nonce().unwrap();
        let b = fresh_nonce().unwrap();
        assert!(signing::is_valid_nonce(&a), "{a}");
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }

    #[test]
    fn cursors_are_percent_encoded() {
        assert_eq!(percent_encode("abc-_.~09"), "abc-_.~09");
        assert_eq!(percent_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn the_client_and_sign_parts_never_show_a_secret() {
        let client = Client::new("http://127.0.0.1:1", "key_x", "hbs_top_secret").unwrap();
        let parts = SignParts { secret: Some("hbs_other_secret".to_owned()), ..SignParts::default() };
        let shown = format!("{client:?} {parts:?} {:?}", client.me());
        assert!(!shown.contains("top_secret") && !shown.contains("other_secret"), "{shown}");
    }

    #[test]
    fn an_error_answer_becomes_an_api_error_with_its_reason_and_retry_after() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        let raw = RawResponse {
            status: StatusCode::TOO_MANY_REQUESTS,
            headers,
            body: br#"{"error": {"code": "rate_limited", "message": "slow down", "reason": "burst"}}"#.to_vec(),
        };
        assert_eq!(raw.error_code().as_deref(), Some("rate_limited"));
        match raw.error_for_status() {
            Err(err @ ClientError::Api { retry_after_s: Some(7), .. }) => {
                assert_eq!(err.to_string(), "rate_limited: slow down (reason: burst)");
            }
            other => panic!("{other:?}"),
        }
        let html = RawResponse { status: StatusCode::BAD_GATEWAY, headers: HeaderMap::new(), body: b"<html>".to_vec() };
        assert!(matches!(html.error_for_status(), Err(ClientError::UnexpectedAnswer { .. })));
    }
}
