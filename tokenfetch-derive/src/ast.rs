//! The model of the derive's input: the struct, its step name, its attributes and
//! the role of each field. Built from `syn::DeriveInput`; input that is not a
//! struct with named fields (or a unit struct) is refused here.

use syn::{
    Data, DeriveInput, Fields, GenericArgument, Generics, Ident, LitStr, PathArguments, Type,
};

use crate::attr::{self, Container, FieldRole};
use crate::ctxt::Ctxt;

/// A struct deriving `TokenStep`.
pub struct Input<'a> {
    pub ident: &'a Ident,
    pub generics: &'a Generics,
    pub attrs: Container,
    /// The step name: `#[step(name = "..")]`, or the struct name in snake case.
    pub name: LitStr,
    pub fields: Vec<Field<'a>>,
}

/// One field of the struct.
pub struct Field<'a> {
    pub ident: &'a Ident,
    pub ty: &'a Type,
    pub role: FieldRole,
    /// `T` when the field is an `Option<T>`: sent only when `Some`.
    pub option: Option<&'a Type>,
}

impl Field<'_> {
    /// The name the field is sent under: its `#[field]`, `#[header]` or `#[query]`
    /// name, else the field's own name.
    pub fn wire_name(&self) -> Option<LitStr> {
        let own = || {
            LitStr::new(
                &syn::ext::IdentExt::unraw(self.ident).to_string(),
                self.ident.span(),
            )
        };
        match &self.role {
            FieldRole::Body(name) | FieldRole::Query(name) => {
                Some(name.clone().unwrap_or_else(own))
            }
            FieldRole::Header(name) => Some(name.clone()),
            _ => None,
        }
    }
}

impl<'a> Input<'a> {
    /// Reads the input, recording every error in `cx`. `None` when the input is not
    /// a struct the derive can serve.
    pub fn from_syn(cx: &Ctxt, input: &'a DeriveInput) -> Option<Self> {
        let fields = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(fields) => fields.named.iter().collect(),
                Fields::Unit => Vec::new(),
                Fields::Unnamed(fields) => {
                    cx.error_spanned_by(
                        fields,
                        "`#[derive(TokenStep)]` needs named fields: each field's name is the name it is sent under",
                    );
                    return None;
                }
            },
            Data::Enum(data) => {
                cx.error_spanned_by(
                    data.enum_token,
                    "`#[derive(TokenStep)]` applies to a struct, not to an enum",
                );
                return None;
            }
            Data::Union(data) => {
                cx.error_spanned_by(
                    data.union_token,
                    "`#[derive(TokenStep)]` applies to a struct, not to a union",
                );
                return None;
            }
        };
        let attrs = attr::container(cx, &input.attrs);
        let fields = fields
            .into_iter()
            .map(|field| Field {
                ident: field.ident.as_ref().expect("named field"),
                ty: &field.ty,
                role: attr::field(cx, &field.attrs),
                option: option_inner(&field.ty),
            })
            .collect();
        let name = attrs
            .step
            .value
            .as_ref()
            .and_then(|step| step.name.clone())
            .unwrap_or_else(|| default_name(&input.ident));
        Some(Input {
            ident: &input.ident,
            generics: &input.generics,
            attrs,
            name,
            fields,
        })
    }
}

/// The default step name: the struct name in snake case.
pub fn default_name(ident: &Ident) -> LitStr {
    let name = syn::ext::IdentExt::unraw(ident).to_string();
    LitStr::new(&snake_case(&name), ident.span())
}

/// `UserToken` -> `user_token`, `HTTPToken` -> `http_token`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut snake = String::with_capacity(name.len() + 4);
    for (index, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let previous = index.checked_sub(1).map(|i| chars[i]);
            let next = chars.get(index + 1).copied();
            let boundary = previous.is_some_and(|p| {
                p != '_'
                    && (p.is_lowercase()
                        || p.is_ascii_digit()
                        || (p.is_uppercase() && next.is_some_and(char::is_lowercase)))
            });
            if boundary {
                snake.push('_');
            }
            snake.extend(c.to_lowercase());
        } else {
            snake.push(c);
        }
    }
    snake
}

/// `T` when `ty` is written `Option<T>` (or `std::option::Option<T>`).
fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let segment = path.path.segments.last()?;
    if segment.ident != "Option" {
        return None;
    }
    let PathArguments::AngleBracketed(arguments) = &segment.arguments else {
        return None;
    };
    if arguments.args.len() != 1 {
        return None;
    }
    match arguments.args.first()? {
        GenericArgument::Type(inner) => Some(inner),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn snake_case_names() {
        assert_eq!(snake_case("UserToken"), "user_token");
        assert_eq!(snake_case("DeviceToken"), "device_token");
        assert_eq!(snake_case("HTTPToken"), "http_token");
        assert_eq!(snake_case("Step2Token"), "step2_token");
        assert_eq!(snake_case("token"), "token");
        assert_eq!(snake_case("My_Token"), "my_token");
    }
}
