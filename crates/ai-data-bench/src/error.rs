//! Why a run stopped, and its exit code.

use std::fmt;
use std::process::ExitCode;

/// A failed or refused run.
#[derive(Debug)]
pub(crate) enum BenchError {
    /// Bad arguments (exit 2, like clap's own usage errors).
    Usage(String),
    /// A non-loopback store without `--allow-remote` (exit 2).
    Remote(String),
    /// An existing collection the tool did not create (exit 3).
    Foreign(String),
    /// Ctrl-C (exit 130).
    Interrupted,
    /// Anything else: connection, load, query, output (exit 1).
    Failed(String),
}

impl BenchError {
    /// The process exit status for this error.
    pub(crate) fn exit_code_number(&self) -> u8 {
        match self {
            BenchError::Usage(_) | BenchError::Remote(_) => 2,
            BenchError::Foreign(_) => 3,
            BenchError::Interrupted => 130,
            BenchError::Failed(_) => 1,
        }
    }

    /// [`BenchError::exit_code_number`] as an [`ExitCode`].
    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.exit_code_number())
    }

    /// A failure with context.
    pub(crate) fn failed(context: &str, err: impl fmt::Display) -> Self {
        BenchError::Failed(format!("{context}: {err}"))
    }
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchError::Usage(m)
            | BenchError::Remote(m)
            | BenchError::Foreign(m)
            | BenchError::Failed(m) => f.write_str(m),
            BenchError::Interrupted => f.write_str("interrupted"),
        }
    }
}

impl std::error::Error for BenchError {}

impl From<ai_data_core::Error> for BenchError {
    fn from(e: ai_data_core::Error) -> Self {
        BenchError::Failed(e.to_string())
    }
}
