//! What the derive emits when the input has errors: the errors, next to stub impls
//! of `TokenStep` and `TokenFetcher`, so that code using the step does not add a
//! cascade of "not a token step" errors to the real ones.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{DeriveInput, LitStr};

use crate::ast::default_name;

pub fn expand(input: &DeriveInput, name: Option<LitStr>, error: syn::Error) -> TokenStream {
    let error = error.into_compile_error();
    let ident = &input.ident;
    let name = name.unwrap_or_else(|| default_name(ident));
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let private = quote!(::tokenfetch::__private);
    quote! {
        #error
        const _: () = {
            #[automatically_derived]
            impl #impl_generics #private::TokenStep for #ident #ty_generics #where_clause {
                const NAME: &'static str = #name;
            }

            #[automatically_derived]
            impl #impl_generics #private::TokenFetcher for #ident #ty_generics #where_clause {
                fn name(&self) -> &str {
                    #name
                }

                fn fetch<'a>(
                    &'a self,
                    _: &'a #private::Context,
                ) -> #private::BoxFuture<'a, #private::Result<#private::TokenData>> {
                    ::core::unreachable!("the derive reported errors")
                }
            }
        };
    }
}
