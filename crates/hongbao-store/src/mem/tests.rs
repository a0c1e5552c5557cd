//! The tests of `MemStore` itself, the contract suite on it included.

use hongbao_core::due::DueKind;
use hongbao_core::ops::{Command, PacketSpec};
use hongbao_core::{AccountId, Fen, Key, KeyId, Timestamp};

use super::{CommitFault, MemStore};
use crate::contract::Scenario;
use crate::{Commit, Store, StoreError};

/// A new store; nothing else must outlive it, so the guard is an empty string (`()` would
/// make the macro's `drop(guard)` a lint).
async fn fresh() -> (MemStore, String) {
    (MemStore::new(), String::new())
}

/// The whole backend contract, on the in-memory store.
mod contract {
    crate::contract_tests!(super::fresh);
}

async fn dump_text(store: &MemStore) -> String {
    format!("{:?}", store.dump().await.expect("dump"))
}

/// A scenario with one more deposit run in the world and not committed yet.
async fn scenario(store: &MemStore) -> (Scenario, Commit) {
    let mut s = Scenario::new(77);
    let alice = s.user(store, "alice").await;
    s.run(Command::Deposit { user: alice, amount: Fen::new(500) });
    let changes = s.take_changes();
    let batch = s.batch(changes, Vec::new());
    (s, batch)
}

#[tokio::test]
async fn a_commit_failing_before_it_is_applied_writes_nothing_and_the_next_one_commits() {
    let store = MemStore::new();
    let (mut s, batch) = scenario(&store).await;
    let before = dump_text(&store).await;
    store.faults().fail_commits(CommitFault::FailBeforeApply, 2);
    for _ in 0..2 {
        let tx = store.write().await.expect("write");
        assert!(matches!(tx.commit(batch.clone()).await, Err(StoreError::Unavailable(_))));
        assert_eq!(dump_text(&store).await, before, "a commit failing before it applies writes nothing");
    }
    assert!(!store.faults().armed(), "the fault disarms itself after two commits");
    s.save(&store, batch).await;
    crate::contract::assert_store_holds_world(&store, &s.world).await;
    let counts = store.faults().counts();
    assert_eq!((counts.failed_before_apply, counts.total()), (2, 2));
}

#[tokio::test]
async fn a_commit_failing_after_it_is_applied_is_stored_though_the_caller_sees_an_error() {
    let store = MemStore::new();
    let (mut s, batch) = scenario(&store).await;
    store.faults().fail_commits(CommitFault::FailAfterApply, 1);
    let tx = store.write().await.expect("write");
    assert!(matches!(tx.commit(batch.clone()).await, Err(StoreError::Unavailable(_))));
    s.remember(batch.clone());
    crate::contract::assert_store_holds_world(&store, &s.world).await;
    assert_eq!(store.dump().await.expect("dump").log, s.log);
    // Sent again (a caller retrying blindly), the same batch is refused: its rows exist.
    let tx = store.write().await.expect("write");
    assert!(matches!(tx.commit(batch).await, Err(StoreError::Corrupt(_))));
    assert_eq!(store.faults().counts().failed_after_apply, 1);
}

#[tokio::test]
async fn a_hung_commit_dropped_before_it_applies_writes_nothing_and_frees_the_writer() {
    let store = MemStore::new();
    let (mut s, batch) = scenario(&store).await;
    let before = dump_text(&store).await;
    store.faults().fail_commits(CommitFault::HangBeforeApply, 1);
    let tx = store.write().await.expect("write");
    let hung = tokio::spawn(tx.commit(batch.clone()));
    store.faults().hung_beyond(0).await;
    hung.abort();
    assert!(hung.await.expect_err("aborted").is_cancelled());
    assert_eq!(dump_text(&store).await, before, "the crash before the commit lost the batch, whole");
    s.save(&store, batch).await;
    crate::contract::assert_store_holds_world(&store, &s.world).await;
    assert_eq!(store.faults().hangs(), 1);
}

#[tokio::test]
async fn a_hung_commit_dropped_after_it_applies_keeps_the_batch() {
    let store = MemStore::new();
    let (mut s, batch) = scenario(&store).await;
    store.faults().fail_commits(CommitFault::HangAfterApply, 1);
    let tx = store.write().await.expect("write");
    let hung = tokio::spawn(tx.commit(batch.clone()));
    store.faults().hung_beyond(0).await;
    hung.abort();
    assert!(hung.await.expect_err("aborted").is_cancelled());
    s.remember(batch);
    crate::contract::assert_store_holds_world(&store, &s.world).await;
    // The writer is free again.
    s.step(&store, Command::CreateUser { name: "bob".to_owned() }).await;
    assert_eq!(store.faults().counts().hung_after_apply, 1);
}

#[tokio::test]
async fn armed_write_and_read_failures_refuse_that_many_calls_then_disarm() {
    let store = MemStore::new();
    store.faults().fail_writes(1);
    store.faults().fail_reads(3);
    assert!(matches!(store.write().await.map(|_| ()), Err(StoreError::Unavailable(_))));
    let mut tx = store.write().await.expect("the second write begins");
    let keys = [Key::Account(AccountId::EXTERNAL)];
    assert!(tx.load(&keys).await.is_err());
    drop(tx);
    assert!(store.read().await.expect("read").load(&keys).await.is_err());
    assert!(store.latest_checkpoint().await.is_err(), "a log read fails too");
    assert_eq!(store.read().await.expect("read").load(&keys).await.expect("disarmed").len(), 1);
    assert!(store.remember_nonce(KeyId::from_uuid(AccountId::EXTERNAL.uuid()), [0; 16], 1, 0).await.is_ok());
    store.faults().fail_reads(5);
    store.faults().disarm();
    assert!(!store.faults().armed());
    let counts = store.faults().counts();
    assert_eq!((counts.failed_writes, counts.failed_reads), (1, 3));
}

#[tokio::test]
async fn a_store_that_yields_on_every_call_keeps_the_contract() {
    let store = MemStore::new();
    store.faults().set_yielding(true);
    crate::contract::every_entity_round_trips_exactly_through_inserts_and_updates(&store).await;
    crate::contract::a_failing_commit_writes_nothing_at_all(&MemStore::new()).await;
}

#[tokio::test]
async fn due_work_follows_packet_status_and_pending_fate_through_updates() {
    let store = MemStore::new();
    let mut s = Scenario::new(78);
    let alice = s.user(&store, "alice").await;
    let bob = s.user(&store, "bob").await;
    s.deposit(&store, alice, 10_000).await;
    let packet = s.send(&store, alice, PacketSpec::Exclusive { recipient: bob, amount: Fen::new(10) }, 0).await;
    let delayed = s.transfer(&store, alice, bob, 100, 7_200, None).await;
    let never = Timestamp::from_millis(i64::MAX);
    let due = |store: MemStore| async move { store.write().await.expect("write").due(never, 10).await.expect("due") };
    let ids: Vec<_> = due(store.clone()).await.iter().map(|item| (item.kind, item.id)).collect();
    // Oldest first: the transfer arrives in two hours, the packet expires in a day.
    assert_eq!(ids, vec![(DueKind::PendingArrival, delayed.uuid()), (DueKind::PacketExpiry, packet.uuid())]);
    s.claim(&store, bob, packet).await;
    s.step(&store, Command::RevokeTransfer { actor: alice, transfer: delayed }).await;
    assert_eq!(due(store.clone()).await, Vec::new(), "an exhausted packet and a voided transfer are not due");
}
