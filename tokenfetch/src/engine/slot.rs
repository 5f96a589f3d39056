//! The per-step cache slot: the current token with the instants it must be renewed
//! and given up, the fetch in flight that every caller shares, and the last failure.
//!
//! Reading a fresh token is the hot path: one atomic load through `arc-swap`, one
//! `Arc` clone, one clock read; no lock, no allocation.

use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwapOption;
use futures_util::future::Shared;
use tokio::time::Instant;

use crate::model::{Error, Result, Secret, TokenData};
use crate::step::BoxFuture;

/// A cached token and its deadlines.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) token: Arc<TokenData>,
    /// From this instant on, callers renew the token.
    pub(crate) refresh_at: Instant,
    /// From this instant on, the token is never handed out.
    pub(crate) expires_at: Instant,
}

/// A fetch in flight, awaited by every caller that wants the step meanwhile.
pub(crate) type SharedFetch = Shared<BoxFuture<'static, Result<Arc<TokenData>>>>;

/// What is guarded by the slot's lock: only touched on the slow path.
#[derive(Default)]
pub(crate) struct SlotState {
    pub(crate) inflight: Option<SharedFetch>,
    pub(crate) failure: Option<(Instant, Error)>,
    /// A token that was invalidated: the next load does not take it from the
    /// store, and removes it there.
    pub(crate) invalidated: Option<Arc<TokenData>>,
    /// The step's fetch has given a token once: a step that cannot repeat its
    /// request (a single-use grant) renews only through refresh from now on.
    pub(crate) fetched_once: bool,
    /// A refresh token the server refused: never offered again.
    pub(crate) refused_refresh: Option<Secret>,
}

/// One step's cache.
#[derive(Default)]
pub(crate) struct Slot {
    entry: ArcSwapOption<Entry>,
    state: Mutex<SlotState>,
}

impl Slot {
    /// The token, if it is not yet due for renewal.
    #[inline]
    pub(crate) fn fresh(&self, now: Instant) -> Option<Arc<TokenData>> {
        let entry = self.entry.load();
        match entry.as_deref() {
            Some(entry) if now < entry.refresh_at => Some(Arc::clone(&entry.token)),
            _ => None,
        }
    }

    /// The token, if it has not expired (it may be due for renewal).
    pub(crate) fn valid(&self, now: Instant) -> Option<Arc<TokenData>> {
        let entry = self.entry.load();
        match entry.as_deref() {
            Some(entry) if now < entry.expires_at => Some(Arc::clone(&entry.token)),
            _ => None,
        }
    }

    /// The cached entry, expired or not.
    pub(crate) fn entry(&self) -> Option<Arc<Entry>> {
        self.entry.load_full()
    }

    pub(crate) fn store(&self, entry: Entry) {
        self.entry.store(Some(Arc::new(entry)));
    }

    /// Empties the slot, returning the token it held.
    pub(crate) fn take(&self) -> Option<Arc<TokenData>> {
        self.entry.swap(None).map(|entry| Arc::clone(&entry.token))
    }

    /// Clears the entry if it still holds `token`; returns whether it did.
    pub(crate) fn clear_if(&self, token: &Arc<TokenData>) -> bool {
        let current = self.entry.load();
        match current.as_deref() {
            Some(entry) if Arc::ptr_eq(&entry.token, token) => {
                let previous = self.entry.compare_and_swap(&*current, None);
                previous
                    .as_ref()
                    .is_some_and(|entry| Arc::ptr_eq(&entry.token, token))
            }
            _ => false,
        }
    }

    /// Locks the slow-path state. A panic while it was held leaves nothing half
    /// done, so a poisoned lock is simply taken over.
    pub(crate) fn state(&self) -> MutexGuard<'_, SlotState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;
    use crate::engine::RefreshPolicy;

    proptest! {
        /// For any lifetime, margin, jitter (configured and drawn) and clock
        /// position, the slot never hands out a token at or past its expiry, as
        /// fresh or as still valid, and calls it fresh only before it is due.
        #[test]
        fn a_token_is_never_served_past_its_expiry(
            lifetime_ms in 1u64..=10 * 365 * 24 * 3_600_000,
            margin_ms in 0u64..=86_400_000,
            jitter_ms in 0u64..=3_600_000,
            drawn_ms in 0u64..=3_600_000,
            now_ms in 0u64..=11 * 365 * 24 * 3_600_000,
        ) {
            let policy = RefreshPolicy::default()
                .margin(Duration::from_millis(margin_ms))
                .jitter(Duration::from_millis(jitter_ms));
            let lifetime = Duration::from_millis(lifetime_ms);
            let refresh_after = policy.refresh_after(lifetime, Duration::from_millis(drawn_ms));
            prop_assert!(refresh_after <= lifetime);
            let fetched = Instant::now();
            let slot = Slot::default();
            slot.store(Entry {
                token: Arc::new(TokenData::new("t")),
                refresh_at: fetched + refresh_after,
                expires_at: fetched + lifetime,
            });
            let now = fetched + Duration::from_millis(now_ms);
            if slot.fresh(now).is_some() {
                prop_assert!(now < fetched + refresh_after);
                prop_assert!(now < fetched + lifetime);
            }
            if slot.valid(now).is_some() {
                prop_assert!(now < fetched + lifetime);
            }
            prop_assert_eq!(slot.valid(now).is_some(), now < fetched + lifetime);
        }
    }
}
