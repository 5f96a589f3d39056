//! `Retry-After`: seconds or an HTTP date, never more than the 300 s cap, never a
//! panic.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tokenfetch::fuzzing;

fuzz_target!(|data: &[u8]| {
    if let Some(delay) = fuzzing::retry_after(data) {
        assert!(delay <= Duration::from_secs(300), "{delay:?}");
        let text = String::from_utf8_lossy(data);
        if text.trim().bytes().all(|byte| byte.is_ascii_digit()) && !text.trim().is_empty() {
            let expected = text
                .trim()
                .parse::<u64>()
                .map_or(300, |seconds| seconds.min(300));
            assert_eq!(delay, Duration::from_secs(expected), "{text:?}");
        }
    }
});
