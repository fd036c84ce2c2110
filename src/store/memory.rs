//! An in-memory [`Store`], for tests and for embedding where history need
//! not outlive the process. Same contract as the SQLite store; nothing here
//! touches the file system.

use super::{
    AccountHistory, Append, EntryId, Expect, HistoryEntry, ReminderDays, ReminderVisit, Store,
};
use crate::error::{Error, Result};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::{Mutex, MutexGuard};

/// A [`Store`] kept in memory, behind a mutex.
///
/// [`Store::visit_changed_before`] sorts the matching accounts first, so
/// unlike [`SqliteStore`](super::SqliteStore) its memory use grows with
/// their number; it is meant for tests and small embedded uses.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    accounts: BTreeMap<String, AccountHistory>,
    last_id: EntryId,
    failures: BTreeMap<String, Vec<DateTime<Utc>>>,
    reminders: BTreeMap<String, Reminder>,
}

/// An account's reminder record: for which password, which reminder, when.
#[derive(Debug, Clone, Copy)]
struct Reminder {
    changed_at: DateTime<Utc>,
    days: ReminderDays,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| Error::Store("in-memory store: a previous operation panicked".into()))
    }

    /// [`Store::note_failure`] and [`Store::try_attempt`] under the lock:
    /// forgets attempts older than the window, and adds this one unless
    /// `max` are already there. Returns the count afterwards and whether
    /// this attempt was added.
    fn count_attempt(
        &self,
        key: &str,
        at: DateTime<Utc>,
        window: TimeDelta,
        max: Option<u32>,
    ) -> Result<(u32, bool)> {
        let mut state = self.lock()?;
        let oldest = at
            .checked_sub_signed(window)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        state.failures.retain(|_, times| {
            times.retain(|t| *t >= oldest);
            !times.is_empty()
        });
        let times = state.failures.entry(key.to_owned()).or_default();
        let added = max.is_none_or(|max| times.len() < max as usize);
        if added {
            times.push(at);
        }
        Ok((u32::try_from(times.len()).unwrap_or(u32::MAX), added))
    }
}

impl Store for MemoryStore {
    fn history(&self, account: &str) -> Result<Option<AccountHistory>> {
        Ok(self.lock()?.accounts.get(account).cloned())
    }

    fn append(&self, account: &str, append: &Append<'_>) -> Result<()> {
        let mut state = self.lock()?;
        let current = state.accounts.get(account);
        if let Expect::Unchanged(head) = append.expect
            && current.and_then(AccountHistory::head) != head
        {
            return Err(Error::Busy);
        }
        if append.entries.is_empty() {
            return Ok(());
        }
        let (salt, mut entries) = match current {
            Some(h) => (h.salt().to_vec(), h.entries().to_vec()),
            None => (append.salt.to_vec(), Vec::new()),
        };
        for e in append.entries {
            state.last_id += 1;
            entries.push(HistoryEntry::new(
                state.last_id,
                e.set_at,
                e.hash.as_str(),
                e.peppered,
            ));
        }
        let sorted = AccountHistory::new(salt, entries);
        let kept = sorted
            .entries()
            .iter()
            .enumerate()
            .filter(|(i, e)| append.retention.keeps(*i, e.set_at()))
            .map(|(_, e)| e.clone())
            .collect();
        state.accounts.insert(
            account.to_owned(),
            AccountHistory::new(sorted.salt().to_vec(), kept),
        );
        Ok(())
    }

    fn forget(&self, account: &str) -> Result<bool> {
        let mut state = self.lock()?;
        state.reminders.remove(account);
        Ok(state.accounts.remove(account).is_some())
    }

    fn visit_changed_before(
        &self,
        cutoff: DateTime<Utc>,
        visit: &mut dyn FnMut(&str, DateTime<Utc>) -> ControlFlow<()>,
    ) -> Result<()> {
        let mut due: Vec<(DateTime<Utc>, String)> = {
            let state = self.lock()?;
            state
                .accounts
                .iter()
                .filter_map(|(a, h)| {
                    h.changed_at()
                        .filter(|t| *t <= cutoff)
                        .map(|t| (t, a.clone()))
                })
                .collect()
        };
        due.sort();
        for (t, a) in &due {
            if visit(a, *t).is_break() {
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
        let mut due: Vec<(DateTime<Utc>, String, Option<ReminderDays>)> = {
            let state = self.lock()?;
            state
                .accounts
                .iter()
                .filter_map(|(a, h)| {
                    let t = h.changed_at().filter(|t| *t <= cutoff)?;
                    if let Some((at, id)) = after
                        && (t, a.as_str()) <= (at, id)
                    {
                        return None;
                    }
                    let reminded = state
                        .reminders
                        .get(a)
                        .filter(|r| r.changed_at == t)
                        .map(|r| r.days);
                    Some((t, a.clone(), reminded))
                })
                .collect()
        };
        due.sort();
        for (t, a, reminded) in &due {
            if visit(a, *t, *reminded).is_break() {
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
        _sent_at: DateTime<Utc>,
    ) -> Result<()> {
        let mut state = self.lock()?;
        if !state.accounts.contains_key(account) {
            return Ok(());
        }
        let days = match state.reminders.get(account) {
            Some(r) if r.changed_at > changed_at => return Ok(()),
            Some(r) if r.changed_at == changed_at => r.days.min(days),
            _ => days,
        };
        state
            .reminders
            .insert(account.to_owned(), Reminder { changed_at, days });
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
        let mut state = self.lock()?;
        if let Some(times) = state.failures.get_mut(key)
            && let Some(i) = times.iter().position(|t| *t == at)
        {
            times.remove(i);
        }
        Ok(())
    }

    fn failures_since(&self, key: &str, since: DateTime<Utc>) -> Result<u32> {
        let state = self.lock()?;
        let n = state
            .failures
            .get(key)
            .map_or(0, |times| times.iter().filter(|t| **t >= since).count());
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    fn clear_failures(&self, key: &str) -> Result<()> {
        self.lock()?.failures.remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_the_store_contract() {
        crate::store::contract::run_all(&|| Box::new(MemoryStore::new()));
    }
}
