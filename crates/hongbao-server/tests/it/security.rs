//! Signed requests (docs/API.md "Signing requests"): every way of getting the signature wrong is
//! refused with its own code and changes nothing, and no answer shows a secret.

use std::future::Future;

use hongbao_client::signing::{self, canonical_string, sign};
use hongbao_client::{Client, Method, RawRequest, RawResponse, SignParts, Signing};
use hongbao_core::Fen;
use hongbao_core::principal::Role;

use crate::support::{
    TestApp, books, fresh_nonce, json, lucky, normal, pair, raw_refused, send, spawn_app, unix_now_s,
};

/// A withdrawal of 1 fen: a request that would change something if it got through.
fn withdraw_one() -> RawRequest {
    RawRequest::post("/v1/me/withdrawals").body(r#"{"amount":1}"#)
}

fn custom(parts: SignParts) -> Signing {
    Signing::custom(parts)
}

/// A user with 1 000 fen, their client and their secret.
async fn alice(app: &TestApp) -> (Client, String) {
    let (client, created) = app.user("alice", 1_000).await;
    (client, created.secret.expose().to_owned())
}

/// Calls `attempt(now_s)` until one call starts and ends within the same wall-clock second, so
/// the server (which reads the same clock) saw exactly `now_s`. Returns every answer; the last
/// is the one that fitted in a second.
async fn within_one_second<F, Fut>(mut attempt: F) -> Vec<RawResponse>
where
    F: FnMut(i64) -> Fut,
    Fut: Future<Output = Result<RawResponse, hongbao_client::ClientError>>,
{
    let mut answers = Vec::new();
    for _ in 0..20 {
        let start = unix_now_s();
        answers.push(attempt(start).await.expect("an answer"));
        if unix_now_s() == start {
            return answers;
        }
    }
    panic!("no request fitted in one second in 20 tries");
}

#[tokio::test]
async fn an_unsigned_request_is_401_unauthenticated_and_changes_nothing() {
    let app = spawn_app().await;
    let (alice, _) = alice(&app).await;
    let before = books(&alice).await;
    let answer = alice.send(withdraw_one().signing(Signing::Unsigned)).await.unwrap();
    raw_refused(&answer, 401, "unauthenticated");
    let answer = alice.send(RawRequest::get("/v1/me").signing(Signing::Unsigned)).await.unwrap();
    raw_refused(&answer, 401, "unauthenticated");
    assert_eq!(books(&alice).await, before);
}

#[tokio::test]
async fn a_request_missing_any_one_signing_header_is_401_unauthenticated() {
    let app = spawn_app().await;
    let (alice, _) = alice(&app).await;
    let before = books(&alice).await;
    for header in [signing::KEY_HEADER, signing::TIMESTAMP_HEADER, signing::NONCE_HEADER, signing::SIGNATURE_HEADER] {
        let parts = SignParts { omit: vec![header], ..SignParts::default() };
        let answer = alice.send(withdraw_one().signing(custom(parts))).await.unwrap();
        raw_refused(&answer, 401, "unauthenticated");
    }
    assert_eq!(books(&alice).await, before);
}

#[tokio::test]
async fn an_unknown_or_malformed_key_is_401_unauthenticated() {
    let app = spawn_app().await;
    let (alice, _) = alice(&app).await;
    let before = books(&alice).await;
    for key in ["key_0190f0a0b0c0d0e0f000000000000000", "usr_0190f0a0b0c0d0e0f000000000000000", "root", ""] {
        let parts = SignParts { key_id: Some(key.to_owned()), ..SignParts::default() };
        let answer = alice.send(withdraw_one().signing(custom(parts))).await.unwrap();
        raw_refused(&answer, 401, "unauthenticated");
    }
    assert_eq!(books(&alice).await, before);
}

#[tokio::test]
async fn a_bad_signature_is_401_signature_invalid_and_changes_nothing() {
    let app = spawn_app().await;
    let (alice, secret) = alice(&app).await;
    let (_, bob) = app.user("bob", 0).await;
    let before = books(&alice).await;
    let timestamp = unix_now_s().to_string();
    let nonce = fresh_nonce();
    let right = sign(&secret, &canonical_string("POST", "/v1/me/withdrawals", &timestamp, &nonce, br#"{"amount":1}"#));
    let bad = [
        SignParts { secret: Some("hbs_not_the_secret".to_owned()), ..SignParts::default() },
        SignParts { secret: Some(bob.secret.expose().to_owned()), ..SignParts::default() },
        SignParts { signature: Some("0".repeat(64)), ..SignParts::default() },
        SignParts { signature: Some("not hex at all".to_owned()), ..SignParts::default() },
        SignParts { signature: Some(String::new()), ..SignParts::default() },
        // The right signature, but docs/API.md says lowercase hex.
        SignParts {
            timestamp: Some(timestamp.clone()),
            nonce: Some(nonce.clone()),
            signature: Some(right.to_uppercase()),
            ..SignParts::default()
        },
    ];
    for parts in bad {
        let answer = alice.send(withdraw_one().signing(custom(parts))).await.unwrap();
        raw_refused(&answer, 401, "signature_invalid");
    }
    assert_eq!(books(&alice).await, before);
}

#[tokio::test]
async fn the_signature_covers_method_path_query_timestamp_nonce_and_body() {
    let app = spawn_app().await;
    let (alice, secret) = alice(&app).await;
    let before = books(&alice).await;

    // Each case: what is signed (method, path, timestamp, nonce, body) against what is sent.
    struct Case {
        name: &'static str,
        sent: (Method, &'static str, &'static [u8]),
        signed_method: &'static str,
        signed_path: &'static str,
        signed_body: &'static [u8],
        timestamp_shift: i64,
        other_nonce: bool,
    }
    let withdrawal: &[u8] = br#"{"amount":1}"#;
    let base = |name| Case {
        name,
        sent: (Method::POST, "/v1/me/withdrawals", withdrawal),
        signed_method: "POST",
        signed_path: "/v1/me/withdrawals",
        signed_body: withdrawal,
        timestamp_shift: 0,
        other_nonce: false,
    };
    let cases = [
        Case { signed_method: "PUT", ..base("method") },
        Case { signed_path: "/v1/users", ..base("path") },
        Case { sent: (Method::POST, "/v1/me/withdrawals?for=mallory", withdrawal), ..base("query added") },
        Case {
            sent: (Method::GET, "/v1/me/transactions?limit=2", b""),
            signed_method: "GET",
            signed_path: "/v1/me/transactions?limit=1",
            signed_body: b"",
            ..base("query changed")
        },
        Case { timestamp_shift: 1, ..base("timestamp") },
        Case { other_nonce: true, ..base("nonce") },
        Case { signed_body: br#"{"amount":2}"#, ..base("body") },
        Case { signed_body: br#"{"amount": 1}"#, ..base("body whitespace") },
    ];

    let signed_as = |case: &Case| {
        let timestamp = unix_now_s();
        let nonce = fresh_nonce();
        let signed_nonce = if case.other_nonce { fresh_nonce() } else { nonce.clone() };
        let canonical = canonical_string(
            case.signed_method,
            case.signed_path,
            &(timestamp + case.timestamp_shift).to_string(),
            &signed_nonce,
            case.signed_body,
        );
        let (method, path, body) = case.sent.clone();
        RawRequest::new(method, path).body(body).signing(custom(SignParts {
            timestamp: Some(timestamp.to_string()),
            nonce: Some(nonce),
            signature: Some(sign(&secret, &canonical)),
            ..SignParts::default()
        }))
    };

    for case in &cases {
        let answer = alice.send(signed_as(case)).await.unwrap();
        assert_eq!(answer.status, 401, "{}: {}", case.name, answer.text());
        raw_refused(&answer, 401, "signature_invalid");
    }
    assert_eq!(books(&alice).await, before);

    // The same hand-made signature over what is actually sent is accepted: the refusals above
    // are due to the one part changed, not to how the test signs.
    let answer = alice.send(signed_as(&base("nothing changed"))).await.unwrap();
    assert_eq!(answer.status, 201, "{}", answer.text());
    assert_eq!(alice.me().send().await.unwrap().balance, Fen::new(999));
}

#[tokio::test]
async fn a_timestamp_301_seconds_off_either_way_is_timestamp_skew_and_299_seconds_is_accepted() {
    let app = spawn_app().await;
    let (alice, _) = alice(&app).await;
    let (mut balance, mut took_effect) = (1_000, 0);
    for (shift, accepted) in [(-301, false), (301, false), (-299, true), (299, true)] {
        let answers = within_one_second(|now_s| {
            let parts = SignParts { timestamp: Some((now_s + shift).to_string()), ..SignParts::default() };
            alice.send(withdraw_one().signing(custom(parts)))
        })
        .await;
        // Attempts that straddled a second may have gone either way; count what they did.
        balance -= i64::try_from(answers.iter().filter(|a| a.status.is_success()).count()).unwrap();
        let last = answers.last().unwrap();
        took_effect += usize::from(last.status.is_success());
        if accepted {
            assert_eq!(last.status, 201, "{shift:+} s: {}", last.text());
        } else {
            let error = raw_refused(last, 401, "timestamp_skew");
            assert!(error["message"].as_str().unwrap().contains("300"), "{shift:+} s: {error}");
        }
        assert_eq!(alice.me().send().await.unwrap().balance, Fen::new(balance), "{shift:+} s");
    }
    // Of the attempts that fitted in one second, exactly the two within the window took effect
    // (one that straddled a second may have been 300 s off by the server's clock, and counted).
    assert_eq!(took_effect, 2, "exactly the two accepted withdrawals took effect");
}

#[tokio::test]
async fn a_timestamp_that_is_not_plain_decimal_seconds_is_401_unauthenticated() {
    let app = spawn_app().await;
    let (alice, _) = alice(&app).await;
    let before = books(&alice).await;
    let now = unix_now_s();
    for timestamp in [
        String::new(),
        "yesterday".to_owned(),
        format!("0{now}"),
        format!("{now}.0"),
        format!("+{now}"),
        format!("{}", now * 1000),
    ] {
        let parts = SignParts { timestamp: Some(timestamp.clone()), ..SignParts::default() };
        let answer = alice.send(withdraw_one().signing(custom(parts))).await.unwrap();
        assert_eq!(answer.status, 401, "{timestamp:?}: {}", answer.text());
        let code = answer.error_code().unwrap_or_default();
        assert!(code == "unauthenticated" || code == "timestamp_skew", "{timestamp:?}: {code}");
        raw_refused(&answer, 401, &code);
    }
    assert_eq!(books(&alice).await, before);
}

#[tokio::test]
async fn the_signature_check_follows_the_real_clock_not_the_development_clock() {
    let app = spawn_app().await;
    let (alice, _) = alice(&app).await;
    app.root.dev_clock(3_600).send().await.unwrap();
    assert_eq!(alice.me().send().await.unwrap().balance, Fen::new(1_000), "real time still signs");
    let parts = SignParts { timestamp: Some((unix_now_s() + 3_600).to_string()), ..SignParts::default() };
    raw_refused(&alice.send(withdraw_one().signing(custom(parts))).await.unwrap(), 401, "timestamp_skew");
    assert_eq!(alice.me().send().await.unwrap().balance, Fen::new(1_000));
}

#[tokio::test]
async fn a_nonce_used_twice_by_one_key_is_409_replayed_request_and_the_replay_changes_nothing() {
    let app = spawn_app().await;
    let (alice, _) = alice(&app).await;
    let (bob, _) = app.user("bob", 1_000).await;
    let nonce = fresh_nonce();
    let parts =
        SignParts { nonce: Some(nonce.clone()), timestamp: Some(unix_now_s().to_string()), ..SignParts::default() };
    let first = alice.send(withdraw_one().signing(custom(parts.clone()))).await.unwrap();
    assert_eq!(first.status, 201, "{}", first.text());
    // The very same bytes again: a replay.
    raw_refused(&alice.send(withdraw_one().signing(custom(parts))).await.unwrap(), 409, "replayed_request");
    // Another request with the same nonce is a replay too: the nonce is per key, not per request.
    let again = SignParts { nonce: Some(nonce.clone()), ..SignParts::default() };
    raw_refused(&alice.send(withdraw_one().signing(custom(again))).await.unwrap(), 409, "replayed_request");
    assert_eq!(alice.me().send().await.unwrap().balance, Fen::new(999));
    // Another key may use the same nonce.
    let bobs = SignParts { nonce: Some(nonce), ..SignParts::default() };
    assert_eq!(bob.send(withdraw_one().signing(custom(bobs))).await.unwrap().status, 201);
    assert_eq!(bob.me().send().await.unwrap().balance, Fen::new(999));
}

#[tokio::test]
async fn a_request_with_a_bad_signature_does_not_use_up_its_nonce() {
    let app = spawn_app().await;
    let (alice, _) = alice(&app).await;
    let nonce = fresh_nonce();
    let forged = SignParts { nonce: Some(nonce.clone()), secret: Some("hbs_guess".to_owned()), ..SignParts::default() };
    raw_refused(&alice.send(withdraw_one().signing(custom(forged))).await.unwrap(), 401, "signature_invalid");
    let genuine = SignParts { nonce: Some(nonce), ..SignParts::default() };
    assert_eq!(alice.send(withdraw_one().signing(custom(genuine))).await.unwrap().status, 201);
}

#[tokio::test]
async fn a_nonce_that_is_not_16_to_64_url_safe_characters_is_401_unauthenticated() {
    let app = spawn_app().await;
    let (alice, _) = alice(&app).await;
    let before = books(&alice).await;
    for nonce in [
        String::new(),
        "a".repeat(15),
        "a".repeat(65),
        "0123456789abcde!".to_owned(),
        "0123456789 abcdef".to_owned(),
        "0123456789abcdef.".to_owned(),
    ] {
        let parts = SignParts { nonce: Some(nonce.clone()), ..SignParts::default() };
        let answer = alice.send(withdraw_one().signing(custom(parts))).await.unwrap();
        assert_eq!(answer.status, 401, "{nonce:?}: {}", answer.text());
        raw_refused(&answer, 401, "unauthenticated");
    }
    assert_eq!(books(&alice).await, before);
    for nonce in [format!("{}-_", "Az09".repeat(4)), fresh_nonce() + &"x".repeat(64 - 32)] {
        let parts = SignParts { nonce: Some(nonce.clone()), ..SignParts::default() };
        let answer = alice.send(RawRequest::get("/v1/me").signing(custom(parts))).await.unwrap();
        assert_eq!(answer.status, 200, "{nonce:?} ({} chars): {}", nonce.len(), answer.text());
    }
}

#[tokio::test]
async fn no_answer_shows_a_secret_except_the_one_that_creates_it() {
    let app = spawn_app().await;
    let p = pair(&app, 10_000, 0).await;
    let created = app.root.create_user("carol").send_raw().await.unwrap();
    let operator = app.root.create_operator("audrey", &[Role::Auditor]).send_raw().await.unwrap();
    let carol_secret = json(&created)["secret"].as_str().unwrap().to_owned();
    let operator_secret = json(&operator)["secret"].as_str().unwrap().to_owned();
    assert!(created.text().contains(&carol_secret) && operator.text().contains(&operator_secret));
    let (dave, dave_created) = app.user("dave", 100).await;
    let dave_secret = dave_created.secret.expose().to_owned();
    let secrets = [app.root_credentials.secret.expose().to_owned(), carol_secret, operator_secret, dave_secret.clone()];

    let packet = send(&p.alice, &lucky(p.group, 2, 500)).await.packet_id;
    let claim = p.bob.claim(packet).send().await.unwrap().claim_id;
    let normal_packet = send(&p.alice, &normal(p.group, 1, 100)).await.packet_id;
    let answers: Vec<RawResponse> = vec![
        p.alice.me().send_raw().await.unwrap(),
        p.alice.transactions(None, None).send_raw().await.unwrap(),
        p.alice.group(p.group).send_raw().await.unwrap(),
        p.alice.packet(packet).send_raw().await.unwrap(),
        p.bob.open(packet).send_raw().await.unwrap(),
        p.alice.recall(normal_packet).send_raw().await.unwrap(),
        p.alice.withdraw(Fen::new(1)).send_raw().await.unwrap(),
        app.root.deposit(p.bob_id, Fen::new(1)).send_raw().await.unwrap(),
        p.bob.return_claim(claim).send_raw().await.unwrap(),
        p.alice.transfer(p.bob_id, Fen::new(1), &Default::default()).send_raw().await.unwrap(),
        // Refusals of every kind.
        p.alice.recall(packet).send_raw().await.unwrap(),
        p.alice.withdraw(Fen::new(1_000_000)).send_raw().await.unwrap(),
        p.alice.create_user("x").send_raw().await.unwrap(),
        app.root.me().send_raw().await.unwrap(),
        p.alice.send(RawRequest::post("/v1/me/withdrawals").body("{")).await.unwrap(),
        p.alice
            .send(
                withdraw_one().signing(custom(SignParts { secret: Some("hbs_x".to_owned()), ..SignParts::default() })),
            )
            .await
            .unwrap(),
        p.alice
            .send(withdraw_one().signing(custom(SignParts { timestamp: Some("1".to_owned()), ..SignParts::default() })))
            .await
            .unwrap(),
        p.alice.send(withdraw_one().signing(Signing::Unsigned)).await.unwrap(),
        // Dave's secret used with root's key: the refusal must not show either.
        app.root
            .send(
                RawRequest::get("/v1/me")
                    .signing(custom(SignParts { secret: Some(dave_secret.clone()), ..SignParts::default() })),
            )
            .await
            .unwrap(),
        dave.me().send_raw().await.unwrap(),
        dave.transactions(None, None).send_raw().await.unwrap(),
        // Public endpoints.
        app.root.openapi().send_raw().await.unwrap(),
        app.root.healthz().await.unwrap(),
        app.root.readyz().await.unwrap(),
        app.root.send(RawRequest::get("/metrics").signing(Signing::Unsigned)).await.unwrap(),
        p.alice.send(RawRequest::get("/v1/nowhere")).await.unwrap(),
    ];
    assert!(answers.iter().any(|a| a.status.is_client_error()) && answers.iter().any(|a| a.status.is_success()));
    for answer in &answers {
        let head = format!("{:?}", answer.headers);
        for secret in &secrets {
            assert!(
                !answer.text().contains(secret.as_str()),
                "a secret in an answer ({}): {}",
                answer.status,
                answer.text()
            );
            assert!(!head.contains(secret.as_str()), "a secret in the headers: {head}");
            // Nor its hex part alone.
            assert!(!answer.text().contains(secret.trim_start_matches("hbs_")), "{}", answer.text());
        }
    }
}

/// Sends `request` (whole, `Connection: close`) on a new connection and reads the answer.
async fn send_bytes(app: &TestApp, request: &[u8]) -> (u16, String, Vec<u8>) {
    use tokio::io::AsyncWriteExt as _;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.expect("connect");
    stream.write_all(request).await.expect("send");
    crate::support::read_answer(&mut stream).await
}

#[tokio::test]
async fn a_signing_header_given_twice_is_401_and_changes_nothing() {
    let app = spawn_app().await;
    let (alice, secret) = alice(&app).await;
    let before = books(&alice).await;
    for header in [signing::KEY_HEADER, signing::TIMESTAMP_HEADER, signing::NONCE_HEADER, signing::SIGNATURE_HEADER] {
        let request =
            crate::support::signed_request("POST", "/v1/me/withdrawals", alice.key_id(), &secret, br#"{"amount":1}"#);
        let text = String::from_utf8(request).unwrap();
        // The same header again, with a value of its own, right after the first.
        let line = text.lines().find(|l| l.starts_with(&format!("{header}:"))).unwrap().to_owned();
        let doubled = text.replacen(&line, &format!("{line}\r\n{header}: other-value-0000000000"), 1);
        let (status, _, body) = send_bytes(&app, doubled.as_bytes()).await;
        assert_eq!(status, 401, "{header} twice: {}", String::from_utf8_lossy(&body));
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "unauthenticated");
        assert!(body["error"]["message"].as_str().unwrap().contains("more than once"), "{body}");
    }
    // The same request signed once, as a control: it goes through.
    let request =
        crate::support::signed_request("POST", "/v1/me/withdrawals", alice.key_id(), &secret, br#"{"amount":1}"#);
    assert_eq!(send_bytes(&app, &request).await.0, 201);
    let after = books(&alice).await;
    assert_eq!(before.me.available.get() - 1, after.me.available.get(), "only the control moved money");
}

#[tokio::test]
async fn an_idempotency_key_given_twice_is_400_and_changes_nothing() {
    let app = spawn_app().await;
    let (alice, _) = alice(&app).await;
    let before = books(&alice).await;
    let answer = alice
        .send(
            withdraw_one()
                .header(signing::IDEMPOTENCY_KEY_HEADER, "one")
                .header(signing::IDEMPOTENCY_KEY_HEADER, "two"),
        )
        .await
        .unwrap();
    raw_refused(&answer, 400, "invalid_request");
    assert_eq!(books(&alice).await, before);
}

#[tokio::test]
async fn a_repeated_post_users_never_shows_the_secret_again() {
    let app = spawn_app().await;
    let create = || {
        RawRequest::post("/v1/users")
            .body(r#"{"name":"shown once"}"#)
            .header(signing::IDEMPOTENCY_KEY_HEADER, "user-once")
    };
    let first = app.root.send(create()).await.unwrap();
    assert_eq!(first.status, 201, "{}", first.text());
    let created = json(&first);
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("hbs_"));
    let again = app.root.send(create()).await.unwrap();
    let detail = raw_refused(&again, 409, "conflict");
    assert_eq!(detail["reason"], "secret_shown_once");
    assert_eq!(detail["user_id"], created["user_id"]);
    assert_eq!(detail["key_id"], created["key_id"]);
    assert!(!again.text().contains(&secret), "the secret is not in the repeat: {}", again.text());
    assert!(!again.text().contains(&secret[4..20]), "nor any part of it");
    // The key made the first time is the one that works.
    let user = app.root.with_credentials(created["key_id"].as_str().unwrap(), &secret);
    assert_eq!(user.me().send().await.unwrap().user_id.to_string(), created["user_id"].as_str().unwrap());
}
