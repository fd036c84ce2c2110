//! The fleet history store: one PostgreSQL database shared by every host
//! (feature `postgres`).
//!
//! - A sync client (`postgres`) behind an `r2d2` pool; TLS through rustls,
//!   always verifying the server's certificate (against `sslrootcert` when
//!   given, else the Mozilla roots); Unix sockets as libpq spells them.
//! - Every connection runs with a statement timeout and a lock timeout (the
//!   latter gives [`Error::Busy`], as SQLite's busy timeout does).
//! - Tables live in their own schema, `pwsentry`, whose version is kept in
//!   `pwsentry.schema_version`; migrations are an append-only list applied
//!   under an advisory lock. A newer schema is refused before anything is
//!   written; read-only opening ([`PostgresStore::open_existing`]) writes
//!   nothing at all, so it works on a read replica.
//! - An append locks its account's row (`INSERT … ON CONFLICT DO UPDATE`),
//!   so writers of one account queue up on any number of hosts, and the
//!   optimistic head check happens under that lock.
//! - [`Store::visit_changed_before`] reads through a portal (a server-side
//!   cursor), [`FETCH_ROWS`] rows at a time.
//!
//! It must not print, read the clock or the environment, and its errors
//! never contain the connection password, a hash or a salt.

use super::{
    AccountHistory, Append, EntryId, Expect, HistoryEntry, ReminderDays, ReminderVisit, Store,
};
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use postgres::error::SqlState;
use postgres::{Client, Config};
use std::fmt;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The schema version this build writes (`pwsentry.schema_version`).
pub const POSTGRES_SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Rows fetched per round trip by [`Store::visit_changed_before`].
pub const FETCH_ROWS: i32 = 4096;

/// Default statement timeout (`statement_timeout=` in the URL overrides it).
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a writer waits for another one's row lock before giving up
/// with [`Error::Busy`]: writes are short, so a longer wait means something
/// is stuck.
const LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// Default connect timeout (`connect_timeout=` in the URL overrides it).
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// URL query keys handed to `tokio-postgres` as they are.
const PASSED_KEYS: &[&str] = &[
    "user",
    "password",
    "dbname",
    "options",
    "application_name",
    "sslmode",
    "sslnegotiation",
    "host",
    "hostaddr",
    "port",
    "connect_timeout",
    "tcp_user_timeout",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_retries",
    "target_session_attrs",
    "channel_binding",
    "load_balance_hosts",
];

/// Default largest number of pooled connections.
const DEFAULT_POOL_SIZE: u32 = 8;

/// Key of the advisory lock that serialises migrations ("pwse").
const MIGRATION_LOCK: i64 = 0x7077_7365;

/// Migration `i` takes the schema from version `i` to `i + 1`. Append only:
/// never edit a migration that has shipped. Account ids use the "C"
/// collation so that "ties by account id" means byte order, as in SQLite.
const MIGRATIONS: &[&str] = &[
    // 1: accounts with their salt and change time; entries per account.
    "CREATE TABLE pwsentry.accounts (
         account    text COLLATE \"C\" PRIMARY KEY,
         salt       bytea NOT NULL,
         changed_at timestamptz NOT NULL
     );
     CREATE INDEX accounts_by_changed_at ON pwsentry.accounts (changed_at, account);
     CREATE TABLE pwsentry.entries (
         id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         account  text COLLATE \"C\" NOT NULL
                  REFERENCES pwsentry.accounts (account) ON DELETE CASCADE,
         set_at   timestamptz NOT NULL,
         hash     text NOT NULL,
         peppered boolean NOT NULL
     );
     CREATE INDEX entries_by_account ON pwsentry.entries (account, set_at DESC, id DESC);",
    // 2: failed attempts (wrong current passwords) for lockouts, shared by
    // every server process.
    "CREATE TABLE pwsentry.failures (
         key text COLLATE \"C\" NOT NULL,
         at  timestamptz NOT NULL
     );
     CREATE INDEX failures_by_key ON pwsentry.failures (key, at);
     CREATE INDEX failures_by_at ON pwsentry.failures (at);",
    // 3: the reminder mail last sent per account (`pwsentry notify`), for
    // the password set at `changed_at`; `days` 0 is the stale notice.
    "CREATE TABLE pwsentry.reminders (
         account    text COLLATE \"C\" PRIMARY KEY
                    REFERENCES pwsentry.accounts (account) ON DELETE CASCADE,
         changed_at timestamptz NOT NULL,
         days       integer NOT NULL CHECK (days >= 0),
         sent_at    timestamptz NOT NULL
     );",
];

/// Where and how to connect: a libpq-style URL plus pwsentry's settings.
///
/// Accepted URL forms: `postgres://user@host:5432/db`,
/// `postgresql://user@%2Frun%2Fpostgresql/db` and
/// `postgres:///db?host=/run/postgresql` (Unix sockets), with the query
/// keys `tokio-postgres` knows (`sslmode`, `connect_timeout`,
/// `application_name`, `options`, `target_session_attrs`, …) and these:
///
/// | key | meaning |
/// |-----|---------|
/// | `sslmode` | `disable`, `prefer` (default), `require`, `verify-ca`, `verify-full`; whenever TLS is used the certificate is verified, host name included |
/// | `sslrootcert` | PEM file of the CA(s) to trust instead of the Mozilla roots |
/// | `statement_timeout` | e.g. `30s`, `500ms`, `2min` (default 30 s) |
/// | `pool_max_size` | most pooled connections (default 8) |
///
/// `Debug` and [`PostgresConfig::redacted`] never show the password.
#[derive(Clone)]
pub struct PostgresConfig {
    pg: Config,
    root_cert: Option<PathBuf>,
    statement_timeout: Duration,
    pool_size: u32,
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("location", &self.redacted())
            .field("root_cert", &self.root_cert)
            .field("statement_timeout", &self.statement_timeout)
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

impl PostgresConfig {
    /// Parses a `postgres://` or `postgresql://` URL.
    ///
    /// # Errors
    /// [`Error::Store`] naming the problem (never quoting the password).
    ///
    /// # Example
    /// ```
    /// use pwsentry::store::PostgresConfig;
    /// let c = PostgresConfig::from_url("postgresql://svc:s3cret@db.example/pw?statement_timeout=5s")?;
    /// assert_eq!(c.redacted(), "postgresql://svc@db.example:5432/pw");
    /// assert!(!format!("{c:?}").contains("s3cret"));
    /// # Ok::<(), pwsentry::Error>(())
    /// ```
    pub fn from_url(url: &str) -> Result<PostgresConfig> {
        let bad = |what: String| Error::Store(format!("invalid PostgreSQL URL: {what}"));
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(bad("it must start with postgres:// or postgresql://".into()));
        }
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (url, None),
        };
        let mut root_cert = None;
        let mut statement_timeout = DEFAULT_STATEMENT_TIMEOUT;
        let mut pool_size = DEFAULT_POOL_SIZE;
        let mut passed = Vec::new();
        for pair in query.into_iter().flat_map(|q| q.split('&')) {
            if pair.is_empty() {
                continue;
            }
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded = percent_decode(value).ok_or_else(|| {
                bad(format!(
                    "the value of `{key}` is not valid percent-encoded UTF-8"
                ))
            })?;
            match key {
                "sslrootcert" => root_cert = Some(PathBuf::from(decoded)),
                "statement_timeout" => {
                    statement_timeout = parse_duration(&decoded).ok_or_else(|| {
                        bad(format!(
                            "statement_timeout `{decoded}` is not a duration such as 30s, 500ms or 2min"
                        ))
                    })?
                }
                "pool_max_size" => {
                    pool_size = decoded
                        .parse()
                        .ok()
                        .filter(|n| (1..=1024).contains(n))
                        .ok_or_else(|| bad("pool_max_size must be 1..=1024".into()))?
                }
                // rustls always verifies, so libpq's verifying modes are
                // `require` here.
                "sslmode" if matches!(value, "verify-ca" | "verify-full") => {
                    passed.push("sslmode=require".to_owned())
                }
                k if PASSED_KEYS.contains(&k) => passed.push(pair.to_owned()),
                k => {
                    return Err(bad(format!(
                        "unknown option `{k}`; expected one of {}, sslrootcert, statement_timeout, pool_max_size",
                        PASSED_KEYS.join(", ")
                    )));
                }
            }
        }
        let text = if passed.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", passed.join("&"))
        };
        // tokio-postgres's messages name the option, never its value.
        let mut pg = Config::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if pg.get_hosts().is_empty() {
            return Err(bad(
                "no host (for a Unix socket: postgres:///db?host=/run/postgresql)".into(),
            ));
        }
        if pg.get_user().is_none_or(str::is_empty) {
            return Err(bad(
                "no user name (postgres://USER@host/db; libpq's default, the login name, is not guessed)".into(),
            ));
        }
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }
        if pg.get_application_name().is_none() {
            pg.application_name("pwsentry");
        }
        Ok(PostgresConfig {
            pg,
            root_cert,
            statement_timeout,
            pool_size,
        })
    }

    /// Sets the password (e.g. from a file or `$PGPASSWORD`, read by the
    /// caller) when the URL has none.
    pub fn password_if_unset(mut self, password: &[u8]) -> Self {
        if self.pg.get_password().is_none() {
            self.pg.password(password);
        }
        self
    }

    /// Sets the statement timeout.
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// Sets the largest number of pooled connections (at least 1).
    pub fn pool_size(mut self, size: u32) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// The location without the password, for messages:
    /// `postgresql://user@host:port/db` (`?host=/dir` for a socket).
    pub fn redacted(&self) -> String {
        let user = self.pg.get_user().unwrap_or("");
        let db = self.pg.get_dbname().unwrap_or(user);
        let ports = self.pg.get_ports();
        let mut tcp = Vec::new();
        let mut sockets = Vec::new();
        for (i, host) in self.pg.get_hosts().iter().enumerate() {
            let port = ports
                .get(i)
                .or_else(|| ports.first())
                .copied()
                .unwrap_or(5432);
            match host {
                postgres::config::Host::Tcp(h) => tcp.push(format!("{h}:{port}")),
                #[cfg(unix)]
                postgres::config::Host::Unix(p) => sockets.push(p.display().to_string()),
            }
        }
        let mut out = format!("postgresql://{user}@{}/{db}", tcp.join(","));
        if !sockets.is_empty() {
            out.push_str("?host=");
            out.push_str(&sockets.join(","));
        }
        out
    }

    fn tls(&self) -> Result<MakeRustlsConnect> {
        let mut roots = rustls::RootCertStore::empty();
        match &self.root_cert {
            Some(path) => {
                use rustls::pki_types::CertificateDer;
                use rustls::pki_types::pem::PemObject as _;
                let certs = CertificateDer::pem_file_iter(path)
                    .map_err(|e| Error::Store(format!("sslrootcert {}: {e}", path.display())))?;
                for cert in certs {
                    let cert = cert.map_err(|e| {
                        Error::Store(format!("sslrootcert {}: {e}", path.display()))
                    })?;
                    roots.add(cert).map_err(|e| {
                        Error::Store(format!("sslrootcert {}: {e}", path.display()))
                    })?;
                }
                if roots.is_empty() {
                    return Err(Error::Store(format!(
                        "sslrootcert {}: no PEM certificate in the file",
                        path.display()
                    )));
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Store(format!("TLS set-up: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }

    /// The configuration each pooled connection is opened with: the
    /// timeouts travel in the start-up packet, so they hold from the first
    /// statement on.
    fn session(&self) -> Config {
        let mut pg = self.pg.clone();
        let ms = |d: Duration| d.as_millis().clamp(1, i32::MAX as u128);
        let ours = format!(
            "-c statement_timeout={} -c lock_timeout={}",
            ms(self.statement_timeout),
            ms(LOCK_TIMEOUT.min(self.statement_timeout))
        );
        let options = match pg.get_options() {
            Some(o) if !o.is_empty() => format!("{o} {ours}"),
            _ => ours,
        };
        pg.options(&options);
        pg
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `30s`, `500ms`, `2min`, `1h`, or a bare number of milliseconds (as in
/// PostgreSQL's own `statement_timeout`). Zero (no timeout) is refused.
fn parse_duration(s: &str) -> Option<Duration> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let d = match unit {
        "" | "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "min" => Duration::from_secs(n.checked_mul(60)?),
        "h" => Duration::from_secs(n.checked_mul(3600)?),
        _ => return None,
    };
    (!d.is_zero() && d <= Duration::from_secs(24 * 3600)).then_some(d)
}

/// Opens pool connections; the connection made while opening the store is
/// handed out first rather than thrown away.
struct Manager {
    config: Config,
    tls: MakeRustlsConnect,
    first: Mutex<Option<Client>>,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Client;
    type Error = postgres::Error;

    fn connect(&self) -> std::result::Result<Client, postgres::Error> {
        if let Some(client) = self.first.lock().ok().and_then(|mut f| f.take()) {
            return Ok(client);
        }
        self.config.connect(self.tls.clone())
    }

    fn is_valid(&self, conn: &mut Client) -> std::result::Result<(), postgres::Error> {
        conn.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut Client) -> bool {
        conn.is_closed()
    }
}

/// Keeps the last connection error of the pool, already made into a
/// message, so that a failed checkout says why.
#[derive(Debug, Default)]
struct LastError {
    location: String,
    message: Mutex<Option<String>>,
}

impl r2d2::HandleError<postgres::Error> for LastError {
    fn handle_error(&self, error: postgres::Error) {
        if let Ok(mut m) = self.message.lock() {
            *m = Some(describe(&self.location, &error));
        }
    }
}

/// A [`Store`] in a PostgreSQL database, for a history shared by many
/// hosts. Needs the `postgres` feature.
///
/// ```no_run
/// use pwsentry::store::{PostgresConfig, PostgresStore, Store};
/// let config = PostgresConfig::from_url("postgres:///pwsentry?host=/run/postgresql&user=pwsentry")?;
/// let store = PostgresStore::open(&config)?; // creates or migrates the schema
/// assert!(store.history("alice@example.com")?.is_none());
/// # Ok::<(), pwsentry::Error>(())
/// ```
pub struct PostgresStore {
    pool: r2d2::Pool<Manager>,
    location: String,
    statement_timeout: Duration,
    last_error: Arc<LastError>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// [`Store::note_failure`] and [`Store::try_attempt`] in one
    /// transaction: forgets attempts older than the window, counts `key`'s,
    /// and adds this one unless `max` are already there. Under READ
    /// COMMITTED two transactions could both count before either inserts,
    /// so a lock on the key (held to the commit) makes the count and the
    /// insert one step for every process. Returns the count afterwards and
    /// whether this attempt was added.
    fn count_attempt(
        &self,
        key: &str,
        at: DateTime<Utc>,
        window: chrono::TimeDelta,
        max: Option<u32>,
    ) -> Result<(u32, bool)> {
        let mut client = self.client()?;
        let err = |e: postgres::Error| self.map(&e);
        let oldest = at
            .checked_sub_signed(window)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let mut tx = client.transaction().map_err(err)?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[&format!("pwsentry.failures:{key}")],
        )
        .map_err(err)?;
        tx.execute("DELETE FROM pwsentry.failures WHERE at < $1", &[&oldest])
            .map_err(err)?;
        let n: i64 = tx
            .query_one(
                "SELECT count(*) FROM pwsentry.failures WHERE key = $1 AND at >= $2",
                &[&key, &oldest],
            )
            .map_err(err)?
            .get(0);
        let added = max.is_none_or(|max| n < i64::from(max));
        if added {
            tx.execute(
                "INSERT INTO pwsentry.failures (key, at) VALUES ($1, $2)",
                &[&key, &at],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        Ok((n.saturating_add(u32::from(added)), added))
    }

    /// [`Store::append`]'s work inside `tx` (committed by the caller;
    /// dropping `tx` rolls it back).
    fn append_in(
        &self,
        tx: &mut postgres::Transaction<'_>,
        account: &str,
        append: &Append<'_>,
    ) -> Result<()> {
        let err = |e: postgres::Error| self.map(&e);
        let head = |tx: &mut postgres::Transaction<'_>| -> Result<Option<EntryId>> {
            tx.query_one(
                "SELECT max(id) FROM pwsentry.entries WHERE account = $1",
                &[&account],
            )
            .map(|r| r.get(0))
            .map_err(err)
        };
        let Some(newest) = append.entries.iter().map(|e| e.set_at).max() else {
            if let Expect::Unchanged(expected) = append.expect
                && head(tx)? != expected
            {
                return Err(Error::Busy);
            }
            return Ok(());
        };
        // Creates the account or locks its row: writers of one account
        // queue here, on whatever host they run.
        tx.execute(
            "INSERT INTO pwsentry.accounts (account, salt, changed_at) VALUES ($1, $2, $3)
             ON CONFLICT (account) DO UPDATE SET salt = pwsentry.accounts.salt",
            &[&account, &append.salt, &newest],
        )
        .map_err(err)?;
        if let Expect::Unchanged(expected) = append.expect
            && head(tx)? != expected
        {
            // Dropping the transaction rolls back the row we may have made.
            return Err(Error::Busy);
        }
        let insert = tx
            .prepare("INSERT INTO pwsentry.entries (account, set_at, hash, peppered) VALUES ($1, $2, $3, $4)")
            .map_err(err)?;
        for e in append.entries {
            tx.execute(
                &insert,
                &[&account, &e.set_at, &e.hash.as_str(), &e.peppered],
            )
            .map_err(err)?;
        }
        let r = append.retention;
        tx.execute(
            "DELETE FROM pwsentry.entries
              WHERE account = $1
                AND ($3::timestamptz IS NULL OR set_at <= $3)
                AND id NOT IN (SELECT id FROM pwsentry.entries WHERE account = $1
                                ORDER BY set_at DESC, id DESC LIMIT $2)",
            &[&account, &i64::from(r.keep_latest()), &r.keep_set_after()],
        )
        .map_err(err)?;
        tx.execute(
            "UPDATE pwsentry.accounts
                SET changed_at = (SELECT max(set_at) FROM pwsentry.entries WHERE account = $1)
              WHERE account = $1",
            &[&account],
        )
        .map_err(err)?;
        Ok(())
    }

    /// Connects, creating the `pwsentry` schema or migrating it to
    /// [`POSTGRES_SCHEMA_VERSION`] if needed.
    ///
    /// # Errors
    /// [`Error::Store`] naming the problem: the server cannot be reached,
    /// authentication failed, the database does not exist, the schema is
    /// newer than this build or not pwsentry's, the role may not create
    /// it, the statement timeout expired.
    pub fn open(config: &PostgresConfig) -> Result<PostgresStore> {
        let (store, version) = PostgresStore::connect(config)?;
        if version < POSTGRES_SCHEMA_VERSION {
            store.migrate()?;
        }
        Ok(store)
    }

    /// Connects without writing anything (read replicas, read-only
    /// commands): `Ok(None)` when the database has no pwsentry schema yet.
    ///
    /// # Errors
    /// As for [`PostgresStore::open`]; also when the schema is older than
    /// this build (migrate it with [`PostgresStore::open`] first).
    pub fn open_existing(config: &PostgresConfig) -> Result<Option<PostgresStore>> {
        let (store, version) = PostgresStore::connect(config)?;
        match version {
            0 => Ok(None),
            v if v < POSTGRES_SCHEMA_VERSION => Err(Error::Store(format!(
                "{}: schema version {v} is older than this pwsentry's ({POSTGRES_SCHEMA_VERSION}); run `pwsentry store migrate`",
                store.location
            ))),
            _ => Ok(Some(store)),
        }
    }

    /// The location, without the password.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The schema version the database holds now.
    ///
    /// # Errors
    /// [`Error::Store`] if it cannot be read.
    pub fn schema_version(&self) -> Result<u32> {
        let mut client = self.client()?;
        inspect(&mut *client, &self.location, self.statement_timeout)
    }

    /// Brings the schema up to [`POSTGRES_SCHEMA_VERSION`]; returns the
    /// version it had. Safe to run from many hosts at once.
    ///
    /// # Errors
    /// [`Error::Store`] if the schema is newer or foreign, or the role may
    /// not change it.
    pub fn migrate(&self) -> Result<u32> {
        let mut client = self.client()?;
        let err = |e: postgres::Error| self.map(&e);
        let mut tx = client.transaction().map_err(err)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(err)?;
        // Another host may have migrated while we waited for the lock.
        let version = inspect(&mut tx, &self.location, self.statement_timeout)?;
        if version == POSTGRES_SCHEMA_VERSION {
            return Ok(version);
        }
        tx.batch_execute(
            "CREATE SCHEMA IF NOT EXISTS pwsentry;
             CREATE TABLE IF NOT EXISTS pwsentry.schema_version (
                 singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                 version   integer NOT NULL
             );
             INSERT INTO pwsentry.schema_version (version) VALUES (0) ON CONFLICT DO NOTHING;",
        )
        .map_err(err)?;
        for sql in MIGRATIONS.iter().skip(version as usize) {
            tx.batch_execute(sql).map_err(err)?;
        }
        tx.execute(
            "UPDATE pwsentry.schema_version SET version = $1",
            &[&(POSTGRES_SCHEMA_VERSION as i32)],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(version)
    }

    /// Copies every account of `source` (salts, entries, times, pepper
    /// flags) into this store in one transaction, then checks the counts
    /// inside it: all or nothing. This store must be empty. Returns
    /// (accounts, entries) copied. The account ids are held in memory.
    ///
    /// # Errors
    /// [`Error::Store`] if this store is not empty, the counts differ, or
    /// either store fails; nothing is written then.
    pub fn load_from(&self, source: &dyn Store) -> Result<(u64, u64)> {
        let accounts = super::all_accounts(source)?;
        let mut client = self.client()?;
        let err = |e: postgres::Error| self.map(&e);
        let mut tx = client.transaction().map_err(err)?;
        // Nobody else writes while we copy and check.
        tx.batch_execute(
            "LOCK TABLE pwsentry.accounts, pwsentry.entries IN EXCLUSIVE MODE; SET LOCAL statement_timeout = 0",
        )
        .map_err(err)?;
        let present: i64 = tx
            .query_one("SELECT count(*) FROM pwsentry.accounts", &[])
            .map_err(err)?
            .get(0);
        if present > 0 {
            return Err(Error::Store(format!(
                "{}: the target already holds {present} accounts; copy only into an empty store",
                self.location
            )));
        }
        let insert_account = tx
            .prepare(
                "INSERT INTO pwsentry.accounts (account, salt, changed_at) VALUES ($1, $2, $3)",
            )
            .map_err(err)?;
        let insert_entry = tx
            .prepare("INSERT INTO pwsentry.entries (account, set_at, hash, peppered) VALUES ($1, $2, $3, $4)")
            .map_err(err)?;
        let (mut n_accounts, mut n_entries) = (0u64, 0u64);
        for account in &accounts {
            let Some(history) = source.history(account)? else {
                return Err(Error::Store(format!(
                    "the source changed during the copy ({account:?} vanished); nothing was copied"
                )));
            };
            let Some(changed_at) = history.changed_at() else {
                continue;
            };
            tx.execute(&insert_account, &[account, &history.salt(), &changed_at])
                .map_err(err)?;
            // Oldest first, so new ids keep the (set_at, id) order.
            for e in history.entries().iter().rev() {
                tx.execute(
                    &insert_entry,
                    &[account, &e.set_at(), &e.hash(), &e.peppered()],
                )
                .map_err(err)?;
                n_entries += 1;
            }
            n_accounts += 1;
        }
        let row = tx
            .query_one(
                "SELECT (SELECT count(*) FROM pwsentry.accounts), (SELECT count(*) FROM pwsentry.entries)",
                &[],
            )
            .map_err(err)?;
        let (a, e): (i64, i64) = (row.get(0), row.get(1));
        if a as u64 != n_accounts || e as u64 != n_entries {
            return Err(Error::Store(format!(
                "{}: after the copy the target holds {a} accounts and {e} entries, not {n_accounts} and {n_entries}; nothing was copied",
                self.location
            )));
        }
        tx.commit().map_err(err)?;
        Ok((n_accounts, n_entries))
    }

    fn connect(config: &PostgresConfig) -> Result<(PostgresStore, u32)> {
        let location = config.redacted();
        let session = config.session();
        let tls = config.tls()?;
        // A first connection of our own: its errors are typed (the pool
        // only keeps the last one as text), and it is pooled afterwards.
        let mut client = session
            .connect(tls.clone())
            .map_err(|e| Error::Store(describe(&location, &e)))?;
        let version = inspect(&mut client, &location, config.statement_timeout)?;
        let last_error = Arc::new(LastError {
            location: location.clone(),
            message: Mutex::new(None),
        });
        let manager = Manager {
            config: session,
            tls,
            first: Mutex::new(Some(client)),
        };
        let pool = r2d2::Pool::builder()
            .max_size(config.pool_size)
            .min_idle(Some(0))
            .test_on_check_out(false)
            .connection_timeout(
                config
                    .pg
                    .get_connect_timeout()
                    .copied()
                    .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            )
            .error_handler(Box::new(ArcHandler(Arc::clone(&last_error))))
            .build_unchecked(manager);
        Ok((
            PostgresStore {
                pool,
                location,
                statement_timeout: config.statement_timeout,
                last_error,
            },
            version,
        ))
    }

    fn client(&self) -> Result<r2d2::PooledConnection<Manager>> {
        self.pool.get().map_err(|_| {
            let why = self
                .last_error
                .message
                .lock()
                .ok()
                .and_then(|m| m.clone())
                .unwrap_or_else(|| format!("{}: no connection available in time", self.location));
            Error::Store(why)
        })
    }

    fn map(&self, e: &postgres::Error) -> Error {
        map_error(&self.location, self.statement_timeout, e)
    }
}

#[derive(Debug)]
struct ArcHandler(Arc<LastError>);

impl r2d2::HandleError<postgres::Error> for ArcHandler {
    fn handle_error(&self, error: postgres::Error) {
        self.0.handle_error(error)
    }
}

/// Reads the schema version (0: no pwsentry schema), refusing a newer or a
/// foreign one. Writes nothing.
fn inspect(
    client: &mut impl postgres::GenericClient,
    location: &str,
    timeout: Duration,
) -> Result<u32> {
    let err = |e: postgres::Error| map_error(location, timeout, &e);
    let row = client
        .query_one(
            // Plain catalog reads, not to_regclass(): those use caches that
            // a migration committed while we waited for the advisory lock
            // may not have reached yet.
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'pwsentry'),
                    EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = 'pwsentry' AND c.relname = 'schema_version')",
            &[],
        )
        .map_err(err)?;
    let (schema, versioned): (bool, bool) = (row.get(0), row.get(1));
    if !schema {
        return Ok(0);
    }
    if !versioned {
        let tables: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pwsentry'",
                &[],
            )
            .map_err(err)?
            .get(0);
        if tables > 0 {
            return Err(Error::Store(format!(
                "{location}: schema \"pwsentry\" exists but is not a pwsentry history (no schema_version table)"
            )));
        }
        return Ok(0);
    }
    let version: Option<i32> = client
        .query_opt("SELECT version FROM pwsentry.schema_version", &[])
        .map_err(err)?
        .map(|r| r.get(0));
    let version = version.unwrap_or(0);
    let version = u32::try_from(version).map_err(|_| {
        Error::Store(format!(
            "{location}: pwsentry.schema_version holds {version}, not a version"
        ))
    })?;
    if version > POSTGRES_SCHEMA_VERSION {
        return Err(Error::Store(format!(
            "{location}: written by a newer pwsentry (schema version {version}; this version understands up to {POSTGRES_SCHEMA_VERSION}); upgrade pwsentry to use it"
        )));
    }
    Ok(version)
}

/// A connection error as a message: what failed, where, and what to do.
fn describe(location: &str, e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        let what = if *code == SqlState::INVALID_PASSWORD {
            "authentication failed (wrong password?)".to_owned()
        } else if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
            format!("connection refused by the server: {}", db.message())
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            format!("the database does not exist ({})", db.message())
        } else if *code == SqlState::TOO_MANY_CONNECTIONS {
            "the server has too many connections".to_owned()
        } else if *code == SqlState::CANNOT_CONNECT_NOW || *code == SqlState::ADMIN_SHUTDOWN {
            format!("the server is not accepting connections: {}", db.message())
        } else {
            format!("{} (SQLSTATE {})", db.message(), code.code())
        };
        return format!("{location}: {what}");
    }
    let mut chain = Vec::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        chain.push(s.to_string());
        source = s.source();
    }
    let cause = if chain.is_empty() {
        e.to_string()
    } else {
        chain.join(": ")
    };
    format!("cannot connect to PostgreSQL at {location}: {cause}")
}

fn map_error(location: &str, timeout: Duration, e: &postgres::Error) -> Error {
    if let Some(code) = e.code() {
        if *code == SqlState::LOCK_NOT_AVAILABLE
            || *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
        {
            return Error::Busy;
        }
        if *code == SqlState::QUERY_CANCELED {
            return Error::Store(format!(
                "{location}: the statement timeout ({} ms) expired; nothing was changed",
                timeout.as_millis()
            ));
        }
        if *code == SqlState::INSUFFICIENT_PRIVILEGE {
            let msg = e.as_db_error().map_or("", |d| d.message());
            return Error::Store(format!(
                "{location}: permission denied ({msg}); the schema is created and migrated by its owner role (`pwsentry store migrate`)"
            ));
        }
        if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
            return Error::Store(format!(
                "{location}: the server is read-only (a replica?); writes go to the primary"
            ));
        }
        if *code == SqlState::DISK_FULL {
            return Error::Store(format!("{location}: the server's disk is full"));
        }
    }
    if e.is_closed() && e.as_db_error().is_none() {
        return Error::Store(format!("{location}: the connection to the server was lost"));
    }
    Error::Store(describe(location, e))
}

impl Store for PostgresStore {
    fn note_failure(&self, key: &str, at: DateTime<Utc>, window: chrono::TimeDelta) -> Result<u32> {
        Ok(self.count_attempt(key, at, window, None)?.0)
    }

    fn try_attempt(
        &self,
        key: &str,
        at: DateTime<Utc>,
        window: chrono::TimeDelta,
        max: u32,
    ) -> Result<bool> {
        Ok(self.count_attempt(key, at, window, Some(max))?.1)
    }

    fn forgive_attempt(&self, key: &str, at: DateTime<Utc>) -> Result<()> {
        let mut client = self.client()?;
        client
            .execute(
                "DELETE FROM pwsentry.failures WHERE ctid =
                   (SELECT ctid FROM pwsentry.failures WHERE key = $1 AND at = $2 LIMIT 1)",
                &[&key, &at],
            )
            .map_err(|e| self.map(&e))?;
        Ok(())
    }

    fn failures_since(&self, key: &str, since: DateTime<Utc>) -> Result<u32> {
        let mut client = self.client()?;
        let n: i64 = client
            .query_one(
                "SELECT count(*) FROM pwsentry.failures WHERE key = $1 AND at >= $2",
                &[&key, &since],
            )
            .map_err(|e| self.map(&e))?
            .get(0);
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    fn clear_failures(&self, key: &str) -> Result<()> {
        let mut client = self.client()?;
        client
            .execute("DELETE FROM pwsentry.failures WHERE key = $1", &[&key])
            .map_err(|e| self.map(&e))?;
        Ok(())
    }

    fn visit_reminders(
        &self,
        cutoff: DateTime<Utc>,
        after: Option<(DateTime<Utc>, &str)>,
        visit: &mut ReminderVisit<'_>,
    ) -> Result<()> {
        let mut client = self.client()?;
        let err = |e: postgres::Error| self.map(&e);
        let mut tx = client
            .build_transaction()
            .read_only(true)
            .start()
            .map_err(err)?;
        const SELECT: &str = "SELECT a.account, a.changed_at, r.days
                                FROM pwsentry.accounts a
                                LEFT JOIN pwsentry.reminders r
                                  ON r.account = a.account AND r.changed_at = a.changed_at
                               WHERE a.changed_at <= $1";
        const ORDER: &str = " ORDER BY a.changed_at, a.account";
        let portal = match after {
            None => tx.bind(&format!("{SELECT}{ORDER}"), &[&cutoff]),
            Some((at, account)) => tx.bind(
                &format!(
                    "{SELECT} AND (a.changed_at, a.account) > ($2::timestamptz, $3::text){ORDER}"
                ),
                &[&cutoff, &at, &account],
            ),
        }
        .map_err(err)?;
        loop {
            let rows = tx.query_portal(&portal, FETCH_ROWS).map_err(err)?;
            for row in &rows {
                let account: &str = row.get(0);
                let days: Option<i32> = row.get(2);
                let days = days.and_then(|d| ReminderDays::try_from(d).ok());
                if visit(account, row.get(1), days).is_break() {
                    return Ok(());
                }
            }
            if rows.len() < FETCH_ROWS as usize {
                return Ok(());
            }
        }
    }

    fn note_reminder(
        &self,
        account: &str,
        changed_at: DateTime<Utc>,
        days: ReminderDays,
        sent_at: DateTime<Utc>,
    ) -> Result<()> {
        let days = i32::try_from(days)
            .map_err(|_| Error::Store(format!("reminder days {days} out of range")))?;
        let mut client = self.client()?;
        // For the same password keep the most urgent reminder (and when it
        // went out); a record of an earlier password is replaced, one of a
        // later password is not.
        client
            .execute(
                "INSERT INTO pwsentry.reminders (account, changed_at, days, sent_at)
                 SELECT $1::text, $2::timestamptz, $3::integer, $4::timestamptz
                  WHERE EXISTS (SELECT 1 FROM pwsentry.accounts WHERE account = $1::text)
                 ON CONFLICT (account) DO UPDATE SET
                     sent_at = CASE WHEN pwsentry.reminders.changed_at = excluded.changed_at
                                     AND pwsentry.reminders.days <= excluded.days
                                    THEN pwsentry.reminders.sent_at ELSE excluded.sent_at END,
                     days = CASE WHEN pwsentry.reminders.changed_at = excluded.changed_at
                                 THEN LEAST(pwsentry.reminders.days, excluded.days)
                                 ELSE excluded.days END,
                     changed_at = excluded.changed_at
                 WHERE excluded.changed_at >= pwsentry.reminders.changed_at",
                &[&account, &changed_at, &days, &sent_at],
            )
            .map_err(|e| self.map(&e))?;
        Ok(())
    }

    fn history(&self, account: &str) -> Result<Option<AccountHistory>> {
        let mut client = self.client()?;
        // One statement: the salt and the entries of the same snapshot.
        let rows = client
            .query(
                "SELECT a.salt, e.id, e.set_at, e.hash, e.peppered
                   FROM pwsentry.accounts a JOIN pwsentry.entries e ON e.account = a.account
                  WHERE a.account = $1
                  ORDER BY e.set_at DESC, e.id DESC",
                &[&account],
            )
            .map_err(|e| self.map(&e))?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let salt: Vec<u8> = first.get(0);
        let entries = rows
            .iter()
            .map(|r| HistoryEntry::new(r.get(1), r.get(2), r.get::<_, String>(3), r.get(4)))
            .collect();
        Ok(Some(AccountHistory::new(salt, entries)))
    }

    fn append(&self, account: &str, append: &Append<'_>) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(|e| self.map(&e))?;
        self.append_in(&mut tx, account, append)?;
        tx.commit().map_err(|e| self.map(&e))
    }

    /// One transaction for the whole batch (an import): all or nothing.
    fn append_batch(&self, batch: &[(&str, Append<'_>)]) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(|e| self.map(&e))?;
        for (account, append) in batch {
            self.append_in(&mut tx, account, append)?;
        }
        tx.commit().map_err(|e| self.map(&e))
    }

    fn forget(&self, account: &str) -> Result<bool> {
        let mut client = self.client()?;
        // Entries and the reminder record go with the account (ON DELETE
        // CASCADE), in one statement.
        let removed = client
            .execute(
                "DELETE FROM pwsentry.accounts WHERE account = $1",
                &[&account],
            )
            .map_err(|e| self.map(&e))?;
        Ok(removed > 0)
    }

    fn visit_changed_before(
        &self,
        cutoff: DateTime<Utc>,
        visit: &mut dyn FnMut(&str, DateTime<Utc>) -> ControlFlow<()>,
    ) -> Result<()> {
        let mut client = self.client()?;
        let err = |e: postgres::Error| self.map(&e);
        let mut tx = client
            .build_transaction()
            .read_only(true)
            .start()
            .map_err(err)?;
        // A portal is a server-side cursor: FETCH_ROWS rows per round trip,
        // whatever the number of accounts.
        let portal = tx
            .bind(
                "SELECT account, changed_at FROM pwsentry.accounts
                  WHERE changed_at <= $1 ORDER BY changed_at, account",
                &[&cutoff],
            )
            .map_err(err)?;
        loop {
            let rows = tx.query_portal(&portal, FETCH_ROWS).map_err(err)?;
            for row in &rows {
                let account: &str = row.get(0);
                if visit(account, row.get(1)).is_break() {
                    return Ok(());
                }
            }
            if rows.len() < FETCH_ROWS as usize {
                return Ok(());
            }
        }
    }
}

/// Errors of the URL parser and the connection must not carry the
/// password; the unit tests here check the parser, the integration tests
/// a real server.
#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn urls_in_libpq_forms() {
        let c = PostgresConfig::from_url("postgres:///pw?host=/run/postgresql&user=svc").unwrap();
        assert_eq!(c.redacted(), "postgresql://svc@/pw?host=/run/postgresql");
        let c = PostgresConfig::from_url("postgresql://svc@%2Frun%2Fpostgresql/pw").unwrap();
        assert_eq!(c.redacted(), "postgresql://svc@/pw?host=/run/postgresql");
        let c = PostgresConfig::from_url(
            "postgresql://svc:pa%40ss@db1:6432,db2/pw?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&statement_timeout=2s&pool_max_size=3",
        )
        .unwrap();
        assert_eq!(c.redacted(), "postgresql://svc@db1:6432,db2:5432/pw");
        assert_eq!(c.pg.get_password(), Some(&b"pa@ss"[..]));
        assert_eq!(c.root_cert.as_deref(), Some(Path::new("/etc/ca.pem")));
        assert_eq!(c.statement_timeout, Duration::from_secs(2));
        assert_eq!(c.pool_size, 3);
        assert_eq!(c.pg.get_ssl_mode(), postgres::config::SslMode::Require);
        let options = c.session().get_options().unwrap().to_owned();
        assert_eq!(options, "-c statement_timeout=2000 -c lock_timeout=2000");
    }

    #[test]
    fn bad_urls_are_named_without_the_password() {
        for (url, expect) in [
            (
                "mysql://u:Hunter2Secret@h/db",
                "must start with postgres://",
            ),
            (
                "postgres://u:Hunter2Secret@h/db?bogus=1",
                "unknown option `bogus`",
            ),
            (
                "postgres://u:Hunter2Secret@h/db?statement_timeout=soon",
                "statement_timeout",
            ),
            (
                "postgres://u:Hunter2Secret@h/db?statement_timeout=0",
                "statement_timeout",
            ),
            (
                "postgres://u:Hunter2Secret@h/db?pool_max_size=0",
                "pool_max_size",
            ),
            ("postgres://:Hunter2Secret@h/db", "no user name"),
            ("postgres://u:Hunter2Secret@h:notaport/db", "invalid"),
        ] {
            let e = PostgresConfig::from_url(url).unwrap_err().to_string();
            assert!(e.contains(expect), "{url}: {e}");
            assert!(!e.contains("Hunter2Secret"), "{url}: {e}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("250"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2min"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("25h"), None);
        assert_eq!(parse_duration("99999999999999999999"), None);
    }
}
