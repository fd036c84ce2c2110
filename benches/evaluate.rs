//! `Checker::evaluate` against bare `zxcvbn::zxcvbn`, and the worst-case
//! inputs, in one run.
//!
//! ```text
//! cargo bench --bench evaluate -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! * `throughput/…`: the 2,000 realistic 8–20 character passwords of
//!   `benches/fixtures/passwords-2000.txt`, through the checker (shipped
//!   policy, no context) and through bare zxcvbn. The target is the checker
//!   within 10% of zxcvbn.
//! * `worst-case/…`: l33t-dense inputs of 20–128 characters, the repeating
//!   unit `4@8({[<3691!|70$5+%2` and seeded shuffles of it (no period for the
//!   repeat path to use), and a 4096-character line that `max_length`
//!   rejects before scoring.
//! * `plain-zxcvbn-hostile/…`: bare zxcvbn on one 100-character hostile
//!   input, what the bound protects against (about a second per call).

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use pwsentry::{Checker, Context, Policy};
use std::hint::black_box;

const PASSWORDS: &str = include_str!("fixtures/passwords-2000.txt");
/// Every character in zxcvbn's l33t table.
const L33T_UNIT: &str = "4@8({[<3691!|70$5+%2";

fn passwords() -> Vec<&'static str> {
    PASSWORDS.lines().collect()
}

/// `len` characters of the l33t unit repeated.
fn repeated(len: usize) -> String {
    L33T_UNIT.chars().cycle().take(len).collect()
}

/// `len` characters made of the l33t unit, each repeat shuffled
/// differently (a fixed xorshift, so every run measures the same input).
fn shuffled(len: usize) -> String {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let mut unit: Vec<char> = L33T_UNIT.chars().collect();
        for i in (1..unit.len()).rev() {
            unit.swap(i, (next() % (i as u64 + 1)) as usize);
        }
        out.extend(unit);
    }
    out.truncate(len);
    out.into_iter().collect()
}

fn throughput(c: &mut Criterion) {
    let checker = Checker::new(Policy::default());
    let context = Context::new();
    let list = passwords();
    let mut group = c.benchmark_group("throughput");
    group.throughput(Throughput::Elements(list.len() as u64));
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function(
        BenchmarkId::new("Checker::evaluate", "passwords-2000"),
        |b| {
            b.iter(|| {
                for p in &list {
                    black_box(checker.evaluate(black_box(p), &context));
                }
            })
        },
    );
    group.bench_function(BenchmarkId::new("zxcvbn::zxcvbn", "passwords-2000"), |b| {
        b.iter(|| {
            for p in &list {
                black_box(zxcvbn::zxcvbn(black_box(p), &[]));
            }
        })
    });
    group.finish();
}

fn worst_case(c: &mut Criterion) {
    let checker = Checker::new(Policy::default());
    let context = Context::new();
    let mut group = c.benchmark_group("worst-case");
    group.sample_size(20);
    for len in [20, 40, 64, 100, 128] {
        let input = repeated(len);
        group.bench_with_input(
            BenchmarkId::new("evaluate/l33t-repeated", len),
            &input,
            |b, input| b.iter(|| black_box(checker.evaluate(black_box(input), &context))),
        );
        let input = shuffled(len);
        group.bench_with_input(
            BenchmarkId::new("evaluate/l33t-shuffled", len),
            &input,
            |b, input| b.iter(|| black_box(checker.evaluate(black_box(input), &context))),
        );
    }
    let line = repeated(4096);
    group.bench_with_input(
        BenchmarkId::new("evaluate/over-max-length", 4096),
        &line,
        |b, input| b.iter(|| black_box(checker.evaluate(black_box(input), &context))),
    );
    group.finish();
}

fn plain_zxcvbn_hostile(c: &mut Criterion) {
    let input = shuffled(100);
    let mut group = c.benchmark_group("plain-zxcvbn-hostile");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.bench_with_input(
        BenchmarkId::new("zxcvbn::zxcvbn/l33t-shuffled", 100),
        &input,
        |b, input| b.iter(|| black_box(zxcvbn::zxcvbn(black_box(input), &[]))),
    );
    group.finish();
}

criterion_group!(benches, throughput, worst_case, plain_zxcvbn_hostile);
criterion_main!(benches);
