//! Deadlines driven by `POST /v1/dev/clock`: expiry refunds and delayed arrivals happen when the
//! business clock passes them, and the endpoint itself is guarded and exists only with
//! `--dev-clock`.

use hongbao_client::{PacketOptions, RawRequest, TransferOptions};
use hongbao_core::{Fen, Timestamp};
use hongbao_server::run::Settings;
use serde_json::json;

use crate::support::{
    exclusive, json, keys, lucky, normal, raw_refused, refused, send, set, spawn_app, spawn_app_with,
};

const HOUR_S: u32 = 3_600;

#[tokio::test]
async fn a_half_claimed_packet_expires_after_24_hours_and_the_rest_returns_to_the_sender() {
    let app = spawn_app().await;
    let (alice, _) = app.user("alice", 2_000).await;
    let (bob, b) = app.user("bob", 0).await;
    let (carol, c) = app.user("carol", 0).await;
    let group = alice.create_group("three", &[b.user_id, c.user_id]).send().await.unwrap().group_id;
    let packet = send(&alice, &normal(group, 3, 100)).await.packet_id;
    let luck = send(&alice, &lucky(group, 3, 300)).await.packet_id;
    let untouched = send(&alice, &exclusive(b.user_id, 500)).await.packet_id;
    let bob_share = bob.claim(packet).send().await.unwrap().amount;
    carol.claim(packet).send().await.unwrap();
    let lucky_share = bob.claim(luck).send().await.unwrap().amount;
    assert_eq!(app.balance(&alice).await, Fen::new(900));

    // Shortly before the deadline nothing has happened yet.
    app.root.dev_clock(23 * HOUR_S + 50 * 60).send().await.unwrap();
    assert_eq!(alice.packet(packet).send().await.unwrap().status.as_str(), "active");
    assert_eq!(app.balance(&alice).await, Fen::new(900));

    app.root.dev_clock(HOUR_S).send().await.unwrap();
    for id in [packet, luck, untouched] {
        assert_eq!(alice.packet(id).send().await.unwrap().status.as_str(), "expired", "{id}");
    }
    // 100 back from the normal packet, 300 − Bob's share from the lucky one, 500 from Bob's.
    let refunds = 100 + (300 - lucky_share.get()) + 500;
    assert_eq!(app.balance(&alice).await, Fen::new(900 + refunds));
    assert_eq!(app.balance(&bob).await, Fen::new(bob_share.get() + lucky_share.get()), "claims stay claimed");
    assert_eq!(app.balance(&carol).await, Fen::new(100));
    let history = alice.transactions(Some(3), None).send().await.unwrap();
    let mut refunded: Vec<(String, i64)> =
        history.items.iter().map(|i| (i.kind.as_str().to_owned(), i.amount.get())).collect();
    refunded.sort();
    let mut expected = vec![
        ("packet_refund".to_owned(), 100),
        ("packet_refund".to_owned(), 300 - lucky_share.get()),
        ("packet_refund".to_owned(), 500),
    ];
    expected.sort();
    assert_eq!(refunded, expected);
    assert!(history.items.iter().all(|i| i.direction.as_str() == "in" && i.packet_id.is_some()));

    refused(carol.claim(luck).send().await, 410, "packet_expired");
    refused(bob.claim(untouched).send().await, 410, "packet_expired");
    let error = refused(alice.recall(untouched).send().await, 409, "recall_not_allowed");
    assert_eq!(error["reason"], "not_active");
    assert_eq!(app.balance(&alice).await, Fen::new(900 + refunds));
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_delayed_claim_is_pending_revocable_by_the_sender_before_it_arrives_and_not_pending_after() {
    let app = spawn_app().await;
    let (alice, _) = app.user("alice", 1_000).await;
    let (bob, b) = app.user("bob", 0).await;
    let (carol, c) = app.user("carol", 0).await;
    let group = alice.create_group("three", &[b.user_id, c.user_id]).send().await.unwrap().group_id;
    let options = PacketOptions::default().arrival_delay_seconds(7_200);
    let packet = alice.send_packet(&normal(group, 3, 100), &options).send().await.unwrap().packet_id;

    let bobs = bob.claim(packet).send().await.unwrap();
    assert_eq!(bobs.status.as_str(), "pending");
    let view = alice.packet(packet).send().await.unwrap();
    let claimed_at = view.claims[0].claimed_at;
    assert_eq!(bobs.arrives_at.millis() - claimed_at.millis(), 7_200_000);
    let me = bob.me().send().await.unwrap();
    assert_eq!((me.balance, me.pending_in), (Fen::ZERO, Fen::new(100)));
    let revoked = alice.revoke_claim(bobs.claim_id).send().await.unwrap();
    assert_eq!(revoked.status.as_str(), "revoked");
    assert_eq!(app.balance(&alice).await, Fen::new(800));

    let carols = carol.claim(packet).send().await.unwrap();
    assert_eq!(carols.status.as_str(), "pending");
    refused(carol.return_claim(carols.claim_id).send().await, 409, "conflict");
    app.root.dev_clock(2 * HOUR_S).send().await.unwrap();
    let me = carol.me().send().await.unwrap();
    assert_eq!((me.balance, me.pending_in), (Fen::new(100), Fen::ZERO), "arrived by itself");
    let claims = alice.packet(packet).send().await.unwrap().claims;
    let statuses: Vec<&str> = claims.iter().map(|c| c.status.as_str()).collect();
    assert_eq!(statuses, ["revoked", "arrived"]);
    refused(alice.revoke_claim(carols.claim_id).send().await, 409, "not_pending");
    refused(alice.revoke_claim(bobs.claim_id).send().await, 409, "not_pending");
    assert_eq!((app.balance(&alice).await, app.balance(&carol).await), (Fen::new(800), Fen::new(100)));
    // Once arrived it may be given back.
    assert_eq!(carol.return_claim(carols.claim_id).send().await.unwrap().status.as_str(), "returned");
    assert_eq!(app.balance(&alice).await, Fen::new(900));
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_delayed_transfer_is_revocable_before_it_arrives_and_not_pending_after() {
    let app = spawn_app().await;
    let (alice, _) = app.user("alice", 1_000).await;
    let (bob, b) = app.user("bob", 0).await;
    let two_hours = TransferOptions::default().arrival_delay_seconds(7_200);
    let a_day = TransferOptions::default().arrival_delay_seconds(86_400);
    let revoked = alice.transfer(b.user_id, Fen::new(100), &two_hours).send().await.unwrap();
    let arrives = alice.transfer(b.user_id, Fen::new(200), &two_hours).send().await.unwrap();
    let tomorrow = alice.transfer(b.user_id, Fen::new(300), &a_day).send().await.unwrap();
    for receipt in [&revoked, &arrives, &tomorrow] {
        assert_eq!(receipt.status.as_str(), "pending");
    }
    let apart_ms = tomorrow.arrives_at.millis() - arrives.arrives_at.millis();
    assert!((86_400 - 7_200) * 1000 <= apart_ms, "a day against two hours: {apart_ms} ms apart");

    app.root.dev_clock(HOUR_S).send().await.unwrap();
    assert_eq!(alice.revoke_transfer(revoked.transfer_id).send().await.unwrap().status.as_str(), "revoked");
    app.root.dev_clock(HOUR_S).send().await.unwrap();
    let me = bob.me().send().await.unwrap();
    assert_eq!((me.balance, me.pending_in), (Fen::new(200), Fen::new(300)));
    let me = alice.me().send().await.unwrap();
    assert_eq!((me.balance, me.available, me.pending_out), (Fen::new(800), Fen::new(500), Fen::new(300)));
    refused(alice.revoke_transfer(arrives.transfer_id).send().await, 409, "not_pending");
    refused(alice.revoke_transfer(revoked.transfer_id).send().await, 409, "not_pending");

    app.root.dev_clock(22 * HOUR_S).send().await.unwrap();
    assert_eq!(bob.me().send().await.unwrap().balance, Fen::new(500));
    refused(alice.revoke_transfer(tomorrow.transfer_id).send().await, 409, "not_pending");
    let history = bob.transactions(None, None).send().await.unwrap();
    let seen: Vec<(i64, &str)> = history.items.iter().map(|i| (i.amount.get(), i.status.as_str())).collect();
    assert!(seen.contains(&(200, "arrived")) && seen.contains(&(300, "arrived")), "{seen:?}");
    app.assert_invariants().await;
}

#[tokio::test]
async fn the_dev_clock_moves_forward_and_answers_the_new_time() {
    let app = spawn_app().await;
    let answer = app.root.dev_clock(60).send_raw().await.unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = json(&answer);
    assert_eq!(keys(&body), set(&["now"]));
    let first = Timestamp::parse_rfc3339(body["now"].as_str().unwrap()).unwrap();
    let real_ms = crate::support::unix_now_s() * 1000;
    assert!((first.millis() - real_ms - 60_000).abs() < 30_000, "60 s ahead of real time: {first}");
    let second = app.root.dev_clock(2 * HOUR_S).send().await.unwrap().now;
    let moved_ms = second.millis() - first.millis();
    assert!((7_200_000..7_200_000 + 30_000).contains(&moved_ms), "moved {moved_ms} ms");
}

#[tokio::test]
async fn the_dev_clock_refuses_zero_negative_or_malformed_advances() {
    let app = spawn_app().await;
    let before = app.root.dev_clock(1).send().await.unwrap().now;
    for body in [
        json!({"advance_seconds": 0}),
        json!({"advance_seconds": -60}),
        json!({"advance_seconds": 1.5}),
        json!({"advance_seconds": "60"}),
        json!({}),
        json!({"advance_seconds": 60, "back": true}),
        json!({"advance_seconds": 4_294_967_296_u64}),
    ] {
        let answer = app.root.send(RawRequest::post("/v1/dev/clock").json(&body)).await.unwrap();
        assert_eq!(answer.status, 400, "{body}: {}", answer.text());
        raw_refused(&answer, 400, "invalid_request");
    }
    let after = app.root.dev_clock(1).send().await.unwrap().now;
    assert!(after.millis() - before.millis() < 60_000, "no refused advance moved the clock: {before} → {after}");
}

#[tokio::test]
async fn the_dev_clock_stops_ten_years_ahead_of_real_time_and_times_still_print_as_dates() {
    let app = spawn_app().await;
    let max_s = u32::try_from(hongbao_engine::DEV_CLOCK_AHEAD_MAX_S).unwrap();
    // Nine years in one step, then a refused step that would pass ten, then what is left.
    let nine_years = app.root.dev_clock(9 * 366 * 86_400).send().await.unwrap().now;
    let error = refused(app.root.dev_clock(u32::MAX).send().await, 400, "invalid_request");
    assert!(error["message"].as_str().unwrap().contains("at most 3660 days ahead of real time"), "{error}");
    let still = app.root.dev_clock(1).send().await.unwrap().now;
    assert!(still.millis() - nine_years.millis() < 60_000, "the refused advance did not move the clock");
    refused(app.root.dev_clock(max_s - 9 * 366 * 86_400 + 60).send().await, 400, "invalid_request");
    let now = app.root.dev_clock(366 * 86_400 - 3_600).send().await.unwrap().now;
    assert!(now.to_rfc3339().ends_with('Z') && !now.to_rfc3339().starts_with('@'), "{now}");
}

#[tokio::test]
async fn the_dev_clock_needs_an_admin() {
    let app = spawn_app().await;
    let (alice, _) = app.user("alice", 1_000).await;
    let (_, b) = app.user("bob", 0).await;
    let packet = send(&alice, &exclusive(b.user_id, 100)).await.packet_id;
    refused(alice.dev_clock(25 * HOUR_S).send().await, 403, "forbidden");
    let auditor = app.root.create_operator("audrey", &[hongbao_core::principal::Role::Auditor]).send().await.unwrap();
    refused(app.root.for_operator(&auditor).dev_clock(25 * HOUR_S).send().await, 403, "forbidden");
    assert_eq!(alice.packet(packet).send().await.unwrap().status.as_str(), "active", "time did not move");
    assert_eq!(app.balance(&alice).await, Fen::new(900));
}

#[tokio::test]
async fn without_the_dev_clock_flag_the_endpoint_is_404() {
    let app = spawn_app_with(Settings::default(), false).await;
    let (alice, _) = app.user("alice", 0).await;
    refused(app.root.dev_clock(60).send().await, 404, "not_found");
    refused(alice.dev_clock(60).send().await, 404, "not_found");
    refused(app.root.dev_clock(0).send().await, 404, "not_found");
}
