//! Forced transfers with four eyes (docs/API.md "Four eyes"): a legal officer proposes, a
//! different one approves (everything checked again, then one transfer) or any one rejects.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hongbao_core::ops::Command;
use hongbao_core::query::Query;
use hongbao_core::seizure::SeizureView;
use hongbao_core::{Fen, SeizureId};
use hongbao_wire::{ErrorBody, ProposeSeizureRequest, ReasonRequest, SeizuresParams};

use super::IdempotencyHeader;
use crate::auth::{Legal, LegalReaders, Officer};
use crate::error::ApiError;
use crate::extract::{AppJson, AppQuery, IdempotencyKey, NoBody, path_id};
use crate::state::AppState;

/// The most forced transfers one listing shows, newest first.
pub const SEIZURES_PAGE_MAX: u32 = 100;

/// Propose a forced transfer (划转) of `amount` of what a court or police freeze holds, to a
/// user's wallet or `external`, citing a registered `transfer_order`. Nothing moves: a different
/// legal officer must approve within 72 hours.
#[utoipa::path(post, path = "/v1/seizures", tag = "risk", security(("signed" = [])),
    request_body = ProposeSeizureRequest,
    params(IdempotencyHeader),
    responses(
        (status = 202, description = "Proposed, awaiting approval", body = SeizureView),
        (status = 400, description = "`invalid_request`; `reason: \"document_required\"` (no transfer order)", body = ErrorBody),
        (status = 403, description = "`forbidden`: not a legal officer", body = ErrorBody),
        (status = 404, description = "`not_found`: no such freeze, user or document", body = ErrorBody),
        (status = 409, description = "`insufficient_funds` (more than the freeze holds), `conflict` (another \
            proposal on the freeze awaits approval), `invalid_state` (the freeze has ended, or is not a court or \
            police one)", body = ErrorBody),
    ))]
pub async fn propose(
    State(app): State<AppState>,
    caller: Officer<Legal>,
    idem: IdempotencyKey,
    AppJson(body): AppJson<ProposeSeizureRequest>,
) -> Result<(StatusCode, Json<SeizureView>), ApiError> {
    let command = Command::ProposeSeizure {
        officer: caller.key_id,
        freeze: body.freeze_id,
        amount: Fen::new(body.amount),
        to: body.to,
        reason: body.reason,
        documents: body.documents,
    };
    Ok((StatusCode::ACCEPTED, Json(app.exec(caller.signer(), idem, command).await?)))
}

/// The forced transfers, newest first, at most 100 (legal_officer, auditor);
/// `?status=awaiting_approval` is the approvals inbox.
#[utoipa::path(get, path = "/v1/seizures", tag = "risk", security(("signed" = [])),
    params(SeizuresParams),
    responses(
        (status = 200, description = "The forced transfers", body = [SeizureView]),
        (status = 400, description = "`invalid_request`: an unknown status", body = ErrorBody),
        (status = 403, description = "`forbidden`: not a legal officer or auditor", body = ErrorBody),
    ))]
pub async fn list(
    State(app): State<AppState>,
    _caller: Officer<LegalReaders>,
    AppQuery(params): AppQuery<SeizuresParams>,
) -> Result<Json<Vec<SeizureView>>, ApiError> {
    let ids = app.engine.seizure_ids(params.status, SEIZURES_PAGE_MAX).await?;
    Ok(Json(app.ask(Query::Seizures { ids }).await?))
}

/// Approve a forced transfer: a legal officer other than its proposer. Everything is checked
/// again now — the proposal still open and within its 72 hours, the freeze still active, the
/// amount still held — and then the money moves in one transfer, both officers named in one log
/// entry. Only frozen money moves; a freeze whose whole `held` moved is `seized`.
#[utoipa::path(post, path = "/v1/seizures/{seizure_id}/approve", tag = "risk", security(("signed" = [])),
    params(("seizure_id" = SeizureId, Path, description = "The proposal"), IdempotencyHeader),
    responses(
        (status = 200, description = "Executed: `status: \"executed\"` and its `transfer_id`", body = SeizureView),
        (status = 403, description = "`forbidden`: not a legal officer, or `reason: \"four_eyes\"` (its proposer)", body = ErrorBody),
        (status = 404, description = "`not_found`: no such proposal", body = ErrorBody),
        (status = 409, description = "`insufficient_funds` (the freeze holds less now), `invalid_state` with the \
            `reason`: `expired`, `executed`, `rejected`, or what the freeze became (`released`, `expired`, …)", body = ErrorBody),
    ))]
pub async fn approve(
    State(app): State<AppState>,
    caller: Officer<Legal>,
    idem: IdempotencyKey,
    Path(seizure_id): Path<String>,
    _body: NoBody,
) -> Result<Json<SeizureView>, ApiError> {
    let seizure = path_id(&seizure_id, "forced transfer")?;
    let command = Command::ApproveSeizure { officer: caller.key_id, seizure };
    Ok(Json(app.exec(caller.signer(), idem, command).await?))
}

/// Reject a forced transfer (any legal officer, its proposer included): nothing moves.
#[utoipa::path(post, path = "/v1/seizures/{seizure_id}/reject", tag = "risk", security(("signed" = [])),
    request_body = ReasonRequest,
    params(("seizure_id" = SeizureId, Path, description = "The proposal"), IdempotencyHeader),
    responses(
        (status = 200, description = "`status: \"rejected\"`", body = SeizureView),
        (status = 400, description = "`invalid_request`: no reason", body = ErrorBody),
        (status = 403, description = "`forbidden`: not a legal officer", body = ErrorBody),
        (status = 404, description = "`not_found`: no such proposal", body = ErrorBody),
        (status = 409, description = "`invalid_state`: it was decided already, or expired", body = ErrorBody),
    ))]
pub async fn reject(
    State(app): State<AppState>,
    caller: Officer<Legal>,
    idem: IdempotencyKey,
    Path(seizure_id): Path<String>,
    AppJson(body): AppJson<ReasonRequest>,
) -> Result<Json<SeizureView>, ApiError> {
    let seizure = path_id(&seizure_id, "forced transfer")?;
    let command = Command::RejectSeizure { officer: caller.key_id, seizure, reason: body.reason };
    Ok(Json(app.exec(caller.signer(), idem, command).await?))
}
