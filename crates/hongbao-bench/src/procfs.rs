//! CPU time and peak memory of processes, read from Linux's /proc: the bench's own (the load
//! generator), the `hongbao serve` child's, and PostgreSQL's backends. Elsewhere every reading
//! is `None` and the reports leave the figure out.

use std::sync::OnceLock;

/// Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`; 100 on every Linux we know).
fn ticks_per_s() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse::<f64>().ok())
            .filter(|ticks| *ticks > 0.0)
            .unwrap_or(100.0)
    })
}

/// The command name and the user plus system CPU seconds of `/proc/<pid>/stat`.
fn stat(pid: &str) -> Option<(String, f64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name is in parentheses and may itself hold spaces or parentheses: cut at the last one.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // Fields 14 and 15 of proc(5), utime and stime; the state (field 3) is fields[0].
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((name, (utime + stime) / ticks_per_s()))
}

/// CPU seconds (user + system) used so far by process `pid`, or by this process.
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let pid = pid.map_or_else(|| "self".to_owned(), |p| p.to_string());
    stat(&pid).map(|(_, seconds)| seconds)
}

/// CPU seconds used so far by every process named `postgres` on this machine: the server's
/// backends and helpers. A backend that exits between two readings takes its share with it,
/// so a difference of two readings is a lower bound.
pub fn postgres_cpu_seconds() -> Option<f64> {
    let entries = std::fs::read_dir("/proc").ok()?;
    let mut total = 0.0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().filter(|n| n.bytes().all(|b| b.is_ascii_digit())) else { continue };
        if let Some((command, seconds)) = stat(pid)
            && command == "postgres"
        {
            total += seconds;
        }
    }
    Some(total)
}

/// The peak resident memory of process `pid` (or this one) so far, in KiB (`VmHWM`).
pub fn peak_rss_kib(pid: Option<u32>) -> Option<u64> {
    let pid = pid.map_or_else(|| "self".to_owned(), |p| p.to_string());
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU used between two moments, per process.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuReading {
    pub bench_s: Option<f64>,
    pub server_s: Option<f64>,
    pub postgres_s: Option<f64>,
}

impl CpuReading {
    /// Reads the bench, the server `server` (if any) and, when `postgres`, PostgreSQL's processes.
    pub fn now(server: Option<u32>, postgres: bool) -> CpuReading {
        CpuReading {
            bench_s: cpu_seconds(None),
            server_s: server.and_then(|pid| cpu_seconds(Some(pid))),
            postgres_s: if postgres { postgres_cpu_seconds() } else { None },
        }
    }

    /// What was used from `self` to `later`.
    pub fn until(&self, later: &CpuReading) -> CpuReading {
        let delta = |a: Option<f64>, b: Option<f64>| Some((b? - a?).max(0.0));
        CpuReading {
            bench_s: delta(self.bench_s, later.bench_s),
            server_s: delta(self.server_s, later.server_s),
            postgres_s: delta(self.postgres_s, later.postgres_s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_cpu_time_and_a_peak_memory() {
        if !std::path::Path::new("/proc/self/stat").exists() {
            return;
        }
        let mut spin = 0u64;
        for i in 0..1_000_000u64 {
            spin = spin.wrapping_add(i * i);
        }
        assert!(spin > 0);
        assert!(cpu_seconds(None).is_some_and(|s| s >= 0.0));
        assert!(peak_rss_kib(None).is_some_and(|kib| kib > 0));
    }
}
