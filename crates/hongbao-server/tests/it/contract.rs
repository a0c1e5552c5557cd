//! Every endpoint of docs/API.md: the status, the exact fields of the answer, and the refusals
//! each endpoint documents, with what they leave unchanged.

use hongbao_client::{PacketOptions, RawRequest, TransferOptions};
use hongbao_core::principal::Role;
use hongbao_core::{Fen, Timestamp, UserId};
use serde_json::json;

use crate::support::{
    books, exclusive, json, keys, lucky, no_options, normal, pair, raw_refused, refused, send, set, spawn_app,
};

const USER_CREATED: &[&str] = &["user_id", "name", "key_id", "secret"];
const MOVED: &[&str] = &["transfer_id", "balance"];
const ME: &[&str] = &["user_id", "name", "balance", "available", "pending_in", "pending_out", "frozen", "status"];
const GROUP: &[&str] = &["group_id", "name", "members"];
const PACKET: &[&str] = &[
    "packet_id",
    "kind",
    "sender",
    "group_id",
    "recipient",
    "count",
    "total",
    "greeting",
    "status",
    "remaining_count",
    "remaining_amount",
    "created_at",
    "expires_at",
    "arrival_delay_seconds",
    "touched",
    "claims",
    "best_luck",
];
const PACKET_CLAIM: &[&str] = &["claim_id", "user_id", "amount", "claimed_at", "status", "arrives_at"];
const CLAIM_RECEIPT: &[&str] = &["claim_id", "packet_id", "amount", "status", "arrives_at"];
const RECALLED: &[&str] = &["packet_id", "refunded", "status"];
const TRANSFER: &[&str] = &["transfer_id", "status", "arrives_at"];

fn time(value: &serde_json::Value) -> Timestamp {
    Timestamp::parse_rfc3339(value.as_str().unwrap_or_else(|| panic!("a time string: {value}")))
        .unwrap_or_else(|e| panic!("{value}: {e}"))
}

// ----- users and operators -------------------------------------------------------------------

#[tokio::test]
async fn creating_a_user_answers_201_with_the_id_name_key_and_a_secret_that_signs() {
    let app = spawn_app().await;
    let answer = app.root.create_user("alice").send_raw().await.unwrap();
    assert_eq!(answer.status, 201, "{}", answer.text());
    let body = json(&answer);
    assert_eq!(keys(&body), set(USER_CREATED));
    assert_eq!(body["name"], "alice");
    assert!(body["user_id"].as_str().unwrap().starts_with("usr_"), "{body}");
    let created: hongbao_core::ops::UserCreated = answer.json().unwrap();
    let me = app.root.for_user(&created).me().send().await.unwrap();
    assert_eq!((me.user_id, me.name.as_str()), (created.user_id, "alice"));
}

#[tokio::test]
async fn a_user_name_has_1_to_64_characters() {
    let app = spawn_app().await;
    refused(app.root.create_user("").send().await, 400, "invalid_request");
    refused(app.root.create_user("   ").send().await, 400, "invalid_request");
    refused(app.root.create_user(&"名".repeat(65)).send().await, 400, "invalid_request");
    let longest = app.root.create_user(&"名".repeat(64)).send().await.unwrap();
    assert_eq!(longest.name.chars().count(), 64);
}

#[tokio::test]
async fn creating_an_operator_answers_201_with_credentials_limited_to_its_roles() {
    let app = spawn_app().await;
    let answer = app.root.create_operator("audrey", &[Role::Auditor]).send_raw().await.unwrap();
    assert_eq!(answer.status, 201, "{}", answer.text());
    let body = json(&answer);
    assert!(keys(&body).is_superset(&set(&["key_id", "secret"])), "{body}");
    assert_eq!(body["roles"], json!(["auditor"]));
    let auditor = app.root.for_operator(&answer.json().unwrap());
    refused(auditor.create_user("mallory").send().await, 403, "forbidden");

    let admin = app.root.create_operator("adam", &[Role::Admin]).send().await.unwrap();
    let admin = app.root.for_operator(&admin);
    let made = admin.create_user("carol").send().await.unwrap();
    assert_eq!(made.name, "carol");
}

#[tokio::test]
async fn an_operator_needs_at_least_one_known_role() {
    let app = spawn_app().await;
    refused(app.root.create_operator("nobody", &[]).send().await, 400, "invalid_request");
    let janitor = RawRequest::post("/v1/operators").json(&json!({"name": "jan", "roles": ["janitor"]}));
    raw_refused(&app.root.send(janitor).await.unwrap(), 400, "invalid_request");
}

#[tokio::test]
async fn a_deposit_answers_201_with_the_transfer_and_the_new_balance() {
    let app = spawn_app().await;
    let (alice, created) = app.user("alice", 0).await;
    let first = app.root.deposit(created.user_id, Fen::new(500)).send_raw().await.unwrap();
    assert_eq!(first.status, 201, "{}", first.text());
    let body = json(&first);
    assert_eq!(keys(&body), set(MOVED));
    assert_eq!(body["balance"], 500);
    assert!(body["transfer_id"].as_str().unwrap().starts_with("trf_"), "{body}");
    let second = app.root.deposit(created.user_id, Fen::new(250)).send().await.unwrap();
    assert_eq!(second.balance, Fen::new(750));
    assert_eq!(app.balance(&alice).await, Fen::new(750));
}

#[tokio::test]
async fn a_deposit_to_nobody_is_404_and_a_deposit_of_nothing_is_400() {
    let app = spawn_app().await;
    let (alice, created) = app.user("alice", 100).await;
    let nobody: UserId = "usr_0190f0a0b0c0d0e0f000000000000000".parse().unwrap();
    refused(app.root.deposit(nobody, Fen::new(100)).send().await, 404, "not_found");
    refused(app.root.deposit(created.user_id, Fen::new(0)).send().await, 400, "invalid_request");
    assert_eq!(app.balance(&alice).await, Fen::new(100));
}

// ----- me, withdrawals, transactions ----------------------------------------------------------

#[tokio::test]
async fn me_shows_exactly_the_documented_fields() {
    let app = spawn_app().await;
    let (alice, created) = app.user("alice", 1_234).await;
    let body = json(&alice.me().send_raw().await.unwrap());
    assert_eq!(keys(&body), set(ME));
    assert_eq!(
        body,
        json!({
            "user_id": created.user_id.to_string(), "name": "alice", "balance": 1234, "available": 1234,
            "pending_in": 0, "pending_out": 0, "frozen": 0, "status": "active",
        })
    );
}

#[tokio::test]
async fn a_withdrawal_answers_201_and_more_than_available_is_insufficient_funds() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let answer = p.alice.withdraw(Fen::new(300)).send_raw().await.unwrap();
    assert_eq!(answer.status, 201, "{}", answer.text());
    let body = json(&answer);
    assert_eq!(keys(&body), set(MOVED));
    assert_eq!(body["balance"], 700);

    let error = refused(p.alice.withdraw(Fen::new(701)).send().await, 409, "insufficient_funds");
    assert_eq!((error["needed"].clone(), error["available"].clone()), (json!(701), json!(700)));

    // Money on its way out is not available, though it is still in the balance.
    let options = TransferOptions::default().arrival_delay_seconds(7200);
    p.alice.transfer(p.bob_id, Fen::new(600), &options).send().await.unwrap();
    let me = p.alice.me().send().await.unwrap();
    assert_eq!((me.balance, me.available, me.pending_out), (Fen::new(700), Fen::new(100), Fen::new(600)));
    let before = books(&p.alice).await;
    refused(p.alice.withdraw(Fen::new(101)).send().await, 409, "insufficient_funds");
    assert_eq!(books(&p.alice).await, before);
    p.alice.withdraw(Fen::new(100)).send().await.unwrap();
    assert_eq!(p.alice.me().send().await.unwrap().available, Fen::ZERO);
}

#[tokio::test]
async fn transactions_list_every_movement_newest_first_with_its_fields() {
    let app = spawn_app().await;
    let p = pair(&app, 10_000, 0).await;
    p.alice.withdraw(Fen::new(100)).send().await.unwrap();
    p.alice.transfer(p.bob_id, Fen::new(200), &no_options()).send().await.unwrap();
    let packet = send(&p.alice, &normal(p.group, 1, 300)).await;
    p.bob.claim(packet.packet_id).send().await.unwrap();

    let page = json(&p.alice.transactions(None, None).send_raw().await.unwrap());
    assert_eq!(keys(&page), set(&["items", "next_cursor"]));
    assert_eq!(page["next_cursor"], serde_json::Value::Null);
    let items = page["items"].as_array().unwrap();
    let summary: Vec<(String, i64, String)> = items
        .iter()
        .map(|i| {
            (
                i["kind"].as_str().unwrap().to_owned(),
                i["amount"].as_i64().unwrap(),
                i["direction"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected =
        [("packet_send", 300, "out"), ("transfer", 200, "out"), ("withdrawal", 100, "out"), ("deposit", 10_000, "in")];
    let expected: Vec<(String, i64, String)> =
        expected.iter().map(|(k, a, d)| ((*k).to_owned(), *a, (*d).to_owned())).collect();
    assert_eq!(summary, expected);
    for item in items {
        let fields = keys(item);
        assert!(
            fields.is_superset(&set(&["transfer_id", "amount", "direction", "kind", "status", "created_at"])),
            "{item}"
        );
        assert_eq!(item["status"], "arrived", "{item}");
        time(&item["created_at"]);
    }
    assert_eq!(items[0]["packet_id"], packet.packet_id.to_string());
    assert!(items[3].get("packet_id").is_none_or(serde_json::Value::is_null), "a deposit has no packet: {}", items[3]);

    let bob = p.bob.transactions(None, None).send().await.unwrap();
    let kinds: Vec<(&str, i64, &str)> =
        bob.items.iter().map(|i| (i.kind.as_str(), i.amount.get(), i.direction.as_str())).collect();
    assert_eq!(kinds, [("packet_claim", 300, "in"), ("transfer", 200, "in")]);
    assert_eq!(bob.items[0].packet_id, Some(packet.packet_id));
}

#[tokio::test]
async fn transactions_page_with_limit_and_cursor_until_next_cursor_is_null() {
    let app = spawn_app().await;
    let (alice, created) = app.user("alice", 0).await;
    for amount in 1..=5 {
        app.root.deposit(created.user_id, Fen::new(amount)).send().await.unwrap();
    }
    let all = alice.transactions(Some(100), None).send().await.unwrap();
    let amounts: Vec<i64> = all.items.iter().map(|i| i.amount.get()).collect();
    assert_eq!(amounts, [5, 4, 3, 2, 1], "newest first");
    assert_eq!(all.next_cursor, None);

    let mut paged = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = alice.transactions(Some(2), cursor.as_deref()).send().await.unwrap();
        sizes.push(page.items.len());
        paged.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(sizes.len() <= 3, "paging does not end: {sizes:?}");
    }
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(paged, all.items);
}

#[tokio::test]
async fn transactions_refuse_a_limit_out_of_range_or_a_cursor_not_given_out() {
    let app = spawn_app().await;
    let (alice, _) = app.user("alice", 100).await;
    for query in
        ["limit=0", "limit=101", "limit=-1", "limit=ten", "cursor=abc", "cursor=pkt_0190f0a0b0c0d0e0f000000000000000"]
    {
        let answer = alice.send(RawRequest::get(format!("/v1/me/transactions?{query}"))).await.unwrap();
        raw_refused(&answer, 400, "invalid_request");
    }
    assert_eq!(alice.transactions(Some(100), None).send().await.unwrap().items.len(), 1);
}

// ----- groups -----------------------------------------------------------------------------------

#[tokio::test]
async fn creating_a_group_answers_201_and_always_includes_the_caller() {
    let app = spawn_app().await;
    let (alice, a) = app.user("alice", 0).await;
    let (bob, b) = app.user("bob", 0).await;
    let answer = alice.create_group("family", &[b.user_id, b.user_id]).send_raw().await.unwrap();
    assert_eq!(answer.status, 201, "{}", answer.text());
    let body = json(&answer);
    assert_eq!(keys(&body), set(GROUP));
    assert_eq!(body["name"], "family");
    let mut members: Vec<String> = serde_json::from_value(body["members"].clone()).unwrap();
    members.sort();
    let mut expected = vec![a.user_id.to_string(), b.user_id.to_string()];
    expected.sort();
    assert_eq!(members, expected);

    let seen = bob.group(body["group_id"].as_str().unwrap().parse().unwrap()).send_raw().await.unwrap();
    assert_eq!(seen.status, 200);
    assert_eq!(json(&seen), body);

    let alone = alice.create_group("me", &[]).send().await.unwrap();
    assert_eq!(alone.members, [a.user_id]);
}

#[tokio::test]
async fn a_group_has_at_most_500_members() {
    let app = spawn_app().await;
    let (alice, _) = app.user("alice", 0).await;
    let many: Vec<UserId> = (1..=500_u32).map(|n| format!("usr_{n:032x}").parse().unwrap()).collect();
    let error = refused(alice.create_group("crowd", &many).send().await, 400, "invalid_request");
    assert!(error["message"].as_str().unwrap().contains("500"), "the message names the limit: {error}");
}

// ----- packets ----------------------------------------------------------------------------------

#[tokio::test]
async fn sending_a_normal_packet_answers_201_with_the_whole_view_and_takes_the_money_at_once() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let options = PacketOptions::default().greeting("新年快乐");
    let answer = p.alice.send_packet(&normal(p.group, 2, 150), &options).send_raw().await.unwrap();
    assert_eq!(answer.status, 201, "{}", answer.text());
    let body = json(&answer);
    assert_eq!(keys(&body), set(PACKET));
    let created_at = time(&body["created_at"]);
    let expires_at = time(&body["expires_at"]);
    assert_eq!(expires_at.millis() - created_at.millis(), 24 * 3600 * 1000, "a packet lasts 24 h");
    let mut expected = json!({
        "kind": "normal", "sender": p.alice_id.to_string(), "group_id": p.group.to_string(), "recipient": null,
        "count": 2, "total": 300, "greeting": "新年快乐", "status": "active", "remaining_count": 2,
        "remaining_amount": 300, "arrival_delay_seconds": 0, "touched": false, "claims": [], "best_luck": null,
    });
    for field in ["packet_id", "created_at", "expires_at"] {
        expected[field] = body[field].clone();
    }
    assert_eq!(body, expected);
    let me = p.alice.me().send().await.unwrap();
    assert_eq!((me.balance, me.available), (Fen::new(700), Fen::new(700)));
}

#[tokio::test]
async fn a_packet_without_a_greeting_gets_the_standard_one() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let view = send(&p.alice, &normal(p.group, 1, 100)).await;
    assert_eq!(view.greeting, "恭喜发财，大吉大利");
}

#[tokio::test]
async fn a_lucky_packet_splits_its_total_and_names_the_best_luck_once_every_share_is_claimed() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let (carol, c) = app.user("carol", 0).await;
    let group = p.alice.create_group("three", &[p.bob_id, c.user_id]).send().await.unwrap();
    let view = send(&p.alice, &lucky(group.group_id, 3, 1_000)).await;
    assert_eq!(
        (view.kind.as_str(), view.count, view.total, view.remaining_amount),
        ("lucky", 3, Fen::new(1_000), Fen::new(1_000))
    );
    assert_eq!(app.balance(&p.alice).await, Fen::ZERO);

    let mut amounts = Vec::new();
    for (client, who) in [(&p.bob, p.bob_id), (&carol, c.user_id)] {
        let claim = client.claim(view.packet_id).send().await.unwrap();
        amounts.push((claim.amount, who));
        let partial = client.packet(view.packet_id).send().await.unwrap();
        assert_eq!(partial.best_luck, None, "no best luck before the last share");
    }
    let last = p.alice.claim(view.packet_id).send().await.unwrap();
    amounts.push((last.amount, p.alice_id));
    let done = p.alice.packet(view.packet_id).send().await.unwrap();
    assert_eq!(done.status.as_str(), "exhausted");
    assert_eq!((done.remaining_count, done.remaining_amount), (0, Fen::ZERO));
    assert_eq!(Fen::checked_sum(amounts.iter().map(|(a, _)| *a)).unwrap(), Fen::new(1_000));
    assert!(amounts.iter().all(|(a, _)| a.get() >= 1));
    let best = amounts.iter().max_by_key(|(a, _)| *a).unwrap();
    assert_eq!(done.best_luck, Some(amounts.iter().find(|(a, _)| a == &best.0).unwrap().1));
    let claims = json(&p.bob.packet(view.packet_id).send_raw().await.unwrap())["claims"].clone();
    for claim in claims.as_array().unwrap() {
        assert_eq!(keys(claim), set(PACKET_CLAIM));
    }
}

#[tokio::test]
async fn an_exclusive_packet_names_its_recipient_and_only_they_may_claim_it() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let (carol, _) = app.user("carol", 0).await;
    let answer = p.alice.send_packet(&exclusive(p.bob_id, 520), &PacketOptions::default()).send_raw().await.unwrap();
    assert_eq!(answer.status, 201, "{}", answer.text());
    let body = json(&answer);
    let mut expected = set(PACKET);
    expected.insert("warnings".to_owned());
    assert_eq!(keys(&body), expected, "an exclusive packet to a new account carries the notice");
    assert_eq!(body["warnings"][0]["code"], "new_account");
    assert_eq!((body["kind"].clone(), body["recipient"].clone()), (json!("exclusive"), json!(p.bob_id.to_string())));
    assert_eq!(
        (body["group_id"].clone(), body["count"].clone(), body["total"].clone()),
        (json!(null), json!(1), json!(520))
    );
    let packet = body["packet_id"].as_str().unwrap().parse().unwrap();
    refused(carol.claim(packet).send().await, 404, "not_found");
    let claim = p.bob.claim(packet).send().await.unwrap();
    assert_eq!(claim.amount, Fen::new(520));
    assert_eq!(app.balance(&p.bob).await, Fen::new(520));
    refused(
        p.alice.send_packet(&exclusive(p.alice_id, 1), &PacketOptions::default()).send().await,
        400,
        "invalid_request",
    );
}

#[tokio::test]
async fn a_packet_larger_than_the_available_balance_is_insufficient_funds() {
    let app = spawn_app().await;
    let p = pair(&app, 299, 0).await;
    let before = books(&p.alice).await;
    refused(
        p.alice.send_packet(&normal(p.group, 2, 150), &PacketOptions::default()).send().await,
        409,
        "insufficient_funds",
    );
    refused(
        p.alice.send_packet(&exclusive(p.bob_id, 300), &PacketOptions::default()).send().await,
        409,
        "insufficient_funds",
    );
    assert_eq!(books(&p.alice).await, before);
}

#[tokio::test]
async fn reading_a_packet_does_not_touch_it_and_a_recipient_opening_it_does() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let packet = send(&p.alice, &normal(p.group, 2, 100)).await.packet_id;
    let read = p.bob.packet(packet).send_raw().await.unwrap();
    assert_eq!(read.status, 200);
    assert_eq!(json(&read)["touched"], false);
    let by_sender = p.alice.open(packet).send_raw().await.unwrap();
    assert_eq!(by_sender.status, 200, "{}", by_sender.text());
    assert_eq!(keys(&json(&by_sender)), set(PACKET));
    assert_eq!(json(&by_sender)["touched"], false, "the sender opening their own packet is not a touch");
    let by_bob = p.bob.open(packet).send().await.unwrap();
    assert!(by_bob.touched);
    assert!(p.alice.packet(packet).send().await.unwrap().touched);
}

#[tokio::test]
async fn a_claim_answers_200_with_the_share_and_a_second_claim_is_already_claimed() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let packet = send(&p.alice, &normal(p.group, 2, 125)).await.packet_id;
    let answer = p.bob.claim(packet).send_raw().await.unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = json(&answer);
    assert_eq!(keys(&body), set(CLAIM_RECEIPT));
    assert_eq!(
        (body["packet_id"].clone(), body["amount"].clone(), body["status"].clone()),
        (json!(packet.to_string()), json!(125), json!("arrived"))
    );
    time(&body["arrives_at"]);
    assert_eq!(app.balance(&p.bob).await, Fen::new(125));

    let before = (books(&p.bob).await, p.alice.packet(packet).send().await.unwrap());
    refused(p.bob.claim(packet).send().await, 409, "already_claimed");
    assert_eq!((books(&p.bob).await, p.alice.packet(packet).send().await.unwrap()), before);
    let view = p.alice.packet(packet).send().await.unwrap();
    assert_eq!((view.remaining_count, view.remaining_amount, view.claims.len()), (1, Fen::new(125), 1));
    assert_eq!(view.claims[0].user_id, p.bob_id);
}

#[tokio::test]
async fn a_claim_on_an_exhausted_packet_is_packet_exhausted() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let (carol, c) = app.user("carol", 0).await;
    let group = p.alice.create_group("three", &[p.bob_id, c.user_id]).send().await.unwrap();
    let packet = send(&p.alice, &normal(group.group_id, 1, 100)).await.packet_id;
    p.bob.claim(packet).send().await.unwrap();
    refused(carol.claim(packet).send().await, 409, "packet_exhausted");
    assert_eq!(app.balance(&carol).await, Fen::ZERO);
    assert_eq!(p.alice.packet(packet).send().await.unwrap().status.as_str(), "exhausted");
}

#[tokio::test]
async fn a_claim_on_a_recalled_packet_is_packet_recalled() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let packet = send(&p.alice, &normal(p.group, 2, 100)).await.packet_id;
    p.alice.recall(packet).send().await.unwrap();
    refused(p.bob.claim(packet).send().await, 409, "packet_recalled");
    assert_eq!(app.balance(&p.bob).await, Fen::ZERO);
    assert_eq!(app.balance(&p.alice).await, Fen::new(1_000));
}

#[tokio::test]
async fn recalling_an_untouched_packet_answers_200_and_refunds_it() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let packet = send(&p.alice, &normal(p.group, 2, 150)).await.packet_id;
    assert_eq!(app.balance(&p.alice).await, Fen::new(700));
    let answer = p.alice.recall(packet).send_raw().await.unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = json(&answer);
    assert_eq!(keys(&body), set(RECALLED));
    assert_eq!(body, json!({"packet_id": packet.to_string(), "refunded": 300, "status": "recalled"}));
    assert_eq!(app.balance(&p.alice).await, Fen::new(1_000));
    assert_eq!(p.bob.packet(packet).send().await.unwrap().status.as_str(), "recalled");
    let exclusive = send(&p.alice, &exclusive(p.bob_id, 50)).await.packet_id;
    assert_eq!(p.alice.recall(exclusive).send().await.unwrap().refunded, Fen::new(50));
}

#[tokio::test]
async fn a_recall_refusal_names_the_first_reason_that_applies() {
    let app = spawn_app().await;
    let p = pair(&app, 10_000, 0).await;

    let recalled = send(&p.alice, &normal(p.group, 2, 100)).await.packet_id;
    p.alice.recall(recalled).send().await.unwrap();
    let exhausted_lucky = send(&p.alice, &lucky(p.group, 1, 100)).await.packet_id;
    p.bob.claim(exhausted_lucky).send().await.unwrap();
    let untouched_lucky = send(&p.alice, &lucky(p.group, 2, 100)).await.packet_id;
    let claimed = send(&p.alice, &normal(p.group, 2, 100)).await.packet_id;
    p.bob.claim(claimed).send().await.unwrap();
    let touched = send(&p.alice, &normal(p.group, 2, 100)).await.packet_id;
    p.bob.open(touched).send().await.unwrap();
    let touched_exclusive = send(&p.alice, &exclusive(p.bob_id, 100)).await.packet_id;
    p.bob.open(touched_exclusive).send().await.unwrap();

    let cases = [
        (recalled, "not_active"),
        // Exhausted comes before lucky: the first reason that applies.
        (exhausted_lucky, "not_active"),
        (untouched_lucky, "lucky_packet"),
        // Claimed (and so touched): claimed is named first.
        (claimed, "claimed"),
        (touched, "touched"),
        (touched_exclusive, "touched"),
    ];
    let packets: Vec<_> = cases.iter().map(|(id, _)| *id).collect();
    let before = crate::support::snapshot(&[&p.alice, &p.bob], &p.alice, &packets).await;
    for (packet, reason) in cases {
        let error = refused(p.alice.recall(packet).send().await, 409, "recall_not_allowed");
        assert_eq!(error["reason"], reason, "{error}");
    }
    assert_eq!(crate::support::snapshot(&[&p.alice, &p.bob], &p.alice, &packets).await, before);
}

#[tokio::test]
async fn only_the_sender_may_recall_a_packet() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let packet = send(&p.alice, &normal(p.group, 2, 100)).await.packet_id;
    refused(p.bob.recall(packet).send().await, 403, "forbidden");
    assert_eq!(p.alice.packet(packet).send().await.unwrap().status.as_str(), "active");
}

// ----- claims -----------------------------------------------------------------------------------

#[tokio::test]
async fn the_sender_revokes_a_pending_claim_and_gets_the_money_back() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let options = PacketOptions::default().arrival_delay_seconds(7200);
    let view = p.alice.send_packet(&normal(p.group, 2, 100), &options).send().await.unwrap();
    assert_eq!(view.arrival_delay_seconds, 7200);
    let claim = p.bob.claim(view.packet_id).send().await.unwrap();
    assert_eq!(claim.status.as_str(), "pending");
    let bob = p.bob.me().send().await.unwrap();
    assert_eq!((bob.balance, bob.pending_in), (Fen::ZERO, Fen::new(100)));

    let answer = p.alice.revoke_claim(claim.claim_id).send_raw().await.unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = json(&answer);
    assert_eq!(body["status"], "revoked");
    assert_eq!((body["claim_id"].clone(), body["amount"].clone()), (json!(claim.claim_id.to_string()), json!(100)));
    let bob = p.bob.me().send().await.unwrap();
    assert_eq!((bob.balance, bob.pending_in), (Fen::ZERO, Fen::ZERO));
    assert_eq!(app.balance(&p.alice).await, Fen::new(900), "the revoked share is back; the unclaimed one waits");
    let claims = p.alice.packet(view.packet_id).send().await.unwrap().claims;
    assert_eq!(claims[0].status.as_str(), "revoked");

    let before = crate::support::snapshot(&[&p.alice, &p.bob], &p.alice, &[view.packet_id]).await;
    refused(p.alice.revoke_claim(claim.claim_id).send().await, 409, "not_pending");
    assert_eq!(crate::support::snapshot(&[&p.alice, &p.bob], &p.alice, &[view.packet_id]).await, before);
}

#[tokio::test]
async fn an_arrived_claim_cannot_be_revoked() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let packet = send(&p.alice, &normal(p.group, 2, 100)).await.packet_id;
    let claim = p.bob.claim(packet).send().await.unwrap();
    refused(p.alice.revoke_claim(claim.claim_id).send().await, 409, "not_pending");
    assert_eq!(app.balance(&p.bob).await, Fen::new(100));
}

#[tokio::test]
async fn the_claimant_returns_an_arrived_claim_once() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let packet = send(&p.alice, &normal(p.group, 2, 100)).await.packet_id;
    let claim = p.bob.claim(packet).send().await.unwrap();
    let answer = p.bob.return_claim(claim.claim_id).send_raw().await.unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = json(&answer);
    assert_eq!(body["status"], "returned");
    assert_eq!((body["claim_id"].clone(), body["amount"].clone()), (json!(claim.claim_id.to_string()), json!(100)));
    assert_eq!((app.balance(&p.alice).await, app.balance(&p.bob).await), (Fen::new(900), Fen::ZERO));
    assert_eq!(p.bob.packet(packet).send().await.unwrap().claims[0].status.as_str(), "returned");

    let before = crate::support::snapshot(&[&p.alice, &p.bob], &p.alice, &[packet]).await;
    refused(p.bob.return_claim(claim.claim_id).send().await, 409, "conflict");
    assert_eq!(crate::support::snapshot(&[&p.alice, &p.bob], &p.alice, &[packet]).await, before);
}

#[tokio::test]
async fn a_pending_claim_cannot_be_returned_before_it_arrives() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let options = PacketOptions::default().arrival_delay_seconds(86_400);
    let view = p.alice.send_packet(&normal(p.group, 2, 100), &options).send().await.unwrap();
    let claim = p.bob.claim(view.packet_id).send().await.unwrap();
    refused(p.bob.return_claim(claim.claim_id).send().await, 409, "conflict");
    assert_eq!(p.bob.me().send().await.unwrap().pending_in, Fen::new(100));
}

// ----- transfers --------------------------------------------------------------------------------

#[tokio::test]
async fn a_transfer_answers_201_and_arrives_at_once() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let answer =
        p.alice.transfer(p.bob_id, Fen::new(250), &TransferOptions::default().note("午饭")).send_raw().await.unwrap();
    assert_eq!(answer.status, 201, "{}", answer.text());
    let body = json(&answer);
    // bob's account is new: the answer carries that notice (alice and bob share a group).
    let mut expected = set(TRANSFER);
    expected.insert("warnings".to_owned());
    assert_eq!(keys(&body), expected);
    assert_eq!(
        body["warnings"],
        json!([{"code": "new_account", "message": "the payee's account is less than 7 days old"}])
    );
    assert_eq!(body["status"], "arrived");
    assert!(body["transfer_id"].as_str().unwrap().starts_with("trf_"));
    time(&body["arrives_at"]);
    assert_eq!((app.balance(&p.alice).await, app.balance(&p.bob).await), (Fen::new(750), Fen::new(250)));
}

#[tokio::test]
async fn a_transfer_beyond_the_balance_to_oneself_or_to_nobody_is_refused() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let before = (books(&p.alice).await, books(&p.bob).await);
    refused(p.alice.transfer(p.bob_id, Fen::new(1_001), &no_options()).send().await, 409, "insufficient_funds");
    refused(p.alice.transfer(p.alice_id, Fen::new(1), &no_options()).send().await, 400, "invalid_request");
    let nobody: UserId = "usr_0190f0a0b0c0d0e0f000000000000000".parse().unwrap();
    refused(p.alice.transfer(nobody, Fen::new(1), &no_options()).send().await, 400, "invalid_request");
    refused(p.alice.transfer(p.bob_id, Fen::new(0), &no_options()).send().await, 400, "invalid_request");
    assert_eq!((books(&p.alice).await, books(&p.bob).await), before);
}

#[tokio::test]
async fn the_sender_revokes_a_pending_transfer_and_an_arrived_one_is_not_pending() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let options = TransferOptions::default().arrival_delay_seconds(7200);
    let pending = p.alice.transfer(p.bob_id, Fen::new(400), &options).send_raw().await.unwrap();
    assert_eq!(pending.status, 201, "{}", pending.text());
    let body = json(&pending);
    assert_eq!(body["status"], "pending");
    let arrives_at = time(&body["arrives_at"]);
    let transfer = body["transfer_id"].as_str().unwrap().parse().unwrap();
    let (alice, bob) = (p.alice.me().send().await.unwrap(), p.bob.me().send().await.unwrap());
    assert_eq!((alice.balance, alice.available, alice.pending_out), (Fen::new(1_000), Fen::new(600), Fen::new(400)));
    assert_eq!((bob.balance, bob.pending_in), (Fen::ZERO, Fen::new(400)));

    let revoked = p.alice.revoke_transfer(transfer).send_raw().await.unwrap();
    assert_eq!(revoked.status, 200, "{}", revoked.text());
    let body = json(&revoked);
    assert_eq!(keys(&body), set(TRANSFER));
    assert_eq!((body["transfer_id"].clone(), body["status"].clone()), (json!(transfer.to_string()), json!("revoked")));
    assert_eq!(time(&body["arrives_at"]), arrives_at);
    let (alice, bob) = (p.alice.me().send().await.unwrap(), p.bob.me().send().await.unwrap());
    assert_eq!((alice.balance, alice.available, alice.pending_out), (Fen::new(1_000), Fen::new(1_000), Fen::ZERO));
    assert_eq!((bob.balance, bob.pending_in), (Fen::ZERO, Fen::ZERO));
    refused(p.alice.revoke_transfer(transfer).send().await, 409, "not_pending");

    let arrived = p.alice.transfer(p.bob_id, Fen::new(100), &no_options()).send().await.unwrap();
    refused(p.alice.revoke_transfer(arrived.transfer_id).send().await, 409, "not_pending");
    assert_eq!((app.balance(&p.alice).await, app.balance(&p.bob).await), (Fen::new(900), Fen::new(100)));
}

// ----- the rest ---------------------------------------------------------------------------------

#[tokio::test]
async fn an_unknown_endpoint_is_404_and_a_wrong_method_is_refused_in_the_error_shape() {
    let app = spawn_app().await;
    let (alice, _) = app.user("alice", 0).await;
    raw_refused(&alice.send(RawRequest::get("/v1/nothing-here")).await.unwrap(), 404, "not_found");
    let wrong = alice.send(RawRequest::new(hongbao_client::Method::DELETE, "/v1/me")).await.unwrap();
    assert_eq!(wrong.status, 405, "{}", wrong.text());
    crate::support::error_shape(&json(&wrong), "method_not_allowed");
}
