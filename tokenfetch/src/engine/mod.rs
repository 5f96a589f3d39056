//! The engine, above the fetchers and the stores: [`Engine`] fetches a graph of
//! steps and caches every token. One file per stage, one verb per stage:
//!
//! - `mod.rs`: the public API; a cache hit answers from the step's slot;
//! - `flight.rs`: [`TokenFuture`], whose first poll **resolve**s the step:
//!   joins or starts its one shared fetch, which **load** runs within the load
//!   timeout, caching its result;
//!   `shared_fetch.rs` shares one load among its callers;
//! - `coordinate.rs`: **coordinate** takes the token from the store, or fetches it
//!   under the store's leased lock, one process of a fleet at a time;
//! - `retry.rs`: **fetch** sends the step's request with retries, refresh and 401
//!   recovery, and makes the cache entry;
//! - `slot.rs` (the cache slot), `timer.rs` (marks entries due), `graph.rs`,
//!   `keys.rs` (store keys), `policy.rs`, `builder.rs`.
//!
//! The engine knows no middleware, blocking facade or pipeline.

mod builder;
mod coordinate;
mod flight;
mod graph;
mod keys;
mod metrics;
mod policy;
mod report;
mod retry;
mod shared_fetch;
mod slot;
mod timer;

use std::any::TypeId;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rustc_hash::FxHashMap;

use self::graph::Graph;
use self::slot::Slot;
use self::timer::DueTimer;
use crate::model::{Error, Result, TokenData, did_you_mean};
use crate::step::{Context, TokenFetcher, TokenStep};
use crate::store::{StoreKey, TokenStore};

pub use self::builder::EngineBuilder;
pub use self::flight::TokenFuture;
pub use self::policy::{RefreshPolicy, RetryPolicy};
pub use self::report::{StepGraph, StepState, StepTiming, Timeline, TokenOrigin};

/// Fetches and caches the tokens of a graph of steps.
///
/// Cheap to clone: clones share the steps and the cache. See [`EngineBuilder`] for
/// what can be configured and [`RefreshPolicy`] / [`RetryPolicy`] for the cache
/// and retry rules.
///
/// ```no_run
/// use tokenfetch::{BodyTokenFetcher, Engine, HeaderTokenFetcher};
///
/// # async fn run() -> tokenfetch::Result<()> {
/// let engine = Engine::builder()
///     .base_url("https://auth.example.com")
///     .step(
///         HeaderTokenFetcher::builder("device_token")
///             .endpoint("/device/register")
///             .header("X-Device-ID", "device-123")
///             .token_header("X-Device-Token")
///             .build()?,
///     )
///     .step(
///         BodyTokenFetcher::builder("user_token")
///             .endpoint("/user/auth")
///             .data("username", "user")
///             .data("password", "pass")
///             .depends_on("device_token")
///             .inject_header("device_token", "X-Device-Token")
///             .build()?,
///     )
///     .build()?;
///
/// let user = engine.token_by_name("user_token").await?; // device_token first, then user_token
/// let again = engine.token_by_name("user_token").await?; // from the cache
/// assert_eq!(user, again);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    /// Tells this engine's handles from another's.
    id: usize,
    steps: Vec<Step>,
    /// The index of each step by its type, for `token::<S>()`.
    by_type: FxHashMap<TypeId, usize>,
    graph: Graph,
    /// What every step's context starts from: the engine's base URL and client,
    /// and what the steps share.
    context: Context,
    refresh: RefreshPolicy,
    retry: RetryPolicy,
    store: Option<Box<dyn TokenStore>>,
    /// How long a store lock lasts unless its holder renews it.
    lease: Duration,
    /// Marks entries due at their refresh instant.
    timer: Arc<DueTimer>,
    /// Whether a timeline is being recorded ([`Engine::explain`]), and the
    /// recording.
    recording_on: std::sync::atomic::AtomicBool,
    recording: std::sync::Mutex<Option<self::report::Recording>>,
    /// One explanation at a time.
    explaining: tokio::sync::Mutex<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.timer.close();
    }
}

struct Step {
    fetcher: Box<dyn TokenFetcher>,
    name: String,
    /// The step's key in the store; `None` when it is never shared.
    key: Option<StoreKey>,
    /// The longest one load may take (see [`Graph::load_timeouts`]).
    load_timeout: Duration,
    slot: Slot,
    metrics: self::metrics::StepMetrics,
}

/// A step of one engine, looked up once: [`Engine::get`] with a handle does no name
/// lookup at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepHandle {
    index: usize,
    engine: usize,
}

impl Engine {
    /// Starts a builder.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// The token of step type `S`, fetching it and its dependencies if it is not
    /// cached or is due for renewal.
    ///
    /// A cached token is found before any future is built: the future returned
    /// is then ready, and allocates nothing. It does not borrow the engine.
    pub fn token<S: TokenStep>(&self) -> TokenFuture {
        match self.index_of(TypeId::of::<S>(), S::NAME) {
            Ok(index) => self.token_at(index),
            Err(error) => TokenFuture::ready(Err(error)),
        }
    }

    /// The token of the step named `name`.
    pub fn token_by_name(&self, name: &str) -> TokenFuture {
        match self.index_by_name(name) {
            Ok(index) => self.token_at(index),
            Err(error) => TokenFuture::ready(Err(error)),
        }
    }

    /// The token of the step behind `handle`. A handle made by another engine
    /// (one not cloned from this one) is a [`Config`](crate::ErrorKind::Config) error.
    pub fn get(&self, handle: StepHandle) -> TokenFuture {
        if handle.engine != self.inner.id {
            return TokenFuture::ready(Err(Error::config(
                "this StepHandle was made by another engine; make one with `handle::<S>()` or `handle_by_name(..)` on the engine you call `get` on",
            )));
        }
        self.token_at(handle.index)
    }

    /// A handle to step type `S`, for [`get`](Engine::get).
    pub fn handle<S: TokenStep>(&self) -> Result<StepHandle> {
        let index = self.index_of(TypeId::of::<S>(), S::NAME)?;
        Ok(StepHandle {
            index,
            engine: self.inner.id,
        })
    }

    /// A handle to the step named `name`, for [`get`](Engine::get).
    pub fn handle_by_name(&self, name: &str) -> Result<StepHandle> {
        let index = self.index_by_name(name)?;
        Ok(StepHandle {
            index,
            engine: self.inner.id,
        })
    }

    /// Drops the cached token of step `name`, so that the next caller fetches a new
    /// one. Returns whether such a step exists.
    pub fn invalidate(&self, name: &str) -> bool {
        match self.inner.graph.index.get(name) {
            Some(&index) => {
                self.inner.invalidate(index, None);
                true
            }
            None => false,
        }
    }

    /// Drops step `name`'s cached token only if it is still `token`: what a caller
    /// does when an API refused `token`, so that many callers refused at once
    /// renew it once. Returns whether it was dropped.
    pub fn invalidate_token(&self, name: &str, token: &Arc<TokenData>) -> bool {
        let Some(&index) = self.inner.graph.index.get(name) else {
            return false;
        };
        self.inner.invalidate(index, Some(token))
    }

    /// Drops step `name`'s cached token and removes its entry from the engine's
    /// [`TokenStore`](crate::TokenStore), if it has one, so that the next caller
    /// fetches a new token. Returns whether such a step exists; fails only if the
    /// store does.
    pub async fn evict(&self, name: &str) -> Result<bool> {
        let Some(&index) = self.inner.graph.index.get(name) else {
            return Ok(false);
        };
        self.inner.invalidate(index, None);
        if let (Some(store), Some(key)) = (&self.inner.store, &self.inner.steps[index].key) {
            store
                .remove(key)
                .await
                .map_err(|error| error.with_step(name))?;
        }
        Ok(true)
    }

    /// The key under which step `name`'s token is kept in a
    /// [`TokenStore`](crate::TokenStore); `None` if there is no such step, or if
    /// its tokens are never shared (see [`StepIdentity::not_shareable`](crate::StepIdentity::not_shareable)).
    pub fn store_key(&self, name: &str) -> Option<&StoreKey> {
        let index = *self.inner.graph.index.get(name)?;
        self.inner.steps[index].key.as_ref()
    }

    /// The names of the steps, in registration order.
    pub fn step_names(&self) -> impl Iterator<Item = &str> {
        self.inner.steps.iter().map(|step| step.name.as_str())
    }

    /// The hit path: the cached token, found before any future is built; else
    /// the slow path.
    #[inline]
    fn token_at(&self, index: usize) -> TokenFuture {
        let step = &self.inner.steps[index];
        match step.slot.fresh() {
            Some(token) => {
                step.metrics.hit();
                TokenFuture::ready(Ok(token))
            }
            None => {
                step.metrics.miss();
                TokenFuture::resolve(&self.inner, index)
            }
        }
    }

    /// The step registered as type `type_id`, else the step named `name` (a step
    /// type whose step was registered in another form, say built at run time).
    #[inline]
    fn index_of(&self, type_id: TypeId, name: &str) -> Result<usize> {
        match self.inner.by_type.get(&type_id) {
            Some(&index) => Ok(index),
            None => self.index_by_name(name),
        }
    }

    fn index_by_name(&self, name: &str) -> Result<usize> {
        match self.inner.graph.index.get(name) {
            Some(&index) => Ok(index),
            None => Err(self.unknown_step(name)),
        }
    }

    /// The error for a step name this engine does not know. Out of line: the
    /// lookup above is on the hit path.
    #[cold]
    #[inline(never)]
    fn unknown_step(&self, name: &str) -> Error {
        Error::config(format!(
            "no step named `{name}` is registered with this engine; add it with `Engine::builder().step(..)`{}",
            did_you_mean(name, self.step_names())
        ))
        .with_step(name)
    }
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("steps", &self.step_names().collect::<Vec<_>>())
            .field("refresh", &self.inner.refresh)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// Drops step `index`'s cached token (only if it is still `only`, when given),
    /// and makes its next load skip (and remove) the store's copy if it is the same
    /// token. Returns whether a token was dropped.
    fn invalidate(&self, index: usize, only: Option<&Arc<TokenData>>) -> bool {
        let slot = &self.steps[index].slot;
        let dropped = match only {
            Some(token) => slot.clear_if(token).then(|| Arc::clone(token)),
            None => slot.take(),
        };
        if self.store.is_some()
            && let Some(token) = &dropped
        {
            slot.state().invalidated = Some(Arc::clone(token));
        }
        dropped.is_some()
    }
}
