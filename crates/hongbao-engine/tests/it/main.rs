//! The engine over the real SQLite store: batching, jobs, idempotency, concurrency, failures;
//! and over the in-memory store with injected faults: crashes one at a time, and a seeded
//! simulation of many clients under random faults and crashes.

mod support;

mod audit;
mod batching;
mod concurrency;
mod crash;
mod idempotency;
mod jobs;
mod secrets;
mod sim;
