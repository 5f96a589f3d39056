//! Attribute syntax: every `#[...]` the derive understands, parsed into typed values
//! that keep their spans. Checks that concern a single attribute or a single value
//! (unknown or duplicate keys, a bad ttl, a header name that is not a token) are
//! made here; checks that span several attributes are in `valid.rs`.

use std::time::Duration;

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Attribute, LitBool, LitStr, Meta, Path, Token, Type};

use crate::ctxt::Ctxt;
use crate::oauth_attr::{self, ClientAuth, Grant, PrivateKey};
use crate::symbol::*;
use crate::value;

/// An attribute that may appear once: where it first appeared, and its value when
/// it parsed.
pub struct Once<T> {
    pub first: Option<Path>,
    pub value: Option<T>,
}

impl<T> Default for Once<T> {
    fn default() -> Self {
        Once {
            first: None,
            value: None,
        }
    }
}

impl<T> Once<T> {
    pub fn seen(&self) -> bool {
        self.first.is_some()
    }
}

/// The attributes on the struct.
#[derive(Default)]
pub struct Container {
    pub endpoint: Once<Endpoint>,
    pub token_field: Once<TokenField>,
    pub token_header: Once<TokenHeader>,
    pub step: Once<Step>,
    pub depends_on: Once<Vec<Dependency>>,
    pub injections: Vec<Inject>,
    pub constants: Vec<Constant>,
    pub client_auth: Once<ClientAuth>,
    pub grant: Once<Grant>,
    /// `#[issuer("https://..")]`.
    pub issuer: Once<LitStr>,
    /// `#[token_field]` and `#[token_header]` in the order they appear.
    pub sources: Vec<(Symbol, Path)>,
}

/// `#[endpoint("/path", method = "GET", content_type = "json", ...)]`.
pub struct Endpoint {
    pub path: LitStr,
    pub method: Method,
    pub content_type: ContentType,
    pub base_url: Option<LitStr>,
    pub timeout: Option<Duration>,
    pub verify_ssl: Option<bool>,
    pub allow_insecure_http: Option<bool>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    Form,
    Json,
}

/// `#[token_field("access_token", token_type_field = "..", ...)]`.
pub struct TokenField {
    pub field: LitStr,
    pub token_type_field: Option<LitStr>,
    pub expires_in_field: Option<LitStr>,
    pub expires_at_field: Option<LitStr>,
    pub refresh_token_field: Option<LitStr>,
    pub default_token_type: Option<LitStr>,
    pub refresh_grant: bool,
}

/// `#[token_header("X-Device-Token", token_type = "..")]`.
pub struct TokenHeader {
    pub header: LitStr,
    pub token_type: Option<LitStr>,
}

/// `#[step(name = "..", ttl = "..", with_request = path)]`.
#[derive(Default)]
pub struct Step {
    pub name: Option<LitStr>,
    pub ttl: Option<Duration>,
    pub with_request: Option<Path>,
}

/// One entry of `#[depends_on(..)]`, or the `from` of an injection.
#[derive(Clone)]
pub enum Dependency {
    /// A step type: its name is `<T as TokenStep>::NAME`.
    Type(Box<Type>),
    /// A step name, for steps only known at run time.
    Name(LitStr),
}

impl Dependency {
    /// What identifies the dependency for comparisons: the type as written, or the
    /// name.
    pub fn key(&self) -> String {
        match self {
            Dependency::Type(ty) => {
                let mut key = quote::quote!(#ty).to_string();
                key.retain(|c| !c.is_whitespace());
                format!("type:{key}")
            }
            Dependency::Name(name) => format!("name:{}", name.value()),
        }
    }

    /// The dependency as the user wrote it, for messages.
    pub fn describe(&self) -> String {
        match self {
            Dependency::Type(ty) => {
                let mut text = quote::quote!(#ty).to_string();
                text.retain(|c| !c.is_whitespace());
                text
            }
            Dependency::Name(name) => format!("\"{}\"", name.value()),
        }
    }
}

impl quote::ToTokens for Dependency {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            Dependency::Type(ty) => ty.to_tokens(tokens),
            Dependency::Name(name) => name.to_tokens(tokens),
        }
    }
}

impl syn::parse::Parse for Dependency {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(LitStr) {
            input.parse().map(Dependency::Name)
        } else {
            input.parse().map(Dependency::Type)
        }
    }
}

/// Where an injection or a constant goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Header,
    Field,
    Query,
}

impl Target {
    /// The key that names the target in an `#[inject_*]` attribute.
    fn key(self) -> Symbol {
        match self {
            Target::Header => HEADER,
            Target::Field => FIELD,
            Target::Query => QUERY,
        }
    }
}

/// `#[inject_header(from = Step, header = "..", format = "..", part = "..")]` and
/// its `inject_field` / `inject_query` siblings.
pub struct Inject {
    pub attr: Symbol,
    pub target: Target,
    pub from: Dependency,
    pub name: LitStr,
    pub format: Option<LitStr>,
    pub part: Part,
}

/// Which part of the dependency's token an injection takes.
pub enum Part {
    AccessToken,
    TokenType,
    RefreshToken,
    Extra(LitStr),
}

/// `#[header("X-Api-Key", value = "..")]` (or `field`, `query`) on the struct: a
/// value sent with every request.
pub struct Constant {
    pub target: Target,
    pub name: LitStr,
    pub value: LitStr,
}

/// What a field of the struct is.
pub enum FieldRole {
    /// A body field (a query parameter for GET), optionally renamed.
    Body(Option<LitStr>),
    Header(LitStr),
    Query(Option<LitStr>),
    Skip,
    /// The client id of `#[client_auth]`.
    ClientId,
    /// The client secret of `#[client_auth]`.
    ClientSecret,
    /// The PEM private key of `private_key_jwt` or a signed JWT bearer assertion.
    PrivateKey(PrivateKey),
    /// The base URL, known at run time.
    BaseUrl,
    /// The issuer, known at run time.
    Issuer,
}

impl FieldRole {
    /// The attribute that gives a field this role, for messages.
    pub fn attribute(&self) -> Symbol {
        match self {
            FieldRole::Body(_) => FIELD,
            FieldRole::Header(_) => HEADER,
            FieldRole::Query(_) => QUERY,
            FieldRole::Skip => SKIP,
            FieldRole::ClientId => CLIENT_ID,
            FieldRole::ClientSecret => CLIENT_SECRET,
            FieldRole::PrivateKey(_) => PRIVATE_KEY,
            FieldRole::BaseUrl => BASE_URL,
            FieldRole::Issuer => ISSUER,
        }
    }
}

/// Parses the attributes on the struct, recording every error in `cx`.
pub fn container(cx: &Ctxt, attrs: &[Attribute]) -> Container {
    let mut container = Container::default();
    for attr in attrs {
        let path = attr.path();
        if *path == ENDPOINT {
            once(cx, &mut container.endpoint, attr, ENDPOINT, parse_endpoint);
        } else if *path == TOKEN_FIELD {
            container.sources.push((TOKEN_FIELD, path.clone()));
            once(
                cx,
                &mut container.token_field,
                attr,
                TOKEN_FIELD,
                parse_token_field,
            );
        } else if *path == TOKEN_HEADER {
            container.sources.push((TOKEN_HEADER, path.clone()));
            once(
                cx,
                &mut container.token_header,
                attr,
                TOKEN_HEADER,
                parse_token_header,
            );
        } else if *path == STEP {
            once(cx, &mut container.step, attr, STEP, parse_step);
        } else if *path == DEPENDS_ON {
            once(
                cx,
                &mut container.depends_on,
                attr,
                DEPENDS_ON,
                parse_depends_on,
            );
        } else if *path == INJECT_HEADER {
            push(
                cx,
                &mut container.injections,
                parse_inject(cx, attr, INJECT_HEADER, Target::Header),
            );
        } else if *path == INJECT_FIELD {
            push(
                cx,
                &mut container.injections,
                parse_inject(cx, attr, INJECT_FIELD, Target::Field),
            );
        } else if *path == INJECT_QUERY {
            push(
                cx,
                &mut container.injections,
                parse_inject(cx, attr, INJECT_QUERY, Target::Query),
            );
        } else if *path == HEADER {
            push(
                cx,
                &mut container.constants,
                parse_constant(cx, attr, HEADER, Target::Header),
            );
        } else if *path == FIELD {
            push(
                cx,
                &mut container.constants,
                parse_constant(cx, attr, FIELD, Target::Field),
            );
        } else if *path == QUERY {
            push(
                cx,
                &mut container.constants,
                parse_constant(cx, attr, QUERY, Target::Query),
            );
        } else if *path == CLIENT_AUTH {
            once(
                cx,
                &mut container.client_auth,
                attr,
                CLIENT_AUTH,
                oauth_attr::parse_client_auth,
            );
        } else if *path == GRANT {
            once(
                cx,
                &mut container.grant,
                attr,
                GRANT,
                oauth_attr::parse_grant,
            );
        } else if *path == ISSUER {
            once(cx, &mut container.issuer, attr, ISSUER, parse_issuer);
        } else if let Some(symbol) = FIELD_ONLY.iter().find(|symbol| *path == **symbol) {
            cx.error_spanned_by(
                path,
                format!("`#[{symbol}]` applies to a field, not to the struct"),
            );
        }
    }
    container
}

/// Parses the attributes on one field, recording every error in `cx`.
pub fn field(cx: &Ctxt, attrs: &[Attribute]) -> FieldRole {
    let mut seen: Option<Symbol> = None;
    let mut role = None;
    for attr in attrs {
        let path = attr.path();
        if let Some(symbol) = CONTAINER_ONLY.iter().find(|symbol| *path == **symbol) {
            cx.error_spanned_by(
                path,
                format!("`#[{symbol}]` applies to the struct, not to a field"),
            );
            continue;
        }
        let Some(this) = [
            FIELD,
            HEADER,
            QUERY,
            SKIP,
            CLIENT_ID,
            CLIENT_SECRET,
            PRIVATE_KEY,
            BASE_URL,
            ISSUER,
        ]
        .into_iter()
        .find(|symbol| *path == *symbol) else {
            continue;
        };
        if let Some(previous) = seen {
            let message = if previous == this {
                format!("duplicate `#[{this}]` attribute")
            } else {
                format!("`#[{this}]` conflicts with `#[{previous}]`: a field has one role")
            };
            cx.error_spanned_by(path, message);
            continue;
        }
        seen = Some(this);
        let parsed = if this == FIELD {
            field_name(attr, FIELD).map(FieldRole::Body)
        } else if this == QUERY {
            field_name(attr, QUERY).map(FieldRole::Query)
        } else if this == HEADER {
            field_name(attr, HEADER).and_then(|name| match name {
                Some(name) => {
                    check_header_name(cx, &name, HEADER);
                    Ok(FieldRole::Header(name))
                }
                None => Err(syn::Error::new_spanned(
                    path,
                    "`#[header]` on a field needs the header name: `#[header(\"X-Name\")]`",
                )),
            })
        } else if this == PRIVATE_KEY {
            oauth_attr::parse_private_key(cx, attr).map(FieldRole::PrivateKey)
        } else {
            let role = if this == SKIP {
                FieldRole::Skip
            } else if this == CLIENT_ID {
                FieldRole::ClientId
            } else if this == CLIENT_SECRET {
                FieldRole::ClientSecret
            } else if this == BASE_URL {
                FieldRole::BaseUrl
            } else {
                FieldRole::Issuer
            };
            match &attr.meta {
                Meta::Path(_) => Ok(role),
                _ => Err(syn::Error::new_spanned(
                    &attr.meta,
                    format!("`#[{this}]` on a field takes no arguments"),
                )),
            }
        };
        match parsed {
            Ok(parsed) => role = Some(parsed),
            Err(error) => cx.syn_error(error),
        }
    }
    role.unwrap_or(FieldRole::Body(None))
}

fn once<T>(
    cx: &Ctxt,
    slot: &mut Once<T>,
    attr: &Attribute,
    name: Symbol,
    parse: fn(&Ctxt, &Attribute) -> syn::Result<T>,
) {
    if slot.seen() {
        cx.error_spanned_by(attr.path(), format!("duplicate `#[{name}]` attribute"));
        return;
    }
    slot.first = Some(attr.path().clone());
    match parse(cx, attr) {
        Ok(value) => slot.value = Some(value),
        Err(error) => cx.syn_error(error),
    }
}

fn push<T>(cx: &Ctxt, list: &mut Vec<T>, parsed: syn::Result<T>) {
    match parsed {
        Ok(value) => list.push(value),
        Err(error) => cx.syn_error(error),
    }
}

/// Parses `#[name("positional", key = value, ...)]`: the positional string literal
/// if there is one, then each key through `key`.
fn parse_args(
    attr: &Attribute,
    name: Symbol,
    key: impl FnMut(ParseNestedMeta) -> syn::Result<()>,
) -> syn::Result<Option<LitStr>> {
    let list = match &attr.meta {
        Meta::Path(_) => return Ok(None),
        Meta::List(list) => list,
        Meta::NameValue(meta) => {
            return Err(syn::Error::new_spanned(
                meta.eq_token,
                format!("expected `#[{name}(...)]`"),
            ));
        }
    };
    let (positional, rest) = (|input: ParseStream| {
        let positional = if input.peek(LitStr) {
            let literal: LitStr = input.parse()?;
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
            Some(literal)
        } else {
            None
        };
        let rest: TokenStream = input.parse()?;
        Ok((positional, rest))
    })
    .parse2(list.tokens.clone())?;
    syn::meta::parser(key).parse2(rest)?;
    Ok(positional)
}

/// Stores the value of a key, refusing a second one.
pub(crate) fn set<T>(
    meta: &ParseNestedMeta,
    slot: &mut Option<T>,
    value: T,
    attr: Symbol,
) -> syn::Result<()> {
    if slot.is_some() {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        return Err(meta.error(format!("duplicate `{key}` in `#[{attr}]`")));
    }
    *slot = Some(value);
    Ok(())
}

/// Records an unknown key and skips its value, so that the keys after it are
/// still read.
pub(crate) fn unknown_key(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    attr: Symbol,
    expected: &[Symbol],
) -> syn::Result<()> {
    let key = key_name(meta);
    cx.syn_error(meta.error(format!(
        "unknown key `{key}` in `#[{attr}]`; expected {}",
        listed(expected)
    )));
    skip_value(meta)
}

/// The key as written.
pub(crate) fn key_name(meta: &ParseNestedMeta) -> String {
    meta.path
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_else(|| {
            let path = &meta.path;
            quote::quote!(#path).to_string().replace(' ', "")
        })
}

/// `` `a`, `b` ``.
pub(crate) fn listed(symbols: &[Symbol]) -> String {
    let symbols: Vec<String> = symbols.iter().map(|symbol| format!("`{symbol}`")).collect();
    symbols.join(", ")
}

/// Skips a key's value, so that the keys after it are still read.
pub(crate) fn skip_value(meta: &ParseNestedMeta) -> syn::Result<()> {
    while !meta.input.is_empty() && !meta.input.peek(Token![,]) {
        meta.input.parse::<proc_macro2::TokenTree>()?;
    }
    Ok(())
}

fn string(meta: &ParseNestedMeta) -> syn::Result<LitStr> {
    meta.value()?.parse()
}

/// A boolean key: bare (`true`) or `key = true|false`.
fn boolean(meta: &ParseNestedMeta) -> syn::Result<bool> {
    if meta.input.peek(Token![=]) {
        Ok(meta.value()?.parse::<LitBool>()?.value())
    } else {
        Ok(true)
    }
}

fn parse_endpoint(cx: &Ctxt, attr: &Attribute) -> syn::Result<Endpoint> {
    let mut method = None;
    let mut content_type = None;
    let mut base_url = None;
    let mut timeout = None;
    let mut verify_ssl = None;
    let mut allow_insecure_http = None;
    let path = parse_args(attr, ENDPOINT, |meta| {
        if meta.path == METHOD {
            let lit = string(&meta)?;
            let value = match lit.value().as_str() {
                "GET" => Method::Get,
                "POST" => Method::Post,
                other => {
                    cx.error_spanned_by(
                        &lit,
                        format!(
                            "unknown method `{other}` in `#[endpoint]`; expected \"GET\" or \"POST\""
                        ),
                    );
                    Method::Post
                }
            };
            set(&meta, &mut method, value, ENDPOINT)
        } else if meta.path == CONTENT_TYPE {
            let lit = string(&meta)?;
            let value = match lit.value().as_str() {
                "form" => ContentType::Form,
                "json" => ContentType::Json,
                other => {
                    cx.error_spanned_by(
                        &lit,
                        format!(
                            "unknown content type `{other}` in `#[endpoint]`; expected \"form\" or \"json\""
                        ),
                    );
                    ContentType::Form
                }
            };
            set(&meta, &mut content_type, value, ENDPOINT)
        } else if meta.path == BASE_URL {
            let lit = string(&meta)?;
            check_url(cx, &lit, BASE_URL);
            set(&meta, &mut base_url, lit, ENDPOINT)
        } else if meta.path == TIMEOUT {
            let lit = string(&meta)?;
            let value = duration(cx, &lit, TIMEOUT);
            set(&meta, &mut timeout, value, ENDPOINT)
        } else if meta.path == VERIFY_SSL {
            let value = boolean(&meta)?;
            set(&meta, &mut verify_ssl, value, ENDPOINT)
        } else if meta.path == ALLOW_INSECURE_HTTP {
            let value = boolean(&meta)?;
            set(&meta, &mut allow_insecure_http, value, ENDPOINT)
        } else {
            unknown_key(
                cx,
                &meta,
                ENDPOINT,
                &[
                    METHOD,
                    CONTENT_TYPE,
                    BASE_URL,
                    TIMEOUT,
                    VERIFY_SSL,
                    ALLOW_INSECURE_HTTP,
                ],
            )
        }
    })?;
    let path = path.ok_or_else(|| {
        syn::Error::new_spanned(
            attr,
            "`#[endpoint]` needs the endpoint first: `#[endpoint(\"/path\")]` or an absolute URL",
        )
    })?;
    let value = path.value();
    if value.is_empty() || value.chars().any(char::is_whitespace) {
        cx.error_spanned_by(
            &path,
            "the endpoint in `#[endpoint]` must be a non-empty path or URL without spaces",
        );
    } else if value.contains("://") {
        check_url(cx, &path, ENDPOINT);
    }
    Ok(Endpoint {
        path,
        method: method.unwrap_or(Method::Post),
        content_type: content_type.unwrap_or(ContentType::Form),
        base_url,
        timeout: timeout.flatten(),
        verify_ssl,
        allow_insecure_http,
    })
}

fn parse_token_field(cx: &Ctxt, attr: &Attribute) -> syn::Result<TokenField> {
    let mut token_type_field = None;
    let mut expires_in_field = None;
    let mut expires_at_field = None;
    let mut refresh_token_field = None;
    let mut default_token_type = None;
    let mut refresh_grant = None;
    let field = parse_args(attr, TOKEN_FIELD, |meta| {
        let slot = if meta.path == TOKEN_TYPE_FIELD {
            &mut token_type_field
        } else if meta.path == EXPIRES_IN_FIELD {
            &mut expires_in_field
        } else if meta.path == EXPIRES_AT_FIELD {
            &mut expires_at_field
        } else if meta.path == REFRESH_TOKEN_FIELD {
            &mut refresh_token_field
        } else if meta.path == DEFAULT_TOKEN_TYPE {
            &mut default_token_type
        } else if meta.path == REFRESH_GRANT {
            let value = boolean(&meta)?;
            return set(&meta, &mut refresh_grant, value, TOKEN_FIELD);
        } else {
            return unknown_key(
                cx,
                &meta,
                TOKEN_FIELD,
                &[
                    TOKEN_TYPE_FIELD,
                    EXPIRES_IN_FIELD,
                    EXPIRES_AT_FIELD,
                    REFRESH_TOKEN_FIELD,
                    DEFAULT_TOKEN_TYPE,
                    REFRESH_GRANT,
                ],
            );
        };
        let lit = string(&meta)?;
        check_not_empty(cx, &lit, TOKEN_FIELD);
        set(&meta, slot, lit, TOKEN_FIELD)
    })?;
    let field = field.ok_or_else(|| {
        syn::Error::new_spanned(
            attr,
            "`#[token_field]` needs the name of the JSON field holding the token: `#[token_field(\"access_token\")]`",
        )
    })?;
    check_not_empty(cx, &field, TOKEN_FIELD);
    Ok(TokenField {
        field,
        token_type_field,
        expires_in_field,
        expires_at_field,
        refresh_token_field,
        default_token_type,
        refresh_grant: refresh_grant.unwrap_or(false),
    })
}

fn parse_issuer(cx: &Ctxt, attr: &Attribute) -> syn::Result<LitStr> {
    let issuer = parse_args(attr, ISSUER, |meta| unknown_key(cx, &meta, ISSUER, &[]))?;
    let issuer = issuer.ok_or_else(|| {
        syn::Error::new_spanned(
            attr,
            "`#[issuer]` on the struct needs the issuer: `#[issuer(\"https://accounts.example.com\")]`; for an issuer known at run time, put `#[issuer]` on a field",
        )
    })?;
    check_url(cx, &issuer, ISSUER);
    Ok(issuer)
}

fn parse_token_header(cx: &Ctxt, attr: &Attribute) -> syn::Result<TokenHeader> {
    let mut token_type = None;
    let header = parse_args(attr, TOKEN_HEADER, |meta| {
        if meta.path == TOKEN_TYPE {
            let lit = string(&meta)?;
            check_not_empty(cx, &lit, TOKEN_HEADER);
            set(&meta, &mut token_type, lit, TOKEN_HEADER)
        } else {
            unknown_key(cx, &meta, TOKEN_HEADER, &[TOKEN_TYPE])
        }
    })?;
    let header = header.ok_or_else(|| {
        syn::Error::new_spanned(
            attr,
            "`#[token_header]` needs the response header holding the token: `#[token_header(\"X-Token\")]`",
        )
    })?;
    check_header_name(cx, &header, TOKEN_HEADER);
    Ok(TokenHeader { header, token_type })
}

fn parse_step(cx: &Ctxt, attr: &Attribute) -> syn::Result<Step> {
    let mut name = None;
    let mut ttl = None;
    let mut with_request = None;
    let positional = parse_args(attr, STEP, |meta| {
        if meta.path == NAME {
            let lit = string(&meta)?;
            check_step_name(cx, &lit);
            set(&meta, &mut name, lit, STEP)
        } else if meta.path == TTL {
            let lit = string(&meta)?;
            let value = duration(cx, &lit, TTL);
            set(&meta, &mut ttl, value, STEP)
        } else if meta.path == WITH_REQUEST {
            let path: Path = meta.value()?.parse()?;
            set(&meta, &mut with_request, path, STEP)
        } else {
            unknown_key(cx, &meta, STEP, &[NAME, TTL, WITH_REQUEST])
        }
    })?;
    if let Some(positional) = positional {
        cx.error_spanned_by(
            &positional,
            "`#[step]` takes keys only: `#[step(name = \"...\", ttl = \"...\")]`",
        );
    }
    Ok(Step {
        name,
        ttl: ttl.flatten(),
        with_request,
    })
}

fn parse_depends_on(cx: &Ctxt, attr: &Attribute) -> syn::Result<Vec<Dependency>> {
    let list = match &attr.meta {
        Meta::List(list) => list,
        _ => {
            return Err(syn::Error::new_spanned(
                attr,
                "`#[depends_on]` lists the steps this one needs: `#[depends_on(AppToken, \"runtime_step\")]`",
            ));
        }
    };
    let parsed =
        Punctuated::<Dependency, Token![,]>::parse_terminated.parse2(list.tokens.clone())?;
    if parsed.is_empty() {
        cx.error_spanned_by(attr, "`#[depends_on]` needs at least one step");
    }
    for dependency in &parsed {
        if let Dependency::Name(name) = dependency {
            check_step_name(cx, name);
        }
    }
    Ok(parsed.into_iter().collect())
}

fn parse_inject(cx: &Ctxt, attr: &Attribute, name: Symbol, target: Target) -> syn::Result<Inject> {
    let mut from = None;
    let mut to = None;
    let mut format = None;
    let mut part: Option<Part> = None;
    let target_key = target.key();
    let positional = parse_args(attr, name, |meta| {
        if meta.path == FROM {
            let dependency: Dependency = meta.value()?.parse()?;
            set(&meta, &mut from, dependency, name)
        } else if meta.path == target_key {
            let lit = string(&meta)?;
            match target {
                Target::Header => check_header_name(cx, &lit, name),
                Target::Field | Target::Query => check_not_empty(cx, &lit, name),
            }
            set(&meta, &mut to, lit, name)
        } else if meta.path == FORMAT {
            let lit = string(&meta)?;
            let value = lit.value();
            if !value.contains("{token}") && !value.contains("{token_type}") {
                cx.error_spanned_by(
                    &lit,
                    format!("`format` in `#[{name}]` has no `{{token}}` placeholder"),
                );
            }
            set(&meta, &mut format, lit, name)
        } else if meta.path == PART || meta.path == EXTRA {
            if part.is_some() {
                return Err(
                    meta.error(format!("`#[{name}]` takes one of `part` and `extra`, once"))
                );
            }
            let lit = string(&meta)?;
            let value = if meta.path == EXTRA {
                check_not_empty(cx, &lit, name);
                Part::Extra(lit)
            } else {
                match lit.value().as_str() {
                    "access_token" => Part::AccessToken,
                    "token_type" => Part::TokenType,
                    "refresh_token" => Part::RefreshToken,
                    other => {
                        cx.error_spanned_by(
                            &lit,
                            format!(
                                "unknown `part` `{other}` in `#[{name}]`; expected \"access_token\", \"token_type\" or \"refresh_token\", or use `extra = \"field\"`"
                            ),
                        );
                        Part::AccessToken
                    }
                }
            };
            part = Some(value);
            Ok(())
        } else {
            unknown_key(cx, &meta, name, &[FROM, target_key, FORMAT, PART, EXTRA])
        }
    })?;
    if let Some(positional) = positional {
        return Err(syn::Error::new_spanned(
            positional,
            format!(
                "`#[{name}]` takes keys only: `#[{name}(from = Step, {target_key} = \"...\")]`"
            ),
        ));
    }
    let from = from.ok_or_else(|| {
        syn::Error::new_spanned(
            attr,
            format!("`#[{name}]` needs `from = Step`, the dependency whose token it injects"),
        )
    })?;
    let to = to.ok_or_else(|| {
        syn::Error::new_spanned(
            attr,
            format!("`#[{name}]` needs `{target_key} = \"...\"`, where the token goes"),
        )
    })?;
    Ok(Inject {
        attr: name,
        target,
        from,
        name: to,
        format,
        part: part.unwrap_or(Part::AccessToken),
    })
}

fn parse_constant(
    cx: &Ctxt,
    attr: &Attribute,
    name: Symbol,
    target: Target,
) -> syn::Result<Constant> {
    let mut value = None;
    let key = parse_args(attr, name, |meta| {
        if meta.path == VALUE {
            let lit = string(&meta)?;
            set(&meta, &mut value, lit, name)
        } else {
            unknown_key(cx, &meta, name, &[VALUE])
        }
    })?;
    let usage = format!(
        "`#[{name}]` on the struct sends a constant: `#[{name}(\"name\", value = \"...\")]`"
    );
    let key = key.ok_or_else(|| syn::Error::new_spanned(attr, &usage))?;
    let value = value.ok_or_else(|| syn::Error::new_spanned(attr, &usage))?;
    match target {
        Target::Header => {
            check_header_name(cx, &key, name);
            let text = value.value();
            if !text
                .bytes()
                .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
            {
                cx.error_spanned_by(
                    &value,
                    format!("invalid header value in `#[{name}]`: it must be visible ASCII"),
                );
            }
        }
        Target::Field | Target::Query => check_not_empty(cx, &key, name),
    }
    Ok(Constant {
        target,
        name: key,
        value,
    })
}

/// The optional name of a field attribute: `#[query]` or `#[query("name")]`.
fn field_name(attr: &Attribute, name: Symbol) -> syn::Result<Option<LitStr>> {
    let lit = parse_args(attr, name, |meta| {
        Err(meta.error(format!(
            "`#[{name}]` on a field takes only a name: `#[{name}(\"name\")]`"
        )))
    })?;
    if let Some(lit) = lit.as_ref().filter(|lit| lit.value().is_empty()) {
        return Err(syn::Error::new_spanned(
            lit,
            format!("the name in `#[{name}]` must not be empty"),
        ));
    }
    Ok(lit)
}

fn check_not_empty(cx: &Ctxt, lit: &LitStr, attr: Symbol) {
    if lit.value().is_empty() {
        cx.error_spanned_by(lit, format!("empty string in `#[{attr}]`"));
    }
}

fn check_step_name(cx: &Ctxt, lit: &LitStr) {
    if lit.value().is_empty() {
        cx.error_spanned_by(lit, "a step name must not be empty");
    }
}

fn check_url(cx: &Ctxt, lit: &LitStr, key: Symbol) {
    if let Err(reason) = value::check_url(&lit.value()) {
        cx.error_spanned_by(
            lit,
            format!("invalid URL in `{key}`: {reason}; expected `http://...` or `https://...`"),
        );
    }
}

fn check_header_name(cx: &Ctxt, lit: &LitStr, attr: Symbol) {
    let name = lit.value();
    if !value::is_header_name(&name) {
        cx.error_spanned_by(
            lit,
            format!("invalid header name `{name}` in `#[{attr}]`: use letters, digits and `-`, such as \"X-Device-Token\""),
        );
    }
}

fn duration(cx: &Ctxt, lit: &LitStr, key: Symbol) -> Option<Duration> {
    match value::parse_duration(&lit.value()) {
        Ok(duration) => Some(duration),
        Err(reason) => {
            cx.error_spanned_by(
                lit,
                format!(
                    "invalid `{key}` duration \"{}\": {reason}; write a number and a unit (`d`, `h`, `m`, `s`, `ms`), such as \"30m\" or \"1h30m\"",
                    lit.value()
                ),
            );
            None
        }
    }
}
