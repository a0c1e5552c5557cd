//! Cases about the state several nodes share: nonces, the development clock, the log's key and
//! sealed secrets.

use hongbao_core::ops::Command;
use hongbao_core::{Fact, Key, KeyId};

use super::scenario::{Scenario, T0, bounded, commit, refused};
use crate::{Commit, NonceRecord, Store};

/// Unix seconds of [`T0`], for the nonce records.
const T0_S: i64 = T0.millis() / 1_000;

async fn remember(store: &dyn Store, key: KeyId, digest: [u8; 16], expires_at_s: i64, now_s: i64) -> bool {
    bounded("remember_nonce", store.remember_nonce(key, digest, expires_at_s, now_s))
        .await
        .expect("remember_nonce succeeds")
}

/// A nonce digest whose bytes include 0x00 and 0xff, which a text column would mangle.
fn digest(seed: u8) -> [u8; 16] {
    let mut digest = [0u8; 16];
    for (i, byte) in (0u8..).zip(digest.iter_mut()) {
        *byte = seed.wrapping_mul(29).wrapping_add(i.wrapping_mul(17));
    }
    digest[0] = 0;
    digest[15] = 0xff;
    digest
}

/// A nonce is accepted once and refused while its record lives (`now < expires_at`); records are
/// kept per key, so another key may use the same nonce; once expired, the nonce is accepted again
/// and remembered with its new expiry.
pub async fn a_nonce_is_accepted_once_per_key_and_refused_again_until_it_expires(store: &dyn Store) {
    let mut s = Scenario::new(40);
    let (alice, bob) = (KeyId::from_uuid(s.mint_uuid()), KeyId::from_uuid(s.mint_uuid()));
    let (nonce, other) = (digest(1), digest(2));
    let (now, expires) = (T0_S, T0_S + 300);

    assert!(remember(store, alice, nonce, expires, now).await, "a new nonce is accepted");
    assert!(!remember(store, alice, nonce, expires, now).await, "the same nonce again is a replay");
    assert!(!remember(store, alice, nonce, expires + 300, expires - 1).await, "a replay up to its last second");
    assert!(remember(store, bob, nonce, expires, now).await, "another key may use the same nonce");
    assert!(remember(store, alice, other, expires, now).await, "the same key may use another nonce");
    assert!(!remember(store, bob, nonce, expires, now + 1).await, "bob's record is his own");

    let renewed = expires + 600;
    assert!(remember(store, alice, nonce, renewed, expires).await, "an expired nonce is accepted again");
    assert!(!remember(store, alice, nonce, renewed, expires).await, "and remembered again");
    assert!(!remember(store, alice, nonce, renewed, renewed - 1).await, "until its new expiry");
    assert!(remember(store, alice, nonce, renewed + 300, renewed).await);
    assert!(!remember(store, alice, other, expires, expires - 1).await, "the other nonce is still remembered");
}

/// Several nonces remembered at once answer, in their order, what each would have answered
/// alone: new ones are fresh, a live record and a repeat within the same call are replays, an
/// expired record is renewed; covered or not, they are the same records.
pub async fn nonces_remembered_together_answer_each_as_if_remembered_alone(store: &dyn Store) {
    let mut s = Scenario::new(42);
    let (alice, bob) = (KeyId::from_uuid(s.mint_uuid()), KeyId::from_uuid(s.mint_uuid()));
    let (now, expires) = (T0_S, T0_S + 300);
    assert!(remember(store, alice, digest(10), expires, now).await, "a live record");
    assert!(remember(store, alice, digest(11), now - 1, now - 301).await, "a record expired by `now`");
    let record = |key, seed| NonceRecord { key, digest: digest(seed), expires_at_s: expires };
    let asks =
        [record(alice, 12), record(alice, 10), record(bob, 10), record(alice, 11), record(alice, 12), record(bob, 13)];
    for covered in [false, true] {
        let asks: Vec<NonceRecord> =
            asks.iter().map(|a| NonceRecord { expires_at_s: a.expires_at_s + i64::from(covered), ..*a }).collect();
        let answered = bounded("remember_nonces", store.remember_nonces(&asks, now, covered)).await;
        let fresh = answered.expect("remember_nonces succeeds");
        let expected = if covered {
            // Every one of them is now recorded and live.
            vec![false; asks.len()]
        } else {
            vec![true, false, true, true, false, true]
        };
        assert_eq!(fresh, expected, "covered: {covered}");
    }
    assert!(!remember(store, bob, digest(13), expires, now + 1).await, "a record made together refuses a replay alone");
    assert!(
        bounded("remember_nonces", store.remember_nonces(&[], now, false)).await.expect("nothing to do").is_empty()
    );
}

async fn remember_covered(store: &dyn Store, key: KeyId, digest: [u8; 16], expires_at_s: i64, now_s: i64) -> bool {
    bounded("remember_nonce_covered", store.remember_nonce_covered(key, digest, expires_at_s, now_s))
        .await
        .expect("remember_nonce_covered succeeds")
}

/// A nonce remembered for a covered request (a read, or a request with an idempotency key) is
/// the same record as one remembered plainly: each refuses the other's replay, and both expire
/// alike.
pub async fn a_covered_nonce_is_one_record_with_the_nonces_remembered_plainly(store: &dyn Store) {
    let mut s = Scenario::new(41);
    let key = KeyId::from_uuid(s.mint_uuid());
    let (covered, plain) = (digest(3), digest(4));
    let (now, expires) = (T0_S, T0_S + 300);

    assert!(remember_covered(store, key, covered, expires, now).await, "a new nonce is accepted");
    assert!(!remember_covered(store, key, covered, expires, now).await, "its replay is refused");
    assert!(!remember(store, key, covered, expires, now + 1).await, "and refused when remembered plainly");
    assert!(remember(store, key, plain, expires, now).await);
    assert!(!remember_covered(store, key, plain, expires, now + 1).await, "a plain record refuses a covered replay");
    assert!(remember_covered(store, key, covered, expires + 300, expires).await, "an expired nonce is accepted again");
}

async fn forget(store: &dyn Store, before_s: i64, limit: u32) -> u64 {
    bounded("forget_nonces", store.forget_nonces(before_s, limit)).await.expect("forget_nonces succeeds")
}

/// Forgetting deletes records that expired strictly before the bound, at most `limit` per call,
/// and keeps the rest: their nonces are still refused.
pub async fn forget_nonces_deletes_only_records_expired_before_the_bound_up_to_the_limit(store: &dyn Store) {
    let mut s = Scenario::new(41);
    let key = KeyId::from_uuid(s.mint_uuid());
    let expiry = |i: u8| T0_S + 10 * i64::from(i);
    for i in 0..5 {
        assert!(remember(store, key, digest(i), expiry(i), T0_S - 1).await);
    }
    assert_eq!(forget(store, expiry(0), 10).await, 0, "nothing expired before the first expiry");
    let bound = expiry(3);
    assert_eq!(forget(store, bound, 2).await, 2, "at most the limit");
    assert_eq!(forget(store, bound, 10).await, 1, "the one expired record left");
    assert_eq!(forget(store, bound, 10).await, 0, "nothing expired is left");
    assert_eq!(forget(store, i64::MAX, 0).await, 0, "limit 0 deletes nothing");
    for i in [3, 4] {
        assert!(!remember(store, key, digest(i), expiry(i), bound - 1).await, "record {i} at or after the bound stays");
    }
    assert_eq!(forget(store, i64::MAX, 10).await, 2, "every record expires before the end of time");
    // Now forgotten, nonce 4 is new again even before its old expiry.
    assert!(remember(store, key, digest(4), expiry(4), bound - 1).await, "a forgotten record is gone");
}

async fn dev_clock_offset(store: &dyn Store) -> i64 {
    bounded("dev_clock_offset", store.dev_clock_offset()).await.expect("dev_clock_offset succeeds")
}

/// The development clock's offset starts at 0 and moves forward by what it is asked; a move
/// backwards, or past the largest offset, is refused and changes nothing.
pub async fn the_dev_clock_offset_starts_at_zero_and_only_moves_forward(store: &dyn Store) {
    assert_eq!(dev_clock_offset(store).await, 0, "a new store's clock is real time");
    let advance = |by_ms| async move { bounded("advance_dev_clock", store.advance_dev_clock(by_ms)).await };
    assert_eq!(advance(0).await.expect("a move by nothing"), 0);
    assert_eq!(advance(1_500).await.expect("a move forward"), 1_500);
    assert_eq!(dev_clock_offset(store).await, 1_500);
    assert!(advance(-1).await.is_err(), "the clock never goes back");
    assert_eq!(dev_clock_offset(store).await, 1_500, "a refused move changes nothing");
    assert_eq!(advance(86_400_000).await.expect("a day forward"), 86_401_500, "moves add up");
    assert!(advance(i64::MAX).await.is_err(), "an offset past i64::MAX is refused");
    assert!(advance(i64::MIN).await.is_err());
    assert_eq!(dev_clock_offset(store).await, 86_401_500, "refused moves change nothing");
}

/// The first key proposed is stored and every later call answers it, whatever it proposes.
pub async fn log_key_keeps_the_first_value_proposed(store: &dyn Store) {
    let log_key = |proposed: &'static str| async move {
        bounded("log_key", store.log_key(proposed)).await.expect("log_key succeeds")
    };
    let first = "hongbao.example/log+5d9f2a1c+AXk2bGF0aW9uIGtleSDnuqLljIUgZm9yIHRlc3Rz/+==";
    let second = "hongbao.example/log+0badc0de+AW5vdCB0aGUgZmlyc3Qga2V5";
    assert_eq!(log_key(first).await, first, "the first key proposed is stored");
    assert_eq!(log_key(second).await, first, "a later proposal gets the stored key");
    assert_eq!(log_key(first).await, first);
    assert_eq!(log_key(second).await, first);
}

/// The nonces of a commit are stored in its transaction: once it lands each is refused as a
/// replay, a nonce given twice (in one commit or two) keeps its later expiry, and a commit that is
/// refused stores none of its nonces.
pub async fn nonces_of_a_commit_are_stored_with_its_changes_and_only_with_them(store: &dyn Store) {
    let mut s = Scenario::new(43);
    let key = KeyId::from_uuid(s.mint_uuid());
    let (now, expires) = (T0_S, T0_S + 300);
    let record = |seed, expires_at_s| NonceRecord { key, digest: digest(seed), expires_at_s };
    s.run(Command::CreateUser { name: "noncer".to_owned() });
    let changes = s.take_changes();
    let mut batch = s.batch(changes, Vec::new());
    batch.nonces = vec![record(20, expires), record(21, expires), record(20, expires + 60)];
    s.save(store, batch.clone()).await;
    assert!(!remember(store, key, digest(20), expires, now).await, "a committed nonce is a replay");
    assert!(!remember(store, key, digest(21), expires, now).await);
    assert!(!remember(store, key, digest(20), expires, expires + 59).await, "the later of two expiries is kept");
    assert!(remember(store, key, digest(20), expires + 600, expires + 60).await, "and it expires then");

    // The same user inserted again is refused, and the nonces that came with it are not stored.
    let mut again = batch;
    again.log.clear();
    again.nonces = vec![record(22, expires)];
    assert!(refused(store, again).await, "a batch inserting an existing user is refused");
    assert!(remember(store, key, digest(22), expires, now).await, "a refused batch stores no nonce");

    // A nonce already stored is renewed by a commit, to the later expiry.
    commit(store, Commit { nonces: vec![record(21, expires + 900)], ..Commit::default() }).await;
    assert!(!remember(store, key, digest(21), expires, expires + 899).await, "renewed by the second commit");
    commit(store, Commit { nonces: vec![record(21, now + 1)], ..Commit::default() }).await;
    assert!(!remember(store, key, digest(21), expires, expires + 899).await, "an earlier expiry does not shorten it");
}

async fn live_nonces(store: &dyn Store, now_s: i64, limit: u32) -> Vec<NonceRecord> {
    bounded("live_nonces", store.live_nonces(now_s, limit)).await.expect("live_nonces succeeds")
}

/// `live_nonces` answers the records that live at `now` (`now < expires_at`), soonest to expire
/// first, at most `limit`, whether they were remembered alone or with a commit.
pub async fn live_nonces_are_the_unexpired_records_soonest_first_up_to_the_limit(store: &dyn Store) {
    let mut s = Scenario::new(44);
    let (alice, bob) = (KeyId::from_uuid(s.mint_uuid()), KeyId::from_uuid(s.mint_uuid()));
    assert!(live_nonces(store, T0_S, 10).await.is_empty(), "a new store has none");
    let expiry = |i: u8| T0_S + 10 * i64::from(i);
    for i in [3, 1, 4] {
        assert!(remember(store, alice, digest(i), expiry(i), T0_S - 1).await);
    }
    let committed = [
        NonceRecord { key: bob, digest: digest(2), expires_at_s: expiry(2) },
        NonceRecord { key: bob, digest: digest(5), expires_at_s: expiry(5) },
    ];
    commit(store, Commit { nonces: committed.to_vec(), ..Commit::default() }).await;
    let all = live_nonces(store, T0_S, 10).await;
    let order: Vec<i64> = all.iter().map(|n| n.expires_at_s).collect();
    assert_eq!(order, [1, 2, 3, 4, 5].map(expiry), "soonest to expire first");
    assert_eq!(all[1], committed[0], "a committed record as it was given");
    assert_eq!(all[0], NonceRecord { key: alice, digest: digest(1), expires_at_s: expiry(1) });
    assert_eq!(live_nonces(store, T0_S, 2).await, all[..2], "at most the limit");
    assert_eq!(live_nonces(store, expiry(3), 10).await, all[3..], "a record expiring at `now` is dead");
    assert!(live_nonces(store, expiry(5), 10).await.is_empty());
}

/// The store finds secrets by what they start with, as text, and replaces one only if it is
/// still the value the caller read: two nodes sealing at once cannot undo each other.
pub async fn secrets_are_found_by_prefix_and_replaced_only_where_unchanged(store: &dyn Store) {
    let mut s = Scenario::new(45);
    let users = [s.user(store, "sealed-a").await, s.user(store, "sealed-b").await, s.user(store, "sealed-c").await];
    let keys: Vec<KeyId> = users.iter().map(|&u| s.key_of(u)).collect();
    let stored = |key: KeyId| s.principal(key).secret.expose().to_owned();
    let prefix = "sealed%_.";
    assert_eq!(bounded("secret_starting_with", store.secret_starting_with(prefix)).await.expect("succeeds"), None);
    let mut clear = bounded("secrets", store.secrets_not_starting_with(prefix, 10)).await.expect("succeeds");
    clear.sort();
    let mut expected: Vec<(KeyId, String)> = keys.iter().map(|&k| (k, stored(k))).collect();
    expected.sort();
    assert_eq!(clear, expected, "every secret is in the clear");
    assert_eq!(
        bounded("secrets", store.secrets_not_starting_with(prefix, 2)).await.expect("succeeds").len(),
        2,
        "at most the limit"
    );

    let sealed = |k: KeyId| format!("{prefix}{k}");
    let replaced = vec![
        (keys[0], stored(keys[0]), sealed(keys[0])),
        // Another node sealed this one first: the value read is no longer there.
        (keys[1], "not what is stored".to_owned(), sealed(keys[1])),
    ];
    assert_eq!(bounded("replace_secrets", store.replace_secrets(&replaced)).await.expect("succeeds"), 1);
    assert_eq!(bounded("replace_secrets", store.replace_secrets(&[])).await.expect("nothing to do"), 0);
    let found = bounded("secret_starting_with", store.secret_starting_with(prefix)).await.expect("succeeds");
    assert_eq!(found, Some((keys[0], sealed(keys[0]))));
    let mut clear = bounded("secrets", store.secrets_not_starting_with(prefix, 10)).await.expect("succeeds");
    clear.sort();
    let mut expected: Vec<(KeyId, String)> = keys[1..].iter().map(|&k| (k, stored(k))).collect();
    expected.sort();
    assert_eq!(clear, expected, "the others are left as they were");
    // A key read through a snapshot now carries the replaced value.
    let mut tx = bounded("read", store.read()).await.expect("a read transaction begins");
    let facts = bounded("load", tx.load(&[Key::Principal(keys[0])])).await.expect("load succeeds");
    match facts.as_slice() {
        [Fact::Principal(_, Some(principal))] => assert_eq!(principal.secret.expose(), sealed(keys[0])),
        other => panic!("loading the principal answered {other:?}"),
    }
}

/// An evidence file reads back byte for byte (bytes 0x00 and 0xff included, and a file of the
/// largest size); the same uploader's same file stored again answers the first id; another
/// uploader's copy, or the same bytes as another type, is a file of its own; an id taken is a
/// refused; an unknown id is none.
pub async fn evidence_files_round_trip_exactly_and_the_same_upload_is_one_file(store: &dyn Store) {
    use hongbao_core::EvidenceId;
    use hongbao_core::evidence::{ContentType, EVIDENCE_BYTES_MAX, EvidenceFile};
    use rand::SeedableRng;

    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(11);
    let mut id = || EvidenceId::mint(T0, &mut rng);
    let (alice, bob) = (KeyId::from_uuid(uuid::Uuid::from_u128(1)), KeyId::from_uuid(uuid::Uuid::from_u128(2)));
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend((0..=255u8).cycle().take(70_000));
    let file = |id, uploader, content_type, bytes: &[u8]| {
        EvidenceFile::new(id, uploader, content_type, bytes.to_vec(), T0).expect("a valid file")
    };
    let put = |f: EvidenceFile| async move { bounded("put_evidence", store.put_evidence(&f)).await.map(|(id, _)| id) };
    let get = |id| async move { bounded("evidence", store.evidence(id)).await.expect("evidence reads") };

    let first = file(id(), alice, ContentType::Png, &png);
    assert_eq!(put(first.clone()).await.expect("stored"), first.id);
    assert_eq!(get(first.id).await, Some(first.clone()), "read back exactly");

    let mut again = file(id(), alice, ContentType::Png, &png);
    again.created_at = T0.plus_millis(5_000);
    let stored = bounded("put_evidence", store.put_evidence(&again)).await.expect("stored");
    assert_eq!(stored, (first.id, first.created_at), "the same upload is the first file, with its time");
    assert_eq!(get(again.id).await, None, "and no second row");

    let bobs = file(id(), bob, ContentType::Png, &png);
    assert_eq!(put(bobs.clone()).await.expect("stored"), bobs.id, "another uploader's copy is its own");
    let text = b"%PDF-1.7 but sent as text".to_vec();
    let as_text = file(id(), alice, ContentType::Text, &text);
    let as_pdf = file(id(), alice, ContentType::Pdf, &text);
    assert_eq!(put(as_text.clone()).await.expect("stored"), as_text.id);
    assert_eq!(put(as_pdf.clone()).await.expect("stored"), as_pdf.id, "another type is another file");
    assert_eq!(get(as_pdf.id).await.map(|f| f.content_type), Some(ContentType::Pdf));

    let taken = file(first.id, bob, ContentType::Text, b"other bytes");
    assert!(put(taken).await.is_err(), "an id is never reused");
    assert_eq!(get(first.id).await, Some(first), "the stored file is unchanged");

    let largest = file(id(), bob, ContentType::Text, &vec![b'z'; EVIDENCE_BYTES_MAX]);
    assert_eq!(put(largest.clone()).await.expect("stored"), largest.id);
    assert_eq!(get(largest.id).await.map(|f| f.bytes.len()), Some(EVIDENCE_BYTES_MAX));
    assert_eq!(get(id()).await, None);
}
