//! Errors of the library: I/O, invalid policies, stores and hashes.
//!
//! A rejected password is *not* an error (it is a [`Verdict`](crate::Verdict));
//! these are for things that stop pwsentry from giving a verdict at all.
//! No variant ever carries a password or a hash in its message.

use std::path::PathBuf;

/// Everything that can go wrong in the library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The policy could not be read, parsed or validated.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// A file pwsentry needed could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The history store failed or holds data pwsentry cannot use.
    #[error("history store: {0}")]
    Store(String),
    /// The store is busy (another process holds the write lock); try again.
    #[error("history store is busy (another process is recording); try again")]
    Busy,
    /// A stored or imported hash is malformed or uses unsupported parameters.
    #[error("invalid hash: {0}")]
    Hash(String),
    /// A time value is outside the range pwsentry supports.
    #[error("invalid time: {0}")]
    Time(String),
    /// An account id is not valid (see [`AccountId`](crate::AccountId)).
    #[error("invalid account id: {0}")]
    Account(#[from] crate::account::AccountIdError),
}

/// The policy file (or string) is invalid; names where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct PolicyError {
    /// The file name, or `<built-in>` / `<string>`.
    pub origin: String,
    /// 1-based line of the problem, when it has one.
    pub line: Option<usize>,
    /// 1-based column (in characters) of the problem, when it has one.
    pub column: Option<usize>,
    /// What is wrong, in plain words.
    pub message: String,
}

impl PolicyError {
    /// Builds an error located at byte offset `span_start` of `text`.
    pub(crate) fn at(
        origin: &str,
        text: &str,
        span_start: Option<usize>,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = match span_start {
            Some(offset) => {
                let offset = offset.min(text.len());
                let before = &text[..floor_char_boundary(text, offset)];
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        PolicyError {
            origin: origin.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }

    fn render(&self) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!(
                "invalid policy {}, line {l}, column {c}: {}",
                self.origin, self.message
            ),
            _ => format!("invalid policy {}: {}", self.origin, self.message),
        }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
