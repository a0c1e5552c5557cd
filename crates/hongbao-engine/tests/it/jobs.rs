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

/// Each periodic task is a `Job` whose `run_once(now)` a test drives with the instant it picks.
mod as_jobs {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use hongbao_core::ops::{Command, PacketSpec};
    use hongbao_core::{Fen, KeyId, Timestamp};
    use hongbao_engine::jobs::{self, DueWork, ForgetNonces, Job, JobClock, JobReport, PurgeIdempotency};
    use hongbao_engine::{EngineError, Idempotency};
    use hongbao_store::{NonceRecord, Store};
    use tokio::sync::mpsc;

    use crate::support::app;

    #[tokio::test]
    async fn due_work_expires_a_packet_once_and_reports_it() {
        let app = app().await;
        let (sender, friend) = (app.user("sender", 100).await, app.user("friend", 0).await);
        let group = app.group(sender, &[friend]).await;
        let packet =
            app.send(sender, PacketSpec::Normal { group_id: group, count: 2, amount_each: Fen::new(500) }, 0).await;
        let job = DueWork(app.engine.clone());
        assert_eq!(job.clock(), JobClock::Business);
        assert_eq!(job.run_once(packet.expires_at.plus_millis(-1)).await.unwrap(), JobReport::default());
        assert_eq!(job.run_once(packet.expires_at).await.unwrap(), JobReport { done: 1, more: false });
        assert_eq!(job.run_once(packet.expires_at).await.unwrap(), JobReport::default(), "exactly once");
        assert_eq!(app.balance(sender).await, Fen::new(10_000));
        app.assert_invariants().await;
    }

    #[tokio::test]
    async fn the_idempotency_purge_forgets_only_answers_older_than_the_retention() {
        let app = app().await;
        let user = app.user("payer", 100).await;
        let once = Idempotency { principal: "key_test".to_owned(), key: "k-1".to_owned() };
        app.engine.execute_once(Command::Withdraw { actor: user, amount: Fen::new(100) }, Some(once)).await.unwrap();
        let stored = app.store.dump().await.unwrap().idempotency;
        assert_eq!(stored.len(), 1);
        let retention_ms = i64::from(app.engine.config().idempotency_retention_s) * 1000;
        let job = PurgeIdempotency(app.engine.clone());
        let kept_until = stored[0].created_at.plus_millis(retention_ms);
        assert_eq!(job.run_once(kept_until).await.unwrap().done, 0, "still within the retention");
        assert_eq!(job.run_once(kept_until.plus_millis(1)).await.unwrap().done, 1);
        assert!(app.store.dump().await.unwrap().idempotency.is_empty());
    }

    #[tokio::test]
    async fn the_nonce_purge_runs_on_real_time_and_forgets_only_expired_nonces() {
        let app = app().await;
        let key = KeyId::from_uuid(hongbao_core::id::Uuid::from_u128(7));
        let nonce = |digest: u8, expires_at_s| NonceRecord { key, digest: [digest; 16], expires_at_s };
        app.engine.remember_nonces(vec![nonce(1, 1_000), nonce(2, 2_000)]).await.unwrap();
        let job = ForgetNonces(app.engine.clone());
        assert_eq!(job.clock(), JobClock::Real);
        assert_eq!(job.run_once(Timestamp::from_millis(1_500_000)).await.unwrap().done, 1);
        let live = app.store.live_nonces(0, 10).await.unwrap();
        assert_eq!(live, vec![nonce(2, 2_000)]);
    }

    /// Reports `more` on its first `busy` runs, and tells every run.
    #[derive(Debug)]
    struct Busy {
        busy: u32,
        runs: AtomicU32,
        told: mpsc::UnboundedSender<u32>,
    }

    #[async_trait::async_trait]
    impl Job for Busy {
        fn name(&self) -> &'static str {
            "busy"
        }
        fn period(&self) -> Duration {
            Duration::from_secs(3600)
        }
        async fn run_once(&self, _now: Timestamp) -> Result<JobReport, EngineError> {
            let run = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
            let _ = self.told.send(run);
            Ok(JobReport { done: 1, more: run < self.busy })
        }
    }

    #[tokio::test]
    async fn a_tick_runs_a_job_again_while_it_reports_more_up_to_the_rounds_limit() {
        let app = app().await;
        let rounds = app.engine.config().job_rounds_max;
        let (told, mut runs) = mpsc::unbounded_channel();
        // One tick (the first is at once; the next an hour later): the job is run `rounds`
        // times although it would report `more` forever.
        let running = jobs::spawn(&app.engine, vec![Arc::new(Busy { busy: u32::MAX, runs: AtomicU32::new(0), told })]);
        for expected in 1..=rounds {
            assert_eq!(runs.recv().await, Some(expected));
        }
        // A job that reports no more stops after its run.
        let (told, mut quiet) = mpsc::unbounded_channel();
        let second = jobs::spawn(&app.engine, vec![Arc::new(Busy { busy: 2, runs: AtomicU32::new(0), told })]);
        assert_eq!((quiet.recv().await, quiet.recv().await), (Some(1), Some(2)));
        running.abort();
        second.abort();
        // Aborted, the tasks drop their senders: nothing more arrives on either channel.
        assert_eq!(runs.recv().await, None);
        assert_eq!(quiet.recv().await, None);
    }
}

fn precautionary(user: hongbao_core::UserId, amount: Option<i64>) -> Command {
    let spec = hongbao_core::ops::FreezeSpec {
        user,
        kind: hongbao_core::risk::FreezeKind::Precautionary,
        amount: amount.map(Fen::new),
        reason: "three fraud reports".to_owned(),
        documents: Vec::new(),
        expires_at: None,
        major_case: false,
    };
    Command::PlaceFreeze { officer: hongbao_core::KeyId::from_uuid(hongbao_core::id::Uuid::nil()), spec }
}

#[tokio::test]
async fn a_freeze_expires_exactly_once_even_when_jobs_run_twice_or_at_once_for_the_same_instant() {
    let app = app().await;
    let users = [app.user("ann", 10).await, app.user("ben", 10).await, app.user("cat", 10).await];
    let mut ends = Vec::new();
    for user in users {
        let Reply::Freeze(freeze) = app.exec(precautionary(user, Some(600))).await else { panic!() };
        assert_eq!(freeze.held, Fen::new(600));
        ends.push(freeze.expires_at.expect("48 hours"));
    }
    let at = ends[2];
    assert_eq!(app.engine.run_once(Timestamp::from_millis(ends[0].millis() - 1)).await.unwrap().freezes_expired, 0);
    let runs: Vec<_> = (0..6)
        .map(|_| {
            let engine = app.engine.clone();
            async move { engine.run_once(at).await }
        })
        .collect();
    let expired: u32 = futures_join(runs).await.into_iter().map(|r| r.unwrap().freezes_expired).sum();
    assert_eq!(expired, 3, "each of the three once, however many runs raced");
    assert_eq!(app.engine.run_once(at).await.unwrap().freezes_expired, 0, "and never again");
    for user in users {
        assert_eq!(app.balance(user).await, Fen::new(1_000), "nothing moved");
    }
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_delayed_claim_arriving_in_a_wallet_whose_freeze_is_short_is_held_by_the_job_that_posts_it() {
    let app = app().await;
    let (sender, friend) = (app.user("sender", 100).await, app.user("friend", 0).await);
    let Reply::Freeze(freeze) = app.exec(precautionary(friend, Some(500))).await else { panic!() };
    assert_eq!(freeze.held, Fen::ZERO);
    let packet = app.send(sender, PacketSpec::Exclusive { recipient: friend, amount: Fen::new(888) }, 7200).await;
    app.exec(Command::ClaimPacket { actor: friend, packet: packet.packet_id }).await;
    let now = app.clock.advance(7200).unwrap();
    assert_eq!(app.engine.run_due(now).await.unwrap().settled, 1);
    // Posted by the job, then held by the same command: 500 held, the rest free.
    let me = app.exec(Command::Withdraw { actor: friend, amount: Fen::new(388) }).await;
    assert!(matches!(me, Reply::Moved(_)), "{me:?}");
    assert_eq!(app.balance(friend).await, Fen::new(500), "what the freeze holds stays");
    app.assert_invariants().await;
}
