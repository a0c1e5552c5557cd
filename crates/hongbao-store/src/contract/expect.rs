//! What a store must answer, worked out from the world, and the assertions and small store calls
//! every case shares.

use hongbao_core::due::{self, DueItem};
use hongbao_core::event::Event;
use hongbao_core::{Fact, Key, Timestamp, UserId, World};

use super::scenario::bounded;
use crate::{CheckpointRow, Dump, IdempotencyRecord, LogRow, ReadTx, Store};

/// The key a fact answers.
pub fn fact_key(fact: &Fact) -> Key {
    match fact {
        Fact::User(id, _) => Key::User(*id),
        Fact::Account(id, _) => Key::Account(*id),
        Fact::Group(id, _) => Key::Group(*id),
        Fact::Packet(id, _) => Key::Packet(*id),
        Fact::Claim(id, _) => Key::Claim(*id),
        Fact::ClaimOf(packet, user, _) => Key::ClaimOf(*packet, *user),
        Fact::ClaimsOf(packet, _) => Key::ClaimsOf(*packet),
        Fact::Pending(id, _) => Key::Pending(*id),
        Fact::Transfer(id, _) => Key::Transfer(*id),
        Fact::Principal(id, _) => Key::Principal(*id),
        Fact::Document(id, _) => Key::Document(*id),
        Fact::Freeze(id, _) => Key::Freeze(*id),
        Fact::FreezesOf(user, _) => Key::FreezesOf(*user),
        Fact::Seizure(id, _) => Key::Seizure(*id),
        Fact::SeizuresOf(freeze, _) => Key::SeizuresOf(*freeze),
        Fact::Report(id, _) => Key::Report(*id),
        Fact::OpenReportsOn(user, _) => Key::OpenReportsOn(*user),
        Fact::Case(id, _) => Key::Case(*id),
        Fact::OpenCase(user, kind, _) => Key::OpenCase(*user, *kind),
        Fact::SharesGroup(a, b, _) => Key::SharesGroup(*a, *b),
        Fact::ReceiptsSince(user, since, _) => Key::ReceiptsSince(*user, *since),
        Fact::ReturnRequest(id, _) => Key::ReturnRequest(*id),
        Fact::ReturnsOf(target, _) => Key::ReturnsOf(*target),
    }
}

/// The claims of a packet may come in any order; compare them by share.
pub(super) fn normalised(mut fact: Fact) -> Fact {
    if let Fact::ClaimsOf(_, claims) = &mut fact {
        claims.sort_by_key(|c| c.seq);
    }
    if let Fact::SeizuresOf(_, seizures) = &mut fact {
        seizures.sort_by_key(|s| s.id);
    }
    if let Fact::OpenReportsOn(_, reports) = &mut fact {
        reports.sort_by_key(|r| r.id);
    }
    if let Fact::ReturnsOf(_, requests) = &mut fact {
        requests.sort_by_key(|r| r.id);
    }
    fact
}

/// What the store must answer for every entity of `world`, and for every packet's claims.
pub fn facts_of(world: &World) -> Vec<Fact> {
    let mut facts = Vec::new();
    facts.extend(world.users().map(|u| Fact::User(u.id, Some(u.clone()))));
    facts.extend(world.accounts().map(|a| Fact::Account(a.id, Some(a.clone()))));
    facts.extend(world.groups().map(|g| Fact::Group(g.id, Some(g.clone()))));
    facts.extend(world.packets().map(|p| Fact::Packet(p.id, Some(p.clone()))));
    facts.extend(world.claims().map(|c| Fact::Claim(c.id, Some(c.clone()))));
    facts.extend(world.claims().map(|c| Fact::ClaimOf(c.packet_id, c.user_id, Some(c.clone()))));
    for packet in world.packets() {
        let claims = world.claims_of(packet.id).expect("a complete world knows every packet's claims");
        facts.push(normalised(Fact::ClaimsOf(packet.id, claims.into_iter().cloned().collect())));
    }
    facts.extend(world.pendings().map(|p| Fact::Pending(p.transfer.id, Some(p.clone()))));
    facts.extend(world.transfers().map(|t| Fact::Transfer(t.id, Some(t.clone()))));
    facts.extend(world.principals().map(|p| Fact::Principal(p.key_id, Some(p.clone()))));
    facts.extend(world.documents().map(|d| Fact::Document(d.id, Some(d.clone()))));
    facts.extend(world.freezes().map(|f| Fact::Freeze(f.id, Some(f.clone()))));
    facts.extend(world.seizures().map(|s| Fact::Seizure(s.id, Some(s.clone()))));
    for freeze in world.freezes() {
        let mut seizures: Vec<_> = world.seizures_of(freeze.id).expect("complete").into_iter().cloned().collect();
        seizures.sort_by_key(|s| s.id);
        facts.push(Fact::SeizuresOf(freeze.id, seizures));
    }
    facts.extend(world.reports().map(|r| Fact::Report(r.id, Some(r.clone()))));
    facts.extend(world.cases().map(|c| Fact::Case(c.id, Some(c.clone()))));
    facts.extend(world.return_requests().map(|r| Fact::ReturnRequest(r.id, Some(r.clone()))));
    let targets: std::collections::BTreeSet<_> = world.return_requests().map(|r| r.target.uuid()).collect();
    for target in targets {
        let target = world.return_requests().find(|r| r.target.uuid() == target).expect("found").target;
        let mut requests: Vec<_> = world.returns_of(target).expect("complete").into_iter().cloned().collect();
        requests.sort_by_key(|r| r.id);
        facts.push(Fact::ReturnsOf(target, requests));
    }
    // Every pair of the first dozen users (a store answers each pair with a query of its own:
    // a thousand users would be a million).
    let mut few: Vec<UserId> = world.users().map(|u| u.id).collect();
    few.sort_unstable();
    few.truncate(12);
    for &a in &few {
        for &b in &few {
            facts.push(Fact::SharesGroup(a, b, world.shares_group(a, b).expect("complete")));
        }
    }
    for user in world.users() {
        let reports = world.open_reports_on(user.id).expect("complete").into_iter().cloned().collect();
        facts.push(Fact::OpenReportsOn(user.id, reports));
        for kind in hongbao_core::case::CaseKind::ALL {
            let open = world.open_case(user.id, kind).expect("complete").cloned();
            facts.push(Fact::OpenCase(user.id, kind, open));
        }
    }
    for user in world.users() {
        let freezes = world.freezes_of(user.id).expect("a complete world knows every user's freezes");
        facts.push(Fact::FreezesOf(user.id, freezes.into_iter().cloned().collect()));
    }
    facts
}

/// Loads the key of every expected fact through `tx` and asserts the answers equal them: one
/// answer per key, in any order.
pub async fn assert_loads(tx: &mut dyn ReadTx, expected: &[Fact]) {
    let keys: Vec<Key> = expected.iter().map(fact_key).collect();
    let loaded = bounded("load", tx.load(&keys)).await.expect("loading succeeds");
    assert_eq!(loaded.len(), keys.len(), "one fact per key: asked {keys:?}, got {loaded:?}");
    let mut loaded: Vec<Fact> = loaded.into_iter().map(normalised).collect();
    for fact in expected {
        let fact = normalised(fact.clone());
        match loaded.iter().position(|f| *f == fact) {
            Some(at) => {
                loaded.swap_remove(at);
            }
            None => {
                let key = fact_key(&fact);
                let answered: Vec<&Fact> = loaded.iter().filter(|f| fact_key(f) == key).collect();
                panic!("for {key:?} the store answered {answered:#?}\nbut the world has {fact:#?}");
            }
        }
    }
}

/// Asserts that a read snapshot of the store holds exactly the world's entities.
pub async fn assert_store_holds_world(store: &dyn Store, world: &World) {
    let mut tx = bounded("read", store.read()).await.expect("a read transaction begins");
    assert_loads(tx.as_mut(), &facts_of(world)).await;
    drop(tx);
    let scheduled = dump(store).await.deadlines;
    assert_eq!(scheduled, due::implied(world), "the schedule of due work is what the world implies");
}

/// A dump in a comparable form: facts and records sorted by their debug text, the rest in the
/// order stored.
#[derive(Debug, PartialEq)]
pub(super) struct Comparable {
    facts: Vec<String>,
    records: Vec<String>,
    events: Vec<Event>,
    log: Vec<LogRow>,
    checkpoints: Vec<CheckpointRow>,
    deadlines: Vec<DueItem>,
}

pub(super) fn comparable(dump: &Dump) -> Comparable {
    let mut facts: Vec<String> = dump.facts.iter().map(|f| format!("{f:?}")).collect();
    facts.sort();
    let mut records: Vec<String> = dump.idempotency.iter().map(|r| format!("{r:?}")).collect();
    records.sort();
    Comparable {
        facts,
        records,
        events: dump.events.clone(),
        log: dump.log.clone(),
        checkpoints: dump.checkpoints.clone(),
        deadlines: dump.deadlines.clone(),
    }
}

pub(super) async fn log_size(store: &dyn Store) -> u64 {
    let mut tx = bounded("write", store.write()).await.expect("a write begins");
    bounded("log_size", tx.log_size()).await.expect("log_size succeeds")
}

pub(super) async fn latest_checkpoint(store: &dyn Store) -> Option<CheckpointRow> {
    bounded("latest_checkpoint", store.latest_checkpoint()).await.expect("latest_checkpoint succeeds")
}

pub(super) async fn has_operator(store: &dyn Store) -> bool {
    bounded("has_operator", store.has_operator()).await.expect("has_operator succeeds")
}

pub(super) async fn dump(store: &dyn Store) -> Dump {
    bounded("dump", store.dump()).await.expect("the dump succeeds")
}

pub(super) fn record(principal: &str, key: &str, created_at: Timestamp) -> IdempotencyRecord {
    // Distinct per record, and with 0x00 and 0xff bytes, which a text column would mangle.
    let seed = principal.bytes().chain(key.bytes()).fold(7u8, |h, b| h.wrapping_mul(31).wrapping_add(b));
    let mut fingerprint = [0u8; 32];
    let mut next = seed;
    for byte in &mut fingerprint {
        next = next.wrapping_mul(37).wrapping_add(11);
        *byte = next;
    }
    fingerprint[0] = 0;
    fingerprint[31] = 0xff;
    IdempotencyRecord {
        principal: principal.to_owned(),
        key: key.to_owned(),
        fingerprint,
        outcome: format!(r#"{{"reply":"moved","key":"{key}","note":"红包 🧧"}}"#),
        created_at,
    }
}

pub(super) fn sorted(mut records: Vec<IdempotencyRecord>) -> Vec<IdempotencyRecord> {
    records.sort_by(|a, b| (&a.principal, &a.key).cmp(&(&b.principal, &b.key)));
    records
}
