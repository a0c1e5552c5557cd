//! Reports (举报): a user reports another for fraud, citing the payments by which the money went
//! and their evidence; the `fraud_reports` rule runs at once (see `rules.rs`).

use std::collections::HashSet;

use rand::CryptoRng;

use crate::case::{CaseItem, CaseKind, Payment, REPORT_EVIDENCE_MAX, REPORT_TRANSFERS_MAX, Report, ReportStatus};
use crate::case::{TimelineEntry, check_prose};
use crate::error::CoreError;
use crate::event::{Event, EventKind};
use crate::id::{AccountId, EvidenceId, ReportId, TransferId, UserId};
use crate::ledger::{PendingStatus, Phase, TransferKind};
use crate::money::Fen;
use crate::packet::ClaimStatus;
use crate::world::{Draft, Fail, Key};

use super::reply::Reply;
use super::rules;
use super::shared::user;
use super::{Ctx, Decision};

/// What a user reports.
pub struct Filing<'a> {
    pub reporter: UserId,
    pub subject: UserId,
    pub payments: &'a [Payment],
    pub description: &'a str,
    pub evidence: &'a [EvidenceId],
}

pub fn file<R: CryptoRng>(d: &mut Draft<'_>, ctx: &mut Ctx<'_, R>, filing: &Filing<'_>) -> Decision {
    check_prose("description", filing.description)?;
    if filing.payments.is_empty() || filing.payments.len() > REPORT_TRANSFERS_MAX {
        return Err(CoreError::invalid(format!(
            "transfers must cite 1 to {REPORT_TRANSFERS_MAX} transfers or claims by which you paid the subject"
        ))
        .into());
    }
    if filing.evidence.len() > REPORT_EVIDENCE_MAX {
        return Err(CoreError::invalid(format!("a report cites at most {REPORT_EVIDENCE_MAX} evidence files")).into());
    }
    if filing.evidence.iter().collect::<HashSet<_>>().len() != filing.evidence.len() {
        return Err(CoreError::invalid("evidence names a file twice").into());
    }
    if filing.reporter == filing.subject {
        return Err(CoreError::invalid("a user cannot report themselves").into());
    }
    user(d, filing.subject)?;
    let (transfers, amount) = paid(d, filing)?;
    let open = d.world().open_reports_on(filing.subject)?;
    if let Some(mine) = open.iter().find(|r| r.reporter == filing.reporter) {
        return Err(CoreError::conflict(format!(
            "you have an open report on this user already: {}; it stays open until its case closes",
            mine.id
        ))
        .into());
    }
    let case = d.world().open_case(filing.subject, CaseKind::Fraud)?.cloned();
    let mut report = Report {
        id: ReportId::mint(ctx.mint_at, ctx.rng),
        reporter: filing.reporter,
        subject: filing.subject,
        status: ReportStatus::Open,
        transfers,
        amount,
        description: filing.description.to_owned(),
        evidence: filing.evidence.to_vec(),
        case_id: None,
        created_at: ctx.now,
        closed_at: None,
    };
    d.emit(Event {
        at: ctx.now,
        what: EventKind::ReportFiled {
            report_id: report.id,
            reporter: report.reporter,
            subject: report.subject,
            amount,
            evidence: u32::try_from(report.evidence.len()).unwrap_or(u32::MAX),
        },
    });
    match case {
        // A later report joins the open case: officers see it there; the case's freeze stands.
        Some(mut case) => {
            case.room_for(1)?;
            report.case_id = Some(case.id);
            case.items.push(CaseItem::Report { report_id: report.id });
            let reason = format!("report {} by {} for {amount} fen", report.id, report.reporter);
            case.timeline.push(TimelineEntry::system(ctx.now, "report_added", reason));
            d.put_case(case);
            d.put_report(report.clone());
        }
        None => {
            d.put_report(report.clone());
            if let Some(case) = rules::fraud_reports(d, ctx, filing.subject)? {
                report.case_id = Some(case);
            }
        }
    }
    Ok(Reply::Report(report))
}

/// The transfers `filing` cites and their sum, each checked to be money the reporter paid the
/// subject that has not come back. Anything else — a payment that does not exist, someone
/// else's, revoked or returned — is refused alike, so a report cannot probe others' payments.
fn paid(d: &Draft<'_>, filing: &Filing<'_>) -> Result<(Vec<TransferId>, Fen), Fail> {
    let world = d.world();
    world.need(filing.payments.iter().map(|p| match *p {
        Payment::Transfer(id) => Key::Transfer(id),
        Payment::Claim(id) => Key::Claim(id),
    }))?;
    let not_paid = |p: &Payment| -> Fail {
        let id = match p {
            Payment::Transfer(id) => id.to_string(),
            Payment::Claim(id) => id.to_string(),
        };
        CoreError::invalid(format!("{id} is not money you paid to the subject (or it came back to you)")).into()
    };
    // A claim, cited by its id or its transfer's, is checked through its packet.
    let mut claims = Vec::new();
    let mut transfers = Vec::with_capacity(filing.payments.len());
    let mut amount = Fen::ZERO;
    for payment in filing.payments {
        let (id, paid) = match *payment {
            Payment::Transfer(id) => {
                let transfer = world.transfer(id)?.ok_or_else(|| not_paid(payment))?;
                match (transfer.kind, transfer.claim_id) {
                    (TransferKind::PacketClaim, Some(claim)) => {
                        claims.push((payment, claim));
                        continue;
                    }
                    (TransferKind::Transfer, _)
                        if transfer.debit == AccountId::wallet(filing.reporter)
                            && transfer.credit == AccountId::wallet(filing.subject) =>
                    {
                        if matches!(transfer.phase, Phase::Pending { .. }) {
                            world.need([Key::Pending(id)])?;
                            let pending = world.pending(id)?.ok_or_else(|| not_paid(payment))?;
                            if pending.status == PendingStatus::Voided {
                                return Err(not_paid(payment));
                            }
                        }
                        (id, transfer.amount)
                    }
                    _ => return Err(not_paid(payment)),
                }
            }
            Payment::Claim(claim) => {
                claims.push((payment, claim));
                continue;
            }
        };
        transfers.push(id);
        amount = amount.checked_add(paid)?;
    }
    world.need(claims.iter().map(|&(_, claim)| Key::Claim(claim)))?;
    let mut packets = Vec::with_capacity(claims.len());
    for &(payment, id) in &claims {
        let claim = world.claim(id)?.ok_or_else(|| not_paid(payment))?;
        packets.push(Key::Packet(claim.packet_id));
    }
    world.need(packets)?;
    for &(payment, id) in &claims {
        let claim = world.claim(id)?.ok_or_else(|| not_paid(payment))?;
        let packet = world.packet(claim.packet_id)?.ok_or_else(|| not_paid(payment))?;
        let kept = matches!(claim.status, ClaimStatus::Arrived | ClaimStatus::Pending);
        if claim.user_id != filing.subject || packet.sender != filing.reporter || !kept {
            return Err(not_paid(payment));
        }
        transfers.push(claim.transfer_id);
        amount = amount.checked_add(claim.amount)?;
    }
    if transfers.iter().collect::<HashSet<_>>().len() != transfers.len() {
        return Err(CoreError::invalid("transfers cites one payment twice").into());
    }
    Ok((transfers, amount))
}
