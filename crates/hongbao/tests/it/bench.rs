//! `hongbao bench` keeps working: every scenario at the tiny size, on SQLite and (when it can be
//! reached) PostgreSQL, in process and over HTTP. What is asserted is the shape of the JSON,
//! that every run did work without an unexpected error, and that the invariants held after
//! each hongbao run — never a speed: timing belongs in docs/BENCHMARKS.md.

use std::process::Command;

use serde_json::Value;

/// Runs `hongbao bench --size tiny --json` with `args`; answers its JSON objects, one per scenario.
fn bench(args: &[&str]) -> Vec<Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_hongbao"))
        .args(["bench", "--size", "tiny", "--json"])
        .args(args)
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "bench {args:?} failed:\n{stdout}\n{stderr}");
    stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}\n{stderr}")))
        .collect()
}

fn number(run: &Value, field: &str) -> f64 {
    run[field].as_f64().unwrap_or_else(|| panic!("{field} is not a number in {run}"))
}

/// The object of issue 6, every run having done work with no unexpected error, and the
/// invariants holding after every hongbao run.
fn assert_report(report: &Value, scenario: &str, store: &str, via: &str, logs: &[bool]) {
    assert_eq!(report["scenario"], scenario, "{report}");
    assert_eq!(report["store"], store, "{report}");
    assert_eq!(report["via"], via, "{report}");
    assert!(report["durability"].as_str().is_some_and(|d| !d.is_empty()), "{report}");
    assert_eq!(report["invariants_hold"], true, "{report}");
    let runs = report["runs"].as_array().unwrap_or_else(|| panic!("no runs in {report}"));
    for run in runs {
        let name = run["name"].as_str().unwrap_or_default();
        assert!(["hongbao", "naive", "ceiling"].contains(&name), "{run}");
        assert!(number(run, "ops_per_s") > 0.0, "the run did no work: {run}");
        assert!(run["ops"].as_u64().is_some_and(|ops| ops > 0), "{run}");
        let (p50, p99, p999) = (number(run, "p50_ms"), number(run, "p99_ms"), number(run, "p999_ms"));
        assert!(0.0 <= p50 && p50 <= p99 && p99 <= p999, "{run}");
        let errors = run["errors"].as_object().unwrap_or_else(|| panic!("errors is not an object: {run}"));
        assert!(errors.values().all(Value::is_u64), "{run}");
        assert_eq!(run["unexpected_errors"], 0, "{run}");
        if name == "hongbao" {
            assert_eq!(run["invariants"], "hold", "{run}");
        }
    }
    let has =
        |name: &str, log: Option<bool>| runs.iter().any(|r| r["name"] == name && log.is_none_or(|log| r["log"] == log));
    for &log in logs {
        assert!(has("hongbao", Some(log)), "no hongbao run with the log {log}: {report}");
        if scenario != "mixed" {
            assert!(has("ceiling", Some(log)), "no ceiling run with the log {log}: {report}");
        }
    }
    assert!(has("naive", None), "no naive run: {report}");
    if via == "http" {
        let run = runs.iter().find(|r| r["name"] == "hongbao").unwrap();
        assert!(run["cpu"]["server_s"].is_number(), "the server's CPU is measured apart: {run}");
        assert!(run["server_peak_rss_mib"].as_f64().is_some_and(|mib| mib > 0.0), "{run}");
    }
}

fn every_scenario(store: &str, via: &str, extra: &[&str], logs: &[bool]) {
    let mut args = vec!["--store", store, "--via", via];
    args.extend_from_slice(extra);
    let reports = bench(&args);
    let scenarios: Vec<&str> = reports.iter().map(|r| r["scenario"].as_str().unwrap_or_default()).collect();
    assert_eq!(scenarios, ["hot", "spread", "mixed"]);
    for (report, scenario) in reports.iter().zip(["hot", "spread", "mixed"]) {
        assert_report(report, scenario, store, via, logs);
    }
}

#[test]
fn bench_runs_every_scenario_on_sqlite_in_process_and_over_http() {
    every_scenario("sqlite", "engine", &["--log", "both"], &[true, false]);
    every_scenario("sqlite", "http", &[], &[true]);
}

#[test]
fn bench_runs_every_scenario_on_postgres_in_process_and_over_http() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Skipped (with a line saying so) where no PostgreSQL can be reached, a failure under CI.
    let Some(database) = runtime.block_on(hongbao_store_postgres::testing::fresh_database()) else { return };
    for via in ["engine", "http"] {
        every_scenario("postgres", via, &["--postgres-url", &database.url], &[true]);
    }
}

/// `--repeat` makes every run that many times and reports the median with every figure.
#[test]
fn bench_repeats_each_run_and_reports_the_median_with_every_figure() {
    let reports = bench(&["--scenario", "hot", "--log", "both", "--repeat", "3"]);
    let [report] = reports.as_slice() else { panic!("one scenario, one report: {reports:?}") };
    assert_report(report, "hot", "sqlite", "engine", &[true, false]);
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 5, "hongbao log on and off, naive, ceiling log on and off: {report}");
    for run in runs {
        let repeats: Vec<f64> = run["repeats"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(repeats.len(), 3, "{run}");
        let mut sorted = repeats.clone();
        sorted.sort_by(f64::total_cmp);
        assert_eq!(number(run, "ops_per_s"), sorted[1], "the median: {run}");
    }
}
