//! The load generator: a fixed number of clients, each taking the next operation as soon as its
//! previous one is answered (a closed loop), until the operations run out or the time is up.
//! Each answer's latency goes into a histogram; refusals are counted by their error code.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// An error code: the API's (`packet_exhausted`, …) or the bench's own (`transport`, `busy`).
pub type Code = Cow<'static, str>;

/// The largest latency recorded, in microseconds (10 minutes); longer ones count as this.
const LATENCY_MAX_US: u64 = 600_000_000;

/// A new latency histogram: microseconds, three significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_MAX_US, 3).expect("constant bounds that hdrhistogram accepts")
}

/// What one measured run did.
#[derive(Debug)]
pub struct Measured {
    /// Latency of every answered operation (done or refused), in microseconds.
    pub latency_us: Histogram<u64>,
    /// Operations done.
    pub done: u64,
    /// Operations refused or failed, by code.
    pub errors: BTreeMap<String, u64>,
    /// Operations done, by kind (the mixed run has several).
    pub done_by_kind: BTreeMap<&'static str, u64>,
    /// From the first operation sent to the last one answered.
    pub elapsed: Duration,
    /// Whether the time bound, not the count, ended the run.
    pub timed_out: bool,
}

impl Measured {
    pub fn new() -> Measured {
        Measured {
            latency_us: histogram(),
            done: 0,
            errors: BTreeMap::new(),
            done_by_kind: BTreeMap::new(),
            elapsed: Duration::ZERO,
            timed_out: false,
        }
    }

    /// Records one answer.
    pub fn record(&mut self, kind: &'static str, took: Duration, result: Result<(), Code>) {
        let mut one = Client::default();
        one.record(kind, took, result);
        self.merge(one);
    }

    /// Adds what one client recorded.
    fn merge(&mut self, client: Client) {
        for us in client.latencies_us {
            // Within the bounds by the clamp in `Client::record`.
            let _ = self.latency_us.record(us);
        }
        self.done += client.done;
        self.timed_out |= client.timed_out;
        for (code, n) in client.errors {
            *self.errors.entry(code).or_default() += n;
        }
        for (kind, n) in client.done_by_kind {
            *self.done_by_kind.entry(kind).or_default() += n;
        }
    }

    /// Operations done per second.
    pub fn ops_per_s(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 { self.done as f64 / seconds } else { 0.0 }
    }

    /// The latency at `quantile` (0.5, 0.99, 0.999), in milliseconds.
    pub fn latency_ms(&self, quantile: f64) -> f64 {
        if self.latency_us.is_empty() { 0.0 } else { self.latency_us.value_at_quantile(quantile) as f64 / 1000.0 }
    }

    /// Every operation answered, done or refused.
    pub fn answered(&self) -> u64 {
        self.latency_us.len()
    }
}

/// A latency in whole microseconds, within the histograms' bounds.
fn micros(took: Duration) -> u64 {
    u64::try_from(took.as_micros()).unwrap_or(u64::MAX).clamp(1, LATENCY_MAX_US)
}

/// What one client of [`drive`] recorded. Latencies are kept as a plain list and put into the
/// one histogram at the end: a histogram of these bounds is a quarter of a megabyte, and a
/// thousand clients each clearing their own would cost the measured run its CPU.
#[derive(Default)]
struct Client {
    latencies_us: Vec<u64>,
    done: u64,
    errors: BTreeMap<String, u64>,
    done_by_kind: BTreeMap<&'static str, u64>,
    timed_out: bool,
}

impl Client {
    fn record(&mut self, kind: &'static str, took: Duration, result: Result<(), Code>) {
        self.latencies_us.push(micros(took));
        match result {
            Ok(()) => {
                self.done += 1;
                *self.done_by_kind.entry(kind).or_default() += 1;
            }
            Err(code) => *self.errors.entry(code.into_owned()).or_default() += 1,
        }
    }
}

/// Runs `clients` clients over operations `0..ops_max`, each client taking the next index when
/// its previous operation is answered, until every index is taken or `time_max` has passed
/// (operations already sent are still waited for). `op(i)` performs operation `i` and says
/// its kind and outcome.
pub async fn drive<F, Fut>(clients: usize, ops_max: u64, time_max: Duration, op: F) -> Measured
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = (&'static str, Result<(), Code>)> + Send + 'static,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients.max(1) {
        let (op, next) = (op.clone(), next.clone());
        tasks.spawn(async move {
            let mut mine = Client::default();
            loop {
                if start.elapsed() >= time_max {
                    mine.timed_out = true;
                    break;
                }
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= ops_max {
                    break;
                }
                let sent = Instant::now();
                let (kind, result) = op(index).await;
                mine.record(kind, sent.elapsed(), result);
            }
            mine
        });
    }
    let mut finished = Vec::with_capacity(clients.max(1));
    let mut failed = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(mine) => finished.push(mine),
            Err(err) => failed.push(format!("client task failed: {err}")),
        }
    }
    let mut all = Measured::new();
    all.elapsed = start.elapsed();
    finished.into_iter().for_each(|mine| all.merge(mine));
    for failure in failed {
        *all.errors.entry(failure).or_default() += 1;
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_operation_is_taken_once_and_refusals_are_counted_by_code() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = seen.clone();
        let measured = drive(8, 100, Duration::from_secs(60), move |i| {
            record.lock().unwrap().push(i);
            async move { ("claim", if i % 10 == 0 { Err(Code::Borrowed("packet_exhausted")) } else { Ok(()) }) }
        })
        .await;
        let mut seen = seen.lock().unwrap().clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..100).collect::<Vec<u64>>());
        assert_eq!(measured.done, 90);
        assert_eq!(measured.errors.get("packet_exhausted"), Some(&10));
        assert_eq!(measured.answered(), 100);
        assert!(!measured.timed_out);
    }

    #[tokio::test]
    async fn the_time_bound_stops_a_run_that_would_not_end() {
        let measured = drive(2, u64::MAX, Duration::from_millis(50), |_| async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            ("claim", Ok(()))
        })
        .await;
        assert!(measured.timed_out);
        assert!(measured.done > 0);
    }
}
