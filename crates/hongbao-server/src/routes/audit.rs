//! The transparency log's endpoints under `/v1/audit/`, and receipts for users.
//!
//! The public sees what proves the log is append-only and nothing about anyone's money: the
//! checkpoints, the public key, proofs, and each entry's leaf hash. An entry's contents go to
//! the parties of its transfer (receipts), to auditors (the entries in full), and to those who
//! may see its packet (`/v1/audit/packets/{id}`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hongbao_audit::Hash;
use hongbao_core::log::decode;
use hongbao_core::ops::{self, Actor, EntriesView, PacketLogReader};
use hongbao_core::packet::PacketView;
use hongbao_core::query::Query;
use hongbao_core::{PacketId, TransferId};
use hongbao_engine::{Audit, AuditError};
use hongbao_wire::{
    ConsistencyParams, ConsistencyProof, EntriesPage, EntriesParams, EntryView, ErrorBody, InclusionParams,
    InclusionProof, PacketLog, ProvenEntry, ReceiptView,
};

use crate::auth::{AnyCaller, MaybeCaller, UserCaller};
use crate::error::ApiError;
use crate::extract::{AppQuery, path_id};
use crate::state::AppState;

/// Entries per page, at most.
const ENTRIES_PAGE_MAX: u32 = 1_000;
/// Entries of one packet returned, at most (a packet has at most `count_max` claims plus a few).
const PACKET_ENTRIES_MAX: u32 = 1_000;

impl From<AuditError> for ApiError {
    fn from(err: AuditError) -> Self {
        match err {
            AuditError::OutOfRange(message) => ApiError::invalid(message),
            AuditError::Disabled => ApiError::not_found("transparency log"),
            // Not a client's fault, and not something to retry blindly: an operator must look.
            AuditError::Corrupt(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "log_unavailable",
                "the transparency log does not match its signed checkpoints; an operator must run `hongbao check`",
            ),
        }
    }
}

fn audit(app: &AppState) -> Result<&Audit, ApiError> {
    app.engine.audit().map(|a| a.as_ref()).ok_or_else(|| AuditError::Disabled.into())
}

fn text(body: String) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body)
}

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn b64_each(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(|h| b64(h)).collect()
}

fn decoded(entry: &[u8]) -> serde_json::Value {
    decode(entry).ok().and_then(|e| serde_json::to_value(e).ok()).unwrap_or(serde_json::Value::Null)
}

/// The latest signed checkpoint: a C2SP tlog-checkpoint signed note, as text.
#[utoipa::path(get, path = "/v1/audit/checkpoint", tag = "audit",
    responses(
        (status = 200, description = "The signed note: origin, tree size, root hash, a blank line, the signature", body = String, content_type = "text/plain"),
        (status = 404, description = "`not_found`: no checkpoint yet, or no log on this server", body = ErrorBody),
    ))]
pub async fn checkpoint(State(app): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    audit(&app)?;
    let latest = app.engine.latest_checkpoint().await?;
    let latest = latest.ok_or_else(|| ApiError::not_found("checkpoint"))?;
    Ok(text(latest.note))
}

/// The log's verifier key in the Go signed-note format: `<name>+<8 hex key id>+<base64 of 0x01
/// and the 32-byte Ed25519 key>`, whose name is the checkpoints' origin line.
#[utoipa::path(get, path = "/v1/audit/public-key", tag = "audit",
    responses((status = 200, description = "The verifier key", body = String, content_type = "text/plain")))]
pub async fn public_key(State(app): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    Ok(text(format!("{}\n", audit(&app)?.vkey())))
}

/// Entries by index: unsigned, each entry's leaf hash (enough to check every proof and to
/// rebuild the tree); signed by an auditor, each entry's bytes too.
#[utoipa::path(get, path = "/v1/audit/entries", tag = "audit", params(EntriesParams),
    security((), ("signed" = [])),
    responses(
        (status = 200, description = "Entries in index order", body = EntriesPage),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 403, description = "`forbidden`: signed by someone who is not an auditor", body = ErrorBody),
    ))]
pub async fn entries(
    State(app): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    AppQuery(params): AppQuery<EntriesParams>,
) -> Result<Json<EntriesPage>, ApiError> {
    audit(&app)?;
    let reader = caller.map(|principal| Actor::of(&principal));
    let full = ops::entries_view(reader.as_ref())? == EntriesView::Full;
    let limit = params.limit.unwrap_or(100);
    if !(1..=ENTRIES_PAGE_MAX).contains(&limit) {
        return Err(ApiError::invalid(format!("limit must be between 1 and {ENTRIES_PAGE_MAX}")));
    }
    let start = params.start.unwrap_or(0);
    let rows = app.engine.log_entries(start, limit).await?;
    let next = (rows.len() == limit as usize).then(|| start + u64::from(limit));
    let entries = rows
        .into_iter()
        .map(|r| EntryView {
            index: r.index,
            leaf_hash: b64(&hongbao_audit::leaf_hash(&r.entry)),
            decoded: full.then(|| decoded(&r.entry)),
            entry: full.then(|| b64(&r.entry)),
        })
        .collect();
    Ok(Json(EntriesPage { entries, next }))
}

/// The log, with its tree brought up to `size` (by default the latest checkpoint's), for a
/// proof in the tree of that size.
async fn log_up_to(app: &AppState, size: Option<u64>) -> Result<(&Audit, u64), ApiError> {
    let log = audit(app)?;
    let size = match size {
        Some(size) => size,
        None => app.engine.latest_checkpoint().await?.map_or(0, |c| c.size),
    };
    app.engine.catch_up_log(size).await?;
    Ok((log, size))
}

/// An inclusion proof of entry `index` in the tree of `size`.
#[utoipa::path(get, path = "/v1/audit/proofs/inclusion", tag = "audit", params(InclusionParams),
    responses(
        (status = 200, description = "The proof", body = InclusionProof),
        (status = 400, description = "`invalid_request`: index or size out of range", body = ErrorBody),
    ))]
pub async fn inclusion(
    State(app): State<AppState>,
    AppQuery(params): AppQuery<InclusionParams>,
) -> Result<Json<InclusionProof>, ApiError> {
    let (log, size) = log_up_to(&app, params.size).await?;
    let hashes = log.inclusion_proof(params.index, size)?;
    Ok(Json(InclusionProof { index: params.index, size, hashes: b64_each(&hashes) }))
}

/// A consistency proof: the tree of `new` extends the tree of `old`.
#[utoipa::path(get, path = "/v1/audit/proofs/consistency", tag = "audit", params(ConsistencyParams),
    responses(
        (status = 200, description = "The proof", body = ConsistencyProof),
        (status = 400, description = "`invalid_request`: sizes out of range", body = ErrorBody),
    ))]
pub async fn consistency(
    State(app): State<AppState>,
    AppQuery(params): AppQuery<ConsistencyParams>,
) -> Result<Json<ConsistencyProof>, ApiError> {
    let (log, new) = log_up_to(&app, params.new).await?;
    let hashes = log.consistency_proof(params.old, new)?;
    Ok(Json(ConsistencyProof { old: params.old, new, hashes: b64_each(&hashes) }))
}

/// The log's entries about one packet, with proofs: for its sender, those who may claim it,
/// and auditors.
#[utoipa::path(get, path = "/v1/audit/packets/{packet_id}", tag = "audit", security(("signed" = [])),
    params(("packet_id" = PacketId, Path)),
    responses(
        (status = 200, description = "The entries and their proofs", body = PacketLog),
        (status = 403, description = "`forbidden`: an operator who is not an auditor", body = ErrorBody),
        (status = 404, description = "`not_found`: no such packet, not visible to the caller, or nothing about it in the log", body = ErrorBody),
    ))]
pub async fn packet(
    State(app): State<AppState>,
    AnyCaller(caller): AnyCaller,
    Path(packet_id): Path<String>,
) -> Result<Json<PacketLog>, ApiError> {
    let log = audit(&app)?;
    let packet_id: PacketId = path_id(&packet_id, "packet")?;
    match ops::packet_log_reader(&Actor::of(&caller))? {
        // Whoever may see the packet may see what the log says about it; anyone else is told
        // what `GET /v1/packets/{id}` tells them.
        PacketLogReader::Viewer(user) => {
            let _: PacketView = app.ask(Query::Packet { actor: user, packet: packet_id }).await?;
        }
        PacketLogReader::Auditor => {}
    }
    let rows = app.engine.log_entries_of_packet(packet_id, PACKET_ENTRIES_MAX + 1).await?;
    let Some(last) = rows.last().map(|r| r.index) else {
        return Err(ApiError::not_found("packet"));
    };
    let checkpoint = app.engine.checkpoint_covering(last).await?;
    let complete = rows.len() <= PACKET_ENTRIES_MAX as usize;
    let mut entries = Vec::new();
    for row in rows.into_iter().take(PACKET_ENTRIES_MAX as usize) {
        let hashes = log.inclusion_proof(row.index, checkpoint.size)?;
        entries.push(ProvenEntry {
            index: row.index,
            decoded: decoded(&row.entry),
            entry: b64(&row.entry),
            proof: hongbao_audit::proof::format(row.index, &hashes, &checkpoint.note),
        });
    }
    Ok(Json(PacketLog { packet_id, checkpoint: checkpoint.note, entries, complete }))
}

/// A receipt for one of the caller's transfers: proof that it is in the log, verifiable by
/// anyone with the public key (`hongbao verify receipt`).
#[utoipa::path(get, path = "/v1/receipts/{transfer_id}", tag = "audit", security(("signed" = [])),
    params(("transfer_id" = TransferId, Path)),
    responses(
        (status = 200, description = "The receipt", body = ReceiptView),
        (status = 404, description = "`not_found`: no such transfer of the caller's", body = ErrorBody),
        (status = 503, description = "`log_unavailable`: the log does not match its checkpoints", body = ErrorBody),
    ))]
pub async fn receipt(
    State(app): State<AppState>,
    caller: UserCaller,
    Path(transfer_id): Path<String>,
) -> Result<Json<ReceiptView>, ApiError> {
    let transfer: TransferId = path_id(&transfer_id, "transfer")?;
    let receipt = app.engine.receipt(caller.user, transfer).await?;
    Ok(Json(ReceiptView { decoded: decoded(&receipt.entry), entry: b64(&receipt.entry), proof: receipt.proof }))
}
