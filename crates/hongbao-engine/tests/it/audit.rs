//! The transparency log through the engine: every transfer and event logged in the batch's own
//! transaction, checkpoints, receipts that verify offline, tampering found, fair lucky packets.

use base64::Engine as _;
use hongbao_audit::note::Verifier;
use hongbao_audit::verify_receipt;
use hongbao_core::event::EventKind;
use hongbao_core::fairness;
use hongbao_core::log::{LogRecord, decode};
use hongbao_core::ops::{Command, PacketSpec, Reply};
use hongbao_core::{CoreError, Fen, Limits, TransferId};
use hongbao_engine::{AuditError, Engine, EngineConfig, EngineError, StartOptions};
use hongbao_store::Store;

use crate::support::{App, START, app, app_without_log, audit_config};

fn verifier(app: &App) -> Verifier {
    Verifier::parse(&app.engine.audit().unwrap().vkey()).unwrap()
}

async fn transfer_of(app: &App, command: Command) -> TransferId {
    match app.exec(command).await {
        Reply::Moved(moved) => moved.transfer_id,
        Reply::Transfer(receipt) => receipt.transfer_id,
        other => panic!("not a transfer: {other:?}"),
    }
}

#[tokio::test]
async fn every_transfer_and_event_is_logged_in_the_same_transaction_and_a_failed_commit_logs_nothing() {
    let app = app().await;
    let (alice, bob) = (app.user("alice", 100).await, app.user("bob", 0).await);
    app.exec(Command::Transfer {
        actor: alice,
        to: bob,
        amount: Fen::new(100),
        note: None,
        arrival_delay_s: 0,
        risk_confirmation: None,
    })
    .await;
    let dump = app.store.dump().await.unwrap();
    let transfers = dump.facts.iter().filter(|f| matches!(f, hongbao_core::Fact::Transfer(..))).count();
    let (events, table) = stored_events(&dump);
    assert!(events.contains(&"user_created") && table.is_empty(), "events are kept in the log: {events:?}");
    assert_eq!(dump.log.len(), transfers + events.len(), "one entry per transfer and per event");
    let before = dump.log.len() as u64;
    assert_eq!(app.engine.audit().unwrap().size(), before);

    app.store.fail_next_commit();
    let failed = app
        .engine
        .execute(Command::Transfer {
            actor: alice,
            to: bob,
            amount: Fen::new(1),
            note: None,
            arrival_delay_s: 0,
            risk_confirmation: None,
        })
        .await;
    assert!(matches!(failed, Err(EngineError::Unavailable(_))));
    assert_eq!(app.store.log_entries(0, 10_000).await.unwrap().len() as u64, before, "nothing logged");
    assert_eq!(app.engine.audit().unwrap().size(), before, "the tree did not grow either");
    app.assert_invariants().await;
}

/// The kinds of the events a store holds: in the log's entries and in the `events` table.
fn stored_events(dump: &hongbao_store::Dump) -> (Vec<&'static str>, Vec<&'static str>) {
    let logged = dump
        .log
        .iter()
        .filter_map(|row| match decode(&row.entry).unwrap().record {
            LogRecord::Event(event) => Some(event.what.name()),
            LogRecord::Transfer(_) => None,
        })
        .collect();
    (logged, dump.events.iter().map(|event| event.what.name()).collect())
}

#[tokio::test]
async fn events_are_kept_once_in_the_log_while_it_is_on_and_in_the_events_table_while_it_is_off() {
    let expected = ["packet_sent", "packet_claimed", "packet_claimed", "lucky_shares_revealed"];
    for with_log in [true, false] {
        let app = if with_log { app().await } else { app_without_log().await };
        let sender = app.user("sender", 100).await;
        let (ann, ben) = (app.user("ann", 0).await, app.user("ben", 0).await);
        let group = app.group(sender, &[ann, ben]).await;
        let packet = app.send(sender, PacketSpec::Lucky { group_id: group, count: 2, total: Fen::new(300) }, 0).await;
        for member in [ann, ben] {
            app.exec(Command::ClaimPacket { actor: member, packet: packet.packet_id }).await;
        }
        let dump = app.store.dump().await.unwrap();
        let (logged, table) = stored_events(&dump);
        let (kept, other) = if with_log { (logged, table) } else { (table, logged) };
        let about_the_packet: Vec<_> = kept.iter().filter(|name| expected.contains(name)).collect();
        assert_eq!(about_the_packet, expected.iter().collect::<Vec<_>>(), "with_log = {with_log}: once, in order");
        assert!(other.is_empty(), "with_log = {with_log}: no second copy: {other:?}");
        let key = audit_config().signing_key.verifying_key();
        let report = hongbao_engine::check(app.store.as_ref(), &Limits::default(), Some(&key)).await.unwrap();
        assert!(report.passed(), "{report}");
        assert_eq!(report.events, kept.len() as u64, "the check counts them where they are");
    }
}

#[tokio::test]
async fn a_receipt_verifies_offline_with_only_the_public_key_and_only_its_parties_may_have_it() {
    let app = app().await;
    let (alice, bob, carol) = (app.user("alice", 100).await, app.user("bob", 0).await, app.user("carol", 0).await);
    let paid = transfer_of(
        &app,
        Command::Transfer {
            actor: alice,
            to: bob,
            amount: Fen::new(2_500),
            note: Some("饭钱".into()),
            arrival_delay_s: 0,
            risk_confirmation: None,
        },
    )
    .await;
    for party in [alice, bob] {
        let receipt = app.engine.receipt(party, paid).await.unwrap();
        let verified = verify_receipt(&receipt.entry, &receipt.proof, &verifier(&app)).unwrap();
        assert_eq!(verified.index, receipt.index);
        let LogRecord::Transfer(logged) = decode(&receipt.entry).unwrap().record else { panic!("not a transfer") };
        assert_eq!((logged.id, logged.amount), (paid, Fen::new(2_500)));
    }
    let stranger = app.engine.receipt(carol, paid).await.unwrap_err();
    assert_eq!(stranger, EngineError::Refused(CoreError::not_found("transfer")));
    // Another log's key does not verify it.
    let other = hongbao_audit::note::vkey(
        "test.hongbao.local/log",
        &ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key(),
    );
    let receipt = app.engine.receipt(alice, paid).await.unwrap();
    assert!(verify_receipt(&receipt.entry, &receipt.proof, &Verifier::parse(&other).unwrap()).is_err());
}

#[tokio::test]
async fn an_engine_signs_its_whole_log_when_it_stops() {
    let app = app().await;
    let alice = app.user("alice", 100).await;
    app.engine.checkpoint_now().await.unwrap();
    app.exec(Command::Deposit { user: alice, amount: Fen::new(5) }).await;
    let size = app.engine.audit().unwrap().size();
    let latest = app.store.latest_checkpoint().await.unwrap().unwrap().size;
    assert!(latest < size, "the deposit is not signed yet: {latest} of {size}");
    app.engine.shutdown().await;
    assert_eq!(app.store.latest_checkpoint().await.unwrap().unwrap().size, size, "signed up to the end");
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_restarted_engine_rebuilds_the_same_log_and_keeps_signing() {
    let app = app().await;
    let alice = app.user("alice", 100).await;
    let first = app.engine.checkpoint_now().await.unwrap();
    app.engine.shutdown().await;
    let again = restart(&app).await;
    assert_eq!(again.audit().unwrap().size(), first);
    assert_eq!(again.audit().unwrap().corrupt(), None);
    again.execute(Command::Deposit { user: alice, amount: Fen::new(5) }).await.unwrap();
    assert!(again.checkpoint_now().await.unwrap() > first);
}

async fn restart(app: &App) -> Engine {
    let options = StartOptions {
        rng_seed: Some([8; 32]),
        audit: Some(audit_config()),
        secrets: Some(crate::support::secrets_key()),
    };
    Engine::start(app.store.clone(), app.clock.clone(), Limits::default(), EngineConfig::default(), options)
        .await
        .unwrap()
}

/// Some activity, a checkpoint over it, and a receipt issued before anything is touched.
async fn logged_history(app: &App) -> (TransferId, hongbao_engine::Receipt) {
    let (alice, bob) = (app.user("alice", 100).await, app.user("bob", 0).await);
    let mut last = None;
    for amount in 1..=6 {
        let command = Command::Transfer {
            actor: alice,
            to: bob,
            amount: Fen::new(amount),
            note: None,
            arrival_delay_s: 0,
            risk_confirmation: None,
        };
        last = Some(transfer_of(app, command).await);
    }
    let last = last.unwrap();
    app.engine.checkpoint_now().await.unwrap();
    let receipt = app.engine.receipt(bob, last).await.unwrap();
    app.engine.shutdown().await;
    (last, receipt)
}

async fn tamper(app: &App, sql: &[&str]) {
    use sqlx::ConnectOptions;
    let mut conn =
        sqlx::sqlite::SqliteConnectOptions::new().filename(app.dir.path().join("test.db")).connect().await.unwrap();
    for statement in sql {
        let done = sqlx::query(sqlx::AssertSqlSafe(statement.to_string())).execute(&mut conn).await.unwrap();
        assert!(done.rows_affected() >= 1, "{statement} changed nothing");
    }
}

/// After tampering: the check names it, and a restarted engine refuses to sign or to issue
/// any receipt, while a receipt issued before still verifies against its own checkpoint.
async fn assert_tampering_is_caught(app: &App, last: TransferId, before: hongbao_engine::Receipt, expect: &str) {
    let key = audit_config().signing_key.verifying_key();
    let report = hongbao_engine::check(app.store.as_ref(), &Limits::default(), Some(&key)).await.unwrap();
    assert!(!report.passed());
    assert!(report.log_problems.iter().any(|p| p.contains(expect)), "{:?}", report.log_problems);

    let engine = restart(app).await;
    assert!(engine.audit().unwrap().corrupt().is_some(), "the restarted log knows it was tampered with");
    let bob_receipt = engine.receipt(before_owner(&before), last).await;
    assert!(matches!(bob_receipt, Err(EngineError::Audit(AuditError::Corrupt(_)))), "{bob_receipt:?}");
    assert!(matches!(engine.checkpoint_now().await, Err(EngineError::Audit(AuditError::Corrupt(_)))));
    // Money keeps moving, and is still written to the log; only the log's word is withheld.
    let logged = app.store.log_entries(0, 100_000).await.unwrap().len();
    engine.execute(Command::Deposit { user: before_owner(&before), amount: Fen::new(1) }).await.unwrap();
    assert!(app.store.log_entries(0, 100_000).await.unwrap().len() > logged);
    assert!(
        verify_receipt(&before.entry, &before.proof, &Verifier::parse(&engine.audit().unwrap().vkey()).unwrap())
            .is_ok()
    );
}

fn before_owner(receipt: &hongbao_engine::Receipt) -> hongbao_core::UserId {
    let LogRecord::Transfer(t) = decode(&receipt.entry).unwrap().record else { panic!() };
    hongbao_core::UserId::from_uuid(t.credit.uuid())
}

#[tokio::test]
async fn editing_one_stored_entry_is_caught() {
    let app = app().await;
    let (last, receipt) = logged_history(&app).await;
    tamper(
        &app,
        &["UPDATE log_entries SET entry = CAST(replace(CAST(entry AS TEXT), '\"amount\":3', '\"amount\":300') AS BLOB) \
           WHERE CAST(entry AS TEXT) LIKE '%\"amount\":3,%'"],
    )
    .await;
    assert_tampering_is_caught(&app, last, receipt, "do not hash to the signed root").await;
}

#[tokio::test]
async fn deleting_one_stored_entry_is_caught() {
    let app = app().await;
    let (last, receipt) = logged_history(&app).await;
    tamper(&app, &["DELETE FROM log_entries WHERE idx = 3"]).await;
    assert_tampering_is_caught(&app, last, receipt, "entry 3 is missing").await;
}

#[tokio::test]
async fn reordering_two_stored_entries_is_caught() {
    let app = app().await;
    let (last, receipt) = logged_history(&app).await;
    tamper(
        &app,
        &[
            "UPDATE log_entries SET idx = 1000000 WHERE idx = 4",
            "UPDATE log_entries SET idx = 4 WHERE idx = 5",
            "UPDATE log_entries SET idx = 5 WHERE idx = 1000000",
        ],
    )
    .await;
    assert_tampering_is_caught(&app, last, receipt, "do not hash to the signed root").await;
}

/// Event entries no checkpoint covers yet are held against the ledger's packets, claims, locks
/// and freezes.
#[tokio::test]
async fn an_edited_event_entry_is_caught_by_the_ledger_before_any_checkpoint_covers_it() {
    let cases = [
        // The amount of a claim.
        (
            concat!(
                r#"UPDATE log_entries SET entry = CAST(replace(CAST(entry AS TEXT), '"amount":', '"amount":1') "#,
                r#"AS BLOB) WHERE CAST(entry AS TEXT) LIKE '%"packet_claimed"%'"#
            ),
            "differs from the ledger",
        ),
        // The commitment made at send.
        (
            concat!(
                r#"UPDATE log_entries SET entry = CAST(replace(CAST(entry AS TEXT), '"commitment":"', "#,
                r#"'"commitment":"0') AS BLOB) WHERE CAST(entry AS TEXT) LIKE '%"packet_sent"%'"#
            ),
            "the sending of packet",
        ),
        // A claim's event removed from the log altogether (the tree is rebuilt without it).
        (
            "DELETE FROM log_entries WHERE idx = (SELECT MAX(idx) FROM log_entries)",
            "claim(s) of the ledger are not in the log",
        ),
        // The recall of the other packet logged as its expiry.
        (
            concat!(
                r#"UPDATE log_entries SET entry = CAST(replace(CAST(entry AS TEXT), '"packet_recalled"', "#,
                r#"'"packet_expired"') AS BLOB) WHERE CAST(entry AS TEXT) LIKE '%"packet_recalled"%'"#
            ),
            "is not expired in the ledger",
        ),
        // A lock logged as an unlock.
        (
            concat!(
                r#"UPDATE log_entries SET entry = CAST(replace(CAST(entry AS TEXT), '"user_locked"', "#,
                r#"'"user_unlocked"') AS BLOB) WHERE CAST(entry AS TEXT) LIKE '%"user_locked"%'"#
            ),
            "unlocked when the log already had it so",
        ),
        // The amount of a freeze.
        (
            concat!(
                r#"UPDATE log_entries SET entry = CAST(replace(CAST(entry AS TEXT), '"held":25', '"held":125') "#,
                r#"AS BLOB) WHERE CAST(entry AS TEXT) LIKE '%"freeze_placed"%'"#
            ),
            "hold another amount than the log's freeze events",
        ),
    ];
    for (tamper_sql, expect) in cases {
        let app = app().await;
        let sender = app.user("sender", 100).await;
        let (ann, ben) = (app.user("ann", 0).await, app.user("ben", 0).await);
        let group = app.group(sender, &[ann, ben]).await;
        app.engine.checkpoint_now().await.unwrap();
        app.exec(Command::LockUser {
            officer: hongbao_core::KeyId::from_uuid(hongbao_core::id::Uuid::nil()),
            user: ben,
            reason: "a test".to_owned(),
        })
        .await;
        let spec = hongbao_core::ops::FreezeSpec {
            user: sender,
            kind: hongbao_core::risk::FreezeKind::Precautionary,
            amount: Some(Fen::new(25)),
            reason: "a test".to_owned(),
            documents: Vec::new(),
            expires_at: None,
            major_case: false,
        };
        app.exec(Command::PlaceFreeze { officer: hongbao_core::KeyId::from_uuid(hongbao_core::id::Uuid::nil()), spec })
            .await;
        let packet = app.send(sender, PacketSpec::Lucky { group_id: group, count: 3, total: Fen::new(300) }, 0).await;
        let normal =
            app.send(sender, PacketSpec::Normal { group_id: group, count: 2, amount_each: Fen::new(100) }, 0).await;
        app.exec(Command::RecallPacket { actor: sender, packet: normal.packet_id }).await;
        app.exec(Command::ClaimPacket { actor: ann, packet: packet.packet_id }).await;
        let key = audit_config().signing_key.verifying_key();
        let clean = hongbao_engine::check(app.store.as_ref(), &Limits::default(), Some(&key)).await.unwrap();
        assert!(clean.passed(), "{clean}");

        tamper(&app, &[tamper_sql]).await;
        let report = hongbao_engine::check(app.store.as_ref(), &Limits::default(), Some(&key)).await.unwrap();
        assert!(report.log_problems.iter().any(|p| p.contains(expect)), "{expect}: {:?}", report.log_problems);
        assert!(
            !report.log_problems.iter().any(|p| p.contains("signed root")),
            "no checkpoint covers the packet's entries: {:?}",
            report.log_problems
        );
    }
}

#[tokio::test]
async fn a_lucky_packet_commits_to_its_shares_at_send_and_reveals_them_when_exhausted() {
    let app = app().await;
    let sender = app.user("sender", 100).await;
    let mut members = Vec::new();
    for i in 0..4 {
        members.push(app.user(&format!("m{i}"), 0).await);
    }
    let group = app.group(sender, &members).await;
    let packet = app.send(sender, PacketSpec::Lucky { group_id: group, count: 4, total: Fen::new(1_000) }, 0).await;
    let mut claimed = Vec::new();
    for member in &members {
        let Reply::Claimed(c) = app.exec(Command::ClaimPacket { actor: *member, packet: packet.packet_id }).await
        else {
            panic!()
        };
        claimed.push(c.amount);
    }
    let rows = app.store.log_entries_of_packet(packet.packet_id, 100).await.unwrap();
    let events: Vec<EventKind> = rows
        .iter()
        .filter_map(|row| match decode(&row.entry).unwrap().record {
            LogRecord::Event(e) => Some(e.what),
            LogRecord::Transfer(_) => None,
        })
        .collect();
    let commitment = events.iter().find_map(|e| match e {
        EventKind::PacketSent { commitment, .. } => commitment.clone(),
        _ => None,
    });
    let (salt, shares) = events
        .iter()
        .find_map(|e| match e {
            EventKind::LuckySharesRevealed { salt, shares, .. } => Some((*salt, shares.clone())),
            _ => None,
        })
        .expect("revealed once every share is claimed");
    assert_eq!(
        commitment,
        Some(fairness::commitment(&salt, &shares)),
        "the reveal matches the commitment made at send"
    );
    assert_eq!(claimed, shares, "each claim took the committed share at its position");
    // A re-dealt list would not match.
    let mut redealt = shares.clone();
    redealt.swap(0, 1);
    assert!(redealt == shares || commitment != Some(fairness::commitment(&salt, &redealt)));
}

#[tokio::test]
async fn an_expired_lucky_packet_reveals_its_shares_and_a_normal_one_commits_to_nothing() {
    let app = app().await;
    let sender = app.user("sender", 100).await;
    let friend = app.user("friend", 0).await;
    let group = app.group(sender, &[friend]).await;
    let lucky = app.send(sender, PacketSpec::Lucky { group_id: group, count: 2, total: Fen::new(300) }, 0).await;
    let normal =
        app.send(sender, PacketSpec::Normal { group_id: group, count: 2, amount_each: Fen::new(100) }, 0).await;
    app.engine.run_due(lucky.expires_at).await.unwrap();
    let revealed = |rows: Vec<hongbao_store::LogRow>| {
        rows.iter().any(|row| {
            matches!(decode(&row.entry).unwrap().record, LogRecord::Event(e) if matches!(e.what, EventKind::LuckySharesRevealed { .. }))
        })
    };
    assert!(revealed(app.store.log_entries_of_packet(lucky.packet_id, 100).await.unwrap()));
    assert!(!revealed(app.store.log_entries_of_packet(normal.packet_id, 100).await.unwrap()));
    let _ = (START, base64::engine::general_purpose::STANDARD.encode([0u8]));
}
