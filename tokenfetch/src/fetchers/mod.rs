//! The fetchers, above HTTP: the two HTTP steps ([`BodyTokenFetcher`],
//! [`HeaderTokenFetcher`]), their [`FetcherBuilder`], the request template and its
//! [`Injection`]s, and reading a token out of an answer. They know no store and
//! no engine.

mod builder;
mod extract;
mod http_step;
mod injection;
mod request;

pub use self::builder::{BodySource, FetcherBuilder, HeaderSource};
pub use self::http_step::{BodyTokenFetcher, HeaderTokenFetcher};
pub use self::injection::{Injection, TokenPart};
pub use self::request::{ContentType, TokenRequest};

#[cfg(feature = "fuzzing")]
pub(crate) use self::extract::{BodyFields, token_from_header};
#[cfg(feature = "middleware")]
pub(crate) use self::injection::format_token;
