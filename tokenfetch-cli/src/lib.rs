//! The `tokenfetch` command line: a chain of token steps declared in a TOML
//! pipeline file ([`pipeline_file`]), fetched, cached and shared through a store
//! like the library does, and the engine's state, graph and timeline made visible
//! ([`commands`]).

pub mod cli;
pub mod commands;
pub mod exit;
pub mod pipeline_file;
pub mod session;
