//! The transparency log from the outside: the public key and checkpoint anyone can fetch
//! unsigned, the entries and their proofs checked with `hongbao-audit`'s verifiers against
//! nothing but that key, receipts for the parties of a transfer only, and lucky packets whose
//! revealed shares match what they committed to at send.
//!
//! No test waits for the checkpoint job: a receipt and the packet endpoint sign a checkpoint
//! that covers their entries when the latest does not, so a test that needs a fresh checkpoint
//! asks for one of those first.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;
use hongbao_audit::note::{self, Checkpoint, Verifier};
use hongbao_audit::{Hash, ReceiptError, leaf_hash, proof, verify_consistency, verify_inclusion, verify_receipt};
use hongbao_client::wire::ReceiptView as Receipt;
use hongbao_client::{Client, RawRequest, RawResponse, Signing};
use hongbao_core::event::EventKind;
use hongbao_core::fairness::commitment;
use hongbao_core::ledger::TransferKind;
use hongbao_core::log::{LogRecord, decode};
use hongbao_core::{Fen, PacketId, TransferId};
use serde_json::Value;

use crate::support::{
    TestApp, json, keys, lucky, no_options, normal, pair, raw_refused, refused, send, set, spawn_app,
};

const NO_PACKET: &str = "pkt_0190f0a0b0c0d0e0f000000000000000";
const NO_TRANSFER: &str = "trf_0190f0a0b0c0d0e0f000000000000000";
/// Small, so that even a short log spans several pages.
const PAGE: u32 = 4;
/// More pages than any test's log fills: paging that does not end within it is a bug.
const PAGES_MAX: usize = 1_000;
const DAY_S: u32 = 86_400;

/// `GET path` with none of the signing headers, whatever it answers.
async fn public(app: &TestApp, path: &str) -> RawResponse {
    app.root.send(RawRequest::get(path).signing(Signing::Unsigned)).await.expect("an answer")
}

/// `GET path` unsigned, which must be served.
async fn public_ok(app: &TestApp, path: &str) -> RawResponse {
    let answer = public(app, path).await;
    assert_eq!(answer.status, 200, "{path} is public, got: {}", answer.text());
    answer
}

/// `GET path` signed by root, an auditor, which must be served.
async fn audited_ok(app: &TestApp, path: &str) -> RawResponse {
    let answer = app.root.send(RawRequest::get(path)).await.expect("an answer");
    assert_eq!(answer.status, 200, "{path} answers an auditor, got: {}", answer.text());
    answer
}

/// The body of a public `text/plain` answer.
async fn public_text(app: &TestApp, path: &str) -> String {
    let answer = public_ok(app, path).await;
    let content_type = answer.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(content_type.starts_with("text/plain"), "{path} answers text, got {content_type:?}");
    String::from_utf8(answer.body).expect("UTF-8 text")
}

/// The log's verifier key, as anyone would fetch it.
async fn verifier(app: &TestApp) -> Verifier {
    let vkey = public_text(app, "/v1/audit/public-key").await;
    Verifier::parse(vkey.trim_end()).unwrap_or_else(|e| panic!("{vkey:?} is not a verifier key: {e}"))
}

/// The latest signed checkpoint, opened with `verifier`, and its note.
async fn checkpoint(app: &TestApp, verifier: &Verifier) -> (String, Checkpoint) {
    let note = public_text(app, "/v1/audit/checkpoint").await;
    let opened = note::open(&note, verifier).unwrap_or_else(|e| panic!("the checkpoint does not open: {e}\n{note}"));
    (note, opened)
}

fn unbase64(text: &Value) -> Vec<u8> {
    let text = text.as_str().unwrap_or_else(|| panic!("base64 is a string: {text}"));
    STANDARD.decode(text).unwrap_or_else(|e| panic!("{text:?} is not base64: {e}"))
}

fn hashes(proof: &Value) -> Vec<Hash> {
    let list = proof["hashes"].as_array().unwrap_or_else(|| panic!("hashes is a list: {proof}"));
    list.iter().map(|h| unbase64(h).try_into().unwrap_or_else(|_| panic!("a hash is 32 bytes: {h}"))).collect()
}

fn flip_first_bit(hash: &mut Hash) {
    hash[0] ^= 1;
}

/// One entry of the log as the entries endpoint shows it.
#[derive(Debug)]
struct Logged {
    index: u64,
    bytes: Vec<u8>,
    record: LogRecord,
}

/// Checks that `decoded` is what the entry's bytes say, and reads them.
fn read_entry(bytes: &[u8], decoded: &Value) -> LogRecord {
    let as_json: Value = serde_json::from_slice(bytes).expect("an entry is JSON");
    assert_eq!(&as_json, decoded, "`decoded` shows exactly the entry's bytes");
    assert_eq!(as_json["v"], 1, "{as_json}");
    decode(bytes).unwrap_or_else(|e| panic!("{e}: {as_json}")).record
}

/// Every entry of the log as an auditor reads it, paged through `limit` at a time; each page
/// also read unsigned, which shows the same leaf hashes and nothing else.
async fn whole_log(app: &TestApp, limit: u32) -> Vec<Logged> {
    let mut all: Vec<Logged> = Vec::new();
    let mut start = 0;
    for _ in 0..PAGES_MAX {
        let path = format!("/v1/audit/entries?start={start}&limit={limit}");
        let page = json(&audited_ok(app, &path).await);
        let public_page = json(&public_ok(app, &path).await);
        assert_eq!(keys(&page), set(&["entries", "next"]), "{page}");
        assert_eq!(public_page["next"], page["next"]);
        let entries = page["entries"].as_array().expect("entries is a list");
        let public_entries = public_page["entries"].as_array().expect("entries is a list");
        assert_eq!(public_entries.len(), entries.len());
        assert!(entries.len() <= limit as usize, "at most {limit} entries: {page}");
        for (entry, public_entry) in entries.iter().zip(public_entries) {
            assert_eq!(keys(entry), set(&["index", "leaf_hash", "entry", "decoded"]), "{entry}");
            assert_eq!(keys(public_entry), set(&["index", "leaf_hash"]), "{public_entry}");
            assert_eq!(public_entry["index"], entry["index"]);
            assert_eq!(public_entry["leaf_hash"], entry["leaf_hash"]);
            let index = entry["index"].as_u64().expect("an index");
            assert_eq!(index, u64::try_from(all.len()).unwrap(), "entries come in index order, without gaps");
            let bytes = unbase64(&entry["entry"]);
            assert_eq!(unbase64(&entry["leaf_hash"]), leaf_hash(&bytes).to_vec(), "the leaf hash is of the bytes");
            let record = read_entry(&bytes, &entry["decoded"]);
            all.push(Logged { index, bytes, record });
        }
        match &page["next"] {
            Value::Null => return all,
            next => {
                assert_eq!(entries.len(), limit as usize, "only a full page has a next one: {page}");
                start = next.as_u64().unwrap_or_else(|| panic!("next is an index or null: {page}"));
                assert_eq!(start, u64::try_from(all.len()).unwrap(), "next is the index after the page");
            }
        }
    }
    panic!("the log did not end within {PAGES_MAX} pages")
}

/// Checks `receipt` as someone holding only the log's public key would, and that it is the
/// receipt of `transfer`; returns what it proved.
fn check_receipt(receipt: &Receipt, verifier: &Verifier, transfer: TransferId) -> hongbao_audit::Verified {
    let entry = unbase64(&Value::from(receipt.entry.as_str()));
    let verified = verify_receipt(&entry, &receipt.proof, verifier)
        .unwrap_or_else(|e| panic!("the receipt of {transfer} does not verify: {e}\n{}", receipt.proof));
    match read_entry(&entry, &receipt.decoded) {
        LogRecord::Transfer(logged) => assert_eq!(logged.id, transfer, "the receipt is for the transfer asked"),
        other => panic!("a receipt of a transfer holds a transfer, got {other:?}"),
    }
    verified
}

/// The id of `client`'s transfer of `kind` about `packet`, from their history.
async fn transfer_of(client: &Client, kind: TransferKind, packet: PacketId) -> TransferId {
    let history = client.transactions(Some(100), None).send().await.expect("history");
    let found: Vec<TransferId> =
        history.items.iter().filter(|t| t.kind == kind && t.packet_id == Some(packet)).map(|t| t.transfer_id).collect();
    assert_eq!(found.len(), 1, "one {kind:?} of {packet} in {history:?}");
    found[0]
}

/// What `GET /v1/audit/packets/{packet}` answers, every proof checked against `verifier`: the
/// records about the packet in log order.
async fn packet_log(app: &TestApp, verifier: &Verifier, packet: PacketId) -> Vec<LogRecord> {
    let log = json(&audited_ok(app, &format!("/v1/audit/packets/{packet}")).await);
    assert_eq!(keys(&log), set(&["packet_id", "checkpoint", "entries", "complete"]), "{log}");
    assert_eq!(log["packet_id"], packet.to_string());
    assert_eq!(log["complete"], true, "{log}");
    let note = log["checkpoint"].as_str().expect("the checkpoint note");
    let signed = note::open(note, verifier).unwrap_or_else(|e| panic!("the packet's checkpoint does not open: {e}"));
    let entries = log["entries"].as_array().expect("entries");
    let mut records = Vec::new();
    let mut last_index = None;
    for entry in entries {
        assert_eq!(keys(entry), set(&["index", "entry", "decoded", "proof"]), "{entry}");
        let index = entry["index"].as_u64().expect("an index");
        assert!(last_index < Some(index), "entries come in log order: {log}");
        last_index = Some(index);
        let bytes = unbase64(&entry["entry"]);
        let proof_text = entry["proof"].as_str().expect("a proof");
        let verified = verify_receipt(&bytes, proof_text, verifier)
            .unwrap_or_else(|e| panic!("entry {index} of {packet} does not verify: {e}"));
        assert_eq!(verified.index, index);
        assert_eq!(verified.checkpoint, signed, "every proof is against the checkpoint shown");
        let record = read_entry(&bytes, &entry["decoded"]);
        assert_eq!(record.packet_id(), Some(packet), "only entries about the packet: {record:?}");
        records.push(record);
    }
    records
}

fn events(records: &[LogRecord]) -> Vec<&EventKind> {
    records
        .iter()
        .filter_map(|r| match r {
            LogRecord::Event(event) => Some(&event.what),
            LogRecord::Transfer(_) => None,
        })
        .collect()
}

/// The commitment of the packet's `packet_sent` event.
fn committed(records: &[LogRecord]) -> Option<String> {
    let sent: Vec<&Option<String>> = events(records)
        .into_iter()
        .filter_map(|e| match e {
            EventKind::PacketSent { commitment, .. } => Some(commitment),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 1, "one packet_sent: {records:?}");
    sent[0].clone()
}

/// The revealed shares, once the commitment has been checked against them; `None` before the
/// reveal.
fn revealed(records: &[LogRecord]) -> Option<Vec<Fen>> {
    let reveals: Vec<(&hongbao_core::fairness::Salt, &Vec<Fen>)> = events(records)
        .into_iter()
        .filter_map(|e| match e {
            EventKind::LuckySharesRevealed { salt, shares, .. } => Some((salt, shares)),
            _ => None,
        })
        .collect();
    assert!(reveals.len() <= 1, "at most one reveal: {records:?}");
    let (salt, shares) = reveals.first()?;
    let promised = committed(records).expect("a lucky packet commits to its shares");
    assert_eq!(commitment(salt, shares), promised, "the revealed shares are the ones committed to at send");
    Some((*shares).clone())
}

/// The amounts of the packet's `packet_claimed` events, in log order.
fn claimed_amounts(records: &[LogRecord]) -> Vec<Fen> {
    events(records)
        .into_iter()
        .filter_map(|e| match e {
            EventKind::PacketClaimed { amount, .. } => Some(*amount),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_public_key_is_a_go_vkey_named_like_the_checkpoint_origin_and_opens_the_checkpoint_unsigned() {
    let app = spawn_app().await;
    let vkey = public_text(&app, "/v1/audit/public-key").await;
    let vkey = vkey.trim_end();
    // Names hold no '+' but base64 may: the first two are the separators.
    let parts: Vec<&str> = vkey.splitn(3, '+').collect();
    let [name, key_id, key_b64] = parts.as_slice() else { panic!("{vkey:?} is <name>+<key id>+<key>") };
    assert_eq!(key_id.len(), 8, "{vkey}");
    assert!(key_id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{vkey}");
    let typed_key = STANDARD.decode(key_b64).expect("the key is base64");
    assert_eq!((typed_key.len(), typed_key[0]), (33, 1), "an Ed25519 key: 0x01 and 32 bytes");
    let verifier = Verifier::parse(vkey).expect("Verifier::parse accepts it");
    assert_eq!(verifier.to_string(), vkey);
    assert_eq!(verifier.name(), *name);

    let (note, opened) = checkpoint(&app, &verifier).await;
    assert_eq!(opened.origin, verifier.name(), "the key is named after the log");
    assert_eq!(note.lines().next(), Some(*name), "the note's first line is the origin");
    assert!(note.contains(&format!("\n\n\u{2014} {name} ")), "a signature line by the log's key: {note}");

    // The same note does not open with another key under the same name.
    let stranger = Verifier::new(name, SigningKey::from_bytes(&[7; 32]).verifying_key()).unwrap();
    assert!(note::open(&note, &stranger).is_err(), "only the log's key opens its checkpoint");
}

#[tokio::test]
async fn the_entries_page_through_the_whole_log_in_order_with_every_transfer_exactly_once() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 500).await;
    let now = p.alice.transfer(p.bob_id, Fen::new(100), &no_options()).send().await.unwrap().transfer_id;
    let delayed = no_options().arrival_delay_seconds(7_200);
    let later = p.alice.transfer(p.bob_id, Fen::new(50), &delayed).send().await.unwrap().transfer_id;
    let packet = send(&p.alice, &normal(p.group, 2, 10)).await.packet_id;
    p.bob.claim(packet).send().await.unwrap();
    let withdrawn = p.bob.withdraw(Fen::new(5)).send().await.unwrap().transfer_id;

    // Everything either of them saw move, as the API lists it.
    let mut made: Vec<TransferId> = Vec::new();
    for user in [&p.alice, &p.bob] {
        made.extend(user.transactions(Some(100), None).send().await.unwrap().items.iter().map(|t| t.transfer_id));
    }
    made.sort();
    made.dedup();
    for id in [now, later, withdrawn] {
        assert!(made.contains(&id), "{id} is in the history");
    }
    assert_eq!(made.len(), 7, "two deposits, two transfers, a send, a claim, a withdrawal: {made:?}");

    let log = whole_log(&app, PAGE).await;
    assert!(log.len() > 2 * PAGE as usize, "the log spans several pages: {}", log.len());
    for id in &made {
        let times = log.iter().filter(|e| e.record.transfer_id() == Some(*id)).count();
        assert_eq!(times, 1, "transfer {id} is logged exactly once");
    }
    let event_types: Vec<&str> = log
        .iter()
        .filter_map(|e| match &e.record {
            LogRecord::Event(event) => Some(event.what.name()),
            LogRecord::Transfer(_) => None,
        })
        .collect();
    for expected in ["user_created", "group_created", "packet_sent", "packet_claimed"] {
        assert!(event_types.contains(&expected), "a {expected} event is logged: {event_types:?}");
    }
    for user in [p.alice_id, p.bob_id] {
        let created = log
            .iter()
            .filter(
                |e| matches!(&e.record, LogRecord::Event(ev) if ev.what == EventKind::UserCreated { user_id: user }),
            )
            .count();
        assert_eq!(created, 1, "{user}'s creation is logged once");
    }

    // Paging in one go gives the same log.
    let at_once = whole_log(&app, 1_000).await;
    assert_eq!(at_once.iter().map(|e| &e.bytes).collect::<Vec<_>>(), log.iter().map(|e| &e.bytes).collect::<Vec<_>>());
}

#[tokio::test]
async fn an_entries_page_of_0_or_1001_is_400_and_a_start_past_the_end_is_an_empty_last_page() {
    let app = spawn_app().await;
    for limit in [0, 1_001] {
        raw_refused(&public(&app, &format!("/v1/audit/entries?limit={limit}")).await, 400, "invalid_request");
    }
    let first = json(&public_ok(&app, "/v1/audit/entries?limit=1000").await);
    let size = first["entries"].as_array().unwrap().len();
    assert!(size >= 1, "the bootstrap is logged: {first}");
    assert_eq!(first["next"], Value::Null, "{first}");
    let past = json(&public_ok(&app, &format!("/v1/audit/entries?start={}&limit=10", size + 5)).await);
    assert_eq!(past, serde_json::json!({"entries": [], "next": null}));
}

#[tokio::test]
async fn every_entry_hashes_to_a_leaf_whose_inclusion_proof_verifies_against_the_signed_checkpoint() {
    let app = spawn_app().await;
    let verifier = verifier(&app).await;
    let p = pair(&app, 1_000, 0).await;
    let packet = send(&p.alice, &lucky(p.group, 1, 77)).await.packet_id;
    p.bob.claim(packet).send().await.unwrap();
    // The last entry is this transfer, so the checkpoint its receipt needs covers the whole log.
    let last = p.alice.transfer(p.bob_id, Fen::new(1), &no_options()).send().await.unwrap().transfer_id;
    p.alice.receipt(last).send().await.unwrap();
    let (_, signed) = checkpoint(&app, &verifier).await;
    let log = whole_log(&app, PAGE).await;
    assert_eq!(signed.size, u64::try_from(log.len()).unwrap(), "the latest checkpoint covers the whole log");

    for entry in &log {
        let path = format!("/v1/audit/proofs/inclusion?index={}&size={}", entry.index, signed.size);
        let proof = json(&public_ok(&app, &path).await);
        assert_eq!(keys(&proof), set(&["index", "size", "hashes"]), "{proof}");
        assert_eq!((proof["index"].as_u64(), proof["size"].as_u64()), (Some(entry.index), Some(signed.size)));
        let leaf = leaf_hash(&entry.bytes);
        let path_hashes = hashes(&proof);
        verify_inclusion(&leaf, entry.index, signed.size, &path_hashes, &signed.root)
            .unwrap_or_else(|e| panic!("entry {} is not proven in the checkpoint: {e}", entry.index));
        // The proof is for this entry at this place: another entry's bytes do not pass.
        let other = &log[(usize::try_from(entry.index).unwrap() + 1) % log.len()];
        assert!(
            verify_inclusion(&leaf_hash(&other.bytes), entry.index, signed.size, &path_hashes, &signed.root).is_err()
        );
    }

    // Without a size the proof is against the latest checkpoint.
    let latest = json(&public_ok(&app, "/v1/audit/proofs/inclusion?index=0").await);
    assert_eq!(latest["size"].as_u64(), Some(signed.size), "{latest}");
    verify_inclusion(&leaf_hash(&log[0].bytes), 0, signed.size, &hashes(&latest), &signed.root).unwrap();

    let size = signed.size;
    for path in [
        format!("/v1/audit/proofs/inclusion?index={size}&size={size}"),
        format!("/v1/audit/proofs/inclusion?index={}&size={size}", size + 1),
        format!("/v1/audit/proofs/inclusion?index={size}"),
        format!("/v1/audit/proofs/inclusion?index=0&size={}", size + 1_000),
        "/v1/audit/proofs/inclusion?index=0&size=0".to_owned(),
    ] {
        raw_refused(&public(&app, &path).await, 400, "invalid_request");
    }
}

#[tokio::test]
async fn a_consistency_proof_shows_an_early_checkpoint_is_a_prefix_of_a_later_one() {
    let app = spawn_app().await;
    let verifier = verifier(&app).await;
    let (_, early) = checkpoint(&app, &verifier).await;

    let p = pair(&app, 1_000, 0).await;
    let first = p.alice.transfer(p.bob_id, Fen::new(100), &no_options()).send().await.unwrap().transfer_id;
    let middle = check_receipt(&p.bob.receipt(first).send().await.unwrap(), &verifier, first).checkpoint;
    let packet = send(&p.alice, &normal(p.group, 1, 30)).await.packet_id;
    p.bob.claim(packet).send().await.unwrap();
    let second = p.bob.transfer(p.alice_id, Fen::new(20), &no_options()).send().await.unwrap().transfer_id;
    p.bob.receipt(second).send().await.unwrap();
    let (_, late) = checkpoint(&app, &verifier).await;
    assert!(early.size < middle.size && middle.size < late.size, "{early:?} {middle:?} {late:?}");

    for (old, new) in [(&early, &middle), (&middle, &late), (&early, &late), (&late, &late)] {
        let path = format!("/v1/audit/proofs/consistency?old={}&new={}", old.size, new.size);
        let proof = json(&public_ok(&app, &path).await);
        assert_eq!(keys(&proof), set(&["old", "new", "hashes"]), "{proof}");
        assert_eq!((proof["old"].as_u64(), proof["new"].as_u64()), (Some(old.size), Some(new.size)));
        let path_hashes = hashes(&proof);
        verify_consistency(old.size, new.size, &old.root, &new.root, &path_hashes)
            .unwrap_or_else(|e| panic!("{} → {} is not consistent: {e}", old.size, new.size));
        if old.size < new.size {
            // The proof binds both roots: it does not pass for another tree of either size.
            assert!(verify_consistency(old.size, new.size, &new.root, &new.root, &path_hashes).is_err());
            assert!(verify_consistency(old.size, new.size, &old.root, &old.root, &path_hashes).is_err());
            let mut tampered = path_hashes.clone();
            flip_first_bit(&mut tampered[0]);
            assert!(verify_consistency(old.size, new.size, &old.root, &new.root, &tampered).is_err());
        }
    }

    // Without `new`, the proof runs to the latest checkpoint.
    let to_latest = json(&public_ok(&app, &format!("/v1/audit/proofs/consistency?old={}", early.size)).await);
    assert_eq!(to_latest["new"].as_u64(), Some(late.size), "{to_latest}");
    verify_consistency(early.size, late.size, &early.root, &late.root, &hashes(&to_latest)).unwrap();

    for path in [
        format!("/v1/audit/proofs/consistency?old={}&new={}", late.size, early.size),
        format!("/v1/audit/proofs/consistency?old={}&new={}", middle.size, middle.size - 1),
        format!("/v1/audit/proofs/consistency?old={}&new={}", early.size, late.size + 1_000),
    ] {
        raw_refused(&public(&app, &path).await, 400, "invalid_request");
    }
}

#[tokio::test]
async fn both_parties_of_a_transfer_get_a_receipt_that_verifies_with_only_the_public_key() {
    let app = spawn_app().await;
    let verifier = verifier(&app).await;
    let p = pair(&app, 1_000, 0).await;
    let now = p.alice.transfer(p.bob_id, Fen::new(100), &no_options()).send().await.unwrap().transfer_id;
    let delayed = no_options().arrival_delay_seconds(7_200);
    let pending = p.alice.transfer(p.bob_id, Fen::new(40), &delayed).send().await.unwrap().transfer_id;

    for transfer in [now, pending] {
        let sender = p.alice.receipt(transfer).send().await.unwrap();
        let recipient = p.bob.receipt(transfer).send().await.unwrap();
        let by_sender = check_receipt(&sender, &verifier, transfer);
        let by_recipient = check_receipt(&recipient, &verifier, transfer);
        assert_eq!(sender.entry, recipient.entry, "both parties get the same entry");
        assert_eq!(by_sender.index, by_recipient.index);
        assert_eq!(by_sender.checkpoint.origin, verifier.name());
    }
    let raw = json(&p.alice.receipt(now).send_raw().await.unwrap());
    assert_eq!(keys(&raw), set(&["entry", "proof", "decoded"]), "{raw}");
    // The delayed transfer's receipt is of the pending transfer itself, before it arrived.
    let receipt = p.bob.receipt(pending).send().await.unwrap();
    match decode(&STANDARD.decode(&receipt.entry).unwrap()).unwrap().record {
        LogRecord::Transfer(t) => {
            assert!(matches!(t.phase, hongbao_core::ledger::Phase::Pending { .. }), "{t:?}");
            assert_eq!((t.amount, t.kind), (Fen::new(40), TransferKind::Transfer));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_deposit_a_packet_send_and_a_packet_claim_have_receipts_that_verify() {
    let app = spawn_app().await;
    let verifier = verifier(&app).await;
    let p = pair(&app, 0, 0).await;
    let deposit = app.root.deposit(p.alice_id, Fen::new(500)).send().await.unwrap().transfer_id;
    let packet = send(&p.alice, &lucky(p.group, 1, 300)).await.packet_id;
    let share = p.bob.claim(packet).send().await.unwrap().amount;
    let sent = transfer_of(&p.alice, TransferKind::PacketSend, packet).await;
    let claimed = transfer_of(&p.bob, TransferKind::PacketClaim, packet).await;

    check_receipt(&p.alice.receipt(deposit).send().await.unwrap(), &verifier, deposit);
    check_receipt(&p.alice.receipt(sent).send().await.unwrap(), &verifier, sent);
    let receipt = p.bob.receipt(claimed).send().await.unwrap();
    check_receipt(&receipt, &verifier, claimed);
    match decode(&STANDARD.decode(&receipt.entry).unwrap()).unwrap().record {
        LogRecord::Transfer(t) => assert_eq!((t.amount, t.packet_id), (share, Some(packet)), "{t:?}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_receipt_is_404_for_a_third_user_401_unsigned_403_for_an_operator_and_404_for_a_malformed_id() {
    let app = spawn_app().await;
    let p = pair(&app, 1_000, 0).await;
    let (mallory, _) = app.user("mallory", 0).await;
    let transfer = p.alice.transfer(p.bob_id, Fen::new(100), &no_options()).send().await.unwrap().transfer_id;

    let hidden = refused(mallory.receipt(transfer).send().await, 404, "not_found");
    let missing: TransferId = NO_TRANSFER.parse().unwrap();
    assert_eq!(hidden, refused(mallory.receipt(missing).send().await, 404, "not_found"), "existence does not leak");
    refused(p.alice.receipt(missing).send().await, 404, "not_found");

    let unsigned = app.root.send(RawRequest::get(format!("/v1/receipts/{transfer}")).signing(Signing::Unsigned));
    raw_refused(&unsigned.await.unwrap(), 401, "unauthenticated");
    refused(app.root.receipt(transfer).send().await, 403, "forbidden");
    for malformed in ["not-a-transfer", NO_PACKET, "trf_", "trf_0190f0a0b0c0d0e0f00000000000000g"] {
        let answer = p.alice.send(RawRequest::get(format!("/v1/receipts/{malformed}"))).await.unwrap();
        raw_refused(&answer, 404, "not_found");
    }
    // Refusing them took nothing away from the parties.
    p.alice.receipt(transfer).send().await.unwrap();
}

#[tokio::test]
async fn a_receipt_fails_to_verify_when_one_byte_of_the_entry_one_proof_hash_or_the_index_changes() {
    let app = spawn_app().await;
    let verifier = verifier(&app).await;
    let p = pair(&app, 1_000, 0).await;
    let transfer = p.alice.transfer(p.bob_id, Fen::new(100), &no_options()).send().await.unwrap().transfer_id;
    let receipt = p.alice.receipt(transfer).send().await.unwrap();
    let verified = check_receipt(&receipt, &verifier, transfer);
    let entry = STANDARD.decode(&receipt.entry).unwrap();
    let parsed = proof::parse(&receipt.proof).expect("a tlog-proof");
    assert_eq!(parsed.index, verified.index);
    assert!(!parsed.hashes.is_empty(), "a log of {} entries needs a path", verified.checkpoint.size);
    // Writing the parsed proof back gives the same text, so the tampered ones below differ in
    // exactly the part changed.
    assert_eq!(proof::format(parsed.index, &parsed.hashes, &parsed.checkpoint), receipt.proof);

    for at in [0, entry.len() / 2, entry.len() - 1] {
        let mut changed = entry.clone();
        changed[at] ^= 1;
        let refused = verify_receipt(&changed, &receipt.proof, &verifier);
        assert!(matches!(refused, Err(ReceiptError::NotIncluded(_))), "byte {at} changed: {refused:?}");
    }
    for which in 0..parsed.hashes.len() {
        let mut changed = parsed.hashes.clone();
        flip_first_bit(&mut changed[which]);
        let text = proof::format(parsed.index, &changed, &parsed.checkpoint);
        let refused = verify_receipt(&entry, &text, &verifier);
        assert!(matches!(refused, Err(ReceiptError::NotIncluded(_))), "hash {which} changed: {refused:?}");
    }
    let size = verified.checkpoint.size;
    for index in [parsed.index.wrapping_sub(1), parsed.index + 1, parsed.index ^ 2, size] {
        if index == parsed.index || index == u64::MAX {
            continue;
        }
        let text = proof::format(index, &parsed.hashes, &parsed.checkpoint);
        let refused = verify_receipt(&entry, &text, &verifier);
        assert!(
            matches!(refused, Err(ReceiptError::NotIncluded(_) | ReceiptError::IndexOutOfRange { .. })),
            "index {} → {index}: {refused:?}",
            parsed.index
        );
    }
    // Nor does it verify with another key, or with its checkpoint's root replaced.
    let stranger = Verifier::new(verifier.name(), SigningKey::from_bytes(&[9; 32]).verifying_key()).unwrap();
    assert!(matches!(verify_receipt(&entry, &receipt.proof, &stranger), Err(ReceiptError::Checkpoint(_))));
    let root_line = STANDARD.encode(verified.checkpoint.root);
    let other_root = STANDARD.encode(leaf_hash(b"another tree"));
    let forged = receipt.proof.replace(&root_line, &other_root);
    assert_ne!(forged, receipt.proof);
    assert!(matches!(verify_receipt(&entry, &forged, &verifier), Err(ReceiptError::Checkpoint(_))));
}

#[tokio::test]
async fn a_fully_claimed_lucky_packet_reveals_the_shares_it_committed_to_and_each_claim_took_its_share() {
    let app = spawn_app().await;
    let verifier = verifier(&app).await;
    let (alice, _) = app.user("alice", 1_000).await;
    let claimants = app.users("claimant", 3).await;
    let members: Vec<_> = claimants.iter().map(|(_, c)| c.user_id).collect();
    let group = alice.create_group("lucky", &members).send().await.unwrap().group_id;
    let packet = send(&alice, &lucky(group, 3, 300)).await.packet_id;
    let mut got = Vec::new();
    for (client, _) in &claimants {
        got.push(client.claim(packet).send().await.unwrap().amount);
    }

    let records = packet_log(&app, &verifier, packet).await;
    let promised = committed(&records).expect("a lucky packet commits to its shares at send");
    assert_eq!(promised.len(), 64, "{promised}");
    let shares = revealed(&records).expect("an exhausted lucky packet reveals its shares");
    assert_eq!(shares.len(), 3);
    assert_eq!(shares.iter().map(|s| s.get()).sum::<i64>(), 300, "{shares:?}");
    assert_eq!(claimed_amounts(&records), shares, "each claim took the share at its position");
    assert_eq!(got, shares, "and the claimants got exactly those");
    // The claims' transfers are in the packet's log too, between the send and the reveal.
    let claims =
        records.iter().filter(|r| matches!(r, LogRecord::Transfer(t) if t.kind == TransferKind::PacketClaim)).count();
    assert_eq!(claims, 3, "{records:?}");
    // The commitment was logged before any share was dealt, the reveal after every share was.
    let is_claim = |r: &LogRecord| matches!(r, LogRecord::Transfer(t) if t.kind == TransferKind::PacketClaim);
    let event_at = |name: &str| records.iter().position(|r| matches!(r, LogRecord::Event(e) if e.what.name() == name));
    let first_claim = records.iter().position(is_claim).expect("a claim");
    let last_claim = records.iter().rposition(is_claim).expect("a claim");
    assert!(event_at("packet_sent").expect("packet_sent") < first_claim, "{records:?}");
    assert!(event_at("lucky_shares_revealed").expect("the reveal") > last_claim, "{records:?}");
}

#[tokio::test]
async fn a_lucky_packet_reveals_nothing_while_open_and_its_shares_once_it_expires_partly_claimed() {
    let app = spawn_app().await;
    let verifier = verifier(&app).await;
    let (alice, _) = app.user("alice", 1_000).await;
    let (bob, b) = app.user("bob", 0).await;
    let (_carol, c) = app.user("carol", 0).await;
    let group = alice.create_group("three", &[b.user_id, c.user_id]).send().await.unwrap().group_id;
    let packet = send(&alice, &lucky(group, 3, 300)).await.packet_id;
    let share = bob.claim(packet).send().await.unwrap().amount;

    let open = packet_log(&app, &verifier, packet).await;
    let promised = committed(&open).expect("the commitment is logged at send");
    assert_eq!(revealed(&open), None, "an open packet keeps its shares secret: {open:?}");
    assert_eq!(claimed_amounts(&open), [share]);

    app.root.dev_clock(DAY_S).send().await.unwrap();
    assert_eq!(alice.packet(packet).send().await.unwrap().status.as_str(), "expired");
    let closed = packet_log(&app, &verifier, packet).await;
    assert_eq!(committed(&closed), Some(promised), "the commitment did not change");
    let shares = revealed(&closed).expect("an expired lucky packet reveals its shares");
    assert_eq!(shares.len(), 3, "every share, claimed or not: {shares:?}");
    assert_eq!(shares.iter().map(|s| s.get()).sum::<i64>(), 300, "{shares:?}");
    assert_eq!(shares[0], share, "Bob's claim took the first share");
    assert!(events(&closed).iter().any(|e| matches!(e, EventKind::PacketExpired { .. })), "{closed:?}");
}

#[tokio::test]
async fn the_packet_log_of_an_unknown_or_malformed_packet_id_is_404() {
    let app = spawn_app().await;
    for id in [NO_PACKET, "not-a-packet", NO_TRANSFER] {
        let answer = app.root.send(RawRequest::get(format!("/v1/audit/packets/{id}"))).await.unwrap();
        raw_refused(&answer, 404, "not_found");
    }
}

/// Every string value anywhere in `value`.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => out.push(text.clone()),
        Value::Array(items) => items.iter().for_each(|item| strings(item, out)),
        Value::Object(map) => map.iter().for_each(|(key, item)| {
            out.push(key.clone());
            strings(item, out);
        }),
        _ => {}
    }
}

#[tokio::test]
async fn the_unsigned_public_log_holds_no_amount_note_or_name_and_a_packets_log_only_for_who_may_see_it() {
    let app = spawn_app().await;
    let p = pair(&app, 12_345, 0).await;
    let (stranger, _) = app.user("mallory", 0).await;
    let note = "rent for flat 12B";
    p.alice
        .transfer(p.bob_id, Fen::new(6_789), &hongbao_client::TransferOptions::default().note(note))
        .send()
        .await
        .unwrap();
    let packet = send(&p.alice, &lucky(p.group, 2, 500)).await.packet_id;
    p.bob.claim(packet).send().await.unwrap();
    app.root.create_operator("auditor-ann", &[hongbao_core::principal::Role::Auditor]).send().await.unwrap();

    // What an auditor reads is there: the note, the amounts, the names.
    let auditor_view = audited_ok(&app, "/v1/audit/entries?limit=1000").await.text();
    for secret in [note, "6789", "12345", "auditor-ann", &p.alice_id.to_string()] {
        assert!(auditor_view.contains(secret), "an auditor sees {secret:?}");
    }
    // The public: indices and leaf hashes, nothing else at all.
    let public_view = json(&public_ok(&app, "/v1/audit/entries?limit=1000").await);
    let mut texts = Vec::new();
    strings(&public_view, &mut texts);
    let entries = public_view["entries"].as_array().unwrap();
    assert!(entries.len() >= 8, "{public_view}");
    for entry in entries {
        assert_eq!(keys(entry), set(&["index", "leaf_hash"]), "{entry}");
        assert_eq!(unbase64(&entry["leaf_hash"]).len(), 32);
    }
    // Leaf hashes are 32 bytes each (checked above) and may spell anything in base64 by chance:
    // everything else is searched.
    let mut stripped = public_view.clone();
    for entry in stripped["entries"].as_array_mut().unwrap() {
        entry["leaf_hash"] = serde_json::Value::Null;
    }
    let printed = stripped.to_string();
    for secret in [note, "6789", "12345", "auditor-ann", "alice", "bob", &p.alice_id.to_string(), &packet.to_string()] {
        assert!(!printed.contains(secret), "the public log shows {secret:?}: {printed}");
    }
    assert!(texts.iter().all(|t| ["entries", "next", "index", "leaf_hash"].contains(&t.as_str()) || t.len() == 44));

    // A packet's log: not to the public, not to a stranger; to its sender, its claimant and an
    // auditor.
    let path = format!("/v1/audit/packets/{packet}");
    raw_refused(&public(&app, &path).await, 401, "unauthenticated");
    raw_refused(&stranger.send(RawRequest::get(path.as_str())).await.unwrap(), 404, "not_found");
    for who in [&p.alice, &p.bob, &app.root] {
        let answer = who.send(RawRequest::get(path.as_str())).await.unwrap();
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    // Signed by a user, the entries in full are refused rather than shown.
    raw_refused(&p.bob.send(RawRequest::get("/v1/audit/entries")).await.unwrap(), 403, "forbidden");
}
