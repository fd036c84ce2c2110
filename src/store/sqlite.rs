//! The embedded history store: one SQLite file (bundled SQLite, nothing to
//! install).
//!
//! - WAL journal, `synchronous = FULL`, a busy timeout; every write is one
//!   `BEGIN IMMEDIATE` transaction, so two processes never interleave and a
//!   killed process leaves the file as before or after its write.
//! - Schema migrations are an append-only list applied by `PRAGMA
//!   user_version`; the file is marked with a pwsentry `application_id`. A
//!   file from a newer schema, another application's database or a
//!   non-SQLite file is refused before anything is written to it.
//! - The file is created by pwsentry with mode 0600 (directories 0700), so
//!   SQLite's WAL and shared-memory files inherit that mode.
//!
//! It must not change a file it refuses, and its errors never contain a
//! hash or a salt.

use super::{
    AccountHistory, Append, EntryId, Expect, HistoryEntry, ReminderDays, ReminderVisit, Store,
};
use crate::account::{AccountId, AccountsPolicy};
use crate::error::{Error, Result};
use crate::trusted_file::{self, FileRole};
use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// The schema version that added the `reminders` table.
const REMINDERS_VERSION: u32 = 4;

/// `PRAGMA application_id` of pwsentry databases ("pwse").
const APPLICATION_ID: i32 = 0x7077_7365;

/// How long a writer waits for another one before giving up with
/// [`Error::Busy`]. Writes are short (the hashing happens before), so a
/// longer wait means something is stuck.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Migration `i` takes the schema from version `i` to `i + 1`. Append only:
/// never edit a migration that has shipped.
const MIGRATIONS: &[Migration] = &[
    // 1: accounts with their salt and change time; entries per account.
    Migration::Sql(
        "CREATE TABLE accounts (
         account    TEXT PRIMARY KEY NOT NULL,
         salt       BLOB NOT NULL,
         changed_at INTEGER NOT NULL
     );
     CREATE INDEX accounts_by_changed_at ON accounts (changed_at, account);
     CREATE TABLE entries (
         id       INTEGER PRIMARY KEY AUTOINCREMENT,
         account  TEXT NOT NULL REFERENCES accounts (account) ON DELETE CASCADE,
         set_at   INTEGER NOT NULL,
         hash     TEXT NOT NULL,
         peppered INTEGER NOT NULL CHECK (peppered IN (0, 1))
     );
     CREATE INDEX entries_by_account ON entries (account, set_at, id);",
    ),
    // 2: account ids made canonical (see `crate::account`).
    Migration::CanonicalAccountIds,
    // 3: failed attempts (wrong current passwords) for lockouts.
    Migration::Sql(
        "CREATE TABLE failures (
         key TEXT NOT NULL,
         at  INTEGER NOT NULL
     );
     CREATE INDEX failures_by_key ON failures (key, at);
     CREATE INDEX failures_by_at ON failures (at);",
    ),
    // 4: the reminder mail last sent per account (`pwsentry notify`), for
    // the password set at `changed_at`; `days` 0 is the stale notice.
    Migration::Sql(
        "CREATE TABLE reminders (
         account    TEXT PRIMARY KEY NOT NULL
                    REFERENCES accounts (account) ON DELETE CASCADE,
         changed_at INTEGER NOT NULL,
         days       INTEGER NOT NULL CHECK (days >= 0),
         sent_at    INTEGER NOT NULL
     );",
    ),
];

/// One step of the schema.
enum Migration {
    /// Plain SQL.
    Sql(&'static str),
    /// Rewrites every stored account id to its canonical form; refuses
    /// (changing nothing) if two ids would become one or an id is invalid.
    CanonicalAccountIds,
}

/// How [`SqliteStore::open_with`] opens a database.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    create: bool,
    read_only: bool,
    accounts: AccountsPolicy,
}

impl OpenOptions {
    /// Open an existing database for reading and writing.
    pub fn new() -> Self {
        OpenOptions::default()
    }
    /// Create the database (mode 0600, missing folders 0700) if it does
    /// not exist.
    pub fn create(mut self, yes: bool) -> Self {
        self.create = yes;
        self
    }
    /// Open read-only: nothing is written, not even a migration, so a
    /// user who may only read the file can use it.
    pub fn read_only(mut self, yes: bool) -> Self {
        self.read_only = yes;
        self
    }
    /// The account id rules a migration makes stored ids canonical with
    /// (the policy's `[accounts]`; default: local parts lowercased).
    pub fn accounts(mut self, rules: AccountsPolicy) -> Self {
        self.accounts = rules;
        self
    }
}

/// A [`Store`] in an SQLite file.
///
/// ```
/// use pwsentry::store::{SqliteStore, Store};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("sub/history.db");
/// assert!(SqliteStore::open_existing(&path)?.is_none(), "read-only use never creates the file");
/// let store = SqliteStore::open(&path)?;
/// assert!(store.history("alice@example.com")?.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Connection>,
    read_only: bool,
    /// The schema version of the file: below [`SCHEMA_VERSION`] only when
    /// opened read-only (nothing is migrated then).
    version: u32,
}

impl SqliteStore {
    /// Opens the database at `path`, creating it (mode 0600, with missing
    /// directories, mode 0700) if it does not exist, and bringing its
    /// schema up to date.
    ///
    /// # Errors
    /// [`Error::Io`] if the file or its directories cannot be created;
    /// [`Error::Store`] if the file is not a pwsentry database, is corrupt,
    /// was written by a newer pwsentry (the file is left untouched), or is
    /// not trusted (a symbolic link, not a regular file, writable by group
    /// or others, owned by another user than the caller or root);
    /// [`Error::Busy`] if another process holds it locked.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore> {
        let opened = SqliteStore::open_with(path.as_ref(), &OpenOptions::new().create(true))?;
        opened.ok_or_else(|| Error::Store("the database vanished while it was created".into()))
    }

    /// Opens the database at `path` for reading and writing if it exists;
    /// `Ok(None)` if it does not.
    ///
    /// # Errors
    /// As for [`SqliteStore::open`], except that nothing is created.
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Option<SqliteStore>> {
        SqliteStore::open_with(path.as_ref(), &OpenOptions::new())
    }

    /// Opens the database at `path` as `options` say; `Ok(None)` if it does
    /// not exist and `options` do not create it.
    ///
    /// The file is checked before SQLite opens it (see
    /// [`trusted_file`](crate::trusted_file)) and SQLite is told not to
    /// follow a symbolic link. A migration that would make two stored
    /// account ids one (or finds an id that cannot be made canonical) is
    /// refused, naming the ids, and the file is left as it was.
    ///
    /// # Errors
    /// As for [`SqliteStore::open`].
    pub fn open_with(path: &Path, options: &OpenOptions) -> Result<Option<SqliteStore>> {
        trusted_file::check_folder(path)
            .map_err(|p| Error::Store(format!("{}: {p}", path.display())))?;
        if options.create && !options.read_only {
            create_file(path)?;
        }
        let checked = match trusted_file::open(path, FileRole::Database) {
            Ok(file) => file,
            Err(p) if p.is_not_found() => return Ok(None),
            Err(p) => return Err(Error::Store(format!("{}: {p}", path.display()))),
        };
        SqliteStore::connect(path, &checked, options).map(Some)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn connect(path: &Path, checked: &std::fs::File, options: &OpenOptions) -> Result<SqliteStore> {
        for suffix in ["-wal", "-shm"] {
            let side = side_file(path, suffix);
            match trusted_file::open(&side, FileRole::Database) {
                Ok(_) => {}
                Err(p) if p.is_not_found() => {}
                Err(p) => return Err(Error::Store(format!("{}: {p}", side.display()))),
            }
        }
        let err = |e: rusqlite::Error| map_err(path, e);
        let mode = if options.read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
        };
        let flags = mode | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let mut conn = Connection::open_with_flags(sqlite_name(path), flags).map_err(err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        // Temporary tables and indexes stay in memory: SQLite would otherwise
        // put them in $SQLITE_TMPDIR or $TMPDIR, which the caller of a
        // setuid program (the PAM module inside `passwd`) controls.
        conn.pragma_update(None, "temp_store", "MEMORY")
            .map_err(err)?;
        // Look before writing anything: a file we refuse stays as it was.
        // One read transaction, so that a database another process is
        // creating right now is seen either before or after, never half made.
        let version = {
            let tx = conn.transaction().map_err(err)?;
            // The first read opens the shared-memory file, which a reader
            // who may not write the folder cannot create (a restored
            // backup, or a database the sqlite3 shell closed last, has none).
            let first = tx.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0));
            if let Err(e) = &first
                && options.read_only
                && e.sqlite_error_code() == Some(ErrorCode::ReadOnly)
                && !side_file(path, "-shm").exists()
            {
                return Err(Error::Store(format!(
                    "{}: cannot be read by this user: its {} file is missing, and only a user who may write the folder can create it; fix: run `pwsentry --db {} store migrate` once as the database's owner (it creates the file and keeps it)",
                    path.display(),
                    side_file(path, "-shm").display(),
                    path.display()
                )));
            }
            let version = inspect(&tx, path)?;
            tx.commit().map_err(err)?;
            version
        };
        // SQLite opened the path again: it must still be the file checked.
        same_file(path, checked)?;
        if options.read_only {
            if version == 0 {
                return Err(Error::Store(format!(
                    "{}: an empty database (a command that records creates its tables)",
                    path.display()
                )));
            }
            return Ok(SqliteStore {
                path: path.to_owned(),
                conn: Mutex::new(conn),
                read_only: true,
                version,
            });
        }
        if version == 0 {
            let mode = set_wal(&conn).map_err(err)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(Error::Store(format!(
                    "{}: cannot use a write-ahead log here (journal mode {mode})",
                    path.display()
                )));
            }
        }
        // Keep the -wal and -shm files when the last writer closes, so that
        // a user who may only read the database can still open it.
        // Truncated to nothing after every checkpoint that resets it and
        // when the last connection closes: no stale page images linger.
        conn.pragma_update(None, "journal_size_limit", 0)
            .map_err(err)?;
        let mut persist = 1;
        conn.file_control(
            Some(rusqlite::MAIN_DB),
            rusqlite::FileControl::PersistWal(&mut persist),
        )
        .map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(err)?;
        // Deleted rows are overwritten, so `forget` leaves nothing behind.
        conn.pragma_update(None, "secure_delete", "ON")
            .map_err(err)?;
        if version < SCHEMA_VERSION {
            migrate(&mut conn, path, &options.accounts)?;
        }
        Ok(SqliteStore {
            path: path.to_owned(),
            conn: Mutex::new(conn),
            read_only: false,
            version: SCHEMA_VERSION,
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>> {
        self.conn.lock().map_err(|_| {
            Error::Store(format!(
                "{}: a previous operation panicked",
                self.path.display()
            ))
        })
    }

    /// Refuses a write on a store opened read-only, before SQLite does
    /// with a less helpful message.
    fn writable(&self) -> Result<()> {
        if self.read_only {
            return Err(Error::Store(format!(
                "{}: opened read-only, cannot write",
                self.path.display()
            )));
        }
        Ok(())
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> Error + '_ {
        move |e| map_err(&self.path, e)
    }
}

/// Switches to the write-ahead log. SQLite answers "busy" to this pragma
/// at once, without the busy timeout, while another connection is setting
/// up the same new database, so retry for up to [`BUSY_TIMEOUT`].
fn set_wal(conn: &Connection) -> rusqlite::Result<String> {
    let start = std::time::Instant::now();
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && start.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// Copies the write-ahead log into the database and truncates it to zero
/// bytes. A reader in the middle of a transaction keeps the log alive:
/// retry for up to [`BUSY_TIMEOUT`], then give up quietly (the next
/// checkpoint empties it).
fn checkpoint_truncate(conn: &Connection) -> rusqlite::Result<()> {
    let start = std::time::Instant::now();
    loop {
        let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        if busy == 0 || start.elapsed() >= BUSY_TIMEOUT {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads the schema version, after checking that this is a pwsentry
/// database this build understands. Writes nothing.
fn inspect(conn: &Connection, path: &Path) -> Result<u32> {
    let err = |e| map_err(path, e);
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    let app_id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(err)?;
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(err)?;
    let foreign = || {
        Error::Store(format!(
            "{}: an SQLite database, but not a pwsentry history database",
            path.display()
        ))
    };
    if app_id != APPLICATION_ID && (app_id != 0 || objects > 0 || version != 0) {
        return Err(foreign());
    }
    let version = u32::try_from(version).map_err(|_| foreign())?;
    if version > SCHEMA_VERSION {
        return Err(Error::Store(format!(
            "{}: written by a newer pwsentry (schema version {version}; this version understands up to {SCHEMA_VERSION}); upgrade pwsentry to use it",
            path.display()
        )));
    }
    Ok(version)
}

fn migrate(conn: &mut Connection, path: &Path, rules: &AccountsPolicy) -> Result<()> {
    let err = |e| map_err(path, e);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    // Another process may have migrated while we waited for the lock.
    let version = inspect(&tx, path)?;
    for (i, step) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        match step {
            Migration::Sql(sql) => tx.execute_batch(sql).map_err(err)?,
            Migration::CanonicalAccountIds => canonicalise_ids(&tx, path, rules)?,
        }
        tx.pragma_update(None, "user_version", i as i64 + 1)
            .map_err(err)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(err)?;
    tx.commit().map_err(err)
}

/// Most ids a refused migration names.
const MAX_IDS_SHOWN: usize = 10;

/// Migration 2: every stored account id becomes canonical. Two ids that
/// would become one are never merged: the migration fails naming them and
/// the transaction is dropped, so the file stays as it was.
fn canonicalise_ids(
    tx: &rusqlite::Transaction<'_>,
    path: &Path,
    rules: &AccountsPolicy,
) -> Result<()> {
    let err = |e| map_err(path, e);
    let mut renames: Vec<(String, String)> = Vec::new();
    let mut by_canonical: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut problems: Vec<String> = Vec::new();
    {
        let mut stmt = tx
            .prepare("SELECT account FROM accounts ORDER BY account")
            .map_err(err)?;
        let mut rows = stmt.query([]).map_err(err)?;
        while let Some(row) = rows.next().map_err(err)? {
            let raw: String = row.get(0).map_err(err)?;
            match AccountId::parse(&raw, rules) {
                Ok(id) => {
                    let id = id.into_string();
                    if id != raw {
                        renames.push((raw.clone(), id.clone()));
                    }
                    by_canonical.entry(id).or_default().push(raw);
                }
                Err(e) => problems.push(format!("{} is not a valid id ({e})", quoted(&raw))),
            }
        }
    }
    for (id, raws) in &by_canonical {
        if raws.len() > 1 {
            let names: Vec<String> = raws.iter().map(|r| quoted(r)).collect();
            problems.push(format!(
                "{} would all become {}",
                names.join(", "),
                quoted(id)
            ));
        }
    }
    if !problems.is_empty() {
        let more = problems.len().saturating_sub(MAX_IDS_SHOWN);
        problems.truncate(MAX_IDS_SHOWN);
        let mut list = problems.join("; ");
        if more > 0 {
            list.push_str(&format!("; and {more} more"));
        }
        return Err(Error::Store(format!(
            "{}: cannot make the stored account ids canonical, nothing was changed: {list}. \
             Merge or rename these accounts yourself (or forget them with the previous pwsentry), \
             then run pwsentry again",
            path.display()
        )));
    }
    // The parent key changes under its entries: check the foreign keys at
    // commit, when both sides carry the new id.
    tx.pragma_update(None, "defer_foreign_keys", "ON")
        .map_err(err)?;
    for (raw, id) in &renames {
        tx.execute(
            "UPDATE accounts SET account = ?2 WHERE account = ?1",
            params![raw, id],
        )
        .map_err(err)?;
        tx.execute(
            "UPDATE entries SET account = ?2 WHERE account = ?1",
            params![raw, id],
        )
        .map_err(err)?;
    }
    Ok(())
}

/// An id as a message shows it: quoted, every control or invisible
/// character escaped.
fn quoted(id: &str) -> String {
    format!("\"{}\"", crate::account::escape(id))
}

/// Checks that `path` still names the file opened as `checked`.
fn same_file(path: &Path, checked: &std::fs::File) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let now = std::fs::symlink_metadata(path);
        let was = checked.metadata();
        let same = match (&now, &was) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        };
        if !same {
            return Err(Error::Store(format!(
                "{}: the file was replaced while it was being opened; try again",
                path.display()
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = (path, checked);
    Ok(())
}

/// `path` with `suffix` appended: SQLite's `-wal` and `-shm` files.
fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut side = path.as_os_str().to_owned();
    side.push(suffix);
    PathBuf::from(side)
}

/// The name SQLite is given for `path`: a relative path is prefixed with
/// `./`, so that SQLite reads every path as a file name. Without it, this
/// bundled SQLite (built with URI file names on) would read `file:…` as a
/// URI naming another file, or none (`file:x?mode=memory`), and `:memory:`
/// as an in-memory database: the file checked would not be the file used.
fn sqlite_name(path: &Path) -> PathBuf {
    if path.is_relative() {
        Path::new(".").join(path)
    } else {
        path.to_owned()
    }
}

fn create_file(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(Error::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

fn map_err(path: &Path, e: rusqlite::Error) -> Error {
    let p = path.display();
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Error::Busy,
        Some(ErrorCode::NotADatabase) => Error::Store(format!(
            "{p}: not a pwsentry history database (not an SQLite file, or damaged)"
        )),
        Some(ErrorCode::DatabaseCorrupt) => Error::Store(format!("{p}: the database is corrupt")),
        Some(ErrorCode::ReadOnly) => Error::Store(format!("{p}: the database is read-only")),
        Some(ErrorCode::CannotOpen) => Error::Store(format!("{p}: cannot open the database file")),
        Some(ErrorCode::PermissionDenied) => Error::Store(format!("{p}: permission denied")),
        Some(ErrorCode::DiskFull) => Error::Store(format!(
            "{p}: disk full: the change was not written (the history is as it was); free some space and try again"
        )),
        _ => Error::Store(format!("{p}: {e}")),
    }
}

fn seconds(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

fn time(path: &Path, secs: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
        .ok_or_else(|| Error::Store(format!("{}: holds a time out of range", path.display())))
}

/// One account's append inside the caller's transaction.
fn append_in(
    tx: &rusqlite::Transaction<'_>,
    err: &impl Fn(rusqlite::Error) -> Error,
    account: &str,
    append: &Append<'_>,
) -> Result<()> {
    if let Expect::Unchanged(expected) = append.expect {
        let head: Option<EntryId> = tx
            .query_row(
                "SELECT max(id) FROM entries WHERE account = ?1",
                [account],
                |r| r.get(0),
            )
            .map_err(err)?;
        if head != expected {
            return Err(Error::Busy);
        }
    }
    let Some(newest) = append.entries.iter().map(|e| e.set_at).max() else {
        return Ok(());
    };
    tx.execute(
            "INSERT INTO accounts (account, salt, changed_at) VALUES (?1, ?2, ?3) ON CONFLICT (account) DO NOTHING",
            params![account, append.salt, seconds(newest)],
        )
        .map_err(err)?;
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO entries (account, set_at, hash, peppered) VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(err)?;
        for e in append.entries {
            insert
                .execute(params![
                    account,
                    seconds(e.set_at),
                    e.hash.as_str(),
                    e.peppered
                ])
                .map_err(err)?;
        }
    }
    let r = append.retention;
    tx.execute(
        "DELETE FROM entries WHERE account = ?1 AND set_at <= ?3 AND id NOT IN (
                 SELECT id FROM entries WHERE account = ?1 ORDER BY set_at DESC, id DESC LIMIT ?2)",
        params![
            account,
            r.keep_latest(),
            r.keep_set_after().map_or(i64::MAX, seconds)
        ],
    )
    .map_err(err)?;
    tx.execute(
            "UPDATE accounts SET changed_at = (SELECT max(set_at) FROM entries WHERE account = ?1) WHERE account = ?1",
            [account],
        )
        .map_err(err)?;
    Ok(())
}

impl Store for SqliteStore {
    fn history(&self, account: &str) -> Result<Option<AccountHistory>> {
        let mut conn = self.lock()?;
        let err = self.err();
        // One read transaction: the salt and the entries of the same snapshot.
        let tx = conn.transaction().map_err(&err)?;
        let salt: Option<Vec<u8>> = tx
            .query_row(
                "SELECT salt FROM accounts WHERE account = ?1",
                [account],
                |r| r.get(0),
            )
            .optional()
            .map_err(&err)?;
        let Some(salt) = salt else { return Ok(None) };
        let mut stmt = tx
            .prepare_cached("SELECT id, set_at, hash, peppered FROM entries WHERE account = ?1 ORDER BY set_at DESC, id DESC")
            .map_err(&err)?;
        let mut rows = stmt.query([account]).map_err(&err)?;
        let mut entries = Vec::new();
        while let Some(row) = rows.next().map_err(&err)? {
            let id: EntryId = row.get(0).map_err(&err)?;
            let set_at = time(&self.path, row.get(1).map_err(&err)?)?;
            let hash: String = row.get(2).map_err(&err)?;
            let peppered: bool = row.get(3).map_err(&err)?;
            entries.push(HistoryEntry::new(id, set_at, hash, peppered));
        }
        if entries.is_empty() {
            return Ok(None);
        }
        Ok(Some(AccountHistory::new(salt, entries)))
    }

    fn append(&self, account: &str, append: &Append<'_>) -> Result<()> {
        self.append_batch(&[(account, *append)])
    }

    /// All the appends in one `BEGIN IMMEDIATE` transaction (one fsync).
    fn append_batch(&self, batch: &[(&str, Append<'_>)]) -> Result<()> {
        self.writable()?;
        let mut conn = self.lock()?;
        let err = self.err();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        for (account, append) in batch {
            append_in(&tx, &err, account, append)?;
        }
        tx.commit().map_err(&err)
    }

    fn forget(&self, account: &str) -> Result<bool> {
        self.writable()?;
        let mut conn = self.lock()?;
        let err = self.err();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        tx.execute("DELETE FROM entries WHERE account = ?1", [account])
            .map_err(&err)?;
        tx.execute("DELETE FROM reminders WHERE account = ?1", [account])
            .map_err(&err)?;
        let removed = tx
            .execute("DELETE FROM accounts WHERE account = ?1", [account])
            .map_err(&err)?;
        tx.commit().map_err(&err)?;
        if removed > 0 {
            // Secure delete zeroed the rows in the pages; copy those pages
            // into the database file and empty the write-ahead log, which
            // still holds the older page images with the account in them.
            checkpoint_truncate(&conn).map_err(&err)?;
        }
        Ok(removed > 0)
    }

    fn visit_changed_before(
        &self,
        cutoff: DateTime<Utc>,
        visit: &mut dyn FnMut(&str, DateTime<Utc>) -> ControlFlow<()>,
    ) -> Result<()> {
        let conn = self.lock()?;
        let err = self.err();
        // Walks the (changed_at, account) index: already in order, one row
        // in memory at a time.
        let mut stmt = conn
            .prepare_cached("SELECT account, changed_at FROM accounts WHERE changed_at <= ?1 ORDER BY changed_at, account")
            .map_err(&err)?;
        let mut rows = stmt.query([seconds(cutoff)]).map_err(&err)?;
        while let Some(row) = rows.next().map_err(&err)? {
            let account = row
                .get_ref(0)
                .map_err(&err)?
                .as_str()
                .map_err(|e| err(e.into()))?;
            let changed_at = time(&self.path, row.get(1).map_err(&err)?)?;
            if visit(account, changed_at).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn visit_reminders(
        &self,
        cutoff: DateTime<Utc>,
        after: Option<(DateTime<Utc>, &str)>,
        visit: &mut ReminderVisit<'_>,
    ) -> Result<()> {
        let conn = self.lock()?;
        let err = self.err();
        // The (changed_at, account) index again, resumed after `after`;
        // the join is one primary-key look-up per account. A file opened
        // read-only before migration 4 has no reminders table: nothing was
        // ever sent from it.
        let sql = if self.version >= REMINDERS_VERSION {
            "SELECT a.account, a.changed_at, r.days
               FROM accounts a
               LEFT JOIN reminders r ON r.account = a.account AND r.changed_at = a.changed_at
              WHERE a.changed_at <= ?1 AND (a.changed_at, a.account) > (?2, ?3)
              ORDER BY a.changed_at, a.account"
        } else {
            "SELECT a.account, a.changed_at, NULL
               FROM accounts a
              WHERE a.changed_at <= ?1 AND (a.changed_at, a.account) > (?2, ?3)
              ORDER BY a.changed_at, a.account"
        };
        let mut stmt = conn.prepare_cached(sql).map_err(&err)?;
        let (after_at, after_id) = after.map_or((i64::MIN, ""), |(t, a)| (seconds(t), a));
        let mut rows = stmt
            .query(params![seconds(cutoff), after_at, after_id])
            .map_err(&err)?;
        while let Some(row) = rows.next().map_err(&err)? {
            let account = row
                .get_ref(0)
                .map_err(&err)?
                .as_str()
                .map_err(|e| err(e.into()))?;
            let changed_at = time(&self.path, row.get(1).map_err(&err)?)?;
            let reminded: Option<ReminderDays> = row.get(2).map_err(&err)?;
            if visit(account, changed_at, reminded).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn note_reminder(
        &self,
        account: &str,
        changed_at: DateTime<Utc>,
        days: ReminderDays,
        sent_at: DateTime<Utc>,
    ) -> Result<()> {
        self.writable()?;
        let conn = self.lock()?;
        // For the same password keep the most urgent reminder (and when it
        // went out); a record of an earlier password is replaced, one of a
        // later password is not.
        conn.execute(
            "INSERT INTO reminders (account, changed_at, days, sent_at)
             SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM accounts WHERE account = ?1)
             ON CONFLICT (account) DO UPDATE SET
                 sent_at = CASE WHEN reminders.changed_at = excluded.changed_at
                                 AND reminders.days <= excluded.days
                                THEN reminders.sent_at ELSE excluded.sent_at END,
                 days = CASE WHEN reminders.changed_at = excluded.changed_at
                             THEN min(reminders.days, excluded.days) ELSE excluded.days END,
                 changed_at = excluded.changed_at
                 WHERE excluded.changed_at >= reminders.changed_at",
            params![account, seconds(changed_at), days, seconds(sent_at)],
        )
        .map_err(self.err())?;
        Ok(())
    }

    fn note_failure(&self, key: &str, at: DateTime<Utc>, window: TimeDelta) -> Result<u32> {
        Ok(self.count_attempt(key, at, window, None)?.0)
    }

    fn try_attempt(
        &self,
        key: &str,
        at: DateTime<Utc>,
        window: TimeDelta,
        max: u32,
    ) -> Result<bool> {
        Ok(self.count_attempt(key, at, window, Some(max))?.1)
    }

    fn forgive_attempt(&self, key: &str, at: DateTime<Utc>) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "DELETE FROM failures WHERE rowid =
               (SELECT rowid FROM failures WHERE key = ?1 AND at = ?2 LIMIT 1)",
            params![key, seconds(at)],
        )
        .map_err(self.err())?;
        Ok(())
    }

    fn failures_since(&self, key: &str, since: DateTime<Utc>) -> Result<u32> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT count(*) FROM failures WHERE key = ?1 AND at >= ?2",
            params![key, seconds(since)],
            |r| r.get(0),
        )
        .map_err(self.err())
    }

    fn clear_failures(&self, key: &str) -> Result<()> {
        let conn = self.lock()?;
        conn.execute("DELETE FROM failures WHERE key = ?1", [key])
            .map_err(self.err())?;
        Ok(())
    }
}

impl SqliteStore {
    /// [`Store::note_failure`] and [`Store::try_attempt`] in one
    /// IMMEDIATE transaction (the write lock is taken before the count, so
    /// no other process counts in between): forgets attempts older than
    /// the window, counts `key`'s, and adds this one unless `max` are
    /// already there. Returns the count afterwards and whether it was added.
    fn count_attempt(
        &self,
        key: &str,
        at: DateTime<Utc>,
        window: TimeDelta,
        max: Option<u32>,
    ) -> Result<(u32, bool)> {
        let mut conn = self.lock()?;
        let err = self.err();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        let oldest = at.checked_sub_signed(window).map_or(i64::MIN, seconds);
        tx.execute("DELETE FROM failures WHERE at < ?1", [oldest])
            .map_err(&err)?;
        let count: u32 = tx
            .query_row(
                "SELECT count(*) FROM failures WHERE key = ?1 AND at >= ?2",
                params![key, oldest],
                |r| r.get(0),
            )
            .map_err(&err)?;
        let added = max.is_none_or(|max| count < max);
        if added {
            tx.execute(
                "INSERT INTO failures (key, at) VALUES (?1, ?2)",
                params![key, seconds(at)],
            )
            .map_err(&err)?;
        }
        tx.commit().map_err(&err)?;
        Ok((count + u32::from(added), added))
    }

    /// Copies every account of `source` (salts, entries, times, pepper
    /// flags) into this database in one transaction and checks the counts
    /// inside it: all or nothing. This database must be empty and must not
    /// be `source`. Returns (accounts, entries) copied. The account ids are
    /// held in memory.
    ///
    /// # Errors
    /// [`Error::Store`] if this database is not empty, the counts differ,
    /// or either store fails; nothing is written then.
    pub fn load_from(&self, source: &dyn Store) -> Result<(u64, u64)> {
        let accounts = super::all_accounts(source)?;
        let mut conn = self.lock()?;
        let err = self.err();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        let present: i64 = tx
            .query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))
            .map_err(&err)?;
        if present > 0 {
            return Err(Error::Store(format!(
                "{}: the target already holds {present} accounts; copy only into an empty store",
                self.path.display()
            )));
        }
        let (mut n_accounts, mut n_entries) = (0u64, 0u64);
        {
            let mut account_row = tx
                .prepare("INSERT INTO accounts (account, salt, changed_at) VALUES (?1, ?2, ?3)")
                .map_err(&err)?;
            let mut entry_row = tx
                .prepare(
                    "INSERT INTO entries (account, set_at, hash, peppered) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(&err)?;
            for account in &accounts {
                let Some(history) = source.history(account)? else {
                    return Err(Error::Store(format!(
                        "the source changed during the copy ({account:?} vanished); nothing was copied"
                    )));
                };
                let Some(changed_at) = history.changed_at() else {
                    continue;
                };
                account_row
                    .execute(params![account, history.salt(), seconds(changed_at)])
                    .map_err(&err)?;
                // Oldest first, so new ids keep the (set_at, id) order.
                for e in history.entries().iter().rev() {
                    entry_row
                        .execute(params![
                            account,
                            seconds(e.set_at()),
                            e.hash(),
                            e.peppered()
                        ])
                        .map_err(&err)?;
                    n_entries += 1;
                }
                n_accounts += 1;
            }
        }
        let (a, e): (i64, i64) = tx
            .query_row(
                "SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM entries)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(&err)?;
        if a as u64 != n_accounts || e as u64 != n_entries {
            return Err(Error::Store(format!(
                "{}: after the copy the target holds {a} accounts and {e} entries, not {n_accounts} and {n_entries}; nothing was copied",
                self.path.display()
            )));
        }
        tx.commit().map_err(&err)?;
        Ok((n_accounts, n_entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_the_store_contract() {
        let dir = tempfile::tempdir().unwrap();
        let n = std::sync::atomic::AtomicUsize::new(0);
        crate::store::contract::run_all(&|| {
            let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Box::new(SqliteStore::open(dir.path().join(format!("contract-{i}.db"))).unwrap())
        });
    }

    #[test]
    fn is_a_thread_safe_store() {
        fn assert_store<T: Store + Send + Sync>() {}
        assert_store::<SqliteStore>();
        assert_store::<crate::store::MemoryStore>();
    }

    #[cfg(unix)]
    #[test]
    fn creates_file_0600_and_dirs() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/history.db");
        let _store = SqliteStore::open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dmode = std::fs::metadata(dir.path().join("a/b"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dmode & 0o077, 0, "new directories are private");
    }

    #[test]
    fn open_existing_does_not_create() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none/history.db");
        assert!(SqliteStore::open_existing(&path).unwrap().is_none());
        assert!(!dir.path().join("none").exists());
    }

    #[test]
    fn refuses_foreign_and_garbage_files_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.db");
        let bytes: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&garbage, &bytes).unwrap();
        let e = SqliteStore::open(&garbage).unwrap_err().to_string();
        assert!(e.contains("not a pwsentry history database"), "{e}");
        assert_eq!(std::fs::read(&garbage).unwrap(), bytes);

        let foreign = dir.path().join("foreign.db");
        Connection::open(&foreign)
            .unwrap()
            .execute_batch("CREATE TABLE t (x);")
            .unwrap();
        let before = std::fs::read(&foreign).unwrap();
        let e = SqliteStore::open(&foreign).unwrap_err().to_string();
        assert!(e.contains("not a pwsentry history database"), "{e}");
        assert_eq!(std::fs::read(&foreign).unwrap(), before);
    }

    #[test]
    fn refuses_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        drop(SqliteStore::open(&path).unwrap());
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let before = std::fs::read(&path).unwrap();
        let e = SqliteStore::open(&path).unwrap_err().to_string();
        assert!(e.contains("newer pwsentry") && e.contains("99"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    /// A schema-1 database (before canonical ids) holding these accounts.
    fn schema_1(path: &Path, accounts: &[&str]) {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
        let Migration::Sql(sql) = MIGRATIONS[0] else {
            unreachable!("migration 1 is SQL")
        };
        conn.execute_batch(sql).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        for (i, a) in accounts.iter().enumerate() {
            conn.execute(
                "INSERT INTO accounts VALUES (?1, x'00', ?2)",
                params![a, i as i64],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO entries (account, set_at, hash, peppered) VALUES (?1, ?2, 'h', 0)",
                params![a, i as i64],
            )
            .unwrap();
        }
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
    }

    fn ids(store: &SqliteStore) -> Vec<String> {
        let conn = store.lock().unwrap();
        let mut stmt = conn
            .prepare("SELECT a.account FROM accounts a JOIN entries e USING (account) ORDER BY 1")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn migration_makes_ids_canonical() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        schema_1(&path, &["Alice@Example.COM", "bob@x.org"]);
        // Read-only opens do not migrate.
        let ro = SqliteStore::open_with(&path, &OpenOptions::new().read_only(true))
            .unwrap()
            .unwrap();
        assert_eq!(ids(&ro), ["Alice@Example.COM", "bob@x.org"]);
        drop(ro);
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(ids(&store), ["alice@example.com", "bob@x.org"]);
        assert!(store.history("alice@example.com").unwrap().is_some());
        let conn = store.lock().unwrap();
        let fk: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(fk, 0);
        drop(conn);
        // Case-sensitive local parts keep theirs.
        let path2 = dir.path().join("h2.db");
        schema_1(&path2, &["Alice@Example.COM"]);
        let rules = AccountsPolicy::new().with_case_sensitive_local_part(true);
        let store = SqliteStore::open_with(&path2, &OpenOptions::new().accounts(rules))
            .unwrap()
            .unwrap();
        assert_eq!(ids(&store), ["Alice@example.com"]);
    }

    #[test]
    fn migration_refuses_collisions_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        schema_1(&path, &["Dave@x.org", "dave@X.ORG", " lead@x.org"]);
        let before = std::fs::read(&path).unwrap();
        let e = SqliteStore::open(&path).unwrap_err().to_string();
        assert!(
            e.contains(r#""Dave@x.org", "dave@X.ORG" would all become "dave@x.org""#),
            "{e}"
        );
        assert!(e.contains(r#"" lead@x.org" is not a valid id"#), "{e}");
        assert!(e.contains("nothing was changed"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
        let conn = Connection::open(&path).unwrap();
        let v: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, 1);
    }

    #[cfg(unix)]
    #[test]
    fn untrusted_files_are_refused_before_sqlite_opens_them() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        drop(SqliteStore::open(&path).unwrap());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = SqliteStore::open(&path).unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link.db");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let e = SqliteStore::open(&link).unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        // A dangling link is not followed to create a file either.
        let dangling = dir.path().join("dangling.db");
        std::os::unix::fs::symlink(dir.path().join("elsewhere.db"), &dangling).unwrap();
        assert!(SqliteStore::open(&dangling).is_err());
        assert!(!dir.path().join("elsewhere.db").exists());
    }

    #[test]
    fn a_read_only_store_refuses_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        drop(SqliteStore::open(&path).unwrap());
        let ro = SqliteStore::open_with(&path, &OpenOptions::new().read_only(true))
            .unwrap()
            .unwrap();
        let e = ro.forget("a").unwrap_err().to_string();
        assert!(e.contains("read-only"), "{e}");
        assert!(
            SqliteStore::open_with(
                &dir.path().join("none.db"),
                &OpenOptions::new().read_only(true)
            )
            .unwrap()
            .is_none()
        );
    }

    #[test]
    fn reopening_keeps_data_and_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        drop(SqliteStore::open(&path).unwrap());
        let store = SqliteStore::open_existing(&path).unwrap().unwrap();
        let conn = store.lock().unwrap();
        let v: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn a_schema_3_file_read_only_has_no_reminders_and_migrates_to_4() {
        use crate::store::{NewEntry, Retention};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let store = SqliteStore::open(&path).unwrap();
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let entries = [NewEntry::new(at, "$6$salt$hash", false)];
        let append = Append {
            salt: &[1; 16],
            entries: &entries,
            expect: Expect::Anything,
            retention: Retention::new(5, None),
        };
        store.append("a", &append).unwrap();
        drop(store);
        // As pwsentry before reminders left it.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("DROP TABLE reminders; PRAGMA user_version = 3;")
            .unwrap();
        drop(conn);
        let ro = SqliteStore::open_with(&path, &OpenOptions::new().read_only(true))
            .unwrap()
            .unwrap();
        let mut seen = Vec::new();
        ro.visit_reminders(at, None, &mut |a, t, days| {
            seen.push((a.to_owned(), t, days));
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(seen, [("a".to_owned(), at, None)]);
        drop(ro);
        let rw = SqliteStore::open(&path).unwrap();
        rw.note_reminder("a", at, 7, at).unwrap();
        let mut seen = Vec::new();
        rw.visit_reminders(at, None, &mut |_, _, days| {
            seen.push(days);
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(
            seen,
            [Some(7)],
            "migration 4 added the table, the history kept"
        );
        assert_eq!(rw.history("a").unwrap().unwrap().entries().len(), 1);
    }

    #[test]
    fn a_batch_is_all_or_nothing() {
        use crate::store::{NewEntry, Retention};
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("h.db")).unwrap();
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let entries = [NewEntry::new(at, "$6$salt$hash", false)];
        let append = |expect| Append {
            salt: &[1; 16],
            entries: &entries,
            expect,
            retention: Retention::new(5, None),
        };
        // The second append's expectation fails: the first is not applied.
        let r = store.append_batch(&[
            ("a", append(Expect::Anything)),
            ("b", append(Expect::Unchanged(Some(42)))),
        ]);
        assert!(matches!(r, Err(Error::Busy)), "{r:?}");
        assert!(store.history("a").unwrap().is_none());
        store
            .append_batch(&[
                ("a", append(Expect::Anything)),
                ("b", append(Expect::Anything)),
            ])
            .unwrap();
        assert_eq!(store.history("a").unwrap().unwrap().entries().len(), 1);
        assert_eq!(store.history("b").unwrap().unwrap().entries().len(), 1);
    }
}
