//! Re-exports and helpers for the code `#[derive(TokenStep)]` and
//! `#[derive(TokenPipeline)]` generate. Not part of the public API: nothing here is
//! stable.

use std::any::Any;
use std::fmt::Display;
use std::sync::{Arc, OnceLock};

pub use crate::pipeline::{CheckMessage, PipelineCheck, PipelineField, PipelineStep};
pub use crate::{
    BodyTokenFetcher, BoxFuture, Context, EngineBuilder, Error, HeaderTokenFetcher, InPipeline,
    Injection, Result, Secret, StepIdentity, TokenData, TokenFetcher, TokenPart, TokenPipeline,
    TokenRequest, TokenStep,
};

/// A field value the derive can send: a header, a body field or a query parameter.
///
/// Implemented for every `Display` type. A [`Secret`] (also as `Box<Secret>`,
/// `Arc<Secret>` or `&'static Secret`) sends its clear value, not its redacted
/// `Display`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent in a token request",
    label = "not a request value",
    note = "a field is sent as text: use `String`, `&'static str`, `tokenfetch::Secret`, a number, any type that implements `Display`, or an `Option` of one",
    note = "mark the field `#[skip]` if it is not part of the request"
)]
pub trait RequestValue {
    /// The value as it is sent.
    fn request_value(&self) -> Secret;
}

impl<T: Display + Any> RequestValue for T {
    fn request_value(&self) -> Secret {
        let any = self as &dyn Any;
        let secret = any
            .downcast_ref::<Secret>()
            .or_else(|| any.downcast_ref::<Box<Secret>>().map(AsRef::as_ref))
            .or_else(|| any.downcast_ref::<Arc<Secret>>().map(AsRef::as_ref))
            .or_else(|| any.downcast_ref::<&'static Secret>().copied());
        match secret {
            Some(secret) => secret.clone(),
            None => Secret::new(self.to_string()),
        }
    }
}

/// The value of a field, for the generated code (which names the field's type, so
/// that an error points at it).
pub fn request_value<T: RequestValue>(value: &T) -> Secret {
    value.request_value()
}

/// What `#[step(with_request = ..)]` needs of the step: the hook must outlive the
/// borrow of the step, so it gets a clone.
#[diagnostic::on_unimplemented(
    message = "`#[step(with_request = ..)]` needs `{Self}` to implement `Clone`",
    label = "the request hook gets a clone of the step",
    note = "add `#[derive(Clone)]` to `{Self}`"
)]
pub trait CloneForHook: Clone {}

impl<T: Clone> CloneForHook for T {}

/// The step's clone that a request hook captures.
pub fn clone_for_hook<T: CloneForHook>(step: &T) -> T {
    step.clone()
}

/// The shared client of steps with `verify_ssl = false`: built once, not on every
/// fetch. Like every client of tokenfetch it follows no redirects.
pub fn insecure_client() -> Result<reqwest::Client> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client.clone());
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .tls_danger_accept_invalid_certs(true)
        .build()
        .map_err(|error| Error::config("cannot build the HTTP client").with_source(error))?;
    Ok(CLIENT.get_or_init(|| client).clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_send_their_clear_value() {
        assert_eq!(request_value(&Secret::from("s3cret")).expose(), "s3cret");
        assert_eq!(request_value(&Box::new(Secret::from("b"))).expose(), "b");
        assert_eq!(request_value(&Arc::new(Secret::from("a"))).expose(), "a");
        static STATIC: OnceLock<Secret> = OnceLock::new();
        let stat: &'static Secret = STATIC.get_or_init(|| Secret::from("st"));
        assert_eq!(request_value(&stat).expose(), "st");
    }

    #[test]
    fn display_values_send_their_text() {
        assert_eq!(request_value(&String::from("s")).expose(), "s");
        assert_eq!(request_value(&"lit").expose(), "lit");
        assert_eq!(request_value(&42u32).expose(), "42");
        assert_eq!(request_value(&true).expose(), "true");
    }
}
