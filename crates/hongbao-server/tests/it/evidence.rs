//! Evidence files over HTTP (docs/API.md "Evidence files"): upload, download, who may read,
//! the 5 MiB limit of this one endpoint, and what is refused.

use hongbao_client::{HeaderMap, RawRequest};
use hongbao_core::evidence::{ContentType, EvidenceView};
use hongbao_core::hex::hex;
use hongbao_core::principal::Role;
use hongbao_server::HttpConfig;
use sha2::{Digest, Sha256};

use crate::risk::officer;
use crate::support::{json, pair, raw_refused, refused, spawn_app, spawn_app_with, with_http};

fn png(extra: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..=255u8).cycle().take(extra));
    bytes
}

fn upload(content_type: &str, body: Vec<u8>) -> RawRequest {
    RawRequest::post("/v1/evidence").header("Content-Type", content_type).body(body)
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no {name} header"))
}

#[tokio::test]
async fn an_uploaded_file_comes_back_exactly_to_its_uploader_with_its_hash_and_type() {
    let app = spawn_app().await;
    let p = pair(&app, 0, 0).await;
    let bytes = png(100_000);

    let created = p.alice.send(upload("image/png", bytes.clone())).await.unwrap();
    assert_eq!(created.status, 201, "{}", created.text());
    let view: EvidenceView = created.json().unwrap();
    assert!(view.evidence_id.to_string().starts_with("evd_"));
    assert_eq!(view.sha256, hex(&Sha256::digest(&bytes)));
    assert_eq!((view.size, view.content_type), (bytes.len() as u64, ContentType::Png));
    let body = json(&created);
    for field in ["evidence_id", "sha256", "size", "content_type"] {
        assert!(body.get(field).is_some(), "{field} in {body}");
    }
    assert_eq!(body["content_type"], "image/png");

    let got = p.alice.send(RawRequest::get(format!("/v1/evidence/{}", view.evidence_id))).await.unwrap();
    assert_eq!(got.status, 200);
    assert_eq!(got.body, bytes, "byte for byte");
    assert_eq!(header(&got.headers, "content-type"), "image/png");
    assert_eq!(header(&got.headers, "x-content-type-options"), "nosniff");
    assert_eq!(header(&got.headers, "x-evidence-sha256"), view.sha256);
    assert!(header(&got.headers, "content-disposition").starts_with("attachment"));
    assert_eq!(p.alice.evidence(view.evidence_id).await.unwrap(), bytes);

    // The same upload again is the same file; a text is served as UTF-8 text.
    let again: EvidenceView = p.alice.upload_evidence(ContentType::Png, bytes.clone()).send().await.unwrap();
    assert_eq!(again, view);
    let note = "转账记录：2026-12-01 转给 bob ¥500".as_bytes().to_vec();
    let text = p.alice.send(upload("text/plain; charset=utf-8", note.clone())).await.unwrap();
    let text: EvidenceView = text.json().unwrap();
    let got = p.alice.send(RawRequest::get(format!("/v1/evidence/{}", text.evidence_id))).await.unwrap();
    assert_eq!((got.body, header(&got.headers, "content-type")), (note, "text/plain; charset=utf-8"));
}

#[tokio::test]
async fn nobody_but_the_uploader_may_read_a_file_and_they_learn_nothing_about_it() {
    let app = spawn_app().await;
    let p = pair(&app, 0, 0).await;
    let risk = officer(&app, "risk desk", &[Role::RiskOfficer, Role::LegalOfficer, Role::Auditor]).await;
    let view: EvidenceView =
        p.alice.upload_evidence(ContentType::Pdf, b"%PDF-1.7 chat export".to_vec()).send().await.unwrap();
    let path = format!("/v1/evidence/{}", view.evidence_id);
    let unknown = "/v1/evidence/evd_0193f0a0b0c07d0e8f00112233445566";

    for reader in [&p.bob, &risk, &app.root] {
        let theirs = raw_refused(&reader.send(RawRequest::get(&path)).await.unwrap(), 404, "not_found");
        let none = raw_refused(&reader.send(RawRequest::get(unknown)).await.unwrap(), 404, "not_found");
        assert_eq!(theirs, none, "a file one may not read looks like no file");
    }
    raw_refused(&p.alice.send(RawRequest::get("/v1/evidence/not-an-id")).await.unwrap(), 404, "not_found");
    let unsigned = p.alice.send(RawRequest::get(&path).signing(hongbao_client::Signing::Unsigned)).await.unwrap();
    raw_refused(&unsigned, 401, "unauthenticated");
    // An operator may upload too, and reads what they uploaded.
    let theirs: EvidenceView = risk.upload_evidence(ContentType::Text, b"call notes".to_vec()).send().await.unwrap();
    assert_eq!(risk.evidence(theirs.evidence_id).await.unwrap(), b"call notes");
}

#[tokio::test]
async fn a_file_that_is_not_what_it_says_or_has_no_accepted_type_is_refused_and_stores_nothing() {
    let app = spawn_app().await;
    let p = pair(&app, 0, 0).await;
    let cases: [(&str, Vec<u8>); 7] = [
        ("image/jpeg", png(10)),
        ("application/pdf", b"hello".to_vec()),
        ("text/plain", vec![0xC3, 0x28]),
        ("text/html", b"<script>".to_vec()),
        ("image/png; charset=utf-8", png(10)),
        ("image/png", Vec::new()),
        ("application/json", b"{}".to_vec()),
    ];
    for (content_type, body) in cases {
        let error = raw_refused(&p.alice.send(upload(content_type, body)).await.unwrap(), 400, "invalid_request");
        assert!(!error["message"].as_str().unwrap().is_empty(), "{content_type}: {error}");
    }
    let missing = RawRequest::post("/v1/evidence").body(png(10)).header("Content-Type", "");
    raw_refused(&p.alice.send(missing).await.unwrap(), 400, "invalid_request");
    refused(p.alice.upload_evidence(ContentType::Jpeg, png(1)).send().await, 400, "invalid_request");
    // Nothing was stored: the first real upload is the only file, and the same bytes under
    // the right type are a new one.
    let first: EvidenceView = p.alice.upload_evidence(ContentType::Png, png(10)).send().await.unwrap();
    assert_eq!(p.alice.evidence(first.evidence_id).await.unwrap(), png(10));
}

#[tokio::test]
async fn the_five_mib_limit_is_this_endpoints_alone() {
    let app = spawn_app().await;
    let p = pair(&app, 0, 0).await;
    let limit = 5 * 1024 * 1024;
    let largest: EvidenceView = p.alice.upload_evidence(ContentType::Text, vec![b'a'; limit]).send().await.unwrap();
    assert_eq!(largest.size, limit as u64);
    let over = p.alice.send(upload("text/plain", vec![b'a'; limit + 1])).await.unwrap();
    raw_refused(&over, 413, "payload_too_large");

    // Every other endpoint keeps 64 KiB.
    let name = "x".repeat(70 * 1024);
    let body = serde_json::to_vec(&serde_json::json!({ "name": name })).unwrap();
    let big = app.root.send(RawRequest::post("/v1/users").body(body)).await.unwrap();
    raw_refused(&big, 413, "payload_too_large");
}

#[tokio::test]
async fn a_smaller_configured_limit_is_kept() {
    let app = spawn_app_with(with_http(HttpConfig { evidence_max_bytes: 1_000, ..HttpConfig::default() }), false).await;
    let p = pair(&app, 0, 0).await;
    p.alice.upload_evidence(ContentType::Png, png(900)).send().await.unwrap();
    raw_refused(&p.alice.send(upload("image/png", png(1_000))).await.unwrap(), 413, "payload_too_large");
    assert!(HttpConfig { evidence_max_bytes: 5 * 1024 * 1024 + 1, ..HttpConfig::default() }.validate().is_err());
    assert!(HttpConfig { evidence_uploads_max: 0, ..HttpConfig::default() }.validate().is_err());
}
