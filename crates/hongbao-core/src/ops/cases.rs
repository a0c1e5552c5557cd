//! Cases: officers' notes on the timeline, and closing one (see `crate::case`).

use rand::CryptoRng;

use crate::case::{Case, CaseOutcome, CaseStatus, ReportStatus, TimelineEntry, check_prose};
use crate::error::CoreError;
use crate::event::{Event, EventKind};
use crate::id::{CaseId, KeyId};
use crate::risk::FreezeKind;
use crate::world::{Draft, Fail, Key};

use super::freezes::{self, Release};
use super::reply::Reply;
use super::shared::check_reason;
use super::{Ctx, Decision};

fn case(d: &Draft<'_>, id: CaseId) -> Result<Case, Fail> {
    Ok(d.case(id)?.ok_or_else(|| CoreError::not_found(format!("case {id}")))?)
}

/// Writes `text` (1 to 2 000 characters) on the case's timeline, open or closed.
pub fn note<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, officer: KeyId, id: CaseId, text: &str) -> Decision {
    check_prose("text", text)?;
    let mut case = case(d, id)?;
    case.room_for(1)?;
    case.timeline.push(TimelineEntry::by(ctx.now, officer, "note", text));
    d.put_case(case.clone());
    Ok(Reply::Case(case))
}

/// Closes an open case with `outcome`: its reports close (their reporters may report again);
/// `dismissed` releases each of its precautionary freezes still active, in the same entry.
pub fn close<R: CryptoRng>(
    d: &mut Draft<'_>,
    ctx: &mut Ctx<'_, R>,
    (officer, reason): (KeyId, &str),
    id: CaseId,
    outcome: CaseOutcome,
) -> Decision {
    check_reason(reason, ctx.limits)?;
    let mut case = case(d, id)?;
    if !case.is_open() {
        let message = format!("case {id} is closed already");
        return Err(CoreError::InvalidState { reason: "closed".to_owned(), message }.into());
    }
    let reports: Vec<_> = case.reports().collect();
    let freezes: Vec<_> = case.freezes().collect();
    d.world().need(reports.iter().map(|&r| Key::Report(r)).chain(freezes.iter().map(|&f| Key::Freeze(f))))?;
    case.room_for(freezes.len() + 1)?;
    for report in reports {
        if let Some(mut report) = d.report(report)?.filter(|r| r.status == ReportStatus::Open) {
            report.status = ReportStatus::Closed;
            report.closed_at = Some(ctx.now);
            d.put_report(report);
        }
    }
    if outcome == CaseOutcome::Dismissed {
        for freeze in freezes {
            let Some(held) = d.freeze(freeze)? else { continue };
            if held.kind != FreezeKind::Precautionary || !held.is_active() {
                continue;
            }
            let release = format!("case {id} dismissed");
            let ask = Release { officer, legal: false, reason: &release, amount: None, documents: &[] };
            freezes::release(d, ctx, freeze, &ask)?;
            let line = format!("precautionary freeze {freeze} released: {} fen", held.held);
            case.timeline.push(TimelineEntry::by(ctx.now, officer, "freeze_released", &line));
        }
    }
    case.status = CaseStatus::Closed;
    case.outcome = Some(outcome);
    case.closed_at = Some(ctx.now);
    case.timeline.push(TimelineEntry::by(ctx.now, officer, "closed", &format!("{}: {reason}", outcome.as_str())));
    d.emit(Event {
        at: ctx.now,
        what: EventKind::CaseClosed { case_id: id, outcome, actor: officer, reason: reason.to_owned() },
    });
    d.put_case(case.clone());
    Ok(Reply::Case(case))
}
