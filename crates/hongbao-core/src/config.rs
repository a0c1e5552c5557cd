//! The rules' numbers. Every limit of docs/DESIGN.md is a field here, validated once at start-up.

use serde::{Deserialize, Serialize};

use crate::money::Fen;
use crate::returns::ReturnRules;
use crate::risk::RiskRules;

/// Limits and defaults of the red-packet rules. Build with [`Limits::default`] and check with
/// [`Limits::validate`]; the core trusts a validated value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// The smallest share of a packet, in fen. Also the smallest amount of any transfer.
    pub share_min_fen: i64,
    /// The largest share of a packet, in fen (200 yuan, as WeChat).
    pub share_max_fen: i64,
    /// The most shares one packet may have.
    pub count_max: u32,
    /// How long a packet stays claimable; the remainder is refunded at the end.
    pub expiry_s: u32,
    /// The arrival delays a sender may choose, in seconds (0 means at once).
    pub arrival_delays_s: Vec<u32>,
    /// The most members a group may have.
    pub group_members_max: u32,
    /// The longest greeting or transfer note, in characters (not bytes).
    pub greeting_chars_max: u32,
    /// The longest user or group name, in characters.
    pub name_chars_max: u32,
    /// The longest `reason` an operator gives for an action, in characters.
    pub reason_chars_max: u32,
    /// Whether the sender of a group packet may claim a share of it, as in WeChat.
    pub sender_may_claim: bool,
    /// The largest single deposit, in fen. Deposits are the only way money enters, so this
    /// bound also keeps every running total far from the edge of a 64-bit count.
    pub deposit_max_fen: i64,
    /// Risk control and legal holds: freeze terms, the rules that fire, the warning tiers
    /// (`[limits.risk]`, see [`RiskRules`]).
    pub risk: RiskRules,
    /// Return requests (`[limits.returns]`, see [`ReturnRules`]).
    pub returns: ReturnRules,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            share_min_fen: 1,
            share_max_fen: 20_000,
            count_max: 100,
            expiry_s: 24 * 3600,
            arrival_delays_s: vec![0, 2 * 3600, 24 * 3600],
            group_members_max: 500,
            greeting_chars_max: 64,
            name_chars_max: 64,
            reason_chars_max: 500,
            sender_may_claim: true,
            deposit_max_fen: 1_000_000_000,
            risk: RiskRules::default(),
            returns: ReturnRules::default(),
        }
    }
}

/// A configuration that would make the rules unsound, with what is wrong in words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid limits: {0}")]
pub struct LimitsError(pub String);

impl Limits {
    /// Checks that the numbers make sense together.
    ///
    /// # Errors
    /// [`LimitsError`] naming the first field that is wrong.
    pub fn validate(&self) -> Result<(), LimitsError> {
        let fail = |why: &str| Err(LimitsError(why.to_owned()));
        if self.share_min_fen < 1 {
            return fail("share_min_fen must be at least 1");
        }
        if self.share_max_fen < self.share_min_fen {
            return fail("share_max_fen must be at least share_min_fen");
        }
        if self.count_max < 1 || self.count_max > 1_000_000 {
            return fail("count_max must be between 1 and 1000000");
        }
        if Fen::new(self.share_max_fen).checked_mul(self.count_max).is_err() {
            return fail("share_max_fen × count_max overflows");
        }
        if self.expiry_s < 1 {
            return fail("expiry_s must be at least 1");
        }
        if !self.arrival_delays_s.contains(&0) {
            return fail("arrival_delays_s must contain 0 (arrival at once)");
        }
        if self.group_members_max < 1 || self.group_members_max > 100_000 {
            return fail("group_members_max must be between 1 and 100000");
        }
        if self.deposit_max_fen < 1 || self.deposit_max_fen > 1_000_000_000_000 {
            return fail("deposit_max_fen must be between 1 and 1000000000000 (¥10 000 000 000)");
        }
        if self.greeting_chars_max > 1024 || self.name_chars_max < 1 || self.name_chars_max > 1024 {
            return fail("greeting_chars_max must be at most 1024 and name_chars_max between 1 and 1024");
        }
        if self.reason_chars_max < 1 || self.reason_chars_max > 4096 {
            return fail("reason_chars_max must be between 1 and 4096");
        }
        self.risk.validate().map_err(LimitsError)?;
        self.returns.validate().map_err(LimitsError)
    }

    pub fn share_min(&self) -> Fen {
        Fen::new(self.share_min_fen)
    }

    pub fn share_max(&self) -> Fen {
        Fen::new(self.share_max_fen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_the_design() {
        let limits = Limits::default();
        assert_eq!(limits.validate(), Ok(()));
        assert_eq!((limits.share_min_fen, limits.share_max_fen, limits.count_max), (1, 20_000, 100));
        assert_eq!(limits.expiry_s, 86_400);
    }

    #[test]
    fn unsound_limits_are_refused_with_the_field_named() {
        type Spoil = fn(&mut Limits);
        let cases: [(Spoil, &str); 4] = [
            (|l| l.share_min_fen = 0, "share_min_fen"),
            (|l| l.share_max_fen = 0, "share_max_fen"),
            (|l| l.count_max = 0, "count_max"),
            (|l| l.arrival_delays_s = vec![7200], "arrival_delays_s"),
        ];
        for (spoil, field) in cases {
            let mut limits = Limits::default();
            spoil(&mut limits);
            let err = limits.validate().unwrap_err();
            assert!(err.0.contains(field), "{err}");
        }
    }
}
