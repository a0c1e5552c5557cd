//! Risk control and legal holds (docs/API.md "Risk control and legal holds"): locks, and the
//! table of rules and terms in force.

use axum::Json;
use axum::extract::{Path, State};
use hongbao_core::UserId;
use hongbao_core::ops::Command;
use hongbao_core::risk::RiskRules;
use hongbao_core::user::MeView;
use hongbao_wire::{ErrorBody, ReasonRequest};

use super::IdempotencyHeader;
use crate::auth::{AnyOperator, Officer, Risk};
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
