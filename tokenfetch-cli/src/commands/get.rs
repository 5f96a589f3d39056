//! `get` and `header`: the token on stdout, in the format asked for.

use serde_json::json;
use tokenfetch::TokenData;

use crate::cli::Format;
use crate::exit::{Failure, OK};
use crate::session::Session;

pub async fn get(session: &Session, step: &str, format: Format) -> Result<u8, Failure> {
    let engine = session.engine(&[step])?;
    let token = session.token(&engine, step).await?;
    crate::outln!("{}", render(&token, format));
    Ok(OK)
}

/// `Authorization: <type> <token>`.
pub fn authorization(token: &TokenData) -> String {
    format!("{} {}", token.token_type(), token.access_token().expose())
}

/// The token as `format` prints it (without the last line break).
pub fn render(token: &TokenData, format: Format) -> String {
    let expires_at = token
        .expires_at()
        .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    match format {
        Format::Bare => token.access_token().expose().to_owned(),
        Format::Header => format!("Authorization: {}", authorization(token)),
        Format::Json => json!({
            "access_token": token.access_token().expose(),
            "token_type": token.token_type(),
            "expires_at": expires_at,
            "expires_in": token.expires_in().map(|left| left.as_secs()),
        })
        .to_string(),
        Format::Env => {
            let mut lines = vec![
                format!(
                    "export TOKENFETCH_TOKEN={}",
                    shell_quote(token.access_token().expose())
                ),
                format!(
                    "export TOKENFETCH_TOKEN_TYPE={}",
                    shell_quote(token.token_type())
                ),
            ];
            if let Some(at) = &expires_at {
                lines.push(format!("export TOKENFETCH_EXPIRES_AT={}", shell_quote(at)));
            }
            lines.join("\n")
        }
        Format::ExecCredential => {
            let mut status = json!({ "token": token.access_token().expose() });
            if let Some(at) = expires_at {
                status["expirationTimestamp"] = json!(at);
            }
            json!({
                "apiVersion": "client.authentication.k8s.io/v1",
                "kind": "ExecCredential",
                "status": status,
            })
            .to_string()
        }
    }
}

/// `text` in single quotes for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}
