//! What the engine keeps of a signed request besides its effects: its nonce, stored in the same
//! batch whatever the outcome; and what it keeps of a new key: its secret sealed, and never in
//! an idempotency record.

use std::sync::Arc;

use hongbao_core::ops::{Command, Reply};
use hongbao_core::{CoreError, Fen, KeyId, Limits};
use hongbao_engine::seal::{SEALED_PREFIX, SecretsKey};
use hongbao_engine::{Engine, EngineConfig, EngineError, Idempotency, StartOptions};
use hongbao_store::{NonceRecord, Store};

use crate::support::{App, app, secrets_key};

fn nonce(seed: u8, expires_at_s: i64) -> NonceRecord {
    NonceRecord {
        key: KeyId::from_uuid(hongbao_core::id::Uuid::from_u128(u128::from(seed))),
        digest: [seed; 16],
        expires_at_s,
    }
}

async fn live(app: &App) -> Vec<NonceRecord> {
    let mut live = app.store.live_nonces(0, 100).await.unwrap();
    live.sort_by_key(|n| n.digest);
    live
}

async fn restart(app: &App, secrets: Option<SecretsKey>) -> Result<Engine, EngineError> {
    let options = StartOptions { rng_seed: Some([9; 32]), audit: Some(crate::support::audit_config()), secrets };
    let store: Arc<dyn Store> = app.store.clone();
    Engine::start(store, app.clock.clone(), Limits::default(), EngineConfig::default(), options).await
}

#[tokio::test]
async fn a_commands_nonce_is_stored_with_its_batch_whether_it_is_applied_or_refused() {
    let app = app().await;
    let alice = app.user("alice", 1).await;
    let applied = app.engine.execute_signed(
        Command::Deposit { user: alice, amount: Fen::new(5) },
        None,
        Some(nonce(1, 4_000_000_000)),
    );
    assert!(matches!(applied.await, Ok(Reply::Moved(_))));
    let refused = Command::Withdraw { actor: alice, amount: Fen::new(1_000_000) };
    let answer = app.engine.execute_signed(refused, None, Some(nonce(2, 4_000_000_000))).await;
    assert!(matches!(answer, Err(EngineError::Refused(CoreError::InsufficientFunds { .. }))), "{answer:?}");
    // A request that ran no command: stored once the answer says so.
    app.engine.remember_nonces(vec![nonce(3, 4_000_000_000)]).await.unwrap();
    assert_eq!(live(&app).await, [nonce(1, 4_000_000_000), nonce(2, 4_000_000_000), nonce(3, 4_000_000_000)]);
    // A read's, without waiting: it rides the next batch.
    app.engine.remember_nonces_later(vec![nonce(4, 4_000_000_000)]).unwrap();
    app.engine.remember_nonces(vec![nonce(5, 4_000_000_000)]).await.unwrap();
    assert_eq!(live(&app).await.len(), 5, "the read's nonce went with the batch after it");
}

#[tokio::test]
async fn nonces_that_ride_a_failed_commit_are_not_stored_and_their_callers_are_told() {
    let app = app().await;
    let alice = app.user("alice", 1).await;
    app.store.state.fail_next_commit.store(true, std::sync::atomic::Ordering::SeqCst);
    let answer = app
        .engine
        .execute_signed(Command::Deposit { user: alice, amount: Fen::new(5) }, None, Some(nonce(1, 4_000_000_000)))
        .await;
    assert!(matches!(answer, Err(EngineError::Unavailable(_))), "{answer:?}");
    app.store.state.fail_next_commit.store(true, std::sync::atomic::Ordering::SeqCst);
    let told = app.engine.remember_nonces(vec![nonce(2, 4_000_000_000)]).await;
    assert!(matches!(told, Err(EngineError::Unavailable(_))), "{told:?}");
    assert!(live(&app).await.is_empty());
}

#[tokio::test]
async fn a_new_keys_secret_is_stored_sealed_and_opens_with_the_key_only() {
    let app = app().await;
    let Reply::User(created) = app.exec(Command::CreateUser { name: "alice".to_owned() }).await else { panic!() };
    let (key, stored) = app.store.secret_starting_with(SEALED_PREFIX).await.unwrap().expect("a sealed secret");
    assert_eq!(key, created.key_id);
    assert!(!stored.contains(created.secret.expose()), "the stored value shows nothing of the secret");
    assert!(app.store.secrets_not_starting_with(SEALED_PREFIX, 10).await.unwrap().is_empty(), "none in the clear");
    let principal = app.engine.principal(created.key_id).await.unwrap().expect("the key exists");
    assert_eq!(principal.secret, created.secret, "opened, it is the secret handed out");
    assert_eq!(app.engine.principal(KeyId::from_uuid(hongbao_core::id::Uuid::from_u128(7))).await.unwrap(), None);
    app.engine.shutdown().await;

    let wrong = restart(&app, Some(SecretsKey::from_bytes(&[1; 32]))).await;
    assert!(matches!(&wrong, Err(EngineError::Config(m)) if m.contains("does not open")), "{wrong:?}");
    let none = restart(&app, None).await;
    assert!(matches!(&none, Err(EngineError::Config(m)) if m.contains("sealed")), "{none:?}");
    let again = restart(&app, Some(secrets_key())).await.unwrap();
    assert_eq!(again.principal(created.key_id).await.unwrap().unwrap().secret, created.secret);
}

#[tokio::test]
async fn secrets_an_older_version_stored_in_the_clear_are_sealed_at_start_and_keep_working() {
    let app = app().await;
    let Reply::User(created) = app.exec(Command::CreateUser { name: "alice".to_owned() }).await else { panic!() };
    app.engine.shutdown().await;
    // As an older version stored it: the secret itself.
    let (_, sealed) = app.store.secret_starting_with(SEALED_PREFIX).await.unwrap().unwrap();
    let clear = created.secret.expose().to_owned();
    assert_eq!(app.store.replace_secrets(&[(created.key_id, sealed, clear.clone())]).await.unwrap(), 1);
    assert_eq!(app.store.secrets_not_starting_with(SEALED_PREFIX, 10).await.unwrap(), [(created.key_id, clear)]);

    let again = restart(&app, Some(secrets_key())).await.unwrap();
    assert!(app.store.secrets_not_starting_with(SEALED_PREFIX, 10).await.unwrap().is_empty(), "sealed at start");
    assert_eq!(again.principal(created.key_id).await.unwrap().unwrap().secret, created.secret, "and it still signs");
}

#[tokio::test]
async fn a_repeated_create_user_names_the_key_and_never_shows_its_secret_again() {
    let app = app().await;
    let idem = Some(Idempotency { principal: "root".to_owned(), key: "create-alice".to_owned() });
    let command = Command::CreateUser { name: "alice".to_owned() };
    let Ok(Reply::User(created)) = app.engine.execute_once(command.clone(), idem.clone()).await else { panic!() };
    assert!(created.secret.expose().starts_with("hbs_"), "the first answer shows it");
    let again = app.engine.execute_once(command, idem).await;
    assert_eq!(again, Err(EngineError::SecretShownOnce { key_id: created.key_id, user_id: Some(created.user_id) }));
    let dump = app.store.dump().await.unwrap();
    let record = &dump.idempotency[0].outcome;
    assert!(!record.contains(created.secret.expose()), "the record does not keep the secret: {record}");

    let idem = Some(Idempotency { principal: "root".to_owned(), key: "create-op".to_owned() });
    let command =
        Command::CreateOperator { name: "ops".to_owned(), roles: vec![hongbao_core::principal::Role::Auditor] };
    let Ok(Reply::Operator(op)) = app.engine.execute_once(command.clone(), idem.clone()).await else { panic!() };
    let again = app.engine.execute_once(command, idem).await;
    assert_eq!(again, Err(EngineError::SecretShownOnce { key_id: op.key_id, user_id: None }));
}
