//! A run of hongbao itself: the scenario's setup written through an in-process engine (not
//! measured), then the measured phase through the engine in this process or through a
//! `hongbao serve` child over signed loopback HTTP, then the invariant check on what is stored.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use ed25519_dalek::SigningKey;
use hongbao_client::Client;
use hongbao_core::ops::{Command, PacketSpec, Reply};
use hongbao_core::{Fen, GroupId, KeyId, Limits, UserId};
use hongbao_engine::{AuditConfig, Engine, EngineConfig, EngineError, StartOptions, SystemClock};
use hongbao_server::run::default_origin;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::db::{Fresh, OpenStore};
use super::load::Measured;
use super::plan::{Kind, Scenario, Shape};
use super::procfs::{CpuReading, peak_rss_kib};
use super::report::{Cpu, RunReport, round};
use super::server::{Served, write_config};
use super::target::{Driver, Slot, Target, claims_phase, engine_code, mixed_phase};
use super::{Bench, Via, Work};

/// Setup commands in flight at once: enough to fill the engine's batches.
const SETUP_IN_FLIGHT: usize = 1_024;
/// Times a setup command is offered again when the engine's queue is full.
const SETUP_RETRIES: u32 = 1_000;

/// The rules with the bench's sizes allowed: shares per packet and members per group.
pub fn bench_limits(shape: &Shape) -> Limits {
    let mut limits = Limits::default();
    limits.count_max = limits.count_max.max(shape.most_shares());
    limits.group_members_max = limits.group_members_max.max(shape.largest_group());
    limits
}

/// What the setup made: each user's id and credentials, each group's and packet's id.
#[derive(Debug)]
struct Realised {
    users: Vec<(UserId, KeyId, String)>,
    groups: Vec<Uuid>,
    packets: Vec<Uuid>,
}

/// Applies `commands` through the engine, [`SETUP_IN_FLIGHT`] at a time, and answers their
/// replies in order.
async fn execute_all(engine: &Engine, commands: Vec<Command>) -> anyhow::Result<Vec<Reply>> {
    let in_flight = Arc::new(Semaphore::new(SETUP_IN_FLIGHT));
    let mut tasks = tokio::task::JoinSet::new();
    let count = commands.len();
    for (index, command) in commands.into_iter().enumerate() {
        let permit = in_flight.clone().acquire_owned().await.context("the setup's semaphore closed")?;
        let engine = engine.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let mut result = Err(EngineError::Overloaded);
            for _ in 0..SETUP_RETRIES {
                result = engine.execute(command.clone()).await;
                if !matches!(result, Err(EngineError::Overloaded)) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (index, result)
        });
    }
    let mut replies: Vec<Option<Reply>> = vec![None; count];
    while let Some(joined) = tasks.join_next().await {
        let (index, result) = joined.context("a setup task failed")?;
        match result {
            Ok(reply) => replies[index] = Some(reply),
            Err(err) => bail!("the setup failed ({}): {err}", engine_code(&err)),
        }
    }
    Ok(replies.into_iter().flatten().collect())
}

/// Writes `shape` through the engine: users, deposits, groups, packets.
async fn realise(engine: &Engine, shape: &Shape, say: &dyn Fn(&str)) -> anyhow::Result<Realised> {
    say(&format!("{} users", shape.users));
    let commands = (0..shape.users).map(|i| Command::CreateUser { name: format!("u{i}") }).collect();
    let mut users = Vec::with_capacity(shape.users as usize);
    for reply in execute_all(engine, commands).await? {
        let Reply::User(user) = reply else { bail!("creating a user answered something else") };
        users.push((user.user_id, user.key_id, user.secret.expose().to_owned()));
    }
    let deposits =
        shape.deposits.iter().map(|&(u, fen)| Command::Deposit { user: users[u as usize].0, amount: Fen::new(fen) });
    execute_all(engine, deposits.collect()).await?;
    say(&format!("{} groups", shape.groups.len()));
    let groups = shape.groups.iter().enumerate().map(|(g, members)| Command::CreateGroup {
        actor: users[members[0] as usize].0,
        name: format!("g{g}"),
        members: members[1..].iter().map(|&m| users[m as usize].0).collect(),
    });
    let mut group_ids = Vec::with_capacity(shape.groups.len());
    for reply in execute_all(engine, groups.collect()).await? {
        let Reply::Group(group) = reply else { bail!("creating a group answered something else") };
        group_ids.push(group.group_id.uuid());
    }
    say(&format!("{} packets", shape.packets.len()));
    let packets = shape.packets.iter().map(|plan| {
        let group_id = GroupId::from_uuid(group_ids[plan.group as usize]);
        let spec = match plan.kind {
            Kind::Lucky => PacketSpec::Lucky { group_id, count: plan.count, total: Fen::new(plan.fen) },
            Kind::Normal => PacketSpec::Normal { group_id, count: plan.count, amount_each: Fen::new(plan.fen) },
        };
        Command::SendPacket {
            actor: users[plan.sender as usize].0,
            spec,
            greeting: None,
            arrival_delay_s: 0,
            risk_confirmation: None,
        }
    });
    let mut packet_ids = Vec::with_capacity(shape.packets.len());
    for reply in execute_all(engine, packets.collect()).await? {
        let Reply::Packet(view) = reply else { bail!("sending a packet answered something else") };
        packet_ids.push(view.packet_id.uuid());
    }
    Ok(Realised { users, groups: group_ids, packets: packet_ids })
}

/// The log's signing key of a run, from the bench's seed: the database is thrown away after.
fn signing_key(seed: u64) -> SigningKey {
    let mut bytes = [0u8; 32];
    StdRng::seed_from_u64(seed ^ 0x006c_6f67_5f6b_6579).fill_bytes(&mut bytes);
    SigningKey::from_bytes(&bytes)
}

/// One hongbao run on a fresh database, with the log on or off.
///
/// # Errors
/// When the setup, the server or the check cannot run. Broken invariants are not an error
/// here: the report says so, and the command fails at the end.
pub async fn run(bench: &Bench, work: &Work, log: bool) -> anyhow::Result<RunReport> {
    let fresh = bench.dbs.fresh(if log { "hongbao_log_on" } else { "hongbao_log_off" }).await?;
    let result = run_on(bench, work, log, &fresh).await;
    fresh.remove().await;
    result
}

async fn run_on(bench: &Bench, work: &Work, log: bool, fresh: &Fresh) -> anyhow::Result<RunReport> {
    let say = |what: &str| bench.say(&format!("hongbao (log {}): setting up {what}", if log { "on" } else { "off" }));
    let key = signing_key(bench.seed);
    let verifying = key.verifying_key();
    let origin = default_origin(&verifying);
    let audit = log.then(|| AuditConfig { origin: origin.clone(), signing_key: key.clone() });
    let setup_limits = bench_limits(&work.shape);
    let mut run_limits = setup_limits.clone();
    if bench.scenario == Scenario::Mixed {
        // Packets sent in the first two thirds of the run expire before it ends: the refunds
        // run beside the requests, as on a busy evening.
        run_limits.expiry_s = u32::try_from(bench.params.mixed_seconds / 3).unwrap_or(u32::MAX).max(1);
    }

    let store = fresh.open_store(bench.durability).await?;
    if log {
        store.arc().log_key(&hongbao_audit::note::vkey(&origin, &verifying)).await?;
    }
    // Secrets sealed as `serve` seals them; the same key for the run that follows.
    let secrets_bytes: [u8; 32] = rand::random();
    let secrets = Some(hongbao_engine::seal::SecretsKey::from_bytes(&secrets_bytes));
    let options = StartOptions { rng_seed: None, audit: audit.clone(), secrets: secrets.clone() };
    let engine =
        Engine::start(store.arc(), Arc::new(SystemClock), setup_limits, EngineConfig::default(), options).await?;
    let realised = realise(&engine, &work.shape, &say).await?;
    engine.shutdown().await;
    drop(engine);
    store.close().await;
    drop(store);
    bench.dbs.settle().await;

    let users: Vec<Uuid> = realised.users.iter().map(|u| u.0.uuid()).collect();
    let slots = Slot::planned(&work.shape, &realised.packets);
    let packets = Arc::new(realised.packets.clone());
    let postgres = bench.dbs.kind == super::db::StoreKind::Postgres;
    bench.say(&format!("hongbao (log {}): measuring via {}", if log { "on" } else { "off" }, bench.via.as_str()));
    let (measured, used, rss_kib, store) = match bench.via {
        Via::Engine => {
            let store = fresh.open_store(bench.durability).await?;
            let options = StartOptions { rng_seed: None, audit, secrets };
            let engine =
                Engine::start(store.arc(), Arc::new(SystemClock), run_limits.clone(), EngineConfig::default(), options)
                    .await?;
            let jobs = engine.spawn_jobs();
            let target = Target { driver: Driver::Engine(engine.clone()), users, groups: realised.groups.clone() };
            let before = CpuReading::now(None, postgres);
            let measured = phase(bench, work, Arc::new(target), packets, slots).await;
            let used = before.until(&CpuReading::now(None, postgres));
            engine.shutdown().await;
            jobs.abort();
            (measured, used, None, store)
        }
        Via::Http => {
            let dir = bench.dbs.scratch_dir("server")?;
            let key_file = if log {
                let file = dir.join("log-signing-key");
                let hex: String = key.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
                std::fs::write(&file, format!("{hex}\n")).context("cannot write the log's key")?;
                Some(file)
            } else {
                None
            };
            // The server opens the secrets the setup sealed: the same key, where it looks first.
            let hex: String = secrets_bytes.iter().map(|b| format!("{b:02x}")).collect();
            std::fs::write(dir.join(hongbao_server::run::SECRETS_KEY_FILE), format!("{hex}\n"))
                .context("cannot write the secrets key")?;
            let config = write_config(&dir, &run_limits, bench.durability, key_file.as_deref())?;
            let database = fresh.database_arg();
            let served = tokio::task::spawn_blocking(move || Served::start(&dir, &database, &config)).await??;
            let (first_key, first_secret) = (&realised.users[0].1, &realised.users[0].2);
            let base = Client::new(&served.url, first_key, first_secret)?;
            let clients = realised.users.iter().map(|(_, key, secret)| base.with_credentials(key, secret)).collect();
            let target = Target { driver: Driver::Http(clients), users, groups: realised.groups.clone() };
            let before = CpuReading::now(Some(served.pid), postgres);
            let measured = phase(bench, work, Arc::new(target), packets, slots).await;
            let used = before.until(&CpuReading::now(Some(served.pid), postgres));
            let rss_kib = peak_rss_kib(Some(served.pid));
            tokio::task::spawn_blocking(move || served.stop()).await??;
            (measured, used, rss_kib, fresh.open_store(bench.durability).await?)
        }
    };

    bench.say(&format!("hongbao (log {}): checking the invariants", if log { "on" } else { "off" }));
    let mut report = RunReport::new("hongbao", &measured, bench.scenario.expected_errors(), bench.clients());
    report.log = Some(log);
    report.cpu = Some(Cpu::new(&used, measured.answered(), measured.elapsed.as_secs_f64()));
    report.server_peak_rss_mib = rss_kib.map(|kib| round(kib as f64 / 1024.0, 1));
    if let OpenStore::Sqlite(sqlite) = &store {
        let in_force = sqlite.in_force().await?;
        report.durability =
            Some(format!("sqlite {}, synchronous={}", in_force.journal_mode, in_force.writer_synchronous));
    }
    let key = log.then_some(&verifying);
    let checked = hongbao_engine::check(store.arc().as_ref(), &run_limits, key).await?;
    report.invariants = Some(if checked.passed() { "hold".to_owned() } else { format!("BROKEN: {checked}") });
    store.close().await;
    drop(store);
    if bench.scenario == Scenario::Mixed {
        let pool = fresh.raw_pool(1, bench.durability, false).await?;
        let expired = pool.scalar("SELECT count(*) FROM packets WHERE status = 'expired'").await?;
        report.expired = u64::try_from(expired).ok();
        pool.close().await;
    }
    Ok(report)
}

/// The measured phase of the scenario against `target`.
async fn phase(bench: &Bench, work: &Work, target: Arc<Target>, packets: Arc<Vec<Uuid>>, slots: Vec<Slot>) -> Measured {
    match bench.scenario {
        Scenario::Hot | Scenario::Spread => {
            claims_phase(target, packets, work.claims.clone(), bench.clients(), bench.max_time()).await
        }
        Scenario::Mixed => {
            let mut measured =
                mixed_phase(target, &work.shape, slots, bench.clients(), bench.mixed_duration(), bench.seed).await;
            measured.timed_out = bench.mixed_cut();
            measured
        }
    }
}
