//! The shared in-flight fetch: a step on the slow path is resolved by joining the
//! fetch in flight, or by answering from the last failure during its cool-down,
//! or by starting a load that every caller shares ([`SharedFetch`]). Callers
//! drive the load in their own tasks (no task is spawned while one waits); when
//! the last caller gives up before it is done, a task of its own finishes it, so
//! a caller that gives up cancels nothing. The load bounds the whole work by
//! the load timeout, caches the result, remembers a failure and falls back to a
//! still-valid token; its dependencies are resolved the same way, concurrently.

use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::try_join_all;
use tokio::time::Instant;
use tracing::Instrument;

use super::Inner;
use super::report::TokenOrigin;
use super::shared_fetch::SharedFetch;
use super::slot::Slot;
use crate::model::{Error, ErrorKind, Result, TokenData};
use crate::step::{BoxFuture, Context};

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
    pub(super) fn resolve(
        inner: &Arc<Inner>,
        index: usize,
    ) -> BoxFuture<'static, Result<Arc<TokenData>>> {
        let inner = Arc::clone(inner);
        Box::pin(async move {
            let fetch = {
                let slot = &inner.steps[index].slot;
                let now = Instant::now();
                let mut state = slot.state();
                if let Some(token) = slot.fresh_at(now) {
                    inner.record(index, now, Ok((TokenOrigin::Memory, 0, None)));
                    return Ok(token);
                }
                match &state.inflight {
                    Some(fetch) => fetch.join(),
                    None => {
                        if let Some((failed_at, error)) = &state.failure
                            && now < *failed_at + inner.refresh.failure_cooldown_value()
                        {
                            let answer = slot.valid(now).ok_or_else(|| error.clone());
                            let origin = answer.as_ref().map(|_| (TokenOrigin::Memory, 0, None));
                            inner.record(index, now, origin);
                            return answer;
                        }
                        let fetch =
                            SharedFetch::new(Box::pin(Inner::load(Arc::clone(&inner), index, now)));
                        state.inflight = Some(Arc::clone(&fetch));
                        fetch.join()
                    }
                }
            };
            // A panic in the load is named after the step here.
            fetch
                .await
                .map_err(|error| error.with_step(&inner.steps[index].name))
        })
    }

    /// The fetch task of step `index`: obtain a token, cache it, remember a
    /// failure, fall back to a still-valid token.
    pub(super) async fn load(
        self: Arc<Self>,
        index: usize,
        started: Instant,
    ) -> Result<Arc<TokenData>> {
        let step = &self.steps[index];
        let _inflight = InflightGuard(&step.slot);
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
                    futures_util::future::ready(Ok(token)).boxed()
                }
                None => Inner::resolve(self, dependency),
            }
        }))
        .await?;
        for (&dependency, token) in dependencies.iter().zip(tokens) {
            context.insert(self.steps[dependency].name.clone(), token);
        }
        Ok(context)
    }
}
