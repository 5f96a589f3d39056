//! What the fuzz targets share: an allocator that counts the bytes a parse asks
//! for, so that a target can check that no input makes a parser allocate more
//! than a fixed multiple of its size; and the content types worth trying.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting the bytes asked for.
pub struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.fetch_add(new_size.saturating_sub(layout.size()), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// The bytes allocated while `f` ran, with its result.
pub fn allocated_by<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATED.load(Ordering::Relaxed);
    let result = f();
    (result, ALLOCATED.load(Ordering::Relaxed) - before)
}

/// Fails the run if parsing `input_len` bytes allocated more than `per_byte`
/// times that, plus a fixed allowance for the parser's own set-up.
pub fn assert_allocation_bound(input_len: usize, allocated: usize, per_byte: usize) {
    let bound = per_byte * input_len + 64 * 1024;
    assert!(
        allocated <= bound,
        "{allocated} bytes allocated for {input_len} bytes of input (bound {bound})"
    );
}

/// Content types a token endpoint may send, picked by a byte of the input.
pub const CONTENT_TYPES: [&[u8]; 8] = [
    b"application/json",
    b"application/json; charset=utf-8",
    b"application/x-www-form-urlencoded",
    b"Application/X-WWW-Form-Urlencoded; charset=UTF-8",
    b"application/x-www-form-urlencodedx",
    b"text/html",
    b"",
    b"application/jwt",
];

/// Splits the input into a content type (chosen by the first byte) and a body.
pub fn content_type_and_body(data: &[u8]) -> (&'static [u8], &[u8]) {
    match data.split_first() {
        Some((&pick, body)) => (CONTENT_TYPES[usize::from(pick) % CONTENT_TYPES.len()], body),
        None => (CONTENT_TYPES[0], data),
    }
}

/// Whether `text` holds no raw control character: what a message or a log line
/// must never carry from a server.
pub fn is_printable(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

/// Whether `token`'s `Debug` is the same whatever its secrets are: the precise
/// form of "no secret in the `Debug`", since any other text in it (the token
/// type, the names of extra fields) may contain anything.
pub fn debug_hides_secrets(token: &tokenfetch::TokenData) -> bool {
    let mut value = serde_json::to_value(token).expect("a token serializes");
    for field in ["access_token", "refresh_token"] {
        if let Some(secret) = value.get_mut(field) {
            *secret = serde_json::Value::String("x-other-secret-x".to_owned());
        }
    }
    let other: tokenfetch::TokenData = serde_json::from_value(value).expect("and back");
    format!("{token:?}") == format!("{other:?}")
}
