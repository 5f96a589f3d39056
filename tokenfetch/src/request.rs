//! The token request: [`TokenRequest`], the parts a step sends, and [`Injection`],
//! how an earlier step's token gets into them. Injections say where an earlier
//! token goes; request hooks do what injections cannot say.

use std::fmt;
use std::sync::Arc;

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::fetcher::Context;
use crate::http::{HttpTokenFetcher, header_pair, redacted_endpoint};
use crate::secret::Secret;
use crate::store::StepIdentity;
use crate::token::TokenData;

/// How the request data is encoded in a POST body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ContentType {
    /// `application/x-www-form-urlencoded` (the default, as OAuth2 wants).
    #[default]
    Form,
    /// `application/json`: the data as one JSON object of strings.
    Json,
}

/// The request a step is about to send: method, endpoint, headers, query and body
/// data. A request hook ([`with_request`](crate::FetcherBuilder::with_request)) gets
/// it mutably, after the configured data and injections are in.
#[derive(Clone)]
pub struct TokenRequest {
    method: Method,
    endpoint: String,
    headers: HeaderMap,
    query: Vec<(String, Secret)>,
    data: Vec<(String, Secret)>,
    content_type: ContentType,
}

impl TokenRequest {
    /// The HTTP method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The endpoint, relative to the base URL or absolute.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Sets or replaces a header; the value is marked sensitive.
    pub fn set_header(&mut self, name: &str, value: &str) -> Result<()> {
        let (name, value) = header_pair(name, value)?;
        self.headers.insert(name, value);
        Ok(())
    }

    /// The headers (the defaults of the HTTP layer are added when sending).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Sets or replaces a body field (a query parameter for GET).
    pub fn set_data(&mut self, key: impl Into<String>, value: impl Into<Secret>) {
        set(&mut self.data, key.into(), value.into());
    }

    /// The value of a body field.
    pub fn data(&self, key: &str) -> Option<&Secret> {
        self.data.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Removes a body field.
    pub fn remove_data(&mut self, key: &str) -> Option<Secret> {
        let index = self.data.iter().position(|(k, _)| k == key)?;
        Some(self.data.remove(index).1)
    }

    /// Sets or replaces a query parameter.
    pub fn set_query(&mut self, key: impl Into<String>, value: impl Into<Secret>) {
        set(&mut self.query, key.into(), value.into());
    }

    /// The value of a query parameter.
    pub fn query(&self, key: &str) -> Option<&Secret> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Removes every body field, returning them in order.
    pub(crate) fn take_data(&mut self) -> Vec<(String, Secret)> {
        std::mem::take(&mut self.data)
    }

    /// Adds every part to a store identity (secrets only as a digest).
    pub(crate) fn identify(&self, identity: &mut StepIdentity) {
        identity
            .field("method", self.method.as_str())
            .field("endpoint", &self.endpoint)
            .field(
                "content_type",
                match self.content_type {
                    ContentType::Form => "form",
                    ContentType::Json => "json",
                },
            );
        for (name, value) in &self.headers {
            identity
                .field("header", name.as_str())
                .add(value.as_bytes());
        }
        for (key, value) in &self.query {
            identity.field("query", key).add(value.expose());
        }
        for (key, value) in &self.data {
            identity.field("data", key).add(value.expose());
        }
    }

    /// Turns the parts into a `reqwest` request through `http`. GET sends the data
    /// as query parameters; POST sends it as the body, form-encoded or JSON.
    pub(crate) fn into_reqwest(
        self,
        http: &HttpTokenFetcher,
        context: &Context,
    ) -> Result<reqwest::RequestBuilder> {
        let mut query = expose(&self.query);
        let mut request = http.request(self.method.clone(), &self.endpoint, context)?;
        if self.method == Method::GET || self.method == Method::HEAD {
            query.extend(expose(&self.data));
        } else {
            request = match self.content_type {
                ContentType::Form => request.form(&expose(&self.data)),
                ContentType::Json => {
                    let body: serde_json::Map<String, Value> = self
                        .data
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::from(v.expose())))
                        .collect();
                    request.json(&body)
                }
            };
        }
        if !query.is_empty() {
            request = request.query(&query);
        }
        Ok(request.headers(self.headers))
    }
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRequest")
            .field("method", &self.method)
            .field("endpoint", &redacted_endpoint(&self.endpoint))
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("query", &keys(&self.query))
            .field("data", &keys(&self.data))
            .field("content_type", &self.content_type)
            .finish()
    }
}

fn set(pairs: &mut Vec<(String, Secret)>, key: String, value: Secret) {
    match pairs.iter_mut().find(|(k, _)| *k == key) {
        Some(pair) => pair.1 = value,
        None => pairs.push((key, value)),
    }
}

fn keys(pairs: &[(String, Secret)]) -> Vec<&str> {
    pairs.iter().map(|(k, _)| k.as_str()).collect()
}

fn expose(pairs: &[(String, Secret)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.expose()))
        .collect()
}

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

    fn identify(&self, identity: &mut StepIdentity) {
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

    fn identify(&self, identity: &mut StepIdentity) {
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

    fn apply(&self, request: &mut TokenRequest, context: &Context) -> Result<()> {
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

/// A request hook: adjusts the request given the context, after data and
/// injections are applied.
pub(crate) type RequestHook = Arc<dyn Fn(&mut TokenRequest, &Context) -> Result<()> + Send + Sync>;

/// What a step sends, before the context is known.
#[derive(Clone)]
pub(crate) struct RequestTemplate {
    pub(crate) request: TokenRequest,
    pub(crate) injections: Vec<Injection>,
    pub(crate) hooks: Vec<RequestHook>,
}

impl RequestTemplate {
    pub(crate) fn new(
        method: Method,
        endpoint: String,
        headers: HeaderMap,
        query: Vec<(String, Secret)>,
        data: Vec<(String, Secret)>,
        content_type: ContentType,
    ) -> Self {
        RequestTemplate {
            request: TokenRequest {
                method,
                endpoint,
                headers,
                query,
                data,
                content_type,
            },
            injections: Vec::new(),
            hooks: Vec::new(),
        }
    }

    /// The request for this context: the template, then the injections, then the
    /// hooks.
    pub(crate) fn render(&self, context: &Context) -> Result<TokenRequest> {
        let mut request = self.render_injections(context)?;
        for hook in &self.hooks {
            hook(&mut request, context)?;
        }
        Ok(request)
    }

    /// The template with the injections applied, without the hooks.
    pub(crate) fn render_injections(&self, context: &Context) -> Result<TokenRequest> {
        let mut request = self.request.clone();
        for injection in &self.injections {
            injection.apply(&mut request, context)?;
        }
        Ok(request)
    }

    /// The request and the injections, in the explicit encoding of
    /// [`StepIdentity`] (the hooks are the step's to account for).
    pub(crate) fn identify(&self, identity: &mut StepIdentity) {
        self.request.identify(identity);
        for injection in &self.injections {
            injection.identify(identity);
        }
    }
}

impl fmt::Debug for RequestTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestTemplate")
            .field("request", &self.request)
            .field("injections", &self.injections)
            .field("hooks", &self.hooks.len())
            .finish()
    }
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
