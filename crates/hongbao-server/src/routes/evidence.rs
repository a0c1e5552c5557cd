//! Evidence files (docs/API.md "Evidence files"): a signed principal uploads the raw bytes of a
//! screenshot, a scan or a text; whoever may read it downloads them again, unchanged.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hongbao_core::EvidenceId;
use hongbao_core::evidence::{ContentType, EvidenceView};
use hongbao_core::principal::Owner;
use hongbao_wire::ErrorBody;

use super::Created;
use crate::auth::{AnyCaller, HoldsReaders, Roles};
use crate::error::ApiError;
use crate::extract::path_id;
use crate::state::AppState;

/// Upload an evidence file (any signed principal): the body is the file's raw bytes, at most
/// 5 MiB (`http.evidence_max_bytes`), with its `Content-Type`: `image/png`, `image/jpeg`,
/// `application/pdf` or `text/plain` (UTF-8). The bytes must be what the type says (a PNG's
/// signature, a PDF's `%PDF-`, valid UTF-8). The answer's `sha256` is what every citation of
/// the file carries. Uploads are idempotent by content: the same principal sending the same
/// bytes with the same type again gets the same `evidence_id`, so an `Idempotency-Key` is not
/// needed (it is not looked at).
#[utoipa::path(post, path = "/v1/evidence", tag = "evidence", security(("signed" = [])),
    request_body(description = "The file's bytes",
        content((Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "application/pdf"), (Vec<u8> = "text/plain"))),
    responses(
        (status = 201, description = "Stored (or stored before by the same principal)", body = EvidenceView),
        (status = 400, description = "`invalid_request`: another or no `Content-Type`, an empty file, or bytes \
            that are not what the type says", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: over 5 MiB", body = ErrorBody),
        (status = 503, description = "`overloaded`: too many uploads at once (`http.evidence_uploads_max`)", body = ErrorBody),
    ))]
pub async fn upload(
    State(app): State<AppState>,
    caller: AnyCaller,
    headers: HeaderMap,
    request: Request,
) -> Result<Created<EvidenceView>, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().map_err(|_| ApiError::invalid("Content-Type must be ASCII")))
        .transpose()?
        .ok_or_else(|| ApiError::invalid("Content-Type is required: the type of the file"))?;
    let content_type = ContentType::parse(content_type)?;
    // The middleware read the whole body within the upload's limit already; this only takes it.
    let limit = app.config.evidence_max_bytes;
    let bytes =
        axum::body::to_bytes(request.into_body(), limit).await.map_err(|_| ApiError::payload_too_large(limit))?;
    let view = app.engine.store_evidence(caller.0.key_id, content_type, Vec::from(bytes)).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Download an evidence file: its uploader, and risk officers, legal officers and auditors when
/// a report or a registered document (which freezes and forced transfers cite) cites it; anyone
/// else is told `404`, as for a file that does not exist. The bytes come back exactly as uploaded, with
/// their content type, as an attachment, never to be sniffed as another type.
#[utoipa::path(get, path = "/v1/evidence/{evidence_id}", tag = "evidence", security(("signed" = [])),
    params(("evidence_id" = EvidenceId, Path, description = "The file")),
    responses(
        (status = 200, description = "The file's bytes, with its `Content-Type` and an `X-Evidence-Sha256` header",
            content(
                (Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "application/pdf"), (Vec<u8> = "text/plain")
            )),
        (status = 404, description = "`not_found`: no such file, or not one the caller may read", body = ErrorBody),
    ))]
pub async fn download(
    State(app): State<AppState>,
    caller: AnyCaller,
    Path(evidence_id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id(&evidence_id, "evidence file")?;
    let officer = match &caller.0.owner {
        Owner::Operator { roles, .. } => roles.iter().any(|r| HoldsReaders::ROLES.contains(r)),
        Owner::User { .. } => false,
    };
    let file = if officer {
        app.engine.evidence_for_officer(caller.0.key_id, id).await?
    } else {
        app.engine.evidence(caller.0.key_id, id).await?
    };
    let content_type = match file.content_type {
        ContentType::Text => "text/plain; charset=utf-8",
        other => other.as_str(),
    };
    let extension = file.content_type.extensions()[0];
    let disposition = format!("attachment; filename=\"{}.{extension}\"", file.id);
    let sha256 = file.view().sha256;
    let mut response = Bytes::from(file.bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    // Ids and hex digits only: always a valid header value.
    for (name, value) in
        [(header::CONTENT_DISPOSITION, disposition), (header::HeaderName::from_static("x-evidence-sha256"), sha256)]
    {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    Ok(response)
}
