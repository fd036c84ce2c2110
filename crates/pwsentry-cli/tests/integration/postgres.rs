//! The `pwsentry` binary on a real PostgreSQL server (started by the
//! shared harness, one server for this test binary, a database per test):
//! store selection by URL, `store migrate|copy`, the reliability races with
//! exact counts, and bad input (exit 2, a clear error, never the password).

#[path = "../../../../tests/support/pg_server.rs"]
mod pg_server;

use crate::reliability::{self, Backend};
use crate::util::{pwsentry, write};
use pg_server::{PASSWORD, PgServer, server};
use pwsentry::store::{PostgresConfig, PostgresStore, Store};
use std::ffi::OsString;

const NOW: &str = "2026-01-31T12:00:00Z";

fn os(args: &[&std::ffi::OsStr]) -> Vec<OsString> {
    args.iter().map(|a| a.to_os_string()).collect()
}

struct Postgres {
    pg: &'static PgServer,
    db: String,
}

impl Postgres {
    fn new(prefix: &str) -> Postgres {
        let pg = server();
        Postgres {
            pg,
            db: pg.database(prefix),
        }
    }
    fn url(&self) -> String {
        self.pg.url(&self.db)
    }
    fn sql(&self, sql: &str) -> String {
        self.pg.psql(&self.db, sql)
    }
}

impl Backend for Postgres {
    fn db_arg(&self) -> OsString {
        self.url().into()
    }
    fn open(&self) -> Box<dyn Store> {
        Box::new(
            PostgresStore::open_existing(&PostgresConfig::from_url(&self.url()).unwrap())
                .unwrap()
                .expect("the schema exists"),
        )
    }
    fn total_entries(&self) -> usize {
        self.sql("SELECT count(*) FROM pwsentry.entries")
            .parse()
            .unwrap()
    }
    fn assert_sound(&self) {
        // Every account has entries and its change time is their newest.
        let bad = self.sql(
            "SELECT count(*) FROM pwsentry.accounts a
              WHERE a.changed_at IS DISTINCT FROM
                    (SELECT max(set_at) FROM pwsentry.entries e WHERE e.account = a.account)",
        );
        assert_eq!(
            bad, "0",
            "accounts whose changed_at is not their newest entry"
        );
    }
}

fn policy(dir: &std::path::Path) -> std::path::PathBuf {
    write(dir, "policy.toml", reliability::POLICY)
}

/// Runs `pwsentry` with the URL in `$PWSENTRY_DB` and the password in
/// `$PGPASSWORD` (neither in argv).
fn run(pg: &Postgres, args: &[&str], stdin: &str) -> crate::util::Output {
    let dir = tempfile::tempdir().unwrap();
    let policy = policy(dir.path());
    let mut argv = os(&["--policy".as_ref(), policy.as_os_str()]);
    argv.extend(args.iter().map(OsString::from));
    let out = pwsentry(argv)
        .env("PWSENTRY_DB", pg.pg.url_without_password(&pg.db))
        .env("PGPASSWORD", PASSWORD)
        .stdin(stdin)
        .run();
    assert!(!out.stdout.contains(PASSWORD) && !out.stderr.contains(PASSWORD));
    out
}

#[test]
fn commands_work_against_postgres() {
    let pg = Postgres::new("cli");
    let out = run(
        &pg,
        &[
            "--json",
            "--now",
            NOW,
            "record",
            "--account",
            "alice@example.com",
        ],
        "Velvet#Orbit#Canyon10\n",
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["recorded"], true);
    let out = run(
        &pg,
        &[
            "--json",
            "--now",
            NOW,
            "check",
            "--account",
            "alice@example.com",
        ],
        "Velvet#Orbit#Canyon10\n",
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.rules().contains(&"reuse".to_owned()), "{out:?}");
    let out = run(
        &pg,
        &["--json", "--now", "2026-12-31T00:00:00Z", "stale"],
        "",
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.json()["accounts"][0]["account"], "alice@example.com");
    let out = run(
        &pg,
        &[
            "--json",
            "--now",
            NOW,
            "status",
            "--account",
            "alice@example.com",
        ],
        "",
    );
    assert_eq!(out.json()["history_entries"], 1, "{out:?}");
    let out = run(
        &pg,
        &["--json", "forget", "--account", "alice@example.com"],
        "",
    );
    assert_eq!(out.json()["forgotten"], true, "{out:?}");
    assert_eq!(pg.sql("SELECT count(*) FROM pwsentry.entries"), "0");
}

#[test]
fn read_only_commands_create_nothing() {
    let pg = Postgres::new("ro");
    // A report on a database without pwsentry's schema is an error (cron
    // must hear of a wrong URL), as for a missing SQLite file.
    let out = run(&pg, &["--json", "--now", NOW, "stale"], "");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("no history database"), "{out:?}");
    let out = run(
        &pg,
        &[
            "--json",
            "--now",
            NOW,
            "check",
            "--account",
            "a@example.com",
        ],
        "Velvet#Orbit#Canyon10\n",
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        pg.sql("SELECT count(*) FROM pg_namespace WHERE nspname = 'pwsentry'"),
        "0"
    );
    let out = run(&pg, &["store", "migrate"], "");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("schema version 3, up to date"),
        "{out:?}"
    );
    assert_eq!(pg.sql("SELECT version FROM pwsentry.schema_version"), "3");
}

#[test]
fn eight_processes_recording_at_once_lose_nothing_on_postgres() {
    let pg = Postgres::new("race");
    let dir = tempfile::tempdir().unwrap();
    reliability::eight_processes_recording(dir.path(), &policy(dir.path()), &pg);
}

#[test]
fn records_killed_at_random_moments_on_postgres() {
    let pg = Postgres::new("kill");
    let dir = tempfile::tempdir().unwrap();
    reliability::records_killed_at_random_moments(dir.path(), &policy(dir.path()), &pg);
}

#[test]
fn store_copy_moves_everything_both_ways() {
    let pg = Postgres::new("copy");
    let dir = tempfile::tempdir().unwrap();
    let policy = policy(dir.path());
    let sqlite = dir.path().join("from.db");
    for (account, pw) in [
        ("a@x.org", "Velvet#1#Orbit#Canyon"),
        ("b@x.org", "Velvet#2#Orbit#Canyon"),
        ("a@x.org", "Velvet#3#Orbit#Canyon"),
    ] {
        let out = pwsentry(os(&[
            "--policy".as_ref(),
            policy.as_os_str(),
            "--db".as_ref(),
            sqlite.as_os_str(),
            "--now".as_ref(),
            NOW.as_ref(),
            "record".as_ref(),
            "--account".as_ref(),
            account.as_ref(),
        ]))
        .stdin(format!("{pw}\n"))
        .run();
        assert_eq!(out.code, 0, "{out:?}");
    }
    let copy = |from: &std::ffi::OsStr, to: &std::ffi::OsStr| {
        pwsentry(os(&[
            "--json".as_ref(),
            "store".as_ref(),
            "copy".as_ref(),
            "--from".as_ref(),
            from,
            "--to".as_ref(),
            to,
        ]))
        .env("PGPASSWORD", PASSWORD)
        .run()
    };
    let url = pg.pg.url_without_password(&pg.db);
    let out = copy(sqlite.as_os_str(), url.as_ref());
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        (
            out.json()["accounts"].clone(),
            out.json()["entries"].clone()
        ),
        (2.into(), 3.into())
    );
    assert_eq!(pg.sql("SELECT count(*) FROM pwsentry.entries"), "3");
    // The copied history works: the first password is still a reuse.
    let out = run(
        &pg,
        &["--json", "--now", NOW, "check", "--account", "a@x.org"],
        "Velvet#1#Orbit#Canyon\n",
    );
    assert!(out.rules().contains(&"reuse".to_owned()), "{out:?}");
    // Into a store that holds accounts: refused, nothing changed.
    let out = copy(sqlite.as_os_str(), url.as_ref());
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("already holds 2 accounts")
            && out.stderr.contains("nothing was copied"),
        "{out:?}"
    );
    assert_eq!(pg.sql("SELECT count(*) FROM pwsentry.entries"), "3");
    // Back into a new SQLite file.
    let back = dir.path().join("back.db");
    let out = copy(url.as_ref(), back.as_os_str());
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["entries"], 3);
    // The same store twice, and a source that does not exist.
    let out = copy(url.as_ref(), url.as_ref());
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("same store"), "{out:?}");
    let out = copy(
        dir.path().join("none.db").as_os_str(),
        dir.path().join("new.db").as_os_str(),
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("does not exist"), "{out:?}");
    assert!(!dir.path().join("new.db").exists());
}

/// Runs `record` with `--db URL` and asserts exit 2, an error naming the
/// problem, no password anywhere in the output.
fn refused(url: &str, expect: &str) {
    let dir = tempfile::tempdir().unwrap();
    let policy = policy(dir.path());
    let out = pwsentry(os(&[
        "--policy".as_ref(),
        policy.as_os_str(),
        "--db".as_ref(),
        url.as_ref(),
        "--now".as_ref(),
        NOW.as_ref(),
        "record".as_ref(),
        "--account".as_ref(),
        "x@example.com".as_ref(),
    ]))
    .stdin("Velvet#Orbit#Canyon10\n")
    .run();
    assert_eq!(out.code, 2, "{url}: {out:?}");
    assert!(out.stderr.contains(expect), "{url}: {out:?}");
    assert!(
        !out.stderr.contains(PASSWORD) && !out.stdout.contains(PASSWORD),
        "{out:?}"
    );
    assert!(!out.stderr.contains("Wrong-Pass-77"), "{out:?}");
}

#[test]
fn bad_input_exits_2_with_a_clear_error() {
    let pg = Postgres::new("bad");
    refused(
        &pg.url().replace(PASSWORD, "Wrong-Pass-77"),
        "authentication failed",
    );
    refused(&pg.pg.url("missing_db"), "the database does not exist");
    refused(
        &format!("postgres://u:{PASSWORD}@/x?host=/nonexistent"),
        "cannot connect to PostgreSQL",
    );
    refused(&format!("{}&bogus=1", pg.url()), "unknown option `bogus`");
    // A newer schema: refused and left as it is.
    let newer = Postgres::new("newer");
    let out = run(&newer, &["store", "migrate"], "");
    assert_eq!(out.code, 0, "{out:?}");
    newer.sql("UPDATE pwsentry.schema_version SET version = 7");
    refused(&newer.url(), "newer pwsentry (schema version 7");
    assert_eq!(newer.sql("SELECT count(*) FROM pwsentry.accounts"), "0");
}

#[test]
fn statement_timeout_exits_2_and_writes_nothing() {
    let pg = Postgres::new("timeout");
    let out = run(
        &pg,
        &["--now", NOW, "record", "--account", "t@example.com"],
        "Velvet#Orbit#Canyon10\n",
    );
    assert_eq!(out.code, 0, "{out:?}");
    let holder = server().hold(
        &pg.db,
        "BEGIN; LOCK TABLE pwsentry.accounts, pwsentry.entries IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(300); COMMIT;",
        "SELECT count(*) > 0 FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 'pwsentry.entries'::regclass",
    );
    refused(
        &format!("{}&statement_timeout=500ms", pg.url()),
        "statement timeout (500 ms) expired",
    );
    // The holder sleeps until released, however slow this machine is.
    server().release(&pg.db, "pg_sleep(300)");
    let _ = holder.join();
    assert_eq!(
        pg.sql("SELECT count(*) FROM pwsentry.entries"),
        "1",
        "nothing half-written"
    );
}

/// `notify` with the store in PostgreSQL: reminders go to a real SMTP
/// server once, and the reminder records are the schema's `reminders` rows.
#[test]
fn notify_remembers_its_reminders_in_postgres() {
    use crate::notify::{PHC, SmtpSink, ago, free_port};
    let pg = Postgres::new("notify");
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(dir.path(), free_port(), None);
    let policy = write(
        dir.path(),
        "notify.toml",
        format!(
            "[rotation]\nremind_days = [14, 7, 1]\n[notify]\nfrom = \"pwdesk@example.com\"\nchange_url = \"https://mail.example.com/password\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\n",
            sink.port
        ),
    );
    let cmd = |args: &[&str], stdin: &str| {
        let mut argv = os(&["--policy".as_ref(), policy.as_os_str()]);
        argv.extend(args.iter().map(OsString::from));
        let out = pwsentry(argv)
            .env("PWSENTRY_DB", pg.pg.url_without_password(&pg.db))
            .env("PGPASSWORD", PASSWORD)
            .stdin(stdin)
            .run();
        assert!(!out.stdout.contains(PASSWORD) && !out.stderr.contains(PASSWORD));
        out
    };
    for (account, days) in [("bob@example.com", 85), ("carol@example.com", 100)] {
        let out = cmd(
            &["import", "--account", account, "--set-at", &ago(days)],
            &format!("{PHC}\n"),
        );
        assert_eq!(out.code, 0, "{out:?}");
    }
    let out = cmd(&["--json", "notify", "--dry-run"], "");
    assert_eq!((out.code, out.json_lines().len()), (0, 2), "{out:?}");
    assert_eq!(pg.sql("SELECT count(*) FROM pwsentry.reminders"), "0");
    let out = cmd(&["--json", "notify"], "");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(sink.messages().len(), 2);
    assert_eq!(
        pg.sql("SELECT days FROM pwsentry.reminders WHERE account = 'bob@example.com'"),
        "7"
    );
    assert_eq!(
        pg.sql("SELECT days FROM pwsentry.reminders WHERE account = 'carol@example.com'"),
        "0"
    );
    let out = cmd(&["notify"], "");
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{out:?}");
    assert_eq!(sink.messages().len(), 2, "nothing twice");
    let out = cmd(&["forget", "--account", "bob@example.com"], "");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(pg.sql("SELECT count(*) FROM pwsentry.reminders"), "1");
}
