//! Several `hongbao serve` processes over one PostgreSQL database behave as one node, and a
//! PostgreSQL restart under load loses nothing that was acknowledged.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hongbao_client::{Client, Credentials, RawRequest, SignParts, Signing};
use hongbao_core::document::DocumentKind;
use hongbao_core::ops::PacketSpec;
use hongbao_core::{Fen, UserId};
use hongbao_store_postgres::testing::{PrivateServer, fresh_database};

use crate::procs::{Node, ready, shared_config, spawn, stop};

fn check(database: &str, config: &Path) -> String {
    let (passed, text) = crate::procs::check(database, config);
    assert!(passed, "{text}");
    text
}

/// Root's client, from the node that bootstrapped, pointed at `url`.
fn root_at(nodes: &[Node], url: &str) -> Client {
    let bootstrapper = nodes.iter().find(|n| n.created_root).expect("one node created root");
    let credentials = Credentials::load(bootstrapper.data_dir.join("root-credentials.json")).unwrap();
    Client::new(url, credentials.key_id, credentials.secret.expose()).unwrap()
}

/// A user: their client (talking to one node, round robin) and their credentials.
struct Person {
    client: Client,
    id: UserId,
    created: hongbao_core::ops::UserCreated,
}

impl Person {
    /// The same person talking to another node.
    fn at(&self, node: &Node) -> Client {
        Client::new(&node.url, self.created.key_id, self.created.secret.expose()).unwrap()
    }
}

async fn users(root: &Client, nodes: &[Node], count: usize, fen: i64) -> Vec<Person> {
    let mut out = Vec::new();
    for i in 0..count {
        let created = root.create_user(&format!("user {i}")).send().await.unwrap();
        if fen > 0 {
            root.deposit(created.user_id, Fen::new(fen)).send().await.unwrap();
        }
        let node = &nodes[i % nodes.len()];
        let client = Client::new(&node.url, created.key_id, created.secret.expose()).unwrap();
        out.push(Person { client, id: created.user_id, created });
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_on_one_database_behave_as_one_node() {
    let Some(database) = fresh_database().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = shared_config(dir.path(), "");
    // All three start at once on the empty database: exactly one creates root.
    let children: Vec<Node> =
        (0..3).map(|i| spawn(&database.url, &dir.path().join(format!("node{i}")), &config)).collect();
    let mut nodes: Vec<Node> = children.into_iter().map(ready).collect();
    assert_eq!(nodes.iter().filter(|n| n.created_root).count(), 1, "root is created exactly once");

    let root = root_at(&nodes, &nodes[1].url.clone());
    let people = users(&root, &nodes, 30, 10_000).await;
    let ids: Vec<UserId> = people.iter().map(|p| p.id).collect();
    let sender = &people[0].client;
    let group = sender.create_group("everyone", &ids[1..]).send().await.unwrap().group_id;

    // Three lucky packets of 10 shares, 30 people grabbing each through all three nodes at once.
    let mut packets = Vec::new();
    for _ in 0..3 {
        let spec = PacketSpec::Lucky { group_id: group, count: 10, total: Fen::new(1_000) };
        packets.push(sender.send_packet(&spec, &Default::default()).send().await.unwrap().packet_id);
    }
    let won = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for person in &people {
        for &packet in &packets {
            let (client, won) = (person.client.clone(), won.clone());
            tasks.push(tokio::spawn(async move {
                match client.claim(packet).send().await {
                    Ok(_) => {
                        won.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(err) => assert_eq!(err.code(), Some("packet_exhausted"), "{err}"),
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(won.load(Ordering::SeqCst), 30, "exactly 10 shares of each packet, whichever node took the claim");

    // A normal packet half claimed, then the shared development clock moved through another node.
    let spec = PacketSpec::Normal { group_id: group, count: 4, amount_each: Fen::new(250) };
    let half = sender.send_packet(&spec, &Default::default()).send().await.unwrap().packet_id;
    people[1].client.claim(half).send().await.unwrap();
    people[2].client.claim(half).send().await.unwrap();
    let before = sender.me().send().await.unwrap().balance;
    root_at(&nodes, &nodes[2].url.clone()).dev_clock(86_400).send().await.unwrap();
    // Every node now lives at the moved time: a claim through any of them is refused as expired.
    for node in &nodes {
        let late = people[4].at(node).claim(half).send().await.unwrap_err();
        assert_eq!(late.code(), Some("packet_expired"), "through {}", node.url);
    }
    let after = sender.me().send().await.unwrap().balance;
    assert_eq!(after.checked_sub(before).unwrap(), Fen::new(500), "the unclaimed half came back");
    let history = sender.transactions(Some(100), None).send().await.unwrap();
    let refunds = history.items.iter().filter(|t| t.packet_id == Some(half) && t.kind.as_str() == "packet_refund");
    assert_eq!(refunds.count(), 1, "refunded exactly once, whichever nodes ran their jobs");

    // A freeze placed through one node ends at its term exactly once, whichever nodes ran their
    // jobs when the shared clock reached it (the move above was one of its two days).
    let spec = hongbao_client::wire::PlaceFreezeRequest {
        user_id: people[3].id,
        kind: hongbao_core::risk::FreezeKind::Precautionary,
        amount: Some(2_000),
        reason: "reports".to_owned(),
        documents: Vec::new(),
        expires_at: None,
        major_case: false,
    };
    let freeze = root_at(&nodes, &nodes[0].url.clone()).place_freeze(&spec).send().await.unwrap();
    assert_eq!(freeze.held, Fen::new(2_000));
    root_at(&nodes, &nodes[1].url.clone()).dev_clock(2 * 86_400).send().await.unwrap();
    for node in &nodes {
        let seen = root_at(&nodes, &node.url.clone()).freeze(freeze.freeze_id).send().await.unwrap();
        assert_eq!((seen.status.as_str(), seen.held), ("expired", Fen::ZERO), "through {}", node.url);
    }
    assert_eq!(people[3].client.me().send().await.unwrap().frozen, Fen::ZERO);
    let page = root.send(RawRequest::get("/v1/audit/entries?limit=1000".to_owned())).await.unwrap();
    let page: serde_json::Value = page.json().unwrap();
    assert_eq!(page["next"], serde_json::Value::Null, "one page holds the whole log");
    let expiries =
        page["entries"].as_array().unwrap().iter().filter(|e| e["decoded"]["event"]["type"] == "freeze_expired");
    assert_eq!(expiries.count(), 1, "expired exactly once on three nodes");

    // Four eyes across nodes: a court freeze, a proposal through one node, and the second officer
    // approving through the two others at once. The money moves once.
    let officer = |name: &'static str| {
        let root = root.clone();
        async move { root.create_operator(name, &[hongbao_core::principal::Role::LegalOfficer]).send().await.unwrap() }
    };
    let (one, two) = (officer("legal one").await, officer("legal two").await);
    let at = |created: &hongbao_core::ops::OperatorCreated, node: &Node| {
        Client::new(&node.url, created.key_id, created.secret.expose()).unwrap()
    };
    let legal = at(&one, &nodes[0]);
    let mut documents = Vec::new();
    for kind in [DocumentKind::CourtRuling, DocumentKind::AssistanceNotice, DocumentKind::TransferOrder] {
        let body = hongbao_client::wire::RegisterDocumentRequest {
            kind,
            authority: "court".to_owned(),
            reference: kind.as_str().to_owned(),
            issued_at: hongbao_core::Timestamp::from_millis(0),
            sha256: "ab".repeat(32),
            evidence_id: None,
            confidential: false,
        };
        documents.push(legal.register_document(&body).send().await.unwrap().document_id);
    }
    let court = hongbao_client::wire::PlaceFreezeRequest {
        user_id: people[6].id,
        kind: hongbao_core::risk::FreezeKind::Court,
        amount: Some(3_000),
        reason: "judgment".to_owned(),
        documents: documents[..2].to_vec(),
        expires_at: None,
        major_case: false,
    };
    let court = legal.place_freeze(&court).send().await.unwrap();
    let proposal = hongbao_client::wire::ProposeSeizureRequest {
        freeze_id: court.freeze_id,
        amount: 1_000,
        to: hongbao_core::seizure::SeizureTarget::User(people[7].id),
        reason: "return to the victim".to_owned(),
        documents: vec![documents[2]],
    };
    let proposed = legal.propose_seizure(&proposal).send().await.unwrap();
    let before = people[7].client.me().send().await.unwrap().balance;
    let (first, second) = (at(&two, &nodes[1]), at(&two, &nodes[2]));
    let (a, b) = tokio::join!(
        first.approve_seizure(proposed.seizure_id).send(),
        second.approve_seizure(proposed.seizure_id).send()
    );
    let executed = [&a, &b].iter().filter(|r| r.is_ok()).count();
    assert_eq!(executed, 1, "exactly one approval executes: {a:?} {b:?}");
    let refused = match (a, b) {
        (Err(refused), _) | (_, Err(refused)) => refused,
        (Ok(_), Ok(_)) => unreachable!("counted above"),
    };
    assert_eq!(refused.code(), Some("invalid_state"), "{refused}");
    let after = people[7].client.me().send().await.unwrap().balance;
    assert_eq!(after.checked_sub(before).unwrap(), Fen::new(1_000), "moved once");

    // A nonce accepted by one node is refused by another.
    let signed = |client: Client| async move {
        let parts = SignParts { nonce: Some("shared-nonce-0000001".to_owned()), ..SignParts::default() };
        client.send(RawRequest::get("/v1/me".to_owned()).signing(Signing::custom(parts))).await.unwrap()
    };
    assert_eq!(signed(people[5].at(&nodes[0])).await.status.as_u16(), 200);
    let replay = signed(people[5].at(&nodes[1])).await;
    assert_eq!(replay.status.as_u16(), 409);
    assert_eq!(replay.error_code().as_deref(), Some("replayed_request"));

    for node in &mut nodes {
        stop(node);
    }
    let report = check(&database.url, &config);
    assert!(report.contains("all nine invariants hold") && report.contains("every one consistent"), "{report}");

    // The log the three nodes wrote, on PostgreSQL: editing one stored entry, reordering two or
    // deleting one is each caught by `hongbao check`; undone, the check passes again.
    let swap = [
        "UPDATE log_entries SET idx = 1000000 WHERE idx = 3",
        "UPDATE log_entries SET idx = 3 WHERE idx = 4",
        "UPDATE log_entries SET idx = 4 WHERE idx = 1000000",
    ];
    let cases: [(&[&str], &[&str], &str); 3] = [
        (
            &["UPDATE log_entries SET entry = entry || '\\x20'::bytea WHERE idx = 3"],
            &["UPDATE log_entries SET entry = substring(entry FROM 1 FOR length(entry) - 1) WHERE idx = 3"],
            "do not hash to the signed root",
        ),
        (&swap, &swap, "do not hash to the signed root"),
        (&["DELETE FROM log_entries WHERE idx = 3"], &[], "entry 3 is missing"),
    ];
    for (tamper, undo, expect) in cases {
        sql(&database.url, tamper).await;
        let (passed, report) = crate::procs::check(&database.url, &config);
        assert!(!passed && report.contains(expect), "{tamper:?}: {report}");
        if !undo.is_empty() {
            sql(&database.url, undo).await;
            check(&database.url, &config);
        }
    }
}

/// Runs each statement on its own, each changing at least one row.
async fn sql(url: &str, statements: &[&str]) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    for statement in statements {
        let done = sqlx::query(sqlx::AssertSqlSafe(statement.to_string())).execute(&mut conn).await.unwrap();
        assert!(done.rows_affected() >= 1, "{statement} changed nothing");
    }
}

/// What a client saw for one operation, once it got an answer.
#[derive(Clone, Debug)]
enum Outcome {
    Moved { from: usize, to: usize, amount: i64, transfer: hongbao_core::TransferId },
    Refused(String),
}

/// Sends one transfer until it gets an answer the API gives (not a 503 or a broken
/// connection), always with the same idempotency key, as a real client would.
async fn until_answered(
    client: &Client,
    to: UserId,
    amount: i64,
    key: &str,
    unanswered: &AtomicUsize,
) -> Result<hongbao_core::TransferId, String> {
    for _ in 0..2_000 {
        let call = client.transfer(to, Fen::new(amount), &Default::default()).idempotency_key(key);
        match call.send().await {
            Ok(receipt) => return Ok(receipt.transfer_id),
            Err(err) if err.status().is_some_and(|s| s.as_u16() != 503) => {
                return Err(err.code().unwrap_or("?").to_owned());
            }
            // Unavailable or no connection: nothing acknowledged; ask again.
            Err(_) => {
                unanswered.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
            }
        }
    }
    panic!("no answer for {key} after 2 000 attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_under_load_loses_nothing_acknowledged_and_the_nodes_serve_again() {
    let Some(server) = PrivateServer::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = shared_config(dir.path(), "[storage.postgres]\nacquire_timeout_ms = 500\n");
    let nodes: Vec<Node> =
        (0..2).map(|i| spawn(&server.url(), &dir.path().join(format!("node{i}")), &config)).map(ready).collect();
    let root = root_at(&nodes, &nodes[0].url.clone());
    const START_FEN: i64 = 10_000;
    let people = users(&root, &nodes, 8, START_FEN).await;
    let ids: Vec<UserId> = people.iter().map(|p| p.id).collect();

    let acknowledged = Arc::new(AtomicUsize::new(0));
    let unanswered = Arc::new(AtomicUsize::new(0));
    let halfway = Arc::new(tokio::sync::Notify::new());
    let mut tasks = Vec::new();
    for (from, person) in people.iter().enumerate() {
        let (client, ids) = (person.client.clone(), ids.clone());
        let (acknowledged, halfway, unanswered) = (acknowledged.clone(), halfway.clone(), unanswered.clone());
        tasks.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for op in 0..25 {
                let to = (from + 1 + op % 3) % ids.len();
                let amount = i64::try_from(1 + (from + op) % 7).unwrap();
                let key = format!("load-{from}-{op}");
                let outcome = match until_answered(&client, ids[to], amount, &key, &unanswered).await {
                    Ok(transfer) => Outcome::Moved { from, to, amount, transfer },
                    Err(code) => Outcome::Refused(code),
                };
                outcomes.push(outcome);
                if acknowledged.fetch_add(1, Ordering::SeqCst) + 1 == 60 {
                    halfway.notify_one();
                }
            }
            outcomes
        }));
    }
    // In the middle of the load: PostgreSQL crashes (no clean shutdown) and comes back.
    halfway.notified().await;
    tokio::task::block_in_place(|| {
        server.kill();
        server.start_again();
    });
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.extend(task.await.unwrap());
    }
    // The crash was felt: some requests got no answer and were asked again.
    let retried = unanswered.load(Ordering::SeqCst);
    assert!(retried > 0, "the restart happened while no request was in flight");
    eprintln!("restart under load: {} operations acknowledged, {retried} unanswered attempts retried", outcomes.len());

    // Every acknowledged transfer is there, once, and the balances are exactly what the
    // clients' own record of acknowledged answers says.
    let mut expected = vec![START_FEN; ids.len()];
    let mut transfers = std::collections::HashSet::new();
    for outcome in &outcomes {
        match outcome {
            Outcome::Moved { from, to, amount, transfer } => {
                expected[*from] -= amount;
                expected[*to] += amount;
                assert!(transfers.insert(*transfer), "transfer {transfer} acknowledged twice");
            }
            Outcome::Refused(code) => assert_eq!(code, "insufficient_funds", "an unexpected refusal"),
        }
    }
    for (i, person) in people.iter().enumerate() {
        // The nodes serve again by themselves: both answer.
        for node in &nodes {
            let me = person.at(node).me().send().await.expect("the node serves again after the restart");
            assert_eq!(me.balance, Fen::new(expected[i]), "user {i} through {}", node.url);
        }
        let history = person.client.transactions(Some(100), None).send().await.unwrap();
        for item in history
            .items
            .iter()
            .filter(|t| t.kind.as_str() == "transfer" && t.direction == hongbao_client::wire::Direction::Out)
        {
            assert!(transfers.contains(&item.transfer_id), "{} was applied but never acknowledged", item.transfer_id);
        }
    }
    let mut nodes = nodes;
    for node in &mut nodes {
        stop(node);
    }
    let report = check(&server.url(), &config);
    assert!(report.contains("all nine invariants hold"), "{report}");
}
