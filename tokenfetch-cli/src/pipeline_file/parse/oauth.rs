//! A step's `client_auth` and `grant` tables: the method or grant type, and
//! the keys each one needs and takes (RFC 6749 §2.3, §4, §6; RFC 7523; RFC
//! 8628; RFC 8693).

use std::collections::HashMap;
use std::ops::Range;

use tokenfetch::SigningAlgorithm;

use super::{Reader, Value, absent, entries};
use crate::pipeline_file::diagnostic::one_of;
use crate::pipeline_file::schema::{
    AuthMethod, ClientAuthSpec, ExchangeSpec, ExchangedStep, GrantKind, GrantSpec, Spanned,
};
use crate::pipeline_file::secrets::SecretValue;
use crate::pipeline_file::values;

/// `client_auth.method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    None,
    Post,
    Basic,
    BasicUnencoded,
    SecretJwt,
    PrivateKeyJwt,
    Secret,
}

const METHODS: &[(&str, Method)] = &[
    ("none", Method::None),
    ("post", Method::Post),
    ("basic", Method::Basic),
    ("basic_unencoded", Method::BasicUnencoded),
    ("secret_jwt", Method::SecretJwt),
    ("private_key_jwt", Method::PrivateKeyJwt),
    ("secret", Method::Secret),
];

/// The keys of `client_auth`.
const CLIENT_AUTH_KEYS: &[&str] = &[
    "method",
    "client_id",
    "client_secret",
    "private_key",
    "algorithm",
    "kid",
    "audience",
];

/// The algorithms `private_key_jwt` signs with.
const ALGORITHMS: &[(&str, SigningAlgorithm)] = &[
    ("RS256", SigningAlgorithm::RS256),
    ("PS256", SigningAlgorithm::PS256),
    ("ES256", SigningAlgorithm::ES256),
    ("EdDSA", SigningAlgorithm::EdDSA),
];

impl Method {
    fn name(self) -> &'static str {
        METHODS
            .iter()
            .find(|(_, method)| *method == self)
            .map_or("", |(name, _)| name)
    }

    /// The keys the method takes besides `method` and `client_id`.
    fn takes(self, key: &str) -> bool {
        match key {
            "client_secret" => !matches!(self, Method::None | Method::PrivateKeyJwt),
            "private_key" | "algorithm" => self == Method::PrivateKeyJwt,
            "kid" | "audience" => matches!(self, Method::SecretJwt | Method::PrivateKeyJwt),
            _ => true,
        }
    }
}

/// `grant.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GrantType {
    ClientCredentials,
    Password,
    RefreshToken,
    TokenExchange,
    JwtBearer,
    DeviceCode,
}

const GRANT_TYPES: &[(&str, GrantType)] = &[
    ("client_credentials", GrantType::ClientCredentials),
    ("password", GrantType::Password),
    ("refresh_token", GrantType::RefreshToken),
    ("token_exchange", GrantType::TokenExchange),
    ("jwt_bearer", GrantType::JwtBearer),
    ("device_code", GrantType::DeviceCode),
];

impl GrantType {
    fn name(self) -> &'static str {
        GRANT_TYPES
            .iter()
            .find(|(_, kind)| *kind == self)
            .map_or("", |(name, _)| name)
    }

    /// The keys of this grant type, required ones first, besides `type` and
    /// `scope`.
    fn keys(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            GrantType::ClientCredentials => (&[], &[]),
            GrantType::Password => (&["username", "password"], &[]),
            GrantType::RefreshToken => (&["refresh_token"], &[]),
            GrantType::TokenExchange => (
                &["subject"],
                &[
                    "subject_token_type",
                    "actor",
                    "actor_token_type",
                    "audience",
                    "resource",
                    "requested_token_type",
                ],
            ),
            GrantType::JwtBearer => (&["assertion"], &[]),
            GrantType::DeviceCode => (&[], &["endpoint"]),
        }
    }

    fn takes(self, key: &str) -> bool {
        let (required, optional) = self.keys();
        matches!(key, "type" | "scope") || required.contains(&key) || optional.contains(&key)
    }
}

/// Every key of some grant type.
fn all_grant_keys() -> Vec<&'static str> {
    let mut keys = vec!["type", "scope"];
    for (_, kind) in GRANT_TYPES {
        let (required, optional) = kind.keys();
        keys.extend(required.iter().chain(optional));
    }
    keys
}

/// What was read of a `grant`.
#[derive(Debug, Default)]
pub(super) struct GrantRead {
    /// The grant, when it has no mistake.
    pub(super) grant: Option<GrantSpec>,
    /// The steps it names (`subject`, `actor`, `assertion`), whatever else is
    /// wrong.
    pub(super) steps: Vec<Spanned<String>>,
    /// For `device_code`: the span of the type and the `endpoint`.
    pub(super) device_code: Option<(Range<usize>, Option<Spanned<String>>)>,
}

impl Reader<'_> {
    /// Reads `client_auth`; `None` when it has a mistake.
    pub(super) fn client_auth(
        &mut self,
        value: &Value<'_>,
        step_place: &str,
    ) -> Option<ClientAuthSpec> {
        let of_step = step_place.replacen("in ", "of ", 1);
        let place = format!("in `client_auth` {of_step}");
        let table = self.table(value, "client_auth", step_place)?;
        let mut valid = true;
        let mut method = None;
        let mut client_id = None;
        let mut secrets: HashMap<&str, SecretValue> = HashMap::new();
        let mut algorithm = None;
        let mut kid = None;
        let mut audience = None;
        let mut present: Vec<(&str, Range<usize>)> = Vec::new();
        for (key, value) in entries(table) {
            let name = key.get_ref().as_ref();
            let Some(known) = CLIENT_AUTH_KEYS.iter().find(|known| **known == name) else {
                valid = false;
                self.unknown_key(key, CLIENT_AUTH_KEYS, &place);
                continue;
            };
            present.push((known, key.span()));
            let read = match *known {
                "method" => {
                    method = self.choice(value, known, &place, METHODS);
                    method.is_some()
                }
                "client_id" => {
                    client_id = self
                        .secret(value, known, &place, None)
                        .map(|id| Spanned::new(id, value.span()));
                    client_id.is_some()
                }
                "client_secret" | "private_key" => self
                    .secret(value, known, &place, Some(known))
                    .map(|secret| secrets.insert(known, secret))
                    .is_some(),
                "algorithm" => {
                    algorithm = self.choice(value, known, &place, ALGORITHMS);
                    algorithm.is_some()
                }
                "kid" => {
                    kid = self.name(value, known, &place);
                    kid.is_some()
                }
                _ => {
                    audience = self.name(value, known, &place);
                    audience.is_some()
                }
            };
            valid &= read;
        }
        let Some(method) = method else {
            if absent(table, "method", CLIENT_AUTH_KEYS) {
                let names: Vec<&str> = METHODS.iter().map(|(name, _)| *name).collect();
                self.error_help(
                    value.span(),
                    format!("`client_auth` {of_step} has no `method`"),
                    format!("add `method = \"...\"`, one of {}", one_of(&names)),
                );
            }
            return None;
        };
        let method_name = method.value.name();
        for (key, span) in &present {
            if !method.value.takes(key) {
                valid = false;
                self.error_help(
                    span.clone(),
                    format!(
                        "`{key}` is not used by `client_auth` method `{method_name}` {of_step}"
                    ),
                    format!("remove it, or choose a method that takes `{key}`"),
                );
            }
        }
        let require = |reader: &mut Self, key: &str| {
            if absent(table, key, CLIENT_AUTH_KEYS) {
                reader.error_help(
                    method.span.clone(),
                    format!("`client_auth` method `{method_name}` {of_step} needs `{key}`"),
                    format!("add `{key} = \"...\"` (it may be `env:`, `file:` or `cmd:`)"),
                );
                false
            } else {
                true
            }
        };
        valid &= require(self, "client_id");
        match method.value {
            Method::None => {}
            Method::PrivateKeyJwt => valid &= require(self, "private_key"),
            _ => valid &= require(self, "client_secret"),
        }
        if let Some(id) = &client_id
            && let SecretValue::Literal(text) = &id.value
        {
            if text.is_empty() {
                valid = false;
                self.error(id.span.clone(), format!("`client_id` {place} is empty"));
            } else if method.value == Method::BasicUnencoded && text.contains(':') {
                valid = false;
                let message = format!(
                    "a client id with `:` cannot be sent in unencoded Basic authentication {place}"
                );
                let help = "use `method = \"basic\"`, which form-urlencodes it";
                self.error_help(id.span.clone(), message, help);
            }
        }
        if !valid {
            return None;
        }
        let client_id = client_id?.value;
        let mut secret = |key: &str| secrets.remove(key);
        let kid = kid.map(|kid| kid.value);
        let method = match method.value {
            Method::None => AuthMethod::None,
            Method::Post => AuthMethod::Post(secret("client_secret")?),
            Method::Basic => AuthMethod::Basic(secret("client_secret")?),
            Method::BasicUnencoded => AuthMethod::BasicUnencoded(secret("client_secret")?),
            Method::Secret => AuthMethod::Secret(secret("client_secret")?),
            Method::SecretJwt => AuthMethod::SecretJwt {
                secret: secret("client_secret")?,
                kid,
            },
            Method::PrivateKeyJwt => AuthMethod::PrivateKeyJwt {
                key: secret("private_key")?,
                algorithm: algorithm.map_or(SigningAlgorithm::RS256, |algorithm| algorithm.value),
                kid,
            },
        };
        Some(ClientAuthSpec {
            method,
            client_id,
            audience: audience.map(|audience| audience.value),
        })
    }

    /// Reads `grant`.
    pub(super) fn grant(&mut self, value: &Value<'_>, step_place: &str) -> GrantRead {
        let of_step = step_place.replacen("in ", "of ", 1);
        let place = format!("in `grant` {of_step}");
        let mut read = GrantRead::default();
        let Some(table) = self.table(value, "grant", step_place) else {
            return read;
        };
        let kind = table
            .get("type")
            .and_then(|kind| self.choice(kind, "type", &place, GRANT_TYPES));
        let mut valid = kind.is_some();
        if absent(table, "type", &all_grant_keys()) {
            let names: Vec<&str> = GRANT_TYPES.iter().map(|(name, _)| *name).collect();
            self.error_help(
                value.span(),
                format!("`grant` {of_step} has no `type`"),
                format!("add `type = \"...\"`, one of {}", one_of(&names)),
            );
        }
        let all_keys = all_grant_keys();
        let mut strings: HashMap<&str, Spanned<String>> = HashMap::new();
        let mut secrets: HashMap<&str, SecretValue> = HashMap::new();
        let mut lists: HashMap<&str, Vec<Spanned<String>>> = HashMap::new();
        for (key, value) in entries(table) {
            let name = key.get_ref().as_ref();
            if name == "type" {
                continue;
            }
            let Some(known) = all_keys.iter().find(|known| **known == name) else {
                valid = false;
                let candidates: Vec<&str> = match &kind {
                    Some(kind) => all_keys
                        .iter()
                        .copied()
                        .filter(|key| kind.value.takes(key))
                        .collect(),
                    None => all_keys.clone(),
                };
                self.unknown_key(key, &candidates, &place);
                continue;
            };
            if let Some(kind) = &kind
                && !kind.value.takes(known)
            {
                valid = false;
                let owners: Vec<&str> = GRANT_TYPES
                    .iter()
                    .filter(|(_, other)| other.takes(known))
                    .map(|(name, _)| *name)
                    .collect();
                self.error_help(
                    key.span(),
                    format!(
                        "`{known}` is not a parameter of grant type `{}` {place}",
                        kind.value.name()
                    ),
                    format!("`{known}` is for {}", one_of(&owners)),
                );
                continue;
            }
            let ok = match *known {
                "scope" | "audience" | "resource" => self
                    .string_list(value, known, &place)
                    .map(|list| lists.insert(known, list))
                    .is_some(),
                "username" => self
                    .secret(value, known, &place, None)
                    .map(|secret| secrets.insert(known, secret))
                    .is_some(),
                "password" | "refresh_token" => self
                    .secret(value, known, &place, Some(known))
                    .map(|secret| secrets.insert(known, secret))
                    .is_some(),
                _ => self
                    .name(value, known, &place)
                    .map(|text| strings.insert(known, text))
                    .is_some(),
            };
            valid &= ok;
        }
        for key in ["subject", "actor", "assertion"] {
            if let Some(step) = strings.get(key) {
                read.steps.push(step.clone());
            }
        }
        let Some(kind) = kind else {
            return read;
        };
        let (required, _) = kind.value.keys();
        for key in required {
            if absent(table, key, &all_keys) {
                valid = false;
                self.error_help(
                    kind.span.clone(),
                    format!("grant type `{}` {of_step} needs `{key}`", kind.value.name()),
                    format!("add `{key} = \"...\"`"),
                );
            }
        }
        if kind.value == GrantType::DeviceCode {
            read.device_code = Some((kind.span.clone(), strings.get("endpoint").cloned()));
        }
        let scopes = lists.remove("scope").unwrap_or_default();
        for scope in &scopes {
            if !values::is_scope(&scope.value) {
                valid = false;
                let message = format!("a `scope` {place} is not a scope token (RFC 6749 §3.3)");
                let help = "a scope is visible ASCII without spaces, `\"` or `\\`; \
                            give each scope as its own entry";
                self.error_help(scope.span.clone(), message, help);
            }
        }
        let token_type = |reader: &mut Self, key: &str| -> Option<Option<String>> {
            let Some(written) = strings.get(key) else {
                return Some(None);
            };
            match values::token_type(&written.value) {
                Ok(urn) => Some(Some(urn)),
                Err(help) => {
                    reader.error_help(
                        written.span.clone(),
                        format!("invalid `{key}` {place}"),
                        help,
                    );
                    None
                }
            }
        };
        let grant_kind = match kind.value {
            GrantType::ClientCredentials => Some(GrantKind::ClientCredentials),
            GrantType::Password => match (secrets.remove("username"), secrets.remove("password")) {
                (Some(username), Some(password)) => {
                    Some(GrantKind::Password { username, password })
                }
                _ => None,
            },
            GrantType::RefreshToken => secrets
                .remove("refresh_token")
                .map(|refresh_token| GrantKind::RefreshToken { refresh_token }),
            GrantType::JwtBearer => strings
                .get("assertion")
                .cloned()
                .map(|assertion| GrantKind::JwtBearer { assertion }),
            GrantType::DeviceCode => Some(GrantKind::DeviceCode {
                device_endpoint: strings
                    .get("endpoint")
                    .map(|endpoint| endpoint.value.clone()),
            }),
            GrantType::TokenExchange => {
                let subject_token_type = token_type(self, "subject_token_type");
                let actor_token_type = token_type(self, "actor_token_type");
                let requested_token_type = token_type(self, "requested_token_type");
                if let (None, Some(actor_type)) =
                    (strings.get("actor"), strings.get("actor_token_type"))
                {
                    valid = false;
                    self.error_help(
                        actor_type.span.clone(),
                        format!("`actor_token_type` {place} needs `actor`"),
                        "add `actor = \"STEP\"`, the step whose token is the actor's",
                    );
                }
                let resource = lists.remove("resource").unwrap_or_default();
                for uri in &resource {
                    if let Err(why) = values::check_url(&uri.value, true) {
                        valid = false;
                        self.error_help(
                            uri.span.clone(),
                            format!("invalid `resource` {place}"),
                            why,
                        );
                    }
                }
                match (
                    subject_token_type,
                    actor_token_type,
                    requested_token_type,
                    strings.get("subject"),
                ) {
                    (Some(subject_type), Some(actor_type), Some(requested), Some(subject)) => {
                        Some(GrantKind::TokenExchange(ExchangeSpec {
                            subject: subject.clone(),
                            subject_token_type: subject_type
                                .unwrap_or_else(|| ACCESS_TOKEN.to_owned()),
                            actor: strings.get("actor").map(|actor| ExchangedStep {
                                step: actor.clone(),
                                token_type: actor_type.unwrap_or_else(|| ACCESS_TOKEN.to_owned()),
                            }),
                            audience: lists
                                .remove("audience")
                                .unwrap_or_default()
                                .into_iter()
                                .map(|audience| audience.value)
                                .collect(),
                            resource: resource.into_iter().map(|uri| uri.value).collect(),
                            requested_token_type: requested,
                        }))
                    }
                    _ => None,
                }
            }
        };
        if valid && let Some(grant_kind) = grant_kind {
            read.grant = Some(GrantSpec {
                kind: grant_kind,
                scopes: scopes.into_iter().map(|scope| scope.value).collect(),
            });
        }
        read
    }
}

/// The token type of an exchanged token when none is given, as the derive
/// does.
const ACCESS_TOKEN: &str = tokenfetch::token_type::ACCESS_TOKEN;
