//! Reports and cases (docs/API.md "Reports", "Cases"): a user reports who defrauded them, the
//! `fraud_reports` rule opens a case and holds the money, officers read, note and close cases.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hongbao_core::case::{Case, Report};
use hongbao_core::ops::Command;
use hongbao_core::query::Query;
use hongbao_core::{CaseId, UserId};
use hongbao_wire::{CasesParams, CloseCaseRequest, ErrorBody, FileReportRequest, NoteRequest, ReportsParams};

use super::{Created, IdempotencyHeader};
use crate::auth::{Holds, HoldsReaders, Officer, UserCaller};
use crate::error::ApiError;
use crate::extract::{AppJson, AppQuery, IdempotencyKey, path_id};
use crate::state::AppState;

/// The most reports or cases one listing shows, newest first.
pub const CASES_PAGE_MAX: u32 = 100;

/// Report a user for fraud (举报), citing the transfers by which you paid them (or the claims
/// they made on your packets) and the evidence files you uploaded. One report of yours on a user
/// is open at a time. When 3 different reporters, each with at least one evidence file, have
/// open reports on one user within 7 days (`GET /v1/risk/rules`, `fraud_reports`), a fraud case
/// opens and a precautionary freeze of the reported sum is placed on them at once; the report
/// then names its `case_id`.
#[utoipa::path(post, path = "/v1/reports", tag = "risk", security(("signed" = [])),
    request_body = FileReportRequest,
    params(IdempotencyHeader),
    responses(
        (status = 201, description = "Filed: the report, `status: \"open\"`", body = Report),
        (status = 400, description = "`invalid_request`: a cited transfer is not money you paid the subject \
            (or it came back to you), a description out of bounds, or reporting yourself", body = ErrorBody),
        (status = 403, description = "`forbidden`: not a user's key", body = ErrorBody),
        (status = 404, description = "`not_found`: no such user, or an evidence file that is not yours", body = ErrorBody),
        (status = 409, description = "`conflict`: your report on this user is open already", body = ErrorBody),
    ))]
pub async fn file(
    State(app): State<AppState>,
    caller: UserCaller,
    idem: IdempotencyKey,
    AppJson(body): AppJson<FileReportRequest>,
) -> Result<Created<Report>, ApiError> {
    if body.evidence.len() > hongbao_core::case::REPORT_EVIDENCE_MAX {
        return Err(ApiError::invalid(format!(
            "a report cites at most {} evidence files",
            hongbao_core::case::REPORT_EVIDENCE_MAX
        )));
    }
    for &evidence in &body.evidence {
        // The reporter's own uploads only: another's file is "not found", never "forbidden".
        app.engine.evidence(caller.key_id, evidence).await?;
    }
    let command = Command::FileReport {
        actor: caller.user,
        subject: body.subject,
        payments: body.transfers,
        description: body.description,
        evidence: body.evidence,
    };
    Ok((StatusCode::CREATED, Json(app.exec(caller.signer(), idem, command).await?)))
}

/// The reports on a user, open and closed, newest first, at most 100 (risk_officer,
/// legal_officer, auditor).
#[utoipa::path(get, path = "/v1/reports", tag = "risk", security(("signed" = [])),
    params(ReportsParams),
    responses(
        (status = 200, description = "The reports", body = [Report]),
        (status = 400, description = "`invalid_request`: no `subject`", body = ErrorBody),
        (status = 403, description = "`forbidden`: a user, or an operator without these roles", body = ErrorBody),
    ))]
pub async fn reports(
    State(app): State<AppState>,
    _caller: Officer<HoldsReaders>,
    AppQuery(params): AppQuery<ReportsParams>,
) -> Result<Json<Vec<Report>>, ApiError> {
    let subject: UserId = params.subject;
    Ok(Json(app.engine.reports_on(subject, CASES_PAGE_MAX).await?))
}

/// The cases, newest opened first, at most 100, optionally of one `status` and `kind`
/// (risk_officer, legal_officer, auditor): the officers' queue.
#[utoipa::path(get, path = "/v1/cases", tag = "risk", security(("signed" = [])),
    params(CasesParams),
    responses(
        (status = 200, description = "The cases", body = [Case]),
        (status = 400, description = "`invalid_request`: an unknown status or kind", body = ErrorBody),
        (status = 403, description = "`forbidden`: a user, or an operator without these roles", body = ErrorBody),
    ))]
pub async fn list(
    State(app): State<AppState>,
    _caller: Officer<HoldsReaders>,
    AppQuery(params): AppQuery<CasesParams>,
) -> Result<Json<Vec<Case>>, ApiError> {
    Ok(Json(app.engine.cases(params.status, params.kind, CASES_PAGE_MAX).await?))
}

/// One case with its items and timeline (risk_officer, legal_officer, auditor).
#[utoipa::path(get, path = "/v1/cases/{case_id}", tag = "risk", security(("signed" = [])),
    params(("case_id" = CaseId, Path, description = "The case")),
    responses(
        (status = 200, description = "The case", body = Case),
        (status = 403, description = "`forbidden`: a user, or an operator without these roles", body = ErrorBody),
        (status = 404, description = "`not_found`: no such case", body = ErrorBody),
    ))]
pub async fn get(
    State(app): State<AppState>,
    _caller: Officer<HoldsReaders>,
    Path(case_id): Path<String>,
) -> Result<Json<Case>, ApiError> {
    let case = path_id(&case_id, "case")?;
    Ok(Json(app.ask(Query::Case { case }).await?))
}

/// Write a note on a case's timeline (risk_officer, legal_officer), open or closed: it records
/// who wrote it and when. A note is not a log entry: it changes no money and nothing anyone may do.
#[utoipa::path(post, path = "/v1/cases/{case_id}/notes", tag = "risk", security(("signed" = [])),
    request_body = NoteRequest,
    params(("case_id" = CaseId, Path, description = "The case"), IdempotencyHeader),
    responses(
        (status = 201, description = "Written: the case with the note last on its timeline", body = Case),
        (status = 400, description = "`invalid_request`: a text out of bounds", body = ErrorBody),
        (status = 403, description = "`forbidden`: not a risk or legal officer", body = ErrorBody),
        (status = 404, description = "`not_found`: no such case", body = ErrorBody),
        (status = 409, description = "`conflict`: the case holds the most entries one case may", body = ErrorBody),
    ))]
pub async fn note(
    State(app): State<AppState>,
    caller: Officer<Holds>,
    idem: IdempotencyKey,
    Path(case_id): Path<String>,
    AppJson(body): AppJson<NoteRequest>,
) -> Result<Created<Case>, ApiError> {
    let case = path_id(&case_id, "case")?;
    let command = Command::AddCaseNote { officer: caller.key_id, case, text: body.text };
    Ok((StatusCode::CREATED, Json(app.exec(caller.signer(), idem, command).await?)))
}

/// Close a case (risk_officer, legal_officer) as `upheld` or `dismissed`: its reports close (the
/// reporters may report again); `dismissed` also releases, in the same log entry, each of its
/// precautionary freezes still active. An anomaly freeze or a lock is released on its own
/// (`/v1/freezes/{id}/release`, `/v1/users/{id}/unlock`), as its own decision.
#[utoipa::path(post, path = "/v1/cases/{case_id}/close", tag = "risk", security(("signed" = [])),
    request_body = CloseCaseRequest,
    params(("case_id" = CaseId, Path, description = "The case"), IdempotencyHeader),
    responses(
        (status = 200, description = "The closed case", body = Case),
        (status = 400, description = "`invalid_request`: an unknown outcome, or a reason out of bounds", body = ErrorBody),
        (status = 403, description = "`forbidden`: not a risk or legal officer", body = ErrorBody),
        (status = 404, description = "`not_found`: no such case", body = ErrorBody),
        (status = 409, description = "`invalid_state` with `reason: \"closed\"`: it is closed already", body = ErrorBody),
    ))]
pub async fn close(
    State(app): State<AppState>,
    caller: Officer<Holds>,
    idem: IdempotencyKey,
    Path(case_id): Path<String>,
    AppJson(body): AppJson<CloseCaseRequest>,
) -> Result<Json<Case>, ApiError> {
    let case = path_id(&case_id, "case")?;
    let command = Command::CloseCase { officer: caller.key_id, case, outcome: body.outcome, reason: body.reason };
    Ok(Json(app.exec(caller.signer(), idem, command).await?))
}
