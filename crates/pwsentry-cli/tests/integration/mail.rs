//! `set` and `record` writing Dovecot's passwd-file (`--passwd-file`,
//! `[mail] passwd_file`), proved with the real Dovecot: the new password
//! authenticates, the old one no longer does, every other byte of the file
//! is kept, and nothing is recorded that was not written.

use crate::dovecot::{self, Dovecot};
use crate::util::{pwsentry, write};
use pwsentry::Password;
use pwsentry::mailhash::{MailHashParams, dovecot_argon2id};
use std::path::Path;
use std::time::{Duration, Instant};

const FAST_HASHING: &str =
    "[hashing]\nmemory_kib = 64\niterations = 1\nallow_weak_parameters = true\n";
const OLD: &str = "Old#Orbit#Canyon42";
const NEW: &str = "New#Velvet#Harbor77";

fn field(password: &str) -> String {
    dovecot_argon2id(
        &Password::from(password),
        &MailHashParams::new(64, 1, 1).unwrap(),
    )
    .unwrap()
}

/// Waits until Dovecot accepts `password` for `user` (its auth cache may
/// hold the old answer for a moment).
fn eventually_authenticates(dovecot: &Dovecot, user: &str, password: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dovecot.authenticates(user, password) {
        assert!(
            Instant::now() < deadline,
            "Dovecot never accepted the new password of {user}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn run(dir: &Path, args: &[&str], stdin: &str) -> crate::util::Output {
    let mut all = vec![
        "--policy".to_owned(),
        dir.join("policy.toml").display().to_string(),
        "--db".to_owned(),
        dir.join("history.db").display().to_string(),
    ];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    pwsentry(all).stdin(stdin).run()
}

#[test]
fn record_writes_the_passwd_file_that_dovecot_authenticates() {
    dovecot::require();
    let carol = "carol@example.com:{PLAIN}carol-pass:1001:1001::/home/carol::userdb_quota_rule=*:storage=1G";
    let dovecot = Dovecot::start(&format!(
        "# mail users, kept byte for byte\nalice@example.com:{}::::::\n{carol}\n",
        field(OLD)
    ));
    assert!(dovecot.authenticates("alice@example.com", OLD));
    let users = dovecot.users().to_owned();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "policy.toml", FAST_HASHING);
    let passwd = users.display().to_string();

    let out = run(
        dir.path(),
        &[
            "record",
            "--account",
            "alice@example.com",
            "--passwd-file",
            &passwd,
        ],
        &format!("{NEW}\n"),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("written to"), "{out:?}");
    eventually_authenticates(&dovecot, "alice@example.com", NEW);
    assert!(!dovecot.authenticates("alice@example.com", OLD));
    let text = std::fs::read_to_string(&users).unwrap();
    assert!(
        text.starts_with(
            "# mail users, kept byte for byte\nalice@example.com:{ARGON2ID}$argon2id$"
        ),
        "{text}"
    );
    assert!(text.ends_with(&format!("::::::\n{carol}\n")), "{text}");
    assert!(!text.contains(NEW));

    // Recorded too: the same password again is reuse, and the file is
    // left as it is.
    let out = run(
        dir.path(),
        &[
            "--json",
            "record",
            "--account",
            "Alice@Example.com",
            "--passwd-file",
            &passwd,
        ],
        &format!("{NEW}\n"),
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        crate::util::rules_of(&out.json()).contains(&"reuse".to_owned()),
        "{out:?}"
    );
    assert_eq!(std::fs::read_to_string(&users).unwrap(), text);

    // An account without a line is refused before anything is read or
    // written, unless --create.
    let out = run(
        dir.path(),
        &[
            "record",
            "--account",
            "dave@example.com",
            "--passwd-file",
            &passwd,
        ],
        &format!("{NEW}\n"),
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("has no line for dave@example.com"),
        "{out:?}"
    );
    assert_eq!(std::fs::read_to_string(&users).unwrap(), text);
    let status = run(
        dir.path(),
        &["--json", "status", "--account", "dave@example.com"],
        "",
    );
    assert_eq!(status.json()["history_entries"], 0, "nothing recorded");

    let out = run(
        dir.path(),
        &[
            "record",
            "--account",
            "dave@example.com",
            "--passwd-file",
            &passwd,
            "--create",
        ],
        &format!("{NEW}\n"),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("added to"), "{out:?}");
    eventually_authenticates(&dovecot, "dave@example.com", NEW);
    let after = std::fs::read_to_string(&users).unwrap();
    assert!(
        after.starts_with(&text),
        "appended, nothing else touched: {after}"
    );
}

#[test]
fn a_rejected_password_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "policy.toml", FAST_HASHING);
    let users = write(
        dir.path(),
        "users",
        format!("alice@example.com:{}::::::\n", field(OLD)),
    );
    let before = std::fs::read(&users).unwrap();
    let out = run(
        dir.path(),
        &[
            "record",
            "--account",
            "alice@example.com",
            "--passwd-file",
            &users.display().to_string(),
        ],
        "short\n",
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(std::fs::read(&users).unwrap(), before);
    assert!(!out.stderr.contains("written to"), "{out:?}");
}

#[test]
fn set_verifies_the_current_password_against_the_policys_passwd_file() {
    dovecot::require();
    let dovecot = Dovecot::start(&format!("alice@example.com:{}::::::\n", field(OLD)));
    let users = dovecot.users().to_owned();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "policy.toml",
        format!(
            "{FAST_HASHING}[mail]\npasswd_file = \"{}\"\n",
            users.display()
        ),
    );
    let before = std::fs::read(&users).unwrap();

    // A wrong current password: rejected, nothing written or recorded.
    let out = run(
        dir.path(),
        &[
            "--json",
            "set",
            "--account",
            "alice@example.com",
            "--verify-current",
        ],
        &format!("not-the-password\n{NEW}\n"),
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        crate::util::rules_of(&out.json()).contains(&"current_password".to_owned()),
        "{out:?}"
    );
    assert_eq!(std::fs::read(&users).unwrap(), before);

    // Based on the current one: rejected by plain-text similarity.
    let out = run(
        dir.path(),
        &[
            "--json",
            "set",
            "--account",
            "alice@example.com",
            "--verify-current",
        ],
        &format!("{OLD}\n{}\n", OLD.to_uppercase()),
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        crate::util::rules_of(&out.json()).contains(&"similar_to_current".to_owned()),
        "{out:?}"
    );
    assert_eq!(std::fs::read(&users).unwrap(), before);

    // The right one: written, recorded, and Dovecot agrees.
    let out = run(
        dir.path(),
        &[
            "--json",
            "set",
            "--account",
            "alice@example.com",
            "--verify-current",
        ],
        &format!("{OLD}\n{NEW}\n"),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["recorded"], true, "{out:?}");
    eventually_authenticates(&dovecot, "alice@example.com", NEW);
    assert!(!dovecot.authenticates("alice@example.com", OLD));
}

#[test]
fn create_without_a_passwd_file_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "policy.toml", FAST_HASHING);
    let out = run(
        dir.path(),
        &["record", "--account", "alice@example.com", "--create"],
        &format!("{NEW}\n"),
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--create"), "{out:?}");
    let status = run(
        dir.path(),
        &["--json", "status", "--account", "alice@example.com"],
        "",
    );
    assert_eq!(status.json()["history_entries"], 0, "nothing recorded");
}
