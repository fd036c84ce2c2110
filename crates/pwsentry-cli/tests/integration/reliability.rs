//! Reliability with real processes on one store: many `record`
//! processes at once lose nothing, and `record` processes killed with
//! SIGKILL at random moments leave a sound database that still holds every
//! record that was reported as done. Run here on SQLite; `postgres.rs` runs
//! the same races on PostgreSQL through [`Backend`].

use crate::util::{bin, write};
use pwsentry::Policy;
use pwsentry::store::{AccountHistory, SqliteStore, Store};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Fast argon2 (tests only), nothing pruned, no near-reuse or strength
/// rule: every distinct password is accepted, so every refusal would be a
/// reliability failure, not a policy decision.
pub(crate) const POLICY: &str = "[hashing]\nmemory_kib = 64\niterations = 1\nallow_weak_parameters = true\n\
                      [history]\nremember = 1000\nreject_similar = false\n\
                      [strength]\nmin_score = 0\n";

const NOW: &str = "2026-01-31T12:00:00Z";

/// A distinct password for (worker, call): the two numbers sit between
/// words, so no two are equal and none is on any list.
fn password(worker: usize, call: usize) -> String {
    format!("Velvet#{worker}#Orbit#{call}#Canyon")
}

/// The store the races run on: where `--db` points, how the test reads it
/// back, and its own soundness check.
pub(crate) trait Backend: Sync {
    /// The `--db` argument.
    fn db_arg(&self) -> OsString;
    /// The store, read back by the test.
    fn open(&self) -> Box<dyn Store>;
    /// Every entry of every account.
    fn total_entries(&self) -> usize;
    /// Panics if the store is damaged.
    fn assert_sound(&self);
}

struct Sqlite(PathBuf);

impl Backend for Sqlite {
    fn db_arg(&self) -> OsString {
        self.0.clone().into_os_string()
    }
    fn open(&self) -> Box<dyn Store> {
        Box::new(
            SqliteStore::open_existing(&self.0)
                .unwrap()
                .expect("the database exists"),
        )
    }
    fn total_entries(&self) -> usize {
        let conn = rusqlite::Connection::open(&self.0).unwrap();
        let total: i64 = conn
            .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
            .unwrap();
        total as usize
    }
    fn assert_sound(&self) {
        assert_eq!(integrity_check(&self.0), "ok");
    }
}

fn spawn_record(
    dir: &Path,
    policy: &Path,
    db: &dyn AsRef<std::ffi::OsStr>,
    account: &str,
    password: &str,
) -> Child {
    let mut child = Command::new(bin())
        .arg("--policy")
        .arg(policy)
        .arg("--db")
        .arg(db)
        .args(["--now", NOW, "--json", "record", "--account", account])
        .current_dir(dir)
        .env_remove("PWSENTRY_POLICY")
        .env_remove("PWSENTRY_DB")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pwsentry record");
    let mut stdin = child.stdin.take().expect("stdin");
    // A killed child closes the pipe: a failed write is expected then.
    let _ = stdin.write_all(format!("{password}\n").as_bytes());
    child
}

/// How one `record` process ended.
#[derive(Debug)]
enum Ended {
    /// Exit 0 and `"recorded": true`.
    Recorded,
    /// Any other exit, with its stderr.
    Failed { code: Option<i32>, stderr: String },
    /// Killed by the test before it finished.
    Killed,
}

fn finish(child: Child) -> Ended {
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let recorded = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .any(|v| v["recorded"] == true);
    match out.status.code() {
        Some(0) if recorded => Ended::Recorded,
        None => Ended::Killed,
        code => Ended::Failed {
            code,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        },
    }
}

fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "policy.toml", POLICY);
    let db = dir.path().join("history.db");
    (dir, policy, db)
}

fn integrity_check(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
        .unwrap()
}

/// Asserts that each password in `recorded` is in its account's history
/// (the history rules report it as reused), and returns the number of
/// entries of each account.
fn assert_present(
    policy: &Path,
    store: &dyn Store,
    recorded: &BTreeMap<String, Vec<String>>,
) -> BTreeMap<String, usize> {
    let policy = Policy::from_file(policy).unwrap();
    let mut counts = BTreeMap::new();
    for (account, passwords) in recorded {
        let history = store
            .history(account)
            .unwrap()
            .unwrap_or_else(|| panic!("{account} has no history"));
        for pw in passwords {
            assert!(
                in_history(&policy, &history, pw),
                "{account}: a password whose record succeeded is missing from the history"
            );
        }
        counts.insert(account.clone(), history.entries().len());
    }
    counts
}

/// Asserts that no password in `refused` is in its account's history.
fn assert_absent(policy: &Path, store: &dyn Store, refused: &BTreeMap<String, Vec<String>>) {
    let policy = Policy::from_file(policy).unwrap();
    for (account, passwords) in refused {
        let Some(history) = store.history(account).unwrap() else {
            continue;
        };
        for pw in passwords {
            assert!(
                !in_history(&policy, &history, pw),
                "{account}: a refused record was stored anyway"
            );
        }
    }
}

/// Whether `pw` is stored in `history`: hashed natively (the account's
/// salt, the policy's parameters), it equals an entry.
fn in_history(policy: &Policy, history: &AccountHistory, pw: &str) -> bool {
    let hash = pwsentry::history::hash_password(policy, history.salt(), pw)
        .unwrap()
        .to_string();
    history.entries().iter().any(|e| e.hash() == hash)
}

#[test]
fn eight_processes_recording_at_once_lose_nothing() {
    let (dir, policy, db) = setup();
    eight_processes_recording(dir.path(), &policy, &Sqlite(db));
}

/// 8 processes × 50 `record`, alternately on one shared account and on
/// their own: every success is stored, nothing else, counts exact.
pub(crate) fn eight_processes_recording(dir: &Path, policy: &Path, backend: &dyn Backend) {
    const WORKERS: usize = 8;
    const CALLS: usize = 50;
    let db = backend.db_arg();
    // The database exists before the race starts: creating it concurrently
    // is a separate case (`first_use_by_many_processes_at_once`).
    let first = finish(spawn_record(
        dir,
        policy,
        &db,
        "origin@example.com",
        "First#Of#All#Pass1",
    ));
    assert!(matches!(first, Ended::Recorded), "{first:?}");
    let started = Instant::now();
    // Worker w records alternately for the shared account and its own.
    let account = |w: usize, call: usize| {
        if call.is_multiple_of(2) {
            "shared@example.com".to_owned()
        } else {
            format!("user{w}@example.com")
        }
    };
    let results: Vec<Vec<(String, String, Ended)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..WORKERS)
            .map(|w| {
                let db = &db;
                s.spawn(move || {
                    (0..CALLS)
                        .map(|call| {
                            let (acct, pw) = (account(w, call), password(w, call));
                            let ended = finish(spawn_record(dir, policy, db, &acct, &pw));
                            (acct, pw, ended)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker"))
            .collect()
    });
    let mut recorded: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut refused: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut failures = Vec::new();
    for (acct, pw, ended) in results.into_iter().flatten() {
        match ended {
            Ended::Recorded => recorded.entry(acct).or_default().push(pw),
            // The one acceptable failure: a clear "busy, try again" (exit 2)
            // when the retries ran out. It must then have recorded nothing.
            Ended::Failed {
                code: Some(2),
                stderr,
            } if stderr.trim()
                == "pwsentry: error: history store is busy (another process is recording); try again"
                || stderr.trim()
                    == r#"{"error":{"code":"store_busy","message":"history store is busy (another process is recording); try again"}}"# =>
            {
                refused.entry(acct).or_default().push(pw)
            }
            other => failures.push(format!("{acct}: {other:?}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} records failed unclearly:\n{}",
        failures.len(),
        WORKERS * CALLS,
        failures.join("\n")
    );
    backend.assert_sound();
    let store = backend.open();
    let counts = assert_present(policy, &*store, &recorded);
    let done = |a: &str| recorded.get(a).map_or(0, Vec::len);
    for (account, n) in &counts {
        assert_eq!(
            *n,
            done(account),
            "{account}: the history count is not the number of records that succeeded"
        );
    }
    let total = backend.total_entries();
    let succeeded: usize = recorded.values().map(Vec::len).sum();
    assert_eq!(total, succeeded + 1, "no extra entries");
    assert_absent(policy, &*store, &refused);
    let busy: usize = refused.values().map(Vec::len).sum();
    // Own accounts have no competing writer for the same history, so a
    // busy refusal there would mean the database lock itself timed out.
    assert!(
        refused.keys().all(|a| a == "shared@example.com"),
        "busy on an uncontended account: {refused:?}"
    );
    assert!(
        busy <= WORKERS * CALLS / 20,
        "{busy} of {} records refused as busy",
        WORKERS * CALLS
    );
    eprintln!(
        "{succeeded} records, {busy} refused as busy, by {WORKERS} processes at a time in {:?}",
        started.elapsed()
    );
}

#[test]
fn records_killed_at_random_moments_leave_a_sound_database() {
    let (dir, policy, db) = setup();
    records_killed_at_random_moments(dir.path(), &policy, &Sqlite(db));
}

/// `record` processes killed with SIGKILL at random moments: the store
/// stays sound, holds every record reported done, and takes writes after.
pub(crate) fn records_killed_at_random_moments(dir: &Path, policy: &Path, backend: &dyn Backend) {
    const ROUNDS: usize = 30;
    const AT_ONCE: usize = 3;
    let db = backend.db_arg();
    let mut rng = StdRng::seed_from_u64(0x5eed_c4a5);
    // How long one record takes here, so that kills land across its whole
    // life: start-up, evaluation, the write transaction, exit.
    let t = Instant::now();
    assert!(matches!(
        finish(spawn_record(
            dir,
            policy,
            &db,
            "warmup@example.com",
            "Warm#Up#Pass#1"
        )),
        Ended::Recorded
    ));
    let lifetime = t.elapsed().max(Duration::from_millis(20));
    let mut recorded: BTreeMap<String, Vec<String>> = BTreeMap::new();
    recorded.insert("warmup@example.com".into(), vec!["Warm#Up#Pass#1".into()]);
    let (mut killed, mut failures) = (0usize, Vec::new());
    for round in 0..ROUNDS {
        let batch: Vec<(String, String, Child)> = (0..AT_ONCE)
            .map(|i| {
                let acct = format!("crash{}@example.com", rng.random_range(0..3));
                let pw = password(round, i);
                let child = spawn_record(dir, policy, &db, &acct, &pw);
                (acct, pw, child)
            })
            .collect();
        let wait = lifetime.mul_f64(rng.random_range(0.0..1.5));
        std::thread::sleep(wait);
        for (acct, pw, mut child) in batch {
            // Kill some, let the others finish: `kill` is SIGKILL on Unix,
            // and does nothing to a process that has already exited.
            if rng.random_bool(0.7) {
                let _ = child.kill();
            }
            match finish(child) {
                Ended::Recorded => recorded.entry(acct).or_default().push(pw),
                Ended::Killed => killed += 1,
                Ended::Failed { code, stderr } => {
                    failures.push(format!("{acct}: exit {code:?}: {stderr}"))
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "records that were not killed failed:\n{}",
        failures.join("\n")
    );
    assert!(
        killed >= ROUNDS / 2,
        "only {killed} processes were killed: the kills came too late"
    );
    backend.assert_sound();
    let counts = assert_present(policy, &*backend.open(), &recorded);
    for (account, n) in &counts {
        let done = recorded[account].len();
        assert!(
            *n >= done,
            "{account}: {n} entries, but {done} records succeeded"
        );
    }
    // The database is still usable for writes after all those kills.
    let after = finish(spawn_record(
        dir,
        policy,
        &db,
        "crash0@example.com",
        "After#The#Storm#9",
    ));
    assert!(matches!(after, Ended::Recorded), "{after:?}");
    backend.assert_sound();
    let success: usize = recorded.values().map(Vec::len).sum();
    eprintln!("{success} records done, {killed} killed");
}

#[test]
fn first_use_by_many_processes_at_once() {
    // Eight processes find no database and create it at the same moment.
    // SqliteStore::connect inspects the file (user_version, application_id,
    // tables) in three separate reads; when another process commits its
    // migration between them, the file looks like "an SQLite database, but
    // not a pwsentry history database".
    const ROUNDS: usize = 30;
    const AT_ONCE: usize = 8;
    let mut failures = Vec::new();
    for round in 0..ROUNDS {
        let (dir, policy, db) = setup();
        let children: Vec<Child> = (0..AT_ONCE)
            .map(|w| {
                let account = format!("user{w}@example.com");
                spawn_record(dir.path(), &policy, &db, &account, &password(w, round))
            })
            .collect();
        for child in children {
            match finish(child) {
                Ended::Recorded => {}
                other => failures.push(format!("round {round}: {other:?}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} first records failed:\n{}",
        failures.len(),
        ROUNDS * AT_ONCE,
        failures.join("\n")
    );
}
