//! Splitting a packet's total into shares.
//!
//! Lucky packets use 二倍均值 (double mean): with `m` fen left for `n` shares, a share is uniform
//! in `[1, ⌊2m/n⌋ − 1]`, clamped so every later share can still get the minimum and no share
//! passes the maximum; the last share takes the rest. All shares are drawn at send time from
//! the caller's CSPRNG and then shuffled: double mean alone favours the last claimers, while a
//! shuffled pre-drawn list gives every position the same odds, and claiming is a pop.

use rand::seq::SliceRandom;
use rand::{CryptoRng, RngExt};

use crate::config::Limits;
use crate::error::CoreError;
use crate::money::Fen;

/// Checks a share count against the limits.
///
/// # Errors
/// [`CoreError::InvalidRequest`] naming the limit.
pub fn check_count(count: u32, limits: &Limits) -> Result<(), CoreError> {
    if count < 1 || count > limits.count_max {
        return Err(CoreError::invalid(format!(
            "count must be between 1 and {} shares (got {count})",
            limits.count_max
        )));
    }
    Ok(())
}

/// Checks one share amount against the limits.
///
/// # Errors
/// [`CoreError::InvalidRequest`] naming the limit.
pub fn check_share(amount: Fen, limits: &Limits) -> Result<(), CoreError> {
    if amount < limits.share_min() || amount > limits.share_max() {
        return Err(CoreError::invalid(format!(
            "each share must be between {} and {} fen (got {})",
            limits.share_min_fen,
            limits.share_max_fen,
            amount.get()
        )));
    }
    Ok(())
}

/// `count` equal shares of `amount_each`.
///
/// # Errors
/// [`CoreError::InvalidRequest`] when the count or the share breaks a limit, or the total
/// overflows.
pub fn split_normal(amount_each: Fen, count: u32, limits: &Limits) -> Result<Vec<Fen>, CoreError> {
    check_count(count, limits)?;
    check_share(amount_each, limits)?;
    amount_each.checked_mul(count)?;
    Ok(vec![amount_each; count as usize])
}

/// Checks that `total` can be split into `count` shares within the share limits.
///
/// # Errors
/// [`CoreError::InvalidRequest`] naming the limit.
pub fn check_lucky(total: Fen, count: u32, limits: &Limits) -> Result<(), CoreError> {
    check_count(count, limits)?;
    let lowest = limits.share_min().checked_mul(count)?;
    let highest = limits.share_max().checked_mul(count)?;
    if total < lowest || total > highest {
        return Err(CoreError::invalid(format!(
            "a lucky total for {count} shares must be between {} and {} fen, so that each share is \
             between {} and {} fen (got {})",
            lowest.get(),
            highest.get(),
            limits.share_min_fen,
            limits.share_max_fen,
            total.get()
        )));
    }
    Ok(())
}

/// Draws the shares of a lucky packet, in the (shuffled) order they will be claimed.
///
/// # Errors
/// [`CoreError::InvalidRequest`] when the count breaks its limit or the total cannot be split
/// into `count` shares within the share limits.
pub fn split_lucky(total: Fen, count: u32, limits: &Limits, rng: &mut impl CryptoRng) -> Result<Vec<Fen>, CoreError> {
    check_lucky(total, count, limits)?;
    let (min, max) = (limits.share_min_fen, limits.share_max_fen);
    let mut shares = Vec::with_capacity(count as usize);
    let mut left = total.get();
    for n in (2..=i64::from(count)).rev() {
        // Bounds that keep every later share within [min, max]; all products fit because
        // left ≤ count × max was checked above. ⌊2·left/n⌋ is computed without forming 2·left,
        // which can overflow when the limits allow totals near i64::MAX.
        let double_mean = left / n * 2 + left % n * 2 / n;
        let lo = min.max(left - (n - 1) * max);
        let hi = (double_mean - 1).min(max).min(left - (n - 1) * min).max(lo);
        let share = rng.random_range(lo..=hi);
        shares.push(Fen::new(share));
        left -= share;
    }
    shares.push(Fen::new(left));
    shares.shuffle(rng);
    debug_assert_eq!(Fen::checked_sum(shares.iter().copied()), Ok(total));
    Ok(shares)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;

    use super::*;

    proptest! {
        #[test]
        fn lucky_shares_sum_to_the_total_and_stay_within_limits(
            count in 1u32..=100,
            extra in 0i64..=2_000_000,
            seed in any::<u64>(),
            min in 1i64..=3,
            max in 3i64..=20_000,
        ) {
            let limits = Limits { share_min_fen: min, share_max_fen: max, ..Limits::default() };
            let span = i64::from(count) * (max - min);
            let total = Fen::new(i64::from(count) * min + extra % (span + 1));
            let shares = split_lucky(total, count, &limits, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
            prop_assert_eq!(shares.len(), count as usize);
            prop_assert_eq!(Fen::checked_sum(shares.iter().copied()).unwrap(), total);
            for share in shares {
                prop_assert!(share.get() >= min && share.get() <= max, "share {} outside [{min}, {max}]", share.get());
            }
        }

        #[test]
        fn a_total_that_cannot_be_split_is_refused(count in 1u32..=100, seed in any::<u64>()) {
            let limits = Limits::default();
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let too_small = Fen::new(i64::from(count) - 1);
            prop_assert!(split_lucky(too_small, count, &limits, &mut rng).is_err());
            let too_big = Fen::new(i64::from(count) * 20_000 + 1);
            prop_assert!(split_lucky(too_big, count, &limits, &mut rng).is_err());
        }
    }

    #[test]
    fn counts_outside_the_limits_are_refused() {
        let limits = Limits::default();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for count in [0, 101] {
            assert!(split_lucky(Fen::new(10_000), count, &limits, &mut rng).is_err());
            assert!(split_normal(Fen::new(100), count, &limits).is_err());
        }
        assert!(split_normal(Fen::new(20_001), 1, &limits).is_err());
        assert!(split_normal(Fen::new(0), 1, &limits).is_err());
    }

    /// The reason for shuffling: every claim position has the same chance of the best share.
    #[test]
    fn every_claim_position_is_equally_likely_to_get_the_best_share() {
        let limits = Limits::default();
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let (count, rounds) = (10usize, 20_000);
        let mut best_at = vec![0f64; count];
        for _ in 0..rounds {
            let shares = split_lucky(Fen::new(1000), 10, &limits, &mut rng).unwrap();
            let best = shares.iter().max().copied().unwrap();
            // Ties share the win, so no tie-break rule can favour a position.
            let tied: Vec<usize> = (0..count).filter(|&i| shares[i] == best).collect();
            for i in &tied {
                best_at[*i] += 1.0 / tied.len() as f64;
            }
        }
        // Each position expects 2 000; binomial σ ≈ 42, so ±250 is far outside chance.
        for (position, wins) in best_at.iter().enumerate() {
            assert!((1_750.0..=2_250.0).contains(wins), "position {position} was best {wins} times of {rounds}");
        }
    }
}
