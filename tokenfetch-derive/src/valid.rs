//! Rules that span several attributes: an endpoint is required, the token comes
//! from exactly one place, dependencies are listed once and never the step itself,
//! and every injection takes its token from a listed dependency. Checks of a
//! single attribute or value are made while parsing, in `attr.rs`.

use std::collections::HashSet;

use syn::Type;

use crate::ast::Input;
use crate::attr::Dependency;
use crate::ctxt::Ctxt;
use crate::symbol::{DEPENDS_ON, ENDPOINT, TOKEN_FIELD, TOKEN_HEADER};

pub fn check(cx: &Ctxt, input: &Input) {
    check_endpoint(cx, input);
    check_token_source(cx, input);
    check_dependencies(cx, input);
    check_injections(cx, input);
}

fn check_endpoint(cx: &Ctxt, input: &Input) {
    if !input.attrs.endpoint.seen() {
        cx.error_spanned_by(
            input.ident,
            format!(
                "missing `#[{ENDPOINT}(\"/path\")]` attribute: a step needs the endpoint its request goes to"
            ),
        );
    }
}

fn check_token_source(cx: &Ctxt, input: &Input) {
    let sources = &input.attrs.sources;
    match sources.first() {
        None => cx.error_spanned_by(
            input.ident,
            format!(
                "missing `#[{TOKEN_FIELD}(\"...\")]` or `#[{TOKEN_HEADER}(\"...\")]` attribute: say where the token is read from"
            ),
        ),
        Some((first, _)) => {
            if let Some((second, path)) = sources.iter().find(|(symbol, _)| symbol != first) {
                cx.error_spanned_by(
                    path,
                    format!(
                        "`#[{second}]` conflicts with `#[{first}]`: a step reads its token from the body or from a header, not both"
                    ),
                );
            }
        }
    }
}

fn check_dependencies(cx: &Ctxt, input: &Input) {
    let Some(dependencies) = &input.attrs.depends_on.value else {
        return;
    };
    let mut seen = HashSet::new();
    for dependency in dependencies {
        if is_self(input, dependency) {
            cx.error_spanned_by(
                dependency,
                format!(
                    "step `{}` cannot depend on itself in `#[{DEPENDS_ON}]`",
                    input.name.value()
                ),
            );
        } else if !seen.insert(dependency.key()) {
            cx.error_spanned_by(
                dependency,
                format!(
                    "duplicate dependency `{}` in `#[{DEPENDS_ON}]`",
                    dependency.describe()
                ),
            );
        }
    }
}

/// Whether a dependency names the deriving struct: `Self`, the struct's name, or
/// the step's name.
fn is_self(input: &Input, dependency: &Dependency) -> bool {
    match dependency {
        Dependency::Name(name) => name.value() == input.name.value(),
        Dependency::Type(ty) => match &**ty {
            Type::Path(path) if path.qself.is_none() => {
                path.path.segments.len() == 1
                    && (path.path.segments[0].ident == "Self"
                        || path.path.segments[0].ident == *input.ident)
            }
            _ => false,
        },
    }
}

fn check_injections(cx: &Ctxt, input: &Input) {
    if input.attrs.depends_on.seen() && input.attrs.depends_on.value.is_none() {
        // `#[depends_on]` did not parse; its error is reported already.
        return;
    }
    let declared: HashSet<String> = input
        .attrs
        .depends_on
        .value
        .iter()
        .flatten()
        .map(Dependency::key)
        .collect();
    let dependencies = input.attrs.depends_on.value.iter().flatten();
    let names: Vec<String> = dependencies.map(Dependency::describe).collect();
    for injection in &input.attrs.injections {
        if !declared.contains(&injection.from.key()) {
            let from = injection.from.describe();
            let advice = match nearest(&from, &names) {
                Some(near) => format!("did you mean `{near}`?"),
                None => "add it there".to_owned(),
            };
            cx.error_spanned_by(
                &injection.from,
                format!(
                    "`#[{}]` takes its token from `{from}`, which is not in `#[{DEPENDS_ON}(..)]`; {advice}",
                    injection.attr,
                ),
            );
        }
    }
}

/// The name among `names` one or two edits away from `name`, if there is one.
fn nearest<'a>(name: &str, names: &'a [String]) -> Option<&'a str> {
    names
        .iter()
        .map(|candidate| (strsim::damerau_levenshtein(name, candidate), candidate))
        .filter(|(distance, _)| (1..=2).contains(distance))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate.as_str())
}
