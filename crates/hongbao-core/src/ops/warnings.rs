//! The payee rating before a transfer or an exclusive packet (分级预警, see `crate::warning`):
//! [`rate`] reads what it needs and lists the warnings; [`gate`] refuses a `block`, asks a
//! `confirm` to be confirmed, and answers the id a confirmed payment takes.

use rand::CryptoRng;

use crate::case::CaseKind;
use crate::error::CoreError;
use crate::event::{Event, EventKind};
use crate::freeze::Freeze;
use crate::id::{UserId, mint_uuid};
use crate::money::Fen;
use crate::risk::FreezeKind;
use crate::warning::{RiskConfirmation, Tier, Warning, WarningCode, tier_of};
use crate::world::{Draft, Fail, Key};

use super::Ctx;

/// The warnings a payment of `amount` from `payer` to `payee` gets, most serious first. Reads
/// only; the payee exists.
pub(super) fn rate<R>(
    d: &Draft<'_>,
    ctx: &Ctx<'_, R>,
    payer: UserId,
    payee: UserId,
    amount: Fen,
) -> Result<Vec<Warning>, Fail> {
    let world = d.world();
    world.need([
        Key::User(payee),
        Key::SharesGroup(payer, payee),
        Key::OpenReportsOn(payee),
        Key::OpenCase(payee, CaseKind::Fraud),
        Key::FreezesOf(payee),
    ])?;
    let tiers = &ctx.limits.risk.warnings;
    let mut warnings = Vec::new();
    let mut warn = |code: WarningCode, message: String| warnings.push(Warning { code, message });
    if world.open_case(payee, CaseKind::Fraud)?.is_some() {
        warn(WarningCode::PayeeUnderInvestigation, "the payee is under investigation for fraud".to_owned());
    }
    if world.freezes_of(payee)?.iter().any(|f: &&Freeze| f.is_active() && f.kind == FreezeKind::Anomaly) {
        warn(WarningCode::PayeeHeld, "the payee's account is held by risk control".to_owned());
    }
    if amount.get() >= tiers.confirm_amount_min_fen {
        warn(
            WarningCode::LargeAmount,
            format!(
                "this is a large amount (¥{} or more): confirm you mean to pay it",
                tiers.confirm_amount_min_fen / 100
            ),
        );
    }
    if !world.open_reports_on(payee)?.is_empty() {
        warn(WarningCode::PayeeReported, "the payee has been reported for fraud".to_owned());
    }
    if !world.shares_group(payer, payee)? {
        warn(
            WarningCode::NoSharedGroup,
            "you and the payee are in no group together: make sure you know them".to_owned(),
        );
    }
    let created = world.user(payee)?.map_or(ctx.now, |u| u.created_at);
    if created.plus_seconds(tiers.notice_account_younger_than_s) > ctx.now {
        let days = tiers.notice_account_younger_than_s / 86_400;
        warn(WarningCode::NewAccount, format!("the payee's account is less than {days} days old"));
    }
    warnings.sort_by_key(|w| std::cmp::Reverse(w.code.tier()));
    Ok(warnings)
}

/// What a payment rated `warnings` may do: refused when it is `block`; refused with a fresh
/// confirmation when it is `confirm` and not confirmed; otherwise it goes ahead, with the id the
/// confirmation names when there is one (`None`: the payment mints its own). A confirmed
/// payment's log entry records that the payer was warned and went on. `taken` says whether a
/// payment already took an id: a confirmation is spent by the payment it names.
pub(super) fn gate<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    (payer, payee, amount): (UserId, UserId, Fen),
    warnings: &[Warning],
    confirmation: Option<RiskConfirmation>,
    taken: impl Fn(&Draft<'_>, uuid::Uuid) -> Result<bool, Fail>,
) -> Result<Option<uuid::Uuid>, Fail> {
    match tier_of(warnings) {
        Some(Tier::Block) => Err(CoreError::RiskBlocked { warnings: warnings.to_vec() }.into()),
        Some(Tier::Confirm) => {
            let Some(confirmation) = confirmation else {
                let confirmation = mint_uuid(ctx.mint_at, ctx.rng);
                return Err(CoreError::RiskConfirmationRequired { warnings: warnings.to_vec(), confirmation }.into());
            };
            if taken(d, confirmation.id)? {
                return Err(CoreError::conflict(
                    "this confirmation was used already: a confirmation pays once; send the request without it \
                     to be warned again",
                )
                .into());
            }
            d.emit(Event {
                at: ctx.now,
                what: EventKind::RiskConfirmed {
                    payer,
                    payee,
                    amount,
                    id: confirmation.id,
                    warnings: warnings.iter().map(|w| w.code).collect(),
                },
            });
            Ok(Some(confirmation.id))
        }
        Some(Tier::Notice) | None => Ok(None),
    }
}
