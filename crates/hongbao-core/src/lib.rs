//! The money rules of hongbao, with no I/O.
//!
//! This crate decides; it never does. It holds the ledger (accounts, immutable transfers,
//! two-phase pending transfers), red packets and their split, the recall policy, user-to-user
//! transfers, and the invariants that must hold after every step. Every function takes the
//! state it needs plus the time and a random source as arguments and returns a decision or a
//! typed refusal, so each rule can be tested without a database and a seeded simulation can
//! run millions of operations against a fake clock.
//!
//! It deliberately has no tokio, no database, no clock and no global random number generator
//! (`rand` is built without its OS-backed generators): the shell loads state, calls
//! [`ops::execute`], and stores what it decided in one transaction.

pub mod case;
pub mod config;
pub mod document;
pub mod due;
pub mod error;
pub mod event;
pub mod evidence;
pub mod fairness;
pub mod freeze;
pub mod hex;
pub mod id;
pub mod invariants;
pub mod ledger;
pub mod log;
mod log_v1;
pub mod money;
#[cfg(feature = "openapi")]
mod openapi;
pub mod ops;
pub mod packet;
pub mod principal;
pub mod query;
pub mod returns;
pub mod risk;
pub mod seizure;
pub mod signal;
pub mod split;
pub mod text;
pub mod time;
pub mod user;
pub mod warning;
pub mod world;

pub use config::Limits;
pub use error::{CoreError, FreezeRefusal, FrozenReason, RecallRefusal};
pub use id::{
    AccountId, CaseId, ClaimId, DocumentId, EvidenceId, FreezeId, GroupId, KeyId, PacketId, ReportId, ReturnRequestId,
    SeizureId, TransferId, UserId,
};
pub use money::Fen;
pub use ops::{Command, Ctx, PacketSpec, Reply};
pub use time::Timestamp;
pub use world::{Changes, Fact, Fail, Key, World};
