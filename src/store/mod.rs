//! Where password history lives: the [`Store`] trait, its embedded SQLite
//! implementation ([`SqliteStore`]), a PostgreSQL one for fleets
//! (`PostgresStore`, feature `postgres`) and an in-memory one for tests
//! ([`MemoryStore`]). The contract every store must meet is written on
//! [`Store`] and, with the feature `contract-tests`, runnable as
//! `store::contract::run_all` against any implementation.
//!
//! A store keeps, per account, a random salt and a list of argon2 PHC
//! strings with the time each password was set. It never sees a password,
//! never hashes, never applies policy: the history module decides what to
//! record and what to prune, and the store does it atomically. Stores must
//! not print, read the clock or the environment.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use pwsentry::store::{Append, Expect, MemoryStore, NewEntry, Retention, Store};
//!
//! let store = MemoryStore::new();
//! let at = Utc.with_ymd_and_hms(2026, 1, 31, 12, 0, 0).unwrap();
//! let entry = NewEntry::new(at, "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA", false);
//! store.append("alice", &Append {
//!     salt: &[7; 16],
//!     entries: &[entry],
//!     expect: Expect::Unchanged(None),
//!     retention: Retention::new(5, None),
//! })?;
//! let history = store.history("alice")?.expect("recorded");
//! assert_eq!(history.entries().len(), 1);
//! assert_eq!(history.changed_at(), Some(at));
//! # Ok::<(), pwsentry::Error>(())
//! ```

mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod sqlite;

pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::{
    DEFAULT_STATEMENT_TIMEOUT, FETCH_ROWS, POSTGRES_SCHEMA_VERSION, PostgresConfig, PostgresStore,
};
pub use sqlite::{OpenOptions, SCHEMA_VERSION, SqliteStore};

use crate::error::Result;
use chrono::{DateTime, TimeDelta, Utc};
use std::fmt;
use std::ops::ControlFlow;
use zeroize::Zeroizing;

/// Identifies a stored entry. Ids only grow: an id is never given to two
/// entries of one store, even after the first is pruned or forgotten, so
/// the largest id of an account tells whether its history changed.
pub type EntryId = i64;

/// Storage for password history.
///
/// # Contract
/// Every implementation must guarantee, and the crate's store contract
/// tests check:
/// - **Atomic appends.** [`Store::append`] adds all its entries and prunes
///   in one transaction: a reader, or a process that was killed, sees the
///   history from before or after, never between. An acknowledged append
///   (`Ok`) is durable.
/// - **Optimistic concurrency.** With [`Expect::Unchanged`], `append` fails
///   with [`Error::Busy`](crate::Error::Busy) and changes nothing when the
///   account's head ([`AccountHistory::head`]) is no longer the one given:
///   another writer got there first and the caller must evaluate again.
///   When the store's lock cannot be had in reasonable time it also returns
///   `Busy`.
/// - **Pruning.** After an append, the account keeps exactly the entries
///   that [`Retention::keeps`] keeps, ordered newest first by
///   (`set_at`, id).
/// - **Salts.** The salt given to the first append of an account is kept
///   until the account is forgotten; later appends do not change it.
/// - **No empty accounts.** An account exists while it has entries; an
///   append with no entries changes nothing; [`Store::forget`] removes the
///   account, its salt and every entry.
/// - **Change time.** An account's `changed_at` is the greatest `set_at` of
///   its entries. Times are kept to the second (callers pass whole seconds).
/// - **Streaming.** [`Store::visit_changed_before`] yields accounts oldest
///   first (ties by account id) without loading them all into memory.
/// - **Reminders.** [`Store::note_reminder`] keeps one record per account
///   (for one `changed_at`, the most urgent reminder noted);
///   [`Store::visit_reminders`] reports it only while the account's
///   `changed_at` is the one it was noted for, so a new password starts
///   afresh; `forget` deletes it.
/// - **Thread safety.** Methods take `&self` and may be called from many
///   threads at once.
/// - **Secrecy.** Errors never contain a hash or a salt.
pub trait Store: Send + Sync {
    /// The account's history, or `None` if the account has none.
    ///
    /// # Errors
    /// [`Error::Store`](crate::Error::Store) if the store cannot be read or
    /// holds invalid data.
    fn history(&self, account: &str) -> Result<Option<AccountHistory>>;

    /// Adds `append.entries` to the account (creating it with `append.salt`
    /// if it is new), then prunes it by `append.retention`, atomically.
    ///
    /// # Errors
    /// [`Error::Busy`](crate::Error::Busy) when the expectation fails or the
    /// store is locked by another writer for too long;
    /// [`Error::Store`](crate::Error::Store) if it cannot be written.
    fn append(&self, account: &str, append: &Append<'_>) -> Result<()>;

    /// Several appends, to any accounts, as [`Store::append`] each, but
    /// all or nothing: if one fails, none is applied. Used by imports of
    /// whole passwd-files.
    ///
    /// The provided implementation is **not** atomic (it appends one
    /// account after the other and stops at the first error); a store
    /// that can do better overrides it (SQLite and PostgreSQL do, in one
    /// transaction).
    ///
    /// # Errors
    /// As [`Store::append`], for the first append that fails.
    fn append_batch(&self, batch: &[(&str, Append<'_>)]) -> Result<()> {
        for (account, append) in batch {
            self.append(account, append)?;
        }
        Ok(())
    }

    /// Deletes the account and its history. `Ok(false)` if it had none.
    ///
    /// # Errors
    /// [`Error::Busy`](crate::Error::Busy) or
    /// [`Error::Store`](crate::Error::Store) as for [`Store::append`].
    fn forget(&self, account: &str) -> Result<bool>;

    /// Calls `visit(account, changed_at)` for every account whose password
    /// was changed at or before `cutoff`, oldest first (ties by account
    /// id), until `visit` returns [`ControlFlow::Break`]. Memory use does
    /// not grow with the number of accounts. `visit` must not call back
    /// into the store (an implementation may hold a lock meanwhile).
    ///
    /// # Errors
    /// [`Error::Store`](crate::Error::Store) if the store cannot be read.
    fn visit_changed_before(
        &self,
        cutoff: DateTime<Utc>,
        visit: &mut dyn FnMut(&str, DateTime<Utc>) -> ControlFlow<()>,
    ) -> Result<()>;

    /// Counts a failed attempt (a wrong current password) against `key`
    /// at `at`, forgets every attempt of any key older than `at - window`,
    /// and returns how many attempts `key` has within the window, this one
    /// included. Several processes sharing the store see the same counts,
    /// so a lockout holds across them.
    ///
    /// The default implementation keeps no such state and fails.
    ///
    /// # Errors
    /// [`Error::Store`](crate::Error::Store) if the store cannot be
    /// written or keeps no failure counts.
    fn note_failure(&self, key: &str, at: DateTime<Utc>, window: TimeDelta) -> Result<u32> {
        let _ = (key, at, window);
        Err(unsupported_failures())
    }

    /// How many failed attempts `key` has at or after `since`.
    ///
    /// # Errors
    /// As for [`Store::note_failure`].
    fn failures_since(&self, key: &str, since: DateTime<Utc>) -> Result<u32> {
        let _ = (key, since);
        Err(unsupported_failures())
    }

    /// Counts an attempt against `key` at `at` (forgetting attempts of any
    /// key older than `at - window`, as [`Store::note_failure`] does),
    /// unless `key` already has `max` or more within the window: then
    /// nothing is counted and the answer is `false` (locked out).
    ///
    /// The check and the count are one step, so callers sharing the store
    /// (several server processes) cannot together make more than `max`
    /// attempts per key and window. The attempt counts as a failure until
    /// it is taken back with [`Store::forgive_attempt`]: counting before
    /// the (slow) verification is what makes the bound hold.
    ///
    /// The default implementation checks and then counts with the two
    /// methods above: correct for one caller at a time only.
    ///
    /// # Errors
    /// As for [`Store::note_failure`].
    fn try_attempt(
        &self,
        key: &str,
        at: DateTime<Utc>,
        window: TimeDelta,
        max: u32,
    ) -> Result<bool> {
        let since = at
            .checked_sub_signed(window)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        if self.failures_since(key, since)? >= max {
            return Ok(false);
        }
        self.note_failure(key, at, window)?;
        Ok(true)
    }

    /// Takes back one attempt of `key` counted at `at` (by
    /// [`Store::try_attempt`] or [`Store::note_failure`]) because it
    /// succeeded. Nothing happens if there is none.
    ///
    /// # Errors
    /// As for [`Store::note_failure`].
    fn forgive_attempt(&self, key: &str, at: DateTime<Utc>) -> Result<()> {
        let _ = (key, at);
        Err(unsupported_failures())
    }

    /// Forgets the failed attempts of `key` (after a success).
    ///
    /// # Errors
    /// As for [`Store::note_failure`].
    fn clear_failures(&self, key: &str) -> Result<()> {
        let _ = key;
        Err(unsupported_failures())
    }

    /// Like [`Store::visit_changed_before`], with each account's reminder
    /// record: calls `visit(account, changed_at, reminded)` for every
    /// account changed at or before `cutoff` and, when `after` is given,
    /// strictly after it in (`changed_at`, account id) order; oldest first,
    /// ties by account id, until `visit` returns [`ControlFlow::Break`].
    /// `reminded` is the smallest [`ReminderDays`] noted by
    /// [`Store::note_reminder`] for this very `changed_at` (`None`: no
    /// reminder was sent for the current password). `after` lets a caller
    /// walk every account in pieces, acting between them. Memory use does
    /// not grow with the number of accounts; `visit` must not call back
    /// into the store.
    ///
    /// The default implementation keeps no reminder records and fails.
    ///
    /// # Errors
    /// [`Error::Store`](crate::Error::Store) if the store cannot be read or
    /// keeps no reminder records.
    fn visit_reminders(
        &self,
        cutoff: DateTime<Utc>,
        after: Option<(DateTime<Utc>, &str)>,
        visit: &mut ReminderVisit<'_>,
    ) -> Result<()> {
        let _ = (cutoff, after, visit);
        Err(unsupported_reminders())
    }

    /// Remembers that the reminder `days` was sent at `sent_at` for
    /// `account`'s password set at `changed_at`. One record per account: a
    /// record for an earlier `changed_at` (an earlier password) is
    /// replaced, one for a later `changed_at` is kept; for the same one,
    /// the smallest `days` is kept. Nothing is recorded
    /// for an account the store does not hold (forgotten meanwhile).
    /// [`Store::forget`] deletes the record with the account.
    ///
    /// The default implementation keeps no reminder records and fails.
    ///
    /// # Errors
    /// [`Error::Store`](crate::Error::Store) if the store cannot be
    /// written or keeps no reminder records;
    /// [`Error::Busy`](crate::Error::Busy) as for [`Store::append`].
    fn note_reminder(
        &self,
        account: &str,
        changed_at: DateTime<Utc>,
        days: ReminderDays,
        sent_at: DateTime<Utc>,
    ) -> Result<()> {
        let _ = (account, changed_at, days, sent_at);
        Err(unsupported_reminders())
    }
}

/// Which reminder a record is about: how many days before the password's
/// expiry it was due (one of the policy's `remind_days`), or
/// [`STALE_NOTICE`] (`0`) for the notice sent once the password is stale.
/// Smaller is more urgent.
pub type ReminderDays = u32;

/// What [`Store::visit_reminders`] calls: `(account, changed_at, reminded)`.
pub type ReminderVisit<'a> =
    dyn FnMut(&str, DateTime<Utc>, Option<ReminderDays>) -> ControlFlow<()> + 'a;

/// The [`ReminderDays`] of the notice sent when a password is stale.
pub const STALE_NOTICE: ReminderDays = 0;

fn unsupported_failures() -> crate::Error {
    crate::Error::Store("this store keeps no failed-attempt counts".into())
}

fn unsupported_reminders() -> crate::Error {
    crate::Error::Store("this store keeps no reminder records".into())
}

/// One remembered password: its argon2 hash and when it was set.
///
/// `Debug` does not print the hash.
#[derive(Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    id: EntryId,
    set_at: DateTime<Utc>,
    hash: String,
    peppered: bool,
}

impl HistoryEntry {
    /// An entry as a store read it.
    pub fn new(
        id: EntryId,
        set_at: DateTime<Utc>,
        hash: impl Into<String>,
        peppered: bool,
    ) -> Self {
        HistoryEntry {
            id,
            set_at,
            hash: hash.into(),
            peppered,
        }
    }
    /// The store's id of this entry.
    pub fn id(&self) -> EntryId {
        self.id
    }
    /// When this password was set.
    pub fn set_at(&self) -> DateTime<Utc> {
        self.set_at
    }
    /// The argon2 PHC string (`$argon2id$v=19$m=...`).
    pub fn hash(&self) -> &str {
        &self.hash
    }
    /// `true` when the hash was made with the policy's pepper (entries
    /// recorded by pwsentry while a pepper was set); imported hashes never are.
    pub fn peppered(&self) -> bool {
        self.peppered
    }
}

impl fmt::Debug for HistoryEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HistoryEntry")
            .field("id", &self.id)
            .field("set_at", &self.set_at)
            .field("hash", &"[redacted]")
            .field("peppered", &self.peppered)
            .finish()
    }
}

/// An account's stored history: its salt and its entries, newest first.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountHistory {
    salt: Vec<u8>,
    entries: Vec<HistoryEntry>,
}

impl AccountHistory {
    /// Builds a history; entries are put newest first, by (`set_at`, id).
    pub fn new(salt: Vec<u8>, mut entries: Vec<HistoryEntry>) -> Self {
        entries.sort_by_key(|e| std::cmp::Reverse((e.set_at, e.id)));
        AccountHistory { salt, entries }
    }
    /// The account's salt, shared by the entries pwsentry records natively.
    pub fn salt(&self) -> &[u8] {
        &self.salt
    }
    /// Entries, newest first; the first is the current password.
    pub fn entries(&self) -> &[HistoryEntry] {
        &self.entries
    }
    /// When the current password was set (`None` only for an empty history).
    pub fn changed_at(&self) -> Option<DateTime<Utc>> {
        self.entries.first().map(|e| e.set_at)
    }
    /// The largest entry id: changes whenever anything is appended.
    pub fn head(&self) -> Option<EntryId> {
        self.entries.iter().map(|e| e.id).max()
    }
}

impl fmt::Debug for AccountHistory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountHistory")
            .field("salt", &"[redacted]")
            .field("entries", &self.entries)
            .finish()
    }
}

/// An entry to append. `Debug` does not print the hash.
#[derive(Clone)]
pub struct NewEntry {
    /// When the password was set (whole seconds).
    pub set_at: DateTime<Utc>,
    /// The argon2 PHC string.
    pub hash: Zeroizing<String>,
    /// Whether the hash was made with the policy's pepper.
    pub peppered: bool,
}

impl NewEntry {
    /// An entry set at `set_at` with PHC string `hash`.
    pub fn new(set_at: DateTime<Utc>, hash: impl Into<String>, peppered: bool) -> Self {
        NewEntry {
            set_at,
            hash: Zeroizing::new(hash.into()),
            peppered,
        }
    }
}

impl fmt::Debug for NewEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewEntry")
            .field("set_at", &self.set_at)
            .field("hash", &"[redacted]")
            .field("peppered", &self.peppered)
            .finish()
    }
}

/// What an append expects to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Append whatever the history holds (imports).
    Anything,
    /// Append only if the account's [`AccountHistory::head`] is still this
    /// (`None`: the account still has no history); else fail with
    /// [`Error::Busy`](crate::Error::Busy).
    Unchanged(Option<EntryId>),
}

/// Which entries an account keeps after an append: the `keep_latest`
/// newest (never fewer than one: the current password) and every entry set
/// after `keep_set_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    keep_latest: u32,
    keep_set_after: Option<DateTime<Utc>>,
}

impl Retention {
    /// Keeps the `keep_latest` newest entries (at least one) and those set
    /// strictly after `keep_set_after`.
    pub fn new(keep_latest: u32, keep_set_after: Option<DateTime<Utc>>) -> Self {
        Retention {
            keep_latest: keep_latest.max(1),
            keep_set_after,
        }
    }
    /// How many of the newest entries are kept (≥ 1).
    pub fn keep_latest(&self) -> u32 {
        self.keep_latest
    }
    /// Entries set strictly after this time are kept too.
    pub fn keep_set_after(&self) -> Option<DateTime<Utc>> {
        self.keep_set_after
    }
    /// Whether the entry at `index` (0 = newest) set at `set_at` is kept.
    pub fn keeps(&self, index: usize, set_at: DateTime<Utc>) -> bool {
        index < self.keep_latest as usize || self.keep_set_after.is_some_and(|t| set_at > t)
    }
}

/// One append: entries (oldest first), the salt for a new account, the
/// expectation and the pruning rule. See [`Store::append`].
#[derive(Debug, Clone, Copy)]
pub struct Append<'a> {
    /// The salt to keep if the account is new (ignored otherwise).
    pub salt: &'a [u8],
    /// Entries to add, oldest first.
    pub entries: &'a [NewEntry],
    /// What the history must look like for the append to go ahead.
    pub expect: Expect,
    /// What to keep afterwards.
    pub retention: Retention,
}

/// Every account id of `store`, oldest change first (for copies between
/// stores; the ids are held in memory).
///
/// # Errors
/// As for [`Store::visit_changed_before`].
pub fn all_accounts(store: &dyn Store) -> Result<Vec<String>> {
    let end =
        DateTime::<Utc>::from_timestamp(253_402_300_799, 0).unwrap_or(DateTime::<Utc>::UNIX_EPOCH); // 9999-12-31T23:59:59Z
    let mut out = Vec::new();
    store.visit_changed_before(end, &mut |account, _| {
        out.push(account.to_owned());
        ControlFlow::Continue(())
    })?;
    Ok(out)
}

#[cfg(any(test, feature = "contract-tests"))]
pub mod contract;
