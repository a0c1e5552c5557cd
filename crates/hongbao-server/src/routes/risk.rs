//! Risk control and legal holds (docs/API.md "Risk control and legal holds"): locks, signals,
//! and the table of rules and terms in force.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hongbao_core::UserId;
use hongbao_core::ops::Command;
use hongbao_core::risk::RiskRules;
use hongbao_core::user::MeView;
use hongbao_wire::{ErrorBody, ReasonRequest, SignalAccepted, SignalRequest};

use super::IdempotencyHeader;
use crate::auth::{AdminCaller, AnyOperator, Officer, Risk};
use crate::error::ApiError;
use crate::extract::{AppJson, IdempotencyKey, path_id};
use crate::state::AppState;

/// Lock a user (risk_officer): they can still receive money, but every send, transfer,
/// withdrawal, return and claim is `423 account_frozen` with `reason: "locked"` until unlocked.
/// Locking a user who is locked already changes nothing. The log records the officer and the
/// reason; the user is never shown the reason.
#[utoipa::path(post, path = "/v1/users/{user_id}/lock", tag = "risk", security(("signed" = [])),
    request_body = ReasonRequest,
    params(("user_id" = UserId, Path, description = "The user to lock"), IdempotencyHeader),
    responses(
        (status = 200, description = "The user's balances and `status: \"locked\"`", body = MeView),
        (status = 400, description = "`invalid_request`: no reason, or one over 500 characters", body = ErrorBody),
        (status = 403, description = "`forbidden`: not a risk officer", body = ErrorBody),
        (status = 404, description = "`not_found`: no such user", body = ErrorBody),
    ))]
pub async fn lock(
    State(app): State<AppState>,
    caller: Officer<Risk>,
    idem: IdempotencyKey,
    Path(user_id): Path<String>,
    AppJson(body): AppJson<ReasonRequest>,
) -> Result<Json<MeView>, ApiError> {
    let user = path_id(&user_id, "user")?;
    let command = Command::LockUser { officer: caller.key_id, user, reason: body.reason };
    Ok(Json(app.exec(caller.signer(), idem, command).await?))
}

/// Unlock a user (risk_officer). Unlocking a user who is not locked changes nothing.
#[utoipa::path(post, path = "/v1/users/{user_id}/unlock", tag = "risk", security(("signed" = [])),
    request_body = ReasonRequest,
    params(("user_id" = UserId, Path, description = "The user to unlock"), IdempotencyHeader),
    responses(
        (status = 200, description = "The user's balances and `status: \"active\"`", body = MeView),
        (status = 400, description = "`invalid_request`: no reason, or one over 500 characters", body = ErrorBody),
        (status = 403, description = "`forbidden`: not a risk officer", body = ErrorBody),
        (status = 404, description = "`not_found`: no such user", body = ErrorBody),
    ))]
pub async fn unlock(
    State(app): State<AppState>,
    caller: Officer<Risk>,
    idem: IdempotencyKey,
    Path(user_id): Path<String>,
    AppJson(body): AppJson<ReasonRequest>,
) -> Result<Json<MeView>, ApiError> {
    let user = path_id(&user_id, "user")?;
    let command = Command::UnlockUser { officer: caller.key_id, user, reason: body.reason };
    Ok(Json(app.exec(caller.signer(), idem, command).await?))
}

/// Tell risk control about a user (admin): today a login, from a region on a device. The user's
/// recent regions are remembered; a login from a region not seen for `region_unseen_s` (a first
/// login ever counts) runs `anomaly_receipts_new_region` at once over the receipts of the hour
/// before, and arms it for the hour after: 30 incoming claims or transfers within 10 minutes
/// then place an anomaly freeze of the whole wallet, lock the user and open an anomaly case,
/// logged `rule_fired`. A plain signal is not a log entry.
#[utoipa::path(post, path = "/v1/risk/signals", tag = "risk", security(("signed" = [])),
    request_body = SignalRequest,
    params(IdempotencyHeader),
    responses(
        (status = 202, description = "Taken in: whether the region was new, and the case if the rule fired",
            body = SignalAccepted),
        (status = 400, description = "`invalid_request`: an unknown kind, a region or device id blank or over 64 \
            characters", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
        (status = 404, description = "`not_found`: no such user", body = ErrorBody),
    ))]
pub async fn signal(
    State(app): State<AppState>,
    caller: AdminCaller,
    idem: IdempotencyKey,
    AppJson(body): AppJson<SignalRequest>,
) -> Result<(StatusCode, Json<SignalAccepted>), ApiError> {
    let (user, signal) = body.into_parts();
    let command = Command::RecordSignal { user, signal };
    Ok((StatusCode::ACCEPTED, Json(app.exec(caller.signer(), idem, command).await?)))
}

/// The rules in force (any operator): each kind of freeze's term and renewals, the thresholds of
/// the rules that fire by themselves, and the warning tiers — the `[limits.risk]` table of the
/// configuration, with every default filled in.
#[utoipa::path(get, path = "/v1/risk/rules", tag = "risk", security(("signed" = [])),
    responses(
        (status = 200, description = "The table in force", body = RiskRules),
        (status = 403, description = "`forbidden`: not an operator", body = ErrorBody),
    ))]
pub async fn rules(State(app): State<AppState>, _caller: Officer<AnyOperator>) -> Json<RiskRules> {
    Json(app.engine.limits().risk.clone())
}
