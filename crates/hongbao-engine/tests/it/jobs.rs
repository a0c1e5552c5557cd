//! Background jobs: expiry refunds and arrivals, exactly once, driven by `run_once(now)`.

use hongbao_core::ops::{Command, PacketSpec, Reply};
use hongbao_core::packet::{ClaimStatus, PacketStatus};
use hongbao_core::{Fen, Timestamp};
use hongbao_engine::{Clock, JobOutcome};

use crate::support::app;

#[tokio::test]
async fn expiry_refunds_exactly_once_even_when_run_once_is_called_twice_for_the_same_instant() {
    let app = app().await;
    let (sender, friend) = (app.user("sender", 100).await, app.user("friend", 0).await);
    let group = app.group(sender, &[friend]).await;
    let packet =
        app.send(sender, PacketSpec::Normal { group_id: group, count: 2, amount_each: Fen::new(500) }, 0).await;
    app.exec(Command::ClaimPacket { actor: friend, packet: packet.packet_id }).await;
    assert_eq!(app.balance(sender).await, Fen::new(9_000));

    // Not yet due: nothing happens a millisecond before expiry.
    let just_before = Timestamp::from_millis(packet.expires_at.millis() - 1);
    assert_eq!(app.engine.run_once(just_before).await.unwrap(), JobOutcome::default());
    assert_eq!(app.balance(sender).await, Fen::new(9_000));

    let at = packet.expires_at;
    let first = app.engine.run_once(at).await.unwrap();
    let second = app.engine.run_once(at).await.unwrap();
    assert_eq!((first.expired, second.expired), (1, 0));
    assert_eq!(app.balance(sender).await, Fen::new(9_500), "the unclaimed 500 fen came back once");
    // Later runs find nothing either.
    assert_eq!(app.engine.run_once(at.plus_seconds(3600)).await.unwrap().expired, 0);
    assert_eq!(app.view(sender, packet.packet_id).await.status, PacketStatus::Expired);
    app.assert_invariants().await;
}

#[tokio::test]
async fn concurrent_job_runs_for_the_same_instant_refund_once() {
    let app = app().await;
    let (sender, friend) = (app.user("sender", 100).await, app.user("friend", 0).await);
    let group = app.group(sender, &[friend]).await;
    let mut packets = Vec::new();
    for _ in 0..5 {
        packets.push(app.send(sender, PacketSpec::Lucky { group_id: group, count: 2, total: Fen::new(300) }, 0).await);
    }
    let at = packets[4].expires_at;
    let runs: Vec<_> = (0..8)
        .map(|_| {
            let engine = app.engine.clone();
            async move { engine.run_once(at).await }
        })
        .collect();
    let expired: u32 = futures_join(runs).await.into_iter().map(|r| r.unwrap().expired).sum();
    assert_eq!(expired, 5);
    assert_eq!(app.balance(sender).await, Fen::new(10_000));
    app.assert_invariants().await;
}

async fn futures_join<F>(futures: Vec<F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_delayed_claim_arrives_by_itself_when_the_clock_passes_arrives_at() {
    let app = app().await;
    let (sender, friend) = (app.user("sender", 100).await, app.user("friend", 0).await);
    let packet = app.send(sender, PacketSpec::Exclusive { recipient: friend, amount: Fen::new(888) }, 7200).await;
    let Reply::Claimed(claim) = app.exec(Command::ClaimPacket { actor: friend, packet: packet.packet_id }).await else {
        panic!()
    };
    assert_eq!(claim.status, ClaimStatus::Pending);
    assert_eq!(claim.arrives_at, hongbao_engine::Clock::now(app.clock.as_ref()).plus_seconds(7200));
    assert_eq!(app.balance(friend).await, Fen::ZERO);

    let now = app.clock.advance(7200).unwrap();
    let outcome = app.engine.run_due(now).await.unwrap();
    assert_eq!(outcome.settled, 1);
    assert_eq!(app.balance(friend).await, Fen::new(888));
    assert_eq!(app.engine.run_once(now).await.unwrap().settled, 0, "posted exactly once");
    let view = app.view(friend, packet.packet_id).await;
    assert_eq!(view.claims[0].status, ClaimStatus::Arrived);
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_job_run_handles_at_most_job_batch_max_and_says_there_is_more() {
    let config = hongbao_engine::EngineConfig { job_batch_max: 2, ..Default::default() };
    let app = crate::support::app_with(config).await;
    let (sender, friend) = (app.user("sender", 100).await, app.user("friend", 0).await);
    for _ in 0..5 {
        app.send(sender, PacketSpec::Exclusive { recipient: friend, amount: Fen::new(100) }, 0).await;
    }
    let at = app.clock.now().plus_seconds(86_400);
    let first = app.engine.run_once(at).await.unwrap();
    assert_eq!((first.expired, first.more), (2, true));
    let rest = app.engine.run_due(at).await.unwrap();
    assert_eq!(rest.expired, 3);
    assert!(!rest.more);
    assert_eq!(app.balance(sender).await, Fen::new(10_000));
}
