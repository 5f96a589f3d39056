//! Derive macros for [`tokenfetch`](https://docs.rs/tokenfetch). Use them through
//! the `tokenfetch` crate, which re-exports them and documents their attributes.

use proc_macro::TokenStream;

/// Derives `tokenfetch::TokenFetcher` and `tokenfetch::TokenStep`.
#[proc_macro_derive(
    TokenStep,
    attributes(
        endpoint,
        token_field,
        token_header,
        step,
        depends_on,
        inject_header,
        inject_field
    )
)]
pub fn derive_token_step(input: TokenStream) -> TokenStream {
    let _ = input;
    TokenStream::new()
}
