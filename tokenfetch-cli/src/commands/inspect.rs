//! `inspect`: a JWT's header and claims, decoded without checking the signature;
//! its dates shown as dates, with a countdown to expiry.

use std::io::Read;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::commands::status::human;
use crate::exit::{Failure, OK};
use crate::session::Session;

pub fn from_stdin() -> Result<u8, Failure> {
    let mut token = String::new();
    std::io::stdin()
        .read_to_string(&mut token)
        .map_err(|error| Failure::usage(format!("error: cannot read stdin: {error}")))?;
    crate::out!("{}", describe(token.trim())?);
    Ok(OK)
}

pub async fn from_step(session: &Session, step: &str) -> Result<u8, Failure> {
    let engine = session.engine(&[step])?;
    let token = session.token(&engine, step).await?;
    crate::out!("{}", describe(token.access_token().expose())?);
    Ok(OK)
}

fn part(token_part: &str, what: &str) -> Result<Map<String, Value>, Failure> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token_part.trim_end_matches('='))
        .map_err(|_| Failure::usage(format!("error: the JWT's {what} is not base64url")))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| Failure::usage(format!("error: the JWT's {what} is not a JSON object")))
}

/// The header, the claims, and the dates of a compact JWT.
pub fn describe(token: &str) -> Result<String, Failure> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(Failure::usage(format!(
            "error: not a JWT: a JWT has three parts separated by `.`, this has {}",
            parts.len()
        )));
    }
    let header = part(parts[0], "header")?;
    let claims = part(parts[1], "payload")?;
    let pretty =
        |value: &Map<String, Value>| serde_json::to_string_pretty(value).unwrap_or_default();
    let mut out = format!(
        "header:\n{}\nclaims:\n{}\n(signature not checked)\n",
        pretty(&header),
        pretty(&claims)
    );
    let now = Utc::now();
    for (claim, label) in [("iat", "issued"), ("nbf", "not before"), ("exp", "expires")] {
        let Some(at) = claims
            .get(claim)
            .and_then(Value::as_i64)
            .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
        else {
            continue;
        };
        let when = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let relative = match (at - now).to_std() {
            Ok(ahead) => format!("in {}", human(ahead)),
            Err(_) => format!("{} ago", human((now - at).to_std().unwrap_or_default())),
        };
        out.push_str(&format!("{label}: {when} ({relative})\n"));
    }
    Ok(out)
}
