//! [`Injection`]: how an earlier step's token (or a part of it) gets into this
//! step's request, through an optional format; and the one formatter of such
//! formats, which the middleware uses too.

use reqwest::header::HeaderName;
use serde_json::Value;

use super::request::TokenRequest;
use crate::model::{Error, Result, TokenData};
use crate::step::{Context, StepIdentity};

/// Which part of a dependency's [`TokenData`] an [`Injection`] takes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenPart {
    /// The access token (the default).
    AccessToken,
    /// The token type, such as `Bearer`.
    TokenType,
    /// The refresh token.
    RefreshToken,
    /// A field of [`TokenData::extra`]; strings are sent as they are, other JSON
    /// values in their JSON form.
    Extra(String),
}

impl TokenPart {
    fn read(&self, token: &TokenData) -> Option<String> {
        match self {
            TokenPart::AccessToken => Some(token.access_token().expose().to_owned()),
            TokenPart::TokenType => Some(token.token_type().to_owned()),
            TokenPart::RefreshToken => token.refresh_token().map(|t| t.expose().to_owned()),
            TokenPart::Extra(key) => token.extra().get(key).map(|value| match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
        }
    }

    pub(super) fn identify(&self, identity: &mut StepIdentity) {
        match self {
            TokenPart::AccessToken => identity.field("part", "access_token"),
            TokenPart::TokenType => identity.field("part", "token_type"),
            TokenPart::RefreshToken => identity.field("part", "refresh_token"),
            TokenPart::Extra(key) => identity.field("part", "extra").add(key),
        };
    }

    fn describe(&self) -> String {
        match self {
            TokenPart::AccessToken => "access token".to_owned(),
            TokenPart::TokenType => "token type".to_owned(),
            TokenPart::RefreshToken => "refresh token".to_owned(),
            TokenPart::Extra(key) => format!("extra field `{key}`"),
        }
    }
}

/// Where an [`Injection`] puts the value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Header(String),
    Field(String),
    Query(String),
}

/// Puts (a part of) an earlier step's token into this step's request: a header, a
/// body field or a query parameter, optionally through a format such as
/// `Bearer {token}` (`{token}` stands for the value; `{token_type}` for the token
/// type).
///
/// ```
/// use tokenfetch::{Injection, TokenPart};
///
/// let bearer = Injection::header("app_token", "Authorization").format("Bearer {token}");
/// let session = Injection::field("session_token", "session");
/// let id = Injection::query("device_token", "device").part(TokenPart::Extra("device_id".into()));
/// # let _ = (bearer, session, id);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injection {
    from: String,
    part: TokenPart,
    target: Target,
    format: Option<String>,
}

impl Injection {
    /// Puts step `from`'s access token into header `header`.
    pub fn header(from: impl Into<String>, header: impl Into<String>) -> Self {
        Injection::new(from, Target::Header(header.into()))
    }

    /// Puts step `from`'s access token into body field `field` (a query parameter
    /// for GET).
    pub fn field(from: impl Into<String>, field: impl Into<String>) -> Self {
        Injection::new(from, Target::Field(field.into()))
    }

    /// Puts step `from`'s access token into query parameter `param`.
    pub fn query(from: impl Into<String>, param: impl Into<String>) -> Self {
        Injection::new(from, Target::Query(param.into()))
    }

    fn new(from: impl Into<String>, target: Target) -> Self {
        Injection {
            from: from.into(),
            part: TokenPart::AccessToken,
            target,
            format: None,
        }
    }

    /// Sends the value through a format: `{token}` is replaced by the value and
    /// `{token_type}` by the token type.
    pub fn format(mut self, format: impl Into<String>) -> Self {
        self.format = Some(format.into());
        self
    }

    /// Takes another part of the token than the access token.
    pub fn part(mut self, part: TokenPart) -> Self {
        self.part = part;
        self
    }

    /// The step whose token is injected.
    pub fn from_step(&self) -> &str {
        &self.from
    }

    /// Checks what can be checked before any token exists.
    pub(crate) fn validate(&self, step: &str, depends_on: &[String]) -> Result<()> {
        if !depends_on.contains(&self.from) {
            return Err(Error::config(format!(
                "step `{step}` injects the token of `{}`, which is not in its `depends_on`; add it there",
                self.from
            )));
        }
        if let Target::Header(name) = &self.target {
            HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::config(format!("invalid header name `{name}`")))?;
        }
        if let Some(format) = &self.format
            && !format.contains("{token}")
            && !format.contains("{token_type}")
        {
            return Err(Error::config(format!(
                "injection format `{format}` has no `{{token}}` placeholder"
            )));
        }
        Ok(())
    }

    pub(super) fn identify(&self, identity: &mut StepIdentity) {
        identity.field("injection", &self.from);
        self.part.identify(identity);
        match &self.target {
            Target::Header(name) => identity.field("into_header", name),
            Target::Field(name) => identity.field("into_field", name),
            Target::Query(name) => identity.field("into_query", name),
        };
        if let Some(format) = &self.format {
            identity.field("format", format);
        }
    }

    pub(super) fn apply(&self, request: &mut TokenRequest, context: &Context) -> Result<()> {
        let token = context.require(&self.from)?;
        let value = self.part.read(token).ok_or_else(|| {
            Error::bad_response(format!(
                "the token of step `{}` has no {} to inject",
                self.from,
                self.part.describe()
            ))
        })?;
        let value = match &self.format {
            Some(format) => format_token(format, token.token_type(), &value),
            None => value,
        };
        match &self.target {
            Target::Header(name) => request.set_header(name, &value).map_err(|_| {
                Error::bad_response(format!(
                    "the token of step `{}` cannot be sent in header `{name}`: it is not visible ASCII",
                    self.from
                ))
            }),
            Target::Field(name) => {
                request.set_data(name.clone(), value);
                Ok(())
            }
            Target::Query(name) => {
                request.set_query(name.clone(), value);
                Ok(())
            }
        }
    }
}

/// Fills a format such as `Bearer {token}`: `{token}` becomes `value` and
/// `{token_type}` the token type, in one pass over the format, so that braces in
/// the values (a token type `{token}`, say) are sent as they are. The one place a
/// token is formatted: injections and the middleware both come here.
pub(crate) fn format_token(format: &str, token_type: &str, value: &str) -> String {
    let mut formatted = String::with_capacity(format.len() + value.len());
    let mut rest = format;
    while let Some(start) = rest.find('{') {
        formatted.push_str(&rest[..start]);
        let tail = &rest[start..];
        if let Some(after) = tail.strip_prefix("{token}") {
            formatted.push_str(value);
            rest = after;
        } else if let Some(after) = tail.strip_prefix("{token_type}") {
            formatted.push_str(token_type);
            rest = after;
        } else {
            formatted.push('{');
            rest = &tail[1..];
        }
    }
    formatted.push_str(rest);
    formatted
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::format_token;

    /// A piece of a format: literal text (no `{`, so that text and its neighbours
    /// never spell a placeholder; the unit test below has braces), or a
    /// placeholder.
    #[derive(Debug, Clone)]
    enum Piece {
        Text(String),
        Token,
        TokenType,
    }

    fn piece() -> impl Strategy<Value = Piece> {
        prop_oneof![
            "[a-zA-Z0-9 }:_-]{0,12}".prop_map(Piece::Text),
            Just(Piece::Token),
            Just(Piece::TokenType),
        ]
    }

    proptest! {
        /// Each placeholder of the format is filled once, and nothing inside the
        /// values is ever taken for a placeholder.
        #[test]
        fn placeholders_are_filled_once_and_values_sent_as_they_are(
            pieces in prop::collection::vec(piece(), 0..8),
            token_type in "[a-zA-Z{}_]{0,12}",
            value in "[a-zA-Z0-9{}_.-]{0,24}",
        ) {
            let mut format = String::new();
            let mut expected = String::new();
            for piece in &pieces {
                match piece {
                    Piece::Text(text) => {
                        format.push_str(text);
                        expected.push_str(text);
                    }
                    Piece::Token => {
                        format.push_str("{token}");
                        expected.push_str(&value);
                    }
                    Piece::TokenType => {
                        format.push_str("{token_type}");
                        expected.push_str(&token_type);
                    }
                }
            }
            prop_assert_eq!(format_token(&format, &token_type, &value), expected);
        }
    }

    #[test]
    fn a_token_type_that_looks_like_a_placeholder_is_sent_as_it_is() {
        assert_eq!(
            format_token("{token_type} {token}", "{token}", "abc"),
            "{token} abc"
        );
        assert_eq!(
            format_token("Bearer {token}", "Bearer", "{token_type}"),
            "Bearer {token_type}"
        );
        assert_eq!(format_token("{tok{token}}", "T", "v"), "{tokv}");
    }
}
