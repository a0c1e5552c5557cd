//! Many clients at once over HTTP: the shares of a packet are handed out exactly once each, and
//! money adds up afterwards.

use std::collections::HashSet;

use hongbao_client::ClientError;
use hongbao_core::{Fen, UserId};
use hongbao_server::HttpConfig;
use tokio::task::JoinSet;

use crate::support::{lucky, send, spawn_app, spawn_app_with, with_http};

const CLAIMERS: usize = 300;
const SHARES: u32 = 100;
const TOTAL_FEN: i64 = 100_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_members_racing_for_a_hundred_share_lucky_packet_get_exactly_a_hundred_shares() {
    // Root creates 300 users in a burst: lift root's per-key rate limit for the set-up (the
    // claims themselves come from 300 keys, far below the default limit each).
    let http = HttpConfig { rate_per_key_per_s: 10_000, rate_per_key_burst: 10_000, ..HttpConfig::default() };
    let app = spawn_app_with(with_http(http), true).await;
    let (sender, _) = app.user("sender", TOTAL_FEN + 1_000).await;
    let claimers = app.users("claimer", CLAIMERS).await;
    let members: Vec<UserId> = claimers.iter().map(|(_, u)| u.user_id).collect();
    let group = sender.create_group("everyone", &members).send().await.unwrap();
    assert_eq!(group.members.len(), CLAIMERS + 1);
    let packet = send(&sender, &lucky(group.group_id, SHARES, TOTAL_FEN)).await.packet_id;

    // Every claimer waits at the barrier, then all claim at once.
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(CLAIMERS));
    let mut tasks = JoinSet::new();
    for (client, user) in claimers.iter().cloned() {
        let start = start.clone();
        tasks.spawn(async move {
            start.wait().await;
            (user.user_id, client.claim(packet).send().await)
        });
    }
    let results = tasks.join_all().await;

    let mut won: Vec<(UserId, Fen)> = Vec::new();
    let mut exhausted = 0;
    for (user, result) in results {
        match result {
            Ok(receipt) => {
                assert_eq!((receipt.packet_id, receipt.status.as_str()), (packet, "arrived"));
                won.push((user, receipt.amount));
            }
            Err(ClientError::Api { status, code, body, .. }) if code == "packet_exhausted" => {
                assert_eq!(status, 409, "{body}");
                crate::support::error_shape(&body, "packet_exhausted");
                exhausted += 1;
            }
            Err(other) => panic!("{user}: {other}"),
        }
    }
    assert_eq!((won.len(), exhausted), (SHARES as usize, CLAIMERS - SHARES as usize));
    assert_eq!(Fen::checked_sum(won.iter().map(|(_, a)| *a)).unwrap(), Fen::new(TOTAL_FEN));
    assert!(won.iter().all(|(_, a)| (1..=20_000).contains(&a.get())), "every share within the limits");

    let view = sender.packet(packet).send().await.unwrap();
    assert_eq!(view.status.as_str(), "exhausted");
    assert_eq!((view.claims.len(), view.remaining_count, view.remaining_amount), (SHARES as usize, 0, Fen::ZERO));
    let claimed: HashSet<(UserId, Fen)> = view.claims.iter().map(|c| (c.user_id, c.amount)).collect();
    assert_eq!(claimed, won.iter().copied().collect(), "the view shows exactly the winners and their shares");
    let best = view.claims.iter().map(|c| c.amount).max().unwrap();
    let best_luck = view.best_luck.expect("an exhausted lucky packet has a best luck");
    assert!(won.contains(&(best_luck, best)), "{best_luck} has the largest share");

    assert_eq!(app.balance(&sender).await, Fen::new(1_000));
    let mut balances = JoinSet::new();
    for (client, user) in claimers {
        balances.spawn(async move { (user.user_id, client.me().send().await.unwrap().balance) });
    }
    let winners: std::collections::HashMap<UserId, Fen> = won.into_iter().collect();
    let mut everyone = Fen::ZERO;
    for (user, balance) in balances.join_all().await {
        assert_eq!(balance, winners.get(&user).copied().unwrap_or(Fen::ZERO), "{user}");
        everyone = everyone.checked_add(balance).unwrap();
    }
    assert_eq!(everyone, Fen::new(TOTAL_FEN));
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_withdrawals_never_take_more_than_the_balance() {
    let app = spawn_app().await;
    let (alice, _) = app.user("alice", 1_000).await;
    let mut tasks = JoinSet::new();
    for _ in 0..25 {
        let alice = alice.clone();
        tasks.spawn(async move { alice.withdraw(Fen::new(100)).send().await });
    }
    let mut taken = 0;
    for result in tasks.join_all().await {
        match result {
            Ok(_) => taken += 1,
            Err(err) => {
                crate::support::refused(Err::<(), _>(err), 409, "insufficient_funds");
            }
        }
    }
    assert_eq!(taken, 10);
    assert_eq!(app.balance(&alice).await, Fen::ZERO);
    app.assert_invariants().await;
}
