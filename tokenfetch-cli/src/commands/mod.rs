//! One module per command; [`run`] dispatches. Each returns the process's exit
//! code, or a [`Failure`] with its message and code.

mod check;
mod evict;
mod explain;
mod get;
mod graph;
mod inspect;
mod run_with_token;
mod status;

use crate::cli::{Cli, Command};
use crate::exit::Failure;
use crate::session::Session;

/// Runs the command `cli` names.
pub async fn run(cli: Cli) -> Result<u8, Failure> {
    // `inspect -` reads a token from stdin: no pipeline file needed.
    if let Command::Inspect { step } = &cli.command
        && step == "-"
    {
        return inspect::from_stdin();
    }
    let session = Session::load(&cli)?;
    match cli.command {
        Command::Get { step, format } => get::get(&session, &step, format).await,
        Command::Header { step } => get::get(&session, &step, crate::cli::Format::Header).await,
        Command::Curl { step, args } => run_with_token::curl(&session, &step, &args).await,
        Command::Exec { step, env, command } => {
            run_with_token::exec(&session, &step, &env, &command).await
        }
        Command::Check => check::check(&session),
        Command::Graph { format } => graph::graph(&session, format),
        Command::Explain { step, json } => explain::explain(&session, &step, json).await,
        Command::Status { json } => status::status(&session, json).await,
        Command::Inspect { step } => inspect::from_step(&session, &step).await,
        Command::Evict { step } => evict::evict(&session, step.as_deref()).await,
    }
}
