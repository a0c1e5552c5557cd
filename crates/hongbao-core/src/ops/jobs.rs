//! Due work the service does by itself: refunding a packet whose expiry has passed and posting
//! a pending transfer whose arrival time has come. Each re-checks the state it acts on, so
//! running one twice, or after a person's command got there first, changes nothing.

use rand::CryptoRng;

use crate::error::CoreError;
use crate::event::{Event, EventKind};
use crate::id::{AccountId, PacketId, TransferId};
use crate::ledger::{PendingStatus, Resolution, TransferKind};
use crate::packet::{Claim, ClaimStatus, PacketStatus};
use crate::world::{Draft, Refs};

use super::packets::reveal;
use super::reply::Reply;
use super::{Ctx, Decision};

pub fn expire_packet<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, id: PacketId) -> Decision {
    let Some(packet) = d.world().packet(id)? else {
        return Ok(Reply::Settled { changed: false });
    };
    if packet.status != PacketStatus::Active || ctx.now < packet.expires_at {
        return Ok(Reply::Settled { changed: false });
    }
    let refunded = packet.unclaimed()?;
    if refunded.is_positive() {
        let transfer_id = TransferId::mint(ctx.mint_at, ctx.rng);
        let to = AccountId::wallet(packet.sender);
        d.post(
            transfer_id,
            AccountId::escrow(id),
            to,
            refunded,
            TransferKind::PacketRefund,
            Refs::packet(id),
            ctx.now,
        )?;
    }
    let mut packet = packet.clone();
    packet.status = PacketStatus::Expired;
    d.emit(Event { at: ctx.now, what: EventKind::PacketExpired { packet_id: id, refunded } });
    reveal(d, &packet, ctx.now);
    d.put_packet(packet);
    Ok(Reply::Settled { changed: true })
}

pub fn settle_pending<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, id: TransferId) -> Decision {
    let world = d.world();
    let Some(pending) = world.pending(id)? else {
        return Ok(Reply::Settled { changed: false });
    };
    if pending.status != PendingStatus::Pending || ctx.now < pending.deadline() {
        return Ok(Reply::Settled { changed: false });
    }
    let claim = match pending.transfer.claim_id {
        Some(claim_id) => Some(world.claim(claim_id)?.ok_or_else(|| CoreError::not_found("claim"))?),
        None => None,
    };
    let post_id = TransferId::mint(ctx.mint_at, ctx.rng);
    d.resolve(post_id, pending, Resolution::Post, ctx.now)?;
    match claim {
        Some(claim) => {
            let mut claim: Claim = claim.clone();
            claim.status = ClaimStatus::Arrived;
            d.emit(Event { at: ctx.now, what: EventKind::ClaimArrived { claim_id: claim.id } });
            d.put_claim(claim);
        }
        None => d.emit(Event { at: ctx.now, what: EventKind::TransferArrived { transfer_id: id } }),
    }
    Ok(Reply::Settled { changed: true })
}
