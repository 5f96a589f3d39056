//! From the model to tokenfetch steps, with tokenfetch's public builders
//! ([`BodyTokenFetcher::builder`], [`HeaderTokenFetcher::builder`]): secret
//! references are read here, for the steps built only, and a refusal of the
//! builder becomes a [`BuildError`] naming the step (and the key, where one is
//! to blame).

use std::fmt;

use tokenfetch::{
    BodyTokenFetcher, ClientAuth, DeviceFlow, FetcherBuilder, Grant, HeaderTokenFetcher, Injection,
    JwtBearer, SigningKey, TokenExchange, TokenFetcher,
};

use super::schema::{
    AuthMethod, ClientAuthSpec, Defaults, Encoding, GrantKind, GrantSpec, HttpMethod,
    InjectionTarget, Param, Step, TokenSource,
};
use super::secrets::{Resolver, SecretError, SecretValue};

/// Why a step could not be built.
#[derive(Debug)]
pub struct BuildError {
    /// The step.
    pub step: String,
    /// The key to blame, such as `data.client_secret` or
    /// `client_auth.private_key`, when there is one.
    pub key: Option<String>,
    /// What went wrong.
    pub kind: BuildErrorKind,
}

/// What went wrong in a [`BuildError`].
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildErrorKind {
    /// No step of this name in the file.
    UnknownStep {
        /// The nearest step name, if one is close.
        suggestion: Option<String>,
    },
    /// A secret reference could not be read.
    Secret(SecretError),
    /// tokenfetch refused the settings (a key that does not parse, say).
    Refused(tokenfetch::Error),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            BuildErrorKind::UnknownStep { suggestion } => {
                write!(f, "no step `{}` in the pipeline file", self.step)?;
                if let Some(near) = suggestion {
                    write!(f, "; did you mean `{near}`?")?;
                }
                Ok(())
            }
            kind => {
                write!(f, "step `{}`", self.step)?;
                if let Some(key) = &self.key {
                    write!(f, ", `{key}`")?;
                }
                match kind {
                    BuildErrorKind::Secret(error) => write!(f, ": {error}"),
                    BuildErrorKind::Refused(error) => write!(f, ": {}", error.message()),
                    BuildErrorKind::UnknownStep { .. } => Ok(()),
                }
            }
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            BuildErrorKind::Secret(error) => Some(error),
            BuildErrorKind::Refused(error) => Some(error),
            BuildErrorKind::UnknownStep { .. } => None,
        }
    }
}

/// Builds one step: reads its references with `resolver`, then hands every
/// setting to tokenfetch's builder.
pub(super) fn build_step(
    step: &Step,
    defaults: &Defaults,
    resolver: &mut Resolver<'_>,
) -> Result<Box<dyn TokenFetcher>, BuildError> {
    let mut values = Values {
        step: &step.name.value,
        resolver,
    };
    match &step.source {
        TokenSource::Body(body) => {
            let mut builder = common(
                BodyTokenFetcher::builder(&step.name.value),
                step,
                defaults,
                &mut values,
            )?;
            if let Some(field) = &body.token_field {
                builder = builder.token_field(field);
            }
            if let Some(field) = &body.token_type_field {
                builder = builder.token_type_field(field);
            }
            if let Some(field) = &body.expires_in_field {
                builder = builder.expires_in_field(field);
            }
            if let Some(field) = &body.expires_at_field {
                builder = builder.expires_at_field(field);
            }
            if let Some(field) = &body.refresh_token_field {
                builder = builder.refresh_token_field(field);
            }
            if let Some(token_type) = &body.default_token_type {
                builder = builder.default_token_type(token_type);
            }
            if body.refresh_grant {
                builder = builder.refresh_grant(true);
            }
            for param in &body.refresh_data {
                let value = values.param("refresh_data", param)?;
                builder = builder.refresh_data(&param.key, value);
            }
            if let Some(grant) = &step.grant {
                builder = builder.grant(values.grant(grant)?);
            }
            let fetcher = builder
                .build()
                .map_err(|error| values.refused(None, error))?;
            Ok(Box::new(fetcher))
        }
        TokenSource::Header { header, token_type } => {
            let mut builder = common(
                HeaderTokenFetcher::builder(&step.name.value),
                step,
                defaults,
                &mut values,
            )?;
            builder = builder.token_header(header);
            if let Some(token_type) = token_type {
                builder = builder.token_type(token_type);
            }
            let fetcher = builder
                .build()
                .map_err(|error| values.refused(None, error))?;
            Ok(Box::new(fetcher))
        }
    }
}

/// The settings both kinds of step have.
fn common<S>(
    mut builder: FetcherBuilder<S>,
    step: &Step,
    defaults: &Defaults,
    values: &mut Values<'_, '_>,
) -> Result<FetcherBuilder<S>, BuildError> {
    if let Some(base_url) = step.base_url.as_ref().or(defaults.base_url.as_ref()) {
        builder = builder.base_url(base_url);
    }
    if let Some(timeout) = step.timeout.or(defaults.timeout) {
        builder = builder.timeout(timeout);
    }
    if step
        .allow_insecure_http
        .unwrap_or(defaults.allow_insecure_http)
    {
        builder = builder.allow_insecure_http(true);
    }
    if let Some(issuer) = &step.issuer {
        builder = builder.issuer(issuer);
    }
    if let Some(endpoint) = &step.endpoint {
        builder = builder.endpoint(endpoint);
    }
    builder = match step.method {
        HttpMethod::Post => builder.post(),
        HttpMethod::Get => builder.get(),
    };
    builder = match step.content_type {
        Encoding::Form => builder.form(),
        Encoding::Json => builder.json(),
    };
    if let Some(ttl) = step.ttl {
        builder = builder.ttl(ttl);
    }
    for param in &step.headers {
        let value = values.param("headers", param)?;
        builder = builder.header(&param.key, value);
    }
    for param in &step.data {
        let value = values.param("data", param)?;
        builder = builder.data(&param.key, value);
    }
    for param in &step.query {
        let value = values.param("query", param)?;
        builder = builder.query(&param.key, value);
    }
    for dependency in &step.depends_on {
        builder = builder.depends_on(&dependency.value);
    }
    for injection in &step.injections {
        let made = match &injection.target {
            InjectionTarget::Header(name) => Injection::header(&injection.from.value, name),
            InjectionTarget::Field(name) => Injection::field(&injection.from.value, name),
            InjectionTarget::Query(name) => Injection::query(&injection.from.value, name),
        };
        let mut made = made.part(injection.part.clone());
        if let Some(format) = &injection.format {
            made = made.format(format);
        }
        builder = builder.inject(made);
    }
    if let Some(client_auth) = &step.client_auth {
        builder = builder.client_auth(values.client_auth(client_auth)?);
    }
    Ok(builder)
}

/// Reads the values of one step, naming it and the key in errors.
struct Values<'s, 'r> {
    step: &'s str,
    resolver: &'s mut Resolver<'r>,
}

impl Values<'_, '_> {
    fn get(&mut self, key: &str, value: &SecretValue) -> Result<String, BuildError> {
        self.resolver.resolve(value).map_err(|error| BuildError {
            step: self.step.to_owned(),
            key: Some(key.to_owned()),
            kind: BuildErrorKind::Secret(error),
        })
    }

    fn param(&mut self, table: &str, param: &Param) -> Result<String, BuildError> {
        self.get(&format!("{table}.{}", param.key), &param.value)
    }

    fn refused(&self, key: Option<&str>, error: tokenfetch::Error) -> BuildError {
        BuildError {
            step: self.step.to_owned(),
            key: key.map(str::to_owned),
            kind: BuildErrorKind::Refused(error),
        }
    }

    fn client_auth(&mut self, spec: &ClientAuthSpec) -> Result<ClientAuth, BuildError> {
        let id = self.get("client_auth.client_id", &spec.client_id)?;
        let secret_key = "client_auth.client_secret";
        let auth = match &spec.method {
            AuthMethod::None => ClientAuth::none(id),
            AuthMethod::Post(secret) => ClientAuth::post(id, self.get(secret_key, secret)?),
            AuthMethod::Basic(secret) => ClientAuth::basic(id, self.get(secret_key, secret)?),
            AuthMethod::BasicUnencoded(secret) => {
                ClientAuth::basic_unencoded(id, self.get(secret_key, secret)?)
            }
            AuthMethod::Secret(secret) => ClientAuth::secret(id, self.get(secret_key, secret)?),
            AuthMethod::SecretJwt { secret, kid: None } => {
                ClientAuth::secret_jwt(id, self.get(secret_key, secret)?)
            }
            AuthMethod::SecretJwt {
                secret,
                kid: Some(kid),
            } => ClientAuth::private_key_jwt(
                id,
                SigningKey::hmac(self.get(secret_key, secret)?).with_kid(kid),
            ),
            AuthMethod::PrivateKeyJwt {
                key,
                algorithm,
                kid,
            } => {
                let key_name = "client_auth.private_key";
                let pem = self.get(key_name, key)?;
                let mut key = SigningKey::from_pem(*algorithm, pem)
                    .map_err(|error| self.refused(Some(key_name), error))?;
                if let Some(kid) = kid {
                    key = key.with_kid(kid);
                }
                ClientAuth::private_key_jwt(id, key)
            }
        };
        Ok(match &spec.audience {
            Some(audience) => auth.audience(audience),
            None => auth,
        })
    }

    fn grant(&mut self, spec: &GrantSpec) -> Result<Grant, BuildError> {
        let grant = match &spec.kind {
            GrantKind::ClientCredentials => Grant::client_credentials(),
            GrantKind::Password { username, password } => Grant::password(
                self.get("grant.username", username)?,
                self.get("grant.password", password)?,
            ),
            GrantKind::RefreshToken { refresh_token } => {
                Grant::refresh_token(self.get("grant.refresh_token", refresh_token)?)
            }
            GrantKind::JwtBearer { assertion } => {
                Grant::jwt_bearer(JwtBearer::from_step(&assertion.value))
            }
            GrantKind::DeviceCode { device_endpoint } => {
                let mut flow = DeviceFlow::new(|prompt| {
                    crate::session::tell_user(&format!(
                        "Open {} and enter {} (valid for {} s)",
                        prompt.verification_uri(),
                        prompt.user_code(),
                        prompt.expires_in().as_secs()
                    ));
                });
                if let Some(endpoint) = device_endpoint {
                    flow = flow.endpoint(endpoint);
                }
                Grant::device_code(flow)
            }
            GrantKind::TokenExchange(exchange) => {
                let mut made =
                    TokenExchange::subject(&exchange.subject.value, &exchange.subject_token_type);
                if let Some(actor) = &exchange.actor {
                    made = made.actor(&actor.step.value, &actor.token_type);
                }
                for audience in &exchange.audience {
                    made = made.audience(audience);
                }
                for resource in &exchange.resource {
                    made = made.resource(resource);
                }
                if let Some(requested) = &exchange.requested_token_type {
                    made = made.requested_token_type(requested);
                }
                Grant::token_exchange(made)
            }
        };
        Ok(grant.scopes(spec.scopes.iter().cloned()))
    }
}
