//! Re-exports and helpers for the code `#[derive(TokenStep)]` and
//! `#[derive(TokenPipeline)]` generate. Not part of the public API: nothing here is
//! stable.

use std::fmt::Display;

pub use crate::pipeline::{CheckMessage, PipelineCheck, PipelineField, PipelineStep};
pub use url::Url;

pub use crate::model::SecretHasNoDisplay;

pub use crate::{
    BodyTokenFetcher, BoxFuture, ClientAuth, Context, DeviceFlow, DevicePrompt, EngineBuilder,
    Error, Grant, HeaderTokenFetcher, InPipeline, Injection, JwtBearer, Result, Secret,
    SigningAlgorithm, SigningKey, StepIdentity, TokenData, TokenExchange, TokenFetcher, TokenPart,
    TokenPipeline, TokenRequest, TokenStep,
};

/// A field value the derive can send: a header, a body field or a query parameter.
///
/// Implemented for every `Display` type, and for [`Secret`] (also behind a `Box`,
/// an `Arc` or a reference), which sends its clear value. `Via` tells the two
/// families apart for the compiler; a `Secret`'s `Display` never holds, so every
/// type is in at most one of them and the compiler infers `Via`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent in a token request",
    label = "not a request value",
    note = "a field is sent as text: use `String`, `&'static str`, `tokenfetch::Secret`, a number, any type that implements `Display`, or an `Option` of one",
    note = "mark the field `#[skip]` if it is not part of the request"
)]
pub trait RequestValue<Via> {
    /// The value as it is sent.
    fn request_value(&self) -> Secret;
}

/// [`RequestValue`] through `Display`.
#[derive(Debug)]
pub enum ViaDisplay {}

/// [`RequestValue`] of a [`Secret`]: its clear value.
#[derive(Debug)]
pub enum ViaSecret {}

impl<T: Display + ?Sized> RequestValue<ViaDisplay> for T {
    fn request_value(&self) -> Secret {
        Secret::new(self.to_string())
    }
}

impl<T: std::ops::Deref<Target = Secret>> RequestValue<ViaSecret> for T {
    fn request_value(&self) -> Secret {
        (**self).clone()
    }
}

impl RequestValue<ViaSecret> for Secret {
    fn request_value(&self) -> Secret {
        self.clone()
    }
}

/// The value of a field, for the generated code (which names the field's type, so
/// that an error points at it).
pub fn request_value<T: RequestValue<Via> + ?Sized, Via>(value: &T) -> Secret {
    value.request_value()
}

/// The load timeout of a derived step with the device flow, whose `max_wait` is
/// the default.
pub fn device_flow_load_timeout() -> Option<std::time::Duration> {
    Some(crate::DeviceFlow::new(|_| {}).load_timeout())
}

/// The text of a field the derive reads as a string (a client id, a base URL, an
/// issuer): what it would send.
pub fn text<T: RequestValue<Via> + ?Sized, Via>(value: &T) -> String {
    value.request_value().expose().to_owned()
}

/// A `#[skip]` field of a step with a request hook, looked at for what it adds to
/// the step's identity: its text when it has one (`Display`, or a [`Secret`]), else
/// nothing, and the step is not shared. The three traits are picked by method
/// resolution: the two specific ones take `&IdentityProbe`, the fallback needs one
/// more reference, so it answers only for types neither of the others covers.
#[derive(Debug)]
pub struct IdentityProbe<'a, T: ?Sized>(pub &'a T);

/// [`IdentityProbe`] of a `Display` value.
pub trait IdentityOfDisplay {
    /// The value's text.
    fn identity_part(&self) -> Option<Secret>;
}

impl<T: Display + ?Sized> IdentityOfDisplay for IdentityProbe<'_, T> {
    fn identity_part(&self) -> Option<Secret> {
        Some(Secret::new(self.0.to_string()))
    }
}

/// [`IdentityProbe`] of a [`Secret`].
pub trait IdentityOfSecret {
    /// The secret's clear value (kept only as a digest).
    fn identity_part(&self) -> Option<Secret>;
}

impl IdentityOfSecret for IdentityProbe<'_, Secret> {
    fn identity_part(&self) -> Option<Secret> {
        Some(self.0.clone())
    }
}

/// [`IdentityProbe`] of anything else: unknown.
pub trait IdentityUnknown {
    /// Nothing: the value cannot be written down.
    fn identity_part(&self) -> Option<Secret>;
}

impl<T: ?Sized> IdentityUnknown for &IdentityProbe<'_, T> {
    fn identity_part(&self) -> Option<Secret> {
        None
    }
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
    crate::http::insecure_client()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, OnceLock};

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
