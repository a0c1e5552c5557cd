//! Return requests (docs/API.md "Return requests and disputes", 协商退还): a payer asks, the
//! payee alone gives back — at once, to the payer's wallet and nowhere else — or declines; the
//! payer may withdraw; a mediator who shares a group with both sees it and adds notes. Nobody can
//! take the money. Who may do what is the core's (`ops::returns`); an outsider is told `404`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hongbao_core::ops::Command;
use hongbao_core::{Fen, ReturnRequestId};
use hongbao_wire::{
    DeclineReturnRequestBody, ErrorBody, NoteRequest, OpenReturnRequestBody, ReturnRequest, ReturnRequestsPage,
    ReturnRequestsParams,
};

use super::{Created, IdempotencyHeader, UserAction, page, page_end};
use crate::auth::UserCaller;
use crate::error::ApiError;
use crate::extract::{AppJson, AppQuery, IdempotencyKey, path_id};
use crate::state::AppState;

/// Ask the payee of a transfer you made, or of a share claimed from your packet, to give back
/// all or part of it. Nothing moves until the payee accepts; the request expires by itself after
/// 7 days (`[limits.returns] request_open_s`).
#[utoipa::path(post, path = "/v1/return-requests", tag = "returns", security(("signed" = [])),
    request_body = OpenReturnRequestBody,
    params(IdempotencyHeader),
    responses(
        (status = 201, description = "`status: \"open\"`, with its `request_id` and `expires_at`", body = ReturnRequest),
        (status = 400, description = "`invalid_request`: a bad amount (more than can still come back), a blank \
            message, a mediator who is a party, unknown, or shares no group with both", body = ErrorBody),
        (status = 404, description = "`not_found`: no such payment of yours", body = ErrorBody),
        (status = 409, description = "`conflict`: a request for this payment is open already, or it has had 20; \
            `invalid_state` with `reason` `pending` (not arrived yet: revoke it instead) or `returned` (all of it \
            came back)", body = ErrorBody),
    ))]
pub async fn open(
    State(app): State<AppState>,
    caller: UserCaller,
    idem: IdempotencyKey,
    AppJson(body): AppJson<OpenReturnRequestBody>,
) -> Result<Created<ReturnRequest>, ApiError> {
    let command = Command::OpenReturnRequest {
        actor: caller.user,
        target: body.target,
        amount: body.amount.map(Fen::new),
        message: body.message,
        mediator: body.mediator,
    };
    Ok((StatusCode::CREATED, Json(app.exec(caller.signer(), idem, command).await?)))
}

/// The caller's return requests, newest first: those they asked (`role=payer`), were asked
/// (`payee`) or mediate (`mediator`); all three without `role`. A mediator sees the request and
/// nothing else of the payer's or the payee's.
#[utoipa::path(get, path = "/v1/me/return-requests", tag = "returns", security(("signed" = [])),
    params(ReturnRequestsParams),
    responses(
        (status = 200, description = "A page of return requests, each as it stands now (one past `expires_at` \
            is `expired`)", body = ReturnRequestsPage),
        (status = 400, description = "`invalid_request`: an unknown role, a bad limit or cursor", body = ErrorBody),
        (status = 403, description = "`forbidden`: not a user's key", body = ErrorBody),
    ))]
pub async fn mine(
    State(app): State<AppState>,
    caller: UserCaller,
    AppQuery(params): AppQuery<ReturnRequestsParams>,
) -> Result<Json<ReturnRequestsPage>, ApiError> {
    let (limit, before) = page::<ReturnRequestId>(&app, params.limit, params.cursor.as_deref())?;
    let items = app.engine.return_requests_of(caller.user, params.role, before, limit).await?;
    let next_cursor = page_end(&items, limit, |r| r.id.to_string());
    Ok(Json(ReturnRequestsPage { items, next_cursor }))
}

/// Accept (the payee): `amount` moves at once from your wallet to the original payer's — a
/// return is always the reversal of its target, never a payment to anyone else.
#[utoipa::path(post, path = "/v1/return-requests/{request_id}/accept", tag = "returns", security(("signed" = [])),
    params(("request_id" = ReturnRequestId, Path), IdempotencyHeader),
    responses(
        (status = 200, description = "`status: \"accepted\"` with its `return_transfer_id`", body = ReturnRequest),
        (status = 403, description = "`forbidden`: only the payee accepts", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`insufficient_funds`: the money is no longer available; `invalid_state` \
            with `reason` its status (`accepted`, `declined`, `withdrawn`, `expired`)", body = ErrorBody),
        (status = 423, description = "`account_frozen` (`reason: \"held\"`): a freeze holds the money", body = ErrorBody),
    ))]
pub async fn accept(State(app): State<AppState>, action: UserAction) -> Result<Json<ReturnRequest>, ApiError> {
    action.run(&app, "return request", |actor, request| Command::AcceptReturnRequest { actor, request }).await
}

/// Decline (the payee), with a word to the payer. Nothing moves.
#[utoipa::path(post, path = "/v1/return-requests/{request_id}/decline", tag = "returns", security(("signed" = [])),
    request_body = DeclineReturnRequestBody,
    params(("request_id" = ReturnRequestId, Path), IdempotencyHeader),
    responses(
        (status = 200, description = "`status: \"declined\"` with `decline_message`", body = ReturnRequest),
        (status = 400, description = "`invalid_request`: a blank or too long message", body = ErrorBody),
        (status = 403, description = "`forbidden`: only the payee declines", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`invalid_state`: it is no longer open", body = ErrorBody),
    ))]
pub async fn decline(
    State(app): State<AppState>,
    caller: UserCaller,
    idem: IdempotencyKey,
    Path(request_id): Path<String>,
    AppJson(body): AppJson<DeclineReturnRequestBody>,
) -> Result<Json<ReturnRequest>, ApiError> {
    let request = path_id(&request_id, "return request")?;
    let command = Command::DeclineReturnRequest { actor: caller.user, request, message: body.message };
    Ok(Json(app.exec(caller.signer(), idem, command).await?))
}

/// Withdraw (the payer). Nothing moves.
#[utoipa::path(post, path = "/v1/return-requests/{request_id}/withdraw", tag = "returns", security(("signed" = [])),
    params(("request_id" = ReturnRequestId, Path), IdempotencyHeader),
    responses(
        (status = 200, description = "`status: \"withdrawn\"`", body = ReturnRequest),
        (status = 403, description = "`forbidden`: only the payer withdraws", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`invalid_state`: it is no longer open", body = ErrorBody),
    ))]
pub async fn withdraw(State(app): State<AppState>, action: UserAction) -> Result<Json<ReturnRequest>, ApiError> {
    action.run(&app, "return request", |actor, request| Command::WithdrawReturnRequest { actor, request }).await
}

/// Add a note (the mediator, the payer or the payee) while the request is open; at most 50.
#[utoipa::path(post, path = "/v1/return-requests/{request_id}/notes", tag = "returns", security(("signed" = [])),
    request_body = NoteRequest,
    params(("request_id" = ReturnRequestId, Path), IdempotencyHeader),
    responses(
        (status = 201, description = "The request, the note last among its `notes`", body = ReturnRequest),
        (status = 400, description = "`invalid_request`: a blank or too long text", body = ErrorBody),
        (status = 404, description = "`not_found`: no such request of yours", body = ErrorBody),
        (status = 409, description = "`invalid_state`: it is no longer open; `conflict`: it has 50 notes", body = ErrorBody),
    ))]
pub async fn note(
    State(app): State<AppState>,
    caller: UserCaller,
    idem: IdempotencyKey,
    Path(request_id): Path<String>,
    AppJson(body): AppJson<NoteRequest>,
) -> Result<Created<ReturnRequest>, ApiError> {
    let request = path_id(&request_id, "return request")?;
    let command = Command::AddReturnNote { actor: caller.user, request, text: body.text };
    Ok((StatusCode::CREATED, Json(app.exec(caller.signer(), idem, command).await?)))
}
