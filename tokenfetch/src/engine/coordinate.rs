//! The store stage: a token from the store when it holds one not yet due, else
//! one fetch among all the processes sharing the store. The dependencies are
//! resolved before the store's lock is asked for, and the lock's lease is renewed
//! for as long as the fetch runs; a token that was invalidated is never taken
//! from the store, and is removed there.

use std::convert::Infallible;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::{Either, select};
use tokio::time::Instant;

use super::report::TokenOrigin;
use super::slot::Entry;
use super::{Inner, Step};
use crate::model::{Result, TokenData};
use crate::store::{LockOutcome, StoreKey, StoreLock, StoredToken, TokenStore};

/// What a store holds for a step.
enum Stored {
    /// A token not yet due for renewal.
    Usable(Entry),
    /// A token due for renewal: its refresh token may still serve.
    Due(Arc<TokenData>),
    Nothing,
}

/// A held store lock, released when the work under it is done, or, if that work
/// is dropped first (the load timed out; every caller went away), by a task of
/// its own: otherwise every process would wait for the lease to run out.
struct Release {
    inner: Arc<Inner>,
    key: StoreKey,
    lock: Option<StoreLock>,
}

impl Release {
    /// Releases the lock now.
    async fn now(mut self, step: &Step, store: &dyn TokenStore) {
        if let Some(lock) = &self.lock {
            if let Err(error) = store.unlock(&self.key, lock).await {
                tracing::warn!(step = %step.name, "cannot release the token store lock: {error}");
            }
            self.lock = None;
        }
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        let Some(lock) = self.lock.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (inner, key) = (Arc::clone(&self.inner), self.key.clone());
        runtime.spawn(async move {
            if let Some(store) = inner.store.as_deref() {
                let _ = store.unlock(&key, &lock).await;
            }
        });
    }
}

/// How often a process waiting for another's fetch looks at the store.
const LOCK_POLL: Duration = Duration::from_millis(50);

impl Inner {
    /// A cache entry for step `index`: from the store when it holds a token not yet
    /// due for renewal, else fetched, by this process alone among those sharing
    /// the store, and saved there. The dependencies are resolved before the
    /// store's lock is asked for, and the lock's lease is renewed for as long as
    /// the fetch runs.
    pub(super) async fn coordinate(
        self: &Arc<Self>,
        index: usize,
        previous: Option<Arc<TokenData>>,
        deadline: Instant,
    ) -> Result<Entry> {
        let step = &self.steps[index];
        match (self.store.as_deref(), &step.key) {
            // Boxed: the store's path is most of this future's size, and a load
            // without a store should not carry (and move) it.
            (Some(store), Some(key)) => {
                Box::pin(self.through_store(index, store, key, previous, deadline)).await
            }
            _ => {
                let context = self.context_for(index).await?;
                self.fetch(index, context, previous.as_deref(), deadline)
                    .await
            }
        }
    }

    /// [`coordinate`](Inner::coordinate) for a step shared through `store`.
    async fn through_store(
        self: &Arc<Self>,
        index: usize,
        store: &dyn TokenStore,
        key: &StoreKey,
        mut previous: Option<Arc<TokenData>>,
        deadline: Instant,
    ) -> Result<Entry> {
        let step = &self.steps[index];
        // Cleared by the load once a token replaced it, not before: a load that
        // fails or times out leaves it for the next one.
        let invalidated = step.slot.state().invalidated.clone();
        let invalidated = invalidated.as_deref();
        match self.stored(step, store, key, invalidated).await {
            Stored::Usable(entry) => return Ok(entry),
            Stored::Due(token) => previous = previous.or(Some(token)),
            Stored::Nothing => {}
        }
        let context = self.context_for(index).await?;
        // How long this load waited for another process's lock, for the metrics.
        let mut waited = Duration::ZERO;
        loop {
            match store.lock(key, self.lease).await {
                Ok(LockOutcome::Acquired(lock)) => {
                    if !waited.is_zero() {
                        step.metrics.lock_wait(waited);
                    }
                    let release = Release {
                        inner: Arc::clone(self),
                        key: key.clone(),
                        lock: Some(lock),
                    };
                    let lock = release.lock.as_ref().expect("just set");
                    let work = async {
                        match self.stored(step, store, key, invalidated).await {
                            Stored::Usable(entry) => Ok(entry),
                            _ => {
                                let entry = self
                                    .fetch(index, context, previous.as_deref(), deadline)
                                    .await?;
                                self.save(step, store, key, &entry).await;
                                Ok(entry)
                            }
                        }
                    };
                    let result = self.holding(step, store, key, lock, work).await;
                    release.now(step, store).await;
                    return result;
                }
                Ok(LockOutcome::Busy) => {
                    tracing::debug!(step = %step.name, "another process is fetching; waiting for its token");
                    tokio::time::sleep(LOCK_POLL).await;
                    waited += LOCK_POLL;
                    if let Stored::Usable(entry) = self.stored(step, store, key, invalidated).await
                    {
                        step.metrics.lock_wait(waited);
                        return Ok(entry);
                    }
                }
                Err(error) => {
                    tracing::warn!(step = %step.name, "token store unavailable, fetching without it: {error}");
                    return self
                        .fetch(index, context, previous.as_deref(), deadline)
                        .await;
                }
            }
        }
    }

    /// Runs `work` while holding `lock`, renewing its lease every third of the
    /// lease period: the lock lasts exactly as long as this holder is alive and
    /// working. A holder that dies stops renewing, and the lease runs out.
    async fn holding<T>(
        &self,
        step: &Step,
        store: &dyn TokenStore,
        key: &StoreKey,
        lock: &StoreLock,
        work: impl Future<Output = T>,
    ) -> T {
        let renew = async {
            loop {
                tokio::time::sleep(self.lease / 3).await;
                match store.extend(key, lock, self.lease).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(step = %step.name, "the token store lock ran out before it was renewed; another process may fetch too");
                        return std::future::pending::<Infallible>().await;
                    }
                    Err(error) => {
                        tracing::warn!(step = %step.name, "cannot renew the token store lock: {error}");
                    }
                }
            }
        };
        match select(pin!(work), pin!(renew)).await {
            Either::Left((output, _)) => output,
            Either::Right((never, _)) => match never {},
        }
    }

    /// What the store holds for `step`. A store that fails is logged and treated
    /// as empty. A token that was `invalidated` is not taken, and is removed from
    /// the store so that the processes sharing it stop using it too.
    async fn stored(
        &self,
        step: &Step,
        store: &dyn TokenStore,
        key: &StoreKey,
        invalidated: Option<&TokenData>,
    ) -> Stored {
        match store.load(key).await {
            Ok(Some(stored)) => {
                if invalidated.is_some_and(|bad| bad.access_token() == stored.token.access_token())
                {
                    if let Err(error) = store.remove(key).await {
                        tracing::warn!(step = %step.name, "cannot remove an invalidated token from the store: {error}");
                    }
                    return Stored::Nothing;
                }
                let lifetime = stored.lifetime();
                let age = stored.age();
                let refresh_after = self
                    .refresh
                    .refresh_after(lifetime, self.refresh.draw_jitter());
                let remaining = stored.remaining();
                if age >= refresh_after || remaining.is_zero() {
                    return Stored::Due(Arc::new(stored.token));
                }
                let now = Instant::now();
                tracing::debug!(step = %step.name, cache = "store", "token taken from the store");
                Stored::Usable(
                    Entry::new(
                        Arc::new(stored.token),
                        now + (refresh_after - age),
                        now + remaining,
                    )
                    .with_origin(TokenOrigin::Store, 0, None),
                )
            }
            Ok(None) => Stored::Nothing,
            Err(error) => {
                tracing::warn!(step = %step.name, "token store unavailable, going on without it: {error}");
                Stored::Nothing
            }
        }
    }

    /// Saves a fetched entry in the store; a failed save is logged: the token is
    /// still good.
    async fn save(&self, step: &Step, store: &dyn TokenStore, key: &StoreKey, entry: &Entry) {
        let lifetime = entry.expires_at.saturating_duration_since(Instant::now());
        let stored = StoredToken::new((*entry.token).clone(), lifetime);
        if let Err(error) = store.save(key, &stored).await {
            tracing::warn!(step = %step.name, "cannot save the token in the store: {error}");
        }
    }
}
