//! Token stores: where the engine keeps tokens beyond its own memory, so that they
//! survive a restart ([`FileStore`]) or are shared by a fleet of processes
//! (`RedisStore`, feature `redis`).
//!
//! The engine's in-memory cache always answers first; a store is asked when that
//! cache has nothing fresh, and told about every token fetched. Entries are keyed
//! by a [`StoreKey`]: the step's name and a SHA-256 digest of everything that makes
//! its token what it is (endpoint, method, headers, request data, injections, what
//! a hook says it adds, the engine's base URL, and the keys of the steps it depends
//! on), so two configurations never share an entry and no secret appears in clear.
//! A step whose request cannot be known is never shared.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::fetcher::BoxFuture;
use crate::token::TokenData;

mod file;
#[cfg(feature = "redis")]
pub(crate) mod redis;

pub use file::FileStore;
#[cfg(feature = "redis")]
pub use redis::RedisStore;

/// What makes a step's token what it is, hashed: the input of its [`StoreKey`].
///
/// A step adds each part in [`TokenFetcher::identify`](crate::TokenFetcher::identify),
/// labelled with [`field`](StepIdentity::field) or bare with
/// [`add`](StepIdentity::add); the engine then adds its base URL and, for each
/// dependency, its name and its own key, so that a step's key changes whenever
/// anything upstream of it changes (a Merkle key). Parts may be secret: only their
/// digest is kept.
///
/// The encoding is explicit and versioned, never a `Debug` output: SHA-256 over
/// the marker `tokenfetch-identity/2`, then every part as its length (8 bytes,
/// little-endian) followed by its bytes; a labelled part is its label then its
/// value. The same configuration gives the same key in every process and every
/// release that keeps the marker; a release that changes the encoding changes the
/// marker, and so every key.
///
/// A step whose request the library cannot know, such as one with a request hook
/// that did not say what it adds, calls [`not_shareable`](StepIdentity::not_shareable):
/// its tokens, and those of every step depending on it, are then never shared
/// through a store.
pub struct StepIdentity {
    digest: Sha256,
    shareable: bool,
}

/// The marker every identity starts with; see [`StepIdentity`].
const IDENTITY_VERSION: &[u8] = b"tokenfetch-identity/2";

impl StepIdentity {
    /// An empty identity.
    pub fn new() -> Self {
        let mut identity = StepIdentity {
            digest: Sha256::new(),
            shareable: true,
        };
        identity.add(IDENTITY_VERSION);
        identity
    }

    /// Adds a part. Parts are length-prefixed, so `("ab", "c")` and `("a", "bc")`
    /// differ.
    pub fn add(&mut self, part: impl AsRef<[u8]>) -> &mut Self {
        let part = part.as_ref();
        self.digest.update((part.len() as u64).to_le_bytes());
        self.digest.update(part);
        self
    }

    /// Adds a labelled part: `label`, then `value`.
    pub fn field(&mut self, label: &str, value: impl AsRef<[u8]>) -> &mut Self {
        self.add(label).add(value)
    }

    /// Says that something shapes this step's request that the identity cannot
    /// cover: the step's tokens are then kept in the engine's memory only, never
    /// in a store, and so are those of the steps that depend on it.
    pub fn not_shareable(&mut self) -> &mut Self {
        self.shareable = false;
        self
    }

    /// Whether the step's tokens may be shared through a store.
    pub fn is_shareable(&self) -> bool {
        self.shareable
    }

    fn hex(self) -> String {
        use std::fmt::Write;
        self.digest
            .finalize()
            .iter()
            .take(16)
            .fold(String::with_capacity(32), |mut text, byte| {
                let _ = write!(text, "{byte:02x}");
                text
            })
    }
}

impl Default for StepIdentity {
    fn default() -> Self {
        StepIdentity::new()
    }
}

impl fmt::Debug for StepIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StepIdentity")
            .field("shareable", &self.shareable)
            .finish_non_exhaustive()
    }
}

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

/// A store in this process's memory: lets several engines share tokens. An engine
/// without a store keeps tokens in memory anyway.
///
/// ```
/// use std::sync::Arc;
/// use tokenfetch::{Engine, MemoryStore};
///
/// let shared = Arc::new(MemoryStore::new());
/// let first = Engine::builder().store(Arc::clone(&shared)).build()?;
/// let second = Engine::builder().store(shared).build()?;
/// # let _ = (first, second);
/// # Ok::<_, tokenfetch::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<StoreKey, StoredToken>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<StoreKey, StoredToken>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl TokenStore for MemoryStore {
    fn load<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<StoredToken>>> {
        Box::pin(async move {
            let mut entries = self.entries();
            entries.retain(|_, stored| !stored.remaining().is_zero());
            Ok(entries.get(key).cloned())
        })
    }

    fn save<'a>(&'a self, key: &'a StoreKey, token: &'a StoredToken) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.entries().insert(key.clone(), token.clone());
            Ok(())
        })
    }

    fn remove<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.entries().remove(key);
            Ok(())
        })
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

    #[tokio::test]
    async fn memory_store_forgets_expired_entries() {
        let store = MemoryStore::new();
        let key = key(&["k"]);
        let now = Utc::now();
        let expired = StoredToken {
            token: TokenData::new("t"),
            fetched_at: now - chrono::Duration::seconds(10),
            expires_at: now - chrono::Duration::seconds(1),
        };
        store.save(&key, &expired).await.unwrap();
        assert!(store.load(&key).await.unwrap().is_none());
        let fresh = StoredToken {
            expires_at: now + chrono::Duration::seconds(60),
            ..expired
        };
        store.save(&key, &fresh).await.unwrap();
        assert_eq!(store.load(&key).await.unwrap(), Some(fresh));
        store.remove(&key).await.unwrap();
        assert!(store.load(&key).await.unwrap().is_none());
    }
}
