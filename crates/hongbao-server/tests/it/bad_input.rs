//! Bad input: every malformed or out-of-limit request is a `4xx` with the right code, and none
//! moves a fen or changes a packet (the balances, histories and packet views of everyone
//! involved are compared before and after each case).

use hongbao_client::{Client, Method, PacketOptions, RawRequest};
use hongbao_core::{Fen, GroupId, PacketId, UserId};
use serde_json::{Value, json};

use hongbao_server::HttpConfig;

use crate::support::{
    Snapshot, TestApp, exclusive, normal, pair, raw_refused, send, snapshot, spawn_app, spawn_app_with, with_http,
};

/// Alice (10 000 fen) and Bob (5 000 fen) in a group, with two of Alice's packets live.
struct World {
    app: TestApp,
    alice: Client,
    alice_id: UserId,
    bob: Client,
    bob_id: UserId,
    group: GroupId,
    packet: PacketId,
    exclusive: PacketId,
}

impl World {
    async fn new() -> World {
        // Every case is followed by a full snapshot, hundreds of requests from one key in a
        // second: lift the per-key rate limit, which is not what these tests are about.
        let http = HttpConfig { rate_per_key_per_s: 100_000, rate_per_key_burst: 100_000, ..HttpConfig::default() };
        let app = spawn_app_with(with_http(http), true).await;
        let p = pair(&app, 10_000, 5_000).await;
        let packet = send(&p.alice, &normal(p.group, 2, 100)).await.packet_id;
        let exclusive = send(&p.alice, &exclusive(p.bob_id, 100)).await.packet_id;
        World {
            alice: p.alice,
            alice_id: p.alice_id,
            bob: p.bob,
            bob_id: p.bob_id,
            group: p.group,
            packet,
            exclusive,
            app,
        }
    }

    async fn snapshot(&self) -> Snapshot {
        snapshot(&[&self.alice, &self.bob], &self.alice, &[self.packet, self.exclusive]).await
    }

    /// Sends each `(label, request)` as `who`, and checks it is `status`/`code` and that
    /// nothing changed.
    async fn refuse_all(&self, who: &Client, status: u16, code: &str, cases: Vec<(String, RawRequest)>) {
        assert!(!cases.is_empty());
        let before = self.snapshot().await;
        for (label, request) in cases {
            let answer = who.send(request).await.unwrap();
            assert_eq!(answer.status, status, "{label}: {}", answer.text());
            raw_refused(&answer, status, code);
            assert_eq!(self.snapshot().await, before, "{label} changed something");
        }
    }
}

fn post(path: &str, label: &str, body: impl Into<Vec<u8>>) -> (String, RawRequest) {
    (format!("POST {path} {label}"), RawRequest::post(path).body(body))
}

fn post_json(path: &str, body: &Value) -> (String, RawRequest) {
    (format!("POST {path} {body}"), RawRequest::post(path).json(body))
}

/// Amounts that are not a JSON integer in i64, or not positive.
fn bad_amounts() -> Vec<&'static str> {
    vec![
        "1.5",
        "100.0",
        "1e2",
        "\"100\"",
        "-1",
        "0",
        "9223372036854775808",
        "-9223372036854775809",
        "null",
        "true",
        "[100]",
    ]
}

#[tokio::test]
async fn malformed_amounts_are_400_and_change_nothing() {
    let w = World::new().await;
    let mut by_alice = Vec::new();
    let mut by_root = Vec::new();
    for amount in bad_amounts() {
        by_alice.push(post("/v1/me/withdrawals", amount, format!(r#"{{"amount":{amount}}}"#)));
        by_alice.push(post("/v1/transfers", amount, format!(r#"{{"to":"{}","amount":{amount}}}"#, w.bob_id)));
        let group = w.group;
        by_alice.push(post(
            "/v1/packets",
            amount,
            format!(r#"{{"kind":"normal","group_id":"{group}","count":1,"amount_each":{amount}}}"#),
        ));
        by_alice.push(post(
            "/v1/packets",
            amount,
            format!(r#"{{"kind":"lucky","group_id":"{group}","count":1,"total":{amount}}}"#),
        ));
        by_alice.push(post(
            "/v1/packets",
            amount,
            format!(r#"{{"kind":"exclusive","recipient":"{}","amount":{amount}}}"#, w.bob_id),
        ));
        by_root.push(post(&format!("/v1/users/{}/deposits", w.alice_id), amount, format!(r#"{{"amount":{amount}}}"#)));
    }
    w.refuse_all(&w.alice, 400, "invalid_request", by_alice).await;
    w.refuse_all(&w.app.root, 400, "invalid_request", by_root).await;
}

#[tokio::test]
async fn malformed_json_is_400_and_changes_nothing() {
    let w = World::new().await;
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", br#"{"amount":"#.to_vec()),
        ("not json", b"amount=100".to_vec()),
        ("trailing garbage", br#"{"amount":100} x"#.to_vec()),
        ("two objects", br#"{"amount":100}{"amount":100}"#.to_vec()),
        ("null", b"null".to_vec()),
        ("empty", Vec::new()),
        ("a duplicated field", br#"{"amount":1,"amount":2}"#.to_vec()),
        ("single quotes", b"{'amount':100}".to_vec()),
        ("a comment", b"{\"amount\":100 /* yuan */}".to_vec()),
        ("invalid UTF-8", b"{\"amount\":100,\"\xff\xfe\":1}".to_vec()),
    ];
    let mut cases = Vec::new();
    for (label, body) in &bodies {
        cases.push(post("/v1/me/withdrawals", label, body.clone()));
        cases.push(post("/v1/transfers", label, body.clone()));
        cases.push(post("/v1/packets", label, body.clone()));
        cases.push(post("/v1/groups", label, body.clone()));
    }
    w.refuse_all(&w.alice, 400, "invalid_request", cases).await;
}

#[tokio::test]
async fn an_unknown_or_missing_field_is_400_and_changes_nothing() {
    let w = World::new().await;
    let (group, bob) = (w.group.to_string(), w.bob_id.to_string());
    let cases = vec![
        post_json("/v1/packets", &json!({"kind": "normal", "group_id": group, "count": 2, "amount_eachh": 100})),
        post_json(
            "/v1/packets",
            &json!({"kind": "normal", "group_id": group, "count": 2, "amount_each": 100, "amount_eachh": 100}),
        ),
        post_json("/v1/packets", &json!({"kind": "normal", "group_id": group, "count": 2})),
        post_json("/v1/packets", &json!({"kind": "normal", "group_id": group, "amount_each": 100})),
        post_json("/v1/packets", &json!({"kind": "normal", "count": 2, "amount_each": 100})),
        post_json("/v1/packets", &json!({"group_id": group, "count": 2, "amount_each": 100})),
        post_json("/v1/packets", &json!({"kind": "huge", "group_id": group, "count": 2, "amount_each": 100})),
        post_json("/v1/packets", &json!({"kind": "lucky", "group_id": group, "count": 2, "amount_each": 100})),
        post_json("/v1/packets", &json!({"kind": "exclusive", "recipient": bob, "amount": 100, "group_id": group})),
        post_json("/v1/packets", &json!({"kind": "exclusive", "recipient": bob, "amount": 100, "greting": "hi"})),
        post_json("/v1/me/withdrawals", &json!({"amount": 100, "currency": "CNY"})),
        post_json("/v1/me/withdrawals", &json!({})),
        post_json("/v1/transfers", &json!({"to": bob, "amount": 100, "memo": "lunch"})),
        post_json("/v1/transfers", &json!({"amount": 100})),
        post_json("/v1/transfers", &json!({"to": bob})),
        post_json("/v1/groups", &json!({"name": "g", "members": [], "owner": bob})),
        post_json("/v1/groups", &json!({"name": "g"})),
        // Endpoints that take no body refuse fields rather than ignore them.
        post_json(&format!("/v1/packets/{}/claim", w.packet), &json!({"amount": 20_000})),
        post_json(&format!("/v1/packets/{}/recall", w.packet), &json!({"force": true})),
    ];
    w.refuse_all(&w.alice, 400, "invalid_request", cases).await;
}

#[tokio::test]
async fn counts_and_shares_outside_the_limits_are_400_naming_the_limit() {
    let w = World::new().await;
    let (group, bob) = (w.group.to_string(), w.bob_id.to_string());
    let before = w.snapshot().await;
    let cases = [
        (json!({"kind": "normal", "group_id": group, "count": 0, "amount_each": 100}), "count"),
        (json!({"kind": "normal", "group_id": group, "count": 101, "amount_each": 100}), "100"),
        (json!({"kind": "normal", "group_id": group, "count": -1, "amount_each": 100}), ""),
        (json!({"kind": "lucky", "group_id": group, "count": 0, "total": 100}), "count"),
        (json!({"kind": "lucky", "group_id": group, "count": 101, "total": 10_100}), "100"),
        (json!({"kind": "normal", "group_id": group, "count": 1, "amount_each": 20_001}), "20000"),
        (json!({"kind": "lucky", "group_id": group, "count": 1, "total": 20_001}), "20000"),
        (json!({"kind": "lucky", "group_id": group, "count": 2, "total": 40_001}), "20000"),
        (json!({"kind": "lucky", "group_id": group, "count": 2, "total": 1}), ""),
        (json!({"kind": "exclusive", "recipient": bob, "amount": 20_001}), "20000"),
        // Three shares in a group of two.
        (json!({"kind": "normal", "group_id": group, "count": 3, "amount_each": 100}), "2"),
        (json!({"kind": "lucky", "group_id": group, "count": 3, "total": 300}), "2"),
    ];
    for (body, named) in cases {
        let answer = w.alice.send(RawRequest::post("/v1/packets").json(&body)).await.unwrap();
        let error = raw_refused(&answer, 400, "invalid_request");
        let message = error["message"].as_str().unwrap().replace([' ', ','], "");
        assert!(message.contains(named), "{body}: the message names the limit {named:?}: {error}");
        assert_eq!(w.snapshot().await, before, "{body}");
    }
    // The limits themselves are accepted.
    w.app.root.deposit(w.alice_id, Fen::new(100_000)).send().await.unwrap();
    let lucky = w
        .alice
        .send(
            RawRequest::post("/v1/packets")
                .json(&json!({"kind": "lucky", "group_id": group, "count": 2, "total": 40_000})),
        )
        .await
        .unwrap();
    assert_eq!(lucky.status, 201, "{}", lucky.text());
    let top = w.alice.send_packet(&exclusive(w.bob_id, 20_000), &PacketOptions::default()).send_raw().await.unwrap();
    assert_eq!(top.status, 201, "{}", top.text());
}

#[tokio::test]
async fn a_hundred_shares_is_the_most_a_packet_may_have() {
    let app = spawn_app().await;
    let (alice, _) = app.user("alice", 1_000).await;
    let members: Vec<UserId> = app.users("m", 100).await.iter().map(|(_, u)| u.user_id).collect();
    let group = alice.create_group("big", &members).send().await.unwrap();
    assert_eq!(group.members.len(), 101);
    let before = crate::support::books(&alice).await;
    let answer =
        alice.send_packet(&normal(group.group_id, 101, 1), &PacketOptions::default()).send_raw().await.unwrap();
    raw_refused(&answer, 400, "invalid_request");
    assert_eq!(crate::support::books(&alice).await, before);
    let view = alice.send_packet(&normal(group.group_id, 100, 1), &PacketOptions::default()).send().await.unwrap();
    assert_eq!((view.count, view.total), (100, Fen::new(100)));
}

#[tokio::test]
async fn a_greeting_has_at_most_64_characters_and_an_emoji_greeting_is_fine() {
    let w = World::new().await;
    let group = w.group.to_string();
    let packet = |greeting: &str| {
        RawRequest::post("/v1/packets")
            .json(&json!({"kind": "normal", "group_id": group, "count": 1, "amount_each": 1, "greeting": greeting}))
    };
    let too_long = ["a".repeat(65), "福".repeat(65), "🧧".repeat(65), "line\nbreak".to_owned()];
    let mut cases: Vec<(String, RawRequest)> =
        too_long.iter().map(|g| (format!("greeting {g:?}"), packet(g))).collect();
    let mut invalid_utf8 =
        format!(r#"{{"kind":"normal","group_id":"{group}","count":1,"amount_each":1,"greeting":"bad "#).into_bytes();
    invalid_utf8.extend_from_slice(b"\xc3\x28 \xff\"}");
    cases.push(post("/v1/packets", "greeting of invalid UTF-8", invalid_utf8));
    cases.push(post_json("/v1/transfers", &json!({"to": w.bob_id.to_string(), "amount": 1, "note": "n".repeat(65)})));
    w.refuse_all(&w.alice, 400, "invalid_request", cases).await;

    for greeting in ["🧧🧧🧧🧧🧧🐉🐉🐉🐉🐉", &"福".repeat(64), &"a".repeat(64)] {
        let answer = w.alice.send(packet(greeting)).await.unwrap();
        assert_eq!(answer.status, 201, "{greeting:?}: {}", answer.text());
        assert_eq!(crate::support::json(&answer)["greeting"], greeting);
    }
}

#[tokio::test]
async fn an_arrival_delay_other_than_0_7200_or_86400_seconds_is_400() {
    let w = World::new().await;
    let (group, bob) = (w.group.to_string(), w.bob_id.to_string());
    let mut cases = Vec::new();
    for delay in [
        json!(1),
        json!(3_600),
        json!(7_199),
        json!(86_401),
        json!(-7_200),
        json!(7_200.0),
        json!("7200"),
        json!(4_294_967_296_u64),
    ] {
        cases.push(post_json(
            "/v1/packets",
            &json!({"kind": "normal", "group_id": group, "count": 1, "amount_each": 1, "arrival_delay_seconds": delay}),
        ));
        cases.push(post_json(
            "/v1/packets",
            &json!({"kind": "exclusive", "recipient": bob, "amount": 1, "arrival_delay_seconds": delay}),
        ));
        cases.push(post_json("/v1/transfers", &json!({"to": bob, "amount": 1, "arrival_delay_seconds": delay})));
    }
    w.refuse_all(&w.alice, 400, "invalid_request", cases).await;
    for delay in [0, 7_200, 86_400] {
        let body =
            json!({"kind": "normal", "group_id": group, "count": 1, "amount_each": 1, "arrival_delay_seconds": delay});
        let answer = w.alice.send(RawRequest::post("/v1/packets").json(&body)).await.unwrap();
        assert_eq!(answer.status, 201, "{delay}: {}", answer.text());
    }
}

#[tokio::test]
async fn a_body_over_64_kib_is_413_payload_too_large() {
    let w = World::new().await;
    let padded = |bytes: usize| {
        let head = r#"{"amount":1,"pad":""#;
        let tail = r#""}"#;
        format!("{head}{}{tail}", "x".repeat(bytes - head.len() - tail.len()))
    };
    let cases = vec![
        post("/v1/me/withdrawals", "65 KiB", padded(65 * 1024)),
        post("/v1/packets", "65 KiB", padded(65 * 1024)),
        post("/v1/me/withdrawals", "64 KiB + 1", padded(64 * 1024 + 1)),
    ];
    w.refuse_all(&w.alice, 413, "payload_too_large", cases).await;
    // Exactly 64 KiB is read (and refused only for its unknown field).
    let at_limit = w.alice.send(RawRequest::post("/v1/me/withdrawals").body(padded(64 * 1024))).await.unwrap();
    raw_refused(&at_limit, 400, "invalid_request");
}

#[tokio::test]
async fn an_unknown_user_or_an_id_of_another_kind_in_a_body_is_400() {
    let w = World::new().await;
    let nobody = "usr_0190f0a0b0c0d0e0f000000000000000";
    let (group, packet, bob) = (w.group.to_string(), w.packet.to_string(), w.bob_id.to_string());
    let cases = vec![
        post_json("/v1/groups", &json!({"name": "g", "members": [bob, nobody]})),
        post_json("/v1/groups", &json!({"name": "g", "members": [packet]})),
        post_json("/v1/groups", &json!({"name": "g", "members": ["bob"]})),
        post_json("/v1/groups", &json!({"name": "", "members": [bob]})),
        post_json("/v1/groups", &json!({"name": "g".repeat(65), "members": [bob]})),
        post_json("/v1/transfers", &json!({"to": nobody, "amount": 1})),
        post_json("/v1/transfers", &json!({"to": group, "amount": 1})),
        post_json("/v1/transfers", &json!({"to": bob.to_uppercase(), "amount": 1})),
        post_json("/v1/packets", &json!({"kind": "normal", "group_id": bob, "count": 1, "amount_each": 1})),
        post_json("/v1/packets", &json!({"kind": "lucky", "group_id": packet, "count": 1, "total": 1})),
        post_json("/v1/packets", &json!({"kind": "exclusive", "recipient": group, "amount": 1})),
        post_json("/v1/packets", &json!({"kind": "exclusive", "recipient": nobody, "amount": 1})),
    ];
    w.refuse_all(&w.alice, 400, "invalid_request", cases).await;
}

#[tokio::test]
async fn an_id_of_another_kind_in_a_path_is_404() {
    let w = World::new().await;
    let (group, packet, user) = (w.group, w.packet, w.alice_id);
    let claim = w.bob.claim(w.exclusive).send().await.unwrap().claim_id;
    let cases = vec![
        ("GET", format!("/v1/packets/{group}")),
        ("GET", format!("/v1/packets/{claim}")),
        ("GET", "/v1/packets/pkt_nothex".to_owned()),
        ("POST", format!("/v1/packets/{user}/open")),
        ("POST", format!("/v1/packets/{group}/claim")),
        ("POST", format!("/v1/packets/{claim}/recall")),
        ("POST", format!("/v1/claims/{packet}/revoke")),
        ("POST", format!("/v1/claims/{packet}/return")),
        ("POST", format!("/v1/transfers/{claim}/revoke")),
        ("GET", format!("/v1/groups/{packet}")),
        ("GET", format!("/v1/groups/{}", group.to_string().to_uppercase())),
    ];
    let cases: Vec<(String, RawRequest)> = cases
        .into_iter()
        .map(|(m, path)| (format!("{m} {path}"), RawRequest::new(m.parse::<Method>().unwrap(), path)))
        .collect();
    w.refuse_all(&w.alice, 404, "not_found", cases).await;
    let deposit = post_json(&format!("/v1/users/{group}/deposits"), &json!({"amount": 1}));
    w.refuse_all(&w.app.root, 404, "not_found", vec![deposit]).await;
}

#[tokio::test]
async fn invisible_and_bidi_override_characters_are_refused_in_names_greetings_and_notes() {
    let app = crate::support::spawn_app().await;
    let (alice, _) = app.user("alice", 10_000).await;
    let (_, bob) = app.user("bob", 0).await;
    let before = crate::support::books(&alice).await;
    for hidden in ["\u{202E}", "\u{2066}", "\u{200B}", "\u{FEFF}", "\u{00AD}", "\u{3164}"] {
        let name = format!("mallory{hidden}x");
        let refused = app.root.create_user(&name).send().await;
        crate::support::refused(refused, 400, "invalid_request");
        let refused = alice.create_group(&name, &[bob.user_id]).send().await;
        crate::support::refused(refused, 400, "invalid_request");
        let options = hongbao_client::TransferOptions::default().note(format!("rent for flat 12B{hidden}"));
        let refused = alice.transfer(bob.user_id, hongbao_core::Fen::new(1), &options).send().await;
        crate::support::refused(refused, 400, "invalid_request");
        let spec = crate::support::exclusive(bob.user_id, 1);
        let options =
            hongbao_client::PacketOptions { greeting: Some(format!("恭喜发财{hidden}")), ..Default::default() };
        let refused = alice.send_packet(&spec, &options).send().await;
        let detail = crate::support::refused(refused, 400, "invalid_request");
        assert!(detail["message"].as_str().unwrap().contains("U+"), "the message names the character: {detail}");
    }
    assert_eq!(crate::support::books(&alice).await, before, "nothing changed");
    // What people write passes: Chinese, emoji joined by a zero-width joiner.
    let spec = crate::support::exclusive(bob.user_id, 1);
    let options = hongbao_client::PacketOptions {
        greeting: Some("恭喜发财 👨\u{200D}👩\u{200D}👧".to_owned()),
        ..Default::default()
    };
    alice.send_packet(&spec, &options).send().await.expect("a greeting with emoji");
}
