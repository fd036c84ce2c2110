//! Where the module's policy and history are, and opening them with the
//! library's trusted-file checks. Only the module's options and the policy
//! file decide: never the environment (`$PWSENTRY_*`, XDG), never the
//! current directory.

use crate::options::Options;
use pwsentry::store::{OpenOptions, SqliteStore};
use pwsentry::{Checker, Policy};
use std::path::PathBuf;

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
    let policy = match &options.policy {
        Some(path) => Policy::from_file(path).map_err(|e| e.to_string())?,
        None => match std::fs::symlink_metadata(DEFAULT_POLICY) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Policy::default(),
            _ => Policy::from_file(DEFAULT_POLICY).map_err(|e| e.to_string())?,
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
    Ok(Config {
        checker: Checker::new(policy),
        db,
    })
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
        assert!(e.contains("writable by others"), "{e}");

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
