//! Rules that span several attributes: an endpoint unless there is an issuer,
//! the token read from at most one place, dependencies listed once and never the
//! step itself, every injection taking its token from a listed dependency, field
//! roles, and what `#[client_auth]` and `#[grant]` need. Checks of a single
//! attribute or value are made while parsing, in `attr.rs` and `oauth_attr.rs`.

use std::collections::HashSet;

use syn::Type;

use crate::ast::{Field, Input};
use crate::attr::{ContentType, Dependency, FieldRole, Method};
use crate::ctxt::Ctxt;
use crate::oauth_attr::{AuthMethod, GrantKind};
use crate::symbol::*;
use crate::value;

pub fn check(cx: &Ctxt, input: &Input) {
    check_endpoint(cx, input);
    check_token_source(cx, input);
    check_dependencies(cx, input);
    check_injections(cx, input);
    check_roles(cx, input);
    check_client_auth(cx, input);
    check_grant(cx, input);
}

fn check_endpoint(cx: &Ctxt, input: &Input) {
    if !input.attrs.endpoint.seen() && !has_issuer(input) {
        cx.error_spanned_by(
            input.ident,
            format!(
                "missing `#[{ENDPOINT}(\"/path\")]` attribute: a step needs the endpoint its request goes to, or an `#[{ISSUER}(..)]` whose metadata names it"
            ),
        );
    }
}

fn has_issuer(input: &Input) -> bool {
    input.attrs.issuer.seen() || role(input, |role| matches!(role, FieldRole::Issuer)).is_some()
}

/// The first field with a role `is` accepts.
fn role<'a>(input: &'a Input, is: impl Fn(&FieldRole) -> bool) -> Option<&'a Field<'a>> {
    input.fields.iter().find(|field| is(&field.role))
}

fn check_token_source(cx: &Ctxt, input: &Input) {
    let sources = &input.attrs.sources;
    match sources.first() {
        // The default: the body's `access_token`.
        None => {}
        Some((first, _)) => {
            if let Some((second, path)) = sources.iter().find(|(symbol, _)| symbol != first) {
                cx.error_spanned_by(
                    path,
                    format!(
                        "`#[{second}]` conflicts with `#[{first}]`: a step reads its token from the body or from a header, not both"
                    ),
                );
            }
        }
    }
}

fn check_dependencies(cx: &Ctxt, input: &Input) {
    let Some(dependencies) = &input.attrs.depends_on.value else {
        return;
    };
    let mut seen = HashSet::new();
    for dependency in dependencies {
        if is_self(input, dependency) {
            cx.error_spanned_by(
                dependency,
                format!(
                    "step `{}` cannot depend on itself in `#[{DEPENDS_ON}]`",
                    input.name.value()
                ),
            );
        } else if !seen.insert(dependency.key()) {
            cx.error_spanned_by(
                dependency,
                format!(
                    "duplicate dependency `{}` in `#[{DEPENDS_ON}]`",
                    dependency.describe()
                ),
            );
        }
    }
}

/// Whether a dependency names the deriving struct: `Self`, the struct's name, or
/// the step's name.
fn is_self(input: &Input, dependency: &Dependency) -> bool {
    match dependency {
        Dependency::Name(name) => name.value() == input.name.value(),
        Dependency::Type(ty) => match &**ty {
            Type::Path(path) if path.qself.is_none() => {
                path.path.segments.len() == 1
                    && (path.path.segments[0].ident == "Self"
                        || path.path.segments[0].ident == *input.ident)
            }
            _ => false,
        },
    }
}

fn check_injections(cx: &Ctxt, input: &Input) {
    if input.attrs.depends_on.seen() && input.attrs.depends_on.value.is_none() {
        // `#[depends_on]` did not parse; its error is reported already.
        return;
    }
    let declared: HashSet<String> = input
        .attrs
        .depends_on
        .value
        .iter()
        .flatten()
        .map(Dependency::key)
        .collect();
    let dependencies = input.attrs.depends_on.value.iter().flatten();
    let names: Vec<String> = dependencies.map(Dependency::describe).collect();
    for injection in &input.attrs.injections {
        if !declared.contains(&injection.from.key()) {
            let from = injection.from.describe();
            let advice = match value::nearest(&from, &names) {
                Some(near) => format!("did you mean `{near}`?"),
                None => "add it there".to_owned(),
            };
            cx.error_spanned_by(
                &injection.from,
                format!(
                    "`#[{}]` takes its token from `{from}`, which is not in `#[{DEPENDS_ON}(..)]`; {advice}",
                    injection.attr,
                ),
            );
        }
    }
}

/// A field role of the OAuth attributes appears once, never on an `Option`, and
/// where a base URL or an issuer is a field it is not also a literal.
fn check_roles(cx: &Ctxt, input: &Input) {
    let mut seen: Vec<Symbol> = Vec::new();
    for field in &input.fields {
        let attribute = field.role.attribute();
        if matches!(
            field.role,
            FieldRole::Body(_) | FieldRole::Header(_) | FieldRole::Query(_) | FieldRole::Skip
        ) {
            continue;
        }
        if seen.contains(&attribute) {
            cx.error_spanned_by(
                field.ident,
                format!("duplicate `#[{attribute}]` field: one field has this role"),
            );
        }
        seen.push(attribute);
        if field.option.is_some() {
            cx.error_spanned_by(
                field.ty,
                format!("a `#[{attribute}]` field cannot be an `Option`: the step always needs it"),
            );
        }
    }
    if let Some(field) = role(input, |role| matches!(role, FieldRole::BaseUrl))
        && let Some(endpoint) = &input.attrs.endpoint.value
        && let Some(literal) = &endpoint.base_url
    {
        cx.error_spanned_by(
            literal,
            format!(
                "`base_url` is given twice: here and by the `#[{BASE_URL}]` field `{}`; keep one",
                field.ident
            ),
        );
    }
    if let Some(field) = role(input, |role| matches!(role, FieldRole::Issuer))
        && let Some(path) = &input.attrs.issuer.first
    {
        cx.error_spanned_by(
            path,
            format!(
                "the issuer is given twice: here and by the `#[{ISSUER}]` field `{}`; keep one",
                field.ident
            ),
        );
    }
}

fn check_client_auth(cx: &Ctxt, input: &Input) {
    let client_id = role(input, |role| matches!(role, FieldRole::ClientId));
    let secret = role(input, |role| matches!(role, FieldRole::ClientSecret));
    let key = role(input, |role| matches!(role, FieldRole::PrivateKey(_)));
    let Some(auth) = &input.attrs.client_auth.value else {
        if !input.attrs.client_auth.seen() {
            for field in [client_id, secret].into_iter().flatten() {
                cx.error_spanned_by(
                    field.ident,
                    format!(
                        "`#[{}]` needs `#[{CLIENT_AUTH}(..)]` on the struct, saying how the client authenticates, such as `#[{CLIENT_AUTH}(basic)]`",
                        field.role.attribute()
                    ),
                );
            }
        }
        return;
    };
    let method = &auth.ident;
    if !input.attrs.grant.seen()
        && let Some(endpoint) = &input.attrs.endpoint.value
        && (endpoint.method == Method::Get || endpoint.content_type == ContentType::Json)
    {
        cx.error_spanned_by(
            &endpoint.path,
            format!("`#[{CLIENT_AUTH}({method})]` is sent in a form POST (RFC 6749 §3.2): remove `method = \"GET\"` and `content_type = \"json\"` from `#[{ENDPOINT}]`"),
        );
    }
    if client_id.is_none() {
        cx.error_spanned_by(
            method,
            format!(
                "`#[{CLIENT_AUTH}({method})]` needs the client id: mark a field `#[{CLIENT_ID}]`"
            ),
        );
    }
    if auth.method.needs_secret() && secret.is_none() {
        cx.error_spanned_by(
            method,
            format!(
                "`#[{CLIENT_AUTH}({method})]` sends the client secret: mark a field `#[{CLIENT_SECRET}]` (a `tokenfetch::Secret`)"
            ),
        );
    }
    if !auth.method.needs_secret()
        && let Some(secret) = secret
    {
        cx.error_spanned_by(
            secret.ident,
            format!("`#[{CLIENT_AUTH}({method})]` sends no client secret: remove `#[{CLIENT_SECRET}]`, or pick a method that sends it"),
        );
    }
    if auth.method == AuthMethod::PrivateKeyJwt && key.is_none() {
        cx.error_spanned_by(
            method,
            format!("`#[{CLIENT_AUTH}(private_key_jwt)]` signs with the client's private key: mark a field `#[{PRIVATE_KEY}(algorithm = \"RS256\")]` holding the PEM"),
        );
    }
    if auth.audience.is_some()
        && !matches!(
            auth.method,
            AuthMethod::SecretJwt | AuthMethod::PrivateKeyJwt
        )
    {
        cx.error_spanned_by(
            method,
            format!("`audience` applies to the JWT methods (`secret_jwt`, `private_key_jwt`), not to `{method}`"),
        );
    }
}

fn check_grant(cx: &Ctxt, input: &Input) {
    let key = role(input, |role| matches!(role, FieldRole::PrivateKey(_)));
    let signs =
        input
            .attrs
            .client_auth
            .value
            .as_ref()
            .is_some_and(|auth| auth.method == AuthMethod::PrivateKeyJwt)
            || input.attrs.grant.value.as_ref().is_some_and(|grant| {
                grant.kind == GrantKind::JwtBearer && grant.assertion.is_none()
            });
    // An attribute that did not parse is reported already, and may have signed.
    let unparsed = (input.attrs.client_auth.seen() && input.attrs.client_auth.value.is_none())
        || (input.attrs.grant.seen() && input.attrs.grant.value.is_none());
    if let Some(key) = key
        && !signs
        && !unparsed
    {
        cx.error_spanned_by(
            key.ident,
            format!("nothing signs with `#[{PRIVATE_KEY}]`: use `#[{CLIENT_AUTH}(private_key_jwt)]` or `#[{GRANT}(jwt_bearer, issuer = .., subject = ..)]`"),
        );
    }
    let Some(grant) = &input.attrs.grant.value else {
        return;
    };
    let kind = &grant.ident;
    if let Some((_, path)) = input
        .attrs
        .sources
        .iter()
        .find(|(symbol, _)| *symbol == TOKEN_HEADER)
    {
        cx.error_spanned_by(
            path,
            format!("`#[{GRANT}({kind})]` reads the token from the body, as OAuth 2.0 sends it; remove `#[{TOKEN_HEADER}]`"),
        );
    }
    if let Some(endpoint) = &input.attrs.endpoint.value
        && (endpoint.method == Method::Get || endpoint.content_type == ContentType::Json)
    {
        cx.error_spanned_by(
            &endpoint.path,
            format!("`#[{GRANT}({kind})]` is sent as a form POST (RFC 6749 §3.2): remove `method = \"GET\"` and `content_type = \"json\"` from `#[{ENDPOINT}]`"),
        );
    }
    let body_field = |name: &str| {
        input.fields.iter().find(|field| {
            matches!(field.role, FieldRole::Body(_))
                && field.wire_name().is_some_and(|wire| wire.value() == name)
        })
    };
    let required: &[&str] = match grant.kind {
        GrantKind::Password => &["username", "password"],
        GrantKind::RefreshToken => &["refresh_token"],
        _ => &[],
    };
    for name in required {
        match body_field(name) {
            None => cx.error_spanned_by(
                kind,
                format!("`#[{GRANT}({kind})]` sends `{name}`: add a field `{name}` (or one marked `#[field(\"{name}\")]`)"),
            ),
            Some(field) if field.option.is_some() => cx.error_spanned_by(
                field.ty,
                format!("`#[{GRANT}({kind})]` always sends `{name}`: the field cannot be an `Option`"),
            ),
            Some(_) => {}
        }
    }
    match grant.kind {
        GrantKind::TokenExchange => {
            match &grant.subject {
                None => cx.error_spanned_by(
                    kind,
                    "`#[grant(token_exchange)]` needs `subject = Step`, the step whose token is exchanged",
                ),
                Some(subject) if is_self(input, subject) => cx.error_spanned_by(
                    subject,
                    "a step cannot exchange its own token: `subject` names another step",
                ),
                Some(_) => {}
            }
            if grant.actor_token_type.is_some() && grant.actor.is_none() {
                cx.error_spanned_by(kind, "`actor_token_type` needs `actor = Step`");
            }
        }
        GrantKind::JwtBearer => {
            if let Some(second) = grant.audience.get(1) {
                cx.error_spanned_by(second, "a signed JWT bearer assertion has one `audience`");
            }
            let signed = grant.issuer.is_some() || grant.subject.is_some();
            match (&grant.assertion, signed) {
                (Some(assertion), true) => cx.error_spanned_by(
                    assertion,
                    "`#[grant(jwt_bearer)]` takes its assertion from a step (`assertion = Step`) or signs one (`issuer`, `subject` and a `#[private_key]` field), not both",
                ),
                (Some(_), false) => {}
                (None, _) => {
                    if grant.issuer.is_none() || !matches!(grant.subject, Some(Dependency::Name(_))) || key.is_none() {
                        cx.error_spanned_by(
                            kind,
                            "`#[grant(jwt_bearer)]` needs an assertion: `assertion = Step` for a step's token, or `issuer = \"..\", subject = \"..\"` and a `#[private_key]` field to sign one",
                        );
                    }
                }
            }
        }
        GrantKind::DeviceCode => {
            if grant.on_prompt.is_none() {
                cx.error_spanned_by(
                    kind,
                    "`#[grant(device_code)]` needs `on_prompt = path::to::function`, a `fn(&tokenfetch::DevicePrompt)` that shows the user the code and where to enter it",
                );
            }
            if !input.attrs.client_auth.seen() {
                cx.error_spanned_by(
                    kind,
                    "`#[grant(device_code)]` needs the client's id: add `#[client_auth(none)]` and a `#[client_id]` field (or the client's own authentication)",
                );
            }
        }
        GrantKind::ClientCredentials | GrantKind::Password | GrantKind::RefreshToken => {}
    }
}
