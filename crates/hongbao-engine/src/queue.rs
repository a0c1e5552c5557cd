//! The bounded queue between the [`Engine`](crate::Engine) handle and the writer: its messages,
//! their outcomes, and how a batch's answers are sent once its commit has ended.

use hongbao_core::Timestamp;
use hongbao_core::ops::{Command, Reply};
use hongbao_store::{NonceRecord, StoreError};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use crate::config::{EngineError, Idempotency, JobOutcome};

pub(crate) type Answered<T> = oneshot::Sender<Result<T, EngineError>>;

pub(crate) enum Msg {
    Command {
        command: Command,
        idempotency: Option<Idempotency>,
        /// The nonce of the signed request that asked, stored with the batch (whatever the
        /// command's outcome), so that a replay is refused after any restart.
        nonce: Option<NonceRecord>,
        reply: Answered<Reply>,
    },
    /// Nonces of requests that ran no command, to store with the next batch; answered once they
    /// are durable, when asked.
    Nonces {
        records: Vec<NonceRecord>,
        reply: Option<Answered<()>>,
    },
    Jobs {
        now: Timestamp,
        reply: Answered<JobOutcome>,
    },
    /// Sign a checkpoint if the log grew; answers the latest signed size.
    Checkpoint {
        reply: Answered<u64>,
    },
    Shutdown {
        done: oneshot::Sender<()>,
    },
}

pub(crate) enum Outcome {
    Command(Answered<Reply>, Result<Reply, EngineError>),
    Jobs(Answered<JobOutcome>, Result<JobOutcome, EngineError>),
    Nonces(Option<Answered<()>>, Result<(), EngineError>),
}

impl Outcome {
    pub(crate) fn fail(self, err: &EngineError) -> Outcome {
        match self {
            Outcome::Command(reply, _) => Outcome::Command(reply, Err(err.clone())),
            Outcome::Jobs(reply, _) => Outcome::Jobs(reply, Err(err.clone())),
            Outcome::Nonces(reply, _) => Outcome::Nonces(reply, Err(err.clone())),
        }
    }

    pub(crate) fn send(self) {
        // A caller that stopped waiting is no reason to fail the batch.
        match self {
            Outcome::Command(reply, result) => drop(reply.send(result)),
            Outcome::Jobs(reply, result) => drop(reply.send(result)),
            Outcome::Nonces(reply, result) => {
                if let Some(reply) = reply {
                    drop(reply.send(result));
                } else if let Err(err) = result {
                    tracing::warn!(%err, "nonces of requests that ran no command were not stored");
                }
            }
        }
    }
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Msg::Command { .. } => "Command",
            Msg::Nonces { .. } => "Nonces",
            Msg::Jobs { .. } => "Jobs",
            Msg::Checkpoint { .. } => "Checkpoint",
            Msg::Shutdown { .. } => "Shutdown",
        })
    }
}

/// What a message of a batch asked, kept to decide it again should the batch before fail.
pub(crate) enum Asked {
    Command(Command, Option<Idempotency>, Option<NonceRecord>),
    Nonces(Vec<NonceRecord>),
}

impl Asked {
    pub(crate) fn of(msg: &Msg) -> Option<Asked> {
        match msg {
            Msg::Command { command, idempotency, nonce, .. } => {
                Some(Asked::Command(command.clone(), idempotency.clone(), *nonce))
            }
            Msg::Nonces { records, .. } => Some(Asked::Nonces(records.clone())),
            Msg::Jobs { .. } | Msg::Checkpoint { .. } | Msg::Shutdown { .. } => None,
        }
    }

    /// The message again, with the reply of its first outcome.
    pub(crate) fn again(self, outcome: Outcome) -> Option<Msg> {
        match (self, outcome) {
            (Asked::Command(command, idempotency, nonce), Outcome::Command(reply, _)) => {
                Some(Msg::Command { command, idempotency, nonce, reply })
            }
            (Asked::Nonces(records), Outcome::Nonces(reply, _)) => Some(Msg::Nonces { records, reply }),
            _ => None,
        }
    }
}

/// Whether the pipeline may decide `msg` while the batch before commits: commands and nonces,
/// which read only what the world of that batch holds.
pub(crate) fn joins_pipeline(msg: &Msg) -> bool {
    matches!(msg, Msg::Command { .. } | Msg::Nonces { .. })
}

/// Sends a batch's answers once its commit has ended; `false` (and every answer a failure)
/// when the commit failed.
pub(crate) fn answer(outcomes: Vec<Outcome>, result: Result<(), StoreError>) -> bool {
    let size = outcomes.len();
    let applied = result.is_ok();
    let outcomes = match result {
        Ok(()) => outcomes,
        Err(err) => {
            tracing::error!(%err, size, "batch failed; nothing in it was applied");
            let err = EngineError::from(err);
            outcomes.into_iter().map(|o| o.fail(&err)).collect()
        }
    };
    tracing::trace!(size, "batch done");
    for outcome in outcomes {
        outcome.send();
    }
    applied
}

/// Failed answers for messages a batch could not get to (the error replaces them).
pub(crate) fn unanswered(work: Vec<Msg>) -> Vec<Outcome> {
    work.into_iter()
        .filter_map(|msg| match msg {
            Msg::Command { reply, .. } => Some(Outcome::Command(reply, Err(EngineError::Stopped))),
            Msg::Jobs { reply, .. } => Some(Outcome::Jobs(reply, Err(EngineError::Stopped))),
            Msg::Nonces { reply, .. } => Some(Outcome::Nonces(reply, Err(EngineError::Stopped))),
            Msg::Shutdown { .. } | Msg::Checkpoint { .. } => None,
        })
        .collect()
}

pub(crate) fn fingerprint(command: &Command) -> [u8; 32] {
    // The command, not the raw HTTP body: the same request in other whitespace is the same.
    let bytes = serde_json::to_vec(command).unwrap_or_default();
    Sha256::digest(&bytes).into()
}
