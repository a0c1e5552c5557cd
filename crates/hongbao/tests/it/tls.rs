//! TLS end to end: `hongbao serve --tls-cert --tls-key` with a certificate the test makes
//! (rcgen), the CLI speaking https to it, and what a careless setup gets told.

use std::io::Read as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::procs::{Node, ready};
use crate::text;

/// A self-signed certificate for `localhost` and 127.0.0.1; the key file mode 0600.
fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    (cert, key)
}

fn serve_tls(data_dir: &Path, cert: &Path, key: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hongbao"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .arg("--tls-cert")
        .arg(cert)
        .arg("--tls-key")
        .arg(key)
        // A short header timeout, so the silent connection below is cut soon.
        .env("HONGBAO_HTTP__HEADER_TIMEOUT_MS", "300");
    command
}

fn cli(args: &[&str], credentials: &Path, ca: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hongbao"));
    command.args(args).arg("--credentials").arg(credentials).args(["--retries", "0"]);
    if let Some(ca) = ca {
        command.arg("--ca-cert").arg(ca);
    }
    command.output().unwrap()
}

#[test]
fn over_tls_the_cli_creates_a_user_and_moves_money_and_plain_http_or_an_unknown_certificate_gets_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let data_dir = dir.path().join("data");
    let child = serve_tls(&data_dir, &cert, &key).stdout(Stdio::piped()).spawn().unwrap();
    let node: Node = ready(Node { child, url: String::new(), created_root: false, data_dir: data_dir.clone() });
    assert!(node.url.starts_with("https://127.0.0.1:"), "{}", node.url);
    let root = data_dir.join("root-credentials.json");
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&root).unwrap()).unwrap();
    assert_eq!(saved["url"], node.url.as_str(), "the credentials point at the https URL");

    let alice = dir.path().join("alice.json");
    let created = cli(&["user", "create", "alice", "--save", alice.to_str().unwrap()], &root, Some(&cert));
    assert!(created.status.success(), "{}", text(&created));
    let me: serde_json::Value = serde_json::from_slice(&cli(&["me", "--json"], &alice, Some(&cert)).stdout).unwrap();
    let alice_id = me["user_id"].as_str().unwrap().to_owned();
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&alice).unwrap()).unwrap();
    assert_eq!(saved["user_id"], alice_id.as_str(), "a user's credentials file names the user");
    let deposit = cli(&["deposit", &alice_id, "12.34"], &root, Some(&cert));
    assert!(text(&deposit).contains("balance ¥12.34"), "{}", text(&deposit));

    // Without the test's CA the certificate is not trusted, and nothing is sent.
    let untrusted = cli(&["me"], &alice, None);
    assert_eq!(untrusted.status.code(), Some(1));
    assert!(text(&untrusted).contains("no answer from the server"), "{}", text(&untrusted));

    // Plain http to the https port is not served.
    let port = node.url.rsplit(':').next().unwrap();
    let mut stream = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    std::io::Write::write_all(&mut stream, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    assert!(!String::from_utf8_lossy(&answer).contains("200 OK"), "plain http got an answer");

    // A connection that never starts its handshake is cut after the header timeout.
    let mut silent = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    silent.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let mut byte = [0u8; 1];
    let read = silent.read(&mut byte);
    assert!(
        matches!(read, Ok(0)) || read.as_ref().is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "{read:?}"
    );
    let me_again = cli(&["me"], &alice, Some(&cert));
    assert!(text(&me_again).contains("¥12.34"), "{}", text(&me_again));
}

#[test]
fn a_tls_key_every_user_can_read_or_a_missing_certificate_stops_the_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let loose = serve_tls(&dir.path().join("data"), &cert, &key).output().unwrap();
    assert_eq!(loose.status.code(), Some(1));
    assert!(text(&loose).contains("is readable by every user (mode 644)"), "{}", text(&loose));
    assert!(!text(&loose).contains("PRIVATE KEY"), "the key is never shown");

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let missing = serve_tls(&dir.path().join("data"), &dir.path().join("nope.pem"), &key).output().unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing).contains("--tls-cert") && text(&missing).contains("nope.pem"), "{}", text(&missing));
    let alone = Command::new(env!("CARGO_BIN_EXE_hongbao")).args(["serve", "--tls-cert", "x.pem"]).output().unwrap();
    assert!(!alone.status.success() && text(&alone).contains("--tls-key"), "{}", text(&alone));
}
