//! The syntax of the OAuth attributes: `#[client_auth(method, ..)]`,
//! `#[grant(kind, ..)]` on the struct and `#[private_key(..)]` on a field, parsed
//! into typed values that keep their spans. Checks of one attribute (an unknown
//! method, grant, key or token type, a scope that is not a scope token) are made
//! here; checks that span several attributes and fields are in `valid.rs`.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, LitStr, Meta, Path, Token};

use crate::attr::{Dependency, key_name, listed, set, skip_value, unknown_key};
use crate::ctxt::Ctxt;
use crate::symbol::*;
use crate::value;

/// A client authentication method of `#[client_auth]`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    None,
    Post,
    Basic,
    BasicUnencoded,
    SecretJwt,
    PrivateKeyJwt,
    /// A secret sent as the issuer's metadata says.
    Secret,
}

const AUTH_METHODS: &[(&str, AuthMethod)] = &[
    ("none", AuthMethod::None),
    ("post", AuthMethod::Post),
    ("basic", AuthMethod::Basic),
    ("basic_unencoded", AuthMethod::BasicUnencoded),
    ("secret_jwt", AuthMethod::SecretJwt),
    ("private_key_jwt", AuthMethod::PrivateKeyJwt),
    ("secret", AuthMethod::Secret),
];

impl AuthMethod {
    /// Whether the method sends the client secret.
    pub fn needs_secret(self) -> bool {
        !matches!(self, AuthMethod::None | AuthMethod::PrivateKeyJwt)
    }
}

/// `#[client_auth(basic, audience = "..")]`.
pub struct ClientAuth {
    pub method: AuthMethod,
    /// The method as written, for spans and messages.
    pub ident: Ident,
    pub audience: Option<LitStr>,
}

/// A grant of `#[grant]`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum GrantKind {
    ClientCredentials,
    Password,
    RefreshToken,
    JwtBearer,
    TokenExchange,
    DeviceCode,
}

const GRANTS: &[(&str, GrantKind, &[Symbol])] = &[
    ("client_credentials", GrantKind::ClientCredentials, &[SCOPE]),
    ("password", GrantKind::Password, &[SCOPE]),
    ("refresh_token", GrantKind::RefreshToken, &[SCOPE]),
    (
        "jwt_bearer",
        GrantKind::JwtBearer,
        &[SCOPE, ASSERTION, ISSUER, SUBJECT, AUDIENCE],
    ),
    (
        "token_exchange",
        GrantKind::TokenExchange,
        &[
            SCOPE,
            SUBJECT,
            SUBJECT_TOKEN_TYPE,
            ACTOR,
            ACTOR_TOKEN_TYPE,
            AUDIENCE,
            RESOURCE,
            REQUESTED_TOKEN_TYPE,
        ],
    ),
    (
        "device_code",
        GrantKind::DeviceCode,
        &[SCOPE, ON_PROMPT, ENDPOINT],
    ),
];

/// `#[grant(kind, key = value, ..)]`: the keys each kind takes.
pub struct Grant {
    pub kind: GrantKind,
    /// The grant as written, for spans and messages.
    pub ident: Ident,
    pub scope: Vec<LitStr>,
    /// Token exchange: the subject step. JWT bearer: the `sub` literal.
    pub subject: Option<Dependency>,
    pub subject_token_type: Option<TokenType>,
    pub actor: Option<Dependency>,
    pub actor_token_type: Option<TokenType>,
    pub audience: Vec<LitStr>,
    pub resource: Vec<LitStr>,
    pub requested_token_type: Option<TokenType>,
    /// JWT bearer: the step whose token is the assertion.
    pub assertion: Option<Dependency>,
    /// JWT bearer: the `iss` of a signed assertion.
    pub issuer: Option<LitStr>,
    pub on_prompt: Option<Path>,
    pub endpoint: Option<LitStr>,
}

/// A token type of RFC 8693 §3: its URN, from a short name or written out.
pub struct TokenType {
    pub urn: String,
}

const TOKEN_TYPES: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "jwt",
    "saml1",
    "saml2",
];

/// `#[private_key(algorithm = "ES256", kid = "..")]` on a field.
#[derive(Default)]
pub struct PrivateKey {
    /// The variant of `SigningAlgorithm`.
    pub algorithm: Option<Ident>,
    pub kid: Option<LitStr>,
}

/// The algorithms a `#[private_key]` signs with.
const ALGORITHMS: &[&str] = &["RS256", "PS256", "ES256", "EdDSA"];

/// Splits `#[name(first, key = value, ..)]` into its leading identifier and the
/// keys after it.
fn kind_and_keys(attr: &Attribute, usage: &str) -> syn::Result<(Ident, TokenStream)> {
    let Meta::List(list) = &attr.meta else {
        return Err(syn::Error::new_spanned(attr, usage));
    };
    (|input: ParseStream| {
        if !input.peek(Ident) {
            return Err(input.error(usage));
        }
        let ident: Ident = input.parse()?;
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
        }
        Ok((ident, input.parse()?))
    })
    .parse2(list.tokens.clone())
}

/// The entry of `choices` named `ident`, or an error with the nearest name (and
/// the attribute is left out of the checks that span several attributes).
fn choose<'a, T: Copy>(
    ident: &Ident,
    what: &str,
    attr: Symbol,
    choices: &'a [(&'a str, T)],
) -> syn::Result<T> {
    let name = ident.to_string();
    if let Some((_, value)) = choices.iter().find(|(candidate, _)| *candidate == name) {
        return Ok(*value);
    }
    let names: Vec<&str> = choices.iter().map(|(candidate, _)| *candidate).collect();
    Err(syn::Error::new_spanned(
        ident,
        format!(
            "unknown {what} `{name}` in `#[{attr}]`{}; expected one of {}",
            value::did_you_mean(&name, &names),
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ))
}

pub fn parse_client_auth(cx: &Ctxt, attr: &Attribute) -> syn::Result<ClientAuth> {
    let usage = "`#[client_auth]` needs the method: `#[client_auth(basic)]`, or `post`, `none`, `basic_unencoded`, `secret_jwt`, `private_key_jwt`, `secret`";
    let (ident, keys) = kind_and_keys(attr, usage)?;
    let method = choose(&ident, "client authentication", CLIENT_AUTH, AUTH_METHODS)?;
    let mut audience = None;
    syn::meta::parser(|meta| {
        if meta.path == AUDIENCE {
            let lit = meta.value()?.parse::<LitStr>()?;
            set(&meta, &mut audience, lit, CLIENT_AUTH)
        } else {
            unknown_key(cx, &meta, CLIENT_AUTH, &[AUDIENCE])
        }
    })
    .parse2(keys)?;
    Ok(ClientAuth {
        method,
        ident,
        audience,
    })
}

pub fn parse_grant(cx: &Ctxt, attr: &Attribute) -> syn::Result<Grant> {
    let usage = "`#[grant]` needs the grant: `#[grant(client_credentials)]`, or `password`, `refresh_token`, `jwt_bearer`, `token_exchange`, `device_code`";
    let (ident, keys) = kind_and_keys(attr, usage)?;
    let kinds: Vec<(&str, GrantKind)> = GRANTS
        .iter()
        .map(|(name, kind, _)| (*name, *kind))
        .collect();
    let kind = choose(&ident, "grant", GRANT, &kinds)?;
    let allowed: &[Symbol] = GRANTS
        .iter()
        .find(|(_, k, _)| *k == kind)
        .map_or(&[], |(_, _, keys)| keys);
    let mut grant = Grant {
        kind,
        ident: ident.clone(),
        scope: Vec::new(),
        subject: None,
        subject_token_type: None,
        actor: None,
        actor_token_type: None,
        audience: Vec::new(),
        resource: Vec::new(),
        requested_token_type: None,
        assertion: None,
        issuer: None,
        on_prompt: None,
        endpoint: None,
    };
    syn::meta::parser(|meta| {
        let Some(key) = allowed.iter().copied().find(|key| meta.path == *key) else {
            return unknown_for(cx, &meta, &ident, allowed);
        };
        if key == SCOPE {
            for scope in strings(&meta)? {
                if let Err(reason) = value::check_scope(&scope.value()) {
                    cx.error_spanned_by(&scope, format!("invalid scope in `#[grant]`: {reason}"));
                }
                grant.scope.push(scope);
            }
            Ok(())
        } else if key == AUDIENCE {
            grant.audience.extend(strings(&meta)?);
            Ok(())
        } else if key == RESOURCE {
            grant.resource.extend(strings(&meta)?);
            Ok(())
        } else if key == SUBJECT {
            let subject: Dependency = meta.value()?.parse()?;
            set(&meta, &mut grant.subject, subject, GRANT)
        } else if key == ACTOR {
            let actor: Dependency = meta.value()?.parse()?;
            set(&meta, &mut grant.actor, actor, GRANT)
        } else if key == ASSERTION {
            let assertion: Dependency = meta.value()?.parse()?;
            set(&meta, &mut grant.assertion, assertion, GRANT)
        } else if key == SUBJECT_TOKEN_TYPE
            || key == ACTOR_TOKEN_TYPE
            || key == REQUESTED_TOKEN_TYPE
        {
            let lit = meta.value()?.parse::<LitStr>()?;
            let parsed = token_type(cx, &lit);
            let slot = if key == SUBJECT_TOKEN_TYPE {
                &mut grant.subject_token_type
            } else if key == ACTOR_TOKEN_TYPE {
                &mut grant.actor_token_type
            } else {
                &mut grant.requested_token_type
            };
            set(&meta, slot, parsed, GRANT)
        } else if key == ISSUER {
            let lit = meta.value()?.parse::<LitStr>()?;
            set(&meta, &mut grant.issuer, lit, GRANT)
        } else if key == ON_PROMPT {
            let path: Path = meta.value()?.parse()?;
            set(&meta, &mut grant.on_prompt, path, GRANT)
        } else {
            let lit = meta.value()?.parse::<LitStr>()?;
            set(&meta, &mut grant.endpoint, lit, GRANT)
        }
    })
    .parse2(keys)?;
    Ok(grant)
}

pub fn parse_private_key(cx: &Ctxt, attr: &Attribute) -> syn::Result<PrivateKey> {
    let mut key = PrivateKey::default();
    if let Meta::Path(_) = attr.meta {
        return Ok(key);
    }
    attr.parse_nested_meta(|meta| {
        if meta.path == ALGORITHM {
            let lit = meta.value()?.parse::<LitStr>()?;
            let name = lit.value();
            let algorithm = if ALGORITHMS.contains(&name.as_str()) {
                Ident::new(&name, lit.span())
            } else {
                cx.error_spanned_by(
                    &lit,
                    format!(
                        "unsupported algorithm `{name}` for `#[private_key]`{}; expected one of {}",
                        value::did_you_mean(&name, ALGORITHMS),
                        ALGORITHMS.join(", ")
                    ),
                );
                Ident::new("RS256", lit.span())
            };
            set(&meta, &mut key.algorithm, algorithm, PRIVATE_KEY)
        } else if meta.path == KID {
            let lit = meta.value()?.parse::<LitStr>()?;
            set(&meta, &mut key.kid, lit, PRIVATE_KEY)
        } else {
            unknown_key(cx, &meta, PRIVATE_KEY, &[ALGORITHM, KID])
        }
    })?;
    Ok(key)
}

/// `"one"` or `["one", "two"]`.
fn strings(meta: &ParseNestedMeta) -> syn::Result<Vec<LitStr>> {
    let input = meta.value()?;
    if input.peek(LitStr) {
        return Ok(vec![input.parse()?]);
    }
    let content;
    syn::bracketed!(content in input);
    let list = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
    Ok(list.into_iter().collect())
}

fn token_type(cx: &Ctxt, lit: &LitStr) -> TokenType {
    let name = lit.value();
    let urn = if TOKEN_TYPES.contains(&name.as_str()) {
        format!("urn:ietf:params:oauth:token-type:{name}")
    } else if name.starts_with("urn:") {
        name
    } else {
        cx.error_spanned_by(
            lit,
            format!(
                "unknown token type `{name}`{}; expected one of {} (RFC 8693 §3), or a URN",
                value::did_you_mean(&name, TOKEN_TYPES),
                TOKEN_TYPES.join(", ")
            ),
        );
        String::new()
    };
    TokenType { urn }
}

fn unknown_for(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    grant: &Ident,
    expected: &[Symbol],
) -> syn::Result<()> {
    let key = key_name(meta);
    cx.syn_error(meta.error(format!(
        "`{key}` does not apply to `#[grant({grant})]`; it takes {}",
        listed(expected)
    )));
    skip_value(meta)
}
