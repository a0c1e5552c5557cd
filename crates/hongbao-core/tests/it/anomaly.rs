//! `anomaly_receipts_new_region`: a burst of receipts and a login from a region not seen lately,
//! within the hour of each other, in either order → an anomaly freeze of the whole wallet, a
//! lock and a case. At its thresholds and not one below, as a table.

use hongbao_core::case::{CaseItem, CaseKind};
use hongbao_core::error::FrozenReason;
use hongbao_core::event::EventKind;
use hongbao_core::freeze::FreezeStatus;
use hongbao_core::risk::FreezeKind;
use hongbao_core::signal::Signal;
use hongbao_core::user::UserStatus;
use hongbao_core::warning::WarningCode;
use hongbao_core::{Command, CoreError, Fen, PacketSpec, Reply, UserId};

use crate::support::Harness;

const DAY_S: u32 = 86_400;

fn login(user: UserId, region: &str) -> Command {
    Command::RecordSignal { user, signal: Signal::Login { region: region.to_owned(), device_id: "phone".to_owned() } }
}

/// Sends the signal; answers whether the region was new and whether the rule fired.
fn signal(h: &mut Harness, user: UserId, region: &str) -> (bool, bool) {
    match h.ok(login(user, region)) {
        Reply::Signal(accepted) => (accepted.new_region, accepted.case_id.is_some()),
        other => panic!("a signal answered {other:?}"),
    }
}

/// What the anomaly rule did to `user` so far: whether a case is open about them.
fn fired(h: &Harness, user: UserId) -> bool {
    h.world.cases().any(|c| c.subject == user && c.kind == CaseKind::Anomaly && c.is_open())
}

/// `count` receipts for `mule`, `step_s` apart: transfers and claims of exclusive packets in
/// turn (both count), each of 100 fen from its own payer.
fn receipts(h: &mut Harness, mule: UserId, count: u32, step_s: u32) {
    for i in 0..count {
        if i > 0 {
            h.advance_s(step_s);
        }
        let payer = h.funded_user(1_000);
        if i % 2 == 0 {
            h.transfer(payer, mule, 100, 0);
        } else {
            let packet = h.send(payer, PacketSpec::Exclusive { recipient: mule, amount: Fen::new(100) }, 0);
            h.claim(mule, packet);
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Before {
    /// No login ever: the first one is from a region not seen.
    Nothing,
    /// A login from another region the day before.
    Elsewhere,
    /// A login from the same region this many days before.
    Here(u32),
}

#[test]
fn the_anomaly_rule_fires_at_its_thresholds_and_not_one_below_in_either_order() {
    // (receipts, seconds between them, what came before, login first?, seconds between the
    // login and the burst's last receipt, fires?)
    let table: [(u32, u32, Before, bool, u32, bool); 16] = [
        (30, 10, Before::Nothing, true, 300, true),
        (29, 10, Before::Nothing, true, 300, false),
        (30, 10, Before::Elsewhere, true, 300, true),
        (30, 10, Before::Here(30), true, 300, true),
        (30, 10, Before::Here(29), true, 300, false),
        (30, 10, Before::Nothing, false, 60, true),
        (29, 10, Before::Nothing, false, 60, false),
        (30, 10, Before::Here(30), false, 60, true),
        (30, 10, Before::Here(29), false, 60, false),
        // Within the same hour, and not a second more.
        (30, 10, Before::Elsewhere, true, 3_600, true),
        (30, 10, Before::Elsewhere, true, 3_601, false),
        (30, 10, Before::Elsewhere, false, 3_600, true),
        (30, 10, Before::Elsewhere, false, 3_601, false),
        // Within ten minutes: 30 receipts 20 s apart span 580 s; 21 s apart, 609 s.
        (30, 20, Before::Nothing, true, 600, true),
        (30, 21, Before::Nothing, true, 609, false),
        (30, 21, Before::Nothing, false, 60, false),
    ];
    for (count, step_s, before, login_first, apart_s, fires) in table {
        let case = format!("{count} receipts {step_s} s apart, {before:?}, login first {login_first}, {apart_s} s");
        let mut h = Harness::new();
        let mule = h.funded_user(5_000);
        let span_s = step_s * (count - 1);
        // The login the region was seen by before, so that the one that counts is `days` later.
        match before {
            Before::Nothing => {}
            Before::Elsewhere => {
                signal(&mut h, mule, "BJ");
                h.advance_s(DAY_S);
            }
            Before::Here(days) => {
                signal(&mut h, mule, "GD");
                let wait = days * DAY_S - if login_first { 0 } else { apart_s + span_s };
                h.advance_s(wait);
            }
        }
        let (new_region, by_signal) = if login_first {
            let answer = signal(&mut h, mule, "GD");
            h.advance_s(apart_s - span_s);
            receipts(&mut h, mule, count, step_s);
            answer
        } else {
            receipts(&mut h, mule, count, step_s);
            h.advance_s(apart_s);
            signal(&mut h, mule, "GD")
        };
        assert_eq!(new_region, !matches!(before, Before::Here(29)), "{case}");
        assert_eq!(fired(&h, mule), fires, "{case}");
        assert_eq!(by_signal, fires && !login_first, "{case}: the signal fired it");
        let received = 5_000 + 100 * i64::from(count);
        let wallet = h.wallet(mule);
        assert_eq!(wallet.balance, received, "{case}: every receipt arrived");
        let status = h.world.user(mule).unwrap().unwrap().status;
        if !fires {
            assert_eq!((wallet.frozen, status), (0, UserStatus::Active), "{case}");
            continue;
        }
        // Fired: the whole wallet held (the receipt that fired it too), the user locked.
        assert_eq!((wallet.frozen, status), (received, UserStatus::Locked), "{case}");
        let freezes: Vec<_> = h.world.freezes().filter(|f| f.user_id == mule).collect();
        assert_eq!(freezes.len(), 1, "{case}");
        let freeze = freezes[0];
        assert_eq!(
            (freeze.kind, freeze.amount, freeze.created_by, freeze.expires_at),
            (FreezeKind::Anomaly, None, None, None)
        );
        let case_of = h.world.cases().find(|c| c.subject == mule).unwrap();
        assert!(case_of.items.contains(&CaseItem::Freeze { freeze_id: freeze.id }), "{case}");
        assert!(
            case_of
                .items
                .iter()
                .any(|i| matches!(i, CaseItem::RuleHit { rule, .. } if rule == "anomaly_receipts_new_region")),
            "{case}"
        );
    }
}

#[test]
fn once_fired_the_holder_can_neither_pay_nor_claim_nor_be_paid_and_it_fires_once() {
    let mut h = Harness::new();
    let mule = h.funded_user(1_000);
    let friend = h.funded_user(10_000);
    signal(&mut h, mule, "GD");
    receipts(&mut h, mule, 29, 1);
    let packet = h.send(friend, PacketSpec::Exclusive { recipient: mule, amount: Fen::new(100) }, 7_200);
    h.world.take_changes();
    // The 30th, a claim that arrives in two hours: the freeze holds it when it does.
    let pending = h.claim(mule, packet);
    let share = h.claim_record(pending.claim_id).transfer_id;
    let events: Vec<EventKind> = h.world.take_changes().events.into_iter().map(|e| e.what).collect();
    let names: Vec<&str> = events.iter().map(EventKind::name).collect();
    assert_eq!(names, ["packet_claimed", "freeze_placed", "user_locked", "rule_fired"], "one entry says it all");
    assert!(matches!(&events[2], EventKind::UserLocked { actor: None, .. }), "locked by no officer");
    let held = h.wallet(mule).frozen;
    assert_eq!(held, 1_000 + 29 * 100, "what had arrived");
    h.advance_s(7_200);
    h.settle(share);
    assert_eq!(h.wallet(mule).frozen, held + 100, "the pending share is held as it arrives");

    let locked = h.refused(Command::Withdraw { actor: mule, amount: Fen::new(1) });
    assert!(matches!(locked, CoreError::AccountFrozen { reason: FrozenReason::Locked }), "{locked:?}");
    // A group packet is not rated, but the holder may not claim it.
    let group = h.group(friend, &[mule]);
    let another = h.send(friend, PacketSpec::Normal { group_id: group, count: 1, amount_each: Fen::new(100) }, 0);
    let claim = h.refused(Command::ClaimPacket { actor: mule, packet: another });
    assert!(matches!(claim, CoreError::AccountFrozen { .. }), "{claim:?}");
    let pay = Command::Transfer {
        actor: friend,
        to: mule,
        amount: Fen::new(100),
        note: None,
        arrival_delay_s: 0,
        risk_confirmation: None,
    };
    match h.refused(pay) {
        CoreError::RiskBlocked { warnings } => assert_eq!(warnings[0].code, WarningCode::PayeeHeld),
        other => panic!("{other:?}"),
    }
    // Another new region with the case open: no second case, no second freeze.
    assert_eq!(signal(&mut h, mule, "XJ"), (true, false));
    assert_eq!(h.world.cases().filter(|c| c.subject == mule).count(), 1);
    assert_eq!(h.world.freezes().filter(|f| f.user_id == mule && f.status == FreezeStatus::Active).count(), 1);
}

#[test]
fn a_signal_for_nobody_or_with_a_bad_region_is_refused_and_a_disabled_rule_does_nothing() {
    let mut h = Harness::new();
    let nobody = h.unknown_user();
    assert!(matches!(h.refused(login(nobody, "GD")), CoreError::NotFound { .. }));
    let mule = h.funded_user(1_000);
    for region in ["", "  ", "a\u{202E}b", &"x".repeat(65)] {
        assert!(matches!(h.refused(login(mule, region)), CoreError::InvalidRequest { .. }), "{region:?}");
    }
    let mut limits = hongbao_core::Limits::default();
    limits.risk.anomaly_receipts_new_region.enabled = false;
    let mut h = Harness::with_limits(limits);
    let mule = h.funded_user(1_000);
    signal(&mut h, mule, "GD");
    receipts(&mut h, mule, 40, 1);
    assert!(!fired(&h, mule));
    assert_eq!(h.wallet(mule).frozen, 0);
}
