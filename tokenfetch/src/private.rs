//! Re-exports and helpers for the code `#[derive(TokenStep)]` generates. Not part of
//! the public API: nothing here is stable.

pub use crate::{
    BodyTokenFetcher, BoxFuture, Context, Error, HeaderTokenFetcher, Result, Secret, TokenData,
    TokenFetcher, TokenStep,
};
