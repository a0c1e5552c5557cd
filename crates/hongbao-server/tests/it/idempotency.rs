//! `Idempotency-Key` (docs/API.md "Idempotency-Key"): the same key and request again answers the first
//! answer and does nothing else; anything else under that key is `422`; keys are per principal.

use hongbao_client::{PacketOptions, RawRequest, TransferOptions};
use hongbao_core::Fen;

use crate::support::{books, json, normal, pair, raw_refused, snapshot, spawn_app};

#[tokio::test]
async fn the_same_key_and_body_twice_answers_the_same_and_takes_effect_once() {
    let app = spawn_app().await;
    let p = pair(&app, 10_000, 0).await;

    let first = p.alice.withdraw(Fen::new(100)).idempotency_key("withdraw-1").send_raw().await.unwrap();
    let again = p.alice.withdraw(Fen::new(100)).idempotency_key("withdraw-1").send_raw().await.unwrap();
    assert_eq!(first.status, 201, "{}", first.text());
    assert_eq!((again.status, json(&again)), (first.status, json(&first)));
    assert_eq!(app.balance(&p.alice).await, Fen::new(9_900));

    let transfer = || p.alice.transfer(p.bob_id, Fen::new(200), &TransferOptions::default()).idempotency_key("pay-bob");
    let first = transfer().send_raw().await.unwrap();
    let again = transfer().send_raw().await.unwrap();
    assert_eq!(first.status, 201, "{}", first.text());
    assert_eq!((again.status, json(&again)), (first.status, json(&first)));
    assert_eq!((app.balance(&p.alice).await, app.balance(&p.bob).await), (Fen::new(9_700), Fen::new(200)));

    let spec = normal(p.group, 2, 300);
    let first =
        p.alice.send_packet(&spec, &PacketOptions::default()).idempotency_key("packet").send_raw().await.unwrap();
    let again =
        p.alice.send_packet(&spec, &PacketOptions::default()).idempotency_key("packet").send_raw().await.unwrap();
    assert_eq!(first.status, 201, "{}", first.text());
    assert_eq!((again.status, json(&again)), (first.status, json(&first)));
    assert_eq!(app.balance(&p.alice).await, Fen::new(9_100), "one packet of 600 fen, not two");
    let packet = json(&first)["packet_id"].as_str().unwrap().parse().unwrap();

    let first = p.bob.claim(packet).idempotency_key("grab").send_raw().await.unwrap();
    let again = p.bob.claim(packet).idempotency_key("grab").send_raw().await.unwrap();
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!((again.status, json(&again)), (first.status, json(&first)), "a replay, not already_claimed");
    assert_eq!(app.balance(&p.bob).await, Fen::new(500));
    assert_eq!(p.alice.packet(packet).send().await.unwrap().claims.len(), 1);
}

#[tokio::test]
async fn without_a_key_the_same_request_twice_takes_effect_twice() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    p.alice.withdraw(Fen::new(100)).send().await.unwrap();
    p.alice.withdraw(Fen::new(100)).send().await.unwrap();
    assert_eq!(app.balance(&p.alice).await, Fen::new(800));
}

#[tokio::test]
async fn the_same_key_with_another_body_is_422_idempotency_key_reused_and_changes_nothing() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    p.alice.withdraw(Fen::new(100)).idempotency_key("k").send().await.unwrap();
    let before = snapshot(&[&p.alice, &p.bob], &p.alice, &[]).await;
    let other = p.alice.withdraw(Fen::new(101)).idempotency_key("k").send_raw().await.unwrap();
    raw_refused(&other, 422, "idempotency_key_reused");
    // Another endpoint under the same key is another request too.
    let elsewhere = p.alice.transfer(p.bob_id, Fen::new(100), &TransferOptions::default()).idempotency_key("k");
    raw_refused(&elsewhere.send_raw().await.unwrap(), 422, "idempotency_key_reused");
    assert_eq!(snapshot(&[&p.alice, &p.bob], &p.alice, &[]).await, before);
    // And the first request under the key is still answered as before.
    let replay = p.alice.withdraw(Fen::new(100)).idempotency_key("k").send().await.unwrap();
    assert_eq!(replay.balance, Fen::new(900));
}

#[tokio::test]
async fn the_same_key_from_another_principal_is_independent() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 1_000).await;
    let alices = p.alice.withdraw(Fen::new(100)).idempotency_key("shared-key").send_raw().await.unwrap();
    let bobs = p.bob.withdraw(Fen::new(300)).idempotency_key("shared-key").send_raw().await.unwrap();
    assert_eq!((alices.status.as_u16(), bobs.status.as_u16()), (201, 201), "{}", bobs.text());
    assert_ne!(json(&alices)["transfer_id"], json(&bobs)["transfer_id"]);
    assert_eq!((app.balance(&p.alice).await, app.balance(&p.bob).await), (Fen::new(900), Fen::new(700)));
}

#[tokio::test]
async fn a_refusal_is_answered_again_for_the_same_key_and_body() {
    let app = spawn_app().await;
    let (alice, created) = app.user("alice", 100).await;
    let first = alice.withdraw(Fen::new(500)).idempotency_key("too-much").send_raw().await.unwrap();
    raw_refused(&first, 409, "insufficient_funds");
    app.root.deposit(created.user_id, Fen::new(1_000)).send().await.unwrap();
    // The same request under the same key answers the first answer, though it would now pass.
    let again = alice.withdraw(Fen::new(500)).idempotency_key("too-much").send_raw().await.unwrap();
    assert_eq!((again.status, json(&again)), (first.status, json(&first)));
    assert_eq!(app.balance(&alice).await, Fen::new(1_100));
    // A fresh key is a fresh request.
    alice.withdraw(Fen::new(500)).idempotency_key("enough-now").send().await.unwrap();
    assert_eq!(app.balance(&alice).await, Fen::new(600));
}

#[tokio::test]
async fn two_identical_keyed_requests_at_once_take_effect_once() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let call = || p.alice.withdraw(Fen::new(100)).idempotency_key("racing").send_raw();
    let (a, b) = tokio::join!(call(), call());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.status, 201, "{}", a.text());
    assert_eq!((b.status, json(&b)), (a.status, json(&a)));
    assert_eq!(app.balance(&p.alice).await, Fen::new(900));
}

#[tokio::test]
async fn an_idempotency_key_that_is_not_1_to_255_printable_ascii_characters_is_400() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let before = books(&p.alice).await;
    for key in [String::new(), "k".repeat(256), "ключ".to_owned(), "红包-1".to_owned(), "tab\there".to_owned()] {
        let request =
            RawRequest::post("/v1/me/withdrawals").body(r#"{"amount":1}"#).header("Idempotency-Key", key.clone());
        let answer = p.alice.send(request).await.unwrap();
        assert_eq!(answer.status, 400, "{key:?}: {}", answer.text());
        raw_refused(&answer, 400, "invalid_request");
    }
    assert_eq!(books(&p.alice).await, before);
    for key in ["k".repeat(255), "order 42 / retry ~".to_owned(), "1".to_owned()] {
        let answer = p.alice.withdraw(Fen::new(1)).idempotency_key(key.clone()).send_raw().await.unwrap();
        assert_eq!(answer.status, 201, "{key:?}: {}", answer.text());
    }
    assert_eq!(app.balance(&p.alice).await, Fen::new(997));
}
