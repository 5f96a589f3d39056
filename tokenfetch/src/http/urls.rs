//! The URL rules of token requests: a base URL must be an http(s) URL that can
//! be a base, a relative endpoint is joined to it keeping its path, plain
//! `http://` goes only to loopback unless allowed, and header names and values
//! are checked (values marked sensitive).

use std::net::IpAddr;

use reqwest::header::{HeaderName, HeaderValue};
use url::Url;

use crate::model::{Error, Result, redacted_endpoint, redacted_url};

/// Whether plain `http://` may go to a host other than loopback, and how to say
/// so in an error: as a builder call, or as the derive's attribute.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PlainHttp {
    pub(crate) allowed: bool,
    pub(crate) declared_by_derive: bool,
}

/// Parses a base URL, naming it (without credentials) in the error.
pub(crate) fn parse_base_url(base_url: &str) -> Result<Url> {
    let url = Url::parse(base_url)
        .map_err(|error| Error::config(format!("invalid base URL: {error}")))?;
    if url.cannot_be_a_base() || !matches!(url.scheme(), "http" | "https") {
        return Err(Error::config(format!(
            "invalid base URL `{}`: it must be an http:// or https:// URL",
            redacted_url(&url)
        )));
    }
    Ok(url)
}

/// Joins a relative endpoint to a base URL, keeping the base's path
/// (`https://h/api` + `/token` = `https://h/api/token`).
pub(crate) fn join(base: &Url, endpoint: &str) -> Result<Url> {
    let joined = format!(
        "{}/{}",
        base.as_str().trim_end_matches('/'),
        endpoint.trim_start_matches('/')
    );
    Url::parse(&joined).map_err(|error| {
        Error::config(format!(
            "invalid endpoint `{}`: {error}",
            redacted_endpoint(endpoint)
        ))
    })
}

/// Refuses plain `http://` to a host that is not loopback, unless allowed.
pub(crate) fn check_scheme(url: &Url, plain_http: PlainHttp) -> Result<()> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if plain_http.allowed || is_loopback(url) => Ok(()),
        "http" => Err(Error::config(format!(
            "refusing to send credentials over plain http to `{}`; use https, or {} if this network is trusted",
            redacted_url(url),
            if plain_http.declared_by_derive {
                "add `allow_insecure_http` to the step's `#[endpoint(..)]` attribute"
            } else {
                "call `allow_insecure_http(true)`"
            }
        ))),
        scheme => Err(Error::config(format!(
            "unsupported URL scheme `{scheme}`; use https"
        ))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Validates a header name and value; the value is marked sensitive.
pub(crate) fn header_pair(name: &str, value: &str) -> Result<(HeaderName, HeaderValue)> {
    let name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| Error::config(format!("invalid header name `{name}`")))?;
    let mut value = HeaderValue::from_str(value).map_err(|_| {
        Error::config(format!(
            "invalid value for header `{name}`: it must be visible ASCII without line breaks"
        ))
    })?;
    value.set_sensitive(true);
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_keeps_the_base_path() {
        let base = Url::parse("https://h.example/api/").unwrap();
        assert_eq!(
            join(&base, "/v1/token").unwrap().as_str(),
            "https://h.example/api/v1/token"
        );
        let base = Url::parse("https://h.example").unwrap();
        assert_eq!(
            join(&base, "token").unwrap().as_str(),
            "https://h.example/token"
        );
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost",
            "http://[::1]:1",
            "https://a.example",
        ] {
            check_scheme(&Url::parse(ok).unwrap(), PlainHttp::default()).unwrap();
        }
        let remote = Url::parse("http://user:pw@auth.example/x?secret=1").unwrap();
        let error = check_scheme(&remote, PlainHttp::default()).unwrap_err();
        assert!(error.to_string().contains("allow_insecure_http"));
        assert!(
            error.to_string().contains("/x?secret=[redacted]"),
            "{error}"
        );
        assert!(!error.to_string().contains("pw") && !error.to_string().contains("secret=1"));
        let allowed = PlainHttp {
            allowed: true,
            declared_by_derive: false,
        };
        check_scheme(&remote, allowed).unwrap();
    }

    #[test]
    fn bad_header_is_a_config_error() {
        assert!(header_pair("bad header", "v").is_err());
        assert!(header_pair("X-Ok", "line\nbreak").is_err());
        assert!(header_pair("X-Ok", "v").unwrap().1.is_sensitive());
    }
}
