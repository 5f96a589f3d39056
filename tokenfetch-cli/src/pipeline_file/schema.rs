//! The typed model of a pipeline file: its defaults and its steps, each value
//! already checked, with the spans the graph rules point at. Only a file with
//! no error becomes a [`PipelineFile`](super::PipelineFile); while a file is
//! read, a sub-table with a mistake is left out (`None`) rather than guessed.

use std::ops::Range;
use std::time::Duration;

use tokenfetch::{SigningAlgorithm, TokenPart};

use super::secrets::SecretValue;

/// A value and the bytes of the file it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Spanned<T> {
    pub(super) value: T,
    pub(super) span: Range<usize>,
}

impl<T> Spanned<T> {
    pub(super) fn new(value: T, span: Range<usize>) -> Self {
        Spanned { value, span }
    }
}

/// `[defaults]`: applied to every step that does not set its own.
#[derive(Debug, Clone, Default)]
pub(super) struct Defaults {
    pub(super) base_url: Option<String>,
    pub(super) timeout: Option<Duration>,
    pub(super) allow_insecure_http: bool,
}

/// `[steps.NAME]`.
#[derive(Debug, Clone)]
pub(super) struct Step {
    /// The name, spanned at the table's key.
    pub(super) name: Spanned<String>,
    pub(super) endpoint: Option<String>,
    pub(super) issuer: Option<String>,
    pub(super) base_url: Option<String>,
    pub(super) timeout: Option<Duration>,
    pub(super) ttl: Option<Duration>,
    pub(super) allow_insecure_http: Option<bool>,
    pub(super) method: HttpMethod,
    pub(super) content_type: Encoding,
    pub(super) headers: Vec<Param>,
    pub(super) data: Vec<Param>,
    pub(super) query: Vec<Param>,
    /// `depends_on` as written, each entry spanned.
    pub(super) depends_on: Vec<Spanned<String>>,
    pub(super) injections: Vec<InjectionSpec>,
    pub(super) source: TokenSource,
    pub(super) client_auth: Option<ClientAuthSpec>,
    pub(super) grant: Option<GrantSpec>,
    /// The steps whose tokens the grant carries (token exchange's `subject`
    /// and `actor`, the JWT bearer's `assertion`), spanned where they are
    /// named: kept even when the rest of the grant has a mistake, for the graph
    /// rules.
    pub(super) grant_steps: Vec<Spanned<String>>,
}

impl Step {
    /// Every dependency, each once: `depends_on` in its order, then the steps
    /// the grant carries, as tokenfetch's builder adds them.
    pub(super) fn all_dependencies(&self) -> Vec<&Spanned<String>> {
        let mut all: Vec<&Spanned<String>> = Vec::new();
        for dependency in self.depends_on.iter().chain(&self.grant_steps) {
            if !all.iter().any(|known| known.value == dependency.value) {
                all.push(dependency);
            }
        }
        all
    }
}

/// `method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum HttpMethod {
    #[default]
    Post,
    Get,
}

/// `content_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Encoding {
    #[default]
    Form,
    Json,
}

/// One entry of `headers`, `data`, `query` or `refresh_data`.
#[derive(Debug, Clone)]
pub(super) struct Param {
    pub(super) key: String,
    pub(super) value: SecretValue,
}

/// Where the token is read.
#[derive(Debug, Clone)]
pub(super) enum TokenSource {
    /// From the body (the default).
    Body(BodySpec),
    /// From a response header: `token_header`, `token_type`.
    Header {
        header: String,
        token_type: Option<String>,
    },
}

/// The settings of a step reading its token from the body.
#[derive(Debug, Clone, Default)]
pub(super) struct BodySpec {
    pub(super) token_field: Option<String>,
    pub(super) token_type_field: Option<String>,
    pub(super) expires_in_field: Option<String>,
    pub(super) expires_at_field: Option<String>,
    pub(super) refresh_token_field: Option<String>,
    pub(super) default_token_type: Option<String>,
    pub(super) refresh_grant: bool,
    pub(super) refresh_data: Vec<Param>,
}

/// One entry of `inject_header`, `inject_field` or `inject_query`.
#[derive(Debug, Clone)]
pub(super) struct InjectionSpec {
    pub(super) from: Spanned<String>,
    pub(super) target: InjectionTarget,
    pub(super) part: TokenPart,
    pub(super) format: Option<String>,
}

/// Where an injection puts the token.
#[derive(Debug, Clone)]
pub(super) enum InjectionTarget {
    Header(String),
    Field(String),
    Query(String),
}

/// `client_auth`.
#[derive(Debug, Clone)]
pub(super) struct ClientAuthSpec {
    pub(super) method: AuthMethod,
    pub(super) client_id: SecretValue,
    /// The `aud` of client assertions (`secret_jwt`, `private_key_jwt`).
    pub(super) audience: Option<String>,
}

/// `client_auth.method` and what it needs.
#[derive(Debug, Clone)]
pub(super) enum AuthMethod {
    None,
    Post(SecretValue),
    Basic(SecretValue),
    BasicUnencoded(SecretValue),
    Secret(SecretValue),
    SecretJwt {
        secret: SecretValue,
        kid: Option<String>,
    },
    PrivateKeyJwt {
        key: SecretValue,
        algorithm: SigningAlgorithm,
        kid: Option<String>,
    },
}

/// `grant`.
#[derive(Debug, Clone)]
pub(super) struct GrantSpec {
    pub(super) kind: GrantKind,
    pub(super) scopes: Vec<String>,
}

/// `grant.type` and its parameters.
#[derive(Debug, Clone)]
pub(super) enum GrantKind {
    ClientCredentials,
    Password {
        username: SecretValue,
        password: SecretValue,
    },
    RefreshToken {
        refresh_token: SecretValue,
    },
    TokenExchange(ExchangeSpec),
    JwtBearer {
        assertion: Spanned<String>,
    },
    DeviceCode {
        device_endpoint: Option<String>,
    },
}

/// A token exchange's parameters; token types as URNs.
#[derive(Debug, Clone)]
pub(super) struct ExchangeSpec {
    pub(super) subject: Spanned<String>,
    pub(super) subject_token_type: String,
    pub(super) actor: Option<ExchangedStep>,
    pub(super) audience: Vec<String>,
    pub(super) resource: Vec<String>,
    pub(super) requested_token_type: Option<String>,
}

/// The actor of a token exchange.
#[derive(Debug, Clone)]
pub(super) struct ExchangedStep {
    pub(super) step: Spanned<String>,
    pub(super) token_type: String,
}
