//! Exactly-once answers for retried requests.

use hongbao_core::ops::{Command, Reply};
use hongbao_core::{CoreError, Fen};
use hongbao_engine::{EngineError, Idempotency};

use crate::support::app;

fn key(principal: &str, key: &str) -> Option<Idempotency> {
    Some(Idempotency { principal: principal.to_owned(), key: key.to_owned() })
}

#[tokio::test]
async fn the_same_key_and_request_twice_answers_the_same_and_applies_once() {
    let app = app().await;
    let (alice, bob) = (app.user("alice", 100).await, app.user("bob", 0).await);
    let transfer = Command::Transfer {
        actor: alice,
        to: bob,
        amount: Fen::new(1_000),
        note: None,
        arrival_delay_s: 0,
        risk_confirmation: None,
    };
    let first = app.engine.execute_once(transfer.clone(), key("alice-key", "k1")).await.unwrap();
    let second = app.engine.execute_once(transfer.clone(), key("alice-key", "k1")).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(app.balance(bob).await, Fen::new(1_000), "applied once");
    // Another principal may use the same key string for its own request.
    let Reply::Transfer(other) = app.engine.execute_once(transfer, key("someone-else", "k1")).await.unwrap() else {
        panic!()
    };
    let Reply::Transfer(first) = first else { panic!() };
    assert_ne!(other.transfer_id, first.transfer_id);
    assert_eq!(app.balance(bob).await, Fen::new(2_000));
    app.assert_invariants().await;
}

#[tokio::test]
async fn the_same_key_with_another_request_is_refused_and_changes_nothing() {
    let app = app().await;
    let (alice, bob) = (app.user("alice", 100).await, app.user("bob", 0).await);
    let send = |amount| Command::Transfer {
        actor: alice,
        to: bob,
        amount: Fen::new(amount),
        note: None,
        arrival_delay_s: 0,
        risk_confirmation: None,
    };
    app.engine.execute_once(send(100), key("alice-key", "k")).await.unwrap();
    let err = app.engine.execute_once(send(200), key("alice-key", "k")).await.unwrap_err();
    assert_eq!(err, EngineError::IdempotencyKeyReused);
    assert_eq!(app.balance(bob).await, Fen::new(100));
}

#[tokio::test]
async fn a_refusal_is_remembered_and_answered_again_for_the_same_key() {
    let app = app().await;
    let (alice, bob) = (app.user("alice", 1).await, app.user("bob", 0).await);
    let big = Command::Transfer {
        actor: alice,
        to: bob,
        amount: Fen::new(500),
        note: None,
        arrival_delay_s: 0,
        risk_confirmation: None,
    };
    let first = app.engine.execute_once(big.clone(), key("alice-key", "k")).await.unwrap_err();
    assert!(matches!(first, EngineError::Refused(CoreError::InsufficientFunds { .. })), "{first:?}");
    app.exec(Command::Deposit { user: alice, amount: Fen::new(10_000) }).await;
    // The retry answers the first answer: a key names one attempt, not "until it works".
    let again = app.engine.execute_once(big, key("alice-key", "k")).await.unwrap_err();
    assert_eq!(first, again);
    assert_eq!(app.balance(bob).await, Fen::ZERO);
}

#[tokio::test]
async fn the_same_key_twice_in_one_batch_applies_once() {
    let app = app().await;
    let (alice, bob) = (app.user("alice", 100).await, app.user("bob", 0).await);
    app.store.close();
    let transfer = Command::Transfer {
        actor: alice,
        to: bob,
        amount: Fen::new(300),
        note: None,
        arrival_delay_s: 0,
        risk_confirmation: None,
    };
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let (engine, transfer) = (app.engine.clone(), transfer.clone());
            tokio::spawn(async move { engine.execute_once(transfer, key("alice-key", "same")).await })
        })
        .collect();
    tokio::task::yield_now().await;
    app.store.release(usize::MAX >> 4);
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap().unwrap());
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    assert_eq!(app.balance(bob).await, Fen::new(300));
}
