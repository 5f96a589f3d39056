//! The `tokenfetch` binary: parses the arguments, sets up logging, runs the
//! command, and exits with its code (see `tokenfetch --help`).

use std::process::ExitCode;

use clap::Parser;
use tokenfetch_cli::cli::Cli;
use tokenfetch_cli::commands;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Only tokenfetch's own logs, which redact every secret: its warnings (a
    // store that does not answer, a stale token served) unless --quiet, more with
    // -v and -vv.
    let filter = match (cli.quiet, cli.verbose) {
        (true, 0) => None,
        // Each failed attempt is summed up by the error the command prints.
        (_, 0) => Some("tokenfetch=warn,tokenfetch::step=error,tokenfetch_cli=warn"),
        (_, 1) => Some("tokenfetch=debug,tokenfetch_cli=debug"),
        _ => Some("tokenfetch=trace,tokenfetch_cli=trace"),
    };
    if let Some(filter) = filter {
        // With -v, each fetch is logged when it ends: step, cache, attempts,
        // status, duration.
        let spans = if cli.verbose > 0 {
            tracing_subscriber::fmt::format::FmtSpan::CLOSE
        } else {
            tracing_subscriber::fmt::format::FmtSpan::NONE
        };
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .with_span_events(spans)
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
