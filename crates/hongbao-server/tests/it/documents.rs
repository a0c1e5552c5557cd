//! Legal documents over HTTP (docs/API.md "A freeze proves its warrant"): registering one logs
//! only its commitment; revealing it logs the salt, and an independent computation here (SHA-256
//! of the prefix, the salt and the file hash) opens the commitment.

use hongbao_client::RawRequest;
use hongbao_core::evidence::{ContentType, EvidenceView};
use hongbao_core::hex::hex;
use hongbao_core::principal::Role;
use hongbao_wire::{DocumentRegistered, DocumentRevealed};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::risk::{logged_events, officer};
use crate::support::{json as body_of, pair, raw_refused, refused, spawn_app};

const SCAN: &[u8] = b"%PDF-1.7 (2026)\xe7\xb2\xa4 0305 assistance notice";

fn document(sha256: &str, evidence_id: Option<&str>, confidential: bool) -> Value {
    let mut body = json!({
        "kind": "assistance_notice",
        "authority": "深圳市南山区人民法院",
        "reference": "(2026)粤0305执保123号",
        "issued_at": "2026-01-05T09:30:00.000Z",
        "sha256": sha256,
        "confidential": confidential,
    });
    if let Some(id) = evidence_id {
        body["evidence_id"] = json!(id);
    }
    body
}

fn post(path: &str, body: &Value) -> RawRequest {
    RawRequest::post(path).json(body)
}

#[tokio::test]
async fn a_document_is_committed_in_the_log_and_its_reveal_opens_the_commitment() {
    let app = spawn_app().await;
    let legal = officer(&app, "legal desk", &[Role::LegalOfficer]).await;
    let file_hash = hex(&Sha256::digest(SCAN));
    let scan: EvidenceView = legal.upload_evidence(ContentType::Pdf, SCAN.to_vec()).send().await.unwrap();

    let created =
        legal.send(post("/v1/documents", &document(&file_hash, Some(&scan.evidence_id.to_string()), true))).await;
    let created = created.unwrap();
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(body_of(&created).as_object().map(|o| o.len()), Some(2), "document_id and commitment only");
    let registered: DocumentRegistered = created.json().unwrap();
    assert!(registered.document_id.to_string().starts_with("doc_"));
    assert_eq!(registered.commitment.len(), 64);

    // The log has the commitment and who registered it; nothing of the paper itself.
    let logged = logged_events(&app, "document_registered").await;
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0]["commitment"], registered.commitment.as_str());
    assert_eq!(logged[0]["actor"], legal.key_id().to_string());
    let text = logged[0].to_string();
    for secret in ["深圳", "粤0305", &file_hash, &scan.evidence_id.to_string()] {
        assert!(!text.contains(secret), "{secret} leaked into {text}");
    }

    let reveal = json!({"reason": "the court published its ruling"});
    let path = format!("/v1/documents/{}/reveal", registered.document_id);
    let revealed: DocumentRevealed = legal.send(post(&path, &reveal)).await.unwrap().json().unwrap();
    assert_eq!((revealed.document_id, &revealed.commitment), (registered.document_id, &registered.commitment));
    assert_eq!(revealed.sha256, file_hash);

    // Anyone can check, with nothing but SHA-256: the logged salt and hash open the commitment.
    let logged = logged_events(&app, "document_revealed").await;
    assert_eq!(logged.len(), 1);
    let salt = logged[0]["salt"].as_str().unwrap();
    assert_eq!(salt, revealed.salt.to_string());
    assert_eq!(logged[0]["sha256"], file_hash.as_str());
    assert_eq!(logged[0]["reason"], "the court published its ruling");
    let mut preimage = b"hongbao/document/v1\n".to_vec();
    preimage.extend((0..salt.len()).step_by(2).map(|i| u8::from_str_radix(&salt[i..i + 2], 16).unwrap()));
    preimage.extend(Sha256::digest(SCAN));
    assert_eq!(hex(&Sha256::digest(&preimage)), registered.commitment);

    // A second reveal answers the same and logs nothing; the log still checks.
    let again: DocumentRevealed = legal.reveal_document(registered.document_id, "again").send().await.unwrap();
    assert_eq!(again, revealed);
    // The contract gives reveal no body: an empty one is as good.
    let bare = legal.send(RawRequest::post(&path)).await.unwrap();
    assert_eq!(bare.status, 200, "{}", bare.text());
    assert_eq!(bare.json::<DocumentRevealed>().unwrap(), revealed);
    assert_eq!(logged_events(&app, "document_revealed").await.len(), 1);
    app.assert_invariants().await;
}

#[tokio::test]
async fn only_legal_and_risk_officers_register_and_reveal_documents() {
    let app = spawn_app().await;
    let p = pair(&app, 0, 0).await;
    let risk = officer(&app, "risk desk", &[Role::RiskOfficer]).await;
    let auditor = officer(&app, "audit desk", &[Role::Auditor, Role::Admin]).await;
    let body = document(&"ab".repeat(32), None, false);

    let registered: DocumentRegistered = risk.send(post("/v1/documents", &body)).await.unwrap().json().unwrap();
    let path = format!("/v1/documents/{}/reveal", registered.document_id);
    let reason = json!({"reason": "asked"});
    for caller in [&p.alice, &auditor] {
        let refusal = raw_refused(&caller.send(post("/v1/documents", &body)).await.unwrap(), 403, "forbidden");
        assert!(refusal["message"].as_str().unwrap().contains("risk_officer or legal_officer"), "{refusal}");
        raw_refused(&caller.send(post(&path, &reason)).await.unwrap(), 403, "forbidden");
    }
    assert_eq!(logged_events(&app, "document_registered").await.len(), 1);
    assert!(logged_events(&app, "document_revealed").await.is_empty());
}

#[tokio::test]
async fn a_bad_document_is_refused_naming_its_field_and_registers_nothing() {
    let app = spawn_app().await;
    let legal = officer(&app, "legal desk", &[Role::LegalOfficer]).await;
    let other = officer(&app, "other desk", &[Role::LegalOfficer]).await;
    let hash = hex(&Sha256::digest(SCAN));
    let theirs: EvidenceView = other.upload_evidence(ContentType::Pdf, SCAN.to_vec()).send().await.unwrap();
    let mine: EvidenceView = legal.upload_evidence(ContentType::Text, b"a note".to_vec()).send().await.unwrap();
    let with = |field: &str, value: Value| {
        let mut body = document(&hash, None, false);
        body[field] = value;
        body
    };
    let cases = [
        (with("kind", json!("court")), 400, "invalid_request", "court_ruling"),
        (with("authority", json!("  ")), 400, "invalid_request", "authority"),
        (with("reference", json!("号".repeat(201))), 400, "invalid_request", "reference"),
        (with("issued_at", json!("2999-01-01T00:00:00Z")), 400, "invalid_request", "future"),
        (with("issued_at", json!("yesterday")), 400, "invalid_request", "RFC 3339"),
        (with("sha256", json!("abc")), 400, "invalid_request", "sha256"),
        (with("evidence_id", json!(mine.evidence_id)), 400, "invalid_request", "SHA-256"),
        (with("evidence_id", json!(theirs.evidence_id)), 404, "not_found", "evidence"),
        (with("extra", json!(1)), 400, "invalid_request", "extra"),
    ];
    for (body, status, code, says) in cases {
        let refusal = raw_refused(&legal.send(post("/v1/documents", &body)).await.unwrap(), status, code);
        assert!(refusal["message"].as_str().unwrap().contains(says), "{body} → {refusal}");
    }
    let unknown = "/v1/documents/doc_0193f0a0b0c07d0e8f00112233445566/reveal";
    raw_refused(&legal.send(post(unknown, &json!({"reason": "asked"}))).await.unwrap(), 404, "not_found");
    raw_refused(
        &legal.send(post("/v1/documents/nope/reveal", &json!({"reason": "x"}))).await.unwrap(),
        404,
        "not_found",
    );
    let fine: DocumentRegistered =
        legal.send(post("/v1/documents", &document(&hash, None, false))).await.unwrap().json().unwrap();
    refused(legal.reveal_document(fine.document_id, "").send().await, 400, "invalid_request");
    assert_eq!(logged_events(&app, "document_registered").await.len(), 1, "only the good one");
    assert!(logged_events(&app, "document_revealed").await.is_empty());
}
