//! A client for hongbao's HTTP API, and the request signing that client and server share.
//!
//! [`signing`] is the canonical string, HMAC-SHA256 signature, constant-time verification and
//! header names of API.md. It has no I/O and no feature gate, so the server depends on this
//! crate with `default-features = false` and verifies with exactly the code that signs.
//!
//! With the default feature `http`, [`Client`] signs every request and has one method per
//! endpoint, answering with the core's own view types (`PacketView`, `MeView`, …), which
//! serialize to exactly the API's JSON; [`Client::send`] gives tests full control over
//! method, path, body, headers and signature. [`Credentials`] is the format of
//! `root-credentials.json`.
//!
//! It deliberately does not retry, follow redirects, use proxies or speak TLS: a retried POST
//! would reuse its nonce (and must carry an `Idempotency-Key` to be safe anyway), and the
//! service is reached over loopback or a private network. Nothing here decides money rules.

pub mod signing;

#[cfg(feature = "http")]
mod answers;
#[cfg(feature = "http")]
mod client;
#[cfg(feature = "http")]
mod credentials;
#[cfg(feature = "http")]
mod error;

#[cfg(feature = "http")]
pub use answers::{DevClock, Direction, PacketOptions, Receipt, Transaction, TransactionPage, TransferOptions};
#[cfg(feature = "http")]
pub use client::{
    ANSWER_BYTES_MAX, Call, Client, REQUEST_TIMEOUT_DEFAULT, RawRequest, RawResponse, SignParts, Signing,
};
#[cfg(feature = "http")]
pub use credentials::Credentials;
#[cfg(feature = "http")]
pub use error::ClientError;
/// Re-exported so that callers of [`Client::send`] need no direct `reqwest` dependency.
#[cfg(feature = "http")]
pub use reqwest::{Method, StatusCode, header::HeaderMap};
