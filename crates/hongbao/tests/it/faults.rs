//! Crash and fault safety: the server is killed with SIGKILL at random moments while clients
//! work, and restarted; PostgreSQL itself is crashed too. An acknowledged operation survives,
//! an unacknowledged one is applied once or not at all, money is conserved — in the spirit of
//! Jepsen's bank test. And a full or read-only disk makes the server answer 503, never 200 for
//! what it could not store, until the fault is removed.
//!
//! `HONGBAO_FAULT_KILLS` sets the number of kills per run (default 20), `HONGBAO_FAULT_SEED`
//! the seed (printed in the summary line, so a run can be replayed).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hongbao_client::{Client, ClientError, Credentials, PacketOptions, TransferOptions};
use hongbao_core::ops::PacketSpec;
use hongbao_core::{ClaimId, Fen, GroupId, PacketId, TransferId, UserId};
use hongbao_store_postgres::testing::PrivateServer;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::Value;
use tokio::sync::{Notify, watch};

use crate::procs::{self, Node, shared_config};

const CLIENTS: usize = 6;
const START_FEN: i64 = 50_000;

/// Operations per client: enough that every kill lands in the middle of work.
fn ops_per_client(kills: usize) -> usize {
    70.max(kills * 4)
}

fn kills_wanted() -> usize {
    std::env::var("HONGBAO_FAULT_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(20)
}

fn seed() -> u64 {
    std::env::var("HONGBAO_FAULT_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_secs())
    })
}

/// One operation a client asks for, with the idempotency key it keeps for every retry.
#[derive(Clone, Debug)]
enum Op {
    Deposit { amount: i64 },
    Transfer { to: usize, amount: i64, delay: u32 },
    RevokeTransfer { transfer: TransferId },
    Send { spec: PacketSpec, delay: u32 },
    Claim { packet: PacketId },
    Recall { packet: PacketId },
    Return { claim: ClaimId },
    RevokeClaim { claim: ClaimId },
}

/// An operation and the answer it finally got.
#[derive(Clone, Debug)]
struct Ack {
    client: usize,
    op: Op,
    key: String,
    status: u16,
    body: Value,
}

/// What the clients learn from acknowledged answers, to choose later operations.
#[derive(Default)]
struct Known {
    packets: Vec<(PacketId, usize)>,
    claims: Vec<(ClaimId, usize, usize, bool)>,
    pending_transfers: Vec<(TransferId, usize)>,
}

struct World {
    ids: Vec<UserId>,
    group: GroupId,
    known: Mutex<Known>,
    acks: Mutex<Vec<Ack>>,
    acknowledged: AtomicUsize,
    retries: AtomicUsize,
    progress: Notify,
}

/// The server under test: a `hongbao serve` process that can be killed and started again on
/// the same port and data.
struct Target {
    database: String,
    data_dir: PathBuf,
    config: PathBuf,
    listen: String,
    node: Option<Node>,
}

impl Target {
    fn start(&mut self) -> &Node {
        let node = procs::start(&self.database, &self.data_dir, &self.config, &self.listen);
        if self.listen.ends_with(":0") {
            self.listen = node.url.trim_start_matches("http://").to_owned();
        }
        self.node = Some(node);
        self.node.as_ref().unwrap()
    }

    fn kill(&mut self) {
        if let Some(mut node) = self.node.take() {
            procs::kill(&mut node);
        }
    }
}

/// Sends `op` until it gets an answer of the API (anything but no connection or a 503), with
/// the same idempotency key every time. Waits for the next restart when the server is gone.
async fn ask(
    client: &Client,
    op: &Op,
    key: &str,
    ids: &[UserId],
    up: &mut watch::Receiver<u64>,
    world: &World,
) -> (u16, Value) {
    loop {
        let generation = *up.borrow();
        let answer = match op {
            Op::Deposit { .. } => unreachable!("deposits are made by root"),
            Op::Transfer { to, amount, delay } => {
                let options = TransferOptions::default().arrival_delay_seconds(*delay);
                client.transfer(ids[*to], Fen::new(*amount), &options).idempotency_key(key).send_raw().await
            }
            Op::RevokeTransfer { transfer } => client.revoke_transfer(*transfer).idempotency_key(key).send_raw().await,
            Op::Send { spec, delay } => {
                let options = PacketOptions::default().arrival_delay_seconds(*delay);
                client.send_packet(spec, &options).idempotency_key(key).send_raw().await
            }
            Op::Claim { packet } => client.claim(*packet).idempotency_key(key).send_raw().await,
            Op::Recall { packet } => client.recall(*packet).idempotency_key(key).send_raw().await,
            Op::Return { claim } => client.return_claim(*claim).idempotency_key(key).send_raw().await,
            Op::RevokeClaim { claim } => client.revoke_claim(*claim).idempotency_key(key).send_raw().await,
        };
        match answer {
            Ok(raw) if raw.status.as_u16() != 503 => {
                let body = serde_json::from_slice(&raw.body).unwrap_or(Value::Null);
                return (raw.status.as_u16(), body);
            }
            // 503 or no connection: nothing acknowledged. Ask again, after the next restart
            // when the server is down.
            Ok(_) => {
                world.retries.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
            }
            Err(ClientError::Transport { .. }) => {
                world.retries.fetch_add(1, Ordering::SeqCst);
                if *up.borrow() == generation {
                    let _ = up.changed().await;
                }
            }
            Err(err) => panic!("{key}: {err}"),
        }
    }
}

/// Deposits go through root; the same retry rule.
async fn ask_root(
    root: &Client,
    user: UserId,
    amount: i64,
    key: &str,
    up: &mut watch::Receiver<u64>,
    world: &World,
) -> (u16, Value) {
    loop {
        let generation = *up.borrow();
        match root.deposit(user, Fen::new(amount)).idempotency_key(key).send_raw().await {
            Ok(raw) if raw.status.as_u16() != 503 => {
                return (raw.status.as_u16(), serde_json::from_slice(&raw.body).unwrap_or(Value::Null));
            }
            Ok(_) => {
                world.retries.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
            }
            Err(ClientError::Transport { .. }) => {
                world.retries.fetch_add(1, Ordering::SeqCst);
                if *up.borrow() == generation {
                    let _ = up.changed().await;
                }
            }
            Err(err) => panic!("{key}: {err}"),
        }
    }
}

fn choose(rng: &mut StdRng, me: usize, world: &World) -> Op {
    let known = world.known.lock().unwrap();
    let others = |rng: &mut StdRng| (me + rng.random_range(1..CLIENTS)) % CLIENTS;
    let delay = |rng: &mut StdRng| if rng.random_range(0..4) == 0 { 7_200 } else { 0 };
    match rng.random_range(0..100) {
        0..=9 => Op::Deposit { amount: rng.random_range(1..2_000) },
        10..=29 => Op::Transfer { to: others(rng), amount: rng.random_range(1..3_000), delay: delay(rng) },
        30..=34 => match known.pending_transfers.iter().rfind(|(_, from)| *from == me) {
            Some((transfer, _)) => Op::RevokeTransfer { transfer: *transfer },
            None => Op::Deposit { amount: 10 },
        },
        35..=54 => {
            let spec = match rng.random_range(0..3) {
                0 => PacketSpec::Normal {
                    group_id: world.group,
                    count: rng.random_range(1..=4),
                    amount_each: Fen::new(rng.random_range(1..500)),
                },
                1 => PacketSpec::Lucky {
                    group_id: world.group,
                    count: rng.random_range(1..=4),
                    total: Fen::new(rng.random_range(4..2_000)),
                },
                _ => PacketSpec::Exclusive {
                    recipient: world.ids[others(rng)],
                    amount: Fen::new(rng.random_range(1..800)),
                },
            };
            Op::Send { spec, delay: delay(rng) }
        }
        55..=79 => match known.packets.get(rng.random_range(0..known.packets.len().max(1))) {
            Some((packet, _)) => Op::Claim { packet: *packet },
            None => Op::Deposit { amount: 10 },
        },
        80..=86 => match known.packets.iter().rfind(|(_, sender)| *sender == me) {
            Some((packet, _)) => Op::Recall { packet: *packet },
            None => Op::Deposit { amount: 10 },
        },
        87..=93 => match known.claims.iter().rfind(|(_, claimant, _, _)| *claimant == me) {
            Some((claim, _, _, _)) => Op::Return { claim: *claim },
            None => Op::Deposit { amount: 10 },
        },
        _ => match known.claims.iter().rfind(|(_, _, sender, pending)| *sender == me && *pending) {
            Some((claim, _, _, _)) => Op::RevokeClaim { claim: *claim },
            None => Op::Deposit { amount: 10 },
        },
    }
}

/// Learns from an acknowledged answer what later operations may use.
fn learn(world: &World, client: usize, op: &Op, status: u16, body: &Value) {
    if !(200..300).contains(&status) {
        return;
    }
    let mut known = world.known.lock().unwrap();
    let id = |field: &str| body[field].as_str().map(str::to_owned);
    match op {
        Op::Send { .. } => {
            if let Some(packet) = id("packet_id").and_then(|p| p.parse().ok()) {
                known.packets.push((packet, client));
            }
        }
        Op::Claim { packet } => {
            let sender = known.packets.iter().find(|(p, _)| p == packet).map_or(client, |(_, s)| *s);
            if let Some(claim) = id("claim_id").and_then(|c| c.parse().ok()) {
                known.claims.push((claim, client, sender, body["status"] == "pending"));
            }
        }
        Op::Transfer { .. } if body["status"] == "pending" => {
            if let Some(transfer) = id("transfer_id").and_then(|t| t.parse().ok()) {
                known.pending_transfers.push((transfer, client));
            }
        }
        _ => {}
    }
}

/// Posted balances as the clients' own record of acknowledged answers says they must be.
fn expected_balances(
    acks: &[Ack],
    known_senders: &HashMap<PacketId, usize>,
    claimants: &HashMap<ClaimId, (usize, usize)>,
) -> Vec<i64> {
    let mut balance = vec![START_FEN; CLIENTS];
    for ack in acks.iter().filter(|a| (200..300).contains(&a.status)) {
        let amount = |field: &str| {
            ack.body[field].as_i64().unwrap_or_else(|| panic!("{} has no {field}: {}", ack.key, ack.body))
        };
        match &ack.op {
            Op::Deposit { amount } => balance[ack.client] += amount,
            Op::Transfer { to, amount, .. } => {
                if ack.body["status"] == "arrived" {
                    balance[ack.client] -= amount;
                    balance[*to] += amount;
                }
            }
            Op::RevokeTransfer { .. } => {}
            Op::Send { .. } => balance[ack.client] -= amount("total"),
            Op::Claim { .. } => {
                if ack.body["status"] == "arrived" {
                    balance[ack.client] += amount("amount");
                }
            }
            Op::Recall { packet } => balance[known_senders[packet]] += amount("refunded"),
            Op::Return { claim } => {
                let (claimant, sender) = claimants[claim];
                balance[claimant] -= amount("amount");
                balance[sender] += amount("amount");
            }
            Op::RevokeClaim { claim } => balance[claimants[claim].1] += amount("amount"),
        }
    }
    balance
}

/// Runs the workload against `target`, killing the server `kills` times, and checks.
async fn run(mut target: Target, label: &str, private_postgres: Option<&PrivateServer>) {
    let seed = seed();
    let kills = kills_wanted();
    let first = target.start();
    assert!(first.created_root);
    let credentials = Credentials::load(first.data_dir.join("root-credentials.json")).unwrap();
    let url = first.url.clone();
    let root = Client::new(&url, credentials.key_id, credentials.secret.expose()).unwrap();
    let mut people = Vec::new();
    for i in 0..CLIENTS {
        let created = root.create_user(&format!("client {i}")).send().await.unwrap();
        root.deposit(created.user_id, Fen::new(START_FEN)).send().await.unwrap();
        people.push((root.for_user(&created), created.user_id));
    }
    let ids: Vec<UserId> = people.iter().map(|(_, id)| *id).collect();
    let group = people[0].0.create_group("all", &ids[1..]).send().await.unwrap().group_id;
    let world = Arc::new(World {
        ids: ids.clone(),
        group,
        known: Mutex::new(Known::default()),
        acks: Mutex::new(Vec::new()),
        acknowledged: AtomicUsize::new(0),
        retries: AtomicUsize::new(0),
        progress: Notify::new(),
    });
    let (up, _) = watch::channel(0u64);

    let mut tasks = Vec::new();
    for (i, (client, _)) in people.iter().enumerate() {
        let (client, root, world, label) = (client.clone(), root.clone(), world.clone(), label.to_owned());
        let mut up = up.subscribe();
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9));
            for n in 0..ops_per_client(kills) {
                let op = choose(&mut rng, i, &world);
                let key = format!("{label}-{seed}-c{i}-op{n}");
                let (status, body) = match &op {
                    Op::Deposit { amount } => ask_root(&root, world.ids[i], *amount, &key, &mut up, &world).await,
                    _ => ask(&client, &op, &key, &world.ids, &mut up, &world).await,
                };
                assert!(status < 500, "{key}: {status} {body}");
                learn(&world, i, &op, status, &body);
                world.acks.lock().unwrap().push(Ack { client: i, op, key, status, body });
                world.acknowledged.fetch_add(1, Ordering::SeqCst);
                world.progress.notify_waiters();
            }
        }));
    }

    // The killer: after a random amount of progress, SIGKILL; check the database as the crash
    // left it; start again; replay the latest acknowledged answers.
    let mut rng = StdRng::seed_from_u64(seed);
    let mut crashes_of_postgres = 0;
    for k in 0..kills {
        let target_progress = world.acknowledged.load(Ordering::SeqCst) + rng.random_range(3..12);
        while world.acknowledged.load(Ordering::SeqCst) < target_progress
            && world.acknowledged.load(Ordering::SeqCst) < CLIENTS * ops_per_client(kills)
        {
            let notified = world.progress.notified();
            if world.acknowledged.load(Ordering::SeqCst) >= target_progress {
                break;
            }
            notified.await;
        }
        tokio::task::block_in_place(|| {
            target.kill();
            if let Some(postgres) = private_postgres
                && k % 5 == 4
            {
                // Now and then the database crashes with it.
                postgres.kill();
                postgres.start_again();
                crashes_of_postgres += 1;
            }
            let (passed, report) = procs::check(&target.database, &target.config);
            assert!(passed, "after kill {}: {report}", k + 1);
            target.start();
        });
        up.send_modify(|g| *g += 1);
        let recent: Vec<Ack> = world.acks.lock().unwrap().iter().rev().take(8).cloned().collect();
        replay(&recent, &people, &root).await;
    }
    for task in tasks {
        task.await.unwrap();
    }

    // Every acknowledged operation is there, with the same answer; nothing was applied twice.
    let acks = world.acks.lock().unwrap().clone();
    replay(&acks, &people, &root).await;
    let (senders, claimants) = {
        let known = world.known.lock().unwrap();
        let senders: HashMap<PacketId, usize> = known.packets.iter().copied().collect();
        let claimants: HashMap<ClaimId, (usize, usize)> =
            known.claims.iter().map(|(c, who, from, _)| (*c, (*who, *from))).collect();
        (senders, claimants)
    };
    let expected = expected_balances(&acks, &senders, &claimants);
    let mut lost = 0;
    for (i, (client, _)) in people.iter().enumerate() {
        let balance = client.me().send().await.unwrap().balance.get();
        if balance != expected[i] {
            lost += 1;
            eprintln!("client {i}: the server says {balance} fen, the acknowledged answers say {}", expected[i]);
        }
    }
    let transfers: HashSet<&str> = acks.iter().filter_map(|a| a.body["transfer_id"].as_str()).collect();
    let moved = acks
        .iter()
        .filter(|a| a.body["transfer_id"].is_string() && matches!(a.op, Op::Transfer { .. } | Op::Deposit { .. }))
        .count();
    assert_eq!(transfers.len(), moved, "a transfer was acknowledged under two operations");
    target.kill();
    let (passed, report) = procs::check(&target.database, &target.config);
    let violations = usize::from(!passed);
    println!(
        "fault harness ({label}, seed {seed}): {kills} kills survived, {crashes_of_postgres} database crashes, {} operations acknowledged, {lost} lost, {violations} invariant violations, {} unanswered attempts retried",
        acks.len(),
        world.retries.load(Ordering::SeqCst)
    );
    assert_eq!(lost, 0);
    assert!(passed, "{report}");
}

/// Asks for each acknowledged operation again, with its key: the answer must be the same.
async fn replay(acks: &[Ack], people: &[(Client, UserId)], root: &Client) {
    let world_ids: Vec<UserId> = people.iter().map(|(_, id)| *id).collect();
    let dummy = World {
        ids: world_ids.clone(),
        group: GroupId::from_uuid(hongbao_core::id::Uuid::nil()),
        known: Mutex::new(Known::default()),
        acks: Mutex::new(Vec::new()),
        acknowledged: AtomicUsize::new(0),
        retries: AtomicUsize::new(0),
        progress: Notify::new(),
    };
    let (_keep, mut up) = watch::channel(0u64);
    for ack in acks {
        let (status, body) = match &ack.op {
            Op::Deposit { amount } => ask_root(root, world_ids[ack.client], *amount, &ack.key, &mut up, &dummy).await,
            op => ask(&people[ack.client].0, op, &ack.key, &world_ids, &mut up, &dummy).await,
        };
        assert_eq!((status, &body), (ack.status, &ack.body), "{} answered differently when asked again", ack.key);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_at_random_moments_loses_nothing_acknowledged_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let config = shared_config(dir.path(), "");
    let data_dir = dir.path().join("data");
    let database = data_dir.join("hongbao.db").to_string_lossy().into_owned();
    let target = Target { database, data_dir, config, listen: "127.0.0.1:0".to_owned(), node: None };
    run(target, "sqlite", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_and_postgres_at_random_moments_loses_nothing_acknowledged() {
    let Some(postgres) = PrivateServer::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = shared_config(dir.path(), "[storage.postgres]\nacquire_timeout_ms = 500\n");
    let target = Target {
        database: postgres.url(),
        data_dir: dir.path().join("data"),
        config,
        listen: "127.0.0.1:0".to_owned(),
        node: None,
    };
    run(target, "postgres", Some(&postgres)).await;
}

/// A tmpfs of its own, mounted on `path` with `size_kib`; unmounted when dropped.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(path: &Path, size_kib: u32) -> Option<Mount> {
        std::fs::create_dir_all(path).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_kib}k"), "tmpfs"])
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(Mount(path.to_owned()));
        }
        assert!(std::env::var_os("CI").is_none(), "CI runs the storage fault tests: mounting a tmpfs must work");
        eprintln!("cannot mount a tmpfs here (not root?): storage fault test skipped");
        None
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills a filesystem to the last byte; the filler file is removed to free it.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write as _;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let block = vec![0u8; 64 * 1024];
    while file.write_all(&block).and_then(|()| file.sync_all()).is_ok() {}
    let small = [0u8; 512];
    while file.write_all(&small).and_then(|()| file.sync_all()).is_ok() {}
    path
}

/// Asks the deposit of 7 fen under `key` again until it is stored (at most 50 times; every
/// refusal meanwhile a 503), then once more, which answers 201 again. `false` if it never was.
async fn deposit_until_stored(root: &Client, user: UserId, key: &str) -> bool {
    for _ in 0..50 {
        let answer = root.deposit(user, Fen::new(7)).idempotency_key(key).send_raw().await.unwrap();
        if answer.status.as_u16() == 201 {
            let again = root.deposit(user, Fen::new(7)).idempotency_key(key).send_raw().await.unwrap();
            assert_eq!(again.status.as_u16(), 201);
            return true;
        }
        assert_eq!(answer.status.as_u16(), 503, "{}", answer.text());
        tokio::task::yield_now().await;
    }
    false
}

/// Deposits a full-disk round makes at most before one must have been refused.
const FULL_DISK_DEPOSITS_MAX: usize = 2_000;

/// A full disk, for real: the data directory is a small tmpfs of its own, filled to the last
/// byte while the server runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_acknowledges_only_what_it_stored_and_recovers_when_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mount) = Mount::tmpfs(&dir.path().join("data"), 16 * 1024) else { return };
    let config = shared_config(dir.path(), "");
    let database = mount.0.join("hongbao.db").to_string_lossy().into_owned();
    let mut node = procs::start(&database, &mount.0, &config, "127.0.0.1:0");
    let credentials = Credentials::load(mount.0.join("root-credentials.json")).unwrap();
    let root = Client::new(&node.url, credentials.key_id, credentials.secret.expose()).unwrap();
    let alice = root.create_user("alice").send().await.unwrap();
    root.deposit(alice.user_id, Fen::new(100)).send().await.unwrap();
    let balance = || async { root.for_user(&alice).me().send().await.map(|me| me.balance.get()) };

    for round in 0..2 {
        let filler = tokio::task::block_in_place(|| fill(&mount.0));
        // A write the WAL still has room for is stored and acknowledged: SQLite reuses the WAL
        // file's space once its pages are checkpointed into the database. One that needs new
        // space is refused, and applied nowhere. Deposit until one is refused.
        let mut refused = None;
        for attempt in 0..FULL_DISK_DEPOSITS_MAX {
            let before = balance().await.ok();
            let key = format!("deposit-while-full-{round}-{attempt}");
            let answer = root.deposit(alice.user_id, Fen::new(7)).idempotency_key(&key).send_raw().await.unwrap();
            let after = balance().await.ok();
            match answer.status.as_u16() {
                201 => {
                    if let (Some(before), Some(after)) = (before, after) {
                        assert_eq!(after, before + 7, "an acknowledged deposit is stored");
                    }
                }
                503 => {
                    assert_eq!(answer.error_code().as_deref(), Some("unavailable"));
                    if let (Some(before), Some(after)) = (before, after) {
                        assert_eq!(after, before, "nothing was applied");
                    }
                    refused = Some(key);
                    break;
                }
                other => panic!("a deposit on a full disk answered {other}: {}", answer.text()),
            }
        }
        let key = refused.expect("a full disk refuses a write before long");
        // Space returns: the same server stores again, and the refused request, asked again
        // with its key, is applied once.
        std::fs::remove_file(filler).unwrap();
        let before = balance().await.unwrap();
        assert!(
            deposit_until_stored(&root, alice.user_id, &key).await,
            "the server did not recover when space returned"
        );
        assert_eq!(balance().await.unwrap(), before + 7, "applied exactly once");
    }
    procs::stop(&mut node);
    let (passed, report) = procs::check(&database, &config);
    assert!(passed, "{report}");
}

/// Makes `paths` immutable (`chattr +i`) or writable again: every write to them fails, even
/// through a file the server already holds open and even for root, whom permissions do not stop.
/// `false` when the file system or the user cannot (tmpfs has no such attribute).
fn immutable(paths: &[PathBuf], on: bool) -> bool {
    std::process::Command::new("chattr")
        .arg(if on { "+i" } else { "-i" })
        .args(paths)
        .status()
        .is_ok_and(|s| s.success())
}

/// A data directory that becomes read-only while the server runs: the database, its WAL and the
/// directory itself are made immutable (remounting the file system read-only is refused while
/// the database is open for writing, and root ignores permissions, so this is how a test run as
/// root makes every write fail). Writes answer `503 unavailable` and apply nothing, reads still
/// work, and when the files are writable again the same server stores again and the refused
/// request, retried with its key, is applied exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_data_directory_answers_503_never_200_and_the_server_recovers_when_it_is_writable() {
    let dir = tempfile::tempdir().unwrap();
    let config = shared_config(dir.path(), "");
    let data_dir = dir.path().join("data");
    let database = data_dir.join("hongbao.db").to_string_lossy().into_owned();
    let mut node = procs::start(&database, &data_dir, &config, "127.0.0.1:0");
    let credentials = Credentials::load(data_dir.join("root-credentials.json")).unwrap();
    let root = Client::new(&node.url, credentials.key_id, credentials.secret.expose()).unwrap();
    let alice = root.create_user("alice").send().await.unwrap();
    root.deposit(alice.user_id, Fen::new(100)).send().await.unwrap();
    let balance = || async { root.for_user(&alice).me().send().await.map(|me| me.balance.get()) };
    let files: Vec<PathBuf> =
        ["hongbao.db", "hongbao.db-wal"].iter().map(|f| data_dir.join(f)).chain([data_dir.clone()]).collect();

    for round in 0..2 {
        if !immutable(&files, true) {
            assert!(std::env::var_os("CI").is_none(), "CI runs the storage fault tests: chattr +i must work");
            eprintln!("cannot make files immutable here (not root, or no such attribute): read-only test skipped");
            procs::stop(&mut node);
            return;
        }
        let key = format!("deposit-while-read-only-{round}");
        let refused = root.deposit(alice.user_id, Fen::new(7)).idempotency_key(&key).send_raw().await.unwrap();
        let read = balance().await;
        assert!(immutable(&files, false), "chattr -i");
        assert_eq!(refused.status.as_u16(), 503, "{}", refused.text());
        assert_eq!(refused.error_code().as_deref(), Some("unavailable"));
        assert_eq!(read.ok(), Some(100 + 7 * round), "reads still work, and nothing was applied");

        let recovered = deposit_until_stored(&root, alice.user_id, &key).await;
        assert!(recovered, "the server did not recover when the directory became writable");
        assert_eq!(balance().await.unwrap(), 100 + 7 * (round + 1), "applied exactly once");
    }
    procs::stop(&mut node);
    let (passed, report) = procs::check(&database, &config);
    assert!(passed, "{report}");
}
