//! Forced transfers with four eyes over HTTP (docs/API.md "Four eyes"): the proposer cannot
//! approve; an approval re-checks everything; two approvals at once move the money once.

use hongbao_client::Client;
use hongbao_core::Fen;
use hongbao_core::principal::Role;
use hongbao_core::risk::FreezeKind;
use hongbao_core::seizure::{SeizureStatus, SeizureTarget};
use hongbao_wire::{PlaceFreezeRequest, ProposeSeizureRequest, ReleaseFreezeRequest};
use serde_json::json;

use crate::risk::{logged_events, officer};
use crate::support::{Pair, TestApp, pair, refused, spawn_app};

struct Court {
    first: Client,
    second: Client,
    order: hongbao_core::DocumentId,
    lifted: hongbao_core::DocumentId,
    freeze: hongbao_core::FreezeId,
}

async fn registered(by: &Client, kind: &str) -> hongbao_core::DocumentId {
    let body = json!({
        "kind": kind,
        "authority": "深圳市南山区人民法院",
        "reference": format!("(2026)粤0305执{kind}"),
        "issued_at": "2026-01-05T09:30:00.000Z",
        "sha256": "cd".repeat(32),
        "confidential": false,
    });
    let answer: hongbao_wire::DocumentRegistered =
        by.send(hongbao_client::RawRequest::post("/v1/documents").json(&body)).await.unwrap().json().unwrap();
    answer.document_id
}

/// Two legal officers, and a court freeze of all 1 000 fen bob has.
async fn court(app: &TestApp, p: &Pair) -> Court {
    let first = officer(app, "legal desk one", &[Role::LegalOfficer]).await;
    let second = officer(app, "legal desk two", &[Role::LegalOfficer]).await;
    let documents = vec![registered(&first, "court_ruling").await, registered(&first, "assistance_notice").await];
    let place = PlaceFreezeRequest {
        user_id: p.bob_id,
        kind: FreezeKind::Court,
        amount: None,
        reason: "fraud".to_owned(),
        documents,
        expires_at: None,
        major_case: false,
    };
    let freeze = first.place_freeze(&place).send().await.unwrap().freeze_id;
    let order = registered(&first, "transfer_order").await;
    let lifted = registered(&first, "release_notice").await;
    Court { first, second, order, lifted, freeze }
}

fn proposal(c: &Court, amount: i64, to: SeizureTarget) -> ProposeSeizureRequest {
    ProposeSeizureRequest {
        freeze_id: c.freeze,
        amount,
        to,
        reason: "the court ordered the money returned".to_owned(),
        documents: vec![c.order],
    }
}

#[tokio::test]
async fn a_forced_transfer_moves_frozen_money_only_when_a_second_legal_officer_approves() {
    let app = spawn_app().await;
    let p = pair(&app, 0, 1_000).await;
    let c = court(&app, &p).await;
    let proposed = c.first.propose_seizure(&proposal(&c, 600, SeizureTarget::User(p.alice_id))).send().await.unwrap();
    assert_eq!(
        (proposed.status, proposed.proposed_by.to_string()),
        (SeizureStatus::AwaitingApproval, c.first.key_id().to_owned())
    );
    assert_eq!(proposed.expires_at.millis() - proposed.proposed_at.millis(), 72 * 3_600 * 1_000);
    let inbox = c.second.seizures(Some(SeizureStatus::AwaitingApproval)).send().await.unwrap();
    assert_eq!(inbox, vec![proposed.clone()]);

    let refusal = refused(c.first.approve_seizure(proposed.seizure_id).send().await, 403, "forbidden");
    assert_eq!(refusal["reason"], "four_eyes");
    let risk = officer(&app, "risk desk", &[Role::RiskOfficer, Role::Auditor]).await;
    refused(risk.approve_seizure(proposed.seizure_id).send().await, 403, "forbidden");
    refused(risk.propose_seizure(&proposal(&c, 1, SeizureTarget::External)).send().await, 403, "forbidden");
    refused(p.bob.seizures(None).send().await, 403, "forbidden");
    assert_eq!(risk.seizures(None).send().await.unwrap().len(), 1, "an auditor reads the inbox");
    assert_eq!(app.balance(&p.alice).await, Fen::ZERO, "nothing moved yet");

    // Two approvals at once: the money moves once.
    let (one, two) = tokio::join!(
        c.second.approve_seizure(proposed.seizure_id).send(),
        c.second.approve_seizure(proposed.seizure_id).send()
    );
    let (done, other) = match (one, two) {
        (Ok(done), Err(other)) | (Err(other), Ok(done)) => (done, other),
        both => panic!("exactly one approval executes: {both:?}"),
    };
    assert_eq!(other.code(), Some("invalid_state"));
    assert_eq!(
        (done.status, done.approved_by.map(|k| k.to_string())),
        (SeizureStatus::Executed, Some(c.second.key_id().to_owned()))
    );
    assert!(done.transfer_id.is_some());
    assert_eq!(app.balance(&p.alice).await, Fen::new(600));
    let bob = p.bob.me().send().await.unwrap();
    assert_eq!((bob.balance, bob.frozen, bob.available), (Fen::new(400), Fen::new(400), Fen::ZERO));
    let executed = logged_events(&app, "seizure_executed").await;
    assert_eq!(executed.len(), 1);
    assert_eq!(
        (executed[0]["proposed_by"].as_str(), executed[0]["approved_by"].as_str()),
        (Some(c.first.key_id()), Some(c.second.key_id()))
    );
    let history = p.bob.transactions(Some(10), None).send().await.unwrap();
    assert_eq!(history.items[0].kind.as_str(), "seizure");

    // The rest, out of the system: the freeze ends seized.
    let rest = c.first.propose_seizure(&proposal(&c, 400, SeizureTarget::External)).send().await.unwrap();
    c.second.approve_seizure(rest.seizure_id).send().await.unwrap();
    let freeze = c.first.freeze(c.freeze).send().await.unwrap();
    assert_eq!((freeze.status.as_str(), freeze.held, freeze.tally.seized), ("seized", Fen::ZERO, Fen::new(1_000)));
    app.assert_invariants().await;
}

#[tokio::test]
async fn an_approval_that_no_longer_holds_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let p = pair(&app, 0, 1_000).await;
    let c = court(&app, &p).await;
    let to = SeizureTarget::User(p.alice_id);

    let missing = ProposeSeizureRequest { documents: Vec::new(), ..proposal(&c, 100, to) };
    assert_eq!(
        refused(c.first.propose_seizure(&missing).send().await, 400, "invalid_request")["reason"],
        "document_required"
    );
    refused(c.first.propose_seizure(&proposal(&c, 1_001, to)).send().await, 409, "insufficient_funds");
    let self_to = proposal(&c, 100, SeizureTarget::User(p.bob_id));
    refused(c.first.propose_seizure(&self_to).send().await, 400, "invalid_request");

    // Expired: 72 hours pass.
    let late = c.first.propose_seizure(&proposal(&c, 100, to)).send().await.unwrap();
    refused(c.first.propose_seizure(&proposal(&c, 100, to)).send().await, 409, "conflict");
    app.root.dev_clock(72 * 3_600).send().await.unwrap();
    let refusal = refused(c.second.approve_seizure(late.seizure_id).send().await, 409, "invalid_state");
    assert!(refusal["reason"] == "expired", "{refusal}");
    assert_eq!(logged_events(&app, "seizure_expired").await.len(), 1, "the job expired it, once");

    // More than is held at approval: part released in between.
    let big = c.first.propose_seizure(&proposal(&c, 900, to)).send().await.unwrap();
    let part =
        ReleaseFreezeRequest { reason: "lifted in part".to_owned(), amount: Some(200), documents: vec![c.lifted] };
    c.first.release_freeze(c.freeze, &part).send().await.unwrap();
    refused(c.second.approve_seizure(big.seizure_id).send().await, 409, "insufficient_funds");
    c.first.reject_seizure(big.seizure_id, "too much").send().await.unwrap();

    // The freeze released since the proposal.
    let gone = c.first.propose_seizure(&proposal(&c, 100, to)).send().await.unwrap();
    let all = ReleaseFreezeRequest { reason: "lifted".to_owned(), amount: None, documents: vec![c.lifted] };
    c.first.release_freeze(c.freeze, &all).send().await.unwrap();
    let refusal = refused(c.second.approve_seizure(gone.seizure_id).send().await, 409, "invalid_state");
    assert_eq!(refusal["reason"], "released");
    refused(c.second.reject_seizure(big.seizure_id, "again").send().await, 409, "invalid_state");
    assert_eq!(app.balance(&p.alice).await, Fen::ZERO, "nothing was ever moved");
    assert_eq!(app.balance(&p.bob).await, Fen::new(1_000));
    app.assert_invariants().await;
}
