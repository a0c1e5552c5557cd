//! Group commit for the nonces of signed requests on a shared store ([`NonceWriter`]).
//!
//! On a store shared by several nodes every signed request records its nonce in the database
//! before it is served. One transaction per request costs the database more than the request
//! itself (four statements and a commit for one row), so requests that arrive together have
//! their nonces recorded together: one task takes what is queued (at most
//! [`NONCES_PER_TRANSACTION_MAX`]), records it with one statement per kind (covered or not,
//! see `Store::remember_nonce_covered`) and answers each request. A request waits for no more
//! than the transaction in progress and its own.

use std::sync::Arc;

use hongbao_store::{NonceRecord, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// Nonces recorded in one transaction at most.
pub const NONCES_PER_TRANSACTION_MAX: usize = 512;

/// Why a nonce was not recorded.
#[derive(Debug)]
pub enum NonceError {
    /// More requests wait for their nonce than the queue holds: try again shortly.
    Overloaded,
    /// The store failed, or the writer stopped; the request must not be served.
    Store(StoreError),
}

struct Ask {
    nonce: NonceRecord,
    covered: bool,
    now_s: i64,
    reply: oneshot::Sender<Result<bool, StoreError>>,
}

/// The queue in front of the task that records nonces. Cheap to clone.
#[derive(Clone, Debug)]
pub struct NonceWriter {
    queue: mpsc::Sender<Ask>,
}

impl NonceWriter {
    /// Starts the task on the current runtime; it ends when the last clone is dropped.
    pub fn start(store: Arc<dyn Store>, capacity: usize) -> NonceWriter {
        let (queue, rx) = mpsc::channel(capacity.max(1));
        tokio::spawn(run(store, rx));
        NonceWriter { queue }
    }

    /// Records `nonce` as used at `now_s`: `true` when it was fresh, `false` for a replay.
    ///
    /// # Errors
    /// [`NonceError`].
    pub async fn remember(&self, nonce: NonceRecord, covered: bool, now_s: i64) -> Result<bool, NonceError> {
        let (reply, answer) = oneshot::channel();
        self.queue.try_send(Ask { nonce, covered, now_s, reply }).map_err(|err| match err {
            mpsc::error::TrySendError::Full(_) => NonceError::Overloaded,
            mpsc::error::TrySendError::Closed(_) => NonceError::Store(stopped()),
        })?;
        match answer.await {
            Ok(result) => result.map_err(NonceError::Store),
            Err(_) => Err(NonceError::Store(stopped())),
        }
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the nonce writer has stopped".to_owned())
}

async fn run(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Ask>) {
    let mut buf = Vec::with_capacity(NONCES_PER_TRANSACTION_MAX);
    while rx.recv_many(&mut buf, NONCES_PER_TRANSACTION_MAX).await > 0 {
        let (covered, plain): (Vec<Ask>, Vec<Ask>) = buf.drain(..).partition(|ask| ask.covered);
        for asks in [plain, covered] {
            record(store.as_ref(), asks).await;
        }
    }
}

/// Records `asks` (all covered, or none) in one call and answers each.
async fn record(store: &dyn Store, asks: Vec<Ask>) {
    let Some(covered) = asks.first().map(|ask| ask.covered) else { return };
    // The earliest clock of the group: a record counts as expired only when it is for every
    // request of the group (a second's difference at most, and the timestamp's window refuses
    // such a late replay anyway).
    let now_s = asks.iter().map(|ask| ask.now_s).min().unwrap_or_default();
    let nonces: Vec<NonceRecord> = asks.iter().map(|ask| ask.nonce).collect();
    match store.remember_nonces(&nonces, now_s, covered).await {
        Ok(fresh) if fresh.len() == asks.len() => {
            for (ask, fresh) in asks.into_iter().zip(fresh) {
                // A request that stopped waiting is no reason to fail the others.
                let _ = ask.reply.send(Ok(fresh));
            }
        }
        Ok(fresh) => {
            let err = StoreError::Corrupt(format!("{} nonces recorded, {} answered", asks.len(), fresh.len()));
            answer_all(asks, &err);
        }
        Err(err) => answer_all(asks, &err),
    }
}

fn answer_all(asks: Vec<Ask>, err: &StoreError) {
    for ask in asks {
        let _ = ask.reply.send(Err(copy(err)));
    }
}

/// The same error for each request of the group (`StoreError` is not `Clone`).
fn copy(err: &StoreError) -> StoreError {
    match err {
        StoreError::Unavailable(message) => StoreError::Unavailable(message.clone()),
        StoreError::Conflict(message) => StoreError::Conflict(message.clone()),
        StoreError::Corrupt(message) => StoreError::Corrupt(message.clone()),
    }
}

#[cfg(test)]
mod tests {
    use hongbao_core::KeyId;
    use hongbao_core::id::Uuid;
    use hongbao_store::mem::MemStore;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_nonce_is_fresh_once_whoever_asks_and_however_they_are_grouped() {
        // Room for all 100 asks at once: this is about grouping, not about a full queue.
        let writer = NonceWriter::start(Arc::new(MemStore::new()), 100);
        let key = KeyId::from_uuid(Uuid::from_u128(7));
        let nonce = |i: u8, covered: bool| (NonceRecord { key, digest: [i; 16], expires_at_s: 1_000 }, covered);
        // 50 nonces, each asked for twice at once (plain and covered): exactly one of each pair
        // is fresh.
        let asks: Vec<_> = (0..50u8).flat_map(|i| [nonce(i, false), nonce(i, true)]).collect();
        let tasks: Vec<_> = asks
            .into_iter()
            .map(|(record, covered)| {
                let writer = writer.clone();
                tokio::spawn(async move { (record.digest[0], writer.remember(record, covered, 500).await) })
            })
            .collect();
        let mut fresh = [0u32; 50];
        for task in tasks {
            let (i, answer) = task.await.unwrap();
            if answer.expect("recorded") {
                fresh[usize::from(i)] += 1;
            }
        }
        assert_eq!(fresh, [1; 50]);
        let (record, _) = nonce(3, false);
        assert!(!writer.remember(record, false, 999).await.unwrap(), "a live record refuses a replay");
        assert!(writer.remember(record, false, 1_000).await.unwrap(), "an expired one is accepted again");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_ask_that_finds_the_queue_full_is_overloaded_at_once_and_the_queued_one_is_answered() {
        let writer = NonceWriter::start(Arc::new(MemStore::new()), 1);
        let key = KeyId::from_uuid(Uuid::from_u128(7));
        let record = |i: u8| NonceRecord { key, digest: [i; 16], expires_at_s: 1_000 };
        // One thread, and nothing awaited in between: the writer's task has not run yet. The
        // first ask takes the queue's one place and waits for its answer...
        let mut first = std::pin::pin!(writer.remember(record(1), false, 500));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(first.as_mut().poll(&mut cx).is_pending(), "the first ask waits in the queue");
        // ...and the second finds the queue full: refused without waiting for the store.
        let second = writer.remember(record(2), false, 500).await;
        assert!(matches!(second, Err(NonceError::Overloaded)), "{second:?}");
        assert!(first.await.expect("recorded"), "the queued ask is still recorded, fresh");
        assert!(writer.remember(record(2), false, 500).await.expect("recorded"), "the refused one was not recorded");
    }
}
