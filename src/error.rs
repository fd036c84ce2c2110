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
    /// A passwd-file (the mail server's credentials) cannot be used or
    /// changed as asked; the file is unchanged.
    #[error("passwd-file {path}: {message}")]
    PasswdFile {
        /// The passwd-file.
        path: PathBuf,
        /// What is wrong, in plain words.
        message: String,
    },
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

/// Rewrites serde's type errors in a policy file in plain words, naming the
/// key: `invalid type: string "3", expected u8` at `min_score = "3"` in
/// `[strength]` becomes `strength.min_score: expected a number, found the
/// string "3"`. Other messages are returned as they are.
pub(crate) fn plain_toml_message(message: &str, text: &str, offset: Option<usize>) -> String {
    let (kind, rest) = if let Some(r) = message.strip_prefix("invalid type: ") {
        (Kind::Type, r)
    } else if let Some(r) = message.strip_prefix("invalid value: ") {
        (Kind::Value, r)
    } else {
        return message.to_owned();
    };
    let Some((found, expected)) = rest.rsplit_once(", expected ") else {
        return message.to_owned();
    };
    let found = plain_found(found);
    let expected = plain_expected(expected, kind);
    match offset.and_then(|o| key_at(text, o)) {
        Some(key) => format!("{key}: expected {expected}, found {found}"),
        None => format!("expected {expected}, found {found}"),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Type,
    Value,
}

/// serde's name of what was found, as a person would say it.
fn plain_found(found: &str) -> String {
    let unquote = |s: &str| s.trim_matches('`').to_owned();
    if let Some(s) = found.strip_prefix("string ") {
        format!("the string {s}")
    } else if let Some(n) = found.strip_prefix("integer ") {
        unquote(n)
    } else if let Some(n) = found.strip_prefix("floating point ") {
        format!("the fraction {}", unquote(n))
    } else if let Some(b) = found.strip_prefix("boolean ") {
        unquote(b)
    } else if found == "sequence" {
        "a list".to_owned()
    } else if found == "map" {
        "a table".to_owned()
    } else {
        found.to_owned()
    }
}

/// serde's name of what was expected, as a person would say it.
fn plain_expected(expected: &str, kind: Kind) -> String {
    let range = match expected {
        "u8" => Some(u64::from(u8::MAX)),
        "u16" => Some(u64::from(u16::MAX)),
        "u32" => Some(u64::from(u32::MAX)),
        "u64" | "usize" => Some(u64::MAX),
        _ => None,
    };
    match (range, kind) {
        (Some(max), Kind::Value) => format!("a whole number from 0 to {max}"),
        (Some(_), Kind::Type) => "a number".to_owned(),
        (None, _) => match expected {
            "a sequence" => "a list".to_owned(),
            "a boolean" => "true or false".to_owned(),
            "path string" => "a string".to_owned(),
            other => other.to_owned(),
        },
    }
}

/// The key whose value starts at byte `offset` of `text`, with its table:
/// `strength.min_score` for `min_score = …` under `[strength]` or in
/// `strength = { min_score = … }`.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..offset];
    let eq = before.rfind('=')?;
    let head = &before[..eq];
    let cut = head.rfind(['{', ',']).map_or(0, |i| i + 1);
    let key = head[cut..].trim();
    if key.is_empty() || key.contains(['[', ']', '"', '#']) {
        return None;
    }
    let table = match head[..cut].rfind('{') {
        Some(brace) => head[..brace].trim_end().strip_suffix('=').map(str::trim),
        None => text[..line_start].lines().rev().find_map(|l| {
            let l = l.trim();
            l.strip_prefix('[')
                .and_then(|t| t.split_once(']'))
                .map(|(t, _)| t.trim())
        }),
    };
    Some(match table {
        Some(t) if !t.is_empty() && !t.starts_with('[') => format!("{t}.{key}"),
        _ => key.to_owned(),
    })
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(text: &str) -> String {
        match crate::Policy::from_toml_str(text) {
            Err(Error::Policy(e)) => e.message,
            other => panic!("{text:?} gave {other:?}"),
        }
    }

    #[test]
    fn type_errors_name_the_key_in_plain_words() {
        assert_eq!(
            plain("[strength]\nmin_score = \"3\"\n"),
            "strength.min_score: expected a number, found the string \"3\""
        );
        assert_eq!(
            plain("strength = { min_score = \"3\" }\n"),
            "strength.min_score: expected a number, found the string \"3\""
        );
        assert_eq!(
            plain("[strength]\nmin_score = 300\n"),
            "strength.min_score: expected a whole number from 0 to 255, found 300"
        );
        assert_eq!(
            plain("[strength]\nmin_score = 2.5\n"),
            "strength.min_score: expected a number, found the fraction 2.5"
        );
        assert_eq!(
            plain("[strength]\nreject_context_words = \"yes\"\n"),
            "strength.reject_context_words: expected true or false, found the string \"yes\""
        );
        assert_eq!(
            plain("[composition]\npatterns = \"x\"\n"),
            "composition.patterns: expected a list, found the string \"x\""
        );
        assert_eq!(plain("preset = 3\n"), "preset: expected a string, found 3");
        // Line and column still point at the value.
        let e = match crate::Policy::from_toml_str("[length]\nmin = \"eight\"\n") {
            Err(Error::Policy(e)) => e,
            other => panic!("{other:?}"),
        };
        assert_eq!((e.line, e.column), (Some(2), Some(7)));
        assert_eq!(
            e.message,
            "length.min: expected a number, found the string \"eight\""
        );
    }

    #[test]
    fn other_messages_are_kept() {
        assert_eq!(
            plain_toml_message("unknown field `x`", "", None),
            "unknown field `x`"
        );
        assert_eq!(
            plain_toml_message("invalid type: string \"3\", expected u8", "", None),
            "expected a number, found the string \"3\""
        );
    }
}
