//! `hongbao bench`: throughput and latency of red-packet workloads, measured side by side with
//! the naive way (one transaction per claim, a row lock on the packet) and with the storage
//! engine's batched ceiling, in the same command on the same machine (issue 6).
//!
//! Each scenario — `hot`, `spread`, `mixed` (see `plan.rs`) — runs hongbao, in this process or
//! through a `hongbao serve` child over signed loopback HTTP, then the baselines (`naive.rs`,
//! `ceiling.rs`), each run on a fresh database with the same durability. After every hongbao
//! run the invariants are checked on what is stored; a broken one fails the command. Every
//! loop is bounded in count and in time (`--max-seconds`). The command measures and reports;
//! it asserts no speed: the targets and what was reached are in docs/BENCHMARKS.md.
//!
//! A library of its own so that the `hongbao` binary stays the service's command: the binary
//! flattens [`BenchArgs`] into its `bench` subcommand and calls [`run`]. With `--via http` the
//! server is started as `<this executable> serve …`, so [`run`] must be called from the
//! `hongbao` executable itself (as the binary does).

mod ceiling;
mod db;
mod hongbao;
mod load;
mod naive;
mod plan;
mod procfs;
mod report;
mod server;
mod target;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use hongbao_store_sqlite::Durability;

use self::ceiling::Ceiling;
use self::db::{Databases, StoreKind};
use self::naive::Naive;
use self::plan::{Claims, Params, Scenario, Shape, Size};
use self::procfs::CpuReading;
use self::report::{Cpu, RunReport, ScenarioReport};
use self::target::{Driver, Slot, Target, claims_phase, mixed_phase, with_naive_expiry};

/// The PostgreSQL server of the machine, as the tests use it.
const POSTGRES_URL_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Scenarios to run, in order, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "hot,spread,mixed")]
    scenario: Vec<Scenario>,
    /// The store hongbao and the baselines run on.
    #[arg(long, value_enum, default_value = "sqlite")]
    store: StoreKind,
    /// With `--store postgres`: the server, as a URL naming a database to connect to. Each run
    /// gets a database of its own there, created for it and dropped after.
    #[arg(long, env = "HONGBAO_BENCH_POSTGRES", default_value = POSTGRES_URL_DEFAULT)]
    postgres_url: String,
    /// How hongbao is driven: the engine in this process, or signed requests over loopback HTTP
    /// to a `hongbao serve` child (whose CPU and memory are then measured apart).
    #[arg(long, value_enum, default_value = "engine")]
    via: Via,
    /// `tiny` for a smoke run (seconds), `small`, or `full` (the sizes of docs/BENCHMARKS.md).
    #[arg(long, value_enum, default_value = "small")]
    size: Size,
    /// The transparency log on, off, or `both`: each hongbao run (and the ceiling) twice.
    #[arg(long, value_enum, default_value = "on")]
    log: LogMode,
    /// SQLite's durability: `full` (every commit on disk before it is acknowledged, the
    /// default) or `normal`. PostgreSQL's is the server's `synchronous_commit`, reported as read.
    #[arg(long, value_enum)]
    durability: Option<DurabilityArg>,
    /// The baselines: `naive`, `ceiling`, both (the default), or `none`.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "naive,ceiling")]
    baseline: Vec<Baseline>,
    /// Concurrent clients of hongbao's runs (default by size and via; the naive baseline always
    /// has 16).
    #[arg(long)]
    clients: Option<usize>,
    /// Claims per transaction of the ceiling (default: the engine's `batch_max`).
    #[arg(long, default_value_t = 1_024)]
    ceiling_batch: usize,
    /// The longest one measured run may take (default by size); it then stops where it is.
    #[arg(long)]
    max_seconds: Option<u64>,
    /// Seeds the plans (who claims what, in which order), so runs can be repeated.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// One JSON object per scenario on standard output instead of the tables.
    #[arg(long)]
    json: bool,
    /// Runs every measured run this many times (hongbao's with the log on and off in turn) and
    /// reports the median of each, with every repetition's figure: for a store whose runs
    /// scatter (PostgreSQL's background work falls into some runs and not others).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=9))]
    repeat: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Via {
    Engine,
    Http,
}

impl Via {
    pub const fn as_str(self) -> &'static str {
        match self {
            Via::Engine => "engine",
            Via::Http => "http",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LogMode {
    On,
    Off,
    Both,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DurabilityArg {
    Full,
    Normal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Baseline {
    Naive,
    Ceiling,
    None,
}

/// What every run of one scenario shares.
#[derive(Debug)]
pub(crate) struct Bench {
    pub scenario: Scenario,
    pub via: Via,
    pub size: Size,
    pub params: Params,
    pub dbs: Arc<Databases>,
    pub durability: Durability,
    pub seed: u64,
    clients: Option<usize>,
    max_seconds: u64,
}

impl Bench {
    /// Concurrent clients of hongbao's runs.
    pub fn clients(&self) -> usize {
        self.clients.unwrap_or(match self.via {
            Via::Engine => self.params.clients_engine,
            Via::Http => self.params.clients_http,
        })
    }

    pub fn max_time(&self) -> Duration {
        Duration::from_secs(self.max_seconds)
    }

    /// How long the mixed run lasts: its size's time, unless `--max-seconds` cuts it shorter.
    pub fn mixed_duration(&self) -> Duration {
        Duration::from_secs(self.params.mixed_seconds).min(self.max_time())
    }

    /// Whether `--max-seconds` cut the mixed run short.
    pub fn mixed_cut(&self) -> bool {
        self.max_seconds < self.params.mixed_seconds
    }

    /// A progress line on standard error (standard output carries only the results).
    pub fn say(&self, what: &str) {
        eprintln!("bench {}: {what}", self.scenario.as_str());
    }
}

/// A scenario's plan: the shape every run sets up, and the claims of hot and spread.
#[derive(Debug)]
pub(crate) struct Work {
    pub shape: Shape,
    pub claims: Arc<Claims>,
}

impl Work {
    fn new(scenario: Scenario, params: &Params, seed: u64) -> Work {
        let (shape, claims) = match scenario {
            Scenario::Hot => plan::hot(params, seed),
            Scenario::Spread => plan::spread(params, seed),
            Scenario::Mixed => (plan::mixed(params, seed), Vec::new()),
        };
        Work { shape, claims: Arc::new(claims) }
    }
}

/// Runs the benchmark; exits 1 when an invariant broke in a hongbao run.
///
/// # Errors
/// When a run cannot be set up (PostgreSQL unreachable, a server that does not start, …).
pub async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if args.store == StoreKind::Postgres && args.durability.is_some() {
        bail!("--durability sets SQLite's; PostgreSQL's is the server's synchronous_commit, which the report shows");
    }
    if args.baseline.contains(&Baseline::None) && args.baseline.len() > 1 {
        bail!("--baseline none cannot be combined with a baseline");
    }
    if args.ceiling_batch == 0 {
        bail!("--ceiling-batch must be at least 1");
    }
    let durability = match args.durability {
        Some(DurabilityArg::Normal) => Durability::Normal,
        Some(DurabilityArg::Full) | None => Durability::Full,
    };
    let temp =
        tempfile::Builder::new().prefix("hongbao-bench-").tempdir().context("cannot create a temporary directory")?;
    let dbs = Arc::new(Databases::new(args.store, temp.path(), &args.postgres_url, durability));
    let durability_text = dbs.durability_in_force().await?;
    let params = args.size.params();
    let mut scenarios = args.scenario.clone();
    scenarios.dedup();
    let mut broken = false;
    for scenario in scenarios {
        let bench = Bench {
            scenario,
            via: args.via,
            size: args.size,
            params,
            dbs: dbs.clone(),
            durability,
            seed: args.seed,
            clients: args.clients.filter(|c| *c > 0),
            max_seconds: args.max_seconds.unwrap_or(params.max_seconds).max(1),
        };
        let report = run_scenario(&bench, &args, &durability_text).await?;
        broken |= !report.invariants_hold;
        if args.json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            print!("{}", report.table());
        }
    }
    if let Some(version) = dbs.postgres_version().await
        && !args.json
    {
        println!("\nPostgreSQL {version}");
    }
    if broken {
        eprintln!("error: an invariant broke in a hongbao run (see \"invariants\" above)");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_scenario(bench: &Bench, args: &BenchArgs, durability: &str) -> anyhow::Result<ScenarioReport> {
    let work = Work::new(bench.scenario, &bench.params, bench.seed);
    let logs: &[bool] = match args.log {
        LogMode::On => &[true],
        LogMode::Off => &[false],
        LogMode::Both => &[true, false],
    };
    // Each kind of run `repeat` times; the repetitions of hongbao's log on and off alternate,
    // so that whatever slows the machine for a while falls on both.
    let repeat = args.repeat.max(1);
    let mut hongbao_runs: Vec<Vec<RunReport>> = logs.iter().map(|_| Vec::new()).collect();
    for _ in 0..repeat {
        for (i, &log) in logs.iter().enumerate() {
            hongbao_runs[i].push(hongbao::run(bench, &work, log).await?);
        }
    }
    let mut runs: Vec<RunReport> = hongbao_runs.into_iter().filter_map(RunReport::median).collect();
    if args.baseline.contains(&Baseline::Naive) {
        let mut naive = Vec::new();
        for _ in 0..repeat {
            naive.push(naive_run(bench, &work).await?);
        }
        runs.extend(RunReport::median(naive));
    }
    let mut notes = Vec::new();
    if args.baseline.contains(&Baseline::Ceiling) {
        if bench.scenario == Scenario::Mixed {
            notes.push("ceiling not run: it is the storage limit of claims, and mixed is more than claims".to_owned());
        } else {
            let mut ceiling_runs: Vec<Vec<RunReport>> = logs.iter().map(|_| Vec::new()).collect();
            for _ in 0..repeat {
                for (i, &log) in logs.iter().enumerate() {
                    ceiling_runs[i].push(ceiling_run(bench, &work, log, args.ceiling_batch).await?);
                }
            }
            runs.extend(ceiling_runs.into_iter().filter_map(RunReport::median));
        }
    }
    if repeat > 1 {
        notes.push(format!("each run made {repeat} times; the median is reported, every figure in `repeats`"));
    }
    let invariants_hold = runs.iter().filter_map(|r| r.invariants.as_deref()).all(|i| i == "hold");
    let mut report = ScenarioReport {
        scenario: bench.scenario.as_str(),
        store: bench.dbs.kind.as_str(),
        via: bench.via.as_str(),
        durability: durability.to_owned(),
        size: match bench.size {
            Size::Tiny => "tiny",
            Size::Small => "small",
            Size::Full => "full",
        },
        runs,
        ratios: Default::default(),
        invariants_hold,
        notes,
    };
    report.compute_ratios();
    Ok(report)
}

/// The naive baseline on a fresh database: its own schema, the scenario's shape written
/// directly, then the same measured phase with 16 clients.
async fn naive_run(bench: &Bench, work: &Work) -> anyhow::Result<RunReport> {
    bench.say("naive: setting up");
    let fresh = bench.dbs.fresh("naive").await?;
    let pool = fresh.raw_pool(naive::CLIENTS, bench.durability, false).await?;
    let (mut naive, seeded) = Naive::set_up(pool, &work.shape, bench.seed).await?;
    let expiry_s = u32::try_from(bench.params.mixed_seconds / 3).unwrap_or(u32::MAX).max(1);
    if bench.scenario == Scenario::Mixed {
        naive.expiry_s = expiry_s;
    }
    let naive = Arc::new(naive);
    bench.dbs.settle().await;
    let slots = Slot::planned(&work.shape, &seeded.packets);
    let packets = Arc::new(seeded.packets);
    let target = Arc::new(Target { driver: Driver::Naive(naive.clone()), users: seeded.users, groups: seeded.groups });
    let clients = naive::CLIENTS as usize;
    let postgres = bench.dbs.kind == StoreKind::Postgres;
    bench.say("naive: measuring");
    let before = CpuReading::now(None, postgres);
    let (measured, expired) = match bench.scenario {
        Scenario::Hot | Scenario::Spread => {
            (claims_phase(target, packets, work.claims.clone(), clients, bench.max_time()).await, None)
        }
        Scenario::Mixed => {
            let duration = bench.mixed_duration();
            let phase = mixed_phase(target, &work.shape, slots, clients, duration, bench.seed);
            let (mut measured, expired) = with_naive_expiry(&naive, Instant::now() + duration, phase).await;
            measured.timed_out = bench.mixed_cut();
            (measured, Some(expired))
        }
    };
    let used = before.until(&CpuReading::now(None, postgres));
    let mut report = RunReport::new("naive", &measured, bench.scenario.expected_errors(), clients);
    report.expired = expired;
    report.cpu = Some(Cpu::new(&used, measured.answered(), measured.elapsed.as_secs_f64()));
    report.durability = naive.pool().sqlite_synchronous().await.map(|s| format!("sqlite wal, synchronous={s}"));
    naive.pool().close().await;
    fresh.remove().await;
    Ok(report)
}

/// The ceiling on a fresh database: hongbao's schema, the scenario's accounts and packets
/// written directly, then the claims' rows in batches of `batch`.
async fn ceiling_run(bench: &Bench, work: &Work, log: bool, batch: usize) -> anyhow::Result<RunReport> {
    bench.say(&format!("ceiling (log {}): setting up", if log { "on" } else { "off" }));
    let fresh = bench.dbs.fresh(if log { "ceiling_log_on" } else { "ceiling_log_off" }).await?;
    let limits = hongbao::bench_limits(&work.shape);
    let mut ceiling = Ceiling::set_up(&fresh, bench.durability, &work.shape, &limits, bench.seed).await?;
    bench.dbs.settle().await;
    bench.say(&format!("ceiling (log {}): measuring", if log { "on" } else { "off" }));
    let postgres = bench.dbs.kind == StoreKind::Postgres;
    let before = CpuReading::now(None, postgres);
    let measured = ceiling.run(&work.claims, batch, log, bench.max_time()).await?;
    let used = before.until(&CpuReading::now(None, postgres));
    let mut report = RunReport::new("ceiling", &measured, &[], 1);
    report.log = Some(log);
    report.batch = Some(batch);
    report.cpu = Some(Cpu::new(&used, measured.answered(), measured.elapsed.as_secs_f64()));
    report.durability = ceiling.pool().sqlite_synchronous().await.map(|s| format!("sqlite wal, synchronous={s}"));
    ceiling.pool().close().await;
    fresh.remove().await;
    Ok(report)
}
