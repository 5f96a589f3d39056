//! `curl` and `exec`: run a command with the token, and exit with its code.

use std::process::Command;

use crate::commands::get::authorization;
use crate::exit::{Failure, TRANSIENT};
use crate::session::Session;

pub async fn curl(session: &Session, step: &str, args: &[String]) -> Result<u8, Failure> {
    let engine = session.engine(&[step])?;
    let token = session.token(&engine, step).await?;
    // The header goes through a file readable by its owner only: on the command
    // line, any local user could read the token in the process list.
    let header = HeaderFile::write(&format!("Authorization: {}", authorization(&token)))?;
    let mut command = Command::new("curl");
    command
        .arg("--header")
        .arg(format!("@{}", header.0.display()))
        .args(args);
    wait(command, "curl")
}

/// A file holding one header for curl, removed when dropped.
struct HeaderFile(std::path::PathBuf);

impl HeaderFile {
    fn write(header: &str) -> Result<HeaderFile, Failure> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let unique = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
        let path =
            std::env::temp_dir().join(format!("tokenfetch-header-{}-{unique}", std::process::id()));
        let failure = |error: std::io::Error| Failure {
            message: format!("error: cannot write the header for curl: {error}"),
            code: TRANSIENT,
        };
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(failure)?;
        let header_file = HeaderFile(path);
        writeln!(file, "{header}").map_err(failure)?;
        Ok(header_file)
    }
}

impl Drop for HeaderFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
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
