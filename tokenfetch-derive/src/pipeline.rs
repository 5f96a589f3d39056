//! `#[derive(TokenPipeline)]`: a struct whose fields are the steps of one pipeline.
//!
//! The macro sees only the field types, not the steps' names or dependencies, so
//! the graph rules (every dependency in the pipeline, no cycle, unique names) are
//! checked by `const` items it generates, one per field and rule, spanned at the
//! field: the compiler evaluates them with the steps' `TokenStep::NAME` and
//! `TokenStep::DEPENDS_ON` and fails the build at the offending field. The stages:
//! `ast` reads and checks the input's shape, `expand` generates the impls and the
//! checks, or the stub emitted next to errors.

mod ast;
mod expand;

use proc_macro2::TokenStream;
use syn::DeriveInput;

use crate::ctxt::Ctxt;

/// The derive's entry point: the impls, or the errors next to a stub impl.
pub fn derive(node: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let pipeline = ast::Pipeline::from_syn(&cx, node);
    match (cx.check(), pipeline) {
        (Ok(()), Some(pipeline)) => expand::expand(&pipeline),
        (Err(error), _) => expand::fallback(node, error),
        (Ok(()), None) => unreachable!("an input that does not parse records an error"),
    }
}
