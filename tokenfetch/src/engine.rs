//! [`Engine`]: fetches a graph of steps and caches every token.
//!
//! Resolving a step resolves its dependencies first, all of them concurrently, each
//! through its own cache slot; a step's fetch runs in a task of its own that every
//! caller shares, so one request goes out per step however many callers ask, and a
//! caller that gives up cancels nothing for the others.

use std::any::TypeId;
use std::convert::Infallible;
use std::fmt;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::{Either, select, try_join_all};
use tokio::time::Instant;
use tracing::Instrument;
use url::Url;

use crate::cache::{Entry, Slot};
use crate::error::{Error, ErrorKind, Result};
use crate::fetcher::{BoxFuture, Context, TokenFetcher, TokenStep};
use crate::graph::{Graph, GraphError};
use crate::http::parse_base_url;
use crate::policy::{RefreshPolicy, RetryPolicy};
use crate::store::{LockOutcome, StepIdentity, StoreKey, StoreLock, StoredToken, TokenStore};
use crate::suggest::did_you_mean;
use crate::token::TokenData;

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
    graph: Graph,
    base_url: Option<Url>,
    client: reqwest::Client,
    refresh: RefreshPolicy,
    retry: RetryPolicy,
    store: Option<Box<dyn TokenStore>>,
    /// How long a store lock lasts unless its holder renews it.
    lease: Duration,
}

struct Step {
    fetcher: Box<dyn TokenFetcher>,
    type_id: TypeId,
    name: String,
    /// The step's key in the store; `None` when it is never shared.
    key: Option<StoreKey>,
    slot: Slot,
}

/// What a store holds for a step.
enum Stored {
    /// A token not yet due for renewal.
    Usable(Entry),
    /// A token due for renewal: its refresh token may still serve.
    Due(Arc<TokenData>),
    Nothing,
}

/// How often a process waiting for another's fetch looks at the store.
const LOCK_POLL: Duration = Duration::from_millis(50);

/// How long a store lock lasts unless its holder renews it, by default.
const DEFAULT_LEASE: Duration = Duration::from_secs(10);

/// Numbers the engines of this process: an engine's handles carry its number.
static ENGINES: AtomicUsize = AtomicUsize::new(0);

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
    pub async fn token<S: TokenStep>(&self) -> Result<Arc<TokenData>> {
        let index = self.index_of(TypeId::of::<S>(), S::NAME)?;
        self.token_at(index).await
    }

    /// The token of the step named `name`.
    pub async fn token_by_name(&self, name: &str) -> Result<Arc<TokenData>> {
        let index = self.index_by_name(name)?;
        self.token_at(index).await
    }

    /// The token of the step behind `handle`. A handle made by another engine
    /// (one not cloned from this one) is a [`Config`](ErrorKind::Config) error.
    pub async fn get(&self, handle: StepHandle) -> Result<Arc<TokenData>> {
        if handle.engine != self.inner.id {
            return Err(Error::config(
                "this StepHandle was made by another engine; make one with `handle::<S>()` or `handle_by_name(..)` on the engine you call `get` on",
            ));
        }
        self.token_at(handle.index).await
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

    /// The key under which step `name`'s token is kept in a
    /// [`TokenStore`](crate::TokenStore); `None` if there is no such step, or if
    /// its tokens are never shared (see [`StepIdentity::not_shareable`]).
    pub fn store_key(&self, name: &str) -> Option<&StoreKey> {
        let index = *self.inner.graph.index.get(name)?;
        self.inner.steps[index].key.as_ref()
    }

    /// The names of the steps, in registration order.
    pub fn step_names(&self) -> impl Iterator<Item = &str> {
        self.inner.steps.iter().map(|step| step.name.as_str())
    }

    #[inline]
    async fn token_at(&self, index: usize) -> Result<Arc<TokenData>> {
        let step = &self.inner.steps[index];
        if let Some(token) = step.slot.fresh(Instant::now()) {
            tracing::trace!(step = %step.name, cache = "hit");
            return Ok(token);
        }
        Inner::resolve(&self.inner, index).await
    }

    /// The step registered as type `type_id`, else the step named `name` (a step
    /// type whose step was registered in another form, say built at run time).
    fn index_of(&self, type_id: TypeId, name: &str) -> Result<usize> {
        match self
            .inner
            .steps
            .iter()
            .position(|step| step.type_id == type_id)
        {
            Some(index) => Ok(index),
            None => self.index_by_name(name),
        }
    }

    fn index_by_name(&self, name: &str) -> Result<usize> {
        self.inner.graph.index.get(name).copied().ok_or_else(|| {
            Error::config(format!(
                "no step named `{name}` is registered with this engine; add it with `Engine::builder().step(..)`{}",
                did_you_mean(name, self.step_names())
            ))
            .with_step(name)
        })
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

/// Clears a slot's in-flight fetch when the fetch task ends, however it ends.
struct InflightGuard<'a>(&'a Slot);

impl Drop for InflightGuard<'_> {
    fn drop(&mut self) {
        self.0.state().inflight = None;
    }
}

impl Inner {
    /// Resolves step `index` on the slow path: joins the fetch in flight, or answers
    /// from the last failure during its cool-down, or starts a fetch.
    fn resolve(inner: &Arc<Inner>, index: usize) -> BoxFuture<'static, Result<Arc<TokenData>>> {
        let inner = Arc::clone(inner);
        Box::pin(async move {
            let fetch = {
                let slot = &inner.steps[index].slot;
                let now = Instant::now();
                let mut state = slot.state();
                if let Some(token) = slot.fresh(now) {
                    return Ok(token);
                }
                match &state.inflight {
                    Some(fetch) => fetch.clone(),
                    None => {
                        if let Some((failed_at, error)) = &state.failure
                            && now < *failed_at + inner.refresh.failure_cooldown_value()
                        {
                            return slot.valid(now).ok_or_else(|| error.clone());
                        }
                        let task = tokio::spawn(Inner::load(Arc::clone(&inner), index));
                        let name = inner.steps[index].name.clone();
                        let fetch = async move {
                            task.await.unwrap_or_else(|_| {
                                Err(Error::new(
                                    ErrorKind::Internal,
                                    "the step's fetch panicked or its runtime shut down",
                                )
                                .with_step(name))
                            })
                        }
                        .boxed()
                        .shared();
                        state.inflight = Some(fetch.clone());
                        fetch
                    }
                }
            };
            fetch.await
        })
    }

    /// The fetch task of step `index`: obtain a token, cache it, remember a
    /// failure, fall back to a still-valid token.
    async fn load(self: Arc<Self>, index: usize) -> Result<Arc<TokenData>> {
        let step = &self.steps[index];
        let _inflight = InflightGuard(&step.slot);
        let started = Instant::now();
        let previous = step.slot.entry().map(|entry| Arc::clone(&entry.token));
        let span = tracing::info_span!(
            "tokenfetch.fetch",
            step = %step.name,
            cache = if previous.is_some() { "refresh" } else { "miss" },
            attempt = tracing::field::Empty,
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        let load_timeout = self.retry.load_timeout_value();
        let deadline = started + load_timeout;
        let result = tokio::time::timeout(
            load_timeout,
            self.obtain(index, previous, deadline)
                .instrument(span.clone()),
        )
        .await
        .unwrap_or_else(|_| {
            let error = Error::new(
                ErrorKind::Timeout,
                format!("loading the token took longer than the load timeout of {load_timeout:?}"),
            )
            .with_step(&step.name);
            step.fetcher.on_fetch_error(&error, &Context::new());
            Err(error)
        });
        let now = Instant::now();
        span.record("duration_ms", (now - started).as_millis() as u64);
        let mut state = step.slot.state();
        match result {
            Ok(entry) => {
                let (token, refresh_at) = (Arc::clone(&entry.token), entry.refresh_at);
                step.slot.store(entry);
                if self.refresh.background_value() {
                    self.schedule_background_refresh(index, refresh_at);
                }
                state.failure = None;
                Ok(token)
            }
            Err(error) => {
                state.failure = Some((now, error.clone()));
                match step.slot.valid(now) {
                    Some(token) => {
                        let _enter = span.enter();
                        tracing::warn!(
                            step = %step.name,
                            cache = "stale",
                            "renewal failed; the cached token stays in use until it expires: {error}"
                        );
                        Ok(token)
                    }
                    None => Err(error),
                }
            }
        }
    }

    /// A cache entry for step `index`: from the store when it holds a token not yet
    /// due for renewal, else fetched, by this process alone among those sharing
    /// the store, and saved there. The dependencies are resolved before the
    /// store's lock is asked for, and the lock's lease is renewed for as long as
    /// the fetch runs.
    async fn obtain(
        self: &Arc<Self>,
        index: usize,
        mut previous: Option<Arc<TokenData>>,
        deadline: Instant,
    ) -> Result<Entry> {
        let step = &self.steps[index];
        let (Some(store), Some(key)) = (self.store.as_deref(), &step.key) else {
            let context = self.context_for(index).await?;
            return self
                .fetch_entry(index, context, previous.as_deref(), deadline)
                .await;
        };
        let invalidated = step.slot.state().invalidated.take();
        let invalidated = invalidated.as_deref();
        match self.stored(step, store, key, invalidated).await {
            Stored::Usable(entry) => return Ok(entry),
            Stored::Due(token) => previous = previous.or(Some(token)),
            Stored::Nothing => {}
        }
        let context = self.context_for(index).await?;
        loop {
            match store.lock(key, self.lease).await {
                Ok(LockOutcome::Acquired(lock)) => {
                    let work = async {
                        match self.stored(step, store, key, invalidated).await {
                            Stored::Usable(entry) => Ok(entry),
                            _ => {
                                self.fetch_and_save(index, context, previous.as_deref(), deadline)
                                    .await
                            }
                        }
                    };
                    let result = self.holding(step, store, key, &lock, work).await;
                    if let Err(error) = store.unlock(key, &lock).await {
                        tracing::warn!(step = %step.name, "cannot release the token store lock: {error}");
                    }
                    return result;
                }
                Ok(LockOutcome::Busy) => {
                    tracing::debug!(step = %step.name, "another process is fetching; waiting for its token");
                    tokio::time::sleep(LOCK_POLL).await;
                    if let Stored::Usable(entry) = self.stored(step, store, key, invalidated).await
                    {
                        return Ok(entry);
                    }
                }
                Err(error) => {
                    tracing::warn!(step = %step.name, "token store unavailable, fetching without it: {error}");
                    return self
                        .fetch_entry(index, context, previous.as_deref(), deadline)
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
                Stored::Usable(Entry {
                    token: Arc::new(stored.token),
                    refresh_at: now + (refresh_after - age),
                    expires_at: now + remaining,
                })
            }
            Ok(None) => Stored::Nothing,
            Err(error) => {
                tracing::warn!(step = %step.name, "token store unavailable, going on without it: {error}");
                Stored::Nothing
            }
        }
    }

    /// Fetches step `index` and saves the token in the store (a failed save is
    /// logged: the token is still good).
    async fn fetch_and_save(
        self: &Arc<Self>,
        index: usize,
        context: Context,
        previous: Option<&TokenData>,
        deadline: Instant,
    ) -> Result<Entry> {
        let step = &self.steps[index];
        let entry = self.fetch_entry(index, context, previous, deadline).await?;
        if let (Some(store), Some(key)) = (&self.store, &step.key) {
            let lifetime = entry.expires_at.saturating_duration_since(Instant::now());
            let stored = StoredToken::new((*entry.token).clone(), lifetime);
            if let Err(error) = store.save(key, &stored).await {
                tracing::warn!(step = %step.name, "cannot save the token in the store: {error}");
            }
        }
        Ok(entry)
    }

    /// Fetches step `index` into a cache entry.
    async fn fetch_entry(
        self: &Arc<Self>,
        index: usize,
        context: Context,
        previous: Option<&TokenData>,
        deadline: Instant,
    ) -> Result<Entry> {
        let token = self.load_token(index, context, previous, deadline).await?;
        self.entry_for(&self.steps[index], token, Instant::now())
    }

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

    /// Fetches step `index`'s token with the dependencies' tokens in `context`: the
    /// request with retries, the refresh grant where the cached token allows it,
    /// and one renewal of the dependencies if the step is refused with 401.
    async fn load_token(
        self: &Arc<Self>,
        index: usize,
        mut context: Context,
        previous: Option<&TokenData>,
        deadline: Instant,
    ) -> Result<TokenData> {
        let step = &self.steps[index];
        let span = tracing::Span::current();
        let repeatable = step.fetcher.repeatable();
        let (spent, refused) = {
            let state = step.slot.state();
            let spent = !repeatable && (previous.is_some() || state.fetched_once);
            (spent, state.refused_refresh.clone())
        };
        let mut refresh_from = previous.filter(|token| {
            token
                .refresh_token()
                .is_some_and(|refresh| Some(refresh) != refused.as_ref())
        });
        let mut dependencies_renewed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            span.record("attempt", attempt);
            let result = match refresh_from.and_then(|token| step.fetcher.refresh(token, &context))
            {
                Some(refresh) => refresh.await,
                None if spent => return Err(spent_grant(&step.name)),
                None => step.fetcher.fetch(&context).await,
            };
            let error = match result {
                Ok(token) => {
                    if !repeatable {
                        step.slot.state().fetched_once = true;
                    }
                    return Ok(token);
                }
                Err(error) => error.with_step(&step.name),
            };
            if let Some(status) = error.status() {
                span.record("status", status.as_u16());
            }
            step.fetcher.on_fetch_error(&error, &context);
            if let Some(token) = refresh_from
                && error.is_refused()
            {
                step.slot.state().refused_refresh = token.refresh_token().cloned();
                if spent {
                    // The original grant was single-use: replaying it cannot work
                    // and may revoke what it gave.
                    return Err(error);
                }
                // The refresh token was refused: fall back to the full request.
                refresh_from = None;
                attempt -= 1;
                continue;
            }
            let dependencies = &self.graph.dependencies[index];
            if error.status() == Some(reqwest::StatusCode::UNAUTHORIZED)
                && !dependencies.is_empty()
                && !dependencies_renewed
            {
                dependencies_renewed = true;
                // Only the tokens this request used, if they are still cached: when
                // many steps are refused at once, each dependency is renewed once.
                for &dependency in dependencies {
                    if let Some(used) = context.shared(&self.steps[dependency].name) {
                        self.invalidate(dependency, Some(used));
                    }
                }
                context = self.context_for(index).await?;
                attempt -= 1;
                continue;
            }
            match self.retry.delay(attempt, &error) {
                Some(wait) if Instant::now() + wait < deadline => {
                    tracing::debug!(step = %step.name, attempt, ?wait, "retrying: {error}");
                    tokio::time::sleep(wait).await;
                }
                _ => return Err(error),
            }
        }
    }

    /// The context of step `index`: its dependencies' tokens, resolved concurrently,
    /// and the engine's base URL and client.
    async fn context_for(self: &Arc<Self>, index: usize) -> Result<Context> {
        let dependencies = &self.graph.dependencies[index];
        let tokens = try_join_all(dependencies.iter().map(|&dependency| {
            let slot = &self.steps[dependency].slot;
            match slot.fresh(Instant::now()) {
                Some(token) => futures_util::future::ready(Ok(token)).boxed(),
                None => Inner::resolve(self, dependency),
            }
        }))
        .await?;
        let mut context = Context::new()
            .with_client(self.client.clone())
            .resolved_by_engine();
        if let Some(base_url) = &self.base_url {
            context = context.with_base_url(base_url.clone());
        }
        for (&dependency, token) in dependencies.iter().zip(tokens) {
            context.insert(self.steps[dependency].name.clone(), token);
        }
        Ok(context)
    }

    /// The cache entry for a fetched token: it expires at the sooner of the step's
    /// ttl and the token's own expiry, and is renewed ahead of that.
    fn entry_for(&self, step: &Step, token: TokenData, now: Instant) -> Result<Entry> {
        let lifetime = match (step.fetcher.ttl(), token.expires_in()) {
            (Some(ttl), Some(own)) => ttl.min(own),
            (Some(ttl), None) => ttl,
            (None, Some(own)) => own,
            (None, None) => self.refresh.default_lifetime_value(),
        };
        if lifetime.is_zero() {
            return Err(Error::bad_response(
                "the server returned a token that has already expired",
            )
            .with_step(&step.name));
        }
        let refresh_after = self
            .refresh
            .refresh_after(lifetime, self.refresh.draw_jitter());
        Ok(Entry {
            token: Arc::new(token),
            refresh_at: now + refresh_after,
            expires_at: now + lifetime,
        })
    }

    /// Renews step `index` at `refresh_at` with no caller waiting, unless the token
    /// was replaced meanwhile or the engine is gone.
    fn schedule_background_refresh(self: &Arc<Self>, index: usize, refresh_at: Instant) {
        let engine: Weak<Inner> = Arc::downgrade(self);
        tokio::spawn(async move {
            tokio::time::sleep_until(refresh_at).await;
            let Some(inner) = engine.upgrade() else {
                return;
            };
            let current = inner.steps[index].slot.entry();
            if current.is_some_and(|entry| entry.refresh_at == refresh_at) {
                let _ = Inner::resolve(&inner, index).await;
            }
        });
    }
}

/// The error of a step whose single-use grant was exchanged already and cannot be
/// renewed by refresh.
fn spent_grant(step: &str) -> Error {
    Error::new(
        ErrorKind::Refused,
        "the step's single-use grant (an authorization code or a device code) was exchanged already, and its token cannot be renewed with a refresh token; start the authorization again with a new code",
    )
    .with_step(step)
}

/// The store keys of the steps: each step's own identity, the engine's base URL,
/// and each dependency's name and key (in name order), so that a change anywhere
/// upstream of a step changes its key. `None` for a step that cannot be shared,
/// and for every step depending on one.
fn store_keys(
    fetchers: &[&dyn TokenFetcher],
    graph: &Graph,
    base_url: Option<&Url>,
) -> Vec<Option<StoreKey>> {
    fn visit(
        index: usize,
        fetchers: &[&dyn TokenFetcher],
        graph: &Graph,
        base_url: Option<&Url>,
        keys: &mut Vec<Option<Option<StoreKey>>>,
    ) -> Option<StoreKey> {
        if let Some(key) = &keys[index] {
            return key.clone();
        }
        let fetcher = fetchers[index];
        let mut identity = StepIdentity::new();
        if let Some(base_url) = base_url {
            identity.field("engine_base_url", base_url.as_str());
        }
        fetcher.identify(&mut identity);
        let mut dependencies = graph.dependencies[index].clone();
        dependencies.sort_by_key(|&dependency| fetchers[dependency].name());
        for dependency in dependencies {
            match visit(dependency, fetchers, graph, base_url, keys) {
                Some(key) => {
                    identity
                        .field("dependency", fetchers[dependency].name())
                        .field("dependency_key", key.as_str());
                }
                None => {
                    identity.not_shareable();
                }
            }
        }
        let key = identity
            .is_shareable()
            .then(|| StoreKey::new(fetcher.name(), identity));
        keys[index] = Some(key.clone());
        key
    }
    let mut keys = vec![None; fetchers.len()];
    (0..fetchers.len())
        .map(|index| visit(index, fetchers, graph, base_url, &mut keys))
        .collect()
}

/// Builds an [`Engine`]; [`build`](EngineBuilder::build) checks the whole graph.
#[must_use = "a builder does nothing until `build()` is called"]
#[derive(Default)]
pub struct EngineBuilder {
    steps: Vec<(Box<dyn TokenFetcher>, TypeId)>,
    base_url: Option<String>,
    client: Option<reqwest::Client>,
    refresh: RefreshPolicy,
    retry: RetryPolicy,
    store: Option<Box<dyn TokenStore>>,
    lease: Option<Duration>,
}

impl EngineBuilder {
    /// Adds a step: a derived struct, a builder-made fetcher or a hand-written one.
    pub fn step<F: TokenFetcher>(mut self, step: F) -> Self {
        self.steps.push((Box::new(step), TypeId::of::<F>()));
        self
    }

    /// The base URL for steps that have only a relative endpoint and no base URL of
    /// their own.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// The HTTP client for steps that have none of their own. Build it with
    /// `redirect(reqwest::redirect::Policy::none())`. Default: a client of the
    /// engine's own that follows no redirects.
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// When tokens are renewed.
    pub fn refresh_policy(mut self, policy: RefreshPolicy) -> Self {
        self.refresh = policy;
        self
    }

    /// How failed fetches are retried.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Keeps tokens in `store` too: a [`FileStore`](crate::FileStore) to survive
    /// restarts, a shared store for a fleet of processes. Without one, tokens live
    /// in the engine's memory only.
    pub fn store(mut self, store: impl TokenStore) -> Self {
        self.store = Some(Box::new(store));
        self
    }

    /// How long the fetch lock of a shared store lasts unless renewed (default
    /// 10 s). The process that holds it renews it every third of this while its
    /// fetch runs, however long the fetch takes; if that process dies, the others
    /// wait at most this long before one of them fetches.
    pub fn store_lease(mut self, lease: Duration) -> Self {
        self.lease = Some(lease);
        self
    }

    /// Checks the graph (unique names, every dependency registered, no step
    /// depending on itself, no cycle), the base URL and each step's settings
    /// against it ([`TokenFetcher::validate`]), and builds the engine. A graph
    /// error is a [`Config`](ErrorKind::Config) error whose
    /// [`graph_error`](Error::graph_error) says which.
    pub fn build(self) -> Result<Engine> {
        let shape: Vec<(&str, Vec<&str>)> = self
            .steps
            .iter()
            .map(|(step, _)| (step.name(), step.depends_on()))
            .collect();
        let graph = Graph::new(&shape).map_err(|error| {
            let hint = match &error {
                GraphError::MissingDependency { dependency, .. } => {
                    did_you_mean(dependency, shape.iter().map(|(name, _)| *name))
                }
                _ => String::new(),
            };
            Error::config(format!("{error}{hint}")).with_source(error)
        })?;
        drop(shape);
        let base_url = self.base_url.as_deref().map(parse_base_url).transpose()?;
        for (fetcher, _) in &self.steps {
            fetcher
                .validate(base_url.as_ref())
                .map_err(|error| error.with_step(fetcher.name()))?;
        }
        let lease = self.lease.unwrap_or(DEFAULT_LEASE);
        if lease < Duration::from_millis(30) {
            return Err(Error::config(format!(
                "the store lease of {lease:?} is too short to be renewed in time; give at least 30 ms"
            )));
        }
        let client = match self.client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|error| {
                    Error::config("cannot build the HTTP client").with_source(error)
                })?,
        };
        let fetchers: Vec<&dyn TokenFetcher> = self.steps.iter().map(|(f, _)| &**f).collect();
        let keys = store_keys(&fetchers, &graph, base_url.as_ref());
        let steps = self
            .steps
            .into_iter()
            .zip(keys)
            .map(|((fetcher, type_id), key)| Step {
                name: fetcher.name().to_owned(),
                key,
                fetcher,
                type_id,
                slot: Slot::default(),
            })
            .collect();
        Ok(Engine {
            inner: Arc::new(Inner {
                id: ENGINES.fetch_add(1, Ordering::Relaxed),
                steps,
                graph,
                base_url,
                client,
                refresh: self.refresh,
                retry: self.retry,
                store: self.store,
                lease,
            }),
        })
    }
}

impl fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineBuilder")
            .field(
                "steps",
                &self.steps.iter().map(|(s, _)| s.name()).collect::<Vec<_>>(),
            )
            .field("refresh", &self.refresh)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}
