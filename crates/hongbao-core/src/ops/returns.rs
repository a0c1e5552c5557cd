//! Return requests (协商退还): opening one, and what the payee, the payer and the mediator may
//! do with it; the expiry the jobs run. Nothing here moves money without the payee's word, and
//! what moves goes back to the original payer only (see `crate::returns`).

use rand::CryptoRng;

use crate::case::{Payment, check_prose};
use crate::error::CoreError;
use crate::event::{Event, EventKind};
use crate::id::{AccountId, ReturnRequestId, TransferId, UserId};
use crate::ledger::{PendingStatus, Phase, TransferKind};
use crate::money::Fen;
use crate::packet::ClaimStatus;
use crate::returns::{
    RETURN_NOTES_MAX, RETURNS_PER_TARGET_MAX, ReturnNote, ReturnRequest, ReturnRole, ReturnStatus, returned_of,
};
use crate::world::{Draft, Fail, Key, Refs};

use super::reply::Reply;
use super::shared::user;
use super::{Ctx, Decision, jobs};

/// What a payer asks.
pub struct Asking<'a> {
    pub payer: UserId,
    pub target: Payment,
    pub amount: Option<Fen>,
    pub message: &'a str,
    pub mediator: Option<UserId>,
}

/// A payment as a return request sees it: who paid whom how much, and whether it has arrived.
struct Paid {
    /// The claim, for a claim cited by its transfer's id.
    target: Payment,
    payer: UserId,
    payee: UserId,
    amount: Fen,
    /// The pending transfer that still carries it, if it has not been posted yet.
    pending: Option<TransferId>,
    refs: Refs,
}

pub fn open<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, ask: &Asking<'_>) -> Decision {
    check_prose("message", ask.message)?;
    if ask.amount.is_some_and(|a| !a.is_positive()) {
        return Err(CoreError::invalid("amount must be at least 1 fen").into());
    }
    let paid = paid(d, ask.payer, ask.target)?;
    let arrived = ensure_arrived(d, ctx, &paid)?;
    if !arrived {
        return Err(CoreError::InvalidState {
            reason: "pending".to_owned(),
            message: "this payment has not arrived yet: revoke it instead of asking for it back".to_owned(),
        }
        .into());
    }
    if let Some(mediator) = ask.mediator {
        if mediator == paid.payer || mediator == paid.payee {
            return Err(CoreError::invalid("the mediator is a third person, neither payer nor payee").into());
        }
        if d.world().user(mediator)?.is_none() {
            return Err(CoreError::invalid(format!("unknown mediator {mediator}")).into());
        }
        let world = d.world();
        world.need([Key::SharesGroup(mediator, paid.payer), Key::SharesGroup(mediator, paid.payee)])?;
        if !(world.shares_group(mediator, paid.payer)? && world.shares_group(mediator, paid.payee)?) {
            return Err(CoreError::invalid("the mediator must share a group with both of you (a common friend)").into());
        }
    }
    let earlier = d.world().returns_of(paid.target)?;
    if let Some(open) = earlier.iter().find(|r| r.is_open()) {
        return Err(CoreError::conflict(format!(
            "a return request for this payment is open already: {}; one at a time",
            open.id
        ))
        .into());
    }
    if earlier.len() >= RETURNS_PER_TARGET_MAX {
        return Err(CoreError::conflict(format!(
            "this payment has had {RETURNS_PER_TARGET_MAX} return requests, the most it may have"
        ))
        .into());
    }
    let left = returnable(&paid, &earlier)?;
    if !left.is_positive() {
        return Err(CoreError::InvalidState {
            reason: "returned".to_owned(),
            message: "all of this payment has come back already".to_owned(),
        }
        .into());
    }
    let amount = ask.amount.unwrap_or(left);
    if amount > left {
        return Err(CoreError::invalid(format!("at most {left} of this payment can still be asked back")).into());
    }
    let request = ReturnRequest {
        id: ReturnRequestId::mint(ctx.mint_at, ctx.rng),
        target: paid.target,
        payer: paid.payer,
        payee: paid.payee,
        amount,
        message: ask.message.to_owned(),
        mediator: ask.mediator,
        status: ReturnStatus::Open,
        notes: Vec::new(),
        decline_message: None,
        return_transfer_id: None,
        created_at: ctx.now,
        expires_at: ctx.now.plus_seconds(ctx.limits.returns.request_open_s),
        closed_at: None,
    };
    d.emit(Event {
        at: ctx.now,
        what: EventKind::ReturnRequested {
            request_id: request.id,
            target: request.target,
            payer: request.payer,
            payee: request.payee,
            amount,
            mediator: request.mediator,
        },
    });
    d.put_return_request(request.clone());
    Ok(Reply::ReturnRequest(request))
}

/// The payee gives the money back, at once, to the original payer's wallet.
pub fn accept<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, actor: UserId, id: ReturnRequestId) -> Decision {
    let request = open_request(d, ctx, actor, id, &[ReturnRole::Payee], "accept")?;
    let paid = paid(d, request.payer, request.target)?;
    user(d, actor)?.ensure_may_pay()?;
    let others: Vec<&ReturnRequest> =
        d.world().returns_of(request.target)?.into_iter().filter(|r| r.id != id).collect();
    let left = returnable(&paid, &others)?;
    if request.amount > left {
        return Err(CoreError::InvalidState {
            reason: "returned".to_owned(),
            message: format!("only {left} of this payment has not come back, less than the {} asked", request.amount),
        }
        .into());
    }
    ensure_arrived(d, ctx, &paid)?;
    let transfer_id = TransferId::mint(ctx.mint_at, ctx.rng);
    let (from, to) = (AccountId::wallet(paid.payee), AccountId::wallet(paid.payer));
    d.post(transfer_id, from, to, request.amount, TransferKind::Return, paid.refs.clone(), ctx.now)?;
    let mut request = request;
    request.status = ReturnStatus::Accepted;
    request.return_transfer_id = Some(transfer_id);
    request.closed_at = Some(ctx.now);
    d.emit(Event {
        at: ctx.now,
        what: EventKind::ReturnAccepted { request_id: id, amount: request.amount, transfer_id },
    });
    d.put_return_request(request.clone());
    Ok(Reply::ReturnRequest(request))
}

pub fn decline<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    actor: UserId,
    id: ReturnRequestId,
    message: &str,
) -> Decision {
    check_prose("message", message)?;
    let mut request = open_request(d, ctx, actor, id, &[ReturnRole::Payee], "decline")?;
    request.decline_message = Some(message.to_owned());
    close(d, ctx, request, ReturnStatus::Declined, EventKind::ReturnDeclined { request_id: id })
}

pub fn withdraw<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, actor: UserId, id: ReturnRequestId) -> Decision {
    let request = open_request(d, ctx, actor, id, &[ReturnRole::Payer], "withdraw")?;
    close(d, ctx, request, ReturnStatus::Withdrawn, EventKind::ReturnWithdrawn { request_id: id })
}

/// A note by the payer, the payee or the mediator, while the request is open.
pub fn note<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    actor: UserId,
    id: ReturnRequestId,
    text: &str,
) -> Decision {
    check_prose("text", text)?;
    let all = [ReturnRole::Payer, ReturnRole::Payee, ReturnRole::Mediator];
    let mut request = open_request(d, ctx, actor, id, &all, "add a note to")?;
    if request.notes.len() >= RETURN_NOTES_MAX {
        return Err(CoreError::conflict(format!("a return request keeps at most {RETURN_NOTES_MAX} notes")).into());
    }
    request.notes.push(ReturnNote { by: actor, at: ctx.now, text: text.to_owned() });
    d.emit(Event { at: ctx.now, what: EventKind::ReturnNoted { request_id: id, by: actor } });
    d.put_return_request(request.clone());
    Ok(Reply::ReturnRequest(request))
}

/// Background: a request still open at the end of its window expires, once.
pub fn expire<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, id: ReturnRequestId) -> Decision {
    let Some(request) = d.world().return_request(id)? else { return Ok(Reply::Settled { changed: false }) };
    if !request.is_open() || ctx.now < request.expires_at {
        return Ok(Reply::Settled { changed: false });
    }
    close(d, ctx, request.clone(), ReturnStatus::Expired, EventKind::ReturnExpired { request_id: id })?;
    Ok(Reply::Settled { changed: true })
}

fn close<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    mut request: ReturnRequest,
    status: ReturnStatus,
    what: EventKind,
) -> Decision {
    // An expiry closed the request at the end of its window, whenever the job ran: what its
    // view showed from that instant on (`ReturnRequest::as_of`).
    let closed_at = if status == ReturnStatus::Expired { request.expires_at } else { ctx.now };
    request.status = status;
    request.closed_at = Some(closed_at);
    d.emit(Event { at: ctx.now, what });
    d.put_return_request(request.clone());
    Ok(Reply::ReturnRequest(request))
}

/// The request `id`, open, for `actor` acting in one of the `roles`. Someone who is no party to
/// it is told it does not exist; a party in another role, that it is not theirs to do.
fn open_request<R: CryptoRng>(
    d: &Draft<'_>,
    ctx: &Ctx<'_, R>,
    actor: UserId,
    id: ReturnRequestId,
    roles: &[ReturnRole],
    doing: &str,
) -> Result<ReturnRequest, Fail> {
    let request = d.world().return_request(id)?.ok_or_else(|| CoreError::not_found("return request"))?;
    let Some(role) = request.role_of(actor) else {
        return Err(CoreError::not_found("return request").into());
    };
    if !roles.contains(&role) {
        let who: Vec<String> = roles.iter().map(|r| format!("the {}", r.as_str())).collect();
        return Err(CoreError::forbidden(format!("only {} may {doing} a return request", who.join(" or "))).into());
    }
    let expired = request.is_open() && ctx.now >= request.expires_at;
    if !request.is_open() || expired {
        let status = if expired { ReturnStatus::Expired } else { request.status };
        return Err(CoreError::InvalidState {
            reason: status.as_str().to_owned(),
            message: format!("this return request is {}", status.as_str()),
        }
        .into());
    }
    Ok(request.clone())
}

/// What of `paid` has not come back through `requests` (the other requests of its target).
fn returnable(paid: &Paid, requests: &[&ReturnRequest]) -> Result<Fen, Fail> {
    let back = returned_of(requests.iter().copied())?;
    Ok(paid.amount.checked_sub(back)?.max(Fen::ZERO))
}

/// Posts `paid` if it is due but the job has not posted it yet; answers whether it has arrived.
fn ensure_arrived<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, paid: &Paid) -> Result<bool, Fail> {
    let Some(pending) = paid.pending else { return Ok(true) };
    let changed = jobs::settle_pending(d, ctx, pending)?;
    Ok(matches!(changed, Reply::Settled { changed: true }))
}

/// The payment `target`, checked to be money `payer` paid someone else that has not been
/// revoked or returned whole. Anything else is "not found" alike, so payments cannot be probed.
fn paid(d: &Draft<'_>, payer: UserId, target: Payment) -> Result<Paid, Fail> {
    let world = d.world();
    let missing = || -> Fail { CoreError::not_found("payment of yours").into() };
    let target = match target {
        Payment::Transfer(id) => {
            world.need([Key::Transfer(id)])?;
            let transfer = world.transfer(id)?.ok_or_else(missing)?;
            match (transfer.kind, transfer.claim_id) {
                (TransferKind::PacketClaim, Some(claim)) if transfer.phase.is_original() => Payment::Claim(claim),
                (TransferKind::Transfer, _) if transfer.phase.is_original() => Payment::Transfer(id),
                _ => return Err(missing()),
            }
        }
        claim @ Payment::Claim(_) => claim,
    };
    match target {
        Payment::Transfer(id) => {
            let transfer = world.transfer(id)?.ok_or_else(missing)?;
            if transfer.debit != AccountId::wallet(payer) {
                return Err(missing());
            }
            // A user's transfer is credited to a wallet, which shares its owner's id.
            let payee = UserId::from_uuid(transfer.credit.uuid());
            let pending = match transfer.phase {
                Phase::Pending { .. } => {
                    world.need([Key::Pending(id)])?;
                    match world.pending(id)?.ok_or_else(missing)?.status {
                        PendingStatus::Pending => Some(id),
                        PendingStatus::Posted => None,
                        PendingStatus::Voided => return Err(missing()),
                    }
                }
                _ => None,
            };
            Ok(Paid { target, payer, payee, amount: transfer.amount, pending, refs: Refs::default() })
        }
        Payment::Claim(id) => {
            world.need([Key::Claim(id)])?;
            let claim = world.claim(id)?.ok_or_else(missing)?;
            world.need([Key::Packet(claim.packet_id)])?;
            let packet = world.packet(claim.packet_id)?.ok_or_else(missing)?;
            if packet.sender != payer || claim.user_id == payer {
                return Err(missing());
            }
            let pending = match claim.status {
                ClaimStatus::Arrived => None,
                ClaimStatus::Pending => Some(claim.transfer_id),
                ClaimStatus::Revoked => return Err(missing()),
                ClaimStatus::Returned => {
                    return Err(CoreError::InvalidState {
                        reason: "returned".to_owned(),
                        message: "this share was given back already".to_owned(),
                    }
                    .into());
                }
            };
            let refs = Refs::claim(packet.id, id);
            Ok(Paid { target, payer, payee: claim.user_id, amount: claim.amount, pending, refs })
        }
    }
}
