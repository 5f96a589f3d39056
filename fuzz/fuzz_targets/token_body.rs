//! A 2xx token response body, by content type: parsed into a token or a typed
//! error, never a panic; a token's fields came from the body; the parse allocates
//! at most a fixed multiple of the body's size; the token's `Debug` shows no
//! secret; the error's message carries no raw control character.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenfetch::fuzzing;
use tokenfetch_fuzz::{
    Counting, allocated_by, assert_allocation_bound, content_type_and_body, debug_hides_secrets,
    is_printable,
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
            assert!(debug_hides_secrets(&token), "a secret shows in {token:?}");
            // The token came from the body: it is in it as written, unless the
            // body has escapes (JSON `\\`, form `%` and `+`) that decode it.
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
