//! Code generation for a pipeline: `impl TokenPipeline`, `impl InPipeline` for each
//! step type, and the graph checks, `const` items spanned at each field; or, for
//! input with errors, the errors next to a stub `impl TokenPipeline` so that code
//! using the pipeline adds no cascade of "not a token pipeline" errors.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, LitStr};

use super::ast::Pipeline;

pub fn expand(pipeline: &Pipeline) -> TokenStream {
    let ident = pipeline.ident;
    let private = quote!(::tokenfetch::__private);
    let count = pipeline.steps.len();
    let pipeline_name = LitStr::new(&ident.to_string(), ident.span());

    let mut adds = Vec::new();
    let mut members = Vec::new();
    let mut descriptions = Vec::new();
    let mut names = Vec::new();
    let mut dependencies = Vec::new();
    let mut checks = Vec::new();
    for (index, step) in pipeline.steps.iter().enumerate() {
        let ty = step.ty;
        let member = &step.member;
        // Spanned at the field's type: a type that is not a step, and every graph
        // error of this step, are reported there.
        let span = ty.span();
        adds.push(quote_spanned! {span=>
            let builder = <#ty as #private::PipelineField>::add_to(self.#member, builder);
        });
        if !step.repeated {
            members.push(quote_spanned! {span=>
                #[automatically_derived]
                impl #private::InPipeline<#ident> for #ty {}
            });
        }
        descriptions.push(quote_spanned! {span=> <#ty as #private::PipelineField>::STEP });
        names.push(quote_spanned! {span=> <#ty as #private::PipelineField>::STEP.name() });
        dependencies
            .push(quote_spanned! {span=> <#ty as #private::PipelineField>::STEP.dependencies() });
        for rule in [quote!(duplicate), quote!(missing), quote!(cycle)] {
            checks.push(quote_spanned! {span=>
                const _: () = if let ::core::option::Option::Some(error) = &__PIPELINE.#rule(#index) {
                    ::core::panic!("{}", error.as_str())
                };
            });
        }
    }
    let labels = pipeline.steps.iter().map(|step| &step.label);

    quote! {
        const _: () = {
            #[automatically_derived]
            impl #private::TokenPipeline for #ident {
                const STEP_NAMES: &'static [&'static str] = &[#(#names),*];
                const DEPENDENCIES: &'static [&'static [&'static str]] = &[#(#dependencies),*];

                fn add_steps(self, builder: #private::EngineBuilder) -> #private::EngineBuilder {
                    #(#adds)*
                    builder
                }
            }

            #(#members)*

            const __PIPELINE: #private::PipelineCheck<#count> = #private::PipelineCheck::new(
                #pipeline_name,
                [#(#descriptions),*],
                [#(#labels),*],
            );

            #(#checks)*
        };
    }
}

pub fn fallback(input: &DeriveInput, error: syn::Error) -> TokenStream {
    let error = error.into_compile_error();
    let ident = &input.ident;
    if !input.generics.params.is_empty() {
        // A stub for a generic type would add errors of its own.
        return error;
    }
    let private = quote!(::tokenfetch::__private);
    quote! {
        #error
        const _: () = {
            #[automatically_derived]
            impl #private::TokenPipeline for #ident {
                const STEP_NAMES: &'static [&'static str] = &[];
                const DEPENDENCIES: &'static [&'static [&'static str]] = &[];

                fn add_steps(self, _: #private::EngineBuilder) -> #private::EngineBuilder {
                    ::core::unreachable!("the derive reported errors")
                }
            }
        };
    }
}
