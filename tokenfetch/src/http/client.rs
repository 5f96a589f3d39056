//! The HTTP client every step uses unless given one: it follows no redirects (a
//! token request must not be sent on to another host). The one place such a
//! client is built.

use std::sync::OnceLock;

use crate::model::{Error, Result};

/// A client that follows no redirects: what every step uses unless given one.
fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none())
}

/// Builds a client, reporting a failure (TLS set-up) as a configuration error.
fn build_client(builder: reqwest::ClientBuilder) -> Result<reqwest::Client> {
    builder
        .build()
        .map_err(|error| Error::config("cannot build the HTTP client").with_source(error))
}

/// A new client that follows no redirects.
pub(crate) fn redirect_free_client() -> Result<reqwest::Client> {
    build_client(client_builder())
}

/// The one client, shared, of steps that skip certificate checks: built once,
/// not on every fetch.
pub(crate) fn insecure_client() -> Result<reqwest::Client> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client.clone());
    }
    let client = build_client(client_builder().tls_danger_accept_invalid_certs(true))?;
    Ok(CLIENT.get_or_init(|| client).clone())
}
