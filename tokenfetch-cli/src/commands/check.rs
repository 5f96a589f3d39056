//! `check`: the file was read and checked by the session; say so.

use crate::exit::{Failure, OK};
use crate::session::Session;

pub fn check(session: &Session) -> Result<u8, Failure> {
    let steps = session.file.step_names();
    crate::outln!(
        "{}: ok, {} step{} ({})",
        session.path.display(),
        steps.len(),
        if steps.len() == 1 { "" } else { "s" },
        steps.join(", ")
    );
    Ok(OK)
}
