//! Derive macros for [`tokenfetch`](https://docs.rs/tokenfetch). Use them through
//! the `tokenfetch` crate, which re-exports them and documents their attributes.
