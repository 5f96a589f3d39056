//! The fetch stage: one step's request with its retries (exponential backoff with
//! full jitter, `Retry-After`), the refresh grant where the cached token allows
//! it, never a replayed single-use grant, and one renewal of the dependencies when
//! the step is refused with 401; then the cache entry of the token, renewed ahead
//! of its expiry.

use std::sync::Arc;

use futures_util::FutureExt;
use tokio::time::Instant;

use super::report::TokenOrigin;
use super::slot::Entry;
use super::{Inner, Step};
use crate::model::{Error, ErrorKind, Result, TokenData};
use crate::step::Context;

impl Inner {
    /// Fetches step `index`'s token into a cache entry, with the dependencies'
    /// tokens in `context`: the request with retries, the refresh grant where the
    /// cached token allows it, and one renewal of the dependencies if the step is
    /// refused with 401.
    pub(super) async fn fetch(
        self: &Arc<Self>,
        index: usize,
        context: Context,
        previous: Option<&TokenData>,
        deadline: Instant,
    ) -> Result<Entry> {
        let step = &self.steps[index];
        let requested_at = Instant::now();
        let repeatable = step.fetcher.repeatable();
        // The slot's state matters only to a single-use grant, or to a refresh.
        let (spent, refused) =
            if repeatable && previous.is_none_or(|token| token.refresh_token().is_none()) {
                (false, None)
            } else {
                let state = step.slot.state();
                let spent = !repeatable && (previous.is_some() || state.fetched_once);
                (spent, state.refused_refresh.clone())
            };
        let mut tries = Tries {
            context,
            refresh_from: previous.filter(|token| {
                token
                    .refresh_token()
                    .is_some_and(|refresh| Some(refresh) != refused.as_ref())
            }),
            spent,
            dependencies_renewed: false,
            attempt: 0,
        };
        loop {
            tries.attempt += 1;
            tracing::Span::current().record("attempt", tries.attempt);
            let (origin, result) = match tries
                .refresh_from
                .and_then(|token| step.fetcher.refresh(token, &tries.context))
            {
                Some(refresh) => (TokenOrigin::Refresh, refresh.await),
                None if tries.spent => return Err(spent_grant(&step.name)),
                None => (
                    TokenOrigin::Network,
                    step.fetcher.fetch(&tries.context).await,
                ),
            };
            match result {
                Ok(token) => {
                    if !repeatable {
                        step.slot.state().fetched_once = true;
                    }
                    return self
                        .entry_for(step, token, Instant::now())
                        .map(|entry| entry.with_origin(origin, tries.attempt, Some(requested_at)));
                }
                // Boxed: the way out of a failure is the rare path, and its
                // state and code stay out of the way of a request that succeeds.
                Err(error) => {
                    self.after_failure(index, &mut tries, error, deadline)
                        .boxed()
                        .await?;
                }
            }
        }
    }

    /// What follows a failed request: the full request after a refused refresh,
    /// one renewal of the dependencies after a 401, a retry after a delay, or the
    /// error (`Err`) to give up with.
    async fn after_failure(
        self: &Arc<Self>,
        index: usize,
        tries: &mut Tries<'_>,
        error: Error,
        deadline: Instant,
    ) -> Result<()> {
        let step = &self.steps[index];
        let error = error.with_step(&step.name);
        if let Some(status) = error.status() {
            tracing::Span::current().record("status", status.as_u16());
        }
        step.fetcher.on_fetch_error(&error, &tries.context);
        if let Some(token) = tries.refresh_from
            && error.is_refused()
        {
            step.slot.state().refused_refresh = token.refresh_token().cloned();
            if tries.spent {
                // The original grant was single-use: replaying it cannot work
                // and may revoke what it gave.
                return Err(error);
            }
            // The refresh token was refused: fall back to the full request.
            tries.refresh_from = None;
            tries.attempt -= 1;
            return Ok(());
        }
        let dependencies = &self.graph.dependencies[index];
        if error.status() == Some(reqwest::StatusCode::UNAUTHORIZED)
            && !dependencies.is_empty()
            && !tries.dependencies_renewed
        {
            tries.dependencies_renewed = true;
            // Only the tokens this request used, if they are still cached: when
            // many steps are refused at once, each dependency is renewed once.
            for &dependency in dependencies {
                if let Some(used) = tries.context.shared(&self.steps[dependency].name) {
                    self.invalidate(dependency, Some(used));
                }
            }
            tries.context = self.context_for(index).await?;
            tries.attempt -= 1;
            return Ok(());
        }
        match self.retry.delay(tries.attempt, &error) {
            Some(wait) if Instant::now() + wait < deadline => {
                tracing::debug!(step = %step.name, attempt = tries.attempt, ?wait, "retrying: {error}");
                tokio::time::sleep(wait).await;
                Ok(())
            }
            _ => Err(error),
        }
    }

    /// The cache entry for a fetched token: it expires at the sooner of the step's
    /// ttl and the token's own expiry, and is renewed ahead of that.
    pub(super) fn entry_for(&self, step: &Step, token: TokenData, now: Instant) -> Result<Entry> {
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
        Ok(Entry::new(
            Arc::new(token),
            now + refresh_after,
            now + lifetime,
        ))
    }
}

/// Where a step's requests stand: the context they are sent with, the cached
/// token a refresh starts from, whether the original grant is spent, whether the
/// dependencies were renewed after a 401, and the attempt.
struct Tries<'a> {
    context: Context,
    refresh_from: Option<&'a TokenData>,
    spent: bool,
    dependencies_renewed: bool,
    attempt: u32,
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
