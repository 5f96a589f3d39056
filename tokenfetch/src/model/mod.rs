//! The token model, the lowest layer: the token ([`TokenData`]), the string that
//! never prints ([`Secret`]), the error ([`Error`], [`GraphError`]), and what a
//! message may show of outside text (redaction, "did you mean"). It knows nothing
//! of steps, HTTP, stores or the engine.

mod error;
mod graph_error;
mod redact;
mod secret;
mod suggest;
mod token;

pub use error::{Error, ErrorKind, OAuthError, Result};
pub use graph_error::GraphError;
pub use secret::{Secret, SecretHasNoDisplay};
pub use token::{DEFAULT_TOKEN_TYPE, TokenData};

pub(crate) use error::MAX_RETRY_AFTER;
pub(crate) use redact::{REDACTED, redacted_endpoint, redacted_url, server_text};
pub(crate) use suggest::did_you_mean;
pub(crate) use token::{MAX_LIFETIME, epoch_instant};
