//! Where the module's policy and history are, and opening them with the
//! library's trusted-file checks. Only the module's options and the policy
//! file decide: never the environment (`$PWSENTRY_*`, XDG), never the
//! current directory.
//!
//! The module runs as root inside other programs (the setuid `passwd`), so
//! it holds both files to a stricter rule than the library's own checks
//! ([`only_root_can_change`]): no one but root (or the user the module runs
//! as) may be able to change them, or any folder on the way to them.

use crate::options::Options;
use pwsentry::store::{OpenOptions, SqliteStore};
use pwsentry::{Checker, Policy};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The policy used when `policy=` is not given and this file exists.
pub const DEFAULT_POLICY: &str = "/etc/pwsentry/policy.toml";

/// The history used when neither `db=` nor the policy's `[store] path`
/// names one: the same file `pwsentry` uses when run as root.
pub const DEFAULT_DB: &str = "/var/lib/pwsentry/history.db";

/// The policy, as a checker, and where its history is.
pub struct Config {
    /// Built once per PAM call from the policy.
    pub checker: Checker,
    /// The SQLite history.
    pub db: PathBuf,
}

/// Reads the policy and decides on the history file.
///
/// # Errors
/// A message for syslog: the policy cannot be read, is invalid or not
/// trusted (writable by others), or the history is not an absolute SQLite
/// path (a PostgreSQL `[store] url` needs `db=`).
pub fn load(options: &Options) -> Result<Config, String> {
    let me = pwsentry::trusted_file::effective_uid();
    let from_file = |path: &Path| {
        only_root_can_change(path, me)?;
        Policy::from_file(path).map_err(|e| e.to_string())
    };
    let policy = match &options.policy {
        Some(path) => from_file(path)?,
        None => match std::fs::symlink_metadata(DEFAULT_POLICY) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Policy::default(),
            _ => from_file(Path::new(DEFAULT_POLICY))?,
        },
    };
    let db = match (&options.db, &policy.store().path, &policy.store().url) {
        (Some(db), _, _) => db.clone(),
        (None, Some(path), _) => path.clone(),
        (None, None, Some(_)) => {
            return Err(format!(
                "{}: [store] url names a PostgreSQL store, which pam_pwsentry does not open; give the module db=/path/to/history.db",
                policy_name(&policy)
            ));
        }
        (None, None, None) => PathBuf::from(DEFAULT_DB),
    };
    if !db.is_absolute() {
        return Err(format!(
            "the history {} is not an absolute path",
            db.display()
        ));
    }
    only_root_can_change(&db, me)?;
    Ok(Config {
        checker: Checker::new(policy),
        db,
    })
}

/// Refuses `path` (the policy or the history) unless only root or `me`
/// (the user the module runs as) can change what it names: the file, if
/// it exists, and every existing folder from `/` down to it, both as
/// written and with symbolic links resolved, must be owned by root or `me`
/// and not writable by group or others (a sticky folder such as `/tmp` is
/// allowed: others cannot rename or remove what root owns in it).
///
/// The library checks a policy only for being writable by everyone and a
/// history's folder only for everyone's write access or another owner: a
/// policy owned by the user running `passwd` would let that user write the
/// rules (and the `[store] path`, where root then creates files), and a
/// group-writable folder would let the group delete the history.
///
/// # Errors
/// A message for syslog naming the file or folder and the fix.
pub fn only_root_can_change(path: &Path, me: u32) -> Result<(), String> {
    let check = |p: &Path, meta: &std::fs::Metadata| -> Result<(), String> {
        // "/etc/p.toml: /etc is …", or just "/etc/p.toml is …".
        let at = if p == path {
            String::new()
        } else {
            format!("{}: ", path.display())
        };
        let owner = meta.uid();
        if owner != 0 && owner != me {
            return Err(format!(
                "{at}{} belongs to user id {owner}, who could change it; pam_pwsentry trusts only root's files: chown root {}",
                p.display(),
                p.display()
            ));
        }
        let mode = meta.mode() & 0o7777;
        let sticky_folder = meta.is_dir() && mode & 0o1000 != 0;
        if !meta.file_type().is_symlink() && mode & 0o022 != 0 && !sticky_folder {
            return Err(format!(
                "{at}{} is writable by group or others (mode {mode:04o}), who could change or replace it; fix: chmod go-w {}",
                p.display(),
                p.display()
            ));
        }
        Ok(())
    };
    // As written: a link on the way could be swapped by its folder's owner.
    let mut existing = None;
    for p in path.ancestors() {
        match std::fs::symlink_metadata(p) {
            Ok(meta) => {
                check(p, &meta)?;
                existing.get_or_insert(p);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{}: {}: {e}", path.display(), p.display())),
        }
    }
    // And where the links lead.
    if let Some(p) = existing {
        let real = std::fs::canonicalize(p).map_err(|e| format!("{}: {e}", path.display()))?;
        for p in real.ancestors() {
            let meta = std::fs::metadata(p)
                .map_err(|e| format!("{}: {}: {e}", path.display(), p.display()))?;
            check(p, &meta)?;
        }
    }
    Ok(())
}

fn policy_name(policy: &Policy) -> String {
    policy.source().map_or_else(
        || "the built-in policy".to_owned(),
        |p| p.display().to_string(),
    )
}

impl Config {
    /// Opens the history for a change: created (mode 0600, folders 0700)
    /// if missing, refused if others could have written it.
    ///
    /// # Errors
    /// The library's message, naming the file.
    pub fn open_for_change(&self) -> Result<SqliteStore, String> {
        SqliteStore::open_with(&self.db, &self.open_options().create(true))
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{}: vanished while it was opened", self.db.display()))
    }

    /// Opens the history to read a status; `None` when it does not exist
    /// yet (nothing has been recorded).
    ///
    /// # Errors
    /// The library's message, naming the file.
    pub fn open_for_status(&self) -> Result<Option<SqliteStore>, String> {
        SqliteStore::open_with(&self.db, &self.open_options().read_only(true))
            .map_err(|e| e.to_string())
    }

    fn open_options(&self) -> OpenOptions {
        OpenOptions::new().accounts(self.checker.policy().accounts().clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    fn options(policy: &Path, db: Option<&Path>) -> Options {
        Options {
            policy: Some(policy.to_owned()),
            db: db.map(Path::to_owned),
            ..Options::default()
        }
    }

    #[test]
    fn db_option_wins_over_the_policy_store() {
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("policy.toml");
        std::fs::write(&policy, "[store]\npath = \"from-policy.db\"\n").unwrap();
        let explicit = dir.path().join("explicit.db");
        let c = load(&options(&policy, Some(&explicit))).unwrap();
        assert_eq!(c.db, explicit);
        // Relative [store] paths are the policy folder's, never the cwd's.
        let c = load(&options(&policy, None)).unwrap();
        assert_eq!(c.db, dir.path().join("from-policy.db"));
    }

    #[test]
    fn a_postgres_store_needs_db() {
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("policy.toml");
        std::fs::write(&policy, "[store]\nurl = \"postgres://h/pwsentry\"\n").unwrap();
        let e = load(&options(&policy, None)).err().unwrap();
        assert!(e.contains("db=/path/to/history.db"), "{e}");
    }

    #[test]
    fn untrusted_policy_and_db_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("policy.toml");
        std::fs::write(&policy, "[length]\nmin = 12\n").unwrap();
        std::fs::set_permissions(&policy, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = load(&options(&policy, None)).err().unwrap();
        assert!(e.contains("writable by group or others"), "{e}");

        std::fs::set_permissions(&policy, std::fs::Permissions::from_mode(0o644)).unwrap();
        let db = dir.path().join("history.db");
        let c = load(&options(&policy, Some(&db))).unwrap();
        assert_eq!(c.checker.policy().length().min, 12);
        c.open_for_change().unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = c.open_for_change().err().unwrap();
        assert!(e.contains("writable by group or others"), "{e}");
        let e = c.open_for_status().err().unwrap();
        assert!(e.contains("writable by group or others"), "{e}");
    }

    #[test]
    fn only_root_or_the_caller_may_change_the_files_or_their_folders() {
        let me = pwsentry::trusted_file::effective_uid();
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path, m: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
        };
        let folder = dir.path().join("etc");
        std::fs::create_dir(&folder).unwrap();
        mode(&folder, 0o755);
        let policy = folder.join("policy.toml");
        std::fs::write(&policy, "").unwrap();
        mode(&policy, 0o644);
        only_root_can_change(&policy, me).unwrap();
        // A history not created yet, in folders not created yet.
        only_root_can_change(&folder.join("a/b/history.db"), me).unwrap();

        // The library accepts a group-writable policy; the module does not.
        mode(&policy, 0o664);
        let e = only_root_can_change(&policy, me).unwrap_err();
        assert!(
            e.contains("writable by group or others") && e.contains("0664"),
            "{e}"
        );
        assert!(load(&options(&policy, None)).is_err());
        mode(&policy, 0o644);

        // A folder on the way that a group could write: the file in it
        // could be removed or replaced (a history deleted, reuse allowed).
        mode(&folder, 0o775);
        for p in [
            policy.clone(),
            folder.join("history.db"),
            folder.join("a/b/history.db"),
        ] {
            let e = only_root_can_change(&p, me).unwrap_err();
            assert!(
                e.contains(&format!("{} is writable by group", folder.display())),
                "{e}"
            );
        }
        let e = load(&options(
            &dir.path().join("p.toml"),
            Some(&folder.join("history.db")),
        ));
        assert!(e.is_err());

        // Sticky, as /tmp: others cannot rename what root owns in it.
        mode(&folder, 0o1777);
        only_root_can_change(&policy, me).unwrap();
        mode(&folder, 0o755);

        // A link to a folder others can write is judged where it leads.
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::write(open.join("policy.toml"), "").unwrap();
        mode(&open.join("policy.toml"), 0o644);
        mode(&open, 0o777);
        let link = folder.join("linked");
        std::os::unix::fs::symlink(&open, &link).unwrap();
        let e = only_root_can_change(&link.join("policy.toml"), me).unwrap_err();
        assert!(e.contains("writable by group or others (mode 0777)"), "{e}");
    }

    #[test]
    fn a_missing_history_is_no_status_and_is_not_created_by_reading() {
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("policy.toml");
        std::fs::write(&policy, "").unwrap();
        let db = dir.path().join("sub/history.db");
        let c = load(&options(&policy, Some(&db))).unwrap();
        assert!(c.open_for_status().unwrap().is_none());
        assert!(!db.exists());
    }
}
