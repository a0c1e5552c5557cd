//! Evidence files: what a user or an operator uploads to back a report, a dispute or a
//! document (a screenshot, a scan, a chat export).
//!
//! A file is kept whole, once, with the SHA-256 every citation carries; it is never changed
//! or deleted. Its bytes must be what its content type says (a PNG starts as a PNG does, a
//! text file is UTF-8), so a file served back with that type and `nosniff` is what it claims.
//! Who may read it is [`EvidenceFile::readable_by`]: its uploader (and, as the sections citing
//! files are built, the operators working on what cites it).

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::CoreError;
use crate::hex::hex;
use crate::id::{EvidenceId, KeyId};
use crate::time::Timestamp;

/// The largest evidence file, in bytes (5 MiB): the one body limit above 64 KiB.
pub const EVIDENCE_BYTES_MAX: usize = 5 * 1024 * 1024;

/// What an evidence file may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ContentType {
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "application/pdf")]
    Pdf,
    #[serde(rename = "text/plain")]
    Text,
}

impl ContentType {
    pub const ALL: [ContentType; 4] = [ContentType::Png, ContentType::Jpeg, ContentType::Pdf, ContentType::Text];

    pub const fn as_str(self) -> &'static str {
        match self {
            ContentType::Png => "image/png",
            ContentType::Jpeg => "image/jpeg",
            ContentType::Pdf => "application/pdf",
            ContentType::Text => "text/plain",
        }
    }

    /// The file-name extensions of the type, the usual one first.
    pub const fn extensions(self) -> &'static [&'static str] {
        match self {
            ContentType::Png => &["png"],
            ContentType::Jpeg => &["jpg", "jpeg"],
            ContentType::Pdf => &["pdf"],
            ContentType::Text => &["txt", "text"],
        }
    }

    /// The type a `Content-Type` header names: the media type in any case, with no parameter
    /// but `charset=utf-8` on `text/plain`.
    ///
    /// # Errors
    /// [`CoreError::InvalidRequest`] naming the types accepted.
    pub fn parse(header: &str) -> Result<ContentType, CoreError> {
        let mut parts = header.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default();
        let found = Self::ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(media));
        let mut params_ok = |t: ContentType| {
            parts.all(|p| {
                t == ContentType::Text
                    && p.split_once('=').is_some_and(|(k, v)| {
                        k.trim().eq_ignore_ascii_case("charset")
                            && v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
                    })
            })
        };
        match found {
            Some(t) if params_ok(t) => Ok(t),
            _ => Err(CoreError::invalid(format!(
                "Content-Type {header:?} is not accepted: send image/png, image/jpeg, application/pdf or text/plain (UTF-8)"
            ))),
        }
    }

    /// Whether `bytes` are a file of this type, by its signature (text: valid UTF-8).
    fn matches(self, bytes: &[u8]) -> bool {
        match self {
            ContentType::Png => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            ContentType::Jpeg => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
            ContentType::Pdf => bytes.starts_with(b"%PDF-"),
            ContentType::Text => std::str::from_utf8(bytes).is_ok(),
        }
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stored evidence file.
#[derive(Clone, PartialEq, Eq)]
pub struct EvidenceFile {
    pub id: EvidenceId,
    /// The key that uploaded it.
    pub uploader: KeyId,
    pub content_type: ContentType,
    /// SHA-256 of `bytes`.
    pub sha256: [u8; 32],
    pub bytes: Vec<u8>,
    pub created_at: Timestamp,
}

impl fmt::Debug for EvidenceFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvidenceFile")
            .field("id", &self.id)
            .field("uploader", &self.uploader)
            .field("content_type", &self.content_type)
            .field("sha256", &hex(&self.sha256))
            .field("size", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

impl EvidenceFile {
    /// A new file, checked: not empty, at most [`EVIDENCE_BYTES_MAX`], and what its type says.
    ///
    /// # Errors
    /// [`CoreError::InvalidRequest`] naming what is wrong.
    pub fn new(
        id: EvidenceId,
        uploader: KeyId,
        content_type: ContentType,
        bytes: Vec<u8>,
        created_at: Timestamp,
    ) -> Result<EvidenceFile, CoreError> {
        if bytes.is_empty() {
            return Err(CoreError::invalid("an evidence file must not be empty"));
        }
        if bytes.len() > EVIDENCE_BYTES_MAX {
            return Err(CoreError::invalid(format!(
                "an evidence file is at most {EVIDENCE_BYTES_MAX} bytes; this one has {}",
                bytes.len()
            )));
        }
        if !content_type.matches(&bytes) {
            return Err(CoreError::invalid(format!("the file is not {content_type}: its bytes say otherwise")));
        }
        let sha256 = Sha256::digest(&bytes).into();
        Ok(EvidenceFile { id, uploader, content_type, sha256, bytes, created_at })
    }

    /// Whether the principal `key` may read the file.
    pub fn readable_by(&self, key: KeyId) -> bool {
        self.uploader == key
    }

    /// What the upload answers.
    pub fn view(&self) -> EvidenceView {
        EvidenceView {
            evidence_id: self.id,
            sha256: hex(&self.sha256),
            size: self.bytes.len() as u64,
            content_type: self.content_type,
            created_at: self.created_at,
        }
    }
}

/// A file as the API shows it (without its bytes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvidenceView {
    pub evidence_id: EvidenceId,
    /// Lowercase hex SHA-256 of the bytes: what every citation of the file carries.
    pub sha256: String,
    /// In bytes.
    pub size: u64,
    pub content_type: ContentType,
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;

    use super::*;

    fn ids() -> (EvidenceId, KeyId) {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        (EvidenceId::mint(Timestamp::from_millis(0), &mut rng), KeyId::mint(Timestamp::from_millis(0), &mut rng))
    }

    #[test]
    fn content_types_parse_by_media_type_and_only_utf8_text_takes_a_charset() {
        assert_eq!(ContentType::parse("image/PNG"), Ok(ContentType::Png));
        assert_eq!(ContentType::parse("text/plain; charset=UTF-8"), Ok(ContentType::Text));
        assert_eq!(ContentType::parse("application/pdf"), Ok(ContentType::Pdf));
        for bad in ["text/html", "", "image/png; charset=utf-8", "text/plain; charset=latin1", "image/pngx"] {
            assert!(ContentType::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_file_must_be_what_its_type_says_and_within_the_limit() {
        let (id, key) = ids();
        let at = Timestamp::from_millis(0);
        let png = b"\x89PNG\r\n\x1a\nrest".to_vec();
        let file = EvidenceFile::new(id, key, ContentType::Png, png.clone(), at).unwrap();
        assert_eq!(file.view().sha256, hex(&Sha256::digest(&png)));
        assert_eq!(file.view().size, png.len() as u64);
        assert!(file.readable_by(key));
        assert!(EvidenceFile::new(id, key, ContentType::Jpeg, png.clone(), at).is_err());
        assert!(EvidenceFile::new(id, key, ContentType::Pdf, b"not a pdf".to_vec(), at).is_err());
        assert!(EvidenceFile::new(id, key, ContentType::Text, vec![0xFF, 0xFE], at).is_err());
        assert!(EvidenceFile::new(id, key, ContentType::Text, Vec::new(), at).is_err());
        let big = vec![b'a'; EVIDENCE_BYTES_MAX + 1];
        assert!(EvidenceFile::new(id, key, ContentType::Text, big, at).is_err());
        assert!(EvidenceFile::new(id, key, ContentType::Text, vec![b'a'; EVIDENCE_BYTES_MAX], at).is_ok());
    }
}
