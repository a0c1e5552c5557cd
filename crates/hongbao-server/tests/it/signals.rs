//! Risk signals and the anomaly rule over HTTP (docs/API.md "`POST /v1/risk/signals`"): a login
//! from a new region and a burst of receipts within the hour, in either order, hold the whole
//! wallet, lock the user and open a case; paying them is then `403 risk_blocked` (`payee_held`).

use hongbao_client::{Client, RawRequest, TransferOptions};
use hongbao_core::case::{CaseKind, CaseStatus};
use hongbao_core::principal::Role;
use hongbao_core::risk::FreezeKind;
use hongbao_core::signal::Signal;
use hongbao_core::user::UserStatus;
use hongbao_core::{Fen, UserId};
use serde_json::json;

use crate::risk::{logged_events, officer};
use crate::support::{TestApp, exclusive, json, raw_refused, refused, send, spawn_app};

fn login(region: &str) -> Signal {
    Signal::Login { region: region.to_owned(), device_id: "iPhone 15".to_owned() }
}

/// `count` receipts of 100 fen for `mule`, each from a payer of its own: transfers and claims
/// of exclusive packets in turn.
async fn receipts(app: &TestApp, mule: &Client, mule_id: UserId, prefix: &str, count: usize) {
    let payers = app.users(prefix, count).await;
    for (i, (payer, created)) in payers.iter().enumerate() {
        app.root.deposit(created.user_id, Fen::new(1_000)).send().await.unwrap();
        if i % 2 == 0 {
            payer.transfer(mule_id, Fen::new(100), &TransferOptions::default()).send().await.unwrap();
        } else {
            let packet = send(payer, &exclusive(mule_id, 100)).await.packet_id;
            mule.claim(packet).send().await.unwrap();
        }
    }
}

#[tokio::test]
async fn a_signal_is_taken_by_an_admin_only_and_bad_ones_are_refused() {
    let app = spawn_app().await;
    let (user, created) = app.user("alice", 0).await;
    let id = created.user_id;
    let first = app.root.risk_signal(id, &login("CN-GD")).send().await.unwrap();
    assert!(first.new_region && first.case_id.is_none(), "a first login is from a region not seen: {first:?}");
    let again = app.root.risk_signal(id, &login("CN-GD")).send().await.unwrap();
    assert!(!again.new_region, "seen a moment ago");
    assert!(app.root.risk_signal(id, &login("CN-BJ")).send().await.unwrap().new_region);

    let body = |value: serde_json::Value| RawRequest::post("/v1/risk/signals").json(&value);
    let answer = app.root.send(body(json!({"user_id": id, "kind": "login", "region": "HK", "device_id": "d"}))).await;
    assert_eq!(answer.as_ref().unwrap().status.as_u16(), 202, "202 Accepted");
    assert_eq!(json(&answer.unwrap())["new_region"], true);
    for bad in [
        json!({"user_id": id, "kind": "logout", "region": "HK", "device_id": "d"}),
        json!({"user_id": id, "kind": "login", "region": " ", "device_id": "d"}),
        json!({"user_id": id, "kind": "login", "region": "x".repeat(65), "device_id": "d"}),
        json!({"user_id": id, "kind": "login", "region": "HK"}),
        json!({"user_id": id, "kind": "login", "region": "HK", "device_id": "d", "ip": "1.2.3.4"}),
    ] {
        raw_refused(&app.root.send(body(bad.clone())).await.unwrap(), 400, "invalid_request");
    }
    let nobody = "usr_0190f0a0b0c0d0e0f000000000000099".parse().unwrap();
    refused(app.root.risk_signal(nobody, &login("HK")).send().await, 404, "not_found");
    refused(user.risk_signal(id, &login("HK")).send().await, 403, "forbidden");
    let risk = officer(&app, "risk desk", &[Role::RiskOfficer]).await;
    refused(risk.risk_signal(id, &login("HK")).send().await, 403, "forbidden");
    assert!(logged_events(&app, "rule_fired").await.is_empty(), "a plain signal is not a log entry");
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_burst_after_a_login_from_a_new_region_holds_the_wallet_locks_the_user_and_opens_a_case() {
    let app = spawn_app().await;
    let (mule, created) = app.user("mule", 500).await;
    let mule_id = created.user_id;
    app.root.risk_signal(mule_id, &login("CN-XJ")).send().await.unwrap();
    receipts(&app, &mule, mule_id, "payer", 29).await;
    let risk = officer(&app, "risk desk", &[Role::RiskOfficer]).await;
    assert!(risk.cases(None, Some(CaseKind::Anomaly)).send().await.unwrap().is_empty(), "29: not yet");
    assert_eq!(mule.me().send().await.unwrap().frozen, Fen::ZERO);

    // The 30th: it arrives, and then everything is held.
    let (last, _) = app.user("the 30th", 1_000).await;
    last.transfer(mule_id, Fen::new(100), &TransferOptions::default()).send().await.unwrap();
    let me = mule.me().send().await.unwrap();
    assert_eq!((me.status, me.balance, me.frozen), (UserStatus::Locked, Fen::new(3_500), Fen::new(3_500)));
    let cases = risk.cases(Some(CaseStatus::Open), Some(CaseKind::Anomaly)).send().await.unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].subject, mule_id);
    let freezes = risk.freezes(Some(mule_id), None, None).send().await.unwrap();
    assert_eq!(freezes.len(), 1);
    assert_eq!((freezes[0].kind, freezes[0].amount, freezes[0].held), (FreezeKind::Anomaly, None, Fen::new(3_500)));
    let fired = logged_events(&app, "rule_fired").await;
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0]["rule"], "anomaly_receipts_new_region");
    let locked = logged_events(&app, "user_locked").await;
    assert!(locked.len() == 1 && locked[0].get("actor").is_none(), "locked by the rule, no officer: {locked:?}");

    // Now: the holder can neither pay nor claim, and nobody may pay them.
    refused(mule.withdraw(Fen::new(1)).send().await, 423, "account_frozen");
    let error =
        refused(last.transfer(mule_id, Fen::new(100), &TransferOptions::default()).send().await, 403, "risk_blocked");
    assert_eq!(error["warnings"][0]["code"], "payee_held");
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_login_from_a_new_region_after_a_burst_fires_the_rule_in_its_own_answer() {
    let app = spawn_app().await;
    let (mule, created) = app.user("mule", 0).await;
    let mule_id = created.user_id;
    // Seen here before: a login from the same region is not new, and fires nothing.
    app.root.risk_signal(mule_id, &login("CN-GD")).send().await.unwrap();
    app.root.dev_clock(2 * 3_600).send().await.unwrap();
    receipts(&app, &mule, mule_id, "payer", 30).await;
    let same = app.root.risk_signal(mule_id, &login("CN-GD")).send().await.unwrap();
    assert!(!same.new_region && same.case_id.is_none());
    assert_eq!(mule.me().send().await.unwrap().status, UserStatus::Active);
    let elsewhere = app.root.risk_signal(mule_id, &login("MM-Shan")).send().await.unwrap();
    assert!(elsewhere.new_region);
    let case = elsewhere.case_id.expect("the rule fired");
    let risk = officer(&app, "risk desk", &[Role::RiskOfficer]).await;
    let case = risk.case(case).send().await.unwrap();
    assert_eq!((case.subject, case.kind), (mule_id, CaseKind::Anomaly));
    let me = mule.me().send().await.unwrap();
    assert_eq!((me.status, me.frozen), (UserStatus::Locked, Fen::new(3_000)));
    // A third region with the case open: no second case.
    assert!(app.root.risk_signal(mule_id, &login("TH")).send().await.unwrap().case_id.is_none());
    app.assert_invariants().await;
}
