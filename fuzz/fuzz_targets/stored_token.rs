//! What a store reads back: a token file's contents and a Redis entry's value.
//! Damaged data is a typed error, never a panic and never a token from nowhere;
//! a token read back shows no secret in its `Debug`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenfetch::fuzzing;
use tokenfetch_fuzz::{
    Counting, allocated_by, assert_allocation_bound, debug_hides_secrets, is_printable,
};

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
                assert!(
                    debug_hides_secrets(&stored.token),
                    "a secret shows in {stored:?}"
                );
                let _ = (stored.remaining(), stored.lifetime(), stored.age());
            }
        }
        Err(error) => assert!(is_printable(&error.to_string())),
    }
});
