//! Trust boundaries (issue 9): which policy and database are used, which
//! files are trusted, which times a write accepts, canonical account ids,
//! and what is left behind (database residue, core dumps, echoed
//! arguments, a full disk). Each reproduction of the issue is a test here.

use crate::util::{bin, root, write};
use rusqlite::Connection;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Small argon2 parameters: the tests run the debug binary.
const FAST: &str = "[hashing]\nmemory_kib = 64\niterations = 1\nallow_weak_parameters = true\n";

const P1: &str = "Velvet#Orbit#Canyon10";
const P2: &str = "Marble&Quartz&Heron7";

/// A past time for writes (`--now` in the past is allowed).
const T0: &str = "2026-01-10T12:00:00Z";

/// Any run longer than this is a hang (debug build, shared cores).
const DEADLINE: Duration = Duration::from_secs(30);

#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// How to run the binary.
#[derive(Default)]
struct Opts<'a> {
    cwd: Option<&'a Path>,
    env: Vec<(&'a str, String)>,
    as_nobody: bool,
    umask_000: bool,
}

/// Runs `pwsentry args` with `stdin`, the PWSENTRY_* variables removed and
/// XDG_DATA_HOME in `home`; fails the test if it takes longer than
/// [`DEADLINE`] (a FIFO that hangs it, for one).
fn run_with(home: &Path, args: &[&str], stdin: &str, o: Opts<'_>) -> Out {
    let mut cmd = if o.as_nobody {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin());
        c
    } else if o.umask_000 {
        let mut c = Command::new("sh");
        c.args(["-c", "umask 000; exec \"$0\" \"$@\""]).arg(bin());
        c
    } else {
        Command::new(bin())
    };
    cmd.args(args)
        .current_dir(o.cwd.unwrap_or(home))
        .env_remove("PWSENTRY_POLICY")
        .env_remove("PWSENTRY_DB")
        .env("XDG_DATA_HOME", home.join("xdg"))
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in &o.env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn pwsentry");
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.as_bytes().to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pwsentry {args:?} hung for {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let code = child.wait().unwrap().code().unwrap_or(-1);
    let _ = writer.join();
    Out {
        code,
        stdout,
        stderr,
    }
}

fn run(home: &Path, args: &[&str], stdin: &str) -> Out {
    run_with(home, args, stdin, Opts::default())
}

/// A temporary directory with a fast policy and a database path in it.
struct Env {
    dir: tempfile::TempDir,
    policy: PathBuf,
    db: PathBuf,
}

impl Env {
    fn new(extra: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let policy = write(dir.path(), "policy.toml", format!("{FAST}{extra}"));
        let db = dir.path().join("history.db");
        Env { dir, policy, db }
    }
    fn home(&self) -> &Path {
        self.dir.path()
    }
    /// `--policy` and `--db` of this environment, unless `args` give their own `--db`.
    fn args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut v = vec!["--policy", self.policy.to_str().unwrap()];
        if !args.contains(&"--db") {
            v.extend(["--db", self.db.to_str().unwrap()]);
        }
        v.extend_from_slice(args);
        v
    }
    fn run(&self, args: &[&str], stdin: &str) -> Out {
        run(self.home(), &self.args(args), stdin)
    }
    fn run_with(&self, args: &[&str], stdin: &str, o: Opts<'_>) -> Out {
        run_with(self.home(), &self.args(args), stdin, o)
    }
    fn record(&self, now: &str, account: &str, password: &str) -> Out {
        self.run(
            &["--now", now, "--json", "record", "--account", account],
            &format!("{password}\n"),
        )
    }
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn bytes_of(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_default()
}

fn side(db: &Path, suffix: &str) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn mkfifo(p: &Path) {
    assert!(Command::new("mkfifo").arg(p).status().unwrap().success());
}

// ---- configuration trust ----------------------------------------------------

#[test]
fn a_policy_in_the_current_directory_is_ignored() {
    // Issue 9, reproduction 1: a ./policy.toml that allows `a` and hides
    // every stale account must not apply to whoever runs pwsentry there.
    let cwd = tempfile::tempdir().unwrap();
    write(
        cwd.path(),
        "policy.toml",
        "preset = \"nist-800-63b\"\n[length]\nmin = 1\n[strength]\nmin_score = 0\nblocklists = []\n\
         [composition]\nmin_letters = 0\n[rotation]\nmax_age_days = 0\n",
    );
    let home = tempfile::tempdir().unwrap();
    let opts = || Opts {
        cwd: Some(cwd.path()),
        ..Opts::default()
    };
    let out = run_with(home.path(), &["--json", "check"], "a\n", opts());
    assert_eq!(out.code, 1, "the built-in policy rejects `a`: {out:?}");
    let show = run_with(home.path(), &["--json", "policy", "show"], "", opts());
    assert_eq!(show.code, 0, "{show:?}");
    let system = Path::new("/etc/pwsentry/policy.toml");
    let expected = if system.exists() {
        serde_json::json!(system)
    } else {
        serde_json::Value::Null
    };
    assert_eq!(show.json()["file"], expected, "{show:?}");
    let text = run_with(home.path(), &["policy", "show"], "", opts());
    assert!(
        !text.stdout.contains(&cwd.path().display().to_string()),
        "{text:?}"
    );
}

#[test]
fn policy_show_names_the_file_it_used() {
    let env = Env::new("");
    let file = env.policy.display().to_string();
    let text = run(env.home(), &["--policy", &file, "policy", "show"], "");
    assert!(
        text.stdout
            .starts_with(&format!("# effective policy (from {file})")),
        "{text:?}"
    );
    let json = run(
        env.home(),
        &["--policy", &file, "--json", "policy", "show"],
        "",
    )
    .json();
    assert_eq!(json["file"], serde_json::json!(file));
    assert_eq!(json["policy"]["hashing"]["memory_kib"], 64);
    // $PWSENTRY_POLICY too.
    let by_env = run_with(
        env.home(),
        &["--json", "policy", "show"],
        "",
        Opts {
            env: vec![("PWSENTRY_POLICY", file.clone())],
            ..Opts::default()
        },
    );
    assert_eq!(by_env.json()["file"], serde_json::json!(file));
}

#[test]
fn a_missing_policy_file_exits_78_naming_it() {
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("nowhere/policy.toml");
    let m = missing.to_str().unwrap();
    for args in [
        vec!["--policy", m, "check"],
        vec!["--policy", m, "stale"],
        vec!["--policy", m, "policy", "show"],
    ] {
        let out = run(home.path(), &args, "Velvet#Orbit#Canyon10\n");
        assert_eq!(out.code, 78, "{args:?}: {out:?}");
        assert!(
            out.stderr.contains("policy file") && out.stderr.contains(m),
            "{out:?}"
        );
    }
    let out = run_with(
        home.path(),
        &["check"],
        "x\n",
        Opts {
            env: vec![("PWSENTRY_POLICY", m.to_owned())],
            ..Opts::default()
        },
    );
    assert_eq!(out.code, 78, "{out:?}");
}

#[test]
fn the_store_location_comes_from_db_env_policy_then_a_default() {
    let env = Env::new("[store]\npath = \"data/shared.db\"\n");
    let policy = env.policy.to_str().unwrap();
    // From the policy, relative to the policy file, from any cwd.
    let cwd = tempfile::tempdir().unwrap();
    let out = run_with(
        env.home(),
        &[
            "--policy",
            policy,
            "--now",
            T0,
            "record",
            "--account",
            "a@x.org",
        ],
        &format!("{P1}\n"),
        Opts {
            cwd: Some(cwd.path()),
            ..Opts::default()
        },
    );
    assert_eq!(out.code, 0, "{out:?}");
    let shared = env.home().join("data/shared.db");
    assert!(shared.is_file());
    assert!(!cwd.path().join("data").exists());
    // $PWSENTRY_DB beats the policy, --db beats both.
    let by_env = env.home().join("env.db");
    let out = run_with(
        env.home(),
        &["--policy", policy, "status", "--account", "a@x.org"],
        "",
        Opts {
            env: vec![("PWSENTRY_DB", by_env.display().to_string())],
            ..Opts::default()
        },
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains(&format!("no history database at {}", by_env.display())),
        "{out:?}"
    );
    let out = run(
        env.home(),
        &[
            "--policy",
            policy,
            "--db",
            shared.to_str().unwrap(),
            "--json",
            "status",
            "--account",
            "a@x.org",
        ],
        "",
    );
    assert_eq!(out.json()["history_entries"], 1, "{out:?}");
    // Without any setting: root's system path, everyone else's XDG path
    // (read-only commands name it without creating it).
    let bare = Env::new("");
    let p = bare.policy.to_str().unwrap();
    let out = run(bare.home(), &["--policy", p, "stale"], "");
    let expected = if running_as_root() {
        PathBuf::from("/var/lib/pwsentry/history.db")
    } else {
        bare.home().join("xdg/pwsentry/history.db")
    };
    if !expected.exists() {
        assert!(
            out.stderr
                .contains(&format!("no history database at {}", expected.display())),
            "{out:?}"
        );
    }
    if running_as_root() {
        let out = run_with(
            bare.home(),
            &["--policy", p, "stale"],
            "",
            Opts {
                as_nobody: true,
                ..Opts::default()
            },
        );
        let xdg = bare.home().join("xdg/pwsentry/history.db");
        assert!(
            out.stderr
                .contains(&format!("no history database at {}", xdg.display())),
            "{out:?}"
        );
    }
}

#[test]
fn store_settings_are_validated() {
    let env = Env::new("[store]\npath = \"a.db\"\nurl = \"postgres://host/db\"\n");
    let out = env.run(&["policy", "check"], "");
    assert_eq!(out.code, 78, "{out:?}");
    assert!(out.stderr.contains("not both"), "{out:?}");
    let env = Env::new("[store]\nurl = \"postgres://pw_user:hunter2@host/db\"\n");
    let out = env.run(&["policy", "check"], "");
    assert_eq!(out.code, 78, "{out:?}");
    assert!(
        out.stderr.contains("must not contain a password") && !out.stderr.contains("hunter2"),
        "{out:?}"
    );
    let env = Env::new("[store]\nurl = \"mysql://host/db\"\n");
    assert_eq!(env.run(&["policy", "check"], "").code, 78);
}

// ---- file trust --------------------------------------------------------------

#[test]
fn loose_or_linked_databases_are_refused_and_unchanged() {
    let env = Env::new("");
    assert_eq!(env.record(T0, "a@x.org", P1).code, 0);
    let before = bytes_of(&env.db);
    // Writable by group or others (issue 9, reproduction 5).
    for loose in [0o666, 0o620, 0o602] {
        chmod(&env.db, loose);
        for args in [
            vec!["--now", T0, "record", "--account", "a@x.org"],
            vec!["check", "--account", "a@x.org"],
            vec!["status", "--account", "a@x.org"],
            vec!["stale"],
        ] {
            let out = env.run(&args, &format!("{P2}\n"));
            assert_eq!(out.code, 2, "{loose:o} {args:?}: {out:?}");
            let fix = format!("chmod 600 {}", env.db.display());
            assert!(
                out.stderr.contains("writable by group or others") && out.stderr.contains(&fix),
                "{out:?}"
            );
        }
    }
    chmod(&env.db, 0o600);
    assert_eq!(bytes_of(&env.db), before);
    // A symbolic link to it (or to anything) is not followed.
    let link = env.home().join("link.db");
    std::os::unix::fs::symlink(&env.db, &link).unwrap();
    for args in [
        vec![
            "--db",
            link.to_str().unwrap(),
            "--now",
            T0,
            "record",
            "--account",
            "a@x.org",
        ],
        vec!["--db", link.to_str().unwrap(), "stale"],
    ] {
        let out = env.run(&args, &format!("{P2}\n"));
        assert_eq!(out.code, 2, "{out:?}");
        assert!(out.stderr.contains("symbolic link"), "{out:?}");
    }
    assert_eq!(bytes_of(&env.db), before);
    // Nor a second name (hard link) for it.
    let hard = env.home().join("hard.db");
    std::fs::hard_link(&env.db, &hard).unwrap();
    let out = env.run(&["--db", hard.to_str().unwrap(), "stale"], "");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("2 hard links"), "{out:?}");
    std::fs::remove_file(&hard).unwrap();
    // Nor in a folder where anyone may create files (a `-wal` link planted
    // before pwsentry creates it, in /tmp for one), and nothing is created.
    let open = env.home().join("open");
    std::fs::create_dir(&open).unwrap();
    chmod(&open, 0o1777);
    let planted = open.join("h.db");
    let out = env.run(
        &[
            "--db",
            planted.to_str().unwrap(),
            "--now",
            T0,
            "record",
            "--account",
            "a@x.org",
        ],
        &format!("{P2}\n"),
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("writable by everyone"), "{out:?}");
    assert!(!planted.exists());
    // A FIFO in its place neither hangs nor is used.
    let fifo = env.home().join("fifo.db");
    mkfifo(&fifo);
    let out = env.run(&["--db", fifo.to_str().unwrap(), "stale"], "");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("FIFO"), "{out:?}");
}

#[test]
fn a_policy_owned_by_another_user_is_refused_for_root() {
    // Whoever owns the policy sets the rules for whoever reads it: root's
    // cron must not follow a policy another user may rewrite (mode 0644
    // keeps "others" out, but not its owner).
    if !running_as_root() {
        return; // Handing a file to another user needs root; CI runs as root.
    }
    let env = Env::new("");
    std::os::unix::fs::chown(&env.policy, Some(65534), None).unwrap();
    let out = env.run(&["check"], "Velvet#Orbit#Canyon42\n");
    assert_eq!(out.code, 78, "{out:?}");
    assert!(out.stderr.contains("owned by user id 65534"), "{out:?}");
    // Root's own file shared with a group is fine.
    std::os::unix::fs::chown(&env.policy, Some(0), Some(65534)).unwrap();
    std::fs::set_permissions(&env.policy, std::fs::Permissions::from_mode(0o664)).unwrap();
    let out = env.run(&["check"], "Velvet#Orbit#Canyon42\n");
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn a_database_owned_by_another_user_is_refused_for_root() {
    if !running_as_root() {
        return; // Handing a file to another user needs root; CI runs as root.
    }
    let env = Env::new("");
    assert_eq!(env.record(T0, "a@x.org", P1).code, 0);
    std::os::unix::fs::chown(&env.db, Some(65534), None).unwrap();
    let before = bytes_of(&env.db);
    for args in [
        vec!["--now", T0, "record", "--account", "a@x.org"],
        vec!["stale"],
    ] {
        let out = env.run(&args, &format!("{P2}\n"));
        assert_eq!(out.code, 2, "{out:?}");
        assert!(out.stderr.contains("owned by user id 65534"), "{out:?}");
    }
    assert_eq!(bytes_of(&env.db), before);
}

#[test]
fn wal_and_shm_are_private_and_a_reader_only_user_can_report() {
    let env = Env::new("");
    let out = env.run_with(
        &["--now", T0, "record", "--account", "a@x.org"],
        &format!("{P1}\n"),
        Opts {
            umask_000: true,
            ..Opts::default()
        },
    );
    assert_eq!(out.code, 0, "{out:?}");
    for suffix in ["", "-wal", "-shm"] {
        let p = side(&env.db, suffix);
        assert!(p.exists(), "{} is kept for read-only users", p.display());
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    // A loose -wal left behind is refused too.
    chmod(&side(&env.db, "-wal"), 0o666);
    let out = env.run(&["stale"], "");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("-wal") && out.stderr.contains("chmod 600"),
        "{out:?}"
    );
    chmod(&side(&env.db, "-wal"), 0o600);
    if !running_as_root() {
        return;
    }
    // Root's database, readable by all: `nobody` can report but not write.
    for suffix in ["", "-wal", "-shm"] {
        chmod(&side(&env.db, suffix), 0o644);
    }
    chmod(&env.policy, 0o644);
    let before = bytes_of(&env.db);
    let nobody = || Opts {
        as_nobody: true,
        ..Opts::default()
    };
    let out = env.run_with(&["--json", "stale"], "", nobody());
    assert_eq!(out.code, 1, "stale (recorded in January): {out:?}");
    assert_eq!(out.json()["accounts"][0]["account"], "a@x.org");
    let out = env.run_with(&["--json", "status", "--account", "a@x.org"], "", nobody());
    assert_eq!(out.json()["history_entries"], 1, "{out:?}");
    let out = env.run_with(
        &["--json", "check", "--account", "a@x.org"],
        &format!("{P1}\n"),
        nobody(),
    );
    assert_eq!(out.code, 1, "reuse found by a read-only user: {out:?}");
    let out = env.run_with(
        &["--now", T0, "record", "--account", "b@x.org"],
        &format!("{P2}\n"),
        nobody(),
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(bytes_of(&env.db), before);
}

#[test]
fn pepper_policy_and_blocklist_must_be_trusted_regular_files() {
    let env = Env::new("");
    let pepper = write(env.home(), "pepper", "0123456789abcdef-pepper\n");
    let policy = |extra: &str| write(env.home(), "p.toml", format!("{FAST}{extra}"));
    // A pepper anyone can read is refused (issue 9, reproduction 5).
    chmod(&pepper, 0o644);
    let p = policy("pepper_file = \"pepper\"\n");
    let out = run(
        env.home(),
        &["--policy", p.to_str().unwrap(), "check"],
        "x\n",
    );
    assert_eq!(out.code, 78, "{out:?}");
    assert!(
        out.stderr.contains("readable by others") && out.stderr.contains("chmod 600"),
        "{out:?}"
    );
    chmod(&pepper, 0o660);
    let out = run(
        env.home(),
        &["--policy", p.to_str().unwrap(), "check"],
        "x\n",
    );
    assert!(
        out.stderr.contains("writable by group or others"),
        "{out:?}"
    );
    chmod(&pepper, 0o600);
    let out = run(
        env.home(),
        &["--policy", p.to_str().unwrap(), "check"],
        "x\n",
    );
    assert_eq!(out.code, 1, "a private pepper is fine: {out:?}");
    // FIFOs in place of the pepper, a blocklist or the policy: no hang.
    let fifo = env.home().join("fifo");
    mkfifo(&fifo);
    for (args, what) in [
        (
            vec![
                "--policy".to_owned(),
                policy("pepper_file = \"fifo\"\n").display().to_string(),
                "check".into(),
            ],
            "pepper_file",
        ),
        (
            vec![
                "--policy".to_owned(),
                write(
                    env.home(),
                    "b.toml",
                    format!("{FAST}[strength]\nblocklists = [\"fifo\"]\n"),
                )
                .display()
                .to_string(),
                "check".into(),
            ],
            "blocklist",
        ),
        (
            vec![
                "--policy".to_owned(),
                fifo.display().to_string(),
                "check".into(),
            ],
            "policy file",
        ),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(env.home(), &args, "x\n");
        assert_eq!(out.code, 78, "{what}: {out:?}");
        assert!(
            out.stderr.contains(what) && out.stderr.contains("FIFO"),
            "{what}: {out:?}"
        );
    }
    // A policy or blocklist anyone may write would let anyone switch rules off.
    let loose = write(env.home(), "loose.toml", FAST);
    chmod(&loose, 0o666);
    let out = run(
        env.home(),
        &["--policy", loose.to_str().unwrap(), "check"],
        "x\n",
    );
    assert_eq!(out.code, 78, "{out:?}");
    assert!(out.stderr.contains("chmod o-w"), "{out:?}");
}

#[test]
fn read_only_commands_need_an_existing_database_and_never_create_one() {
    let env = Env::new("");
    let typo = env.home().join("TYPO.db");
    let t = typo.to_str().unwrap();
    // Issue 9: `stale --db TYPO.db` printed nothing and exited 0.
    for args in [
        vec!["--db", t, "stale"],
        vec!["--db", t, "--json", "stale"],
        vec!["--db", t, "status", "--account", "a@x.org"],
    ] {
        let out = env.run(&args, "");
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(
            out.stderr.contains(&format!("no history database at {t}")),
            "{out:?}"
        );
        assert!(out.stdout.is_empty(), "{out:?}");
    }
    let out = env.run(
        &["--db", t, "--json", "check", "--account", "a@x.org"],
        &format!("{P1}\n"),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "one warning line: {out:?}");
    assert!(
        out.stderr.contains("warning: no history database at"),
        "{out:?}"
    );
    assert!(!typo.exists());
}

// ---- time trust ----------------------------------------------------------------

#[test]
fn writes_refuse_a_time_in_the_future() {
    // Issue 9, reproduction 4: `record --now 2099-…` hid the account from
    // `stale` until 2099 and blocked every later change.
    let env = Env::new("[rotation]\nmin_age_days = 1\n");
    let future = "2099-12-31T00:00:00Z";
    for (args, stdin) in [
        (
            vec!["--now", future, "record", "--account", "a@x.org"],
            format!("{P1}\n"),
        ),
        (
            vec!["--now", future, "set", "--account", "a@x.org"],
            format!("{P1}\n{P1}\n"),
        ),
        (
            vec!["--now", future, "import", "--account", "a@x.org"],
            "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA\n"
                .to_owned(),
        ),
        (
            vec!["--now", future, "forget", "--account", "a@x.org"],
            String::new(),
        ),
    ] {
        let out = env.run(&args, &stdin);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(out.stderr.contains("is in the future"), "{out:?}");
        assert!(!env.db.exists(), "{args:?} created the database");
    }
    // A few seconds ahead (clock skew between hosts) is fine, the past too.
    let soon = (chrono::Utc::now() + chrono::TimeDelta::seconds(60)).to_rfc3339();
    assert_eq!(env.record(&soon, "b@x.org", P1).code, 0);
    assert_eq!(env.record(T0, "c@x.org", P1).code, 0);
    // Back-dating is refused too: changes dated before the current
    // password, each "old enough", would flush the history around the
    // minimum age.
    assert_eq!(env.record("2026-03-01T00:00:00Z", "d@x.org", P1).code, 0);
    let out = env.record("2026-02-01T00:00:00Z", "d@x.org", P2);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("before the account's current password"),
        "{out:?}"
    );
    let status = env.run(&["--json", "status", "--account", "d@x.org"], "");
    assert_eq!(status.json()["history_entries"], 1);
    // Reports still take any --now.
    let out = env.run(&["--now", future, "--json", "stale"], "");
    assert_eq!(out.code, 1, "{out:?}");
}

// ---- canonical account ids -------------------------------------------------------

#[test]
fn account_ids_are_canonical() {
    // Issue 9, reproduction 3.
    let env = Env::new("");
    let out = env.record(T0, "alice@example.com", P1);
    assert_eq!(out.code, 0, "{out:?}");
    for spelling in [
        "Alice@Example.com",
        "ALICE@EXAMPLE.COM",
        "alice@Example.Com",
    ] {
        let out = env.run(
            &["--json", "check", "--account", spelling],
            &format!("{P1}\n"),
        );
        assert_eq!(out.code, 1, "{spelling}: {out:?}");
        assert!(out.stdout.contains("\"reuse\""), "{spelling}: {out:?}");
        let status = env.run(&["--json", "status", "--account", spelling], "");
        assert_eq!(status.json()["account"], "alice@example.com");
        assert_eq!(status.json()["history_entries"], 1);
    }
    for (bad, why) in [
        ("", "must not be empty"),
        (" alice@example.com", "white space"),
        ("alice@example.com ", "white space"),
        ("alice\u{202e}moc.elpmaxe@evil", "U+202E"),
        ("ali\u{200b}ce@example.com", "U+200B"),
    ] {
        for args in [
            vec!["--now", T0, "record", "--account", bad],
            vec!["check", "--account", bad],
            vec!["status", "--account", bad],
            vec!["forget", "--account", bad],
        ] {
            let out = env.run(&args, &format!("{P2}\n"));
            assert_eq!(out.code, 2, "{bad:?} {args:?}: {out:?}");
            assert!(
                out.stderr.contains(why) && out.stderr.contains("--account"),
                "{out:?}"
            );
            assert!(
                !out.stderr.contains('\u{202e}') && !out.stderr.contains('\u{200b}'),
                "{out:?}"
            );
        }
    }
    // Case-sensitive local parts, when the policy says so.
    let cs = Env::new("[accounts]\ncase_sensitive_local_part = true\n");
    assert_eq!(cs.record(T0, "Alice@Example.com", P1).code, 0);
    let out = cs.run(&["--json", "status", "--account", "Alice@EXAMPLE.com"], "");
    assert_eq!(out.json()["account"], "Alice@example.com");
    assert_eq!(out.json()["history_entries"], 1);
    let out = cs.run(&["--json", "status", "--account", "alice@example.com"], "");
    assert_eq!(out.json()["history_entries"], 0);
}

/// A database as pwsentry 0.1 (schema 1) wrote it, with these account ids.
fn schema_1_database(path: &Path, accounts: &[&str]) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE accounts (account TEXT PRIMARY KEY NOT NULL, salt BLOB NOT NULL, changed_at INTEGER NOT NULL);
         CREATE INDEX accounts_by_changed_at ON accounts (changed_at, account);
         CREATE TABLE entries (id INTEGER PRIMARY KEY AUTOINCREMENT,
             account TEXT NOT NULL REFERENCES accounts (account) ON DELETE CASCADE,
             set_at INTEGER NOT NULL, hash TEXT NOT NULL, peppered INTEGER NOT NULL CHECK (peppered IN (0, 1)));
         CREATE INDEX entries_by_account ON entries (account, set_at, id);
         PRAGMA user_version = 1;
         PRAGMA application_id = 1886876517;",
    )
    .unwrap();
    for (i, a) in accounts.iter().enumerate() {
        let t = 1_767_225_600 + i as i64;
        conn.execute(
            "INSERT INTO accounts VALUES (?1, x'00112233445566778899aabbccddeeff', ?2)",
            rusqlite::params![a, t],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO entries (account, set_at, hash, peppered) VALUES (?1, ?2, '$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA', 0)",
            rusqlite::params![a, t],
        )
        .unwrap();
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    drop(conn);
    chmod(path, 0o600);
}

fn stored_ids(db: &Path) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT account FROM entries ORDER BY account")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn old_databases_are_migrated_to_canonical_ids_and_collisions_refused() {
    let env = Env::new("");
    schema_1_database(&env.db, &["Alice@Example.COM", "bob@x.org"]);
    // Read-only commands do not migrate; a write does.
    let out = env.record(T0, "carol@x.org", P1);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        stored_ids(&env.db),
        ["alice@example.com", "bob@x.org", "carol@x.org"]
    );
    let out = env.run(&["--json", "status", "--account", "alice@EXAMPLE.com"], "");
    assert_eq!(out.json()["history_entries"], 1, "{out:?}");

    // Two ids that would become one are never merged: the write is refused,
    // both are named (escaped), and the file is left as it was.
    let env = Env::new("");
    schema_1_database(&env.db, &["Dave@x.org", "dave@X.org", "eve\u{202e}@x.org"]);
    let before = bytes_of(&env.db);
    let out = env.record(T0, "frank@x.org", P1);
    assert_eq!(out.code, 2, "{out:?}");
    // Under --json the error is an object on stderr; its message names them.
    let error: serde_json::Value =
        serde_json::from_str(out.stderr.trim()).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    let message = error["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("\"Dave@x.org\", \"dave@X.org\" would all become \"dave@x.org\"")
            && message.contains("eve\\u{202e}@x.org")
            && message.contains("nothing was changed"),
        "{out:?}"
    );
    assert!(!out.stderr.contains('\u{202e}'), "{out:?}");
    assert_eq!(bytes_of(&env.db), before);
    // Until then `stale` still reports, escaping what it cannot print.
    let out = env.run(&["stale"], "");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains("eve\\u{202e}@x.org") && !out.all().contains('\u{202e}'),
        "{out:?}"
    );
    let out = env.run(&["--json", "stale"], "");
    assert!(!out.stdout.contains('\u{202e}'), "{out:?}");
}

// ---- leftovers ---------------------------------------------------------------------

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn forget_leaves_no_id_or_hash_in_the_files() {
    // Issue 9, reproduction 8: `strings` found the forgotten account.
    let env = Env::new("");
    let gone = "zebediah.forgotten@example.com";
    assert_eq!(env.record("2026-01-01T00:00:00Z", gone, P1).code, 0);
    assert_eq!(env.record("2026-03-01T00:00:00Z", gone, P2).code, 0);
    assert_eq!(
        env.record("2026-03-01T00:00:00Z", "kept@example.com", P1)
            .code,
        0
    );
    let (hashes, salt): (Vec<String>, Vec<u8>) = {
        let conn = Connection::open(&env.db).unwrap();
        let mut stmt = conn
            .prepare("SELECT hash FROM entries WHERE account = ?1")
            .unwrap();
        let hashes = stmt
            .query_map([gone], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let salt = conn
            .query_row(
                "SELECT salt FROM accounts WHERE account = ?1",
                [gone],
                |r| r.get(0),
            )
            .unwrap();
        (hashes, salt)
    };
    assert_eq!(hashes.len(), 2);
    let out = env.run(&["forget", "--account", gone], "");
    assert_eq!(out.code, 0, "{out:?}");
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let file = bytes_of(&side(&env.db, suffix));
        assert!(
            !contains(&file, gone.as_bytes()),
            "the id is still in {suffix:?}"
        );
        assert!(
            !contains(&file, b"zebediah"),
            "part of the id is still in {suffix:?}"
        );
        for h in &hashes {
            let digest = h.rsplit('$').next().unwrap();
            assert!(
                !contains(&file, digest.as_bytes()),
                "a hash is still in {suffix:?}"
            );
        }
        assert!(!contains(&file, &salt), "the salt is still in {suffix:?}");
    }
    // The other account is intact.
    let out = env.run(&["--json", "status", "--account", "kept@example.com"], "");
    assert_eq!(out.json()["history_entries"], 1);
}

#[test]
fn core_dumps_are_disabled_before_a_password_is_read() {
    // Issue 9, reproduction 8: a crash during a check wrote a core file
    // holding the password. The process waiting for its password (stdin
    // held open) must already be undumpable with a zero core limit.
    let home = tempfile::tempdir().unwrap();
    let mut cmd = if running_as_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin());
        c
    } else {
        Command::new(bin())
    };
    let mut child = cmd
        .arg("check")
        .current_dir(home.path())
        .env("XDG_DATA_HOME", home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Wait until it blocks reading stdin.
    let start = Instant::now();
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
        if stat.contains(") S ")
            && (wchan.contains("pipe") || start.elapsed() > Duration::from_secs(5))
        {
            break;
        }
        assert!(start.elapsed() < DEADLINE, "never waited for stdin");
        std::thread::sleep(Duration::from_millis(20));
    }
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(&fields[4..6], ["0", "0"], "{core}");
    if running_as_root() {
        // An undumpable process's /proc files belong to root, not to the
        // user it runs as.
        let owner = std::fs::metadata(format!("/proc/{pid}/status"))
            .unwrap()
            .uid();
        assert_eq!(owner, 0, "the process is still dumpable");
    }
    child.stdin.take().unwrap().write_all(b"x\n").unwrap();
    child.wait().unwrap();
}

#[test]
fn an_unexpected_argument_is_never_echoed() {
    // Issue 9, reproduction 8: `pwsentry check hunter2` printed it back.
    let home = tempfile::tempdir().unwrap();
    let marker = "Sekr1t-Marker-4417";
    let double = format!("--{marker}");
    for args in [
        vec!["check", marker],
        vec![marker],
        vec!["record", "--account", "a@x.org", marker],
        vec!["check", double.as_str()],
        vec!["--json", "set", "--account", "a@x.org", marker],
    ] {
        let out = run(home.path(), &args, "");
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(!out.all().contains(marker), "{args:?} echoed: {out:?}");
        assert!(
            out.stderr.contains(
                "passwords are read from standard input or the prompt, never from arguments"
            ),
            "{out:?}"
        );
    }
    // A typo of an option still gets a hint (our own option name).
    let out = run(home.path(), &["check", "--acount", "a@x.org"], "");
    assert!(out.stderr.contains("did you mean '--account'"), "{out:?}");
}

/// A small tmpfs, unmounted when dropped (before its mount point's
/// temporary folder is removed).
struct Tmpfs {
    point: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(kib: u32) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let point = dir.path().join("mnt");
        std::fs::create_dir(&point).unwrap();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={kib}k,mode=0755"),
                "tmpfs",
            ])
            .arg(&point)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs { point, _dir: dir })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.point).status();
    }
}

#[test]
fn a_full_disk_says_so_and_loses_nothing() {
    // Issue 9, reproduction 8: "disk I/O error" instead of "disk full".
    if !running_as_root() {
        return; // Mounting a small tmpfs needs root; CI runs as root.
    }
    let Some(fs) = Tmpfs::mount(512) else {
        panic!("running as root but cannot mount a tmpfs for the full-disk test");
    };
    let env = Env::new("");
    let db = fs.point.join("history.db");
    let d = db.to_str().unwrap();
    let record = |now: &str, account: &str, pw: &str| {
        env.run(
            &[
                "--db",
                d,
                "--now",
                now,
                "--json",
                "record",
                "--account",
                account,
            ],
            &format!("{pw}\n"),
        )
    };
    let first = record(T0, "a@x.org", P1);
    assert_eq!(first.code, 0, "{first:?}");
    let before = env.run(&["--db", d, "--json", "stale"], "").stdout;
    // Fill the file system up.
    let filler = fs.point.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0x5au8; 4096];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
    drop(f);
    let mut refused = None;
    for i in 0..20 {
        let out = record("2026-02-10T12:00:00Z", &format!("user{i}@x.org"), P2);
        if out.code != 0 {
            refused = Some(out);
            break;
        }
    }
    let out = refused.expect("a write on a full disk must fail");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("disk full"), "{out:?}");
    // Space again: nothing recorded before is lost, and writing works.
    std::fs::remove_file(&filler).unwrap();
    let after = env.run(&["--db", d, "--json", "stale"], "");
    let accounts = |s: &str| -> Vec<serde_json::Value> {
        serde_json::from_str::<serde_json::Value>(s).unwrap()["accounts"]
            .as_array()
            .unwrap()
            .clone()
    };
    assert!(
        accounts(&after.stdout).len() >= accounts(&before).len(),
        "{after:?}"
    );
    assert!(after.stdout.contains("a@x.org"));
    let conn = Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(conn);
    assert_eq!(record("2026-02-11T12:00:00Z", "late@x.org", P2).code, 0);
}

// ---- history flushing ------------------------------------------------------------

#[test]
fn the_shipped_policy_stops_five_quick_changes_then_the_old_password() {
    // Issue 9, reproduction 7: with min_age_days = 0, five records in
    // seven minutes flushed the history and the original came back.
    let shipped = std::fs::read_to_string(root().join("policy.toml")).unwrap();
    let fast = shipped
        .replace("memory_kib = 19456", "memory_kib = 64")
        .replace(
            "iterations = 2",
            "iterations = 1\nallow_weak_parameters = true",
        );
    assert_ne!(fast, shipped);
    let flush = |policy_text: &str| -> (Vec<i32>, Out) {
        let env = Env::new("");
        std::fs::write(&env.policy, policy_text).unwrap();
        assert_eq!(env.record("2026-03-01T09:00:00Z", "a@x.org", P1).code, 0);
        let codes = [
            "Copper#Falcon#Ridge21",
            "Silent$Harbor$Maple32",
            "Amber!Glacier!Lynx43",
            "Woven@Thistle@Brook54",
            "Crimson%Atlas%Dune65",
        ]
        .iter()
        .enumerate()
        .map(|(i, pw)| {
            env.record(&format!("2026-03-01T09:0{}:00Z", i + 1), "a@x.org", pw)
                .code
        })
        .collect();
        // A day later, once the minimum age allows a change at all.
        (codes, env.record("2026-03-02T09:07:00Z", "a@x.org", P1))
    };
    let (codes, original) = flush(&fast);
    assert_eq!(
        codes,
        [1, 1, 1, 1, 1],
        "min_age_days = 1 refuses quick changes"
    );
    assert_eq!(original.code, 1, "{original:?}");
    assert!(original.stdout.contains("\"reuse\""), "{original:?}");
    // Without the minimum age, the same sequence gets the original back.
    let (codes, original) = flush(&fast.replace("min_age_days = 1", "min_age_days = 0"));
    assert_eq!(codes, [0, 0, 0, 0, 0]);
    assert_eq!(original.code, 0, "{original:?}");
}

// ---- found by attacking the trust boundaries as an outsider --------------------

/// Lists `dir` (names only), to see what a refused run left behind.
fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_store_location_that_looks_like_a_url_is_refused_not_used_elsewhere() {
    // The bundled SQLite reads `file:` names as URIs: pwsentry checked (and
    // created) `./file:/…/h.db` while SQLite wrote into the other file, in a
    // folder anyone may write and owned by another user, past every check.
    let env = Env::new("");
    let open = env.home().join("open");
    std::fs::create_dir(&open).unwrap();
    let theirs = open.join("h.db");
    assert_eq!(
        env.run(
            &[
                "--db",
                theirs.to_str().unwrap(),
                "--now",
                T0,
                "record",
                "--account",
                "a@x.org"
            ],
            &format!("{P1}\n")
        )
        .code,
        0
    );
    chmod(&open, 0o1777);
    chmod(&theirs, 0o666);
    let before = bytes_of(&theirs);
    let cwd = tempfile::tempdir().unwrap();
    let uri = format!("file:{}", theirs.display());
    for location in [
        uri.as_str(),
        "file:h.db?mode=memory",
        "http://store.example/h.db",
        "sqlite:///var/lib/pwsentry/history.db",
    ] {
        for (args, via_env) in [
            (
                vec![
                    "--db",
                    location,
                    "--now",
                    T0,
                    "record",
                    "--account",
                    "b@x.org",
                ],
                false,
            ),
            (vec!["--now", T0, "record", "--account", "b@x.org"], true),
            (vec!["--db", location, "stale"], false),
        ] {
            let mut args = args;
            args.splice(0..0, ["--policy", env.policy.to_str().unwrap()]);
            let o = Opts {
                cwd: Some(cwd.path()),
                env: if via_env {
                    vec![("PWSENTRY_DB", location.to_owned())]
                } else {
                    vec![]
                },
                ..Opts::default()
            };
            let out = run_with(env.home(), &args, &format!("{P2}\n"), o);
            assert_eq!(out.code, 2, "{location} {args:?}: {out:?}");
            assert!(
                out.stderr.contains("SQLite URI") || out.stderr.contains("not a supported URL"),
                "{location}: {out:?}"
            );
        }
    }
    assert_eq!(bytes_of(&theirs), before, "the other file is untouched");
    assert!(
        names_in(cwd.path()).is_empty(),
        "nothing created: {:?}",
        names_in(cwd.path())
    );
}

#[test]
fn sqlite_special_names_are_plain_files() {
    // `:memory:` used to be opened as an in-memory database (refused only
    // because it has no write-ahead log, after leaving an empty file
    // behind); a name given as a path is a file, whatever it spells.
    let env = Env::new("");
    let cwd = tempfile::tempdir().unwrap();
    chmod(cwd.path(), 0o700);
    let o = || Opts {
        cwd: Some(cwd.path()),
        ..Opts::default()
    };
    for name in [":memory:", "./file:h.db"] {
        let out = env.run_with(
            &[
                "--db",
                name,
                "--now",
                T0,
                "--json",
                "record",
                "--account",
                "a@x.org",
            ],
            &format!("{P1}\n"),
            o(),
        );
        assert_eq!(out.code, 0, "{name}: {out:?}");
        let out = env.run_with(
            &[
                "--db",
                name,
                "--now",
                T0,
                "--json",
                "status",
                "--account",
                "a@x.org",
            ],
            "",
            o(),
        );
        assert_eq!(out.code, 0, "{name}: {out:?}");
        assert_eq!(
            out.json()["history_entries"],
            1,
            "{name}: the history is in the file: {out:?}"
        );
        let file = cwd.path().join(name);
        assert_eq!(mode(&file), 0o600, "{name}");
        assert!(std::fs::metadata(&file).unwrap().len() > 0, "{name}");
    }
}

#[test]
fn a_reader_without_the_shared_memory_file_is_told_how_to_fix_it() {
    // A database restored from a backup (or last closed by the sqlite3
    // shell) has no -wal/-shm; a user who may only read it could not
    // report, and was told "the database is read-only".
    if !running_as_root() {
        return; // Running as another user needs root; CI runs as root.
    }
    let env = Env::new("");
    assert_eq!(env.record(T0, "a@x.org", P1).code, 0);
    chmod(&env.db, 0o644);
    for suffix in ["-wal", "-shm"] {
        std::fs::remove_file(side(&env.db, suffix)).unwrap();
    }
    let nobody = || Opts {
        as_nobody: true,
        ..Opts::default()
    };
    let out = env.run_with(&["stale"], "", nobody());
    assert_eq!(out.code, 2, "{out:?}");
    let fix = format!("pwsentry --db {} store migrate", env.db.display());
    assert!(
        out.stderr.contains("-shm file is missing") && out.stderr.contains(&fix),
        "{out:?}"
    );
    assert!(!side(&env.db, "-shm").exists(), "a reader creates nothing");
    // The fix it names works.
    let out = env.run(&["store", "migrate"], "");
    assert_eq!(out.code, 0, "{out:?}");
    let out = env.run_with(&["--now", T0, "--json", "stale"], "", nobody());
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn a_filter_file_everyone_may_write_is_refused() {
    // The breach filter was opened without the policy's file rules: a 0666
    // filter was used, so any local user could empty it and switch the
    // breach check off for everyone. Blocklist filters likewise.
    let env = Env::new("");
    let list = write(env.home(), "list.txt", format!("{P1}\n"));
    let cases = [
        (
            "breach",
            "breach.pwsf",
            "[breach]\nfilter = \"breach.pwsf\"\n",
            "breached",
        ),
        (
            "blocklist",
            "block.pwsf",
            "[strength]\nblocklists = [\"block.pwsf\"]\n",
            "blocklist",
        ),
    ];
    for (command, name, section, rule) in cases {
        let filter = env.home().join(name);
        let out = run(
            env.home(),
            &[
                command,
                "build",
                "-o",
                filter.to_str().unwrap(),
                list.to_str().unwrap(),
            ],
            "",
        );
        assert_eq!(out.code, 0, "{out:?}");
        let policy = write(
            env.home(),
            &format!("{command}.toml"),
            format!("{FAST}{section}"),
        );
        let check = || {
            run(
                env.home(),
                &["--policy", policy.to_str().unwrap(), "--json", "check"],
                &format!("{P1}\n"),
            )
        };
        chmod(&filter, 0o644);
        let out = check();
        assert_eq!(out.code, 1, "{out:?}");
        let rules: Vec<String> = out.json()["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["rule"].as_str().unwrap().to_owned())
            .collect();
        assert!(rules.iter().any(|r| r == rule), "{rules:?}");
        chmod(&filter, 0o666);
        let out = check();
        assert_eq!(out.code, 78, "{name}: {out:?}");
        let fix = format!("chmod o-w {}", filter.display());
        assert!(
            out.stderr.contains("writable by others") && out.stderr.contains(&fix),
            "{name}: {out:?}"
        );
        // A FIFO in its place neither hangs nor is used.
        std::fs::remove_file(&filter).unwrap();
        mkfifo(&filter);
        let out = check();
        assert_eq!(out.code, 78, "{name}: {out:?}");
    }
}
