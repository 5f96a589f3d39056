//! Code generation for a valid input: `impl TokenStep` and `impl TokenFetcher`.
//!
//! The generated `prepare` builds the [`BodyTokenFetcher`] or [`HeaderTokenFetcher`]
//! a user would build with the fluent builder, from the struct's attributes and
//! its field values: an engine builds it once and fetches through it, so a derived
//! step and the same step built by hand send the same request at the same cost.
//! Used on its own, the step builds it on each `fetch`.

use std::collections::HashMap;
use std::time::Duration;

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::DeriveInput;
use syn::spanned::Spanned;

use crate::ast::{Field, Input};
use crate::attr::{ContentType, Dependency, FieldRole, Method, Part, Target};
use crate::ctxt::Ctxt;
use crate::oauth_attr::{AuthMethod, GrantKind};
use crate::{fallback, valid};

/// The derive's entry point: the impls, or the errors next to a stub impl.
pub fn derive(node: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let input = crate::ast::Input::from_syn(&cx, node);
    if let Some(input) = &input {
        valid::check(&cx, input);
    }
    match (cx.check(), input) {
        (Ok(()), Some(input)) => expand(&input),
        (Err(error), input) => fallback::expand(node, input.map(|input| input.name), error),
        (Ok(()), None) => unreachable!("an input that does not parse records an error"),
    }
}

fn expand(input: &Input) -> TokenStream {
    let ident = input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let name = &input.name;
    let private = quote!(::tokenfetch::__private);

    let dependencies = all_dependencies(input);
    let dependency_names: Vec<TokenStream> = dependencies.iter().map(step_name).collect();
    let depends_on = (!dependencies.is_empty()).then(|| {
        quote! {
            fn depends_on(&self) -> ::std::vec::Vec<&str> {
                <Self as #private::TokenStep>::DEPENDS_ON.to_vec()
            }
        }
    });
    let depends_on_names = (!dependencies.is_empty()).then(|| {
        quote! {
            const DEPENDS_ON: &'static [&'static str] = &[#(#dependency_names),*];
        }
    });

    let step = input.attrs.step.value.as_ref();
    let ttl_value = step.and_then(|step| step.ttl).map(duration);
    let ttl = ttl_value.as_ref().map(|ttl| {
        quote! {
            fn ttl(&self) -> ::core::option::Option<::core::time::Duration> {
                ::core::option::Option::Some(#ttl)
            }
        }
    });

    let (fetcher_type, build) =
        build_fetcher(input, &dependencies, &dependency_names, ttl_value.as_ref());
    let refresh_grant = input
        .attrs
        .token_field
        .value
        .as_ref()
        .is_some_and(|source| source.refresh_grant)
        || grant_kind(input) == Some(GrantKind::RefreshToken);
    // A device flow waits for a person: the flow's load timeout, without
    // building the fetcher (an engine asks the fetcher it prepared).
    let load_timeout = (grant_kind(input) == Some(GrantKind::DeviceCode)).then(|| {
        quote! {
            fn load_timeout(&self) -> ::core::option::Option<::core::time::Duration> {
                #private::device_flow_load_timeout()
            }
        }
    });
    let refresh = refresh_grant.then(|| {
        quote! {
            fn refresh<'a>(
                &'a self,
                token: &'a #private::TokenData,
                context: &'a #private::Context,
            ) -> ::core::option::Option<#private::BoxFuture<'a, #private::Result<#private::TokenData>>> {
                token.refresh_token()?;
                let fetcher = __TokenStepFetcher::__fetcher(self);
                ::core::option::Option::Some(::std::boxed::Box::pin(async move {
                    let fetcher = fetcher?;
                    match #private::TokenFetcher::refresh(&fetcher, token, context) {
                        ::core::option::Option::Some(refresh) => refresh.await,
                        ::core::option::Option::None => #private::TokenFetcher::fetch(&fetcher, context).await,
                    }
                }))
            }
        }
    });

    quote! {
        const _: () = {
            trait __TokenStepFetcher {
                fn __fetcher(&self) -> #private::Result<#private::#fetcher_type>;
            }

            #[automatically_derived]
            impl #impl_generics __TokenStepFetcher for #ident #ty_generics #where_clause {
                fn __fetcher(&self) -> #private::Result<#private::#fetcher_type> {
                    #build
                }
            }

            #[automatically_derived]
            impl #impl_generics #private::TokenStep for #ident #ty_generics #where_clause {
                const NAME: &'static str = #name;
                #depends_on_names
            }

            #[automatically_derived]
            impl #impl_generics #private::TokenFetcher for #ident #ty_generics #where_clause {
                fn name(&self) -> &str {
                    #name
                }

                #depends_on

                #ttl

                fn identify(&self, identity: &mut #private::StepIdentity) {
                    // The fetcher the step builds knows every part of its request;
                    // one that cannot be built fails every fetch, and keys by name.
                    match __TokenStepFetcher::__fetcher(self) {
                        ::core::result::Result::Ok(fetcher) => {
                            #private::TokenFetcher::identify(&fetcher, identity)
                        }
                        ::core::result::Result::Err(_) => {
                            identity.add(#name);
                        }
                    }
                }

                fn prepare(
                    &self,
                ) -> ::core::option::Option<
                    #private::Result<::std::boxed::Box<dyn #private::TokenFetcher>>,
                > {
                    ::core::option::Option::Some(
                        __TokenStepFetcher::__fetcher(self)
                            .map(|fetcher| ::std::boxed::Box::new(fetcher) as ::std::boxed::Box<dyn #private::TokenFetcher>),
                    )
                }

                fn repeatable(&self) -> bool {
                    __TokenStepFetcher::__fetcher(self)
                        .map_or(true, |fetcher| #private::TokenFetcher::repeatable(&fetcher))
                }

                fn validate(
                    &self,
                    base_url: ::core::option::Option<&#private::Url>,
                ) -> #private::Result<()> {
                    #private::TokenFetcher::validate(&__TokenStepFetcher::__fetcher(self)?, base_url)
                }

                fn fetch<'a>(
                    &'a self,
                    context: &'a #private::Context,
                ) -> #private::BoxFuture<'a, #private::Result<#private::TokenData>> {
                    let fetcher = __TokenStepFetcher::__fetcher(self);
                    ::std::boxed::Box::pin(async move {
                        let fetcher = fetcher?;
                        #private::TokenFetcher::fetch(&fetcher, context).await
                    })
                }

                #load_timeout

                #refresh
            }
        };
    }
}

fn grant_kind(input: &Input) -> Option<GrantKind> {
    input.attrs.grant.value.as_ref().map(|grant| grant.kind)
}

/// The steps this one needs: those of `#[depends_on]`, then those a grant takes
/// tokens from (a token exchange's subject and actor, a JWT bearer assertion's
/// step), each once.
fn all_dependencies(input: &Input) -> Vec<Dependency> {
    let mut all: Vec<Dependency> = input.attrs.depends_on.value.clone().unwrap_or_default();
    if let Some(grant) = &input.attrs.grant.value {
        let from_grant = match grant.kind {
            GrantKind::TokenExchange => vec![&grant.subject, &grant.actor],
            GrantKind::JwtBearer => vec![&grant.assertion],
            _ => Vec::new(),
        };
        for dependency in from_grant.into_iter().flatten() {
            if !all.iter().any(|known| known.key() == dependency.key()) {
                all.push(dependency.clone());
            }
        }
    }
    all
}

/// The name of a dependency: the literal, or `<T as TokenStep>::NAME` spanned at
/// the type, so that a type that is not a step is reported there.
fn step_name(dependency: &Dependency) -> TokenStream {
    match dependency {
        Dependency::Name(name) => quote!(#name),
        Dependency::Type(ty) => quote_spanned! {ty.span()=>
            <#ty as ::tokenfetch::__private::TokenStep>::NAME
        },
    }
}

fn duration(duration: Duration) -> TokenStream {
    let millis = duration.as_millis() as u64;
    quote!(::core::time::Duration::from_millis(#millis))
}

/// The body of `__fetcher`: the builder calls, in the order a user would write
/// them. Returns the fetcher type's name and the body.
fn build_fetcher(
    input: &Input,
    dependencies: &[Dependency],
    dependency_names: &[TokenStream],
    ttl: Option<&TokenStream>,
) -> (TokenStream, TokenStream) {
    let private = quote!(::tokenfetch::__private);
    let name = &input.name;
    let mut calls = Vec::new();

    // Where the token is read from.
    let fetcher_type = if let Some(header) = &input.attrs.token_header.value {
        let token_header = &header.header;
        calls.push(quote!(.token_header(#token_header)));
        if let Some(token_type) = &header.token_type {
            calls.push(quote!(.token_type(#token_type)));
        }
        quote!(HeaderTokenFetcher)
    } else {
        // The body, `access_token` unless `#[token_field]` says otherwise.
        if let Some(body) = &input.attrs.token_field.value {
            let field = &body.field;
            calls.push(quote!(.token_field(#field)));
            for (value, method) in [
                (&body.token_type_field, quote!(token_type_field)),
                (&body.expires_in_field, quote!(expires_in_field)),
                (&body.expires_at_field, quote!(expires_at_field)),
                (&body.refresh_token_field, quote!(refresh_token_field)),
                (&body.default_token_type, quote!(default_token_type)),
            ] {
                if let Some(value) = value {
                    calls.push(quote!(.#method(#value)));
                }
            }
            if body.refresh_grant {
                calls.push(quote!(.refresh_grant(true)));
            }
        }
        quote!(BodyTokenFetcher)
    };

    // The endpoint and the HTTP settings.
    if let Some(issuer) = &input.attrs.issuer.value {
        calls.push(quote!(.issuer(#issuer)));
    }
    if let Some(endpoint) = &input.attrs.endpoint.value {
        let path = &endpoint.path;
        calls.push(quote!(.endpoint(#path)));
        if let Some(base_url) = &endpoint.base_url {
            calls.push(quote!(.base_url(#base_url)));
        }
        if endpoint.method == Method::Get {
            calls.push(quote!(.get()));
        }
        if endpoint.content_type == ContentType::Json {
            calls.push(quote!(.json()));
        }
        if let Some(timeout) = endpoint.timeout {
            let timeout = duration(timeout);
            calls.push(quote!(.timeout(#timeout)));
        }
        if endpoint.verify_ssl == Some(false) {
            // One shared client that skips certificate checks, rather than a new
            // client for every fetch.
            calls.push(quote!(.verify_ssl(false).client(#private::insecure_client()?)));
        }
        if let Some(allow) = endpoint.allow_insecure_http {
            calls.push(quote!(.allow_insecure_http(#allow)));
        }
    }
    if let Some(ttl) = ttl {
        calls.push(quote!(.ttl(#ttl)));
    }

    // Dependencies and injections.
    let mut by_key = HashMap::new();
    for (dependency, name) in dependencies.iter().zip(dependency_names) {
        by_key.insert(dependency.key(), name);
        calls.push(quote!(.depends_on(#name)));
    }
    for injection in &input.attrs.injections {
        let from = by_key
            .get(&injection.from.key())
            .expect("validated: injections come from dependencies");
        let target = &injection.name;
        let mut injection_tokens = match injection.target {
            Target::Header => quote!(#private::Injection::header(#from, #target)),
            Target::Field => quote!(#private::Injection::field(#from, #target)),
            Target::Query => quote!(#private::Injection::query(#from, #target)),
        };
        if let Some(format) = &injection.format {
            injection_tokens.extend(quote!(.format(#format)));
        }
        let part = match &injection.part {
            Part::AccessToken => None,
            Part::TokenType => Some(quote!(#private::TokenPart::TokenType)),
            Part::RefreshToken => Some(quote!(#private::TokenPart::RefreshToken)),
            Part::Extra(key) => {
                Some(quote!(#private::TokenPart::Extra(::std::string::String::from(#key))))
            }
        };
        if let Some(part) = part {
            injection_tokens.extend(quote!(.part(#part)));
        }
        calls.push(quote!(.inject(#injection_tokens)));
    }

    // Constants on the struct, then the fields in order.
    for constant in &input.attrs.constants {
        let key = &constant.name;
        let value = &constant.value;
        calls.push(match constant.target {
            Target::Header => quote!(.header(#key, #value)),
            Target::Field => quote!(.data(#key, #value)),
            Target::Query => quote!(.query(#key, #value)),
        });
    }
    let mut optional = Vec::new();
    for field in &input.fields {
        let Some(wire) = field.wire_name() else {
            continue;
        };
        let method = match &field.role {
            FieldRole::Body(_) => quote!(data),
            FieldRole::Header(_) => quote!(header),
            FieldRole::Query(_) => quote!(query),
            _ => continue,
        };
        let ident = field.ident;
        match field.option {
            None => {
                let value = value(field.ty, quote!(&self.#ident));
                calls.push(quote!(.#method(#wire, #value)));
            }
            Some(inner) => {
                let value = value(inner, quote!(value));
                optional.push(quote! {
                    if let ::core::option::Option::Some(value) = &self.#ident {
                        builder = builder.#method(#wire, #value);
                    }
                });
            }
        }
    }

    optional.extend(oauth_calls(input, &by_key));

    // The escape hatch, last: it sees the request with everything else in.
    if let Some(hook) = input
        .attrs
        .step
        .value
        .as_ref()
        .and_then(|step| step.with_request.as_ref())
    {
        let span = hook.span();
        optional.push(quote_spanned! {span=>
            let hook: fn(&Self, &mut #private::TokenRequest, &#private::Context) -> #private::Result<()> = #hook;
            let this = #private::clone_for_hook(self);
            builder = builder.with_request(move |request, context| hook(&this, request, context));
        });
        // What the hook may read beyond the request: the hook itself and the
        // `#[skip]` fields. A field whose value cannot be written down makes the
        // step unshareable.
        let hook_name = quote!(#hook).to_string();
        optional.push(quote!(builder = builder.identity(#hook_name);));
        for field in &input.fields {
            if !matches!(field.role, FieldRole::Skip) {
                continue;
            }
            let ident = field.ident;
            let label = ident.to_string();
            optional.push(quote! {
                builder = match {
                    use #private::{IdentityOfDisplay as _, IdentityOfSecret as _, IdentityUnknown as _};
                    (&#private::IdentityProbe(&self.#ident)).identity_part()
                } {
                    ::core::option::Option::Some(value) => builder.identity(#label).identity(value),
                    ::core::option::Option::None => builder.unshared(),
                };
            });
        }
    }

    let build = quote! {
        #[allow(unused_mut)]
        let mut builder = #private::#fetcher_type::builder(#name).__declared_by_derive() #(#calls)*;
        #(#optional)*
        builder.build()
    };
    (fetcher_type, build)
}

/// The value of a field as a `Secret`, spanned at its type so that a type that
/// cannot be sent is reported there.
fn value(ty: &syn::Type, access: TokenStream) -> TokenStream {
    quote_spanned! {ty.span()=>
        ::tokenfetch::__private::request_value::<#ty, _>(#access)
    }
}

/// The OAuth settings, from the struct's attributes and its role fields: the
/// base URL and issuer known at run time, the client authentication, the grant.
fn oauth_calls(input: &Input, by_key: &HashMap<String, &TokenStream>) -> Vec<TokenStream> {
    let private = quote!(::tokenfetch::__private);
    let mut calls = Vec::new();
    let field = |is: fn(&FieldRole) -> bool| input.fields.iter().find(|field| is(&field.role));
    let text = |field: &Field| {
        let ident = field.ident;
        let ty = field.ty;
        quote_spanned!(ty.span()=> #private::text::<#ty, _>(&self.#ident))
    };
    let secret = |field: &Field| {
        value(field.ty, {
            let ident = field.ident;
            quote!(&self.#ident)
        })
    };
    if let Some(base_url) = field(|role| matches!(role, FieldRole::BaseUrl)) {
        let base_url = text(base_url);
        calls.push(quote!(builder = builder.base_url(#base_url);));
    }
    if let Some(issuer) = field(|role| matches!(role, FieldRole::Issuer)) {
        let issuer = text(issuer);
        calls.push(quote!(builder = builder.issuer(#issuer);));
    }
    let key = field(|role| matches!(role, FieldRole::PrivateKey(_))).map(|key| {
        let FieldRole::PrivateKey(settings) = &key.role else {
            unreachable!("found by its role")
        };
        let algorithm = settings
            .algorithm
            .clone()
            .unwrap_or_else(|| syn::Ident::new("RS256", proc_macro2::Span::call_site()));
        let pem = secret(key);
        let kid = settings.kid.as_ref().map(|kid| quote!(.with_kid(#kid)));
        quote! {
            #private::SigningKey::from_pem(#private::SigningAlgorithm::#algorithm, #pem.expose())? #kid
        }
    });
    if let Some(auth) = &input.attrs.client_auth.value
        && let Some(id) = field(|role| matches!(role, FieldRole::ClientId))
    {
        let id = text(id);
        let client_secret = field(|role| matches!(role, FieldRole::ClientSecret)).map(secret);
        let made = match (auth.method, &client_secret, &key) {
            (AuthMethod::None, ..) => quote!(none(#id)),
            (AuthMethod::Post, Some(s), _) => quote!(post(#id, #s)),
            (AuthMethod::Basic, Some(s), _) => quote!(basic(#id, #s)),
            (AuthMethod::BasicUnencoded, Some(s), _) => quote!(basic_unencoded(#id, #s)),
            (AuthMethod::SecretJwt, Some(s), _) => quote!(secret_jwt(#id, #s)),
            (AuthMethod::Secret, Some(s), _) => quote!(secret(#id, #s)),
            (AuthMethod::PrivateKeyJwt, _, Some(k)) => quote!(private_key_jwt(#id, #k)),
            _ => unreachable!("validated: the method's credentials are fields"),
        };
        let audience = auth
            .audience
            .as_ref()
            .map(|audience| quote!(.audience(#audience)));
        calls.push(quote!(builder = builder.client_auth(#private::ClientAuth::#made #audience);));
    }
    if let Some(grant) = &input.attrs.grant.value {
        let body = |name: &str| {
            input
                .fields
                .iter()
                .find(|field| {
                    matches!(field.role, FieldRole::Body(_))
                        && field.wire_name().is_some_and(|wire| wire.value() == name)
                })
                .expect("validated: the grant's fields are there")
        };
        let step = |dependency: &Dependency| {
            (*by_key
                .get(&dependency.key())
                .expect("a grant's steps are dependencies"))
            .clone()
        };
        let urn = |token_type: &Option<crate::oauth_attr::TokenType>| {
            token_type.as_ref().map_or(
                "urn:ietf:params:oauth:token-type:access_token".to_owned(),
                |t| t.urn.clone(),
            )
        };
        let made = match grant.kind {
            GrantKind::ClientCredentials => quote!(client_credentials()),
            GrantKind::Password => {
                let username = text(body("username"));
                let password = secret(body("password"));
                quote!(password(#username, #password))
            }
            GrantKind::RefreshToken => {
                let token = secret(body("refresh_token"));
                quote!(refresh_token(#token))
            }
            GrantKind::JwtBearer => {
                let bearer = match (&grant.assertion, &grant.issuer, &grant.subject, &key) {
                    (Some(assertion), ..) => {
                        let from = step(assertion);
                        quote!(#private::JwtBearer::from_step(#from))
                    }
                    (None, Some(issuer), Some(Dependency::Name(subject)), Some(key)) => {
                        let audience = grant
                            .audience
                            .first()
                            .map(|audience| quote!(.audience(#audience)));
                        quote!(#private::JwtBearer::signed(#key, #issuer, #subject) #audience)
                    }
                    _ => unreachable!("validated: an assertion"),
                };
                quote!(jwt_bearer(#bearer))
            }
            GrantKind::TokenExchange => {
                let subject = step(grant.subject.as_ref().expect("validated: a subject"));
                let subject_type = urn(&grant.subject_token_type);
                let mut exchange =
                    quote!(#private::TokenExchange::subject(#subject, #subject_type));
                if let Some(actor) = &grant.actor {
                    let actor = step(actor);
                    let actor_type = urn(&grant.actor_token_type);
                    exchange.extend(quote!(.actor(#actor, #actor_type)));
                }
                for audience in &grant.audience {
                    exchange.extend(quote!(.audience(#audience)));
                }
                for resource in &grant.resource {
                    exchange.extend(quote!(.resource(#resource)));
                }
                if let Some(requested) = &grant.requested_token_type {
                    let requested = &requested.urn;
                    exchange.extend(quote!(.requested_token_type(#requested)));
                }
                quote!(token_exchange(#exchange))
            }
            GrantKind::DeviceCode => {
                let on_prompt = grant.on_prompt.as_ref().expect("validated: a callback");
                let endpoint = grant
                    .endpoint
                    .as_ref()
                    .map(|endpoint| quote!(.endpoint(#endpoint)));
                let callback = quote_spanned! {on_prompt.span()=>
                    {
                        let on_prompt: fn(&#private::DevicePrompt) = #on_prompt;
                        on_prompt
                    }
                };
                quote!(device_code(#private::DeviceFlow::new(#callback) #endpoint))
            }
        };
        let scopes = &grant.scope;
        let scopes = (!scopes.is_empty()).then(|| quote!(.scopes([#(#scopes),*])));
        calls.push(quote!(builder = builder.grant(#private::Grant::#made #scopes);));
    }
    calls
}
