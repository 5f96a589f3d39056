//! The token request: [`TokenRequest`], the parts a step sends, and the
//! `RequestTemplate` a step renders it from: the configured parts, then the
//! injections, then the request hooks (which do what injections cannot say).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::injection::Injection;
use crate::http::{HttpSettings, header_pair};
use crate::model::{Result, Secret, redacted_endpoint};
use crate::step::{Context, StepIdentity};

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

    /// Sends the request to `endpoint` instead.
    pub(crate) fn set_endpoint(&mut self, endpoint: &str) {
        endpoint.clone_into(&mut self.endpoint);
    }

    /// Sets or replaces a header whose value is made already.
    pub(crate) fn insert_header(&mut self, name: HeaderName, value: HeaderValue) {
        self.headers.insert(name, value);
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
    pub(crate) fn to_reqwest(
        &self,
        http: &HttpSettings,
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
        if !self.headers.is_empty() {
            request = request.headers(self.headers.clone());
        }
        Ok(request)
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
    /// hooks. A template with neither is the request itself, not a copy.
    pub(crate) fn render(&self, context: &Context) -> Result<Cow<'_, TokenRequest>> {
        if self.injections.is_empty() && self.hooks.is_empty() {
            return Ok(Cow::Borrowed(&self.request));
        }
        let mut request = self.render_injections(context)?;
        for hook in &self.hooks {
            hook(&mut request, context)?;
        }
        Ok(Cow::Owned(request))
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
