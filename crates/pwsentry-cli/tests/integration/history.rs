//! History and rotation end to end: `record`, `import`, `status`, `stale`,
//! `forget` and `check --account` through the binary with `--now` and
//! `--db`; Argon2 known-answer tests; a Dovecot-made hash; concurrent
//! writers and a writer killed mid-record.

use crate::util::{Output, corpus, pwsentry, write};
use pwsentry::history::Argon2Hash;
use std::ffi::{OsStr, OsString};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Small argon2 parameters: the tests run the debug binary.
const FAST_HASHING: &str =
    "[hashing]\nmemory_kib = 64\niterations = 1\nallow_weak_parameters = true\n";

const P1: &str = "Velvet#Orbit#Summer2024!";
const P2: &str = "Marble&Quartz&Heron7";
const P3: &str = "Tundra!Lantern!Opal3";
const P4: &str = "Cobalt?Meadow?Fjord4";

/// A temporary directory with a policy file and a database path.
struct Env {
    dir: tempfile::TempDir,
    db: PathBuf,
    policy: PathBuf,
}

impl Env {
    fn new(policy: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let policy = write(dir.path(), "policy.toml", format!("{FAST_HASHING}{policy}"));
        let db = dir.path().join("data/history.db");
        Env { dir, db, policy }
    }

    fn args<'a>(&'a self, now: &'a str, args: &[&'a str]) -> Vec<std::ffi::OsString> {
        let mut v: Vec<std::ffi::OsString> = vec![
            "--db".into(),
            self.db.clone().into(),
            "--policy".into(),
            self.policy.clone().into(),
            "--now".into(),
            now.into(),
        ];
        v.extend(args.iter().map(Into::into));
        v
    }

    fn run(&self, now: &str, args: &[&str], stdin: &str) -> Output {
        pwsentry(self.args(now, args)).stdin(stdin).run()
    }

    fn record(&self, now: &str, account: &str, password: &str) -> Output {
        self.run(
            now,
            &["--json", "record", "--account", account],
            &format!("{password}\n"),
        )
    }

    fn status(&self, now: &str, account: &str) -> serde_json::Value {
        let out = self.run(now, &["--json", "status", "--account", account], "");
        assert!(out.code == 0 || out.code == 1, "{out:?}");
        out.json()
    }

    fn check(&self, now: &str, account: &str, password: &str) -> Output {
        self.run(
            now,
            &["--json", "check", "--account", account],
            &format!("{password}\n"),
        )
    }
}

fn os(args: &[&OsStr]) -> Vec<OsString> {
    args.iter().map(|a| a.to_os_string()).collect()
}

fn assert_secret_free(out: &Output, secrets: &[&str]) {
    for s in secrets {
        assert!(
            !out.stdout.contains(s) && !out.stderr.contains(s),
            "output echoes a secret: {out:?}"
        );
    }
}

#[test]
fn record_status_stale_forget_round_trip() {
    let env = Env::new("[rotation]\nmax_age_days = 90\nwarn_days = 14\n");
    let out = env.record("2026-01-01T00:00:00Z", "alice@example.com", P1);
    assert_eq!(out.code, 0, "{out:?}");
    let v = out.json();
    assert_eq!(
        (v["accepted"].as_bool(), v["recorded"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(
        env.record("2025-11-01T00:00:00Z", "bob@example.com", P2)
            .code,
        0
    );
    assert_eq!(
        env.record("2026-02-20T00:00:00Z", "carol@example.com", P3)
            .code,
        0
    );

    let s = env.status("2026-01-31T00:00:00Z", "alice@example.com");
    assert_eq!(
        s,
        serde_json::json!({"account": "alice@example.com", "status": "ok", "changed_at": "2026-01-01T00:00:00Z",
            "age_days": 30, "expires_at": "2026-04-01T00:00:00Z", "history_entries": 1, "unverifiable_entries": 0})
    );
    let now = "2026-03-20T12:00:00Z";
    assert_eq!(env.status(now, "alice@example.com")["status"], "expiring");
    let out = env.run(now, &["status", "--account", "bob@example.com"], "");
    assert_eq!(out.code, 1, "stale status exits 1: {out:?}");
    assert!(
        out.stdout.contains("bob@example.com: stale"),
        "{}",
        out.stdout
    );
    let unknown = env.status(now, "nobody@example.com");
    assert_eq!(unknown["status"], "unknown");
    assert_eq!(unknown["history_entries"], 0);
    assert!(
        unknown["changed_at"].is_null()
            && unknown["expires_at"].is_null()
            && unknown["age_days"].is_null()
    );

    let out = env.run(now, &["--json", "stale"], "");
    assert_eq!(out.code, 1, "something is stale: {out:?}");
    assert_eq!(
        out.json(),
        serde_json::json!({"accounts": [
            {"account": "bob@example.com", "status": "stale", "changed_at": "2025-11-01T00:00:00Z", "age_days": 139, "expires_at": "2026-01-30T00:00:00Z"},
            {"account": "alice@example.com", "status": "expiring", "changed_at": "2026-01-01T00:00:00Z", "age_days": 78, "expires_at": "2026-04-01T00:00:00Z"},
        ]}),
        "oldest first, ok accounts left out"
    );
    let text = env.run(now, &["stale"], "");
    assert_eq!(text.code, 1);
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert!(
        lines[0].starts_with("STATUS")
            && lines[1].contains("bob@example.com")
            && lines[2].contains("alice@example.com"),
        "{}",
        text.stdout
    );
    assert_eq!(lines.last(), Some(&"1 stale, 1 expiring"));

    let out = env.run(
        now,
        &["--json", "forget", "--account", "bob@example.com"],
        "",
    );
    assert_eq!(
        (out.code, out.json()),
        (
            0,
            serde_json::json!({"account": "bob@example.com", "forgotten": true})
        )
    );
    assert_eq!(env.status(now, "bob@example.com")["status"], "unknown");
    let out = env.run(now, &["--json", "stale"], "");
    assert_eq!(out.code, 0, "only expiring accounts left: {out:?}");
    assert_eq!(out.json()["accounts"].as_array().unwrap().len(), 1);
    let out = env.run(now, &["forget", "--account", "bob@example.com"], "");
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("nothing to forget"));

    let early = env.run("2026-01-02T00:00:00Z", &["stale"], "");
    assert_eq!(
        (early.code, early.stdout.as_str()),
        (0, ""),
        "nothing due: silent, for cron"
    );
}

#[test]
fn reuse_near_reuse_and_rejections_store_nothing() {
    let env = Env::new("[history]\nremember = 2\n");
    let acct = "dave@example.com";
    assert_eq!(env.record("2026-01-01T00:00:00Z", acct, P1).code, 0);

    let out = env.record("2026-01-02T00:00:00Z", acct, P1);
    assert_eq!(
        (out.code, out.rules()),
        (1, vec!["reuse".to_owned()]),
        "{out:?}"
    );
    assert_eq!(out.json()["recorded"], false);
    assert_secret_free(&out, &[P1]);
    for similar in [
        "Velvet#Orbit#Summer2025!",
        "Velvet#Orbit#Summer2024",
        "velvet#Orbit#Summer2024!",
        "Velvet#Orbit#Summer2024!!",
    ] {
        let out = env.record("2026-01-02T00:00:00Z", acct, similar);
        assert_eq!(
            (out.code, out.rules()),
            (1, vec!["similar_to_previous".to_owned()]),
            "{similar}: {out:?}"
        );
        assert_secret_free(&out, &[similar, P1]);
    }
    let weak = env.record("2026-01-02T00:00:00Z", acct, "short");
    assert_eq!(weak.code, 1);
    assert_eq!(
        env.status("2026-01-02T00:00:00Z", acct)["history_entries"],
        1,
        "rejections store nothing"
    );

    assert_eq!(env.record("2026-01-03T00:00:00Z", acct, P2).code, 0);
    assert_eq!(
        env.check("2026-01-04T00:00:00Z", acct, P1).rules(),
        ["reuse"],
        "remember = 2 keeps P1"
    );
    assert_eq!(env.record("2026-01-05T00:00:00Z", acct, P3).code, 0);
    let out = env.check("2026-01-06T00:00:00Z", acct, P1);
    assert_eq!(
        (out.code, out.rules()),
        (0, Vec::<String>::new()),
        "P1 is 3rd newest now: allowed: {out:?}"
    );
    assert_eq!(
        env.status("2026-01-06T00:00:00Z", acct)["history_entries"],
        2,
        "pruned to remember = 2"
    );
    // check never records
    assert_eq!(
        env.status("2026-01-06T00:00:00Z", acct)["changed_at"],
        "2026-01-05T00:00:00Z"
    );
}

#[test]
fn remember_days_and_min_age_with_force() {
    let env = Env::new(
        "[history]\nremember = 1\nremember_days = 30\nreject_similar = false\n[rotation]\nmin_age_days = 2\n",
    );
    let acct = "erin@example.com";
    assert_eq!(env.record("2026-01-01T00:00:00Z", acct, P1).code, 0);
    let out = env.record("2026-01-02T00:00:00Z", acct, P2);
    assert_eq!(out.rules(), ["min_age"], "{out:?}");
    let message = out.json()["violations"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("2026-01-03 00:00 UTC"),
        "says when: {message}"
    );
    let forced = env.run(
        "2026-01-02T00:00:00Z",
        &["--json", "record", "--account", acct, "--force"],
        &format!("{P2}\n"),
    );
    assert_eq!(forced.code, 0, "{forced:?}");
    assert_eq!(
        env.record("2026-01-10T00:00:00Z", acct, P1).rules(),
        ["recently_used"],
        "set 9 days ago"
    );
    assert_eq!(
        env.record("2026-01-10T00:00:00Z", acct, P2).rules(),
        ["reuse"]
    );
    let forced = env.run(
        "2026-01-10T00:00:00Z",
        &["--json", "record", "--account", acct, "--force"],
        &format!("{P1}\n"),
    );
    assert_eq!(
        (forced.code, forced.rules()),
        (1, vec!["recently_used".to_owned()]),
        "--force only overrides min_age"
    );
    assert_eq!(
        env.record("2026-01-31T00:00:00Z", acct, P1).code,
        0,
        "30 days after it was set, P1 is free"
    );
}

#[test]
fn read_only_commands_create_no_database() {
    let env = Env::new("");
    let now = "2026-01-01T00:00:00Z";
    let out = env.check(now, "frank@example.com", P1);
    assert_eq!(out.code, 0, "{out:?}");
    // A report on a database that does not exist is an error (a typo in
    // --db must not read as "nothing stale"); forget has nothing to do.
    for (args, code) in [
        (&["status", "--account", "frank@example.com"][..], 2),
        (&["stale"], 2),
        (&["forget", "--account", "frank@example.com"], 0),
    ] {
        let out = env.run(now, args, "");
        assert_eq!(out.code, code, "{args:?}: {out:?}");
    }
    assert!(
        !env.db.exists() && !env.db.parent().unwrap().exists(),
        "no database, no directory"
    );
}

#[cfg(unix)]
#[test]
fn database_location_and_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "policy.toml", FAST_HASHING);
    let xdg = dir.path().join("xdg");
    // Root's default is the system path, which a test must not write
    // (trust.rs checks that it is named); everyone else's is under XDG.
    let as_root =
        std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
    let args = || {
        os(&[
            "--policy".as_ref(),
            policy.as_os_str(),
            "record".as_ref(),
            "--account".as_ref(),
            "g".as_ref(),
        ])
    };
    if !as_root {
        let out = pwsentry(args())
            .env_remove("PWSENTRY_DB")
            .env("XDG_DATA_HOME", &xdg)
            .stdin(format!("{P1}\n"))
            .run();
        assert_eq!(out.code, 0, "{out:?}");
        let db = xdg.join("pwsentry/history.db");
        assert_eq!(
            std::fs::metadata(&db).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let env_db = dir.path().join("env.db");
    let out = pwsentry(args())
        .env("PWSENTRY_DB", &env_db)
        .stdin(format!("{P1}\n"))
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(env_db.exists(), "$PWSENTRY_DB is used");
}

#[test]
fn import_phc_and_dovecot_lines_all_or_nothing() {
    let env = Env::new("[history]\nremember = 10\nreject_similar = false\n");
    let policy = pwsentry::Policy::from_file(&env.policy).unwrap();
    let hash =
        |p: &str, salt: u8| pwsentry::history::hash_password(&policy, &[salt; 16], p).unwrap();
    let (h1, h2) = (hash(P1, 1), hash(P2, 2));
    let argon2i = argon2i_dovecot(P3);
    let acct = "henry@example.com";
    let now = "2026-02-01T00:00:00Z";

    // A bad line: reported by number, not echoed, nothing imported.
    let input = format!(
        "{h1}\n# a comment\n\n{}\n$argon2id$v=19$m=64,t=1,p=1$c2VjcmV0c2FsdHNhbHQ$bm90LWEtaGFzaA\n",
        h2.to_dovecot()
    );
    let bad = input.replace("bm90LWEtaGFzaA", "!!not base64!!");
    let out = env.run(now, &["import", "--account", acct], &bad);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("line 5") && out.stderr.contains("nothing was imported"),
        "{}",
        out.stderr
    );
    assert_secret_free(&out, &["!!not base64!!", "c2VjcmV0c2FsdHNhbHQ"]);
    assert!(!env.db.exists(), "nothing written");
    let out = env.run(
        now,
        &["import", "--account", acct],
        "$argon2id$v=19$m=2097152,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA\n",
    );
    assert!(
        out.code == 2 && out.stderr.contains("line 1") && out.stderr.contains("1048576"),
        "bounded memory: {out:?}"
    );

    let out = env.run(
        now,
        &[
            "--json",
            "import",
            "--account",
            acct,
            "--set-at",
            "2025-12-01T00:00:00Z",
        ],
        &format!("{h1}\n{}\n", h2.to_dovecot()),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.json(),
        serde_json::json!({"account": acct, "imported": 2, "history_entries": 2})
    );
    let out = env.run(now, &["import", "--account", acct], &format!("{argon2i}\n"));
    assert_eq!(out.code, 0, "{out:?}");
    let s = env.status(now, acct);
    assert_eq!(
        (s["history_entries"].as_u64(), s["changed_at"].as_str()),
        (Some(3), Some(now)),
        "--set-at defaults to --now"
    );

    for p in [P1, P2] {
        assert_eq!(
            env.check(now, acct, p).rules(),
            ["reuse"],
            "imported argon2id hash is checked"
        );
    }
    assert_eq!(
        env.check(now, acct, P3).rules(),
        ["reuse"],
        "imported {{ARGON2I}} line is checked"
    );
    assert_eq!(env.check(now, acct, P4).code, 0);
    assert_eq!(env.record(now, acct, P4).code, 0);
    assert_eq!(env.record(now, acct, P1).rules(), ["reuse"]);
}

/// A Dovecot-style `{ARGON2I}` line for `password`, made with the argon2
/// crate directly (pwsentry itself only makes argon2id).
fn argon2i_dovecot(password: &str) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    let salt = [42u8; 16];
    let params = argon2::Params::new(64, 2, 1, Some(32)).unwrap();
    let mut digest = [0u8; 32];
    argon2::Argon2::new(argon2::Algorithm::Argon2i, argon2::Version::V0x13, params)
        .hash_password_into(password.as_bytes(), &salt, &mut digest)
        .unwrap();
    format!(
        "{{ARGON2I}}$argon2i$v=19$m=64,t=2,p=1${}${}",
        b64.encode(salt),
        b64.encode(digest)
    )
}

#[test]
fn dovecot_made_hash_is_detected_as_reuse() {
    let password = "Granite@Willow@Comet5";
    let made = Command::new("doveadm").args(["pw", "-s", "ARGON2ID", "-p", password]).output().unwrap_or_else(|e| {
        panic!("cannot run doveadm ({e}): this test needs Dovecot's doveadm; install the dovecot-core package (CI's .ci/run does)")
    });
    assert!(
        made.status.success(),
        "doveadm pw failed: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let line = String::from_utf8(made.stdout).unwrap();
    assert!(
        line.starts_with("{ARGON2ID}$argon2id$v=19$"),
        "unexpected doveadm output format"
    );
    let parsed = Argon2Hash::parse(&line).unwrap();
    // Dovecot's own parameters (64 MiB, 3 passes) are verified as they are;
    // its 30 near-reuse variants would multiply the cost of this test by 31.
    let env = Env::new("[history]\nreject_similar = false\n");
    let now = "2026-01-01T00:00:00Z";
    let out = env.run(now, &["import", "--account", "ivy@example.com"], &line);
    assert_eq!(out.code, 0, "{out:?}");
    let out = env.check(now, "ivy@example.com", password);
    assert_eq!(
        (out.code, out.rules()),
        (1, vec!["reuse".to_owned()]),
        "{out:?}"
    );
    assert_secret_free(&out, &[password, &parsed.to_string()]);
}

#[test]
fn argon2_known_answers() {
    let text = std::fs::read_to_string(corpus("argon2/kats_raw.json")).unwrap();
    let kats: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert!(kats.len() >= 6, "expected the 6 reference vectors");
    let b64 = |hex: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(unhex(hex))
    };
    for kat in &kats {
        let s = |k: &str| {
            kat[k]
                .as_str()
                .unwrap_or_else(|| panic!("KAT field {k} missing"))
        };
        let n = |k: &str| {
            kat[k]
                .as_u64()
                .unwrap_or_else(|| panic!("KAT field {k} missing"))
        };
        let phc = format!(
            "${}$v={}$m={},t={},p={},data={}${}${}",
            s("type"),
            n("version"),
            n("m_kib"),
            n("t"),
            n("p"),
            b64(s("ad_hex")),
            b64(s("salt_hex")),
            b64(s("tag_hex"))
        );
        let hash = Argon2Hash::parse(&phc).unwrap_or_else(|e| panic!("{}: {e}", s("file")));
        assert_eq!(hash.to_string(), phc, "{}: PHC round trip", s("file"));
        let password = unhex(s("password_hex"));
        let secret = unhex(s("secret_hex"));
        assert!(
            hash.verify(&password, Some(&secret)).unwrap(),
            "{}: known answer",
            s("file")
        );
        assert!(
            !hash.verify(&password, None).unwrap(),
            "{}: the secret is an input",
            s("file")
        );
        let mut other = password.clone();
        other[0] ^= 1;
        assert!(
            !hash.verify(&other, Some(&secret)).unwrap(),
            "{}: another password",
            s("file")
        );
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn refused_databases_are_left_untouched() {
    let env = Env::new("");
    let now = "2026-01-01T00:00:00Z";
    std::fs::create_dir_all(env.db.parent().unwrap()).unwrap();
    let garbage: Vec<u8> = (0..10_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&env.db, &garbage).unwrap();
    for (args, stdin) in [
        (&["record", "--account", "a"][..], P1),
        (&["status", "--account", "a"], ""),
        (&["stale"], ""),
        (&["forget", "--account", "a"], ""),
        (&["check", "--account", "a"], P1),
        (
            &["import", "--account", "a"],
            "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA\n",
        ),
    ] {
        let out = env.run(now, args, stdin);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(
            out.stderr.contains("not a pwsentry history database"),
            "{args:?}: {}",
            out.stderr
        );
        assert_eq!(
            std::fs::read(&env.db).unwrap(),
            garbage,
            "{args:?} changed the file"
        );
    }

    // A database from a newer pwsentry.
    std::fs::remove_file(&env.db).unwrap();
    assert_eq!(env.record(now, "a", P1).code, 0);
    {
        let conn = rusqlite::Connection::open(&env.db).unwrap();
        conn.pragma_update(None, "user_version", 7).unwrap();
    }
    let before = std::fs::read(&env.db).unwrap();
    for args in [
        &["status", "--account", "a"][..],
        &["record", "--account", "a"],
    ] {
        let out = env.run(now, args, &format!("{P2}\n"));
        assert_eq!(out.code, 2, "{out:?}");
        assert!(out.stderr.contains("newer pwsentry"), "{}", out.stderr);
        assert_eq!(std::fs::read(&env.db).unwrap(), before);
    }

    // A location that cannot be created: a path under a regular file.
    let under_file = env.policy.join("history.db");
    let args = [
        "--db".as_ref(),
        under_file.as_os_str(),
        "--policy".as_ref(),
        env.policy.as_os_str(),
        "record".as_ref(),
        "--account".as_ref(),
        "a".as_ref(),
    ];
    let out = pwsentry(os(&args)).stdin(format!("{P1}\n")).run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("history database"), "{}", out.stderr);
}

fn spawn_record(env: &Env, account: &str, password: &str) -> std::process::Child {
    let mut child = Command::new(crate::util::bin())
        .args(env.args("2026-01-01T00:00:00Z", &["record", "--account", account]))
        .current_dir(env.dir.path())
        .env_remove("PWSENTRY_DB")
        .env_remove("PWSENTRY_POLICY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child
}

fn integrity_ok(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let result: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(result, "ok");
}

#[test]
fn concurrent_records_for_one_account_lose_nothing() {
    let env = Env::new("[history]\nremember = 100\nreject_similar = false\n");
    assert_eq!(
        env.record("2026-01-01T00:00:00Z", "warm-up", P1).code,
        0,
        "create the database first"
    );
    let mut recorded = 0;
    for round in 0..4 {
        let children: Vec<_> = [P2, P3]
            .iter()
            .map(|p| spawn_record(&env, "shared@example.com", &format!("{p}-round{round}")))
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            match out.status.code() {
                Some(0) => recorded += 1,
                Some(2) => assert!(
                    stderr.contains("busy") && stderr.contains("try again"),
                    "unclear error: {stderr}"
                ),
                other => panic!("unexpected exit {other:?}: {stderr}"),
            }
        }
    }
    assert!(recorded > 0);
    let s = env.status("2026-01-01T00:00:00Z", "shared@example.com");
    assert_eq!(
        s["history_entries"], recorded,
        "every acknowledged record is there, nothing else"
    );
    integrity_ok(&env.db);
}

#[test]
fn killed_writer_leaves_a_sound_database() {
    let env = Env::new("[history]\nremember = 100\nreject_similar = false\n");
    assert_eq!(env.record("2026-01-01T00:00:00Z", "warm-up", P1).code, 0);
    // How long one record takes here; the kills are spread over that span
    // and a little beyond, so some land before, during and after the commit.
    let started = std::time::Instant::now();
    assert!(spawn_record(&env, "timing", P1).wait().unwrap().success());
    let span = started.elapsed();
    let mut acknowledged = Vec::new();
    let rounds = 16u32;
    for i in 0..rounds {
        let password = format!("{P2}-kill{i}");
        let mut child = spawn_record(&env, "victim@example.com", &password);
        std::thread::sleep(span * (i + 2) / rounds);
        let _ = child.kill(); // SIGKILL on Unix
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            acknowledged.push(password);
        }
    }
    integrity_ok(&env.db);
    let s = env.status("2026-01-01T00:00:00Z", "victim@example.com");
    let entries = s["history_entries"].as_u64().unwrap_or(0) as usize;
    assert!(
        entries >= acknowledged.len(),
        "{entries} entries < {} acknowledged",
        acknowledged.len()
    );
    for p in &acknowledged {
        assert_eq!(
            env.check("2026-01-01T00:00:00Z", "victim@example.com", p)
                .rules(),
            ["reuse"],
            "acknowledged record lost"
        );
    }
    // The database still takes writes.
    assert_eq!(
        env.record("2026-01-01T00:00:00Z", "victim@example.com", P4)
            .code,
        0
    );
}

/// Issue 9's history-evasion repros against a recorded
/// `Velvet#Orbit#Canyon10`: the ones within the hashed catalogue are
/// rejected by `check --account`; with `--verify-current` every one is.
#[test]
fn history_evasions_are_rejected() {
    let env = Env::new("");
    let acct = "gina@example.com";
    let now = "2026-01-02T00:00:00Z";
    let recorded = "Velvet#Orbit#Canyon10";
    assert_eq!(env.record("2026-01-01T00:00:00Z", acct, recorded).code, 0);
    let hashed = [
        "VELVET#ORBIT#CANYON10",
        " Velvet#Orbit#Canyon10",
        "Velvet#0rbit#Canyon10",
        "Velvet#Orbit#Canyon\u{ff11}\u{ff10}",
    ];
    let beyond = ["Velvet#Orbit#Canyon10!!", "Velvet#Orbit#Canyon13"];
    for candidate in hashed {
        let out = env.check(now, acct, candidate);
        assert_eq!(
            (out.code, out.rules()),
            (1, vec!["similar_to_previous".to_owned()]),
            "{candidate:?}: {out:?}"
        );
    }
    for candidate in hashed.iter().chain(&beyond) {
        let out = env.run(
            now,
            &["--json", "record", "--account", acct, "--verify-current"],
            &format!("{recorded}\n{candidate}\n"),
        );
        assert_eq!(
            (out.code, out.rules()),
            (1, vec!["similar_to_current".to_owned()]),
            "{candidate:?}: {out:?}"
        );
        assert_secret_free(&out, &[recorded, candidate]);
    }
    assert_eq!(
        env.status(now, acct)["history_entries"],
        1,
        "nothing recorded"
    );
}

#[test]
fn set_and_record_verify_the_current_password() {
    let env = Env::new("");
    let acct = "hank@example.com";
    let now = "2026-01-02T00:00:00Z";
    assert_eq!(env.record("2026-01-01T00:00:00Z", acct, P1).code, 0);
    let set = |stdin: &str| {
        env.run(
            now,
            &["--json", "set", "--account", acct, "--verify-current"],
            stdin,
        )
    };
    let wrong = set(&format!("{P3}\n{P2}\n"));
    assert_eq!(
        (wrong.code, wrong.rules()),
        (1, vec!["current_password".to_owned()]),
        "{wrong:?}"
    );
    assert_secret_free(&wrong, &[P1, P2, P3]);
    let one_line = set(&format!("{P1}\n"));
    assert_eq!(one_line.code, 2, "no new password line: {one_line:?}");
    let empty = set("");
    assert_eq!(empty.code, 2, "{empty:?}");
    assert!(empty.stderr.contains("--verify-current"), "{empty:?}");
    assert_eq!(env.status(now, acct)["history_entries"], 1);

    let right = set(&format!("{P1}\n{P2}\n"));
    assert_eq!(right.code, 0, "{right:?}");
    assert_eq!(right.json()["recorded"], true);
    assert_eq!(env.status(now, acct)["history_entries"], 2);

    let out = env.run(
        now,
        &["--json", "record", "--account", acct, "--verify-current"],
        &format!("{P1}\n{P3}\n"),
    );
    assert_eq!(
        out.rules(),
        ["current_password"],
        "P1 is no longer current: {out:?}"
    );
    let out = env.run(
        now,
        &["--json", "record", "--account", acct, "--verify-current"],
        &format!("{P2}\n{P3}\n"),
    );
    assert_eq!(out.code, 0, "{out:?}");
}

/// Issue 9: an entry edited in the database to m=1 GiB, t=64 cost 92 s and
/// 1 GB per check; it is skipped, the other entries are still checked,
/// and `status` reports it.
#[test]
fn a_tampered_entry_is_skipped_and_reported() {
    let env = Env::new("");
    let acct = "iris@example.com";
    assert_eq!(env.record("2026-01-01T00:00:00Z", acct, P1).code, 0);
    assert_eq!(env.record("2026-01-02T00:00:00Z", acct, P2).code, 0);
    let db = rusqlite::Connection::open(&env.db).unwrap();
    let changed = db
        .execute(
            "UPDATE entries SET hash = ?1 WHERE id = (SELECT MIN(id) FROM entries)",
            ["$argon2id$v=19$m=1048576,t=64,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA"],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(db);
    let now = "2026-01-03T00:00:00Z";
    let start = std::time::Instant::now();
    let out = env.check(now, acct, P3);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        env.check(now, acct, P2).rules(),
        ["reuse"],
        "the sound entry is checked"
    );
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "bounded like the rest"
    );
    assert_eq!(env.status(now, acct)["unverifiable_entries"], 1);
    let text = env.run(now, &["status", "--account", acct], "");
    assert!(
        text.stdout
            .contains("1 history entry is unverifiable: parameters above the bounds"),
        "{text:?}"
    );
}
