//! `evict`: drop cached tokens, in the store too.

use crate::exit::{Failure, OK};
use crate::session::Session;

pub async fn evict(session: &Session, step: Option<&str>) -> Result<u8, Failure> {
    let names: Vec<&str> = match step {
        Some(step) => vec![step],
        None => session.file.step_names(),
    };
    let engine = session.engine(&names)?;
    for name in names {
        engine.evict(name).await?;
        crate::outln!("evicted {name}");
    }
    Ok(OK)
}
