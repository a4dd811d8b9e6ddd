//! Authentication: tokens (random, 256 bits, stored only as SHA-256 hashes),
//! resolving a bearer token to an [`Identity`], and per-key rate limits.
//! What an identity may do is decided in [`crate::access`], not here.

use crate::access::Identity;
use crate::config::AuthSettings;
use crate::db::{access as q, Pool};
use crate::error::{AppError, AppResult};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Prefix of every token herald issues, so a leaked one is recognisable.
const TOKEN_PREFIX: &str = "hrd_";
/// Resolved tokens remembered; the cache is emptied when it reaches this size.
const CACHE_CAPACITY: usize = 10_000;

/// A new random token: the prefix and 64 hex digits (256 bits).
pub fn new_token() -> AppResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::Internal(format!("no randomness for a token: {e}")))?;
    Ok(format!("{TOKEN_PREFIX}{}", hex(&bytes)))
}

/// The SHA-256 of a token, hex: what the database stores. Tokens are long
/// and random, so a fast hash is enough (nothing to brute-force).
pub fn hash_token(token: &str) -> String {
    hash_bytes(token.as_bytes())
}

/// SHA-256 of `bytes`, hex.
pub fn hash_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// Compares two hashes in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Resolves tokens to identities and counts writes per identity.
pub struct Auth {
    required: bool,
    /// Hash of `auth.admin_token`.
    admin_hash: Option<String>,
    pool: Pool,
    /// Token hash → identity; entries of a user go when its token ends.
    cache: Mutex<HashMap<String, Arc<Identity>>>,
    /// Bumped when a token ends, so a lookup that read the database before
    /// that does not put the old token back in the cache.
    generation: AtomicU64,
    /// False while this node cannot confirm that no token ended on another
    /// node (its cluster listener is down): every token is read from the
    /// database.
    trusted: AtomicBool,
    /// Writes per second per token, one per event (batches).
    writes: Arc<RateLimiter>,
    /// Keyed writes per second, whatever their events: a keyed write's
    /// events are counted by the writer ([`Deferred`]), its attempts here.
    keyed_attempts: RateLimiter,
}

impl Auth {
    /// From `[auth]`, reading users through `pool`.
    pub fn new(settings: &AuthSettings, pool: Pool) -> Auth {
        Auth {
            required: settings.required,
            admin_hash: settings.admin_token.as_deref().map(hash_token),
            pool,
            cache: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            trusted: AtomicBool::new(true),
            writes: Arc::new(RateLimiter::new(settings.max_writes_per_second)),
            keyed_attempts: RateLimiter::new(settings.max_writes_per_second),
        }
    }

    /// Whether callers must present a token.
    pub fn required(&self) -> bool {
        self.required
    }

    /// Who holds `token`: the local admin when auth is off, else the admin
    /// token's holder or a user. 401 when the token is missing or unknown.
    pub async fn identify(&self, token: Option<&str>) -> AppResult<Arc<Identity>> {
        if !self.required {
            return Ok(Identity::local_admin());
        }
        let token =
            token.ok_or_else(|| AppError::Unauthorized("a bearer token is required".into()))?;
        let hash = hash_token(token);
        if self.admin_hash.as_deref().is_some_and(|h| same(h, &hash)) {
            return Ok(Identity::admin_token());
        }
        if let Some(found) = self
            .cached(&hash)
            .filter(|_| self.trusted.load(Ordering::SeqCst))
        {
            return Ok(found);
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let pool = self.pool.clone();
        let key = hash.clone();
        let user = actix_web::web::block(move || -> AppResult<_> {
            Ok(q::user_by_token(&mut *pool.get()?, &key)?)
        })
        .await
        .map_err(|e| AppError::Internal(format!("token lookup failed: {e}")))??;
        let user = user.ok_or_else(|| AppError::Unauthorized("invalid token".into()))?;
        let identity = Arc::new(Identity {
            user_id: Some(user.id),
            email: Some(user.email),
            name: user.name,
            admin: user.admin,
            token_hash: Some(hash.clone()),
        });
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
            if self.generation.load(Ordering::SeqCst) == generation {
                cache.insert(hash, identity.clone());
            }
        }
        Ok(identity)
    }

    /// Forgets a user's cached token, after the token ended (user deleted or
    /// given a new token): this node's writer calls it after the commit and
    /// before it answers the write, the cluster actor when another node's
    /// write ended it.
    pub fn forget(&self, user_id: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            self.generation.fetch_add(1, Ordering::SeqCst);
            cache.retain(|_, who| who.user_id.as_deref() != Some(user_id));
        }
    }

    /// Forgets every cached token (after this node may have missed an end).
    pub fn forget_all(&self) {
        if let Ok(mut cache) = self.cache.lock() {
            self.generation.fetch_add(1, Ordering::SeqCst);
            cache.clear();
        }
    }

    /// Whether cached tokens may be used (see `trusted`).
    pub fn trust_cache(&self, trusted: bool) {
        self.trusted.store(trusted, Ordering::SeqCst);
    }

    fn cached(&self, hash: &str) -> Option<Arc<Identity>> {
        self.cache.lock().ok()?.get(hash).cloned()
    }

    /// Counts one write by `who`; 429 past `auth.max_writes_per_second`.
    /// Without auth there is no token to count by.
    pub fn count_write(&self, who: &Identity) -> AppResult<()> {
        self.count_writes(who, 1, false).map(|_| ())
    }

    /// Counts `n` writes by `who` at once (a batch of events): all of them
    /// or, past the rate, none (429). See [`Bucket::take_n`]. A keyed write
    /// is not counted here but by the writer, once it knows the key is new
    /// (the returned [`Deferred`]): a retry must reach its stored answer
    /// even while its first try left the bucket in debt.
    pub fn count_writes(&self, who: &Identity, n: usize, keyed: bool) -> AppResult<Charge> {
        if !self.required || self.writes.rate == 0 {
            return Ok(Charge::Free);
        }
        if keyed {
            // Keyed requests still reach the writer at most at the rate
            // (replays and refusals included), from a bucket of their own
            // that the write bucket's debt does not drain.
            if !self.keyed_attempts.allow(who.key(), 1, 1) {
                return Err(rate_limited());
            }
            return Ok(Charge::Deferred(Deferred {
                limiter: self.writes.clone(),
                key: who.key().to_string(),
                n,
                taken: Arc::new(AtomicBool::new(false)),
            }));
        }
        if self.writes.allow(who.key(), n, n) {
            Ok(Charge::Taken)
        } else {
            Err(rate_limited())
        }
    }

    /// Gives back all but one of the `n` tokens a write took, if it took
    /// them: a write that wrote nothing (refused, or answered from its
    /// stored first answer) costs one token, not one per event.
    pub fn refund_writes(&self, who: &Identity, charge: &Charge, n: usize) {
        let taken = match charge {
            Charge::Free => false,
            Charge::Taken => true,
            Charge::Deferred(d) => d.taken.load(Ordering::Acquire),
        };
        if taken && n > 1 {
            self.writes.refund(who.key(), n - 1);
        }
    }
}

/// 429 `rate_limited`.
fn rate_limited() -> AppError {
    AppError::RateLimited("too many writes for this token; slow down".into())
}

/// What [`Auth::count_writes`] did with a write's tokens.
#[derive(Debug, Clone)]
pub enum Charge {
    /// Nothing to count: auth is off, or the rate unlimited.
    Free,
    /// Taken before the write was queued.
    Taken,
    /// Left to the writer (a keyed write).
    Deferred(Deferred),
}

/// A keyed write's tokens, taken by the writer once it knows the write is
/// not a replay, at most once however often the write is tried.
#[derive(Debug, Clone)]
pub struct Deferred {
    limiter: Arc<RateLimiter>,
    key: String,
    n: usize,
    taken: Arc<AtomicBool>,
}

impl Deferred {
    /// Takes the write's tokens (429 past the rate), or does nothing if an
    /// earlier try of it took them.
    pub fn take(&self) -> AppResult<()> {
        if self.taken.load(Ordering::Acquire) {
            return Ok(());
        }
        if self.limiter.allow(&self.key, self.n, self.n) {
            self.taken.store(true, Ordering::Release);
            Ok(())
        } else {
            Err(rate_limited())
        }
    }
}

/// A token bucket: `rate` per second, holding at most `rate` (the burst).
#[derive(Debug, Clone)]
pub struct Bucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket refilled at `rate` per second; 0 never runs dry.
    pub fn new(rate: u32) -> Bucket {
        Bucket {
            rate: f64::from(rate),
            tokens: f64::from(rate),
            last: Instant::now(),
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        self.take_n(now, 1, 1)
    }

    /// Takes `n` tokens if it holds `need` of them (`need` at most the
    /// burst). A batch larger than the burst passes only with a full bucket
    /// and leaves it in debt, which later writes wait for: over time every
    /// event is counted.
    pub fn take_n(&mut self, now: Instant, n: usize, need: usize) -> bool {
        if self.rate == 0.0 {
            return true;
        }
        self.refill(now);
        if self.tokens >= (need as f64).min(self.rate) {
            self.tokens -= n as f64;
            true
        } else {
            false
        }
    }

    /// Puts back `n` tokens taken before, up to the burst.
    pub fn give_back(&mut self, now: Instant, n: usize) {
        self.refill(now);
        self.tokens = (self.tokens + n as f64).min(self.rate);
    }

    /// Adds what the time since the last call earned, up to the burst.
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
    }
}

/// Buckets by key (one per token), shared by every worker.
#[derive(Debug)]
struct RateLimiter {
    rate: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    fn new(rate: u32) -> RateLimiter {
        RateLimiter {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn allow(&self, key: &str, n: usize, need: usize) -> bool {
        if self.rate == 0 {
            return true;
        }
        let Ok(mut buckets) = self.buckets.lock() else {
            return true;
        };
        let now = Instant::now();
        match buckets.get_mut(key) {
            Some(bucket) => bucket.take_n(now, n, need),
            None => {
                let mut bucket = Bucket::new(self.rate);
                let allowed = bucket.take_n(now, n, need);
                buckets.insert(key.to_string(), bucket);
                allowed
            }
        }
    }

    fn refund(&self, key: &str, n: usize) {
        if let Ok(mut buckets) = self.buckets.lock() {
            if let Some(bucket) = buckets.get_mut(key) {
                bucket.give_back(Instant::now(), n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        assert_eq!(hash_token(&a).len(), 64);
        assert_ne!(hash_token(&a), hash_token(&b));
        assert!(!hash_token(&a).contains(&a[TOKEN_PREFIX.len()..]));
        assert!(same(&hash_token(&a), &hash_token(&a)));
        assert!(!same(&hash_token(&a), &hash_token(&b)));
    }

    #[test]
    fn buckets_allow_a_burst_then_the_rate() {
        let start = Instant::now();
        let mut bucket = Bucket::new(5);
        assert!((0..5).all(|_| bucket.take(start)));
        assert!(!bucket.take(start));
        // 200 ms later one more token has been earned.
        let later = start + Duration::from_millis(200);
        assert!(bucket.take(later));
        assert!(!bucket.take(later));
        let mut unlimited = Bucket::new(0);
        assert!((0..10_000).all(|_| unlimited.take(start)));
    }
}
