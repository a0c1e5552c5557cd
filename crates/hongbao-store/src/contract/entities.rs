//! Cases about entities and idempotency records: what a new store holds, round trips, missing
//! keys, a packet's claims and read snapshots.

use hongbao_core::ledger::{PendingStatus, Phase, TransferKind};
use hongbao_core::ops::PacketSpec;
use hongbao_core::packet::{ClaimStatus, PacketStatus};
use hongbao_core::principal::{Owner, Role};
use hongbao_core::user::UserStatus;
use hongbao_core::{
    AccountId, ClaimId, DocumentId, Fact, Fen, GroupId, Key, KeyId, PacketId, Timestamp, TransferId, UserId, World,
};

use super::expect::{
    assert_loads, assert_store_holds_world, dump, facts_of, latest_checkpoint, log_size, record, sorted,
};
use super::scenario::{Scenario, T0, bounded, commit_records, full_scenario, lock};
use crate::Store;

/// A new store holds the external account (as [`World::genesis`] does) and nothing else.
pub async fn a_new_store_holds_only_the_external_account(store: &dyn Store) {
    assert!(!store.backend().is_empty(), "a backend names itself");
    assert!(!store.durability().is_empty(), "a backend states its durability");
    let genesis = World::genesis();
    assert_store_holds_world(store, &genesis).await;
    let dump = dump(store).await;
    assert_eq!(dump.facts, facts_of(&genesis), "a new store holds only the external account");
    assert!(dump.idempotency.is_empty());
    assert!(dump.events.is_empty() && dump.log.is_empty() && dump.checkpoints.is_empty(), "{dump:?}");
    assert_eq!(log_size(store).await, 0, "the log is empty");
    assert_eq!(latest_checkpoint(store).await, None);
    let mut tx = bounded("write", store.write()).await.expect("a write begins");
    let due = bounded("due", tx.due(Timestamp::from_millis(i64::MAX), 100)).await.expect("due succeeds");
    assert!(due.is_empty(), "nothing is scheduled: {due:?}");
    drop(tx);
    let history = bounded("history", store.history(AccountId::EXTERNAL, None, 100)).await.expect("history");
    assert!(history.is_empty());
}

/// Every entity, inserted and then updated by real commands, loads back exactly as the core
/// left it, after every single commit, through a read snapshot and through a write transaction.
pub async fn every_entity_round_trips_exactly_through_inserts_and_updates(store: &dyn Store) {
    let mut s = Scenario::new(1);
    let cast = full_scenario(store, &mut s, true).await;
    let expected = facts_of(&s.world);
    let mut tx = bounded("write", store.write()).await.expect("a write begins");
    assert_loads(tx.as_mut(), &expected).await;
    drop(tx);

    // The scenario did reach every state it claims to, so the comparisons above covered them.
    let w = &s.world;
    let packet_status = |id| w.packet(id).ok().flatten().map(|p| p.status);
    assert_eq!(packet_status(cast.lucky), Some(PacketStatus::Expired));
    assert_eq!(packet_status(cast.delayed), Some(PacketStatus::Exhausted));
    assert_eq!(packet_status(cast.exclusive), Some(PacketStatus::Exhausted));
    assert_eq!(packet_status(cast.recalled), Some(PacketStatus::Recalled));
    assert!(w.packet(cast.lucky).ok().flatten().is_some_and(|p| p.touched));
    // A lucky packet's secret salt comes back exactly; the other kinds have none.
    let mut tx = bounded("read", store.read()).await.expect("a read begins");
    let keys = [cast.lucky, cast.delayed, cast.exclusive].map(Key::Packet);
    let loaded = bounded("load", tx.load(&keys)).await.expect("load");
    drop(tx);
    let salt_of = |id: PacketId| {
        let stored = loaded.iter().find_map(|f| match f {
            Fact::Packet(at, Some(p)) if *at == id => Some(p.salt),
            _ => None,
        });
        (stored.expect("the packet is stored"), w.packet(id).ok().flatten().and_then(|p| p.salt))
    };
    let (stored, drawn) = salt_of(cast.lucky);
    assert!(drawn.is_some(), "the core drew a salt for the lucky packet");
    assert!(stored == drawn, "the lucky packet's salt round-trips");
    assert_eq!(salt_of(cast.delayed), (None, None), "a normal packet has no salt");
    assert_eq!(salt_of(cast.exclusive), (None, None), "an exclusive packet has no salt");
    let claim_status = |id| w.claim(id).ok().flatten().map(|c| c.status);
    assert_eq!(claim_status(cast.bob_delayed_claim), Some(ClaimStatus::Revoked));
    assert_eq!(claim_status(cast.carol_delayed_claim), Some(ClaimStatus::Arrived));
    assert!(w.claims().any(|c| c.status == ClaimStatus::Returned));
    let pending_status = |id| w.pending(id).ok().flatten().map(|p| p.status);
    assert_eq!(pending_status(cast.revoked_transfer), Some(PendingStatus::Voided));
    assert_eq!(pending_status(cast.settled_transfer), Some(PendingStatus::Posted));
    assert!(w.users().all(|u| u.status == UserStatus::Active), "carol was locked and unlocked");
    let bob_wallet = w.account(AccountId::wallet(cast.bob)).ok().flatten().map(|a| (a.frozen(), a.holding()));
    assert_eq!(bob_wallet, Some((Fen::new(300), false)));
    let carol_wallet = w.account(AccountId::wallet(cast.carol)).ok().flatten().expect("carol's wallet");
    assert!(carol_wallet.holding() && carol_wallet.frozen().is_positive(), "the police freeze holds carol's money");
    let police = w.freeze(cast.police_freeze).ok().flatten().expect("placed");
    assert!(police.tally.ever_held > police.tally.released && police.held == carol_wallet.frozen());
    let bob_freeze = w.freeze(cast.bob_freeze).ok().flatten().expect("placed");
    let executed = w.seizure(cast.executed_seizure).ok().flatten().expect("proposed");
    assert!(executed.status.as_str() == "executed" && executed.transfer_id.is_some() && executed.decided_by.is_some());
    assert_eq!(police.tally.seized, Fen::new(100));
    let rejected = w.seizure(cast.rejected_seizure).ok().flatten().expect("proposed");
    assert_eq!((rejected.status.as_str(), rejected.rejection.as_deref()), ("rejected", Some("a test")));
    let case = w.case(cast.fraud_case).ok().flatten().expect("opened by the rule");
    assert_eq!((case.reports().count(), case.freezes().count(), case.is_open()), (3, 1, true));
    assert!(cast.reports.iter().all(|r| w.report(*r).ok().flatten().is_some_and(|r| r.case_id == Some(case.id))));
    let bob_tally = (bob_freeze.held, bob_freeze.tally.released, bob_freeze.amount);
    assert_eq!(bob_tally, (Fen::new(300), Fen::new(200), Some(Fen::new(300))));
    for phase in ["posted", "pending", "post_pending", "void_pending"] {
        let found = w.transfers().any(|t| match t.phase {
            Phase::Posted => phase == "posted",
            Phase::Pending { .. } => phase == "pending",
            Phase::PostPending { .. } => phase == "post_pending",
            Phase::VoidPending { .. } => phase == "void_pending",
        });
        assert!(found, "the scenario makes a {phase} transfer");
    }
    assert!(w.transfers().any(|t| t.note.is_some()), "a transfer with a note");
    for user in [cast.alice, cast.bob, cast.carol, cast.dave] {
        let key = s.principal(s.key_of(user));
        assert_eq!(key.owner, Owner::User { user_id: user }, "every user has a key of their own");
    }
    let owner = |key| s.principal(key).owner;
    assert_eq!(owner(cast.root), Owner::Operator { name: "root".to_owned(), roles: Role::ALL.to_vec() });
    let auditor_roles = vec![Role::RiskOfficer, Role::Auditor];
    assert_eq!(owner(cast.auditor), Owner::Operator { name: "审计 auditor".to_owned(), roles: auditor_roles });
    assert_eq!(w.principals().count(), 6, "four users' keys and two operators' keys");
    // Documents come back whole, their secret salt included; only a reveal changes one.
    let document = |id| w.document(id).ok().flatten().expect("registered");
    let (sealed, revealed) = (document(cast.sealed_document), document(cast.revealed_document));
    assert!(sealed.confidential && sealed.evidence_id.is_some() && sealed.revealed_at.is_none());
    assert!(!revealed.confidential && revealed.evidence_id.is_none() && revealed.revealed_at.is_some());
    assert_ne!(sealed.salt, revealed.salt, "each document draws its own salt");
}

/// A key naming nothing gets `None` (or an empty list of claims), one answer per key, the same
/// in a read snapshot and in a write transaction.
pub async fn missing_keys_load_as_none_or_an_empty_list(store: &dyn Store) {
    let mut s = Scenario::new(2);
    let alice = s.user(store, "alice").await;
    let bob = s.user(store, "bob").await;
    s.deposit(store, alice, 10_000).await;
    let group = s.group(store, alice, &[bob]).await;
    let unclaimed =
        s.send(store, alice, PacketSpec::Normal { group_id: group, count: 2, amount_each: Fen::new(10) }, 0).await;

    let nobody = UserId::from_uuid(s.mint_uuid());
    let nothing = s.mint_uuid();
    let expected = vec![
        Fact::User(nobody, None),
        Fact::Account(AccountId::from_uuid(nothing), None),
        Fact::Group(GroupId::from_uuid(nothing), None),
        Fact::Packet(PacketId::from_uuid(nothing), None),
        Fact::Claim(ClaimId::from_uuid(nothing), None),
        Fact::ClaimOf(PacketId::from_uuid(nothing), alice, None),
        Fact::ClaimOf(unclaimed, bob, None),
        Fact::ClaimOf(unclaimed, nobody, None),
        Fact::ClaimsOf(PacketId::from_uuid(nothing), Vec::new()),
        Fact::ClaimsOf(unclaimed, Vec::new()),
        Fact::Pending(TransferId::from_uuid(nothing), None),
        Fact::Transfer(TransferId::from_uuid(nothing), None),
        Fact::Principal(KeyId::from_uuid(nothing), None),
        Fact::Document(DocumentId::from_uuid(nothing), None),
        // A user's id is not the id of their key.
        Fact::Principal(KeyId::from_uuid(alice.uuid()), None),
        // A key asked twice is answered twice.
        Fact::User(nobody, None),
        // Next to existing ones, and an existing transfer is not a pending one.
        Fact::User(alice, s.world.user(alice).ok().flatten().cloned()),
        Fact::Principal(s.key_of(alice), Some(s.principal(s.key_of(alice)))),
    ];
    let deposit = s.world.transfers().find(|t| t.kind == TransferKind::Deposit).map(|t| t.id);
    let deposit = deposit.expect("the deposit transfer");
    let mut expected = expected;
    expected.push(Fact::Pending(deposit, None));

    let mut tx = bounded("read", store.read()).await.expect("a read begins");
    assert_loads(tx.as_mut(), &expected).await;
    drop(tx);
    let mut tx = bounded("write", store.write()).await.expect("a write begins");
    assert_loads(tx.as_mut(), &expected).await;
    let none = bounded("load", tx.load(&[])).await.expect("loading nothing succeeds");
    assert!(none.is_empty());
}

/// `ClaimOf` finds the one claim a person made on a packet and `ClaimsOf` every claim of that
/// packet and no other's.
pub async fn claim_of_and_claims_of_find_exactly_a_packets_claims(store: &dyn Store) {
    let mut s = Scenario::new(3);
    let alice = s.user(store, "alice").await;
    let mut members = Vec::new();
    for name in ["bob", "carol", "dave", "erin"] {
        members.push(s.user(store, name).await);
    }
    s.deposit(store, alice, 100_000).await;
    let group = s.group(store, alice, &members).await;
    let first = s.send(store, alice, PacketSpec::Lucky { group_id: group, count: 4, total: Fen::new(1_000) }, 0).await;
    let second = s.send(store, alice, PacketSpec::Lucky { group_id: group, count: 4, total: Fen::new(400) }, 0).await;
    let mut first_claims = Vec::new();
    for &member in &members[..3] {
        first_claims.push(s.claim(store, member, first).await);
    }
    let other = s.claim(store, members[3], second).await;

    let claim = |id: ClaimId| s.world.claim(id).ok().flatten().cloned().expect("the claim exists");
    let mut expected: Vec<Fact> =
        first_claims.iter().map(|&id| claim(id)).map(|c| Fact::ClaimOf(first, c.user_id, Some(c))).collect();
    expected.push(Fact::ClaimOf(first, members[3], None));
    expected.push(Fact::ClaimOf(second, members[0], None));
    expected.push(Fact::ClaimOf(second, members[3], Some(claim(other))));
    expected.push(Fact::ClaimsOf(first, first_claims.iter().map(|&id| claim(id)).collect()));
    expected.push(Fact::ClaimsOf(second, vec![claim(other)]));
    let mut tx = bounded("read", store.read()).await.expect("a read begins");
    assert_loads(tx.as_mut(), &expected).await;

    // The claims come with their shares in order of claiming.
    let loaded = bounded("load", tx.load(&[Key::ClaimsOf(first)])).await.expect("load");
    let [Fact::ClaimsOf(_, claims)] = loaded.as_slice() else { panic!("one ClaimsOf fact, got {loaded:?}") };
    let mut seqs: Vec<u32> = claims.iter().map(|c| c.seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, vec![0, 1, 2]);
}

/// Loads in one read transaction see the state at its first load, not later commits.
pub async fn a_read_transaction_sees_one_snapshot(store: &dyn Store) {
    let mut s = Scenario::new(4);
    let alice = s.user(store, "alice").await;
    let before = s.world.user(alice).ok().flatten().cloned();
    let mut snapshot = bounded("read", store.read()).await.expect("a read begins");
    assert_loads(snapshot.as_mut(), &[Fact::User(alice, before.clone())]).await;

    s.step(store, lock(alice)).await;
    let bob = s.user(store, "bob").await;
    assert_loads(snapshot.as_mut(), &[Fact::User(alice, before), Fact::User(bob, None)]).await;
    drop(snapshot);

    let after = s.world.user(alice).ok().flatten().cloned();
    assert_eq!(after.as_ref().map(|u| u.status), Some(UserStatus::Locked));
    assert_store_holds_world(store, &s.world).await;
}

/// Idempotency records come back byte for byte, found by principal and key together.
pub async fn idempotency_records_round_trip_keyed_by_principal_and_key(store: &dyn Store) {
    let a1 = record("key_alice", "k1", T0);
    let b1 = record("key_bob", "k1", T0.plus_millis(1));
    let a2 = record("key_alice", "k2", T0.plus_millis(2));
    commit_records(store, vec![a1.clone(), b1.clone()]).await;
    commit_records(store, vec![a2.clone()]).await;

    let mut tx = bounded("write", store.write()).await.expect("a write begins");
    let ask = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs.iter().map(|(p, k)| ((*p).to_owned(), (*k).to_owned())).collect()
    };
    let keys =
        ask(&[("key_alice", "k1"), ("key_bob", "k1"), ("key_alice", "k3"), ("key_carol", "k2"), ("key_bob", "k2")]);
    let found = bounded("idempotency", tx.idempotency(&keys)).await.expect("the lookup succeeds");
    assert_eq!(sorted(found), sorted(vec![a1.clone(), b1.clone()]));
    let found = bounded("idempotency", tx.idempotency(&ask(&[("key_alice", "k2")]))).await.expect("lookup");
    assert_eq!(found, vec![a2.clone()]);
    let found = bounded("idempotency", tx.idempotency(&[])).await.expect("lookup");
    assert!(found.is_empty());
    drop(tx);

    // A read snapshot finds the same (the engine decides from one while a batch commits).
    let mut snapshot = bounded("read", store.read()).await.expect("a read begins");
    let found = bounded("idempotency", snapshot.idempotency(&keys)).await.expect("the lookup succeeds");
    assert_eq!(sorted(found), sorted(vec![a1.clone(), b1.clone()]));
    let found = bounded("idempotency", snapshot.idempotency(&ask(&[("key_alice", "k2")]))).await.expect("lookup");
    assert_eq!(found, vec![a2.clone()]);
    drop(snapshot);

    assert_eq!(sorted(dump(store).await.idempotency), sorted(vec![a1, b1, a2]));
}

/// The approvals inbox: forced transfers of one status (or all), newest proposed first, within
/// the limit, exactly as the world holds them.
pub async fn seizures_are_listed_by_status_newest_first(store: &dyn Store) {
    use hongbao_core::seizure::SeizureStatus;
    let mut s = Scenario::new(12);
    let cast = full_scenario(store, &mut s, false).await;
    let all = bounded("seizures", store.seizures(None, 10)).await.expect("list");
    let ids: Vec<_> = all.iter().map(|x| x.id).collect();
    assert_eq!(ids, vec![cast.rejected_seizure, cast.executed_seizure], "newest first");
    assert_eq!(all[0], s.world.seizure(cast.rejected_seizure).ok().flatten().cloned().expect("stored"));
    let executed = bounded("seizures", store.seizures(Some(SeizureStatus::Executed), 10)).await.expect("list");
    assert_eq!(executed.iter().map(|x| x.id).collect::<Vec<_>>(), vec![cast.executed_seizure]);
    let awaiting = bounded("seizures", store.seizures(Some(SeizureStatus::AwaitingApproval), 10)).await.expect("list");
    assert!(awaiting.is_empty());
    assert_eq!(bounded("seizures", store.seizures(None, 1)).await.expect("list").len(), 1, "the limit holds");
}

/// Reports on a subject and the cases queue, newest first, within the limit, exactly as the
/// world holds them.
pub async fn reports_and_cases_are_listed_newest_first(store: &dyn Store) {
    use hongbao_core::case::{CaseKind, CaseStatus};
    let mut s = Scenario::new(13);
    let cast = full_scenario(store, &mut s, false).await;
    let reports = bounded("reports", store.reports_on(cast.carol, 10)).await.expect("list");
    let mut newest_first = cast.reports.clone();
    newest_first.reverse();
    assert_eq!(reports.iter().map(|r| r.id).collect::<Vec<_>>(), newest_first);
    assert_eq!(reports[0], s.world.report(newest_first[0]).ok().flatten().cloned().expect("stored"));
    assert!(bounded("reports", store.reports_on(cast.bob, 10)).await.expect("list").is_empty());
    assert_eq!(bounded("reports", store.reports_on(cast.carol, 2)).await.expect("list").len(), 2, "the limit");
    let open = bounded("cases", store.cases(Some(CaseStatus::Open), Some(CaseKind::Fraud), 10)).await.expect("list");
    assert_eq!(open, vec![s.world.case(cast.fraud_case).ok().flatten().cloned().expect("stored")]);
    assert_eq!(open[0].timeline.len(), 3, "opened, its freeze, a note");
    assert!(bounded("cases", store.cases(Some(CaseStatus::Closed), None, 10)).await.expect("list").is_empty());
    assert!(bounded("cases", store.cases(None, Some(CaseKind::Anomaly), 10)).await.expect("list").is_empty());
    assert_eq!(bounded("cases", store.cases(None, None, 10)).await.expect("list").len(), 1);

    // What cites an evidence file: a report (by its JSON body), a registered document.
    let in_reports = hongbao_core::EvidenceId::from_uuid(uuid::Uuid::from_u128(0xe1));
    assert!(bounded("cited", store.evidence_cited(in_reports)).await.expect("look"));
    let in_documents = s.world.documents().find_map(|d| d.evidence_id).expect("a document cites a scan");
    assert!(bounded("cited", store.evidence_cited(in_documents)).await.expect("look"));
    let nowhere = hongbao_core::EvidenceId::from_uuid(uuid::Uuid::from_u128(0xe2));
    assert!(!bounded("cited", store.evidence_cited(nowhere)).await.expect("look"));

    // A wallet's receipts since a time (the fan-in rule): claims and transfers in, originals only.
    let mut expected = Vec::new();
    for user in [cast.alice, cast.bob, cast.carol, cast.dave] {
        for since in [hongbao_core::Timestamp::from_millis(0), s.now.plus_millis(-3_600_000), s.now] {
            let found = s.world.receipts_since(user, since).expect("complete").into_iter().cloned().collect();
            expected.push(Fact::ReceiptsSince(user, since, found));
        }
    }
    assert!(
        expected.iter().any(|f| matches!(f, Fact::ReceiptsSince(_, _, found) if found.len() > 1)),
        "the scenario has wallets with receipts"
    );
    let mut tx = bounded("read", store.read()).await.expect("a read begins");
    assert_loads(tx.as_mut(), &expected).await;
}

/// Freezes across users, of one status and kind (or any), newest placed first, within the
/// limit, exactly as the world holds them.
pub async fn freezes_are_listed_by_status_and_kind_newest_first(store: &dyn Store) {
    use hongbao_core::freeze::FreezeStatus;
    use hongbao_core::risk::FreezeKind;
    let mut s = Scenario::new(13);
    let cast = full_scenario(store, &mut s, false).await;
    let all = bounded("freezes", store.freezes(None, None, 10)).await.expect("list");
    let mut expected: Vec<_> = s.world.freezes().cloned().collect();
    expected.sort_by_key(|f| std::cmp::Reverse((f.created_at, f.id)));
    assert_eq!(all, expected, "every freeze, newest first");
    let police = bounded("freezes", store.freezes(Some(FreezeStatus::Active), Some(FreezeKind::Police), 10)).await;
    assert_eq!(police.expect("list").iter().map(|f| f.id).collect::<Vec<_>>(), vec![cast.police_freeze]);
    let released = bounded("freezes", store.freezes(Some(FreezeStatus::Released), None, 10)).await.expect("list");
    assert!(released.is_empty(), "bob's was released in part only");
    assert_eq!(bounded("freezes", store.freezes(None, None, 1)).await.expect("list").len(), 1, "the limit holds");
}

/// A user's return requests by role, newest first, paged by `before` without gaps or repeats,
/// within the limit, exactly as the world holds them; nobody else's.
pub async fn return_requests_are_listed_by_role_newest_first(store: &dyn Store) {
    use hongbao_core::returns::ReturnRole;
    let mut s = Scenario::new(14);
    let cast = full_scenario(store, &mut s, false).await;
    let [accepted, declined, open] = cast.return_requests;
    let list =
        |user, role, before, limit| bounded("return requests", store.return_requests_of(user, role, before, limit));
    let ids = |found: Vec<hongbao_core::returns::ReturnRequest>| found.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let as_payer = list(cast.alice, Some(ReturnRole::Payer), None, 10).await.expect("list");
    assert_eq!(as_payer[0], s.world.return_request(open).ok().flatten().cloned().expect("stored"));
    assert_eq!(ids(as_payer), vec![open, declined, accepted], "newest first");
    assert_eq!(
        ids(list(cast.dave, Some(ReturnRole::Payee), None, 10).await.expect("list")),
        vec![open, declined, accepted]
    );
    assert_eq!(ids(list(cast.bob, Some(ReturnRole::Mediator), None, 10).await.expect("list")), vec![open, accepted]);
    assert!(list(cast.alice, Some(ReturnRole::Payee), None, 10).await.expect("list").is_empty(), "a role she is not");
    assert!(list(cast.carol, Some(ReturnRole::Mediator), None, 10).await.expect("list").is_empty(), "an outsider");
    assert_eq!(ids(list(cast.bob, None, None, 10).await.expect("list")), vec![open, accepted], "any role");
    assert_eq!(ids(list(cast.dave, None, None, 10).await.expect("list")), vec![open, declined, accepted]);
    let first = ids(list(cast.alice, Some(ReturnRole::Payer), None, 2).await.expect("list"));
    assert_eq!(first, vec![open, declined], "the limit");
    let rest = ids(list(cast.alice, Some(ReturnRole::Payer), Some(declined), 2).await.expect("list"));
    assert_eq!(rest, vec![accepted], "the next page starts after the cursor");
    assert!(list(cast.alice, Some(ReturnRole::Payer), Some(accepted), 2).await.expect("list").is_empty());
}
