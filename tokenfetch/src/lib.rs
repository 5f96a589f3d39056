//! Multi-step token fetching.
//!
//! Services often need a chain of tokens before they can call an API: a device
//! token, then an app token, then a user token whose request carries the first two.
//! tokenfetch lets you declare each step, with a fluent builder or a derive, and
//! fetches them: dependencies first, every token read from the body or a header
//! exactly where you said, every failure reported as a typed [`Error`], no secret
//! ever printed.
//!
//! ```no_run
//! use std::time::Duration;
//! use tokenfetch::{BodyTokenFetcher, Context, TokenFetcher};
//!
//! # async fn run() -> tokenfetch::Result<()> {
//! let fetcher = BodyTokenFetcher::builder("oauth_token")
//!     .base_url("https://auth.example.com")
//!     .endpoint("/oauth/token")
//!     .data("grant_type", "client_credentials")
//!     .data("client_id", "your-client-id")
//!     .data("client_secret", "your-client-secret")
//!     .data("scope", "read write")
//!     .ttl(Duration::from_secs(3600))
//!     .build()?;
//!
//! let token = fetcher.fetch(&Context::new()).await?;
//! println!("expires at {:?}", token.expires_at());
//! # Ok(()) }
//! ```
//!
//! The pieces:
//! - [`TokenFetcher`]: a step; implement it by
//!   hand for a fully custom step.
//! - [`BodyTokenFetcher`] and [`HeaderTokenFetcher`], made by a [`FetcherBuilder`]:
//!   HTTP steps reading the token from a JSON body or a response header.
//! - [`HttpSettings`]: the HTTP settings every HTTP step shares.
//! - [`TokenData`], [`Secret`], [`Error`].

#![deny(missing_docs, missing_debug_implementations)]

// The layers, lowest first; a layer never imports one above it (tests/layers.rs
// checks it, and ARCHITECTURE.md maps them).
mod engine;
mod fetchers;
mod http;
mod integrations;
mod model;
mod oauth;
mod pipeline;
mod step;
mod store;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

#[cfg(feature = "middleware")]
pub use integrations::AuthMiddleware;
#[cfg(feature = "blocking")]
pub use integrations::blocking;

pub use engine::{
    Engine, EngineBuilder, RefreshPolicy, RetryPolicy, StepGraph, StepHandle, StepState,
    StepTiming, Timeline, TokenFuture, TokenOrigin,
};
pub use fetchers::{
    BodySource, BodyTokenFetcher, ContentType, DeviceFlow, DevicePrompt, FetcherBuilder, Grant,
    HeaderSource, HeaderTokenFetcher, Injection, JwtBearer, SignedJwtFetcher, TokenExchange,
    TokenPart, TokenRequest, token_type,
};
pub use http::{DEFAULT_TIMEOUT, HttpResponse, HttpSettings, HttpSettingsBuilder, MAX_BODY_BYTES};
pub use model::{
    DEFAULT_TOKEN_TYPE, Error, ErrorKind, GraphError, OAuthError, Result, Secret, TokenData,
};
pub use oauth::{
    ClientAuth, JWT_BEARER_ASSERTION_TYPE, ProviderMetadata, SigningAlgorithm, SigningKey,
};
pub use pipeline::{InPipeline, PipelineEngine, TokenPipeline};
pub use step::{BoxFuture, Context, StepIdentity, TokenFetcher, TokenStep};
#[cfg(feature = "redis")]
pub use store::RedisStore;
pub use store::{
    FileStore, LockOutcome, MemoryStore, StoreKey, StoreLock, StoredToken, TokenStore,
};

pub use reqwest::{Method, StatusCode};

#[doc = include_str!("derive.md")]
pub use tokenfetch_derive::TokenStep;

#[doc = include_str!("pipeline.md")]
pub use tokenfetch_derive::TokenPipeline;
