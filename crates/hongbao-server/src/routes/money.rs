//! Money (docs/API.md "Money"): deposits, balances, withdrawals and the history of a wallet.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hongbao_core::ledger::PendingStatus;
use hongbao_core::ops::{Command, Moved};
use hongbao_core::query::Query;
use hongbao_core::user::MeView;
use hongbao_core::{Fen, TransferId, UserId};
use hongbao_store::HistoryItem;
use hongbao_wire::{AmountRequest, Direction, HistoryParams, TransactionItem, TransactionsPage};

use super::{Created, IdempotencyHeader, page, page_end};
use crate::auth::{AdminCaller, UserCaller};
use crate::error::ApiError;
use crate::extract::{AppJson, AppQuery, IdempotencyKey, path_id};
use crate::state::AppState;
use hongbao_wire::ErrorBody;

/// Money arriving from a bank card (admin).
#[utoipa::path(post, path = "/v1/users/{user_id}/deposits", tag = "money", security(("signed" = [])),
    request_body = AmountRequest,
    params(("user_id" = UserId, Path, description = "The user to credit"), IdempotencyHeader),
    responses(
        (status = 201, description = "The deposit's transfer and the new balance", body = Moved),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
        (status = 404, description = "`not_found`: no such user", body = ErrorBody),
    ))]
pub async fn deposit(
    State(app): State<AppState>,
    caller: AdminCaller,
    idem: IdempotencyKey,
    Path(user_id): Path<String>,
    AppJson(body): AppJson<AmountRequest>,
) -> Result<Created<Moved>, ApiError> {
    let user: UserId = path_id(&user_id, "user")?;
    let moved = app.exec(caller.signer(), idem, Command::Deposit { user, amount: Fen::new(body.amount) }).await?;
    Ok((StatusCode::CREATED, Json(moved)))
}

/// The caller's balances.
#[utoipa::path(get, path = "/v1/me", tag = "money", security(("signed" = [])),
    responses(
        (status = 200, description = "Balances: `available` = `balance` − `pending_out` − `frozen`", body = MeView),
        (status = 403, description = "`forbidden`: not a user's key", body = ErrorBody),
    ))]
pub async fn me(State(app): State<AppState>, caller: UserCaller) -> Result<Json<MeView>, ApiError> {
    let me = app.ask(Query::Me { actor: caller.user }).await?;
    Ok(Json(me))
}

/// Money leaving to a bank card.
#[utoipa::path(post, path = "/v1/me/withdrawals", tag = "money", security(("signed" = [])),
    request_body = AmountRequest,
    params(IdempotencyHeader),
    responses(
        (status = 201, description = "The withdrawal's transfer and the new balance", body = Moved),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 409, description = "`insufficient_funds`: more than available", body = ErrorBody),
        (status = 423, description = "`account_frozen`", body = ErrorBody),
    ))]
pub async fn withdraw(
    State(app): State<AppState>,
    caller: UserCaller,
    idem: IdempotencyKey,
    AppJson(body): AppJson<AmountRequest>,
) -> Result<Created<Moved>, ApiError> {
    let moved = app
        .exec(caller.signer(), idem, Command::Withdraw { actor: caller.user, amount: Fen::new(body.amount) })
        .await?;
    Ok((StatusCode::CREATED, Json(moved)))
}

/// A stored history item as the API shows it.
fn transaction(item: HistoryItem) -> TransactionItem {
    let status = match item.pending {
        None | Some(PendingStatus::Posted) => "arrived",
        Some(PendingStatus::Pending) => "pending",
        Some(PendingStatus::Voided) => "revoked",
    };
    TransactionItem {
        transfer_id: item.transfer_id,
        amount: item.amount,
        direction: if item.incoming { Direction::In } else { Direction::Out },
        kind: item.kind,
        status: status.to_owned(),
        packet_id: item.packet_id,
        note: item.note,
        created_at: item.created_at,
    }
}

/// The caller's transactions, newest first.
#[utoipa::path(get, path = "/v1/me/transactions", tag = "money", security(("signed" = [])),
    params(HistoryParams),
    responses(
        (status = 200, description = "A page of transactions", body = TransactionsPage),
        (status = 400, description = "`invalid_request`: bad limit or cursor", body = ErrorBody),
    ))]
pub async fn transactions(
    State(app): State<AppState>,
    caller: UserCaller,
    AppQuery(params): AppQuery<HistoryParams>,
) -> Result<Json<TransactionsPage>, ApiError> {
    let (limit, before) = page::<TransferId>(&app, params.limit, params.cursor.as_deref())?;
    let items = app.engine.history(caller.user, before, limit).await?;
    let next_cursor = page_end(&items, limit, |i| i.transfer_id.to_string());
    Ok(Json(TransactionsPage { items: items.into_iter().map(transaction).collect(), next_cursor }))
}
