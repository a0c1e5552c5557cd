//! Forced transfers with four eyes (see `crate::seizure`): proposing, approving (which re-checks
//! everything and moves the money in one transfer), rejecting, and the expiry of a proposal
//! nobody decided.

use rand::CryptoRng;

use crate::document::DocumentKind;
use crate::error::{CoreError, FreezeRefusal};
use crate::event::{Event, EventKind};
use crate::freeze::{Freeze, FreezeStatus};
use crate::id::{AccountId, DocumentId, FreezeId, KeyId, SeizureId, TransferId};
use crate::ledger::TransferKind;
use crate::money::Fen;
use crate::risk::FreezeKind;
use crate::seizure::{SEIZURE_APPROVAL_S, Seizure, SeizureStatus, SeizureTarget, SeizureView};
use crate::world::{Draft, Fail, Refs};

use super::freezes::{cited, refresh_holding};
use super::reply::Reply;
use super::shared::{check_reason, positive, user};
use super::{Ctx, Decision};

/// What a legal officer proposes.
pub struct Proposal<'a> {
    pub officer: KeyId,
    pub amount: Fen,
    pub to: SeizureTarget,
    pub reason: &'a str,
    pub documents: &'a [DocumentId],
}

fn invalid_state(reason: &str, message: String) -> Fail {
    CoreError::InvalidState { reason: reason.to_owned(), message }.into()
}

/// The freeze a proposal moves money of, active and of a court or police kind.
fn seizable(d: &Draft<'_>, id: FreezeId) -> Result<Freeze, Fail> {
    let freeze = d.freeze(id)?.ok_or_else(|| CoreError::not_found(format!("freeze {id}")))?;
    if !freeze.is_active() {
        let status = freeze.status.as_str();
        return Err(invalid_state(status, format!("freeze {id} is {status}: only an active freeze's money moves")));
    }
    if !matches!(freeze.kind, FreezeKind::Court | FreezeKind::Police) {
        let kind = freeze.kind.as_str();
        return Err(invalid_state(
            kind,
            format!("a {kind} freeze's money is not transferred: only a court's or police one"),
        ));
    }
    Ok(freeze)
}

fn view(d: &Draft<'_>, seizure: &Seizure) -> Result<SeizureView, Fail> {
    Ok(SeizureView::new(seizure, &cited(d, &seizure.documents)?))
}

pub fn propose<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, id: FreezeId, ask: &Proposal<'_>) -> Decision {
    check_reason(ask.reason, ctx.limits)?;
    positive(ask.amount, "amount")?;
    let freeze = seizable(d, id)?;
    let documents = cited(d, ask.documents)?;
    if !documents.iter().any(|doc| doc.kind == DocumentKind::TransferOrder) {
        return Err(CoreError::InvalidFreeze {
            reason: FreezeRefusal::DocumentRequired,
            message: "a forced transfer cites a registered transfer_order document ordering it".to_owned(),
        }
        .into());
    }
    if let SeizureTarget::User(to) = ask.to {
        if to == freeze.user_id {
            return Err(
                CoreError::invalid("a forced transfer goes to someone else than the user whose money it is").into()
            );
        }
        user(d, to)?;
    }
    if ask.amount > freeze.held {
        return Err(CoreError::InsufficientFunds { needed: ask.amount, available: freeze.held }.into());
    }
    if d.world().seizures_of(id)?.iter().any(|s| s.is_open_at(ctx.now)) {
        return Err(CoreError::conflict(format!("freeze {id} has a forced transfer awaiting approval already")).into());
    }
    let seizure = Seizure {
        id: SeizureId::mint(ctx.mint_at, ctx.rng),
        freeze_id: id,
        user_id: freeze.user_id,
        amount: ask.amount,
        to: ask.to,
        reason: ask.reason.to_owned(),
        documents: ask.documents.to_vec(),
        status: SeizureStatus::AwaitingApproval,
        proposed_by: ask.officer,
        proposed_at: ctx.now,
        expires_at: ctx.now.plus_seconds(SEIZURE_APPROVAL_S),
        decided_by: None,
        decided_at: None,
        transfer_id: None,
        rejection: None,
    };
    d.emit(Event {
        at: ctx.now,
        what: EventKind::SeizureProposed {
            seizure_id: seizure.id,
            freeze_id: id,
            amount: ask.amount,
            to: ask.to,
            documents: documents.iter().map(|doc| doc.commitment()).collect(),
            actor: ask.officer,
        },
    });
    let answer = SeizureView::new(&seizure, &documents);
    d.put_seizure(seizure);
    Ok(Reply::Seizure(answer))
}

/// The proposal `id`, still awaiting a decision at `now`.
fn open(d: &Draft<'_>, id: SeizureId, now: crate::time::Timestamp) -> Result<Seizure, Fail> {
    let seizure = d.world().seizure(id)?.ok_or_else(|| CoreError::not_found(format!("forced transfer {id}")))?.clone();
    if seizure.status != SeizureStatus::AwaitingApproval {
        let status = seizure.status.as_str();
        return Err(invalid_state(status, format!("forced transfer {id} is {status} already")));
    }
    if now >= seizure.expires_at {
        return Err(invalid_state(
            "expired",
            format!("forced transfer {id} expired at {} unapproved", seizure.expires_at),
        ));
    }
    Ok(seizure)
}

/// Approves and executes: a different legal officer, everything checked again at this moment.
pub fn approve<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, officer: KeyId, id: SeizureId) -> Decision {
    let mut seizure = open(d, id, ctx.now)?;
    if seizure.proposed_by == officer {
        return Err(CoreError::FourEyes.into());
    }
    let mut freeze = seizable(d, seizure.freeze_id)?;
    if seizure.amount > freeze.held {
        return Err(CoreError::InsufficientFunds { needed: seizure.amount, available: freeze.held }.into());
    }
    if let SeizureTarget::User(to) = seizure.to {
        user(d, to)?;
    }
    let (from, amount) = (AccountId::wallet(freeze.user_id), seizure.amount);
    let to = match seizure.to {
        SeizureTarget::User(user) => AccountId::wallet(user),
        SeizureTarget::External => AccountId::EXTERNAL,
    };
    // Only frozen money moves: it is let go and taken in the same command.
    d.account(from)?.unfreeze(amount)?;
    let transfer_id = TransferId::mint(ctx.mint_at, ctx.rng);
    let refs = Refs { note: Some(format!("forced transfer {id}")), ..Refs::default() };
    d.post(transfer_id, from, to, amount, TransferKind::Seizure, refs, ctx.now)?;
    freeze.held = freeze.held.checked_sub(amount)?;
    freeze.tally.seized = freeze.tally.seized.checked_add(amount)?;
    if freeze.held.is_positive() {
        // What the order moved is no longer to be held: the freeze keeps the rest of its amount.
        freeze.amount = freeze.amount.map(|target| target.checked_sub(amount).unwrap_or(Fen::ZERO).max(freeze.held));
    } else {
        freeze.status = FreezeStatus::Seized;
        freeze.ended_at = Some(ctx.now);
    }
    seizure.status = SeizureStatus::Executed;
    seizure.decided_by = Some(officer);
    seizure.decided_at = Some(ctx.now);
    seizure.transfer_id = Some(transfer_id);
    d.emit(Event {
        at: ctx.now,
        what: EventKind::SeizureExecuted {
            seizure_id: id,
            freeze_id: freeze.id,
            amount,
            transfer_id,
            proposed_by: seizure.proposed_by,
            approved_by: officer,
        },
    });
    refresh_holding(d, freeze.user_id, &freeze)?;
    d.put_freeze(freeze);
    let answer = view(d, &seizure)?;
    d.put_seizure(seizure);
    Ok(Reply::Seizure(answer))
}

pub fn reject<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    (officer, reason): (KeyId, &str),
    id: SeizureId,
) -> Decision {
    check_reason(reason, ctx.limits)?;
    let mut seizure = open(d, id, ctx.now)?;
    seizure.status = SeizureStatus::Rejected;
    seizure.decided_by = Some(officer);
    seizure.decided_at = Some(ctx.now);
    seizure.rejection = Some(reason.to_owned());
    d.emit(Event {
        at: ctx.now,
        what: EventKind::SeizureRejected { seizure_id: id, actor: officer, reason: reason.to_owned() },
    });
    let answer = view(d, &seizure)?;
    d.put_seizure(seizure);
    Ok(Reply::Seizure(answer))
}

/// Background: a proposal still undecided at the end of its window expires, once.
pub fn expire<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, id: SeizureId) -> Decision {
    let Some(seizure) = d.world().seizure(id)? else { return Ok(Reply::Settled { changed: false }) };
    if seizure.status != SeizureStatus::AwaitingApproval || ctx.now < seizure.expires_at {
        return Ok(Reply::Settled { changed: false });
    }
    let mut seizure = seizure.clone();
    seizure.status = SeizureStatus::Expired;
    seizure.decided_at = Some(ctx.now);
    d.emit(Event { at: ctx.now, what: EventKind::SeizureExpired { seizure_id: id } });
    d.put_seizure(seizure);
    Ok(Reply::Settled { changed: true })
}
