//! `Checker::evaluate` against bare `zxcvbn::zxcvbn` on the same 2,000
//! passwords, in alternating rounds on one thread.
//!
//! The criterion bench (`benches/evaluate.rs`) measures the two one after
//! the other; on a machine shared with other work the load can change in
//! between. Here each round times both back to back, by this thread's CPU
//! time, and the ratio is taken per round, so a change of load affects both
//! sides of a ratio alike. The median ratio is the checker's overhead.
//!
//! ```text
//! cargo run --release --example overhead -- [ROUNDS]     # default 15
//! ```

use cpu_time::ThreadTime;
use pwsentry::{Checker, Context, Policy};
use std::hint::black_box;
use std::time::Duration;

const PASSWORDS: &str = include_str!("../benches/fixtures/passwords-2000.txt");

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(15)
        .max(1);
    let list: Vec<&str> = PASSWORDS.lines().collect();
    let checker = Checker::new(Policy::default());
    let context = Context::new();
    let time = |f: &dyn Fn()| -> Duration {
        let t = ThreadTime::now();
        f();
        t.elapsed()
    };
    let run_checker = || {
        for p in &list {
            black_box(checker.evaluate(black_box(p), &context));
        }
    };
    let run_zxcvbn = || {
        for p in &list {
            black_box(zxcvbn::zxcvbn(black_box(p), &[]));
        }
    };
    // One untimed round of each: dictionaries built, caches warm.
    run_checker();
    run_zxcvbn();
    let (mut ours, mut bare, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate which side goes first.
        let (a, b) = if round % 2 == 0 {
            let a = time(&run_checker);
            (a, time(&run_zxcvbn))
        } else {
            let b = time(&run_zxcvbn);
            (time(&run_checker), b)
        };
        ours.push(list.len() as f64 / a.as_secs_f64());
        bare.push(list.len() as f64 / b.as_secs_f64());
        ratios.push(a.as_secs_f64() / b.as_secs_f64());
    }
    let (ours, bare, ratio) = (median(&mut ours), median(&mut bare), median(&mut ratios));
    let (lo, hi) = (ratios[0], ratios[ratios.len() - 1]);
    println!(
        "{} passwords, {rounds} rounds, one thread, CPU time",
        list.len()
    );
    println!("Checker::evaluate: {ours:.0} passwords/s (median)");
    println!("zxcvbn::zxcvbn:    {bare:.0} passwords/s (median)");
    println!(
        "time ratio evaluate / zxcvbn: {ratio:.3} median (range {lo:.3}..{hi:.3}); overhead {:+.1}%",
        (ratio - 1.0) * 100.0
    );
}
