//! The OpenAPI document agrees with the routes and with docs/API.md.

use std::collections::BTreeSet;

use crate::support::spawn_app;

/// Every endpoint of the contract, the transparency log's included (all documented in
/// docs/API.md), as `METHOD path`. A route added, removed or renamed without
/// updating the contract fails here.
const API_MD: &[&str] = &[
    "GET /v1/audit/checkpoint",
    "GET /v1/audit/entries",
    "GET /v1/audit/packets/{packet_id}",
    "GET /v1/audit/proofs/consistency",
    "GET /v1/audit/proofs/inclusion",
    "GET /v1/audit/public-key",
    "GET /v1/receipts/{transfer_id}",
    "GET /healthz",
    "GET /readyz",
    "GET /v1/evidence/{evidence_id}",
    "GET /v1/freezes",
    "GET /v1/freezes/{freeze_id}",
    "GET /v1/groups/{group_id}",
    "GET /v1/me",
    "GET /v1/me/holds",
    "GET /v1/me/transactions",
    "GET /v1/me/return-requests",
    "GET /v1/packets/{packet_id}",
    "GET /v1/risk/rules",
    "POST /v1/claims/{claim_id}/return",
    "POST /v1/claims/{claim_id}/revoke",
    "POST /v1/dev/clock",
    "POST /v1/documents",
    "POST /v1/documents/{document_id}/reveal",
    "POST /v1/evidence",
    "POST /v1/freezes",
    "POST /v1/freezes/{freeze_id}/convert",
    "POST /v1/freezes/{freeze_id}/release",
    "POST /v1/freezes/{freeze_id}/renew",
    "POST /v1/groups",
    "POST /v1/me/withdrawals",
    "POST /v1/operators",
    "POST /v1/packets",
    "POST /v1/packets/{packet_id}/claim",
    "POST /v1/packets/{packet_id}/open",
    "POST /v1/packets/{packet_id}/recall",
    "GET /v1/seizures",
    "GET /v1/reports",
    "POST /v1/reports",
    "POST /v1/return-requests",
    "POST /v1/return-requests/{request_id}/accept",
    "POST /v1/return-requests/{request_id}/decline",
    "POST /v1/return-requests/{request_id}/withdraw",
    "POST /v1/return-requests/{request_id}/notes",
    "POST /v1/risk/signals",
    "GET /v1/cases",
    "GET /v1/cases/{case_id}",
    "POST /v1/cases/{case_id}/notes",
    "POST /v1/cases/{case_id}/close",
    "POST /v1/seizures",
    "POST /v1/seizures/{seizure_id}/approve",
    "POST /v1/seizures/{seizure_id}/reject",
    "POST /v1/transfers",
    "POST /v1/transfers/{transfer_id}/revoke",
    "POST /v1/users",
    "POST /v1/users/{user_id}/deposits",
    "POST /v1/users/{user_id}/lock",
    "POST /v1/users/{user_id}/unlock",
];

fn operations(document: &serde_json::Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            found.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    found
}

#[tokio::test]
async fn the_served_document_lists_exactly_the_endpoints_of_the_contract() {
    let app = spawn_app().await;
    let document = app.root.openapi().send().await.unwrap();
    let expected: BTreeSet<String> = API_MD.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(operations(&document), expected);
}

#[tokio::test]
async fn every_documented_operation_is_routed_and_every_signed_one_demands_a_signature() {
    let app = spawn_app().await;
    let document = hongbao_server::openapi();
    for operation in operations(&serde_json::to_value(&document).unwrap()) {
        let (method, path) = operation.split_once(' ').unwrap();
        let concrete = path
            .replace("{group_id}", "grp_00000000000000000000000000000000")
            .replace("{packet_id}", "pkt_00000000000000000000000000000000")
            .replace("{claim_id}", "clm_00000000000000000000000000000000")
            .replace("{transfer_id}", "trf_00000000000000000000000000000000")
            .replace("{user_id}", "usr_00000000000000000000000000000000");
        let status = probe(&app.url, method, &concrete).await;
        if path.starts_with("/v1/audit/") && !path.contains("{packet_id}") {
            // Public reads: routed, and not guarded. Their answers depend on the query.
            assert_ne!(status, 401, "{operation} must not need a signature");
            assert_ne!(status, 404, "{operation} is not routed");
        } else if path.starts_with("/v1/") {
            // Routed (not the 404 fallback) and guarded: unsigned is 401.
            assert_eq!(status, 401, "{operation} answered {status} unsigned");
        } else {
            assert_eq!(status, 200, "{operation}");
        }
    }
}

/// An unsigned request through the client's raw interface; returns the status.
async fn probe(url: &str, method: &str, path: &str) -> u16 {
    let client = hongbao_client::Client::new(url, "key_00000000000000000000000000000000", "none").unwrap();
    let request = hongbao_client::RawRequest::new(method.parse().unwrap(), path.to_owned())
        .signing(hongbao_client::Signing::Unsigned);
    client.send(request).await.unwrap().status.as_u16()
}

#[tokio::test]
async fn the_docs_page_loads_everything_from_the_server_itself() {
    let app = spawn_app().await;
    let page = probe_body(&app.url, "/docs/").await;
    assert!(page.contains("swagger-ui"), "{page}");
    // Every script and stylesheet is relative: nothing comes from a CDN.
    for attribute in ["src=\"", "href=\""] {
        for reference in page.split(attribute).skip(1) {
            let target = reference.split('"').next().unwrap();
            assert!(!target.contains("//"), "the docs page loads {target} from elsewhere");
        }
    }
    let bundle = probe_body(&app.url, "/docs/swagger-ui-bundle.js").await;
    assert!(bundle.len() > 100_000, "the Swagger UI bundle is served by the binary itself");
    let initializer = probe_body(&app.url, "/docs/swagger-initializer.js").await;
    assert!(initializer.contains("\"/openapi.json\""), "{initializer}");
    // Swagger UI would otherwise send the document to validator.swagger.io.
    assert!(
        initializer.contains("\"validatorUrl\": \"none\"") || initializer.contains("\"validatorUrl\":\"none\""),
        "{initializer}"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = spawn_app().await;
    let (alice, _) = app.user("alice", 0).await;
    alice.me().send().await.unwrap();
    let text = probe_body(&app.url, "/metrics").await;
    assert!(
        text.lines().any(|l| l.starts_with("hongbao_http_requests_total") && l.contains("route=\"/v1/me\"")),
        "{text}"
    );
}

async fn probe_body(url: &str, path: &str) -> String {
    let client = hongbao_client::Client::new(url, "key_00000000000000000000000000000000", "none").unwrap();
    let request = hongbao_client::RawRequest::get(path.to_owned()).signing(hongbao_client::Signing::Unsigned);
    let response = client.send(request).await.unwrap();
    assert_eq!(response.status.as_u16(), 200, "{path}");
    response.text()
}

#[test]
fn the_document_is_stable() {
    // A deliberate change of the document updates this snapshot (cargo insta review); an
    // accidental one fails here.
    insta::assert_json_snapshot!("openapi", hongbao_server::openapi());
}

/// Each `/v1/` operation as `(METHOD path, operation)`.
fn v1_operations(document: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if path.starts_with("/v1/") {
                found.push((format!("{} {path}", method.to_uppercase()), operation.clone()));
            }
        }
    }
    found
}

#[test]
fn every_operation_declares_the_answers_every_request_may_get_and_the_bounds_the_server_enforces() {
    let document = serde_json::to_value(hongbao_server::openapi()).unwrap();
    for (operation, body) in v1_operations(&document) {
        let answers = &body["responses"];
        let signed = body["security"].as_array().is_some_and(|s| !s.is_empty());
        let with_body = !body["requestBody"].is_null();
        let idempotent = body["parameters"].as_array().into_iter().flatten().any(|p| p["name"] == "Idempotency-Key");
        let mut expected = vec!["503"];
        if signed {
            expected.extend(["401", "409", "429"]);
        }
        if with_body {
            expected.extend(["408", "413"]);
        }
        if idempotent {
            expected.push("422");
        }
        for status in expected {
            let answer = &answers[status];
            assert!(answer["description"].is_string(), "{operation} does not declare {status}: {answers}");
        }
        if signed {
            let description = answers["409"]["description"].as_str().unwrap();
            assert!(description.contains("replayed_request"), "{operation}: {description}");
        }
    }
    let schema = |name: &str| document["components"]["schemas"][name].clone();
    assert_eq!(schema("CreateUserRequest")["properties"]["name"]["maxLength"], 64);
    assert_eq!(schema("CreateUserRequest")["properties"]["name"]["minLength"], 1);
    assert_eq!(schema("AmountRequest")["properties"]["amount"]["minimum"], 1);
    assert_eq!(schema("TransferRequest")["properties"]["note"]["maxLength"], 64);
    assert_eq!(schema("DevClockRequest")["properties"]["advance_seconds"]["minimum"], 1);
    let packet = schema("SendPacketRequest").to_string();
    assert!(packet.contains("\"maximum\":20000") && packet.contains("\"maximum\":100"), "{packet}");
}

/// Every request body's example, sent as it is, is understood by the server: whatever the
/// answer, it is not a refusal of the body's shape (the docs page's "Try it out" starts from it).
#[tokio::test]
async fn every_request_example_in_the_document_is_a_body_the_server_understands() {
    let app = spawn_app().await;
    let (alice, _) = app.user("alice", 100_000).await;
    let document = serde_json::to_value(hongbao_server::openapi()).unwrap();
    let mut checked = 0;
    for (operation, body) in v1_operations(&document) {
        let Some(reference) = body["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str() else {
            continue;
        };
        let name = reference.rsplit('/').next().unwrap();
        let example = document["components"]["schemas"][name]["example"].clone();
        assert!(!example.is_null(), "{operation}: {name} has no example");
        let (method, path) = operation.split_once(' ').unwrap();
        let concrete = path
            .replace("{packet_id}", "pkt_00000000000000000000000000000000")
            .replace("{claim_id}", "clm_00000000000000000000000000000000")
            .replace("{transfer_id}", "trf_00000000000000000000000000000000")
            .replace("{user_id}", "usr_00000000000000000000000000000000");
        for who in [&app.root, &alice] {
            let request = hongbao_client::RawRequest::new(method.parse().unwrap(), concrete.clone()).json(&example);
            let answer = who.send(request).await.unwrap();
            let text = answer.text();
            assert!(
                !text.contains("invalid JSON body") && !text.contains("must be a JSON object"),
                "{operation}: the example {example} is refused as a body: {text}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} request bodies");
}

/// `METHOD /path` when `span` (the text of one inline code span) is exactly that, the query
/// string dropped: `GET /v1/me/transactions?limit=10` is `GET /v1/me/transactions`.
fn endpoint_in(span: &str) -> Option<String> {
    let (method, target) = span.trim().split_once(' ')?;
    let methods = ["GET", "POST", "PUT", "PATCH", "DELETE"];
    if !methods.contains(&method) || !target.starts_with('/') || target.contains(char::is_whitespace) {
        return None;
    }
    let path = target.split('?').next()?;
    Some(format!("{method} {path}"))
}

/// docs/API.md lists each endpoint under a heading of its own whose text starts with the method
/// and path in backticks (``### `POST /v1/users` ``), as the page says at its top. Those headings
/// must be exactly the operations of the OpenAPI document, each once; and every `/v1/` endpoint
/// the page mentions in backticks elsewhere must be one of them, so the prose cannot name a
/// route that does not exist or spell its parameters otherwise.
#[test]
fn docs_api_md_and_the_openapi_document_list_the_same_endpoints() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/API.md");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut documented = BTreeSet::new();
    let mut mentioned = Vec::new();
    let mut fenced = false;
    for (number, line) in text.lines().enumerate() {
        let number = number + 1;
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        if line.starts_with('#') {
            let heading = line.trim_start_matches('#').trim();
            let first_span = heading.strip_prefix('`').and_then(|rest| rest.split('`').next());
            if let Some(endpoint) = first_span.and_then(endpoint_in) {
                assert!(
                    documented.insert(endpoint.clone()),
                    "docs/API.md line {number}: a second heading for {endpoint}"
                );
            }
        }
        // Inline code spans are the odd pieces between backticks.
        for span in line.split('`').skip(1).step_by(2) {
            if let Some(endpoint) = endpoint_in(span) {
                mentioned.push((number, endpoint));
            }
        }
    }
    assert!(!fenced, "docs/API.md ends inside a fenced block");

    let served = operations(&serde_json::to_value(hongbao_server::openapi()).unwrap());
    let undocumented: Vec<&String> = served.difference(&documented).collect();
    let unserved: Vec<&String> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "docs/API.md and the OpenAPI document disagree.\n  in the OpenAPI document, without a heading in \
         docs/API.md: {undocumented:?}\n  with a heading in docs/API.md, not in the OpenAPI document: {unserved:?}"
    );
    for (number, endpoint) in mentioned {
        if endpoint.split_once(' ').is_some_and(|(_, path)| path.starts_with("/v1/")) {
            assert!(
                documented.contains(&endpoint),
                "docs/API.md line {number} mentions {endpoint}, which has no heading"
            );
        }
    }
}
