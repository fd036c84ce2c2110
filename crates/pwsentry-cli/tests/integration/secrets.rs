//! Secret hygiene: a marker password (and a marker pepper) goes through
//! every command, and never comes out: not on stdout or stderr, not in any
//! file pwsentry leaves behind (the database with its `-wal` and `-shm`
//! files included, as raw bytes), not in a panic message, and not in the
//! `Debug` output of any public type that holds a secret.

use crate::util::{bin, write, write_private};
use base64::Engine as _;
use chrono::{TimeZone, Utc};
use pwsentry::generate::{Generator, Style};
use pwsentry::history::Argon2Hash;
use pwsentry::mailhash::{self, MailHashParams};
use pwsentry::store::{MemoryStore, Store};
use pwsentry::{ChangeRequest, Checker, Password, Policy};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The password that must never be seen again.
const MARKER: &str = "Zq7#Marker#Secret#Pw9x";
/// The pepper that must never be seen again.
const PEPPER: &str = "Pepper#Marker#0123456789abcdef";

/// Every spelling of the secrets a careless program might leak: as is,
/// case-folded, base64 and hex encoded, UTF-16.
fn leak_forms() -> Vec<(String, Vec<u8>)> {
    let mut forms = Vec::new();
    for (name, secret) in [("password", MARKER), ("pepper", PEPPER)] {
        let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
        forms.push((name.to_owned(), secret.as_bytes().to_vec()));
        forms.push((
            format!("{name} lowercased"),
            secret.to_lowercase().into_bytes(),
        ));
        forms.push((
            format!("{name} uppercased"),
            secret.to_uppercase().into_bytes(),
        ));
        forms.push((format!("{name} in base64"), b64.encode(secret).into_bytes()));
        let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
        forms.push((format!("{name} in hex"), hex.into_bytes()));
        let utf16: Vec<u8> = secret.encode_utf16().flat_map(u16::to_le_bytes).collect();
        forms.push((format!("{name} in UTF-16"), utf16));
        // A secret cut at a line end or a length limit still leaks most of it.
        forms.push((
            format!("{name} (first 12 bytes)"),
            secret.as_bytes()[..12].to_vec(),
        ));
    }
    forms
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Panics naming `what` if `bytes` holds any spelling of a secret.
fn assert_clean(what: &str, bytes: &[u8]) {
    for (form, needle) in leak_forms() {
        assert!(!find(bytes, &needle), "the {form} leaked into {what}");
    }
}

/// Every regular file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.is_file() {
                out.push(p);
            }
        }
    }
    out
}

/// A working folder with a fast policy that uses a pepper, and the database
/// every command shares.
struct Workspace {
    dir: tempfile::TempDir,
    policy: PathBuf,
    db: PathBuf,
}

impl Workspace {
    fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("secrets");
        std::fs::create_dir(&secrets).unwrap();
        write_private(&secrets, "pepper", PEPPER);
        let policy = write(
            dir.path(),
            "policy.toml",
            "[hashing]\nmemory_kib = 64\niterations = 1\nallow_weak_parameters = true\n\
             pepper_file = \"secrets/pepper\"\n[history]\nremember = 10\n",
        );
        let db = dir.path().join("data/history.db");
        Workspace { dir, policy, db }
    }

    /// Runs `pwsentry args` with `stdin`; checks that neither output holds a
    /// secret, that nothing panicked, and that no file outside `secrets/`
    /// holds one. Returns (exit code, stdout, stderr).
    fn run(&self, args: &[&str], stdin: &[u8]) -> (i32, String, String) {
        let mut child = Command::new(bin())
            .args([
                "--policy",
                &self.policy.display().to_string(),
                "--db",
                &self.db.display().to_string(),
            ])
            .args(["--now", "2026-01-31T12:00:00Z"])
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("PWSENTRY_POLICY")
            .env_remove("PWSENTRY_DB")
            .env("XDG_DATA_HOME", self.dir.path().join("xdg"))
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn pwsentry");
        let mut pipe = child.stdin.take().unwrap();
        let input = stdin.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
        let out = child.wait_with_output().unwrap();
        let _ = writer.join();
        let label = format!("pwsentry {}", args.join(" "));
        assert_clean(&format!("the stdout of `{label}`"), &out.stdout);
        assert_clean(&format!("the stderr of `{label}`"), &out.stderr);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stderr.contains("panicked"), "`{label}` panicked: {stderr}");
        for file in files_under(self.dir.path()) {
            if file.starts_with(self.dir.path().join("secrets")) {
                continue;
            }
            let bytes = std::fs::read(&file).unwrap();
            assert_clean(&format!("{} after `{label}`", file.display()), &bytes);
        }
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr,
        )
    }
}

fn line(s: &str) -> Vec<u8> {
    format!("{s}\n").into_bytes()
}

#[test]
fn no_command_leaks_the_password_or_the_pepper() {
    let w = Workspace::new();
    let acct = "alice@example.com";
    let marker = line(MARKER);

    // check: text, JSON, batch (with an invalid and an over-long line that
    // both contain the marker), and against a history that does not exist.
    assert_eq!(w.run(&["check"], &marker).0, 0);
    assert_eq!(w.run(&["--json", "check"], &marker).0, 0);
    let mut batch = marker.clone();
    batch.extend_from_slice(format!("{MARKER}\u{7}\n").as_bytes());
    batch.extend_from_slice(&[MARKER.as_bytes(), b"\xff\n"].concat());
    batch.extend_from_slice(&line(&MARKER.repeat(1000)));
    let (code, stdout, _) = w.run(&["check", "--batch"], &batch);
    assert_eq!((code, stdout.lines().count()), (2, 4), "{stdout}");
    w.run(&["--json", "check", "--batch"], &batch);
    assert_eq!(w.run(&["check", "--account", acct], &marker).0, 0);

    // record, then every way to be refused for it.
    let (code, stdout, _) = w.run(&["record", "--account", acct], &marker);
    assert_eq!(code, 0, "{stdout}");
    assert!(w.db.exists(), "record created the database");
    let (code, stdout, _) = w.run(&["--json", "record", "--account", acct], &marker);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("\"reuse\""),
        "the marker is in the history: {stdout}"
    );
    let near = line(&format!("{MARKER}1"));
    let (_, stdout, _) = w.run(&["--json", "check", "--account", acct], &near);
    assert!(stdout.contains("similar_to_previous"), "{stdout}");
    w.run(
        &["record", "--account", acct],
        &line(&format!("{MARKER}\0")),
    );
    w.run(&["record", "--account", acct], &line(&MARKER.repeat(2000)));
    w.run(
        &["record", "--account", acct],
        &[MARKER.as_bytes(), b"\xc3\n"].concat(),
    );

    // import: a valid hash, and lines that are (or contain) the marker.
    let (code, _, stderr) = w.run(&["import", "--account", "bob@example.com"], &marker);
    assert_eq!(code, 2, "{stderr}");
    let embedded = format!("$argon2id$v=19$m=64,t=1,p=1${MARKER}$SGFzaGhhc2hoYXNoaGFzaA\n");
    assert_eq!(
        w.run(
            &["import", "--account", "bob@example.com"],
            embedded.as_bytes()
        )
        .0,
        2
    );
    let valid = "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA\n";
    assert_eq!(
        w.run(
            &["import", "--account", "bob@example.com"],
            valid.as_bytes()
        )
        .0,
        0
    );

    // The commands that take no password, on a database that holds its hash.
    for args in [
        vec!["status", "--account", acct],
        vec!["--json", "status", "--account", acct],
        vec!["stale"],
        vec!["--json", "stale"],
        vec!["forget", "--account", "bob@example.com"],
        vec!["policy", "show"],
        vec!["policy", "check"],
        vec!["generate", "--count", "3"],
        vec!["generate", "--passphrase", "--account", acct],
    ] {
        let (code, _, stderr) = w.run(&args, &marker);
        assert!(code == 0 || code == 1, "{args:?}: {stderr}");
    }

    // set, non-interactive (stdin is not a terminal), with each hash format.
    let (code, stdout, _) = w.run(
        &[
            "set",
            "--account",
            "carol@example.com",
            "--print-hash",
            "dovecot",
        ],
        &marker,
    );
    assert_eq!(code, 0);
    assert!(stdout.starts_with("{ARGON2ID}$argon2id$"), "{stdout}");
    let (code, stdout, _) = w.run(
        &[
            "--json",
            "set",
            "--account",
            "dave@example.com",
            "--print-hash",
            "phc",
        ],
        &marker,
    );
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let hash = Argon2Hash::parse(json["hash"].as_str().unwrap()).expect("set printed a PHC string");
    assert!(
        hash.verify(MARKER.as_bytes(), None).unwrap(),
        "the printed hash is the marker's"
    );
    assert_eq!(w.run(&["set", "--account", acct], &marker).0, 1, "reuse");

    // Finally forget the account: the database still holds no secret.
    assert_eq!(w.run(&["forget", "--account", acct], b"").0, 0);

    // pwsentry wrote no file but the database: no log, cache or temporary
    // file that could hold a secret later.
    let mut written: Vec<String> = files_under(w.dir.path())
        .iter()
        .map(|p| p.strip_prefix(w.dir.path()).unwrap().display().to_string())
        .filter(|p| p != "policy.toml" && p != "secrets/pepper")
        .collect();
    written.sort();
    // The write-ahead log and its index are kept so that read-only users
    // can open the database (forget truncates the log).
    assert_eq!(
        written,
        [
            "data/history.db",
            "data/history.db-shm",
            "data/history.db-wal"
        ],
        "files left behind"
    );
}

#[test]
fn debug_output_of_every_secret_holding_type_is_redacted() {
    let dir = tempfile::tempdir().unwrap();
    write_private(dir.path(), "pepper", PEPPER);
    let text = "[hashing]\nmemory_kib = 64\niterations = 1\nallow_weak_parameters = true\n\
                pepper_file = \"pepper\"\n";
    let policy = Policy::parse(text, "p.toml", dir.path()).unwrap();
    assert_eq!(
        policy.pepper(),
        Some(PEPPER.as_bytes()),
        "the pepper was read"
    );

    let password = Password::from(MARKER);
    assert_eq!(format!("{password:?}"), "[redacted]");
    assert_eq!(format!("{:#?}", Password::from(MARKER)), "[redacted]");

    let checker = Checker::new(policy.clone());
    let store = MemoryStore::new();
    let now = Utc.with_ymd_and_hms(2026, 1, 31, 12, 0, 0).unwrap();
    let request = ChangeRequest::new("alice@example.com", MARKER, now).current_password(MARKER);
    let request_debug = format!("{request:?}");
    let change = checker
        .evaluate_change(
            &store,
            &ChangeRequest::new("alice@example.com", MARKER, now),
        )
        .unwrap();
    let change_debug = format!("{change:?}");
    checker.commit(&store, change).unwrap();
    let history = store.history("alice@example.com").unwrap().unwrap();
    let stored_hash = history.entries()[0].hash().to_owned();

    let generated = Generator::new(&checker)
        .generate(Style::password_for(checker.policy()))
        .unwrap();
    let secret_of_generated = generated.password().expose().to_owned();
    let params = MailHashParams::new(64, 1, 1).unwrap();
    let mail_hash = mailhash::dovecot_argon2id(&password, &params).unwrap();
    let hash_error = Argon2Hash::parse(&format!("$argon2id$v=19$m=64,t=1,p=1${MARKER}$x"))
        .map(|_| ())
        .unwrap_err();
    let verify_error = mailhash::verify(&format!("{{ARGON2ID}}{MARKER}"), &password).map(|_| ());

    let outputs = [
        ("Policy", format!("{policy:?}"), true),
        ("Policy (alternate)", format!("{policy:#?}"), true),
        ("Checker", format!("{checker:?}"), true),
        ("Change", change_debug, false),
        ("AccountHistory", format!("{history:?}"), false),
        ("HistoryEntry", format!("{:?}", history.entries()[0]), false),
        (
            "Argon2Hash",
            format!("{:?}", Argon2Hash::parse(&stored_hash).unwrap()),
            false,
        ),
        ("Generated", format!("{generated:?}"), true),
        ("Generator", format!("{:?}", Generator::new(&checker)), true),
        (
            "hash parse error",
            format!("{hash_error:?} {hash_error}"),
            false,
        ),
        ("verify error", format!("{verify_error:?}"), false),
        ("ChangeRequest", request_debug, true),
    ];
    for (what, debug, says_redacted) in outputs {
        assert_clean(&format!("the Debug output of {what}"), debug.as_bytes());
        assert!(
            !debug.contains(&secret_of_generated),
            "{what} shows a generated password: {debug}"
        );
        if says_redacted {
            assert!(
                debug.contains("[redacted]"),
                "{what} does not say [redacted]: {debug}"
            );
        }
    }
    // Hashes are not passwords, but the store's types keep them out of
    // Debug too (they would help an offline guesser).
    for (what, debug) in [
        ("AccountHistory", format!("{history:?}")),
        ("HistoryEntry", format!("{:?}", history.entries()[0])),
        ("MemoryStore", format!("{store:?}")),
    ] {
        let digest = stored_hash.rsplit('$').next().unwrap();
        assert!(
            !debug.contains(digest),
            "{what} shows a stored digest: {debug}"
        );
    }
    assert!(!mail_hash.contains(MARKER));
}

#[cfg(unix)]
#[test]
fn files_pwsentry_creates_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "policy.toml",
        "[hashing]\nmemory_kib = 64\niterations = 1\nallow_weak_parameters = true\n",
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    // With a permissive umask (000), and through each command that writes.
    for (args, stdin, db) in [
        (
            vec!["record", "--account", "a@example.com"],
            line(MARKER),
            "one/history.db",
        ),
        (
            vec!["set", "--account", "a@example.com"],
            line(MARKER),
            "two/deeper/history.db",
        ),
        (
            vec!["import", "--account", "a@example.com"],
            line("$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA"),
            "three/history.db",
        ),
    ] {
        let db_path = dir.path().join(db);
        let script = format!(
            "umask 000; exec \"$0\" --policy '{}' --db '{}' {}",
            policy.display(),
            db_path.display(),
            args.join(" ")
        );
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .arg(bin())
            .current_dir(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(mode(&db_path), 0o600, "{db}");
        let mut folder = db_path.parent().unwrap();
        while folder != dir.path() {
            assert_eq!(mode(folder), 0o700, "{}", folder.display());
            folder = folder.parent().unwrap();
        }
    }
    // The default location, under $XDG_DATA_HOME (for root it is the
    // system path, which a test must not write: see trust.rs).
    if std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0) {
        return;
    }
    let out = Command::new(bin())
        .args([
            "--policy",
            &policy.display().to_string(),
            "record",
            "--account",
            "b@example.com",
        ])
        .current_dir(dir.path())
        .env_remove("PWSENTRY_DB")
        .env("XDG_DATA_HOME", dir.path().join("xdg"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(&line(MARKER))?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = dir.path().join("xdg/pwsentry/history.db");
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(db.parent().unwrap()), 0o700);
}
