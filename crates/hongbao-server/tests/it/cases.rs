//! Reports and cases over HTTP (docs/API.md "Reports", "Cases"): three reporters with evidence
//! open a fraud case and a precautionary freeze; who may read and act; closing a case.

use hongbao_client::{Client, RawRequest, TransferOptions};
use hongbao_core::case::{CaseItem, CaseKind, CaseOutcome, CaseStatus, Payment};
use hongbao_core::evidence::ContentType;
use hongbao_core::principal::Role;
use hongbao_core::risk::FreezeKind;
use hongbao_core::{EvidenceId, Fen, TransferId, UserId};
use hongbao_wire::FileReportRequest;
use serde_json::json;

use crate::risk::{logged_events, officer};
use crate::support::{TestApp, json, raw_refused, refused, spawn_app};

/// A victim who paid `subject` `fen` and uploaded a screenshot of it.
struct Victim {
    client: Client,
    paid: TransferId,
    screenshot: EvidenceId,
}

async fn victim(app: &TestApp, name: &str, subject: UserId, fen: i64) -> Victim {
    let (client, _) = app.user(name, 10_000).await;
    let paid = client.transfer(subject, Fen::new(fen), &TransferOptions::default()).send().await.unwrap().transfer_id;
    let png = [&b"\x89PNG\r\n\x1a\n"[..], name.as_bytes()].concat();
    let screenshot = client.upload_evidence(ContentType::Png, png).send().await.unwrap().evidence_id;
    Victim { client, paid, screenshot }
}

fn report(subject: UserId, paid: TransferId, evidence: Vec<EvidenceId>) -> FileReportRequest {
    FileReportRequest {
        subject,
        transfers: vec![Payment::Transfer(paid)],
        description: "卖我演唱会门票，收钱后拉黑\nsold me a ticket and blocked me".to_owned(),
        evidence,
    }
}

#[tokio::test]
async fn three_reporters_with_evidence_open_a_case_and_hold_what_they_reported() {
    let app = spawn_app().await;
    let (scammer, created) = app.user("scammer", 0).await;
    let subject = created.user_id;
    let risk = officer(&app, "risk desk", &[Role::RiskOfficer]).await;
    let auditor = officer(&app, "audit desk", &[Role::Auditor]).await;
    // They all paid before anyone reported (a reported payee asks the payer to confirm).
    let mut victims = Vec::new();
    for (i, fen) in [300, 500, 700].into_iter().enumerate() {
        victims.push(victim(&app, &format!("victim {i}"), subject, fen).await);
    }
    let late = victim(&app, "victim 3", subject, 900).await;

    // What a report may cite, and who may file one.
    let v = &victims[0];
    let someone_elses = report(subject, victims[1].paid, vec![v.screenshot]);
    let error = refused(v.client.file_report(&someone_elses).send().await, 400, "invalid_request");
    assert!(error["message"].as_str().unwrap().contains("not money you paid"), "{error}");
    let their_file = report(subject, v.paid, vec![victims[1].screenshot]);
    refused(v.client.file_report(&their_file).send().await, 404, "not_found");
    let nobody: UserId = "usr_0193f0a0b0c07d0e8f00112233445566".parse().unwrap();
    refused(v.client.file_report(&report(nobody, v.paid, Vec::new())).send().await, 404, "not_found");
    refused(risk.file_report(&report(subject, v.paid, Vec::new())).send().await, 403, "forbidden");
    let bare = json!({"subject": subject, "transfers": [], "description": "x"});
    let answer = v.client.send(RawRequest::post("/v1/reports").json(&bare)).await.unwrap();
    raw_refused(&answer, 400, "invalid_request");

    let mut filed = Vec::new();
    for (n, v) in victims.iter().enumerate() {
        let r = v.client.file_report(&report(subject, v.paid, vec![v.screenshot])).send().await.unwrap();
        assert_eq!(r.status.as_str(), "open");
        if n < 2 {
            assert_eq!(r.case_id, None, "{} reporters: below the threshold", n + 1);
            assert!(risk.cases(None, None).send().await.unwrap().is_empty());
            assert_eq!(scammer.me().send().await.unwrap().frozen, Fen::ZERO);
        }
        filed.push(r);
    }
    let again = victims[0].client.file_report(&report(subject, victims[0].paid, Vec::new())).send().await;
    refused(again, 409, "conflict");

    // The third opens a fraud case and holds the reported 1 500 fen at once.
    let case_id = filed[2].case_id.expect("three reporters with evidence: the rule fires");
    assert_eq!(scammer.me().send().await.unwrap().frozen, Fen::new(1_500));
    let case = risk.case(case_id).send().await.unwrap();
    assert_eq!((case.subject, case.kind, case.status), (subject, CaseKind::Fraud, CaseStatus::Open));
    let reports: Vec<_> = case.reports().collect();
    assert_eq!(reports, filed.iter().map(|r| r.id).collect::<Vec<_>>());
    assert!(case.items.iter().any(|i| matches!(i, CaseItem::RuleHit { rule, .. } if rule == "fraud_reports")));
    let freeze_id = case.freezes().next().expect("the rule's freeze");
    let freeze = risk.freeze(freeze_id).send().await.unwrap();
    assert_eq!(
        (freeze.kind, freeze.amount, freeze.held),
        (FreezeKind::Precautionary, Some(Fen::new(1_500)), Fen::new(1_500))
    );
    assert_eq!(freeze.created_by, None, "placed by the rule, not an officer");
    assert_eq!(case.timeline[0].actor, "system");

    // The log: three reports, one rule that fired naming the case, its freeze with no officer.
    assert_eq!(logged_events(&app, "report_filed").await.len(), 3);
    let fired = logged_events(&app, "rule_fired").await;
    assert_eq!(fired.len(), 1);
    assert_eq!(
        (fired[0]["rule"].as_str(), fired[0]["case_id"].as_str()),
        (Some("fraud_reports"), Some(case_id.to_string().as_str()))
    );
    let placed = logged_events(&app, "freeze_placed").await;
    assert_eq!(placed.len(), 1);
    assert!(placed[0].get("actor").is_none_or(serde_json::Value::is_null), "{}", placed[0]);

    // The files a report cites are read by the officers working on it, still not by other users;
    // a file nothing cites stays its uploader's alone.
    let cited = risk.evidence(victims[0].screenshot).await.unwrap();
    assert!(cited.starts_with(b"\x89PNG") && cited.ends_with(b"victim 0"));
    assert_eq!(auditor.evidence(victims[0].screenshot).await.unwrap(), cited);
    assert!(victims[1].client.evidence(victims[0].screenshot).await.is_err());
    let uncited = victims[1].client.upload_evidence(ContentType::Png, b"\x89PNG\r\n\x1a\nprivate".to_vec());
    let uncited = uncited.send().await.unwrap().evidence_id;
    assert!(risk.evidence(uncited).await.is_err(), "nothing cites it");

    // Officers and auditors read; users do not.
    let listed = auditor.cases(Some(CaseStatus::Open), Some(CaseKind::Fraud)).send().await.unwrap();
    assert_eq!(listed, vec![case.clone()]);
    assert!(auditor.cases(Some(CaseStatus::Closed), None).send().await.unwrap().is_empty());
    let on_subject = risk.reports(subject).send().await.unwrap();
    assert_eq!(on_subject.iter().map(|r| r.id).rev().collect::<Vec<_>>(), reports, "newest first");
    refused(victims[0].client.cases(None, None).send().await, 403, "forbidden");
    refused(victims[0].client.reports(subject).send().await, 403, "forbidden");
    refused(scammer.case(case_id).send().await, 403, "forbidden");
    raw_refused(&risk.send(RawRequest::get("/v1/cases?status=pending")).await.unwrap(), 400, "invalid_request");
    raw_refused(&risk.send(RawRequest::get("/v1/reports")).await.unwrap(), 400, "invalid_request");
    let unknown = "/v1/cases/cas_0193f0a0b0c07d0e8f00112233445566";
    raw_refused(&risk.send(RawRequest::get(unknown)).await.unwrap(), 404, "not_found");

    // A fourth report joins the open case; the case's freeze stands as it was.
    let joined = late.client.file_report(&report(subject, late.paid, vec![late.screenshot])).send().await.unwrap();
    assert_eq!(joined.case_id, Some(case_id));
    assert_eq!(risk.case(case_id).send().await.unwrap().reports().count(), 4);
    assert_eq!(logged_events(&app, "rule_fired").await.len(), 1, "the rule fired once for the case");
}

#[tokio::test]
async fn closing_a_case_dismissed_releases_its_hold_and_a_closed_case_does_not_close_again() {
    let app = spawn_app().await;
    let (scammer, created) = app.user("seller", 0).await;
    let subject = created.user_id;
    let risk = officer(&app, "risk desk", &[Role::RiskOfficer]).await;
    let legal = officer(&app, "legal desk", &[Role::LegalOfficer]).await;
    let auditor = officer(&app, "audit desk", &[Role::Auditor]).await;
    let mut buyers = Vec::new();
    for i in 0..3 {
        buyers.push(victim(&app, &format!("buyer {i}"), subject, 200).await);
    }
    let mut case_id = None;
    for v in &buyers {
        case_id = v.client.file_report(&report(subject, v.paid, vec![v.screenshot])).send().await.unwrap().case_id;
    }
    let case_id = case_id.expect("the rule fires");

    let noted =
        legal.note_case(case_id, "卖家提供了发货单号\nthe seller showed tracking numbers").send().await.unwrap();
    let last = noted.timeline.last().expect("the note");
    assert_eq!((last.action.as_str(), last.actor.as_str()), ("note", legal.key_id()));
    refused(auditor.note_case(case_id, "a reader does not write").send().await, 403, "forbidden");
    refused(scammer.note_case(case_id, "not me").send().await, 403, "forbidden");
    refused(risk.note_case(case_id, " ").send().await, 400, "invalid_request");
    let bad = json!({"outcome": "maybe", "reason": "unsure"});
    let answer = risk.send(RawRequest::post(format!("/v1/cases/{case_id}/close")).json(&bad)).await.unwrap();
    raw_refused(&answer, 400, "invalid_request");
    refused(auditor.close_case(case_id, CaseOutcome::Upheld, "read only").send().await, 403, "forbidden");

    let closed = risk.close_case(case_id, CaseOutcome::Dismissed, "the goods were delivered").send().await.unwrap();
    assert_eq!((closed.status, closed.outcome), (CaseStatus::Closed, Some(CaseOutcome::Dismissed)));
    assert_eq!(scammer.me().send().await.unwrap().frozen, Fen::ZERO, "dismissed: the hold is released");
    let freeze = risk.freeze(closed.freezes().next().unwrap()).send().await.unwrap();
    assert_eq!(freeze.status.as_str(), "released");
    assert!(risk.reports(subject).send().await.unwrap().iter().all(|r| r.status.as_str() == "closed"));
    let logged = logged_events(&app, "case_closed").await;
    assert_eq!((logged.len(), logged[0]["outcome"].as_str()), (1, Some("dismissed")));

    let error = refused(legal.close_case(case_id, CaseOutcome::Upheld, "again").send().await, 409, "invalid_state");
    assert_eq!(error["reason"], "closed");
    let page = json(&risk.send(RawRequest::get(format!("/v1/cases/{case_id}"))).await.unwrap());
    assert_eq!(page["outcome"], "dismissed");
}
