//! Red packets (docs/API.md "Red packets"): sending, reading, opening, claiming and recalling
//! a packet, and revoking or returning a claim.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hongbao_core::ops::{ClaimDetail, Command, Recalled};
use hongbao_core::packet::{ClaimReceipt, PacketView};
use hongbao_core::query::Query;
use hongbao_core::{ClaimId, PacketId};
use hongbao_wire::SendPacketRequest;

use super::warnings::Bound;
use super::{Created, IdempotencyHeader, UserAction};
use crate::auth::{AnyCaller, UserCaller};
use crate::error::ApiError;
use crate::extract::{AppJson, IdempotencyKey};
use crate::state::AppState;
use hongbao_wire::ErrorBody;

/// Send a red packet. The money leaves the caller's available balance at once. An exclusive
/// packet's recipient is rated as a transfer's payee is (分级预警): `warnings` in the answer for a
/// `notice`, `409 risk_confirmation_required` for a `confirm` (send it again with
/// `"risk_confirmation": token`), `403 risk_blocked` for a `block`.
#[utoipa::path(post, path = "/v1/packets", tag = "packets", security(("signed" = [])),
    request_body = SendPacketRequest,
    params(IdempotencyHeader),
    responses(
        (status = 201, description = "The packet; an exclusive one's `warnings` when its recipient was rated \
            `notice` (or the payer confirmed)", body = PacketView),
        (status = 400, description = "`invalid_request`: a limit, naming it; a `risk_confirmation` issued for \
            another request or key", body = ErrorBody),
        (status = 403, description = "`risk_blocked`, with `warnings`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such group, or the caller is not a member", body = ErrorBody),
        (status = 409, description = "`insufficient_funds`; `risk_confirmation_required` with `warnings`, \
            `confirmation_token` and `expires_at`; `conflict` (a confirmation used already)", body = ErrorBody),
        (status = 423, description = "`account_frozen`", body = ErrorBody),
    ))]
pub async fn send_packet(
    State(app): State<AppState>,
    caller: UserCaller,
    AnyCaller(principal): AnyCaller,
    idem: IdempotencyKey,
    AppJson(mut body): AppJson<SendPacketRequest>,
) -> Result<Created<PacketView>, ApiError> {
    let token = body.take_confirmation();
    let bound = Bound::new(caller.key_id, principal.secret.expose(), "POST /v1/packets", &body);
    let now = app.engine.clock().now();
    let risk_confirmation = token.map(|token| bound.check(&token, now)).transpose()?.flatten();
    let (spec, greeting, delay) = body.into_parts();
    let arrival_delay_s = delay.unwrap_or(0);
    let command = Command::SendPacket { actor: caller.user, spec, greeting, arrival_delay_s, risk_confirmation };
    let ttl_s = app.engine.limits().risk.warnings.confirm_token_ttl_s;
    let view = app.exec(caller.signer(), idem, command).await.map_err(|err| bound.finish(err, now, ttl_s))?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// A packet, as its sender or a possible claimant sees it. Does not touch it.
#[utoipa::path(get, path = "/v1/packets/{packet_id}", tag = "packets", security(("signed" = [])),
    params(("packet_id" = PacketId, Path)),
    responses(
        (status = 200, description = "The packet", body = PacketView),
        (status = 404, description = "`not_found`: no such packet, or not visible to the caller", body = ErrorBody),
    ))]
pub async fn packet(
    State(app): State<AppState>,
    caller: UserCaller,
    Path(packet_id): Path<String>,
) -> Result<Json<PacketView>, ApiError> {
    app.ask_about(&caller, (&packet_id, "packet"), |actor, packet| Query::Packet { actor, packet }).await
}

/// Open a packet: records that a recipient touched it (the sender opening it does not count),
/// after which a normal or exclusive packet can no longer be recalled.
#[utoipa::path(post, path = "/v1/packets/{packet_id}/open", tag = "packets", security(("signed" = [])),
    params(("packet_id" = PacketId, Path), IdempotencyHeader),
    responses(
        (status = 200, description = "The packet", body = PacketView),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ))]
pub async fn open(State(app): State<AppState>, action: UserAction) -> Result<Json<PacketView>, ApiError> {
    action.run(&app, "packet", |actor, packet| Command::OpenPacket { actor, packet }).await
}

/// Claim one share. With a delayed arrival the claim is `pending` until `arrives_at`.
#[utoipa::path(post, path = "/v1/packets/{packet_id}/claim", tag = "packets", security(("signed" = [])),
    params(("packet_id" = PacketId, Path), IdempotencyHeader),
    responses(
        (status = 200, description = "The share taken", body = ClaimReceipt),
        (status = 403, description = "`forbidden`: the sender may not claim (configuration)", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`already_claimed`, `packet_exhausted`, `packet_recalled`", body = ErrorBody),
        (status = 410, description = "`packet_expired`", body = ErrorBody),
        (status = 423, description = "`account_frozen`", body = ErrorBody),
    ))]
pub async fn claim(State(app): State<AppState>, action: UserAction) -> Result<Json<ClaimReceipt>, ApiError> {
    action.run(&app, "packet", |actor, packet| Command::ClaimPacket { actor, packet }).await
}

/// Recall an untouched, unclaimed normal or exclusive packet: its money returns to the sender.
#[utoipa::path(post, path = "/v1/packets/{packet_id}/recall", tag = "packets", security(("signed" = [])),
    params(("packet_id" = PacketId, Path), IdempotencyHeader),
    responses(
        (status = 200, description = "Recalled, with the amount refunded", body = Recalled),
        (status = 403, description = "`forbidden`: not the sender", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`recall_not_allowed` with `reason`: the first of `not_active`, `lucky_packet`, `claimed`, `touched`", body = ErrorBody),
    ))]
pub async fn recall(State(app): State<AppState>, action: UserAction) -> Result<Json<Recalled>, ApiError> {
    action.run(&app, "packet", |actor, packet| Command::RecallPacket { actor, packet }).await
}

/// Revoke a pending claim of the caller's packet: the money goes back to the sender.
#[utoipa::path(post, path = "/v1/claims/{claim_id}/revoke", tag = "packets", security(("signed" = [])),
    params(("claim_id" = ClaimId, Path), IdempotencyHeader),
    responses(
        (status = 200, description = "The claim, now `revoked`", body = ClaimDetail),
        (status = 403, description = "`forbidden`: the claimant may not revoke", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`not_pending`: it has arrived, or was revoked or returned", body = ErrorBody),
    ))]
pub async fn revoke_claim(State(app): State<AppState>, action: UserAction) -> Result<Json<ClaimDetail>, ApiError> {
    action.run(&app, "claim", |actor, claim| Command::RevokeClaim { actor, claim }).await
}

/// Give an arrived claim back to the packet's sender, once.
#[utoipa::path(post, path = "/v1/claims/{claim_id}/return", tag = "packets", security(("signed" = [])),
    params(("claim_id" = ClaimId, Path), IdempotencyHeader),
    responses(
        (status = 200, description = "The claim, now `returned`", body = ClaimDetail),
        (status = 403, description = "`forbidden`: only the claimant may return it", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`conflict` (not arrived yet, already returned or revoked, own packet), `insufficient_funds`", body = ErrorBody),
        (status = 423, description = "`account_frozen`", body = ErrorBody),
    ))]
pub async fn return_claim(State(app): State<AppState>, action: UserAction) -> Result<Json<ClaimDetail>, ApiError> {
    action.run(&app, "claim", |actor, claim| Command::ReturnClaim { actor, claim }).await
}
