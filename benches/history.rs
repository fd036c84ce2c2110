//! Cost of the history rules for one candidate that is not in the history
//! (the worst case: every planned argon2 evaluation runs), through the
//! library's change API (`Checker::evaluate_change_against`):
//!
//! - `native/5`: 5 entries recorded by pwsentry at the shipped policy's
//!   parameters (m = 19 MiB, t = 2): one group, 1 exact + 8 near variants;
//! - `dovecot/2`: 2 imported Dovecot-default hashes (m = 64 MiB, t = 3),
//!   costlier than the policy: exact reuse only, one evaluation each;
//! - `tampered/1`: one entry edited to m = 1 GiB, t = 64: skipped;
//! - `rejected/5`: a candidate a cheap rule rejects: no argon2 at all;
//! - `many_salts/20000`: 20,000 cheap entries (m = 8 KiB, t = 1), each with
//!   its own salt (a long import, an edited database): 20,000 groups,
//!   which cost entries² comparisons to form before they were grouped
//!   through a map (31 s of CPU in the CLI; now bounded by the exact-check
//!   budget like the rest).
//!
//! `cargo bench --bench history`. The argon2 evaluations per check are
//! printed first. The CLI's process-level figures (CPU, RSS) come from
//! `scripts/bench-history.sh`.

use chrono::{TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use pwsentry::history::hash_password;
use pwsentry::store::{AccountHistory, HistoryEntry};
use pwsentry::{ChangeRequest, Checker, Policy};
use std::hint::black_box;

const CANDIDATE: &str = "Granite@Willow@Comet2024!";
const ACCOUNT: &str = "bench@example.com";
const TAMPERED: &str =
    "$argon2id$v=19$m=1048576,t=64,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA";

fn hashed(policy: &Policy, salt: u8, n: usize) -> Vec<HistoryEntry> {
    let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    (0..n)
        .map(|i| {
            let hash = hash_password(policy, &[salt; 16], &format!("Old#Password#Number{i}x"))
                .unwrap()
                .to_string();
            HistoryEntry::new(
                i as i64 + 1,
                t0 + chrono::TimeDelta::days(i as i64),
                hash,
                false,
            )
        })
        .collect()
}

/// `n` entries at m = 8 KiB, t = 1, each with a salt of its own.
fn many_salts(n: usize) -> Vec<HistoryEntry> {
    let cheap = Policy::from_toml_str(
        "[hashing]\nmemory_kib = 8\niterations = 1\nallow_weak_parameters = true\n",
    )
    .unwrap();
    let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    (0..n)
        .map(|i| {
            let mut salt = [0u8; 16];
            salt[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let hash = hash_password(&cheap, &salt, "Old#Password").unwrap();
            HistoryEntry::new(
                i as i64 + 1,
                t0 - chrono::TimeDelta::seconds(i as i64),
                hash.to_string(),
                false,
            )
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let policy = Policy::default();
    let checker = Checker::new(policy.clone());
    let dovecot = Policy::from_toml_str("[hashing]\nmemory_kib = 65536\niterations = 3\n").unwrap();
    let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let cases: Vec<(&str, usize, AccountHistory, &str)> = vec![
        (
            "native",
            5,
            AccountHistory::new(vec![7; 16], hashed(&policy, 7, 5)),
            CANDIDATE,
        ),
        (
            "dovecot",
            2,
            AccountHistory::new(vec![7; 16], {
                let mut e = hashed(&dovecot, 8, 1);
                e.extend(hashed(&dovecot, 9, 1).into_iter().map(|x| {
                    HistoryEntry::new(2, x.set_at() + chrono::TimeDelta::days(1), x.hash(), false)
                }));
                e
            }),
            CANDIDATE,
        ),
        (
            "tampered",
            1,
            AccountHistory::new(vec![7; 16], vec![HistoryEntry::new(1, t0, TAMPERED, false)]),
            CANDIDATE,
        ),
        (
            "many_salts",
            20_000,
            AccountHistory::new(vec![7; 16], many_salts(20_000)),
            CANDIDATE,
        ),
        (
            "rejected",
            5,
            AccountHistory::new(vec![7; 16], hashed(&policy, 7, 5)),
            "x",
        ),
    ];
    let mut group = c.benchmark_group("history_check");
    group.sample_size(10);
    for (name, n, history, candidate) in &cases {
        let request = ChangeRequest::new(ACCOUNT, candidate, now);
        let change = checker
            .evaluate_change_against(Some(history), &request)
            .unwrap();
        eprintln!(
            "{name}/{n}: {} argon2 evaluations, {} skipped",
            change.argon2_evaluations(),
            change.skipped().len()
        );
        group.bench_with_input(BenchmarkId::new(*name, n), history, |b, h| {
            b.iter(|| {
                checker
                    .evaluate_change_against(Some(h), black_box(&request))
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
