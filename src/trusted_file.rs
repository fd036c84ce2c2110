//! Checks on the files pwsentry trusts: the policy and its blocklists, the
//! pepper, and the history database.
//!
//! Each is opened once, without blocking (a FIFO or a device in place of a
//! file must not hang the caller), and judged by the metadata of the open
//! descriptor, not of the path, so the file checked is the file read:
//!
//! | role | must be | refused when |
//! |------|---------|--------------|
//! | [`FileRole::Config`] (policy, blocklist, filter) | a regular file | writable by others, owned by another user than the caller or root |
//! | [`FileRole::Secret`] (pepper) | a regular file | writable by group or others, readable by others, owned by another user than the caller or root |
//! | [`FileRole::Database`] | a regular file, not a symbolic link | writable by group or others, owned by another user than the caller or root, hard-linked |
//!
//! A database's folder must not be writable by others or owned by another
//! user ([`check_folder`]). Every refusal says how to fix it. This module reads no file content
//! and never prints.

use std::fs::File;
use std::path::Path;

/// What a file is used for, which decides how it is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileRole {
    /// A policy file, a blocklist or a filter: anyone may read it and a
    /// group may share it, but a file anyone may write, or another user
    /// owns, could switch the rules off.
    Config,
    /// A secret (the pepper): readable by its owner and group only,
    /// writable by its owner only, owned by the caller or root.
    Secret,
    /// The history database: writable by its owner only, owned by the
    /// caller or root, and never reached through a symbolic link.
    Database,
}

/// Why a file is not trusted. The message names the problem and the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileProblem {
    /// The file could not be opened or examined.
    #[error("{}", io_message(.0))]
    Io(#[source] std::io::Error),
    /// Not a regular file (a directory, FIFO, device or socket).
    #[error("is {0}, not a regular file")]
    NotRegular(&'static str),
    /// A symbolic link where one is not allowed.
    #[error(
        "is a symbolic link; the history database is opened only directly: give the real path ({0})"
    )]
    Symlink(String),
    /// Writable by users other than its owner.
    #[error(
        "is writable by {who} (mode {mode:04o}), so another user could change it; fix: chmod {fix} {path}"
    )]
    Writable {
        /// "group or others" / "others".
        who: &'static str,
        /// The permission bits.
        mode: u32,
        /// The suggested mode.
        fix: &'static str,
        /// The file, for the fix.
        path: String,
    },
    /// A secret readable by everyone.
    #[error(
        "is readable by others (mode {mode:04o}) but holds a secret; fix: chmod 600 {path} (or 640 to share it with a group)"
    )]
    Readable {
        /// The permission bits.
        mode: u32,
        /// The file, for the fix.
        path: String,
    },
    /// The folder of a database is open to other users, who could
    /// replace the file or plant a `-wal` link beside it.
    #[error(
        "is in the folder {folder}, which {why}, so another user could replace it or plant files beside it; fix: keep the database in a folder only you (or root) can write, e.g. chmod o-w {folder}"
    )]
    Folder {
        /// The folder.
        folder: String,
        /// What is wrong with it.
        why: String,
    },
    /// A database with more than one name (hard links).
    #[error(
        "has {0} hard links (other names elsewhere); fix: give pwsentry its own copy (cp, then use the copy)"
    )]
    HardLinks(u64),
    /// Owned by another user who is not root.
    #[error(
        "is owned by user id {owner}, neither you (user id {me}) nor root, so that user could change it; fix: use a file of your own, or chown it"
    )]
    Owner {
        /// The file's owner.
        owner: u32,
        /// The caller's effective user id.
        me: u32,
    },
}

fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}

impl FileProblem {
    /// `true` when the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, FileProblem::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

/// Opens `path` for reading and checks it for `role`.
///
/// # Errors
/// [`FileProblem`] if it cannot be opened or is not trusted for `role`.
pub fn open(path: &Path, role: FileRole) -> Result<File, FileProblem> {
    if role == FileRole::Database {
        // `O_NOFOLLOW` refuses a link in the last component; this names it.
        if let Ok(m) = std::fs::symlink_metadata(path)
            && m.file_type().is_symlink()
        {
            let target = std::fs::read_link(path)
                .map(|t| format!("it points to {}", t.display()))
                .unwrap_or_else(|_| "unreadable link".to_owned());
            return Err(FileProblem::Symlink(target));
        }
    }
    let file = open_nonblocking(path, role == FileRole::Database).map_err(FileProblem::Io)?;
    let meta = file.metadata().map_err(FileProblem::Io)?;
    check(path, &meta, role)?;
    Ok(file)
}

/// Checks the folder a database is (to be) created in: it must not be
/// writable by others (not even with the sticky bit, as in `/tmp`, where
/// anyone may create `history.db-wal` first), nor owned by another user
/// than the caller or root. A folder that does not exist yet passes (it
/// is created private).
///
/// # Errors
/// [`FileProblem::Folder`] naming the folder.
pub fn check_folder(path: &Path) -> Result<(), FileProblem> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let folder = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let Ok(meta) = std::fs::metadata(folder) else {
            return Ok(());
        };
        let me = effective_uid();
        let why = if meta.mode() & 0o002 != 0 {
            Some(format!(
                "is writable by everyone (mode {:04o})",
                meta.mode() & 0o7777
            ))
        } else if meta.uid() != me && meta.uid() != 0 {
            Some(format!("belongs to user id {}", meta.uid()))
        } else {
            None
        };
        if let Some(why) = why {
            return Err(FileProblem::Folder {
                folder: folder.display().to_string(),
                why,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Checks the metadata of a file already open (see [`open`]).
///
/// # Errors
/// [`FileProblem`] when the file is not trusted for `role`.
pub fn check(path: &Path, meta: &std::fs::Metadata, role: FileRole) -> Result<(), FileProblem> {
    let ft = meta.file_type();
    if !ft.is_file() {
        return Err(FileProblem::NotRegular(kind_of(&ft)));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mode = meta.mode() & 0o7777;
        let shown = || path.display().to_string();
        match role {
            FileRole::Config if mode & 0o002 != 0 => {
                return Err(FileProblem::Writable {
                    who: "others",
                    mode,
                    fix: "o-w",
                    path: shown(),
                });
            }
            FileRole::Config => {
                // Configuration decides what is accepted: only root or the
                // caller may own it (a group may share it), or the owner
                // could change the rules of whoever reads it.
                let me = effective_uid();
                if meta.uid() != me && meta.uid() != 0 {
                    return Err(FileProblem::Owner {
                        owner: meta.uid(),
                        me,
                    });
                }
            }
            FileRole::Secret | FileRole::Database => {
                if mode & 0o022 != 0 {
                    return Err(FileProblem::Writable {
                        who: "group or others",
                        mode,
                        fix: "600",
                        path: shown(),
                    });
                }
                if role == FileRole::Secret && mode & 0o004 != 0 {
                    return Err(FileProblem::Readable {
                        mode,
                        path: shown(),
                    });
                }
                let me = effective_uid();
                if meta.uid() != me && meta.uid() != 0 {
                    return Err(FileProblem::Owner {
                        owner: meta.uid(),
                        me,
                    });
                }
                // A second name for the file, maybe in a folder someone
                // else controls, which could be swapped or read from there.
                if role == FileRole::Database && meta.nlink() > 1 {
                    return Err(FileProblem::HardLinks(meta.nlink()));
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (path, role);
    Ok(())
}

/// The caller's effective user id (the owner a file must have, or root).
#[cfg(unix)]
pub fn effective_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

fn kind_of(ft: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_char_device() || ft.is_block_device() {
            return "a device";
        }
    }
    if ft.is_dir() {
        "a directory"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else {
        "not a file"
    }
}

#[cfg(unix)]
fn open_nonblocking(path: &Path, no_follow: bool) -> std::io::Result<File> {
    use rustix::fs::OFlags;
    use std::os::unix::fs::OpenOptionsExt;
    let mut flags = OFlags::NONBLOCK | OFlags::NOCTTY;
    if no_follow {
        flags |= OFlags::NOFOLLOW;
    }
    // The flag bits are small positive constants.
    let bits = i32::try_from(flags.bits()).unwrap_or(0);
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(bits)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path, _no_follow: bool) -> std::io::Result<File> {
    File::open(path)
}

/// Reads at most `limit` bytes of the trusted file `path` into `buf` (give
/// it room for `limit + 1` so it never reallocates and leaves copies of a
/// secret behind). `Ok(false)` when the file is longer than `limit`.
///
/// # Errors
/// [`FileProblem`] as for [`open`], or a read error.
pub fn read_at_most(
    path: &Path,
    role: FileRole,
    limit: usize,
    buf: &mut Vec<u8>,
) -> Result<bool, FileProblem> {
    use std::io::Read;
    let file = open(path, role)?;
    file.take(limit as u64 + 1)
        .read_to_end(buf)
        .map_err(FileProblem::Io)?;
    Ok(buf.len() <= limit)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    fn file(dir: &Path, name: &str, mode: u32) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, b"0123456789abcdef0123").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn modes_per_role() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert!(open(&file(d, "a", 0o644), FileRole::Config).is_ok());
        assert!(open(&file(d, "b", 0o664), FileRole::Config).is_ok());
        let e = open(&file(d, "c", 0o666), FileRole::Config).unwrap_err();
        assert!(e.to_string().contains("chmod o-w"), "{e}");

        assert!(open(&file(d, "d", 0o600), FileRole::Secret).is_ok());
        assert!(open(&file(d, "e", 0o640), FileRole::Secret).is_ok());
        let e = open(&file(d, "f", 0o644), FileRole::Secret).unwrap_err();
        assert!(
            e.to_string().contains("readable by others") && e.to_string().contains("chmod 600"),
            "{e}"
        );
        let e = open(&file(d, "g", 0o620), FileRole::Secret).unwrap_err();
        assert!(e.to_string().contains("writable by group or others"), "{e}");

        assert!(open(&file(d, "h", 0o600), FileRole::Database).is_ok());
        assert!(open(&file(d, "i", 0o644), FileRole::Database).is_ok());
        let e = open(&file(d, "j", 0o666), FileRole::Database).unwrap_err();
        let shown = d.join("j").display().to_string();
        assert!(e.to_string().contains(&format!("chmod 600 {shown}")), "{e}");
    }

    #[test]
    fn a_fifo_is_refused_without_hanging() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        for role in [FileRole::Config, FileRole::Secret, FileRole::Database] {
            let e = open(&fifo, role).unwrap_err();
            assert!(e.to_string().contains("FIFO"), "{e}");
        }
    }

    #[test]
    fn directories_and_devices_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = open(dir.path(), FileRole::Config).unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
        let e = open(Path::new("/dev/zero"), FileRole::Secret).unwrap_err();
        assert!(e.to_string().contains("a device"), "{e}");
    }

    #[test]
    fn a_database_symlink_is_refused_other_links_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = file(dir.path(), "real", 0o600);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = open(&link, FileRole::Database).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(open(&link, FileRole::Config).is_ok());
    }

    #[test]
    fn files_of_another_user_are_refused_for_every_role() {
        if effective_uid() != 0 {
            return; // Handing a file to another user needs root; CI runs as root.
        }
        let dir = tempfile::tempdir().unwrap();
        let p = file(dir.path(), "theirs", 0o600);
        std::os::unix::fs::chown(&p, Some(65534), None).unwrap();
        for role in [FileRole::Config, FileRole::Secret, FileRole::Database] {
            let e = open(&p, role).unwrap_err();
            assert!(e.to_string().contains("owned by user id 65534"), "{e}");
        }
        // A group may share a policy; root's own files are always fine.
        std::os::unix::fs::chown(&p, Some(0), Some(65534)).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o664)).unwrap();
        assert!(open(&p, FileRole::Config).is_ok());
    }

    #[test]
    fn a_database_folder_others_may_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.db");
        assert!(check_folder(&db).is_ok());
        assert!(check_folder(&dir.path().join("not/yet/h.db")).is_ok());
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        let e = check_folder(&db).unwrap_err().to_string();
        assert!(e.contains("writable by everyone (mode 1777)"), "{e}");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o775)).unwrap();
        assert!(check_folder(&db).is_ok(), "a group may share the folder");
    }

    #[test]
    fn a_hard_linked_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = file(dir.path(), "db", 0o600);
        std::fs::hard_link(&p, dir.path().join("other-name")).unwrap();
        let e = open(&p, FileRole::Database).unwrap_err();
        assert!(e.to_string().contains("2 hard links"), "{e}");
        assert!(open(&p, FileRole::Config).is_ok());
    }

    #[test]
    fn missing_is_reported_as_such() {
        let e = open(Path::new("/nonexistent/x"), FileRole::Config).unwrap_err();
        assert!(e.is_not_found());
        assert_eq!(e.to_string(), "no such file");
    }
}
