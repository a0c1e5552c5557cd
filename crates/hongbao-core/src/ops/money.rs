//! Rules that move a user's money in and out and between users: deposits, withdrawals,
//! user-to-user transfers (at once or with a delayed arrival) and revoking a pending transfer.

use rand::CryptoRng;

use crate::error::CoreError;
use crate::event::{Event, EventKind};
use crate::id::{AccountId, TransferId, UserId};
use crate::ledger::{Resolution, TransferKind};
use crate::money::Fen;
use crate::warning::RiskConfirmation;
use crate::world::{Draft, Key, Refs};

use super::reply::{Moved, Reply, TransferReceipt, TransferStatus};
use super::shared::{check_delay, check_text, positive, user, wallet_balance};
use super::{Ctx, Decision, rules, warnings};

pub fn deposit<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, to: UserId, amount: Fen) -> Decision {
    positive(amount, "amount")?;
    let max = ctx.limits.deposit_max_fen;
    if amount.get() > max {
        return Err(CoreError::invalid(format!("a deposit may be at most {max} fen")).into());
    }
    user(d, to)?;
    let id = TransferId::mint(ctx.mint_at, ctx.rng);
    d.post(id, AccountId::EXTERNAL, AccountId::wallet(to), amount, TransferKind::Deposit, Refs::default(), ctx.now)?;
    Ok(Reply::Moved(Moved { transfer_id: id, balance: wallet_balance(d, to)? }))
}

pub fn withdraw<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, actor: UserId, amount: Fen) -> Decision {
    positive(amount, "amount")?;
    user(d, actor)?.ensure_may_pay()?;
    // Money fanned in and taken out opens a case for review; the withdrawal goes ahead. Only a
    // withdrawal that can succeed counts.
    let available = d.world().account(AccountId::wallet(actor))?.map(|a| a.available()).transpose()?;
    if available.is_some_and(|available| available >= amount) {
        rules::aml_fan_in(d, ctx, actor, amount)?;
    }
    let id = TransferId::mint(ctx.mint_at, ctx.rng);
    let from = AccountId::wallet(actor);
    d.post(id, from, AccountId::EXTERNAL, amount, TransferKind::Withdrawal, Refs::default(), ctx.now)?;
    Ok(Reply::Moved(Moved { transfer_id: id, balance: wallet_balance(d, actor)? }))
}

/// A user-to-user transfer as asked.
pub struct TransferAsk<'a> {
    pub actor: UserId,
    pub to: UserId,
    pub amount: Fen,
    pub note: Option<&'a str>,
    pub arrival_delay_s: u32,
    pub confirmation: Option<RiskConfirmation>,
}

pub fn transfer<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, ask: &TransferAsk<'_>) -> Decision {
    let TransferAsk { actor, to, amount, note, arrival_delay_s, confirmation } = *ask;
    positive(amount, "amount")?;
    if to == actor {
        return Err(CoreError::invalid("you cannot transfer money to yourself").into());
    }
    if let Some(note) = note {
        check_text("note", note, ctx.limits)?;
    }
    check_delay(arrival_delay_s, ctx.limits)?;
    user(d, actor)?.ensure_may_pay()?;
    let Some(payee) = d.world().user(to)? else {
        return Err(CoreError::invalid(format!("unknown recipient {to}")).into());
    };
    let warnings = warnings::rate(d, ctx, actor, to, amount)?;
    let anomaly = rules::anomaly_on_receipt(d, ctx, payee)?;
    if let Some(confirmation) = confirmation {
        d.world().need([Key::Transfer(TransferId::from_uuid(confirmation.id))])?;
    }
    let taken = |d: &Draft<'_>, id| Ok(d.world().transfer(TransferId::from_uuid(id))?.is_some());
    let confirmed = warnings::gate(d, ctx, (actor, to, amount), &warnings, confirmation, taken)?;
    let id = confirmed.map_or_else(|| TransferId::mint(ctx.mint_at, ctx.rng), TransferId::from_uuid);
    let (from, to) = (AccountId::wallet(actor), AccountId::wallet(to));
    let refs = Refs { note: note.map(str::to_owned), ..Refs::default() };
    let (status, arrives_at) = if arrival_delay_s == 0 {
        d.post(id, from, to, amount, TransferKind::Transfer, refs, ctx.now)?;
        (TransferStatus::Arrived, ctx.now)
    } else {
        let deadline = ctx.now.plus_seconds(arrival_delay_s);
        d.pend(id, from, to, amount, TransferKind::Transfer, refs, ctx.now, deadline)?;
        (TransferStatus::Pending, deadline)
    };
    if let Some(detail) = anomaly {
        // After the money arrived, so the freeze holds it too.
        rules::anomaly(d, ctx, payee.clone(), detail)?;
    }
    Ok(Reply::Transfer(TransferReceipt { transfer_id: id, status, arrives_at, warnings }))
}

pub fn revoke_transfer<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    actor: UserId,
    id: TransferId,
) -> Decision {
    let world = d.world();
    let original = world.transfer(id)?.filter(|t| t.kind == TransferKind::Transfer && t.phase.is_original());
    let Some(original) = original else {
        return Err(CoreError::not_found("transfer").into());
    };
    if original.debit != AccountId::wallet(actor) {
        if original.credit == AccountId::wallet(actor) {
            return Err(CoreError::forbidden("only the sender may revoke a transfer").into());
        }
        return Err(CoreError::not_found("transfer").into());
    }
    let pending = world.pending(id)?.filter(|p| p.is_open_at(ctx.now)).ok_or(CoreError::NotPending)?;
    let void_id = TransferId::mint(ctx.mint_at, ctx.rng);
    d.resolve(void_id, pending, Resolution::Void, ctx.now)?;
    d.emit(Event { at: ctx.now, what: EventKind::TransferRevoked { transfer_id: id } });
    Ok(Reply::Transfer(TransferReceipt {
        transfer_id: id,
        status: TransferStatus::Revoked,
        arrives_at: pending.deadline(),
        warnings: Vec::new(),
    }))
}
