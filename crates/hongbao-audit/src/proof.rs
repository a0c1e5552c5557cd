//! The c2sp.org/tlog-proof text: an offline-verifiable receipt that an entry is in the log.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64, optional and unauthenticated>
//! index <decimal>
//! <base64 hash, one per line, from the leaf's sibling up>
//!
//! <signed checkpoint note, verbatim>
//! ```
//!
//! **Boundary:** parsing checks the shape only. The checkpoint is opened, and the hashes checked,
//! by [`crate::verify_receipt`].

use crate::hash::Hash;
use crate::note::{NOTE_SIZE_BYTES_MAX, decode_base64, decode_hash, encode_base64};

/// The first line of every proof.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// The most hashes a proof can need: the path to the root of a tree of up to `2^64` leaves.
pub const PROOF_HASHES_MAX: usize = 64;

/// The longest proof text [`parse`] accepts, in bytes: a maximal checkpoint note plus 64 KiB for
/// the header, the index, [`PROOF_HASHES_MAX`] hashes (under 3 KiB) and the extra data.
pub const PROOF_TEXT_BYTES_MAX: usize = NOTE_SIZE_BYTES_MAX + 64 * 1024;

/// A parsed tlog-proof. Nothing in it is trusted until [`crate::verify_receipt`] has checked it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque application data; not authenticated by anything, so never to be trusted as is.
    pub extra: Option<Vec<u8>>,
    /// The zero-based index of the entry in the log.
    pub index: u64,
    /// The inclusion proof, from the leaf's sibling up to the root's child.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

impl TlogProof {
    /// Writes the proof in its text form.
    pub fn to_text(&self) -> String {
        let mut text = String::with_capacity(64 + self.hashes.len() * 45 + self.checkpoint.len());
        text.push_str(HEADER);
        text.push('\n');
        if let Some(extra) = &self.extra {
            text.push_str("extra ");
            text.push_str(&encode_base64(extra));
            text.push('\n');
        }
        text.push_str(&format!("index {}\n", self.index));
        for hash in &self.hashes {
            text.push_str(&encode_base64(hash));
            text.push('\n');
        }
        text.push('\n');
        text.push_str(&self.checkpoint);
        text
    }
}

/// Why a proof text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofTextError {
    /// The text is longer than [`PROOF_TEXT_BYTES_MAX`].
    #[error("proof text is {len} bytes, more than the {max} accepted")]
    TooLarge {
        /// The text's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The first line must be exactly [`HEADER`].
    #[error("proof text does not start with the line c2sp.org/tlog-proof@v1")]
    BadHeader,
    /// The `extra` line's data is not standard padded base64.
    #[error("extra data is not valid base64")]
    BadExtra,
    /// After the header (and the optional `extra` line) comes `index <n>`.
    #[error("proof text has no index line")]
    MissingIndex,
    /// The index is ASCII decimal with no sign and no leading zero, and fits in 64 bits.
    #[error("index {0:?} is not a decimal number without leading zeros")]
    BadIndex(String),
    /// A proof line is not standard padded base64 of exactly 32 bytes.
    #[error("line {line} is not a base64 hash of 32 bytes")]
    BadHash {
        /// The 1-based line number in the proof text.
        line: usize,
    },
    /// More hashes than any tree of at most `2^64` leaves needs.
    #[error("proof has more than {max} hashes")]
    TooManyHashes {
        /// The limit.
        max: usize,
    },
    /// The hashes end with an empty line, and the checkpoint follows it.
    #[error("proof text has no empty line before the checkpoint")]
    MissingBlankLine,
    /// Nothing follows the empty line.
    #[error("proof text has no checkpoint after the empty line")]
    MissingCheckpoint,
}

/// Writes a proof without extra data.
pub fn format(index: u64, hashes: &[Hash], checkpoint_note: &str) -> String {
    TlogProof { extra: None, index, hashes: hashes.to_vec(), checkpoint: checkpoint_note.to_owned() }.to_text()
}

/// Writes a proof with (unauthenticated) extra data.
pub fn format_with_extra(extra: &[u8], index: u64, hashes: &[Hash], checkpoint_note: &str) -> String {
    TlogProof { extra: Some(extra.to_vec()), index, hashes: hashes.to_vec(), checkpoint: checkpoint_note.to_owned() }
        .to_text()
}

/// Parses a proof text strictly: every line must be exactly of its form, and the checkpoint is
/// whatever follows the first empty line.
///
/// # Errors
///
/// One [`ProofTextError`] naming the first part that is not of its form.
pub fn parse(text: &str) -> Result<TlogProof, ProofTextError> {
    if text.len() > PROOF_TEXT_BYTES_MAX {
        return Err(ProofTextError::TooLarge { len: text.len(), max: PROOF_TEXT_BYTES_MAX });
    }
    let mut lines = Lines { rest: text, number: 0 };
    if lines.next() != Some(HEADER) {
        return Err(ProofTextError::BadHeader);
    }
    let mut line = lines.next().ok_or(ProofTextError::MissingIndex)?;
    let extra = match line.strip_prefix("extra ") {
        Some(b64) => {
            let extra = decode_base64(b64).ok_or(ProofTextError::BadExtra)?;
            line = lines.next().ok_or(ProofTextError::MissingIndex)?;
            Some(extra)
        }
        None => None,
    };
    let index = line.strip_prefix("index ").ok_or(ProofTextError::MissingIndex)?;
    let index = crate::parse_decimal(index).ok_or_else(|| ProofTextError::BadIndex(index.to_owned()))?;
    let mut hashes = Vec::new();
    loop {
        let line = lines.next().ok_or(ProofTextError::MissingBlankLine)?;
        if line.is_empty() {
            break;
        }
        if hashes.len() == PROOF_HASHES_MAX {
            return Err(ProofTextError::TooManyHashes { max: PROOF_HASHES_MAX });
        }
        hashes.push(decode_hash(line).ok_or(ProofTextError::BadHash { line: lines.number })?);
    }
    if lines.rest.is_empty() {
        return Err(ProofTextError::MissingCheckpoint);
    }
    Ok(TlogProof { extra, index, hashes, checkpoint: lines.rest.to_owned() })
}

/// Newline-terminated lines, counted; a last line without its newline is not a line.
struct Lines<'a> {
    rest: &'a str,
    number: usize,
}

impl<'a> Lines<'a> {
    fn next(&mut self) -> Option<&'a str> {
        let (line, rest) = self.rest.split_once('\n')?;
        self.rest = rest;
        self.number += 1;
        Some(line)
    }
}
