//! Reports and cases: the `fraud_reports` rule at its threshold and not one below it, as a
//! table; what a report may cite; one open report per reporter and subject; closing a case.

use hongbao_core::case::{CaseOutcome, Payment, Report};
use hongbao_core::event::EventKind;
use hongbao_core::{CaseId, Command, CoreError, EvidenceId, Limits, Reply, TransferId, UserId};

use crate::support::{Harness, officer};

fn evidence(h: &mut Harness, n: u32) -> Vec<EvidenceId> {
    (0..n).map(|_| EvidenceId::mint(h.now, &mut h.rng)).collect()
}

fn report(reporter: UserId, subject: UserId, payments: Vec<Payment>, evidence: Vec<EvidenceId>) -> Command {
    Command::FileReport {
        actor: reporter,
        subject,
        payments,
        description: "he promised returns, took the money and blocked me\n之后拉黑".to_owned(),
        evidence,
    }
}

fn filed(h: &mut Harness, command: Command) -> Report {
    match h.ok(command) {
        Reply::Report(report) => report,
        other => panic!("a report answered {other:?}"),
    }
}

/// A victim who paid `subject` `fen` by transfer: the victim and the transfer.
fn victim(h: &mut Harness, subject: UserId, fen: i64) -> (UserId, TransferId) {
    let victim = h.funded_user(100_000);
    (victim, h.transfer(victim, subject, fen, 0).transfer_id)
}

/// The events the last command logged.
fn logged(h: &mut Harness) -> Vec<EventKind> {
    h.world.take_changes().events.into_iter().map(|e| e.what).collect()
}

#[test]
fn the_fraud_reports_rule_fires_at_its_threshold_and_not_one_below() {
    // (reporters needed, evidence files each needs, window in seconds)
    let table: [(u32, u32, u32); 4] = [(3, 1, 7 * 86_400), (1, 0, 3_600), (4, 2, 86_400), (2, 1, 600)];
    for (reporters_min, evidence_min, window_s) in table {
        let mut limits = Limits::default();
        limits.risk.fraud_reports.reporters_min = reporters_min;
        limits.risk.fraud_reports.evidence_min = evidence_min;
        limits.risk.fraud_reports.window_s = window_s;
        let mut h = Harness::with_limits(limits);
        let scammer = h.user();
        let mut reported = 0;

        // A report older than the window and one with too little evidence never count, but
        // join the case when it opens.
        let (early, paid) = victim(&mut h, scammer, 50);
        let files = evidence(&mut h, evidence_min);
        if reporters_min > 1 {
            filed(&mut h, report(early, scammer, vec![Payment::Transfer(paid)], files));
            reported += 50;
            h.advance_s(window_s + 1);
        }
        if evidence_min > 0 {
            let (thin, paid) = victim(&mut h, scammer, 70);
            let files = evidence(&mut h, evidence_min - 1);
            filed(&mut h, report(thin, scammer, vec![Payment::Transfer(paid)], files));
            reported += 70;
        }
        for i in 1..reporters_min {
            let fen = 100 * i64::from(i);
            let (v, paid) = victim(&mut h, scammer, fen);
            let files = evidence(&mut h, evidence_min);
            let r = filed(&mut h, report(v, scammer, vec![Payment::Transfer(paid)], files));
            reported += fen;
            assert_eq!(r.case_id, None, "{i} of {reporters_min} reporters: the rule must not fire");
            assert!(!logged(&mut h).iter().any(|e| matches!(e, EventKind::RuleFired { .. })));
            assert_eq!(h.wallet(scammer).frozen, 0);
        }
        let (last, paid) = victim(&mut h, scammer, 1_000);
        let files = evidence(&mut h, evidence_min);
        let r = filed(&mut h, report(last, scammer, vec![Payment::Transfer(paid)], files));
        reported += 1_000;
        let case_id = r.case_id.unwrap_or_else(|| panic!("{reporters_min} reporters: the rule fires"));
        let events = logged(&mut h);
        assert!(
            events.iter().any(|e| matches!(e, EventKind::RuleFired { rule, case_id: c, user_id, .. }
                if rule == "fraud_reports" && *c == case_id && *user_id == scammer)),
            "a fired rule is in the log: {events:?}"
        );
        let placed = events.iter().find_map(|e| match e {
            EventKind::FreezePlaced { amount, actor: None, .. } => *amount,
            _ => None,
        });
        assert_eq!(placed.map(|a| a.get()), Some(reported), "a precautionary freeze of every open report's sum");
        let case = h.world.case(case_id).unwrap().unwrap().clone();
        let reports = case.reports().count();
        let expected = reporters_min as usize + usize::from(reporters_min > 1) + usize::from(evidence_min > 0);
        assert_eq!(reports, expected, "every open report on the subject joins the case");
        assert_eq!(h.wallet(scammer).frozen, reported.min(h.wallet(scammer).balance));
    }
}

#[test]
fn a_report_cites_only_money_the_reporter_paid_the_subject_and_one_is_open_at_a_time() {
    let mut h = Harness::new();
    let (scammer, bystander) = (h.user(), h.user());
    let (alice, to_scammer) = victim(&mut h, scammer, 300);
    let (bob, to_bystander) = victim(&mut h, bystander, 300);
    let files = evidence(&mut h, 1);
    // Someone else's transfer, one to another user, or an id that does not exist: refused alike.
    for payment in [
        Payment::Transfer(to_bystander),
        Payment::Transfer(TransferId::mint(h.now, &mut h.rng)),
        Payment::Claim(hongbao_core::ClaimId::mint(h.now, &mut h.rng)),
    ] {
        let err = h.refused(report(alice, scammer, vec![payment], files.clone()));
        assert!(matches!(err, CoreError::InvalidRequest { .. }), "{payment:?}: {err:?}");
    }
    let err = h.refused(report(bob, scammer, vec![Payment::Transfer(to_scammer)], files.clone()));
    assert!(matches!(err, CoreError::InvalidRequest { .. }), "bob did not pay this: {err:?}");
    let err = h.refused(report(alice, alice, vec![Payment::Transfer(to_scammer)], files.clone()));
    assert!(matches!(err, CoreError::InvalidRequest { .. }));
    let twice = vec![Payment::Transfer(to_scammer), Payment::Transfer(to_scammer)];
    assert!(matches!(h.refused(report(alice, scammer, twice, files.clone())), CoreError::InvalidRequest { .. }));

    let r = filed(&mut h, report(alice, scammer, vec![Payment::Transfer(to_scammer)], files.clone()));
    assert_eq!((r.amount.get(), r.transfers.clone()), (300, vec![to_scammer]));
    let again = h.refused(report(alice, scammer, vec![Payment::Transfer(to_scammer)], files));
    assert!(matches!(again, CoreError::Conflict { .. }), "one open report per reporter and subject: {again:?}");

    // A claim on the reporter's packet is money paid too, cited by the claim or its transfer.
    let carol = h.user();
    for by_transfer in [false, true] {
        let sender = h.funded_user(10_000);
        let group = h.group(sender, &[scammer]);
        let spec =
            hongbao_core::PacketSpec::Normal { group_id: group, count: 1, amount_each: hongbao_core::Fen::new(88) };
        let packet = h.send(sender, spec, 0);
        let claim = h.claim(scammer, packet).claim_id;
        let cited =
            if by_transfer { Payment::Transfer(h.claim_record(claim).transfer_id) } else { Payment::Claim(claim) };
        let err = h.refused(report(carol, scammer, vec![cited], Vec::new()));
        assert!(matches!(err, CoreError::InvalidRequest { .. }), "carol sent no packet: {err:?}");
        let r = filed(&mut h, report(sender, scammer, vec![cited], Vec::new()));
        assert_eq!((r.amount.get(), r.transfers.clone()), (88, vec![h.claim_record(claim).transfer_id]));
    }
}

#[test]
fn closing_a_case_dismissed_releases_its_precautionary_freeze_and_closes_its_reports() {
    let mut limits = Limits::default();
    limits.risk.fraud_reports.reporters_min = 2;
    let mut h = Harness::with_limits(limits);
    let scammer = h.user();
    let mut reports = Vec::new();
    for fen in [400, 600] {
        let (v, paid) = victim(&mut h, scammer, fen);
        let files = evidence(&mut h, 1);
        reports.push(filed(&mut h, report(v, scammer, vec![Payment::Transfer(paid)], files)));
    }
    let case_id: CaseId = reports[1].case_id.expect("two reporters: the rule fires");
    assert_eq!(h.wallet(scammer).frozen, 1_000);

    let note = Command::AddCaseNote { officer: officer(), case: case_id, text: "called him; no answer".to_owned() };
    let Reply::Case(case) = h.ok(note) else { panic!("a note answers the case") };
    assert_eq!(
        case.timeline.last().map(|t| (t.action.as_str(), t.actor.clone())),
        Some(("note", officer().to_string()))
    );

    let close = |outcome| Command::CloseCase {
        officer: officer(),
        case: case_id,
        outcome,
        reason: "the payments were for a real sale".to_owned(),
    };
    let Reply::Case(case) = h.ok(close(CaseOutcome::Dismissed)) else { panic!("closing answers the case") };
    assert_eq!((case.is_open(), case.outcome), (false, Some(CaseOutcome::Dismissed)));
    assert_eq!(h.wallet(scammer).frozen, 0, "dismissed: its precautionary freeze is released");
    for r in &reports {
        assert!(!h.world.report(r.id).unwrap().unwrap().is_open(), "its reports close");
    }
    let events = logged(&mut h);
    assert!(events.iter().any(|e| matches!(e, EventKind::CaseClosed { outcome: CaseOutcome::Dismissed, .. })));
    assert!(events.iter().any(|e| matches!(e, EventKind::FreezeReleased { .. })));
    let err = h.refused(close(CaseOutcome::Upheld));
    assert!(matches!(&err, CoreError::InvalidState { reason, .. } if reason == "closed"), "{err:?}");

    // The reporters may report again; the rule opens a new case.
    let (v, paid) = victim(&mut h, scammer, 10);
    let files = evidence(&mut h, 1);
    filed(&mut h, report(v, scammer, vec![Payment::Transfer(paid)], files.clone()));
    let again =
        filed(&mut h, report(reports[0].reporter, scammer, vec![Payment::Transfer(reports[0].transfers[0])], files));
    let new_case = again.case_id.expect("a new case");
    assert_ne!(new_case, case_id);
}

/// The warning tiers at their thresholds and one below, as a table: (amount, payee age in
/// seconds, shares a group) → the codes, or the refusal.
#[test]
fn each_warning_tier_starts_at_its_threshold_and_not_one_below() {
    use hongbao_core::warning::WarningCode::{LargeAmount, NewAccount, NoSharedGroup};
    let week = 7 * 86_400;
    let table = [
        (499_999, week, true, vec![], false),
        (500_000, week, true, vec![LargeAmount], true),
        (100, week - 1, true, vec![NewAccount], false),
        (100, week, false, vec![NoSharedGroup], false),
        (500_000, 0, false, vec![LargeAmount, NoSharedGroup, NewAccount], true),
    ];
    for (fen, age_s, together, codes, confirm) in table {
        let mut h = Harness::new();
        let payer = h.funded_user(1_000_000);
        let payee = h.user();
        if together {
            h.group(payer, &[payee]);
        }
        h.advance_s(age_s);
        let command = |risk_confirmation| Command::Transfer {
            actor: payer,
            to: payee,
            amount: hongbao_core::Fen::new(fen),
            note: None,
            arrival_delay_s: 0,
            risk_confirmation,
        };
        let case = format!("{fen} fen to a payee {age_s} s old, together: {together}");
        match h.run(command(None)) {
            Ok(Reply::Transfer(receipt)) => {
                assert!(!confirm, "{case}: should ask to confirm");
                assert_eq!(receipt.warnings.iter().map(|w| w.code).collect::<Vec<_>>(), codes, "{case}");
            }
            Err(CoreError::RiskConfirmationRequired { warnings, confirmation }) => {
                assert!(confirm, "{case}: asked to confirm");
                assert_eq!(warnings.iter().map(|w| w.code).collect::<Vec<_>>(), codes, "{case}");
                let confirmed = Some(hongbao_core::warning::RiskConfirmation { id: confirmation });
                let Reply::Transfer(receipt) = h.ok(command(confirmed)) else { panic!("{case}") };
                assert_eq!(receipt.transfer_id.uuid(), confirmation, "the payment takes the confirmed id");
                let err = h.refused(command(confirmed));
                assert!(matches!(err, CoreError::Conflict { .. }), "{case}: spent, {err:?}");
            }
            other => panic!("{case}: {other:?}"),
        }
    }
}

/// `aml_fan_in` at its thresholds and not one below: distinct payers within the window, then a
/// withdrawal of at least the share of what arrived opens an aml case (nothing held).
#[test]
fn the_fan_in_rule_opens_a_case_at_its_thresholds_and_not_one_below() {
    // (payers needed, percent, payers who pay 100 fen each, withdrawn, pay before the window?)
    let table: [(u32, u32, usize, i64, bool, bool); 6] = [
        (3, 80, 3, 240, false, true),
        (3, 80, 3, 239, false, false),
        (3, 80, 2, 200, false, false),
        (3, 80, 3, 300, true, false),
        (50, 80, 50, 4_000, false, true),
        (50, 80, 49, 4_900, false, false),
    ];
    for (payers_min, percent, payers, withdrawn, early, fires) in table {
        let mut limits = Limits::default();
        limits.risk.aml_fan_in.payers_min = payers_min;
        limits.risk.aml_fan_in.withdrawn_percent_min = percent;
        let mut h = Harness::with_limits(limits);
        let mule = h.user();
        for _ in 0..payers {
            let payer = h.funded_user(1_000);
            h.transfer(payer, mule, 100, 0);
        }
        if early {
            h.advance_s(86_400 + 1);
        }
        h.world.take_changes();
        let reply = h.ok(Command::Withdraw { actor: mule, amount: hongbao_core::Fen::new(withdrawn) });
        assert!(matches!(reply, Reply::Moved(_)), "the withdrawal goes ahead");
        let events = logged(&mut h);
        let fired = events.iter().any(|e| matches!(e, EventKind::RuleFired { rule, .. } if rule == "aml_fan_in"));
        let case = format!(
            "{payers} payers (needed {payers_min}), {withdrawn} of {} fen withdrawn, early {early}",
            payers * 100
        );
        assert_eq!(fired, fires, "{case}");
        let open =
            h.world.cases().any(|c| c.subject == mule && c.kind == hongbao_core::case::CaseKind::Aml && c.is_open());
        assert_eq!(open, fires, "{case}");
        assert_eq!(h.wallet(mule).frozen, 0, "nothing is held: {case}");
    }
}
