//! The `tokenfetch` binary: parses the arguments, sets up logging, runs the
//! command, and exits with its code (see `tokenfetch --help`).

use std::process::ExitCode;

use clap::Parser;
use tokenfetch_cli::cli::Cli;
use tokenfetch_cli::commands;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.verbose > 0 {
        // tokenfetch's own logs redact every secret; -vv adds the HTTP stack's.
        let filter = if cli.verbose == 1 {
            "tokenfetch=debug"
        } else {
            "debug"
        };
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .init();
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(tokenfetch_cli::exit::TRANSIENT);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("{}", failure.message.trim_end());
            failure.exit_code()
        }
    }
}
