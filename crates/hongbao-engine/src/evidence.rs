//! Evidence files for the edges: kept at once, outside the writer's batches (no command reads a
//! file's bytes; what cites a file carries its id and SHA-256), and read back only by who may.

use hongbao_core::evidence::{ContentType, EvidenceFile, EvidenceView};
use hongbao_core::{CoreError, EvidenceId, KeyId};
use rand::rngs::StdRng;

use crate::config::EngineError;
use crate::engine::Engine;

impl Engine {
    /// Checks and stores a file `uploader` sent, answering what was stored: the same uploader's
    /// same file sent again answers the file stored first (without reading it back).
    ///
    /// # Errors
    /// [`EngineError::Refused`] with `invalid_request` when the file is empty, too large or not
    /// what its type says; [`EngineError::Unavailable`].
    pub async fn store_evidence(
        &self,
        uploader: KeyId,
        content_type: ContentType,
        bytes: Vec<u8>,
    ) -> Result<EvidenceView, EngineError> {
        let now = self.clock().now();
        let id = EvidenceId::mint(now, &mut rand::make_rng::<StdRng>());
        let file = EvidenceFile::new(id, uploader, content_type, bytes, now).map_err(EngineError::Refused)?;
        let (id, created_at) = self.store().put_evidence(&file).await?;
        // The file stored first, if this one was sent before, differs only in these two.
        Ok(EvidenceView { evidence_id: id, created_at, ..file.view() })
    }

    /// That `reader` may cite the file `id` as the scan whose SHA-256 is `sha256`.
    ///
    /// # Errors
    /// As [`Engine::evidence`]; [`EngineError::Refused`] with `invalid_request` when the file's
    /// SHA-256 is another.
    pub async fn check_cited_evidence(
        &self,
        reader: KeyId,
        id: EvidenceId,
        sha256: &[u8; 32],
    ) -> Result<(), EngineError> {
        let file = self.evidence(reader, id).await?;
        if file.sha256 != *sha256 {
            return Err(EngineError::Refused(CoreError::invalid(format!(
                "evidence file {id} has SHA-256 {}, not the sha256 given",
                hongbao_core::hex::hex(&file.sha256)
            ))));
        }
        Ok(())
    }

    /// The file `id`, if `reader` may read it: its uploader.
    ///
    /// # Errors
    /// [`EngineError::Refused`] with `not_found` when it does not exist or `reader` may not see
    /// it (never telling which); [`EngineError::Unavailable`].
    pub async fn evidence(&self, reader: KeyId, id: EvidenceId) -> Result<EvidenceFile, EngineError> {
        match self.store().evidence(id).await? {
            Some(file) if file.readable_by(reader) => Ok(file),
            _ => Err(EngineError::Refused(CoreError::not_found("evidence file"))),
        }
    }

    /// The file `id` for an officer of risk control, legal holds or audit: theirs, or one a
    /// registered document or a report cites (what they work on).
    ///
    /// # Errors
    /// As [`Engine::evidence`].
    pub async fn evidence_for_officer(&self, reader: KeyId, id: EvidenceId) -> Result<EvidenceFile, EngineError> {
        match self.store().evidence(id).await? {
            Some(file) if file.readable_by(reader) || self.store().evidence_cited(id).await? => Ok(file),
            _ => Err(EngineError::Refused(CoreError::not_found("evidence file"))),
        }
    }
}
