//! The endpoints of docs/API.md. Each handler translates: HTTP in, one engine command or query,
//! HTTP out. No rule is decided here.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hongbao_core::ops::{
    self, ClaimDetail, Command, Moved, OperatorCreated, PacketSpec, Recalled, Reply, TransferReceipt, UserCreated,
};
use hongbao_core::packet::{ClaimReceipt, PacketView};
use hongbao_core::principal::Role;
use hongbao_core::query::{Answer, Query};
use hongbao_core::user::{GroupView, MeView};
use hongbao_core::{ClaimId, Fen, GroupId, PacketId, Timestamp, TransferId, UserId};
use hongbao_engine::{EngineError, Idempotency};
use hongbao_store::HistoryItem;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{AdminCaller, NonceTicket, Signer, UserCaller};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{AppJson, AppQuery, IdempotencyKey, NoBody, path_id};
use crate::state::AppState;

type Created<T> = (StatusCode, Json<T>);

impl AppState {
    /// Runs a command for `signer`, if the core's rules let them issue it, once per idempotency
    /// key, storing the request's nonce with its effects.
    async fn exec(&self, signer: Signer, idem: IdempotencyKey, command: Command) -> Result<Reply, ApiError> {
        ops::authorize(&signer.actor, &command)?;
        let key_id = signer.key_id;
        let idempotency = idem.key.map(|key| Idempotency { principal: key_id.to_string(), key });
        let nonce = idem.nonce.as_ref().and_then(NonceTicket::take);
        let result = self.engine.execute_signed(command, idempotency, nonce).await;
        if let (Err(EngineError::Overloaded | EngineError::Stopped), Some(ticket), Some(nonce)) =
            (&result, &idem.nonce, nonce)
        {
            // Not queued: the nonce goes back, for the middleware to store or refuse.
            ticket.give_back(nonce);
        }
        Ok(result?)
    }

    async fn ask(&self, query: Query) -> Result<Answer, ApiError> {
        Ok(self.engine.query(&query).await?)
    }
}

fn unexpected(reply: &Reply) -> ApiError {
    tracing::error!(?reply, "the engine answered a command with the wrong kind of reply");
    ApiError::internal("unexpected answer from the engine")
}

// ----- users and operators ------------------------------------------------------------------

/// Creates a user with their first signing key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "alice"}))]
pub struct CreateUserRequest {
    /// 1 to 64 characters.
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
}

/// Creates an operator: a key with roles.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "risk desk", "roles": ["risk_officer"]}))]
pub struct CreateOperatorRequest {
    /// 1 to 64 characters.
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    /// At least one of `admin`, `risk_officer`, `legal_officer`, `auditor`.
    #[schema(min_items = 1)]
    pub roles: Vec<Role>,
}

/// An amount in fen.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": 10000}))]
pub struct AmountRequest {
    /// Integer fen, at least 1 (a deposit at most `limits.deposit_max_fen`, ¥10 000 000 by default).
    #[schema(minimum = 1)]
    pub amount: i64,
}

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
    match app.exec(caller.signer(), idem, Command::CreateUser { name: body.name }).await? {
        Reply::User(user) => Ok((StatusCode::CREATED, Json(user))),
        other => Err(unexpected(&other)),
    }
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
    match app.exec(caller.signer(), idem, command).await? {
        Reply::Operator(operator) => Ok((StatusCode::CREATED, Json(operator))),
        other => Err(unexpected(&other)),
    }
}

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
    match app.exec(caller.signer(), idem, Command::Deposit { user, amount: Fen::new(body.amount) }).await? {
        Reply::Moved(moved) => Ok((StatusCode::CREATED, Json(moved))),
        other => Err(unexpected(&other)),
    }
}

/// The caller's balances.
#[utoipa::path(get, path = "/v1/me", tag = "money", security(("signed" = [])),
    responses(
        (status = 200, description = "Balances: `available` = `balance` − `pending_out` − `frozen`", body = MeView),
        (status = 403, description = "`forbidden`: not a user's key", body = ErrorBody),
    ))]
pub async fn me(State(app): State<AppState>, caller: UserCaller) -> Result<Json<MeView>, ApiError> {
    match app.ask(Query::Me { actor: caller.user }).await? {
        Answer::Me(me) => Ok(Json(me)),
        _ => Err(ApiError::internal("unexpected answer")),
    }
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
    match app
        .exec(caller.signer(), idem, Command::Withdraw { actor: caller.user, amount: Fen::new(body.amount) })
        .await?
    {
        Reply::Moved(moved) => Ok((StatusCode::CREATED, Json(moved))),
        other => Err(unexpected(&other)),
    }
}

/// Paging of the history.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// 1 to 100 items (default 20).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One movement of the caller's money.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransactionItem {
    pub transfer_id: TransferId,
    pub amount: Fen,
    /// `in` or `out` of the caller's wallet.
    pub direction: &'static str,
    /// What moved the money: `deposit`, `withdrawal`, `packet_send`, `packet_claim`,
    /// `packet_refund`, `packet_recall`, `claim_revoke`, `claim_return`, `transfer`.
    pub kind: &'static str,
    /// `arrived`, `pending` (delayed arrival) or `revoked`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packet_id: Option<PacketId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub created_at: Timestamp,
}

/// A page of history, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransactionsPage {
    pub items: Vec<TransactionItem>,
    /// Pass as `cursor` for the next (older) page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl From<HistoryItem> for TransactionItem {
    fn from(item: HistoryItem) -> Self {
        use hongbao_core::ledger::PendingStatus;
        TransactionItem {
            transfer_id: item.transfer_id,
            amount: item.amount,
            direction: if item.incoming { "in" } else { "out" },
            kind: item.kind.as_str(),
            status: match item.pending {
                None | Some(PendingStatus::Posted) => "arrived",
                Some(PendingStatus::Pending) => "pending",
                Some(PendingStatus::Voided) => "revoked",
            },
            packet_id: item.packet_id,
            note: item.note,
            created_at: item.created_at,
        }
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
    let max = app.engine.config().history_page_max;
    let limit = params.limit.unwrap_or(app.config.history_page_default.min(max));
    if limit < 1 || limit > max {
        return Err(ApiError::invalid(format!("limit must be between 1 and {max}")));
    }
    let before = match params.cursor.as_deref() {
        Some(cursor) => {
            Some(cursor.parse::<TransferId>().map_err(|_| ApiError::invalid("cursor is not one we gave out"))?)
        }
        None => None,
    };
    let items = app.engine.history(caller.user, before, limit).await?;
    let full = items.len() == limit as usize;
    let next_cursor = if full { items.last().map(|i| i.transfer_id.to_string()) } else { None };
    Ok(Json(TransactionsPage { items: items.into_iter().map(TransactionItem::from).collect(), next_cursor }))
}

// ----- groups -------------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "family", "members": ["usr_0190f0a0b0c0d0e0f000000000000001"]}))]
pub struct CreateGroupRequest {
    /// 1 to 64 characters.
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    /// Other members; the caller is always a member. At most 500 in all.
    #[schema(max_items = 499)]
    pub members: Vec<UserId>,
}

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
    match app.exec(caller.signer(), idem, command).await? {
        Reply::Group(group) => Ok((StatusCode::CREATED, Json(group))),
        other => Err(unexpected(&other)),
    }
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
    let group = path_id(&group_id, "group")?;
    match app.ask(Query::Group { actor: caller.user, group }).await? {
        Answer::Group(group) => Ok(Json(group)),
        _ => Err(ApiError::internal("unexpected answer")),
    }
}

// ----- packets ------------------------------------------------------------------------------

/// A red packet to send: `normal` (equal shares), `lucky` (random shares) or `exclusive` (one
/// recipient).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[schema(example = json!({"kind": "lucky", "group_id": "grp_0190f0a0b0c0d0e0f000000000000001", "count": 3, "total": 1000, "greeting": "恭喜发财"}))]
pub enum SendPacketRequest {
    Normal {
        group_id: GroupId,
        /// 1 to 100, and at most the group's size.
        #[schema(minimum = 1, maximum = 100)]
        count: u32,
        /// Fen per share, 1 to 20 000.
        #[schema(minimum = 1, maximum = 20_000)]
        amount_each: i64,
        /// At most 64 characters.
        #[schema(max_length = 64)]
        greeting: Option<String>,
        /// 0 (default), 7200 or 86400.
        #[schema(minimum = 0, maximum = 86_400)]
        arrival_delay_seconds: Option<u32>,
    },
    Lucky {
        group_id: GroupId,
        /// 1 to 100, and at most the group's size.
        #[schema(minimum = 1, maximum = 100)]
        count: u32,
        /// Fen to split, at least 1 per share and at most 20 000 per share.
        #[schema(minimum = 1, maximum = 2_000_000)]
        total: i64,
        /// At most 64 characters.
        #[schema(max_length = 64)]
        greeting: Option<String>,
        /// 0 (default), 7200 or 86400.
        #[schema(minimum = 0, maximum = 86_400)]
        arrival_delay_seconds: Option<u32>,
    },
    Exclusive {
        recipient: UserId,
        /// Fen, 1 to 20 000.
        #[schema(minimum = 1, maximum = 20_000)]
        amount: i64,
        /// At most 64 characters.
        #[schema(max_length = 64)]
        greeting: Option<String>,
        arrival_delay_seconds: Option<u32>,
    },
}

/// Send a red packet. The money leaves the caller's available balance at once.
#[utoipa::path(post, path = "/v1/packets", tag = "packets", security(("signed" = [])),
    request_body = SendPacketRequest,
    params(IdempotencyHeader),
    responses(
        (status = 201, description = "The packet", body = PacketView),
        (status = 400, description = "`invalid_request`: a limit, naming it", body = ErrorBody),
        (status = 404, description = "`not_found`: no such group, or the caller is not a member", body = ErrorBody),
        (status = 409, description = "`insufficient_funds`", body = ErrorBody),
        (status = 423, description = "`account_frozen`", body = ErrorBody),
    ))]
pub async fn send_packet(
    State(app): State<AppState>,
    caller: UserCaller,
    idem: IdempotencyKey,
    AppJson(body): AppJson<SendPacketRequest>,
) -> Result<Created<PacketView>, ApiError> {
    let (spec, greeting, delay) = match body {
        SendPacketRequest::Normal { group_id, count, amount_each, greeting, arrival_delay_seconds } => (
            PacketSpec::Normal { group_id, count, amount_each: Fen::new(amount_each) },
            greeting,
            arrival_delay_seconds,
        ),
        SendPacketRequest::Lucky { group_id, count, total, greeting, arrival_delay_seconds } => {
            (PacketSpec::Lucky { group_id, count, total: Fen::new(total) }, greeting, arrival_delay_seconds)
        }
        SendPacketRequest::Exclusive { recipient, amount, greeting, arrival_delay_seconds } => {
            (PacketSpec::Exclusive { recipient, amount: Fen::new(amount) }, greeting, arrival_delay_seconds)
        }
    };
    let command = Command::SendPacket { actor: caller.user, spec, greeting, arrival_delay_s: delay.unwrap_or(0) };
    match app.exec(caller.signer(), idem, command).await? {
        Reply::Packet(view) => Ok((StatusCode::CREATED, Json(view))),
        other => Err(unexpected(&other)),
    }
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
    let packet = path_id(&packet_id, "packet")?;
    match app.ask(Query::Packet { actor: caller.user, packet }).await? {
        Answer::Packet(view) => Ok(Json(view)),
        _ => Err(ApiError::internal("unexpected answer")),
    }
}

/// Open a packet: records that a recipient touched it (the sender opening it does not count),
/// after which a normal or exclusive packet can no longer be recalled.
#[utoipa::path(post, path = "/v1/packets/{packet_id}/open", tag = "packets", security(("signed" = [])),
    params(("packet_id" = PacketId, Path), IdempotencyHeader),
    responses(
        (status = 200, description = "The packet", body = PacketView),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ))]
pub async fn open(
    State(app): State<AppState>,
    caller: UserCaller,
    idem: IdempotencyKey,
    Path(packet_id): Path<String>,
    _: NoBody,
) -> Result<Json<PacketView>, ApiError> {
    let packet = path_id(&packet_id, "packet")?;
    match app.exec(caller.signer(), idem, Command::OpenPacket { actor: caller.user, packet }).await? {
        Reply::Packet(view) => Ok(Json(view)),
        other => Err(unexpected(&other)),
    }
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
pub async fn claim(
    State(app): State<AppState>,
    caller: UserCaller,
    idem: IdempotencyKey,
    Path(packet_id): Path<String>,
    _: NoBody,
) -> Result<Json<ClaimReceipt>, ApiError> {
    let packet = path_id(&packet_id, "packet")?;
    match app.exec(caller.signer(), idem, Command::ClaimPacket { actor: caller.user, packet }).await? {
        Reply::Claimed(receipt) => Ok(Json(receipt)),
        other => Err(unexpected(&other)),
    }
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
pub async fn recall(
    State(app): State<AppState>,
    caller: UserCaller,
    idem: IdempotencyKey,
    Path(packet_id): Path<String>,
    _: NoBody,
) -> Result<Json<Recalled>, ApiError> {
    let packet = path_id(&packet_id, "packet")?;
    match app.exec(caller.signer(), idem, Command::RecallPacket { actor: caller.user, packet }).await? {
        Reply::Recalled(recalled) => Ok(Json(recalled)),
        other => Err(unexpected(&other)),
    }
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
pub async fn revoke_claim(
    State(app): State<AppState>,
    caller: UserCaller,
    idem: IdempotencyKey,
    Path(claim_id): Path<String>,
    _: NoBody,
) -> Result<Json<ClaimDetail>, ApiError> {
    let claim = path_id(&claim_id, "claim")?;
    match app.exec(caller.signer(), idem, Command::RevokeClaim { actor: caller.user, claim }).await? {
        Reply::Claim(detail) => Ok(Json(detail)),
        other => Err(unexpected(&other)),
    }
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
pub async fn return_claim(
    State(app): State<AppState>,
    caller: UserCaller,
    idem: IdempotencyKey,
    Path(claim_id): Path<String>,
    _: NoBody,
) -> Result<Json<ClaimDetail>, ApiError> {
    let claim = path_id(&claim_id, "claim")?;
    match app.exec(caller.signer(), idem, Command::ReturnClaim { actor: caller.user, claim }).await? {
        Reply::Claim(detail) => Ok(Json(detail)),
        other => Err(unexpected(&other)),
    }
}

// ----- transfers ----------------------------------------------------------------------------

/// Money to another user (转账).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to": "usr_0190f0a0b0c0d0e0f000000000000001", "amount": 1234, "note": "dinner"}))]
pub struct TransferRequest {
    pub to: UserId,
    /// Fen, at least 1.
    #[schema(minimum = 1)]
    pub amount: i64,
    /// At most 64 characters.
    #[schema(max_length = 64)]
    pub note: Option<String>,
    /// 0 (default), 7200 or 86400.
    #[schema(minimum = 0, maximum = 86_400)]
    pub arrival_delay_seconds: Option<u32>,
}

/// Transfer money to another user, at once or with a delayed arrival.
#[utoipa::path(post, path = "/v1/transfers", tag = "transfers", security(("signed" = [])),
    request_body = TransferRequest,
    params(IdempotencyHeader),
    responses(
        (status = 201, description = "The transfer: `arrived`, or `pending` until `arrives_at`", body = TransferReceipt),
        (status = 400, description = "`invalid_request`: a bad amount, an unknown recipient, oneself", body = ErrorBody),
        (status = 409, description = "`insufficient_funds`", body = ErrorBody),
        (status = 423, description = "`account_frozen`", body = ErrorBody),
    ))]
pub async fn transfer(
    State(app): State<AppState>,
    caller: UserCaller,
    idem: IdempotencyKey,
    AppJson(body): AppJson<TransferRequest>,
) -> Result<Created<TransferReceipt>, ApiError> {
    let command = Command::Transfer {
        actor: caller.user,
        to: body.to,
        amount: Fen::new(body.amount),
        note: body.note,
        arrival_delay_s: body.arrival_delay_seconds.unwrap_or(0),
    };
    match app.exec(caller.signer(), idem, command).await? {
        Reply::Transfer(receipt) => Ok((StatusCode::CREATED, Json(receipt))),
        other => Err(unexpected(&other)),
    }
}

/// Revoke a pending transfer before it arrives: the money stays with the sender.
#[utoipa::path(post, path = "/v1/transfers/{transfer_id}/revoke", tag = "transfers", security(("signed" = [])),
    params(("transfer_id" = TransferId, Path), IdempotencyHeader),
    responses(
        (status = 200, description = "The transfer, now `revoked`", body = TransferReceipt),
        (status = 403, description = "`forbidden`: the recipient may not revoke", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`not_pending`: it has arrived or was revoked", body = ErrorBody),
    ))]
pub async fn revoke_transfer(
    State(app): State<AppState>,
    caller: UserCaller,
    idem: IdempotencyKey,
    Path(transfer_id): Path<String>,
    _: NoBody,
) -> Result<Json<TransferReceipt>, ApiError> {
    let transfer = path_id(&transfer_id, "transfer")?;
    match app.exec(caller.signer(), idem, Command::RevokeTransfer { actor: caller.user, transfer }).await? {
        Reply::Transfer(receipt) => Ok(Json(receipt)),
        other => Err(unexpected(&other)),
    }
}

// ----- development clock --------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"advance_seconds": 86400}))]
pub struct DevClockRequest {
    /// Seconds to move the business clock forward, at least 1; the clock runs at most ten years
    /// ahead of real time.
    #[schema(minimum = 1, maximum = 4_294_967_295_u32)]
    pub advance_seconds: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DevClockAnswer {
    /// The business clock after the move.
    pub now: Timestamp,
}

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

/// The `Idempotency-Key` header, shared by every POST.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct IdempotencyHeader {
    /// 1–255 printable ASCII. The same key and request again answers the first answer and does
    /// nothing else; the same key with another request is `422 idempotency_key_reused`. Kept
    /// at least 24 h.
    #[param(rename = "Idempotency-Key")]
    idempotency_key: Option<String>,
}
