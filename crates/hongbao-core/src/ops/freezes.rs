//! Freezes: placing one under its kind's documents and term, releasing it, its expiry, and the
//! top-up that makes a short freeze hold what arrives later (see `crate::freeze`).

use rand::CryptoRng;
use serde::{Deserialize, Serialize};

use crate::document::Document;
use crate::error::{CoreError, FreezeRefusal};
use crate::event::{Event, EventKind};
use crate::freeze::{
    FREEZE_DOCUMENTS_MAX, Freeze, FreezeStatus, FreezeTally, FreezeView, missing_documents, required_documents,
};
use crate::id::{AccountId, DocumentId, FreezeId, KeyId, UserId};
use crate::money::Fen;
use crate::risk::FreezeKind;
use crate::time::Timestamp;
use crate::world::{Draft, Fail};

use super::reply::Reply;
use super::shared::{check_reason, positive, user};
use super::{Ctx, Decision};

/// What an officer asks for when placing a freeze.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreezeSpec {
    pub user: UserId,
    pub kind: FreezeKind,
    /// `None`: the whole wallet.
    pub amount: Option<Fen>,
    pub reason: String,
    pub documents: Vec<DocumentId>,
    /// `None`: the longest term of the kind.
    pub expires_at: Option<Timestamp>,
    pub major_case: bool,
}

/// The documents `ids` name, all loaded at once, in order; refused when one does not exist.
pub(super) fn cited<'w>(d: &Draft<'w>, ids: &[DocumentId]) -> Result<Vec<&'w Document>, Fail> {
    if ids.len() > FREEZE_DOCUMENTS_MAX {
        return Err(CoreError::invalid(format!("at most {FREEZE_DOCUMENTS_MAX} documents are cited at once")).into());
    }
    d.world().documents_named(ids)
}

/// That `freeze` may cite `more` documents besides its own.
fn room_for(freeze: &Freeze, more: usize) -> Result<(), Fail> {
    if freeze.documents.len() + more > FREEZE_DOCUMENTS_MAX {
        return Err(CoreError::invalid(format!("a freeze cites at most {FREEZE_DOCUMENTS_MAX} documents")).into());
    }
    Ok(())
}

fn document_required(message: String) -> Fail {
    CoreError::InvalidFreeze { reason: FreezeRefusal::DocumentRequired, message }.into()
}

/// The commitments of `documents`, as a freeze's log entry carries them.
fn commitments(documents: &[&Document]) -> Vec<String> {
    documents.iter().map(|d| d.commitment()).collect()
}

/// When a freeze of `kind` placed now ends: `asked`, or the kind's longest term.
pub(super) fn end_of_term<R>(
    ctx: &Ctx<'_, R>,
    kind: FreezeKind,
    major_case: bool,
    asked: Option<Timestamp>,
) -> Result<Option<Timestamp>, Fail> {
    let Some(longest) = ctx.limits.risk.freezes.of(kind).longest_s(major_case) else {
        return match asked {
            None => Ok(None),
            Some(_) => Err(CoreError::invalid(format!(
                "a {} freeze has no end of its own: leave out expires_at",
                kind.as_str()
            ))
            .into()),
        };
    };
    let latest = ctx.now.plus_seconds(longest);
    match asked {
        None => Ok(Some(latest)),
        Some(at) if at <= ctx.now => Err(CoreError::invalid("expires_at must be in the future").into()),
        Some(at) if at > latest => Err(CoreError::InvalidFreeze {
            reason: FreezeRefusal::TermTooLong,
            message: format!(
                "a {} freeze lasts at most {longest} s: expires_at must be at most {latest}",
                kind.as_str()
            ),
        }
        .into()),
        Some(at) => Ok(Some(at)),
    }
}

pub fn place<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, officer: KeyId, spec: &FreezeSpec) -> Decision {
    check_reason(&spec.reason, ctx.limits)?;
    if let Some(amount) = spec.amount {
        positive(amount, "amount")?;
    }
    if spec.kind == FreezeKind::Anomaly {
        return Err(CoreError::forbidden("an anomaly freeze is placed by the anomaly rule only").into());
    }
    let expires_at = end_of_term(ctx, spec.kind, spec.major_case, spec.expires_at)?;
    user(d, spec.user)?;
    let documents = cited(d, &spec.documents)?;
    let missing = missing_documents(required_documents(spec.kind), &documents);
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|k| k.as_str()).collect();
        return Err(document_required(format!(
            "a {} freeze must cite a registered {} document",
            spec.kind.as_str(),
            names.join(" and a ")
        )));
    }
    let freeze = hold(d, ctx, spec, Some(officer), expires_at, &documents)?;
    let view = FreezeView::new(&freeze, &documents);
    d.put_freeze(freeze);
    Ok(Reply::Freeze(view))
}

/// Places the freeze `spec` asks for, ending at `expires_at`, checked already: it holds what is
/// available of the wallet now, the log's entry names `created_by` (none: a rule of the
/// service) and carries the commitments of `documents`. The caller puts the freeze.
pub(super) fn hold<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    spec: &FreezeSpec,
    created_by: Option<KeyId>,
    expires_at: Option<Timestamp>,
    documents: &[&Document],
) -> Result<Freeze, Fail> {
    let seq = u32::try_from(d.world().freezes_of(spec.user)?.len())
        .map_err(|_| CoreError::conflict("this wallet has too many freezes"))?;
    let wallet = d.account(AccountId::wallet(spec.user))?;
    let available = wallet.available()?.max(Fen::ZERO);
    let held = spec.amount.map_or(available, |amount| amount.min(available));
    if held.is_positive() {
        wallet.freeze(held)?;
    }
    let freeze = Freeze {
        id: FreezeId::mint(ctx.mint_at, ctx.rng),
        user_id: spec.user,
        seq,
        kind: spec.kind,
        amount: spec.amount,
        held,
        status: FreezeStatus::Active,
        documents: spec.documents.clone(),
        reason: spec.reason.clone(),
        major_case: spec.major_case,
        created_by,
        created_at: ctx.now,
        expires_at,
        renewals: 0,
        ended_at: None,
        tally: FreezeTally { ever_held: held, ..FreezeTally::default() },
    };
    if freeze.is_short() {
        wallet.set_holding(true);
    }
    d.emit(Event {
        at: ctx.now,
        what: EventKind::FreezePlaced {
            freeze_id: freeze.id,
            user_id: freeze.user_id,
            kind: freeze.kind,
            amount: freeze.amount,
            held,
            documents: commitments(documents),
            actor: created_by,
        },
    });
    Ok(freeze)
}

/// What an officer asks for when releasing.
pub struct Release<'a> {
    pub officer: KeyId,
    pub legal: bool,
    pub reason: &'a str,
    pub amount: Option<Fen>,
    pub documents: &'a [DocumentId],
}

pub fn release<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, id: FreezeId, ask: &Release<'_>) -> Decision {
    check_reason(ask.reason, ctx.limits)?;
    if let Some(amount) = ask.amount {
        positive(amount, "amount")?;
    }
    let mut freeze = d.freeze(id)?.ok_or_else(|| CoreError::not_found(format!("freeze {id}")))?;
    if freeze.kind.needs_document() && !ask.legal {
        return Err(CoreError::forbidden("a court, police or emergency freeze is released by a legal officer").into());
    }
    if !freeze.is_active() {
        return Err(CoreError::conflict(format!(
            "freeze {id} is {}: only an active freeze is released",
            freeze.status.as_str()
        ))
        .into());
    }
    let documents = cited(d, ask.documents)?;
    if matches!(freeze.kind, FreezeKind::Court | FreezeKind::Police)
        && missing_documents(&[crate::document::DocumentKind::ReleaseNotice], &documents).len() == 1
    {
        return Err(document_required(format!(
            "a {} freeze is released only under a registered release_notice document",
            freeze.kind.as_str()
        )));
    }
    room_for(&freeze, documents.len())?;
    let amount = match ask.amount {
        Some(amount) if amount > freeze.held => {
            return Err(CoreError::conflict(format!("freeze {id} holds {}, less than {amount}", freeze.held)).into());
        }
        Some(amount) => amount,
        None => freeze.held,
    };
    let whole = ask.amount.is_none() || amount == freeze.held;
    let wallet = d.account(AccountId::wallet(freeze.user_id))?;
    if amount.is_positive() {
        wallet.unfreeze(amount)?;
    }
    freeze.held = freeze.held.checked_sub(amount)?;
    freeze.tally.released = freeze.tally.released.checked_add(amount)?;
    freeze.documents.extend(ask.documents.iter().copied());
    if whole {
        freeze.status = FreezeStatus::Released;
        freeze.ended_at = Some(ctx.now);
    } else {
        // A partial release lowers what it holds for good: it does not take the money back as
        // more arrives.
        freeze.amount = Some(freeze.held);
    }
    d.emit(Event {
        at: ctx.now,
        what: EventKind::FreezeReleased {
            freeze_id: id,
            amount,
            documents: commitments(&documents),
            actor: Some(ask.officer),
            reason: Some(ask.reason.to_owned()),
        },
    });
    refresh_holding(d, freeze.user_id, &freeze)?;
    let all = cited(d, &freeze.documents)?;
    let view = FreezeView::new(&freeze, &all);
    d.put_freeze(freeze);
    Ok(Reply::Freeze(view))
}

/// What an officer asks for when renewing.
pub struct Renew<'a> {
    pub officer: KeyId,
    pub legal: bool,
    pub reason: &'a str,
    pub documents: &'a [DocumentId],
    pub expires_at: Timestamp,
}

/// Extends an active freeze before it ends: within its kind's renewals, each by at most one term
/// past its current end; a court, police or emergency freeze by a legal officer citing a document
/// it did not cite before, a precautionary one by another risk officer than the one who placed it.
pub fn renew<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, id: FreezeId, ask: &Renew<'_>) -> Decision {
    check_reason(ask.reason, ctx.limits)?;
    let mut freeze = d.freeze(id)?.ok_or_else(|| CoreError::not_found(format!("freeze {id}")))?;
    if freeze.kind.needs_document() && !ask.legal {
        return Err(CoreError::forbidden("a court, police or emergency freeze is renewed by a legal officer").into());
    }
    if freeze.kind == FreezeKind::Precautionary && freeze.created_by == Some(ask.officer) {
        return Err(CoreError::forbidden(
            "a precautionary freeze is renewed by another risk officer than the one who placed it",
        )
        .into());
    }
    let Some(end) = freeze.expires_at.filter(|&end| freeze.is_active() && ctx.now < end) else {
        return Err(CoreError::conflict(format!(
            "freeze {id} is {}: only an active freeze is renewed before it ends",
            freeze.status.as_str()
        ))
        .into());
    };
    let term = ctx.limits.risk.freezes.of(freeze.kind);
    if term.renewals_max.is_some_and(|max| freeze.renewals >= max) {
        return Err(CoreError::conflict(format!(
            "a {} freeze is renewed at most {} time(s)",
            freeze.kind.as_str(),
            term.renewals_max.unwrap_or(0)
        ))
        .into());
    }
    let documents = cited(d, ask.documents)?;
    if freeze.kind.needs_document() && documents.iter().all(|doc| freeze.documents.contains(&doc.id)) {
        return Err(document_required(format!("a {} freeze is renewed by a new document", freeze.kind.as_str())));
    }
    let latest = end.plus_seconds(term.longest_s(freeze.major_case).unwrap_or(0));
    if ask.expires_at <= end {
        return Err(CoreError::invalid(format!("expires_at must be after the freeze's current end, {end}")).into());
    }
    if ask.expires_at > latest {
        return Err(CoreError::InvalidFreeze {
            reason: FreezeRefusal::TermTooLong,
            message: format!("a renewal extends a {} freeze by one term at most: to {latest}", freeze.kind.as_str()),
        }
        .into());
    }
    room_for(&freeze, documents.len())?;
    freeze.expires_at = Some(ask.expires_at);
    freeze.renewals += 1;
    freeze.documents.extend(ask.documents.iter().copied());
    d.emit(Event {
        at: ctx.now,
        what: EventKind::FreezeRenewed {
            freeze_id: id,
            expires_at: ask.expires_at,
            documents: commitments(&documents),
            actor: Some(ask.officer),
            reason: Some(ask.reason.to_owned()),
        },
    });
    let all = cited(d, &freeze.documents)?;
    let view = FreezeView::new(&freeze, &all);
    d.put_freeze(freeze);
    Ok(Reply::Freeze(view))
}

/// What a legal officer asks for when converting.
pub struct Convert<'a> {
    pub officer: KeyId,
    pub kind: FreezeKind,
    pub reason: &'a str,
    pub documents: &'a [DocumentId],
    pub expires_at: Option<Timestamp>,
}

/// Turns an active precautionary or emergency freeze into a court or police one under that
/// kind's documents and term: the old freeze ends `converted`, the new one holds the same money
/// (no money moves) and takes the last place in the wallet's order.
pub fn convert<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, id: FreezeId, ask: &Convert<'_>) -> Decision {
    check_reason(ask.reason, ctx.limits)?;
    let mut old = d.freeze(id)?.ok_or_else(|| CoreError::not_found(format!("freeze {id}")))?;
    if !matches!(ask.kind, FreezeKind::Court | FreezeKind::Police) {
        return Err(CoreError::invalid("a freeze is converted into a court or police freeze").into());
    }
    if !matches!(old.kind, FreezeKind::Precautionary | FreezeKind::EmergencyStop) {
        return Err(CoreError::conflict(format!(
            "a {} freeze is not converted: only precautionary and emergency_stop ones are",
            old.kind.as_str()
        ))
        .into());
    }
    if !old.is_active() {
        return Err(CoreError::conflict(format!(
            "freeze {id} is {}: only an active freeze is converted",
            old.status.as_str()
        ))
        .into());
    }
    let expires_at = end_of_term(ctx, ask.kind, false, ask.expires_at)?;
    let documents = cited(d, ask.documents)?;
    let missing = missing_documents(required_documents(ask.kind), &documents);
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|k| k.as_str()).collect();
        return Err(document_required(format!(
            "a {} freeze must cite a registered {} document",
            ask.kind.as_str(),
            names.join(" and a ")
        )));
    }
    let seq = u32::try_from(d.world().freezes_of(old.user_id)?.len())
        .map_err(|_| CoreError::conflict("this wallet has too many freezes"))?;
    let moved = old.held;
    let new = Freeze {
        id: FreezeId::mint(ctx.mint_at, ctx.rng),
        user_id: old.user_id,
        seq,
        kind: ask.kind,
        amount: old.amount,
        held: moved,
        status: FreezeStatus::Active,
        documents: ask.documents.to_vec(),
        reason: ask.reason.to_owned(),
        major_case: false,
        created_by: Some(ask.officer),
        created_at: ctx.now,
        expires_at,
        renewals: 0,
        ended_at: None,
        tally: FreezeTally { ever_held: moved, ..FreezeTally::default() },
    };
    old.held = Fen::ZERO;
    old.tally.converted = old.tally.converted.checked_add(moved)?;
    old.status = FreezeStatus::Converted;
    old.ended_at = Some(ctx.now);
    d.emit(Event {
        at: ctx.now,
        what: EventKind::FreezePlaced {
            freeze_id: new.id,
            user_id: new.user_id,
            kind: new.kind,
            amount: new.amount,
            held: moved,
            documents: commitments(&documents),
            actor: Some(ask.officer),
        },
    });
    d.emit(Event { at: ctx.now, what: EventKind::FreezeConverted { freeze_id: id, into: new.id, amount: moved } });
    let view = FreezeView::new(&new, &documents);
    d.put_freeze(old);
    d.put_freeze(new);
    Ok(Reply::Freeze(view))
}

/// Background: an active freeze past its end releases what it holds, once.
pub fn expire<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, id: FreezeId) -> Decision {
    let Some(mut freeze) = d.freeze(id)? else { return Ok(Reply::Settled { changed: false }) };
    let due = freeze.is_active() && freeze.expires_at.is_some_and(|at| ctx.now >= at);
    if !due {
        return Ok(Reply::Settled { changed: false });
    }
    let amount = freeze.held;
    let wallet = d.account(AccountId::wallet(freeze.user_id))?;
    if amount.is_positive() {
        wallet.unfreeze(amount)?;
    }
    freeze.held = Fen::ZERO;
    freeze.tally.expired = freeze.tally.expired.checked_add(amount)?;
    freeze.status = FreezeStatus::Expired;
    freeze.ended_at = Some(ctx.now);
    d.emit(Event { at: ctx.now, what: EventKind::FreezeExpired { freeze_id: id, amount } });
    refresh_holding(d, freeze.user_id, &freeze)?;
    d.put_freeze(freeze);
    Ok(Reply::Settled { changed: true })
}

/// Sets the wallet's `holding` flag from its freezes, `changed` as this command left it.
pub(super) fn refresh_holding(d: &mut Draft<'_>, user: UserId, changed: &Freeze) -> Result<(), Fail> {
    let others = d.world().freezes_of(user)?;
    let mut short = changed.is_short();
    for other in others.into_iter().filter(|f| f.id != changed.id) {
        short |= d.freeze(other.id)?.is_some_and(|f| f.is_short());
    }
    d.account(AccountId::wallet(user))?.set_holding(short);
    Ok(())
}

/// Makes every short freeze of the wallets this command changed hold what became available, in
/// the order the freezes were placed. Runs at the end of every command; a wallet without a short
/// freeze is never looked at twice.
///
/// # Errors
/// [`Fail::Need`] for a wallet's freezes not loaded yet.
pub fn top_up<R>(d: &mut Draft<'_>, ctx: &Ctx<'_, R>) -> Result<(), Fail> {
    for wallet in d.wallets_to_top_up() {
        let user = UserId::from_uuid(wallet.uuid());
        let ids: Vec<FreezeId> = d.world().freezes_of(user)?.into_iter().map(|f| f.id).collect();
        let mut short = false;
        for id in ids {
            let Some(mut freeze) = d.freeze(id)? else { continue };
            let account = d.account(wallet)?;
            let available = account.available()?;
            let take = match freeze.wants() {
                Some(wants) => wants.min(available),
                None if freeze.is_active() => available,
                None => Fen::ZERO,
            };
            if take.is_positive() {
                account.freeze(take)?;
                freeze.held = freeze.held.checked_add(take)?;
                freeze.tally.ever_held = freeze.tally.ever_held.checked_add(take)?;
                d.emit(Event { at: ctx.now, what: EventKind::FreezeHeld { freeze_id: id, amount: take } });
            }
            short |= freeze.is_short();
            if take.is_positive() {
                d.put_freeze(freeze);
            }
        }
        d.account(wallet)?.set_holding(short);
    }
    Ok(())
}
