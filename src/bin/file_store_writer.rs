//! A child process for the file store's cross-process test: saves `COUNT` entries
//! named `<PREFIX>-<n>` into the token file at `PATH`, one by one.
//!
//! Usage: `file_store_writer PATH PREFIX COUNT`.

use std::time::Duration;

use tokenfetch::{FileStore, StepIdentity, StoreKey, StoredToken, TokenData, TokenStore};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: file_store_writer PATH PREFIX COUNT";
    let path = args.next().ok_or(usage)?;
    let prefix = args.next().ok_or(usage)?;
    let count: usize = args.next().ok_or(usage)?.parse()?;
    let store = FileStore::new(path);
    for n in 0..count {
        let name = format!("{prefix}-{n}");
        let token = TokenData::new(format!("token-{name}"));
        let stored = StoredToken::new(token, Duration::from_secs(600));
        store
            .save(&StoreKey::new(&name, StepIdentity::new()), &stored)
            .await?;
    }
    Ok(())
}
