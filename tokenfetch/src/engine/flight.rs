//! The shared in-flight fetch: a step on the slow path ([`TokenFuture`], when
//! first polled) is resolved by joining the fetch in flight, or by answering from
//! the last failure during its cool-down, or by starting a load that every
//! caller shares ([`SharedFetch`]). Callers drive the load in their own tasks
//! (no task is spawned while one waits); when the last caller gives up before
//! it is done, a task of its own finishes it, so a caller that gives up cancels
//! nothing; where no task can (its runtime shut down), the load is dropped and
//! the next caller starts a new one. The load bounds the whole work by the load
//! timeout, caches the result, remembers a failure and falls back to a
//! still-valid token; its dependencies are resolved the same way, concurrently.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use futures_util::future::try_join_all;
use tokio::time::Instant;
use tracing::Instrument;

use super::Inner;
use super::report::TokenOrigin;
use super::shared_fetch::{Joined, SharedFetch};
use super::slot::Slot;
use crate::model::{Error, ErrorKind, Result, TokenData};
use crate::step::Context;

/// What [`Engine::token`](super::Engine::token),
/// [`Engine::token_by_name`](super::Engine::token_by_name) and
/// [`Engine::get`](super::Engine::get) return: ready at once with a cached token
/// (then it allocates nothing), else a wait on the step's one shared fetch,
/// joined when it is first polled. It borrows nothing, and is `Send` and
/// `'static`: it can be spawned.
///
/// ```
/// use tokenfetch::{Engine, TokenFetcher};
/// # use tokenfetch::{BoxFuture, Context, Result, TokenData};
/// # struct Local;
/// # impl TokenFetcher for Local {
/// #     fn name(&self) -> &str { "local" }
/// #     fn fetch<'a>(&'a self, _: &'a Context) -> BoxFuture<'a, Result<TokenData>> {
/// #         Box::pin(async { Ok(TokenData::new("t")) })
/// #     }
/// # }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> tokenfetch::Result<()> {
/// let engine = Engine::builder().step(Local).build()?;
/// // Fetched in a task of its own while this one goes on.
/// let fetching = tokio::spawn(engine.token_by_name("local"));
/// let token = fetching.await.expect("the task ran")?;
/// assert_eq!(token.access_token().expose(), "t");
/// # Ok(()) }
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct TokenFuture(Flight);

enum Flight {
    /// The answer, taken when polled.
    Ready(Option<Result<Arc<TokenData>>>),
    /// The slow path of step `index`, not yet polled.
    Resolve(Arc<Inner>, usize),
    /// A wait on step `index`'s shared fetch.
    Joined(Joined, Arc<Inner>, usize),
}

impl TokenFuture {
    /// A future ready with `answer`.
    #[inline]
    pub(super) fn ready(answer: Result<Arc<TokenData>>) -> Self {
        TokenFuture(Flight::Ready(Some(answer)))
    }

    /// The slow path of step `index`: [`Inner::resolve`] when first polled.
    pub(super) fn resolve(inner: &Arc<Inner>, index: usize) -> Self {
        TokenFuture(Flight::Resolve(Arc::clone(inner), index))
    }
}

impl Future for TokenFuture {
    type Output = Result<Arc<TokenData>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let flight = &mut self.0;
        if let Flight::Resolve(inner, index) = flight {
            *flight = Inner::resolve(inner, *index);
        }
        match flight {
            Flight::Ready(answer) => Poll::Ready(
                answer
                    .take()
                    .expect("TokenFuture polled after it completed"),
            ),
            Flight::Joined(joined, inner, index) => {
                let answer = std::task::ready!(Pin::new(joined).poll(cx))
                    // A panic in the load is named after the step here.
                    .map_err(|error| error.with_step(&inner.steps[*index].name));
                // The engine and the shared fetch are let go at once.
                *flight = Flight::Ready(None);
                Poll::Ready(answer)
            }
            Flight::Resolve(..) => unreachable!("resolved above"),
        }
    }
}

impl fmt::Debug for TokenFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.0 {
            Flight::Ready(Some(_)) => "ready",
            Flight::Ready(None) => "done",
            Flight::Resolve(..) | Flight::Joined(..) => "fetching",
        };
        f.debug_tuple("TokenFuture").field(&state).finish()
    }
}

/// Ends a slot's load number `load` if the load ends without finishing (it
/// panicked, or it was dropped unfinished); a load that finishes ends with its
/// result, under the same lock, and disarms this.
struct InflightGuard<'a> {
    slot: Option<&'a Slot>,
    load: u64,
}

impl Drop for InflightGuard<'_> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            slot.state().ended(self.load);
        }
    }
}

impl Inner {
    /// Resolves step `index` on the slow path: joins the fetch in flight, or answers
    /// from the last failure during its cool-down, or starts a fetch.
    fn resolve(inner: &Arc<Inner>, index: usize) -> Flight {
        let slot = &inner.steps[index].slot;
        let now = Instant::now();
        let mut state = slot.state();
        if let Some(token) = slot.fresh_at(now) {
            inner.record(index, now, Ok((TokenOrigin::Memory, 0, None)));
            return Flight::Ready(Some(Ok(token)));
        }
        // A load that is over but has not ended yet (dropped unfinished, its
        // end still to run) is not joined: a new one starts.
        let joined = match state.inflight.as_ref().and_then(SharedFetch::try_join) {
            Some(joined) => joined,
            None => {
                if let Some((failed_at, error)) = &state.failure
                    && now < *failed_at + inner.refresh.failure_cooldown_value()
                {
                    let answer = slot.valid(now).ok_or_else(|| error.clone());
                    let origin = answer.as_ref().map(|_| (TokenOrigin::Memory, 0, None));
                    inner.record(index, now, origin);
                    return Flight::Ready(Some(answer));
                }
                state.loads += 1;
                let load = Inner::load(Arc::clone(inner), index, now, state.loads);
                let fetch = SharedFetch::new(Box::pin(load));
                let joined = fetch.try_join().expect("a new load is running");
                state.inflight = Some(fetch);
                joined
            }
        };
        Flight::Joined(joined, Arc::clone(inner), index)
    }

    /// Load number `number` of step `index`: obtain a token, cache it, remember
    /// a failure, fall back to a still-valid token.
    pub(super) async fn load(
        self: Arc<Self>,
        index: usize,
        started: Instant,
        number: u64,
    ) -> Result<Arc<TokenData>> {
        let step = &self.steps[index];
        let mut inflight = InflightGuard {
            slot: Some(&step.slot),
            load: number,
        };
        let previous = step.slot.entry().map(|entry| Arc::clone(&entry.token));
        let span = tracing::info_span!(
            "tokenfetch.fetch",
            step = %step.name,
            cache = if previous.is_some() { "refresh" } else { "miss" },
            attempt = tracing::field::Empty,
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        let load_timeout = step.load_timeout;
        let deadline = started + load_timeout;
        let result = tokio::time::timeout_at(
            deadline,
            self.coordinate(index, previous, deadline)
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
        self.record(
            index,
            started,
            result
                .as_ref()
                .map(|entry| (entry.origin, entry.attempts, entry.requested_at)),
        );
        step.metrics.loaded(
            now - started,
            result
                .as_ref()
                .map(|entry| entry.expires_at.saturating_duration_since(now)),
        );
        let mut state = step.slot.state();
        state.ended(number);
        inflight.slot = None;
        match result {
            Ok(entry) => {
                let token = Arc::clone(&entry.token);
                let entry = step.slot.store(entry);
                self.arm(index, &entry);
                state.failure = None;
                state.invalidated = None;
                Ok(token)
            }
            Err(error) => {
                state.failure = Some((now, error.clone()));
                drop(state);
                self.failed(index, error, now, &span)
            }
        }
    }

    /// A failed load's answer: the cached token while it is still valid, else
    /// the error. Out of line, as the rare path.
    #[cold]
    #[inline(never)]
    fn failed(
        &self,
        index: usize,
        error: Error,
        now: Instant,
        span: &tracing::Span,
    ) -> Result<Arc<TokenData>> {
        let step = &self.steps[index];
        match step.slot.valid(now) {
            Some(token) => {
                step.metrics.stale();
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

    /// The context of step `index`: its dependencies' tokens, resolved concurrently,
    /// and the engine's base URL and client.
    pub(super) async fn context_for(self: &Arc<Self>, index: usize) -> Result<Context> {
        let dependencies = &self.graph.dependencies[index];
        let mut context = self.context.clone();
        if dependencies.is_empty() {
            return Ok(context);
        }
        let tokens = try_join_all(dependencies.iter().map(|&dependency| {
            let slot = &self.steps[dependency].slot;
            match slot.fresh() {
                Some(token) => {
                    self.record(
                        dependency,
                        Instant::now(),
                        Ok((TokenOrigin::Memory, 0, None)),
                    );
                    TokenFuture::ready(Ok(token))
                }
                None => TokenFuture::resolve(self, dependency),
            }
        }))
        .await?;
        for (&dependency, token) in dependencies.iter().zip(tokens) {
            context.insert(self.steps[dependency].name.clone(), token);
        }
        Ok(context)
    }
}
