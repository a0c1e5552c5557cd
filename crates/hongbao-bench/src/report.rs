//! What a run measured, as a table for people and as one JSON object per scenario:
//! `{"scenario", "store", "via", "durability", "runs": [{"name", "ops_per_s", "p50_ms", "p99_ms",
//! "p999_ms", "errors", …}], …}`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::load::Measured;
use super::procfs::CpuReading;

/// One run of a scenario.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// `hongbao`, `naive` or `ceiling`.
    pub name: &'static str,
    /// Successful operations per second.
    pub ops_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    /// Refused or failed operations by code.
    pub errors: BTreeMap<String, u64>,
    /// Errors whose code the scenario does not expect (see `Scenario::expected_errors`).
    pub unexpected_errors: u64,
    /// Whether the transparency log was written (`None`: the naive baseline has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<bool>,
    pub ops: u64,
    pub seconds: f64,
    /// Whether `--max-seconds` ended the run before its operations did.
    pub timed_out: bool,
    /// Concurrent clients (hongbao, naive) or one writer (ceiling).
    pub clients: usize,
    /// Claims per transaction (ceiling).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<usize>,
    /// Operations done by kind (mixed).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ops_by_kind: BTreeMap<&'static str, u64>,
    /// Packets refunded at expiry during the run (mixed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired: Option<u64>,
    /// The durability the run's own connections applied, when it can be read from them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub durability: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Cpu>,
    /// Peak resident memory of the `hongbao serve` child (via http), in MiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_peak_rss_mib: Option<f64>,
    /// `"hold"`, or the check's report (hongbao runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invariants: Option<String>,
    /// With `--repeat N`: the operations per second of every repetition, in the order they
    /// ran; the report is the median one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub repeats: Vec<f64>,
}

impl RunReport {
    /// The median of `runs` (the same run repeated) by operations per second — of an even
    /// count, the lower one — with every repetition's figure in `repeats`. A broken invariant in
    /// any repetition is the report's.
    pub fn median(mut runs: Vec<RunReport>) -> Option<RunReport> {
        let repeats: Vec<f64> = runs.iter().map(|r| r.ops_per_s).collect();
        let broken = runs.iter().filter_map(|r| r.invariants.clone()).find(|i| i != "hold");
        runs.sort_by(|a, b| a.ops_per_s.total_cmp(&b.ops_per_s));
        let middle = runs.len().checked_sub(1)? / 2;
        let mut median = runs.into_iter().nth(middle)?;
        if repeats.len() > 1 {
            median.repeats = repeats;
        }
        if broken.is_some() {
            median.invariants = broken;
        }
        Some(median)
    }

    pub fn new(name: &'static str, measured: &Measured, expected: &[&str], clients: usize) -> RunReport {
        let unexpected =
            measured.errors.iter().filter(|(code, _)| !expected.contains(&code.as_str())).map(|(_, n)| n).sum();
        RunReport {
            name,
            ops_per_s: round(measured.ops_per_s(), 1),
            p50_ms: round(measured.latency_ms(0.5), 3),
            p99_ms: round(measured.latency_ms(0.99), 3),
            p999_ms: round(measured.latency_ms(0.999), 3),
            errors: measured.errors.clone(),
            unexpected_errors: unexpected,
            log: None,
            ops: measured.done,
            seconds: round(measured.elapsed.as_secs_f64(), 3),
            timed_out: measured.timed_out,
            clients,
            batch: None,
            ops_by_kind: if measured.done_by_kind.len() > 1 { measured.done_by_kind.clone() } else { BTreeMap::new() },
            expired: None,
            durability: None,
            cpu: None,
            server_peak_rss_mib: None,
            invariants: None,
            repeats: Vec::new(),
        }
    }

    /// The label of the run in tables: its name and whether the log was on.
    pub fn label(&self) -> String {
        match self.log {
            Some(true) => format!("{} (log on)", self.name),
            Some(false) => format!("{} (log off)", self.name),
            None => self.name.to_owned(),
        }
    }
}

/// CPU used during a run's measured phase.
#[derive(Clone, Debug, Serialize)]
pub struct Cpu {
    /// The bench process: the load generator (via http), or generator and engine (via engine).
    pub bench_s: Option<f64>,
    /// The `hongbao serve` child (via http).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_s: Option<f64>,
    /// Every `postgres` process on the machine (PostgreSQL runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postgres_s: Option<f64>,
    /// CPU per answered request, in microseconds.
    pub bench_us_per_op: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_us_per_op: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postgres_us_per_op: Option<f64>,
    /// Cores kept busy on average (CPU seconds over wall seconds); the machine has `nproc`.
    pub bench_cores: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cores: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postgres_cores: Option<f64>,
}

impl Cpu {
    pub fn new(used: &CpuReading, answered: u64, seconds: f64) -> Cpu {
        let per_op = |s: Option<f64>| s.filter(|_| answered > 0).map(|s| round(s * 1e6 / answered as f64, 1));
        let cores = |s: Option<f64>| s.filter(|_| seconds > 0.0).map(|s| round(s / seconds, 2));
        Cpu {
            bench_s: used.bench_s.map(|s| round(s, 2)),
            server_s: used.server_s.map(|s| round(s, 2)),
            postgres_s: used.postgres_s.map(|s| round(s, 2)),
            bench_us_per_op: per_op(used.bench_s),
            server_us_per_op: per_op(used.server_s),
            postgres_us_per_op: per_op(used.postgres_s),
            bench_cores: cores(used.bench_s),
            server_cores: cores(used.server_s),
            postgres_cores: cores(used.postgres_s),
        }
    }
}

/// One scenario: the JSON object of issue 6, plus the ratios between its runs.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioReport {
    pub scenario: &'static str,
    pub store: &'static str,
    pub via: &'static str,
    pub durability: String,
    pub size: &'static str,
    pub runs: Vec<RunReport>,
    /// hongbao ÷ naive, hongbao ÷ ceiling, log on ÷ log off (throughput), where both ran.
    pub ratios: BTreeMap<String, f64>,
    /// Whether every hongbao run's invariants held.
    pub invariants_hold: bool,
    /// What was not run, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl ScenarioReport {
    /// Fills [`ScenarioReport::ratios`] from the runs.
    pub fn compute_ratios(&mut self) {
        let find = |name: &str, log: Option<bool>| {
            self.runs.iter().find(|r| r.name == name && (log.is_none() || r.log == log)).map(|r| r.ops_per_s)
        };
        let mut ratios = BTreeMap::new();
        for log in [true, false] {
            let suffix = if log { "log_on" } else { "log_off" };
            if let Some(hongbao) = find("hongbao", Some(log)) {
                if let Some(naive) = find("naive", None).filter(|n| *n > 0.0) {
                    ratios.insert(format!("hongbao_over_naive_{suffix}"), round(hongbao / naive, 2));
                }
                if let Some(ceiling) = find("ceiling", Some(log)).filter(|c| *c > 0.0) {
                    ratios.insert(format!("hongbao_over_ceiling_{suffix}"), round(hongbao / ceiling, 3));
                }
            }
        }
        if let (Some(on), Some(off)) = (find("hongbao", Some(true)), find("hongbao", Some(false)).filter(|o| *o > 0.0))
        {
            ratios.insert("log_on_over_off".to_owned(), round(on / off, 3));
        }
        self.ratios = ratios;
    }

    /// The table for people.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "\n{} · {} · via {} · size {}", self.scenario, self.store, self.via, self.size);
        let _ = writeln!(out, "durability: {}", self.durability);
        let _ = writeln!(
            out,
            "{:<20} {:>8} {:>8} {:>10} {:>9} {:>9} {:>9}  errors",
            "run", "ops", "seconds", "ops/s", "p50 ms", "p99 ms", "p999 ms"
        );
        for run in &self.runs {
            let errors = if run.errors.is_empty() {
                "-".to_owned()
            } else {
                run.errors.iter().map(|(code, n)| format!("{code}×{n}")).collect::<Vec<_>>().join(" ")
            };
            let _ = writeln!(
                out,
                "{:<20} {:>8} {:>8.2} {:>10.0} {:>9.2} {:>9.2} {:>9.2}  {errors}",
                run.label(),
                run.ops,
                run.seconds,
                run.ops_per_s,
                run.p50_ms,
                run.p99_ms,
                run.p999_ms
            );
        }
        for run in &self.runs {
            let mut notes = Vec::new();
            notes.push(format!("{} clients", run.clients));
            if let Some(batch) = run.batch {
                notes.push(format!("{batch} claims per transaction"));
            }
            if !run.ops_by_kind.is_empty() {
                let kinds: Vec<String> = run.ops_by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
                notes.push(kinds.join(", "));
            }
            if let Some(expired) = run.expired {
                notes.push(format!("{expired} packets refunded at expiry"));
            }
            if let Some(cpu) = &run.cpu {
                notes.push(cpu_line(cpu));
            }
            if let Some(rss) = run.server_peak_rss_mib {
                notes.push(format!("server peak RSS {rss:.1} MiB"));
            }
            if let Some(invariants) = &run.invariants {
                notes.push(format!("invariants: {invariants}"));
            }
            if run.timed_out {
                notes.push("stopped by --max-seconds".to_owned());
            }
            if !run.repeats.is_empty() {
                let each: Vec<String> = run.repeats.iter().map(|ops| format!("{ops:.0}")).collect();
                notes.push(format!("median of {} runs: {} ops/s", each.len(), each.join(", ")));
            }
            let _ = writeln!(out, "  {}: {}", run.label(), notes.join("; "));
        }
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        if !self.ratios.is_empty() {
            let ratios: Vec<String> = self.ratios.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            let _ = writeln!(out, "ratios: {}", ratios.join(", "));
        }
        out
    }
}

fn cpu_line(cpu: &Cpu) -> String {
    let mut parts = Vec::new();
    let mut part = |who: &str, s: Option<f64>, per: Option<f64>, cores: Option<f64>| {
        if let (Some(s), Some(per), Some(cores)) = (s, per, cores) {
            parts.push(format!("{who} {s:.2} s CPU ({per:.0} µs/op, {cores:.2} cores)"));
        }
    };
    part("bench", cpu.bench_s, cpu.bench_us_per_op, cpu.bench_cores);
    part("server", cpu.server_s, cpu.server_us_per_op, cpu.server_cores);
    part("postgres", cpu.postgres_s, cpu.postgres_us_per_op, cpu.postgres_cores);
    parts.join(", ")
}

/// `value` to `digits` decimals, so the JSON shows measurements, not float noise.
pub fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(ops_per_s: f64, invariants: &str) -> RunReport {
        let mut report = RunReport::new("hongbao", &Measured::new(), &[], 1);
        report.ops_per_s = ops_per_s;
        report.invariants = Some(invariants.to_owned());
        report
    }

    #[test]
    fn repeated_runs_report_their_median_every_figure_and_any_broken_invariant() {
        let median = RunReport::median(vec![run(10.0, "hold"), run(30.0, "hold"), run(20.0, "hold")]).unwrap();
        assert_eq!((median.ops_per_s, median.repeats.clone()), (20.0, vec![10.0, 30.0, 20.0]));
        assert_eq!(median.invariants.as_deref(), Some("hold"));
        let even = RunReport::median(vec![run(40.0, "hold"), run(10.0, "hold")]).unwrap();
        assert_eq!(even.ops_per_s, 10.0, "of two, the lower");
        let broken = RunReport::median(vec![run(1.0, "hold"), run(2.0, "BROKEN: x"), run(3.0, "hold")]).unwrap();
        assert_eq!(broken.invariants.as_deref(), Some("BROKEN: x"));
        let single = RunReport::median(vec![run(5.0, "hold")]).unwrap();
        assert!(single.repeats.is_empty(), "one run is reported as it is");
        assert!(RunReport::median(Vec::new()).is_none());
    }
}
