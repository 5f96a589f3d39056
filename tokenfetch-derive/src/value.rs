//! The values inside attributes: durations (`"1h30m"`), header names and URLs.
//! Header names and URLs are checked with the crates the runtime uses (`http`,
//! `url`), so that what the derive accepts at compile time is what the runtime
//! accepts when it builds the step.

use std::time::Duration;

/// Parses a duration literal such as `"30s"`, `"15m"`, `"1h30m"`, `"30d"` or
/// `"500ms"`: numbers with units from largest to smallest, each unit once.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
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
            return Err(format!("expected a number at `{rest}`"));
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
                format!("`{number}` has no unit")
            } else {
                format!("unknown unit `{unit}`")
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

/// Whether `name` is a valid HTTP header name, as the runtime's `http` crate
/// says (an RFC 9110 token).
pub fn is_header_name(name: &str) -> bool {
    http::HeaderName::from_bytes(name.as_bytes()).is_ok()
}

/// Checks an absolute URL as the runtime parses it: an `http` or `https` URL with
/// a host. Says why not otherwise.
pub fn check_url(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|error| error.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme `{}` is not http or https",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("it has no host".to_owned());
    }
    Ok(())
}

/// Checks a scope token of RFC 6749 §3.3: visible ASCII except `"` and `\`, no
/// spaces; the same rule as the runtime's `Grant`.
pub fn check_scope(scope: &str) -> Result<(), String> {
    let valid = |b: u8| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b);
    if scope.is_empty() || !scope.bytes().all(valid) {
        return Err(format!(
            "`{}` is not a scope: RFC 6749 §3.3 allows visible ASCII except `\"` and `\\`, with no spaces; list each scope separately, such as `scope = [\"read\", \"write\"]`",
            scope.escape_debug()
        ));
    }
    Ok(())
}

/// The name among `names` one or two edits away from `name`, if there is one.
pub fn nearest<'a, S: AsRef<str>>(name: &str, names: &'a [S]) -> Option<&'a str> {
    names
        .iter()
        .map(|candidate| {
            (
                strsim::damerau_levenshtein(name, candidate.as_ref()),
                candidate,
            )
        })
        .filter(|(distance, _)| (1..=2).contains(distance))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate.as_ref())
}

/// ` (did you mean `x`?)` when a name among `names` is near `name`, else nothing.
pub fn did_you_mean<S: AsRef<str>>(name: &str, names: &[S]) -> String {
    nearest(name, names)
        .map(|near| format!(" (did you mean `{near}`?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86400)));
        assert_eq!(parse_duration("1s500ms"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("30x").is_err());
        assert!(parse_duration("1m1h").is_err());
        assert!(parse_duration("1h1h").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("1 h").is_err());
        assert!(parse_duration("99999999999999999999999d").is_err());
    }

    #[test]
    fn header_names() {
        assert!(is_header_name("X-Device-Token"));
        assert!(is_header_name("authorization"));
        assert!(!is_header_name(""));
        assert!(!is_header_name("X Device"));
        assert!(!is_header_name("X-Dévice"));
        assert!(!is_header_name("X:Y"));
    }

    #[test]
    fn urls() {
        assert!(check_url("https://auth.example.com/token").is_ok());
        assert!(check_url("http://127.0.0.1:8080").is_ok());
        assert!(check_url("ftp://auth.example.com").is_err());
        assert!(check_url("https://").is_err());
        assert!(check_url("https://exa mple.com").is_err());
        assert!(check_url("http://[::1").is_err());
    }
}
