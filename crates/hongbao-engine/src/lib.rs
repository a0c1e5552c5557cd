//! The engine of hongbao: it orders commands, applies them in batches, and runs the jobs.
//!
//! Commands arrive on a bounded queue (a full queue refuses at once rather than growing); one
//! writer task takes up to `batch_max` of them, opens one storage transaction, loads in bulk
//! what the commands read, lets the core decide each in order, writes everything the batch
//! changed together with its idempotency records, commits once, and only then answers
//! (group commit). Commands on one packet are therefore serialised without fighting over a row
//! lock, and a thousand claims share one commit. Background work (expiry refunds, arrivals of
//! pending money) runs through the same writer, driven by [`Engine::run_once`]; every periodic task is a
//! [`jobs::Job`], and the production loop ([`Engine::spawn_jobs`]) only schedules them.
//!
//! **Boundary:** the engine decides nothing itself. Every rule is in `hongbao-core`; every
//! byte stored goes through the `hongbao-store` trait. Time comes from an injected [`Clock`].

pub mod audit;
mod check;
mod clock;
mod config;
mod engine;
mod evidence;
pub mod jobs;
mod load;
pub mod nonces;
mod pipeline;
mod queue;
mod reads;
pub mod seal;
mod secrets;
pub mod stored;
mod thread;
mod writer;

pub use audit::{Audit, AuditConfig, AuditError};
pub use check::{CheckReport, check};
pub use clock::{Clock, DevClock, ManualClock, NotAdjustable, SystemClock, system_now};
pub use config::{DEV_CLOCK_AHEAD_MAX_S, EngineConfig, EngineError, Idempotency, JobOutcome, Receipt, StartOptions};
pub use engine::Engine;
