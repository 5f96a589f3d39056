//! The step traits: [`TokenFetcher`], what every step is, and [`TokenStep`], what a step type known at compile
//! time adds; plus the [`Context`] a step is fetched with.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::error::{Error, Result};
use crate::store::StepIdentity;
use crate::token::TokenData;

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

/// The tokens of finished steps, by step name, and the defaults a step falls back on
/// (the engine's base URL and HTTP client).
///
/// ```
/// use tokenfetch::{Context, TokenData};
///
/// let context = Context::new().with_token("app_token", TokenData::new("abc"));
/// assert_eq!(context.get("app_token").unwrap().access_token().expose(), "abc");
/// assert!(context.get("device_token").is_none());
/// ```
#[derive(Clone, Default)]
pub struct Context {
    tokens: HashMap<String, Arc<TokenData>>,
    base_url: Option<Url>,
    client: Option<reqwest::Client>,
    resolved_by_engine: bool,
}

impl Context {
    /// An empty context: no tokens, no defaults.
    pub fn new() -> Self {
        Context::default()
    }

    /// Adds the token of step `step`.
    pub fn with_token(mut self, step: impl Into<String>, token: impl Into<Arc<TokenData>>) -> Self {
        self.insert(step, token);
        self
    }

    /// Adds or replaces the token of step `step`.
    pub fn insert(&mut self, step: impl Into<String>, token: impl Into<Arc<TokenData>>) {
        self.tokens.insert(step.into(), token.into());
    }

    /// Sets the base URL for steps that were given only a relative endpoint.
    pub fn with_base_url(mut self, base_url: Url) -> Self {
        self.base_url = Some(base_url);
        self
    }

    /// Sets the HTTP client for steps that were not given one.
    pub fn with_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The token of step `step`, if it is in the context.
    pub fn get(&self, step: &str) -> Option<&TokenData> {
        self.tokens.get(step).map(Arc::as_ref)
    }

    /// The token of the step type `S`.
    pub fn token<S: TokenStep>(&self) -> Option<&TokenData> {
        self.get(S::NAME)
    }

    /// The token of step `step`, or a configuration error saying why it is
    /// missing: the engine resolved the step's dependencies and `step` is not
    /// among them, or the context was built by hand without it.
    pub fn require(&self, step: &str) -> Result<&TokenData> {
        self.get(step).ok_or_else(|| {
            let known: Vec<&str> = self.step_names().collect();
            let hint = crate::suggest::did_you_mean(step, known.iter().copied());
            Error::config(if self.resolved_by_engine {
                format!(
                    "the token of step `{step}` is not in the context: the engine puts there the tokens of the steps in `depends_on`; list `{step}` there{hint}"
                )
            } else {
                format!(
                    "the token of step `{step}` is not in the context: fetch through an `Engine`, which resolves `depends_on` first, or add the token with `Context::with_token(\"{step}\", ..)`{hint}"
                )
            })
        })
    }

    /// The shared token of step `step`, as the engine cached it.
    pub(crate) fn shared(&self, step: &str) -> Option<&Arc<TokenData>> {
        self.tokens.get(step)
    }

    /// Marks the context as made by the engine from the step's `depends_on`.
    pub(crate) fn resolved_by_engine(mut self) -> Self {
        self.resolved_by_engine = true;
        self
    }

    /// The names of the steps whose tokens the context holds.
    pub fn step_names(&self) -> impl Iterator<Item = &str> {
        self.tokens.keys().map(String::as_str)
    }

    /// The base URL for relative endpoints, if one was set.
    pub fn base_url(&self) -> Option<&Url> {
        self.base_url.as_ref()
    }

    /// The HTTP client for steps without one, if one was set.
    pub fn client(&self) -> Option<&reqwest::Client> {
        self.client.as_ref()
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("tokens", &self.tokens)
            .field(
                "base_url",
                &self.base_url.as_ref().map(crate::http::redacted_url),
            )
            .finish_non_exhaustive()
    }
}
