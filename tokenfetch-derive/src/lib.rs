//! Derive macros for [`tokenfetch`](https://docs.rs/tokenfetch). Use them through
//! the `tokenfetch` crate, which re-exports them and documents their attributes.
//!
//! The stages of `#[derive(TokenStep)]`, one per module: `attr` parses the
//! attributes (`oauth_attr` those of client authentication and grants), `ast` models the input, `valid` checks the rules that span several
//! attributes, `expand` generates the impls and `fallback` the stub emitted next to
//! errors. `ctxt` collects errors so that all of them are reported at once;
//! `symbol` spells every attribute name once. `pipeline` is
//! `#[derive(TokenPipeline)]`, with stages of its own.

mod ast;
mod attr;
mod ctxt;
mod expand;
mod fallback;
mod oauth_attr;
mod pipeline;
mod symbol;
mod valid;
mod value;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `tokenfetch::TokenFetcher` and `tokenfetch::TokenStep`. The attribute
/// reference is on `tokenfetch::TokenStep`'s re-export.
#[proc_macro_derive(
    TokenStep,
    attributes(
        endpoint,
        token_field,
        token_header,
        step,
        depends_on,
        inject_header,
        inject_field,
        inject_query,
        field,
        header,
        query,
        skip,
        client_auth,
        grant,
        issuer,
        client_id,
        client_secret,
        private_key,
        base_url
    )
)]
pub fn derive_token_step(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}

/// Derives `tokenfetch::TokenPipeline` for a struct whose fields are steps, and
/// checks the pipeline's graph at compile time. Documented on
/// `tokenfetch::TokenPipeline`'s re-export.
#[proc_macro_derive(TokenPipeline)]
pub fn derive_token_pipeline(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    pipeline::derive(&input).into()
}
