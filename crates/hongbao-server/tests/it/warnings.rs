//! Tiered warnings over HTTP (docs/API.md "Tiered warnings"): a notice goes ahead with its
//! warnings; a confirm is `409 risk_confirmation_required` with a token bound to the key and the
//! request, spent by the payment; a block is `403 risk_blocked`.

use hongbao_client::{Client, PacketOptions, TransferOptions};
use hongbao_core::case::Payment;
use hongbao_core::principal::Role;
use hongbao_core::{Fen, UserId};
use hongbao_wire::FileReportRequest;
use serde_json::Value;

use crate::risk::logged_events;
use crate::support::{TestApp, exclusive, refused, spawn_app};

/// The token and warnings of a `409 risk_confirmation_required`.
fn confirmation(error: &Value) -> (String, Vec<String>) {
    let codes = error["warnings"].as_array().expect("warnings").iter().map(|w| w["code"].as_str().unwrap().to_owned());
    assert!(error["expires_at"].is_string(), "{error}");
    (error["confirmation_token"].as_str().expect("a token").to_owned(), codes.collect())
}

fn with_token(token: &str) -> TransferOptions {
    TransferOptions { risk_confirmation: Some(token.to_owned()), ..TransferOptions::default() }
}

/// alice (rich) and bob, who share a group; bob's account is a week old by the dev clock.
async fn known_pair(app: &TestApp) -> (Client, Client, UserId) {
    let (alice, _) = app.user("alice", 2_000_000).await;
    let (bob, b) = app.user("bob", 0).await;
    alice.create_group("family", &[b.user_id]).send().await.unwrap();
    app.root.dev_clock(7 * 86_400).send().await.unwrap();
    (alice, bob, b.user_id)
}

#[tokio::test]
async fn a_notice_goes_ahead_and_says_why() {
    let app = spawn_app().await;
    let (alice, _) = app.user("alice", 10_000).await;
    let (_, stranger) = app.user("stranger", 0).await;
    let receipt = alice.transfer(stranger.user_id, Fen::new(100), &TransferOptions::default()).send().await.unwrap();
    let codes: Vec<&str> = receipt.warnings.iter().map(|w| w.code.as_str()).collect();
    assert_eq!(codes, ["no_shared_group", "new_account"], "a stranger with a new account");
    // Known, and a week old: nothing to say.
    let (alice, _bob, bob_id) = known_pair(&app).await;
    let receipt = alice.transfer(bob_id, Fen::new(100), &TransferOptions::default()).send().await.unwrap();
    assert!(receipt.warnings.is_empty(), "{:?}", receipt.warnings);
}

#[tokio::test]
async fn a_large_amount_asks_for_a_confirmation_that_pays_once_for_this_key_and_request_only() {
    let app = spawn_app().await;
    let (alice, bob, bob_id) = known_pair(&app).await;
    let (eve, _) = app.user("eve", 2_000_000).await;
    let options = TransferOptions::default();

    // One fen below the threshold goes ahead; at it, a confirmation is asked for.
    let below = alice.transfer(bob_id, Fen::new(499_999), &options).send().await.unwrap();
    assert!(below.warnings.is_empty());
    let error =
        refused(alice.transfer(bob_id, Fen::new(500_000), &options).send().await, 409, "risk_confirmation_required");
    let (token, codes) = confirmation(&error);
    assert_eq!(codes, ["large_amount"]);
    assert_eq!(app.balance(&bob).await, Fen::new(499_999), "nothing moved");

    // Another amount, another payee, another key: the token does not verify.
    refused(alice.transfer(bob_id, Fen::new(500_001), &with_token(&token)).send().await, 400, "invalid_request");
    refused(eve.transfer(bob_id, Fen::new(500_000), &with_token(&token)).send().await, 400, "invalid_request");
    refused(alice.transfer(bob_id, Fen::new(500_000), &with_token("hbrc1.x.y.z")).send().await, 400, "invalid_request");

    // The same request with it pays, and the log says the payer was warned and went on.
    let paid = alice.transfer(bob_id, Fen::new(500_000), &with_token(&token)).send().await.unwrap();
    assert_eq!(app.balance(&bob).await, Fen::new(999_999));
    let confirmed = logged_events(&app, "risk_confirmed").await;
    assert_eq!(confirmed.len(), 1);
    assert_eq!(confirmed[0]["amount"], 500_000);
    assert_eq!(confirmed[0]["warnings"], serde_json::json!(["large_amount"]));
    assert_eq!(
        confirmed[0]["id"].as_str().map(|id| id.replace('-', "")),
        Some(paid.transfer_id.to_string()[4..].to_owned())
    );
    // Replayed, it is spent.
    let again = alice.transfer(bob_id, Fen::new(500_000), &with_token(&token)).send().await;
    refused(again, 409, "conflict");
    assert_eq!(app.balance(&bob).await, Fen::new(999_999), "paid once");

    // A token past its ten minutes is asked for again.
    let error =
        refused(alice.transfer(bob_id, Fen::new(600_000), &options).send().await, 409, "risk_confirmation_required");
    let (late, _) = confirmation(&error);
    app.root.dev_clock(601).send().await.unwrap();
    let error = refused(
        alice.transfer(bob_id, Fen::new(600_000), &with_token(&late)).send().await,
        409,
        "risk_confirmation_required",
    );
    assert_ne!(confirmation(&error).0, late, "a fresh token");
}

#[tokio::test]
async fn a_reported_payee_is_confirmed_and_one_under_a_fraud_case_is_blocked() {
    let app = spawn_app().await;
    let (alice, _) = app.user("alice", 100_000).await;
    let (_, scammer) = app.user("scammer", 0).await;
    let scammer = scammer.user_id;
    let mut victims = Vec::new();
    for i in 0..3 {
        let (victim, _) = app.user(&format!("victim {i}"), 10_000).await;
        let paid = victim.transfer(scammer, Fen::new(100), &TransferOptions::default()).send().await.unwrap();
        let png = [&b"\x89PNG\r\n\x1a\n"[..], &[i]].concat();
        let file = victim.upload_evidence(hongbao_core::evidence::ContentType::Png, png).send().await.unwrap();
        victims.push((victim, paid.transfer_id, file.evidence_id));
    }
    let report = |paid, file| FileReportRequest {
        subject: scammer,
        transfers: vec![Payment::Transfer(paid)],
        description: "took my money".to_owned(),
        evidence: vec![file],
    };
    victims[0].0.file_report(&report(victims[0].1, victims[0].2)).send().await.unwrap();

    // Reported: an exclusive packet to them asks for a confirmation, and goes ahead with it.
    let spec = exclusive(scammer, 888);
    let error =
        refused(alice.send_packet(&spec, &PacketOptions::default()).send().await, 409, "risk_confirmation_required");
    let (token, codes) = confirmation(&error);
    assert_eq!(codes, ["payee_reported", "no_shared_group", "new_account"]);
    let confirmed = PacketOptions { risk_confirmation: Some(token.clone()), ..PacketOptions::default() };
    let packet = alice.send_packet(&spec, &confirmed).send().await.unwrap();
    assert_eq!(packet.recipient, Some(scammer));
    refused(alice.send_packet(&spec, &confirmed).send().await, 409, "conflict");

    // Three reporters with evidence: a fraud case; now nobody may pay them.
    for (victim, paid, file) in &victims[1..] {
        victim.file_report(&report(*paid, *file)).send().await.unwrap();
    }
    let error =
        refused(alice.transfer(scammer, Fen::new(100), &TransferOptions::default()).send().await, 403, "risk_blocked");
    assert_eq!(error["warnings"][0]["code"], "payee_under_investigation");
    refused(alice.send_packet(&spec, &PacketOptions::default()).send().await, 403, "risk_blocked");
    // Money still reaches them by other ways (a claim on a group packet is not rated).
    let risk = crate::risk::officer(&app, "risk desk", &[Role::RiskOfficer]).await;
    assert!(!risk.cases(None, None).send().await.unwrap().is_empty());
}
