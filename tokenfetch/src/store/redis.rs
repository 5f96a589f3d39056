//! [`RedisStore`]: tokens shared by a fleet of processes through Redis.
//!
//! Entries expire in Redis with the token (`SET .. PX`). A fetch lock
//! (`SET <key>:lock <id> NX PX <lease>`, renewed by its holder with a
//! compare-and-extend script while its fetch runs, released only by its holder
//! through a compare-and-delete script) makes the processes that need the same
//! expired token send one request between them, however slow the server; a
//! process that dies holding the lock delays the others at most one lease. Every Redis call is bounded by a short
//! timeout, and a failing Redis makes the engine carry on with its memory cache.

use std::fmt;
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use super::{LockOutcome, StoreKey, StoreLock, StoredToken, TokenStore};
use crate::model::{Error, Result};
use crate::step::BoxFuture;

/// Renews a lock's lease only if it still holds the caller's id.
const EXTEND: &str = r#"
if redis.call("GET", KEYS[1]) == ARGV[1] then
    return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0
"#;

/// Releases a lock only if it still holds the caller's id.
const UNLOCK: &str = r#"
if redis.call("GET", KEYS[1]) == ARGV[1] then
    return redis.call("DEL", KEYS[1])
end
return 0
"#;

/// A token store in Redis, for a fleet of processes (feature `redis`).
///
/// ```no_run
/// use tokenfetch::{Engine, RedisStore};
///
/// let engine = Engine::builder()
///     .store(RedisStore::new("redis://127.0.0.1:6379/")?)
///     .build()?;
/// # Ok::<_, tokenfetch::Error>(())
/// ```
///
/// Tokens are kept in clear in Redis: protect it as you would the credentials.
pub struct RedisStore {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    timeout: Duration,
}

impl RedisStore {
    /// A store on the Redis at `url` (`redis://host:port/db`). Nothing is
    /// connected until the first use, so an unreachable Redis does not stop the
    /// engine from starting.
    pub fn new(url: &str) -> Result<Self> {
        let client = redis::Client::open(url).map_err(|error| {
            Error::config("invalid Redis URL; expected redis://host:port/db").with_source(error)
        })?;
        Ok(RedisStore {
            client,
            connection: OnceCell::new(),
            timeout: Duration::from_millis(500),
        })
    }

    /// The longest one Redis call may take before the engine goes on without it
    /// (default 500 ms).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    async fn connection(&self) -> Result<ConnectionManager> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1);
        self.connection
            .get_or_try_init(|| self.client.get_connection_manager_with_config(config))
            .await
            .cloned()
            .map_err(redis_error)
    }

    /// Runs one Redis call within the timeout.
    async fn call<T, F>(&self, call: impl FnOnce(ConnectionManager) -> F) -> Result<T>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        let work = async {
            let connection = self.connection().await?;
            call(connection).await.map_err(redis_error)
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .unwrap_or_else(|_| {
                Err(Error::store(format!(
                    "Redis did not answer within {:?}",
                    self.timeout
                )))
            })
    }
}

fn redis_error(error: redis::RedisError) -> Error {
    let message = if error.is_timeout() {
        "Redis did not answer in time"
    } else {
        "the Redis token store failed"
    };
    Error::store(message).with_source(error)
}

/// A Redis entry's value as a stored token.
pub(crate) fn decode(key: &StoreKey, value: &[u8]) -> Result<StoredToken> {
    serde_json::from_slice(value)
        .map_err(|_| Error::store(format!("the Redis entry `{key}` is not a stored token")))
}

fn lock_key(key: &StoreKey) -> String {
    format!("{key}:lock")
}

impl TokenStore for RedisStore {
    fn load<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<StoredToken>>> {
        Box::pin(async move {
            let value: Option<String> = self
                .call(|mut connection| async move { connection.get(key.as_str()).await })
                .await?;
            let Some(value) = value else {
                return Ok(None);
            };
            let stored = decode(key, value.as_bytes())?;
            Ok(Some(stored).filter(|stored| !stored.remaining().is_zero()))
        })
    }

    fn save<'a>(&'a self, key: &'a StoreKey, token: &'a StoredToken) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let ttl = token.remaining().as_millis() as u64;
            if ttl == 0 {
                return Ok(());
            }
            let value = serde_json::to_string(token)
                .map_err(|error| Error::store("cannot encode the token").with_source(error))?;
            self.call(|mut connection| async move {
                connection
                    .pset_ex::<_, _, ()>(key.as_str(), value, ttl)
                    .await
            })
            .await
        })
    }

    fn remove<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.call(|mut connection| async move { connection.del::<_, ()>(key.as_str()).await })
                .await
        })
    }

    fn lock<'a>(&'a self, key: &'a StoreKey, ttl: Duration) -> BoxFuture<'a, Result<LockOutcome>> {
        Box::pin(async move {
            let lock = StoreLock::new();
            let ttl = ttl.as_millis().max(1) as u64;
            let acquired: Option<String> = self
                .call(|mut connection| {
                    let (key, id) = (lock_key(key), lock.id().to_owned());
                    async move {
                        redis::cmd("SET")
                            .arg(key)
                            .arg(id)
                            .arg("NX")
                            .arg("PX")
                            .arg(ttl)
                            .query_async(&mut connection)
                            .await
                    }
                })
                .await?;
            Ok(match acquired {
                Some(_) => LockOutcome::Acquired(lock),
                None => LockOutcome::Busy,
            })
        })
    }

    fn extend<'a>(
        &'a self,
        key: &'a StoreKey,
        lock: &'a StoreLock,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let ttl = ttl.as_millis().max(1) as u64;
            let extended: i64 = self
                .call(|mut connection| async move {
                    redis::Script::new(EXTEND)
                        .key(lock_key(key))
                        .arg(lock.id())
                        .arg(ttl)
                        .invoke_async(&mut connection)
                        .await
                })
                .await?;
            Ok(extended == 1)
        })
    }

    fn unlock<'a>(&'a self, key: &'a StoreKey, lock: &'a StoreLock) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.call(|mut connection| async move {
                redis::Script::new(UNLOCK)
                    .key(lock_key(key))
                    .arg(lock.id())
                    .invoke_async::<()>(&mut connection)
                    .await
            })
            .await
        })
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = self.client.get_connection_info();
        f.debug_struct("RedisStore")
            .field("addr", &info.addr().to_string())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
