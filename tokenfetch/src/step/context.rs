//! [`Context`]: what a step is fetched with: the tokens of its dependencies, the
//! defaults it falls back on (the engine's base URL and HTTP client), and what the
//! steps of one engine share (an issuer's discovery document).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use url::Url;

use super::TokenStep;
use crate::model::{Error, Result, TokenData, did_you_mean, redacted_url};

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
    /// Shared: every context an engine makes has its base URL.
    base_url: Option<Arc<Url>>,
    client: Option<reqwest::Client>,
    resolved_by_engine: bool,
    shared: Option<Arc<SharedCells>>,
}

/// Values the steps of one engine share, one per type and key: made on first use,
/// kept for the engine's life.
#[derive(Default)]
pub(crate) struct SharedCells {
    cells: Mutex<HashMap<(TypeId, String), Arc<dyn Any + Send + Sync>>>,
}

impl SharedCells {
    /// The value of type `T` under `key`, made by `T::default()` on first use.
    fn get<T: Default + Send + Sync + 'static>(&self, key: &str) -> Arc<T> {
        let mut cells = self.cells.lock().unwrap_or_else(PoisonError::into_inner);
        let cell = cells
            .entry((TypeId::of::<T>(), key.to_owned()))
            .or_insert_with(|| Arc::new(T::default()));
        Arc::clone(cell)
            .downcast()
            .expect("a cell is stored under its own type")
    }
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
        self.base_url = Some(Arc::new(base_url));
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
            let hint = did_you_mean(step, known.iter().copied());
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

    /// Shares `cells` among every context made with them: what an engine does for
    /// its steps.
    pub(crate) fn with_shared(mut self, cells: Arc<SharedCells>) -> Self {
        self.shared = Some(cells);
        self
    }

    /// The value of type `T` under `key` that the steps of this context's engine
    /// share; `None` outside an engine.
    pub(crate) fn shared_cell<T: Default + Send + Sync + 'static>(
        &self,
        key: &str,
    ) -> Option<Arc<T>> {
        self.shared.as_ref().map(|cells| cells.get(key))
    }

    /// The names of the steps whose tokens the context holds.
    pub fn step_names(&self) -> impl Iterator<Item = &str> {
        self.tokens.keys().map(String::as_str)
    }

    /// The base URL for relative endpoints, if one was set.
    pub fn base_url(&self) -> Option<&Url> {
        self.base_url.as_deref()
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
            .field("base_url", &self.base_url.as_deref().map(redacted_url))
            .finish_non_exhaustive()
    }
}
