//! The checks of an append to the transparency log, the same in every store: a batch's entries
//! continue the stored log exactly and its checkpoint fits the log after them.
//!
//! What a misfit means depends on who else writes the log ([`LogWriters`]): with one writer it
//! is the engine's mistake ([`StoreError::Corrupt`]); with several nodes sharing the log it may
//! be another node's append or checkpoint ([`StoreError::Conflict`], and the batch may be tried
//! again).

use crate::{CheckpointRow, LogRow, StoreError};

/// Who writes the log a batch appends to, and where the size it is checked against came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogWriters {
    /// The store's one writer, which read the size in this transaction: every misfit is
    /// [`StoreError::Corrupt`].
    One,
    /// Several nodes, and this transaction read the size under the log's lock
    /// ([`crate::WriteTx::log_size`]): entries that do not continue it are
    /// [`StoreError::Corrupt`], a checkpoint another node's beat is [`StoreError::Conflict`].
    SharedSizeRead,
    /// Several nodes, and the size was read only at commit: entries numbered from another size
    /// may be another node's doing too, so every misfit is [`StoreError::Conflict`].
    SharedSizeAtCommit,
}

/// Checks that `log` continues a log of `size` entries exactly (no gap, no repeat, every index
/// within an `i64`), and that `checkpoint` covers no more than the log after the append and
/// grows past `latest`, the largest stored checkpoint's size.
///
/// # Errors
/// [`StoreError::Corrupt`] naming the first row or the checkpoint that does not fit; or
/// [`StoreError::Conflict`] where [`LogWriters`] says another node explains the misfit.
pub fn check_append(
    size: u64,
    writers: LogWriters,
    log: &[LogRow],
    checkpoint: Option<&CheckpointRow>,
    latest: Option<u64>,
) -> Result<(), StoreError> {
    let mut next = size;
    for row in log {
        if row.index != next {
            let message = format!(
                "log entry {} appended where entry {next} comes next: the log grows by one, without gaps or repeats",
                row.index
            );
            return Err(match writers {
                LogWriters::One | LogWriters::SharedSizeRead => StoreError::Corrupt(message),
                LogWriters::SharedSizeAtCommit => StoreError::Conflict(message),
            });
        }
        if i64::try_from(row.index).is_err() {
            return Err(StoreError::Corrupt(format!("log entry {} is past the largest index", row.index)));
        }
        next += 1;
    }
    let Some(checkpoint) = checkpoint else { return Ok(()) };
    if checkpoint.size > next {
        return Err(StoreError::Corrupt(format!("checkpoint of size {} for a log of {next} entries", checkpoint.size)));
    }
    match latest {
        Some(latest) if checkpoint.size <= latest => {
            let message =
                format!("checkpoint of size {} does not grow the latest checkpoint, of size {latest}", checkpoint.size);
            Err(match writers {
                LogWriters::One => StoreError::Corrupt(message),
                LogWriters::SharedSizeRead | LogWriters::SharedSizeAtCommit => StoreError::Conflict(message),
            })
        }
        _ => Ok(()),
    }
}
