//! A client for hongbao's HTTP API, and the request signing that client and server share.
//!
//! [`signing`] is the canonical string, HMAC-SHA256 signature, constant-time verification and
//! header names of docs/API.md. It has no I/O and no feature gate, so the server depends on this
//! crate with `default-features = false` and verifies with exactly the code that signs.
//!
//! With the default feature `http`, [`Client`] signs every request and has one method per
//! endpoint, sending and answering with the wire format's types ([`wire`], the crate
//! `hongbao-wire` the server uses too); [`Client::send`] gives tests full control over
//! method, path, body, headers and signature. [`Credentials`] is the format of
//! `root-credentials.json`.
//!
//! It speaks http and https (rustls with ring). It deliberately does not retry, follow
//! redirects or use proxies: a retry is the caller's decision, safe only for a request with an
//! `Idempotency-Key` (the `hongbao` CLI retries those, re-signing each attempt). Nothing here
//! decides money rules.

pub mod signing;

#[cfg(feature = "http")]
mod answers;
#[cfg(feature = "http")]
mod client;
#[cfg(feature = "http")]
mod credentials;
#[cfg(feature = "http")]
mod endpoints;
#[cfg(feature = "http")]
mod error;
#[cfg(feature = "http")]
mod raw;

#[cfg(feature = "http")]
pub use answers::{PacketOptions, TransferOptions};
#[cfg(feature = "http")]
pub use client::{ANSWER_BYTES_MAX, Call, Client, ClientOptions, REQUEST_TIMEOUT_DEFAULT};
#[cfg(feature = "http")]
pub use credentials::Credentials;
#[cfg(feature = "http")]
pub use error::ClientError;
/// The API's bodies and answers, shared with the server.
#[cfg(feature = "http")]
pub use hongbao_wire as wire;
#[cfg(feature = "http")]
pub use raw::{RawRequest, RawResponse, SignParts, Signing};
/// Re-exported so that callers of [`Client::send`] need no direct `reqwest` dependency.
#[cfg(feature = "http")]
pub use reqwest::{Method, StatusCode, header::HeaderMap};
