//! Users and operators (docs/API.md "Users and operators"): creating them, with the secret
//! shown once.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hongbao_core::ops::{Command, OperatorCreated, UserCreated};
use hongbao_wire::{CreateOperatorRequest, CreateUserRequest};

use super::{Created, IdempotencyHeader};
use crate::auth::AdminCaller;
use crate::error::ApiError;
use crate::extract::{AppJson, IdempotencyKey};
use crate::state::AppState;
use hongbao_wire::ErrorBody;

/// Create a user (admin). The answer holds the user's secret: the only time it is shown.
#[utoipa::path(post, path = "/v1/users", tag = "users", security(("signed" = [])),
    request_body = CreateUserRequest,
    params(IdempotencyHeader),
    responses(
        (status = 201, description = "The user and their credentials", body = UserCreated),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
    ))]
pub async fn create_user(
    State(app): State<AppState>,
    caller: AdminCaller,
    idem: IdempotencyKey,
    AppJson(body): AppJson<CreateUserRequest>,
) -> Result<Created<UserCreated>, ApiError> {
    let user = app.exec(caller.signer(), idem, Command::CreateUser { name: body.name }).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// Create an operator (admin). The answer holds the operator's secret: the only time it is shown.
#[utoipa::path(post, path = "/v1/operators", tag = "users", security(("signed" = [])),
    request_body = CreateOperatorRequest,
    params(IdempotencyHeader),
    responses(
        (status = 201, description = "The operator's credentials", body = OperatorCreated),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
    ))]
pub async fn create_operator(
    State(app): State<AppState>,
    caller: AdminCaller,
    idem: IdempotencyKey,
    AppJson(body): AppJson<CreateOperatorRequest>,
) -> Result<Created<OperatorCreated>, ApiError> {
    let command = Command::CreateOperator { name: body.name, roles: body.roles };
    let operator = app.exec(caller.signer(), idem, command).await?;
    Ok((StatusCode::CREATED, Json(operator)))
}
