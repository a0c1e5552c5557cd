//! Group commit, back-pressure and failed commits.

use hongbao_core::Fen;
use hongbao_core::ops::Command;
use hongbao_engine::{EngineConfig, EngineError};

use crate::support::{app, app_with};

#[tokio::test]
async fn queued_commands_share_one_transaction() {
    let app = app().await;
    let (alice, bob) = (app.user("alice", 100).await, app.user("bob", 0).await);
    app.store.close();
    // The writer is held at the start of a batch; everything sent meanwhile queues up.
    let blocker = {
        let engine = app.engine.clone();
        tokio::spawn(async move { engine.execute(Command::Deposit { user: bob, amount: Fen::new(1) }).await })
    };
    tokio::task::yield_now().await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let engine = app.engine.clone();
            let transfer = Command::Transfer {
                actor: alice,
                to: bob,
                amount: Fen::new(10),
                note: None,
                arrival_delay_s: 0,
                risk_confirmation: None,
            };
            tokio::spawn(async move { engine.execute(transfer).await })
        })
        .collect();
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let before = app.store.commits();
    app.store.release(2);
    blocker.await.unwrap().unwrap();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let commits = app.store.commits() - before;
    assert!(commits <= 2, "50 queued transfers took {commits} commits");
    assert_eq!(app.balance(bob).await, Fen::new(501));
    app.store.release(usize::MAX >> 4);
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_full_queue_refuses_at_once_with_overloaded() {
    let app = app_with(EngineConfig { queue_capacity: 4, batch_max: 1, ..EngineConfig::default() }).await;
    let alice = app.user("alice", 100).await;
    app.store.close();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let engine = app.engine.clone();
        tasks.push(tokio::spawn(
            async move { engine.execute(Command::Deposit { user: alice, amount: Fen::new(1) }).await },
        ));
        tokio::task::yield_now().await;
    }
    // One is held by the writer, four wait in the queue: the next is refused without waiting.
    let refused = app.engine.execute(Command::Deposit { user: alice, amount: Fen::new(1) }).await;
    assert_eq!(refused, Err(EngineError::Overloaded));
    app.store.release(usize::MAX >> 4);
    let accepted = futures_count(tasks).await;
    assert_eq!(app.balance(alice).await, Fen::new(10_000 + i64::try_from(accepted).unwrap()));
}

async fn futures_count(tasks: Vec<tokio::task::JoinHandle<Result<hongbao_core::Reply, EngineError>>>) -> usize {
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(EngineError::Overloaded) => {}
            Err(err) => panic!("{err}"),
        }
    }
    ok
}

#[tokio::test]
async fn a_failed_commit_answers_unavailable_and_applies_nothing_of_its_batch() {
    let app = app().await;
    let (alice, bob) = (app.user("alice", 100).await, app.user("bob", 0).await);
    app.store.fail_next_commit();
    let transfer = Command::Transfer {
        actor: alice,
        to: bob,
        amount: Fen::new(2_500),
        note: None,
        arrival_delay_s: 0,
        risk_confirmation: None,
    };
    let err = app.engine.execute(transfer.clone()).await.unwrap_err();
    assert!(matches!(err, EngineError::Unavailable(_)), "{err:?}");
    assert_eq!(app.balance(alice).await, Fen::new(10_000));
    assert_eq!(app.balance(bob).await, Fen::ZERO);
    // The engine carries on with the next batch.
    app.engine.execute(transfer).await.unwrap();
    assert_eq!(app.balance(bob).await, Fen::new(2_500));
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_group_is_read_from_the_store_once_and_its_packets_are_claimed_from_the_writers_copy() {
    use hongbao_core::CoreError;
    use hongbao_core::ops::{PacketSpec, Reply};

    let app = app().await;
    let sender = app.user("sender", 100).await;
    let mut members = Vec::new();
    for n in 0..4 {
        members.push(app.user(&format!("member{n}"), 0).await);
    }
    let outsider = app.user("outsider", 0).await;
    let group = app.group(sender, &members).await;
    let packet = app.send(sender, PacketSpec::Lucky { group_id: group, count: 3, total: Fen::new(900) }, 0).await;
    let loads_after_send = app.store.group_loads();
    assert_eq!(loads_after_send, 1, "sending to the group read it once");

    // One batch per claim: every one of them needs the group's members.
    let mut claimed = Fen::ZERO;
    for &member in &members[..3] {
        let Reply::Claimed(claim) = app.exec(Command::ClaimPacket { actor: member, packet: packet.packet_id }).await
        else {
            panic!("a member claims")
        };
        claimed = claimed.checked_add(claim.amount).unwrap();
    }
    let refused = app.engine.execute(Command::ClaimPacket { actor: outsider, packet: packet.packet_id }).await;
    assert!(
        matches!(refused, Err(EngineError::Refused(CoreError::NotFound { .. }))),
        "the cached members still keep an outsider out: {refused:?}"
    );
    let exhausted = app.engine.execute(Command::ClaimPacket { actor: members[3], packet: packet.packet_id }).await;
    assert!(matches!(exhausted, Err(EngineError::Refused(CoreError::PacketExhausted))), "{exhausted:?}");
    assert_eq!(claimed, Fen::new(900));
    assert_eq!(app.store.group_loads(), loads_after_send, "no batch after the first read the group again");
}

/// The clock stands still here, so every batch runs within one millisecond: a user's history
/// must still list requests made one after the other newest first (ids are random within a
/// millisecond, so each batch's ids carry a later millisecond than the batch before).
#[tokio::test]
async fn requests_made_one_after_another_list_newest_first_within_one_millisecond() {
    let app = app().await;
    let alice = app.user("alice", 0).await;
    for amount in 1..=40 {
        app.exec(Command::Deposit { user: alice, amount: Fen::new(amount) }).await;
    }
    let history = app.engine.history(alice, None, 100).await.unwrap();
    let amounts: Vec<i64> = history.iter().map(|item| item.amount.get()).collect();
    assert_eq!(amounts, (1..=40).rev().collect::<Vec<i64>>(), "newest first");
    assert!(history.iter().all(|item| item.created_at == history[0].created_at), "one instant");
}

/// Where the deposit's commit is held while the transfer is decided.
#[derive(Clone, Copy)]
enum Hold {
    /// Before it begins.
    Begin,
    /// Once its rows are written, before their flush.
    Flush,
}

/// Holds the writer's commits (at `hold`; the deposit's set to fail there when `fail_deposit`),
/// sends a deposit to bob and then a transfer of that money from bob to carol, and waits until
/// the transfer has been decided (from a read snapshot) while the deposit's commit is held.
async fn deposit_then_spend_while_the_deposit_commits(
    app: &crate::support::App,
    hold: Hold,
    fail_deposit: bool,
) -> (
    tokio::task::JoinHandle<Result<hongbao_core::Reply, EngineError>>,
    tokio::task::JoinHandle<Result<hongbao_core::Reply, EngineError>>,
    hongbao_core::UserId,
    hongbao_core::UserId,
) {
    use std::sync::atomic::Ordering;

    let (bob, carol) = (app.user("bob", 0).await, app.user("carol", 0).await);
    let state = &app.store.state;
    let (asked, written) = (state.writes_asked.load(Ordering::SeqCst), state.written.load(Ordering::SeqCst));
    match hold {
        Hold::Begin => {
            if fail_deposit {
                app.store.fail_next_commit();
            }
            app.store.close();
        }
        Hold::Flush => {
            if fail_deposit {
                app.store.fail_next_flush();
            }
            app.store.hold_flushes();
        }
    }
    let deposit = {
        let engine = app.engine.clone();
        tokio::spawn(async move { engine.execute(Command::Deposit { user: bob, amount: Fen::new(500) }).await })
    };
    match hold {
        Hold::Begin => app.store.until("the deposit's commit", |s| s.writes_asked.load(Ordering::SeqCst) > asked).await,
        Hold::Flush => app.store.until("the deposit's rows", |s| s.written.load(Ordering::SeqCst) > written).await,
    }
    let (loads, commits) = (state.snapshot_loads.load(Ordering::SeqCst), app.store.commits());
    let spend = {
        let engine = app.engine.clone();
        let transfer = Command::Transfer {
            actor: bob,
            to: carol,
            amount: Fen::new(500),
            note: None,
            arrival_delay_s: 0,
            risk_confirmation: None,
        };
        tokio::spawn(async move { engine.execute(transfer).await })
    };
    // Carol is not in the deposit's world: deciding the transfer reads her from a snapshot.
    app.store.until("the transfer's reads", |s| s.snapshot_loads.load(Ordering::SeqCst) > loads).await;
    assert_eq!(app.store.commits(), commits, "the transfer was decided while the deposit was not yet committed");
    (deposit, spend, bob, carol)
}

/// On a runtime of two threads: the commits run on the engine's commit thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_batch_is_decided_while_the_one_before_commits_and_sees_its_effects() {
    let app = app().await;
    let commits = app.store.commits();
    let (deposit, spend, bob, carol) = deposit_then_spend_while_the_deposit_commits(&app, Hold::Begin, false).await;
    app.store.release(usize::MAX >> 4);
    deposit.await.unwrap().unwrap();
    spend.await.unwrap().expect("bob spends the deposit decided just before");
    assert_eq!(app.store.commits(), commits + 4, "two users, the deposit and the transfer: one commit each");
    assert_eq!((app.balance(bob).await, app.balance(carol).await), (Fen::ZERO, Fen::new(500)));
    app.assert_invariants().await;
}

/// On a runtime of two threads: the commits run on the engine's commit thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_decided_from_one_whose_commit_failed_is_decided_again_from_the_store() {
    use hongbao_core::CoreError;

    let app = app().await;
    let (deposit, spend, bob, carol) = deposit_then_spend_while_the_deposit_commits(&app, Hold::Begin, true).await;
    app.store.release(usize::MAX >> 4);
    let failed = deposit.await.unwrap().unwrap_err();
    assert!(matches!(failed, EngineError::Unavailable(_)), "{failed:?}");
    // Decided from the deposit's world the transfer would spend money that never arrived.
    let refused = spend.await.unwrap().unwrap_err();
    assert!(matches!(refused, EngineError::Refused(CoreError::InsufficientFunds { .. })), "{refused:?}");
    assert_eq!((app.balance(bob).await, app.balance(carol).await), (Fen::ZERO, Fen::ZERO));
    app.assert_invariants().await;
}

/// Once a batch's rows are written and only its flush remains, the batch after it closes: it is
/// made ready to begin the moment the flush ends, and what arrives meanwhile waits for the batch
/// after that (without the close, it would join the waiting batch, one commit fewer).
///
/// On a runtime of two threads: the commits run on the engine's commit thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_batch_closes_once_the_one_before_has_only_its_flush_left() {
    let app = app().await;
    let dave = app.user("dave", 0).await;
    let commits = app.store.commits();
    let (deposit, spend, bob, carol) = deposit_then_spend_while_the_deposit_commits(&app, Hold::Flush, false).await;
    let late = {
        let engine = app.engine.clone();
        tokio::spawn(async move { engine.execute(Command::Deposit { user: dave, amount: Fen::new(70) }).await })
    };
    app.store.release_flushes(usize::MAX >> 4);
    deposit.await.unwrap().unwrap();
    spend.await.unwrap().expect("bob spends the deposit decided just before");
    late.await.unwrap().unwrap();
    assert_eq!(
        app.store.commits(),
        commits + 5,
        "two users, the deposit, the transfer, and the deposit that came after the transfer's batch closed"
    );
    assert_eq!((app.balance(bob).await, app.balance(carol).await), (Fen::ZERO, Fen::new(500)));
    assert_eq!(app.balance(dave).await, Fen::new(70));
    app.assert_invariants().await;
}

/// The batch that waits, ready, for a commit that then fails at its flush never begins: it is
/// decided again from the store, where the deposit it spent never arrived.
///
/// On a runtime of two threads: the commits run on the engine's commit thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_waiting_for_a_commit_that_fails_at_its_flush_is_decided_again_from_the_store() {
    use hongbao_core::CoreError;
    use std::sync::atomic::Ordering;

    let app = app().await;
    let (deposit, spend, bob, carol) = deposit_then_spend_while_the_deposit_commits(&app, Hold::Flush, true).await;
    let asked = app.store.state.writes_asked.load(Ordering::SeqCst);
    app.store.release_flushes(usize::MAX >> 4);
    let failed = deposit.await.unwrap().unwrap_err();
    assert!(matches!(failed, EngineError::Unavailable(_)), "{failed:?}");
    let refused = spend.await.unwrap().unwrap_err();
    assert!(matches!(refused, EngineError::Refused(CoreError::InsufficientFunds { .. })), "{refused:?}");
    assert_eq!(
        app.store.state.writes_asked.load(Ordering::SeqCst),
        asked + 1,
        "the waiting batch never began; only its decision again, from the store, took the writer"
    );
    assert_eq!((app.balance(bob).await, app.balance(carol).await), (Fen::ZERO, Fen::ZERO));
    app.assert_invariants().await;
}
