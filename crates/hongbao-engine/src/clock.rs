//! The business clock, injected everywhere so tests and the development clock can move time.

use std::fmt::Debug;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use hongbao_core::Timestamp;

/// The clock cannot be moved: it is the real time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("this clock follows real time and cannot be moved")]
pub struct NotAdjustable;

/// Where business time comes from. Expiry, arrival and every deadline follow it.
pub trait Clock: Send + Sync + Debug {
    fn now(&self) -> Timestamp;

    /// Moves time forward by `seconds`, never back, and returns the new time.
    ///
    /// # Errors
    /// [`NotAdjustable`] for a clock that follows real time.
    fn advance(&self, seconds: u32) -> Result<Timestamp, NotAdjustable> {
        let _ = seconds;
        Err(NotAdjustable)
    }

    /// Whether this clock's offset is kept in the store, shared by every node (the development
    /// clock): the engine then reads it before it uses the time, and moves it there.
    fn follows_store(&self) -> bool {
        false
    }

    /// Takes the offset the store holds (only ever moving forward).
    fn set_offset_ms(&self, offset_ms: i64) {
        let _ = offset_ms;
    }
}

/// Real time, read from the operating system.
pub fn system_now() -> Timestamp {
    let millis = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    Timestamp::from_millis(i64::try_from(millis).unwrap_or(i64::MAX))
}

/// Real time: what production uses.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        system_now()
    }
}

/// Real time plus an offset that only grows: the development clock (`serve --dev-clock`). The
/// offset lives in the store, so every node of a shared database keeps the same business time.
#[derive(Debug, Default)]
pub struct DevClock {
    offset_ms: AtomicI64,
}

impl DevClock {
    pub fn new() -> DevClock {
        DevClock::default()
    }
}

impl Clock for DevClock {
    fn now(&self) -> Timestamp {
        system_now().plus_millis(self.offset_ms.load(Ordering::SeqCst))
    }

    fn advance(&self, seconds: u32) -> Result<Timestamp, NotAdjustable> {
        self.offset_ms.fetch_add(i64::from(seconds) * 1000, Ordering::SeqCst);
        Ok(self.now())
    }

    fn follows_store(&self) -> bool {
        true
    }

    fn set_offset_ms(&self, offset_ms: i64) {
        self.offset_ms.fetch_max(offset_ms, Ordering::SeqCst);
    }
}

/// A clock that stands still until moved: for tests and the demo.
#[derive(Debug)]
pub struct ManualClock {
    now_ms: AtomicI64,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> ManualClock {
        ManualClock { now_ms: AtomicI64::new(start.millis()) }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.now_ms.load(Ordering::SeqCst))
    }

    fn advance(&self, seconds: u32) -> Result<Timestamp, NotAdjustable> {
        let by = i64::from(seconds) * 1000;
        Ok(Timestamp::from_millis(self.now_ms.fetch_add(by, Ordering::SeqCst).saturating_add(by)))
    }
}
