//! What an app tells risk control about its users (`POST /v1/risk/signals`): today, logins. A
//! user's [`Logins`] remember the regions they logged in from lately and when a login last came
//! from a region not seen for the anomaly rule's `region_unseen_s`; the rule
//! (`anomaly_receipts_new_region`, see `ops/rules.rs`) reads them.
//!
//! A region is whatever the app calls it (a province code, a city, a country): 1 to
//! [`REGION_CHARS_MAX`] characters, compared exactly. A user's first login ever is from a region
//! not seen: the rule reads "not seen in 30 days" literally, so an account that receives a burst
//! within the hour of its first login is held, as a fresh account bought for fraud would be.

use serde::{Deserialize, Serialize};

use crate::error::CoreError;
use crate::time::Timestamp;
use crate::user::check_name;

/// The longest region or device id a signal may carry, in characters.
pub const REGION_CHARS_MAX: u32 = 64;
/// The most regions remembered per user; beyond it the least recently seen is forgotten (it
/// counts as not seen when it comes back).
pub const REGIONS_MAX: usize = 32;

/// A signal about a user, as the app sends it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Signal {
    /// The user logged in from `region` on `device_id`.
    Login { region: String, device_id: String },
}

impl Signal {
    /// # Errors
    /// [`CoreError::InvalidRequest`] naming the field.
    pub fn check(&self) -> Result<(), CoreError> {
        match self {
            Signal::Login { region, device_id } => {
                check_name("region", region, REGION_CHARS_MAX)?;
                check_name("device_id", device_id, REGION_CHARS_MAX)
            }
        }
    }
}

/// A region a user logged in from, and when last.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionSeen {
    pub region: String,
    pub device_id: String,
    pub last_at: Timestamp,
}

/// What risk control remembers of a user's logins. Empty for a user no signal was sent about.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Logins {
    /// The regions seen, most recently seen first; at most [`REGIONS_MAX`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<RegionSeen>,
    /// The latest login from a region not seen for `region_unseen_s` before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_region_at: Option<Timestamp>,
}

impl Logins {
    pub fn is_empty(&self) -> bool {
        self.regions.is_empty() && self.new_region_at.is_none()
    }

    /// Records a login from `region` on `device_id` at `now`; answers whether the region was not
    /// seen in the `unseen_s` seconds before (then `new_region_at` becomes `now`). Regions last
    /// seen longer ago than that are forgotten: they would count as new anyway.
    pub fn record(&mut self, region: &str, device_id: &str, now: Timestamp, unseen_s: u32) -> bool {
        let seen_since = now.plus_millis(-i64::from(unseen_s) * 1000);
        let before = self.regions.iter().position(|r| r.region == region).map(|at| self.regions.remove(at));
        let new = before.is_none_or(|r| r.last_at <= seen_since);
        self.regions.retain(|r| r.last_at > seen_since);
        self.regions.insert(0, RegionSeen { region: region.to_owned(), device_id: device_id.to_owned(), last_at: now });
        self.regions.truncate(REGIONS_MAX);
        if new {
            self.new_region_at = Some(now);
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_S: u32 = 86_400;

    fn at(days: u32) -> Timestamp {
        Timestamp::from_millis(1_000_000_000_000 + i64::from(days) * i64::from(DAY_S) * 1000)
    }

    #[test]
    fn a_region_is_new_when_not_seen_in_the_window_and_the_first_login_is_new() {
        let mut logins = Logins::default();
        assert!(logins.record("GD", "d1", at(0), 30 * DAY_S), "the first login ever");
        assert_eq!(logins.new_region_at, Some(at(0)));
        assert!(!logins.record("GD", "d2", at(29), 30 * DAY_S), "seen 29 days ago");
        assert!(logins.record("GD", "d2", at(59), 30 * DAY_S), "seen exactly 30 days ago: not in 30 days");
        assert!(logins.record("BJ", "d2", at(60), 30 * DAY_S), "never seen");
        assert!(!logins.record("GD", "d1", at(61), 30 * DAY_S));
        assert_eq!(logins.new_region_at, Some(at(60)), "the latest new region");
        assert_eq!(logins.regions[0].region, "GD", "most recent first");
        assert_eq!(logins.regions[0].device_id, "d1");
    }

    #[test]
    fn regions_are_bounded_and_the_old_ones_forgotten() {
        let mut logins = Logins::default();
        for i in 0..40 {
            logins.record(&format!("r{i}"), "d", at(0), 30 * DAY_S);
        }
        assert_eq!(logins.regions.len(), REGIONS_MAX);
        assert!(logins.record("r0", "d", at(1), 30 * DAY_S), "forgotten beyond the bound");
        logins.record("x", "d", at(40), 30 * DAY_S);
        assert_eq!(logins.regions.len(), 1, "only what was seen in the window is kept");
    }

    #[test]
    fn signals_are_checked() {
        let ok = Signal::Login { region: "CN-GD".to_owned(), device_id: "iPhone-1".to_owned() };
        assert!(ok.check().is_ok());
        for (region, device) in [("", "d"), ("r", " "), (&"x".repeat(65) as &str, "d"), ("a\u{202E}b", "d")] {
            let bad = Signal::Login { region: region.to_owned(), device_id: device.to_owned() };
            assert!(bad.check().is_err(), "{region:?} {device:?}");
        }
    }
}
