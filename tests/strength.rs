//! The bounded strength estimate gives plain zxcvbn's answer on ordinary
//! passwords: our own 8–40 character list (`tests/data/ordinary-passwords.txt`,
//! made by `bench/make_fixtures.py`) and the upstream test suites' cases in
//! `tests/data/corpora/zxcvbn/upstream_expectations.tsv`. And the patched
//! zxcvbn in `crates/pwsentry-zxcvbn` gives crates.io zxcvbn 3.1.1's results
//! (`tests/data/zxcvbn-upstream-3.1.1.tsv`), the same on every call.

use pwsentry::strength::estimate;
use std::collections::HashMap;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Third-party test data under `tests/data/corpora` (licences in its README).
fn corpus(rel: &str) -> PathBuf {
    root().join("tests/data/corpora").join(rel)
}

/// Plain zxcvbn calls to draw before concluding that an outcome of
/// `estimate` is not one plain zxcvbn gives (see [`mismatch`]).
const ZXCVBN_DRAWS: usize = 200;

/// `(score, guesses_log10)`, with guesses compared bit for bit or not at all.
fn outcome(score: u8, log10: f64, compare_guesses: bool) -> (u8, Option<u64>) {
    let log10 = if log10.is_finite() { log10 } else { 0.0 };
    (score, compare_guesses.then(|| log10.to_bits()))
}

/// A line for the failure report when `estimate` does not give plain
/// zxcvbn's answer; `None` when it does.
///
/// zxcvbn 3.1.1 is not deterministic: it enumerates l33t substitutions in
/// `HashMap` order, so a password with an ambiguous l33t character (`1` for
/// i or l, ...) can get a different guess count from one call to the next
/// (`"PONY1966=Pokemon300*"`: 10^16.08 or 10^16.22). So the estimate must be
/// unbounded and its outcome one that plain zxcvbn also produces, within
/// [`ZXCVBN_DRAWS`] calls.
fn mismatch(password: &str, user_inputs: &[&str], compare_guesses: bool) -> Option<String> {
    let ours = estimate(password, user_inputs).strength;
    let wanted = outcome(ours.score, ours.guesses_log10, compare_guesses);
    let mut seen = Vec::new();
    for _ in 0..ZXCVBN_DRAWS {
        let plain = zxcvbn::zxcvbn(password, user_inputs);
        let got = outcome(plain.score() as u8, plain.guesses_log10(), compare_guesses);
        if got == wanted && !ours.bounded {
            return None;
        }
        if !seen.iter().any(|(o, _)| *o == got) {
            seen.push((got, plain.guesses_log10()));
        }
    }
    let plain: Vec<String> = seen
        .iter()
        .map(|((score, _), log10)| format!("score {score} guesses_log10 {log10}"))
        .collect();
    Some(format!(
        "{password:?} (inputs {user_inputs:?}): estimate score {} guesses_log10 {} bounded {}; zxcvbn gives {}",
        ours.score,
        ours.guesses_log10,
        ours.bounded,
        plain.join(" or ")
    ))
}

#[test]
fn ordinary_passwords_score_as_plain_zxcvbn() {
    let path = root().join("tests/data/ordinary-passwords.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (regenerate with `python3 bench/make_fixtures.py`)",
            path.display()
        )
    });
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.len() >= 1000,
        "{} has {} lines, expected at least 1000",
        path.display(),
        lines.len()
    );
    let mut failures = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let len = line.chars().count();
        assert!(
            (8..=40).contains(&len),
            "line {} is {len} characters long, outside 8..=40",
            i + 1
        );
        if let Some(m) = mismatch(line, &[], true) {
            failures.push(format!("line {}: {m}", i + 1));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} ordinary passwords differ from plain zxcvbn:\n{}",
        failures.len(),
        lines.len(),
        failures.join("\n")
    );
}

/// One row of `upstream_expectations.tsv`, by column name.
struct Row<'a> {
    line: usize,
    cells: HashMap<&'a str, &'a str>,
}

impl Row<'_> {
    fn get(&self, column: &str) -> &str {
        self.cells
            .get(column)
            .copied()
            .unwrap_or_else(|| panic!("line {}: no column {column:?}", self.line))
    }

    fn flag(&self, column: &str) -> bool {
        self.get(column) == "true"
    }

    fn json<T: serde::de::DeserializeOwned>(&self, column: &str) -> T {
        serde_json::from_str(self.get(column)).unwrap_or_else(|e| {
            panic!(
                "line {}: column {column} is not the expected JSON: {e}",
                self.line
            )
        })
    }
}

fn upstream_rows(text: &str) -> Vec<Row<'_>> {
    let mut lines = text.lines().enumerate();
    let (_, header) = lines.next().expect("upstream_expectations.tsv is empty");
    let columns: Vec<&str> = header.split('\t').collect();
    for needed in [
        "password_json",
        "user_inputs_json",
        "expected_score",
        "rust_zxcvbn_3_1_1_score",
        "year_dependent",
        "score_matches_rust",
    ] {
        assert!(
            columns.contains(&needed),
            "upstream_expectations.tsv has no column {needed:?}; columns: {columns:?}"
        );
    }
    lines
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let cells: Vec<&str> = l.split('\t').collect();
            assert_eq!(
                cells.len(),
                columns.len(),
                "line {}: {} cells, header has {}",
                i + 1,
                cells.len(),
                columns.len()
            );
            Row {
                line: i + 1,
                cells: columns.iter().copied().zip(cells).collect(),
            }
        })
        .collect()
}

#[test]
fn upstream_expectations_score_as_plain_zxcvbn() {
    let path = corpus("zxcvbn/upstream_expectations.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rows = upstream_rows(&text);
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut expected_scores = 0;
    for row in rows.iter().filter(|r| r.flag("score_matches_rust")) {
        let password: String = row.json("password_json");
        let inputs: Vec<String> = row.json("user_inputs_json");
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        // Date matches depend on the current year: only the score is stable.
        let year_dependent = row.flag("year_dependent");
        compared += 1;
        if let Some(m) = mismatch(&password, &inputs, !year_dependent) {
            failures.push(format!("line {}: {m}", row.line));
        }
        let expected = row.get("expected_score");
        if !expected.is_empty() {
            expected_scores += 1;
            let expected: u8 = expected
                .parse()
                .unwrap_or_else(|e| panic!("line {}: expected_score {expected:?}: {e}", row.line));
            let ours = estimate(&password, &inputs).strength.score;
            let plain = zxcvbn::zxcvbn(&password, &inputs).score() as u8;
            if ours != expected || plain != expected {
                failures.push(format!(
                    "line {}: {password:?}: upstream expects score {expected}, estimate gives {ours}, zxcvbn {plain}",
                    row.line
                ));
            }
        }
    }
    assert!(
        compared >= 60,
        "only {compared} rows have score_matches_rust = true; is the corpus truncated?"
    );
    assert!(
        expected_scores >= 60,
        "only {expected_scores} of those rows give an expected_score"
    );
    assert!(
        failures.is_empty(),
        "{} upstream rows differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn zxcvbn_is_the_version_the_cost_model_copies() {
    // `strength::l33t_table_count` copies zxcvbn 3.1.1's l33t table; the
    // recorded 3.1.1 scores catch an upgrade that changed its behaviour.
    let path = corpus("zxcvbn/upstream_expectations.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut failures = Vec::new();
    for row in upstream_rows(&text)
        .iter()
        .filter(|r| !r.flag("year_dependent"))
    {
        let recorded = row.get("rust_zxcvbn_3_1_1_score");
        if recorded.is_empty() {
            continue;
        }
        let password: String = row.json("password_json");
        let inputs: Vec<String> = row.json("user_inputs_json");
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let score = zxcvbn::zxcvbn(&password, &inputs).score() as u8;
        if recorded != score.to_string() {
            failures.push(format!(
                "line {}: {password:?}: zxcvbn 3.1.1 gave {recorded}, this build gives {score}",
                row.line
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "the zxcvbn crate no longer scores like 3.1.1:\n{}",
        failures.join("\n")
    );
}

#[test]
fn benchmark_fixtures_are_as_documented() {
    // benches/fixtures/README.md: unique lines of 8-20 characters, no
    // control characters; bench/peers.sh and the criterion bench rely on it.
    for (name, lines_expected) in [("passwords-2000.txt", 2000), ("passwords-10000.txt", 10000)] {
        let path = root().join("benches/fixtures").join(name);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), lines_expected, "{name}: line count");
        let unique: std::collections::HashSet<&str> = lines.iter().copied().collect();
        assert_eq!(unique.len(), lines.len(), "{name}: lines must be unique");
        for (i, line) in lines.iter().enumerate() {
            let len = line.chars().count();
            assert!(
                (8..=20).contains(&len),
                "{name} line {}: {len} characters",
                i + 1
            );
            assert!(
                !line.chars().any(char::is_control),
                "{name} line {}: control character",
                i + 1
            );
        }
    }
}

/// One row of `tests/data/zxcvbn-upstream-3.1.1.tsv`: what unpatched
/// zxcvbn 3.1.1 gave over `draws` calls (every distinct value seen).
struct Recorded {
    line: usize,
    source: String,
    kind: String,
    year_dependent: bool,
    password: String,
    scores: Vec<u8>,
    guesses: Vec<u64>,
    log10s: Vec<f64>,
    feedback: Vec<serde_json::Value>,
}

fn recorded_rows(text: &str) -> (i32, Vec<Recorded>) {
    let year = text
        .lines()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| l.split("reference year ").nth(1))
        .and_then(|y| y.trim_end_matches('.').parse().ok())
        .expect("the header names the reference year");
    let mut lines = text
        .lines()
        .enumerate()
        .skip_while(|(_, l)| l.starts_with('#'));
    let (_, header) = lines.next().expect("column header");
    assert_eq!(
        header,
        "source\tkind\tdraws\tyear_dependent\tpassword_json\tscores_json\tguesses_json\tguesses_log10_json\tfeedback_json"
    );
    let rows = lines
        .map(|(i, l)| {
            let c: Vec<&str> = l.split('\t').collect();
            assert_eq!(c.len(), 9, "line {}: {} cells", i + 1, c.len());
            fn cell<T: serde::de::DeserializeOwned>(line: usize, text: &str) -> T {
                serde_json::from_str(text).unwrap_or_else(|e| panic!("line {line}: {e}"))
            }
            Recorded {
                line: i + 1,
                source: c[0].to_string(),
                kind: c[1].to_string(),
                year_dependent: c[3] == "true",
                password: cell(i + 1, c[4]),
                scores: cell(i + 1, c[5]),
                guesses: cell(i + 1, c[6]),
                // Not through serde_json, whose float parsing is not exact
                // without its `float_roundtrip` feature; `str::parse` is.
                log10s: c[7]
                    .trim_matches(['[', ']'])
                    .split(',')
                    .map(|x| {
                        x.parse()
                            .unwrap_or_else(|e| panic!("line {}: {x:?}: {e}", i + 1))
                    })
                    .collect(),
                feedback: cell(i + 1, c[8]),
            }
        })
        .collect();
    (year, rows)
}

/// Feedback as the recording program wrote it.
fn feedback_json(e: &zxcvbn::Entropy) -> serde_json::Value {
    match e.feedback() {
        None => serde_json::Value::Null,
        Some(f) => serde_json::json!([
            f.warning().map(|w| w.to_string()),
            f.suggestions()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        ]),
    }
}

#[test]
fn patched_zxcvbn_gives_upstream_results_every_time() {
    // `crates/pwsentry-zxcvbn` forks crates.io zxcvbn 3.1.1 to be faster
    // and deterministic: every score, guess count and piece of
    // feedback must be one that the unpatched crate gave for that password
    // (recorded by `crates/pwsentry-zxcvbn/record-upstream`), and the same from one
    // call to the next.
    let path = root().join("tests/data/zxcvbn-upstream-3.1.1.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (year, rows) = recorded_rows(&text);
    // Date and recent-year matches are scored against the current year.
    let same_year = chrono::Datelike::year(&chrono::Utc::now()) == year;
    let count = |source: &str, kind: &str| {
        rows.iter()
            .filter(|r| r.source == source && r.kind == kind)
            .count()
    };
    assert!(count("ordinary", "zxcvbn") >= 1000, "ordinary rows");
    assert!(count("fixture-2000", "zxcvbn") >= 1990, "fixture rows");
    assert!(count("hostile", "zxcvbn") >= 50, "hostile plain rows");
    assert!(count("hostile", "estimate") >= 50, "hostile bounded rows");
    assert!(
        rows.iter().any(|r| r.guesses.len() > 1),
        "the recording should show upstream's nondeterminism"
    );

    let mut failures = Vec::new();
    let mut compared = 0;
    for r in &rows {
        if r.year_dependent && !same_year {
            continue;
        }
        compared += 1;
        let pw = &r.password;
        let (score, guesses, log10, feedback) = if r.kind == "zxcvbn" {
            let e = zxcvbn::zxcvbn(pw, &[]);
            let again = zxcvbn::zxcvbn(pw, &[]);
            if (again.guesses(), again.score(), feedback_json(&again))
                != (e.guesses(), e.score(), feedback_json(&e))
                || again.sequence() != e.sequence()
            {
                failures.push(format!("line {}: {pw:?}: differs between calls", r.line));
            }
            (
                e.score() as u8,
                Some(e.guesses()),
                e.guesses_log10(),
                feedback_json(&e),
            )
        } else {
            let s = estimate(pw, &[]).strength;
            assert!(s.bounded, "line {}: {pw:?} should be bounded", r.line);
            let feedback = serde_json::json!([s.warning, s.suggestions]);
            (s.score, None, s.guesses_log10, feedback)
        };
        let log10 = if log10.is_finite() { log10 } else { 0.0 };
        let ok = r.scores.contains(&score)
            && guesses.is_none_or(|g| r.guesses.contains(&g))
            && r.log10s.iter().any(|l| l.to_bits() == log10.to_bits())
            && r.feedback.contains(&feedback);
        if !ok {
            failures.push(format!(
                "line {}: {pw:?} ({}): score {score} guesses {guesses:?} log10 {log10} feedback {feedback}; \
                 upstream gave scores {:?} guesses {:?} log10 {:?} feedback {:?}",
                r.line, r.kind, r.scores, r.guesses, r.log10s, r.feedback
            ));
        }
    }
    assert!(compared >= 1500, "only {compared} rows compared");
    assert!(
        failures.is_empty(),
        "{} of {compared} passwords differ from upstream zxcvbn 3.1.1:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
