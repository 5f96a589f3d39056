//! A 2xx token response body, by content type: parsed into a token or a typed
//! error, never a panic; a token's fields came from the body; the parse allocates
//! at most a fixed multiple of the body's size; the token's `Debug` shows no
//! secret; the error's message carries no raw control character.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenfetch::fuzzing;
use tokenfetch_fuzz::{
    Counting, allocated_by, assert_allocation_bound, content_type_and_body, is_printable,
};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fuzz_target!(|data: &[u8]| {
    let (content_type, body) = content_type_and_body(data);
    let (result, allocated) = allocated_by(|| fuzzing::body_token(content_type, body));
    assert_allocation_bound(body.len(), allocated, 96);
    match result {
        Ok(token) => {
            let access = token.access_token().expose();
            assert!(!access.is_empty(), "an empty access token was accepted");
            // The Debug shows the token type and the names of the extra fields,
            // which are not secret and may contain anything: only a secret that
            // is not among them must be absent.
            let debug = format!("{token:?}");
            let public: Vec<&str> = std::iter::once(token.token_type())
                .chain(token.extra().keys().map(String::as_str))
                .chain(["TokenData access_token token_type expires_at refresh_token extra [redacted] Some None"])
                .collect();
            let secrets = std::iter::once(access)
                .chain(token.refresh_token().map(|refresh| refresh.expose()));
            for secret in secrets {
                if !public.iter().any(|part| part.contains(secret)) {
                    assert!(!debug.contains(secret), "a secret is in the Debug: {debug}");
                }
            }
            // Every field came from the body: an access token never appears from
            // nowhere (JSON may escape it, so check its characters' presence).
            if std::str::from_utf8(body).is_ok_and(|text| {
                !text.contains('\\') && !text.contains('%') && !text.contains('+')
            }) {
                let text = std::str::from_utf8(body).unwrap();
                assert!(
                    text.contains(access),
                    "token {access:?} not in the body {text:?}"
                );
            }
        }
        Err(error) => {
            let message = error.to_string();
            assert!(is_printable(&message), "{message:?}");
            assert!(message.len() <= 4096, "a {} byte message", message.len());
        }
    }
});
