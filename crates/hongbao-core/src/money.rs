//! Money: integer fen, checked arithmetic, exact conversion from and to yuan text.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An amount of money in fen (1 yuan = 100 fen). Signed, because account balances of the
/// external funding account are negative by construction (money that entered the system).
///
/// There is deliberately no `Add` or `Sub` impl: every operation is checked and says so.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fen(i64);

/// Why an arithmetic operation on money failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount overflows the range of a 64-bit fen count")]
    Overflow,
    #[error("amount must be at least 1 fen")]
    NotPositive,
    #[error("not a yuan amount: expected digits with at most two decimals, like 10.00")]
    BadYuan,
}

impl Fen {
    pub const ZERO: Fen = Fen(0);

    /// Any fen count, negative included (balances).
    pub const fn new(fen: i64) -> Fen {
        Fen(fen)
    }

    /// A strictly positive amount, as every transfer amount must be.
    ///
    /// # Errors
    /// [`MoneyError::NotPositive`] for zero or a negative count.
    pub const fn positive(fen: i64) -> Result<Fen, MoneyError> {
        if fen >= 1 { Ok(Fen(fen)) } else { Err(MoneyError::NotPositive) }
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// # Errors
    /// [`MoneyError::Overflow`] when the sum does not fit in an `i64`.
    pub fn checked_add(self, other: Fen) -> Result<Fen, MoneyError> {
        self.0.checked_add(other.0).map(Fen).ok_or(MoneyError::Overflow)
    }

    /// # Errors
    /// [`MoneyError::Overflow`] when the difference does not fit in an `i64`.
    pub fn checked_sub(self, other: Fen) -> Result<Fen, MoneyError> {
        self.0.checked_sub(other.0).map(Fen).ok_or(MoneyError::Overflow)
    }

    /// # Errors
    /// [`MoneyError::Overflow`] when the product does not fit in an `i64`.
    pub fn checked_mul(self, factor: u32) -> Result<Fen, MoneyError> {
        self.0.checked_mul(i64::from(factor)).map(Fen).ok_or(MoneyError::Overflow)
    }

    /// Sums amounts, failing on overflow instead of wrapping.
    ///
    /// # Errors
    /// [`MoneyError::Overflow`].
    pub fn checked_sum<I: IntoIterator<Item = Fen>>(amounts: I) -> Result<Fen, MoneyError> {
        amounts.into_iter().try_fold(Fen::ZERO, Fen::checked_add)
    }

    /// Parses a yuan amount typed by a person (`10`, `10.5`, `10.05`) exactly, without floats.
    ///
    /// # Errors
    /// [`MoneyError::BadYuan`] for anything that is not digits with at most two decimals,
    /// [`MoneyError::Overflow`] when it does not fit.
    pub fn from_yuan(text: &str) -> Result<Fen, MoneyError> {
        let (sign, digits) = match text.strip_prefix('-') {
            Some(rest) => (-1, rest),
            None => (1, text),
        };
        let (whole, frac) = match digits.split_once('.') {
            Some((w, f)) => (w, f),
            None => (digits, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || frac.len() > 2 || !all_digits(whole) || !all_digits(frac) {
            return Err(MoneyError::BadYuan);
        }
        if digits.contains('.') && frac.is_empty() {
            return Err(MoneyError::BadYuan);
        }
        let whole: i64 = whole.parse().map_err(|_| MoneyError::Overflow)?;
        let frac_fen: i64 = match frac.len() {
            0 => 0,
            1 => i64::from(frac.as_bytes()[0] - b'0') * 10,
            _ => frac.parse().map_err(|_| MoneyError::BadYuan)?,
        };
        let fen = whole.checked_mul(100).and_then(|f| f.checked_add(frac_fen)).ok_or(MoneyError::Overflow)?;
        Ok(Fen(sign * fen))
    }

    /// The amount as yuan text with exactly two decimals (`-0.05`, `10.00`).
    pub fn to_yuan(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} fen", self.0)
    }
}

impl FromStr for Fen {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fen::from_yuan(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_text_converts_exactly_both_ways() {
        for (text, fen) in [("10", 1000), ("10.5", 1050), ("10.05", 1005), ("0.01", 1), ("-0.05", -5)] {
            assert_eq!(Fen::from_yuan(text), Ok(Fen::new(fen)), "{text}");
        }
        assert_eq!(Fen::new(1000).to_yuan(), "10.00");
        assert_eq!(Fen::new(-5).to_yuan(), "-0.05");
        assert_eq!(Fen::new(i64::MIN).to_yuan(), "-92233720368547758.08");
    }

    #[test]
    fn malformed_yuan_text_is_rejected() {
        for text in ["", ".5", "1.", "1.234", "1e3", "abc", "1,00", "+1", "--1", "1.-5", " 1"] {
            assert_eq!(Fen::from_yuan(text), Err(MoneyError::BadYuan), "{text:?}");
        }
        assert_eq!(Fen::from_yuan("92233720368547758.08"), Err(MoneyError::Overflow));
    }

    #[test]
    fn arithmetic_overflow_is_an_error_not_a_wrap() {
        assert_eq!(Fen::new(i64::MAX).checked_add(Fen::new(1)), Err(MoneyError::Overflow));
        assert_eq!(Fen::new(i64::MIN).checked_sub(Fen::new(1)), Err(MoneyError::Overflow));
        assert_eq!(Fen::new(i64::MAX / 2 + 1).checked_mul(2), Err(MoneyError::Overflow));
        assert_eq!(Fen::positive(0), Err(MoneyError::NotPositive));
    }
}
