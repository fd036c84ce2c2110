//! The [`Store`] contract as tests (feature `contract-tests`): every
//! implementation, in this crate or outside it, runs [`run_all`] with a
//! factory of fresh, empty stores, and [`run_two_handles`] with two
//! handles on one empty store (two hosts, two processes).
//!
//! The functions panic, with a message naming the broken promise, when the
//! store does not keep its contract; call them from a `#[test]`:
//!
//! ```
//! use pwsentry::store::{MemoryStore, contract};
//! contract::run_all(&|| Box::new(MemoryStore::new()));
//! ```
// Test code: a broken promise is a panic with a message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::{Append, Expect, NewEntry, ReminderDays, Retention, STALE_NOTICE, Store};
use crate::error::Error;
use chrono::{DateTime, Duration, TimeZone, Utc};
use std::ops::ControlFlow;

/// Makes a fresh, empty store each time it is called.
pub type Factory<'a> = &'a (dyn Fn() -> Box<dyn Store> + Sync);

/// Runs every contract test, each on a fresh store from `make`.
///
/// # Panics
/// When the store breaks its contract.
pub fn run_all(make: Factory<'_>) {
    empty_store(&*make());
    append_creates_and_orders(&*make());
    salt_is_kept(&*make());
    expectation_guards_appends(&*make());
    ids_are_never_reused(&*make());
    retention_by_count_and_time(&*make());
    older_imports_do_not_become_current(&*make());
    visit_is_ordered_inclusive_and_stoppable(&*make());
    forget_removes_one_account(&*make());
    concurrent_appends_are_all_kept(make);
    failures_count_within_the_window(&*make());
    attempts_stop_at_the_limit_and_can_be_forgiven(&*make());
    concurrent_attempts_never_exceed_the_limit(make);
    reminders_follow_the_password(&*make());
}

fn t(day: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::days(day)
}

fn entry(day: i64, tag: &str) -> NewEntry {
    NewEntry::new(t(day), format!("hash-{tag}"), false)
}

fn add(store: &dyn Store, account: &str, entries: &[NewEntry], keep: u32) {
    let a = Append {
        salt: b"salt-salt-salt-1",
        entries,
        expect: Expect::Anything,
        retention: Retention::new(keep, None),
    };
    store.append(account, &a).unwrap();
}

fn hashes(store: &dyn Store, account: &str) -> Vec<String> {
    store
        .history(account)
        .unwrap()
        .map(|h| h.entries().iter().map(|e| e.hash().to_owned()).collect())
        .unwrap_or_default()
}

fn visited(store: &dyn Store, cutoff: DateTime<Utc>, limit: usize) -> Vec<(String, DateTime<Utc>)> {
    let mut out = Vec::new();
    store
        .visit_changed_before(cutoff, &mut |a, at| {
            out.push((a.to_owned(), at));
            if out.len() >= limit {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    out
}

fn empty_store(store: &dyn Store) {
    assert!(store.history("nobody").unwrap().is_none());
    assert!(!store.forget("nobody").unwrap());
    assert!(visited(store, t(10_000), usize::MAX).is_empty());
    let none = Append {
        salt: b"salt-salt-salt-1",
        entries: &[],
        expect: Expect::Anything,
        retention: Retention::new(5, None),
    };
    store.append("nobody", &none).unwrap();
    assert!(
        store.history("nobody").unwrap().is_none(),
        "an append without entries creates no account"
    );
}

fn append_creates_and_orders(store: &dyn Store) {
    add(store, "a", &[entry(1, "1"), entry(2, "2")], 10);
    add(store, "a", &[entry(3, "3")], 10);
    let h = store.history("a").unwrap().unwrap();
    assert_eq!(
        hashes(store, "a"),
        ["hash-3", "hash-2", "hash-1"],
        "newest first"
    );
    assert_eq!(h.changed_at(), Some(t(3)));
    assert_eq!(h.entries()[0].set_at(), t(3));
    assert!(!h.entries()[0].peppered());
    assert_eq!(h.head(), Some(h.entries()[0].id()));
    let mut ids: Vec<_> = h.entries().iter().map(|e| e.id()).collect();
    ids.reverse();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");
    let peppered = NewEntry::new(t(4), "hash-p", true);
    add(store, "a", &[peppered], 10);
    assert!(store.history("a").unwrap().unwrap().entries()[0].peppered());
}

fn salt_is_kept(store: &dyn Store) {
    let first = Append {
        salt: &[1; 16],
        entries: &[entry(1, "1")],
        expect: Expect::Anything,
        retention: Retention::new(5, None),
    };
    store.append("s", &first).unwrap();
    let second = Append {
        salt: &[2; 16],
        entries: &[entry(2, "2")],
        ..first
    };
    store.append("s", &second).unwrap();
    assert_eq!(store.history("s").unwrap().unwrap().salt(), &[1; 16]);
}

fn expectation_guards_appends(store: &dyn Store) {
    let fresh = Append {
        salt: &[1; 16],
        entries: &[entry(1, "1")],
        expect: Expect::Unchanged(None),
        retention: Retention::new(5, None),
    };
    store.append("e", &fresh).unwrap();
    let head = store.history("e").unwrap().unwrap().head();
    assert!(
        matches!(store.append("e", &fresh), Err(Error::Busy)),
        "account exists now"
    );
    let next = Append {
        entries: &[entry(2, "2")],
        expect: Expect::Unchanged(head),
        ..fresh
    };
    store.append("e", &next).unwrap();
    let stale = Append {
        entries: &[entry(3, "3")],
        expect: Expect::Unchanged(head),
        ..fresh
    };
    assert!(
        matches!(store.append("e", &stale), Err(Error::Busy)),
        "head moved on"
    );
    assert_eq!(
        hashes(store, "e"),
        ["hash-2", "hash-1"],
        "a failed append changes nothing"
    );
}

fn ids_are_never_reused(store: &dyn Store) {
    add(store, "i", &[entry(1, "1")], 5);
    let before = store.history("i").unwrap().unwrap().head();
    assert!(store.forget("i").unwrap());
    add(store, "i", &[entry(1, "1")], 5);
    let after = store.history("i").unwrap().unwrap().head();
    assert_ne!(
        before, after,
        "a forgotten account's head is not given out again"
    );
}

fn retention_by_count_and_time(store: &dyn Store) {
    let all: Vec<NewEntry> = (1..=6).map(|d| entry(d, &d.to_string())).collect();
    add(store, "r", &all, 3);
    assert_eq!(hashes(store, "r"), ["hash-6", "hash-5", "hash-4"]);
    add(store, "z", &all, 0);
    assert_eq!(
        hashes(store, "z"),
        ["hash-6"],
        "the current password is always kept"
    );
    // Keep 2 by count, and everything set after day 2.
    let a = Append {
        salt: &[1; 16],
        entries: &all,
        expect: Expect::Anything,
        retention: Retention::new(2, Some(t(2))),
    };
    store.append("d", &a).unwrap();
    assert_eq!(
        hashes(store, "d"),
        ["hash-6", "hash-5", "hash-4", "hash-3"],
        "set strictly after day 2"
    );
    let a = Append {
        entries: &[entry(7, "7")],
        retention: Retention::new(1, Some(t(5))),
        ..a
    };
    store.append("d", &a).unwrap();
    assert_eq!(hashes(store, "d"), ["hash-7", "hash-6"]);
}

fn older_imports_do_not_become_current(store: &dyn Store) {
    add(store, "o", &[entry(10, "new")], 5);
    add(store, "o", &[entry(1, "old-a"), entry(1, "old-b")], 5);
    assert_eq!(
        hashes(store, "o"),
        ["hash-new", "hash-old-b", "hash-old-a"],
        "same time: later append is newer"
    );
    let h = store.history("o").unwrap().unwrap();
    assert_eq!(h.changed_at(), Some(t(10)));
    assert_eq!(visited(store, t(10), usize::MAX), [("o".to_owned(), t(10))]);
    assert!(
        visited(store, t(9), usize::MAX).is_empty(),
        "changed_at is the newest set_at"
    );
}

fn visit_is_ordered_inclusive_and_stoppable(store: &dyn Store) {
    add(store, "late", &[entry(30, "l")], 5);
    add(store, "b-mid", &[entry(20, "m")], 5);
    add(store, "a-mid", &[entry(20, "m")], 5);
    add(store, "early", &[entry(5, "e")], 5);
    let all = visited(store, t(20), usize::MAX);
    let names: Vec<&str> = all.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        names,
        ["early", "a-mid", "b-mid"],
        "oldest first, ties by account, cutoff inclusive"
    );
    assert_eq!(all[0].1, t(5));
    assert_eq!(visited(store, t(100), 2).len(), 2, "Break stops the walk");
}

fn forget_removes_one_account(store: &dyn Store) {
    add(store, "keep", &[entry(1, "k")], 5);
    add(store, "drop", &[entry(1, "d"), entry(2, "d2")], 5);
    assert!(store.forget("drop").unwrap());
    assert!(store.history("drop").unwrap().is_none());
    assert!(!store.forget("drop").unwrap());
    assert_eq!(hashes(store, "keep"), ["hash-k"]);
    assert_eq!(visited(store, t(100), usize::MAX).len(), 1);
}

fn concurrent_appends_are_all_kept(make: Factory<'_>) {
    let store = make();
    let store: &dyn Store = &*store;
    std::thread::scope(|s| {
        for th in 0..4 {
            s.spawn(move || {
                for i in 0..10 {
                    add(store, "c", &[entry(i, &format!("{th}-{i}"))], 1000);
                }
            });
        }
    });
    assert_eq!(hashes(store, "c").len(), 40);
}

fn attempts_stop_at_the_limit_and_can_be_forgiven(store: &dyn Store) {
    let window = Duration::minutes(15);
    let at = |m: i64| t(0) + Duration::minutes(m);
    for m in 0..3 {
        assert!(store.try_attempt("account:b", at(m), window, 3).unwrap());
    }
    assert!(
        !store.try_attempt("account:b", at(3), window, 3).unwrap(),
        "the fourth attempt within the window is refused"
    );
    assert_eq!(
        store.failures_since("account:b", at(0)).unwrap(),
        3,
        "a refused attempt is not counted"
    );
    assert!(
        store.try_attempt("addr:b", at(3), window, 3).unwrap(),
        "keys are apart"
    );
    store.forgive_attempt("account:b", at(1)).unwrap();
    assert_eq!(store.failures_since("account:b", at(0)).unwrap(), 2);
    store.forgive_attempt("account:b", at(1)).unwrap();
    assert_eq!(
        store.failures_since("account:b", at(0)).unwrap(),
        2,
        "forgiving an attempt that is not there changes nothing"
    );
    assert!(store.try_attempt("account:b", at(4), window, 3).unwrap());
    assert!(!store.try_attempt("account:b", at(5), window, 3).unwrap());
    // Once the window has passed, attempts are allowed again.
    assert!(store.try_attempt("account:b", at(30), window, 3).unwrap());
    assert_eq!(store.failures_since("account:b", at(0)).unwrap(), 1);
}

fn concurrent_attempts_never_exceed_the_limit(make: Factory<'_>) {
    let store = make();
    let store: &dyn Store = &*store;
    let window = Duration::minutes(15);
    let allowed = std::sync::atomic::AtomicU32::new(0);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..10 {
                    if store.try_attempt("account:c", t(0), window, 5).unwrap() {
                        allowed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
            });
        }
    });
    assert_eq!(allowed.into_inner(), 5, "80 concurrent attempts, limit 5");
}

fn failures_count_within_the_window(store: &dyn Store) {
    let window = Duration::minutes(15);
    let at = |m: i64| t(0) + Duration::minutes(m);
    assert_eq!(store.failures_since("account:a", at(0)).unwrap(), 0);
    assert_eq!(store.note_failure("account:a", at(0), window).unwrap(), 1);
    assert_eq!(store.note_failure("account:a", at(5), window).unwrap(), 2);
    assert_eq!(
        store.note_failure("addr:127.0.0.1", at(5), window).unwrap(),
        1,
        "keys are apart"
    );
    assert_eq!(store.failures_since("account:a", at(1)).unwrap(), 1);
    assert_eq!(store.failures_since("account:a", at(0)).unwrap(), 2);
    // Twenty minutes on, the first two have left the window.
    assert_eq!(store.note_failure("account:a", at(20), window).unwrap(), 2);
    assert_eq!(store.note_failure("account:a", at(36), window).unwrap(), 1);
    assert_eq!(
        store.failures_since("addr:127.0.0.1", at(0)).unwrap(),
        0,
        "old attempts of every key are forgotten"
    );
    store.clear_failures("account:a").unwrap();
    assert_eq!(store.failures_since("account:a", at(0)).unwrap(), 0);
    assert!(
        store.history("account:a").unwrap().is_none(),
        "failures are not history"
    );
}

fn reminded(
    store: &dyn Store,
    cutoff: DateTime<Utc>,
    after: Option<(DateTime<Utc>, &str)>,
) -> Vec<(String, DateTime<Utc>, Option<ReminderDays>)> {
    let mut out = Vec::new();
    store
        .visit_reminders(cutoff, after, &mut |a, at, days| {
            out.push((a.to_owned(), at, days));
            ControlFlow::Continue(())
        })
        .unwrap();
    out
}

fn reminders_follow_the_password(store: &dyn Store) {
    assert!(reminded(store, t(10_000), None).is_empty());
    add(store, "b", &[entry(2, "b")], 5);
    add(store, "a", &[entry(2, "a")], 5);
    add(store, "old", &[entry(1, "o")], 5);
    add(store, "new", &[entry(50, "n")], 5);
    let sent = t(80);
    store.note_reminder("a", t(2), 14, sent).unwrap();
    assert_eq!(
        reminded(store, t(10), None),
        [
            ("old".to_owned(), t(1), None),
            ("a".to_owned(), t(2), Some(14)),
            ("b".to_owned(), t(2), None),
        ],
        "oldest first, ties by account, cutoff inclusive, the record joined"
    );
    store.note_reminder("a", t(2), 7, sent).unwrap();
    store.note_reminder("a", t(2), 14, sent).unwrap();
    assert_eq!(
        reminded(store, t(2), Some((t(1), "old"))),
        [
            ("a".to_owned(), t(2), Some(7)),
            ("b".to_owned(), t(2), None)
        ],
        "the most urgent reminder is kept; `after` is exclusive"
    );
    assert_eq!(
        reminded(store, t(2), Some((t(2), "a"))),
        [("b".to_owned(), t(2), None)],
        "`after` orders by (changed_at, account)"
    );
    store.note_reminder("b", t(2), STALE_NOTICE, sent).unwrap();
    assert_eq!(reminded(store, t(2), Some((t(2), "a")))[0].2, Some(0));
    store.note_reminder("nobody", t(2), 7, sent).unwrap();
    assert!(
        store.history("nobody").unwrap().is_none(),
        "a reminder for an unknown account creates nothing"
    );
    // A new password starts afresh, and its reminders replace the old one's.
    add(store, "a", &[entry(3, "a2")], 5);
    assert_eq!(
        reminded(store, t(3), Some((t(2), "b"))),
        [("a".to_owned(), t(3), None)]
    );
    store.note_reminder("a", t(3), 14, sent).unwrap();
    assert_eq!(reminded(store, t(3), Some((t(2), "b")))[0].2, Some(14));
    // A late record for the earlier password does not replace the new one's.
    store.note_reminder("a", t(2), 1, sent).unwrap();
    assert_eq!(reminded(store, t(3), Some((t(2), "b")))[0].2, Some(14));
    store.note_reminder("a", t(3), 1, sent).unwrap();
    assert_eq!(reminded(store, t(3), Some((t(2), "b")))[0].2, Some(1));
    // Forgetting deletes the record: the same history again has none.
    assert!(store.forget("b").unwrap());
    add(store, "b", &[entry(2, "b")], 5);
    assert_eq!(
        reminded(store, t(2), Some((t(1), "old"))),
        [("b".to_owned(), t(2), None)]
    );
    let mut n = 0;
    store
        .visit_reminders(t(10_000), None, &mut |_, _, _| {
            n += 1;
            ControlFlow::Break(())
        })
        .unwrap();
    assert_eq!(n, 1, "Break stops the walk");
}

/// The contract across two handles on one store (two hosts or processes
/// sharing a database): what one writes the other reads, and the
/// optimistic check sees the other's writes (`Busy`, nothing changed).
/// `first` and `second` must be two handles on the same empty store.
///
/// # Panics
/// When the stores break their contract.
pub fn run_two_handles(first: &dyn Store, second: &dyn Store) {
    let fresh = Append {
        salt: &[9; 16],
        entries: &[entry(1, "h1")],
        expect: Expect::Unchanged(None),
        retention: Retention::new(5, None),
    };
    first.append("x", &fresh).unwrap();
    let seen = second
        .history("x")
        .unwrap()
        .expect("written through the other handle");
    assert_eq!(seen.salt(), &[9; 16]);
    assert!(
        matches!(second.append("x", &fresh), Err(Error::Busy)),
        "the other handle created the account: Busy"
    );
    let head = seen.head();
    let by_second = Append {
        entries: &[entry(2, "h2")],
        expect: Expect::Unchanged(head),
        ..fresh
    };
    second.append("x", &by_second).unwrap();
    let late = Append {
        entries: &[entry(3, "h3")],
        expect: Expect::Unchanged(head),
        ..fresh
    };
    assert!(
        matches!(first.append("x", &late), Err(Error::Busy)),
        "the head moved on through the other handle: Busy"
    );
    assert_eq!(
        hashes(first, "x"),
        ["hash-h2", "hash-h1"],
        "a failed append changes nothing"
    );
    assert!(second.forget("x").unwrap());
    assert!(first.history("x").unwrap().is_none());
    // Both handles racing on one account with the optimistic check: every
    // append either lands or says Busy, and exactly the landed ones remain.
    let landed = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for (n, store) in [first, second, first, second].into_iter().enumerate() {
            let landed = &landed;
            s.spawn(move || {
                for i in 0..10 {
                    loop {
                        let head = store.history("race").unwrap().and_then(|h| h.head());
                        let a = Append {
                            salt: &[9; 16],
                            entries: &[entry(i, &format!("{n}-{i}"))],
                            expect: Expect::Unchanged(head),
                            retention: Retention::new(1000, None),
                        };
                        match store.append("race", &a) {
                            Ok(()) => {
                                landed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                break;
                            }
                            Err(Error::Busy) => continue,
                            Err(e) => panic!("append failed: {e}"),
                        }
                    }
                }
            });
        }
    });
    assert_eq!(landed.into_inner(), 40);
    assert_eq!(
        hashes(first, "race").len(),
        40,
        "every landed append is kept"
    );
}
