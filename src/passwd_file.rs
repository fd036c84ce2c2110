//! Dovecot's passwd-file as a credential target: reads an account's
//! current password field and replaces it with a new hash.
//!
//! A passwd-file has one account per line,
//! `user:password:uid:gid:gecos:home:shell:extra_fields`, with `#` comments
//! and blank lines. A change rewrites only the password field of the
//! account's line: every other line, field, comment and line ending stays
//! byte for byte. The new file is written beside the old one and renamed
//! over it (after `fsync`), under an exclusive lock on `FILE.lock`, with the
//! old file's owner, group and mode, so Dovecot (which re-reads the file when
//! it changes) sees either the old file or the new one, never half of one,
//! and two writers cannot lose each other's change.
//!
//! This module must not choose or compute hashes (the caller passes the
//! field, e.g. from [`mailhash`](crate::mailhash)), print, or follow a
//! symbolic link: the file named must be a regular file.

use crate::account::{AccountId, AccountsPolicy};
use crate::error::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Longest line read from a passwd-file (Dovecot's own limit is far
/// higher, but no real line comes near this).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Where the hashes of a Dovecot passwd-file live.
#[derive(Debug, Clone)]
pub struct PasswdFile {
    path: PathBuf,
    accounts: AccountsPolicy,
}

/// What [`PasswdFile::set_password`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswdUpdate {
    /// The account's line got the new password field.
    Replaced,
    /// The account had no line; one was appended.
    Created,
}

impl PasswdFile {
    /// A passwd-file at `path`. Nothing is read until it is used.
    ///
    /// A line belongs to an account when its user field, made canonical by
    /// the default [`AccountsPolicy`] (see [`PasswdFile::accounts`]), is the
    /// account id: `Alice@Example.COM` in the file is `alice@example.com`.
    pub fn new(path: impl Into<PathBuf>) -> PasswdFile {
        PasswdFile {
            path: path.into(),
            accounts: AccountsPolicy::default(),
        }
    }

    /// Matches user fields by these rules (the policy's `[accounts]`).
    pub fn accounts(mut self, rules: AccountsPolicy) -> PasswdFile {
        self.accounts = rules;
        self
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The password field of `account`'s line (e.g.
    /// `{ARGON2ID}$argon2id$…`), or `None` if the file has no line for it.
    ///
    /// # Errors
    /// [`Error::PasswdFile`] if the file is not a regular file, cannot be
    /// read, has a line longer than [`MAX_LINE_BYTES`] or two lines for the
    /// account.
    pub fn password_field(&self, account: &str) -> Result<Option<String>> {
        let file = self.open_regular()?;
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        let mut found = None;
        let mut number = 0usize;
        while self.read_line(&mut reader, &mut line, number + 1)? {
            number += 1;
            if let Some(fields) = Fields::parse(&line)
                && fields.user_matches(&line, account, &self.accounts)
            {
                if found.is_some() {
                    return Err(self.error(format!(
                        "more than one line for account {account} (line {number})"
                    )));
                }
                let pw = std::str::from_utf8(&line[fields.password.clone()]).map_err(|_| {
                    self.error(format!("line {number}: the password field is not UTF-8"))
                })?;
                found = Some(pw.to_owned());
            }
        }
        Ok(found)
    }

    /// Replaces the password field of `account`'s line with `field`, or,
    /// with `create`, appends `account:field::::::` when it has none.
    ///
    /// # Errors
    /// [`Error::PasswdFile`] if the account has no line (and not `create`)
    /// or more than one, `field` or `account` would break the line format,
    /// the file is not a regular file, or it cannot be read or replaced; the
    /// file is then unchanged.
    pub fn set_password(&self, account: &str, field: &str, create: bool) -> Result<PasswdUpdate> {
        if field.is_empty() || field.contains([':', '\n', '\r', '\0']) {
            return Err(self.error(
                "the new password field is empty or contains ':', a line break or NUL".into(),
            ));
        }
        if account.is_empty()
            || account.contains([':', '\n', '\r', '#', '\0'])
            || account.starts_with(char::is_whitespace)
        {
            return Err(self.error("the account cannot be written to a passwd-file line".into()));
        }
        let _lock = self.lock()?;
        let source = self.open_regular()?;
        let meta = source.metadata().map_err(|e| self.io(&self.path, e))?;
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let temp = TempFile::create(dir, &self.path)?;
        let mut out = BufWriter::new(temp.file()?);
        let mut reader = BufReader::new(source);
        let mut line = Vec::new();
        let mut number = 0usize;
        let mut replaced = 0usize;
        let mut ends_with_newline = true;
        while self.read_line(&mut reader, &mut line, number + 1)? {
            number += 1;
            match Fields::parse(&line).filter(|f| f.user_matches(&line, account, &self.accounts)) {
                Some(fields) => {
                    replaced += 1;
                    if replaced > 1 {
                        return Err(self.error(format!(
                            "more than one line for account {account} (line {number})"
                        )));
                    }
                    out.write_all(&line[..fields.password.start])
                        .and_then(|()| out.write_all(field.as_bytes()))
                        .and_then(|()| out.write_all(&line[fields.password.end..]))
                        .map_err(|e| self.io(temp.path(), e))?;
                }
                None => out.write_all(&line).map_err(|e| self.io(temp.path(), e))?,
            }
            ends_with_newline = line.ends_with(b"\n");
        }
        let outcome = match (replaced, create) {
            (1, _) => PasswdUpdate::Replaced,
            (_, true) => {
                let sep: &[u8] = if ends_with_newline { b"" } else { b"\n" };
                out.write_all(sep)
                    .and_then(|()| writeln!(out, "{account}:{field}::::::"))
                    .map_err(|e| self.io(temp.path(), e))?;
                PasswdUpdate::Created
            }
            _ => {
                return Err(self.error(format!(
                    "no line for account {account} (use --create to add one)"
                )));
            }
        };
        let file = out
            .into_inner()
            .map_err(|e| self.io(temp.path(), e.into_error()))?;
        temp.commit(file, &meta, &self.path)?;
        Ok(outcome)
    }

    fn open_regular(&self) -> Result<File> {
        let meta = std::fs::symlink_metadata(&self.path).map_err(|e| self.io(&self.path, e))?;
        if !meta.file_type().is_file() {
            return Err(self
                .error("not a regular file (a symbolic link, FIFO or folder is refused)".into()));
        }
        let mut options = OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // O_NOFOLLOW | O_NONBLOCK: no link swapped in after the check,
            // and a FIFO swapped in cannot block the open.
            options.custom_flags(no_follow_no_block());
        }
        let file = options
            .open(&self.path)
            .map_err(|e| self.io(&self.path, e))?;
        let opened = file.metadata().map_err(|e| self.io(&self.path, e))?;
        if !opened.file_type().is_file() {
            return Err(self.error("not a regular file".into()));
        }
        Ok(file)
    }

    fn lock(&self) -> Result<File> {
        let mut name = self.path.clone().into_os_string();
        name.push(".lock");
        let path = PathBuf::from(name);
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600).custom_flags(no_follow_no_block());
        }
        let file = options.open(&path).map_err(|e| self.io(&path, e))?;
        file.lock().map_err(|e| self.io(&path, e))?;
        Ok(file)
    }

    /// Reads one line (with its line ending) into `line`; `false` at the end.
    fn read_line(
        &self,
        reader: &mut impl BufRead,
        line: &mut Vec<u8>,
        number: usize,
    ) -> Result<bool> {
        line.clear();
        let limit = u64::try_from(MAX_LINE_BYTES + 1).unwrap_or(u64::MAX);
        let n = reader
            .by_ref()
            .take(limit)
            .read_until(b'\n', line)
            .map_err(|e| self.io(&self.path, e))?;
        if line.len() > MAX_LINE_BYTES {
            return Err(self.error(format!(
                "line {number} is longer than {MAX_LINE_BYTES} bytes"
            )));
        }
        Ok(n > 0)
    }

    fn error(&self, message: String) -> Error {
        Error::PasswdFile {
            path: self.path.clone(),
            message,
        }
    }

    fn io(&self, path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// `O_NOFOLLOW | O_NONBLOCK` for [`OpenOptionsExt::custom_flags`](std::os::unix::fs::OpenOptionsExt::custom_flags).
#[cfg(unix)]
fn no_follow_no_block() -> i32 {
    use rustix::fs::OFlags;
    i32::try_from((OFlags::NOFOLLOW | OFlags::NONBLOCK).bits()).unwrap_or(0)
}

/// Byte ranges of one account line's fields.
struct Fields {
    user: std::ops::Range<usize>,
    password: std::ops::Range<usize>,
}

impl Fields {
    /// `None` for comments, blank lines and lines without a password field.
    fn parse(line: &[u8]) -> Option<Fields> {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        if body.is_empty() || body.starts_with(b"#") {
            return None;
        }
        let user_end = body.iter().position(|&b| b == b':')?;
        let rest = user_end + 1;
        let pw_end = body[rest..]
            .iter()
            .position(|&b| b == b':')
            .map_or(body.len(), |p| rest + p);
        Some(Fields {
            user: 0..user_end,
            password: rest..pw_end,
        })
    }

    /// The user field is `account` (a canonical id), exactly or once made
    /// canonical by `rules`. Two lines that both match are refused by the
    /// callers.
    fn user_matches(&self, line: &[u8], account: &str, rules: &AccountsPolicy) -> bool {
        let user = &line[self.user.clone()];
        user == account.as_bytes()
            || std::str::from_utf8(user)
                .ok()
                .and_then(|u| AccountId::parse(u, rules).ok())
                .is_some_and(|id| id.as_str() == account)
    }
}

/// A temporary file beside the target, removed unless committed.
struct TempFile {
    path: PathBuf,
    file: Option<File>,
}

impl TempFile {
    fn create(dir: &Path, target: &Path) -> Result<TempFile> {
        let base = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for _ in 0..16 {
            let suffix: u64 = rand::random();
            let path = dir.join(format!(".{base}.pwsentry-{suffix:016x}"));
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            match options.open(&path) {
                Ok(file) => {
                    return Ok(TempFile {
                        path,
                        file: Some(file),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::Io { path, source: e }),
            }
        }
        Err(Error::PasswdFile {
            path: target.to_owned(),
            message: "could not create a temporary file beside it".into(),
        })
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn file(&self) -> Result<File> {
        self.file
            .as_ref()
            .ok_or_else(|| Error::PasswdFile {
                path: self.path.clone(),
                message: "temporary file closed".into(),
            })?
            .try_clone()
            .map_err(|e| Error::Io {
                path: self.path.clone(),
                source: e,
            })
    }

    /// Gives the temporary file `meta`'s owner and mode, syncs it, renames
    /// it over `target` and syncs the folder.
    fn commit(mut self, file: File, meta: &std::fs::Metadata, target: &Path) -> Result<()> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::Io { path, source }
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            // Owner first: chown clears set-id bits, which the mode then restores.
            if let Err(e) = std::os::unix::fs::fchown(&file, Some(meta.uid()), Some(meta.gid())) {
                // Only root may give a file away; an unprivileged writer
                // that owns the original keeps owning the copy.
                let same_owner = std::fs::metadata(&self.path)
                    .map(|m| m.uid() == meta.uid() && m.gid() == meta.gid())
                    .unwrap_or(false);
                if !same_owner {
                    return Err(io(&self.path)(e));
                }
            }
        }
        file.set_permissions(meta.permissions())
            .map_err(io(&self.path))?;
        file.sync_all().map_err(io(&self.path))?;
        drop(file);
        self.file = None;
        std::fs::rename(&self.path, target).map_err(io(target))?;
        self.path = PathBuf::new();
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io(dir))?;
        }
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
