//! Cases about write transactions: a failing commit writes nothing, `written` is told only by a
//! commit that lands, a dropped transaction rolls back, and `due`.

use std::sync::Arc;
use std::time::Duration;

use hongbao_core::due::{Deadline, DueItem, DueKind};
use hongbao_core::ledger::Transfer;
use hongbao_core::ops::{Command, PacketSpec};
use hongbao_core::principal::{Owner, Principal, Role};
use hongbao_core::user::User;
use hongbao_core::world::Write;
use hongbao_core::{Changes, ClaimId, Fen, Key, PacketId, Timestamp, TransferId};
use tokio::sync::Notify;

use super::expect::{assert_store_holds_world, comparable, dump, has_operator, record};
use super::scenario::{Scenario, T0, bounded, commit_records, lock, refused};
use crate::{Commit, IdempotencyRecord, Store};

/// A commit that fails anywhere (a duplicate insert, an update of a missing row, a repeated
/// transfer, principal key or idempotency key) writes nothing of its batch, its log rows
/// included; the store stays usable.
pub async fn a_failing_commit_writes_nothing_at_all(store: &dyn Store) {
    let mut s = Scenario::new(5);
    let alice = s.user(store, "alice").await;
    let bob = s.user(store, "bob").await;
    s.deposit(store, alice, 100_000).await;
    let group = s.group(store, alice, &[bob]).await;
    let stored_record = record("key_alice", "stored", T0);
    commit_records(store, vec![stored_record.clone()]).await;
    let delayed =
        s.send(store, alice, PacketSpec::Normal { group_id: group, count: 2, amount_each: Fen::new(100) }, 7_200).await;
    let stored_transfer = s.world.transfers().next().cloned().expect("a stored transfer");
    let stored_user = s.world.user(alice).ok().flatten().cloned().expect("alice");
    let stored_principal = s.principal(s.key_of(alice));
    let before = comparable(&dump(store).await);
    assert!(!has_operator(store).await);

    // A valid batch touching every table: a new user and their key, an operator, a deposit, a
    // packet, a claim (pending), account updates, events.
    s.user_in_world_only("erin");
    s.operator_in_world_only("ops", &[Role::Admin]);
    s.run(Command::Deposit { user: bob, amount: Fen::new(5_000) });
    s.run(Command::SendPacket {
        actor: bob,
        spec: PacketSpec::Lucky { group_id: group, count: 2, total: Fen::new(300) },
        greeting: Some("新年快乐".to_owned()),
        arrival_delay_s: 0,
        risk_confirmation: None,
    });
    s.run(Command::ClaimPacket { actor: bob, packet: delayed });
    let changes = s.take_changes();
    assert!(!changes.users.is_empty() && !changes.claims.is_empty() && !changes.pendings.is_empty());
    assert_eq!(changes.principals.len(), 2, "erin's key and the operator's");
    let fresh_record = record("key_bob", "fresh", s.now);
    let batch = s.batch(changes, vec![fresh_record.clone()]);
    assert!(!batch.log.is_empty(), "the batch appends to the log");
    let nothing = s.mint_uuid();

    type Spoil = fn(&mut Changes, &mut Vec<IdempotencyRecord>, &Spoilers);
    let spoilers: [(&str, Spoil); 8] = [
        ("an insert of an existing user", |c, _, x| c.users.push((Write::Insert, x.user.clone()))),
        ("an update of a missing packet", |c, _, x| {
            let mut packet = c.packets[0].1.clone();
            packet.id = PacketId::from_uuid(x.nothing);
            c.packets.push((Write::Update, packet));
        }),
        ("a transfer that already exists", |c, _, x| c.transfers.push(x.transfer.clone())),
        ("an idempotency key already stored", |_, r, x| r.push(x.record.clone())),
        ("an update of a missing pending transfer", |c, _, x| {
            let mut pending = c.pendings[0].1.clone();
            pending.transfer.id = TransferId::from_uuid(x.nothing);
            c.pendings.push((Write::Update, pending));
        }),
        ("an update of a missing claim", |c, _, x| {
            let mut claim = c.claims[0].1.clone();
            claim.id = ClaimId::from_uuid(x.nothing);
            c.claims.push((Write::Update, claim));
        }),
        ("a principal key already stored", |c, _, x| c.principals.push(x.principal.clone())),
        ("a stored key id given to a new operator", |c, _, x| {
            let operator = c.principals.iter().find(|p| matches!(p.owner, Owner::Operator { .. }));
            let mut operator = operator.cloned().expect("the batch creates an operator");
            operator.key_id = x.principal.key_id;
            c.principals.push(operator);
        }),
    ];
    let x = Spoilers {
        user: stored_user,
        transfer: stored_transfer,
        principal: stored_principal,
        record: stored_record,
        nothing,
    };
    for (what, spoil) in spoilers {
        let mut spoiled = batch.clone();
        spoil(&mut spoiled.changes, &mut spoiled.idempotency, &x);
        assert!(refused(store, spoiled).await, "a batch with {what} must not commit");
        assert_eq!(comparable(&dump(store).await), before, "a batch with {what} wrote something");
        assert!(!has_operator(store).await, "a batch with {what} left its operator behind");
    }

    // The batch itself was fine, and the store still accepts it.
    s.save(store, batch).await;
    assert_store_holds_world(store, &s.world).await;
    let after = dump(store).await;
    assert_eq!((after.events, after.log), (s.events, s.log));
    assert!(after.idempotency.contains(&fresh_record));
    assert!(has_operator(store).await, "the operator of the good batch");
}

/// What the spoilers of [`a_failing_commit_writes_nothing_at_all`] add to a valid batch.
struct Spoilers {
    user: User,
    transfer: Transfer,
    principal: Principal,
    record: IdempotencyRecord,
    nothing: uuid::Uuid,
}

/// A write transaction dropped without commit leaves nothing behind and does not keep the
/// writer: the next write begins and commits.
/// `written` promises that a commit's rows are written and only its flush remains: a writer that
/// pipelines closes its next batch on it. A commit that lands has told it; one whose rows are
/// refused never has.
pub async fn written_is_told_by_a_commit_that_lands_and_not_by_one_whose_rows_are_refused(store: &dyn Store) {
    async fn told(written: &Notify) -> bool {
        // A notification given before anyone waited is kept, and taken by the first wait.
        tokio::time::timeout(Duration::ZERO, written.notified()).await.is_ok()
    }
    let mut s = Scenario::new(31);
    let alice = s.user(store, "alice").await;
    s.run(Command::Deposit { user: alice, amount: Fen::new(100) });
    let changes = s.take_changes();
    let written = Arc::new(Notify::new());
    let tx = store.write().await.expect("a write begins");
    let batch = Commit { changes: changes.clone(), written: Some(written.clone()), ..Commit::default() };
    tx.commit(batch).await.expect("the deposit commits");
    assert!(told(&written).await, "a commit that landed told that its rows were written");
    // The same deposit again: its transfer is already stored.
    let refused = Arc::new(Notify::new());
    let tx = store.write().await.expect("a write begins");
    let again = tx.commit(Commit { changes, written: Some(refused.clone()), ..Commit::default() }).await;
    assert!(again.is_err(), "a transfer is stored once");
    assert!(!told(&refused).await, "a commit whose rows were refused never told they were written");
}

pub async fn dropping_a_write_transaction_rolls_it_back_and_frees_the_writer(store: &dyn Store) {
    let mut s = Scenario::new(6);
    let alice = s.user(store, "alice").await;
    let before = comparable(&dump(store).await);

    let mut tx = bounded("write", store.write()).await.expect("a write begins");
    bounded("load", tx.load(&[Key::User(alice)])).await.expect("load");
    bounded("due", tx.due(s.now, 10)).await.expect("due");
    drop(tx);
    assert_eq!(comparable(&dump(store).await), before);

    // Twice in a row, in case a backend frees the writer lazily.
    for _ in 0..2 {
        let tx = bounded("the write after a dropped one", store.write()).await.expect("a write begins");
        drop(tx);
    }
    s.step(store, lock(alice)).await;
    assert_store_holds_world(store, &s.world).await;
}

/// `due` lists the schedule's items due at a time (inclusive) — active packets past expiry and
/// open pending transfers past their deadline, nothing else — every kind in one list, oldest
/// first, at most `limit` of them.
pub async fn due_respects_time_status_limit_and_order(store: &dyn Store) {
    let mut s = Scenario::new(7);
    let alice = s.user(store, "alice").await;
    let bob = s.user(store, "bob").await;
    s.deposit(store, alice, 100_000).await;
    let group = s.group(store, alice, &[bob]).await;
    let normal = |count| PacketSpec::Normal { group_id: group, count, amount_each: Fen::new(100) };

    // Created in one order, expiring in another, so "oldest first" cannot be the id order.
    s.limits.expiry_s = 3 * 3_600;
    let late = s.send(store, alice, normal(2), 0).await;
    s.advance_s(1);
    s.limits.expiry_s = 3_600;
    let early = s.send(store, alice, normal(2), 0).await;
    let exhausted = s.send(store, alice, normal(1), 0).await;
    s.claim(store, bob, exhausted).await;
    let recalled = s.send(store, alice, normal(1), 0).await;
    s.step(store, Command::RecallPacket { actor: alice, packet: recalled }).await;
    s.limits.expiry_s = 2 * 3_600;
    let middle = s.send(store, alice, normal(2), 0).await;

    let slow = s.transfer(store, alice, bob, 100, 24 * 3_600, None).await;
    s.advance_s(1);
    let fast = s.transfer(store, alice, bob, 100, 2 * 3_600, None).await;
    let revoked = s.transfer(store, alice, bob, 100, 2 * 3_600, None).await;
    s.step(store, Command::RevokeTransfer { actor: alice, transfer: revoked }).await;
    let settled = s.transfer(store, alice, bob, 100, 2 * 3_600, None).await;

    let deadline = |id| s.world.pending(id).ok().flatten().map(|p| p.deadline()).expect("pending");
    let expiry = |id| s.world.packet(id).ok().flatten().map(|p| p.expires_at).expect("packet");
    let (fast_at, early_at) = (deadline(fast), expiry(early));
    let never = Timestamp::from_millis(i64::MAX);

    let due = |at: Timestamp, limit: u32| async move {
        let mut tx = bounded("write", store.write()).await.expect("a write begins");
        bounded("due", tx.due(at, limit)).await.expect("due succeeds")
    };
    let expiry_of = |id: PacketId| (DueKind::PacketExpiry, id.uuid());
    let arrival_of = |id: TransferId| (DueKind::PendingArrival, id.uuid());
    let keys = |items: Vec<DueItem>| items.into_iter().map(|item| (item.kind, item.id)).collect::<Vec<_>>();
    let nothing = due(T0, 100).await;
    assert!(nothing.is_empty(), "nothing is due at the start: {nothing:?}");
    let just = due(early_at.plus_millis(-1), 100).await;
    assert!(just.is_empty(), "a packet is not due a millisecond before its expiry: {just:?}");
    let at_expiry = due(early_at, 100).await;
    assert_eq!(at_expiry, vec![DueItem { at: early_at, kind: DueKind::PacketExpiry, id: early.uuid() }]);
    let at_deadline = keys(due(fast_at, 100).await);
    assert!(at_deadline.contains(&arrival_of(fast)) && !at_deadline.contains(&arrival_of(slow)));

    // Settle one pending transfer: posted ones are not due any more.
    s.now = fast_at;
    s.step(store, Command::SettlePending { transfer: settled }).await;

    // Both kinds in one list, by time: early (1 h), middle (2 h), fast (2 h and a second),
    // late (3 h), slow (a day).
    let all = keys(due(never, 100).await);
    let expected = vec![expiry_of(early), expiry_of(middle), arrival_of(fast), expiry_of(late), arrival_of(slow)];
    assert_eq!(all, expected, "active packets and open pending transfers only, oldest first");
    assert_eq!(keys(due(never, 2).await), expected[..2], "the limit counts every kind together");
    assert!(due(never, 0).await.is_empty());

    // Once expired, a packet is not due any more.
    s.step(store, Command::ExpirePacket { packet: early }).await;
    assert_eq!(keys(due(never, 100).await), expected[1..]);
    assert_store_holds_world(store, &s.world).await;
}

/// The schedule is written from `Changes::deadlines` by kind and entity: an item is inserted,
/// moved by a later upsert (never doubled), and deleted, and deleting one that is not there is
/// no error. The store does not look at the entity: the kind is a name it keeps.
pub async fn the_schedule_upserts_moves_and_deletes_items_by_kind_and_entity(store: &dyn Store) {
    let (a, b) = (PacketId::from_uuid(uuid::Uuid::from_u128(0xa)), TransferId::from_uuid(uuid::Uuid::from_u128(0xb)));
    let at = |s: u32| T0.plus_seconds(s);
    let write = |deadlines: Vec<Deadline>| async move {
        let tx = bounded("write", store.write()).await.expect("a write begins");
        let changes = Changes { deadlines, ..Changes::default() };
        bounded("commit", tx.commit(Commit { changes, ..Commit::default() })).await.expect("the schedule commits");
    };
    let due = |now: Timestamp| async move {
        let mut tx = bounded("write", store.write()).await.expect("a write begins");
        bounded("due", tx.due(now, 10)).await.expect("due succeeds")
    };
    let expiry = |when| Deadline { kind: DueKind::PacketExpiry, id: a.uuid(), at: when };
    let arrival = |when| Deadline { kind: DueKind::PendingArrival, id: b.uuid(), at: when };
    let item = |d: Deadline, s| DueItem { at: at(s), kind: d.kind, id: d.id };

    write(vec![expiry(Some(at(20))), arrival(Some(at(10)))]).await;
    assert_eq!(due(at(9)).await, Vec::new());
    assert_eq!(due(at(20)).await, vec![item(arrival(None), 10), item(expiry(None), 20)]);

    // Moved later: once, at its new time.
    write(vec![arrival(Some(at(30)))]).await;
    assert_eq!(due(at(20)).await, vec![item(expiry(None), 20)]);
    assert_eq!(dump(store).await.deadlines, vec![item(expiry(None), 20), item(arrival(None), 30)]);

    // Deleted, twice: the second finds nothing and is no error.
    write(vec![expiry(None)]).await;
    write(vec![expiry(None)]).await;
    assert_eq!(due(Timestamp::from_millis(i64::MAX)).await, vec![item(arrival(None), 30)]);
}

/// A world with work of every kind scheduled and some that is no longer due: an active packet, an
/// exhausted one, a pending transfer and a revoked one. For the backends' migration tests, which
/// take the schedule away as an older schema lacked it and check that migrating rebuilds it.
pub async fn a_world_with_due_work(store: &dyn Store, seed: u64) -> Scenario {
    let mut s = Scenario::new(seed);
    let alice = s.user(store, "alice").await;
    let bob = s.user(store, "bob").await;
    s.deposit(store, alice, 10_000).await;
    let group = s.group(store, alice, &[bob]).await;
    s.send(store, alice, PacketSpec::Normal { group_id: group, count: 2, amount_each: Fen::new(100) }, 0).await;
    let exhausted = s.send(store, alice, PacketSpec::Exclusive { recipient: bob, amount: Fen::new(10) }, 0).await;
    s.claim(store, bob, exhausted).await;
    s.transfer(store, alice, bob, 100, 7_200, None).await;
    let revoked = s.transfer(store, alice, bob, 100, 7_200, None).await;
    s.step(store, Command::RevokeTransfer { actor: alice, transfer: revoked }).await;
    assert_eq!(dump(store).await.deadlines.len(), 2, "one packet and one transfer are due");
    s
}
