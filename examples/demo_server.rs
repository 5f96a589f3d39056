//! The demo auth server of the examples, on 127.0.0.1:8765 until Ctrl-C: what the
//! command line's example pipeline (`examples/tokenfetch.toml`) fetches from.
//!
//! ```sh
//! cargo run --example demo_server &
//! APP_SECRET=s3cret USER_PASSWORD=p cargo run -p tokenfetch-cli -- --file examples/tokenfetch.toml get user_token
//! ```

#[path = "support/mod.rs"]
mod support;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = std::net::TcpListener::bind("127.0.0.1:8765")?;
    let server = support::start_on(listener).await;
    println!("demo auth server on {}; Ctrl-C stops it", server.uri());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
