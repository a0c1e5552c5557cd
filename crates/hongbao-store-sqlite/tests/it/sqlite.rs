//! What is particular to SQLite: durability pragmas, migrations on reopening, foreign keys.

use hongbao_core::event::{Event, EventKind};
use hongbao_core::ops::{Command, PacketSpec};
use hongbao_core::principal::{Owner, Role};
use hongbao_core::world::Write;
use hongbao_core::{ClaimId, Fact, Fen, Key, KeyId, PacketId, UserId};
use hongbao_store::contract::{self, Scenario};
use hongbao_store::{Commit, Store, StoreError};
use hongbao_store_sqlite::{Durability, SqliteStore};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Connection, SqlSafeStr, SqliteConnection};

use crate::{fresh_store, fresh_store_with};

/// An independent connection to the store's file, to look at what the store wrote.
async fn inspect(path: &std::path::Path) -> SqliteConnection {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
    SqliteConnection::connect_with(&options).await.expect("an inspecting connection opens")
}

async fn applied_migrations(path: &std::path::Path) -> Vec<(i64, Vec<u8>, i64)> {
    let mut conn = inspect(path).await;
    let rows: Vec<(i64, Vec<u8>, i64)> = sqlx::query_as(
        "SELECT version, checksum, CAST(strftime('%s', installed_on) AS INTEGER) FROM _sqlx_migrations ORDER BY version",
    )
    .fetch_all(&mut conn)
    .await
    .expect("the migrations table is readable");
    conn.close().await.expect("the inspecting connection closes");
    rows
}

#[tokio::test]
async fn full_durability_is_wal_with_synchronous_full_on_every_connection() {
    let (store, _dir) = fresh_store().await;
    let in_force = store.in_force().await.expect("the settings are readable");
    assert_eq!(in_force.journal_mode, "wal");
    assert_eq!(in_force.writer_synchronous, "full");
    assert_eq!(in_force.reader_synchronous, "full");
    assert!(in_force.foreign_keys, "foreign keys are enforced");
    assert!(in_force.reader_query_only, "readers cannot write");
    assert_eq!(in_force.writer_wal_autocheckpoint, 100_000, "the writer checkpoints only as a backstop");
    assert_eq!(in_force.writer_temp_store, 2, "statement journals in memory");
    assert_eq!(store.durability_setting(), Durability::Full);
    assert!(store.durability().contains("synchronous=FULL"), "{}", store.durability());
    assert_eq!(store.backend(), "sqlite");
    assert!(!store.shared(), "one file, one writing process");
}

/// `.cargo/config.toml` builds the bundled SQLite without memory statistics, which would take
/// a process-wide mutex on every allocation.
#[tokio::test]
async fn sqlite_is_built_without_memory_statistics() {
    let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
    let options: Vec<String> = sqlx::query_scalar("PRAGMA compile_options").fetch_all(&mut conn).await.unwrap();
    assert!(options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"), "{options:?}");
}

#[tokio::test]
async fn lower_durability_is_applied_and_said_so() {
    for (durability, level, words) in
        [(Durability::Normal, "normal", "synchronous=NORMAL"), (Durability::Off, "off", "synchronous=OFF")]
    {
        let (store, _dir) = fresh_store_with(durability).await;
        let in_force = store.in_force().await.expect("the settings are readable");
        assert_eq!((in_force.journal_mode.as_str(), in_force.writer_synchronous.as_str()), ("wal", level));
        assert!(store.durability().contains(words), "{}", store.durability());
    }
}

/// The WAL is copied into the database file by the store's own checkpoint connection, not by
/// whichever commit crosses SQLite's threshold; what it copies is then in the file itself.
#[tokio::test]
async fn a_checkpoint_copies_every_committed_page_into_the_file() {
    let (store, dir) = fresh_store().await;
    let mut s = Scenario::new(21);
    let alice = s.user(&store, "alice").await;
    s.deposit(&store, alice, 10_000).await;
    let done = store.checkpoint_wal().await.expect("a checkpoint runs");
    assert_eq!(done.checkpointed_pages, done.wal_pages, "no reader holds an older snapshot: {done:?}");
    // The file alone, without its WAL, now holds the deposit.
    let copy = dir.path().join("copy.db");
    std::fs::copy(store.path(), &copy).expect("the file copies");
    let mut conn = inspect(&copy).await;
    let deposits: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM transfers WHERE kind = 'deposit'")
        .fetch_one(&mut conn)
        .await
        .expect("the copy is a database");
    assert_eq!(deposits, 1);
}

#[test]
fn durability_names_parse_back_and_unknown_ones_are_refused() {
    for durability in [Durability::Full, Durability::Normal, Durability::Off] {
        assert_eq!(durability.to_string().parse::<Durability>(), Ok(durability));
    }
    assert_eq!(Durability::default(), Durability::Full);
    let err = "fast".parse::<Durability>().expect_err("not a durability");
    assert_eq!(err.to_string(), "unknown durability \"fast\": expected full, normal or off");
}

#[tokio::test]
async fn reopening_a_file_keeps_its_data_and_does_not_rerun_migrations() {
    let (store, dir) = fresh_store().await;
    let path = store.path().to_owned();
    let mut s = Scenario::new(11);
    let alice = s.user(&store, "alice").await;
    s.deposit(&store, alice, 5_000).await;
    store.close().await;
    let migrations = applied_migrations(&path).await;
    assert_eq!(
        migrations.iter().map(|m| m.0).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
        "each migration, applied once"
    );

    let reopened = SqliteStore::open(&path, Durability::Full).await.expect("the file reopens");
    contract::assert_store_holds_world(&reopened, &s.world).await;
    reopened.close().await;
    assert_eq!(applied_migrations(&path).await, migrations, "reopening applies nothing again");
    drop(dir);
}

#[tokio::test]
async fn a_file_migrated_by_a_newer_version_is_refused() {
    let (store, _dir) = fresh_store().await;
    let path = store.path().to_owned();
    store.close().await;
    let mut conn = inspect(&path).await;
    // Far past any version this code has, so that adding migrations never makes it a real one.
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (999999, 'from the future', TRUE, X'00', 0)",
    )
    .execute(&mut conn)
    .await
    .expect("a fake migration is recorded");
    conn.close().await.expect("closes");
    match SqliteStore::open(&path, Durability::Full).await {
        Err(StoreError::Corrupt(message)) => assert!(message.contains("schema"), "{message}"),
        other => panic!("a newer schema must be refused, got {other:?}"),
    }
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "红包 are not a database, whatever this file says about itself.\n".repeat(200))
        .expect("the file is written");
    match SqliteStore::open(&path, Durability::Full).await {
        Err(StoreError::Corrupt(_)) => {}
        other => panic!("a file that is not a database must be refused as corrupt, got {other:?}"),
    }
}

/// SQLite enforces the ownership references at commit: a claim of a packet that does not exist
/// never reaches the file, whatever the engine believed.
#[tokio::test]
async fn a_claim_of_a_packet_that_does_not_exist_is_refused_at_commit() {
    let (store, _dir) = fresh_store().await;
    let mut s = Scenario::new(12);
    let alice = s.user(&store, "alice").await;
    let bob = s.user(&store, "bob").await;
    s.deposit(&store, alice, 10_000).await;
    let group = s.group(&store, alice, &[bob]).await;
    let packet =
        s.send(&store, alice, PacketSpec::Normal { group_id: group, count: 2, amount_each: Fen::new(100) }, 0).await;
    s.run(Command::ClaimPacket { actor: bob, packet });
    let mut changes = s.take_changes();
    let before = store.dump().await.expect("dump");
    let (_, claim) = changes.claims.first().cloned().expect("the claim");
    let mut orphan = claim.clone();
    orphan.id = ClaimId::from_uuid(s.mint_uuid());
    orphan.packet_id = PacketId::from_uuid(s.mint_uuid());
    changes.claims.push((Write::Insert, orphan));

    // With log rows and a checkpoint, which are written before the references are checked at
    // COMMIT: they must go with the rest.
    let mut batch = s.batch(changes, Vec::new());
    assert!(!batch.log.is_empty());
    let size = s.log_size() + u64::try_from(batch.log.len()).expect("a length");
    batch.checkpoint = Some(contract::checkpoint(size, s.now));
    let tx = store.write().await.expect("a write begins");
    match tx.commit(batch).await {
        Err(StoreError::Corrupt(message)) => assert!(message.contains("FOREIGN KEY"), "{message}"),
        other => panic!("an orphan claim must be refused, got {other:?}"),
    }
    let after = store.dump().await.expect("dump");
    assert_eq!(
        (after.facts, after.events, after.log, after.checkpoints),
        (before.facts, before.events, before.log, before.checkpoints),
        "nothing of the batch was written"
    );
    assert_eq!(store.latest_checkpoint().await.expect("latest_checkpoint"), None);
}

/// Reads go on while a write transaction is open (WAL), and see only committed data.
#[tokio::test]
async fn reads_are_not_blocked_by_an_open_write() {
    let (store, _dir) = fresh_store().await;
    let mut s = Scenario::new(13);
    let alice = s.user(&store, "alice").await;
    let writing = store.write().await.expect("a write begins");
    contract::assert_store_holds_world(&store, &s.world).await;
    let history = store.history(hongbao_core::AccountId::wallet(alice), None, 10).await.expect("history");
    assert!(history.is_empty());
    drop(writing);
}

/// A value the store cannot decode is reported as corruption naming the table, the row and the
/// column, not replaced by a default.
#[tokio::test]
async fn an_undecodable_row_is_reported_as_corrupt_with_its_table_row_and_column() {
    let (store, _dir) = fresh_store().await;
    let mut s = Scenario::new(14);
    let alice = s.user(&store, "alice").await;
    let mut conn = inspect(store.path()).await;
    sqlx::query("UPDATE users SET status = 'on_holiday' WHERE id = ?1")
        .bind(alice.uuid())
        .execute(&mut conn)
        .await
        .expect("the row is spoiled");
    conn.close().await.expect("closes");

    let mut tx = store.read().await.expect("a read begins");
    match tx.load(&[hongbao_core::Key::User(alice)]).await {
        Err(StoreError::Corrupt(message)) => {
            assert!(message.contains("users.status"), "{message}");
            assert!(message.contains(&alice.uuid().to_string()), "{message}");
            assert!(message.contains("on_holiday"), "{message}");
        }
        other => panic!("an unknown status must be reported as corrupt, got {other:?}"),
    }
    drop(tx);
    assert!(matches!(store.dump().await, Err(StoreError::Corrupt(_))), "the check sees it too");
}

/// A user's key names its user: a key of a user who does not exist never reaches the file.
#[tokio::test]
async fn a_key_of_a_user_that_does_not_exist_is_refused_at_commit() {
    let (store, _dir) = fresh_store().await;
    let mut s = Scenario::new(16);
    let alice = s.user(&store, "alice").await;
    let before = store.dump().await.expect("dump");
    let mut orphan = s.principal(s.key_of(alice));
    orphan.key_id = KeyId::from_uuid(s.mint_uuid());
    orphan.owner = Owner::User { user_id: UserId::from_uuid(s.mint_uuid()) };
    let mut changes = hongbao_core::Changes::default();
    changes.principals.push(orphan);

    let tx = store.write().await.expect("a write begins");
    match tx.commit(Commit { changes, ..Commit::default() }).await {
        Err(StoreError::Corrupt(message)) => assert!(message.contains("FOREIGN KEY"), "{message}"),
        other => panic!("a key of nobody must be refused, got {other:?}"),
    }
    let after = store.dump().await.expect("dump");
    assert_eq!((after.facts, after.events), (before.facts, before.events), "nothing of the batch was written");
}

/// The schema itself refuses a key owned by both a user and an operator, by neither, or a
/// user's key with roles, whoever writes the row.
#[tokio::test]
async fn the_schema_refuses_a_key_with_both_owners_no_owner_or_a_user_with_roles() {
    let (store, _dir) = fresh_store().await;
    let mut s = Scenario::new(17);
    let alice = s.user(&store, "alice").await;
    let mut conn = inspect(store.path()).await;
    let insert = "INSERT INTO principals (key_id, secret, user_id, operator_name, roles, created_at) \
                  VALUES (?1, 'hbs_test', ?2, ?3, ?4, 0)";
    let rows = [
        ("both owners", Some(alice.uuid()), Some("root"), "[\"admin\"]"),
        ("no owner", None, None, "[]"),
        ("a user's key with roles", Some(alice.uuid()), None, "[\"admin\"]"),
    ];
    for (what, user, operator, roles) in rows {
        let result =
            sqlx::query(insert).bind(s.mint_uuid()).bind(user).bind(operator).bind(roles).execute(&mut conn).await;
        match result {
            Err(sqlx::Error::Database(db)) => assert!(db.message().contains("CHECK constraint failed"), "{what}: {db}"),
            other => panic!("a key with {what} must be refused, got {other:?}"),
        }
    }
    // The same statement with a sound row passes, so the refusals above were the CHECKs.
    sqlx::query(insert)
        .bind(s.mint_uuid())
        .bind(None::<uuid::Uuid>)
        .bind("root")
        .bind("[\"admin\"]")
        .execute(&mut conn)
        .await
        .expect("an operator's key is accepted");
    conn.close().await.expect("closes");
    assert!(store.has_operator().await.expect("has_operator"));
}

/// A principal the store cannot decode is corruption naming the table, the key and the column;
/// the message never carries the secret.
#[tokio::test]
async fn an_undecodable_key_is_reported_as_corrupt_without_its_secret() {
    let (store, _dir) = fresh_store().await;
    let mut s = Scenario::new(18);
    let root = s.operator(&store, "root", &Role::ALL).await;
    let secret = s.principal(root).secret.expose().to_owned();
    for (roles, shown) in [("[\"janitor\"]", "janitor"), ("admin", "admin")] {
        let mut conn = inspect(store.path()).await;
        sqlx::query("UPDATE principals SET roles = ?2 WHERE key_id = ?1")
            .bind(root.uuid())
            .bind(roles)
            .execute(&mut conn)
            .await
            .expect("the row is spoiled");
        conn.close().await.expect("closes");

        let mut tx = store.read().await.expect("a read begins");
        match tx.load(&[Key::Principal(root)]).await {
            Err(StoreError::Corrupt(message)) => {
                assert!(message.contains("principals.roles"), "{message}");
                assert!(message.contains(&root.uuid().to_string()), "{message}");
                assert!(message.contains(shown), "{message}");
                assert!(!message.contains(&secret), "the secret leaked into {message}");
            }
            other => panic!("roles {roles} must be reported as corrupt, got {other:?}"),
        }
        drop(tx);
        match store.dump().await {
            Err(StoreError::Corrupt(message)) => {
                assert!(!message.contains(&secret), "the secret leaked into {message}")
            }
            other => panic!("the check must see roles {roles} as corrupt, got {other:?}"),
        }
    }
}

/// `has_operator` answers from the partial index of operators' keys, not by scanning every
/// user's key (the reason the index exists).
#[tokio::test]
async fn has_operator_reads_the_partial_index_of_operators() {
    let (store, _dir) = fresh_store().await;
    let mut conn = inspect(store.path()).await;
    let plan: Vec<(i64, i64, i64, String)> =
        sqlx::query_as("EXPLAIN QUERY PLAN SELECT EXISTS (SELECT 1 FROM principals WHERE operator_name IS NOT NULL)")
            .fetch_all(&mut conn)
            .await
            .expect("the plan is readable");
    conn.close().await.expect("closes");
    let steps: Vec<&str> = plan.iter().map(|step| step.3.as_str()).collect();
    assert!(steps.iter().any(|step| step.contains("principals_operators")), "{steps:?}");
}

/// A file made before principals existed gains the table on opening and keeps what it held.
#[tokio::test]
async fn a_file_at_schema_version_1_gains_principals_and_keeps_its_data() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("hongbao.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true);
    let mut conn = SqliteConnection::connect_with(&options).await.expect("a new file");
    let init = include_str!("../../migrations/0001_init.sql");
    let version_1 = Migrator::with_migrations(vec![Migration::new(
        1,
        "init".into(),
        MigrationType::Simple,
        init.into_sql_str(),
        false,
    )]);
    version_1.run(&mut conn).await.expect("schema version 1 is applied");
    let mut s = Scenario::new(19);
    let alice = UserId::from_uuid(s.mint_uuid());
    sqlx::query("INSERT INTO users (id, name, status, created_at) VALUES (?1, 'alice', 'active', 0)")
        .bind(alice.uuid())
        .execute(&mut conn)
        .await
        .expect("a user of version 1");
    conn.close().await.expect("closes");

    let store = SqliteStore::open(&path, Durability::Full).await.expect("a version 1 file opens");
    let mut tx = store.read().await.expect("a read begins");
    let found = tx.load(&[Key::User(alice), Key::Principal(KeyId::from_uuid(alice.uuid()))]).await.expect("load");
    assert!(matches!(found.as_slice(), [Fact::User(_, Some(_)), Fact::Principal(_, None)]), "{found:?}");
    drop(tx);
    assert!(!store.has_operator().await.expect("has_operator"), "no operator yet");
    s.operator(&store, "root", &Role::ALL).await;
    assert!(store.has_operator().await.expect("has_operator"));
    store.close().await;
    let versions: Vec<i64> = applied_migrations(&path).await.into_iter().map(|m| m.0).collect();
    assert_eq!(versions, vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
}

/// The plan SQLite chooses for `sql`, one step a line.
async fn plan(store: &SqliteStore, sql: &str) -> Vec<String> {
    let mut conn = inspect(store.path()).await;
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
        .fetch_all(&mut conn)
        .await
        .expect("the plan is readable");
    conn.close().await.expect("closes");
    plan.into_iter().map(|step| step.3).collect()
}

/// The log's look-ups read their indexes and the log's size its rowid, so none of them slows
/// down as the log grows: a receipt finds its transfer's entry through the unique index, a
/// fairness proof reads a packet's entries already in order, and the size needs no count.
#[tokio::test]
async fn log_lookups_read_their_indexes_and_never_scan_the_log() {
    let (store, _dir) = fresh_store().await;
    let by_transfer = plan(&store, "SELECT idx FROM log_entries WHERE transfer_id = X'00'").await;
    assert!(by_transfer.iter().any(|step| step.contains("log_entries_by_transfer")), "{by_transfer:?}");
    let by_packet =
        plan(&store, "SELECT idx, entry FROM log_entries WHERE packet_id = X'00' ORDER BY idx LIMIT 10").await;
    assert!(by_packet.iter().any(|step| step.contains("log_entries_by_packet")), "{by_packet:?}");
    assert!(!by_packet.iter().any(|step| step.contains("TEMP B-TREE")), "no sort: {by_packet:?}");
    let size = plan(&store, "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries").await;
    assert!(!size.iter().any(|step| step.starts_with("SCAN")), "{size:?}");
}

/// The schema itself refuses a salt that is not 32 bytes, whoever writes the packet.
#[tokio::test]
async fn the_schema_refuses_a_salt_that_is_not_32_bytes() {
    let (store, _dir) = fresh_store().await;
    let mut s = Scenario::new(30);
    let alice = s.user(&store, "alice").await;
    let bob = s.user(&store, "bob").await;
    s.deposit(&store, alice, 10_000).await;
    let group = s.group(&store, alice, &[bob]).await;
    let lucky = s.send(&store, alice, PacketSpec::Lucky { group_id: group, count: 2, total: Fen::new(300) }, 0).await;
    let mut conn = inspect(store.path()).await;
    for salt in [vec![7u8; 31], vec![7u8; 33], Vec::new()] {
        let result = sqlx::query("UPDATE packets SET salt = ?2 WHERE id = ?1")
            .bind(lucky.uuid())
            .bind(&salt)
            .execute(&mut conn)
            .await;
        match result {
            Err(sqlx::Error::Database(db)) => assert!(db.message().contains("CHECK constraint failed"), "{db}"),
            other => panic!("a salt of {} bytes must be refused, got {other:?}", salt.len()),
        }
    }
    conn.close().await.expect("closes");
    contract::assert_store_holds_world(&store, &s.world).await;
}

/// An event whose stored body does not decode is corruption naming the table, the row and the
/// column: the check must not skip an event the log commits to.
#[tokio::test]
async fn an_undecodable_event_is_reported_as_corrupt_with_its_row() {
    let (store, _dir) = fresh_store().await;
    let mut s = Scenario::new(31);
    s.user(&store, "alice").await;
    s.user(&store, "bob").await;
    let mut conn = inspect(store.path()).await;
    let seq: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM events").fetch_one(&mut conn).await.expect("a seq");
    sqlx::query("UPDATE events SET body = json_set(body, '$.type', 'packet_teleported') WHERE seq = ?1")
        .bind(seq)
        .execute(&mut conn)
        .await
        .expect("the row is spoiled");
    conn.close().await.expect("closes");
    match store.dump().await {
        Err(StoreError::Corrupt(message)) => {
            assert!(message.contains("events.body"), "{message}");
            assert!(message.contains(&format!("row {seq}")), "{message}");
            assert!(message.contains("packet_teleported"), "{message}");
        }
        other => panic!("an unknown event must be reported as corrupt, got {other:?}"),
    }
}

/// A file made before the log existed gains its tables on opening and keeps what it held: its
/// packets read back without a salt, its events (without the fields added since) decode, and
/// the log starts empty.
#[tokio::test]
async fn a_file_at_schema_version_2_gains_the_log_and_keeps_its_packets_and_events() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("hongbao.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true);
    let mut conn = SqliteConnection::connect_with(&options).await.expect("a new file");
    let migrations = [
        (1, "init", include_str!("../../migrations/0001_init.sql")),
        (2, "principals", include_str!("../../migrations/0002_principals.sql")),
    ];
    let version_2 = Migrator::with_migrations(
        migrations
            .iter()
            .map(|&(version, name, sql)| {
                Migration::new(version, name.into(), MigrationType::Simple, sql.into_sql_str(), false)
            })
            .collect(),
    );
    version_2.run(&mut conn).await.expect("schema version 2 is applied");
    let mut s = Scenario::new(32);
    let (alice, group, packet) = (s.mint_uuid(), s.mint_uuid(), PacketId::from_uuid(s.mint_uuid()));
    sqlx::query("INSERT INTO users (id, name, status, created_at) VALUES (?1, 'alice', 'active', 0)")
        .bind(alice)
        .execute(&mut conn)
        .await
        .expect("a user of version 2");
    sqlx::query(
        "INSERT INTO packets (id, kind, sender, group_id, recipient, total, shares, greeting, arrival_delay_s, \
         created_at, expires_at, status, claimed_count, claimed_amount, touched) \
         VALUES (?1, 'lucky', ?2, ?3, NULL, 300, '[100,200]', '恭喜发财', 0, 0, 86400000, 'active', 0, 0, 0)",
    )
    .bind(packet.uuid())
    .bind(alice)
    .bind(group)
    .execute(&mut conn)
    .await
    .expect("a packet of version 2");
    let old_event = format!(
        r#"{{"at":"1970-01-01T00:00:00.000Z","type":"packet_sent","packet_id":"{packet}","sender":"{}","kind":"lucky","count":2,"total":300}}"#,
        UserId::from_uuid(alice)
    );
    sqlx::query("INSERT INTO events (at, type, body) VALUES (0, 'packet_sent', ?1)")
        .bind(&old_event)
        .execute(&mut conn)
        .await
        .expect("an event of version 2");
    conn.close().await.expect("closes");

    let store = SqliteStore::open(&path, Durability::Full).await.expect("a version 2 file opens");
    let mut tx = store.read().await.expect("a read begins");
    let found = tx.load(&[Key::Packet(packet)]).await.expect("load");
    assert!(matches!(found.as_slice(), [Fact::Packet(_, Some(p))] if p.salt.is_none()), "{found:?}");
    drop(tx);
    let dump = store.dump().await.expect("the old events decode");
    assert!(
        matches!(
            dump.events.as_slice(),
            [Event { what: EventKind::PacketSent { packet_id, commitment: None, .. }, .. }] if *packet_id == packet
        ),
        "{:?}",
        dump.events
    );
    assert!(dump.log.is_empty() && dump.checkpoints.is_empty());
    store.close().await;
    let versions: Vec<i64> = applied_migrations(&path).await.into_iter().map(|m| m.0).collect();
    assert_eq!(versions, vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
}

/// The development clock, the log's key and the nonces live in the file: a reopened store keeps
/// the offset it had, the first key, and refuses a replay of a nonce it saw before closing.
#[tokio::test]
async fn the_dev_clock_log_key_and_nonces_survive_reopening() {
    let (store, dir) = fresh_store().await;
    let path = store.path().to_owned();
    let key = KeyId::from_uuid(Scenario::new(33).mint_uuid());
    assert_eq!(store.advance_dev_clock(7_200_000).await.expect("the clock moves"), 7_200_000);
    assert_eq!(store.log_key("first+00000001+key").await.expect("log_key"), "first+00000001+key");
    assert!(store.remember_nonce(key, [9; 16], 2_000, 1_000).await.expect("remember_nonce"));
    store.close().await;

    let reopened = SqliteStore::open(&path, Durability::Full).await.expect("the file reopens");
    assert_eq!(reopened.dev_clock_offset().await.expect("the offset"), 7_200_000, "the offset survives");
    assert_eq!(reopened.advance_dev_clock(1).await.expect("the clock moves"), 7_200_001, "and grows from there");
    assert_eq!(reopened.log_key("second+00000002+key").await.expect("log_key"), "first+00000001+key");
    assert!(!reopened.remember_nonce(key, [9; 16], 2_000, 1_001).await.expect("remember_nonce"), "still a replay");
    reopened.close().await;
    drop(dir);
}

/// A file of schema version 4 had no schedule: its jobs found due work through partial indexes
/// on packets and pending transfers. Migration 5 builds the schedule from what is active and
/// pending, and nothing else, and drops those indexes.
#[tokio::test]
async fn a_file_at_schema_version_4_gains_the_schedule_of_what_is_due() {
    let (store, _dir) = fresh_store().await;
    let path = store.path().to_owned();
    let s = contract::a_world_with_due_work(&store, 33).await;
    store.close().await;
    let mut conn = inspect(&path).await;
    for statement in [
        "DROP TABLE deadlines",
        "CREATE INDEX packets_due ON packets (expires_at, id) WHERE status = 'active'",
        "CREATE INDEX pendings_due ON pendings (deadline) WHERE status = 'pending'",
        "DELETE FROM _sqlx_migrations WHERE version = 5",
    ] {
        sqlx::query(statement).execute(&mut conn).await.expect("the file goes back to version 4");
    }
    conn.close().await.expect("closes");

    let reopened = SqliteStore::open(&path, Durability::Full).await.expect("the file opens and migrates");
    contract::assert_store_holds_world(&reopened, &s.world).await;
    let mut conn = inspect(&path).await;
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name IN ('packets_due', 'pendings_due')")
            .fetch_one(&mut conn)
            .await
            .expect("the schema is readable");
    assert_eq!(left, 0, "the jobs' old indexes are gone");
}
