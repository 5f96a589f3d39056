//! The per-step cache slot: the current token with the instants it must be renewed
//! and given up, the fetch in flight that every caller shares, and the last failure.
//!
//! Reading a fresh token is the hot path: one atomic load through `arc-swap`, one
//! flag, one read of the coarse clock, one `Arc` clone; no lock, no allocation. A
//! timer marks the entry due when it must be renewed; the coarse clock is the
//! safety net that never lets an expired token out, even when the timer cannot
//! run (a starved or stopped runtime): the coarse clock lags real time by at most
//! its resolution, which the check allows for.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use tokio::time::Instant;

use super::report::TokenOrigin;
use super::shared_fetch::SharedFetch;
use crate::model::{Error, Secret, TokenData};

/// A cached token and its deadlines.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) token: Arc<TokenData>,
    /// From this instant on, callers renew the token.
    pub(crate) refresh_at: Instant,
    /// From this instant on, the token is never handed out.
    pub(crate) expires_at: Instant,
    /// Set by the entry's timer at `refresh_at`: the hit path leaves it to the
    /// slow path from then on.
    due: AtomicBool,
    /// `expires_at` on the coarse clock, for the hit path's safety net.
    expires_coarse: u64,
    /// Where the token came from.
    pub(crate) origin: TokenOrigin,
    /// The requests it took.
    pub(crate) attempts: u32,
    /// When its first request was about to be sent (its dependencies in).
    pub(crate) requested_at: Option<Instant>,
}

impl Entry {
    /// An entry for `token`, to be renewed at `refresh_at` and given up at
    /// `expires_at`.
    pub(crate) fn new(token: Arc<TokenData>, refresh_at: Instant, expires_at: Instant) -> Self {
        let left = expires_at.saturating_duration_since(Instant::now());
        Entry {
            token,
            refresh_at,
            expires_at,
            due: AtomicBool::new(false),
            expires_coarse: coarse::now().saturating_add(nanos(left)),
            origin: TokenOrigin::Network,
            attempts: 1,
            requested_at: None,
        }
    }

    /// Says where the token came from, the requests it took, and when the first
    /// was about to be sent.
    pub(crate) fn with_origin(
        mut self,
        origin: TokenOrigin,
        attempts: u32,
        requested_at: Option<Instant>,
    ) -> Self {
        self.origin = origin;
        self.attempts = attempts;
        self.requested_at = requested_at;
        self
    }

    /// Whether the hit path may hand the token out: not due, and certainly not
    /// expired on the coarse clock.
    #[inline]
    fn is_fresh(&self) -> bool {
        !self.due.load(Ordering::Acquire)
            && coarse::now().saturating_add(coarse::resolution()) < self.expires_coarse
    }

    /// Marks the entry due for renewal.
    pub(crate) fn mark_due(&self) {
        self.due.store(true, Ordering::Release);
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// The system's coarse monotonic clock: on Linux `CLOCK_MONOTONIC_COARSE`, the
/// monotonic clock as of the last tick, read without touching the hardware clock
/// (a few nanoseconds); elsewhere the precise monotonic clock.
mod coarse {
    #[cfg(target_os = "linux")]
    fn read(clock: libc::clockid_t) -> u64 {
        let mut time = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `time` is a valid, writable timespec, and the clock id is one
        // Linux defines; `clock_gettime` writes nothing else.
        let status = unsafe { libc::clock_gettime(clock, &mut time) };
        debug_assert_eq!(status, 0);
        (time.tv_sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(time.tv_nsec as u64)
    }

    /// Now, in nanoseconds.
    #[cfg(target_os = "linux")]
    #[inline]
    pub(super) fn now() -> u64 {
        read(libc::CLOCK_MONOTONIC_COARSE)
    }

    /// How far the coarse clock may lag real time, in nanoseconds.
    #[cfg(target_os = "linux")]
    pub(super) fn resolution() -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static RESOLUTION: AtomicU64 = AtomicU64::new(u64::MAX);
        let known = RESOLUTION.load(Ordering::Relaxed);
        if known != u64::MAX {
            return known;
        }
        let mut time = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: as in `read`.
        let status = unsafe { libc::clock_getres(libc::CLOCK_MONOTONIC_COARSE, &mut time) };
        // Unknown: assume a slow tick (100 Hz), so the check stays on the safe side.
        let resolution = if status == 0 {
            (time.tv_sec as u64)
                .saturating_mul(1_000_000_000)
                .saturating_add(time.tv_nsec as u64)
        } else {
            10_000_000
        };
        RESOLUTION.store(resolution, Ordering::Relaxed);
        resolution
    }

    #[cfg(not(target_os = "linux"))]
    #[inline]
    pub(super) fn now() -> u64 {
        use std::sync::OnceLock;
        use std::time::Instant;
        static START: OnceLock<Instant> = OnceLock::new();
        super::nanos(START.get_or_init(Instant::now).elapsed())
    }

    #[cfg(not(target_os = "linux"))]
    pub(super) fn resolution() -> u64 {
        0
    }
}

/// What is guarded by the slot's lock: only touched on the slow path.
#[derive(Default)]
pub(crate) struct SlotState {
    /// The load in flight, which every caller joins.
    pub(crate) inflight: Option<Arc<SharedFetch>>,
    /// The number of the last load started: a load that ends clears `inflight`
    /// only while it is still its own (a load dropped unfinished may have been
    /// replaced before its end ran).
    pub(crate) loads: u64,
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

impl SlotState {
    /// Load number `load` ended: it is no longer in flight.
    pub(crate) fn ended(&mut self, load: u64) {
        if self.loads == load {
            self.inflight = None;
        }
    }
}

/// One step's cache.
#[derive(Default)]
pub(crate) struct Slot {
    entry: ArcSwapOption<Entry>,
    state: Mutex<SlotState>,
}

impl Slot {
    /// The hit path: the token, if it is not due for renewal and certainly not
    /// expired. No lock, no allocation, no precise clock.
    #[inline]
    pub(crate) fn fresh(&self) -> Option<Arc<TokenData>> {
        let entry = self.entry.load();
        match entry.as_deref() {
            Some(entry) if entry.is_fresh() => Some(Arc::clone(&entry.token)),
            _ => None,
        }
    }

    /// The slow path's look at the token: fresh at `now` by the precise clock
    /// (the timer may not have marked it due yet).
    pub(crate) fn fresh_at(&self, now: Instant) -> Option<Arc<TokenData>> {
        let entry = self.entry.load();
        match entry.as_deref() {
            Some(entry) if now < entry.refresh_at && entry.is_fresh() => {
                Some(Arc::clone(&entry.token))
            }
            _ => None,
        }
    }

    /// The token, if it has not expired (it may be due for renewal).
    pub(crate) fn valid(&self, now: Instant) -> Option<Arc<TokenData>> {
        let entry = self.entry.load();
        match entry.as_deref() {
            Some(entry)
                if now < entry.expires_at
                    && coarse::now().saturating_add(coarse::resolution())
                        < entry.expires_coarse =>
            {
                Some(Arc::clone(&entry.token))
            }
            _ => None,
        }
    }

    /// The cached entry, expired or not.
    pub(crate) fn entry(&self) -> Option<Arc<Entry>> {
        self.entry.load_full()
    }

    /// Caches `entry`, and returns it for its timer.
    pub(crate) fn store(&self, entry: Entry) -> Arc<Entry> {
        let entry = Arc::new(entry);
        self.entry.store(Some(Arc::clone(&entry)));
        entry
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

    /// A load that ends clears the in-flight mark only while it is its own: a
    /// load dropped unfinished, whose end runs late, leaves its successor's.
    #[test]
    fn a_load_ends_only_its_own_in_flight_mark() {
        let mut state = SlotState::default();
        for load in 1..=2 {
            state.loads = load;
            state.inflight = Some(SharedFetch::new(Box::pin(std::future::pending())));
        }
        state.ended(1);
        assert!(
            state.inflight.is_some(),
            "the first load cleared the second's mark"
        );
        state.ended(2);
        assert!(state.inflight.is_none());
    }

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
            slot.store(Entry::new(
                Arc::new(TokenData::new("t")),
                fetched + refresh_after,
                fetched + lifetime,
            ));
            let now = fetched + Duration::from_millis(now_ms);
            if slot.fresh_at(now).is_some() {
                prop_assert!(now < fetched + refresh_after);
                prop_assert!(now < fetched + lifetime);
            }
            if slot.valid(now).is_some() {
                prop_assert!(now < fetched + lifetime);
            }
            // A token whose whole life is shorter than the coarse clock's step may
            // never be served: that errs on the safe side.
            if lifetime_ms > 1_000 {
                prop_assert_eq!(slot.valid(now).is_some(), now < fetched + lifetime);
            }
        }
    }
}
