//! What a message, a log line or a `Debug` may show of a secret, a URL, or text a
//! server wrote: the one owner of redaction. Secrets show as [`REDACTED`]; a URL
//! keeps its scheme, host, path and query names, never credentials or query
//! values; server text is escaped and cut.

use url::Url;

/// What every redacted value prints as.
pub(crate) const REDACTED: &str = "[redacted]";

/// A URL fit for logs, errors and `Debug`: no credentials, no fragment, and every
/// query value replaced by `[redacted]` (`/token?api_key=[redacted]`).
pub(crate) fn redacted_url(url: &Url) -> String {
    let mut bare = url.clone();
    let _ = bare.set_username("");
    let _ = bare.set_password(None);
    bare.set_query(None);
    bare.set_fragment(None);
    let mut text = String::from(bare);
    if let Some(query) = url.query() {
        text.push('?');
        text.push_str(&redacted_query(query));
    }
    text
}

/// An endpoint as the user wrote it (relative, absolute, or not a URL at all),
/// fit for logs, errors and `Debug`: as [`redacted_url`] does, by hand where it
/// does not parse.
pub(crate) fn redacted_endpoint(endpoint: &str) -> String {
    if let Ok(url) = Url::parse(endpoint) {
        return redacted_url(&url);
    }
    let endpoint = endpoint.split('#').next().unwrap_or_default();
    let (address, query) = match endpoint.split_once('?') {
        Some((address, query)) => (address, Some(query)),
        None => (endpoint, None),
    };
    let mut text = match address.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            let host = authority.rsplit('@').next().unwrap_or_default();
            format!("{scheme}://{host}{path}")
        }
        None => address.to_owned(),
    };
    if let Some(query) = query {
        text.push('?');
        text.push_str(&redacted_query(query));
    }
    text
}

/// `a=1&b` -> `a=[redacted]&[redacted]`: the names stay, the values go.
fn redacted_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) => format!("{name}={REDACTED}"),
            None if pair.is_empty() => String::new(),
            None => REDACTED.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The most characters of one piece of server text a message shows.
const MAX_SERVER_TEXT: usize = 256;

/// Text a server wrote, fit for a message and a log line: control characters
/// (line breaks, terminal escapes) and invisible direction marks escaped, so that
/// it cannot forge a log line or repaint a terminal, and cut after 256 characters,
/// marked `[cut]`.
pub(crate) fn server_text(text: &str) -> String {
    let mut shown = String::with_capacity(text.len().min(MAX_SERVER_TEXT + 8));
    for (index, c) in text.chars().enumerate() {
        if index == MAX_SERVER_TEXT {
            shown.push_str("… [cut]");
            break;
        }
        let invisible = matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || invisible {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_redacted_wherever_an_endpoint_is_shown() {
        for (endpoint, shown) in [
            ("/token?api_key=K", "/token?api_key=[redacted]"),
            (
                "/token?a=1&b=2&flag",
                "/token?a=[redacted]&b=[redacted]&[redacted]",
            ),
            ("/token?api_key=K#frag", "/token?api_key=[redacted]"),
            (
                "https://u:p@h.example/t?k=K",
                "https://h.example/t?k=[redacted]",
            ),
            ("ht tp://u:p@h/t?k=K", "ht tp://h/t?k=[redacted]"),
            ("/plain", "/plain"),
        ] {
            assert_eq!(redacted_endpoint(endpoint), shown, "{endpoint}");
        }
    }

    #[test]
    fn server_text_is_escaped_and_cut() {
        assert_eq!(server_text("a\nb\u{1b}[2J"), "a\\nb\\u{1b}[2J");
        assert_eq!(server_text("\u{202e}x"), "\\u{202e}x");
        let long = server_text(&"x".repeat(1000));
        assert!(long.ends_with("… [cut]") && long.chars().count() == 256 + 7);
    }
}
