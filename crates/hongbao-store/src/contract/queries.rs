//! Cases about the read-only queries: a wallet's history and its pages, the dump, the operator
//! check and the idempotency purge.

use hongbao_core::invariants;
use hongbao_core::ledger::{PendingStatus, TransferKind};
use hongbao_core::principal::{Owner, Role};
use hongbao_core::{AccountId, Fact, TransferId, World};

use super::expect::{assert_store_holds_world, dump, facts_of, has_operator, record, sorted};
use super::scenario::{Scenario, T0, bounded, commit_records, full_scenario};
use crate::{HistoryItem, IdempotencyRecord, Store};

/// The history a wallet should show: its own original transfers, newest first, computed from
/// the world alone.
pub fn expected_history(world: &World, account: AccountId) -> Vec<HistoryItem> {
    let mut items: Vec<HistoryItem> = world
        .transfers()
        .filter(|t| t.phase.is_original() && (t.debit == account || t.credit == account))
        .map(|t| HistoryItem {
            transfer_id: t.id,
            amount: t.amount,
            incoming: t.credit == account,
            kind: t.kind,
            pending: world.pending(t.id).ok().flatten().map(|p| p.status),
            packet_id: t.packet_id,
            claim_id: t.claim_id,
            note: t.note.clone(),
            created_at: t.created_at,
        })
        .collect();
    items.sort_by_key(|item| std::cmp::Reverse(item.transfer_id));
    items
}

async fn history(store: &dyn Store, account: AccountId, before: Option<TransferId>, limit: u32) -> Vec<HistoryItem> {
    bounded("history", store.history(account, before, limit)).await.expect("history succeeds")
}

/// A wallet's history is its transfers in both directions, newest first, with the kind and the
/// fate of pending ones, and without the transfers that only resolve a pending one.
pub async fn history_shows_a_wallets_own_transfers_newest_first_with_their_status(store: &dyn Store) {
    let mut s = Scenario::new(8);
    let cast = full_scenario(store, &mut s, false).await;
    for user in [cast.alice, cast.bob, cast.carol, cast.dave] {
        let wallet = AccountId::wallet(user);
        let expected = expected_history(&s.world, wallet);
        assert_eq!(history(store, wallet, None, 1_000).await, expected, "history of {user}");
    }

    // The comparisons above covered what they should.
    let bob = history(store, AccountId::wallet(cast.bob), None, 1_000).await;
    let revoked = s.claim_transfer(cast.bob_delayed_claim);
    let item = bob.iter().find(|i| i.transfer_id == revoked).expect("bob's revoked claim is in his history");
    assert_eq!(
        (item.incoming, item.kind, item.pending),
        (true, TransferKind::PacketClaim, Some(PendingStatus::Voided))
    );
    assert!(bob.iter().any(|i| !i.incoming && i.kind == TransferKind::Withdrawal && i.pending.is_none()));
    assert!(bob.iter().any(|i| !i.incoming && i.kind == TransferKind::ClaimReturn));
    let dave = history(store, AccountId::wallet(cast.dave), None, 1_000).await;
    let fates: Vec<Option<PendingStatus>> =
        dave.iter().filter(|i| i.kind == TransferKind::Transfer && i.incoming).map(|i| i.pending).collect();
    assert_eq!(
        fates,
        vec![Some(PendingStatus::Posted), Some(PendingStatus::Voided)],
        "dave's two transfers in, newest first"
    );
    let resolutions =
        s.world.transfers().filter(|t| !t.phase.is_original() && t.credit == AccountId::wallet(cast.dave)).count();
    assert!(resolutions > 0, "the world has resolutions on dave's wallet, which history leaves out");
    assert!(dave.iter().all(|i| s.world.transfer(i.transfer_id).ok().flatten().is_some_and(|t| t.phase.is_original())));
    assert!(history(store, AccountId::from_uuid(s.mint_uuid()), None, 10).await.is_empty(), "no history for nobody");
}

/// Following `before` from page to page yields the whole history once, in order, for any page
/// size, and a page never holds more than `limit` items.
pub async fn history_pages_with_before_without_gaps_or_repeats(store: &dyn Store) {
    let mut s = Scenario::new(9);
    let cast = full_scenario(store, &mut s, false).await;
    // More transfers in the same millisecond, so ids, not times, must order them.
    for fen in 1..=5 {
        s.transfer(store, cast.bob, cast.alice, fen, 0, None).await;
        s.transfer(store, cast.alice, cast.bob, fen, 0, None).await;
    }
    for user in [cast.alice, cast.bob] {
        let wallet = AccountId::wallet(user);
        let full = expected_history(&s.world, wallet);
        assert!(full.len() > 10, "enough history to page through");
        for limit in [1, 2, 3, 7] {
            let mut pages = Vec::new();
            let mut before = None;
            loop {
                let page = history(store, wallet, before, limit).await;
                assert!(page.len() <= limit as usize, "a page of {} items with limit {limit}", page.len());
                let Some(last) = page.last() else { break };
                before = Some(last.transfer_id);
                pages.extend(page);
                assert!(pages.len() <= full.len(), "paging with limit {limit} does not end");
            }
            assert_eq!(pages, full, "pages of {limit} put together");
        }
        let first = full[0].transfer_id;
        assert_eq!(history(store, wallet, Some(first), 1_000).await, full[1..].to_vec(), "strictly older than before");
        assert!(history(store, wallet, None, 0).await.is_empty(), "limit 0 gives nothing");
    }
}

/// The dump holds every entity once, every idempotency record and every event, and the world
/// it rebuilds passes the invariant check.
pub async fn dump_rebuilds_a_world_that_passes_the_invariant_check(store: &dyn Store) {
    let mut s = Scenario::new(10);
    full_scenario(store, &mut s, false).await;
    let records = vec![record("key_alice", "k1", s.now), record("key_bob", "k1", s.now)];
    commit_records(store, records.clone()).await;
    assert!(invariants::check(&s.world, &s.limits).is_empty(), "the scenario itself is sound");

    let dump = dump(store).await;
    assert_eq!(dump.events, s.events, "every event is stored, in order");
    assert!(dump.events.len() >= 20, "the scenario emits events: {}", dump.events.len());
    assert_eq!(sorted(dump.idempotency.clone()), sorted(records));
    let mut expected: Vec<Fact> = facts_of(&s.world)
        .into_iter()
        .filter(|f| {
            !matches!(
                f,
                Fact::ClaimOf(..)
                    | Fact::ClaimsOf(..)
                    | Fact::FreezesOf(..)
                    | Fact::SeizuresOf(..)
                    | Fact::OpenReportsOn(..)
                    | Fact::OpenCase(..)
                    | Fact::SharesGroup(..)
                    | Fact::ReturnsOf(..)
            )
        })
        .collect();
    let mut facts = dump.facts.clone();
    let order = |f: &Fact| format!("{f:?}");
    expected.sort_by_key(order);
    facts.sort_by_key(order);
    assert_eq!(facts, expected, "one fact per entity, exactly the world's");
    let owners: Vec<&Owner> = facts
        .iter()
        .filter_map(|f| match f {
            Fact::Principal(_, Some(p)) => Some(&p.owner),
            _ => None,
        })
        .collect();
    assert_eq!(owners.iter().filter(|o| matches!(o, Owner::User { .. })).count(), 4, "the users' keys");
    assert_eq!(owners.iter().filter(|o| matches!(o, Owner::Operator { .. })).count(), 2, "the operators' keys");

    let rebuilt = World::complete_from(dump.facts);
    let violations = invariants::check(&rebuilt, &s.limits);
    assert!(violations.is_empty(), "the dumped world breaks invariants: {violations:#?}");
    assert_eq!(rebuilt.claims().count(), s.world.claims().count());
}

/// Purging deletes records created strictly before the bound, at most `limit` per call, and
/// keeps the rest.
pub async fn purge_idempotency_deletes_only_older_records_up_to_the_limit(store: &dyn Store) {
    let records: Vec<IdempotencyRecord> =
        (0..5).map(|i| record("key_alice", &format!("k{i}"), T0.plus_millis(i * 1_000))).collect();
    commit_records(store, records.clone()).await;
    let bound = T0.plus_millis(3_000);
    let purge = |limit| async move {
        bounded("purge", store.purge_idempotency(bound, limit)).await.expect("the purge succeeds")
    };

    assert_eq!(purge(2).await, 2, "at most the limit");
    let left = dump(store).await.idempotency;
    assert_eq!(left.len(), 3);
    assert!(records[3..].iter().all(|r| left.contains(r)), "records at or after the bound stay");
    assert_eq!(purge(10).await, 1, "the one old record left");
    assert_eq!(sorted(dump(store).await.idempotency), sorted(records[3..].to_vec()));
    assert_eq!(purge(10).await, 0, "nothing older is left");
    assert_eq!(purge(0).await, 0);
    assert_eq!(dump(store).await.idempotency.len(), 2);
}

/// Start-up creates the first operator only when there is none: a user's key is not an
/// operator, and an operator counts once committed, whatever else is stored.
pub async fn has_operator_is_true_only_once_an_operator_key_is_committed(store: &dyn Store) {
    let mut s = Scenario::new(15);
    assert!(!has_operator(store).await, "a new store has no operator");
    s.user(store, "alice").await;
    s.user(store, "bob").await;
    assert_eq!(dump(store).await.facts.iter().filter(|f| matches!(f, Fact::Principal(..))).count(), 2);
    assert!(!has_operator(store).await, "users' keys are not operators");

    s.operator_in_world_only("root", &Role::ALL);
    let changes = s.take_changes();
    assert!(!has_operator(store).await, "an operator not yet committed does not count");
    let batch = s.batch(changes, Vec::new());
    s.save(store, batch).await;
    assert!(has_operator(store).await, "the committed operator counts");

    // More users and operators change nothing.
    s.user(store, "carol").await;
    s.operator(store, "auditor", &[Role::Auditor]).await;
    assert!(has_operator(store).await);
    assert_store_holds_world(store, &s.world).await;
}
