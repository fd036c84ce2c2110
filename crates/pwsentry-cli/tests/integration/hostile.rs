//! Hostile input: a table of bad stdin, policy files, hash lines, databases
//! and times. Each case must end quickly with its documented exit code and
//! a clear message (one `pwsentry: error:` line, no panic), and must leave
//! the history database exactly as it was, byte for byte and row for row.

use crate::util::{bin, write};
use rusqlite::{Connection, OpenFlags};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Fast argon2 so that building the fixture database takes no time.
const POLICY: &str = "[hashing]\nmemory_kib = 64\niterations = 1\nallow_weak_parameters = true\n\
                      [history]\nremember = 1000\n";

/// A valid imported hash (argon2id, 64 KiB, 1 pass).
const PHC: &str = "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA";

/// No hostile case may take longer than this (debug build, 2 shared cores).
const DEADLINE: Duration = Duration::from_secs(20);

// ---- running ---------------------------------------------------------------

/// What one run produced.
#[derive(Debug)]
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    /// Peak resident memory of the process (Linux `VmHWM`), in KiB, as last
    /// sampled before it exited.
    peak_rss_kib: u64,
}

/// Runs `pwsentry args` in `dir` (optionally as user `nobody`), streaming
/// `stdin` to it from a thread, and samples its peak memory while it runs.
fn run_in(dir: &Path, args: &[String], stdin: Stdin, as_nobody: bool) -> Outcome {
    let mut cmd = if as_nobody {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin());
        c
    } else {
        Command::new(bin())
    };
    cmd.args(args)
        .current_dir(dir)
        .env_remove("PWSENTRY_POLICY")
        .env_remove("PWSENTRY_DB")
        .env("XDG_DATA_HOME", dir.join("xdg"))
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn pwsentry");
    let pid = child.id();
    let mut pipe = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        // The child may stop reading early (a rejected line); that is fine.
        let _ = match stdin {
            Stdin::Bytes(b) => pipe.write_all(&b),
            Stdin::Line { len, byte } => {
                let chunk = vec![byte; 1 << 20];
                let mut left = len;
                let mut result = Ok(());
                while left > 0 && result.is_ok() {
                    let n = left.min(chunk.len());
                    result = pipe.write_all(&chunk[..n]);
                    left -= n;
                }
                result.and_then(|()| pipe.write_all(b"\n"))
            }
        };
    });
    let sampler = std::thread::spawn(move || {
        let status = format!("/proc/{pid}/status");
        let mut peak = 0;
        while let Ok(text) = std::fs::read_to_string(&status) {
            if let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kib);
            }
            if text.contains("State:\tZ") {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        peak
    });
    let out = child.wait_with_output().expect("wait");
    let elapsed = start.elapsed();
    let _ = writer.join();
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed,
        peak_rss_kib: sampler.join().unwrap_or(0),
    }
}

/// What a case feeds on stdin.
#[derive(Clone)]
enum Stdin {
    Bytes(Vec<u8>),
    /// One line of `len` copies of `byte`, streamed in 1 MiB chunks.
    Line {
        len: usize,
        byte: u8,
    },
}

fn bytes(b: impl AsRef<[u8]>) -> Stdin {
    Stdin::Bytes(b.as_ref().to_vec())
}

// ---- the fixture database --------------------------------------------------

/// A database with history for two accounts (three recorded passwords for
/// `alice@example.com`, one imported hash for `bob@example.com`), built
/// once and copied into every case.
fn template_db() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, db) = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let policy = write(dir.path(), "policy.toml", POLICY);
        let db = dir.path().join("history.db");
        let base = |extra: &[&str]| {
            let mut args = vec![
                "--policy".to_owned(),
                policy.display().to_string(),
                "--db".to_owned(),
                db.display().to_string(),
                "--now".to_owned(),
                "2026-01-31T12:00:00Z".to_owned(),
            ];
            args.extend(extra.iter().map(|s| (*s).to_owned()));
            args
        };
        for pw in [
            "Velvet#Orbit#Canyon41",
            "Quartz!Meadow!Lantern7",
            "Harbor%Ember%Violet3",
        ] {
            let out = run_in(
                dir.path(),
                &base(&["record", "--account", "alice@example.com"]),
                bytes(format!("{pw}\n")),
                false,
            );
            assert_eq!(out.code, Some(0), "fixture record: {out:?}");
        }
        let out = run_in(
            dir.path(),
            &base(&["import", "--account", "bob@example.com"]),
            bytes(format!("{PHC}\n")),
            false,
        );
        assert_eq!(out.code, Some(0), "fixture import: {out:?}");
        // The log is kept (for read-only users) but empty once checkpointed.
        assert!(
            std::fs::metadata(dir.path().join("history.db-wal")).map_or(0, |m| m.len()) == 0,
            "the fixture must be checkpointed"
        );
        (dir, db)
    });
    db
}

/// Every row of the database, in a stable order: what "nothing stored is
/// lost or changed" means at the logical level. Reads a copy, because even
/// a read-only SQLite reader creates `-wal` and `-shm` files beside a WAL
/// database.
fn rows(db: &Path) -> Vec<String> {
    let copy = tempfile::tempdir().unwrap();
    let copied = copy.path().join("copy.db");
    for suffix in ["", "-wal"] {
        let from = PathBuf::from(format!("{}{suffix}", db.display()));
        if from.is_file() {
            std::fs::copy(&from, format!("{}{suffix}", copied.display())).unwrap();
        }
    }
    let conn = Connection::open_with_flags(&copied, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .expect("open the database");
    let mut out = Vec::new();
    let mut accounts = conn
        .prepare("SELECT account, hex(salt), changed_at FROM accounts ORDER BY account")
        .unwrap();
    let mut it = accounts.query([]).unwrap();
    while let Some(r) = it.next().unwrap() {
        out.push(format!(
            "account {} {} {}",
            r.get::<_, String>(0).unwrap(),
            r.get::<_, String>(1).unwrap(),
            r.get::<_, i64>(2).unwrap()
        ));
    }
    let mut entries = conn
        .prepare("SELECT id, account, set_at, hash, peppered FROM entries ORDER BY id")
        .unwrap();
    let mut it = entries.query([]).unwrap();
    while let Some(r) = it.next().unwrap() {
        out.push(format!(
            "entry {} {} {} {} {}",
            r.get::<_, i64>(0).unwrap(),
            r.get::<_, String>(1).unwrap(),
            r.get::<_, i64>(2).unwrap(),
            r.get::<_, String>(3).unwrap(),
            r.get::<_, i64>(4).unwrap()
        ));
    }
    out
}

/// The state of the database file before a case.
#[derive(Clone, Copy, Debug)]
enum Db {
    /// A copy of the fixture.
    Populated,
    /// The fixture cut to this many bytes.
    Truncated(usize),
    /// The fixture cut to lose its last page.
    LastPageMissing,
    /// As many zero bytes as the fixture has.
    Zeroed,
    /// A text file.
    Text,
    /// A directory.
    Directory,
}

fn prepare_db(dir: &Path, state: Db) -> PathBuf {
    let db = dir.join("history.db");
    let template = std::fs::read(template_db()).unwrap();
    match state {
        Db::Populated => std::fs::write(&db, &template).unwrap(),
        Db::Truncated(n) => std::fs::write(&db, &template[..n.min(template.len())]).unwrap(),
        Db::LastPageMissing => std::fs::write(&db, &template[..template.len() - 4096]).unwrap(),
        Db::Zeroed => std::fs::write(&db, vec![0u8; template.len()]).unwrap(),
        Db::Text => std::fs::write(&db, "this is not a database\n").unwrap(),
        Db::Directory => std::fs::create_dir(&db).unwrap(),
    }
    db
}

/// The bytes of the database and of a non-empty `-wal` beside it. An empty
/// `-wal` and the `-shm` (an index of the log, no data) are left out:
/// pwsentry keeps both once it has opened the database, so that users who
/// may only read it can open it too.
fn snapshot(db: &Path) -> Vec<(String, Option<Vec<u8>>)> {
    ["", "-wal"]
        .iter()
        .map(|suffix| {
            let p = PathBuf::from(format!("{}{suffix}", db.display()));
            (
                suffix.to_string(),
                if p.is_file() {
                    std::fs::read(&p).ok().filter(|b| !b.is_empty())
                } else {
                    None
                },
            )
        })
        .collect()
}

// ---- the table ---------------------------------------------------------------

/// One hostile case.
struct Case {
    name: &'static str,
    /// Arguments, after the `--policy {dir}/policy.toml` (unless given
    /// here) and `--db {dir}/history.db` the runner puts first.
    args: &'static [&'static str],
    stdin: Stdin,
    db: Db,
    /// The policy file's content (`{dir}/policy.toml`).
    policy: PolicyFile,
    code: i32,
    /// A fragment of the error (stderr) or the verdict (stdout; also
    /// where `--batch` reports a bad line).
    expect: &'static str,
}

#[derive(Clone)]
enum PolicyFile {
    Fast,
    Bytes(Vec<u8>),
    Directory,
}

fn case(
    name: &'static str,
    args: &'static [&'static str],
    stdin: Stdin,
    code: i32,
    expect: &'static str,
) -> Case {
    Case {
        name,
        args,
        stdin,
        db: Db::Populated,
        policy: PolicyFile::Fast,
        code,
        expect,
    }
}

const ONE_HUNDRED_MB: usize = 100 * 1024 * 1024;

fn stdin_cases() -> Vec<Case> {
    let ok = "Velvet#Orbit#Canyon42\n";
    vec![
        case(
            "check: invalid UTF-8",
            &["check"],
            bytes(b"abc\xff\xfedef!1\n"),
            2,
            "stdin is not valid UTF-8 (first invalid byte at offset 3)",
        ),
        case(
            "record: invalid UTF-8",
            &["record", "--account", "alice@example.com"],
            bytes(b"Velvet\xc3(Orbit#42\n"),
            2,
            "not valid UTF-8",
        ),
        case(
            "check --batch: invalid UTF-8 line",
            &["check", "--batch"],
            bytes([ok.as_bytes(), b"\xff\n"].concat()),
            2,
            "line 2 is not valid UTF-8",
        ),
        case(
            "check: NUL byte",
            &["check"],
            bytes(b"Velvet\0Orbit#Canyon42\n"),
            1,
            "control_characters",
        ),
        case(
            "record: NUL byte",
            &["record", "--account", "alice@example.com"],
            bytes(b"Velvet\0Orbit#Canyon42\n"),
            1,
            "not recorded",
        ),
        case(
            "check --batch: NUL byte",
            &["check", "--batch"],
            bytes(b"\0\0\0\0\0\0\0\0\0\n"),
            1,
            "control_characters",
        ),
        case(
            "check: escape sequences",
            &["check"],
            bytes(b"\x1b[2J\x1b]0;pwn\x07Abc#12345\n"),
            1,
            "control_characters",
        ),
        case(
            "check: 100 MB line",
            &["check"],
            Stdin::Line {
                len: ONE_HUNDRED_MB,
                byte: b'a',
            },
            1,
            "max_length",
        ),
        case(
            "record: 100 MB line",
            &["record", "--account", "alice@example.com"],
            Stdin::Line {
                len: ONE_HUNDRED_MB,
                byte: b'#',
            },
            1,
            "not recorded",
        ),
        case(
            "check --batch: 100 MB line",
            &["check", "--batch"],
            Stdin::Line {
                len: ONE_HUNDRED_MB,
                byte: 0xff,
            },
            1,
            "max_length",
        ),
        case(
            "import: 100 MB line",
            &["import", "--account", "carol@example.com"],
            Stdin::Line {
                len: ONE_HUNDRED_MB,
                byte: b'$',
            },
            2,
            "line 1: too long to be a hash",
        ),
        case(
            "record: account with control characters",
            &["record", "--account", "eve\u{1b}[31m@example.com"],
            bytes(ok),
            2,
            "must not contain control, format or invisible characters (found U+001B at character 4)",
        ),
    ]
}

fn policy_case(name: &'static str, policy: PolicyFile, code: i32, expect: &'static str) -> Case {
    Case {
        policy,
        ..case(
            name,
            &["check", "--account", "alice@example.com"],
            bytes("Velvet#Orbit#Canyon42\n"),
            code,
            expect,
        )
    }
}

fn policy_cases() -> Vec<Case> {
    let ten_mb = 10 * 1024 * 1024;
    let nested_tables: String = (0..ten_mb / 4).map(|_| "a={").collect::<String>();
    let nested_headers = format!("[{}]\n", vec!["t"; ten_mb / 2].join("."));
    let mut binary: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    binary[0] = 0xff;
    vec![
        policy_case(
            "policy: a directory",
            PolicyFile::Directory,
            78,
            "is a directory, not a policy file",
        ),
        policy_case(
            "policy: binary",
            PolicyFile::Bytes(binary),
            78,
            "not UTF-8 text (invalid byte at offset 0)",
        ),
        policy_case(
            "policy: NUL byte",
            PolicyFile::Bytes(b"[length]\nmin = 8\0\n".to_vec()),
            78,
            "line 2, column 8: contains a NUL byte",
        ),
        policy_case(
            "policy: control characters",
            PolicyFile::Bytes(b"\x1b[length]\n".to_vec()),
            78,
            "line 1, column 2",
        ),
        policy_case(
            "policy: 10 MB of nested inline tables",
            PolicyFile::Bytes(nested_tables.into_bytes()),
            78,
            "too large for a policy file",
        ),
        policy_case(
            "policy: 10 MB nested table header",
            PolicyFile::Bytes(nested_headers.into_bytes()),
            78,
            "too large for a policy file",
        ),
        policy_case(
            "policy: pepper is /dev/zero",
            PolicyFile::Bytes(b"[hashing]\npepper_file = \"/dev/zero\"\n".to_vec()),
            78,
            "line 2, column 15: pepper_file /dev/zero: is a device, not a regular file",
        ),
        Case {
            args: &["--policy", "/dev/zero", "check"],
            ..policy_case(
                "policy: /dev/zero",
                PolicyFile::Fast,
                78,
                "invalid policy /dev/zero: cannot use this policy file: is a device, not a regular file",
            )
        },
    ]
}

fn import_case(name: &'static str, lines: &str, expect: &'static str) -> Case {
    case(
        name,
        &["import", "--account", "bob@example.com"],
        bytes(lines),
        2,
        expect,
    )
}

fn import_cases() -> Vec<Case> {
    let salt = "c29tZXNhbHRzb21lc2FsdA";
    let digest = "SGFzaGhhc2hoYXNoaGFzaA";
    vec![
        import_case(
            "import: truncated digest",
            &format!("$argon2id$v=19$m=64,t=1,p=1${salt}$SGFz\n"),
            "line 1: invalid hash: a digest of 3 bytes is outside 4..=64 bytes",
        ),
        import_case(
            "import: no digest",
            &format!("$argon2id$v=19$m=64,t=1,p=1${salt}\n"),
            "line 1: invalid hash: missing digest",
        ),
        import_case(
            "import: cut in the parameters",
            "$argon2id$v=19$m=64,t=1\n",
            "line 1: invalid hash: the parameters m, t and p are all required",
        ),
        import_case(
            "import: only the prefix",
            "{ARGON2ID}$argon2id\n",
            "line 1: invalid hash: missing parameters",
        ),
        import_case(
            "import: m=4294967295",
            &format!("$argon2id$v=19$m=4294967295,t=1,p=1${salt}${digest}\n"),
            "memory cost 4294967295 KiB is outside 8..=1048576 KiB",
        ),
        import_case(
            "import: m beyond u32",
            &format!("$argon2id$v=19$m=99999999999,t=1,p=1${salt}${digest}\n"),
            "line 1: invalid hash: a parameter is not a decimal number",
        ),
        import_case(
            "import: t=0",
            &format!("$argon2id$v=19$m=64,t=0,p=1${salt}${digest}\n"),
            "line 1: invalid hash: 0 passes is outside 1..=64",
        ),
        import_case(
            "import: t=4294967295",
            &format!("$argon2id$v=19$m=64,t=4294967295,p=1${salt}${digest}\n"),
            "4294967295 passes is outside 1..=64",
        ),
        import_case(
            "import: p=0",
            &format!("$argon2id$v=19$m=64,t=1,p=0${salt}${digest}\n"),
            "parallelism 0 is outside 1..=16",
        ),
        import_case(
            "import: non-base64 salt",
            &format!("$argon2id$v=19$m=64,t=1,p=1$c29t!!!ZXNhbHQ${digest}\n"),
            "line 1: invalid hash: the salt is not valid base64",
        ),
        import_case(
            "import: padded salt",
            &format!("$argon2id$v=19$m=64,t=1,p=1${salt}=${digest}\n"),
            "the salt is not valid base64",
        ),
        import_case(
            "import: non-base64 digest",
            &format!("$argon2id$v=19$m=64,t=1,p=1${salt}$\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\n"),
            "the digest is not valid base64",
        ),
        import_case(
            "import: bcrypt cut short",
            "$2y$10$abcdefghijklmnopqrstuuJ0DmJ1aA2Gb3i4wz5b6c7d8e9f0g1\n",
            "line 1: invalid hash: a bcrypt hash is 60 characters",
        ),
        import_case(
            "import: bcrypt cost 31",
            "$2y$31$abcdefghijklmnopqrstuuJ0DmJ1aA2Gb3i4wz5b6c7d8e9f0g1ab\n",
            "line 1: invalid hash: bcrypt cost 31 is above pwsentry's bound of 12",
        ),
        import_case(
            "import: good line, then a bad one",
            &format!("{PHC}\n$argon2id$v=19$m=64,t=0,p=1${salt}${digest}\n"),
            "nothing was imported: line 2",
        ),
        import_case(
            "import: nothing but comments",
            "# a comment\n\n",
            "no hashes on stdin",
        ),
        Case {
            stdin: bytes(b"\xff\xfe$argon2id\n"),
            ..import_case("import: invalid UTF-8", "", "line 1: not UTF-8 text")
        },
    ]
}

fn db_case(
    name: &'static str,
    db: Db,
    args: &'static [&'static str],
    expect: &'static str,
) -> Case {
    let stdin = if args.first() == Some(&"import") {
        bytes(format!("{PHC}\n"))
    } else {
        bytes("Another#Strong#Pass99\n")
    };
    Case {
        db,
        ..case(name, args, stdin, 2, expect)
    }
}

fn db_cases() -> Vec<Case> {
    let commands: [&'static [&'static str]; 6] = [
        &["record", "--account", "alice@example.com"],
        &["check", "--account", "alice@example.com"],
        &["status", "--account", "alice@example.com"],
        &["stale"],
        &["forget", "--account", "alice@example.com"],
        &["import", "--account", "alice@example.com"],
    ];
    let states: [(&'static str, Db, &'static str); 6] = [
        (
            "truncated to 5000 bytes",
            Db::Truncated(5000),
            "the database is corrupt",
        ),
        (
            "truncated to 100 bytes",
            Db::Truncated(100),
            "the database is corrupt",
        ),
        (
            "last page missing",
            Db::LastPageMissing,
            "the database is corrupt",
        ),
        ("zeroed", Db::Zeroed, "not a pwsentry history database"),
        ("a text file", Db::Text, "not a pwsentry history database"),
        ("a directory", Db::Directory, "not a regular file"),
    ];
    let mut cases = Vec::new();
    for (state_name, state, expect) in states {
        for args in commands {
            let name: &'static str =
                Box::leak(format!("db {state_name}: {}", args[0]).into_boxed_str());
            cases.push(db_case(name, state, args, expect));
        }
    }
    cases
}

fn time_cases() -> Vec<Case> {
    let ok = || bytes("Another#Strong#Pass99\n");
    vec![
        case(
            "--now unparsable",
            &[
                "--now",
                "yesterday",
                "record",
                "--account",
                "alice@example.com",
            ],
            ok(),
            2,
            "not an RFC 3339 time",
        ),
        case(
            "--now without zone",
            &[
                "--now",
                "2026-01-31T12:00:00",
                "record",
                "--account",
                "alice@example.com",
            ],
            ok(),
            2,
            "not an RFC 3339 time",
        ),
        case(
            "--now February 30",
            &[
                "--now",
                "2026-02-30T00:00:00Z",
                "status",
                "--account",
                "alice@example.com",
            ],
            ok(),
            2,
            "not an RFC 3339 time",
        ),
        case(
            "--now in year 9999",
            &[
                "--now",
                "9999-12-31T23:59:59Z",
                "record",
                "--account",
                "alice@example.com",
            ],
            ok(),
            2,
            "year 9999 is outside the supported range 1970..=9000",
        ),
        case(
            "--now in year 9999 for stale",
            &["--now", "9999-01-01T00:00:00Z", "stale"],
            ok(),
            2,
            "year 9999 is outside",
        ),
        case(
            "--now before 1970",
            &[
                "--now",
                "1969-12-31T23:59:59Z",
                "check",
                "--account",
                "alice@example.com",
            ],
            ok(),
            2,
            "year 1969 is outside",
        ),
        case(
            "--set-at in year 9999",
            &[
                "import",
                "--account",
                "bob@example.com",
                "--set-at",
                "9999-12-31T00:00:00Z",
            ],
            bytes(format!("{PHC}\n")),
            2,
            "year 9999 is outside",
        ),
        case(
            "--set-at after --now",
            &[
                "--now",
                "2026-01-31T12:00:00Z",
                "import",
                "--account",
                "bob@example.com",
                "--set-at",
                "2026-02-01T00:00:00Z",
            ],
            bytes(format!("{PHC}\n")),
            2,
            "later than the current time",
        ),
    ]
}

/// Runs one case in a fresh directory and checks everything it promises;
/// returns a description of each broken promise.
fn run_case(c: &Case) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let db = prepare_db(dir.path(), c.db);
    let policy = dir.path().join("policy.toml");
    match &c.policy {
        PolicyFile::Fast => std::fs::write(&policy, POLICY).unwrap(),
        PolicyFile::Bytes(b) => std::fs::write(&policy, b).unwrap(),
        PolicyFile::Directory => std::fs::create_dir(&policy).unwrap(),
    }
    let mut args: Vec<String> = Vec::new();
    if !c.args.contains(&"--policy") {
        args.extend(["--policy".to_owned(), policy.display().to_string()]);
    }
    args.extend(["--db".to_owned(), db.display().to_string()]);
    args.extend(c.args.iter().map(|a| (*a).to_owned()));
    let before = snapshot(&db);
    let before_rows = matches!(c.db, Db::Populated).then(|| rows(&db));
    let out = run_in(dir.path(), &args, c.stdin.clone(), false);
    let mut broken = Vec::new();
    if out.code != Some(c.code) {
        broken.push(format!("exit code {:?}, want {}", out.code, c.code));
    }
    // `--batch` reports a bad line on stdout, in its place among the results.
    if !out.stdout.contains(c.expect) && !out.stderr.contains(c.expect) {
        broken.push(format!("missing {:?}", c.expect));
    }
    if (c.code == 2 || c.code == 78) && out.stdout.is_empty() {
        let error_lines = out
            .stderr
            .lines()
            .filter(|l| l.starts_with("pwsentry: error:") || l.starts_with("error:"))
            .count();
        if error_lines != 1 {
            broken.push(format!("{error_lines} error lines, want 1"));
        }
    }
    if out.stderr.contains("panicked") || out.stderr.contains("RUST_BACKTRACE") {
        broken.push("panicked".to_owned());
    }
    if out.elapsed > DEADLINE {
        broken.push(format!("took {:?}", out.elapsed));
    }
    if snapshot(&db) != before {
        broken.push("the database files changed".to_owned());
    }
    if let Some(before_rows) = before_rows
        && rows(&db) != before_rows
    {
        broken.push("the stored rows changed".to_owned());
    }
    if broken.is_empty() {
        Vec::new()
    } else {
        vec![format!(
            "{}: {}\n    stdout: {}\n    stderr: {}",
            c.name,
            broken.join("; "),
            out.stdout.trim(),
            out.stderr.trim()
        )]
    }
}

fn run_table(cases: Vec<Case>) {
    let failures: Vec<String> = cases.iter().flat_map(run_case).collect();
    assert!(
        failures.is_empty(),
        "{} hostile case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn hostile_stdin() {
    run_table(stdin_cases());
}

#[test]
fn hostile_policy_files() {
    run_table(policy_cases());
}

#[test]
fn hostile_import_lines() {
    run_table(import_cases());
}

#[test]
fn hostile_database_files() {
    run_table(db_cases());
}

#[test]
fn hostile_times() {
    run_table(time_cases());
}

// ---- cases that need more than the table ---------------------------------

#[test]
#[cfg(target_os = "linux")] // reads the peak memory from /proc
fn a_100_mb_line_is_streamed_not_stored() {
    // The line is rejected as too long without being kept: memory stays
    // far below its size, and the answer comes as soon as it is read.
    let dir = tempfile::tempdir().unwrap();
    let line = Stdin::Line {
        len: ONE_HUNDRED_MB,
        byte: b'x',
    };
    for args in [
        vec!["check".to_owned()],
        vec![
            "check".to_owned(),
            "--batch".to_owned(),
            "--json".to_owned(),
        ],
    ] {
        let out = run_in(dir.path(), &args, line.clone(), false);
        assert_eq!(out.code, Some(1), "{args:?}: {}", out.stderr);
        assert!(
            out.stdout.contains("max_length"),
            "{args:?}: {}",
            out.stdout
        );
        assert!(out.elapsed < DEADLINE, "{args:?} took {:?}", out.elapsed);
        assert!(out.peak_rss_kib > 0, "peak memory was not sampled");
        assert!(
            out.peak_rss_kib < 64 * 1024,
            "{args:?} peaked at {} KiB for a 100 MiB line",
            out.peak_rss_kib
        );
    }
}

#[test]
fn an_empty_policy_file_shows_as_the_builtin_default() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.toml", "");
    let show = |policy: Option<&Path>| {
        let mut args: Vec<String> = Vec::new();
        if let Some(p) = policy {
            args.extend(["--policy".to_owned(), p.display().to_string()]);
        }
        args.extend(["policy".to_owned(), "show".to_owned()]);
        let out = run_in(dir.path(), &args, bytes(""), false);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        out.stdout.split_once('\n').unwrap().1.to_owned()
    };
    // The built-in default is the shipped policy.toml: the seed preset
    // with a one-day minimum age (issue 9).
    let shipped = write(dir.path(), "shipped.toml", "[rotation]\nmin_age_days = 1\n");
    assert_eq!(
        show(Some(&shipped)),
        show(None),
        "the built-in default is the seed preset with min_age_days = 1"
    );
    let seed = write(dir.path(), "seed.toml", "preset = \"seed\"\n");
    assert_eq!(show(Some(&empty)), show(Some(&seed)));
}

#[test]
fn deeply_nested_toml_is_refused_without_overflowing_the_stack() {
    // Below the size cap, the TOML parser's own recursion limit applies.
    // Test threads have small (2 MiB) stacks, so an unbounded recursive
    // descent would overflow here.
    let depth = 200_000;
    for text in [
        format!("a = {}{}", "[".repeat(depth), "]".repeat(depth)),
        format!("a = {}1{}", "{b=".repeat(depth), "}".repeat(depth)),
        format!("[{}]\n", vec!["a"; depth].join(".")),
        format!("{} = 1\n", vec!["a"; depth].join(".")),
    ] {
        assert!(text.len() < pwsentry::policy::MAX_POLICY_BYTES);
        match pwsentry::Policy::from_toml_str(&text) {
            Err(pwsentry::Error::Policy(e)) => {
                assert!(e.message.contains("recurs"), "{}", e.message)
            }
            other => panic!("nested TOML gave {other:?}"),
        }
    }
}

/// `true` when this process runs as root (the owner of `/proc/self`).
fn running_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

#[test]
fn a_database_of_another_user_is_refused_and_unchanged() {
    // Root reads any file whatever its mode, so "owned by another user" is
    // simulated the other way round: the database stays root's (0600) and
    // pwsentry runs as `nobody` (setpriv). Not as root, mode 000 does it.
    let as_root = running_as_root();
    if as_root && Command::new("setpriv").arg("--version").output().is_err() {
        panic!("running as root without setpriv: cannot simulate another user's database");
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let db = prepare_db(dir.path(), Db::Populated);
    let policy = write(dir.path(), "policy.toml", POLICY);
    std::fs::set_permissions(&policy, std::fs::Permissions::from_mode(0o644)).unwrap();
    if !as_root {
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o000)).unwrap();
    }
    let before = snapshot(&db);
    for (command, stdin) in [
        (
            vec!["record", "--account", "alice@example.com"],
            "Another#Strong#Pass99\n".to_owned(),
        ),
        (
            vec!["check", "--account", "alice@example.com"],
            "Another#Strong#Pass99\n".to_owned(),
        ),
        (
            vec!["status", "--account", "alice@example.com"],
            String::new(),
        ),
        (vec!["stale"], String::new()),
        (
            vec!["forget", "--account", "alice@example.com"],
            String::new(),
        ),
        (
            vec!["import", "--account", "alice@example.com"],
            format!("{PHC}\n"),
        ),
    ] {
        let mut args = vec![
            "--policy".to_owned(),
            policy.display().to_string(),
            "--db".to_owned(),
            db.display().to_string(),
        ];
        args.extend(command.iter().map(|s| (*s).to_owned()));
        let out = run_in(dir.path(), &args, bytes(stdin), as_root);
        assert_eq!(out.code, Some(2), "{command:?}: {out:?}");
        assert!(
            out.stderr.contains("history store") && out.stderr.contains("history.db"),
            "{command:?}: {}",
            out.stderr
        );
        // SQLite reports an unreadable file as "cannot open" or, when it
        // fell back to opening it read-only, as "read-only"; a reader that
        // cannot create the missing -shm file is told how to fix it.
        assert!(
            [
                "cannot open the database file",
                "the database is read-only",
                "permission denied",
                "cannot be read by this user"
            ]
            .iter()
            .any(|m| out.stderr.contains(m)),
            "{command:?}: {}",
            out.stderr
        );
    }
    assert_eq!(snapshot(&db), before, "the database changed");
    if !as_root {
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    assert_eq!(rows(&db).len(), 2 + 4, "two accounts, four entries");
}

#[test]
fn a_database_in_a_read_only_folder_is_refused_and_unchanged() {
    // The user owns the database but not its folder: SQLite cannot create
    // the write-ahead log beside it.
    if !running_as_root() {
        return; // Needs root to hand the file to `nobody`; CI runs as root.
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let db = prepare_db(dir.path(), Db::Populated);
    let policy = write(dir.path(), "policy.toml", POLICY);
    std::fs::set_permissions(&policy, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::chown(&db, Some(65534), None).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    let before = snapshot(&db);
    let args: Vec<String> = [
        "--policy",
        &policy.display().to_string(),
        "--db",
        &db.display().to_string(),
        "record",
        "--account",
        "alice@example.com",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let out = run_in(dir.path(), &args, bytes("Another#Strong#Pass99\n"), true);
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("read-only"), "{}", out.stderr);
    assert_eq!(snapshot(&db), before, "the database changed");
    assert_eq!(rows(&db).len(), 2 + 4);
}

#[test]
fn an_imported_hash_cannot_make_later_checks_cost_minutes() {
    // The issue: "hash parameters from a hostile import are bounded (memory
    // and time) so a crafted hash cannot make a later check use gigabytes
    // or minutes". Either `import` refuses such a hash, or a later check of
    // the account finishes quickly.
    let dir = tempfile::tempdir().unwrap();
    let db = prepare_db(dir.path(), Db::Populated);
    let policy = write(dir.path(), "policy.toml", POLICY);
    let common = |cmd: &[&str]| -> Vec<String> {
        let mut a = vec![
            "--policy".to_owned(),
            policy.display().to_string(),
            "--db".to_owned(),
            db.display().to_string(),
        ];
        a.extend(cmd.iter().map(|s| (*s).to_owned()));
        a
    };
    let hostile =
        "$argon2id$v=19$m=1048576,t=64,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA\n";
    let out = run_in(
        dir.path(),
        &common(&["import", "--account", "mallory@example.com"]),
        bytes(hostile),
        false,
    );
    if out.code == Some(2) {
        return; // Refused at the door: fine.
    }
    assert_eq!(out.code, Some(0), "{out:?}");
    let mut child = Command::new(bin())
        .args(common(&["check", "--account", "mallory@example.com"]))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"Another#Strong#Pass99\n")
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("a check against one imported hash ran for more than 30 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
