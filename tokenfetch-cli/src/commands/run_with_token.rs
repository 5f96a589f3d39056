//! `curl` and `exec`: run a command with the token, and exit with its code.

use std::process::Command;

use crate::commands::get::authorization;
use crate::exit::{Failure, TRANSIENT};
use crate::session::Session;

pub async fn curl(session: &Session, step: &str, args: &[String]) -> Result<u8, Failure> {
    let engine = session.engine(&[step])?;
    let token = session.token(&engine, step).await?;
    let mut command = Command::new("curl");
    command
        .arg("--header")
        .arg(format!("Authorization: {}", authorization(&token)))
        .args(args);
    wait(command, "curl")
}

pub async fn exec(
    session: &Session,
    step: &str,
    variable: &str,
    command_line: &[String],
) -> Result<u8, Failure> {
    let engine = session.engine(&[step])?;
    let token = session.token(&engine, step).await?;
    let (program, args) = command_line
        .split_first()
        .ok_or_else(|| Failure::usage("error: give the command after `--`"))?;
    let mut command = Command::new(program);
    command
        .args(args)
        .env(variable, token.access_token().expose());
    wait(command, program)
}

/// Runs `command`; its exit code, or 3 when it cannot run or was killed.
fn wait(mut command: Command, program: &str) -> Result<u8, Failure> {
    let status = command.status().map_err(|error| Failure {
        message: format!("error: cannot run `{program}`: {error}"),
        code: TRANSIENT,
    })?;
    Ok(status
        .code()
        .and_then(|code| u8::try_from(code).ok())
        .unwrap_or(TRANSIENT))
}
