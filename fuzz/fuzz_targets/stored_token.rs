//! What a store reads back: a token file's contents and a Redis entry's value.
//! Damaged data is a typed error, never a panic and never a token from nowhere;
//! a token read back shows no secret in its `Debug`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenfetch::fuzzing;
use tokenfetch_fuzz::{Counting, allocated_by, assert_allocation_bound, is_printable};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fuzz_target!(|data: &[u8]| {
    let Some((pick, bytes)) = data.split_first() else {
        return;
    };
    let (tokens, allocated) = allocated_by(|| {
        if pick % 2 == 0 {
            fuzzing::token_file(bytes)
        } else {
            fuzzing::redis_entry(bytes).map(|stored| vec![("entry".to_owned(), stored)])
        }
    });
    assert_allocation_bound(bytes.len(), allocated, 96);
    match tokens {
        Ok(tokens) => {
            for (_, stored) in tokens {
                let token = &stored.token;
                let debug = format!("{stored:?}");
                let public: Vec<&str> = std::iter::once(token.token_type())
                    .chain(token.extra().keys().map(String::as_str))
                    .chain(["StoredToken TokenData access_token token_type expires_at refresh_token extra fetched_at [redacted] Some None"])
                    .collect();
                let secrets = std::iter::once(token.access_token().expose())
                    .chain(token.refresh_token().map(|refresh| refresh.expose()));
                for secret in secrets {
                    if !public.iter().any(|part| part.contains(secret))
                        && !debug_has_dates_containing(&debug, secret)
                    {
                        assert!(!debug.contains(secret), "a secret is in the Debug: {debug}");
                    }
                }
                let _ = (stored.remaining(), stored.lifetime(), stored.age());
            }
        }
        Err(error) => assert!(is_printable(&error.to_string())),
    }
});

/// Whether `secret` could be part of the dates the Debug prints (digits, `-`,
/// `:`, `T`...), which come from the input too.
fn debug_has_dates_containing(debug: &str, secret: &str) -> bool {
    secret
        .chars()
        .all(|c| c.is_ascii_digit() || "-:.TZ +UTC".contains(c))
        && debug.contains(secret)
}
