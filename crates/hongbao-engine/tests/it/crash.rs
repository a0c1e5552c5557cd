//! Crashes and lost answers at the store boundary, one at a time, on the in-memory store: a
//! commit that fails, one that is stored though the engine is told it failed, and a process
//! killed between deciding a batch and committing it, or between committing and replying.
//!
//! A [`Node`] runs an engine in a tokio runtime of its own, so a test can kill it at any await
//! by dropping that runtime, as a crash would: the writer stops wherever it was, and its
//! in-memory world, its queue and every queued command vanish. Only the store remains, and a
//! new node starts on it.

use std::future::Future;
use std::sync::Arc;

use hongbao_core::ledger::Balances;
use hongbao_core::ops::{Command, Reply};
use hongbao_core::{AccountId, Fact, Fen, Key, Limits, UserId};
use hongbao_engine::{Engine, EngineConfig, EngineError, Idempotency, ManualClock, StartOptions};
use hongbao_store::Store;
use hongbao_store::mem::{CommitFault, MemStore};

use crate::support::{START, audit_config};

/// An engine on a [`MemStore`], in a current-thread runtime of its own. See the module
/// documentation.
pub struct Node {
    runtime: tokio::runtime::Runtime,
    pub engine: Engine,
}

impl Node {
    /// Starts an engine on `store` (its transparency log rebuilt from what the store holds).
    pub fn start(store: &MemStore, clock: &Arc<ManualClock>, config: EngineConfig, seed: [u8; 32]) -> Node {
        Node::start_with(store, clock, Limits::default(), config, seed)
    }

    /// [`Node::start`] with `limits` instead of the defaults (the rules' thresholds among them).
    pub fn start_with(
        store: &MemStore,
        clock: &Arc<ManualClock>,
        limits: Limits,
        config: EngineConfig,
        seed: [u8; 32],
    ) -> Node {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
        let shared: Arc<dyn Store> = Arc::new(store.clone());
        let options = StartOptions {
            rng_seed: Some(seed),
            audit: Some(audit_config()),
            secrets: Some(crate::support::secrets_key()),
        };
        let started = runtime.block_on(Engine::start(shared, clock.clone(), limits, config, options));
        Node { runtime, engine: started.expect("the engine starts") }
    }

    /// Runs `future` on the node's runtime, where the engine's writer runs too.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Spawns `future` on the node's runtime; it runs whenever the runtime does.
    pub fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.runtime.spawn(future);
    }

    /// Kills the node: its runtime is dropped with every task on it, wherever each one was.
    pub fn crash(self) {
        let Node { runtime, engine } = self;
        drop(runtime);
        drop(engine);
    }

    /// Stops the node gracefully: what is queued is applied and answered first.
    pub fn shutdown(self) {
        self.runtime.block_on(self.engine.shutdown());
    }
}

fn key(principal: &str, key: &str) -> Option<Idempotency> {
    Some(Idempotency { principal: principal.to_owned(), key: key.to_owned() })
}

/// A wallet's totals, as the store holds them.
fn wallet(node: &Node, store: &MemStore, user: UserId) -> Balances {
    let wallet = AccountId::wallet(user);
    let facts = node.block_on(async { store.read().await?.load(&[Key::Account(wallet)]).await }).expect("a load");
    match facts.as_slice() {
        [Fact::Account(_, Some(account))] => account.balances(),
        other => panic!("no wallet for {user}: {other:?}"),
    }
}

fn posted(balances: Balances) -> i64 {
    balances.credits_posted.get() - balances.debits_posted.get()
}

fn user(node: &Node, name: &str) -> UserId {
    match node.block_on(node.engine.execute(Command::CreateUser { name: name.to_owned() })) {
        Ok(Reply::User(created)) => created.user_id,
        other => panic!("creating {name} answered {other:?}"),
    }
}

fn assert_check_passes(node: &Node, store: &MemStore) {
    let log_key = audit_config().signing_key.verifying_key();
    let report = node.block_on(hongbao_engine::check(store, &Limits::default(), Some(&log_key))).expect("a check");
    assert!(report.passed(), "{report}");
}

fn fresh() -> (MemStore, Arc<ManualClock>, Node) {
    let store = MemStore::new();
    let clock = Arc::new(ManualClock::new(START));
    let node = Node::start(&store, &clock, EngineConfig::default(), [3; 32]);
    (store, clock, node)
}

#[test]
fn a_commit_failing_before_it_applies_answers_unavailable_and_the_retry_applies_once() {
    let (store, _clock, node) = fresh();
    let alice = user(&node, "alice");
    let deposit = Command::Deposit { user: alice, amount: Fen::new(700) };
    store.faults().fail_commits(CommitFault::FailBeforeApply, 1);
    let first = node.block_on(node.engine.execute_once(deposit.clone(), key("ops", "d1")));
    assert!(matches!(first, Err(EngineError::Unavailable(_))), "{first:?}");
    assert_eq!(posted(wallet(&node, &store, alice)), 0, "nothing of the failed batch is stored");
    let retry = node.block_on(node.engine.execute_once(deposit.clone(), key("ops", "d1"))).expect("the retry");
    let again = node.block_on(node.engine.execute_once(deposit, key("ops", "d1"))).expect("a repeat");
    assert_eq!(retry, again, "a repeat answers the stored answer");
    assert_eq!(posted(wallet(&node, &store, alice)), 700, "applied once");
    assert_check_passes(&node, &store);
}

#[test]
fn a_commit_stored_but_answered_as_failed_is_answered_from_its_record_on_retry_and_applied_once() {
    let (store, _clock, node) = fresh();
    let alice = user(&node, "alice");
    let deposit = Command::Deposit { user: alice, amount: Fen::new(900) };
    store.faults().fail_commits(CommitFault::FailAfterApply, 1);
    let first = node.block_on(node.engine.execute_once(deposit.clone(), key("ops", "d1")));
    assert!(matches!(first, Err(EngineError::Unavailable(_))), "{first:?}");
    assert_eq!(posted(wallet(&node, &store, alice)), 900, "the batch reached the store");
    let retry = node.block_on(node.engine.execute_once(deposit, key("ops", "d1")));
    let Ok(Reply::Moved(moved)) = retry else { panic!("the retry answered {retry:?}") };
    assert_eq!(moved.balance, Fen::new(900), "the stored answer, not a second deposit");
    assert_eq!(posted(wallet(&node, &store, alice)), 900, "applied once");
    // The engine's log caught up with the entries it was told had failed, and signs over them.
    let signed = node.block_on(node.engine.checkpoint_now()).expect("a checkpoint");
    let stored = node.block_on(store.dump()).expect("a dump").log.len() as u64;
    assert_eq!(signed, stored);
    assert_check_passes(&node, &store);
}

#[test]
fn a_crash_between_deciding_a_batch_and_committing_it_stores_nothing_and_the_retry_applies_once() {
    let (store, clock, node) = fresh();
    let alice = user(&node, "alice");
    let deposit = Command::Deposit { user: alice, amount: Fen::new(1_200) };
    store.faults().fail_commits(CommitFault::HangBeforeApply, 1);
    let engine = node.engine.clone();
    let sent = deposit.clone();
    node.spawn(async move {
        // The batch hangs until the crash drops this task: no answer ever comes.
        let _ = engine.execute_once(sent, key("ops", "d1")).await;
    });
    node.block_on(store.faults().hung_beyond(0));
    node.crash();
    let node = Node::start(&store, &clock, EngineConfig::default(), [4; 32]);
    assert_eq!(posted(wallet(&node, &store, alice)), 0, "nothing of the decided batch was stored");
    node.block_on(node.engine.execute_once(deposit.clone(), key("ops", "d1"))).expect("the retry");
    node.block_on(node.engine.execute_once(deposit, key("ops", "d1"))).expect("a repeat");
    assert_eq!(posted(wallet(&node, &store, alice)), 1_200, "applied once");
    assert_check_passes(&node, &store);
}

#[test]
fn a_crash_after_the_commit_before_any_reply_keeps_the_batch_and_the_restarted_log_matches_it() {
    let (store, clock, node) = fresh();
    let alice = user(&node, "alice");
    node.block_on(node.engine.checkpoint_now()).expect("a checkpoint before");
    let deposit = Command::Deposit { user: alice, amount: Fen::new(1_500) };
    store.faults().fail_commits(CommitFault::HangAfterApply, 1);
    let engine = node.engine.clone();
    let sent = deposit.clone();
    node.spawn(async move {
        // The commit never answers: the crash drops this task first.
        let _ = engine.execute_once(sent, key("ops", "d1")).await;
    });
    node.block_on(store.faults().hung_beyond(0));
    node.crash();
    let node = Node::start(&store, &clock, EngineConfig::default(), [5; 32]);
    let audit = node.engine.audit().expect("the log is on");
    assert_eq!(audit.corrupt(), None, "the rebuilt log matches its signed checkpoint");
    assert_eq!(audit.size(), node.block_on(store.dump()).expect("a dump").log.len() as u64);
    assert_eq!(posted(wallet(&node, &store, alice)), 1_500, "the committed batch survived the crash");
    let retry = node.block_on(node.engine.execute_once(deposit, key("ops", "d1")));
    let Ok(Reply::Moved(moved)) = retry else { panic!("the retry answered {retry:?}") };
    assert_eq!(moved.balance, Fen::new(1_500), "the stored answer");
    assert_eq!(posted(wallet(&node, &store, alice)), 1_500, "applied once");
    node.block_on(node.engine.checkpoint_now()).expect("the restarted node signs on");
    assert_check_passes(&node, &store);
}

#[test]
fn commands_queued_behind_a_batch_that_dies_vanish_with_it_and_nothing_of_them_is_stored() {
    let (store, clock, node) = fresh();
    let alice = user(&node, "alice");
    node.shutdown();
    // One command per batch, so the others wait in the queue behind the hung one.
    let config = EngineConfig { batch_max: 1, ..EngineConfig::default() };
    let node = Node::start(&store, &clock, config.clone(), [6; 32]);
    store.faults().fail_commits(CommitFault::HangBeforeApply, 1);
    for i in 0..5 {
        let engine = node.engine.clone();
        node.spawn(async move {
            let deposit = Command::Deposit { user: alice, amount: Fen::new(100) };
            let _ = engine.execute_once(deposit, key("ops", &format!("d{i}"))).await;
        });
    }
    node.block_on(store.faults().hung_beyond(0));
    node.crash();
    let node = Node::start(&store, &clock, config, [7; 32]);
    assert_eq!(wallet(&node, &store, alice), Balances::default(), "neither the hung batch nor the queue was stored");
    assert!(node.block_on(store.dump()).expect("a dump").idempotency.is_empty(), "no answer was recorded");
    assert_check_passes(&node, &store);
}
