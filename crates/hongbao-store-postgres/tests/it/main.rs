//! The PostgreSQL store's one integration-test binary: the shared store contract on a new
//! database per test, and what only a shared store has (row locks between nodes, SKIP LOCKED
//! jobs, the log's lock, bounded waits when the server is gone).
//!
//! The server is `HONGBAO_TEST_POSTGRES` (default [`DEFAULT_URL`]): each test creates a database
//! `hb_test_…` there and drops it when it ends. Without a reachable server the suite cannot run:
//! where `CI` is set every test fails saying so, elsewhere each test prints one line saying it
//! skipped and returns.

mod contract;
mod postgres;

use std::io::Write as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hongbao_store_postgres::{PostgresOptions, PostgresStore};
use sqlx::{Connection, Executor, PgConnection};

/// The server the tests use when `HONGBAO_TEST_POSTGRES` is not set: the local one, trusted.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The longest the tests wait to reach the server before deciding it is not there.
const REACH_TIMEOUT: Duration = Duration::from_secs(5);

pub fn server_url() -> String {
    std::env::var("HONGBAO_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// `url` with its database replaced by `database` (the rest, query included, kept).
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_at = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_at..].find('/') {
        Some(slash) => &base[..authority_at + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

/// Where the server is, for messages: host, port and database, never a password.
fn server_name(url: &str) -> String {
    match url.parse::<sqlx::postgres::PgConnectOptions>() {
        Ok(o) => format!("{}:{}/{}", o.get_host(), o.get_port(), o.get_database().unwrap_or("")),
        Err(_) => "an unparsable HONGBAO_TEST_POSTGRES".to_owned(),
    }
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
    let at = server_name(url);
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

#[test]
fn with_database_replaces_only_the_database() {
    assert_eq!(with_database("postgres://u@h:5432/test", "x"), "postgres://u@h:5432/x");
    assert_eq!(with_database("postgres://u:p@h/test?sslmode=disable", "x"), "postgres://u:p@h/x?sslmode=disable");
    assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
}
