//! The engine over the real SQLite store: batching, jobs, idempotency, concurrency, failures.

mod support;

mod audit;
mod batching;
mod concurrency;
mod idempotency;
mod jobs;
