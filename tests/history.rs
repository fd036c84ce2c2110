//! The history rules through the library's change API: the issue's
//! evasion repros, the cost bounds (cheap rejections, near-reuse budget,
//! costly and tampered entries), the current-password path, and hostile
//! inputs (huge passwords, many threads).

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use pwsentry::history::{SkipReason, hash_password};
use pwsentry::store::{
    AccountHistory, Append, Expect, HistoryEntry, MemoryStore, NewEntry, Retention, Store,
};
use pwsentry::{ChangeRequest, Checker, Policy, Rule};

const ACCOUNT: &str = "alice@example.com";
const RECORDED: &str = "Velvet#Orbit#Canyon10";

/// Small argon2 parameters keep the tests fast.
fn policy(extra: &str) -> Policy {
    Policy::from_toml_str(&format!(
        "[hashing]\nmemory_kib = 64\niterations = 1\nallow_weak_parameters = true\n{extra}"
    ))
    .unwrap()
}

fn at(day: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap() + TimeDelta::days(day)
}

fn recorded(checker: &Checker) -> MemoryStore {
    let store = MemoryStore::new();
    let outcome = checker
        .change(&store, &ChangeRequest::new(ACCOUNT, RECORDED, at(0)))
        .unwrap();
    assert!(outcome.recorded(), "{:?}", outcome.verdict());
    store
}

fn rules(checker: &Checker, store: &MemoryStore, request: &ChangeRequest<'_>) -> Vec<Rule> {
    let change = checker.evaluate_change(store, request).unwrap();
    change
        .verdict()
        .violations()
        .iter()
        .map(|v| v.rule)
        .collect()
}

/// Issue 9, "History evasion": every one of these was accepted against a
/// recorded `Velvet#Orbit#Canyon10`.
const EVASIONS: [&str; 6] = [
    "VELVET#ORBIT#CANYON10",
    " Velvet#Orbit#Canyon10",
    "Velvet#Orbit#Canyon10!!",
    "Velvet#Orbit#Canyon13",
    "Velvet#0rbit#Canyon10",
    "Velvet#Orbit#Canyon\u{ff11}\u{ff10}",
];

/// `Velvet#Orbit#Canyon10` typed with caps lock on (Shift gives the small
/// letters): accepted until the whole-case variant learnt to swap case.
const CAPS_LOCK: &str = "vELVET#oRBIT#cANYON10";

#[test]
fn evasions_within_the_hashed_catalogue_are_rejected() {
    let checker = Checker::new(policy(""));
    let store = recorded(&checker);
    // Reachable within 8 hashed variants: case, space, lookalike, NFKC.
    for candidate in [
        EVASIONS[0],
        EVASIONS[1],
        EVASIONS[4],
        EVASIONS[5],
        CAPS_LOCK,
    ] {
        assert_eq!(
            rules(
                &checker,
                &store,
                &ChangeRequest::new(ACCOUNT, candidate, at(1))
            ),
            [Rule::SimilarToPrevious],
            "{candidate:?}"
        );
    }
    // The documented limit: two characters appended, or the number moved
    // by 3, are past the catalogue; the current-password path catches them.
    for candidate in [EVASIONS[2], EVASIONS[3]] {
        assert!(
            rules(
                &checker,
                &store,
                &ChangeRequest::new(ACCOUNT, candidate, at(1))
            )
            .is_empty(),
            "{candidate:?}: docs/history.md says this is not caught by hashing"
        );
    }
}

#[test]
fn every_evasion_is_rejected_when_the_current_password_is_known() {
    let checker = Checker::new(policy(""));
    let store = recorded(&checker);
    for candidate in EVASIONS {
        let request = ChangeRequest::new(ACCOUNT, candidate, at(1)).current_password(RECORDED);
        let change = checker.evaluate_change(&store, &request).unwrap();
        assert_eq!(
            change
                .verdict()
                .violations()
                .iter()
                .map(|v| v.rule)
                .collect::<Vec<_>>(),
            [Rule::SimilarToCurrent],
            "{candidate:?}"
        );
        assert_eq!(change.argon2_evaluations(), 0, "plain text, no hashing");
    }
}

#[test]
fn the_current_password_is_verified() {
    let checker = Checker::new(policy(""));
    let store = recorded(&checker);
    let new = "Marble&Quartz&Heron77";
    let wrong = ChangeRequest::new(ACCOUNT, new, at(1)).current_password("Tundra!Lantern!Opal3");
    let change = checker.evaluate_change(&store, &wrong).unwrap();
    assert_eq!(
        change
            .verdict()
            .violations()
            .iter()
            .map(|v| v.rule)
            .collect::<Vec<_>>(),
        [Rule::CurrentPassword]
    );
    assert_eq!(
        change.argon2_evaluations(),
        1,
        "one verification, no history check"
    );
    assert!(!checker.change(&store, &wrong).unwrap().recorded());

    let unknown = ChangeRequest::new("bob@example.com", new, at(1)).current_password(RECORDED);
    assert_eq!(rules(&checker, &store, &unknown), [Rule::CurrentPassword]);

    let right = ChangeRequest::new(ACCOUNT, new, at(1)).current_password(RECORDED);
    let outcome = checker.change(&store, &right).unwrap();
    assert!(outcome.recorded(), "{:?}", outcome.verdict());
    // One verification, the exact candidate, its variants (6 here: its
    // NFKC form and lookalike form are itself).
    assert_eq!(outcome.argon2_evaluations(), 1 + 1 + 6);
}

#[test]
fn a_cheap_rejection_costs_no_argon2() {
    let checker = Checker::new(policy(""));
    let store = recorded(&checker);
    for candidate in ["x", "password", "alice#Example#2026", &"Ab1@".repeat(300)] {
        let change = checker
            .evaluate_change(&store, &ChangeRequest::new(ACCOUNT, candidate, at(1)))
            .unwrap();
        assert!(!change.verdict().accepted());
        assert_eq!(change.argon2_evaluations(), 0, "{candidate:.20}");
    }
    // Even with a wrong current password: nothing is verified for a
    // password that is rejected anyway.
    let request = ChangeRequest::new(ACCOUNT, "x", at(1)).current_password("wrong");
    let change = checker.evaluate_change(&store, &request).unwrap();
    assert_eq!(change.argon2_evaluations(), 0);
    assert!(!change.verdict().violates(Rule::CurrentPassword));
}

#[test]
fn near_reuse_costs_at_most_eight_evaluations_for_any_number_of_native_entries() {
    let checker = Checker::new(policy("[history]\nremember = 24\n"));
    let store = MemoryStore::new();
    for (i, pw) in [
        "Velvet#Orbit#Canyon",
        "Marble&Quartz&Heron",
        "Tundra!Lantern!Opal",
    ]
    .iter()
    .cycle()
    .take(12)
    .enumerate()
    {
        let pw = format!("{pw}{}x", i * 37);
        assert!(
            checker
                .change(&store, &ChangeRequest::new(ACCOUNT, &pw, at(i as i64)))
                .unwrap()
                .recorded()
        );
    }
    let change = checker
        .evaluate_change(
            &store,
            &ChangeRequest::new(ACCOUNT, "Granite@Willow@Comet2024!", at(20)),
        )
        .unwrap();
    assert!(change.verdict().accepted());
    // The exact candidate and 7 variants (its NFKC form is itself), for
    // 12 entries.
    assert_eq!(change.argon2_evaluations(), 1 + 7);
}

fn entry(id: i64, day: i64, hash: &str) -> HistoryEntry {
    HistoryEntry::new(id, at(day), hash, false)
}

#[test]
fn costlier_groups_get_the_exact_check_only() {
    let checker = Checker::new(policy(""));
    let costly = Policy::from_toml_str(
        "[hashing]\nmemory_kib = 256\niterations = 1\nallow_weak_parameters = true\n",
    )
    .unwrap();
    let old = hash_password(&costly, &[3; 16], RECORDED)
        .unwrap()
        .to_string();
    let history = AccountHistory::new(vec![7; 16], vec![entry(1, 0, &old)]);
    let check = |candidate: &str| {
        checker
            .evaluate_change_against(
                Some(&history),
                &ChangeRequest::new(ACCOUNT, candidate, at(1)),
            )
            .unwrap()
    };
    let exact = check(RECORDED);
    assert!(exact.verdict().violates(Rule::Reuse));
    assert_eq!(exact.argon2_evaluations(), 1);
    let near = check("Velvet#Orbit#Canyon11");
    assert!(
        near.verdict().accepted(),
        "near reuse is not checked at a higher cost"
    );
    assert_eq!(near.argon2_evaluations(), 1);
}

const TAMPERED: &str =
    "$argon2id$v=19$m=1048576,t=64,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA";

#[test]
fn tampered_and_malformed_entries_are_skipped_and_reported() {
    let checker = Checker::new(policy(""));
    let store = recorded(&checker);
    let salt = store.history(ACCOUNT).unwrap().unwrap().salt().to_vec();
    for (hash, reason) in [
        (TAMPERED, SkipReason::AboveBounds),
        // Over the import memory bound, under the policy maximum.
        (
            "$argon2id$v=19$m=524288,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA",
            SkipReason::AboveBounds,
        ),
        (
            "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA",
            SkipReason::Malformed,
        ),
        ("not a hash", SkipReason::Malformed),
    ] {
        let mut history: Vec<HistoryEntry> =
            store.history(ACCOUNT).unwrap().unwrap().entries().to_vec();
        history.push(entry(99, -1, hash));
        let history = AccountHistory::new(salt.clone(), history);
        let start = std::time::Instant::now();
        let change = checker
            .evaluate_change_against(
                Some(&history),
                &ChangeRequest::new(ACCOUNT, "Granite@Willow@Comet2024!", at(1)),
            )
            .unwrap();
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
        assert!(change.verdict().accepted());
        assert_eq!(change.skipped().len(), 1);
        assert_eq!(
            (change.skipped()[0].id, change.skipped()[0].reason),
            (99, reason)
        );
        assert!(reason.is_unverifiable());
        assert_eq!(change.argon2_evaluations(), 1 + 7, "only the sound entry");
        assert_eq!(
            pwsentry::history::unverifiable_entries(checker.policy(), &history),
            [99]
        );
        // The sound entry is still checked.
        let reuse = checker
            .evaluate_change_against(
                Some(&history),
                &ChangeRequest::new(ACCOUNT, RECORDED, at(1)),
            )
            .unwrap();
        assert!(reuse.verdict().violates(Rule::Reuse));
    }
    // A current password whose hash was tampered with cannot be verified.
    let history = AccountHistory::new(salt, vec![entry(1, 0, TAMPERED)]);
    let change = checker
        .evaluate_change_against(
            Some(&history),
            &ChangeRequest::new(ACCOUNT, "Granite@Willow@Comet2024!", at(1)).current_password("x"),
        )
        .unwrap();
    assert!(change.verdict().violates(Rule::CurrentPassword));
    assert_eq!(change.argon2_evaluations(), 0);
}

#[test]
fn many_costly_imports_stop_at_the_exact_budget() {
    // Five imports at the import bound (1 GiB·pass each, 16 MiB): the
    // exact-check budget (2 GiB·pass) takes the two newest.
    let checker = Checker::new(policy("[history]\nremember = 5\n"));
    let entries: Vec<HistoryEntry> = (0..5)
        .map(|i| {
            entry(
                i + 1,
                -i,
                &format!(
                    "$argon2id$v=19$m=16384,t=64,p=1$c29tZXNhbHRzb21lc2Fs{}$SGFzaGhhc2hoYXNoaGFzaA",
                    ["QQ", "Qg", "Qw", "RA", "RQ"][i as usize]
                ),
            )
        })
        .collect();
    let history = AccountHistory::new(vec![7; 16], entries);
    let change = checker
        .evaluate_change_against(
            Some(&history),
            &ChangeRequest::new(ACCOUNT, "Granite@Willow@Comet2024!", at(1)),
        )
        .unwrap();
    assert_eq!(change.argon2_evaluations(), 2);
    let mut over: Vec<i64> = change
        .skipped()
        .iter()
        .filter(|s| s.reason == SkipReason::OverBudget)
        .map(|s| s.id)
        .collect();
    over.sort();
    assert_eq!(over, [3, 4, 5], "the oldest are left out");
}

#[test]
fn huge_passwords_are_bounded() {
    let checker = Checker::new(policy(""));
    let store = recorded(&checker);
    let huge = "Ab1@".repeat(250_000);
    let start = std::time::Instant::now();
    let change = checker
        .evaluate_change(
            &store,
            &ChangeRequest::new(ACCOUNT, &huge, at(1)).current_password(&huge),
        )
        .unwrap();
    assert!(change.verdict().violates(Rule::MaxLength));
    assert_eq!(change.argon2_evaluations(), 0);
    let change = checker
        .evaluate_change(
            &store,
            &ChangeRequest::new(ACCOUNT, "Granite@Willow@Comet2024!", at(1))
                .current_password(&huge),
        )
        .unwrap();
    assert!(change.verdict().violates(Rule::CurrentPassword));
    assert_eq!(
        change.argon2_evaluations(),
        0,
        "too long to be anyone's password"
    );
    // A guard against a hang, not a performance claim.
    assert!(start.elapsed() < std::time::Duration::from_secs(60));
}

#[test]
fn concurrent_changes_retry_busy_and_lose_nothing() {
    let checker = Checker::new(policy("[history]\nremember = 50\nreject_similar = false\n"));
    let store = MemoryStore::new();
    let recorded: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let (checker, store) = (checker.clone(), &store);
                s.spawn(move || {
                    (0..5)
                        .filter(|i| {
                            let pw = format!("Granite@Willow@Comet#{t}#{i}");
                            let request = ChangeRequest::new(ACCOUNT, &pw, at(0));
                            // `change` re-evaluates on Busy by itself, a
                            // bounded number of times; a caller that keeps
                            // losing to seven others gets `Busy` back and
                            // tries again, as the CLI does.
                            loop {
                                match checker.change(store, &request) {
                                    Err(pwsentry::Error::Busy) => std::thread::yield_now(),
                                    other => break other.unwrap().recorded(),
                                }
                            }
                        })
                        .count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(recorded, 40);
    assert_eq!(store.history(ACCOUNT).unwrap().unwrap().entries().len(), 40);
}

#[test]
fn an_imported_history_through_the_store_is_checked() {
    let checker = Checker::new(policy(""));
    let store = MemoryStore::new();
    let imported = hash_password(&policy(""), &[5; 16], RECORDED)
        .unwrap()
        .to_string();
    store
        .append(
            ACCOUNT,
            &Append {
                salt: &[6; 16],
                entries: &[
                    NewEntry::new(at(0), imported, false),
                    NewEntry::new(at(0), TAMPERED, false),
                ],
                expect: Expect::Anything,
                retention: Retention::new(5, None),
            },
        )
        .unwrap();
    let change = checker
        .evaluate_change(
            &store,
            &ChangeRequest::new(ACCOUNT, "Velvet#Orbit#Canyon9", at(1)),
        )
        .unwrap();
    assert!(
        change.verdict().violates(Rule::SimilarToPrevious),
        "imported at the policy's cost: near reuse too"
    );
    assert_eq!(change.skipped().len(), 1);
}
