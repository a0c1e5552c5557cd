//! Legal documents: registering one (its salt drawn here, its commitment logged) and revealing
//! it (its salt and file hash logged). What a document may warrant is decided where it is cited.

use rand::CryptoRng;

use crate::document::{Document, DocumentKind, check_text};
use crate::error::CoreError;
use crate::event::{Event, EventKind};
use crate::fairness::Salt;
use crate::hex::hex;
use crate::id::{DocumentId, EvidenceId, KeyId};
use crate::time::Timestamp;
use crate::world::Draft;

use super::reply::{DocumentRegistered, DocumentRevealed, Reply};
use super::shared::check_reason;
use super::{Ctx, Decision};

/// What an officer says of a paper when registering it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DocumentSpec {
    pub kind: DocumentKind,
    pub authority: String,
    pub reference: String,
    pub issued_at: Timestamp,
    pub sha256: [u8; 32],
    pub evidence_id: Option<EvidenceId>,
    pub confidential: bool,
}

pub fn register<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    officer: KeyId,
    spec: &DocumentSpec,
) -> Decision {
    check_text("authority", &spec.authority)?;
    check_text("reference", &spec.reference)?;
    if spec.issued_at > ctx.now {
        return Err(CoreError::invalid("issued_at is in the future: a document is registered once issued").into());
    }
    let document = Document {
        id: DocumentId::mint(ctx.mint_at, ctx.rng),
        kind: spec.kind,
        authority: spec.authority.clone(),
        reference: spec.reference.clone(),
        issued_at: spec.issued_at,
        sha256: spec.sha256,
        evidence_id: spec.evidence_id,
        confidential: spec.confidential,
        salt: Salt::draw(ctx.rng),
        registered_by: officer,
        created_at: ctx.now,
        revealed_at: None,
    };
    let commitment = document.commitment();
    let what =
        EventKind::DocumentRegistered { document_id: document.id, commitment: commitment.clone(), actor: officer };
    d.emit(Event { at: ctx.now, what });
    let reply = DocumentRegistered { document_id: document.id, commitment };
    d.put_document(document);
    Ok(Reply::DocumentRegistered(reply))
}

/// Reveals `id`'s salt. Revealing a revealed document changes nothing and logs nothing.
pub fn reveal<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    (officer, reason): (KeyId, &str),
    id: DocumentId,
) -> Decision {
    check_reason(reason, ctx.limits)?;
    let mut document = d.world().document(id)?.ok_or_else(|| CoreError::not_found(format!("document {id}")))?.clone();
    if document.revealed_at.is_none() {
        document.revealed_at = Some(ctx.now);
        d.emit(Event {
            at: ctx.now,
            what: EventKind::DocumentRevealed {
                document_id: id,
                salt: document.salt,
                sha256: hex(&document.sha256),
                actor: officer,
                reason: reason.to_owned(),
            },
        });
        d.put_document(document.clone());
    }
    Ok(Reply::DocumentRevealed(DocumentRevealed {
        document_id: id,
        commitment: document.commitment(),
        salt: document.salt,
        sha256: hex(&document.sha256),
        revealed_at: document.revealed_at.unwrap_or(ctx.now),
    }))
}
