//! One host holding more connections than the process has file descriptors: the server does not
//! stop, and answers again once the idle connections are cut.

use std::process::{Command, Stdio};

use hongbao_client::{Client, RawRequest, Signing};

use crate::procs::{Node, ready};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_256_file_limit_400_idle_sockets_do_not_stop_the_server_and_it_answers_once_they_are_cut() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hongbao.toml");
    std::fs::write(&config, "[http]\nheader_timeout_ms = 1000\n").unwrap();
    // prlimit (util-linux) sets both limits, so the server cannot raise its own.
    let child = Command::new("prlimit")
        .arg("--nofile=256:256")
        .arg(env!("CARGO_BIN_EXE_hongbao"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("prlimit (util-linux) runs the server");
    let mut node = ready(Node { child, url: String::new(), created_root: false, data_dir: dir.path().join("data") });
    let addr = node.url.trim_start_matches("http://").to_owned();

    // More than the 256 descriptors the process may open: the kernel queues what the server
    // does not accept.
    let mut idle = Vec::new();
    for _ in 0..400 {
        idle.push(tokio::net::TcpStream::connect(&addr).await.expect("connect"));
    }
    let client = Client::new(&node.url, "key_unused", "unused").unwrap();
    let health = client.send(RawRequest::get("/healthz").signing(Signing::Unsigned)).await.expect("healthz answers");
    assert_eq!(health.status, 200, "{}", health.text());
    assert!(node.child.try_wait().unwrap().is_none(), "the server is still running");

    drop(idle);
    node.child.kill().unwrap();
    node.child.wait().unwrap();
    let mut log = String::new();
    std::io::Read::read_to_string(&mut node.child.stderr.take().unwrap(), &mut log).unwrap();
    // It knew its bound, rather than running into the limit.
    assert!(log.contains("connections_max is above what the open-file limit allows"), "{log}");
    assert!(!log.contains("accept failed"), "no accept ran out of descriptors: {log}");
}
