//! Return requests over HTTP (docs/API.md "Return requests"): the payer asks, only the payee
//! gives back — once, to the payer and nowhere else — or declines; the payer withdraws; a
//! mediator sees the request and notes on it and nothing else; an outsider is told it does not
//! exist; the jobs expire it once.

use hongbao_client::{Client, RawRequest, TransferOptions};
use hongbao_core::case::Payment;
use hongbao_core::ledger::TransferKind;
use hongbao_core::principal::Role;
use hongbao_core::risk::FreezeKind;
use hongbao_core::{Fen, ReturnRequestId, TransferId, UserId};
use hongbao_wire::{
    OpenReturnRequestBody, PlaceFreezeRequest, ReturnRequest, ReturnRole, ReturnStatus, TransferReceipt,
};
use serde_json::json;
use tokio::task::JoinSet;

use crate::risk::{logged_events, officer};
use crate::support::{TestApp, exclusive, json as body_of, raw_refused, refused, send, spawn_app};

const DAY_S: u32 = 24 * 3_600;

/// Alice pays bob; carol is in a group with both (a common friend); dave is nobody to them.
struct Cast {
    alice: Client,
    alice_id: UserId,
    bob: Client,
    bob_id: UserId,
    carol: Client,
    carol_id: UserId,
    dave: Client,
    dave_id: UserId,
}

async fn cast(app: &TestApp) -> Cast {
    let (alice, a) = app.user("alice", 100_000).await;
    let (bob, b) = app.user("bob", 0).await;
    let (carol, c) = app.user("carol", 0).await;
    let (dave, d) = app.user("dave", 0).await;
    alice.create_group("friends", &[b.user_id, c.user_id]).send().await.unwrap();
    Cast { alice, alice_id: a.user_id, bob, bob_id: b.user_id, carol, carol_id: c.user_id, dave, dave_id: d.user_id }
}

async fn pay(from: &Client, to: UserId, fen: i64) -> TransferReceipt {
    from.transfer(to, Fen::new(fen), &TransferOptions::default()).send().await.unwrap()
}

fn asking(target: TransferId, amount: Option<i64>, mediator: Option<UserId>) -> OpenReturnRequestBody {
    OpenReturnRequestBody {
        target: Payment::Transfer(target),
        amount,
        message: "转错了，请退还\nsent by mistake".to_owned(),
        mediator,
    }
}

async fn status_of(client: &Client, request: ReturnRequestId) -> ReturnRequest {
    let page = client.return_requests(None, Some(100), None).send().await.unwrap();
    page.items.into_iter().find(|r| r.id == request).expect("the request is listed")
}

#[tokio::test]
async fn the_payee_accepts_and_the_amount_goes_back_to_the_original_payer_only() {
    let app = spawn_app().await;
    let c = cast(&app).await;
    let paid = pay(&c.alice, c.bob_id, 3_000).await.transfer_id;

    let opened = c.alice.open_return_request(&asking(paid, Some(1_000), Some(c.carol_id))).send_raw().await.unwrap();
    assert_eq!(opened.status, 201);
    let body = body_of(&opened);
    assert_eq!((body["status"].as_str(), body["amount"].as_i64()), (Some("open"), Some(1_000)));
    let request: ReturnRequest = opened.json().unwrap();
    assert_eq!((request.payer, request.payee, request.mediator), (c.alice_id, c.bob_id, Some(c.carol_id)));
    assert_eq!(request.expires_at.millis() - request.created_at.millis(), i64::from(7 * DAY_S) * 1_000);

    // Only the payee accepts: the payer and the mediator are told so, an outsider that it is not there.
    refused(c.alice.accept_return_request(request.id).send().await, 403, "forbidden");
    refused(c.carol.accept_return_request(request.id).send().await, 403, "forbidden");
    refused(c.dave.accept_return_request(request.id).send().await, 404, "not_found");
    let accepted = c.bob.accept_return_request(request.id).send().await.unwrap();
    assert_eq!(accepted.status, ReturnStatus::Accepted);
    let back = accepted.return_transfer_id.expect("the return's transfer");
    assert_eq!((app.balance(&c.alice).await, app.balance(&c.bob).await), (Fen::new(98_000), Fen::new(2_000)));
    assert_eq!(app.balance(&c.carol).await, Fen::ZERO, "the mediator gets nothing");
    let alice_history = c.alice.transactions(Some(1), None).send().await.unwrap().items;
    assert_eq!((alice_history[0].transfer_id, alice_history[0].kind), (back, TransferKind::Return));
    assert_eq!(alice_history[0].amount, Fen::new(1_000));
    let again = refused(c.bob.accept_return_request(request.id).send().await, 409, "invalid_state");
    assert_eq!(again["reason"], "accepted");
    assert_eq!(logged_events(&app, "return_accepted").await.len(), 1);

    // The rest may be asked for (all of it by default), never more.
    let too_much =
        refused(c.alice.open_return_request(&asking(paid, Some(2_001), None)).send().await, 400, "invalid_request");
    assert!(too_much["message"].as_str().unwrap().contains("at most"), "{too_much}");
    let rest = c.alice.open_return_request(&asking(paid, None, None)).send().await.unwrap();
    assert_eq!(rest.amount, Fen::new(2_000));
    c.bob.accept_return_request(rest.id).send().await.unwrap();
    let none_left = refused(c.alice.open_return_request(&asking(paid, None, None)).send().await, 409, "invalid_state");
    assert_eq!(none_left["reason"], "returned");
    assert_eq!(app.balance(&c.alice).await, Fen::new(100_000));
    assert_eq!(app.balance(&c.bob).await, Fen::ZERO);
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_mediator_sees_the_request_and_notes_on_it_but_nothing_else_and_an_outsider_sees_nothing() {
    let app = spawn_app().await;
    let c = cast(&app).await;
    let paid = pay(&c.alice, c.bob_id, 500).await.transfer_id;
    pay(&c.alice, c.bob_id, 70).await;
    let request = c.alice.open_return_request(&asking(paid, None, Some(c.carol_id))).send().await.unwrap();

    // Each party lists it under their role, and only there.
    for (client, role) in [(&c.alice, ReturnRole::Payer), (&c.bob, ReturnRole::Payee), (&c.carol, ReturnRole::Mediator)]
    {
        let page = client.return_requests(Some(role), None, None).send().await.unwrap();
        assert_eq!(page.items, vec![request.clone()], "{role:?}");
        assert_eq!(page.next_cursor, None);
        let other = if role == ReturnRole::Payer { ReturnRole::Payee } else { ReturnRole::Payer };
        assert!(client.return_requests(Some(other), None, None).send().await.unwrap().items.is_empty());
    }
    assert!(c.dave.return_requests(None, None, None).send().await.unwrap().items.is_empty());

    // The mediator sees nothing else of theirs: not the payment's receipt, not their history.
    refused(c.carol.receipt(paid).send().await, 404, "not_found");
    assert!(c.carol.transactions(None, None).send().await.unwrap().items.is_empty());

    // Notes by all three parties, in order; an outsider's is refused as if nothing were there.
    let mut noted = request.clone();
    for (client, text) in [(&c.carol, "我来调解"), (&c.bob, "好的，我明天退"), (&c.alice, "谢谢")] {
        let answer = client.note_return_request(request.id, text).send_raw().await.unwrap();
        assert_eq!(answer.status, 201, "a note is created");
        noted = answer.json().unwrap();
        assert_eq!(noted.notes.last().map(|n| n.text.as_str()), Some(text));
    }
    let by: Vec<UserId> = noted.notes.iter().map(|n| n.by).collect();
    assert_eq!(by, vec![c.carol_id, c.bob_id, c.alice_id]);
    refused(c.dave.note_return_request(request.id, "hi").send().await, 404, "not_found");
    refused(c.dave.withdraw_return_request(request.id).send().await, 404, "not_found");
    refused(c.dave.decline_return_request(request.id, "no").send().await, 404, "not_found");
    assert_eq!(status_of(&c.carol, request.id).await, noted, "the mediator sees the notes");
    // The log records that notes were written, not what they say.
    let notes = logged_events(&app, "return_noted").await;
    assert_eq!(notes.len(), 3);
    assert!(!notes.iter().any(|n| n.to_string().contains("调解")), "{notes:?}");
    assert!(!logged_events(&app, "return_requested").await[0].to_string().contains("mistake"));
}

#[tokio::test]
async fn accepted_twice_at_once_it_returns_once() {
    let app = spawn_app().await;
    let c = cast(&app).await;
    let paid = pay(&c.alice, c.bob_id, 4_000).await.transfer_id;
    let request = c.alice.open_return_request(&asking(paid, Some(4_000), None)).send().await.unwrap();

    let mut tasks = JoinSet::new();
    for _ in 0..8 {
        let bob = c.bob.clone();
        tasks.spawn(async move { bob.accept_return_request(request.id).send().await });
    }
    let results = tasks.join_all().await;
    let accepted = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(accepted, 1, "{results:?}");
    for result in results.into_iter().filter(Result::is_err) {
        assert_eq!(refused(result, 409, "invalid_state")["reason"], "accepted");
    }
    assert_eq!((app.balance(&c.alice).await, app.balance(&c.bob).await), (Fen::new(100_000), Fen::ZERO));
    assert_eq!(logged_events(&app, "return_accepted").await.len(), 1);
    app.assert_invariants().await;
}

#[tokio::test]
async fn accepting_when_the_money_is_gone_or_held_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let c = cast(&app).await;
    let paid = pay(&c.alice, c.bob_id, 2_000).await.transfer_id;
    let request = c.alice.open_return_request(&asking(paid, Some(1_500), None)).send().await.unwrap();
    c.bob.withdraw(Fen::new(1_000)).send().await.unwrap();

    let before = (app.balance(&c.alice).await, app.balance(&c.bob).await);
    refused(c.bob.accept_return_request(request.id).send().await, 409, "insufficient_funds");
    assert_eq!((app.balance(&c.alice).await, app.balance(&c.bob).await), before);
    assert_eq!(status_of(&c.bob, request.id).await, request, "still open, unchanged");

    // Money arrives again, but a freeze holds it: refused as held.
    pay(&c.dave_funded(&app).await, c.bob_id, 1_000).await;
    let risk = officer(&app, "risk desk", &[Role::RiskOfficer]).await;
    let freeze = PlaceFreezeRequest {
        user_id: c.bob_id,
        kind: FreezeKind::Precautionary,
        amount: Some(600),
        reason: "three fraud reports".to_owned(),
        documents: Vec::new(),
        expires_at: None,
        major_case: false,
    };
    risk.place_freeze(&freeze).send().await.unwrap();
    let held = refused(c.bob.accept_return_request(request.id).send().await, 423, "account_frozen");
    assert_eq!(held["reason"], "held");
    assert_eq!(status_of(&c.alice, request.id).await.status, ReturnStatus::Open);
    assert!(logged_events(&app, "return_accepted").await.is_empty());
    app.assert_invariants().await;
}

impl Cast {
    /// Dave, with money to pay bob.
    async fn dave_funded(&self, app: &TestApp) -> Client {
        app.root.deposit(self.dave_id, Fen::new(10_000)).send().await.unwrap();
        self.dave.clone()
    }
}

#[tokio::test]
async fn declined_withdrawn_and_every_refusal_of_opening_one() {
    let app = spawn_app().await;
    let c = cast(&app).await;
    let paid = pay(&c.alice, c.bob_id, 900).await.transfer_id;

    let request = c.alice.open_return_request(&asking(paid, Some(300), None)).send().await.unwrap();
    let conflict = refused(c.alice.open_return_request(&asking(paid, Some(1), None)).send().await, 409, "conflict");
    assert!(conflict["message"].as_str().unwrap().contains(&request.id.to_string()), "{conflict}");
    refused(c.alice.decline_return_request(request.id, "mine").send().await, 403, "forbidden");
    refused(c.bob.decline_return_request(request.id, " ").send().await, 400, "invalid_request");
    let declined = c.bob.decline_return_request(request.id, "这是你欠我的房租").send().await.unwrap();
    assert_eq!(
        (declined.status, declined.decline_message.as_deref()),
        (ReturnStatus::Declined, Some("这是你欠我的房租"))
    );
    assert!(declined.closed_at.is_some());
    let closed = refused(c.bob.accept_return_request(request.id).send().await, 409, "invalid_state");
    assert_eq!(closed["reason"], "declined");
    refused(c.bob.note_return_request(request.id, "late").send().await, 409, "invalid_state");

    let second = c.alice.open_return_request(&asking(paid, None, None)).send().await.unwrap();
    refused(c.bob.withdraw_return_request(second.id).send().await, 403, "forbidden");
    let withdrawn = c.alice.withdraw_return_request(second.id).send().await.unwrap();
    assert_eq!(withdrawn.status, ReturnStatus::Withdrawn);
    assert_eq!(
        refused(c.bob.accept_return_request(second.id).send().await, 409, "invalid_state")["reason"],
        "withdrawn"
    );
    assert_eq!(app.balance(&c.bob).await, Fen::new(900), "nothing moved");

    // Refusals of opening.
    let delayed = c.alice.transfer(c.bob_id, Fen::new(100), &TransferOptions::default().arrival_delay_seconds(7_200));
    let delayed = delayed.send().await.unwrap().transfer_id;
    let pending = refused(c.alice.open_return_request(&asking(delayed, None, None)).send().await, 409, "invalid_state");
    assert_eq!(pending["reason"], "pending");
    refused(c.alice.open_return_request(&asking(paid, None, Some(c.dave_id))).send().await, 400, "invalid_request");
    refused(c.alice.open_return_request(&asking(paid, None, Some(c.bob_id))).send().await, 400, "invalid_request");
    refused(c.bob.open_return_request(&asking(paid, None, None)).send().await, 404, "not_found");
    refused(c.carol.open_return_request(&asking(paid, None, None)).send().await, 404, "not_found");
    let unknown: TransferId = "trf_0193f0a0b0c07d0e8f00112233445566".parse().unwrap();
    refused(c.alice.open_return_request(&asking(unknown, None, None)).send().await, 404, "not_found");
    refused(c.alice.open_return_request(&asking(paid, Some(0), None)).send().await, 400, "invalid_request");
    let blank = OpenReturnRequestBody { message: "  ".to_owned(), ..asking(paid, None, None) };
    refused(c.alice.open_return_request(&blank).send().await, 400, "invalid_request");
    for body in [
        json!({"target": "pkt_0193f0a0b0c07d0e8f00112233445566", "message": "x"}),
        json!({"target": paid.to_string()}),
        json!({"target": paid.to_string(), "message": "x", "amount": "ten"}),
        json!({"target": paid.to_string(), "message": "x", "extra": true}),
    ] {
        let answer = c.alice.send(RawRequest::post("/v1/return-requests").json(&body)).await.unwrap();
        raw_refused(&answer, 400, "invalid_request");
    }
    for path in ["/v1/return-requests/nope/accept", "/v1/return-requests/ret_0193f0a0b0c07d0e8f00112233445566/accept"] {
        raw_refused(&c.bob.send(RawRequest::post(path)).await.unwrap(), 404, "not_found");
    }
    for query in ["role=owner", "limit=0", "limit=101", "cursor=trf_0193f0a0b0c07d0e8f00112233445566"] {
        let answer = c.alice.send(RawRequest::get(format!("/v1/me/return-requests?{query}"))).await.unwrap();
        raw_refused(&answer, 400, "invalid_request");
    }
    refused(app.root.return_requests(None, None, None).send().await, 403, "forbidden");
    assert_eq!(logged_events(&app, "return_requested").await.len(), 2, "only the two opened");
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_claimed_share_is_asked_back_by_its_packets_sender() {
    let app = spawn_app().await;
    let c = cast(&app).await;
    let packet = send(&c.alice, &exclusive(c.bob_id, 888)).await.packet_id;
    let claim = c.bob.claim(packet).send().await.unwrap().claim_id;
    let of_claim = |claim, amount| OpenReturnRequestBody {
        target: Payment::Claim(claim),
        amount,
        message: "发错人了".to_owned(),
        mediator: None,
    };
    let request = c.alice.open_return_request(&of_claim(claim, Some(88))).send().await.unwrap();
    assert_eq!((request.target, request.payee), (Payment::Claim(claim), c.bob_id));
    c.bob.accept_return_request(request.id).send().await.unwrap();
    assert_eq!(app.balance(&c.bob).await, Fen::new(800));
    // Partly returned through requests, the share can no longer be returned whole.
    let refusal = refused(c.bob.return_claim(claim).send().await, 409, "invalid_state");
    assert_eq!(refusal["reason"], "returned");

    // A share returned whole while a request is open: the request can no longer be accepted.
    let packet = send(&c.alice, &exclusive(c.bob_id, 500)).await.packet_id;
    let claim = c.bob.claim(packet).send().await.unwrap().claim_id;
    let request = c.alice.open_return_request(&of_claim(claim, None)).send().await.unwrap();
    c.bob.return_claim(claim).send().await.unwrap();
    let refusal = refused(c.bob.accept_return_request(request.id).send().await, 409, "invalid_state");
    assert_eq!(refusal["reason"], "returned");
    assert_eq!(app.balance(&c.bob).await, Fen::new(800), "returned once, not twice");
    app.assert_invariants().await;
}

#[tokio::test]
async fn pages_of_requests_run_newest_first_without_gaps() {
    let app = spawn_app().await;
    let c = cast(&app).await;
    let mut opened = Vec::new();
    for fen in [100, 200, 300] {
        let paid = pay(&c.alice, c.bob_id, fen).await.transfer_id;
        opened.push(c.alice.open_return_request(&asking(paid, None, None)).send().await.unwrap().id);
        app.root.dev_clock(1).send().await.unwrap();
    }
    opened.reverse();
    let first = c.bob.return_requests(Some(ReturnRole::Payee), Some(2), None).send().await.unwrap();
    assert_eq!(first.items.iter().map(|r| r.id).collect::<Vec<_>>(), opened[..2]);
    let cursor = first.next_cursor.expect("a full page has a next cursor");
    let rest = c.bob.return_requests(Some(ReturnRole::Payee), Some(2), Some(&cursor)).send().await.unwrap();
    assert_eq!(rest.items.iter().map(|r| r.id).collect::<Vec<_>>(), opened[2..]);
    assert_eq!(rest.next_cursor, None);
}

#[tokio::test]
async fn a_request_expires_once_at_the_end_of_its_week() {
    let app = spawn_app().await;
    let c = cast(&app).await;
    let paid = pay(&c.alice, c.bob_id, 1_000).await.transfer_id;
    let request = c.alice.open_return_request(&asking(paid, None, Some(c.carol_id))).send().await.unwrap();

    app.root.dev_clock(7 * DAY_S - 60).send().await.unwrap();
    assert_eq!(status_of(&c.bob, request.id).await.status, ReturnStatus::Open);
    app.root.dev_clock(60).send().await.unwrap();
    let expired = status_of(&c.carol, request.id).await;
    assert_eq!((expired.status, expired.closed_at), (ReturnStatus::Expired, Some(request.expires_at)));
    assert_eq!(
        refused(c.bob.accept_return_request(request.id).send().await, 409, "invalid_state")["reason"],
        "expired"
    );
    assert_eq!(logged_events(&app, "return_expired").await.len(), 1);
    app.root.dev_clock(DAY_S).send().await.unwrap();
    assert_eq!(logged_events(&app, "return_expired").await.len(), 1, "exactly once");
    assert_eq!(app.balance(&c.bob).await, Fen::new(1_000), "nothing moved");
    // Expired, it frees the target for a new request.
    c.alice.open_return_request(&asking(paid, None, None)).send().await.unwrap();
    app.assert_invariants().await;
}
