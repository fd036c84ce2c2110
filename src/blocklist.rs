//! Blocklists: banned passwords, matched against the whole candidate,
//! ignoring case.
//!
//! A plain-text list is loaded once, with the policy, and looked up with a
//! hash probe; it is size-limited, since it is reread by every process. A
//! list of any size can instead be built into a filter file (`pwsentry
//! blocklist build`): only its header is read at load time and each lookup
//! costs O(1) reads (see [`crate::breach`]). Entries are kept in the
//! matching form (NFKC + case-folded), the form the candidate is compared in.

use crate::breach::{Filter, FilterError, FilterKind};
use std::collections::HashSet;
use std::path::Path;

/// Largest plain-text blocklist read (4 MiB, about 400,000 passwords;
/// loading it costs every process about a quarter of a second). Larger
/// lists are refused with a hint to build a filter, which costs nothing at
/// start-up whatever its size.
pub const MAX_PLAIN_BLOCKLIST_BYTES: u64 = 4 << 20;

/// The set of banned passwords of a policy.
#[derive(Debug, Default)]
pub(crate) struct Blocklist {
    entries: HashSet<String>,
    filters: Vec<Filter>,
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

    /// Adds a blocklist file: a filter built by `pwsentry blocklist build`
    /// (recognised by its magic bytes), or a plain list of which every
    /// non-empty line is an entry (`\r\n` line ends accepted).
    pub(crate) fn load_file(&mut self, path: &Path) -> Result<(), String> {
        use std::io::Read as _;
        // A regular file, not writable by everyone, opened without blocking.
        let file = crate::trusted_file::open(path, crate::trusted_file::FileRole::Config)
            .map_err(|e| e.to_string())?;
        let meta = file.metadata().map_err(|e| e.to_string())?;
        let mut bytes = Vec::new();
        (&file)
            .take(8)
            .read_to_end(&mut bytes)
            .map_err(|e| e.to_string())?;
        if crate::breach::is_filter_magic(&bytes) {
            let filter =
                Filter::open_kind(path, FilterKind::Blocklist).map_err(|e| e.to_string())?;
            self.filters.push(filter);
            return Ok(());
        }
        if meta.len() > MAX_PLAIN_BLOCKLIST_BYTES {
            return Err(format!(
                "a plain-text blocklist must be at most {} MiB, this one is {} MiB; build a filter with `pwsentry blocklist build {} -o LIST.pwsf` and list that instead (O(1) per check, nothing loaded at start-up)",
                MAX_PLAIN_BLOCKLIST_BYTES >> 20,
                meta.len().div_ceil(1 << 20),
                path.display()
            ));
        }
        (&file)
            .take(MAX_PLAIN_BLOCKLIST_BYTES + 1 - bytes.len() as u64)
            .read_to_end(&mut bytes)
            .map_err(|e| e.to_string())?;
        if bytes.len() as u64 > MAX_PLAIN_BLOCKLIST_BYTES {
            return Err(format!(
                "larger than {} MiB; build a filter with `pwsentry blocklist build`",
                MAX_PLAIN_BLOCKLIST_BYTES >> 20
            ));
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

    /// `true` when `folded` (see [`fold`]) is an entry of a blocklist file
    /// or (probably) of a blocklist filter.
    ///
    /// # Errors
    /// A filter file could not be read.
    pub(crate) fn contains_folded(&self, folded: &str) -> Result<bool, FilterError> {
        if self.entries.contains(folded) {
            return Ok(true);
        }
        for filter in &self.filters {
            if filter.contains(folded)? {
                return Ok(true);
            }
        }
        Ok(false)
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
        assert!(list.contains_folded(&fold("PASSWORD1")).unwrap());
        assert!(list.contains_folded(&fold("caf\u{e9}!")).unwrap());
        assert!(!list.contains_folded(&fold("password")).unwrap());
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
