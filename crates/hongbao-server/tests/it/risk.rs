//! Risk control and legal holds over HTTP (docs/API.md "Risk control and legal holds"): locks.

use hongbao_client::{Client, PacketOptions, RawRequest, TransferOptions};
use hongbao_core::principal::Role;
use hongbao_core::user::UserStatus;
use hongbao_core::{Fen, UserId};
use serde_json::Value;

use crate::support::{TestApp, exclusive, json, normal, pair, refused, send, snapshot, spawn_app};

/// A new operator with `roles`, and a client signing as them.
pub async fn officer(app: &TestApp, name: &str, roles: &[Role]) -> Client {
    let created = app.root.create_operator(name, roles).send().await.expect("create operator");
    app.root.for_operator(&created)
}

/// The decoded events of the whole log whose `type` is `kind`, as an auditor (root) reads them.
pub async fn logged_events(app: &TestApp, kind: &str) -> Vec<Value> {
    let page = json(&app.root.send(RawRequest::get("/v1/audit/entries?limit=1000")).await.expect("entries"));
    assert_eq!(page["next"], Value::Null, "the test's log fits one page");
    let entries = page["entries"].as_array().expect("entries");
    entries.iter().map(|entry| entry["decoded"]["event"].clone()).filter(|event| event["type"] == kind).collect()
}

#[tokio::test]
async fn a_locked_user_is_refused_every_payment_and_claim_as_locked_but_still_receives_money() {
    let app = spawn_app().await;
    let p = pair(&app, 10_000, 1_000).await;
    let risk = officer(&app, "risk desk", &[Role::RiskOfficer]).await;
    let kept = send(&p.alice, &exclusive(p.bob_id, 100)).await.packet_id;
    let claim = p.bob.claim(kept).send().await.unwrap().claim_id;
    let waiting = send(&p.alice, &exclusive(p.bob_id, 50)).await.packet_id;

    let locked = risk.lock_user(p.bob_id, "three fraud reports with evidence").send().await.unwrap();
    assert_eq!((locked.user_id, locked.status), (p.bob_id, UserStatus::Locked));
    assert_eq!(p.bob.me().send().await.unwrap().status, UserStatus::Locked);

    let before = snapshot(&[&p.alice, &p.bob], &p.alice, &[kept, waiting]).await;
    let no_options = TransferOptions::default();
    let refusals = [
        refused(
            p.bob.send_packet(&normal(p.group, 1, 10), &PacketOptions::default()).send().await,
            423,
            "account_frozen",
        ),
        refused(p.bob.transfer(p.alice_id, Fen::new(10), &no_options).send().await, 423, "account_frozen"),
        refused(p.bob.withdraw(Fen::new(10)).send().await, 423, "account_frozen"),
        refused(p.bob.claim(waiting).send().await, 423, "account_frozen"),
        refused(p.bob.return_claim(claim).send().await, 423, "account_frozen"),
    ];
    for error in refusals {
        assert_eq!(error["reason"], "locked", "{error}");
        assert!(error["message"].as_str().unwrap().contains("locked by risk control"), "{error}");
    }
    assert_eq!(snapshot(&[&p.alice, &p.bob], &p.alice, &[kept, waiting]).await, before, "a refusal changes nothing");

    // Money arriving is not paying.
    p.alice.transfer(p.bob_id, Fen::new(200), &no_options).send().await.unwrap();
    app.root.deposit(p.bob_id, Fen::new(300)).send().await.unwrap();
    assert_eq!(app.balance(&p.bob).await, Fen::new(1_000 + 100 + 200 + 300));

    let unlocked = risk.unlock_user(p.bob_id, "cleared after review").send().await.unwrap();
    assert_eq!(unlocked.status, UserStatus::Active);
    p.bob.claim(waiting).send().await.unwrap();
    p.bob.withdraw(Fen::new(10)).send().await.unwrap();
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_lock_and_an_unlock_are_each_one_log_entry_naming_the_officer_and_the_reason() {
    let app = spawn_app().await;
    let (_, bob) = app.user("bob", 0).await;
    let risk = officer(&app, "risk desk", &[Role::RiskOfficer]).await;
    risk.lock_user(bob.user_id, "anomalous receipts").send().await.unwrap();
    // Locking a locked user changes nothing and logs nothing.
    let again = risk.lock_user(bob.user_id, "asked twice").send().await.unwrap();
    assert_eq!(again.status, UserStatus::Locked);
    risk.unlock_user(bob.user_id, "the app confirmed the logins").send().await.unwrap();

    let locks = logged_events(&app, "user_locked").await;
    let unlocks = logged_events(&app, "user_unlocked").await;
    assert_eq!(locks.len(), 1, "{locks:?}");
    assert_eq!(unlocks.len(), 1, "{unlocks:?}");
    for (event, reason) in [(&locks[0], "anomalous receipts"), (&unlocks[0], "the app confirmed the logins")] {
        assert_eq!(event["user_id"], bob.user_id.to_string(), "{event}");
        assert_eq!(event["actor"], risk.key_id(), "{event}");
        assert_eq!(event["reason"], reason, "{event}");
    }
}

#[tokio::test]
async fn only_a_risk_officer_locks_and_only_with_a_reason() {
    let app = spawn_app().await;
    let (alice, created) = app.user("alice", 0).await;
    let bob: UserId = app.user("bob", 0).await.1.user_id;
    let risk = officer(&app, "risk desk", &[Role::RiskOfficer]).await;
    let others = [
        alice.clone(),
        officer(&app, "legal desk", &[Role::LegalOfficer]).await,
        officer(&app, "admin desk", &[Role::Admin]).await,
        officer(&app, "audit desk", &[Role::Auditor]).await,
    ];
    for who in &others {
        let error = refused(who.lock_user(bob, "because").send().await, 403, "forbidden");
        assert!(error["message"].as_str().unwrap().contains("risk_officer"), "{error}");
        refused(who.unlock_user(bob, "because").send().await, 403, "forbidden");
    }
    for reason in ["", "   ", &"x".repeat(501)] {
        let error = refused(risk.lock_user(bob, reason).send().await, 400, "invalid_request");
        assert!(error["message"].as_str().unwrap().contains("reason"), "{error}");
    }
    let no_reason = risk.send(RawRequest::post(format!("/v1/users/{bob}/lock")).body("{}")).await.unwrap();
    assert_eq!(no_reason.status, 400, "{}", no_reason.text());
    let unknown = "usr_0190f0a0b0c0d0e0f000000000000000".parse().unwrap();
    refused(risk.lock_user(unknown, "because").send().await, 404, "not_found");
    // Nothing above locked anyone, and a 500-character reason is enough.
    assert_eq!(alice.me().send().await.unwrap().status, UserStatus::Active);
    assert!(logged_events(&app, "user_locked").await.is_empty());
    risk.lock_user(created.user_id, &"x".repeat(500)).send().await.unwrap();
    assert_eq!(alice.me().send().await.unwrap().status, UserStatus::Locked);
}

#[tokio::test]
async fn any_operator_reads_the_rules_in_force_and_a_user_may_not() {
    let app = spawn_app().await;
    let (alice, _) = app.user("alice", 0).await;
    let auditor = officer(&app, "audit desk", &[Role::Auditor]).await;
    let rules = auditor.risk_rules().send().await.unwrap();
    assert_eq!(rules, hongbao_core::risk::RiskRules::default());
    let raw = json(&auditor.risk_rules().send_raw().await.unwrap());
    assert_eq!(raw["fraud_reports"]["reporters_min"], 3, "{raw}");
    assert_eq!(raw["freezes"]["police"]["major_case_term_max_s"], 365 * 24 * 3600, "{raw}");
    assert_eq!(raw["warnings"]["confirm_amount_min_fen"], 500_000, "{raw}");
    refused(alice.risk_rules().send().await, 403, "forbidden");

    let mut settings = hongbao_server::run::Settings::default();
    settings.limits.risk.fraud_reports.reporters_min = 5;
    settings.limits.risk.anomaly_receipts_new_region.enabled = false;
    let configured = crate::support::spawn_app_with(settings, false).await;
    let rules = configured.root.risk_rules().send().await.unwrap();
    assert_eq!((rules.fraud_reports.reporters_min, rules.anomaly_receipts_new_region.enabled), (5, false));
}
