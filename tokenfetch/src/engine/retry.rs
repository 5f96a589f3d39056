//! The fetch stage: one step's request with its retries (exponential backoff with
//! full jitter, `Retry-After`), the refresh grant where the cached token allows
//! it, never a replayed single-use grant, and one renewal of the dependencies when
//! the step is refused with 401; then the cache entry of the token, renewed ahead
//! of its expiry.

use std::sync::Arc;

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
        mut context: Context,
        previous: Option<&TokenData>,
        deadline: Instant,
    ) -> Result<Entry> {
        let step = &self.steps[index];
        let requested_at = Instant::now();
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
            let (origin, result) =
                match refresh_from.and_then(|token| step.fetcher.refresh(token, &context)) {
                    Some(refresh) => (TokenOrigin::Refresh, refresh.await),
                    None if spent => return Err(spent_grant(&step.name)),
                    None => (TokenOrigin::Network, step.fetcher.fetch(&context).await),
                };
            let error = match result {
                Ok(token) => {
                    if !repeatable {
                        step.slot.state().fetched_once = true;
                    }
                    return self
                        .entry_for(step, token, Instant::now())
                        .map(|entry| entry.with_origin(origin, attempt, Some(requested_at)));
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

/// The error of a step whose single-use grant was exchanged already and cannot be
/// renewed by refresh.
fn spent_grant(step: &str) -> Error {
    Error::new(
        ErrorKind::Refused,
        "the step's single-use grant (an authorization code or a device code) was exchanged already, and its token cannot be renewed with a refresh token; start the authorization again with a new code",
    )
    .with_step(step)
}
