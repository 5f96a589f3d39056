//! Secret references: a credential, or a header, data or query value, may be
//! written `env:NAME` (an environment variable), `file:PATH` (a file's
//! contents, trimmed, relative to the pipeline file's directory) or
//! `cmd:COMMAND` (the trimmed standard output of `sh -c COMMAND`). They are read
//! only when the steps are built, and only for the steps asked for. Which keys
//! look secret (a literal under them draws a warning), and masking the literal
//! secrets of a file before any of it is shown.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use toml::de::{DeTable, DeValue};

/// A value of the file that may be a secret: written out, or a reference to
/// where it is kept. Its `Debug` never shows a literal.
#[derive(Clone, PartialEq, Eq)]
pub(super) enum SecretValue {
    /// Written in the file.
    Literal(String),
    /// `env:NAME`.
    Env(String),
    /// `file:PATH`.
    File(String),
    /// `cmd:COMMAND`.
    Cmd(String),
}

impl SecretValue {
    /// Reads a string of the file: a reference when it starts with `env:`,
    /// `file:` or `cmd:`, else a literal. A reference with nothing after its
    /// prefix, or an environment variable name with `=` or NUL, is an error.
    pub(super) fn parse(text: &str) -> Result<SecretValue, String> {
        let reference = |rest: &str, prefix: &str| {
            if rest.trim().is_empty() {
                Err(format!("`{prefix}` names nothing"))
            } else {
                Ok(rest.to_owned())
            }
        };
        if let Some(name) = text.strip_prefix("env:") {
            if name.contains(['=', '\0']) || name.trim() != name {
                return Err(
                    "an environment variable name has no `=`, NUL or surrounding spaces".to_owned(),
                );
            }
            reference(name, "env:").map(SecretValue::Env)
        } else if let Some(path) = text.strip_prefix("file:") {
            if path.contains('\0') {
                return Err("a path has no NUL".to_owned());
            }
            reference(path, "file:").map(SecretValue::File)
        } else if let Some(command) = text.strip_prefix("cmd:") {
            if command.contains('\0') {
                return Err("a command has no NUL".to_owned());
            }
            reference(command, "cmd:").map(SecretValue::Cmd)
        } else {
            Ok(SecretValue::Literal(text.to_owned()))
        }
    }

    /// Whether the value is written in the file.
    pub(super) fn is_literal(&self) -> bool {
        matches!(self, SecretValue::Literal(_))
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretValue::Literal(_) => f.write_str("[literal]"),
            reference => write!(f, "{reference}"),
        }
    }
}

impl fmt::Display for SecretValue {
    /// The reference as written (`env:APP_SECRET`); `[literal]` for a value
    /// written in the file.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretValue::Literal(_) => f.write_str("[literal]"),
            SecretValue::Env(name) => write!(f, "env:{name}"),
            SecretValue::File(path) => write!(f, "file:{path}"),
            SecretValue::Cmd(command) => write!(f, "cmd:{command}"),
        }
    }
}

/// Why a reference could not be read. Names the reference, never what it held
/// (nor what a failing command printed).
#[derive(Debug)]
#[non_exhaustive]
pub enum SecretError {
    /// `env:NAME` and no such variable.
    EnvNotSet {
        /// The variable.
        name: String,
    },
    /// `env:NAME` holds something that is not UTF-8.
    EnvNotUnicode {
        /// The variable.
        name: String,
    },
    /// `file:PATH` could not be read.
    File {
        /// The path as written.
        path: String,
        /// The path read, relative to the pipeline file's directory.
        resolved: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// `file:PATH` is not UTF-8.
    FileNotUnicode {
        /// The path as written.
        path: String,
    },
    /// `cmd:COMMAND` could not be started.
    CommandNotStarted {
        /// The command.
        command: String,
        /// Why.
        source: io::Error,
    },
    /// `cmd:COMMAND` exited with a failure.
    CommandFailed {
        /// The command.
        command: String,
        /// How it exited.
        status: ExitStatus,
    },
    /// `cmd:COMMAND` printed something that is not UTF-8.
    CommandNotUnicode {
        /// The command.
        command: String,
    },
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretError::EnvNotSet { name } => {
                write!(f, "`env:{name}`: the environment variable is not set")
            }
            SecretError::EnvNotUnicode { name } => {
                write!(f, "`env:{name}`: the environment variable is not UTF-8")
            }
            SecretError::File {
                path,
                resolved,
                source,
            } => write!(
                f,
                "`file:{path}`: cannot read `{}`: {source}",
                resolved.display()
            ),
            SecretError::FileNotUnicode { path } => {
                write!(f, "`file:{path}`: the file is not UTF-8")
            }
            SecretError::CommandNotStarted { command, source } => {
                write!(f, "`cmd:{command}`: cannot run `sh`: {source}")
            }
            SecretError::CommandFailed { command, status } => {
                write!(f, "`cmd:{command}`: the command failed ({status})")
            }
            SecretError::CommandNotUnicode { command } => {
                write!(f, "`cmd:{command}`: the command's output is not UTF-8")
            }
        }
    }
}

impl std::error::Error for SecretError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SecretError::File { source, .. } | SecretError::CommandNotStarted { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }
}

/// Reads references, each once per resolver: a command two steps share runs
/// once.
#[derive(Debug)]
pub(super) struct Resolver<'a> {
    /// The pipeline file's directory: what `file:` paths and commands start
    /// from.
    dir: &'a Path,
    read: HashMap<SecretValue, String>,
}

impl std::hash::Hash for SecretValue {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            SecretValue::Literal(text)
            | SecretValue::Env(text)
            | SecretValue::File(text)
            | SecretValue::Cmd(text) => text.hash(state),
        }
    }
}

impl<'a> Resolver<'a> {
    /// A resolver for a pipeline file in `dir`.
    pub(super) fn new(dir: &'a Path) -> Self {
        Resolver {
            dir,
            read: HashMap::new(),
        }
    }

    /// The value: the literal, or what the reference holds, trimmed.
    pub(super) fn resolve(&mut self, value: &SecretValue) -> Result<String, SecretError> {
        if let SecretValue::Literal(text) = value {
            return Ok(text.clone());
        }
        if let Some(known) = self.read.get(value) {
            return Ok(known.clone());
        }
        let read = match value {
            SecretValue::Literal(text) => text.clone(),
            SecretValue::Env(name) => match std::env::var(name) {
                Ok(value) => value,
                Err(std::env::VarError::NotPresent) => {
                    return Err(SecretError::EnvNotSet { name: name.clone() });
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(SecretError::EnvNotUnicode { name: name.clone() });
                }
            },
            SecretValue::File(path) => {
                let resolved = self.dir.join(path);
                let bytes = std::fs::read(&resolved).map_err(|source| SecretError::File {
                    path: path.clone(),
                    resolved,
                    source,
                })?;
                String::from_utf8(bytes)
                    .map_err(|_| SecretError::FileNotUnicode { path: path.clone() })?
                    .trim()
                    .to_owned()
            }
            SecretValue::Cmd(command) => self.run(command)?,
        };
        self.read.insert(value.clone(), read.clone());
        Ok(read)
    }

    /// Runs `sh -c command` in the file's directory: standard input and error
    /// are the user's (a password manager may ask something), standard output
    /// is the value.
    fn run(&self, command: &str) -> Result<String, SecretError> {
        let mut shell = Command::new("sh");
        shell
            .arg("-c")
            .arg(command)
            .stdin(Stdio::inherit())
            .stderr(Stdio::inherit())
            .stdout(Stdio::piped());
        if !self.dir.as_os_str().is_empty() {
            shell.current_dir(self.dir);
        }
        let output = shell
            .output()
            .map_err(|source| SecretError::CommandNotStarted {
                command: command.to_owned(),
                source,
            })?;
        if !output.status.success() {
            return Err(SecretError::CommandFailed {
                command: command.to_owned(),
                status: output.status,
            });
        }
        String::from_utf8(output.stdout)
            .map(|out| out.trim().to_owned())
            .map_err(|_| SecretError::CommandNotUnicode {
                command: command.to_owned(),
            })
    }
}

/// Whether a value under `key` (a data, query or header name, or a credential
/// key) is a secret: `assertion`, and anything containing `secret`,
/// `password`, `passwd`, `token`, `key`, `cookie`, `credential` or `auth`
/// (`client_secret`, `private_key`, `refresh_token`, the `Authorization`
/// headers...).
pub(super) fn looks_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    matches!(
        key.as_str(),
        "client_secret"
            | "password"
            | "private_key"
            | "refresh_token"
            | "assertion"
            | "authorization"
            | "proxy-authorization"
    ) || [
        "secret",
        "password",
        "passwd",
        "token",
        "key",
        "cookie",
        "credential",
        "auth",
    ]
    .iter()
    .any(|word| key.contains(word))
}

/// What a reference starts with; a string starting so is shown even when the
/// rest is wrong.
const REFERENCE_PREFIXES: &[&str] = &["env:", "file:", "cmd:"];

/// The keys of a step whose values are tables of request values.
const VALUE_TABLES: &[&str] = &["headers", "data", "query", "refresh_data"];
/// The keys of `client_auth` and `grant` that hold no credential: every other
/// value there (a credential, or a misspelt key that may hold one) is masked.
const PUBLIC_CREDENTIAL_KEYS: &[&str] = &[
    "method",
    "type",
    "client_id",
    "username",
    "algorithm",
    "kid",
    "audience",
    "subject",
    "subject_token_type",
    "actor",
    "actor_token_type",
    "requested_token_type",
    "resource",
    "assertion",
    "endpoint",
    "scope",
];

/// The keys of `client_auth` and `grant` that hold a credential.
const CREDENTIAL_KEYS: &[&str] = &["client_secret", "private_key", "password", "refresh_token"];

/// Whether the value under `key` in `client_auth` or `grant` is public: a key
/// known to hold none, or a misspelling nearer to one of those than to a
/// credential key.
fn public_credential_key(key: &str) -> bool {
    if PUBLIC_CREDENTIAL_KEYS.contains(&key) {
        return true;
    }
    let known = PUBLIC_CREDENTIAL_KEYS
        .iter()
        .chain(CREDENTIAL_KEYS)
        .copied();
    super::diagnostic::nearest(key, known)
        .is_some_and(|near| PUBLIC_CREDENTIAL_KEYS.contains(&near))
}

/// `text` with the literal secrets of the pipeline file replaced by `*` (one
/// per byte, so that every span still points at the same place): the request
/// values under secret-looking names, the credentials of `client_auth` and
/// `grant`, and any other string under a secret-looking key that is not a key
/// of the file format. References (`env:..`) are kept. A file that does not
/// parse is masked as far as it parses.
pub(super) fn mask_inline_secrets(text: &str) -> String {
    let (root, errors) = DeTable::parse_recoverable(text);
    let mut spans = Vec::new();
    collect_secret_spans(root.get_ref(), Context::Document, &mut spans);
    if !errors.is_empty() {
        // What did not parse (an unquoted value, say) is masked by the look of
        // its line: the value after `key =` when the key looks secret.
        spans.extend(secret_lines(text));
    }
    let mut bytes = text.as_bytes().to_vec();
    for span in spans {
        let Some(value) = text.get(span.clone()) else {
            continue;
        };
        let mut at = span.start;
        for c in value.chars() {
            let width = c.len_utf8();
            if !matches!(c, '"' | '\'' | '\n' | '\r') {
                bytes[at..at + width].fill(b'*');
            }
            at += width;
        }
    }
    // Only whole characters were replaced, by ASCII.
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_owned())
}

/// The values of lines `key = value` whose key looks secret and whose value is
/// not a reference.
fn secret_lines(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut spans = Vec::new();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if let Some((key, value)) = line.split_once('=') {
            let key = key.trim().trim_matches(['"', '\'']);
            let value = value.trim_start().trim_matches(['"', '\'']);
            let reference = REFERENCE_PREFIXES
                .iter()
                .any(|prefix| value.starts_with(prefix));
            if looks_secret(key) && !FORMAT_KEYS.contains(&key) && !reference {
                let start = line_value_start(line, at);
                let end = at + line.trim_end_matches(['\n', '\r']).len();
                if start < end {
                    spans.push(start..end);
                }
            }
        }
        at += line.len();
    }
    spans
}

/// Where the value of `line` (starting at byte `at` of the text) begins: after
/// its first `=` and the spaces following it.
fn line_value_start(line: &str, at: usize) -> usize {
    let equals = line.find('=').unwrap_or(0) + 1;
    let spaces = line[equals..].len() - line[equals..].trim_start().len();
    at + equals + spaces
}

/// Where in the file a table is, for [`collect_secret_spans`].
#[derive(Clone, Copy)]
enum Context {
    Document,
    Steps,
    Step,
    /// `headers`, `data`, `query`, `refresh_data`: every key names a value.
    Values,
    /// `client_auth`, `grant`.
    Credentials,
    /// Anything else.
    Other,
}

fn collect_secret_spans(
    table: &DeTable<'_>,
    context: Context,
    spans: &mut Vec<std::ops::Range<usize>>,
) {
    for (key, value) in table.iter() {
        let key = key.get_ref().as_ref();
        let secret = || match context {
            Context::Values => looks_secret(key),
            Context::Credentials => !public_credential_key(key),
            Context::Step | Context::Document | Context::Other => unknown_secret(key),
            Context::Steps => false,
        };
        match value.get_ref() {
            DeValue::String(text) => {
                let reference = REFERENCE_PREFIXES
                    .iter()
                    .any(|prefix| text.starts_with(prefix));
                if secret() && !reference {
                    spans.push(value.span());
                }
            }
            // A number or a date is no credential, but one written where a
            // credential goes may be one.
            DeValue::Integer(_) | DeValue::Float(_) | DeValue::Datetime(_) if secret() => {
                spans.push(value.span());
            }
            DeValue::Table(inner) => {
                let inner_context = match (context, key) {
                    (Context::Document, "steps") => Context::Steps,
                    (Context::Steps, _) => Context::Step,
                    (Context::Step, key) if VALUE_TABLES.contains(&key) => Context::Values,
                    (Context::Step, "client_auth" | "grant") => Context::Credentials,
                    _ => Context::Other,
                };
                collect_secret_spans(inner, inner_context, spans);
            }
            DeValue::Array(items) => {
                for item in items.iter() {
                    if let DeValue::Table(inner) = item.get_ref() {
                        collect_secret_spans(inner, Context::Other, spans);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Keys of the file format that look secret but are not: where a token is
/// read, its type, an injection's target.
const FORMAT_KEYS: &[&str] = &[
    "token_header",
    "token_type",
    "token_field",
    "token_type_field",
    "refresh_token_field",
    "default_token_type",
    "subject_token_type",
    "actor_token_type",
    "requested_token_type",
    "header",
    "field",
    "query",
    "from",
    "format",
    "part",
    "extra",
    "subject",
    "actor",
    "assertion",
];

/// A key that is not one of the format's and looks secret: a credential put
/// in the wrong place, or misspelt.
fn unknown_secret(key: &str) -> bool {
    !FORMAT_KEYS.contains(&key) && looks_secret(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_read_from_their_prefix() {
        assert_eq!(
            SecretValue::parse("env:APP_SECRET"),
            Ok(SecretValue::Env("APP_SECRET".into()))
        );
        assert_eq!(
            SecretValue::parse("file:pw.txt"),
            Ok(SecretValue::File("pw.txt".into()))
        );
        assert_eq!(
            SecretValue::parse("cmd:pass show api"),
            Ok(SecretValue::Cmd("pass show api".into()))
        );
        assert_eq!(
            SecretValue::parse("plain"),
            Ok(SecretValue::Literal("plain".into()))
        );
        for bad in ["env:", "env:A=B", "file:", "cmd: "] {
            assert!(SecretValue::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            format!("{:?}", SecretValue::Literal("s3cret".into())),
            "[literal]"
        );
    }

    #[test]
    fn references_are_resolved_and_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "  from-file\n").unwrap();
        let mut resolver = Resolver::new(dir.path());
        // Cargo sets this variable for the tests it runs.
        assert_eq!(
            resolver
                .resolve(&SecretValue::Env("CARGO_PKG_NAME".into()))
                .unwrap(),
            "tokenfetch-cli"
        );
        assert_eq!(
            resolver.resolve(&SecretValue::File("pw".into())).unwrap(),
            "from-file"
        );
        assert_eq!(
            resolver
                .resolve(&SecretValue::Cmd("printf ' from-cmd\\n'; pwd >&2".into()))
                .unwrap(),
            "from-cmd"
        );
        // The command runs in the file's directory.
        assert_eq!(
            resolver
                .resolve(&SecretValue::Cmd("cat pw".into()))
                .unwrap(),
            "from-file"
        );
        assert_eq!(
            resolver
                .resolve(&SecretValue::Literal(" kept ".into()))
                .unwrap(),
            " kept "
        );
    }

    #[test]
    fn a_command_runs_once_per_resolver() {
        let dir = tempfile::tempdir().unwrap();
        let command = SecretValue::Cmd("echo x >> count; echo value".into());
        let mut resolver = Resolver::new(dir.path());
        for _ in 0..2 {
            assert_eq!(resolver.resolve(&command).unwrap(), "value");
        }
        let count = std::fs::read_to_string(dir.path().join("count")).unwrap();
        assert_eq!(count.lines().count(), 1);
    }

    #[test]
    fn failures_name_the_reference_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut resolver = Resolver::new(dir.path());
        let error = resolver
            .resolve(&SecretValue::Env("TOKENFETCH_CLI_SURELY_UNSET".into()))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "`env:TOKENFETCH_CLI_SURELY_UNSET`: the environment variable is not set"
        );
        let error = resolver
            .resolve(&SecretValue::Cmd("printf 'leaked''-output'; exit 3".into()))
            .unwrap_err();
        assert!(
            matches!(error, SecretError::CommandFailed { .. }),
            "{error}"
        );
        assert!(!error.to_string().contains("leaked-output"), "{error}");
        let error = resolver
            .resolve(&SecretValue::File("missing".into()))
            .unwrap_err();
        assert!(
            error.to_string().starts_with("`file:missing`: cannot read"),
            "{error}"
        );
    }

    #[test]
    fn secret_looking_keys() {
        for key in [
            "client_secret",
            "password",
            "api_token",
            "Authorization",
            "assertion",
        ] {
            assert!(looks_secret(key), "{key}");
        }
        for key in ["username", "client_id", "X-Device-ID", "tenant"] {
            assert!(!looks_secret(key), "{key}");
        }
    }

    #[test]
    fn literal_secrets_are_masked_in_place() {
        let text = r#"
[steps.app]
token_field = "token"
data = { client_id = "app", client_secret = "s3cré", other = "env:X" }
headers = { Authorization = "env:AUTH" }
app_secret = "oops-secret"
client_auth = { method = "post", client_id = "id", client_secret = "hunter2" }
"#;
        let masked = mask_inline_secrets(text);
        assert_eq!(masked.len(), text.len());
        assert!(masked.contains(r#"client_secret = "******""#), "{masked}");
        assert!(masked.contains(r#"client_secret = "*******""#), "{masked}");
        assert!(masked.contains(r#"token_field = "token""#), "{masked}");
        assert!(masked.contains(r#"client_id = "app""#), "{masked}");
        assert!(masked.contains(r#""env:AUTH""#), "{masked}");
        assert!(!masked.contains("oops-secret"), "{masked}");
    }
}
