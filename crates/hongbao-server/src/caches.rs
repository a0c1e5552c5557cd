//! What the signature middleware remembers between requests, each bounded: the nonces seen
//! lately ([`NonceCache`]), the principals looked up ([`PrincipalCache`]) and each key's rate
//! ([`RateLimits`]). The middleware that uses them is `auth.rs`.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{Quota, RateLimiter};
use hongbao_core::KeyId;
use hongbao_core::principal::Principal;
use hongbao_store::NonceRecord;

/// Nonces seen recently, per key. A nonce is remembered until the timestamp it was signed with
/// leaves the allowed skew: after that, a replay would fail the timestamp check anyway.
///
/// Entries are 16-byte digests of (key, nonce), so a full cache of a million costs about
/// 60 MB, not the size of the nonces themselves.
#[derive(Debug)]
pub struct NonceCache {
    seen: Mutex<Nonces>,
    capacity: usize,
    skew_s: i64,
}

pub type NonceDigest = [u8; 16];

#[derive(Debug, Default)]
struct Nonces {
    expires: HashMap<NonceDigest, i64>,
    /// Digests by expiry, so the oldest leave first.
    order: std::collections::BTreeSet<(i64, NonceDigest)>,
}

/// Why a nonce was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum NonceRefusal {
    Replayed,
    /// The cache is full of nonces that could still be replayed: refuse rather than forget one.
    Full,
}

/// The 16-byte digest a nonce is remembered by.
pub fn digest(key: KeyId, nonce: &str) -> NonceDigest {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    hasher.update(key.uuid().as_bytes());
    hasher.update(nonce.as_bytes());
    let full = hasher.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

impl NonceCache {
    pub fn new(capacity: usize, skew_s: i64) -> NonceCache {
        NonceCache { seen: Mutex::new(Nonces::default()), capacity, skew_s }
    }

    /// Remembers nonces stored before this node started, as far as the cache has room: it was
    /// sized for every nonce that can be live at once, and `live_nonces` is bounded by that.
    pub fn restore(&self, records: &[NonceRecord]) {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for record in records {
            if seen.expires.len() >= self.capacity {
                break;
            }
            let old = seen.expires.insert(record.digest, record.expires_at_s);
            if let Some(old) = old {
                seen.order.remove(&(old, record.digest));
            }
            let expires = old.map_or(record.expires_at_s, |old| old.max(record.expires_at_s));
            seen.expires.insert(record.digest, expires);
            seen.order.insert((expires, record.digest));
        }
    }

    /// Records `nonce` of `key`, signed at `timestamp_s`, as seen at `now_s`; or says why it
    /// cannot be used.
    pub fn check_and_record(&self, key: KeyId, nonce: &str, timestamp_s: i64, now_s: i64) -> Result<(), NonceRefusal> {
        let entry = digest(key, nonce);
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while let Some(&(expires, old)) = seen.order.first() {
            if expires >= now_s {
                break;
            }
            seen.order.pop_first();
            seen.expires.remove(&old);
        }
        if seen.expires.get(&entry).is_some_and(|expires| *expires >= now_s) {
            return Err(NonceRefusal::Replayed);
        }
        if seen.expires.len() >= self.capacity {
            return Err(NonceRefusal::Full);
        }
        let expires = timestamp_s.saturating_add(self.skew_s);
        seen.order.insert((expires, entry));
        seen.expires.insert(entry, expires);
        Ok(())
    }
}

/// Principals by key id. Keys never change once created, so a cached one is never stale; the
/// cache is emptied when it reaches its bound.
#[derive(Debug)]
pub struct PrincipalCache {
    known: Mutex<HashMap<KeyId, Arc<Principal>>>,
    capacity: usize,
}

impl PrincipalCache {
    pub fn new(capacity: usize) -> PrincipalCache {
        PrincipalCache { known: Mutex::new(HashMap::new()), capacity }
    }

    pub(crate) fn get(&self, key: KeyId) -> Option<Arc<Principal>> {
        self.known.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key).cloned()
    }

    pub(crate) fn put(&self, principal: Arc<Principal>) {
        let mut known = self.known.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if known.len() >= self.capacity {
            known.clear();
        }
        known.insert(principal.key_id, principal);
    }
}

type KeyedLimiter = RateLimiter<KeyId, governor::state::keyed::DefaultKeyedStateStore<KeyId>, DefaultClock>;

/// Requests per second per key, with a burst.
#[derive(Debug)]
pub struct RateLimits {
    limiter: KeyedLimiter,
}

impl RateLimits {
    pub fn new(per_s: NonZeroU32, burst: NonZeroU32) -> RateLimits {
        RateLimits { limiter: RateLimiter::keyed(Quota::per_second(per_s).allow_burst(burst)) }
    }

    /// `Err(seconds to wait)` when `key` is over its limit.
    pub(crate) fn check(&self, key: KeyId) -> Result<(), u64> {
        self.limiter.check_key(&key).map_err(|not_until| {
            let wait: Duration = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }

    /// Forgets keys that have been quiet, so memory follows the active keys only.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u128) -> KeyId {
        KeyId::from_uuid(uuid_from(n))
    }

    fn uuid_from(n: u128) -> hongbao_core::id::Uuid {
        hongbao_core::id::Uuid::from_u128(n)
    }

    #[test]
    fn a_nonce_is_refused_again_while_its_timestamp_could_still_pass_and_forgotten_after() {
        let cache = NonceCache::new(10, 300);
        assert_eq!(cache.check_and_record(key(1), "abcdefghijklmnop", 1_000, 1_000), Ok(()));
        assert_eq!(cache.check_and_record(key(1), "abcdefghijklmnop", 1_000, 1_300), Err(NonceRefusal::Replayed));
        // Another key may use the same nonce.
        assert_eq!(cache.check_and_record(key(2), "abcdefghijklmnop", 1_000, 1_000), Ok(()));
        // Past timestamp + skew no request with that timestamp passes the skew check anyway.
        assert_eq!(cache.check_and_record(key(1), "abcdefghijklmnop", 1_301, 1_301), Ok(()));
    }

    #[test]
    fn a_full_nonce_cache_refuses_rather_than_forgetting() {
        let cache = NonceCache::new(2, 300);
        assert_eq!(cache.check_and_record(key(1), "nonce-number-0001", 0, 0), Ok(()));
        assert_eq!(cache.check_and_record(key(1), "nonce-number-0002", 0, 0), Ok(()));
        assert_eq!(cache.check_and_record(key(1), "nonce-number-0003", 0, 0), Err(NonceRefusal::Full));
        assert_eq!(cache.check_and_record(key(1), "nonce-number-0003", 301, 301), Ok(()));
    }
}
