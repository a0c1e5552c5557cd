//! Transfers (docs/API.md "Transfers"): money to another user, and revoking it before it arrives.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hongbao_core::ops::{Command, TransferReceipt};
use hongbao_core::{Fen, TransferId};
use hongbao_wire::TransferRequest;

use super::warnings::Bound;
use super::{Created, IdempotencyHeader, UserAction};
use crate::auth::{AnyCaller, UserCaller};
use crate::error::ApiError;
use crate::extract::{AppJson, IdempotencyKey};
use crate::state::AppState;
use hongbao_wire::ErrorBody;

/// Transfer money to another user, at once or with a delayed arrival. The payee is rated first
/// (分级预警, `GET /v1/risk/rules` `warnings`): a `notice` goes ahead with `warnings` in the answer;
/// a `confirm` (a large amount, a reported payee) is `409 risk_confirmation_required` with a
/// `confirmation_token`, and the same request again with `"risk_confirmation": token` goes ahead
/// (logged as `risk_confirmed`); a `block` (a payee under a fraud case or an anomaly freeze) is
/// `403 risk_blocked`.
#[utoipa::path(post, path = "/v1/transfers", tag = "transfers", security(("signed" = [])),
    request_body = TransferRequest,
    params(IdempotencyHeader),
    responses(
        (status = 201, description = "The transfer: `arrived`, or `pending` until `arrives_at`; `warnings` when \
            the payee was rated `notice` (or the payer confirmed)", body = TransferReceipt),
        (status = 400, description = "`invalid_request`: a bad amount, an unknown recipient, oneself, a \
            `risk_confirmation` issued for another request or key", body = ErrorBody),
        (status = 403, description = "`risk_blocked`, with `warnings`", body = ErrorBody),
        (status = 409, description = "`insufficient_funds`; `risk_confirmation_required` with `warnings`, \
            `confirmation_token` and `expires_at`; `conflict` (a confirmation used already)", body = ErrorBody),
        (status = 423, description = "`account_frozen`", body = ErrorBody),
    ))]
pub async fn transfer(
    State(app): State<AppState>,
    caller: UserCaller,
    AnyCaller(principal): AnyCaller,
    idem: IdempotencyKey,
    AppJson(mut body): AppJson<TransferRequest>,
) -> Result<Created<TransferReceipt>, ApiError> {
    let token = body.risk_confirmation.take();
    let bound = Bound::new(caller.key_id, principal.secret.expose(), "POST /v1/transfers", &body);
    let now = app.engine.clock().now();
    let risk_confirmation = token.map(|token| bound.check(&token, now)).transpose()?.flatten();
    let command = Command::Transfer {
        actor: caller.user,
        to: body.to,
        amount: Fen::new(body.amount),
        note: body.note,
        arrival_delay_s: body.arrival_delay_seconds.unwrap_or(0),
        risk_confirmation,
    };
    let ttl_s = app.engine.limits().risk.warnings.confirm_token_ttl_s;
    let receipt = app.exec(caller.signer(), idem, command).await.map_err(|err| bound.finish(err, now, ttl_s))?;
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
