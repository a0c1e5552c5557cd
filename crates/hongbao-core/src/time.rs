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
        self.with_text(str::to_owned)
    }

    /// Calls `with` on the RFC 3339 text, written on the stack (times are written in every log
    /// entry and every answer). Outside years 0 to 9999 (which no business time reaches) the
    /// text is the unambiguous `@<millis>ms` instead.
    fn with_text<T>(self, with: impl FnOnce(&str) -> T) -> T {
        let nanos = i128::from(self.0) * 1_000_000;
        let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(nanos) else {
            return with(&format!("@{}ms", self.0));
        };
        let Ok(year) = u16::try_from(t.year()).map(u32::from) else {
            return with(&format!("@{}ms", self.0));
        };
        if year > 9999 {
            return with(&format!("@{}ms", self.0));
        }
        let mut buf = *b"0000-00-00T00:00:00.000Z";
        let fields = [
            (0, 4, year),
            (5, 2, u32::from(u8::from(t.month()))),
            (8, 2, u32::from(t.day())),
            (11, 2, u32::from(t.hour())),
            (14, 2, u32::from(t.minute())),
            (17, 2, u32::from(t.second())),
            (20, 3, u32::from(t.millisecond())),
        ];
        for (at, width, mut value) in fields {
            for digit in buf[at..at + width].iter_mut().rev() {
                // A digit: `value % 10` is below 10.
                *digit = b'0' + u8::try_from(value % 10).unwrap_or(0);
                value /= 10;
            }
        }
        // ASCII digits and separators: always UTF-8.
        with(std::str::from_utf8(&buf).unwrap_or_default())
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
        self.with_text(|text| f.write_str(text))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.with_text(|text| serializer.serialize_str(text))
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

    /// The text as the `time` crate's own formatter writes it, for comparison.
    fn reference(t: Timestamp) -> String {
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.millis()) * 1_000_000).unwrap();
        let (y, mo, d) = (at.year(), u8::from(at.month()), at.day());
        let (h, mi, s, ms) = (at.hour(), at.minute(), at.second(), at.millisecond());
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
    }

    #[test]
    fn every_way_of_showing_a_time_writes_the_same_text() {
        let edges = [0, 1, 999, 951_782_400_000, 1_795_000_000_123, 253_402_300_799_999, -1, -62_167_219_200_000];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let spread = std::iter::repeat_with(move || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            i64::try_from(state >> 22).unwrap() % 253_402_300_800_000
        });
        for millis in edges.into_iter().chain(spread.take(10_000)) {
            let t = Timestamp::from_millis(millis);
            let expected = reference(t);
            assert_eq!(t.to_rfc3339(), expected);
            assert_eq!(t.to_string(), expected);
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{expected}\""));
            assert_eq!(Timestamp::parse_rfc3339(&expected), Ok(t), "{expected}");
        }
        for outside in [253_402_300_800_000, -62_167_219_200_001, i64::MAX, i64::MIN] {
            let t = Timestamp::from_millis(outside);
            assert_eq!(t.to_rfc3339(), format!("@{outside}ms"));
            assert_eq!(t.to_string(), format!("@{outside}ms"));
        }
    }

    #[test]
    fn plus_seconds_moves_forward() {
        assert_eq!(Timestamp::from_millis(0).plus_seconds(86_400).millis(), 86_400_000);
    }
}
