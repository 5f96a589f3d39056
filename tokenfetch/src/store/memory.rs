//! [`MemoryStore`]: tokens shared by several engines of one process.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{StoreKey, StoredToken, TokenStore};
use crate::model::Result;
use crate::step::BoxFuture;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TokenData;
    use crate::step::StepIdentity;
    use chrono::Utc;

    #[tokio::test]
    async fn memory_store_forgets_expired_entries() {
        let store = MemoryStore::new();
        let key = StoreKey::new("step", StepIdentity::new());
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
