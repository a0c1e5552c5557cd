//! `spawn_app()`: a real server on a free port with a fresh database, and its root operator;
//! and the assertions every module shares (the error shape, "nothing changed").

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::net::SocketAddr;

use hongbao_client::{Client, ClientError, Credentials, RawResponse, TransferOptions};
use hongbao_core::ops::{PacketSpec, UserCreated};
use hongbao_core::packet::PacketView;
use hongbao_core::user::MeView;
use hongbao_core::{Fen, GroupId, PacketId, UserId};
use hongbao_server::HttpConfig;
use hongbao_server::run::{Options, Running, Settings, start};
use serde_json::Value;
use tokio::io::AsyncReadExt as _;

pub struct TestApp {
    pub url: String,
    pub addr: SocketAddr,
    /// The bootstrap operator, with every role.
    pub root: Client,
    /// The root operator's credentials, for requests built by hand.
    pub root_credentials: Credentials,
    pub running: Option<Running>,
    pub dir: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Settings::default(), true).await
}

/// Default settings but for the HTTP layer's.
pub fn with_http(http: HttpConfig) -> Settings {
    Settings { http, ..Settings::default() }
}

pub async fn spawn_app_with(settings: Settings, dev_clock: bool) -> TestApp {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let options = Options {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.path().to_owned(),
        database: None,
        dev_clock,
        tls: None,
        settings,
    };
    let running = start(options).await.expect("the server starts");
    let credentials_path = running.root_credentials.clone().expect("a fresh database bootstraps root");
    let credentials = Credentials::load(&credentials_path).expect("root credentials are readable");
    assert_eq!(credentials.url, running.url);
    let root = credentials.client().expect("a client for root");
    TestApp {
        url: running.url.clone(),
        addr: running.addr,
        root,
        root_credentials: credentials,
        running: Some(running),
        dir,
    }
}

impl TestApp {
    /// A new user with `fen` deposited, and a client signing as them.
    pub async fn user(&self, name: &str, fen: i64) -> (Client, UserCreated) {
        let created = self.root.create_user(name).send().await.expect("create user");
        if fen > 0 {
            self.root.deposit(created.user_id, Fen::new(fen)).send().await.expect("deposit");
        }
        (self.root.for_user(&created), created)
    }

    /// `count` new users, created concurrently, none with money; in the order of their names.
    pub async fn users(&self, prefix: &str, count: usize) -> Vec<(Client, UserCreated)> {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..count {
            let root = self.root.clone();
            let name = format!("{prefix}-{i:03}");
            tasks.spawn(async move { (i, root.create_user(&name).send().await.expect("create user")) });
        }
        let mut made: Vec<(usize, UserCreated)> = tasks.join_all().await;
        made.sort_by_key(|(i, _)| *i);
        made.into_iter().map(|(_, created)| (self.root.for_user(&created), created)).collect()
    }

    pub async fn balance(&self, client: &Client) -> Fen {
        client.me().send().await.expect("me").balance
    }

    /// A user's balances read straight from the engine, past the HTTP layer: for when the
    /// user's own key is rate limited or the API is refusing everyone.
    pub async fn me_behind_the_api(&self, user: UserId) -> MeView {
        let engine = &self.running.as_ref().expect("the server runs").engine;
        match engine.query(&hongbao_core::query::Query::Me { actor: user }).await.expect("the engine answers") {
            hongbao_core::query::Answer::Me(me) => me,
            other => panic!("asked for a user, got {other:?}"),
        }
    }

    /// Checks every invariant of docs/DESIGN.md against what the running server has stored (the
    /// same check as `hongbao check`), independently of what the API answered.
    pub async fn assert_invariants(&self) -> hongbao_engine::CheckReport {
        let engine = &self.running.as_ref().expect("the server runs").engine;
        let key = engine.audit().map(|log| *log.verifier().verifying_key());
        let report = hongbao_engine::check(engine.store().as_ref(), engine.limits(), key.as_ref())
            .await
            .expect("the store reads");
        assert!(report.passed(), "{report}");
        report
    }

    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await.expect("the server stops cleanly");
        }
    }
}

/// Two users with money, in a group of the two: the cast of most tests.
pub struct Pair {
    pub alice: Client,
    pub alice_id: UserId,
    pub bob: Client,
    pub bob_id: UserId,
    pub group: GroupId,
}

pub async fn pair(app: &TestApp, alice_fen: i64, bob_fen: i64) -> Pair {
    let (alice, a) = app.user("alice", alice_fen).await;
    let (bob, b) = app.user("bob", bob_fen).await;
    let group = alice.create_group("family", &[b.user_id]).send().await.expect("create group");
    Pair { alice, alice_id: a.user_id, bob, bob_id: b.user_id, group: group.group_id }
}

pub fn normal(group_id: GroupId, count: u32, amount_each: i64) -> PacketSpec {
    PacketSpec::Normal { group_id, count, amount_each: Fen::new(amount_each) }
}

pub fn lucky(group_id: GroupId, count: u32, total: i64) -> PacketSpec {
    PacketSpec::Lucky { group_id, count, total: Fen::new(total) }
}

pub fn exclusive(recipient: UserId, amount: i64) -> PacketSpec {
    PacketSpec::Exclusive { recipient, amount: Fen::new(amount) }
}

pub async fn send(sender: &Client, spec: &PacketSpec) -> PacketView {
    sender.send_packet(spec, &Default::default()).send().await.expect("send packet")
}

pub fn no_options() -> TransferOptions {
    TransferOptions::default()
}

/// The field names of a JSON object.
pub fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap_or_else(|| panic!("not an object: {value}")).keys().cloned().collect()
}

pub fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

pub fn json(response: &RawResponse) -> Value {
    serde_json::from_slice(&response.body).unwrap_or_else(|e| {
        panic!("{} answered something that is not JSON ({e}): {}", response.status, response.text())
    })
}

/// Asserts `body` is exactly `{"error": {"code": code, "message": "…", …}}` and returns the
/// `error` object.
pub fn error_shape(body: &Value, code: &str) -> Value {
    assert_eq!(keys(body), set(&["error"]), "an error answer has only `error`: {body}");
    let error = &body["error"];
    assert_eq!(error["code"], code, "{body}");
    let message = error["message"].as_str().unwrap_or_else(|| panic!("error.message is a string: {body}"));
    assert!(!message.is_empty(), "error.message says something: {body}");
    error.clone()
}

/// Asserts a raw answer is the API error `status`/`code` and returns the `error` object.
pub fn raw_refused(response: &RawResponse, status: u16, code: &str) -> Value {
    assert_eq!(response.status.as_u16(), status, "expected {status} {code}, got: {}", response.text());
    let content_type = response.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(content_type.starts_with("application/json"), "errors are JSON, got {content_type:?}");
    error_shape(&json(response), code)
}

/// Asserts a typed call was refused with `status`/`code` in the API's error shape and returns
/// the `error` object.
pub fn refused<T: Debug>(result: Result<T, ClientError>, status: u16, code: &str) -> Value {
    match result {
        Err(ClientError::Api { status: got, code: got_code, body, .. }) => {
            assert_eq!((got.as_u16(), got_code.as_str()), (status, code), "{body}");
            error_shape(&body, code)
        }
        other => panic!("expected {status} {code}, got {other:?}"),
    }
}

/// Everything a user can see of their own money: their balances and whole history.
#[derive(Debug, PartialEq)]
pub struct Books {
    pub me: MeView,
    pub history: Value,
}

pub async fn books(client: &Client) -> Books {
    let me = client.me().send().await.expect("me");
    let history = json(&client.transactions(Some(100), None).send_raw().await.expect("history"));
    Books { me, history }
}

/// What several users and packets look like now, to compare before and after a refusal.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub books: Vec<Books>,
    pub packets: Vec<PacketView>,
}

/// `packets` are read by `viewer`, who must be allowed to see them.
pub async fn snapshot(users: &[&Client], viewer: &Client, packets: &[PacketId]) -> Snapshot {
    let mut all = Vec::new();
    for user in users {
        all.push(books(user).await);
    }
    let mut views = Vec::new();
    for &packet in packets {
        views.push(viewer.packet(packet).send().await.expect("packet view"));
    }
    Snapshot { books: all, packets: views }
}

/// Reads one whole answer from a connection the server will close after it.
pub async fn read_answer(stream: &mut tokio::net::TcpStream) -> (u16, String, Vec<u8>) {
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read the answer");
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete head");
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    (status, head, answer[split + 4..].to_vec())
}

/// A whole HTTP/1.1 request built by hand (`Connection: close`), signed for `key_id`/`secret`
/// at the real time: for what the client cannot do, such as sending a body in two parts.
pub fn signed_request(method: &str, path: &str, key_id: &str, secret: &str, body: &[u8]) -> Vec<u8> {
    use hongbao_client::signing;
    let timestamp = unix_now_s().to_string();
    let nonce = fresh_nonce();
    let canonical = signing::canonical_string(method, path, &timestamp, &nonce, body);
    let signature = signing::sign(secret, &canonical);
    let mut out = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n\
         Content-Type: application/json\r\n{}: {key_id}\r\n{}: {timestamp}\r\n{}: {nonce}\r\n{}: {signature}\r\n\r\n",
        body.len(),
        signing::KEY_HEADER,
        signing::TIMESTAMP_HEADER,
        signing::NONCE_HEADER,
        signing::SIGNATURE_HEADER,
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

pub fn unix_now_s() -> i64 {
    let elapsed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970");
    i64::try_from(elapsed.as_secs()).expect("in range")
}

/// A nonce nobody used: 32 characters from a process-wide counter and the time.
pub fn fresh_nonce() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("t{n:015x}{:016x}", u64::try_from(nanos & u128::from(u64::MAX)).unwrap_or_default())
}
