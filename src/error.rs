//! The library's error type. Each variant maps to one exit code at the binary's edge:
//! bad input (a config, a flag, a graph file, a size that does not fit) is 2, a run
//! that failed is 1.

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Something the user gave us is wrong; the message names the file, the field and
    /// what is allowed.
    #[error("{0}")]
    BadInput(String),
    /// The GPU could not be used or failed during the run.
    #[error("gpu: {0}")]
    Gpu(String),
    /// A check the user asked for did not hold (e.g. a `validate` case failed).
    #[error("{0}")]
    Failed(String),
    /// Reading or writing files failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `text` cut to at most `max` bytes (at a character boundary) with `…` where it was cut:
/// a message quotes what the user gave, never megabytes of it.
pub fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

impl Error {
    pub fn bad_input(msg: impl Into<String>) -> Self {
        Error::BadInput(msg.into())
    }

    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            context: path.display().to_string(),
            source,
        }
    }

    /// A GPU error with the pass it happened in (`during the tick passes of ticks
    /// 10..20`); other errors are left as they are.
    pub fn during(self, what: impl std::fmt::Display) -> Self {
        match self {
            Error::Gpu(m) => Error::Gpu(format!("during {what}: {m}")),
            other => other,
        }
    }

    /// Exit code the binary uses for this error: 2 for bad input, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::BadInput(_) => 2,
            _ => 1,
        }
    }
}
