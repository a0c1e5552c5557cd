//! `hongbao serve` as a child process of the bench (this same executable), so that its CPU and
//! memory are its own and can be read apart from the load generator's.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hongbao_core::Limits;
use hongbao_store_sqlite::Durability;

/// How long the server may take to start (it rebuilds the log's tree from every entry) and to
/// stop (it finishes what is in flight).
const START_TIMEOUT: Duration = Duration::from_secs(120);
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// Requests per second and burst a key may make: far above what a run sends, so that the rate
/// limiter admits everything and only its bookkeeping is measured.
const RATE_PER_KEY: u32 = 1_000_000;
/// Requests in flight the server accepts before refusing with 503: above every run's clients.
const INFLIGHT_MAX: u32 = 100_000;

/// The server's configuration for a run: the bench's limits, the durability and the log as the
/// run asks, and rate limits that admit the whole load.
pub fn write_config(
    dir: &Path,
    limits: &Limits,
    durability: Durability,
    log_key_file: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    let audit = match log_key_file {
        Some(file) => format!("enabled = true\nsigning_key_file = {:?}\n", file.display().to_string()),
        None => "enabled = false\n".to_owned(),
    };
    let text = format!(
        "# Written by `hongbao bench` for one run.\n\
         [limits]\ncount_max = {count}\ngroup_members_max = {members}\nexpiry_s = {expiry}\n\n\
         [http]\nrate_per_key_per_s = {RATE_PER_KEY}\nrate_per_key_burst = {RATE_PER_KEY}\ninflight_max = {INFLIGHT_MAX}\n\n\
         [storage]\ndurability = {durability:?}\n\n\
         [audit]\n{audit}",
        count = limits.count_max,
        members = limits.group_members_max,
        expiry = limits.expiry_s,
        durability = durability.as_str(),
    );
    let path = dir.join("bench.toml");
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// A running `hongbao serve`. Killed when dropped, so a failing bench leaves nothing running.
#[derive(Debug)]
pub struct Served {
    child: Child,
    pub url: String,
    pub pid: u32,
    /// The server's standard error, shown when it fails.
    log: PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Served {
    /// Starts `hongbao serve` on `database` with `config`, on a free loopback port, and waits
    /// until it says where it serves.
    ///
    /// # Errors
    /// When it does not start, or says nothing within [`START_TIMEOUT`].
    pub fn start(data_dir: &Path, database: &str, config: &Path) -> anyhow::Result<Served> {
        let exe = std::env::current_exe().context("cannot find this executable")?;
        let log = data_dir.join("server.stderr");
        let stderr = std::fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let mut child = Command::new(exe)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--config")
            .arg(config)
            .env_remove("HONGBAO_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .context("cannot start `hongbao serve`")?;
        let pid = child.id();
        let stdout = child.stdout.take().context("the server's output")?;
        let (lines, said) = mpsc::channel();
        // A thread of its own reads the output to its end, so the pipe never fills.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let mut served = Served { child, url: String::new(), pid, log };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match said.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("hongbao serving on ") {
                        served.url = url.trim().to_owned();
                        return Ok(served);
                    }
                }
                Err(_) => bail!("`hongbao serve` did not start: {}", served.stderr_tail()),
            }
        }
    }

    fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Stops the server as an operator would (SIGTERM: it finishes what is in flight and
    /// commits), waiting at most [`STOP_TIMEOUT`] before killing it.
    ///
    /// # Errors
    /// When it had to be killed, or exited with a failure.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let term = Command::new("kill").args(["-TERM", &self.pid.to_string()]).status();
        if !term.is_ok_and(|s| s.success()) {
            bail!("cannot send SIGTERM to the server");
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                if status.success() {
                    return Ok(());
                }
                bail!("the server exited with {status}: {}", self.stderr_tail());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("the server did not stop within {STOP_TIMEOUT:?}; it was killed")
    }
}
