//! Rules of a red packet's life as its sender and viewers see it: sending (the split, the
//! escrow, the lucky commitment), opening, the recall policy and recalling, and the reveal of a
//! closed lucky packet's shares. Claims are in `claims.rs`, expiry in `jobs.rs`.

use rand::CryptoRng;

use crate::error::{CoreError, RecallRefusal};
use crate::event::{Event, EventKind};
use crate::fairness::{self, Salt};
use crate::id::{AccountId, GroupId, PacketId, TransferId, UserId};
use crate::ledger::{Account, AccountKind, TransferKind};
use crate::money::Fen;
use crate::packet::{Audience, Claim, DEFAULT_GREETING, Packet, PacketKind, PacketStatus, PacketView};
use crate::split;
use crate::time::Timestamp;
use crate::user::Group;
use crate::warning::RiskConfirmation;
use crate::world::{Draft, Fail, Key, Refs};

use super::command::PacketSpec;
use super::reply::{Recalled, Reply};
use super::shared::{check_delay, check_text, user, visible_packet};
use super::{Ctx, Decision, warnings};

/// A group the actor belongs to, or "not found".
pub fn member_group<'w>(d: &Draft<'w>, actor: UserId, id: GroupId) -> Result<&'w Group, Fail> {
    match d.world().group(id)? {
        Some(group) if group.has_member(actor) => Ok(group),
        _ => Err(CoreError::not_found("group").into()),
    }
}

pub fn check_group_count(group: &Group, count: u32) -> Result<(), Fail> {
    if count > group.size() {
        return Err(
            CoreError::invalid(format!("count ({count}) may not exceed the group's {} members", group.size())).into()
        );
    }
    Ok(())
}

/// How a packet is sent, besides what it is.
pub struct SendOptions<'a> {
    pub greeting: Option<&'a str>,
    pub arrival_delay_s: u32,
    /// For an exclusive packet whose recipient is rated `confirm`.
    pub confirmation: Option<RiskConfirmation>,
}

pub fn send_packet<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    actor: UserId,
    spec: &PacketSpec,
    options: &SendOptions<'_>,
) -> Decision {
    let SendOptions { greeting, arrival_delay_s, confirmation } = *options;
    let limits = ctx.limits;
    // Input first, so that bad input is reported as such whatever the state.
    match *spec {
        PacketSpec::Normal { count, amount_each, .. } => {
            split::split_normal(amount_each, count, limits)?;
        }
        PacketSpec::Lucky { count, total, .. } => split::check_lucky(total, count, limits)?,
        PacketSpec::Exclusive { recipient, amount } => {
            split::check_share(amount, limits)?;
            if recipient == actor {
                return Err(CoreError::invalid("an exclusive packet is for someone else, not its sender").into());
            }
        }
    }
    if let Some(greeting) = greeting {
        check_text("greeting", greeting, limits)?;
    }
    check_delay(arrival_delay_s, limits)?;

    user(d, actor)?.ensure_may_pay()?;
    let (audience, kind) = match *spec {
        PacketSpec::Normal { group_id, count, .. } => {
            check_group_count(member_group(d, actor, group_id)?, count)?;
            (Audience::Group(group_id), PacketKind::Normal)
        }
        PacketSpec::Lucky { group_id, count, .. } => {
            check_group_count(member_group(d, actor, group_id)?, count)?;
            (Audience::Group(group_id), PacketKind::Lucky)
        }
        PacketSpec::Exclusive { recipient, .. } => {
            if d.world().user(recipient)?.is_none() {
                return Err(CoreError::invalid(format!("unknown recipient {recipient}")).into());
            }
            (Audience::Recipient(recipient), PacketKind::Exclusive)
        }
    };
    // An exclusive packet pays one person: they are rated as a transfer's payee is.
    let (warnings, confirmed) = match *spec {
        PacketSpec::Exclusive { recipient, amount } => {
            let warnings = warnings::rate(d, ctx, actor, recipient, amount)?;
            if let Some(confirmation) = confirmation {
                d.world().need([Key::Packet(PacketId::from_uuid(confirmation.id))])?;
            }
            let taken = |d: &Draft<'_>, id| Ok(d.world().packet(PacketId::from_uuid(id))?.is_some());
            let confirmed = warnings::gate(d, ctx, (actor, recipient, amount), &warnings, confirmation, taken)?;
            (warnings, confirmed)
        }
        PacketSpec::Normal { .. } | PacketSpec::Lucky { .. } => (Vec::new(), None),
    };
    // Every read is done: from here on the command only writes.
    let shares = match *spec {
        PacketSpec::Normal { count, amount_each, .. } => split::split_normal(amount_each, count, limits)?,
        PacketSpec::Lucky { count, total, .. } => split::split_lucky(total, count, limits, ctx.rng)?,
        PacketSpec::Exclusive { amount, .. } => vec![amount],
    };
    let total = Fen::checked_sum(shares.iter().copied())?;
    let salt = (kind == PacketKind::Lucky).then(|| Salt::draw(ctx.rng));
    let packet_id = confirmed.map_or_else(|| PacketId::mint(ctx.mint_at, ctx.rng), PacketId::from_uuid);
    let escrow = AccountId::escrow(packet_id);
    d.open_account(Account::open(escrow, AccountKind::Escrow));
    let transfer_id = TransferId::mint(ctx.mint_at, ctx.rng);
    let from = AccountId::wallet(actor);
    d.post(transfer_id, from, escrow, total, TransferKind::PacketSend, Refs::packet(packet_id), ctx.now)?;
    let packet = Packet {
        id: packet_id,
        kind,
        sender: actor,
        audience,
        total,
        shares: shares.into(),
        greeting: greeting.unwrap_or(DEFAULT_GREETING).to_owned(),
        arrival_delay_s,
        created_at: ctx.now,
        expires_at: ctx.now.plus_seconds(limits.expiry_s),
        status: PacketStatus::Active,
        claimed_count: 0,
        claimed_amount: Fen::ZERO,
        touched: false,
        salt,
    };
    d.emit(Event {
        at: ctx.now,
        what: EventKind::PacketSent {
            packet_id,
            sender: actor,
            kind,
            count: packet.count(),
            total,
            commitment: salt.map(|salt| fairness::commitment(&salt, &packet.shares)),
        },
    });
    let view = PacketView { warnings, ..PacketView::new(&packet, &[], ctx.now)? };
    d.put_packet(packet);
    Ok(Reply::Packet(view))
}

pub fn open_packet<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, actor: UserId, id: PacketId) -> Decision {
    let (packet, _) = visible_packet(d.world(), actor, id)?;
    let claims: Vec<Claim> = d.world().claims_of(id)?.into_iter().cloned().collect();
    let mut packet = packet.clone();
    if actor != packet.sender && !packet.touched {
        packet.touched = true;
        d.emit(Event { at: ctx.now, what: EventKind::PacketOpened { packet_id: id, user_id: actor } });
        d.put_packet(packet.clone());
    }
    Ok(Reply::Packet(PacketView::new(&packet, &claims, ctx.now)?))
}

/// Publishes a closed lucky packet's salt and shares, so its commitment can be checked.
pub fn reveal(d: &mut Draft<'_>, packet: &Packet, now: Timestamp) {
    if let Some(salt) = packet.salt {
        let what = EventKind::LuckySharesRevealed { packet_id: packet.id, salt, shares: packet.shares.to_vec() };
        d.emit(Event { at: now, what });
    }
}

/// The first reason of the recall policy that applies at `now`, if any.
pub fn recall_refusal(packet: &Packet, now: Timestamp) -> Option<RecallRefusal> {
    if packet.status_at(now) != PacketStatus::Active {
        Some(RecallRefusal::NotActive)
    } else if packet.kind == PacketKind::Lucky {
        Some(RecallRefusal::LuckyPacket)
    } else if packet.claimed_count > 0 {
        Some(RecallRefusal::Claimed)
    } else if packet.touched {
        Some(RecallRefusal::Touched)
    } else {
        None
    }
}

pub fn recall_packet<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, actor: UserId, id: PacketId) -> Decision {
    let (packet, _) = visible_packet(d.world(), actor, id)?;
    if actor != packet.sender {
        return Err(CoreError::forbidden("only the sender may recall a packet").into());
    }
    if let Some(reason) = recall_refusal(packet, ctx.now) {
        return Err(CoreError::RecallNotAllowed { reason }.into());
    }
    let refunded = packet.unclaimed()?;
    let transfer_id = TransferId::mint(ctx.mint_at, ctx.rng);
    let to = AccountId::wallet(packet.sender);
    d.post(transfer_id, AccountId::escrow(id), to, refunded, TransferKind::PacketRecall, Refs::packet(id), ctx.now)?;
    let mut packet = packet.clone();
    packet.status = PacketStatus::Recalled;
    d.emit(Event { at: ctx.now, what: EventKind::PacketRecalled { packet_id: id, refunded } });
    d.put_packet(packet);
    Ok(Reply::Recalled(Recalled { packet_id: id, refunded, status: PacketStatus::Recalled }))
}
