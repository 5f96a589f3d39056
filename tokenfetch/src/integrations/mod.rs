//! Integrations, at the top: the `reqwest-middleware` middleware that
//! authenticates outgoing requests (feature `middleware`) and the blocking facade
//! (feature `blocking`). They use the engine; nothing below knows them.

#[cfg(feature = "blocking")]
pub mod blocking;
#[cfg(feature = "middleware")]
mod middleware;

#[cfg(feature = "middleware")]
pub use self::middleware::AuthMiddleware;
