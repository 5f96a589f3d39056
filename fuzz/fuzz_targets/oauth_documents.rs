//! What an authorization server says outside a token response: a discovery
//! document (checked against the issuer asked for), a device authorization
//! response, and a token read as a JWT for its `exp`. The first byte picks one;
//! each gives a value or a typed error, never a panic, and errors are printable.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tokenfetch::fuzzing;
use tokenfetch_fuzz::is_printable;

const ISSUER: &str = "https://issuer.example.com/tenant";

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => match fuzzing::discovery_document(ISSUER, rest).expect("the issuer parses") {
            Ok(metadata) => {
                assert_eq!(
                    metadata.issuer().trim_end_matches('/'),
                    ISSUER,
                    "a document for another issuer was accepted"
                );
                let endpoint = metadata.token_endpoint();
                assert!(
                    matches!(endpoint.scheme(), "http" | "https") && endpoint.has_host(),
                    "token endpoint {endpoint}"
                );
            }
            Err(error) => assert!(is_printable(&error.to_string()), "{error}"),
        },
        1 => match fuzzing::device_authorization(rest) {
            Ok((prompt, interval)) => {
                assert!(prompt.expires_in() <= Duration::from_secs(1800));
                assert!(interval <= Duration::from_secs(86_400));
            }
            Err(error) => assert!(is_printable(&error.to_string()), "{error}"),
        },
        _ => {
            if let Ok(token) = std::str::from_utf8(rest)
                && let Some(at) = fuzzing::jwt_expiry(token)
            {
                assert!(at.timestamp() >= 0, "{at}");
                assert_eq!(token.split('.').count(), 3);
            }
        }
    }
});
