//! Business time: milliseconds since the Unix epoch, passed in by the caller.
//!
//! The core never reads a clock. `Timestamp` shows as an RFC 3339 UTC string (the API's form)
//! and is stored as an integer.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_millis(millis: i64) -> Timestamp {
        Timestamp(millis)
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    /// `self` moved `seconds` later, saturating at the end of representable time (which no
    /// business deadline reaches).
    pub const fn plus_seconds(self, seconds: u32) -> Timestamp {
        Timestamp(self.0.saturating_add(seconds as i64 * 1000))
    }

    pub const fn plus_millis(self, millis: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(millis))
    }

    /// RFC 3339 in UTC with millisecond precision, e.g. `2026-11-26T18:00:00.000Z`.
    pub fn to_rfc3339(self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        match OffsetDateTime::from_unix_timestamp_nanos(nanos) {
            Ok(t) => {
                let (y, mo, d) = (t.year(), u8::from(t.month()), t.day());
                let (h, mi, s, ms) = (t.hour(), t.minute(), t.second(), t.millisecond());
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
            }
            // Out of the calendar's range: still show something unambiguous.
            Err(_) => format!("@{}ms", self.0),
        }
    }

    /// Parses an RFC 3339 time (any offset), keeping millisecond precision.
    ///
    /// # Errors
    /// A message when the text is not RFC 3339.
    pub fn parse_rfc3339(text: &str) -> Result<Timestamp, String> {
        let t = OffsetDateTime::parse(text, &Rfc3339).map_err(|e| format!("not an RFC 3339 time: {e}"))?;
        let millis = t.unix_timestamp_nanos() / 1_000_000;
        i64::try_from(millis).map(Timestamp).map_err(|_| "time out of range".to_owned())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_show_as_rfc3339_utc_and_parse_back() {
        let t = Timestamp::from_millis(1_795_000_000_123);
        let text = t.to_rfc3339();
        assert_eq!(text, "2026-11-18T11:06:40.123Z");
        assert_eq!(Timestamp::parse_rfc3339(&text), Ok(t));
        assert_eq!(Timestamp::parse_rfc3339("2026-11-18T19:06:40.123+08:00"), Ok(t));
    }

    #[test]
    fn plus_seconds_moves_forward() {
        assert_eq!(Timestamp::from_millis(0).plus_seconds(86_400).millis(), 86_400_000);
    }
}
