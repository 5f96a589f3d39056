//! What every command starts from: the pipeline file found and checked (its
//! warnings printed), the store chosen, and an engine built for the steps a
//! command needs, with a spinner on a terminal while a fetch takes a moment.

use std::future::Future;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokenfetch::{Engine, FileStore, RedisStore, TokenData, TokenStore};

use crate::cli::Cli;
use crate::exit::Failure;
use crate::pipeline_file::{self, PipelineFile};

/// The pipeline file's default name, in the working directory.
pub const DEFAULT_FILE: &str = "tokenfetch.toml";

/// How long a fetch runs before a spinner shows.
const SPINNER_AFTER: Duration = Duration::from_millis(300);

/// The spinner on the terminal, while one turns.
static SPINNER: std::sync::Mutex<Option<indicatif::ProgressBar>> = std::sync::Mutex::new(None);

/// Writes a line for the user on stderr (a device flow's code, say), above the
/// spinner when one turns, so that neither garbles the other.
pub fn tell_user(line: &str) {
    let spinner = SPINNER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match spinner.as_ref() {
        Some(spinner) => spinner.suspend(|| eprintln!("{line}")),
        None => eprintln!("{line}"),
    }
}

/// A checked pipeline file and the options every command shares.
pub struct Session {
    /// Where the file is.
    pub path: PathBuf,
    /// Its steps.
    pub file: PipelineFile,
    store: Option<String>,
    quiet: bool,
}

/// Where tokens are cached between runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChoice {
    /// Nowhere: every run fetches.
    None,
    /// A file, locked and readable by its owner only.
    File(PathBuf),
    /// A Redis server.
    Redis(String),
}

impl StoreChoice {
    /// Reads `--store`: `none`, `file`, `file:PATH` or a `redis://` URL; without
    /// it, a file in the user's cache directory.
    pub fn parse(arg: Option<&str>) -> Result<StoreChoice, Failure> {
        match arg {
            None | Some("file") => default_store_file().map(StoreChoice::File),
            Some("none") => Ok(StoreChoice::None),
            Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => {
                Ok(StoreChoice::Redis(url.to_owned()))
            }
            Some(other) => match other.strip_prefix("file:") {
                Some(path) if !path.is_empty() => Ok(StoreChoice::File(PathBuf::from(path))),
                _ => Err(Failure::usage(format!(
                    "error: unknown store `{other}`; use `none`, `file`, `file:PATH` or a `redis://` URL"
                ))),
            },
        }
    }
}

/// `<cache dir>/tokenfetch/tokens.json`, its directory made if missing.
fn default_store_file() -> Result<PathBuf, Failure> {
    let dir = dirs::cache_dir()
        .ok_or_else(|| {
            Failure::usage("error: no cache directory for this user; pass `--store file:PATH` or `--store none`")
        })?
        .join("tokenfetch");
    std::fs::create_dir_all(&dir).map_err(|error| {
        Failure::usage(format!("error: cannot create {}: {error}", dir.display()))
    })?;
    Ok(dir.join("tokens.json"))
}

/// The pipeline file: `--file`, else `tokenfetch.toml` here, else
/// `$TOKENFETCH_FILE`.
fn find_file(arg: Option<&Path>) -> Result<PathBuf, Failure> {
    if let Some(path) = arg {
        return Ok(path.to_owned());
    }
    let here = PathBuf::from(DEFAULT_FILE);
    if here.is_file() {
        return Ok(here);
    }
    match std::env::var_os("TOKENFETCH_FILE") {
        Some(path) => Ok(PathBuf::from(path)),
        None => Err(Failure::usage(format!(
            "error: no pipeline file: `{DEFAULT_FILE}` is not in this directory; pass `--file PATH` or set TOKENFETCH_FILE"
        ))),
    }
}

impl Session {
    /// Finds, reads and checks the pipeline file; every mistake is reported at
    /// once, warnings (unless `--quiet`) on stderr.
    pub fn load(cli: &Cli) -> Result<Session, Failure> {
        let path = find_file(cli.file.as_deref())?;
        let text = std::fs::read_to_string(&path).map_err(|error| {
            Failure::usage(format!("error: cannot read {}: {error}", path.display()))
        })?;
        let (file, warnings) = pipeline_file::parse(&path, &text)
            .map_err(|errors| Failure::usage(pipeline_file::render(&errors, &path, &text)))?;
        if !warnings.is_empty() && !cli.quiet {
            eprint!("{}", pipeline_file::render(&warnings, &path, &text));
        }
        Ok(Session {
            path,
            file,
            store: cli.store.clone(),
            quiet: cli.quiet,
        })
    }

    /// Where tokens are cached between runs (`--store`), read when a command
    /// needs it.
    pub fn store_choice(&self) -> Result<StoreChoice, Failure> {
        StoreChoice::parse(self.store.as_deref())
    }

    /// Checks that `step` is a step of the file.
    pub fn check_step(&self, step: &str) -> Result<(), Failure> {
        let names = self.file.step_names();
        if names.contains(&step) {
            return Ok(());
        }
        let near = pipeline_file::nearest(step, names.iter().copied())
            .map(|name| format!(" (did you mean `{name}`?)"))
            .unwrap_or_default();
        Err(Failure::usage(format!(
            "error: no step `{step}` in {}{near}; its steps are {}",
            self.path.display(),
            names.join(", ")
        )))
    }

    /// An engine with `steps` and everything they depend on, and the store.
    pub fn engine(&self, steps: &[&str]) -> Result<Engine, Failure> {
        self.engine_and_store(steps).map(|(engine, _)| engine)
    }

    /// An engine as [`engine`](Session::engine) builds it, and its store.
    pub fn engine_and_store(
        &self,
        steps: &[&str],
    ) -> Result<(Engine, Option<Arc<dyn TokenStore>>), Failure> {
        for step in steps {
            self.check_step(step)?;
        }
        // The steps and everything they depend on.
        let names: Vec<String> = steps.iter().map(|step| (*step).to_owned()).collect();
        let fetchers = self
            .file
            .build_steps(&names)
            .map_err(|error| Failure::usage(format!("error: {error}")))?;
        let mut builder = Engine::builder();
        for fetcher in fetchers {
            builder = builder.boxed_step(fetcher);
        }
        let store: Option<Arc<dyn TokenStore>> = match self.store_choice()? {
            StoreChoice::None => None,
            StoreChoice::File(path) => Some(Arc::new(FileStore::new(path))),
            StoreChoice::Redis(url) => Some(Arc::new(RedisStore::new(&url)?)),
        };
        if let Some(store) = &store {
            builder = builder.store(Arc::clone(store));
        }
        Ok((builder.build()?, store))
    }

    /// The token of `step`, with a spinner while it takes a moment.
    pub async fn token(&self, engine: &Engine, step: &str) -> Result<Arc<TokenData>, Failure> {
        let token = self
            .with_spinner(format!("fetching {step}"), engine.token_by_name(step))
            .await?;
        Ok(token)
    }

    /// Runs `work`, showing a spinner on stderr once it has taken a moment, when
    /// stderr is a terminal and `--quiet` is not given.
    pub async fn with_spinner<T>(&self, message: String, work: impl Future<Output = T>) -> T {
        if self.quiet || !std::io::stderr().is_terminal() {
            return work.await;
        }
        let mut work = std::pin::pin!(work);
        tokio::select! {
            done = &mut work => return done,
            () = tokio::time::sleep(SPINNER_AFTER) => {}
        }
        let spinner = indicatif::ProgressBar::new_spinner().with_message(message);
        spinner.enable_steady_tick(Duration::from_millis(100));
        *SPINNER
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(spinner.clone());
        let done = work.await;
        SPINNER
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        spinner.finish_and_clear();
        done
    }
}
