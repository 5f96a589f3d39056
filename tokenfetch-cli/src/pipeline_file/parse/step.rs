//! One `[steps.NAME]` table: its keys and values, its injections, and the
//! rules between its own keys (an endpoint or an issuer; a token read from the
//! body or from a header, not both; an OAuth 2.0 request sent as a form POST).

use tokenfetch::TokenPart;
use toml::de::{DeTable, DeValue};

use super::{Key, Reader, Value, absent, entries, type_name};
use crate::pipeline_file::diagnostic::Diagnostic;
use crate::pipeline_file::schema::{
    BodySpec, Defaults, Encoding, HttpMethod, InjectionSpec, InjectionTarget, Spanned, Step,
    TokenSource,
};
use crate::pipeline_file::values::{self, EndpointKind};

/// The keys of a step.
const STEP_KEYS: &[&str] = &[
    "endpoint",
    "issuer",
    "base_url",
    "timeout",
    "ttl",
    "allow_insecure_http",
    "method",
    "content_type",
    "token_header",
    "token_type",
    "token_field",
    "token_type_field",
    "expires_in_field",
    "expires_at_field",
    "refresh_token_field",
    "default_token_type",
    "refresh_grant",
    "refresh_data",
    "headers",
    "data",
    "query",
    "depends_on",
    "inject_header",
    "inject_field",
    "inject_query",
    "client_auth",
    "grant",
];

/// The keys only a step reading its token from the body has.
const BODY_KEYS: &[&str] = &[
    "token_field",
    "token_type_field",
    "expires_in_field",
    "expires_at_field",
    "refresh_token_field",
    "default_token_type",
    "refresh_grant",
    "refresh_data",
];

/// The three lists of injections, and the key naming each one's target.
const INJECTIONS: &[(&str, &str)] = &[
    ("inject_header", "header"),
    ("inject_field", "field"),
    ("inject_query", "query"),
];

/// `part` of an injection.
const PARTS: &[(&str, PartName)] = &[
    ("access_token", PartName::AccessToken),
    ("token_type", PartName::TokenType),
    ("refresh_token", PartName::RefreshToken),
];

#[derive(Debug, Clone, Copy)]
enum PartName {
    AccessToken,
    TokenType,
    RefreshToken,
}

/// The keys of a step that need a look once the whole table is read.
#[derive(Default)]
struct Seen {
    endpoint: Option<Spanned<String>>,
    issuer: Option<Spanned<String>>,
    base_url: Option<Spanned<String>>,
    method: Option<Spanned<HttpMethod>>,
    content_type: Option<Spanned<Encoding>>,
    token_header: Option<Spanned<String>>,
    token_type: Option<Spanned<String>>,
    /// The body-only keys present, spanned at the key.
    body_keys: Vec<(String, std::ops::Range<usize>)>,
    client_auth: Option<std::ops::Range<usize>>,
    grant: Option<std::ops::Range<usize>>,
    /// `grant.type = "device_code"`, spanned at the value, and whether it has
    /// an `endpoint` (the device authorization endpoint).
    device_code: Option<(std::ops::Range<usize>, Option<Spanned<String>>)>,
    /// Whether `endpoint` or `issuer` is written (perhaps misspelt, or of the
    /// wrong type: reported already).
    endpoint_named: bool,
}

impl Reader<'_> {
    /// Reads step `name`; `None` when it is not a table.
    pub(super) fn step(
        &mut self,
        name: &Key<'_>,
        value: &Value<'_>,
        defaults: &Defaults,
    ) -> Option<Step> {
        let step_name = name.get_ref().to_string();
        let place = format!("in step `{step_name}`");
        if step_name.is_empty() {
            self.error(name.span(), "a step name must not be empty");
        }
        let table = match value.get_ref() {
            DeValue::Table(table) => table,
            DeValue::Array(_) => {
                self.error_help(
                    value.span(),
                    format!("step `{step_name}` must be a table, found a list"),
                    format!("write `[steps.{step_name}]`, not `[[steps.{step_name}]]`"),
                );
                return None;
            }
            other => {
                self.push(Diagnostic::error(
                    value.span(),
                    format!(
                        "step `{step_name}` must be a table, found {}",
                        type_name(other)
                    ),
                ));
                return None;
            }
        };
        let mut step = Step {
            name: Spanned::new(step_name.clone(), name.span()),
            endpoint: None,
            issuer: None,
            base_url: None,
            timeout: None,
            ttl: None,
            allow_insecure_http: None,
            method: HttpMethod::default(),
            content_type: Encoding::default(),
            headers: Vec::new(),
            data: Vec::new(),
            query: Vec::new(),
            depends_on: Vec::new(),
            injections: Vec::new(),
            source: TokenSource::Body(BodySpec::default()),
            client_auth: None,
            grant: None,
            grant_steps: Vec::new(),
        };
        let mut body = BodySpec::default();
        let mut seen = Seen {
            endpoint_named: !absent(table, "endpoint", STEP_KEYS)
                || !absent(table, "issuer", STEP_KEYS),
            ..Seen::default()
        };
        self.step_keys(table, &place, &mut step, &mut body, &mut seen);
        self.step_rules(&place, &mut step, body, seen, defaults);
        Some(step)
    }

    fn step_keys(
        &mut self,
        table: &DeTable<'_>,
        place: &str,
        step: &mut Step,
        body: &mut BodySpec,
        seen: &mut Seen,
    ) {
        for (key, value) in entries(table) {
            let name = key.get_ref().as_ref();
            if BODY_KEYS.contains(&name) {
                seen.body_keys.push((name.to_owned(), key.span()));
            }
            match name {
                "endpoint" => seen.endpoint = self.string(value, name, place),
                "issuer" => seen.issuer = self.string(value, name, place),
                "base_url" => seen.base_url = self.string(value, name, place),
                "timeout" => step.timeout = self.duration(value, name, place),
                "ttl" => step.ttl = self.duration(value, name, place),
                "allow_insecure_http" => step.allow_insecure_http = self.bool(value, name, place),
                "method" => {
                    seen.method = self.choice(
                        value,
                        name,
                        place,
                        &[("POST", HttpMethod::Post), ("GET", HttpMethod::Get)],
                    );
                }
                "content_type" => {
                    seen.content_type = self.choice(
                        value,
                        name,
                        place,
                        &[("form", Encoding::Form), ("json", Encoding::Json)],
                    );
                }
                "token_header" => {
                    seen.token_header = self.name(value, name, place).filter(|header| {
                        let valid = values::is_header_name(&header.value);
                        if !valid {
                            self.error_help(
                                header.span.clone(),
                                format!("invalid header name in `token_header` {place}"),
                                "a header name is letters, digits and `!#$%&'*+-.^_`|~`",
                            );
                        }
                        valid
                    });
                }
                "token_type" => seen.token_type = self.name(value, name, place),
                "token_field" => body.token_field = self.name(value, name, place).map(|v| v.value),
                "token_type_field" => {
                    body.token_type_field = self.name(value, name, place).map(|v| v.value)
                }
                "expires_in_field" => {
                    body.expires_in_field = self.name(value, name, place).map(|v| v.value)
                }
                "expires_at_field" => {
                    body.expires_at_field = self.name(value, name, place).map(|v| v.value)
                }
                "refresh_token_field" => {
                    body.refresh_token_field = self.name(value, name, place).map(|v| v.value);
                }
                "default_token_type" => {
                    body.default_token_type = self.name(value, name, place).map(|v| v.value);
                }
                "refresh_grant" => {
                    body.refresh_grant = self.bool(value, name, place).unwrap_or(false)
                }
                "refresh_data" => body.refresh_data = self.params(value, name, place, false),
                "headers" => step.headers = self.params(value, name, place, true),
                "data" => step.data = self.params(value, name, place, false),
                "query" => step.query = self.params(value, name, place, false),
                "depends_on" => {
                    if let Some(list) = self.string_list(value, name, place) {
                        step.depends_on = list;
                    }
                }
                "inject_header" | "inject_field" | "inject_query" => {
                    self.injections(value, name, place, &mut step.injections);
                }
                "client_auth" => {
                    seen.client_auth = Some(key.span());
                    step.client_auth = self.client_auth(value, place);
                }
                "grant" => {
                    seen.grant = Some(key.span());
                    let read = self.grant(value, place);
                    step.grant = read.grant;
                    step.grant_steps = read.steps;
                    seen.device_code = read.device_code;
                }
                _ => self.unknown_key(key, STEP_KEYS, place),
            }
        }
    }

    /// The rules between the keys of one step.
    fn step_rules(
        &mut self,
        place: &str,
        step: &mut Step,
        body: BodySpec,
        seen: Seen,
        defaults: &Defaults,
    ) {
        let insecure = step
            .allow_insecure_http
            .unwrap_or(defaults.allow_insecure_http);
        let has_base_url = seen.base_url.is_some() || defaults.base_url.is_some();
        if let Some(base_url) = seen.base_url {
            self.base_url(&base_url, insecure, place);
            step.base_url = Some(base_url.value);
        }
        if let Some(issuer) = seen.issuer {
            if let Err(why) = values::check_issuer(&issuer.value, insecure) {
                self.error_help(issuer.span, format!("invalid `issuer` {place}"), why);
            }
            step.issuer = Some(issuer.value);
        }
        match &seen.endpoint {
            Some(endpoint) => {
                self.endpoint(endpoint, "endpoint", place, insecure, has_base_url);
                step.endpoint = Some(endpoint.value.clone());
            }
            None if step.issuer.is_none() && !seen.endpoint_named => {
                let message = format!(
                    "step `{}` has no `endpoint` and no `issuer`",
                    step.name.value
                );
                let help = "add `endpoint = \"/path\"`, or `issuer = \"https://...\"` \
                            to read it from the server's metadata";
                self.error_help(step.name.span.clone(), message, help);
            }
            None => {}
        }
        if let Some(method) = &seen.method {
            step.method = method.value;
        }
        if let Some(content_type) = &seen.content_type {
            step.content_type = content_type.value;
        }
        if seen.client_auth.is_some() || seen.grant.is_some() {
            let what = if seen.grant.is_some() {
                "a `grant`"
            } else {
                "`client_auth`"
            };
            if let Some(method) = seen.method.as_ref().filter(|m| m.value == HttpMethod::Get) {
                self.error_help(
                    method.span.clone(),
                    format!(
                        "step `{}` has {what}, which is sent as a form POST (RFC 6749 §3.2)",
                        step.name.value
                    ),
                    "remove `method = \"GET\"`",
                );
            }
            if let Some(encoding) = seen
                .content_type
                .as_ref()
                .filter(|c| c.value == Encoding::Json)
            {
                self.error_help(
                    encoding.span.clone(),
                    format!(
                        "step `{}` has {what}, which is sent as a form POST (RFC 6749 §3.2)",
                        step.name.value
                    ),
                    "remove `content_type = \"json\"`",
                );
            }
        }
        if let Some((type_span, device_endpoint)) = seen.device_code {
            if seen.client_auth.is_none() {
                let message = format!(
                    "step `{}` uses the device flow, which needs the client's id",
                    step.name.value
                );
                let help = "add `client_auth = { method = \"none\", client_id = \"...\" }`, \
                            or the client's own authentication";
                self.error_help(type_span.clone(), message, help);
            }
            match device_endpoint {
                Some(endpoint) => {
                    let grant_place = format!("in `grant` of step `{}`", step.name.value);
                    let key = "endpoint";
                    self.endpoint(&endpoint, key, &grant_place, insecure, has_base_url);
                }
                None if step.issuer.is_none() => {
                    let message = format!(
                        "step `{}` uses the device flow and names no device authorization endpoint",
                        step.name.value
                    );
                    let help = "add `endpoint = \"/path\"` to the grant, \
                                or an `issuer` whose metadata names one";
                    self.error_help(type_span, message, help);
                }
                None => {}
            }
        }
        step.source = match seen.token_header {
            Some(header) => {
                for (key, span) in &seen.body_keys {
                    let message = format!(
                        "`{key}` is for steps reading the token from the body, \
                         and step `{}` reads it from `token_header`",
                        step.name.value
                    );
                    self.error_help(span.clone(), message, "remove one of the two");
                }
                if seen.grant.is_some() {
                    let message = format!(
                        "step `{}` has a `grant`, whose token comes in the body \
                         (as OAuth 2.0 sends it), not in `token_header`",
                        step.name.value
                    );
                    self.error_help(header.span.clone(), message, "remove `token_header`");
                }
                TokenSource::Header {
                    header: header.value,
                    token_type: seen.token_type.map(|token_type| token_type.value),
                }
            }
            None => {
                if let Some(token_type) = seen.token_type {
                    let message = format!(
                        "`token_type` {place} is for steps reading the token from a header \
                         (`token_header`)"
                    );
                    let help = "for a token read from the body, use `default_token_type`";
                    self.error_help(token_type.span, message, help);
                }
                TokenSource::Body(body)
            }
        };
    }

    /// Checks an endpoint (a step's, or a device grant's): a path needs a base
    /// URL to be joined to.
    fn endpoint(
        &mut self,
        endpoint: &Spanned<String>,
        key: &str,
        place: &str,
        insecure: bool,
        has_base_url: bool,
    ) {
        match values::check_endpoint(&endpoint.value, insecure) {
            Err(why) => self.error_help(
                endpoint.span.clone(),
                format!("invalid `{key}` {place}"),
                why,
            ),
            Ok(EndpointKind::Relative) if !has_base_url => self.error_help(
                endpoint.span.clone(),
                format!("`{key}` {place} is a path, and there is no `base_url` to join it to"),
                "set `base_url` in `[defaults]` or in the step, or write an absolute URL",
            ),
            Ok(_) => {}
        }
    }

    /// `inject_header`, `inject_field`, `inject_query`: a list of tables.
    fn injections(
        &mut self,
        value: &Value<'_>,
        list: &str,
        place: &str,
        into: &mut Vec<InjectionSpec>,
    ) {
        let Some(array) = self.array(value, list, place, "a list of tables") else {
            return;
        };
        for item in array.iter() {
            let DeValue::Table(table) = item.get_ref() else {
                self.error_help(
                    item.span(),
                    format!(
                        "`{list}` {place} must be a list of tables, found {} in it",
                        type_name(item.get_ref())
                    ),
                    "write each entry as `{ from = \"STEP\", ... }`",
                );
                continue;
            };
            if let Some(injection) = self.injection(table, item.span(), list, place) {
                into.push(injection);
            }
        }
    }

    fn injection(
        &mut self,
        table: &DeTable<'_>,
        span: std::ops::Range<usize>,
        list: &str,
        step_place: &str,
    ) -> Option<InjectionSpec> {
        let target_key = INJECTIONS
            .iter()
            .find(|(name, _)| *name == list)
            .map_or("header", |(_, target)| *target);
        let place = format!(
            "in an `{list}` entry {}",
            step_place.replacen("in ", "of ", 1)
        );
        let known = ["from", target_key, "format", "part", "extra"];
        let mut from = None;
        let mut target = None;
        let mut format = None;
        let mut part = None;
        let mut extra: Option<Spanned<String>> = None;
        let mut valid = true;
        for (key, value) in entries(table) {
            let name = key.get_ref().as_ref();
            match name {
                "from" => from = self.name(value, name, &place),
                "format" => format = self.string(value, name, &place),
                "part" => part = self.choice(value, name, &place, PARTS),
                "extra" => extra = self.name(value, name, &place),
                _ if name == target_key => target = self.name(value, name, &place),
                _ => {
                    valid = false;
                    if let Some((other_list, _)) = INJECTIONS.iter().find(|(_, t)| *t == name) {
                        let help = format!(
                            "an `{list}` entry names a `{target_key}`; for a `{name}`, use `{other_list}`"
                        );
                        self.error_help(key.span(), format!("unknown key `{name}` {place}"), help);
                    } else {
                        self.unknown_key(key, &known, &place);
                    }
                }
            }
        }
        for (key, missing) in [("from", from.is_none()), (target_key, target.is_none())] {
            if missing && absent(table, key, &known) {
                valid = false;
                let example = if key == "from" { "STEP" } else { "NAME" };
                self.error_help(
                    span.clone(),
                    format!(
                        "an `{list}` entry {} has no `{key}`",
                        step_place.replacen("in ", "of ", 1)
                    ),
                    format!("add `{key} = \"{example}\"`"),
                );
            }
        }
        if let Some(format) = &format
            && !format.value.contains("{token}")
            && !format.value.contains("{token_type}")
        {
            valid = false;
            self.error_help(
                format.span.clone(),
                format!("`format` {place} has no `{{token}}` placeholder"),
                "write where the token goes, such as \"Bearer {token}\"",
            );
        }
        if let (Some(_), Some(extra)) = (&part, &extra) {
            valid = false;
            self.error_help(
                extra.span.clone(),
                format!("`part` and `extra` {place} both say which part of the token is injected"),
                "keep one: `extra` names a field of the token response",
            );
        }
        let target_value = target?;
        if target_key == "header" && !values::is_header_name(&target_value.value) {
            valid = false;
            self.error_help(
                target_value.span.clone(),
                format!("invalid header name in `header` {place}"),
                "a header name is letters, digits and `!#$%&'*+-.^_`|~`",
            );
        }
        let from = from?;
        if !valid {
            return None;
        }
        let part = match (part.map(|part| part.value), extra) {
            (_, Some(extra)) => TokenPart::Extra(extra.value),
            (Some(PartName::TokenType), None) => TokenPart::TokenType,
            (Some(PartName::RefreshToken), None) => TokenPart::RefreshToken,
            (Some(PartName::AccessToken) | None, None) => TokenPart::AccessToken,
        };
        let target = match target_key {
            "field" => InjectionTarget::Field(target_value.value),
            "query" => InjectionTarget::Query(target_value.value),
            _ => InjectionTarget::Header(target_value.value),
        };
        Some(InjectionSpec {
            from,
            target,
            part,
            format: format.map(|format| format.value),
        })
    }
}
