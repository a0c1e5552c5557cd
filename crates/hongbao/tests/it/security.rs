//! What an attacker with a captured request or a copy of the disk can do, tried on the binary as
//! it is served: a replay after a restart or a crash moves no money, the database's files hold
//! no usable secret, and the data directory is its owner's alone whatever the umask.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use hongbao_client::{Client, Credentials, RawRequest, RawResponse, SignParts, Signing};
use hongbao_core::Fen;
use hongbao_store_postgres::testing::fresh_database;

use crate::procs::{Node, kill, ready, shared_config, start, stop};

/// How a node goes down between the request and its replay.
#[derive(Clone, Copy, Debug)]
enum Down {
    Term,
    Kill,
}

fn unix_now_s() -> i64 {
    let elapsed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    i64::try_from(elapsed.as_secs()).unwrap()
}

fn root(node: &Node, credentials_dir: &Path) -> Client {
    let credentials = Credentials::load(credentials_dir.join("root-credentials.json")).unwrap();
    Client::new(&node.url, credentials.key_id, credentials.secret.expose()).unwrap()
}

/// A request signed once, with a fixed timestamp and nonce, to be sent again as it is.
#[derive(Clone)]
struct Captured {
    request: RawRequest,
}

impl Captured {
    fn new(request: RawRequest, nonce: &str, timestamp_s: i64) -> Captured {
        let parts =
            SignParts { nonce: Some(nonce.to_owned()), timestamp: Some(timestamp_s.to_string()), ..Default::default() };
        Captured { request: request.signing(Signing::custom(parts)) }
    }

    async fn send(&self, as_whom: &Client) -> RawResponse {
        as_whom.send(self.request.clone()).await.expect("an answer")
    }
}

fn code(answer: &RawResponse) -> String {
    answer.error_code().unwrap_or_else(|| answer.status.as_u16().to_string())
}

/// One node on `database`: a withdrawal, a refused withdrawal and a read, each signed once;
/// the node goes down as `down` says and comes back; each replay is refused and no money moved.
async fn replays_are_refused_across(database: &str, data_dir: &Path, config: &Path, down: Down) {
    let mut node = start(database, data_dir, config, "127.0.0.1:0");
    let root_client = root(&node, data_dir);
    let created = root_client.create_user(&format!("victim {down:?}")).send().await.unwrap();
    root_client.deposit(created.user_id, Fen::new(10)).send().await.unwrap();
    let user = root_client.for_user(&created);

    let now = unix_now_s();
    let tag = format!("{down:?}{}", now % 100_000).to_lowercase();
    let withdraw = Captured::new(
        RawRequest::post("/v1/me/withdrawals").body(r#"{"amount":1}"#),
        &format!("withdraw-{tag}-0000"),
        now,
    );
    let too_much = Captured::new(
        RawRequest::post("/v1/me/withdrawals").body(r#"{"amount":500}"#),
        &format!("toomuch-{tag}-0000"),
        now,
    );
    let read = Captured::new(RawRequest::get("/v1/me"), &format!("read-{tag}-00000000"), now);

    assert_eq!(withdraw.send(&user).await.status, 201, "the withdrawal goes through once");
    assert_eq!(code(&withdraw.send(&user).await), "replayed_request", "its replay is refused while the node runs");
    assert_eq!(code(&too_much.send(&user).await), "insufficient_funds");
    assert_eq!(read.send(&user).await.status, 200);
    match down {
        Down::Term => stop(&mut node),
        Down::Kill => kill(&mut node),
    }
    drop(node);

    let node = start(database, data_dir, config, "127.0.0.1:0");
    let root_client = root(&node, data_dir);
    let user = root_client.for_user(&created);
    // Enough money now for the refused one to succeed, were it taken again.
    root_client.deposit(created.user_id, Fen::new(1_000)).send().await.unwrap();
    assert_eq!(code(&withdraw.send(&user).await), "replayed_request", "after {down:?}: the withdrawal");
    assert_eq!(code(&too_much.send(&user).await), "replayed_request", "after {down:?}: the refused withdrawal");
    if matches!(down, Down::Term) {
        // A read's nonce rides the next batch without waiting for it: stored by a clean stop.
        assert_eq!(code(&read.send(&user).await), "replayed_request", "after {down:?}: the read");
    }
    let me = user.me().send().await.unwrap();
    assert_eq!(me.balance, Fen::new(10 - 1 + 1_000), "one withdrawal of 1 fen, and nothing else");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_after_sigterm_or_sigkill_is_refused_on_sqlite() {
    for down in [Down::Term, Down::Kill] {
        let dir = tempfile::tempdir().unwrap();
        let config = shared_config(dir.path(), "");
        let database = dir.path().join("hongbao.db");
        replays_are_refused_across(database.to_str().unwrap(), &dir.path().join("node"), &config, down).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_after_sigterm_or_sigkill_is_refused_on_postgres() {
    for down in [Down::Term, Down::Kill] {
        let Some(database) = fresh_database().await else { return };
        let dir = tempfile::tempdir().unwrap();
        let config = shared_config(dir.path(), "");
        replays_are_refused_across(&database.url, &dir.path().join("node"), &config, down).await;
    }
}

/// The bytes of every file of the SQLite database at `db` (the file, its WAL, its shared memory).
fn database_bytes(db: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| PathBuf::from(format!("{}{suffix}", db.display())))
        .filter(|path| path.exists())
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect()
}

/// Asserts no file holds any of `secrets`, whole or as the hex after `hbs_`.
fn holds_none(files: &[(PathBuf, Vec<u8>)], secrets: &[String]) {
    assert!(!files.is_empty());
    for (path, bytes) in files {
        for secret in secrets {
            let hex = secret.trim_start_matches("hbs_");
            assert!(hex.len() >= 32, "a real secret");
            let found = bytes.windows(hex.len()).any(|w| w == hex.as_bytes());
            assert!(!found, "{} holds a secret in the clear", path.display());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_is_anywhere_in_the_sqlite_databases_bytes_and_old_clear_ones_are_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = shared_config(dir.path(), "");
    let db = data.join("hongbao.db");
    let mut node = start(db.to_str().unwrap(), &data, &config, "127.0.0.1:0");
    let root_client = root(&node, &data);
    let root_secret = Credentials::load(data.join("root-credentials.json")).unwrap().secret.expose().to_owned();
    let created = root_client.create_user("alice").send().await.unwrap();
    let secrets = vec![root_secret, created.secret.expose().to_owned()];
    // While serving (the WAL holds the latest pages), and once stopped.
    holds_none(&database_bytes(&db), &secrets);
    stop(&mut node);
    holds_none(&database_bytes(&db), &secrets);

    // A database an older version wrote: alice's secret in the clear.
    let url = format!("sqlite://{}", db.display());
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.unwrap();
    let key: hongbao_core::KeyId = created.key_id;
    let done = sqlx::query("UPDATE principals SET secret = ?1 WHERE key_id = ?2")
        .bind(created.secret.expose())
        .bind(key.uuid())
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 1);
    sqlx::Connection::close(conn).await.unwrap();
    let clear = database_bytes(&db);
    let hex = &secrets[1][4..];
    assert!(
        clear.iter().any(|(_, b)| b.windows(hex.len()).any(|w| w == hex.as_bytes())),
        "the old secret is in the clear"
    );

    let node = start(db.to_str().unwrap(), &data, &config, "127.0.0.1:0");
    holds_none(&database_bytes(&db), &secrets);
    let alice = Client::new(&node.url, created.key_id, created.secret.expose()).unwrap();
    assert_eq!(alice.me().send().await.unwrap().user_id, created.user_id, "the sealed old secret still signs");
}

fn psql(url: &str, sql: &str) -> String {
    let output = Command::new("psql").args([url, "-XAtc", sql]).output().expect("psql runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn pg_dump(url: &str) -> Vec<u8> {
    let output = Command::new("pg_dump").arg(url).output().expect("pg_dump runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_is_in_a_postgres_dump_and_old_clear_ones_are_sealed() {
    let Some(database) = fresh_database().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = shared_config(dir.path(), "");
    let mut node = start(&database.url, &data, &config, "127.0.0.1:0");
    let root_client = root(&node, &data);
    let root_secret = Credentials::load(data.join("root-credentials.json")).unwrap().secret.expose().to_owned();
    let created = root_client.create_user("alice").send().await.unwrap();
    let secrets = vec![root_secret, created.secret.expose().to_owned()];
    holds_none(&[(PathBuf::from("pg_dump"), pg_dump(&database.url))], &secrets);
    stop(&mut node);

    let key: hongbao_core::KeyId = created.key_id;
    let updated = psql(
        &database.url,
        &format!(
            "UPDATE principals SET secret = '{}' WHERE key_id = '{}' RETURNING 1",
            created.secret.expose(),
            key.uuid()
        ),
    );
    assert_eq!(updated.lines().next(), Some("1"), "{updated}");
    let node = start(&database.url, &data, &config, "127.0.0.1:0");
    holds_none(&[(PathBuf::from("pg_dump"), pg_dump(&database.url))], &secrets);
    let alice = Client::new(&node.url, created.key_id, created.secret.expose()).unwrap();
    assert_eq!(alice.me().send().await.unwrap().user_id, created.user_id, "the sealed old secret still signs");
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

/// `hongbao serve` under `umask 022`, the usual default, which would make new files 0644.
fn start_under_umask_022(data_dir: &Path, config: &Path) -> Node {
    let binary = env!("CARGO_BIN_EXE_hongbao");
    let child = Command::new("sh")
        .arg("-c")
        .arg(r#"umask 022; exec "$0" serve --dev-clock --listen 127.0.0.1:0 --data-dir "$1" --config "$2""#)
        .arg(binary)
        .arg(data_dir)
        .arg(config)
        .stdout(Stdio::piped())
        .spawn()
        .expect("serve starts");
    ready(Node { child, url: String::new(), created_root: false, data_dir: data_dir.to_owned() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_and_every_file_in_it_are_private_under_umask_022() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A directory someone made readable to all, holding an old credentials file readable to
    // all, with a second name outside (as a reader holding it open would).
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let credentials = data.join("root-credentials.json");
    std::fs::write(&credentials, "old contents").unwrap();
    std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(0o644)).unwrap();
    let outside = dir.path().join("outside-link.json");
    std::fs::hard_link(&credentials, &outside).unwrap();
    let old_inode = std::fs::metadata(&credentials).unwrap().ino();
    let config = dir.path().join("empty.toml");
    std::fs::write(&config, "").unwrap();

    let mut node = start_under_umask_022(&data, &config);
    assert!(node.created_root);
    let root_client = root(&node, &data);
    root_client.create_user("someone").send().await.unwrap();
    assert_eq!(mode(&data), 0o700, "the data directory");
    let files =
        ["hongbao.db", "hongbao.db-wal", "hongbao.db-shm", "log-signing-key", "secrets-key", "root-credentials.json"];
    for name in files {
        assert_eq!(mode(&data.join(name)), 0o600, "{name}");
    }
    assert_ne!(std::fs::metadata(&credentials).unwrap().ino(), old_inode, "the credentials are a new file");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "old contents", "the old file was never written into");
    stop(&mut node);

    // Loosened while it was down: tightened at the next start.
    for name in ["hongbao.db", "secrets-key", "log-signing-key"] {
        std::fs::set_permissions(data.join(name), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let node = start_under_umask_022(&data, &config);
    assert_eq!(mode(&data), 0o700);
    for name in files {
        assert_eq!(mode(&data.join(name)), 0o600, "{name} after a restart");
    }
    drop(node);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_another_secrets_key_refuses_to_serve_a_database_saying_which_setting_to_share() {
    let Some(database) = fresh_database().await else { return };
    let dir = tempfile::tempdir().unwrap();
    // The log's key is shared, but each node makes its own secrets key in its own data
    // directory: they cannot both open root's secret.
    let log_key = dir.path().join("log-signing-key");
    std::fs::write(&log_key, format!("{}\n", "5a".repeat(32))).unwrap();
    let first_config = dir.path().join("first.toml");
    std::fs::write(&first_config, format!("[audit]\nsigning_key_file = {:?}\n", log_key.to_str().unwrap())).unwrap();
    let mut first = start(&database.url, &dir.path().join("first"), &first_config, "127.0.0.1:0");
    assert!(first.created_root);
    let second = Command::new(env!("CARGO_BIN_EXE_hongbao"))
        .args(["serve", "--dev-clock", "--listen", "127.0.0.1:0", "--database", &database.url])
        .arg("--data-dir")
        .arg(dir.path().join("second"))
        .arg("--config")
        .arg(&first_config)
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(!second.status.success(), "the second node does not serve");
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(said.contains("storage.secrets_key_file"), "it names the setting to share: {said}");
    // The first node still serves, with root's secret as it was handed out.
    let root_client = root(&first, &dir.path().join("first"));
    root_client.create_user("still served").send().await.unwrap();
    stop(&mut first);
}
