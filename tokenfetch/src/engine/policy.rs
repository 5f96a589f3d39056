//! The engine's policies: when a cached token is refreshed ([`RefreshPolicy`]) and
//! how a failed fetch is retried ([`RetryPolicy`]).

use std::time::Duration;

use crate::model::{Error, MAX_RETRY_AFTER};

/// When cached tokens are renewed.
///
/// A token is cached until the sooner of its step's `ttl` and its own expiry; a
/// token with neither lives [`default_lifetime`](RefreshPolicy::default_lifetime).
/// It is renewed `margin` before it expires (at most half its lifetime before),
/// minus a random jitter of up to `jitter`, so that many processes started together
/// do not all refresh at the same instant.
///
/// ```
/// use std::time::Duration;
/// use tokenfetch::RefreshPolicy;
///
/// let policy = RefreshPolicy::default()
///     .margin(Duration::from_secs(300))
///     .jitter(Duration::from_secs(30));
/// assert_eq!(policy.refresh_after(Duration::from_secs(3600), Duration::ZERO), Duration::from_secs(3300));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPolicy {
    margin: Duration,
    jitter: Duration,
    default_lifetime: Duration,
    failure_cooldown: Duration,
    background: bool,
}

impl Default for RefreshPolicy {
    /// A 60 s margin, up to 10 s of jitter, a one-hour default lifetime, a 1 s
    /// cool-down after a failure, no background refresh.
    fn default() -> Self {
        RefreshPolicy {
            margin: Duration::from_secs(60),
            jitter: Duration::from_secs(10),
            default_lifetime: Duration::from_secs(3600),
            failure_cooldown: Duration::from_secs(1),
            background: false,
        }
    }
}

impl RefreshPolicy {
    /// How long before expiry a token is renewed.
    pub fn margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// The largest random amount by which a renewal is brought forward.
    pub fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// The lifetime of a token whose step has no `ttl` and whose response gave no
    /// expiry.
    pub fn default_lifetime(mut self, lifetime: Duration) -> Self {
        self.default_lifetime = lifetime;
        self
    }

    /// After a failed fetch, how long callers get that failure (or the still-valid
    /// cached token) without a new request.
    pub fn failure_cooldown(mut self, cooldown: Duration) -> Self {
        self.failure_cooldown = cooldown;
        self
    }

    /// Renews tokens before they expire with no caller waiting.
    pub fn background(mut self, enabled: bool) -> Self {
        self.background = enabled;
        self
    }

    pub(crate) fn default_lifetime_value(&self) -> Duration {
        self.default_lifetime
    }

    pub(crate) fn failure_cooldown_value(&self) -> Duration {
        self.failure_cooldown
    }

    pub(crate) fn background_value(&self) -> bool {
        self.background
    }

    /// How long after being fetched a token of `lifetime` is renewed, given a
    /// random draw `jitter` (clamped to the configured jitter).
    pub fn refresh_after(&self, lifetime: Duration, jitter: Duration) -> Duration {
        let margin = self.margin.min(lifetime / 2);
        let jitter = jitter.min(self.jitter).min((lifetime - margin) / 2);
        lifetime - margin - jitter
    }

    /// A random jitter in `[0, jitter]`.
    pub(crate) fn draw_jitter(&self) -> Duration {
        random_up_to(self.jitter)
    }
}

/// How failed fetches are retried: transport failures, timeouts, 408, 429 and 5xx,
/// with exponential backoff and full jitter, honouring `Retry-After`; never a
/// refusal. The whole load of a step, retries included, is bounded by
/// [`load_timeout`](RetryPolicy::load_timeout).
///
/// ```
/// use std::time::Duration;
/// use tokenfetch::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .max_attempts(5)
///     .backoff(Duration::from_millis(50), Duration::from_secs(2))
///     .load_timeout(Duration::from_secs(20));
/// # let _ = policy;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    load_timeout: Duration,
}

impl Default for RetryPolicy {
    /// Three attempts, backoff from 100 ms up to 5 s, a 60 s load timeout.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            load_timeout: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries: one attempt.
    pub fn none() -> Self {
        RetryPolicy::default().max_attempts(1)
    }

    /// Attempts per fetch, the first included (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The first backoff bound and the largest; the bound doubles per attempt and
    /// the delay is drawn uniformly below it.
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_delay = base;
        self.max_delay = max.max(base);
        self
    }

    /// The longest a step's load may take, dependencies and retries included.
    pub fn load_timeout(mut self, timeout: Duration) -> Self {
        self.load_timeout = timeout;
        self
    }

    pub(crate) fn load_timeout_value(&self) -> Duration {
        self.load_timeout
    }

    /// The wait before attempt `attempt + 1` after `error`, or `None` if the error
    /// must not be retried.
    pub(crate) fn delay(&self, attempt: u32, error: &Error) -> Option<Duration> {
        if !error.is_retryable() || attempt >= self.max_attempts {
            return None;
        }
        if let Some(retry_after) = error.retry_after() {
            return Some(retry_after.min(MAX_RETRY_AFTER));
        }
        let bound = self
            .base_delay
            .saturating_mul(1 << (attempt - 1).min(20))
            .min(self.max_delay);
        Some(random_up_to(bound))
    }
}

fn random_up_to(bound: Duration) -> Duration {
    if bound.is_zero() {
        return Duration::ZERO;
    }
    Duration::from_nanos(fastrand::u64(
        0..=bound.as_nanos().min(u64::MAX as u128) as u64,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ErrorKind;

    #[test]
    fn margin_is_at_most_half_the_lifetime() {
        let policy = RefreshPolicy::default()
            .margin(Duration::from_secs(300))
            .jitter(Duration::ZERO);
        assert_eq!(
            policy.refresh_after(Duration::from_secs(60), Duration::ZERO),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn jitter_brings_refresh_forward_within_bounds() {
        let policy = RefreshPolicy::default()
            .margin(Duration::from_secs(60))
            .jitter(Duration::from_secs(10));
        let at = policy.refresh_after(Duration::from_secs(3600), Duration::from_secs(100));
        assert_eq!(at, Duration::from_secs(3530));
    }

    #[test]
    fn only_transient_errors_are_retried() {
        let policy =
            RetryPolicy::default().backoff(Duration::from_millis(100), Duration::from_secs(1));
        let transient = Error::new(ErrorKind::Transport, "x");
        assert!(policy.delay(1, &transient).unwrap() <= Duration::from_millis(100));
        assert!(policy.delay(2, &transient).unwrap() <= Duration::from_millis(200));
        assert!(policy.delay(3, &transient).is_none());
        assert!(
            policy
                .delay(1, &Error::new(ErrorKind::Refused, "x"))
                .is_none()
        );
        let throttled = Error::from_status(reqwest::StatusCode::TOO_MANY_REQUESTS)
            .with_retry_after(Some(Duration::from_secs(2)));
        assert_eq!(policy.delay(1, &throttled), Some(Duration::from_secs(2)));
    }
}
