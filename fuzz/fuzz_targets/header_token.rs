//! A token read from a response header: a non-empty credential from the header,
//! or a typed error naming it; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenfetch::fuzzing;
use tokenfetch_fuzz::is_printable;

fuzz_target!(|data: &[u8]| {
    let (token_type, value) = match data.split_first() {
        Some((pick, value)) => (
            ["Bearer", "Token", "MAC", ""][usize::from(*pick) % 4],
            value,
        ),
        None => ("Bearer", data),
    };
    match fuzzing::header_token(value, token_type) {
        Ok(token) => {
            let access = token.access_token().expose();
            assert!(!access.is_empty());
            assert!(
                !access.starts_with(' ') && !access.ends_with(' '),
                "{access:?}"
            );
            let header = String::from_utf8_lossy(value);
            assert!(header.contains(access), "{access:?} not in {header:?}");
            let alone = header.trim_matches(|c: char| c.is_ascii_whitespace());
            assert!(
                token_type.is_empty() || !alone.eq_ignore_ascii_case(token_type),
                "the scheme alone became the token: {header:?}"
            );
        }
        Err(error) => {
            let message = error.to_string();
            assert!(is_printable(&message), "{message:?}");
            assert!(message.contains("`authorization`"), "{message}");
        }
    }
});
