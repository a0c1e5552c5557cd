//! Look-ups and input checks that rules of several areas share: a positive amount, a name-like
//! text, an allowed arrival delay, the user, packet or visible packet a command names.

use crate::config::Limits;
use crate::error::CoreError;
use crate::id::{AccountId, PacketId, UserId};
use crate::money::Fen;
use crate::packet::Packet;
use crate::user::{Group, User};
use crate::world::{Draft, Fail, World};

pub fn positive(amount: Fen, what: &str) -> Result<Fen, Fail> {
    if amount.is_positive() {
        Ok(amount)
    } else {
        Err(CoreError::invalid(format!("{what} must be at least 1 fen")).into())
    }
}

pub fn user<'w>(d: &Draft<'w>, id: UserId) -> Result<&'w User, Fail> {
    Ok(d.world().user(id)?.ok_or_else(|| CoreError::not_found("user"))?)
}

pub fn packet<'w>(d: &Draft<'w>, id: PacketId) -> Result<&'w Packet, Fail> {
    Ok(d.world().packet(id)?.ok_or_else(|| CoreError::not_found("packet"))?)
}

/// The packet and its group, if `actor` may see it; otherwise "not found", never "forbidden",
/// so that packet ids cannot be probed.
pub(crate) fn visible_packet(world: &World, actor: UserId, id: PacketId) -> Result<(&Packet, Option<&Group>), Fail> {
    let packet = world.packet(id)?.ok_or_else(|| CoreError::not_found("packet"))?;
    let group = match packet.group() {
        Some(group) => world.group(group)?,
        None => None,
    };
    if !packet.visible_to(actor, group) {
        return Err(CoreError::not_found("packet").into());
    }
    Ok((packet, group))
}

pub fn check_text(field: &str, text: &str, limits: &Limits) -> Result<(), Fail> {
    let max = limits.greeting_chars_max;
    if text.chars().count() > max as usize {
        return Err(CoreError::invalid(format!("{field} must be at most {max} characters")).into());
    }
    if let Some(hidden) = crate::text::first_hidden(text) {
        return Err(CoreError::invalid(format!(
            "{field} must not contain control, invisible or bidirectional-override characters ({hidden})"
        ))
        .into());
    }
    Ok(())
}

/// An operator's `reason`: 1 to `reason_chars_max` characters, not blank, nothing hidden.
pub fn check_reason(reason: &str, limits: &Limits) -> Result<(), Fail> {
    Ok(crate::user::check_name("reason", reason, limits.reason_chars_max)?)
}

pub fn check_delay(delay_s: u32, limits: &Limits) -> Result<(), Fail> {
    if !limits.arrival_delays_s.contains(&delay_s) {
        let allowed: Vec<String> = limits.arrival_delays_s.iter().map(u32::to_string).collect();
        return Err(CoreError::invalid(format!("arrival_delay_seconds must be one of {}", allowed.join(", "))).into());
    }
    Ok(())
}

pub fn wallet_balance(d: &mut Draft<'_>, user: UserId) -> Result<Fen, Fail> {
    Ok(d.account(AccountId::wallet(user))?.balance()?)
}
