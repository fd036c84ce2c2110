//! Rotation: how old an account's password is, and whether it is `ok`,
//! `expiring` (within `warn_days` of `max_age_days`), `stale` (past it) or
//! `unknown` (no history); and the stale report over every account.
//!
//! Everything about rotation lives here, in one shape: the policy's
//! [`RotationPolicy`] and the time `now` are parameters.
//! - [`status`]: one account's status, read from a [`Store`] (at login);
//! - [`stale_accounts`]: every stale or expiring account, streamed from a
//!   store (for reports; reminder mails are planned by
//!   [`remind`](crate::remind));
//! - [`status_at`]: the arithmetic both use, for a caller that already
//!   knows when the password was set.
//!
//! It never reads the clock, prints, or keeps a list of all accounts in
//! memory: the report streams from the store, oldest first.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use pwsentry::Policy;
//! use pwsentry::rotation::{RotationState, status_at};
//!
//! let policy = Policy::default(); // max_age_days = 90, warn_days = 14
//! let changed = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
//! let now = Utc.with_ymd_and_hms(2026, 3, 25, 0, 0, 0).unwrap();
//! let status = status_at(policy.rotation(), Some(changed), now);
//! assert_eq!(status.state, RotationState::Expiring);
//! assert_eq!(status.age_days, Some(83));
//! assert_eq!(status.expires_at, Some(Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap()));
//! ```

use crate::error::{Error, Result};
use crate::policy::RotationPolicy;
use crate::store::Store;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use std::fmt;
use std::ops::ControlFlow;

/// Where a password stands in its rotation cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationState {
    /// Younger than `max_age_days - warn_days` (or rotation is off).
    Ok,
    /// Within `warn_days` of `max_age_days`.
    Expiring,
    /// At least `max_age_days` old.
    Stale,
    /// The account has no history.
    Unknown,
}

impl RotationState {
    /// The stable code: `"ok"`, `"expiring"`, `"stale"` or `"unknown"`.
    pub fn code(self) -> &'static str {
        match self {
            RotationState::Ok => "ok",
            RotationState::Expiring => "expiring",
            RotationState::Stale => "stale",
            RotationState::Unknown => "unknown",
        }
    }
}

impl fmt::Display for RotationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The rotation status of one account's password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RotationStatus {
    /// `ok`, `expiring`, `stale` or `unknown`.
    pub state: RotationState,
    /// When the current password was set (`None`: no history).
    pub changed_at: Option<DateTime<Utc>>,
    /// Whole days since then (0 if `changed_at` is after `now`).
    pub age_days: Option<u64>,
    /// When it is or was due for a change (`None`: no history, or the
    /// policy has no maximum age).
    pub expires_at: Option<DateTime<Utc>>,
}

/// The status of a password set at `changed_at` (`None`: no history), at
/// `now`, under `policy`. Pure arithmetic; [`status`] reads `changed_at`
/// from a store.
pub fn status_at(
    policy: &RotationPolicy,
    changed_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> RotationStatus {
    let Some(changed_at) = changed_at else {
        return RotationStatus {
            state: RotationState::Unknown,
            changed_at: None,
            age_days: None,
            expires_at: None,
        };
    };
    let age_days = Some(u64::try_from((now - changed_at).num_days()).unwrap_or(0));
    let expires_at = (policy.max_age_days > 0)
        .then(|| changed_at.checked_add_signed(days(policy.max_age_days)))
        .flatten();
    let state = match expires_at {
        None => RotationState::Ok,
        Some(e) if now >= e => RotationState::Stale,
        Some(e)
            if e.checked_sub_signed(days(policy.warn_days))
                .is_some_and(|w| now >= w) =>
        {
            RotationState::Expiring
        }
        Some(_) => RotationState::Ok,
    };
    RotationStatus {
        state,
        changed_at: Some(changed_at),
        age_days,
        expires_at,
    }
}

fn days(n: u32) -> TimeDelta {
    TimeDelta::days(i64::from(n))
}

/// The rotation status of `account`'s password at `now`, from its history
/// in `store`: `unknown` when the account has none.
///
/// # Errors
/// Store errors.
///
/// # Example
/// ```
/// use chrono::{TimeZone, Utc};
/// use pwsentry::{ChangeRequest, Checker, Policy};
/// use pwsentry::rotation::{self, RotationState};
/// use pwsentry::store::MemoryStore;
///
/// let checker = Checker::new(Policy::from_toml_str("[hashing]\nmemory_kib = 64\niterations = 1\nallow_weak_parameters = true\n")?);
/// let store = MemoryStore::new();
/// let set = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
/// checker.change(&store, &ChangeRequest::new("bob", "Velvet#Orbit#Canyon42", set))?;
///
/// let rotation = checker.policy().rotation();
/// let at_login = Utc.with_ymd_and_hms(2026, 3, 25, 0, 0, 0).unwrap();
/// let status = rotation::status(&store, rotation, "bob", at_login)?;
/// assert_eq!(status.state, RotationState::Expiring);
/// assert_eq!(rotation::status(&store, rotation, "nobody", at_login)?.state, RotationState::Unknown);
/// # Ok::<(), pwsentry::Error>(())
/// ```
pub fn status(
    store: &dyn Store,
    policy: &RotationPolicy,
    account: &str,
    now: DateTime<Utc>,
) -> Result<RotationStatus> {
    let changed_at = store.history(account)?.and_then(|h| h.changed_at());
    Ok(status_at(policy, changed_at, now))
}

/// An account in the stale report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaleAccount<'a> {
    /// The account id.
    pub account: &'a str,
    /// Its status: `expiring` or `stale`.
    pub status: RotationStatus,
}

/// Calls `visit` for every account whose password is stale or expiring at
/// `now`, oldest first (ties by account id), streaming from the store: the
/// memory used does not grow with the number of accounts. Stops early when
/// `visit` returns [`ControlFlow::Break`]. Nothing is visited when the
/// policy has no maximum age.
///
/// # Errors
/// Store errors; [`Error::Time`] if `now` is too early to subtract the
/// maximum age from.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use pwsentry::{ChangeRequest, Checker, Policy};
/// use pwsentry::rotation::stale_accounts;
/// use pwsentry::store::MemoryStore;
/// use std::ops::ControlFlow;
///
/// let checker = Checker::new(Policy::from_toml_str("[hashing]\nmemory_kib = 64\niterations = 1\nallow_weak_parameters = true\n")?);
/// let store = MemoryStore::new();
/// let set = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
/// checker.change(&store, &ChangeRequest::new("bob", "Velvet#Orbit#Canyon42", set))?;
///
/// let mut seen = Vec::new();
/// let later = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
/// stale_accounts(&store, checker.policy().rotation(), later, |a| {
///     seen.push((a.account.to_owned(), a.status.state.code()));
///     ControlFlow::Continue(())
/// })?;
/// assert_eq!(seen, [("bob".to_owned(), "stale")]);
/// # Ok::<(), pwsentry::Error>(())
/// ```
pub fn stale_accounts(
    store: &dyn Store,
    policy: &RotationPolicy,
    now: DateTime<Utc>,
    mut visit: impl FnMut(&StaleAccount<'_>) -> ControlFlow<()>,
) -> Result<()> {
    if policy.max_age_days == 0 {
        return Ok(());
    }
    let window = policy.max_age_days.saturating_sub(policy.warn_days);
    let cutoff = now
        .checked_sub_signed(days(window))
        .ok_or_else(|| Error::Time("the time is too early for the maximum age".into()))?;
    store.visit_changed_before(cutoff, &mut |account, changed_at| {
        let status = status_at(policy, Some(changed_at), now);
        if status.state == RotationState::Ok {
            // Cannot happen with a consistent store; never report it as due.
            return ControlFlow::Continue(());
        }
        visit(&StaleAccount { account, status })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Policy;
    use crate::store::{Append, Expect, MemoryStore, NewEntry, Retention};
    use chrono::TimeZone;

    fn t(day: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + TimeDelta::days(day)
    }

    fn rotation(max: u32, warn: u32) -> RotationPolicy {
        let p = Policy::from_toml_str(&format!(
            "[rotation]\nmax_age_days = {max}\nwarn_days = {warn}\n"
        ))
        .unwrap();
        p.rotation().clone()
    }

    #[test]
    fn ages_and_boundaries() {
        let r = rotation(90, 14);
        let s = |now: DateTime<Utc>| status_at(&r, Some(t(0)), now);
        assert_eq!(s(t(0)).state, RotationState::Ok);
        assert_eq!(s(t(75)).state, RotationState::Ok);
        assert_eq!(s(t(76) - TimeDelta::seconds(1)).state, RotationState::Ok);
        assert_eq!(
            s(t(76)).state,
            RotationState::Expiring,
            "exactly warn_days before"
        );
        assert_eq!(
            s(t(90) - TimeDelta::seconds(1)).state,
            RotationState::Expiring
        );
        assert_eq!(s(t(90)).state, RotationState::Stale, "exactly max_age_days");
        assert_eq!(s(t(90)).expires_at, Some(t(90)));
        assert_eq!(s(t(100) + TimeDelta::hours(23)).age_days, Some(100));
        assert_eq!(s(t(-3)).age_days, Some(0), "future change times are age 0");
        assert_eq!(status_at(&r, None, t(0)).state, RotationState::Unknown);
        let off = rotation(0, 0);
        let s = status_at(&off, Some(t(0)), t(10_000));
        assert_eq!((s.state, s.expires_at), (RotationState::Ok, None));
        let no_warn = rotation(30, 0);
        assert_eq!(
            status_at(&no_warn, Some(t(0)), t(29)).state,
            RotationState::Ok
        );
        assert_eq!(
            status_at(&no_warn, Some(t(0)), t(30)).state,
            RotationState::Stale
        );
    }

    #[test]
    fn stale_report_is_ordered_and_filtered() {
        let store = MemoryStore::new();
        for (account, day) in [
            ("fresh", 80),
            ("expiring", 10),
            ("stale-b", 0),
            ("stale-a", 0),
            ("ancient", -400),
        ] {
            let e = [NewEntry::new(t(day), "h", false)];
            let a = Append {
                salt: &[1; 16],
                entries: &e,
                expect: Expect::Anything,
                retention: Retention::new(1, None),
            };
            store.append(account, &a).unwrap();
        }
        let r = rotation(90, 14);
        let mut seen = Vec::new();
        stale_accounts(&store, &r, t(95), |a| {
            seen.push((a.account.to_owned(), a.status.state));
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(
            seen,
            [
                ("ancient".to_owned(), RotationState::Stale),
                ("stale-a".to_owned(), RotationState::Stale),
                ("stale-b".to_owned(), RotationState::Stale),
                ("expiring".to_owned(), RotationState::Expiring),
            ]
        );
        let mut n = 0;
        stale_accounts(&store, &rotation(0, 0), t(10_000), |_| {
            n += 1;
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(n, 0, "no maximum age: nothing is ever stale");
    }
}
