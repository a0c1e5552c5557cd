//! Legal documents (docs/API.md "Risk control and legal holds", "A freeze proves its warrant"):
//! an officer registers the paper a freeze, release or seizure will cite, and may later reveal
//! it so that anyone can check the log's commitment.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hongbao_core::DocumentId;
use hongbao_core::hex::parse_sha256;
use hongbao_core::ops::{Command, DocumentSpec};
use hongbao_wire::{DocumentRegistered, DocumentRevealed, ErrorBody, RegisterDocumentRequest, RevealRequest};

use super::{Created, IdempotencyHeader};
use crate::auth::{Holds, Officer};
use crate::error::ApiError;
use crate::extract::{AppJson, AppJsonOrEmpty, IdempotencyKey, path_id};
use crate::state::AppState;

/// Register a legal document (legal_officer, risk_officer): a court ruling, an assistance notice,
/// a stop-payment order, a release notice, a transfer order or another paper, described by its
/// issuing authority, reference and date, and bound to its scan by `sha256`. A random salt is
/// drawn; the log records only `commitment` = SHA-256(`"hongbao/document/v1\n"` ‖ salt ‖ sha256,
/// the raw 32 bytes of each), never the authority, the reference or the file. When
/// `evidence_id` is given it must be a file the caller uploaded, with that same SHA-256.
#[utoipa::path(post, path = "/v1/documents", tag = "risk", security(("signed" = [])),
    request_body = RegisterDocumentRequest,
    params(IdempotencyHeader),
    responses(
        (status = 201, description = "Registered: its id and what the log recorded", body = DocumentRegistered),
        (status = 400, description = "`invalid_request`: an unknown kind, a blank or over-long authority or \
            reference, `issued_at` in the future, a malformed `sha256`, or an evidence file with another SHA-256", body = ErrorBody),
        (status = 403, description = "`forbidden`: not a legal or risk officer", body = ErrorBody),
        (status = 404, description = "`not_found`: `evidence_id` names no file the caller uploaded", body = ErrorBody),
    ))]
pub async fn register(
    State(app): State<AppState>,
    caller: Officer<Holds>,
    idem: IdempotencyKey,
    AppJson(body): AppJson<RegisterDocumentRequest>,
) -> Result<Created<DocumentRegistered>, ApiError> {
    let sha256 = parse_sha256("sha256", &body.sha256)?;
    if let Some(evidence) = body.evidence_id {
        app.engine.check_cited_evidence(caller.key_id, evidence, &sha256).await?;
    }
    let spec = DocumentSpec {
        kind: body.kind,
        authority: body.authority,
        reference: body.reference,
        issued_at: body.issued_at,
        sha256,
        evidence_id: body.evidence_id,
        confidential: body.confidential,
    };
    let command = Command::RegisterDocument { officer: caller.key_id, spec };
    Ok((StatusCode::CREATED, Json(app.exec(caller.signer(), idem, command).await?)))
}

/// Reveal a document (legal_officer, risk_officer): the log records its salt and `sha256` (and
/// the officer and the reason), so that anyone can recompute the commitment its registration
/// and every freeze citing it logged. Revealing it again answers the same and logs nothing. The
/// body is optional: `{"reason"}`, or nothing (the reason logged is then "made public").
#[utoipa::path(post, path = "/v1/documents/{document_id}/reveal", tag = "risk", security(("signed" = [])),
    request_body = RevealRequest,
    params(("document_id" = DocumentId, Path, description = "The document to reveal"), IdempotencyHeader),
    responses(
        (status = 200, description = "The salt and file hash that open the commitment", body = DocumentRevealed),
        (status = 400, description = "`invalid_request`: a blank reason, or one over 500 characters", body = ErrorBody),
        (status = 403, description = "`forbidden`: not a legal or risk officer", body = ErrorBody),
        (status = 404, description = "`not_found`: no such document", body = ErrorBody),
    ))]
pub async fn reveal(
    State(app): State<AppState>,
    caller: Officer<Holds>,
    idem: IdempotencyKey,
    Path(document_id): Path<String>,
    AppJsonOrEmpty(body): AppJsonOrEmpty<RevealRequest>,
) -> Result<Json<DocumentRevealed>, ApiError> {
    let document = path_id(&document_id, "document")?;
    let reason = body.reason.unwrap_or_else(|| "made public".to_owned());
    let command = Command::RevealDocument { officer: caller.key_id, document, reason };
    Ok(Json(app.exec(caller.signer(), idem, command).await?))
}
