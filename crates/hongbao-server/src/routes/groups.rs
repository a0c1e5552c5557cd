//! Groups (docs/API.md "Groups"): creating one and reading it as a member.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hongbao_core::GroupId;
use hongbao_core::ops::Command;
use hongbao_core::query::Query;
use hongbao_core::user::GroupView;
use hongbao_wire::CreateGroupRequest;

use super::{Created, IdempotencyHeader};
use crate::auth::UserCaller;
use crate::error::ApiError;
use crate::extract::{AppJson, IdempotencyKey};
use crate::state::AppState;
use hongbao_wire::ErrorBody;

/// Create a group; the caller is always a member.
#[utoipa::path(post, path = "/v1/groups", tag = "groups", security(("signed" = [])),
    request_body = CreateGroupRequest,
    params(IdempotencyHeader),
    responses(
        (status = 201, description = "The group", body = GroupView),
        (status = 400, description = "`invalid_request`: an unknown user, too many members, a bad name", body = ErrorBody),
    ))]
pub async fn create_group(
    State(app): State<AppState>,
    caller: UserCaller,
    idem: IdempotencyKey,
    AppJson(body): AppJson<CreateGroupRequest>,
) -> Result<Created<GroupView>, ApiError> {
    let command = Command::CreateGroup { actor: caller.user, name: body.name, members: body.members };
    let group = app.exec(caller.signer(), idem, command).await?;
    Ok((StatusCode::CREATED, Json(group)))
}

/// A group the caller belongs to.
#[utoipa::path(get, path = "/v1/groups/{group_id}", tag = "groups", security(("signed" = [])),
    params(("group_id" = GroupId, Path)),
    responses(
        (status = 200, description = "The group", body = GroupView),
        (status = 404, description = "`not_found`: no such group, or the caller is not a member", body = ErrorBody),
    ))]
pub async fn group(
    State(app): State<AppState>,
    caller: UserCaller,
    Path(group_id): Path<String>,
) -> Result<Json<GroupView>, ApiError> {
    app.ask_about(&caller, (&group_id, "group"), |actor, group| Query::Group { actor, group }).await
}
