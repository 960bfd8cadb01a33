//! The one error type for failures that are not problems in the user's
//! sources: a path that cannot be read or written, a bad flag, a refusal
//! to touch a file that is not slo's, a Parquet file that cannot be
//! written, a query engine that failed.
//!
//! Problems *in* what the user wrote (a `.slo` file, an incidents file, a
//! data file's contents) are [`crate::diag::Diagnostic`]s with spans into
//! their text; everything else that ends a run is an [`Error`], which the
//! CLI prints as `error[<code>]: <message>` with its help and exits 2.
//! Like a diagnostic it has a stable code (every one is listed in
//! docs/diagnostics.md) and, where there is one, help that says what to do.

use std::path::Path;

/// A failure outside the user's sources; the run ends with exit code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: &'static str,
    pub message: String,
    pub help: Option<String>,
}

impl Error {
    /// An I/O failure (`slo::io`): the message names the path and the OS error.
    pub fn new(message: impl Into<String>) -> Error {
        Error { code: "slo::io", message: message.into(), help: None }
    }

    /// A problem with its own stable code and help.
    pub fn coded(code: &'static str, message: impl Into<String>, help: impl Into<String>) -> Error {
        Error { code, message: message.into(), help: Some(help.into()) }
    }

    /// `cannot write <path>: <why>` (`slo::io`).
    pub fn write(path: &Path, why: impl std::fmt::Display) -> Error {
        Error::new(format!("cannot write {}: {why}", path.display()))
    }

    /// `cannot read <path>: <why>` (`slo::io`).
    pub fn read(path: &Path, why: impl std::fmt::Display) -> Error {
        Error::new(format!("cannot read {}: {why}", path.display()))
    }

    /// The same error with `context: ` before its message.
    pub fn context(mut self, context: impl std::fmt::Display) -> Error {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.code, self.message)?;
        if let Some(h) = &self.help {
            write!(f, "\n  help: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::Error;
    use std::path::Path;

    #[test]
    fn messages_name_the_path_and_keep_their_code() {
        let e = Error::write(Path::new("/x/y.yml"), "disk full").context("compile");
        assert_eq!(e.code, "slo::io");
        assert_eq!(e.to_string(), "[slo::io] compile: cannot write /x/y.yml: disk full");
        let c = Error::coded("slo::flag::label", "bad", "fix it");
        assert_eq!(c.to_string(), "[slo::flag::label] bad\n  help: fix it");
    }
}
