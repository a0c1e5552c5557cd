//! The rules that fire by themselves (`[limits.risk]`, see `crate::risk`): each opens or adds to
//! a case, does what its action says (a freeze, a lock), and logs that it fired in the entry of
//! the command that made it fire.

use std::collections::BTreeSet;

use rand::CryptoRng;

use crate::case::{Case, CaseItem, CaseKind, CaseStatus, TimelineEntry};
use crate::event::{Event, EventKind};
use crate::id::{CaseId, PacketId, UserId};
use crate::money::Fen;
use crate::risk::FreezeKind;
use crate::world::{Draft, Fail, Key};

use super::Ctx;
use super::freezes::{self, FreezeSpec};

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
