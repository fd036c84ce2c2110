//! The cost of the Unicode handling (issue 9): grapheme counting, the
//! hidden-character check, the NFKC scoring form and the NFKC + case-folded
//! matching form.
//!
//! ```text
//! cargo bench --bench unicode -- --warm-up-time 1 --measurement-time 5
//! ```
//!
//! * `ordinary/…`: the 2,000 realistic passwords of
//!   `benches/fixtures/passwords-2000.txt` (1.5% non-ASCII) through the
//!   checker and through bare zxcvbn, in the same run: their ratio is the
//!   checker's overhead (1.02 before this work, `BENCHMARKS.md` § 1).
//! * `non-ascii/…`: the same passwords rewritten in fullwidth forms, with
//!   decomposed accents, Devanagari and emoji: the paths ASCII skips.
//! * `worst/…`: the most expensive inputs the length limits let through
//!   (a grapheme of 1,023 marks, 4,095 regional indicators, 1,024 U+FDFA,
//!   whose NFKC is 18 characters each, runs of hidden characters).
//! * `blocklist-line/N`: loading a blocklist whose one line is a grapheme of
//!   N combining marks (no length limit applies to list entries): the time
//!   per mark must stay flat from 10,000 to 1,000,000 marks (linear).

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use pwsentry::{Checker, Context, Policy};
use std::hint::black_box;

const PASSWORDS: &str = include_str!("fixtures/passwords-2000.txt");

/// `s` with ASCII letters and digits replaced by their fullwidth forms.
fn fullwidth(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

/// Non-ASCII variants of the first 500 passwords, 2,000 in all.
fn non_ascii() -> Vec<String> {
    let mut out = Vec::new();
    for (i, p) in PASSWORDS.lines().take(500).enumerate() {
        out.push(fullwidth(p));
        out.push(p.replace('e', "e\u{301}").replace('a', "a\u{308}"));
        out.push(format!("{p}\u{915}\u{93C}\u{916}\u{93F}"));
        out.push(match i % 3 {
            0 => format!("{p}\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}"),
            1 => format!("{p}\u{1F44D}\u{1F3FD}"),
            _ => format!("{p}\u{2764}\u{FE0F}"),
        });
    }
    out
}

fn evaluate_all(c: &mut Criterion, group: &str, list: &[&str]) {
    let checker = Checker::new(Policy::default());
    let context = Context::new();
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(list.len() as u64));
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function("Checker::evaluate", |b| {
        b.iter(|| {
            for p in list {
                black_box(checker.evaluate(black_box(p), &context));
            }
        })
    });
    g.bench_function("zxcvbn::zxcvbn", |b| {
        b.iter(|| {
            for p in list {
                black_box(zxcvbn::zxcvbn(black_box(p), &[]));
            }
        })
    });
    g.finish();
}

fn ordinary(c: &mut Criterion) {
    let list: Vec<&str> = PASSWORDS.lines().collect();
    evaluate_all(c, "ordinary", &list);
}

fn non_ascii_group(c: &mut Criterion) {
    let owned = non_ascii();
    let list: Vec<&str> = owned.iter().map(String::as_str).collect();
    evaluate_all(c, "non-ascii", &list);
}

fn worst(c: &mut Criterion) {
    let policy = Policy::from_toml_str("[length]\nmax = 1024\n").unwrap_or_default();
    let checker = Checker::new(policy);
    let context = Context::new();
    let inputs: Vec<(&str, String)> = vec![
        (
            "1023-marks",
            std::iter::once('a')
                .chain(std::iter::repeat_n('\u{301}', 1023))
                .collect(),
        ),
        (
            "1023-mixed-marks",
            std::iter::once('a')
                .chain(std::iter::repeat_n("\u{316}\u{301}", 511).flat_map(str::chars))
                .collect(),
        ),
        ("4095-regional-indicators", "\u{1F1EB}".repeat(4095)),
        ("1024-fdfa", "\u{FDFA}".repeat(1024)),
        ("1024-zero-width", "\u{200B}".repeat(1024)),
        (
            "1020-family-zwj",
            "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}".repeat(204),
        ),
        (
            "1024-fullwidth",
            fullwidth(&"Velvet#Orbit".repeat(86))[..]
                .chars()
                .take(1024)
                .collect(),
        ),
    ];
    let mut g = c.benchmark_group("worst");
    for (name, input) in &inputs {
        g.bench_with_input(BenchmarkId::from_parameter(name), input, |b, input| {
            b.iter(|| black_box(checker.evaluate(black_box(input), &context)))
        });
    }
    g.finish();
}

fn blocklist_line(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let policy = dir.path().join("policy.toml");
    let list = dir.path().join("list.txt");
    std::fs::write(&policy, "[strength]\nblocklists = [\"list.txt\"]\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut g = c.benchmark_group("blocklist-line");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    for n in [10_000usize, 100_000, 1_000_000] {
        let line: String = std::iter::once('a')
            .chain(std::iter::repeat_n("\u{316}\u{301}", n / 2).flat_map(str::chars))
            .collect();
        std::fs::write(&list, format!("{line}\n")).unwrap_or_else(|e| panic!("{e}"));
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| black_box(Policy::from_file(&policy).map(|_| ())))
        });
    }
    g.finish();
}

criterion_group!(benches, ordinary, non_ascii_group, worst, blocklist_line);
criterion_main!(benches);
