//! The endpoints of docs/API.md, one file per section of it. Each handler translates: HTTP in,
//! one engine command or query, HTTP out. No rule is decided here: who may issue a command is
//! the core's (`ops::authorize`), and what a command answers is its type
//! ([`AppState::exec`] returns the answer the handler names).
//!
//! - `users.rs` — users and operators; `money.rs` — deposits, balances, withdrawals, history;
//!   `groups.rs`; `packets.rs` — packets and claims; `transfers.rs`; `audit.rs` — the
//!   transparency log and receipts; `risk.rs` — risk control and legal holds (locks,
//!   the rules' table), with `documents.rs` — the legal documents its freezes cite — and
//!   `freezes.rs` and `seizures.rs` (four eyes), `cases.rs` — reports and cases;
//!   `evidence.rs` — evidence files; `returns.rs` — return requests; `dev.rs` — the
//!   development clock.
//!
//! Request and answer bodies are `hongbao_wire`'s, shared with the client. A new section of
//! the API is a new file here, its routes listed in `api_router` (lib.rs).

use std::str::FromStr;

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hongbao_core::UserId;
use hongbao_core::ops::{self, Command, Reply};
use hongbao_core::query::{Answer, Query};
use hongbao_engine::{EngineError, Idempotency};
use utoipa::IntoParams;

use crate::auth::{NonceTicket, Signer, UserCaller};
use crate::error::ApiError;
use crate::extract::{IdempotencyKey, NoBody, path_id};
use crate::state::AppState;

pub mod audit;
pub mod cases;
pub mod dev;
pub mod documents;
pub mod evidence;
pub mod freezes;
pub mod groups;
pub mod money;
pub mod packets;
pub mod returns;
pub mod risk;
pub mod seizures;
pub mod transfers;
pub mod users;
pub mod warnings;

type Created<T> = (StatusCode, Json<T>);

impl AppState {
    /// Runs a command for `signer`, if the core's rules let them issue it, once per idempotency
    /// key, storing the request's nonce with its effects; answers the type `T` the command answers.
    async fn exec<T: TryFrom<Reply, Error = Reply>>(
        &self,
        signer: Signer,
        idem: IdempotencyKey,
        command: Command,
    ) -> Result<T, ApiError> {
        ops::authorize(&signer.actor, &command)?;
        let key_id = signer.key_id;
        let idempotency = idem.key.map(|key| Idempotency { principal: key_id.to_string(), key });
        let nonce = idem.nonce.as_ref().and_then(NonceTicket::take);
        let result = self.engine.run(command, idempotency, nonce).await;
        if let (Err(EngineError::Overloaded | EngineError::Stopped), Some(ticket), Some(nonce)) =
            (&result, &idem.nonce, nonce)
        {
            // Not queued: the nonce goes back, for the middleware to store or refuse.
            ticket.give_back(nonce);
        }
        Ok(result?)
    }

    /// Answers a read-only question with the type `T` it answers.
    async fn ask<T: TryFrom<Answer, Error = Answer>>(&self, query: Query) -> Result<T, ApiError> {
        Ok(self.engine.ask(&query).await?)
    }

    /// The shape of a user's GET of the one entity its path names: the path's `id` (`404`
    /// naming `what` when malformed), then the question `question` makes of it for the caller.
    async fn ask_about<I: FromStr, T: TryFrom<Answer, Error = Answer>>(
        &self,
        caller: &UserCaller,
        (id, what): (&str, &str),
        question: impl FnOnce(UserId, I) -> Query,
    ) -> Result<Json<T>, ApiError> {
        let id = path_id(id, what)?;
        Ok(Json(self.ask(question(caller.user, id)).await?))
    }
}

/// A page's size and start, from its query: `limit` from 1 to `history_page_max` (100; default
/// `history_page_default`, 20), and `cursor`, the `next_cursor` of the page before — the id of
/// its last item, as an `I`.
fn page<I: FromStr>(app: &AppState, limit: Option<u32>, cursor: Option<&str>) -> Result<(u32, Option<I>), ApiError> {
    let max = app.engine.config().history_page_max;
    let limit = limit.unwrap_or(app.config.history_page_default.min(max));
    if limit < 1 || limit > max {
        return Err(ApiError::invalid(format!("limit must be between 1 and {max}")));
    }
    let before = cursor.map(|c| c.parse::<I>().map_err(|_| ApiError::invalid("cursor is not one we gave out")));
    Ok((limit, before.transpose()?))
}

/// A page's `next_cursor`: the id of its last item when the page is full (there may be more),
/// `None` when it is the last.
fn page_end<T>(items: &[T], limit: u32, id: impl Fn(&T) -> String) -> Option<String> {
    if items.len() == limit as usize { items.last().map(id) } else { None }
}

/// What a user's POST on the one entity its path names carries (`…/{packet_id}/claim`,
/// `…/{claim_id}/return`, …): the caller, the `Idempotency-Key`, the path's id as sent, and no
/// body; taken in that order, each refusal the one its own extractor gives.
#[derive(Debug)]
pub struct UserAction {
    caller: UserCaller,
    idem: IdempotencyKey,
    id: String,
}

impl FromRequest<AppState> for UserAction {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let caller = UserCaller::from_request_parts(&mut parts, state).await.map_err(IntoResponse::into_response)?;
        let idem = IdempotencyKey::from_request_parts(&mut parts, state).await.map_err(IntoResponse::into_response)?;
        let Path(id) =
            Path::<String>::from_request_parts(&mut parts, state).await.map_err(IntoResponse::into_response)?;
        NoBody::from_request(Request::from_parts(parts, body), state).await.map_err(IntoResponse::into_response)?;
        Ok(UserAction { caller, idem, id })
    }
}

impl UserAction {
    /// The command `act` makes of the path's id (`404` naming `what` when malformed) for the
    /// caller, run as [`AppState::exec`] runs it.
    async fn run<I: FromStr, T: TryFrom<Reply, Error = Reply>>(
        self,
        app: &AppState,
        what: &str,
        act: impl FnOnce(UserId, I) -> Command,
    ) -> Result<Json<T>, ApiError> {
        let id = path_id(&self.id, what)?;
        let answer = app.exec(self.caller.signer(), self.idem, act(self.caller.user, id)).await?;
        Ok(Json(answer))
    }
}

/// The `Idempotency-Key` header, shared by every POST.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyHeader {
    /// 1–255 printable ASCII. The same key and request again answers the first answer and does
    /// nothing else; the same key with another request is `422 idempotency_key_reused`. Kept
    /// at least 24 h.
    #[param(rename = "Idempotency-Key")]
    pub idempotency_key: Option<String>,
}
