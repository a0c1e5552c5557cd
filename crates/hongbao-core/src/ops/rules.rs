//! The rules that fire by themselves (`[limits.risk]`, see `crate::risk`): each opens or adds to
//! a case, does what its action says (a freeze, a lock), and logs that it fired in the entry of
//! the command that made it fire. Signals are here too: the anomaly rule is what reads them.

use std::collections::BTreeSet;

use rand::CryptoRng;

use crate::case::{Case, CaseItem, CaseKind, CaseStatus, TimelineEntry};
use crate::event::{Event, EventKind};
use crate::id::{CaseId, PacketId, UserId};
use crate::money::Fen;
use crate::risk::FreezeKind;
use crate::signal::Signal;
use crate::time::Timestamp;
use crate::user::{User, UserStatus};
use crate::world::{Draft, Fail, Key};

use super::freezes::{self, FreezeSpec};
use super::reply::{Reply, SignalAccepted};
use super::shared::user;
use super::{Ctx, Decision, holds};

/// `fraud_reports`: when enough different reporters, each citing enough evidence, have open
/// reports on `subject` filed within the window, a fraud case opens gathering every open report
/// on them not yet in a case, and a precautionary freeze of the reported amounts' sum is placed.
/// Answers the case it opened, if it fired. The caller has put the report that may make it fire
/// and made sure no fraud case about `subject` is open.
pub(super) fn fraud_reports<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    subject: UserId,
) -> Result<Option<CaseId>, Fail> {
    let rule = &ctx.limits.risk.fraud_reports;
    if !rule.enabled {
        return Ok(None);
    }
    let since = ctx.now.plus_millis(-i64::from(rule.window_s) * 1000);
    // The open reports on file, with the one this command put (not in the world yet).
    let mut open: Vec<_> = d.world().open_reports_on(subject)?.into_iter().cloned().collect();
    for report in d.reports_put().into_iter().filter(|r| r.subject == subject && r.is_open()) {
        open.retain(|r| r.id != report.id);
        open.push(report);
    }
    let evidence_min = rule.evidence_min as usize;
    let reporters: BTreeSet<UserId> =
        open.iter().filter(|r| r.created_at >= since && r.evidence.len() >= evidence_min).map(|r| r.reporter).collect();
    if reporters.len() < rule.reporters_min as usize {
        return Ok(None);
    }
    let gathered: Vec<_> = open.into_iter().filter(|r| r.case_id.is_none()).collect();
    let amount = gathered.iter().try_fold(Fen::ZERO, |sum, r| sum.checked_add(r.amount))?;
    let detail = format!(
        "{} different reporters with at least {} evidence file(s) each within {} s (threshold {}): {amount} fen reported",
        reporters.len(),
        rule.evidence_min,
        rule.window_s,
        rule.reporters_min
    );
    let id = CaseId::mint(ctx.mint_at, ctx.rng);
    let mut items: Vec<CaseItem> = gathered.iter().map(|r| CaseItem::Report { report_id: r.id }).collect();
    items.push(CaseItem::RuleHit { rule: "fraud_reports".to_owned(), at: ctx.now, detail: detail.clone() });
    let mut timeline = vec![TimelineEntry::system(ctx.now, "opened", format!("fraud_reports: {detail}"))];
    if amount.is_positive() {
        let spec = FreezeSpec {
            user: subject,
            kind: FreezeKind::Precautionary,
            amount: Some(amount),
            reason: format!("fraud_reports rule, case {id}"),
            documents: Vec::new(),
            expires_at: None,
            major_case: false,
        };
        let expires_at = freezes::end_of_term(ctx, spec.kind, false, None)?;
        let freeze = freezes::hold(d, ctx, &spec, None, expires_at, &[])?;
        items.push(CaseItem::Freeze { freeze_id: freeze.id });
        let reason = format!("precautionary freeze {} of {amount} fen, the reported amounts' sum", freeze.id);
        timeline.push(TimelineEntry::system(ctx.now, "freeze_placed", reason));
        d.put_freeze(freeze);
    }
    for mut report in gathered {
        report.case_id = Some(id);
        d.put_report(report);
    }
    d.put_case(Case {
        id,
        subject,
        kind: CaseKind::Fraud,
        status: CaseStatus::Open,
        outcome: None,
        items,
        timeline,
        created_at: ctx.now,
        closed_at: None,
    });
    d.emit(Event {
        at: ctx.now,
        what: EventKind::RuleFired { rule: "fraud_reports".to_owned(), user_id: subject, case_id: id, detail },
    });
    Ok(Some(id))
}

/// `aml_fan_in`: a withdrawal of `amount` by `user` after at least `payers_min` distinct payers
/// paid them within the window (a claim's payer is its packet's sender), when it takes at least
/// `withdrawn_percent_min` % of what arrived then: an `aml` case for review, nothing held (the
/// withdrawal goes ahead). A user with an open aml case gets no second. Reads first, then writes:
/// the caller has read nothing since and writes after.
pub(super) fn aml_fan_in<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    user: UserId,
    amount: Fen,
) -> Result<(), Fail> {
    let rule = &ctx.limits.risk.aml_fan_in;
    if !rule.enabled {
        return Ok(());
    }
    let world = d.world();
    let since = ctx.now.plus_millis(-i64::from(rule.window_s) * 1000);
    world.need([Key::ReceiptsSince(user, since), Key::OpenCase(user, CaseKind::Aml)])?;
    let receipts = world.receipts_since(user, since)?;
    let packets: Vec<PacketId> = receipts.iter().filter_map(|t| t.packet_id).collect();
    world.need(packets.iter().map(|&p| Key::Packet(p)))?;
    let mut payers = BTreeSet::new();
    let mut arrived = Fen::ZERO;
    for t in &receipts {
        let payer = match t.packet_id {
            Some(packet) => world.packet(packet)?.map(|p| p.sender),
            None => Some(UserId::from_uuid(t.debit.uuid())),
        };
        payers.extend(payer);
        arrived = arrived.checked_add(t.amount)?;
    }
    let share_ok = i128::from(amount.get()) * 100 >= i128::from(rule.withdrawn_percent_min) * i128::from(arrived.get());
    if payers.len() < rule.payers_min as usize || !arrived.is_positive() || !share_ok {
        return Ok(());
    }
    if world.open_case(user, CaseKind::Aml)?.is_some() {
        return Ok(());
    }
    let detail = format!(
        "{} distinct payers within {} s (threshold {}) paid {arrived} fen; a withdrawal of {amount} fen takes at least {} %",
        payers.len(),
        rule.window_s,
        rule.payers_min,
        rule.withdrawn_percent_min
    );
    let id = CaseId::mint(ctx.mint_at, ctx.rng);
    d.put_case(Case {
        id,
        subject: user,
        kind: CaseKind::Aml,
        status: CaseStatus::Open,
        outcome: None,
        items: vec![CaseItem::RuleHit { rule: "aml_fan_in".to_owned(), at: ctx.now, detail: detail.clone() }],
        timeline: vec![TimelineEntry::system(ctx.now, "opened", format!("aml_fan_in: {detail}"))],
        created_at: ctx.now,
        closed_at: None,
    });
    d.emit(Event {
        at: ctx.now,
        what: EventKind::RuleFired { rule: "aml_fan_in".to_owned(), user_id: user, case_id: id, detail },
    });
    Ok(())
}

/// A signal about `user` (`POST /v1/risk/signals`): a login is remembered in their logins;
/// one from a region not seen for `region_unseen_s` runs `anomaly_receipts_new_region` over the
/// receipts of the hour before it. Answers whether the region was new and the case if it fired.
pub fn record_signal<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    user_id: UserId,
    signal: &Signal,
) -> Decision {
    signal.check()?;
    let mut person = user(d, user_id)?.clone();
    let rule = &ctx.limits.risk.anomaly_receipts_new_region;
    let Signal::Login { region, device_id } = signal;
    let new_region = person.logins.record(region, device_id, ctx.now, rule.region_unseen_s);
    let burst = if new_region && rule.enabled { burst_before(d, ctx, user_id)? } else { None };
    let case_id = match burst {
        Some((count, ended)) => {
            let detail = format!(
                "{count} incoming claims or transfers within {} s (threshold {}) by {ended}, and a login from \
                 region {region:?}, not seen in {} s, at {}: {} s apart (at most {})",
                rule.receipts_window_s,
                rule.receipts_min,
                rule.region_unseen_s,
                ctx.now,
                (ctx.now.millis() - ended.millis()) / 1000,
                rule.together_within_s
            );
            Some(anomaly(d, ctx, person, detail)?)
        }
        None => {
            d.put_user(person);
            None
        }
    };
    Ok(Reply::Signal(SignalAccepted { user_id, new_region, case_id }))
}

/// The latest moment in the hour (`together_within_s`) before now at which `user` had received
/// `receipts_min` claims or transfers within `receipts_window_s`, with how many; `None` when
/// there was none, or when an anomaly case about them is open already. Reads only.
fn burst_before<R>(d: &Draft<'_>, ctx: &Ctx<'_, R>, user: UserId) -> Result<Option<(usize, Timestamp)>, Fail> {
    let rule = &ctx.limits.risk.anomaly_receipts_new_region;
    let (window_ms, together_ms) = (seconds_ms(rule.receipts_window_s), seconds_ms(rule.together_within_s));
    let since = ctx.now.plus_millis(-(window_ms + together_ms));
    let world = d.world();
    world.need([Key::ReceiptsSince(user, since), Key::OpenCase(user, CaseKind::Anomaly), Key::FreezesOf(user)])?;
    let times: Vec<Timestamp> = world.receipts_since(user, since)?.iter().map(|t| t.created_at).collect();
    let min = (rule.receipts_min as usize).max(1);
    // Each receipt that completes `min` within the window, latest first: the first in the hour.
    let burst = (min - 1..times.len()).rev().find_map(|last| {
        let first = last + 1 - min;
        let (start, end) = (times[first], times[last]);
        let within = end.millis() - start.millis() <= window_ms;
        let recent = ctx.now.millis() - end.millis() <= together_ms;
        (within && recent)
            .then(|| (times[..=last].iter().filter(|t| end.millis() - t.millis() <= window_ms).count(), end))
    });
    if burst.is_none() || world.open_case(user, CaseKind::Anomaly)?.is_some() {
        return Ok(None);
    }
    Ok(burst)
}

/// `anomaly_receipts_new_region` as money arrives: whether the receipt this command makes for
/// `payee` (not in the world yet) completes `receipts_min` within the window, within the hour
/// after a login from a new region; `Some(detail)` when the rule fires. Reads only, and nothing
/// beyond the payee's user for someone with no such login lately (the claim path).
pub(super) fn anomaly_on_receipt<R>(d: &Draft<'_>, ctx: &Ctx<'_, R>, payee: &User) -> Result<Option<String>, Fail> {
    let rule = &ctx.limits.risk.anomaly_receipts_new_region;
    let Some(login_at) = payee.logins.new_region_at.filter(|_| rule.enabled) else {
        return Ok(None);
    };
    let apart_ms = ctx.now.millis() - login_at.millis();
    if !(0..=seconds_ms(rule.together_within_s)).contains(&apart_ms) {
        return Ok(None);
    }
    let since = ctx.now.plus_millis(-seconds_ms(rule.receipts_window_s));
    let world = d.world();
    let user = payee.id;
    world.need([Key::ReceiptsSince(user, since), Key::OpenCase(user, CaseKind::Anomaly), Key::FreezesOf(user)])?;
    let count = world.receipts_since(user, since)?.len() + 1;
    if count < rule.receipts_min as usize || world.open_case(user, CaseKind::Anomaly)?.is_some() {
        return Ok(None);
    }
    Ok(Some(format!(
        "{count} incoming claims or transfers within {} s (threshold {}) by {}, {} s after a login from a region \
         not seen in {} s (at most {})",
        rule.receipts_window_s,
        rule.receipts_min,
        ctx.now,
        apart_ms / 1000,
        rule.region_unseen_s,
        rule.together_within_s
    )))
}

/// The anomaly rule's action on `person`: an anomaly freeze of the whole wallet (until a risk
/// officer releases it; it grows as money arrives), a lock, and an anomaly case, logged
/// `rule_fired`. Puts `person`, locked. The caller read the rule's facts ([`burst_before`] or
/// [`anomaly_on_receipt`]) and found no anomaly case open.
pub(super) fn anomaly<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    mut person: User,
    detail: String,
) -> Result<CaseId, Fail> {
    const RULE: &str = "anomaly_receipts_new_region";
    let id = CaseId::mint(ctx.mint_at, ctx.rng);
    let spec = FreezeSpec {
        user: person.id,
        kind: FreezeKind::Anomaly,
        amount: None,
        reason: format!("{RULE} rule, case {id}"),
        documents: Vec::new(),
        expires_at: None,
        major_case: false,
    };
    let expires_at = freezes::end_of_term(ctx, spec.kind, false, None)?;
    let freeze = freezes::hold(d, ctx, &spec, None, expires_at, &[])?;
    let held = format!("anomaly freeze {} of the whole wallet, holding {} fen", freeze.id, freeze.held);
    let locked = person.status == UserStatus::Active;
    holds::lock_by_rule(d, ctx.now, &mut person, format!("{RULE} rule, case {id}"));
    let mut timeline = vec![
        TimelineEntry::system(ctx.now, "opened", format!("{RULE}: {detail}")),
        TimelineEntry::system(ctx.now, "freeze_placed", held),
    ];
    if locked {
        timeline.push(TimelineEntry::system(ctx.now, "locked", "the account is locked".to_owned()));
    }
    d.put_case(Case {
        id,
        subject: person.id,
        kind: CaseKind::Anomaly,
        status: CaseStatus::Open,
        outcome: None,
        items: vec![
            CaseItem::RuleHit { rule: RULE.to_owned(), at: ctx.now, detail: detail.clone() },
            CaseItem::Freeze { freeze_id: freeze.id },
        ],
        timeline,
        created_at: ctx.now,
        closed_at: None,
    });
    d.emit(Event {
        at: ctx.now,
        what: EventKind::RuleFired { rule: RULE.to_owned(), user_id: person.id, case_id: id, detail },
    });
    d.put_freeze(freeze);
    d.put_user(person);
    Ok(id)
}

fn seconds_ms(seconds: u32) -> i64 {
    i64::from(seconds) * 1000
}
