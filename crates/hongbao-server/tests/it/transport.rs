//! What one host holding many connections can do to the service: slow bodies, slow headers and
//! idle connections are cut within their timeouts, and meanwhile `/healthz` and signed requests
//! are answered.

use std::time::{Duration, Instant};

use hongbao_client::RawRequest;
use hongbao_core::Fen;
use hongbao_server::HttpConfig;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::{TestApp, signed_request, spawn_app_with, with_http};

const TIMEOUT_MS: u64 = 1_000;
/// How long the test waits for a connection to be cut: far beyond the timeout, so a slow
/// machine cannot fail it, and still a bound.
const CUT_WITHIN: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slow {
    /// A signed request's head, then 1 of its body's 13 bytes.
    Body,
    /// Part of a request head.
    Header,
    /// Nothing at all.
    Idle,
}

/// Everything the server sent until it closed the connection, or `None` if it did not close it
/// within [`CUT_WITHIN`].
async fn until_closed(mut stream: TcpStream) -> Option<Vec<u8>> {
    let mut answer = Vec::new();
    let read = tokio::time::timeout(CUT_WITHIN, async {
        let mut buffer = [0_u8; 1024];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| answer)
}

async fn open(app: &TestApp, slow: Slow, request: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    match slow {
        Slow::Body => stream.write_all(&request[..request.len() - 12]).await.expect("send the head"),
        Slow::Header => stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").await.expect("send"),
        Slow::Idle => {}
    }
    stream
}

#[tokio::test]
async fn hundreds_of_slow_bodies_slow_headers_and_idle_connections_are_cut_while_healthz_and_signed_requests_answer() {
    // Fewer in-flight slots than slow bodies: were a body still arriving to hold a slot, every
    // request would be `503 overloaded` until the slow senders gave up.
    let http = HttpConfig {
        inflight_max: 64,
        header_timeout_ms: TIMEOUT_MS,
        body_timeout_ms: TIMEOUT_MS,
        ..HttpConfig::default()
    };
    let app = spawn_app_with(with_http(http), true).await;
    let (alice, created) = app.user("alice", 10).await;
    let body = br#"{"amount": 1}"#;
    assert_eq!(body.len(), 13);
    let withdrawal =
        signed_request("POST", "/v1/me/withdrawals", &created.key_id.to_string(), created.secret.expose(), body);

    let started = Instant::now();
    let mut sockets = Vec::new();
    for (slow, count) in [(Slow::Body, 300), (Slow::Header, 100), (Slow::Idle, 200)] {
        for _ in 0..count {
            sockets.push((slow, open(&app, slow, &withdrawal).await));
        }
    }

    // Every one of them is open, and the service answers all the same.
    let health = app.root.send(RawRequest::get("/healthz")).await.expect("healthz");
    assert_eq!(health.status, 200, "{}", health.text());
    let me = alice.me().send().await.expect("a signed request is answered");
    assert_eq!(me.balance, Fen::new(10));
    let metrics = app.root.send(RawRequest::get("/metrics")).await.expect("metrics").text();
    let open_now = metrics
        .lines()
        .find_map(|line| line.strip_prefix("hongbao_http_connections "))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .expect("the connections gauge");
    assert!(open_now >= 600.0, "the slow connections were all open while the service answered: {open_now}");

    // Read in turn: the server cuts them all on its own clock, and a closed socket's read
    // returns at once.
    for (slow, stream) in sockets {
        let answer = until_closed(stream).await;
        let answer = answer.unwrap_or_else(|| panic!("a {slow:?} connection was still open after {CUT_WITHIN:?}"));
        let text = String::from_utf8_lossy(&answer);
        match slow {
            Slow::Body => {
                assert!(text.starts_with("HTTP/1.1 408"), "a body that never arrives is 408: {text}");
                assert!(text.contains("\"request_timeout\""), "{text}");
            }
            // No request, so no answer: the connection is closed.
            Slow::Header | Slow::Idle => assert!(answer.is_empty(), "{text}"),
        }
    }
    // Not before the timeout: a client is given the time it was promised.
    assert!(started.elapsed() >= Duration::from_millis(TIMEOUT_MS));

    // The withdrawals whose bodies never arrived moved nothing.
    assert_eq!(alice.me().send().await.expect("me").balance, Fen::new(10));
    app.assert_invariants().await;
}

#[tokio::test]
async fn beyond_connections_max_a_client_waits_for_a_free_connection_rather_than_being_refused() {
    let http = HttpConfig { connections_max: 20, header_timeout_ms: TIMEOUT_MS, ..HttpConfig::default() };
    let app = spawn_app_with(with_http(http), true).await;
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(TcpStream::connect(app.addr).await.expect("connect"));
    }
    // The 21st connection is queued by the kernel until the idle ones are cut, then answered.
    let health = app.root.send(RawRequest::get("/healthz")).await.expect("healthz once a connection is free");
    assert_eq!(health.status, 200, "{}", health.text());
    for stream in idle {
        assert!(until_closed(stream).await.is_some_and(|answer| answer.is_empty()), "idle connections are cut");
    }
}
