//! Benchmarks for breach filters (see "Breach filter" in BENCHMARKS.md).
//!
//! ```text
//! # a sorted synthetic Have I Been Pwned corpus of N lines, to stdout
//! cargo run --release --example breach_filter -- corpus 50000000 > corpus.txt
//! # false-positive rate over M random non-members, and CPU time per lookup
//! cargo run --release --example breach_filter -- measure FILTER 10000000
//! ```
//!
//! The corpus is uniform over the SHA-1 space, like the real one: line i's
//! first 64 bits fall in the i-th of N equal slots (so the lines come out
//! sorted), the rest is random. Nothing is written to disk by this program.

use pwsentry::breach::Filter;
use std::io::Write as _;

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn corpus(n: u64) -> std::io::Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    let slot = u64::MAX / n.max(1);
    let mut state = 42u64;
    for i in 0..n {
        let r = splitmix(&mut state);
        let key = i * slot + r % slot;
        let tail = splitmix(&mut state);
        let tail2 = (splitmix(&mut state) >> 32) as u32;
        // Counts roughly like the corpus: most entries seen a few times.
        let count = 1 + (r >> 58).pow(2);
        writeln!(out, "{key:016X}{tail:016X}{tail2:08X}:{count}")?;
    }
    out.flush()
}

fn measure(path: &str, trials: u64) -> Result<(), Box<dyn std::error::Error>> {
    let filter = Filter::open(path)?;
    let h = filter.header().clone();
    println!(
        "{path}: {} entries, {} bytes, {:.3} bytes/entry, {} groups",
        h.entry_count,
        h.file_len,
        h.file_len as f64 / h.entry_count as f64,
        h.group_count
    );
    // Random 64-bit keys: members with probability entries / 2^64 (none,
    // in practice), so every hit is a false positive.
    let mut state = 0x5eed_u64;
    let start = cpu_time::ProcessTime::now();
    let wall = std::time::Instant::now();
    let mut hits = 0u64;
    for _ in 0..trials {
        if filter.contains_key(splitmix(&mut state))? {
            hits += 1;
        }
    }
    let cpu = start.elapsed();
    let wall = wall.elapsed();
    let rate = hits as f64 / trials as f64;
    println!(
        "false positives: {hits} of {trials} = {rate:.3e} (design {:.3e}, ratio {:.2})",
        h.fp_rate,
        rate / h.fp_rate
    );
    println!(
        "lookup: {:.0} ns CPU, {:.0} ns wall per lookup (mean of {trials})",
        cpu.as_nanos() as f64 / trials as f64,
        wall.as_nanos() as f64 / trials as f64
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["corpus", n] => corpus(n.parse()?)?,
        ["measure", path, trials] => measure(path, trials.parse()?)?,
        _ => {
            eprintln!("usage: breach_filter corpus N | measure FILTER TRIALS");
            std::process::exit(2);
        }
    }
    Ok(())
}
