//! Legal documents a freeze, a release or a seizure cites (a court ruling, a police notice, a
//! stop-payment order), registered by an officer and committed to in the transparency log
//! without their content.
//!
//! A document is the officer's description of a paper (its kind, the issuing authority, its
//! reference number, when it was issued) plus the SHA-256 of its scan; the scan itself may be an
//! evidence file. At registration a random 32-byte salt is drawn and the `document_registered`
//! event logs only the commitment
//! `SHA-256("hongbao/document/v1\n" || salt || sha256)` (the 32 bytes of each, not their hex);
//! the entry of every freeze that cites the document carries the same commitment. A reveal logs
//! the salt and the SHA-256, so anyone can then recompute the commitment and know which paper
//! the freeze cited and since when, while until then the log says nothing a guess could test.
//! A document is never changed, only revealed; a confidential one's authority and reference are
//! never shown to the user it concerns.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::CoreError;
use crate::fairness::Salt;
use crate::hex::hex;
use crate::id::{DocumentId, EvidenceId, KeyId};
use crate::time::Timestamp;

/// The domain separator of version 1 of a document's commitment.
pub const COMMITMENT_PREFIX: &[u8] = b"hongbao/document/v1\n";

/// The most characters of a document's authority or reference.
pub const DOCUMENT_TEXT_CHARS_MAX: u32 = 200;

/// What a document is, which decides what it may warrant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DocumentKind {
    /// 民事裁定书 and the like: a court's ruling to preserve or enforce.
    CourtRuling,
    /// 协助冻结通知书: a court's or the police's notice asking the platform to freeze.
    AssistanceNotice,
    /// 止付通知书: an emergency stop-payment order.
    StopPaymentOrder,
    /// 解除冻结通知书: a notice lifting a freeze.
    ReleaseNotice,
    /// 协助扣划通知书: a notice ordering frozen money transferred.
    TransferOrder,
    /// Anything else an officer must cite (a licence, a letter).
    Other,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 6] = [
        DocumentKind::CourtRuling,
        DocumentKind::AssistanceNotice,
        DocumentKind::StopPaymentOrder,
        DocumentKind::ReleaseNotice,
        DocumentKind::TransferOrder,
        DocumentKind::Other,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            DocumentKind::CourtRuling => "court_ruling",
            DocumentKind::AssistanceNotice => "assistance_notice",
            DocumentKind::StopPaymentOrder => "stop_payment_order",
            DocumentKind::ReleaseNotice => "release_notice",
            DocumentKind::TransferOrder => "transfer_order",
            DocumentKind::Other => "other",
        }
    }

    /// The kind a stored name stands for.
    pub fn parse(name: &str) -> Option<DocumentKind> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// A registered document. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    pub id: DocumentId,
    pub kind: DocumentKind,
    /// Who issued it (a court, a police bureau).
    pub authority: String,
    /// Its number, as the authority wrote it.
    pub reference: String,
    pub issued_at: Timestamp,
    /// The SHA-256 of the paper's scan.
    pub sha256: [u8; 32],
    /// The scan, when it was uploaded as an evidence file (with the same SHA-256).
    pub evidence_id: Option<EvidenceId>,
    /// Withheld from the user it concerns: only its kind is shown to them.
    pub confidential: bool,
    /// Secret until revealed.
    pub salt: Salt,
    /// The officer who registered it.
    pub registered_by: KeyId,
    pub created_at: Timestamp,
    pub revealed_at: Option<Timestamp>,
}

impl Document {
    /// What the log records of it until the reveal.
    pub fn commitment(&self) -> String {
        commitment(&self.salt, &self.sha256)
    }
}

/// The commitment to a file's `sha256` under `salt`, as 64 lowercase hex digits.
pub fn commitment(salt: &Salt, sha256: &[u8; 32]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(COMMITMENT_PREFIX);
    hasher.update(salt.0);
    hasher.update(sha256);
    hex(&hasher.finalize())
}

/// Checks a document's authority or reference: 1 to [`DOCUMENT_TEXT_CHARS_MAX`] characters, not
/// blank, nothing hidden.
///
/// # Errors
/// [`CoreError::InvalidRequest`] naming `field`.
pub fn check_text(field: &str, text: &str) -> Result<(), CoreError> {
    crate::user::check_name(field, text, DOCUMENT_TEXT_CHARS_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commitment_is_sha256_of_the_prefix_the_salt_and_the_file_hash() {
        let (salt, file) = (Salt([3; 32]), [9u8; 32]);
        let mut bytes = b"hongbao/document/v1\n".to_vec();
        bytes.extend([3u8; 32]);
        bytes.extend([9u8; 32]);
        assert_eq!(commitment(&salt, &file), hex(&Sha256::digest(&bytes)));
        assert_ne!(commitment(&salt, &file), commitment(&Salt([4; 32]), &file));
        assert_ne!(commitment(&salt, &file), commitment(&salt, &[8; 32]));
    }

    #[test]
    fn kinds_have_one_name_each_both_ways() {
        for kind in DocumentKind::ALL {
            assert_eq!(DocumentKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert_eq!(DocumentKind::parse("court"), None);
    }
}
