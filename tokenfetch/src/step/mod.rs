//! The step, above the token model: [`TokenFetcher`], what every step is,
//! [`TokenStep`], what a step type known at compile time adds, the [`Context`] a
//! step is fetched with, and the step's [`StepIdentity`]; plus the rules a step's
//! own dependency list must follow. It knows no HTTP, fetcher, store or engine.

mod context;
mod identity;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use url::Url;

use crate::model::{Error, GraphError, Result, TokenData};

pub use self::context::Context;
pub use self::identity::StepIdentity;

/// A boxed, `Send` future: what [`TokenFetcher::fetch`] returns, so that steps of
/// different types live together behind `dyn TokenFetcher`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One step of a token pipeline: something that fetches a token, possibly from the
/// tokens of the steps it depends on.
///
/// [`BodyTokenFetcher`](crate::BodyTokenFetcher) and
/// [`HeaderTokenFetcher`](crate::HeaderTokenFetcher) implement it, and so does every
/// `#[derive(TokenStep)]` struct. Implement it by hand for a fully custom step:
///
/// ```
/// use std::time::Duration;
/// use tokenfetch::{BoxFuture, Context, Result, TokenData, TokenFetcher};
///
/// struct Static;
///
/// impl TokenFetcher for Static {
///     fn name(&self) -> &str {
///         "static_token"
///     }
///
///     fn ttl(&self) -> Option<Duration> {
///         Some(Duration::from_secs(3600))
///     }
///
///     fn fetch<'a>(&'a self, _context: &'a Context) -> BoxFuture<'a, Result<TokenData>> {
///         Box::pin(async { Ok(TokenData::new("fixed").with_token_type("Custom")) })
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let token = Static.fetch(&Context::new()).await?;
/// assert_eq!(token.token_type(), "Custom");
/// # Ok::<_, tokenfetch::Error>(()) }).unwrap();
/// ```
pub trait TokenFetcher: Send + Sync + 'static {
    /// The step's unique name; other steps name it in their `depends_on`.
    fn name(&self) -> &str;

    /// The names of the steps whose tokens this step needs. Default: none.
    fn depends_on(&self) -> Vec<&str> {
        Vec::new()
    }

    /// How long a fetched token may be cached. `None` (the default) uses the token's
    /// own `expires_at`; where both are known the sooner wins.
    fn ttl(&self) -> Option<Duration> {
        None
    }

    /// Adds to `identity` everything that makes this step's token what it is, so
    /// that a [`TokenStore`](crate::TokenStore) keeps distinct steps apart and two
    /// configurations (say, two client ids) never share an entry. Secret parts are
    /// fine: only a digest is kept. The engine adds the keys of the dependencies
    /// itself.
    ///
    /// The default cannot know what a hand-written step sends, so it calls
    /// [`StepIdentity::not_shareable`]: the step's tokens stay in the engine's
    /// memory and are never shared through a store. Override it to share them:
    ///
    /// ```
    /// # use tokenfetch::{BoxFuture, Context, Result, StepIdentity, TokenData, TokenFetcher};
    /// struct Licence { key_id: String }
    ///
    /// impl TokenFetcher for Licence {
    ///     fn name(&self) -> &str { "licence" }
    ///     fn identify(&self, identity: &mut StepIdentity) {
    ///         identity.field("step", self.name()).field("key_id", &self.key_id);
    ///     }
    ///     fn fetch<'a>(&'a self, _: &'a Context) -> BoxFuture<'a, Result<TokenData>> {
    ///         Box::pin(async move { Ok(TokenData::new(format!("licence-{}", self.key_id))) })
    ///     }
    /// }
    /// ```
    fn identify(&self, identity: &mut StepIdentity) {
        identity.not_shareable();
    }

    /// Whether [`fetch`](TokenFetcher::fetch) may be called again once it gave a
    /// token. `false` for a single-use grant (an authorization code, a device
    /// code): the engine then renews the token only through
    /// [`refresh`](TokenFetcher::refresh), and when the refresh is refused it
    /// returns the refusal rather than replay the used code. Default: `true`.
    fn repeatable(&self) -> bool {
        true
    }

    /// The longest one load of this step may take, instead of the engine's
    /// [`RetryPolicy::load_timeout`](crate::RetryPolicy::load_timeout): for a step
    /// that waits for a person, such as the device flow. Default: `None`, the
    /// engine's.
    fn load_timeout(&self) -> Option<Duration> {
        None
    }

    /// The fetcher this step does its work through, built from the step's own
    /// values, if it has one: what `#[derive(TokenStep)]` generates. The engine
    /// builds it once, when it is built (reporting a setting that cannot work as
    /// a build error), and calls it instead of the step, rather than build it on
    /// every fetch. Default: `None`, the step fetches by itself.
    fn prepare(&self) -> Option<Result<Box<dyn TokenFetcher>>> {
        None
    }

    /// Reports a setting that cannot work, before any token is asked for: what
    /// [`EngineBuilder::build`](crate::EngineBuilder::build) calls with the
    /// engine's base URL (say, a relative endpoint with no base URL, or plain
    /// `http://` to a remote host). Default: nothing to check.
    fn validate(&self, base_url: Option<&Url>) -> Result<()> {
        let _ = base_url;
        Ok(())
    }

    /// Fetches a token. `context` holds the tokens of the steps named in
    /// [`depends_on`](TokenFetcher::depends_on).
    fn fetch<'a>(&'a self, context: &'a Context) -> BoxFuture<'a, Result<TokenData>>;

    /// Renews `token` with its refresh token, where the step supports it. `None`
    /// (the default) means the step cannot refresh and is fetched again instead.
    fn refresh<'a>(
        &'a self,
        token: &'a TokenData,
        context: &'a Context,
    ) -> Option<BoxFuture<'a, Result<TokenData>>> {
        let _ = (token, context);
        None
    }

    /// Called when a fetch fails, before the error is returned. The default logs the
    /// error (never a token) at `WARN` through `tracing`.
    fn on_fetch_error(&self, error: &Error, context: &Context) {
        tracing::warn!(
            step = self.name(),
            kind = ?error.kind(),
            status = error.status().map(|status| status.as_u16()),
            dependencies = ?context.step_names().collect::<Vec<_>>(),
            "token fetch failed: {error}"
        );
    }
}

/// A step type known at compile time: what `#[derive(TokenStep)]` implements. It
/// gives the step a name the compiler can check, so that
/// `engine.token::<UserToken>()` and `#[depends_on(AppToken)]` need no string.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a token step",
    label = "not a token step",
    note = "add `#[derive(TokenStep)]` to `{Self}`, or implement `tokenfetch::TokenStep` for it"
)]
pub trait TokenStep: TokenFetcher {
    /// The step's name, the same as [`TokenFetcher::name`].
    const NAME: &'static str;

    /// The names of the steps this step depends on, the same as
    /// [`TokenFetcher::depends_on`]: what
    /// [`#[derive(TokenPipeline)]`](derive@crate::TokenPipeline) checks the
    /// pipeline's graph with at compile time. The derive sets it; a hand-written
    /// step with dependencies should set it too, or the pipeline's graph is checked
    /// only when the engine is built. Default: none.
    const DEPENDS_ON: &'static [&'static str] = &[];
}

/// The rules a step's own list of dependencies follows, wherever it is declared
/// (a builder, an engine's graph): the step does not depend on itself, and names
/// each dependency once.
pub(crate) fn check_dependencies<'a>(
    step: &str,
    depends_on: impl IntoIterator<Item = &'a str>,
) -> std::result::Result<(), GraphError> {
    let mut seen = std::collections::HashSet::new();
    for dependency in depends_on {
        if dependency == step {
            return Err(GraphError::SelfDependency {
                step: step.to_owned(),
            });
        }
        if !seen.insert(dependency) {
            return Err(GraphError::DuplicateDependency {
                step: step.to_owned(),
                dependency: dependency.to_owned(),
            });
        }
    }
    Ok(())
}
