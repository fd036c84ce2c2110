//! Dovecot passwd-file as the credential target: every other byte kept,
//! atomic replacement with the owner and mode kept, refusals that leave the
//! file unchanged, and the real Dovecot authenticating the new password.
#![cfg(unix)]

#[path = "support/dovecot.rs"]
mod dovecot;

use pwsentry::Password;
use pwsentry::mailhash::{self, MailHashParams};
use pwsentry::passwd_file::{PasswdFile, PasswdUpdate};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

const FILE: &str = "# Dovecot users\r\n\
alice@example.com:{PLAIN}old::::::userdb_quota_rule=*:storage=1G\n\
\n\
bob@example.com:{SHA512-CRYPT}$6$abc$def:1000:1000::/home/bob::\n\
# carol is disabled\n\
#carol@example.com:{PLAIN}x::::::\n\
dave@example.com:{PLAIN}d";

fn file_in(dir: &Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("users");
    std::fs::write(&p, text).unwrap();
    p
}

fn leftovers(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "users" && n != "users.lock")
        .collect();
    names.sort();
    names
}

#[test]
fn replaces_only_the_password_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_in(dir.path(), FILE);
    let file = PasswdFile::new(&path);
    assert_eq!(
        file.set_password("alice@example.com", "{PLAIN}new", false)
            .unwrap(),
        PasswdUpdate::Replaced
    );
    let expected = FILE.replace(
        "alice@example.com:{PLAIN}old:",
        "alice@example.com:{PLAIN}new:",
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
    // A last line without a newline and without further fields.
    file.set_password("dave@example.com", "{PLAIN}e", false)
        .unwrap();
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .ends_with("\ndave@example.com:{PLAIN}e")
    );
    assert_eq!(
        file.password_field("bob@example.com").unwrap().as_deref(),
        Some("{SHA512-CRYPT}$6$abc$def")
    );
    assert_eq!(
        file.password_field("carol@example.com").unwrap(),
        None,
        "a commented-out line is no account"
    );
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
}

#[test]
fn matches_the_account_ignoring_case_like_dovecot() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_in(dir.path(), "Alice@Example.COM:{PLAIN}a\n");
    PasswdFile::new(&path)
        .set_password("alice@example.com", "{PLAIN}b", false)
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "Alice@Example.COM:{PLAIN}b\n"
    );
}

#[test]
fn refusals_leave_the_file_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let dup = "a@x.org:{PLAIN}1\nb@x.org:{PLAIN}2\nA@x.org:{PLAIN}3\n";
    for (text, account, field, create, says) in [
        (
            FILE,
            "nobody@example.com",
            "{PLAIN}n",
            false,
            "no line for account",
        ),
        (dup, "a@x.org", "{PLAIN}n", false, "more than one line"),
        (dup, "a@x.org", "{PLAIN}n", true, "more than one line"),
        (
            FILE,
            "alice@example.com",
            "{PLAIN}a:b",
            false,
            "contains ':'",
        ),
        (
            FILE,
            "alice@example.com",
            "{PLAIN}a\nroot::0:0",
            false,
            "line break",
        ),
        (FILE, "alice@example.com", "", false, "empty"),
        (
            FILE,
            "evil:x@example.com",
            "{PLAIN}n",
            true,
            "cannot be written",
        ),
        (
            FILE,
            "evil\n@example.com",
            "{PLAIN}n",
            true,
            "cannot be written",
        ),
        (
            FILE,
            "evil\0@example.com",
            "{PLAIN}n",
            true,
            "cannot be written",
        ),
        (FILE, "alice@example.com", "{PLAIN}a\0b", false, "NUL"),
    ] {
        let path = file_in(dir.path(), text);
        let err = PasswdFile::new(&path)
            .set_password(account, field, create)
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{account:?} {field:?}: {err}");
        assert!(
            !err.contains("{PLAIN}n"),
            "the error must not quote the new field: {err}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
    }
}

#[test]
fn create_appends_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_in(dir.path(), "a@x.org:{PLAIN}1");
    let file = PasswdFile::new(&path);
    assert_eq!(
        file.set_password("new@x.org", "{PLAIN}2", true).unwrap(),
        PasswdUpdate::Created
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "a@x.org:{PLAIN}1\nnew@x.org:{PLAIN}2::::::\n"
    );
}

#[test]
fn keeps_mode_and_owner() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_in(dir.path(), FILE);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let root = std::fs::metadata(&path).unwrap().uid() == 0;
    if root {
        // Give it to another owner, as /etc/dovecot/users often is (root:dovecot).
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
    }
    let before = std::fs::metadata(&path).unwrap();
    PasswdFile::new(&path)
        .set_password("alice@example.com", "{PLAIN}n", false)
        .unwrap();
    let after = std::fs::metadata(&path).unwrap();
    assert_ne!(
        before.ino(),
        after.ino(),
        "replaced by rename, not rewritten in place"
    );
    assert_eq!(after.mode() & 0o7777, 0o640);
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
}

#[test]
fn refuses_links_fifos_and_folders_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let real = file_in(dir.path(), FILE);
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let fifo = dir.path().join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for path in [&link, &fifo, &dir.path().to_path_buf()] {
        let file = PasswdFile::new(path);
        let err = file
            .set_password("alice@example.com", "{PLAIN}n", false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not a regular file"),
            "{}: {err}",
            path.display()
        );
        assert!(file.password_field("alice@example.com").is_err());
    }
    assert_eq!(std::fs::read_to_string(&real).unwrap(), FILE);
}

#[test]
fn refuses_an_overlong_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "a@x.org:{}\n",
        "x".repeat(pwsentry::passwd_file::MAX_LINE_BYTES + 10)
    );
    let path = file_in(dir.path(), &text);
    let err = PasswdFile::new(&path)
        .set_password("a@x.org", "{PLAIN}n", false)
        .unwrap_err();
    assert!(err.to_string().contains("line 1 is longer"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn concurrent_writers_lose_no_change() {
    let dir = tempfile::tempdir().unwrap();
    let accounts: Vec<String> = (0..16).map(|i| format!("user{i}@example.com")).collect();
    let text: String = accounts
        .iter()
        .map(|a| format!("{a}:{{PLAIN}}old::::::\n"))
        .collect();
    let path = file_in(dir.path(), &text);
    std::thread::scope(|s| {
        for a in &accounts {
            let path = &path;
            s.spawn(move || {
                for round in 0..5 {
                    PasswdFile::new(path)
                        .set_password(a, &format!("{{PLAIN}}{a}-{round}"), false)
                        .unwrap();
                }
            });
        }
    });
    let expected: String = accounts
        .iter()
        .map(|a| format!("{a}:{{PLAIN}}{a}-4::::::\n"))
        .collect();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
}

#[test]
fn dovecot_authenticates_the_new_password_and_not_the_old() {
    let old = Password::from("Old#Orbit#Canyon42");
    let new = Password::from("New#Velvet#Harbor77");
    let params = MailHashParams::DOVECOT_DEFAULT;
    let old_field = mailhash::dovecot_argon2id(&old, &params).unwrap();
    let dovecot = dovecot::Dovecot::start(&format!(
        "# test users\nalice@example.com:{old_field}::::::\nbob@example.com:{{PLAIN}}bobs-pass::::::\n"
    ));
    assert!(dovecot.authenticates("alice@example.com", old.expose()));
    assert!(!dovecot.authenticates("alice@example.com", new.expose()));

    let file = PasswdFile::new(dovecot.users());
    let current = file.password_field("alice@example.com").unwrap().unwrap();
    assert!(mailhash::verify(&current, &old).unwrap());
    let new_field = mailhash::dovecot_argon2id(&new, &params).unwrap();
    file.set_password("alice@example.com", &new_field, false)
        .unwrap();

    // Dovecot re-reads the file when it changes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !dovecot.authenticates("alice@example.com", new.expose()) {
        assert!(
            std::time::Instant::now() < deadline,
            "Dovecot never accepted the new password"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(!dovecot.authenticates("alice@example.com", old.expose()));
    assert!(
        dovecot.authenticates("bob@example.com", "bobs-pass"),
        "other accounts keep working"
    );
}
