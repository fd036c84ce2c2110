//! Blocklists: banned passwords, matched against the whole candidate,
//! ignoring case.
//!
//! Loaded once, with the policy; lookups are a hash probe. Entries are kept
//! NFC-normalised and lowercased, the same form the candidate is compared in.

use std::collections::HashSet;
use std::path::Path;
use unicode_normalization::UnicodeNormalization;

/// The set of banned passwords of a policy.
#[derive(Debug, Default)]
pub(crate) struct Blocklist {
    entries: HashSet<String>,
    builtin: bool,
}

/// The form both entries and candidates are compared in.
pub(crate) fn fold(s: &str) -> String {
    s.nfc().flat_map(char::to_lowercase).collect()
}

impl Blocklist {
    /// Also treat zxcvbn's common-password list as banned.
    pub(crate) fn include_builtin(&mut self) {
        self.builtin = true;
    }

    /// `true` when the built-in list is on.
    pub(crate) fn uses_builtin(&self) -> bool {
        self.builtin
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Adds every non-empty line of `path` (`\r\n` line ends accepted).
    pub(crate) fn load_file(&mut self, path: &Path) -> Result<(), String> {
        if path.is_dir() {
            return Err("is a directory".into());
        }
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        for (n, line) in bytes.split(|b| *b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let line = std::str::from_utf8(line)
                .map_err(|_| format!("line {} is not valid UTF-8", n + 1))?;
            if !line.is_empty() {
                self.entries.insert(fold(line));
            }
        }
        Ok(())
    }

    /// `true` when `folded` (see [`fold`]) is an entry of a blocklist file.
    pub(crate) fn contains_folded(&self, folded: &str) -> bool {
        self.entries.contains(folded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_match_ignoring_case_and_normalisation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.txt");
        std::fs::write(&path, "Password1\r\nCAF\u{0065}\u{0301}!\n\n").unwrap();
        let mut list = Blocklist::default();
        list.load_file(&path).unwrap();
        assert_eq!(list.len(), 2);
        assert!(list.contains_folded(&fold("PASSWORD1")));
        assert!(list.contains_folded(&fold("caf\u{e9}!")));
        assert!(!list.contains_folded(&fold("password")));
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.txt");
        std::fs::write(&path, b"ok\n\xff\xfe\n").unwrap();
        let err = Blocklist::default().load_file(&path).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
    }
}
