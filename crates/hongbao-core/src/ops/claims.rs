//! Rules about the shares of a packet: claiming one, the sender revoking a pending claim, and
//! the claimant returning an arrived one.

use rand::CryptoRng;

use crate::error::CoreError;
use crate::event::{Event, EventKind};
use crate::id::{AccountId, ClaimId, PacketId, TransferId, UserId};
use crate::ledger::{Resolution, TransferKind};
use crate::packet::{Claim, ClaimReceipt, ClaimStatus, Packet, PacketStatus};
use crate::time::Timestamp;
use crate::world::{Draft, Fail, Refs};

use super::packets::reveal;
use super::reply::{ClaimDetail, Reply};
use super::shared::{packet, user, visible_packet};
use super::{Ctx, Decision, rules};

pub fn claim_packet<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, actor: UserId, id: PacketId) -> Decision {
    let (packet, group) = visible_packet(d.world(), actor, id)?;
    if !packet.may_claim(actor, group, ctx.limits) {
        return Err(CoreError::forbidden("the sender may not claim a share of this packet").into());
    }
    if d.world().claim_of(id, actor)?.is_some() {
        return Err(CoreError::AlreadyClaimed.into());
    }
    match packet.status_at(ctx.now) {
        PacketStatus::Active => {}
        PacketStatus::Exhausted => return Err(CoreError::PacketExhausted.into()),
        PacketStatus::Expired => return Err(CoreError::PacketExpired.into()),
        PacketStatus::Recalled => return Err(CoreError::PacketRecalled.into()),
        PacketStatus::Voided => return Err(CoreError::PacketVoided.into()),
    }
    let claimant = user(d, actor)?;
    claimant.ensure_may_pay()?;
    let anomaly = rules::anomaly_on_receipt(d, ctx, claimant)?;
    let seq = packet.claimed_count;
    let amount = *packet.shares.get(seq as usize).ok_or(CoreError::PacketExhausted)?;
    let claim_id = ClaimId::mint(ctx.mint_at, ctx.rng);
    let transfer_id = TransferId::mint(ctx.mint_at, ctx.rng);
    let (escrow, wallet) = (AccountId::escrow(id), AccountId::wallet(actor));
    let refs = Refs::claim(id, claim_id);
    let (status, arrives_at) = if packet.arrival_delay_s == 0 {
        d.post(transfer_id, escrow, wallet, amount, TransferKind::PacketClaim, refs, ctx.now)?;
        (ClaimStatus::Arrived, ctx.now)
    } else {
        let deadline = ctx.now.plus_seconds(packet.arrival_delay_s);
        d.pend(transfer_id, escrow, wallet, amount, TransferKind::PacketClaim, refs, ctx.now, deadline)?;
        (ClaimStatus::Pending, deadline)
    };
    let mut packet = packet.clone();
    packet.claimed_count += 1;
    packet.claimed_amount = packet.claimed_amount.checked_add(amount)?;
    let exhausted = packet.claimed_count == packet.count();
    if exhausted {
        packet.status = PacketStatus::Exhausted;
    }
    // Claiming means opening: a recipient who claimed has touched the packet.
    packet.touched |= actor != packet.sender;
    let claim = Claim {
        id: claim_id,
        packet_id: id,
        user_id: actor,
        seq,
        amount,
        claimed_at: ctx.now,
        status,
        arrives_at,
        transfer_id,
    };
    d.emit(Event { at: ctx.now, what: EventKind::PacketClaimed { packet_id: id, claim_id, user_id: actor, amount } });
    if exhausted {
        // After the last claim, so the log reads: commitment, every claim, then the reveal.
        reveal(d, &packet, ctx.now);
    }
    let receipt = ClaimReceipt::new(&claim, ctx.now);
    d.put_packet(packet);
    d.put_claim(claim);
    if let Some(detail) = anomaly {
        // After the share arrived, so the freeze holds it too.
        rules::anomaly(d, ctx, claimant.clone(), detail)?;
    }
    Ok(Reply::Claimed(receipt))
}

/// A claim and its packet, if `actor` is the one allowed to act on it; "forbidden" for the
/// other party of the claim and "not found" for everyone else.
pub fn claim_for<'w>(
    d: &Draft<'w>,
    actor: UserId,
    id: ClaimId,
    by_sender: bool,
) -> Result<(&'w Claim, &'w Packet), Fail> {
    let claim = d.world().claim(id)?.ok_or_else(|| CoreError::not_found("claim"))?;
    let packet = packet(d, claim.packet_id)?;
    let (allowed, other) = if by_sender { (packet.sender, claim.user_id) } else { (claim.user_id, packet.sender) };
    if actor == allowed {
        Ok((claim, packet))
    } else if actor == other {
        let who = if by_sender { "the packet's sender" } else { "the claimant" };
        Err(CoreError::forbidden(format!("only {who} may do this")).into())
    } else {
        Err(CoreError::not_found("claim").into())
    }
}

pub fn revoke_claim<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, actor: UserId, id: ClaimId) -> Decision {
    let (claim, packet) = claim_for(d, actor, id, true)?;
    if claim.status_at(ctx.now) != ClaimStatus::Pending {
        return Err(CoreError::NotPending.into());
    }
    resolve_share(d, ctx, claim, Resolution::Void)?;
    let refund_id = TransferId::mint(ctx.mint_at, ctx.rng);
    let (escrow, to) = (AccountId::escrow(packet.id), AccountId::wallet(packet.sender));
    d.post(refund_id, escrow, to, claim.amount, TransferKind::ClaimRevoke, Refs::claim(packet.id, id), ctx.now)?;
    let what = EventKind::ClaimRevoked { claim_id: id, amount: claim.amount };
    close_claim(d, claim.clone(), ClaimStatus::Revoked, what, ctx.now)
}

pub fn return_claim<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, actor: UserId, id: ClaimId) -> Decision {
    let (claim, packet) = claim_for(d, actor, id, false)?;
    if packet.sender == actor {
        return Err(CoreError::conflict("this share came from your own packet: there is nobody to return it to").into());
    }
    match claim.status_at(ctx.now) {
        ClaimStatus::Arrived => {}
        ClaimStatus::Pending => {
            return Err(CoreError::conflict(
                "this claim has not arrived yet; until then only its sender can revoke it",
            )
            .into());
        }
        ClaimStatus::Revoked | ClaimStatus::Returned => {
            return Err(CoreError::conflict(format!("this claim was already {}", claim.status.as_str())).into());
        }
    }
    user(d, actor)?.ensure_may_pay()?;
    // A share is given back whole, or through return requests (in parts): never both.
    let back = crate::returns::returned_of(d.world().returns_of(crate::case::Payment::Claim(id))?)?;
    if back.is_positive() {
        return Err(CoreError::InvalidState {
            reason: "returned".to_owned(),
            message: format!("{back} of this share came back through a return request: give the rest back that way"),
        }
        .into());
    }
    if claim.status == ClaimStatus::Pending {
        // Due but not yet posted by the background job: post it first, as the job would.
        resolve_share(d, ctx, claim, Resolution::Post)?;
        d.emit(Event { at: ctx.now, what: EventKind::ClaimArrived { claim_id: id } });
    }
    let transfer_id = TransferId::mint(ctx.mint_at, ctx.rng);
    let (from, to) = (AccountId::wallet(actor), AccountId::wallet(packet.sender));
    d.post(transfer_id, from, to, claim.amount, TransferKind::ClaimReturn, Refs::claim(packet.id, id), ctx.now)?;
    let what = EventKind::ClaimReturned { claim_id: id, amount: claim.amount };
    close_claim(d, claim.clone(), ClaimStatus::Returned, what, ctx.now)
}

/// Posts or voids the pending transfer that carries `claim`'s share.
fn resolve_share<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    claim: &Claim,
    resolution: Resolution,
) -> Result<(), Fail> {
    let pending = d.world().pending(claim.transfer_id)?.ok_or(CoreError::NotPending)?;
    let id = TransferId::mint(ctx.mint_at, ctx.rng);
    d.resolve(id, pending, resolution, ctx.now)?;
    Ok(())
}

/// Gives `claim` its final `status`, records `what` happened to it, and answers with it.
fn close_claim(d: &mut Draft<'_>, mut claim: Claim, status: ClaimStatus, what: EventKind, now: Timestamp) -> Decision {
    claim.status = status;
    d.emit(Event { at: now, what });
    let detail = ClaimDetail::new(&claim);
    d.put_claim(claim);
    Ok(Reply::Claim(detail))
}
