//! [`AuthMiddleware`]: a `reqwest-middleware` middleware that puts a step's token on
//! every outgoing request (feature `middleware`).
//!
//! On a 401 from the API it drops that token (only if it is still the cached one, so
//! that concurrent 401s renew it once), fetches a fresh one and sends the request
//! again, once, when its body can be replayed; a second 401 goes back to the caller
//! untouched.

use std::sync::Arc;

use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use reqwest_middleware::{Middleware, Next};

use crate::engine::{Engine, StepHandle};
use crate::fetchers::format_token;
use crate::model::{Error, Result, TokenData};
use crate::step::TokenStep;

/// Authenticates requests with a step's token.
///
/// ```no_run
/// use tokenfetch::{AuthMiddleware, BodyTokenFetcher, Engine};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let engine = Engine::builder()
///     .base_url("https://auth.example.com")
///     .step(BodyTokenFetcher::builder("api_token").endpoint("/oauth/token").build()?)
///     .build()?;
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(AuthMiddleware::new(engine, "api_token")?)
///     .build();
/// let profile = client.get("https://api.example.com/me").send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AuthMiddleware {
    engine: Engine,
    step: StepHandle,
    name: Arc<str>,
    header: HeaderName,
    format: Arc<str>,
}

impl AuthMiddleware {
    /// Authenticates with the token of the step named `step`, as
    /// `Authorization: Bearer <token>`.
    pub fn new(engine: Engine, step: &str) -> Result<Self> {
        let handle = engine.handle_by_name(step)?;
        Ok(AuthMiddleware {
            engine,
            step: handle,
            name: step.into(),
            header: AUTHORIZATION,
            format: "Bearer {token}".into(),
        })
    }

    /// Authenticates with the token of step type `S`.
    pub fn for_step<S: TokenStep>(engine: Engine) -> Result<Self> {
        AuthMiddleware::new(engine, S::NAME)
    }

    /// Sends the token in `header` instead of `Authorization`.
    pub fn header(mut self, header: HeaderName) -> Self {
        self.header = header;
        self
    }

    /// Formats the header value: `{token}` stands for the access token and
    /// `{token_type}` for its type (default `Bearer {token}`).
    pub fn format(mut self, format: &str) -> Result<Self> {
        if !format.contains("{token}") {
            return Err(Error::config(format!(
                "middleware format `{format}` has no `{{token}}` placeholder"
            )));
        }
        self.format = format.into();
        Ok(self)
    }

    fn header_value(&self, token: &TokenData) -> Result<HeaderValue> {
        let value = format_token(
            &self.format,
            token.token_type(),
            token.access_token().expose(),
        );
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            Error::bad_response("the token cannot be sent in a header: it is not visible ASCII")
                .with_step(&*self.name)
        })?;
        value.set_sensitive(true);
        Ok(value)
    }

    async fn authorize(
        &self,
        mut request: reqwest::Request,
    ) -> Result<(reqwest::Request, Arc<TokenData>)> {
        let token = self.engine.get(self.step).await?;
        let value = self.header_value(&token)?;
        request.headers_mut().insert(self.header.clone(), value);
        Ok((request, token))
    }
}

#[async_trait::async_trait]
impl Middleware for AuthMiddleware {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let replay = request.try_clone();
        let (request, token) = self
            .authorize(request)
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        let response = next.clone().run(request, extensions).await?;
        if response.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let Some(replay) = replay else {
            return Ok(response);
        };
        tracing::debug!(step = %self.name, "the API answered 401; renewing the token and retrying once");
        self.engine.invalidate_token(&self.name, &token);
        let (replay, _) = self
            .authorize(replay)
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        next.run(replay, extensions).await
    }
}
