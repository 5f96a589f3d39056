//! A blocking facade for callers without an async runtime (feature `blocking`): the
//! same engine and fetchers, driven on a runtime of tokenfetch's own.
//!
//! Safe to call from any number of plain threads. Called from inside an async
//! runtime, where blocking would stall a worker thread or deadlock, every call
//! returns a [`Config`](crate::ErrorKind::Config) error instead.
//!
//! ```no_run
//! use tokenfetch::BodyTokenFetcher;
//!
//! let engine = tokenfetch::blocking::Engine::new(
//!     tokenfetch::Engine::builder()
//!         .base_url("https://auth.example.com")
//!         .step(
//!             BodyTokenFetcher::builder("oauth_token")
//!                 .endpoint("/oauth/token")
//!                 .data("grant_type", "client_credentials")
//!                 .build()?,
//!         ),
//! )?;
//! let token = engine.token_by_name("oauth_token")?;
//! # Ok::<_, tokenfetch::Error>(())
//! ```

use std::future::Future;
use std::sync::{Arc, OnceLock};

use crate::engine::{EngineBuilder, StepHandle};
use crate::model::{Error, ErrorKind, Result, TokenData};
use crate::step::{Context, TokenFetcher, TokenStep};

/// The runtime every blocking call runs on: one worker thread, made on first use.
fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> =
        OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("tokenfetch-blocking")
                .enable_all()
                .build()
                .map_err(|error| error.to_string())
        })
        .as_ref()
        .map_err(|error| {
            Error::new(
                ErrorKind::Internal,
                format!("cannot start the blocking runtime: {error}"),
            )
        })
}

/// Runs `future` to completion on the blocking runtime, unless called from inside
/// an async runtime.
fn block_on<T>(future: impl Future<Output = Result<T>>) -> Result<T> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::config(
            "a blocking tokenfetch call was made from inside an async runtime, where it would block a worker thread; use the async API with `.await` there",
        ));
    }
    runtime()?.block_on(future)
}

/// Fetches one step's token, blocking: `let token = fetch(&fetcher)?`.
///
/// ```no_run
/// use tokenfetch::{BodyTokenFetcher, Context};
///
/// let fetcher = BodyTokenFetcher::builder("token")
///     .base_url("https://auth.example.com")
///     .endpoint("/oauth/token")
///     .build()?;
/// let token = tokenfetch::blocking::fetch(&fetcher, &Context::new())?;
/// # Ok::<_, tokenfetch::Error>(())
/// ```
pub fn fetch(fetcher: &dyn TokenFetcher, context: &Context) -> Result<TokenData> {
    block_on(fetcher.fetch(context))
}

/// An [`Engine`](crate::engine::Engine) for blocking callers. Cheap to clone; clones share
/// the cache.
#[derive(Debug, Clone)]
pub struct Engine {
    engine: crate::engine::Engine,
}

impl Engine {
    /// Builds the engine (see [`EngineBuilder::build`]) for blocking use.
    pub fn new(builder: EngineBuilder) -> Result<Self> {
        Ok(Engine {
            engine: builder.build()?,
        })
    }

    /// The token of step type `S`.
    pub fn token<S: TokenStep>(&self) -> Result<Arc<TokenData>> {
        block_on(self.engine.token::<S>())
    }

    /// The token of the step named `name`.
    pub fn token_by_name(&self, name: &str) -> Result<Arc<TokenData>> {
        block_on(self.engine.token_by_name(name))
    }

    /// The token of the step behind `handle`.
    pub fn get(&self, handle: StepHandle) -> Result<Arc<TokenData>> {
        block_on(self.engine.get(handle))
    }

    /// Drops the cached token of step `name`; see [`crate::engine::Engine::invalidate`].
    pub fn invalidate(&self, name: &str) -> bool {
        self.engine.invalidate(name)
    }

    /// The async engine underneath, sharing this one's cache.
    pub fn as_async(&self) -> &crate::engine::Engine {
        &self.engine
    }
}

impl From<crate::engine::Engine> for Engine {
    fn from(engine: crate::engine::Engine) -> Self {
        Engine { engine }
    }
}
