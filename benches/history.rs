//! Cost of the history rules (reuse + near reuse) for one candidate:
//! against 1 and 24 natively recorded entries (one shared salt: one argon2
//! group), and a naive baseline of 24 entries with their own salts (one
//! verification per entry, as imported hashes are checked).
//!
//! `cargo bench --bench history`. The candidate is not in the history, so
//! every variant is hashed (the worst case). `small` uses m = 4 MiB, t = 1
//! so the naive baseline finishes in reasonable time; `owasp` uses the
//! default policy's m = 19 MiB, t = 2 for the native cases.

use chrono::{TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use pwsentry::Policy;
use pwsentry::history::{self, hash_password, near_variants};
use pwsentry::store::{AccountHistory, Append, Expect, MemoryStore, NewEntry, Retention, Store};
use std::hint::black_box;

const CANDIDATE: &str = "Granite@Willow@Comet2024!";

fn policy(memory_kib: u32, iterations: u32) -> Policy {
    Policy::from_toml_str(&format!(
        "[history]\nremember = 24\nreject_similar = true\n[hashing]\nmemory_kib = {memory_kib}\niterations = {iterations}\nallow_weak_parameters = true\n"
    ))
    .expect("bench policy")
}

/// `n` entries; with `shared_salt` they all use the account's salt, as
/// entries pwsentry records do; else each has its own.
fn history_of(policy: &Policy, n: usize, shared_salt: bool) -> AccountHistory {
    let store = MemoryStore::new();
    let salt = [7u8; 16];
    let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    for i in 0..n {
        let entry_salt = if shared_salt {
            salt
        } else {
            [i as u8 + 100; 16]
        };
        let hash = hash_password(policy, &entry_salt, &format!("Old#Password#Number{i}x")).unwrap();
        let entry = NewEntry::new(
            t0 + chrono::TimeDelta::days(i as i64),
            hash.to_string(),
            false,
        );
        let append = Append {
            salt: &salt,
            entries: &[entry],
            expect: Expect::Anything,
            retention: Retention::new(100, None),
        };
        store.append("bench", &append).unwrap();
    }
    store.history("bench").unwrap().unwrap()
}

fn bench(c: &mut Criterion) {
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    eprintln!(
        "candidate variants checked: 1 exact + {} near",
        near_variants(CANDIDATE).len()
    );

    let small = policy(4096, 1);
    let mut group = c.benchmark_group("history_check_small");
    group.sample_size(10);
    for (name, n, shared) in [
        ("native", 1, true),
        ("native", 24, true),
        ("naive", 24, false),
    ] {
        let h = history_of(&small, n, shared);
        group.bench_with_input(BenchmarkId::new(name, n), &h, |b, h| {
            b.iter(|| {
                let v = history::violations(&small, h, black_box(CANDIDATE), now).unwrap();
                assert!(v.is_empty());
                v
            })
        });
    }
    group.finish();

    let owasp = policy(19_456, 2);
    let mut group = c.benchmark_group("history_check_owasp");
    group.sample_size(10);
    for n in [1, 24] {
        let h = history_of(&owasp, n, true);
        group.bench_with_input(BenchmarkId::new("native", n), &h, |b, h| {
            b.iter(|| history::violations(&owasp, h, black_box(CANDIDATE), now).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
