//! `hongbao serve` as child processes, for the tests that run several nodes, kill them, or
//! check what they left behind.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// One `hongbao serve` process. Killed when dropped, so a failing test leaves nothing running.
pub struct Node {
    pub child: Child,
    pub url: String,
    pub created_root: bool,
    pub data_dir: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A shared configuration: every node signs the log with the same key and seals secrets with
/// the same key. `extra` is appended.
pub fn shared_config(dir: &Path, extra: &str) -> PathBuf {
    let key = dir.join("log-signing-key");
    std::fs::write(&key, format!("{}\n", "5a".repeat(32))).unwrap();
    let secrets = dir.join("secrets-key");
    std::fs::write(&secrets, format!("{}\n", "c3".repeat(32))).unwrap();
    let config = dir.join("hongbao.toml");
    let text = format!(
        "[audit]\nsigning_key_file = {:?}\n[storage]\nsecrets_key_file = {:?}\n{extra}",
        key.to_str().unwrap(),
        secrets.to_str().unwrap()
    );
    std::fs::write(&config, text).unwrap();
    config
}

/// Starts a node on `listen` (e.g. `127.0.0.1:0`) and reads it up to its "serving" line.
pub fn start(database: &str, data_dir: &Path, config: &Path, listen: &str) -> Node {
    let child = Command::new(env!("CARGO_BIN_EXE_hongbao"))
        .args(["serve", "--dev-clock", "--listen", listen, "--database", database])
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--config")
        .arg(config)
        .stdout(Stdio::piped())
        .spawn()
        .expect("serve starts");
    // Owned by a Node at once, so a failure while reading still stops it.
    ready(Node { child, url: String::new(), created_root: false, data_dir: data_dir.to_owned() })
}

/// Starts a node without reading its output yet (to start several at once); then [`ready`].
pub fn spawn(database: &str, data_dir: &Path, config: &Path) -> Node {
    let child = Command::new(env!("CARGO_BIN_EXE_hongbao"))
        .args(["serve", "--dev-clock", "--listen", "127.0.0.1:0", "--database", database])
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--config")
        .arg(config)
        .stdout(Stdio::piped())
        .spawn()
        .expect("serve starts");
    Node { child, url: String::new(), created_root: false, data_dir: data_dir.to_owned() }
}

/// Reads a starting node's output up to its "serving" line.
pub fn ready(mut node: Node) -> Node {
    let mut lines = BufReader::new(node.child.stdout.take().unwrap()).lines();
    loop {
        let line = lines.next().expect("the node prints where it serves").unwrap();
        if line.starts_with("created the operator root") {
            node.created_root = true;
        } else if let Some(url) = line.strip_prefix("hongbao serving on ") {
            node.url = url.to_owned();
            return node;
        }
    }
}

/// SIGTERM, and a clean exit.
pub fn stop(node: &mut Node) {
    let pid = node.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert!(node.child.wait().unwrap().success(), "a node ends with exit 0 on SIGTERM");
}

/// SIGKILL: no shutdown at all.
pub fn kill(node: &mut Node) {
    node.child.kill().expect("the node can be killed");
    let _ = node.child.wait();
}

/// `hongbao check` on `database`; its output, and whether it passed.
pub fn check(database: &str, config: &Path) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_hongbao"))
        .args(["check", "--database", database, "--config"])
        .arg(config)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}
