//! Cost of one verification against an imported crypt(3) hash, at the
//! defaults mail servers use and at pwsentry's bounds
//! (`crypt::MAX_SHA_ROUNDS`, `crypt::MAX_BCRYPT_COST`), which is what one
//! exact-reuse check against such a history entry costs.
//!
//! `cargo bench --bench crypt`. The digests are dummies: a wrong password
//! costs exactly what the right one does. Times are the benchmark thread's
//! CPU time (`cpu-time`), not wall time, so a busy machine does not
//! inflate them.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use pwsentry::crypt::{CryptHash, MAX_BCRYPT_COST, MAX_SHA_ROUNDS};
use std::hint::black_box;
use std::time::Duration;

fn sha512(rounds: u32) -> CryptHash {
    CryptHash::parse(&format!(
        "$6$rounds={rounds}$saltsaltsaltsalt${}",
        ".".repeat(86)
    ))
    .expect("bench hash")
}

fn sha256(rounds: u32) -> CryptHash {
    CryptHash::parse(&format!(
        "$5$rounds={rounds}$saltsaltsaltsalt${}",
        ".".repeat(43)
    ))
    .expect("bench hash")
}

fn bcrypt(cost: u32) -> CryptHash {
    CryptHash::parse(&format!("$2y${cost:02}${}", ".".repeat(53))).expect("bench hash")
}

fn crypt(c: &mut Criterion) {
    let mut g = c.benchmark_group("crypt_verify");
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(3));
    let short = b"Granite@Willow@Comet2024!".as_slice();
    let long = vec![b'a'; 4096];
    let cases: Vec<(String, CryptHash, &[u8])> = vec![
        ("sha512/5000/25B".into(), sha512(5_000), short),
        ("sha512/5000/4096B".into(), sha512(5_000), &long),
        ("sha256/5000/25B".into(), sha256(5_000), short),
        (
            format!("sha512/{MAX_SHA_ROUNDS}/25B"),
            sha512(MAX_SHA_ROUNDS),
            short,
        ),
        (
            format!("sha256/{MAX_SHA_ROUNDS}/25B"),
            sha256(MAX_SHA_ROUNDS),
            short,
        ),
        ("bcrypt/5".into(), bcrypt(5), short),
        ("bcrypt/10".into(), bcrypt(10), short),
        (
            format!("bcrypt/{MAX_BCRYPT_COST}"),
            bcrypt(MAX_BCRYPT_COST),
            short,
        ),
    ];
    for (name, hash, password) in &cases {
        g.bench_with_input(BenchmarkId::from_parameter(name), hash, |b, h| {
            b.iter_custom(|iters| {
                let start = cpu_time::ThreadTime::now();
                for _ in 0..iters {
                    let _ = black_box(h.verify(black_box(password)));
                }
                start.elapsed()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, crypt);
criterion_main!(benches);
