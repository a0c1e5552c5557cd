//! The client against a scripted loopback peer: what goes on the wire is signed exactly as
//! docs/API.md says, and answers decode as the API's types. No hongbao server is involved; the
//! lead's end-to-end tests drive the real one.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hongbao_client::signing::{
    self, IDEMPOTENCY_KEY_HEADER, KEY_HEADER, NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use hongbao_client::wire::Direction;
use hongbao_client::{Client, ClientError, PacketOptions, RawRequest, SignParts, Signing, StatusCode};
use hongbao_core::ops::PacketSpec;
use hongbao_core::{Fen, GroupId, PacketId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const SECRET: &str = "hbs_test_secret";
const KEY: &str = "key_0190f0a0b0c0d0e0f000000000000000";
/// Every wait in these tests is bounded by this.
const WAIT_MAX: Duration = Duration::from_secs(10);

/// One request as the peer received it.
#[derive(Debug)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Verifies the request's signature from what arrived, as the server will.
    fn signature_is_valid(&self, secret: &str) -> bool {
        let (Some(timestamp), Some(nonce), Some(signature)) =
            (self.header(TIMESTAMP_HEADER), self.header(NONCE_HEADER), self.header(SIGNATURE_HEADER))
        else {
            return false;
        };
        let canonical = signing::canonical_string(&self.method, &self.target, timestamp, nonce, &self.body);
        signing::verify(secret, &canonical, signature)
    }
}

/// A peer that answers one request with `status`, `extra_headers` (each ending in `\r\n`)
/// and `answer`, and reports what it received.
async fn peer(status: u16, extra_headers: &'static str, answer: String) -> (Client, JoinHandle<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let head_end = loop {
            let mut chunk = [0u8; 4096];
            let n = socket.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the client closed before sending a whole head");
            buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
        };
        let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let mut request_line = lines.next().unwrap().split(' ');
        let (method, target) = (request_line.next().unwrap().to_owned(), request_line.next().unwrap().to_owned());
        let headers: Vec<(String, String)> = lines
            .map(|line| {
                let (name, value) = line.split_once(':').unwrap();
                (name.trim().to_owned(), value.trim().to_owned())
            })
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = buf[head_end + 4..].to_vec();
        while body.len() < length {
            let mut chunk = [0u8; 4096];
            let n = socket.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the client closed before sending the whole body");
            body.extend_from_slice(&chunk[..n]);
        }
        let answer = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra_headers}\r\n{answer}",
            answer.len()
        );
        socket.write_all(answer.as_bytes()).await.unwrap();
        socket.shutdown().await.unwrap();
        Seen { method, target, headers, body }
    });
    (Client::new(&url, KEY, SECRET).unwrap(), task)
}

async fn seen(task: JoinHandle<Seen>) -> Seen {
    tokio::time::timeout(WAIT_MAX, task).await.expect("the peer got a request in time").unwrap()
}

fn unix_now_s() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

const ME: &str = r#"{"user_id": "usr_0190f0a0b0c0d0e0f000000000000000", "name": "alice", "balance": 1050,
  "available": 1000, "pending_in": 0, "pending_out": 50, "frozen": 0, "status": "active"}"#;

#[tokio::test]
async fn a_get_is_signed_over_its_path_an_empty_body_and_a_fresh_nonce() {
    let (client, task) = peer(200, "", ME.to_owned()).await;
    let me = client.me().await.unwrap();
    assert_eq!(me.available, Fen::new(1000));
    let seen = seen(task).await;
    assert_eq!((seen.method.as_str(), seen.target.as_str()), ("GET", "/v1/me"));
    assert_eq!(seen.header(KEY_HEADER), Some(KEY));
    assert!(signing::is_valid_nonce(seen.header(NONCE_HEADER).unwrap()));
    let timestamp = signing::parse_timestamp(seen.header(TIMESTAMP_HEADER).unwrap()).unwrap();
    assert!(signing::within_skew(timestamp, unix_now_s()));
    assert!(seen.body.is_empty());
    assert!(seen.signature_is_valid(SECRET));
    assert!(!seen.signature_is_valid("hbs_another_secret"));
}

#[tokio::test]
async fn a_post_is_signed_over_the_exact_body_bytes_and_carries_its_idempotency_key() {
    let packet = r#"{"packet_id": "pkt_0190f0a0b0c0d0e0f000000000000001", "kind": "lucky",
      "sender": "usr_0190f0a0b0c0d0e0f000000000000000", "group_id": "grp_0190f0a0b0c0d0e0f000000000000002",
      "recipient": null, "count": 3, "total": 1000, "greeting": "大吉", "status": "active",
      "remaining_count": 3, "remaining_amount": 1000, "created_at": "2026-11-26T10:00:00.000Z",
      "expires_at": "2026-11-27T10:00:00.000Z", "arrival_delay_seconds": 7200, "touched": false,
      "claims": [], "best_luck": null}"#;
    let (client, task) = peer(201, "", packet.to_owned()).await;
    let group: GroupId = "grp_0190f0a0b0c0d0e0f000000000000002".parse().unwrap();
    let spec = PacketSpec::Lucky { group_id: group, count: 3, total: Fen::new(1000) };
    let options = PacketOptions::default().greeting("大吉").arrival_delay_seconds(7200);
    let view = client.send_packet(&spec, &options).idempotency_key("send-1").await.unwrap();
    assert_eq!(view.packet_id.to_string(), "pkt_0190f0a0b0c0d0e0f000000000000001");
    let seen = seen(task).await;
    assert_eq!((seen.method.as_str(), seen.target.as_str()), ("POST", "/v1/packets"));
    assert_eq!(seen.header(IDEMPOTENCY_KEY_HEADER), Some("send-1"));
    assert_eq!(seen.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"kind": "lucky", "group_id": group.to_string(), "count": 3, "total": 1000,
                           "greeting": "大吉", "arrival_delay_seconds": 7200})
    );
    assert!(seen.signature_is_valid(SECRET));
}

#[tokio::test]
async fn the_query_string_is_signed_exactly_as_sent() {
    let page = r#"{"items": [{"transfer_id": "trf_0190f0a0b0c0d0e0f000000000000003", "amount": 500,
      "direction": "out", "kind": "packet_send", "status": "posted",
      "packet_id": "pkt_0190f0a0b0c0d0e0f000000000000001", "created_at": "2026-11-26T10:00:00Z"},
      {"transfer_id": "trf_0190f0a0b0c0d0e0f000000000000004", "amount": 1000, "direction": "in",
      "kind": "deposit", "status": "posted", "created_at": "2026-11-26T09:00:00Z"}], "next_cursor": null}"#;
    let (client, task) = peer(200, "", page.to_owned()).await;
    let page = client.transactions(Some(10), Some("c/2 x")).await.unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0].direction, Direction::Out);
    assert_eq!(page.items[1].packet_id, None);
    assert_eq!(page.next_cursor, None);
    let seen = seen(task).await;
    assert_eq!(seen.target, "/v1/me/transactions?limit=10&cursor=c%2F2%20x");
    assert!(seen.signature_is_valid(SECRET));
}

#[tokio::test]
async fn an_api_refusal_keeps_its_code_message_and_reason() {
    let refusal = r#"{"error": {"code": "recall_not_allowed", "message": "someone opened it", "reason": "touched"}}"#;
    let (client, task) = peer(409, "", refusal.to_owned()).await;
    let packet: PacketId = "pkt_0190f0a0b0c0d0e0f000000000000001".parse().unwrap();
    let err = client.recall(packet).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::CONFLICT));
    assert_eq!(err.code(), Some("recall_not_allowed"));
    assert_eq!(err.reason(), Some("touched"));
    assert_eq!(err.to_string(), "recall_not_allowed: someone opened it (reason: touched)");
    let seen = seen(task).await;
    assert_eq!(seen.target, format!("/v1/packets/{packet}/recall"));
    assert!(seen.body.is_empty() && seen.header("content-type").is_none());
}

#[tokio::test]
async fn a_rate_limit_answer_carries_retry_after() {
    let refusal = r#"{"error": {"code": "rate_limited", "message": "too many requests"}}"#;
    let (client, task) = peer(429, "retry-after: 3\r\n", refusal.to_owned()).await;
    let err = client.me().await.unwrap_err();
    assert!(matches!(err, ClientError::Api { retry_after_s: Some(3), .. }), "{err:?}");
    seen(task).await;
}

#[tokio::test]
async fn custom_parts_are_both_sent_and_signed() {
    let (client, task) = peer(200, "", ME.to_owned()).await;
    let parts = SignParts {
        timestamp: Some("1000".to_owned()),
        nonce: Some("fixed-nonce-0000000".to_owned()),
        ..SignParts::default()
    };
    let raw = client.send(RawRequest::get("/v1/me").signing(Signing::custom(parts))).await.unwrap();
    assert_eq!(raw.status, StatusCode::OK);
    let seen = seen(task).await;
    assert_eq!(seen.header(TIMESTAMP_HEADER), Some("1000"));
    assert_eq!(seen.header(NONCE_HEADER), Some("fixed-nonce-0000000"));
    assert!(seen.signature_is_valid(SECRET), "an old timestamp is still properly signed");
}

#[tokio::test]
async fn a_replaced_signature_and_omitted_headers_go_out_as_asked() {
    let (client, task) = peer(401, "", r#"{"error": {"code": "signature_invalid", "message": "no"}}"#.to_owned()).await;
    let parts = SignParts { signature: Some("00".repeat(32)), omit: vec![KEY_HEADER], ..SignParts::default() };
    let raw = client
        .send(RawRequest::post("/v1/me/withdrawals").body(&b"{not json"[..]).signing(Signing::custom(parts)))
        .await
        .unwrap();
    assert_eq!(raw.error_code().as_deref(), Some("signature_invalid"));
    let seen = seen(task).await;
    assert_eq!(seen.header(KEY_HEADER), None);
    assert_eq!(seen.header(SIGNATURE_HEADER), Some("00".repeat(32).as_str()));
    assert_eq!(seen.body, b"{not json");
    assert!(!seen.signature_is_valid(SECRET));
}

#[tokio::test]
async fn public_endpoints_go_unsigned() {
    let (client, task) = peer(200, "", r#"{"status": "ok"}"#.to_owned()).await;
    let raw = client.healthz().await.unwrap();
    assert_eq!(raw.status, StatusCode::OK);
    let seen = seen(task).await;
    assert_eq!(seen.target, "/healthz");
    for name in [KEY_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER] {
        assert_eq!(seen.header(name), None, "{name}");
    }
}

#[tokio::test]
async fn an_answer_of_the_wrong_shape_is_an_unexpected_answer_not_a_panic() {
    let (client, task) = peer(200, "", r#"{"balance": "lots"}"#.to_owned()).await;
    let err = client.me().await.unwrap_err();
    assert!(matches!(err, ClientError::UnexpectedAnswer { status: StatusCode::OK, .. }), "{err:?}");
    seen(task).await;
}

#[tokio::test]
async fn no_server_is_a_transport_error() {
    // Bind and drop to find a port with nothing listening.
    let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let client = Client::new(&format!("http://127.0.0.1:{port}"), KEY, SECRET).unwrap();
    let err = client.me().await.unwrap_err();
    assert!(matches!(err, ClientError::Transport { .. }), "{err:?}");
}
