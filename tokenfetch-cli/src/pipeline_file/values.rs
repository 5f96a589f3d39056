//! The rules of the values written in a pipeline file: durations (`"1h30m"`),
//! header names (as the `http` crate reads them), URLs (as the `url` crate
//! parses them, http or https with a host), OAuth 2.0 scopes (RFC 6749 §3.3)
//! and token types (RFC 8693 §3). Each says why a value is wrong without
//! repeating the value.

use std::net::IpAddr;
use std::time::Duration;

use url::Url;

use super::diagnostic::did_you_mean;

/// Parses a duration such as `"500ms"`, `"30s"`, `"15m"`, `"1h30m"` or `"30d"`:
/// numbers with units from largest to smallest, each unit once, longer than
/// zero.
pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    const UNITS: [(&str, u128); 5] = [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    if text.is_empty() {
        return Err("it is empty".to_owned());
    }
    let mut rest = text;
    let mut millis: u128 = 0;
    let mut last_unit = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err("expected a number".to_owned());
        }
        let number: u128 = rest[..digits]
            .parse()
            .map_err(|_| "the number is too large".to_owned())?;
        rest = &rest[digits..];
        let letters = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..letters];
        rest = &rest[letters..];
        let Some(index) = UNITS.iter().position(|(name, _)| *name == unit) else {
            return Err(if unit.is_empty() {
                "a number has no unit".to_owned()
            } else {
                format!("unknown unit `{}`", unit.escape_debug())
            });
        };
        if last_unit.is_some_and(|last| index <= last) {
            return Err("units must go from largest to smallest, each once".to_owned());
        }
        last_unit = Some(index);
        millis = number
            .checked_mul(UNITS[index].1)
            .and_then(|value| millis.checked_add(value))
            .filter(|value| *value <= u128::from(u64::MAX))
            .ok_or_else(|| "the duration is too large".to_owned())?;
    }
    if millis == 0 {
        return Err("it must be longer than zero".to_owned());
    }
    Ok(Duration::from_millis(millis as u64))
}

/// The help shown with an invalid duration.
pub(super) const DURATION_HELP: &str =
    "write a number and a unit (`d`, `h`, `m`, `s`, `ms`), such as \"30s\" or \"1h30m\"";

/// Whether `name` is a valid HTTP header name (an RFC 9110 token).
pub(super) fn is_header_name(name: &str) -> bool {
    http::HeaderName::from_bytes(name.as_bytes()).is_ok()
}

/// Checks an absolute URL: http or https, with a host, and plain http only to
/// loopback unless `insecure` allows it. Says why not otherwise.
pub(super) fn check_url(text: &str, insecure: bool) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|error| format!("it is not a URL: {error}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme `{}` is not http or https",
            url.scheme().escape_debug()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("it has no host".to_owned());
    }
    if url.scheme() == "http" && !insecure && !is_loopback(&url) {
        return Err(
            "plain http is only for loopback; use https, or set `allow_insecure_http = true`"
                .to_owned(),
        );
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// What an endpoint is: a path joined to the base URL, or an absolute URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EndpointKind {
    /// A path such as `/oauth/token`, joined to the base URL.
    Relative,
    /// A URL of its own.
    Absolute,
}

/// Checks an endpoint: a path, or an absolute URL as [`check_url`] says.
pub(super) fn check_endpoint(text: &str, insecure: bool) -> Result<EndpointKind, String> {
    if text.is_empty() {
        return Err("it is empty".to_owned());
    }
    if text.contains("://") || Url::parse(text).is_ok() {
        return check_url(text, insecure).map(|_| EndpointKind::Absolute);
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a path has no spaces or control characters".to_owned());
    }
    Ok(EndpointKind::Relative)
}

/// Checks an issuer identifier: an absolute URL without query or fragment
/// (RFC 8414 §2).
pub(super) fn check_issuer(text: &str, insecure: bool) -> Result<(), String> {
    let url = check_url(text, insecure)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err("an issuer has no query or fragment (RFC 8414 §2)".to_owned());
    }
    Ok(())
}

/// Whether `scope` is a scope token of RFC 6749 §3.3:
/// `1*( %x21 / %x23-5B / %x5D-7E )`.
pub(super) fn is_scope(scope: &str) -> bool {
    let valid = |b: u8| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b);
    !scope.is_empty() && scope.bytes().all(valid)
}

/// The short names of RFC 8693 §3 token types.
pub(super) const TOKEN_TYPES: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "jwt",
    "saml1",
    "saml2",
];

/// A token type's URN, from a short name (`id_token`) or written out
/// (`urn:...`); otherwise the help to show.
pub(super) fn token_type(name: &str) -> Result<String, String> {
    if TOKEN_TYPES.contains(&name) {
        Ok(format!("urn:ietf:params:oauth:token-type:{name}"))
    } else if name.starts_with("urn:") && name.len() > 4 {
        Ok(name.to_owned())
    } else {
        let expected = format!(
            "expected one of {} (RFC 8693 §3), or a URN",
            super::diagnostic::one_of(TOKEN_TYPES)
        );
        Err(match did_you_mean(name, TOKEN_TYPES.iter().copied()) {
            Some(near) => format!("{near} ({expected})"),
            None => expected,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1s500ms"), Ok(Duration::from_millis(1500)));
        for bad in [
            "",
            "30",
            "s",
            "30x",
            "1m1h",
            "0s",
            "1s1s",
            "99999999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_and_endpoints() {
        assert!(check_url("https://auth.example.com", false).is_ok());
        assert!(check_url("http://127.0.0.1:8080", false).is_ok());
        assert!(check_url("http://auth.example.com", false).is_err());
        assert!(check_url("http://auth.example.com", true).is_ok());
        assert!(check_url("ftp://auth.example.com", false).is_err());
        assert!(check_url("not a url", false).is_err());
        assert_eq!(check_endpoint("/token", false), Ok(EndpointKind::Relative));
        assert_eq!(check_endpoint("token", false), Ok(EndpointKind::Relative));
        assert_eq!(
            check_endpoint("https://a.example/token", false),
            Ok(EndpointKind::Absolute)
        );
        assert!(check_endpoint("https://", false).is_err());
        assert!(check_endpoint("localhost:8080/token", false).is_err());
        assert!(check_endpoint("/to ken", false).is_err());
        assert!(check_issuer("https://a.example/?x=1", false).is_err());
    }

    #[test]
    fn scopes_and_token_types() {
        assert!(is_scope("read:all"));
        for bad in ["", "read write", "say\"hi", "back\\slash", "é"] {
            assert!(!is_scope(bad), "{bad}");
        }
        assert_eq!(
            token_type("id_token").as_deref(),
            Ok("urn:ietf:params:oauth:token-type:id_token")
        );
        assert_eq!(token_type("urn:x:y").as_deref(), Ok("urn:x:y"));
        assert!(token_type("id_tokn").unwrap_err().contains("`id_token`"));
    }
}
