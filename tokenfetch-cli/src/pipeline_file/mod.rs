//! The pipeline file: token steps declared in TOML, read with every mistake
//! reported at once (with its position and a did-you-mean), then built into
//! tokenfetch steps.
//!
//! ```toml
//! [defaults]
//! base_url = "https://auth.example.com"
//! timeout = "30s"
//!
//! [steps.device]
//! endpoint = "/device/register"
//! token_header = "X-Device-Token"
//! headers = { X-Device-ID = "device-123" }
//! ttl = "30d"
//!
//! [steps.app]
//! endpoint = "/v1/app/token"
//! token_field = "token"
//! data = { client_id = "app", client_secret = "env:APP_SECRET" }
//!
//! [steps.user]
//! endpoint = "/v1/user/token"
//! content_type = "json"
//! depends_on = ["device", "app"]
//! data = { username = "u", password = "file:/run/secrets/pw" }
//! inject_header = [ { from = "device", header = "X-Device-Token" },
//!                   { from = "app", header = "Authorization", format = "Bearer {token}" } ]
//! ```
//!
//! [`parse`] reads a file into a [`PipelineFile`] (or the [`Diagnostic`]s that
//! say why not), [`render`] shows diagnostics rustc-style, and
//! [`PipelineFile::build_steps`] makes the steps asked for, reading their
//! `env:`, `file:` and `cmd:` references then.
//!
//! # The keys
//!
//! | table | keys |
//! |---|---|
//! | `[defaults]` | `base_url`, `timeout`, `allow_insecure_http` |
//! | `[steps.NAME]` | `endpoint` (a path joined to `base_url`, or a URL) and/or `issuer`; `base_url`, `timeout`, `allow_insecure_http` (over the defaults); `method` (`POST`, `GET`), `content_type` (`form`, `json`), `ttl`; `headers`, `data`, `query` (tables of strings); `depends_on` (step names); `inject_header`, `inject_field`, `inject_query`; `client_auth`, `grant` |
//! | token in a header | `token_header`, `token_type` |
//! | token in the body (the default) | `token_field`, `token_type_field`, `expires_in_field`, `expires_at_field`, `refresh_token_field`, `default_token_type`, `refresh_grant`, `refresh_data` |
//! | an injection | `from`, then `header`, `field` or `query` (by list); `format` (with `{token}` or `{token_type}`); `part` (`access_token`, `token_type`, `refresh_token`) or `extra` (a field of the token response) |
//! | `client_auth` | `method` (`none`, `post`, `basic`, `basic_unencoded`, `secret_jwt`, `private_key_jwt`, `secret`), `client_id`; `client_secret` (all but `none` and `private_key_jwt`); `private_key`, `algorithm` (`RS256` by default, `PS256`, `ES256`, `EdDSA`) for `private_key_jwt`; `kid`, `audience` for the two JWT methods |
//! | `grant` | `type`, `scope` (a list); `password`: `username`, `password`; `refresh_token`: `refresh_token`; `token_exchange`: `subject`, `subject_token_type`, `actor`, `actor_token_type`, `audience`, `resource`, `requested_token_type`; `jwt_bearer`: `assertion` (a step); `device_code`: `endpoint` (the device authorization endpoint) |
//!
//! Durations are written `"500ms"`, `"30s"`, `"15m"`, `"1h30m"`, `"30d"`.
//! Token types are `access_token`, `refresh_token`, `id_token`, `jwt`,
//! `saml1`, `saml2` or a URN; an exchanged token is an access token unless
//! said otherwise. The steps a grant names (`subject`, `actor`, `assertion`)
//! are dependencies without being listed in `depends_on`. Credentials, and
//! header, data and query values, may be `env:NAME`, `file:PATH` (relative to
//! the file's directory) or `cmd:COMMAND`; a secret written out draws a
//! warning.
//!
//! The parts: `schema` is the typed model, `parse` reads the spanned TOML into
//! it, `check` applies the graph rules, `values` the rules of single values,
//! `secrets` the references, `build` makes the tokenfetch steps and
//! `diagnostic` renders.

mod build;
mod check;
mod diagnostic;
mod parse;
mod schema;
mod secrets;
mod values;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

pub use self::build::{BuildError, BuildErrorKind};
pub(crate) use self::diagnostic::nearest;
pub use self::diagnostic::{Diagnostic, Severity, render};
pub use self::secrets::SecretError;

use self::schema::{Defaults, Step};
use self::secrets::Resolver;

/// A pipeline file with no error: its defaults and steps, ready to be built.
#[derive(Debug, Clone)]
pub struct PipelineFile {
    /// The file's directory: `file:` paths and `cmd:` commands start there.
    dir: PathBuf,
    defaults: Defaults,
    steps: Vec<Step>,
}

/// Reads the pipeline file at `path` (used for its directory only) whose
/// contents are `text`.
///
/// Returns the file and its warnings (an inline secret, say), or, when there is
/// at least one error, every diagnostic found; either way sorted by position.
/// No secret reference is read here.
pub fn parse(path: &Path, text: &str) -> Result<(PipelineFile, Vec<Diagnostic>), Vec<Diagnostic>> {
    let (document, mut diagnostics) = parse::read(text);
    if let Some(document) = &document {
        diagnostics.extend(check::check(&document.steps));
    }
    diagnostics.sort_by_key(|diagnostic| (diagnostic.span.start, diagnostic.span.end));
    match document {
        Some(document) if !diagnostics.iter().any(Diagnostic::is_error) => Ok((
            PipelineFile {
                dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
                defaults: document.defaults,
                steps: document.steps,
            },
            diagnostics,
        )),
        _ => Err(diagnostics),
    }
}

impl PipelineFile {
    /// The steps' names, in the order of the file.
    pub fn step_names(&self) -> Vec<&str> {
        self.steps
            .iter()
            .map(|step| step.name.value.as_str())
            .collect()
    }

    /// The graph: each step, in the order of the file, with the steps it
    /// depends on, `depends_on` first, then the steps its grant carries (token
    /// exchange's `subject` and `actor`, the JWT bearer's `assertion`), which
    /// tokenfetch adds to the dependencies.
    pub fn dependencies(&self) -> Vec<(String, Vec<String>)> {
        self.steps
            .iter()
            .map(|step| {
                let dependencies = step
                    .all_dependencies()
                    .into_iter()
                    .map(|dependency| dependency.value.clone())
                    .collect();
                (step.name.value.clone(), dependencies)
            })
            .collect()
    }

    /// Step `step` and every step it depends on, directly or not, in the order
    /// of the file; `None` if there is no such step.
    pub fn closure(&self, step: &str) -> Option<Vec<String>> {
        self.find(step)?;
        let mut needed = HashSet::new();
        let mut pending = vec![step];
        while let Some(name) = pending.pop() {
            if !needed.insert(name) {
                continue;
            }
            if let Some(found) = self.find(name) {
                pending.extend(
                    found
                        .all_dependencies()
                        .into_iter()
                        .map(|dependency| dependency.value.as_str()),
                );
            }
        }
        Some(
            self.step_names()
                .into_iter()
                .filter(|name| needed.contains(name))
                .map(str::to_owned)
                .collect(),
        )
    }

    /// Builds the steps `names` and every step they depend on, in the order of
    /// the file, each once. Secret references are read now, for these steps
    /// only (a reference two steps share is read once).
    pub fn build_steps(
        &self,
        names: &[String],
    ) -> Result<Vec<Box<dyn tokenfetch::TokenFetcher>>, BuildError> {
        let mut needed = HashSet::new();
        for name in names {
            let closure = self.closure(name).ok_or_else(|| BuildError {
                step: name.clone(),
                key: None,
                kind: BuildErrorKind::UnknownStep {
                    suggestion: diagnostic::nearest(name, self.step_names()).map(str::to_owned),
                },
            })?;
            needed.extend(closure);
        }
        let mut resolver = Resolver::new(&self.dir);
        self.steps
            .iter()
            .filter(|step| needed.contains(&step.name.value))
            .map(|step| build::build_step(step, &self.defaults, &mut resolver))
            .collect()
    }

    fn find(&self, name: &str) -> Option<&Step> {
        self.steps.iter().find(|step| step.name.value == name)
    }
}
