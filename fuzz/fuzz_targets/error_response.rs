//! A non-2xx answer: its error keeps the status, reads RFC 6749 fields only from a
//! JSON object or a form, and its message is printable and bounded whatever the
//! server wrote.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenfetch::fuzzing;
use tokenfetch_fuzz::{
    Counting, allocated_by, assert_allocation_bound, content_type_and_body, is_printable,
};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fuzz_target!(|data: &[u8]| {
    let Some((status_byte, rest)) = data.split_first() else {
        return;
    };
    let status = [400, 401, 403, 408, 429, 500, 502, 503, 504, 302, 418, 599]
        [usize::from(*status_byte) % 12];
    let (content_type, body) = content_type_and_body(rest);
    let headers: [(&[u8], &[u8]); 2] = [(b"content-type", content_type), (b"retry-after", b"7")];
    let (error, allocated) = allocated_by(|| fuzzing::status_error(status, &headers, body));
    assert_allocation_bound(body.len(), allocated, 96);
    let error = error.expect("a non-2xx status gives an error");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(status));
    let message = error.to_string();
    assert!(is_printable(&message), "{message:?}");
    assert!(message.len() <= 2048, "a {} byte message", message.len());
    if let Some(oauth) = fuzzing::oauth_error(content_type, body) {
        let trimmed = body.trim_ascii_start();
        let form = content_type
            .to_ascii_lowercase()
            .starts_with(b"application/x-www-form-urlencoded;")
            || content_type.eq_ignore_ascii_case(b"application/x-www-form-urlencoded")
            || content_type
                .to_ascii_lowercase()
                .starts_with(b"application/x-www-form-urlencoded ");
        assert!(
            form || trimmed.starts_with(b"{"),
            "{oauth:?} read from a body that is not an object"
        );
    }
});
