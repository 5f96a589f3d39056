//! Every attribute name and attribute key the derive understands, spelled once.

use std::fmt;

use syn::{Ident, Path};

/// An attribute name or key.
#[derive(Copy, Clone, PartialEq, Eq)]
pub struct Symbol(pub &'static str);

// Attributes on the struct.
pub const ENDPOINT: Symbol = Symbol("endpoint");
pub const TOKEN_FIELD: Symbol = Symbol("token_field");
pub const TOKEN_HEADER: Symbol = Symbol("token_header");
pub const STEP: Symbol = Symbol("step");
pub const DEPENDS_ON: Symbol = Symbol("depends_on");
pub const INJECT_HEADER: Symbol = Symbol("inject_header");
pub const INJECT_FIELD: Symbol = Symbol("inject_field");
pub const INJECT_QUERY: Symbol = Symbol("inject_query");
pub const CLIENT_AUTH: Symbol = Symbol("client_auth");
pub const GRANT: Symbol = Symbol("grant");

// Attributes on the struct (a literal) or on a field (a value known at run time).
pub const ISSUER: Symbol = Symbol("issuer");

// Attributes on the struct (constant data) or on a field.
pub const FIELD: Symbol = Symbol("field");
pub const HEADER: Symbol = Symbol("header");
pub const QUERY: Symbol = Symbol("query");

// Attributes on a field only.
pub const SKIP: Symbol = Symbol("skip");
pub const CLIENT_ID: Symbol = Symbol("client_id");
pub const CLIENT_SECRET: Symbol = Symbol("client_secret");
pub const PRIVATE_KEY: Symbol = Symbol("private_key");
// `base_url` is also a key of `#[endpoint]`, below.

/// The attributes that belong on a field.
pub const FIELD_ONLY: &[Symbol] = &[SKIP, CLIENT_ID, CLIENT_SECRET, PRIVATE_KEY, BASE_URL];

/// The attributes that belong on the struct.
pub const CONTAINER_ONLY: &[Symbol] = &[
    ENDPOINT,
    TOKEN_FIELD,
    TOKEN_HEADER,
    STEP,
    DEPENDS_ON,
    INJECT_HEADER,
    INJECT_FIELD,
    INJECT_QUERY,
    CLIENT_AUTH,
    GRANT,
];

// Keys of `#[endpoint]`.
pub const METHOD: Symbol = Symbol("method");
pub const CONTENT_TYPE: Symbol = Symbol("content_type");
pub const BASE_URL: Symbol = Symbol("base_url");
pub const TIMEOUT: Symbol = Symbol("timeout");
pub const VERIFY_SSL: Symbol = Symbol("verify_ssl");
pub const ALLOW_INSECURE_HTTP: Symbol = Symbol("allow_insecure_http");

// Keys of `#[token_field]`.
pub const TOKEN_TYPE_FIELD: Symbol = Symbol("token_type_field");
pub const EXPIRES_IN_FIELD: Symbol = Symbol("expires_in_field");
pub const REFRESH_TOKEN_FIELD: Symbol = Symbol("refresh_token_field");
pub const DEFAULT_TOKEN_TYPE: Symbol = Symbol("default_token_type");
pub const REFRESH_GRANT: Symbol = Symbol("refresh_grant");
pub const EXPIRES_AT_FIELD: Symbol = Symbol("expires_at_field");

// Keys of `#[client_auth]` and `#[private_key]`.
pub const AUDIENCE: Symbol = Symbol("audience");
pub const ALGORITHM: Symbol = Symbol("algorithm");
pub const KID: Symbol = Symbol("kid");

// Keys of `#[grant]`.
pub const SCOPE: Symbol = Symbol("scope");
pub const SUBJECT: Symbol = Symbol("subject");
pub const SUBJECT_TOKEN_TYPE: Symbol = Symbol("subject_token_type");
pub const ACTOR: Symbol = Symbol("actor");
pub const ACTOR_TOKEN_TYPE: Symbol = Symbol("actor_token_type");
pub const RESOURCE: Symbol = Symbol("resource");
pub const REQUESTED_TOKEN_TYPE: Symbol = Symbol("requested_token_type");
pub const ASSERTION: Symbol = Symbol("assertion");
pub const ON_PROMPT: Symbol = Symbol("on_prompt");

// Keys of `#[token_header]`.
pub const TOKEN_TYPE: Symbol = Symbol("token_type");

// Keys of `#[step]`.
pub const NAME: Symbol = Symbol("name");
pub const TTL: Symbol = Symbol("ttl");
pub const WITH_REQUEST: Symbol = Symbol("with_request");

// Keys of `#[inject_*]` (plus the target key, named after the attribute).
pub const FROM: Symbol = Symbol("from");
pub const FORMAT: Symbol = Symbol("format");
pub const PART: Symbol = Symbol("part");
pub const EXTRA: Symbol = Symbol("extra");

// Key of a constant `#[header]`, `#[field]` or `#[query]` on the struct.
pub const VALUE: Symbol = Symbol("value");

impl Symbol {
    /// The name as written.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl PartialEq<Symbol> for Ident {
    fn eq(&self, word: &Symbol) -> bool {
        self == word.0
    }
}

impl PartialEq<Symbol> for Path {
    fn eq(&self, word: &Symbol) -> bool {
        self.is_ident(word.0)
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str(self.0)
    }
}
