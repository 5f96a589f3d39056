//! The command line's exit codes, and the failure that carries one.

use std::process::ExitCode;

use tokenfetch::ErrorKind;

/// Success.
pub const OK: u8 = 0;
/// The server refused, or answered without a usable token.
pub const REFUSED: u8 = 1;
/// The pipeline file or the arguments are wrong.
pub const USAGE: u8 = 2;
/// A transient failure: network, 5xx, timeout, store.
pub const TRANSIENT: u8 = 3;

/// A failure of a command: what to print on stderr, and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// The message, already rendered.
    pub message: String,
    /// The exit code.
    pub code: u8,
}

impl Failure {
    /// A wrong file or argument.
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: USAGE,
        }
    }

    /// The exit code of the process.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }
}

/// Writes `text` to stdout. A reader that went away (`tokenfetch status | head
/// -1`) is not an error; another write failure is.
pub fn write_stdout(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(Failure {
            message: format!("error: cannot write the output: {error}"),
            code: TRANSIENT,
        }),
    }
}

/// `print!` to stdout through [`write_stdout`], returning its failure.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::exit::write_stdout(&format!($($arg)*))?
    };
}

/// `println!` to stdout through [`write_stdout`], returning its failure.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::exit::write_stdout(&format!("{}\n", format!($($arg)*)))?
    };
}

/// The exit code of a tokenfetch error.
pub fn code_of(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Refused | ErrorKind::BadResponse => REFUSED,
        ErrorKind::Config => USAGE,
        _ => TRANSIENT,
    }
}

impl From<tokenfetch::Error> for Failure {
    fn from(error: tokenfetch::Error) -> Self {
        Failure {
            message: format!("error: {error}"),
            code: code_of(error.kind()),
        }
    }
}
