//! Reading a token out of a 2xx answer: from a JSON (or form-encoded) body's fields,
//! or from a response header. Every failure names the field or header concerned.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderName;
use serde_json::{Map, Value};

use crate::http::{HttpResponse, describe_body, is_too_deep, too_deep};
use crate::model::{DEFAULT_TOKEN_TYPE, Error, ErrorKind, MAX_LIFETIME, Result, TokenData};
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
fn field_names(object: &Map<String, Value>) -> String {
    const MAX_NAMES: usize = 20;
    const MAX_CHARS: usize = 64;
    if object.is_empty() {
        return "it has no fields at all".to_owned();
    }
    let mut names: Vec<&str> = object.keys().map(String::as_str).collect();
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
        let mut object = body_object(response)?;
        if object.get("error").is_some_and(Value::is_string) {
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
        let access_token = match object.remove(&self.token) {
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
                let had = field_names(&object);
                return Err(Error::bad_response(format!(
                    "the response has no token field `{}` ({had}); set `token_field` to the field that holds the token",
                    self.token
                )));
            }
        };
        let mut token = TokenData::new(access_token);
        token = match object.remove(&self.token_type) {
            Some(Value::String(token_type)) if !token_type.is_empty() => {
                token.with_token_type(token_type)
            }
            _ => token.with_token_type(self.default_token_type.clone()),
        };
        // The expiry from wherever the server put it: a lifetime, an instant, or
        // the access token's own `exp` claim.
        if let Some(value) = object.remove(&self.expires_in)
            && let Some(lifetime) = lifetime(&value, &self.expires_in)?
        {
            token = token.with_expires_in(lifetime);
        } else if let Some(value) = object.remove(&self.expires_at)
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
        if let Some(Value::String(refresh)) = object.remove(&self.refresh_token)
            && !refresh.is_empty()
        {
            token = token.with_refresh_token(refresh);
        }
        for (key, value) in object {
            token = token.with_extra(key, value);
        }
        Ok(token)
    }
}

/// The body as a JSON object; a form-encoded body becomes an object of strings.
fn body_object(response: &HttpResponse) -> Result<Map<String, Value>> {
    if response.is_form() {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(response.body())
            .map_err(|_| Error::bad_response("the form-encoded body does not parse"))?;
        return Ok(pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect());
    }
    match serde_json::from_slice::<Value>(response.body()) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(Error::bad_response("the body is JSON but not an object")),
        Err(error) if is_too_deep(&error) => Err(too_deep()),
        Err(_) => Err(Error::bad_response(format!(
            "the body is not JSON ({})",
            describe_body(response.body())
        ))),
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

/// `expires_at` as an RFC 3339 date or epoch seconds (a number or a numeric
/// string); `null` means unknown.
fn instant(value: &Value, field: &str) -> Result<Option<DateTime<Utc>>> {
    let seconds = match value {
        Value::Null => return Ok(None),
        Value::Number(number) => number.as_f64(),
        Value::String(text) => match DateTime::parse_from_rfc3339(text.trim()) {
            Ok(at) => return Ok(Some(at.with_timezone(&Utc))),
            Err(_) => text.trim().parse::<f64>().ok(),
        },
        _ => None,
    };
    match seconds {
        Some(seconds) if seconds.is_finite() => {
            let latest = (Utc::now() + MAX_LIFETIME).timestamp() as f64;
            Ok(DateTime::from_timestamp(
                seconds.clamp(0.0, latest) as i64,
                0,
            ))
        }
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
    fn instants_are_dates_or_epoch_seconds() {
        let field = "expires_at";
        let at = |value| instant(&value, field).unwrap().unwrap().timestamp();
        assert_eq!(at(json!("2026-12-01T10:00:00Z")), 1_796_119_200);
        assert_eq!(at(json!("2026-12-01T11:00:00+01:00")), 1_796_119_200);
        assert_eq!(at(json!(1_796_119_200)), 1_796_119_200);
        assert_eq!(at(json!("1796119200")), 1_796_119_200);
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
