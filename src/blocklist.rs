//! Blocklists: banned passwords, matched against the whole candidate,
//! ignoring case.
//!
//! Loaded once, with the policy; lookups are a hash probe. Entries are kept
//! in the matching form (NFKC + case-folded), the form the candidate is
//! compared in.

use std::collections::HashSet;
use std::path::Path;

/// Largest blocklist file read (256 MiB): a policy pointing at `/dev/zero`
/// or a runaway file fails clearly instead of exhausting memory.
const MAX_BLOCKLIST_BYTES: u64 = 256 << 20;

/// The set of banned passwords of a policy.
#[derive(Debug, Default)]
pub(crate) struct Blocklist {
    entries: HashSet<String>,
    builtin: bool,
}

/// The form both entries and candidates are compared in: the matching form
/// (NFKC, full case folding, hidden characters removed; see
/// `normalise::matching_form`).
pub(crate) fn fold(s: &str) -> String {
    crate::normalise::matching_form(s).to_string()
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
        use std::io::Read as _;
        let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
        let meta = file.metadata().map_err(|e| e.to_string())?;
        if !meta.is_file() {
            return Err("not a regular file".into());
        }
        let mut bytes = Vec::new();
        file.take(MAX_BLOCKLIST_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| e.to_string())?;
        if bytes.len() as u64 > MAX_BLOCKLIST_BYTES {
            return Err(format!("larger than {} MiB", MAX_BLOCKLIST_BYTES >> 20));
        }
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
    fn devices_and_folders_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = Blocklist::default().load_file(dir.path()).unwrap_err();
        assert!(err.contains("not a regular file"), "{err}");
        let err = Blocklist::default()
            .load_file(Path::new("/dev/zero"))
            .unwrap_err();
        assert!(err.contains("not a regular file"), "{err}");
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
