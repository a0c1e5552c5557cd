//! Freezes over HTTP (docs/API.md "Freezes"): who may place, read and release which kind, the
//! documents and terms each kind needs, money held as it arrives, expiry by the jobs, and what a
//! user sees of their own holds.

use hongbao_client::{Client, RawRequest, TransferOptions};
use hongbao_core::freeze::{FreezeStatus, HoldView};
use hongbao_core::principal::Role;
use hongbao_core::risk::FreezeKind;
use hongbao_core::{DocumentId, Fen, UserId};
use hongbao_wire::{DocumentRegistered, PlaceFreezeRequest, ReleaseFreezeRequest};
use serde_json::{Value, json};

use crate::risk::{logged_events, officer};
use crate::support::{TestApp, json as body_of, pair, raw_refused, refused, spawn_app};

const DAY_S: u32 = 24 * 3_600;

/// A registered document of `kind` (e.g. "court_ruling"), confidential or not, with its
/// commitment.
async fn document(by: &Client, kind: &str, reference: &str, confidential: bool) -> DocumentRegistered {
    let body = json!({
        "kind": kind,
        "authority": "深圳市南山区人民法院",
        "reference": reference,
        "issued_at": "2026-01-05T09:30:00.000Z",
        "sha256": "ab".repeat(32),
        "confidential": confidential,
    });
    by.send(RawRequest::post("/v1/documents").json(&body)).await.unwrap().json().unwrap()
}

fn freeze(user: UserId, kind: FreezeKind, amount: Option<i64>, documents: &[DocumentId]) -> PlaceFreezeRequest {
    PlaceFreezeRequest {
        user_id: user,
        kind,
        amount,
        reason: "civil preservation order".to_owned(),
        documents: documents.to_vec(),
        expires_at: None,
        major_case: false,
    }
}

fn release(documents: &[DocumentId]) -> ReleaseFreezeRequest {
    ReleaseFreezeRequest { reason: "lifted".to_owned(), amount: None, documents: documents.to_vec() }
}

struct Desk {
    legal: Client,
    risk: Client,
    auditor: Client,
    ruling: DocumentRegistered,
    notice: DocumentRegistered,
}

async fn desk(app: &TestApp) -> Desk {
    let legal = officer(app, "legal desk", &[Role::LegalOfficer]).await;
    let risk = officer(app, "risk desk", &[Role::RiskOfficer]).await;
    let auditor = officer(app, "audit desk", &[Role::Auditor]).await;
    let ruling = document(&legal, "court_ruling", "(2026)粤0305民初1号", false).await;
    let notice = document(&legal, "assistance_notice", "(2026)粤0305执保123号", true).await;
    Desk { legal, risk, auditor, ruling, notice }
}

#[tokio::test]
async fn a_court_freeze_holds_what_is_there_then_what_arrives_and_its_log_entry_commits_to_its_documents() {
    let app = spawn_app().await;
    let p = pair(&app, 10_000, 300).await;
    let d = desk(&app).await;
    let docs = [d.ruling.document_id, d.notice.document_id];

    let placed = d.legal.place_freeze(&freeze(p.bob_id, FreezeKind::Court, Some(1_000), &docs)).send().await.unwrap();
    assert_eq!(
        (placed.kind, placed.status, placed.held, placed.amount),
        (FreezeKind::Court, FreezeStatus::Active, Fen::new(300), Some(Fen::new(1_000)))
    );
    assert_eq!(placed.documents.len(), 2);
    let term = placed.expires_at.unwrap().millis() - placed.created_at.millis();
    assert_eq!(term, 365 * i64::from(DAY_S) * 1_000, "a court freeze lasts a year by default");
    assert_eq!(p.bob.me().send().await.unwrap().frozen, Fen::new(300));

    // What arrives is held until the freeze holds its amount, and refused to bob as held.
    p.alice.transfer(p.bob_id, Fen::new(500), &TransferOptions::default()).send().await.unwrap();
    let me = p.bob.me().send().await.unwrap();
    assert_eq!((me.frozen, me.available), (Fen::new(800), Fen::ZERO));
    let refusal = refused(p.bob.withdraw(Fen::new(1)).send().await, 423, "account_frozen");
    assert_eq!(refusal["reason"], "held");
    p.alice.transfer(p.bob_id, Fen::new(400), &TransferOptions::default()).send().await.unwrap();
    let me = p.bob.me().send().await.unwrap();
    assert_eq!((me.frozen, me.available), (Fen::new(1_000), Fen::new(200)), "it stops at its amount");
    let shown = d.auditor.freeze(placed.freeze_id).send().await.unwrap();
    assert_eq!((shown.held, shown.tally.ever_held), (Fen::new(1_000), Fen::new(1_000)));

    // The log carries the documents' commitments (as registered), and every hold.
    let placed_entry = logged_events(&app, "freeze_placed").await;
    assert_eq!(placed_entry.len(), 1);
    assert_eq!(placed_entry[0]["documents"], json!([d.ruling.commitment, d.notice.commitment]));
    assert_eq!(placed_entry[0]["actor"], d.legal.key_id());
    let text = placed_entry[0].to_string();
    assert!(!text.contains("粤0305") && !text.contains("preservation"), "no reference or reason: {text}");
    let held: Vec<i64> =
        logged_events(&app, "freeze_held").await.iter().map(|e| e["amount"].as_i64().unwrap()).collect();
    assert_eq!(held, vec![500, 200]);
    app.assert_invariants().await;
}

#[tokio::test]
async fn each_kind_is_placed_and_read_only_by_its_officers() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 1_000).await;
    let d = desk(&app).await;
    let docs = [d.ruling.document_id, d.notice.document_id];
    let court = freeze(p.bob_id, FreezeKind::Court, Some(100), &docs);
    let precautionary = freeze(p.bob_id, FreezeKind::Precautionary, Some(100), &[]);

    let refusal = refused(d.risk.place_freeze(&court).send().await, 403, "forbidden");
    assert!(refusal["message"].as_str().unwrap().contains("legal_officer"), "{refusal}");
    let refusal = refused(d.legal.place_freeze(&precautionary).send().await, 403, "forbidden");
    assert!(refusal["message"].as_str().unwrap().contains("risk_officer"), "{refusal}");
    for caller in [&p.alice, &d.auditor] {
        refused(caller.place_freeze(&precautionary).send().await, 403, "forbidden");
    }
    let anomaly = freeze(p.bob_id, FreezeKind::Anomaly, None, &[]);
    refused(d.risk.place_freeze(&anomaly).send().await, 403, "forbidden");

    let placed = d.risk.place_freeze(&precautionary).send().await.unwrap();
    for reader in [&d.risk, &d.legal, &d.auditor] {
        assert_eq!(reader.freeze(placed.freeze_id).send().await.unwrap(), placed);
        assert_eq!(reader.freezes(Some(p.bob_id), None, None).send().await.unwrap(), vec![placed.clone()]);
    }
    for reader in [&p.alice, &p.bob] {
        refused(reader.freeze(placed.freeze_id).send().await, 403, "forbidden");
        refused(reader.freezes(Some(p.bob_id), None, None).send().await, 403, "forbidden");
    }
    let admin = officer(&app, "admin desk", &[Role::Admin]).await;
    refused(admin.freeze(placed.freeze_id).send().await, 403, "forbidden");
    // The filters, and what is not there.
    assert!(d.auditor.freezes(Some(p.bob_id), Some(FreezeStatus::Released), None).send().await.unwrap().is_empty());
    assert!(d.auditor.freezes(Some(p.bob_id), None, Some(FreezeKind::Court)).send().await.unwrap().is_empty());
    assert!(d.auditor.freezes(Some(p.alice_id), None, None).send().await.unwrap().is_empty(), "alice's: none yet");
    let unknown = "frz_0193f0a0b0c07d0e8f00112233445566";
    raw_refused(&d.auditor.send(RawRequest::get(format!("/v1/freezes/{unknown}"))).await.unwrap(), 404, "not_found");
    // Without a user: across users, newest first.
    let other = d.risk.place_freeze(&freeze(p.alice_id, FreezeKind::Precautionary, Some(1), &[])).send().await.unwrap();
    let all = d.auditor.freezes(None, None, None).send().await.unwrap();
    assert_eq!(all.iter().map(|f| f.freeze_id).collect::<Vec<_>>(), vec![other.freeze_id, placed.freeze_id]);
    let theirs = d.auditor.freezes(None, Some(FreezeStatus::Active), Some(FreezeKind::Precautionary)).send().await;
    assert_eq!(theirs.unwrap().len(), 2);
    refused(p.alice.freezes(None, None, None).send().await, 403, "forbidden");
    let bad = format!("/v1/freezes?user_id={}&status=melted", p.bob_id);
    raw_refused(&d.auditor.send(RawRequest::get(bad)).await.unwrap(), 400, "invalid_request");
}

#[tokio::test]
async fn a_freeze_without_the_documents_or_beyond_the_term_of_its_kind_is_refused_with_its_reason() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 1_000).await;
    let d = desk(&app).await;
    let (ruling, notice) = (d.ruling.document_id, d.notice.document_id);
    let stop = document(&d.legal, "stop_payment_order", "止付 1", false).await.document_id;

    let cases: Vec<(PlaceFreezeRequest, &str)> = vec![
        (freeze(p.bob_id, FreezeKind::Court, Some(100), &[]), "document_required"),
        (freeze(p.bob_id, FreezeKind::Court, Some(100), &[notice]), "document_required"),
        (freeze(p.bob_id, FreezeKind::Police, Some(100), &[ruling]), "document_required"),
        (freeze(p.bob_id, FreezeKind::EmergencyStop, Some(100), &[notice]), "document_required"),
        (
            PlaceFreezeRequest {
                expires_at: Some(hongbao_core::Timestamp::parse_rfc3339("2099-01-01T00:00:00Z").unwrap()),
                ..freeze(p.bob_id, FreezeKind::Police, Some(100), &[notice])
            },
            "term_too_long",
        ),
    ];
    for (body, reason) in cases {
        let refusal = refused(d.legal.place_freeze(&body).send().await, 400, "invalid_request");
        assert_eq!(refusal["reason"], reason, "{body:?}: {refusal}");
    }
    refused(
        d.risk.place_freeze(&freeze(p.bob_id, FreezeKind::Precautionary, Some(0), &[])).send().await,
        400,
        "invalid_request",
    );
    let unknown: DocumentId = "doc_0193f0a0b0c07d0e8f00112233445566".parse().unwrap();
    refused(
        d.legal.place_freeze(&freeze(p.bob_id, FreezeKind::Police, None, &[unknown])).send().await,
        404,
        "not_found",
    );
    let nobody: UserId = "usr_0193f0a0b0c07d0e8f00112233445566".parse().unwrap();
    refused(d.risk.place_freeze(&freeze(nobody, FreezeKind::Precautionary, None, &[])).send().await, 404, "not_found");
    assert!(logged_events(&app, "freeze_placed").await.is_empty(), "nothing was placed");
    assert_eq!(p.bob.me().send().await.unwrap().frozen, Fen::ZERO);

    // Each kind under its documents, a police one of a major case for a year.
    let police = PlaceFreezeRequest { major_case: true, ..freeze(p.bob_id, FreezeKind::Police, Some(100), &[notice]) };
    let police = d.legal.place_freeze(&police).send().await.unwrap();
    let term = police.expires_at.unwrap().millis() - police.created_at.millis();
    assert_eq!(term, 365 * i64::from(DAY_S) * 1_000);
    let emergency =
        d.legal.place_freeze(&freeze(p.bob_id, FreezeKind::EmergencyStop, Some(100), &[stop])).send().await.unwrap();
    assert_eq!(emergency.expires_at.unwrap().millis() - emergency.created_at.millis(), 2 * i64::from(DAY_S) * 1_000);
}

#[tokio::test]
async fn a_court_freeze_is_released_by_a_legal_officer_under_a_release_notice_only() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 1_000).await;
    let d = desk(&app).await;
    let placed = d
        .legal
        .place_freeze(&freeze(p.bob_id, FreezeKind::Court, None, &[d.ruling.document_id, d.notice.document_id]))
        .send()
        .await
        .unwrap();
    assert_eq!(placed.held, Fen::new(1_000));
    let lifted = document(&d.legal, "release_notice", "(2026)粤0305执保123号之一", false).await;

    let refusal = refused(d.legal.release_freeze(placed.freeze_id, &release(&[])).send().await, 400, "invalid_request");
    assert_eq!(refusal["reason"], "document_required");
    refused(d.risk.release_freeze(placed.freeze_id, &release(&[lifted.document_id])).send().await, 403, "forbidden");
    refused(p.bob.release_freeze(placed.freeze_id, &release(&[lifted.document_id])).send().await, 403, "forbidden");
    assert_eq!(p.bob.me().send().await.unwrap().frozen, Fen::new(1_000), "refusals change nothing");

    let too_much = ReleaseFreezeRequest { amount: Some(1_001), ..release(&[lifted.document_id]) };
    refused(d.legal.release_freeze(placed.freeze_id, &too_much).send().await, 409, "conflict");
    let part = ReleaseFreezeRequest { amount: Some(400), ..release(&[lifted.document_id]) };
    let after = d.legal.release_freeze(placed.freeze_id, &part).send().await.unwrap();
    assert_eq!((after.held, after.amount, after.status), (Fen::new(600), Some(Fen::new(600)), FreezeStatus::Active));
    let done = d.legal.release_freeze(placed.freeze_id, &release(&[lifted.document_id])).send().await.unwrap();
    assert_eq!((done.held, done.status, done.tally.released), (Fen::ZERO, FreezeStatus::Released, Fen::new(1_000)));
    assert!(done.released_at.is_some());
    assert_eq!(done.documents.len(), 4, "the placing's two and the release notice twice");
    refused(d.legal.release_freeze(placed.freeze_id, &release(&[lifted.document_id])).send().await, 409, "conflict");
    let me = p.bob.me().send().await.unwrap();
    assert_eq!((me.frozen, me.available), (Fen::ZERO, Fen::new(1_000)));
    let released = logged_events(&app, "freeze_released").await;
    assert_eq!(released.len(), 2);
    assert_eq!(released[0]["documents"], json!([lifted.commitment]));
    assert_eq!(released[0]["actor"], d.legal.key_id());
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_precautionary_freeze_expires_after_48_hours_by_itself_exactly_once() {
    let app = spawn_app().await;
    let p = pair(&app, 0, 700).await;
    let d = desk(&app).await;
    let placed = d.risk.place_freeze(&freeze(p.bob_id, FreezeKind::Precautionary, None, &[])).send().await.unwrap();
    assert_eq!(placed.held, Fen::new(700));
    app.root.dev_clock(2 * DAY_S - 60).send().await.unwrap();
    assert_eq!(d.risk.freeze(placed.freeze_id).send().await.unwrap().status, FreezeStatus::Active);
    app.root.dev_clock(60).send().await.unwrap();
    let ended = d.risk.freeze(placed.freeze_id).send().await.unwrap();
    assert_eq!((ended.status, ended.held, ended.tally.expired), (FreezeStatus::Expired, Fen::ZERO, Fen::new(700)));
    app.root.dev_clock(DAY_S).send().await.unwrap();
    assert_eq!(logged_events(&app, "freeze_expired").await.len(), 1, "exactly once");
    let me = p.bob.me().send().await.unwrap();
    assert_eq!((me.frozen, me.available), (Fen::ZERO, Fen::new(700)));
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_user_sees_their_holds_without_the_reason_the_officer_or_a_confidential_reference() {
    let app = spawn_app().await;
    let p = pair(&app, 0, 500).await;
    let d = desk(&app).await;
    d.legal
        .place_freeze(&freeze(p.bob_id, FreezeKind::Court, Some(200), &[d.ruling.document_id, d.notice.document_id]))
        .send()
        .await
        .unwrap();
    d.risk.place_freeze(&freeze(p.bob_id, FreezeKind::Precautionary, None, &[])).send().await.unwrap();

    let raw = p.bob.send(RawRequest::get("/v1/me/holds")).await.unwrap();
    let text = raw.text();
    assert!(!text.contains("(2026)粤0305执保123号"), "the confidential reference is withheld: {text}");
    assert!(text.contains("(2026)粤0305民初1号"), "the open one is shown: {text}");
    for hidden in ["civil preservation order", d.legal.key_id(), "reason", "created_by"] {
        assert!(!text.contains(hidden), "{hidden} in {text}");
    }
    let holds: Vec<HoldView> = raw.json().unwrap();
    assert_eq!(holds.len(), 2);
    assert_eq!((holds[0].kind, holds[0].held), (FreezeKind::Precautionary, Fen::new(300)), "newest first");
    assert_eq!((holds[1].kind, holds[1].held), (FreezeKind::Court, Fen::new(200)));
    let notice = holds[1].documents.iter().find(|doc| doc.confidential).expect("the notice");
    assert_eq!((&notice.authority, &notice.reference), (&None, &None));
    assert_eq!(p.bob.me().send().await.unwrap().frozen, Fen::new(500), "frozen is the sum of held");
    assert!(p.alice.my_holds().send().await.unwrap().is_empty());
    refused(d.risk.my_holds().send().await, 403, "forbidden");
    let body: Value = body_of(&raw);
    assert!(body.is_array());
}

#[tokio::test]
async fn a_precautionary_freeze_is_renewed_by_another_risk_officer_and_converted_into_a_court_one() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 400).await;
    let d = desk(&app).await;
    let second = officer(&app, "second risk desk", &[Role::RiskOfficer]).await;
    let placed =
        d.risk.place_freeze(&freeze(p.bob_id, FreezeKind::Precautionary, Some(900), &[])).send().await.unwrap();
    let end = placed.expires_at.unwrap();
    let renew = |hours: u32| hongbao_wire::RenewFreezeRequest {
        reason: Some("reports keep coming".to_owned()),
        documents: Vec::new(),
        expires_at: end.plus_seconds(hours * 3_600),
    };

    refused(d.risk.renew_freeze(placed.freeze_id, &renew(24)).send().await, 403, "forbidden");
    let long = refused(second.renew_freeze(placed.freeze_id, &renew(49)).send().await, 400, "invalid_request");
    assert_eq!(long["reason"], "term_too_long");
    let renewed = second.renew_freeze(placed.freeze_id, &renew(24)).send().await.unwrap();
    assert_eq!((renewed.renewals, renewed.expires_at), (1, Some(end.plus_seconds(24 * 3_600))));
    refused(second.renew_freeze(placed.freeze_id, &renew(30)).send().await, 409, "conflict");
    assert_eq!(logged_events(&app, "freeze_renewed").await.len(), 1);

    // A court takes the case: the same 400 held, now by a court freeze that keeps holding.
    let convert = |documents: Vec<DocumentId>| hongbao_wire::ConvertFreezeRequest {
        kind: FreezeKind::Court,
        reason: None,
        documents,
        expires_at: None,
    };
    let both = vec![d.ruling.document_id, d.notice.document_id];
    refused(d.risk.convert_freeze(placed.freeze_id, &convert(both.clone())).send().await, 403, "forbidden");
    let missing = refused(
        d.legal.convert_freeze(placed.freeze_id, &convert(vec![d.ruling.document_id])).send().await,
        400,
        "invalid_request",
    );
    assert_eq!(missing["reason"], "document_required");
    let court = d.legal.convert_freeze(placed.freeze_id, &convert(both.clone())).send().await.unwrap();
    assert_eq!((court.kind, court.held, court.amount), (FreezeKind::Court, Fen::new(400), Some(Fen::new(900))));
    let old = d.auditor.freeze(placed.freeze_id).send().await.unwrap();
    assert_eq!((old.status, old.held, old.tally.converted), (FreezeStatus::Converted, Fen::ZERO, Fen::new(400)));
    refused(d.legal.convert_freeze(placed.freeze_id, &convert(both)).send().await, 409, "conflict");
    assert_eq!(p.bob.me().send().await.unwrap().frozen, Fen::new(400), "no money moved");
    p.alice.transfer(p.bob_id, Fen::new(100), &TransferOptions::default()).send().await.unwrap();
    assert_eq!(d.auditor.freeze(court.freeze_id).send().await.unwrap().held, Fen::new(500), "it keeps holding");
    let converted = logged_events(&app, "freeze_converted").await;
    assert_eq!(converted.len(), 1);
    assert_eq!(converted[0]["into"], court.freeze_id.to_string());
    app.assert_invariants().await;
}
