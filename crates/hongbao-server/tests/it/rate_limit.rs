//! Per-key rate limits: a key over its limit gets `429 rate_limited` with `Retry-After`, and
//! nothing it asked for happens; other keys are not affected.

use hongbao_client::RawResponse;
use hongbao_core::Fen;
use hongbao_server::HttpConfig;

use crate::support::{json, raw_refused, spawn_app_with, with_http};

#[tokio::test]
async fn a_flood_from_one_key_is_429_with_retry_after_while_another_key_is_served() {
    let http = HttpConfig { rate_per_key_per_s: 1, rate_per_key_burst: 5, ..HttpConfig::default() };
    let app = spawn_app_with(with_http(http), true).await;
    // Root's four requests stay within its own burst of five.
    let (alice, a) = app.user("alice", 1_000).await;
    let (bob, b) = app.user("bob", 1_000).await;

    let mut answers: Vec<RawResponse> = Vec::new();
    for _ in 0..30 {
        answers.push(alice.withdraw(Fen::new(1)).send_raw().await.unwrap());
    }
    let served = answers.iter().filter(|a| a.status == 201).count();
    let limited: Vec<&RawResponse> = answers.iter().filter(|a| a.status == 429).collect();
    assert_eq!(served + limited.len(), answers.len(), "only 201 or 429");
    assert!(served >= 5, "the burst is served: {served}");
    assert!(limited.len() >= 20, "most of the flood is refused: {} of 30", limited.len());
    for answer in &limited {
        let error = raw_refused(answer, 429, "rate_limited");
        let retry_after = answer.headers.get("retry-after").expect("a Retry-After header").to_str().unwrap();
        let seconds: u64 = retry_after.parse().unwrap_or_else(|_| panic!("whole seconds: {retry_after:?}"));
        assert!(seconds >= 1, "{retry_after}");
        assert!(!error["message"].as_str().unwrap().is_empty());
    }

    // Another key is served at once, and Alice lost exactly what was served.
    let bobs = bob.me().send_raw().await.unwrap();
    assert_eq!(bobs.status, 200, "{}", bobs.text());
    assert_eq!(json(&bobs)["balance"], 1_000);
    assert_eq!(bob.withdraw(Fen::new(10)).send().await.unwrap().balance, Fen::new(990));
    let served = i64::try_from(served).unwrap();
    assert_eq!(app.me_behind_the_api(a.user_id).await.balance, Fen::new(1_000 - served));
    assert_eq!(app.me_behind_the_api(b.user_id).await.balance, Fen::new(990));
}
