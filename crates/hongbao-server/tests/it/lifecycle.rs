//! Starting, shedding load and stopping: `503 overloaded` beyond the in-flight bound, and a
//! graceful stop that answers what is in flight and leaves a database that passes the check.

use std::time::{Duration, Instant};

use hongbao_client::PacketOptions;
use hongbao_core::{AccountId, Fen, Limits};
use hongbao_server::HttpConfig;
use hongbao_store::Store as _;
use hongbao_store_sqlite::{Durability, SqliteStore};
use tokio::net::TcpStream;

use crate::support::{TestApp, books, json, normal, pair, raw_refused, spawn_app, spawn_app_with, with_http};

/// Opens `app`'s database after it stopped and checks every invariant.
async fn check_stopped(app: &TestApp) -> (SqliteStore, hongbao_engine::CheckReport) {
    let store =
        SqliteStore::open(&app.dir.path().join("hongbao.db"), Durability::Full).await.expect("the database opens");
    let key = hongbao_server::run::read_log_key(&app.dir.path().join(hongbao_server::run::LOG_KEY_FILE))
        .expect("the log key")
        .verifying_key();
    let report = hongbao_engine::check(&store, &Limits::default(), Some(&key)).await.expect("the database reads");
    assert!(report.passed(), "{report}");
    (store, report)
}

/// Takes SQLite's write lock from outside the server, so that the next batch waits for it (up
/// to the store's 5 s busy timeout) with its requests in flight; [`release`] gives it back.
async fn hold_the_write_lock(app: &TestApp) -> sqlx::SqliteConnection {
    use sqlx::Connection as _;
    let url = format!("sqlite://{}", app.dir.path().join("hongbao.db").display());
    let mut connection = sqlx::SqliteConnection::connect(&url).await.expect("a second connection");
    sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut connection).await.expect("the write lock");
    connection
}

async fn release(mut connection: sqlx::SqliteConnection) {
    sqlx::raw_sql("ROLLBACK").execute(&mut connection).await.expect("the lock given back");
}

/// Polls `probe` until it is true, for at most 10 s. No sleeping: each poll is a request.
async fn eventually<F, Fut>(what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !probe().await {
        assert!(Instant::now() < deadline, "{what} did not happen within 10 s");
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn stopping_after_some_operations_returns_ok_and_leaves_a_database_that_passes_the_check() {
    let mut app = spawn_app().await;
    let p = pair(&app, 10_000, 0).await;
    let packet = p
        .alice
        .send_packet(&normal(p.group, 2, 300), &PacketOptions::default().arrival_delay_seconds(7_200))
        .send()
        .await
        .unwrap();
    p.bob.claim(packet.packet_id).send().await.unwrap();
    p.alice.transfer(p.bob_id, Fen::new(50), &Default::default()).send().await.unwrap();
    p.alice.withdraw(Fen::new(25)).idempotency_key("once").send().await.unwrap();
    let running = app.running.take().expect("running");
    running.stop().await.expect("a graceful stop is Ok");

    let (store, report) = check_stopped(&app).await;
    assert_eq!((report.users, report.packets, report.claims), (2, 1, 1), "{report}");
    assert_eq!(report.idempotency_records, 1, "{report}");
    let history = store.history(AccountId::wallet(p.alice_id), None, 10).await.unwrap();
    assert_eq!(history.len(), 4, "deposit, packet, transfer, withdrawal: {history:?}");
    // Nobody answers any more.
    assert!(p.alice.me().send().await.unwrap_err().status().is_none(), "the server is gone");
}

#[tokio::test]
async fn a_request_in_flight_when_the_server_stops_still_gets_its_answer() {
    // One permit, so that the server shedding a probe proves the slow request is in its hands.
    let http = HttpConfig { inflight_max: 1, ..HttpConfig::default() };
    let mut app = spawn_app_with(with_http(http), true).await;
    let (alice, created) = app.user("alice", 100).await;
    let lock = hold_the_write_lock(&app).await;
    let withdrawal = tokio::spawn(async move { alice.withdraw(Fen::new(1)).send_raw().await });
    wait_until_shedding(&app).await;

    let running = app.running.take().expect("running");
    let stopping = tokio::spawn(running.stop());
    let addr = app.addr;
    eventually("the listener closing", || async move { TcpStream::connect(addr).await.is_err() }).await;
    release(lock).await;
    let answer = withdrawal.await.unwrap().expect("an answer");
    assert_eq!(answer.status, 201, "{}", answer.text());
    stopping.await.unwrap().expect("a graceful stop is Ok");

    let (store, _) = check_stopped(&app).await;
    let history = store.history(AccountId::wallet(created.user_id), None, 10).await.unwrap();
    assert_eq!(history.len(), 2, "the deposit and the withdrawal answered during the stop: {history:?}");
}

/// Waits until the server sheds a public request: the one permit is taken.
async fn wait_until_shedding(app: &TestApp) {
    let root = app.root.clone();
    eventually("shedding", || {
        let root = root.clone();
        async move { root.healthz().await.unwrap().status == 503 }
    })
    .await;
}

#[tokio::test]
async fn a_request_beyond_the_in_flight_bound_is_503_overloaded_and_changes_nothing() {
    let http = HttpConfig { inflight_max: 1, ..HttpConfig::default() };
    let app = spawn_app_with(with_http(http), true).await;
    let p = pair(&app, 1_000, 1_000).await;
    let (carol, _) = app.user("carol", 100).await;
    let before = books(&p.bob).await;

    // Carol's withdrawal holds the only permit while its batch waits for the database.
    let lock = hold_the_write_lock(&app).await;
    let carol_withdraws = carol.clone();
    let withdrawal = tokio::spawn(async move { carol_withdraws.withdraw(Fen::new(1)).send_raw().await });
    wait_until_shedding(&app).await;
    raw_refused(&app.root.healthz().await.unwrap(), 503, "overloaded");
    raw_refused(&p.bob.withdraw(Fen::new(100)).send_raw().await.unwrap(), 503, "overloaded");
    raw_refused(
        &p.bob.transfer(p.alice_id, Fen::new(100), &Default::default()).send_raw().await.unwrap(),
        503,
        "overloaded",
    );

    release(lock).await;
    let answer = withdrawal.await.unwrap().expect("an answer");
    assert_eq!(answer.status, 201, "{}", answer.text());
    assert_eq!(json(&answer)["balance"], 99);
    // With the permit back, everyone is served again, and the shed requests did nothing.
    assert_eq!(app.root.healthz().await.unwrap().status, 200);
    assert_eq!(books(&p.bob).await, before);
    assert_eq!(json(&carol.me().send_raw().await.unwrap())["balance"], 99);
}
