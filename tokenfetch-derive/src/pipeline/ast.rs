//! The model of a pipeline: the struct and its step fields. Input that is not a
//! struct with at least one field, or that has generic parameters, is refused here.

use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Ident, Index, LitStr, Member, Type};

use crate::ctxt::Ctxt;

/// A struct deriving `TokenPipeline`.
pub struct Pipeline<'a> {
    pub ident: &'a Ident,
    pub steps: Vec<Step<'a>>,
}

/// One field: a step of the pipeline.
pub struct Step<'a> {
    pub member: Member,
    /// The field's name as the checks print it: `device`, or `0` in a tuple struct.
    pub label: LitStr,
    pub ty: &'a Type,
    /// Whether an earlier field has the same type, written the same way: the
    /// step's membership impl is emitted once, and the name check reports the
    /// duplicate.
    pub repeated: bool,
}

impl<'a> Pipeline<'a> {
    /// Reads the input, recording every error in `cx`. `None` when the input is not
    /// a struct the derive can serve.
    pub fn from_syn(cx: &Ctxt, input: &'a DeriveInput) -> Option<Self> {
        let fields = match &input.data {
            Data::Struct(data) => &data.fields,
            Data::Enum(data) => {
                cx.error_spanned_by(
                    data.enum_token,
                    "`#[derive(TokenPipeline)]` applies to a struct whose fields are the steps, not to an enum",
                );
                return None;
            }
            Data::Union(data) => {
                cx.error_spanned_by(
                    data.union_token,
                    "`#[derive(TokenPipeline)]` applies to a struct whose fields are the steps, not to a union",
                );
                return None;
            }
        };
        if !input.generics.params.is_empty() {
            cx.error_spanned_by(
                &input.generics,
                "`#[derive(TokenPipeline)]` does not take generic parameters: the pipeline's graph is checked once, for concrete step types",
            );
        }
        if fields.is_empty() {
            cx.error_spanned_by(
                &input.ident,
                "`#[derive(TokenPipeline)]` needs at least one field: each field is a step of the pipeline",
            );
        }
        let mut seen = Vec::new();
        let steps = fields
            .iter()
            .enumerate()
            .map(|(index, field)| {
                let (member, label) = match &field.ident {
                    Some(ident) => (
                        Member::Named(ident.clone()),
                        syn::ext::IdentExt::unraw(ident).to_string(),
                    ),
                    None => (
                        Member::Unnamed(Index {
                            index: index as u32,
                            span: field.ty.span(),
                        }),
                        index.to_string(),
                    ),
                };
                let written = field.ty.to_token_stream().to_string();
                let repeated = seen.contains(&written);
                seen.push(written);
                Step {
                    member,
                    label: LitStr::new(&label, proc_macro2::Span::call_site()),
                    ty: &field.ty,
                    repeated,
                }
            })
            .collect();
        Some(Pipeline {
            ident: &input.ident,
            steps,
        })
    }
}
