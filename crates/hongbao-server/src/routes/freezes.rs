//! Freezes (docs/API.md "Risk control and legal holds", "Freezes"): placing and releasing one,
//! reading them as an officer, and a user's own holds without what is confidential.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hongbao_core::freeze::{FreezeView, HoldView};
use hongbao_core::ops::{Command, FreezeSpec};
use hongbao_core::principal::Role;
use hongbao_core::query::Query;
use hongbao_core::{Fen, FreezeId};
use hongbao_wire::{
    ConvertFreezeRequest, ErrorBody, FreezesParams, PlaceFreezeRequest, ReleaseFreezeRequest, RenewFreezeRequest,
};

use super::{Created, IdempotencyHeader};
use crate::auth::{Holds, HoldsReaders, Officer, UserCaller};
use crate::error::ApiError;
use crate::extract::{AppJson, AppQuery, IdempotencyKey, path_id};
use crate::state::AppState;

/// Place a freeze. A `court` (法院冻结), `police` (公安冻结) or `emergency_stop` (紧急止付) freeze
/// is placed by a legal officer and must cite registered documents: a `court_ruling` and an
/// `assistance_notice` for a court, an `assistance_notice` for the police, a
/// `stop_payment_order` for an emergency stop. A `precautionary` (风控冻结) freeze is placed by a
/// risk officer; `anomaly` freezes are the anomaly rule's. It holds `min(amount, available)` at
/// once and, until it holds `amount`, whatever becomes available later; with no `amount`, the
/// whole wallet. It ends at `expires_at` (at most its kind's term, `GET /v1/risk/rules`; the
/// term by default). The log's entry carries the commitments of its documents.
#[utoipa::path(post, path = "/v1/freezes", tag = "risk", security(("signed" = [])),
    request_body = PlaceFreezeRequest,
    params(IdempotencyHeader),
    responses(
        (status = 201, description = "Placed: the freeze, with what it holds now", body = FreezeView),
        (status = 400, description = "`invalid_request`; `reason: \"document_required\"` (the kind's documents \
            are missing), `reason: \"term_too_long\"` (`expires_at` past the kind's term)", body = ErrorBody),
        (status = 403, description = "`forbidden`: a court, police or emergency freeze by anyone but a legal \
            officer, a precautionary one by anyone but a risk officer, or an anomaly freeze", body = ErrorBody),
        (status = 404, description = "`not_found`: no such user or document", body = ErrorBody),
    ))]
pub async fn place(
    State(app): State<AppState>,
    caller: Officer<Holds>,
    idem: IdempotencyKey,
    AppJson(body): AppJson<PlaceFreezeRequest>,
) -> Result<Created<FreezeView>, ApiError> {
    let spec = FreezeSpec {
        user: body.user_id,
        kind: body.kind,
        amount: body.amount.map(Fen::new),
        reason: body.reason,
        documents: body.documents,
        expires_at: body.expires_at,
        major_case: body.major_case,
    };
    let command = Command::PlaceFreeze { officer: caller.key_id, spec };
    Ok((StatusCode::CREATED, Json(app.exec(caller.signer(), idem, command).await?)))
}

/// Release a freeze, or `amount` of what it holds (a partial release lowers what it holds for
/// good). A court, police or emergency freeze is released by a legal officer only, and a court or
/// police freeze only under a registered `release_notice`: the platform alone never lifts one.
/// A precautionary or anomaly freeze is released by a risk or legal officer. What is let go goes
/// first to a later freeze of the wallet still short of its amount, then back to the user.
#[utoipa::path(post, path = "/v1/freezes/{freeze_id}/release", tag = "risk", security(("signed" = [])),
    request_body = ReleaseFreezeRequest,
    params(("freeze_id" = FreezeId, Path, description = "The freeze to release"), IdempotencyHeader),
    responses(
        (status = 200, description = "The freeze after the release", body = FreezeView),
        (status = 400, description = "`invalid_request`; `reason: \"document_required\"` (no release notice)", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an officer allowed to release this kind", body = ErrorBody),
        (status = 404, description = "`not_found`: no such freeze or document", body = ErrorBody),
        (status = 409, description = "`conflict`: it is no longer active, or holds less than `amount`", body = ErrorBody),
    ))]
pub async fn release(
    State(app): State<AppState>,
    caller: Officer<Holds>,
    idem: IdempotencyKey,
    Path(freeze_id): Path<String>,
    AppJson(body): AppJson<ReleaseFreezeRequest>,
) -> Result<Json<FreezeView>, ApiError> {
    let freeze = path_id(&freeze_id, "freeze")?;
    let command = Command::ReleaseFreeze {
        officer: caller.key_id,
        legal: caller.actor.has_role(Role::LegalOfficer),
        freeze,
        reason: body.reason,
        amount: body.amount.map(Fen::new),
        documents: body.documents,
    };
    Ok(Json(app.exec(caller.signer(), idem, command).await?))
}

/// Renew a freeze before it ends, to `expires_at`: after its current end and at most one term of
/// its kind past it, within its kind's renewals (`GET /v1/risk/rules`: an emergency stop and a
/// precautionary freeze once). A court, police or emergency freeze is renewed by a legal officer
/// citing a document it did not cite before; a precautionary one by another risk officer than the
/// one who placed it.
#[utoipa::path(post, path = "/v1/freezes/{freeze_id}/renew", tag = "risk", security(("signed" = [])),
    request_body = RenewFreezeRequest,
    params(("freeze_id" = FreezeId, Path, description = "The freeze to renew"), IdempotencyHeader),
    responses(
        (status = 200, description = "The freeze with its new end", body = FreezeView),
        (status = 400, description = "`invalid_request`; `reason: \"document_required\"` (no new document), \
            `reason: \"term_too_long\"`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an officer allowed to renew it", body = ErrorBody),
        (status = 404, description = "`not_found`: no such freeze or document", body = ErrorBody),
        (status = 409, description = "`conflict`: it has ended, or has had all its renewals", body = ErrorBody),
    ))]
pub async fn renew(
    State(app): State<AppState>,
    caller: Officer<Holds>,
    idem: IdempotencyKey,
    Path(freeze_id): Path<String>,
    AppJson(body): AppJson<RenewFreezeRequest>,
) -> Result<Json<FreezeView>, ApiError> {
    let freeze = path_id(&freeze_id, "freeze")?;
    let command = Command::RenewFreeze {
        officer: caller.key_id,
        legal: caller.actor.has_role(Role::LegalOfficer),
        freeze,
        reason: body.reason.unwrap_or_else(|| "renewed under the documents cited".to_owned()),
        documents: body.documents,
        expires_at: body.expires_at,
    };
    Ok(Json(app.exec(caller.signer(), idem, command).await?))
}

/// Convert a precautionary or emergency freeze into a court or police one (legal_officer), under
/// the documents that kind needs: the old freeze ends `converted`, the new one holds the same
/// money (none moves) and answers here.
#[utoipa::path(post, path = "/v1/freezes/{freeze_id}/convert", tag = "risk", security(("signed" = [])),
    request_body = ConvertFreezeRequest,
    params(("freeze_id" = FreezeId, Path, description = "The freeze to convert"), IdempotencyHeader),
    responses(
        (status = 201, description = "The new freeze, holding what the old one held", body = FreezeView),
        (status = 400, description = "`invalid_request`; `reason: \"document_required\"`, `reason: \"term_too_long\"`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not a legal officer", body = ErrorBody),
        (status = 404, description = "`not_found`: no such freeze or document", body = ErrorBody),
        (status = 409, description = "`conflict`: it has ended, or is not a precautionary or emergency freeze", body = ErrorBody),
    ))]
pub async fn convert(
    State(app): State<AppState>,
    caller: Officer<Holds>,
    idem: IdempotencyKey,
    Path(freeze_id): Path<String>,
    AppJson(body): AppJson<ConvertFreezeRequest>,
) -> Result<Created<FreezeView>, ApiError> {
    let freeze = path_id(&freeze_id, "freeze")?;
    let command = Command::ConvertFreeze {
        officer: caller.key_id,
        freeze,
        kind: body.kind,
        reason: body.reason.unwrap_or_else(|| "converted under the documents cited".to_owned()),
        documents: body.documents,
        expires_at: body.expires_at,
    };
    Ok((StatusCode::CREATED, Json(app.exec(caller.signer(), idem, command).await?)))
}

/// The most freezes a listing across users shows, newest first.
pub const FREEZES_PAGE_MAX: u32 = 100;

/// A user's freezes, or without `user_id` the newest 100 across users, newest first
/// (risk_officer, legal_officer, auditor), optionally only those of one `status` or `kind`.
#[utoipa::path(get, path = "/v1/freezes", tag = "risk", security(("signed" = [])),
    params(FreezesParams),
    responses(
        (status = 200, description = "The freezes", body = [FreezeView]),
        (status = 400, description = "`invalid_request`: an unknown status or kind", body = ErrorBody),
        (status = 403, description = "`forbidden`: a user, or an operator without these roles", body = ErrorBody),
        (status = 404, description = "`not_found`: no such user", body = ErrorBody),
    ))]
pub async fn list(
    State(app): State<AppState>,
    _caller: Officer<HoldsReaders>,
    AppQuery(params): AppQuery<FreezesParams>,
) -> Result<Json<Vec<FreezeView>>, ApiError> {
    let query = match params.user_id {
        Some(user) => Query::FreezesOf { user, status: params.status, kind: params.kind },
        None => Query::Freezes { ids: app.engine.freeze_ids(params.status, params.kind, FREEZES_PAGE_MAX).await? },
    };
    Ok(Json(app.ask(query).await?))
}

/// One freeze (risk_officer, legal_officer, auditor), with its documents in full.
#[utoipa::path(get, path = "/v1/freezes/{freeze_id}", tag = "risk", security(("signed" = [])),
    params(("freeze_id" = FreezeId, Path, description = "The freeze")),
    responses(
        (status = 200, description = "The freeze", body = FreezeView),
        (status = 403, description = "`forbidden`: a user, or an operator without these roles", body = ErrorBody),
        (status = 404, description = "`not_found`: no such freeze", body = ErrorBody),
    ))]
pub async fn get(
    State(app): State<AppState>,
    _caller: Officer<HoldsReaders>,
    Path(freeze_id): Path<String>,
) -> Result<Json<FreezeView>, ApiError> {
    let freeze = path_id(&freeze_id, "freeze")?;
    Ok(Json(app.ask(Query::Freeze { freeze }).await?))
}

/// Your own freezes, newest first: each one's kind, what it holds and until when, and its
/// documents' kinds and dates — their authority and reference unless confidential. Neither the
/// reason nor the officer is shown. `GET /v1/me`'s `frozen` is the sum of the active ones' `held`.
#[utoipa::path(get, path = "/v1/me/holds", tag = "risk", security(("signed" = [])),
    responses(
        (status = 200, description = "Your freezes", body = [HoldView]),
        (status = 403, description = "`forbidden`: an operator", body = ErrorBody),
    ))]
pub async fn holds(State(app): State<AppState>, caller: UserCaller) -> Result<Json<Vec<HoldView>>, ApiError> {
    Ok(Json(app.ask(Query::Holds { actor: caller.user }).await?))
}
