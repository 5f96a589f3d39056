//! Metrics through the [`metrics`](https://docs.rs/metrics) facade (feature
//! `metrics`): per step, fetch latency, outcomes by error kind, cache hits,
//! misses and stale serves, store lock waits, and seconds to expiry. The handles
//! are registered once per step when the engine is built, so that recording a hit
//! allocates nothing; without the feature every call here is empty and inlined
//! away.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `tokenfetch_fetch_seconds` | histogram | `step` |
//! | `tokenfetch_fetches_total` | counter | `step`, `outcome` (`ok` or the error kind) |
//! | `tokenfetch_cache_total` | counter | `step`, `result` (`hit`, `miss`, `stale`) |
//! | `tokenfetch_store_lock_wait_seconds` | histogram (one sample per load that waited) | `step` |
//! | `tokenfetch_token_expires_in_seconds` | gauge, set when a token is loaded | `step` |
//!
//! A recorder must be installed before the engine is built: the handles are
//! taken from it then.

use std::time::Duration;

use crate::model::Error;

/// A step's metric handles.
#[derive(Debug)]
pub(super) struct StepMetrics {
    #[cfg(feature = "metrics")]
    handles: Handles,
}

#[cfg(feature = "metrics")]
#[derive(Debug)]
struct Handles {
    step: String,
    hits: metrics::Counter,
    misses: metrics::Counter,
    stale: metrics::Counter,
    fetch_seconds: metrics::Histogram,
    lock_wait_seconds: metrics::Histogram,
    expires_in: metrics::Gauge,
}

impl StepMetrics {
    /// The handles of step `step`.
    pub(super) fn new(step: &str) -> Self {
        #[cfg(feature = "metrics")]
        {
            let step = step.to_owned();
            let cache = |result: &'static str| {
                metrics::counter!(
                    "tokenfetch_cache_total",
                    "step" => step.clone(),
                    "result" => result
                )
            };
            StepMetrics {
                handles: Handles {
                    hits: cache("hit"),
                    misses: cache("miss"),
                    stale: cache("stale"),
                    fetch_seconds: metrics::histogram!("tokenfetch_fetch_seconds", "step" => step.clone()),
                    lock_wait_seconds: metrics::histogram!(
                        "tokenfetch_store_lock_wait_seconds",
                        "step" => step.clone()
                    ),
                    expires_in: metrics::gauge!(
                        "tokenfetch_token_expires_in_seconds",
                        "step" => step.clone()
                    ),
                    step,
                },
            }
        }
        #[cfg(not(feature = "metrics"))]
        {
            let _ = step;
            StepMetrics {}
        }
    }

    /// A token served from the cache.
    #[inline]
    pub(super) fn hit(&self) {
        #[cfg(feature = "metrics")]
        self.handles.hits.increment(1);
    }

    /// A caller that had to wait for a load.
    pub(super) fn miss(&self) {
        #[cfg(feature = "metrics")]
        self.handles.misses.increment(1);
    }

    /// A still-valid token served after a failed renewal.
    pub(super) fn stale(&self) {
        #[cfg(feature = "metrics")]
        self.handles.stale.increment(1);
    }

    /// A load that ended after `took`, with a token that expires in `expires_in`,
    /// or with `error`.
    pub(super) fn loaded(&self, took: Duration, outcome: Result<Duration, &Error>) {
        #[cfg(feature = "metrics")]
        {
            let handles = &self.handles;
            handles.fetch_seconds.record(took.as_secs_f64());
            let outcome = match outcome {
                Ok(expires_in) => {
                    handles.expires_in.set(expires_in.as_secs_f64());
                    "ok".to_owned()
                }
                Err(error) => outcome_label(error.kind()).to_owned(),
            };
            metrics::counter!(
                "tokenfetch_fetches_total",
                "step" => handles.step.clone(),
                "outcome" => outcome
            )
            .increment(1);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (took, outcome);
    }

    /// A wait of `waited` for another process's store lock.
    pub(super) fn lock_wait(&self, waited: Duration) {
        #[cfg(feature = "metrics")]
        self.handles.lock_wait_seconds.record(waited.as_secs_f64());
        #[cfg(not(feature = "metrics"))]
        let _ = waited;
    }
}

/// The `outcome` label of a failed load: the error kind in snake case.
#[cfg(feature = "metrics")]
fn outcome_label(kind: crate::model::ErrorKind) -> &'static str {
    use crate::model::ErrorKind;
    match kind {
        ErrorKind::Transport => "transport",
        ErrorKind::Timeout => "timeout",
        ErrorKind::Server => "server",
        ErrorKind::Refused => "refused",
        ErrorKind::BadResponse => "bad_response",
        ErrorKind::Config => "config",
        ErrorKind::Store => "store",
        ErrorKind::Internal => "internal",
    }
}
