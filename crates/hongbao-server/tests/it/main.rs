//! Black-box tests of the HTTP API: the real server on port 0, a fresh database each, driven by
//! the signing client exactly as a real client would.

mod support;

mod audit;
mod bad_input;
mod cases;
mod clock;
mod concurrency;
mod contract;
mod documents;
mod evidence;
mod freezes;
mod idempotency;
mod lifecycle;
mod openapi;
mod rate_limit;
mod regressions;
mod returns;
mod risk;
mod security;
mod seizures;
mod signals;
mod smoke;
mod transport;
mod visibility;
mod warnings;
