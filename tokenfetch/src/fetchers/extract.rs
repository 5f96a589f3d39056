//! Reading a token out of a 2xx answer: from a JSON (or form-encoded) body's fields,
//! or from a response header. Every failure names the field or header concerned.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderName;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::http::{HttpResponse, describe_body, is_too_deep, too_deep};
use crate::model::{
    DEFAULT_TOKEN_TYPE, Error, ErrorKind, MAX_LIFETIME, Result, TokenData, epoch_instant,
};
use crate::oauth::jwt_expiry;
use crate::step::StepIdentity;

/// The names of the body fields a token is read from, and the token type when the
/// body names none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BodyFields {
    pub(crate) token: String,
    pub(crate) token_type: String,
    pub(crate) expires_in: String,
    pub(crate) expires_at: String,
    pub(crate) refresh_token: String,
    pub(crate) default_token_type: String,
}

impl Default for BodyFields {
    fn default() -> Self {
        BodyFields {
            token: "access_token".to_owned(),
            token_type: "token_type".to_owned(),
            expires_in: "expires_in".to_owned(),
            expires_at: "expires_at".to_owned(),
            refresh_token: "refresh_token".to_owned(),
            default_token_type: DEFAULT_TOKEN_TYPE.to_owned(),
        }
    }
}

/// The names of a body's fields for an error message (never their values): sorted,
/// control characters escaped, at most 20 names of at most 64 characters each, as a
/// server controls them.
fn field_names(mut names: Vec<&str>) -> String {
    const MAX_NAMES: usize = 20;
    const MAX_CHARS: usize = 64;
    if names.is_empty() {
        return "it has no fields at all".to_owned();
    }
    names.sort_unstable();
    let shown: Vec<String> = names
        .iter()
        .take(MAX_NAMES)
        .map(|name| {
            let mut shown: String = name
                .chars()
                .take(MAX_CHARS)
                .flat_map(char::escape_debug)
                .collect();
            if name.chars().count() > MAX_CHARS {
                shown.push('…');
            }
            shown
        })
        .collect();
    let more = match names.len().saturating_sub(MAX_NAMES) {
        0 => String::new(),
        more => format!(" and {more} more"),
    };
    format!("it has `{}`{more}", shown.join("`, `"))
}

impl BodyFields {
    /// The field names, in the explicit encoding of [`StepIdentity`].
    pub(crate) fn identify(&self, identity: &mut StepIdentity) {
        identity
            .field("token_field", &self.token)
            .field("token_type_field", &self.token_type)
            .field("expires_in_field", &self.expires_in)
            .field("expires_at_field", &self.expires_at)
            .field("refresh_token_field", &self.refresh_token)
            .field("default_token_type", &self.default_token_type);
    }

    /// Reads the token from a 2xx body. A body with an `error` field is a refusal,
    /// whatever its status.
    pub(crate) fn read(&self, response: &HttpResponse) -> Result<TokenData> {
        let mut fields = self.fields(response)?;
        if fields.error {
            let oauth = response.oauth_error();
            let mut error = Error::new(
                ErrorKind::Refused,
                format!("HTTP {} with an error in the body", response.status()),
            );
            if let Some(oauth) = oauth {
                error = error.with_oauth(oauth);
            }
            return Err(error);
        }
        let access_token = match fields.take(self, TOKEN) {
            Some(Value::String(token)) if !token.is_empty() => token,
            Some(Value::String(_)) => {
                return Err(Error::bad_response(format!(
                    "the token field `{}` is empty",
                    self.token
                )));
            }
            Some(_) => {
                return Err(Error::bad_response(format!(
                    "the token field `{}` is not a string",
                    self.token
                )));
            }
            None => {
                let names = self
                    .names()
                    .into_iter()
                    .zip(&fields.known)
                    .filter(|(_, value)| value.is_some())
                    .map(|(name, _)| name)
                    .chain(fields.extra.keys().map(String::as_str))
                    .collect();
                return Err(Error::bad_response(format!(
                    "the response has no token field `{}` ({}); set `token_field` to the field that holds the token",
                    self.token,
                    field_names(names)
                )));
            }
        };
        let mut token = TokenData::new(access_token);
        token = match fields.take(self, TOKEN_TYPE) {
            Some(Value::String(token_type)) if !token_type.is_empty() => {
                token.with_token_type(token_type)
            }
            _ => token.with_token_type(self.default_token_type.clone()),
        };
        // The expiry from wherever the server put it: a lifetime, an instant, or
        // the access token's own `exp` claim.
        if let Some(value) = fields.take(self, EXPIRES_IN)
            && let Some(lifetime) = lifetime(&value, &self.expires_in)?
        {
            token = token.with_expires_in(lifetime);
        } else if let Some(value) = fields.take(self, EXPIRES_AT)
            && let Some(at) = instant(&value, &self.expires_at)?
        {
            token = token.with_expires_at(at);
        } else if let Some(at) = jwt_expiry(token.access_token().expose())
            && at > Utc::now()
        {
            // An `exp` already past says more about the clocks than the token:
            // it is left unknown, as without a JWT.
            token = token.with_expires_at(at);
        }
        if let Some(Value::String(refresh)) = fields.take(self, REFRESH_TOKEN)
            && !refresh.is_empty()
        {
            token = token.with_refresh_token(refresh);
        }
        // What was not taken (an instant not looked at) stays an extra field.
        for (name, value) in self.names().into_iter().zip(fields.known) {
            if let Some(value) = value {
                fields.extra.insert(name.to_owned(), value);
            }
        }
        for (key, value) in fields.extra {
            token = token.with_extra(key, value);
        }
        Ok(token)
    }

    /// The names of the fields read, in the order of [`Fields::known`].
    fn names(&self) -> [&str; 5] {
        [
            &self.token,
            &self.token_type,
            &self.expires_in,
            &self.expires_at,
            &self.refresh_token,
        ]
    }

    /// Where a field is kept in [`Fields::known`]: with the first of the names
    /// that is the same, so that two roles given one name share one field.
    fn place(&self, role: usize) -> usize {
        let names = self.names();
        names
            .iter()
            .position(|name| *name == names[role])
            .unwrap_or(role)
    }

    /// The body's fields: a JSON object's, read in one pass without building it,
    /// or a form's, as strings.
    fn fields(&self, response: &HttpResponse) -> Result<Fields> {
        let body = response.body();
        if response.is_form() {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
                .map_err(|_| Error::bad_response("the form-encoded body does not parse"))?;
            let mut fields = Fields::default();
            for (key, value) in pairs {
                fields.insert(self, Cow::Owned(key), Value::String(value));
            }
            return Ok(fields);
        }
        let mut json = serde_json::Deserializer::from_slice(body);
        let read = serde::Deserializer::deserialize_map(&mut json, FieldsVisitor(self))
            .and_then(|fields| json.end().map(|()| fields));
        // What went wrong is told as the whole body parsed on its own says it:
        // not an object, nested too deeply, or not JSON at all.
        read.map_err(|_| match serde_json::from_slice::<Value>(body) {
            Err(error) if is_too_deep(&error) => too_deep(),
            Ok(_) => Error::bad_response("the body is JSON but not an object"),
            Err(_) => {
                Error::bad_response(format!("the body is not JSON ({})", describe_body(body)))
            }
        })
    }
}

/// A token body's fields: those a token is read from, whether it has an `error`
/// (a string: a refusal), and the others.
#[derive(Default)]
struct Fields {
    /// By the place of their name ([`BodyFields::place`]): the token, its type,
    /// `expires_in`, `expires_at`, the refresh token.
    known: [Option<Value>; 5],
    error: bool,
    extra: Map<String, Value>,
}

/// The roles of [`Fields::known`].
const TOKEN: usize = 0;
const TOKEN_TYPE: usize = 1;
const EXPIRES_IN: usize = 2;
const EXPIRES_AT: usize = 3;
const REFRESH_TOKEN: usize = 4;

impl Fields {
    /// Keeps one field; a repeated field keeps its last value.
    fn insert(&mut self, names: &BodyFields, key: Cow<'_, str>, value: Value) {
        if key == "error" {
            self.error = value.is_string();
        }
        match names.names().iter().position(|name| *name == key) {
            Some(place) => self.known[place] = Some(value),
            None => {
                self.extra.insert(key.into_owned(), value);
            }
        }
    }

    /// Takes the field of a role, once.
    fn take(&mut self, names: &BodyFields, role: usize) -> Option<Value> {
        self.known[names.place(role)].take()
    }
}

/// Reads a JSON object into [`Fields`], its keys borrowed from the body where
/// they can be.
struct FieldsVisitor<'a>(&'a BodyFields);

impl<'de> Visitor<'de> for FieldsVisitor<'_> {
    type Value = Fields;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Fields, A::Error> {
        let mut fields = Fields::default();
        while let Some(Key(key)) = map.next_key()? {
            let value = map.next_value()?;
            fields.insert(self.0, key, value);
        }
        Ok(fields)
    }
}

/// A map key, borrowed from the body unless it has escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct KeyVisitor;

        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a field name")
            }

            fn visit_borrowed_str<E>(self, key: &'de str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(key)))
            }

            fn visit_str<E>(self, key: &str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key.to_owned())))
            }

            fn visit_string<E>(self, key: String) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key)))
            }
        }

        deserializer.deserialize_str(KeyVisitor)
    }
}

/// `expires_in` as a number or a numeric string; negative means already expired,
/// absurdly large is clamped, `null` means unknown.
fn lifetime(value: &Value, field: &str) -> Result<Option<Duration>> {
    let seconds = match value {
        Value::Null => return Ok(None),
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    match seconds {
        Some(seconds) if seconds.is_finite() => {
            let clamped = seconds.clamp(0.0, MAX_LIFETIME.as_secs_f64());
            Ok(Some(Duration::from_secs_f64(clamped)))
        }
        _ => Err(Error::bad_response(format!(
            "the field `{field}` is not a number of seconds"
        ))),
    }
}

/// `expires_at` as an RFC 3339 date or a number since 1970 (seconds, or a finer
/// unit when too large for seconds: see [`epoch_instant`]); `null` means unknown.
fn instant(value: &Value, field: &str) -> Result<Option<DateTime<Utc>>> {
    let number = match value {
        Value::Null => return Ok(None),
        Value::Number(number) => number.as_f64(),
        Value::String(text) => match DateTime::parse_from_rfc3339(text.trim()) {
            Ok(at) => return Ok(Some(at.with_timezone(&Utc))),
            Err(_) => text.trim().parse::<f64>().ok(),
        },
        _ => None,
    };
    match number.map(epoch_instant) {
        Some(Some(at)) => Ok(Some(at)),
        _ => Err(Error::bad_response(format!(
            "the field `{field}` is neither an RFC 3339 date nor a number of seconds since 1970"
        ))),
    }
}

/// Reads the token from a response header; a value starting with the token type
/// (`Bearer abc`) loses that prefix.
pub(crate) fn token_from_header(
    response: &HttpResponse,
    header: &HeaderName,
    token_type: &str,
) -> Result<TokenData> {
    let value = response.headers().get(header).ok_or_else(|| {
        Error::bad_response(format!(
            "the response has no header `{header}`; set `token_header` to the header that holds the token"
        ))
    })?;
    let value = value.to_str().map_err(|_| {
        Error::bad_response(format!("the header `{header}` is not valid visible ASCII"))
    })?;
    let value = value.trim();
    let (scheme, credential) = value.split_once(' ').unwrap_or((value, ""));
    let token = if scheme.eq_ignore_ascii_case(token_type) {
        credential.trim()
    } else {
        value
    };
    if token.is_empty() {
        let what = if value.is_empty() {
            "is empty".to_owned()
        } else {
            format!("holds the scheme `{token_type}` with no credential after it")
        };
        return Err(Error::bad_response(format!("the header `{header}` {what}")));
    }
    Ok(TokenData::new(token).with_token_type(token_type))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn json_response(body: &str) -> HttpResponse {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            "application/json".parse().unwrap(),
        );
        HttpResponse::from_parts(reqwest::StatusCode::OK, headers, body.as_bytes().to_vec())
    }

    fn read(body: &str) -> Result<TokenData> {
        BodyFields::default().read(&json_response(body))
    }

    /// The fields are read in one pass as a JSON map would hold them: escaped
    /// names are the same names, a repeated field keeps its last value, an
    /// `expires_at` not looked at stays an extra field, and a refresh token that
    /// is not a string is dropped.
    #[test]
    fn a_body_is_read_as_its_json_object_holds_it() {
        let token = read(
            r#"{"access\u005ftoken":"a","expires_in":60,"expires_at":"2030-01-01T00:00:00Z",
                "scope":"x","refresh_token":5}"#,
        )
        .unwrap();
        assert_eq!(token.access_token().expose(), "a");
        assert!(token.expires_in().unwrap() <= Duration::from_secs(60));
        assert!(token.refresh_token().is_none());
        let extra: Vec<&str> = token.extra().keys().map(String::as_str).collect();
        assert_eq!(extra, ["expires_at", "scope"]);

        let token =
            read(r#"{"access_token":"a","access_token":"b","error":"x","error":1}"#).unwrap();
        assert_eq!(token.access_token().expose(), "b");
        assert_eq!(token.extra()["error"], json!(1));

        let token =
            read(r#"{"expires_in":null,"expires_at":1796119200,"access_token":"t"}"#).unwrap();
        assert_eq!(
            token.expires_at().unwrap().timestamp(),
            1_796_119_200,
            "an unknown lifetime falls back to the instant"
        );
        assert!(token.extra().is_empty());

        let refused = read(r#"{"access_token":"a","error":"invalid_grant"}"#).unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::Refused);
    }

    /// Two roles given one field name share the field: the first role looked at
    /// takes it (`expires_at` only when there is no usable `expires_in`).
    #[test]
    fn roles_that_share_a_name_share_the_field() {
        let fields = BodyFields {
            expires_at: "rt".to_owned(),
            refresh_token: "rt".to_owned(),
            ..BodyFields::default()
        };
        let token = fields
            .read(&json_response(
                r#"{"access_token":"a","expires_in":60,"rt":"r"}"#,
            ))
            .unwrap();
        assert_eq!(token.refresh_token().unwrap().expose(), "r");
        assert!(token.extra().is_empty());
        let error = fields
            .read(&json_response(r#"{"access_token":"a","rt":"r"}"#))
            .unwrap_err();
        assert!(error.to_string().contains("`rt` is neither"), "{error}");
    }

    #[test]
    fn what_is_wrong_with_a_body_is_named() {
        let message = |body: &str| read(body).unwrap_err().to_string();
        assert!(message("[1]").contains("JSON but not an object"));
        assert!(message("[1] x").contains("not JSON"));
        assert!(message(r#"{"access_token":"a"} x"#).contains("not JSON"));
        assert!(message(&("[".repeat(200) + &"]".repeat(200))).contains("nested too deeply"));
        let missing = message(r#"{"z":1,"token_type":"Bearer"}"#);
        assert!(
            missing.contains("no token field `access_token` (it has `token_type`, `z`)"),
            "{missing}"
        );
    }

    #[test]
    fn lifetime_accepts_numbers_and_numeric_strings() {
        let field = "expires_in";
        assert_eq!(
            lifetime(&json!(3600), field).unwrap(),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            lifetime(&json!("3600"), field).unwrap(),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(lifetime(&json!(-5), field).unwrap(), Some(Duration::ZERO));
        assert_eq!(lifetime(&json!(1e300), field).unwrap(), Some(MAX_LIFETIME));
        assert_eq!(lifetime(&json!(null), field).unwrap(), None);
        let error = lifetime(&json!("soon"), field).unwrap_err();
        assert!(error.to_string().contains("`expires_in`"));
        assert!(lifetime(&json!([1]), field).is_err());
    }

    #[test]
    fn instants_are_dates_or_numbers_since_1970() {
        let field = "expires_at";
        let at = |value| instant(&value, field).unwrap().unwrap().timestamp();
        assert_eq!(at(json!("2026-12-01T10:00:00Z")), 1_796_119_200);
        assert_eq!(at(json!("2026-12-01T11:00:00+01:00")), 1_796_119_200);
        assert_eq!(at(json!(1_796_119_200)), 1_796_119_200);
        assert_eq!(at(json!("1796119200")), 1_796_119_200);
        // Milliseconds, microseconds, nanoseconds, as some servers send them.
        assert_eq!(at(json!(1_796_119_200_000u64)), 1_796_119_200);
        assert_eq!(at(json!("1796119200123")), 1_796_119_200);
        assert_eq!(at(json!(1_796_119_200_000_000u64)), 1_796_119_200);
        assert_eq!(at(json!(1_796_119_200_000_000_000u64)), 1_796_119_200);
        assert_eq!(at(json!(-5)), 0);
        assert!(
            at(json!(1e300)) < (Utc::now() + MAX_LIFETIME + chrono::Duration::days(1)).timestamp()
        );
        assert_eq!(instant(&json!(null), field).unwrap(), None);
        let error = instant(&json!("tomorrow"), field).unwrap_err();
        assert!(error.to_string().contains("`expires_at`"), "{error}");
        assert!(instant(&json!([1]), field).is_err());
    }
}
