//! Expiry reminders: which accounts are due a reminder mail, and what the
//! mail says. The policy's `[rotation] remind_days` (e.g. `[14, 7, 1]`)
//! and `[notify]` section ([`NotifyPolicy`]) configure it; the `pwsentry
//! notify` command sends the mails.
//!
//! - [`due_reminders`] is the plan: given the store, the rotation policy
//!   and `now`, it streams every (account, reminder) due, oldest password
//!   first. Only the smallest threshold crossed is due (a first run five
//!   days before expiry sends the 7-day reminder, not the 14- and 7-day
//!   ones), one stale notice once the password is stale, and nothing that
//!   the store remembers as sent for the current password
//!   ([`Store::note_reminder`]); a new password starts afresh.
//! - [`NotifyPolicy`] renders the subject and body from the policy's
//!   templates (placeholders `{account}`, `{days_left}`, `{expires}`,
//!   `{change_url}`) and resolves the recipient (an address pattern or an
//!   [`AddressMap`] file).
//!
//! Nothing here sends mail, prints or reads the clock; the plan keeps no
//! list of accounts in memory (it streams through
//! [`Store::visit_reminders`]).
//!
//! ```
//! use chrono::{TimeDelta, TimeZone, Utc};
//! use pwsentry::Policy;
//! use pwsentry::remind::due_reminders;
//! use pwsentry::store::{Append, Expect, MemoryStore, NewEntry, Retention, Store};
//! use std::ops::ControlFlow;
//!
//! let policy = Policy::from_toml_str("[rotation]\nmax_age_days = 90\nremind_days = [14, 7, 1]\n")?;
//! let store = MemoryStore::new();
//! let set = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
//! let entry = [NewEntry::new(set, "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", false)];
//! store.append("bob@example.com", &Append { salt: &[1; 16], entries: &entry, expect: Expect::Anything, retention: Retention::new(5, None) })?;
//!
//! // Five days before expiry: the 7-day reminder is due, and only that.
//! let now = set + TimeDelta::days(85);
//! let mut due = Vec::new();
//! due_reminders(&store, policy.rotation(), now, None, |r| {
//!     due.push((r.account.to_owned(), r.days, r.days_left));
//!     ControlFlow::Continue(())
//! })?;
//! assert_eq!(due, [("bob@example.com".to_owned(), 7, 5)]);
//!
//! // Once it is noted as sent, nothing is due until the 1-day threshold.
//! store.note_reminder("bob@example.com", set, 7, now)?;
//! let mut n = 0;
//! due_reminders(&store, policy.rotation(), now + TimeDelta::days(3), None, |_| { n += 1; ControlFlow::Continue(()) })?;
//! assert_eq!(n, 0);
//! # Ok::<(), pwsentry::Error>(())
//! ```

mod address_map;
mod notify;
mod template;

pub use address_map::{AddressMap, MAX_ADDRESS_MAP_BYTES};
pub(crate) use notify::RawNotify;
pub use notify::{
    DEFAULT_STALE_SUBJECT, DEFAULT_STALE_TEMPLATE, DEFAULT_SUBJECT, DEFAULT_TEMPLATE, Mail,
    NotifyPolicy, SmtpTls, header_value,
};
pub use template::{MAX_TEMPLATE_BYTES, PLACEHOLDERS, Template};

use crate::error::{Error, Result};
use crate::policy::RotationPolicy;
use crate::store::{ReminderDays, STALE_NOTICE, Store};
use chrono::{DateTime, TimeDelta, Utc};
use std::ops::ControlFlow;

/// Most thresholds `[rotation] remind_days` may list.
pub const MAX_REMIND_DAYS: usize = 16;

/// One reminder that is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reminder<'a> {
    /// The account id.
    pub account: &'a str,
    /// When its current password was set.
    pub changed_at: DateTime<Utc>,
    /// When that password expires (`changed_at + max_age_days`).
    pub expires_at: DateTime<Utc>,
    /// Which reminder: the threshold crossed (days before expiry, one of
    /// `remind_days`), or [`STALE_NOTICE`] for the stale notice.
    pub days: ReminderDays,
    /// Whole days left until expiry, rounded up (0 once stale).
    pub days_left: u64,
}

impl Reminder<'_> {
    /// `true` for the notice sent once the password is stale.
    pub fn is_stale_notice(&self) -> bool {
        self.days == STALE_NOTICE
    }
}

/// Where a walk of [`due_reminders`] stopped: pass the last reminder's
/// position as `after` to go on from there.
pub type Position<'a> = (DateTime<Utc>, &'a str);

/// Calls `visit` for every reminder due at `now`, oldest password first
/// (ties by account id), streaming from the store, until `visit` returns
/// [`ControlFlow::Break`]. With `after`, starts strictly after that
/// (`changed_at`, account): a caller that stops after a batch, sends it
/// and notes it with [`Store::note_reminder`] goes on from the last
/// reminder of the batch.
///
/// Per account, at most one reminder is due: the stale notice once the
/// password is stale, else the smallest threshold of
/// `policy.remind_days` already crossed (`now >= expires_at - days`); and
/// none if the store remembers that reminder, or a more urgent one, as sent
/// for the current password. Nothing is due when the policy has no maximum
/// age.
///
/// # Errors
/// Store errors; [`Error::Time`] if `now` is too early to subtract the
/// maximum age from.
pub fn due_reminders(
    store: &dyn Store,
    policy: &RotationPolicy,
    now: DateTime<Utc>,
    after: Option<Position<'_>>,
    mut visit: impl FnMut(&Reminder<'_>) -> ControlFlow<()>,
) -> Result<()> {
    if policy.max_age_days == 0 {
        return Ok(());
    }
    let max_age = days(policy.max_age_days);
    let earliest = policy.remind_days.iter().copied().max().unwrap_or(0);
    let window = policy.max_age_days.saturating_sub(earliest);
    let cutoff = now
        .checked_sub_signed(days(window))
        .ok_or_else(|| Error::Time("the time is too early for the maximum age".into()))?;
    store.visit_reminders(cutoff, after, &mut |account, changed_at, reminded| {
        let Some(expires_at) = changed_at.checked_add_signed(max_age) else {
            return ControlFlow::Continue(());
        };
        let Some((due, days_left)) = due_at(policy, expires_at, now) else {
            return ControlFlow::Continue(());
        };
        if reminded.is_some_and(|sent| sent <= due) {
            return ControlFlow::Continue(());
        }
        visit(&Reminder {
            account,
            changed_at,
            expires_at,
            days: due,
            days_left,
        })
    })
}

/// The reminder due at `now` for a password expiring at `expires_at`, with
/// the whole days left (rounded up), ignoring what was sent.
fn due_at(
    policy: &RotationPolicy,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<(ReminderDays, u64)> {
    if now >= expires_at {
        return Some((STALE_NOTICE, 0));
    }
    let left = expires_at - now;
    let crossed = policy
        .remind_days
        .iter()
        .copied()
        .filter(|d| left <= days(*d))
        .min()?;
    let secs = left.num_seconds();
    let days_left = u64::try_from((secs + 86_399) / 86_400).unwrap_or(0);
    Some((crossed, days_left))
}

fn days(n: u32) -> TimeDelta {
    TimeDelta::days(i64::from(n))
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

    fn rotation(remind: &str) -> RotationPolicy {
        Policy::from_toml_str(&format!(
            "[rotation]\nmax_age_days = 90\nwarn_days = 14\nremind_days = {remind}\n"
        ))
        .unwrap()
        .rotation()
        .clone()
    }

    fn add(store: &MemoryStore, account: &str, day: i64) {
        let e = [NewEntry::new(t(day), "h", false)];
        store
            .append(
                account,
                &Append {
                    salt: &[1; 16],
                    entries: &e,
                    expect: Expect::Anything,
                    retention: Retention::new(1, None),
                },
            )
            .unwrap();
    }

    fn due(store: &MemoryStore, r: &RotationPolicy, now: DateTime<Utc>) -> Vec<(String, u32, u64)> {
        let mut out = Vec::new();
        due_reminders(store, r, now, None, |x| {
            out.push((x.account.to_owned(), x.days, x.days_left));
            ControlFlow::Continue(())
        })
        .unwrap();
        out
    }
    #[test]
    fn thresholds_one_at_a_time() {
        let r = rotation("[1, 14, 7]");
        assert_eq!(r.remind_days, [14, 7, 1], "kept most distant first");
        let store = MemoryStore::new();
        add(&store, "a", 0); // expires on day 90
        let at = |day: i64, hours: i64| t(day) + TimeDelta::hours(hours);
        assert!(
            due(&store, &r, at(75, 23)).is_empty(),
            "before the 14-day line"
        );
        assert_eq!(
            due(&store, &r, t(76)),
            [("a".into(), 14, 14)],
            "exactly 14 days before"
        );
        assert_eq!(
            due(&store, &r, at(76, 12)),
            [("a".into(), 14, 14)],
            "13.5 days round up"
        );
        // A first run at 5 days left sends the 7-day reminder only.
        assert_eq!(due(&store, &r, t(85)), [("a".into(), 7, 5)]);
        store.note_reminder("a", t(0), 7, t(85)).unwrap();
        assert!(
            due(&store, &r, t(88)).is_empty(),
            "7 sent; 1 not yet crossed"
        );
        assert_eq!(due(&store, &r, t(89)), [("a".into(), 1, 1)]);
        store.note_reminder("a", t(0), 1, t(89)).unwrap();
        assert!(due(&store, &r, at(89, 23)).is_empty());
        assert_eq!(due(&store, &r, t(90)), [("a".into(), 0, 0)], "stale notice");
        store.note_reminder("a", t(0), STALE_NOTICE, t(90)).unwrap();
        assert!(due(&store, &r, t(400)).is_empty(), "one stale notice");
        // A new password starts afresh.
        add(&store, "a", 100);
        assert!(due(&store, &r, t(150)).is_empty());
        assert_eq!(due(&store, &r, t(180)), [("a".into(), 14, 10)]);
        assert_eq!(due(&store, &r, t(185)), [("a".into(), 7, 5)]);
    }

    #[test]
    fn no_thresholds_or_no_rotation() {
        let store = MemoryStore::new();
        add(&store, "a", 0);
        let r = rotation("[]");
        assert!(due(&store, &r, t(89)).is_empty());
        assert_eq!(due(&store, &r, t(95)), [("a".into(), 0, 0)]);
        let off = Policy::from_toml_str("[rotation]\nmax_age_days = 0\nwarn_days = 0\n")
            .unwrap()
            .rotation()
            .clone();
        assert!(due(&store, &off, t(10_000)).is_empty());
    }

    #[test]
    fn batches_resume_after_the_last_one() {
        let store = MemoryStore::new();
        for (i, a) in ["d", "c", "b", "a"].iter().enumerate() {
            add(&store, a, i as i64 % 2);
        }
        let r = rotation("[7]");
        let mut all = Vec::new();
        let mut after: Option<(DateTime<Utc>, String)> = None;
        loop {
            let mut batch = Vec::new();
            due_reminders(
                &store,
                &r,
                t(200),
                after.as_ref().map(|(t, a)| (*t, a.as_str())),
                |x| {
                    batch.push((x.changed_at, x.account.to_owned()));
                    if batch.len() == 3 {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                },
            )
            .unwrap();
            let Some(last) = batch.last().cloned() else {
                break;
            };
            all.extend(batch.iter().map(|(_, a)| a.clone()));
            after = Some(last);
        }
        assert_eq!(all, ["b", "d", "a", "c"]);
    }
    #[test]
    fn remind_days_are_validated() {
        for (days, expect) in [
            ("[0]", "at least 1"),
            ("[90]", "less than rotation.max_age_days"),
            ("[7, 14, 7]", "lists 7 twice"),
        ] {
            let e = Policy::from_toml_str(&format!(
                "[rotation]\nmax_age_days = 90\nremind_days = {days}\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(e.contains(expect) && e.contains("line 3"), "{days}: {e}");
        }
        let e = Policy::from_toml_str("preset = \"nist-800-63b\"\n[rotation]\nremind_days = [7]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs rotation.max_age_days"), "{e}");
    }
}
