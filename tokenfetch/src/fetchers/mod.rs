//! The fetchers, above HTTP and the OAuth vocabulary: the two HTTP steps
//! ([`BodyTokenFetcher`], [`HeaderTokenFetcher`]), their [`FetcherBuilder`], the
//! request template and its [`Injection`]s, the standard [`Grant`]s and the
//! device flow, what a token endpoint request gets at send time, reading a
//! token out of an answer, and the step that signs its own token
//! ([`SignedJwtFetcher`]). They know no store and no engine.

mod builder;
mod device;
mod extract;
mod grant;
mod http_step;
mod injection;
mod request;
mod signed_jwt;
mod token_endpoint;

pub use self::builder::{BodySource, FetcherBuilder, HeaderSource};
pub use self::device::{DeviceFlow, DevicePrompt};
pub use self::grant::{Grant, JwtBearer, TokenExchange, token_type};
pub use self::http_step::{BodyTokenFetcher, HeaderTokenFetcher};
pub use self::injection::{Injection, TokenPart};
pub use self::request::{ContentType, TokenRequest};
pub use self::signed_jwt::SignedJwtFetcher;

#[cfg(feature = "fuzzing")]
pub(crate) use self::device::read_authorization;
#[cfg(feature = "fuzzing")]
pub(crate) use self::extract::{BodyFields, token_from_header};
#[cfg(feature = "middleware")]
pub(crate) use self::injection::format_token;
