//! `import` of whole Dovecot passwd-files and the crypt(3) schemes
//! (`{SHA512-CRYPT}`, `{SHA256-CRYPT}`, `{BLF-CRYPT}`, `{CRYPT}`), checked
//! against hashes made by the real `doveadm pw`; the cost bounds of
//! imported crypt hashes; `mailhash::verify` against Dovecot's hashes.

use crate::util::{Output, pwsentry, write};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const NOW: &str = "2026-03-01T00:00:00Z";
/// Small argon2 parameters (the tests run the debug binary) and no near
/// reuse: crypt entries are checked for exact reuse only anyway.
const POLICY: &str = "[hashing]\nmemory_kib = 64\niterations = 1\nallow_weak_parameters = true\n[history]\nremember = 5\nreject_similar = false\n";

const ALICE: &str = "Velvet#Orbit#Canyon10";
const BOB: &str = "Marble&Quartz&Heron7";
const CAROL: &str = "Tundra!Lantern!Opal3";
const DAVE: &str = "Cobalt?Meadow?Fjord4";
const NEW: &str = "Saffron+Glacier+Wren5";

/// A policy file and a database path in a temporary directory.
struct Env {
    _dir: tempfile::TempDir,
    db: PathBuf,
    policy: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let policy = write(dir.path(), "policy.toml", POLICY);
        let db = dir.path().join("history.db");
        Env {
            _dir: dir,
            db,
            policy,
        }
    }

    fn run(&self, args: &[&str], stdin: impl AsRef<[u8]>) -> Output {
        let mut all: Vec<std::ffi::OsString> = vec![
            "--db".into(),
            self.db.clone().into(),
            "--policy".into(),
            self.policy.clone().into(),
            "--now".into(),
            NOW.into(),
        ];
        all.extend(args.iter().map(Into::into));
        pwsentry(all).stdin(stdin).run()
    }

    fn import(&self, stdin: impl AsRef<[u8]>) -> Output {
        self.run(&["--json", "import"], stdin)
    }

    fn check(&self, account: &str, password: &str) -> Output {
        self.run(
            &["--json", "check", "--account", account],
            format!("{password}\n"),
        )
    }

    fn entries(&self, account: &str) -> u64 {
        let out = self.run(&["--json", "status", "--account", account], "");
        out.json()["history_entries"].as_u64().unwrap()
    }
}

/// `doveadm pw -s scheme [-r rounds]`, the password fed on stdin (twice,
/// as doveadm asks to retype it): never on a command line.
fn doveadm(scheme: &str, rounds: Option<u32>, password: &str) -> String {
    let mut cmd = Command::new("doveadm");
    cmd.args(["pw", "-s", scheme]);
    if let Some(r) = rounds {
        cmd.args(["-r", &r.to_string()]);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run doveadm ({e}): these tests need Dovecot's doveadm; install dovecot-core (scripts/test.sh does)")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n{password}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "doveadm pw -s {scheme} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(
        line.starts_with(&format!("{{{scheme}}}")),
        "unexpected doveadm output for {scheme}"
    );
    line
}

fn assert_quiet(out: &Output, secrets: &[&str]) {
    for s in secrets {
        assert!(
            !out.stdout.contains(s) && !out.stderr.contains(s),
            "output echoes a secret or hash: {out:?}"
        );
    }
}

/// The digest part (last `$` field) of a hash: what must never be echoed.
fn digest(hash: &str) -> &str {
    hash.rsplit('$').next().unwrap()
}

#[test]
fn a_whole_dovecot_passwd_file_is_imported_and_checked() {
    let sha512 = doveadm("SHA512-CRYPT", None, ALICE);
    let sha256 = doveadm("SHA256-CRYPT", None, BOB);
    let blf = doveadm("BLF-CRYPT", None, CAROL);
    let crypt = doveadm("CRYPT", None, DAVE);
    let sha512_rounds = doveadm("SHA512-CRYPT", Some(20_000), NEW);
    let file = format!(
        "# /etc/dovecot/users\n\
         alice@example.com:{sha512}:1000:1000::/home/alice::userdb_quota_rule=*:storage=1G\n\
         \n\
         bob@example.com:{sha256}:1001:1001:Bob:/home/bob:/bin/false\r\n\
         carol@example.com:{blf}\n\
         dave@example.com:{crypt}::\n\
         erin@example.com:{sha512_rounds}:::::\n"
    );
    let env = Env::new();
    let out = env.import(&file);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.json(),
        serde_json::json!({"accounts": 5, "imported": 5})
    );
    for h in [&sha512, &sha256, &blf, &crypt, &sha512_rounds] {
        assert_quiet(&out, &[digest(h)]);
    }
    for (account, password) in [
        ("alice@example.com", ALICE),
        ("bob@example.com", BOB),
        ("carol@example.com", CAROL),
        ("dave@example.com", DAVE),
        ("erin@example.com", NEW),
    ] {
        assert_eq!(env.entries(account), 1, "{account}");
        let out = env.check(account, password);
        assert_eq!(
            (out.code, out.rules()),
            (1, vec!["reuse".to_owned()]),
            "{account}: the imported hash is checked: {out:?}"
        );
        assert_quiet(&out, &[password]);
        // Another account's password is not this account's reuse.
        let other = if password == NEW { ALICE } else { NEW };
        let out = env.check(account, other);
        assert_eq!(out.code, 0, "{account}: {out:?}");
    }
    // Recording a new password keeps the imported one remembered.
    let out = env.run(
        &["--json", "record", "--account", "carol@example.com"],
        format!("{NEW}\n"),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(env.check("carol@example.com", CAROL).rules(), ["reuse"]);
}

#[test]
fn bare_crypt_hashes_with_account_become_its_history() {
    let env = Env::new();
    let old = doveadm("SHA512-CRYPT", None, ALICE);
    let newer = doveadm("BLF-CRYPT", None, BOB);
    let bare = old.split_once('}').unwrap().1;
    let out = env.run(
        &["--json", "import", "--account", "alice@example.com"],
        format!("{bare}\n{newer}\n"),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["imported"], 2);
    assert_eq!(env.check("alice@example.com", ALICE).rules(), ["reuse"]);
    assert_eq!(env.check("alice@example.com", BOB).rules(), ["reuse"]);
    // A passwd-file line for the same account is fine with --account too.
    let line = format!(
        "alice@example.com:{}\n",
        doveadm("SHA256-CRYPT", None, CAROL)
    );
    let out = env.run(&["import", "--account", "alice@example.com"], &line);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(env.check("alice@example.com", CAROL).rules(), ["reuse"]);
}

/// One bad line anywhere: exit 2, its number, not echoed, nothing stored.
#[test]
fn a_bad_line_is_named_and_nothing_is_imported() {
    let good = doveadm("SHA512-CRYPT", None, ALICE);
    let good_digest = digest(&good).to_owned();
    let sha_digest = &good_digest;
    let blf = doveadm("BLF-CRYPT", None, BOB);
    let blf_body = blf.split_once("$05$").unwrap().1.to_owned();
    let long_user = "u".repeat(600);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "rounds above the bound",
            format!("bob@example.com:{{SHA512-CRYPT}}$6$rounds=999999999$abcdefgh${sha_digest}"),
            "SHA-crypt rounds 999999999 is above pwsentry's bound of 200000",
        ),
        (
            "rounds beyond u32",
            format!("bob@example.com:$6$rounds=99999999999$abcdefgh${sha_digest}"),
            "the rounds= field is not a decimal number",
        ),
        (
            "bcrypt cost 31",
            format!("bob@example.com:{{BLF-CRYPT}}$2y$31${blf_body}"),
            "bcrypt cost 31 is above pwsentry's bound of 12",
        ),
        (
            "bcrypt $2x$",
            format!("bob@example.com:{{BLF-CRYPT}}$2x$05${blf_body}"),
            "$2x$",
        ),
        (
            "truncated digest",
            format!(
                "bob@example.com:{{SHA512-CRYPT}}$6$abcdefgh${}",
                &sha_digest[..40]
            ),
            "the digest must be 86 characters",
        ),
        (
            "scheme and hash disagree",
            format!("bob@example.com:{{SHA256-CRYPT}}$6$abcdefgh${sha_digest}"),
            "names another scheme",
        ),
        (
            "plain text",
            "bob@example.com:{PLAIN}hunter2hunter2".into(),
            "unsupported scheme",
        ),
        (
            "MD5-crypt",
            "bob@example.com:$1$abcdefgh$0123456789abcdefghijkl".into(),
            "MD5-crypt",
        ),
        (
            "empty password field",
            "bob@example.com::1000:1000".into(),
            "the password field is empty",
        ),
        ("empty user", format!(":{good}"), "the user field is empty"),
        (
            "control character in the user",
            format!("bob\u{1b}[31m@example.com:{good}"),
            "control, format or invisible characters (found U+001B",
        ),
        (
            "user too long",
            format!("{long_user}:{good}"),
            "at most 512 bytes long",
        ),
        (
            "NUL byte",
            format!("bob@example.com:{}\0", &good),
            "contains a NUL byte",
        ),
        (
            "a bare hash without --account",
            good.clone(),
            "a bare hash needs --account",
        ),
        (
            "the same account twice",
            format!("alice@example.com:{good}"),
            "already has a line (line 1)",
        ),
    ];
    for (name, bad, expect) in &cases {
        let env = Env::new();
        let input =
            format!("alice@example.com:{good}:1000:1000\n# note\n{bad}\ncarol@example.com:{blf}\n");
        let out = env.run(&["import"], &input);
        assert_eq!(out.code, 2, "{name}: {out:?}");
        assert!(
            out.stderr.contains("line 3") && out.stderr.contains(expect),
            "{name}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("nothing was imported"),
            "{name}: {}",
            out.stderr
        );
        assert_quiet(&out, &[sha_digest, &blf_body, "hunter2"]);
        assert!(!env.db.exists(), "{name}: nothing written");
    }
    // A line for another account than --account.
    let env = Env::new();
    let out = env.run(
        &["import", "--account", "bob@example.com"],
        format!("alice@example.com:{good}\n"),
    );
    assert!(
        out.code == 2 && out.stderr.contains("line 1") && out.stderr.contains("another account"),
        "{out:?}"
    );
    assert!(!env.db.exists());
}

#[test]
fn huge_and_binary_input_is_refused_quickly() {
    let env = Env::new();
    // A 40 MB line, then a good one: refused as too long, not kept.
    let mut input = b"alice@example.com:$6$".to_vec();
    input.extend(std::iter::repeat_n(b'a', 40 << 20));
    input.extend(format!("\nbob@example.com:{}\n", doveadm("SHA256-CRYPT", None, BOB)).as_bytes());
    let out = env.import(&input);
    assert!(
        out.code == 2 && out.stderr.contains("line 1: too long"),
        "{out:?}"
    );
    let out = env.import(b"alice@example.com:\xff\xfe\n");
    assert!(
        out.code == 2 && out.stderr.contains("line 1: not UTF-8"),
        "{out:?}"
    );
    let out = env.import("\n# only comments\n   \n");
    assert!(
        out.code == 2 && out.stderr.contains("no hashes on stdin"),
        "{out:?}"
    );
    assert!(!env.db.exists());
}

/// An entry edited into the database above the bounds is never evaluated
/// (the check returns at once) and `status` reports it.
#[test]
fn a_costly_crypt_entry_in_the_database_is_skipped_and_reported() {
    let env = Env::new();
    let blf = doveadm("BLF-CRYPT", None, ALICE);
    let out = env.import(format!("alice@example.com:{blf}\n"));
    assert_eq!(out.code, 0, "{out:?}");
    // Someone with write access raises the cost to 2^31 rounds (hours).
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    let tampered = blf
        .split_once('}')
        .unwrap()
        .1
        .replacen("$2y$05$", "$2y$31$", 1);
    let n = conn
        .execute("UPDATE entries SET hash = ?1", [&tampered])
        .unwrap();
    assert_eq!(n, 1);
    drop(conn);
    let out = env.check("alice@example.com", ALICE);
    assert_eq!(out.code, 0, "skipped, never evaluated: {out:?}");
    let status = env.run(&["--json", "status", "--account", "alice@example.com"], "");
    assert_eq!(status.json()["unchecked_entries"], 1, "{status:?}");
    let text = env.run(&["status", "--account", "alice@example.com"], "");
    assert!(
        text.stdout
            .contains("1 history entry is malformed or above the crypt cost bounds"),
        "{text:?}"
    );
}

#[test]
fn mailhash_verify_accepts_what_doveadm_makes() {
    for scheme in ["SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT", "CRYPT"] {
        let stored = doveadm(scheme, None, ALICE);
        assert!(
            pwsentry::mailhash::verify(&stored, &pwsentry::Password::from(ALICE)).unwrap(),
            "{scheme}"
        );
        assert!(
            !pwsentry::mailhash::verify(&stored, &pwsentry::Password::from(BOB)).unwrap(),
            "{scheme}"
        );
    }
    // Non-ASCII passwords: the exact bytes, as Dovecot hashed them.
    let accented = "Caf\u{e9}#Orbit#Canyon10";
    let stored = doveadm("SHA512-CRYPT", None, accented);
    assert!(pwsentry::mailhash::verify(&stored, &pwsentry::Password::from(accented)).unwrap());
}

/// A real passwd-file may hold schemes pwsentry cannot use: with
/// `--skip-unusable` those lines are listed by number and left out, the
/// rest imported; structural errors still stop everything.
#[test]
fn skip_unusable_leaves_out_other_schemes_and_names_them() {
    let env = Env::new();
    let good = doveadm("SHA512-CRYPT", None, ALICE);
    let file = format!(
        "alice@example.com:{good}\n\
         bob@example.com:{{PLAIN}}hunter2hunter2:::\n\
         carol@example.com:$6$rounds=999999999$abcdefgh${}\n",
        digest(&good)
    );
    let out = env.import(&file);
    assert!(out.code == 2 && out.stderr.contains("line 2"), "{out:?}");
    let out = env.run(&["--json", "import", "--skip-unusable"], &file);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.json(),
        serde_json::json!({"account": "alice@example.com", "imported": 1, "history_entries": 1, "skipped": 2})
    );
    assert!(
        out.stderr
            .contains("line 2: skipped: invalid hash: unsupported scheme")
            && out
                .stderr
                .contains("line 3: skipped: invalid hash: SHA-crypt rounds 999999999"),
        "{}",
        out.stderr
    );
    assert_quiet(&out, &["hunter2", digest(&good)]);
    assert_eq!(env.check("alice@example.com", ALICE).rules(), ["reuse"]);
    let out = env.run(&["import", "--skip-unusable"], "not a line\n");
    assert!(
        out.code == 2 && out.stderr.contains("line 1: a bare hash needs --account"),
        "{out:?}"
    );
}
