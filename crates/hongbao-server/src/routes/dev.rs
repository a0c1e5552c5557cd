//! The development clock (`serve --dev-clock` only).

use axum::Json;
use axum::extract::State;
use hongbao_wire::{DevClockAnswer, DevClockRequest};

use crate::auth::AdminCaller;
use crate::error::ApiError;
use crate::extract::AppJson;
use crate::state::AppState;
use hongbao_wire::ErrorBody;

/// Move the business clock forward and run every job that became due (admin; exists only when
/// the server runs with `--dev-clock`, else `404`). Not idempotent: development only.
#[utoipa::path(post, path = "/v1/dev/clock", tag = "development", security(("signed" = [])),
    request_body = DevClockRequest,
    responses(
        (status = 200, description = "The new business time, after the due jobs ran", body = DevClockAnswer),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
        (status = 404, description = "`not_found`: the server runs without `--dev-clock`", body = ErrorBody),
    ))]
pub async fn dev_clock(
    State(app): State<AppState>,
    caller: Result<AdminCaller, ApiError>,
    body: Result<AppJson<DevClockRequest>, ApiError>,
) -> Result<Json<DevClockAnswer>, ApiError> {
    // Without the flag the endpoint does not exist, whoever asks.
    if !app.dev_clock {
        return Err(ApiError::not_found("endpoint"));
    }
    caller?;
    let AppJson(body) = body?;
    if body.advance_seconds < 1 {
        return Err(ApiError::invalid("advance_seconds must be at least 1"));
    }
    let now = app.engine.advance_clock(body.advance_seconds).await?;
    Ok(Json(DevClockAnswer { now }))
}
