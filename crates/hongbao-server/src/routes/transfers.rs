//! Transfers (docs/API.md "Transfers"): money to another user, and revoking it before it arrives.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hongbao_core::ops::{Command, TransferReceipt};
use hongbao_core::{Fen, TransferId};
use hongbao_wire::TransferRequest;

use super::{Created, IdempotencyHeader, UserAction};
use crate::auth::UserCaller;
use crate::error::ApiError;
use crate::extract::{AppJson, IdempotencyKey};
use crate::state::AppState;
use hongbao_wire::ErrorBody;

/// Transfer money to another user, at once or with a delayed arrival.
#[utoipa::path(post, path = "/v1/transfers", tag = "transfers", security(("signed" = [])),
    request_body = TransferRequest,
    params(IdempotencyHeader),
    responses(
        (status = 201, description = "The transfer: `arrived`, or `pending` until `arrives_at`", body = TransferReceipt),
        (status = 400, description = "`invalid_request`: a bad amount, an unknown recipient, oneself", body = ErrorBody),
        (status = 409, description = "`insufficient_funds`", body = ErrorBody),
        (status = 423, description = "`account_frozen`", body = ErrorBody),
    ))]
pub async fn transfer(
    State(app): State<AppState>,
    caller: UserCaller,
    idem: IdempotencyKey,
    AppJson(body): AppJson<TransferRequest>,
) -> Result<Created<TransferReceipt>, ApiError> {
    let command = Command::Transfer {
        actor: caller.user,
        to: body.to,
        amount: Fen::new(body.amount),
        note: body.note,
        arrival_delay_s: body.arrival_delay_seconds.unwrap_or(0),
    };
    let receipt = app.exec(caller.signer(), idem, command).await?;
    Ok((StatusCode::CREATED, Json(receipt)))
}

/// Revoke a pending transfer before it arrives: the money stays with the sender.
#[utoipa::path(post, path = "/v1/transfers/{transfer_id}/revoke", tag = "transfers", security(("signed" = [])),
    params(("transfer_id" = TransferId, Path), IdempotencyHeader),
    responses(
        (status = 200, description = "The transfer, now `revoked`", body = TransferReceipt),
        (status = 403, description = "`forbidden`: the recipient may not revoke", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`not_pending`: it has arrived or was revoked", body = ErrorBody),
    ))]
pub async fn revoke_transfer(
    State(app): State<AppState>,
    action: UserAction,
) -> Result<Json<TransferReceipt>, ApiError> {
    action.run(&app, "transfer", |actor, transfer| Command::RevokeTransfer { actor, transfer }).await
}
