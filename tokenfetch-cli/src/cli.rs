//! The command line's grammar (`clap` derive): global options and one subcommand
//! per task.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Fetches a chain of tokens declared in a TOML pipeline file, caches them in a
/// store shared by every process, and shows the steps' state, graph and timeline.
///
/// Exit codes: 0 success; 1 the server refused (or answered without a usable
/// token); 2 the pipeline file or the arguments are wrong; 3 a transient failure
/// (network, 5xx, timeout, store). `curl` and `exec` exit with their command's
/// code once the token is fetched.
#[derive(Debug, Parser)]
#[command(name = "tokenfetch", version)]
pub struct Cli {
    /// The pipeline file [default: tokenfetch.toml, then $TOKENFETCH_FILE]
    #[arg(long, short = 'f', global = true, value_name = "PATH")]
    pub file: Option<PathBuf>,

    /// Where tokens are cached between runs: `none`, `file` (the user's cache
    /// directory), `file:PATH`, or a `redis://` URL [default: file]
    #[arg(long, global = true, value_name = "STORE", env = "TOKENFETCH_STORE")]
    pub store: Option<String>,

    /// Prints nothing but what was asked for (no warnings, no spinner).
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,

    /// Logs what the engine does to stderr (secrets redacted); twice for more.
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Prints the token of STEP, fetching it and its dependencies if needed.
    Get {
        /// The step.
        step: String,
        /// How to print it.
        #[arg(long, value_enum, default_value_t = Format::Bare)]
        format: Format,
    },
    /// Prints `Authorization: <type> <token>` for STEP, for `curl -H "$(..)"`.
    Header {
        /// The step.
        step: String,
    },
    /// Runs curl with STEP's token in an `Authorization` header.
    Curl {
        /// The step.
        step: String,
        /// The arguments of curl, after `--`.
        #[arg(last = true, required = true)]
        args: Vec<String>,
    },
    /// Runs a command with STEP's token in an environment variable.
    Exec {
        /// The step.
        step: String,
        /// The variable holding the token.
        #[arg(long, default_value = "TOKENFETCH_TOKEN")]
        env: String,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Checks the pipeline file: exit 0, or every mistake at once.
    Check,
    /// Prints the step graph.
    Graph {
        /// How to draw it.
        #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
        format: GraphFormat,
    },
    /// Fetches STEP and shows how: each step's start and end, where its token
    /// came from, its requests and status.
    Explain {
        /// The step.
        step: String,
        /// Prints the timeline as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Shows each step's token in the store: cached or not, expiry, renewal.
    ///
    /// It reads the steps' secret references: a token's place in the store
    /// depends on them.
    Status {
        /// Prints the state as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Decodes a JWT's header and claims, without checking its signature: STEP's
    /// token, or `-` for a token on stdin.
    Inspect {
        /// The step, or `-`.
        step: String,
    },
    /// Drops cached tokens, in memory and in the store: STEP's, or every step's.
    ///
    /// It reads the secret references of the steps it drops.
    Evict {
        /// The step; every step without it.
        step: Option<String>,
    },
}

/// How `get` prints the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The token alone.
    Bare,
    /// `Authorization: <type> <token>`.
    Header,
    /// A JSON object: token, type, expiry.
    Json,
    /// `export TOKENFETCH_TOKEN=..` lines for `eval`.
    Env,
    /// A `client.authentication.k8s.io/v1` ExecCredential, for kubectl.
    ExecCredential,
}

/// How `graph` draws the steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// One line per step and its dependencies.
    Text,
    /// A Mermaid flowchart.
    Mermaid,
    /// A Graphviz digraph.
    Dot,
}
