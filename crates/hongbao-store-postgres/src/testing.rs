//! Test support (feature `testing`): a fresh database per test on the test server, and a
//! private PostgreSQL server a test may stop, kill and restart without disturbing anyone else.
//!
//! The test server is `HONGBAO_TEST_POSTGRES` (default [`DEFAULT_URL`]). Without a reachable
//! server the PostgreSQL tests cannot run: where `CI` is set they fail saying so, elsewhere
//! each prints one line saying it skipped and returns.

use std::io::Write as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use crate::with_database;
use crate::{PostgresOptions, PostgresStore, server_name};
use sqlx::{Connection, Executor, PgConnection};

/// The server the tests use when `HONGBAO_TEST_POSTGRES` is not set: the local one, trusted.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The longest the tests wait to reach the server before deciding it is not there.
const REACH_TIMEOUT: Duration = Duration::from_secs(5);

pub fn server_url() -> String {
    std::env::var("HONGBAO_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

async fn admin(url: &str) -> Result<PgConnection, String> {
    match tokio::time::timeout(REACH_TIMEOUT, PgConnection::connect(url)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {REACH_TIMEOUT:?}")),
    }
}

/// A database made for one test, dropped (with whatever is still connected to it) when this
/// guard is dropped, even when the test panics.
#[derive(Debug)]
pub struct TestDatabase {
    pub name: String,
    /// The URL of this database.
    pub url: String,
    server: String,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on: a thread of its own
        // with a runtime of its own does the asynchronous work, and is waited for.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async {
                let mut conn = admin(&server).await?;
                let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                conn.execute(sqlx::AssertSqlSafe(sql)).await.map_err(|e| e.to_string())?;
                conn.close().await.map_err(|e| e.to_string())
            })
        })
        .join();
        if let Ok(Err(why)) = dropped {
            let _ = writeln!(std::io::stderr(), "test database {} was not dropped: {why}", self.name);
        }
    }
}

/// Says the server cannot be reached: a failure where `CI` is set, one line otherwise.
fn unreachable(url: &str, why: &str) {
    let at = server_name(url).unwrap_or_else(|| "an unparsable HONGBAO_TEST_POSTGRES".to_owned());
    if std::env::var_os("CI").is_some() {
        panic!(
            "PostgreSQL not reachable at {at}: {why}. CI runs the PostgreSQL suite: start the server before the \
             tests, or point HONGBAO_TEST_POSTGRES at one"
        );
    }
    // Straight to the standard error, past the test harness's capture, so the skip is seen.
    let _ = writeln!(std::io::stderr(), "PostgreSQL not reachable at {at}: PostgreSQL suite skipped");
}

/// A new, empty database (no schema) on the test server, or `None` when there is no server.
pub async fn fresh_database() -> Option<TestDatabase> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let server = server_url();
    let mut conn = match admin(&server).await {
        Ok(conn) => conn,
        Err(why) => {
            unreachable(&server, &why);
            return None;
        }
    };
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let name = format!("hb_test_{}_{}_{nanos}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .await
        .unwrap_or_else(|e| panic!("the test database {name} cannot be created: {e}"));
    conn.close().await.expect("the admin connection closes");
    Some(TestDatabase { url: with_database(&server, &name), name, server })
}

/// A store on a new database, with its schema, or `None` when there is no server.
pub async fn fresh_store() -> Option<(PostgresStore, TestDatabase)> {
    let database = fresh_database().await?;
    let store = PostgresStore::connect(&database.url, PostgresOptions::default()).await.expect("a new store connects");
    Some((store, database))
}

/// A PostgreSQL server of a test's own: a new cluster in a temporary directory on a free port,
/// run with the machine's PostgreSQL binaries as the `postgres` user (initdb refuses root).
/// Stopped and removed when dropped. For tests that restart or kill the database.
#[derive(Debug)]
pub struct PrivateServer {
    dir: std::path::PathBuf,
    bin: std::path::PathBuf,
    pub port: u16,
}

impl PrivateServer {
    /// A running private server, or `None` (said on stderr; a failure under `CI`) where the
    /// binaries or the `postgres` user are missing.
    pub fn start() -> Option<PrivateServer> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .find(|p| p.join("initdb").exists());
        let Some(bin) = bin else {
            unreachable("a private server", "no PostgreSQL binaries under /usr/lib/postgresql");
            return None;
        };
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("hb_pg_{}_{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a directory for the private server");
        let owned = std::process::Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir).status();
        if !owned.is_ok_and(|s| s.success()) {
            unreachable("a private server", "cannot give its directory to the postgres user (not root?)");
            return None;
        }
        let data = dir.join("data");
        let init = as_postgres(&bin.join("initdb"), &["-D", &data.to_string_lossy(), "-A", "trust", "-U", "postgres"]);
        if !init {
            unreachable("a private server", "initdb failed");
            return None;
        }
        let server = PrivateServer { dir, bin, port };
        server.pg_ctl("start");
        Some(server)
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn pg_ctl(&self, action: &str) {
        let data = self.dir.join("data").to_string_lossy().into_owned();
        let options =
            format!("-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={}", self.port, self.dir.display());
        let log = self.dir.join("server.log").to_string_lossy().into_owned();
        let args: Vec<&str> = match action {
            "start" | "restart" => vec![action, "-D", &data, "-o", &options, "-l", &log, "-w", "-t", "60"],
            _ => vec!["stop", "-D", &data, "-m", action, "-w", "-t", "60"],
        };
        assert!(as_postgres(&self.bin.join("pg_ctl"), &args), "pg_ctl {action} failed; see {log}");
    }

    /// Stops the server (fast: disconnects clients, then a clean shutdown), waiting until it has.
    pub fn stop(&self) {
        self.pg_ctl("fast");
    }

    /// Crashes the server (immediate: no shutdown checkpoint, recovery at the next start).
    pub fn kill(&self) {
        self.pg_ctl("immediate");
    }

    /// Starts it again, waiting until it accepts connections.
    pub fn start_again(&self) {
        self.pg_ctl("start");
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let data = self.dir.join("data").to_string_lossy().into_owned();
        let _ = as_postgres(&self.bin.join("pg_ctl"), &["stop", "-D", &data, "-m", "immediate", "-w"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn as_postgres(program: &std::path::Path, args: &[&str]) -> bool {
    std::process::Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(55_432)
}
