//! Token stores, above the step: where the engine keeps tokens beyond its own
//! memory, so that they survive a restart ([`FileStore`]) or are shared by a fleet
//! of processes (`RedisStore`, feature `redis`), or by engines of one process
//! ([`MemoryStore`]); the [`TokenStore`] trait they implement, with its leased
//! fetch lock. Stores know no HTTP, fetcher or engine.
//!
//! The engine's in-memory cache always answers first; a store is asked when that
//! cache has nothing fresh, and told about every token fetched. Entries are keyed
//! by a [`StoreKey`]: the step's name and a SHA-256 digest of everything that makes
//! its token what it is (endpoint, method, headers, request data, injections, what
//! a hook says it adds, the engine's base URL, and the keys of the steps it depends
//! on), so two configurations never share an entry and no secret appears in clear.
//! A step whose request cannot be known is never shared.

mod file;
mod memory;
#[cfg(feature = "redis")]
pub(crate) mod redis;

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Result, TokenData};
use crate::step::{BoxFuture, StepIdentity};

pub use self::file::FileStore;
pub use self::memory::MemoryStore;
#[cfg(feature = "redis")]
pub use self::redis::RedisStore;

/// The key of a step's entry in a store: `tokenfetch:v2:<step>:<digest>`, where
/// the digest is that of the step's [`StepIdentity`]. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoreKey(String);

impl StoreKey {
    /// The key of step `step` with `identity` (what the engine computes for each
    /// step from [`TokenFetcher::identify`](crate::TokenFetcher::identify) and its
    /// dependencies' keys).
    pub fn new(step: &str, identity: StepIdentity) -> Self {
        StoreKey(format!("tokenfetch:v2:{step}:{}", identity.hex()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A token as a store keeps it: with when it was fetched and when the engine gives
/// it up, both wall-clock times, so that another process can tell how fresh it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredToken {
    /// The token.
    pub token: TokenData,
    /// When it was fetched.
    pub fetched_at: DateTime<Utc>,
    /// When the engine stops using it: the sooner of the step's ttl and the token's
    /// own expiry.
    pub expires_at: DateTime<Utc>,
}

impl StoredToken {
    /// A token fetched now that the engine uses for `lifetime`.
    pub fn new(token: TokenData, lifetime: Duration) -> Self {
        let fetched_at = Utc::now();
        let lifetime = chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::MAX);
        StoredToken {
            token,
            fetched_at,
            expires_at: fetched_at
                .checked_add_signed(lifetime)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    }

    /// The time left before it expires, zero once expired.
    pub fn remaining(&self) -> Duration {
        (self.expires_at - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
    }

    /// Its whole cache lifetime.
    pub fn lifetime(&self) -> Duration {
        (self.expires_at - self.fetched_at)
            .to_std()
            .unwrap_or(Duration::ZERO)
    }

    /// How long ago it was fetched.
    pub fn age(&self) -> Duration {
        (Utc::now() - self.fetched_at)
            .to_std()
            .unwrap_or(Duration::ZERO)
    }
}

/// The answer to [`TokenStore::lock`].
#[derive(Debug)]
#[non_exhaustive]
pub enum LockOutcome {
    /// This process may fetch; give the lock back with [`TokenStore::unlock`].
    Acquired(StoreLock),
    /// Another process is fetching: wait for its token to appear in the store.
    Busy,
}

/// A held fetch lock; its id tells the holder's release from a late one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreLock {
    id: String,
}

impl StoreLock {
    /// A new lock with a random id.
    pub fn new() -> Self {
        StoreLock {
            id: format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)),
        }
    }

    /// The lock's id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl Default for StoreLock {
    fn default() -> Self {
        StoreLock::new()
    }
}

/// Where the engine keeps tokens beyond its own memory.
///
/// A store that fails is not fatal: the engine logs a warning and goes on with its
/// in-memory cache and the auth server.
pub trait TokenStore: Send + Sync + 'static {
    /// The entry under `key`, if there is one that has not expired.
    fn load<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<StoredToken>>>;

    /// Saves `token` under `key`, replacing any entry; it may be dropped once it
    /// expires.
    fn save<'a>(&'a self, key: &'a StoreKey, token: &'a StoredToken) -> BoxFuture<'a, Result<()>>;

    /// Removes the entry under `key`.
    fn remove<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<()>>;

    /// Asks to be the one process that fetches `key`, for a lease of `ttl`. The
    /// holder [`extend`](TokenStore::extend)s the lease while its fetch runs, so a
    /// live holder keeps the lock however slow the server is, and a dead one loses
    /// it at most `ttl` after its last renewal. The default always grants it: a
    /// store shared by several processes overrides this so that only one of them
    /// fetches.
    fn lock<'a>(&'a self, key: &'a StoreKey, ttl: Duration) -> BoxFuture<'a, Result<LockOutcome>> {
        let _ = (key, ttl);
        Box::pin(async { Ok(LockOutcome::Acquired(StoreLock::new())) })
    }

    /// Renews the lease of `lock` on `key` for `ttl` from now, if `lock` still
    /// holds it (compare and extend). Returns whether it did: `false` means the
    /// lease ran out and another process may hold the lock now. The default, for
    /// the default lock that is never contended, always does.
    fn extend<'a>(
        &'a self,
        key: &'a StoreKey,
        lock: &'a StoreLock,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool>> {
        let _ = (key, lock, ttl);
        Box::pin(async { Ok(true) })
    }

    /// Gives a lock back, if it is still held by `lock`.
    fn unlock<'a>(&'a self, key: &'a StoreKey, lock: &'a StoreLock) -> BoxFuture<'a, Result<()>> {
        let _ = (key, lock);
        Box::pin(async { Ok(()) })
    }
}

impl<S: TokenStore + ?Sized> TokenStore for std::sync::Arc<S> {
    fn load<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<StoredToken>>> {
        (**self).load(key)
    }

    fn save<'a>(&'a self, key: &'a StoreKey, token: &'a StoredToken) -> BoxFuture<'a, Result<()>> {
        (**self).save(key, token)
    }

    fn remove<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<()>> {
        (**self).remove(key)
    }

    fn lock<'a>(&'a self, key: &'a StoreKey, ttl: Duration) -> BoxFuture<'a, Result<LockOutcome>> {
        (**self).lock(key, ttl)
    }

    fn extend<'a>(
        &'a self,
        key: &'a StoreKey,
        lock: &'a StoreLock,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool>> {
        (**self).extend(key, lock, ttl)
    }

    fn unlock<'a>(&'a self, key: &'a StoreKey, lock: &'a StoreLock) -> BoxFuture<'a, Result<()>> {
        (**self).unlock(key, lock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(parts: &[&str]) -> StoreKey {
        let mut identity = StepIdentity::new();
        for part in parts {
            identity.add(part);
        }
        StoreKey::new("step", identity)
    }

    #[test]
    fn keys_differ_by_every_part_and_hide_them() {
        assert_ne!(key(&["client_id", "a"]), key(&["client_id", "b"]));
        assert_ne!(key(&["ab", "c"]), key(&["a", "bc"]));
        assert_eq!(key(&["x"]), key(&["x"]));
        let key = key(&["s3cret-value"]);
        assert!(key.as_str().starts_with("tokenfetch:v2:step:"));
        assert!(!key.as_str().contains("s3cret"));
    }

    /// The encoding is part of the format: the same parts give this key in every
    /// process and release. If this fails, the encoding moved: bump
    /// `IDENTITY_VERSION` (and the key's `v2`) instead of changing the expectation.
    #[test]
    fn the_identity_encoding_is_stable() {
        let mut identity = StepIdentity::new();
        identity.field("endpoint", "/token").add("x");
        assert_eq!(
            StoreKey::new("app", identity).as_str(),
            "tokenfetch:v2:app:92f017819d13721d0bab08d38cfe2e7c"
        );
    }
}
