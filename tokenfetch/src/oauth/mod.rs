//! The OAuth 2.0 vocabulary, above HTTP and below the fetchers: how a client
//! authenticates ([`ClientAuth`]), the keys and claims of the JWTs a step signs
//! ([`SigningKey`]), and what an issuer says about itself
//! ([`ProviderMetadata`], read by discovery). It knows no fetcher, store or
//! engine.

mod client_auth;
mod discovery;
mod jwt;

pub use self::client_auth::{ClientAuth, JWT_BEARER_ASSERTION_TYPE};
pub use self::discovery::ProviderMetadata;
pub use self::jwt::{SigningAlgorithm, SigningKey};

#[cfg(feature = "fuzzing")]
pub(crate) use self::discovery::read as read_discovery;
pub(crate) use self::discovery::{Discovered, discover};
pub(crate) use self::jwt::{assertion_claims, jwt_expiry, seconds, unique_id};
