//! Searches for the slowest inputs to [`Checker::evaluate`] and reports the
//! maximum and median time of one evaluation.
//!
//! `COST_BUDGET` in `src/strength.rs` must keep every evaluation of any input
//! up to the policy's maximum length (128 shipped, 1024 hard cap) under
//! 20 ms. This program is how that is checked: it draws adversarial inputs
//! (random strings over zxcvbn's l33t characters, the inputs whose predicted
//! cost sits just under the budget, periodic and near-periodic ones, long
//! lines) and times each one several times, keeping the median per input so
//! that a scheduling hiccup on a shared machine does not count as the
//! input's cost.
//!
//! ```text
//! cargo run --release --example worst_case                   # search, report
//! cargo run --release --example worst_case -- --draws 4000 --runs 5 --seed 7
//! cargo run --release --example worst_case -- --calibrate    # plain zxcvbn: ns per cost unit
//! cargo run --release --example worst_case -- --costs tests/data/ordinary-passwords.txt
//! cargo run --release --example worst_case -- --zxcvbn-variance tests/data/ordinary-passwords.txt
//! ```
//!
//! Times are the thread's CPU time (what the evaluation itself costs) and
//! wall time (which also counts waiting for a core when other work shares
//! the machine). Exits with status 1 when the median CPU time of any input
//! is over `--limit-ms` (default 20).

use cpu_time::ThreadTime;
use pwsentry::strength::{COST_BUDGET, ZXCVBN_MAX_CHARS, estimate, predicted_cost};
use pwsentry::{Checker, Context, Policy};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{RngExt, SeedableRng};
use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Every character in zxcvbn's l33t table.
const L33T: &str = "4@8({[<3691!|70$5+%2";
/// The letters those characters stand for: mixed in, they make dictionary
/// matches (and so more work for the scorer) more likely.
const L33T_LETTERS: &str = "abcegilostxz";

struct Options {
    draws: usize,
    runs: usize,
    seed: u64,
    limit: Duration,
    calibrate: bool,
    costs: Vec<String>,
    variance: Vec<String>,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        draws: 1500,
        runs: 3,
        seed: 1,
        limit: Duration::from_millis(20),
        calibrate: false,
        costs: Vec::new(),
        variance: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--draws" => {
                o.draws = value("--draws")?
                    .parse()
                    .map_err(|e| format!("--draws: {e}"))?
            }
            "--runs" => {
                o.runs = value("--runs")?
                    .parse()
                    .map_err(|e| format!("--runs: {e}"))?
            }
            "--seed" => {
                o.seed = value("--seed")?
                    .parse()
                    .map_err(|e| format!("--seed: {e}"))?
            }
            "--limit-ms" => {
                let ms: f64 = value("--limit-ms")?
                    .parse()
                    .map_err(|e| format!("--limit-ms: {e}"))?;
                o.limit = Duration::from_secs_f64(ms / 1000.0);
            }
            "--calibrate" => o.calibrate = true,
            "--costs" => o.costs.push(value("--costs")?),
            "--zxcvbn-variance" => o.variance.push(value("--zxcvbn-variance")?),
            "--bench" => {} // passed by `cargo bench --examples`; ignored
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if o.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    Ok(o)
}

/// One input with the family it came from and the policy it is checked under.
struct Case {
    family: &'static str,
    input: String,
    hard_max: bool,
}

fn draw(rng: &mut StdRng, alphabet: &[char], len: usize) -> String {
    (0..len)
        .map(|_| *alphabet.choose(rng).unwrap_or(&'x'))
        .collect()
}

fn cases(o: &Options) -> Vec<Case> {
    let mut rng = StdRng::seed_from_u64(o.seed);
    let l33t: Vec<char> = L33T.chars().collect();
    let mixed: Vec<char> = L33T.chars().chain(L33T_LETTERS.chars()).collect();
    let mut out = Vec::new();
    let mut push = |family, input: String, hard_max| {
        out.push(Case {
            family,
            input,
            hard_max,
        })
    };

    // Random draws over the l33t characters, every length the shipped policy allows.
    for _ in 0..o.draws {
        let len = rng.random_range(8..=128);
        push("random l33t, 8..=128", draw(&mut rng, &l33t, len), false);
    }
    for _ in 0..o.draws / 2 {
        let len = rng.random_range(8..=128);
        push(
            "random l33t + letters, 8..=128",
            draw(&mut rng, &mixed, len),
            false,
        );
    }
    // Beyond the shipped maximum, up to the hard cap (zxcvbn scores only the first 100).
    for _ in 0..o.draws / 4 {
        let len = rng.random_range(129..=1024);
        push("random l33t, 129..=1024", draw(&mut rng, &l33t, len), true);
    }
    // Inputs whose predicted cost is just under the budget: the slowest
    // that still take the plain zxcvbn path. Draw from a random subset of
    // the l33t characters (fewer distinct characters, more length).
    let mut near = 0;
    let mut tries = 0;
    while near < o.draws / 2 && tries < o.draws * 200 {
        tries += 1;
        let mut subset = l33t.clone();
        subset.shuffle(&mut rng);
        subset.truncate(rng.random_range(1..=l33t.len()));
        if rng.random_bool(0.5) {
            subset.extend(L33T_LETTERS.chars());
        }
        let len = rng.random_range(8..=ZXCVBN_MAX_CHARS);
        let input = draw(&mut rng, &subset, len);
        let chars: Vec<char> = input.chars().collect();
        let cost = predicted_cost(&chars);
        if (COST_BUDGET / 2..=COST_BUDGET).contains(&cost) {
            push("predicted cost in [budget/2, budget]", input, false);
            near += 1;
        }
    }
    // Just over the budget: the cheapest inputs that take the bounded path.
    let mut over = 0;
    tries = 0;
    while over < o.draws / 4 && tries < o.draws * 200 {
        tries += 1;
        let mut subset = l33t.clone();
        subset.shuffle(&mut rng);
        subset.truncate(rng.random_range(2..=l33t.len()));
        let len = rng.random_range(8..=ZXCVBN_MAX_CHARS);
        let input = draw(&mut rng, &subset, len);
        let chars: Vec<char> = input.chars().collect();
        let cost = predicted_cost(&chars);
        if cost > COST_BUDGET && cost <= COST_BUDGET.saturating_mul(2) {
            push("predicted cost in (budget, 2 budget]", input, false);
            over += 1;
        }
    }
    // Structured inputs at every length.
    let words = [
        "p@$$w0rd",
        "5h@d0w",
        "m0nk3y",
        "|0v3",
        "@dm1n",
        "7r0ub4d0r",
        "d r@g0n",
        "{0mpu73r",
        "6@|@%y",
    ];
    for len in 8..=128usize {
        let unit: String = L33T.chars().cycle().take(len).collect();
        push("repeats of the l33t unit", unit, false);
        // The unit shuffled afresh on every repeat: no period for the repeat path.
        let mut s = String::new();
        while s.chars().count() < len {
            let mut u = l33t.clone();
            u.shuffle(&mut rng);
            s.extend(u);
        }
        push(
            "shuffled repeats of the l33t unit",
            s.chars().take(len).collect(),
            false,
        );
        // A period broken by one character at the front or in the middle.
        let tail: String = L33T.chars().cycle().take(len - 1).collect();
        push(
            "l33t unit repeats behind a prefix",
            format!("x{tail}"),
            false,
        );
        let mut mid: Vec<char> = L33T.chars().cycle().take(len).collect();
        mid[len / 2] = 'q';
        push(
            "l33t unit repeats, broken mid-way",
            mid.into_iter().collect(),
            false,
        );
        // l33t words, dictionary words, a repeated character, a sequence, dates.
        let w: String = words
            .iter()
            .cycle()
            .flat_map(|w| w.chars())
            .take(len)
            .collect();
        push("l33t words concatenated", w, false);
        let mut ws: Vec<&str> = words.to_vec();
        ws.shuffle(&mut rng);
        let w2: String = ws
            .iter()
            .cycle()
            .flat_map(|w| w.chars())
            .take(len)
            .collect();
        push("l33t words shuffled", w2, false);
        push("one character repeated", "a".repeat(len), false);
        push("one l33t character repeated", "@".repeat(len), false);
        let seq: String = ('a'..='z').chain('0'..='9').cycle().take(len).collect();
        push("sequences", seq, false);
        let dates: String = "19/07/1987-".chars().cycle().take(len).collect();
        push("dates", dates, false);
        let walk: String = "qwertyuiop[]asdfghjkl;'zxcvbnm,./"
            .chars()
            .cycle()
            .take(len)
            .collect();
        push("keyboard walk", walk, false);
        let unicode: String = "4@ä8({ü[<é3691!|70$5+%2ß"
            .chars()
            .cycle()
            .take(len)
            .collect();
        push("l33t + non-ASCII", unicode, false);
    }
    for len in [256usize, 512, 1000, 1024] {
        let unit: String = L33T.chars().cycle().take(len).collect();
        push("long l33t lines under the hard cap", unit, true);
        push(
            "long l33t lines under the hard cap",
            draw(&mut rng, &l33t, len),
            true,
        );
    }
    // Over the maximum: rejected (max_length) without scoring.
    push(
        "over the maximum (4096)",
        L33T.chars().cycle().take(4096).collect(),
        false,
    );
    push(
        "over the maximum (4096)",
        L33T.chars().cycle().take(4096).collect(),
        true,
    );
    push(
        "over the maximum (10 MB)",
        "@".repeat(10 * 1024 * 1024),
        true,
    );
    out
}

struct Timed {
    family: &'static str,
    input_len: usize,
    preview: String,
    /// Median CPU time of this thread over the runs: the evaluation's own
    /// cost, without the time spent waiting for a core on a busy machine.
    cpu: Duration,
    /// Median wall time over the runs.
    wall: Duration,
    /// Slowest single run, wall time.
    worst_wall: Duration,
    cost: u64,
    bounded: Option<bool>,
}

fn preview(s: &str) -> String {
    let p: String = s.chars().take(48).collect();
    let p = format!("{p:?}");
    if s.chars().count() > 48 {
        format!("{p}…")
    } else {
        p
    }
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn search(o: &Options) -> Result<bool, String> {
    let shipped = Checker::new(Policy::default());
    let hard = Checker::new(
        Policy::from_toml_str("[length]\nmax = 1024\n")
            .map_err(|e| format!("policy with max 1024: {e}"))?,
    );
    let contexts = [
        Context::new(),
        Context::new()
            .account("jane.doe@example.com")
            .user_input("acme"),
    ];
    let cases = cases(o);
    println!(
        "COST_BUDGET = {COST_BUDGET}; {} inputs, {} timed runs each (median per input kept), seed {}",
        cases.len(),
        o.runs,
        o.seed
    );
    let started = Instant::now();
    let mut timed: Vec<Timed> = Vec::with_capacity(cases.len());
    for (i, case) in cases.iter().enumerate() {
        let checker = if case.hard_max { &hard } else { &shipped };
        let context = &contexts[i % contexts.len()];
        let mut cpu = Vec::with_capacity(o.runs);
        let mut wall = Vec::with_capacity(o.runs);
        let mut bounded = None;
        for _ in 0..o.runs {
            let (c, w) = (ThreadTime::now(), Instant::now());
            let v = black_box(checker.evaluate(black_box(&case.input), context));
            wall.push(w.elapsed());
            cpu.push(c.elapsed());
            bounded = v.strength().map(|s| s.bounded);
        }
        let chars: Vec<char> = case.input.chars().take(ZXCVBN_MAX_CHARS).collect();
        timed.push(Timed {
            family: case.family,
            input_len: case.input.chars().count(),
            preview: preview(&case.input),
            cpu: median(&mut cpu),
            wall: median(&mut wall),
            worst_wall: wall.iter().copied().max().unwrap_or_default(),
            cost: predicted_cost(&chars),
            bounded,
        });
    }
    println!("searched in {:.1} s\n", started.elapsed().as_secs_f64());

    let mut families: Vec<&'static str> = Vec::new();
    for t in &timed {
        if !families.contains(&t.family) {
            families.push(t.family);
        }
    }
    println!(
        "times per input: median of {} runs; cpu = this thread's CPU time, wall = elapsed",
        o.runs
    );
    println!(
        "{:<38} {:>6} {:>11} {:>11} {:>11} {:>11} {:>11}",
        "family", "inputs", "median cpu", "max cpu", "median wall", "max wall", "worst run"
    );
    let row = |name: &str, set: &[&Timed]| {
        let mut cpu: Vec<Duration> = set.iter().map(|t| t.cpu).collect();
        let mut wall: Vec<Duration> = set.iter().map(|t| t.wall).collect();
        let max_cpu = cpu.iter().copied().max().unwrap_or_default();
        let max_wall = wall.iter().copied().max().unwrap_or_default();
        let worst = set.iter().map(|t| t.worst_wall).max().unwrap_or_default();
        println!(
            "{:<38} {:>6} {:>11} {:>11} {:>11} {:>11} {:>11}",
            name,
            set.len(),
            ms(median(&mut cpu)),
            ms(max_cpu),
            ms(median(&mut wall)),
            ms(max_wall),
            ms(worst)
        );
    };
    for f in &families {
        let set: Vec<&Timed> = timed.iter().filter(|t| t.family == *f).collect();
        row(f, &set);
    }
    let all: Vec<&Timed> = timed.iter().collect();
    row("ALL", &all);

    timed.sort_by_key(|t| std::cmp::Reverse(t.cpu));
    println!("\nslowest inputs by CPU time:");
    for t in timed.iter().take(12) {
        println!(
            "  cpu {:>10}  wall {:>10}  len {:>4}  cost {:>9}  {:<8}  {:<36}  {}",
            ms(t.cpu),
            ms(t.wall),
            t.input_len,
            t.cost,
            match t.bounded {
                Some(true) => "bounded",
                Some(false) => "plain",
                None => "rejected",
            },
            t.family,
            t.preview
        );
    }
    let over_cpu = timed.iter().filter(|t| t.cpu > o.limit).count();
    let over_wall = timed.iter().filter(|t| t.wall > o.limit).count();
    println!(
        "\ninputs over {}: {over_cpu} by median CPU time, {over_wall} by median wall time",
        ms(o.limit)
    );
    Ok(over_cpu == 0)
}

/// Times plain `zxcvbn::zxcvbn` against the predicted cost, to choose the
/// budget: the worst nanoseconds per cost unit times the budget is the
/// slowest plain call the budget allows.
fn calibrate(o: &Options) {
    let mut rng = StdRng::seed_from_u64(o.seed);
    let l33t: Vec<char> = L33T.chars().collect();
    let _ = zxcvbn::zxcvbn("warm-up", &[]);
    // Buckets by predicted cost: [2^k, 2^(k+1)).
    let mut buckets: Vec<Vec<(f64, Duration, String)>> = vec![Vec::new(); 40];
    let per_bucket = (o.draws / 10).max(5);
    let mut tries = 0;
    while tries < o.draws * 100 {
        tries += 1;
        let mut subset = l33t.clone();
        subset.shuffle(&mut rng);
        subset.truncate(rng.random_range(1..=l33t.len()));
        if rng.random_bool(0.3) {
            subset.extend(L33T_LETTERS.chars());
        }
        let len = rng.random_range(4..=ZXCVBN_MAX_CHARS);
        let input = draw(&mut rng, &subset, len);
        let chars: Vec<char> = input.chars().collect();
        let cost = predicted_cost(&chars);
        let k = (64 - cost.leading_zeros()) as usize;
        if !(10..21).contains(&k) || buckets[k].len() >= per_bucket {
            continue;
        }
        let mut runs: Vec<Duration> = (0..o.runs)
            .map(|_| {
                let t = ThreadTime::now();
                black_box(zxcvbn::zxcvbn(black_box(&input), &[]));
                t.elapsed()
            })
            .collect();
        let d = median(&mut runs);
        buckets[k].push((d.as_secs_f64() * 1e9 / cost as f64, d, preview(&input)));
    }
    println!(
        "plain zxcvbn::zxcvbn, CPU time per predicted cost unit (median of {} runs per input)",
        o.runs
    );
    println!(
        "{:>22} {:>6} {:>12} {:>12} {:>11}  slowest per unit",
        "predicted cost", "inputs", "median ns/u", "max ns/u", "max time"
    );
    for (k, b) in buckets.iter_mut().enumerate() {
        if b.is_empty() {
            continue;
        }
        b.sort_by(|x, y| x.0.total_cmp(&y.0));
        let worst = b.iter().map(|x| x.1).max().unwrap_or_default();
        println!(
            "{:>22} {:>6} {:>12.2} {:>12.2} {:>11}  {}",
            format!("[{}, {})", 1u64 << (k - 1), 1u64 << k),
            b.len(),
            b[b.len() / 2].0,
            b[b.len() - 1].0,
            ms(worst),
            b[b.len() - 1].2
        );
    }
    // Where the shipped estimate switches to the bounded path.
    let hostile: String = L33T.chars().cycle().take(100).collect();
    let t = Instant::now();
    let e = estimate(&hostile, &[]);
    println!(
        "\nestimate() on 100 chars of {L33T:?} repeated: {} (bounded: {})",
        ms(t.elapsed()),
        e.strength.bounded
    );
}

/// The predicted cost of every line of each file, against the budget: how
/// far ordinary passwords stay from the bounded path.
fn costs(files: &[String]) -> Result<(), String> {
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
        let mut rows: Vec<(u64, &str)> = text
            .lines()
            .map(|l| {
                (
                    predicted_cost(&l.chars().take(ZXCVBN_MAX_CHARS).collect::<Vec<_>>()),
                    l,
                )
            })
            .collect();
        rows.sort_unstable();
        let over = rows.iter().filter(|(c, _)| *c > COST_BUDGET).count();
        let pick = |q: f64| {
            rows.get(((rows.len() as f64 - 1.0) * q) as usize)
                .map_or(0, |r| r.0)
        };
        println!(
            "{file}: {} lines; predicted cost median {}, p99 {}, max {} ({:.1}% of COST_BUDGET {COST_BUDGET}); {over} over the budget",
            rows.len(),
            pick(0.5),
            pick(0.99),
            pick(1.0),
            pick(1.0) as f64 * 100.0 / COST_BUDGET as f64
        );
        for (c, l) in rows.iter().rev().take(5) {
            println!("  cost {c:>8}  {}", preview(l));
        }
    }
    Ok(())
}

/// zxcvbn 3.1.1 enumerates l33t substitutions in `HashMap` order, so its
/// answer for one password can change from call to call: count the lines of
/// each file whose guesses (or score) differ over 30 calls.
fn variance(files: &[String]) -> Result<(), String> {
    const CALLS: usize = 30;
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
        let (mut lines, mut guesses_vary, mut score_varies) = (0, 0, 0);
        for line in text.lines() {
            lines += 1;
            let results: Vec<(u8, u64)> = (0..CALLS)
                .map(|_| {
                    let e = zxcvbn::zxcvbn(line, &[]);
                    (e.score() as u8, e.guesses_log10().to_bits())
                })
                .collect();
            if results.iter().any(|r| r.1 != results[0].1) {
                guesses_vary += 1;
                println!("  guesses vary: {}", preview(line));
            }
            if results.iter().any(|r| r.0 != results[0].0) {
                score_varies += 1;
            }
        }
        println!(
            "{file}: {lines} lines, {CALLS} zxcvbn calls each: guesses vary for {guesses_vary}, score for {score_varies}"
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("worst_case: {e}");
            return ExitCode::from(2);
        }
    };
    if !o.variance.is_empty() {
        return match variance(&o.variance) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("worst_case: {e}");
                ExitCode::from(2)
            }
        };
    }
    if !o.costs.is_empty() {
        return match costs(&o.costs) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("worst_case: {e}");
                ExitCode::from(2)
            }
        };
    }
    if o.calibrate {
        calibrate(&o);
        return ExitCode::SUCCESS;
    }
    match search(&o) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("worst_case: {e}");
            ExitCode::from(2)
        }
    }
}
