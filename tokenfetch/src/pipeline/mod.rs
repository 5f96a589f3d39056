//! Pipelines: a set of step types declared as one struct with
//! [`#[derive(TokenPipeline)]`](derive@crate::TokenPipeline), whose graph is checked
//! at compile time, and the [`PipelineEngine`] that fetches its steps and can be
//! asked only for them.
//!
//! ```
//! use tokenfetch::{Engine, Secret, TokenPipeline, TokenStep};
//!
//! #[derive(TokenStep)]
//! #[endpoint("/device/register")]
//! #[token_header("X-Device-Token")]
//! struct DeviceToken {
//!     #[header("X-Device-ID")]
//!     device_id: String,
//! }
//!
//! #[derive(TokenStep)]
//! #[endpoint("/v1/app/token")]
//! #[token_field("token")]
//! struct AppToken {
//!     client_id: String,
//!     client_secret: Secret,
//! }
//!
//! #[derive(TokenStep)]
//! #[endpoint("/v1/user/token", content_type = "json")]
//! #[token_field("access_token")]
//! #[depends_on(DeviceToken, AppToken)]
//! #[inject_header(from = DeviceToken, header = "X-Device-Token")]
//! #[inject_header(from = AppToken, header = "Authorization", format = "Bearer {token}")]
//! struct UserToken {
//!     username: String,
//!     password: Secret,
//! }
//!
//! /// Every step the service needs; a missing step, a cycle or two steps with
//! /// one name would not compile.
//! #[derive(TokenPipeline)]
//! struct Auth {
//!     device: DeviceToken,
//!     app: AppToken,
//!     user: UserToken,
//! }
//!
//! let auth = Auth {
//!     device: DeviceToken { device_id: "device-123".into() },
//!     app: AppToken { client_id: "app".into(), client_secret: "s3cret".into() },
//!     user: UserToken { username: "u".into(), password: "p".into() },
//! };
//! let engine = auth.into_engine(Engine::builder().base_url("https://auth.example.com"))?;
//! assert_eq!(Auth::STEP_NAMES, ["device_token", "app_token", "user_token"]);
//! # let _ = engine.token::<UserToken>(); // type-checks; fetching needs the server
//! # Ok::<_, tokenfetch::Error>(())
//! ```

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::engine::{Engine, EngineBuilder, StepGraph};
use crate::model::{Result, TokenData};
use crate::step::TokenStep;

mod check;

pub use check::{CheckMessage, PipelineCheck, PipelineField, PipelineStep};

/// A struct whose fields are the steps of one pipeline: what
/// [`#[derive(TokenPipeline)]`](derive@crate::TokenPipeline) implements, after
/// checking the pipeline's graph at compile time.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a token pipeline",
    label = "not a token pipeline",
    note = "add `#[derive(TokenPipeline)]` to `{Self}`, a struct whose fields are its steps"
)]
pub trait TokenPipeline: Sized + 'static {
    /// The names of the steps, in field order.
    const STEP_NAMES: &'static [&'static str];

    /// The names of the steps each step depends on, in field order.
    const DEPENDENCIES: &'static [&'static [&'static str]];

    /// Adds every step of the pipeline to `builder`, in field order.
    fn add_steps(self, builder: EngineBuilder) -> EngineBuilder;

    /// Adds the steps to `builder` (which carries the base URL, client, policies
    /// and store) and builds a [`PipelineEngine`]. Fails as
    /// [`EngineBuilder::build`] does: a bad base URL, or a graph error involving
    /// steps `builder` had already (the pipeline's own graph is checked at compile
    /// time).
    fn into_engine(self, builder: EngineBuilder) -> Result<PipelineEngine<Self>> {
        Ok(PipelineEngine {
            engine: self.add_steps(builder).build()?,
            pipeline: PhantomData,
        })
    }
}

/// Step `Self` is a field of pipeline `P`: what lets
/// [`PipelineEngine::token`] fetch it. The derive implements it for each field's
/// type; a hand-written impl for a step that is not in the pipeline only turns the
/// compile error into a run-time one.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a step of pipeline `{P}`",
    label = "not a step of `{P}`",
    note = "add a field of type `{Self}` to `{P}`, or fetch a step registered outside the pipeline through `PipelineEngine::engine()`"
)]
pub trait InPipeline<P: TokenPipeline> {}

/// An [`Engine`] built from pipeline `P`: [`token`](PipelineEngine::token) takes
/// only the pipeline's steps, so asking for any other step does not compile.
///
/// Cheap to clone: clones share the steps and the cache, as [`Engine`]'s do.
/// [`engine`](PipelineEngine::engine) gives the untyped engine, for steps known by
/// name only.
///
/// ```no_run
/// # use tokenfetch::{Engine, TokenPipeline, TokenStep};
/// # #[derive(TokenStep)]
/// # #[endpoint("/app")]
/// # #[token_field("token")]
/// # struct AppToken {}
/// # #[derive(TokenStep)]
/// # #[endpoint("/user")]
/// # #[token_field("access_token")]
/// # #[depends_on(AppToken)]
/// # #[inject_header(from = AppToken, header = "X-App-Token")]
/// # struct UserToken {}
/// #[derive(TokenPipeline)]
/// struct Auth {
///     app: AppToken,
///     user: UserToken,
/// }
///
/// # async fn run() -> tokenfetch::Result<()> {
/// let auth = Auth { app: AppToken {}, user: UserToken {} };
/// let engine = auth.into_engine(Engine::builder().base_url("https://auth.example.com"))?;
/// let user = engine.token::<UserToken>().await?; // app_token first, then user_token
/// let app = engine.engine().token_by_name("app_token").await?; // from the cache
/// # let _ = (user, app);
/// # Ok(()) }
/// ```
pub struct PipelineEngine<P> {
    engine: Engine,
    pipeline: PhantomData<fn() -> P>,
}

impl<P: TokenPipeline> PipelineEngine<P> {
    /// The token of step `S`, fetching it and its dependencies if it is not cached
    /// or is due for renewal. `S` must be a step of `P`.
    pub fn token<S: TokenStep + InPipeline<P>>(
        &self,
    ) -> impl Future<Output = Result<Arc<TokenData>>> + Send + '_ {
        self.engine.token::<S>()
    }

    /// Drops the cached token of step `S`, so that the next caller fetches a new one.
    pub fn invalidate<S: TokenStep + InPipeline<P>>(&self) -> bool {
        self.engine.invalidate(S::NAME)
    }

    /// The untyped engine: every step by name, store keys, handles.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The untyped engine, by value.
    pub fn into_engine(self) -> Engine {
        self.engine
    }
}

impl<P> Clone for PipelineEngine<P> {
    fn clone(&self) -> Self {
        PipelineEngine {
            engine: self.engine.clone(),
            pipeline: PhantomData,
        }
    }
}

impl<P> fmt::Debug for PipelineEngine<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineEngine")
            .field("pipeline", &std::any::type_name::<P>())
            .field("engine", &self.engine)
            .finish()
    }
}

impl<P> From<PipelineEngine<P>> for Engine {
    fn from(engine: PipelineEngine<P>) -> Engine {
        engine.engine
    }
}

impl StepGraph {
    /// The graph of pipeline `P`, known at compile time.
    ///
    /// ```
    /// # use tokenfetch::{Secret, StepGraph, TokenPipeline, TokenStep};
    /// # #[derive(TokenStep)] #[endpoint("/app")] struct AppToken {}
    /// # #[derive(TokenStep)] #[endpoint("/user")] #[depends_on(AppToken)] struct UserToken {}
    /// #[derive(TokenPipeline)]
    /// struct Auth {
    ///     app: AppToken,
    ///     user: UserToken,
    /// }
    /// assert_eq!(StepGraph::of_pipeline::<Auth>().to_string(), "app_token\nuser_token <- app_token\n");
    /// ```
    pub fn of_pipeline<P: TokenPipeline>() -> Self {
        StepGraph::new(
            P::STEP_NAMES
                .iter()
                .zip(P::DEPENDENCIES)
                .map(|(step, dependencies)| (*step, dependencies.iter().copied())),
        )
    }
}
