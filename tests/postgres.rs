//! `PostgresStore` on a real PostgreSQL server started by the test itself
//! (see `support/pg_server.rs`): the public store contract, Busy across two
//! store instances (hosts), TLS, streaming, and every bad input giving a
//! clear error that never shows the connection password.

#[path = "support/pg_server.rs"]
mod pg_server;

use chrono::{DateTime, TimeZone, Utc};
use pg_server::{PASSWORD, server};
use pwsentry::Error;
use pwsentry::store::{
    Append, Expect, MemoryStore, NewEntry, POSTGRES_SCHEMA_VERSION, PostgresConfig, PostgresStore,
    Retention, SqliteStore, Store, contract,
};
use std::ops::ControlFlow;

fn open(url: &str) -> PostgresStore {
    PostgresStore::open(&PostgresConfig::from_url(url).unwrap()).unwrap()
}

fn open_err(url: &str) -> String {
    let e = PostgresStore::open(&PostgresConfig::from_url(url).unwrap())
        .expect_err("opening must fail")
        .to_string();
    assert!(!e.contains(PASSWORD), "the password leaked: {e}");
    e
}

fn at(day: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::days(day)
}

fn one(store: &dyn Store, account: &str, day: i64) {
    let e = [NewEntry::new(
        at(day),
        format!("hash-{account}-{day}"),
        false,
    )];
    store
        .append(
            account,
            &Append {
                salt: &[3; 16],
                entries: &e,
                expect: Expect::Anything,
                retention: Retention::new(5, None),
            },
        )
        .unwrap();
}

#[test]
fn postgres_passes_the_store_contract() {
    let pg = server();
    contract::run_all(&|| Box::new(open(&pg.url(&pg.database("contract")))));
}

#[test]
fn sqlite_and_memory_pass_the_public_contract() {
    let dir = tempfile::tempdir().unwrap();
    let n = AtomicCounter::default();
    contract::run_all(&|| {
        Box::new(SqliteStore::open(dir.path().join(format!("c{}.db", n.next()))).unwrap())
    });
    contract::run_all(&|| Box::new(MemoryStore::new()));
    let path = dir.path().join("shared.db");
    let (a, b) = (
        SqliteStore::open(&path).unwrap(),
        SqliteStore::open(&path).unwrap(),
    );
    contract::run_two_handles(&a, &b);
}

#[derive(Default)]
struct AtomicCounter(std::sync::atomic::AtomicUsize);
impl AtomicCounter {
    fn next(&self) -> usize {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

#[test]
fn busy_holds_across_two_store_instances() {
    let pg = server();
    let db = pg.database("hosts");
    // Two instances, as two hosts would have: one over the Unix socket,
    // one over TLS on loopback.
    let (a, b) = (open(&pg.url(&db)), open(&pg.tls_url(&db)));
    contract::run_two_handles(&a, &b);
}

#[test]
fn tls_is_used_and_verified() {
    let pg = server();
    let db = pg.database("tls");
    let store = open(&pg.tls_url(&db));
    one(&store, "tls@example.com", 1);
    assert!(store.history("tls@example.com").unwrap().is_some());
    // The server sees our connection as TLS: only ours connect over TCP.
    let ssl = pg.psql(
        &db,
        "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.client_addr IS NOT NULL",
    );
    assert_eq!(ssl, "t", "TCP connections are TLS");
    // Without the CA, the server's certificate is not trusted.
    let url = format!(
        "postgres://{}:{PASSWORD}@127.0.0.1:{}/{db}?sslmode=require",
        pg_server::USER,
        pg.port
    );
    let e = open_err(&url);
    assert!(
        e.contains("cannot connect") && e.to_lowercase().contains("certificate"),
        "{e}"
    );
    // A CA file that is not PEM is named.
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let e = open_err(&format!("{url}&sslrootcert={}", junk.display()));
    assert!(e.contains("sslrootcert") && e.contains("junk.pem"), "{e}");
}

#[test]
fn unix_socket_url_forms() {
    let pg = server();
    let db = pg.database("forms");
    let config = PostgresConfig::from_url(&pg.url_without_password(&db))
        .unwrap()
        .password_if_unset(PASSWORD.as_bytes());
    let store = PostgresStore::open(&config).unwrap();
    one(&store, "a@example.com", 1);
    let other = open(&pg.url(&db));
    assert!(other.history("a@example.com").unwrap().is_some());
}

#[test]
fn bad_inputs_are_named_without_the_password() {
    let pg = server();
    let db = pg.database("bad");
    // Wrong password.
    let url = pg.url(&db).replace(PASSWORD, "Wrong-Secret-9");
    let e = open_err(&url);
    assert!(e.contains("authentication failed"), "{e}");
    assert!(!e.contains("Wrong-Secret-9"), "{e}");
    // Missing database.
    let e = open_err(&pg.url("no_such_db"));
    assert!(
        e.contains("database does not exist") && e.contains("no_such_db"),
        "{e}"
    );
    // Unreachable: a socket directory with no server, a closed port.
    let e = open_err(&format!("postgres://u:{PASSWORD}@/x?host=/nonexistent/dir"));
    assert!(
        e.contains("cannot connect to PostgreSQL") && e.contains("/nonexistent/dir"),
        "{e}"
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = open_err(&format!(
        "postgres://u:{PASSWORD}@127.0.0.1:{closed}/x?sslmode=disable"
    ));
    assert!(
        e.contains("cannot connect to PostgreSQL") && e.contains("refused"),
        "{e}"
    );
}

#[test]
fn a_newer_schema_is_refused_untouched() {
    let pg = server();
    let db = pg.database("newer");
    drop(open(&pg.url(&db)));
    pg.psql(&db, "UPDATE pwsentry.schema_version SET version = 99");
    let e = open_err(&pg.url(&db));
    assert!(e.contains("newer pwsentry") && e.contains("99"), "{e}");
    let e = PostgresStore::open_existing(&PostgresConfig::from_url(&pg.url(&db)).unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("newer pwsentry"), "{e}");
    assert_eq!(
        pg.psql(&db, "SELECT version FROM pwsentry.schema_version"),
        "99"
    );
}

#[test]
fn a_foreign_pwsentry_schema_is_refused() {
    let pg = server();
    let db = pg.database("foreign");
    pg.psql(
        &db,
        "CREATE SCHEMA pwsentry; CREATE TABLE pwsentry.other (x int)",
    );
    let e = open_err(&pg.url(&db));
    assert!(e.contains("not a pwsentry history"), "{e}");
}

#[test]
fn open_existing_writes_nothing_and_migration_is_versioned() {
    let pg = server();
    let db = pg.database("ro");
    let config = PostgresConfig::from_url(&pg.url(&db)).unwrap();
    assert!(PostgresStore::open_existing(&config).unwrap().is_none());
    assert_eq!(
        pg.psql(
            &db,
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'pwsentry'"
        ),
        "0"
    );
    let store = PostgresStore::open(&config).unwrap();
    assert_eq!(store.schema_version().unwrap(), POSTGRES_SCHEMA_VERSION);
    assert_eq!(
        store.migrate().unwrap(),
        POSTGRES_SCHEMA_VERSION,
        "already current"
    );
    assert!(PostgresStore::open_existing(&config).unwrap().is_some());
    // Many hosts migrating a fresh database at once.
    let db = pg.database("race");
    let url = pg.url(&db);
    std::thread::scope(|s| {
        for _ in 0..6 {
            s.spawn(|| drop(open(&url)));
        }
    });
    assert_eq!(
        pg.psql(&db, "SELECT version FROM pwsentry.schema_version"),
        POSTGRES_SCHEMA_VERSION.to_string()
    );
}

#[test]
fn a_statement_timeout_is_named_and_changes_nothing() {
    let pg = server();
    let db = pg.database("timeout");
    let store = open(&format!("{}&statement_timeout=300ms", pg.url(&db)));
    one(&store, "t@example.com", 1);
    // Another session holds the tables locked for longer than the timeout.
    let holder = server().hold(
        &db,
        "BEGIN; LOCK TABLE pwsentry.accounts, pwsentry.entries IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(300); COMMIT;",
        "SELECT count(*) > 0 FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 'pwsentry.entries'::regclass",
    );
    let e = [NewEntry::new(at(2), "hash-2", false)];
    let err = store
        .append(
            "t@example.com",
            &Append {
                salt: &[3; 16],
                entries: &e,
                expect: Expect::Anything,
                retention: Retention::new(5, None),
            },
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("statement timeout (300 ms) expired"), "{err}");
    // The holder sleeps until released, however slow this machine is.
    server().release(&db, "pg_sleep(300)");
    let _ = holder.join();
    assert_eq!(
        store
            .history("t@example.com")
            .unwrap()
            .unwrap()
            .entries()
            .len(),
        1,
        "nothing half-written"
    );
}

#[test]
fn a_held_account_lock_gives_busy() {
    let pg = server();
    let db = pg.database("lock");
    let store = open(&pg.url(&db));
    one(&store, "l@example.com", 1);
    let holder = server().hold(
        &db,
        "BEGIN; SELECT 1 FROM pwsentry.accounts WHERE account = 'l@example.com' FOR UPDATE; SELECT pg_sleep(301); COMMIT;",
        "SELECT count(*) > 0 FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE a.query LIKE '%FOR UPDATE%' AND l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock'",
    );
    let e = [NewEntry::new(at(2), "hash-2", false)];
    let r = store.append(
        "l@example.com",
        &Append {
            salt: &[3; 16],
            entries: &e,
            expect: Expect::Anything,
            retention: Retention::new(5, None),
        },
    );
    assert!(matches!(r, Err(Error::Busy)), "{r:?}");
    // An id PostgreSQL cannot store (NUL) is an error, not a panic.
    let e = [NewEntry::new(at(2), "hash-2", false)];
    let r = store.append(
        "nul\0id",
        &Append {
            salt: &[3; 16],
            entries: &e,
            expect: Expect::Anything,
            retention: Retention::new(5, None),
        },
    );
    assert!(matches!(r, Err(Error::Store(_))), "{r:?}");
    assert!(store.history("nul\0id").is_err());
    // Other accounts are not held up meanwhile.
    one(&store, "other@example.com", 1);
    // The holder sleeps until released, however slow this machine is.
    server().release(&db, "pg_sleep(301)");
    let _ = holder.join();
}

#[test]
fn visit_streams_many_accounts_in_order() {
    let pg = server();
    let db = pg.database("stream");
    let store = open(&pg.url(&db));
    // More accounts than one fetch, loaded with SQL.
    let n = pwsentry::store::FETCH_ROWS as i64 * 2 + 17;
    pg.psql(
        &db,
        &format!(
            "INSERT INTO pwsentry.accounts SELECT 'u' || i, '\\x00', timestamptz '2026-01-01' + (i % 1000) * interval '1 minute' FROM generate_series(1, {n}) i;
             INSERT INTO pwsentry.entries (account, set_at, hash, peppered) SELECT account, changed_at, 'h', false FROM pwsentry.accounts;"
        ),
    );
    let mut seen = 0i64;
    let mut last: Option<(DateTime<Utc>, String)> = None;
    store
        .visit_changed_before(at(400), &mut |a, t| {
            let key = (t, a.to_owned());
            if let Some(prev) = &last {
                assert!(*prev < key, "out of order: {prev:?} then {key:?}");
            }
            last = Some(key);
            seen += 1;
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(seen, n);
    let mut few = 0;
    store
        .visit_changed_before(at(400), &mut |_, _| {
            few += 1;
            if few == 10 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!(few, 10);
    // The pooled connection is usable after an early stop.
    one(&store, "after@example.com", 1);
}

#[test]
fn copies_between_sqlite_and_postgres_all_or_nothing() {
    let pg = server();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("from.db")).unwrap();
    for (i, account) in ["a@x", "b@x", "c@x"].iter().enumerate() {
        for day in 0..=i as i64 {
            one(&sqlite, account, day);
        }
    }
    let peppered = [NewEntry::new(at(9), "hash-p", true)];
    sqlite
        .append(
            "b@x",
            &Append {
                salt: &[7; 16],
                entries: &peppered,
                expect: Expect::Anything,
                retention: Retention::new(9, None),
            },
        )
        .unwrap();
    let target = open(&pg.url(&pg.database("copy")));
    assert_eq!(target.load_from(&sqlite).unwrap(), (3, 7));
    for account in ["a@x", "b@x", "c@x"] {
        let (x, y) = (
            sqlite.history(account).unwrap().unwrap(),
            target.history(account).unwrap().unwrap(),
        );
        assert_eq!(x.salt(), y.salt());
        let strip = |h: &pwsentry::store::AccountHistory| {
            h.entries()
                .iter()
                .map(|e| (e.set_at(), e.hash().to_owned(), e.peppered()))
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&x), strip(&y), "{account}");
    }
    // A second copy into the now non-empty target is refused, unchanged.
    let e = target.load_from(&sqlite).unwrap_err().to_string();
    assert!(e.contains("already holds 3 accounts"), "{e}");
    // And back into a fresh SQLite file.
    let back = SqliteStore::open(dir.path().join("back.db")).unwrap();
    assert_eq!(back.load_from(&target).unwrap(), (3, 7));
}

/// The least-privilege roles of docs/postgres.md, on a real server: the
/// owner migrates; the service role reads, appends, prunes and forgets but
/// cannot drop, truncate or alter; the report role sees change times only;
/// the notify role also keeps the reminder records.
#[test]
fn least_privilege_roles_from_the_docs() {
    let pg = server();
    let db = pg.database("roles");
    let n = db.trim_start_matches("roles_");
    let (owner, svc, report, notify) = (
        format!("owner_{n}"),
        format!("svc_{n}"),
        format!("report_{n}"),
        format!("notify_{n}"),
    );
    pg.psql(
        &db,
        &format!(
            "CREATE ROLE {owner} LOGIN PASSWORD '{PASSWORD}';
             CREATE ROLE {svc} LOGIN PASSWORD '{PASSWORD}';
             CREATE ROLE {report} LOGIN PASSWORD '{PASSWORD}';
             CREATE ROLE {notify} LOGIN PASSWORD '{PASSWORD}';
             ALTER DATABASE {db} OWNER TO {owner};
             REVOKE ALL ON DATABASE {db} FROM PUBLIC;
             REVOKE CREATE ON SCHEMA public FROM PUBLIC;"
        ),
    );
    let as_role = |role: &str| pg.url(&db).replace(pg_server::USER, role);
    drop(open(&as_role(&owner)));
    pg.psql(
        &db,
        &format!(
            "SET ROLE {owner};
             GRANT CONNECT ON DATABASE {db} TO {svc};
             GRANT USAGE ON SCHEMA pwsentry TO {svc};
             GRANT SELECT ON pwsentry.schema_version TO {svc};
             GRANT SELECT, INSERT, DELETE ON pwsentry.accounts, pwsentry.entries TO {svc};
             GRANT UPDATE (salt, changed_at) ON pwsentry.accounts TO {svc};
             GRANT CONNECT ON DATABASE {db} TO {report};
             GRANT USAGE ON SCHEMA pwsentry TO {report};
             GRANT SELECT ON pwsentry.schema_version TO {report};
             GRANT SELECT (account, changed_at) ON pwsentry.accounts TO {report};
             GRANT CONNECT ON DATABASE {db} TO {notify};
             GRANT USAGE ON SCHEMA pwsentry TO {notify};
             GRANT SELECT ON pwsentry.schema_version TO {notify};
             GRANT SELECT (account, changed_at) ON pwsentry.accounts TO {notify};
             GRANT SELECT, INSERT, UPDATE ON pwsentry.reminders TO {notify};"
        ),
    );
    let service = open(&as_role(&svc));
    for day in 0..8 {
        one(&service, "s@example.com", day); // prunes past 5
    }
    assert_eq!(
        service
            .history("s@example.com")
            .unwrap()
            .unwrap()
            .entries()
            .len(),
        5
    );
    contract::run_two_handles(&service, &open(&as_role(&svc)));
    assert!(service.forget("s@example.com").unwrap());
    one(&service, "kept@example.com", 1);
    let svc_url = as_role(&svc);
    let sql_as = |url: &str, sql: &str| -> String {
        let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
        let e = c.batch_execute(sql).unwrap_err();
        e.as_db_error()
            .map_or_else(|| e.to_string(), |d| d.message().to_owned())
    };
    for sql in [
        "DROP TABLE pwsentry.entries",
        "TRUNCATE pwsentry.accounts CASCADE",
        "ALTER TABLE pwsentry.accounts ADD COLUMN x int",
        "UPDATE pwsentry.entries SET hash = 'x'",
        "DROP SCHEMA pwsentry CASCADE",
        "CREATE TABLE pwsentry.t (x int)",
        "CREATE TABLE public.t (x int)",
    ] {
        let e = sql_as(&svc_url, sql);
        assert!(
            e.contains("permission denied") || e.contains("must be owner"),
            "{sql}: {e}"
        );
    }
    // The report role: the stale scan works, the hashes are out of reach.
    let reporter =
        PostgresStore::open_existing(&PostgresConfig::from_url(&as_role(&report)).unwrap())
            .unwrap()
            .unwrap();
    let mut seen = Vec::new();
    reporter
        .visit_changed_before(at(100), &mut |a, _| {
            seen.push(a.to_owned());
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(seen, ["kept@example.com", "race"], "oldest first");
    let e = reporter
        .history("kept@example.com")
        .unwrap_err()
        .to_string();
    assert!(e.contains("permission denied"), "{e}");
    // The notify role: plans and remembers reminders, reads no hash; the
    // service role's `forget` takes the reminder record along.
    let notifier =
        PostgresStore::open_existing(&PostgresConfig::from_url(&as_role(&notify)).unwrap())
            .unwrap()
            .unwrap();
    notifier
        .note_reminder("kept@example.com", at(1), 7, at(80))
        .unwrap();
    notifier
        .note_reminder("kept@example.com", at(1), 1, at(85))
        .unwrap();
    let mut reminded = Vec::new();
    notifier
        .visit_reminders(at(100), None, &mut |a, _, days| {
            reminded.push((a.to_owned(), days));
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(
        reminded,
        [
            ("kept@example.com".to_owned(), Some(1)),
            ("race".to_owned(), None)
        ]
    );
    assert!(notifier.history("kept@example.com").is_err());
    assert!(service.forget("kept@example.com").unwrap());
    assert_eq!(pg.psql(&db, "SELECT count(*) FROM pwsentry.reminders"), "0");
    // A service role meeting a schema to create is told who does that.
    let fresh = pg.database("roles_fresh");
    pg.psql(&fresh, &format!("REVOKE CREATE ON DATABASE {fresh} FROM PUBLIC; GRANT CONNECT ON DATABASE {fresh} TO {svc};"));
    let e = open_err(&pg.url(&fresh).replace(pg_server::USER, &svc));
    assert!(
        e.contains("permission denied") && e.contains("store migrate"),
        "{e}"
    );
}

#[test]
fn an_append_batch_is_all_or_nothing() {
    // An import is one batch: when one account in it fails (here its
    // expectation does not hold), none of the batch is written.
    let pg = server();
    let store = open(&pg.url(&pg.database("batch")));
    let entries = [NewEntry::new(at(1), "hash-batch", false)];
    let append = |expect| Append {
        salt: &[4; 16],
        entries: &entries,
        expect,
        retention: Retention::new(5, None),
    };
    let err = store
        .append_batch(&[
            ("first@example.com", append(Expect::Anything)),
            ("second@example.com", append(Expect::Unchanged(Some(12345)))),
        ])
        .expect_err("the second append must fail");
    assert!(matches!(err, Error::Busy), "{err}");
    assert!(
        store.history("first@example.com").unwrap().is_none(),
        "the first account of a failed batch was written"
    );
    store
        .append_batch(&[
            ("first@example.com", append(Expect::Anything)),
            ("second@example.com", append(Expect::Anything)),
        ])
        .unwrap();
    assert!(store.history("second@example.com").unwrap().is_some());
}
