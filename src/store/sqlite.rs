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

use super::{AccountHistory, Append, EntryId, Expect, HistoryEntry, Store};
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// `PRAGMA application_id` of pwsentry databases ("pwse").
const APPLICATION_ID: i32 = 0x7077_7365;

/// How long a writer waits for another one before giving up with
/// [`Error::Busy`]. Writes are short (the hashing happens before), so a
/// longer wait means something is stuck.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Migration `i` takes the schema from version `i` to `i + 1`. Append only:
/// never edit a migration that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: accounts with their salt and change time; entries per account.
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
];

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
}

impl SqliteStore {
    /// Opens the database at `path`, creating it (mode 0600, with missing
    /// directories, mode 0700) if it does not exist, and bringing its
    /// schema up to date.
    ///
    /// # Errors
    /// [`Error::Io`] if the file or its directories cannot be created;
    /// [`Error::Store`] if the file is not a pwsentry database, is corrupt,
    /// or was written by a newer pwsentry (the file is left untouched);
    /// [`Error::Busy`] if another process holds it locked.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore> {
        let path = path.as_ref();
        create_file(path)?;
        SqliteStore::connect(path)
    }

    /// Opens the database at `path` if it exists; `Ok(None)` if it does
    /// not. For read-only commands, which must not create a database.
    ///
    /// # Errors
    /// As for [`SqliteStore::open`], except that nothing is created.
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Option<SqliteStore>> {
        let path = path.as_ref();
        match std::fs::metadata(path) {
            Ok(_) => SqliteStore::connect(path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn connect(path: &Path) -> Result<SqliteStore> {
        let meta = std::fs::metadata(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        if !meta.is_file() {
            return Err(Error::Store(format!(
                "{}: not a regular file",
                path.display()
            )));
        }
        let err = |e: rusqlite::Error| map_err(path, e);
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).map_err(err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        // Look before writing anything: a file we refuse stays as it was.
        // One read transaction, so that a database another process is
        // creating right now is seen either before or after, never half made.
        let version = {
            let tx = conn.transaction().map_err(err)?;
            let version = inspect(&tx, path)?;
            tx.commit().map_err(err)?;
            version
        };
        if version == 0 {
            let mode = set_wal(&conn).map_err(err)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(Error::Store(format!(
                    "{}: cannot use a write-ahead log here (journal mode {mode})",
                    path.display()
                )));
            }
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(err)?;
        if version < SCHEMA_VERSION {
            migrate(&mut conn, path)?;
        }
        Ok(SqliteStore {
            path: path.to_owned(),
            conn: Mutex::new(conn),
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

fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let err = |e| map_err(path, e);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    // Another process may have migrated while we waited for the lock.
    let version = inspect(&tx, path)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql).map_err(err)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)
            .map_err(err)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(err)?;
    tx.commit().map_err(err)
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
        Some(ErrorCode::DiskFull) => Error::Store(format!("{p}: the disk is full")),
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
        let mut conn = self.lock()?;
        let err = self.err();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        if let Expect::Unchanged(expected) = append.expect {
            let head: Option<EntryId> = tx
                .query_row(
                    "SELECT max(id) FROM entries WHERE account = ?1",
                    [account],
                    |r| r.get(0),
                )
                .map_err(&err)?;
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
        .map_err(&err)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO entries (account, set_at, hash, peppered) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(&err)?;
            for e in append.entries {
                insert
                    .execute(params![
                        account,
                        seconds(e.set_at),
                        e.hash.as_str(),
                        e.peppered
                    ])
                    .map_err(&err)?;
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
        .map_err(&err)?;
        tx.execute(
            "UPDATE accounts SET changed_at = (SELECT max(set_at) FROM entries WHERE account = ?1) WHERE account = ?1",
            [account],
        )
        .map_err(&err)?;
        tx.commit().map_err(&err)
    }

    fn forget(&self, account: &str) -> Result<bool> {
        let mut conn = self.lock()?;
        let err = self.err();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        tx.execute("DELETE FROM entries WHERE account = ?1", [account])
            .map_err(&err)?;
        let removed = tx
            .execute("DELETE FROM accounts WHERE account = ?1", [account])
            .map_err(&err)?;
        tx.commit().map_err(&err)?;
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
}

impl SqliteStore {
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
}
