//! The derive's stages (attribute parsing, the model, the cross-attribute rules,
//! code generation and the fallback on error), compiled from the derive crate's
//! own sources, fed structs whose attributes are generated: every input expands
//! or gives spanned errors, never a panic.
#![no_main]

#[path = "../../tokenfetch-derive/src/ast.rs"]
mod ast;
#[path = "../../tokenfetch-derive/src/attr.rs"]
mod attr;
#[path = "../../tokenfetch-derive/src/ctxt.rs"]
mod ctxt;
#[path = "../../tokenfetch-derive/src/expand.rs"]
mod expand;
#[path = "../../tokenfetch-derive/src/fallback.rs"]
mod fallback;
#[path = "../../tokenfetch-derive/src/oauth_attr.rs"]
mod oauth_attr;
#[path = "../../tokenfetch-derive/src/symbol.rs"]
mod symbol;
#[path = "../../tokenfetch-derive/src/valid.rs"]
mod valid;
#[path = "../../tokenfetch-derive/src/value.rs"]
mod value;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // syn parses nested types and groups by recursion with no depth limit, so a
    // few thousand nested `Vec<` overflow the stack inside `syn::parse_str`,
    // before any code of ours runs (rustc's parser, in front of a real derive,
    // has the same shape of limit). Deeper inputs test syn, not the derive.
    if nesting(text) > 128 {
        return;
    }
    // The input is the attributes and fields of a struct: `#[..]` lines, then
    // fields after a `|`.
    let (attributes, fields) = text.split_once('|').unwrap_or((text, ""));
    let source = format!("{attributes}\nstruct Step {{ {fields} }}");
    let Ok(input) = syn::parse_str::<syn::DeriveInput>(&source) else {
        return;
    };
    let _ = expand::derive(&input);
});

/// The deepest nesting of brackets of any kind in `text`.
fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for c in text.chars() {
        match c {
            '(' | '[' | '{' | '<' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' | ']' | '}' | '>' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}
