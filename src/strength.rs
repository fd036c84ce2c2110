//! Strength estimation: zxcvbn, with a bound on its cost for any input.
//!
//! Plain zxcvbn enumerates every combination of l33t substitutions the
//! password's characters allow and runs its dictionary matcher over every
//! substring once per combination. On inputs dense in l33t characters
//! (`4@8({[<3691!|70$5+%2` repeated) that is over a second for 100
//! characters. This module predicts that cost before calling zxcvbn:
//!
//! * when the predicted cost is within [`COST_BUDGET`] (every ordinary
//!   password), it calls plain `zxcvbn::zxcvbn` and returns exactly its
//!   result;
//! * otherwise it scores the input in pieces whose predicted costs add up
//!   to at most the budget: a periodic input as its repeating unit (as
//!   zxcvbn's own repeat matcher would), anything else as consecutive
//!   segments whose guess counts multiply. The result is marked
//!   [`Strength::bounded`](crate::Strength).
//!
//! Like zxcvbn, only the first [`ZXCVBN_MAX_CHARS`] characters are scored.
//! This module must not apply policy: it only measures.

use crate::verdict::Strength;
use zxcvbn::Entropy;
use zxcvbn::feedback::Feedback;
use zxcvbn::matching::patterns::{DictionaryPattern, MatchPattern};

/// zxcvbn scores only this many leading characters.
pub const ZXCVBN_MAX_CHARS: usize = 100;

/// Largest predicted cost scored with one plain zxcvbn call, in units of
/// one substring lookup (see [`predicted_cost`]); the bounded path spends
/// about the same.
///
/// Calibrated with `examples/worst_case.rs` on the 2-core reference
/// machine (`BENCHMARKS.md`): one unit costs up to about 250 ns of CPU, and
/// the slowest of 5,213 adversarial inputs (l33t-dense draws of 8–1024
/// characters, inputs just under and just over the budget, periodic ones)
/// took 9.1 ms per evaluation (9.8 ms of CPU with the machine shared),
/// half the 20 ms bound. Ordinary passwords stay well under it: the highest
/// cost in `tests/data/ordinary-passwords.txt` (8–40 characters) is 21,660,
/// so they get plain zxcvbn's exact result. Below 40,000 a 100-character
/// run of one l33t symbol (`@@@…`, cost 4 × 100²) would be bounded; above
/// it the worst case grows in proportion.
///
/// Not part of the stable API: public only for the calibration tools
/// (`examples/worst_case.rs`, `crates/pwsentry-zxcvbn/record-upstream`).
#[doc(hidden)]
pub const COST_BUDGET: u64 = 40_000;

/// zxcvbn's l33t table (zxcvbn 3.1.1, `matching/mod.rs`), letter first.
const L33T_TABLE: [(char, &[char]); 12] = [
    ('a', &['4', '@']),
    ('b', &['8']),
    ('c', &['(', '{', '[', '<']),
    ('e', &['3']),
    ('g', &['6', '9']),
    ('i', &['1', '!', '|']),
    ('l', &['1', '|', '7']),
    ('o', &['0']),
    ('s', &['$', '5']),
    ('t', &['+', '7']),
    ('x', &['%']),
    ('z', &['2']),
];

/// The l33t characters that stand for more than one letter (`1` and `|`
/// for i or l, `7` for l or t): the only ones that fork zxcvbn's tables.
const SHARED_L33T: [char; 3] = ['1', '|', '7'];

/// Above this many tables, zxcvbn's enumeration is not counted further.
const MAX_COUNTED_TABLES: u64 = 1_000_000;

/// Number of l33t substitution tables zxcvbn will try for a password made
/// of `chars`: the same enumeration as zxcvbn's
/// `enumerate_l33t_replacements`, counted instead of built.
///
/// zxcvbn extends each table letter by letter; a l33t character that an
/// earlier letter already took forks the table in two. Whether a table
/// forks depends only on which of the [`SHARED_L33T`] characters it holds,
/// so it is enough to count the tables in each of those 8 states, with no
/// allocation. Past [`MAX_COUNTED_TABLES`] it returns `u64::MAX / 4`.
fn l33t_table_count(chars: &[char]) -> u64 {
    let mut tables_by_state = [0u64; 1 << SHARED_L33T.len()];
    // The empty table, before any letter.
    tables_by_state[0] = 1;
    let mut any_relevant = false;
    for (_, subs) in &L33T_TABLE {
        let mut next = [0u64; 1 << SHARED_L33T.len()];
        let mut next_total = 0u64;
        let mut relevant = false;
        for l33t in subs.iter().filter(|c| chars.contains(c)) {
            relevant = true;
            let bit = SHARED_L33T
                .iter()
                .position(|s| s == l33t)
                .map_or(0, |i| 1usize << i);
            for (state, &count) in tables_by_state.iter().enumerate() {
                if state & bit != 0 {
                    // Held by an earlier letter: the table, and its fork.
                    next[state] += 2 * count;
                    next_total += 2 * count;
                } else {
                    next[state | bit] += count;
                    next_total += count;
                }
            }
            if next_total > MAX_COUNTED_TABLES {
                return u64::MAX / 4;
            }
        }
        if relevant {
            any_relevant = true;
            tables_by_state = next;
        }
    }
    if any_relevant {
        tables_by_state.iter().sum()
    } else {
        0
    }
}

/// Predicted cost of one plain zxcvbn call on `chars`: every substring is
/// looked up once per dictionary pass (forward, reversed, and once per l33t
/// table), so n² × (passes).
///
/// Not part of the stable API: public only for the calibration tools
/// (`examples/worst_case.rs`, `crates/pwsentry-zxcvbn/record-upstream`).
#[doc(hidden)]
pub fn predicted_cost(chars: &[char]) -> u64 {
    let n = chars.len() as u64;
    n.saturating_mul(n)
        .saturating_mul(3u64.saturating_add(l33t_table_count(chars)))
}

/// A strength score (0 to 4) in words, as every pwsentry program shows it
/// beside the score.
///
/// ```
/// assert_eq!(pwsentry::strength::score_words(3), "safely unguessable");
/// ```
pub fn score_words(score: u8) -> &'static str {
    match score {
        0 => "too guessable",
        1 => "very guessable",
        2 => "somewhat guessable",
        3 => "safely unguessable",
        _ => "very unguessable",
    }
}

/// The result of [`estimate`]: the public [`Strength`] plus what the
/// checker needs from zxcvbn's match sequence.
#[derive(Debug, Clone)]
pub struct Estimate {
    /// Score, guesses, feedback.
    pub strength: Strength,
    /// `true` when zxcvbn found the whole password, unchanged, in its
    /// common-password list.
    pub is_common_password: bool,
}

/// Estimates the strength of `password` (already NFC-normalised) with the
/// context words `user_inputs`, at bounded cost.
///
/// ```
/// let e = pwsentry::strength::estimate("correcthorsebatterystaple", &[]);
/// assert_eq!(e.strength.score, 4);
/// assert!(!e.strength.bounded);
/// let hostile: String = "4@8({[<3691!|70$5+%2".repeat(5);
/// let e = pwsentry::strength::estimate(&hostile, &[]);
/// assert!(e.strength.bounded);
/// ```
pub fn estimate(password: &str, user_inputs: &[&str]) -> Estimate {
    let chars: Vec<char> = password.chars().take(ZXCVBN_MAX_CHARS).collect();
    if predicted_cost(&chars) <= COST_BUDGET {
        let entropy = zxcvbn::zxcvbn(password, user_inputs);
        let is_common_password = whole_common_password(&entropy, chars.len());
        return Estimate {
            strength: from_entropy(&entropy, false),
            is_common_password,
        };
    }
    let (log10, weakest) = bounded_log10(&chars, user_inputs, COST_BUDGET);
    let score = score_for_log10(log10);
    let (warning, suggestions) = if score <= 2 {
        feedback_parts(weakest.feedback())
    } else {
        (None, Vec::new())
    };
    Estimate {
        strength: Strength {
            score,
            guesses_log10: log10,
            warning,
            suggestions,
            bounded: true,
        },
        is_common_password: false,
    }
}

/// log10 of the guesses for `chars` within `budget`, and the weakest piece's
/// zxcvbn result (for feedback).
fn bounded_log10(chars: &[char], user_inputs: &[&str], budget: u64) -> (f64, Entropy) {
    if let Some(period) = smallest_period(chars) {
        // Like zxcvbn's repeat matcher: guesses(base) × number of repeats.
        let repeats = chars.len() as f64 / period as f64;
        let (base, weakest) = bounded_log10(&chars[..period], user_inputs, budget);
        return (base + repeats.log10(), weakest);
    }
    let n = chars.len().max(1) as u64;
    let per_char = (budget / n).max(1);
    let mut total = 0.0;
    let mut weakest: Option<Entropy> = None;
    let mut start = 0;
    while start < chars.len() {
        // Grow the segment while its predicted cost stays within its share.
        let mut end = start + 1;
        while end < chars.len() {
            let candidate = &chars[start..=end];
            if predicted_cost(candidate) > per_char * candidate.len() as u64 {
                break;
            }
            end += 1;
        }
        let segment: String = chars[start..end].iter().collect();
        let entropy = zxcvbn::zxcvbn(&segment, user_inputs);
        total += entropy.guesses_log10().max(0.0);
        if weakest
            .as_ref()
            .is_none_or(|w| entropy.guesses_log10() < w.guesses_log10())
        {
            weakest = Some(entropy);
        }
        start = end;
    }
    let weakest = weakest.unwrap_or_else(|| zxcvbn::zxcvbn("", &[]));
    (total, weakest)
}

/// The smallest p ≤ n/2 such that `chars` is its first p characters repeated
/// (the last repeat may be partial).
fn smallest_period(chars: &[char]) -> Option<usize> {
    let n = chars.len();
    // KMP failure function: the longest proper border gives the period.
    let mut fail = vec![0usize; n];
    let mut k = 0;
    for i in 1..n {
        while k > 0 && chars[i] != chars[k] {
            k = fail[k - 1];
        }
        if chars[i] == chars[k] {
            k += 1;
        }
        fail[i] = k;
    }
    let period = n - fail.last().copied().unwrap_or(0);
    (n > 0 && period * 2 <= n).then_some(period)
}

/// zxcvbn's score thresholds (`time_estimates::calculate_score`), on log10.
fn score_for_log10(log10: f64) -> u8 {
    const DELTA: f64 = 5.0;
    let guesses = 10f64.powf(log10.min(300.0));
    match guesses {
        g if g < 1e3 + DELTA => 0,
        g if g < 1e6 + DELTA => 1,
        g if g < 1e8 + DELTA => 2,
        g if g < 1e10 + DELTA => 3,
        _ => 4,
    }
}

fn feedback_parts(feedback: Option<&Feedback>) -> (Option<String>, Vec<String>) {
    match feedback {
        None => (None, Vec::new()),
        Some(f) => (
            f.warning().map(|w| w.to_string()),
            f.suggestions().iter().map(|s| s.to_string()).collect(),
        ),
    }
}

fn from_entropy(entropy: &Entropy, bounded: bool) -> Strength {
    let (warning, suggestions) = feedback_parts(entropy.feedback());
    let log10 = entropy.guesses_log10();
    Strength {
        score: entropy.score() as u8,
        guesses_log10: if log10.is_finite() { log10 } else { 0.0 },
        warning,
        suggestions,
        bounded,
    }
}

/// `true` when zxcvbn's best reading of the whole password (`len`
/// characters) is one entry of its common-password list, or one entry
/// repeated (`passwordpassword`).
fn whole_common_password(entropy: &Entropy, len: usize) -> bool {
    let passwords = DictionaryPattern::default().dictionary_name;
    let whole_entry = |m: &zxcvbn::matching::Match, len: usize| {
        m.i == 0
            && m.j + 1 == len
            && matches!(
                &m.pattern,
                MatchPattern::Dictionary(d) if d.dictionary_name == passwords && !d.reversed && !d.l33t
            )
    };
    match entropy.sequence() {
        [m] if m.i == 0 && m.j + 1 == len => match &m.pattern {
            MatchPattern::Repeat(r) => match r.base_matches.as_slice() {
                [base] => whole_entry(base, r.base_token.chars().count()),
                _ => false,
            },
            _ => whole_entry(m, len),
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The former implementation, which built every table as zxcvbn's
    /// `enumerate_l33t_replacements` does: the reference for the count.
    fn l33t_tables_built(chars: &[char]) -> u64 {
        let relevant: Vec<(char, Vec<char>)> = L33T_TABLE
            .iter()
            .map(|(letter, subs)| {
                let subs = subs.iter().copied().filter(|c| chars.contains(c));
                (*letter, subs.collect::<Vec<_>>())
            })
            .filter(|(_, subs)| !subs.is_empty())
            .collect();
        if relevant.is_empty() {
            return 0;
        }
        let mut tables: Vec<Vec<(char, char)>> = vec![Vec::new()];
        for (letter, subs) in &relevant {
            let mut next = Vec::with_capacity(tables.len() * subs.len());
            for &l33t in subs {
                for table in &tables {
                    match table.iter().position(|(c, _)| *c == l33t) {
                        Some(i) => {
                            let mut alt = table.clone();
                            alt.remove(i);
                            alt.push((l33t, *letter));
                            next.push(table.clone());
                            next.push(alt);
                        }
                        None => {
                            let mut ext = table.clone();
                            ext.push((l33t, *letter));
                            next.push(ext);
                        }
                    }
                }
                if next.len() as u64 > MAX_COUNTED_TABLES {
                    return u64::MAX / 4;
                }
            }
            tables = next;
        }
        tables.len() as u64
    }

    #[test]
    fn l33t_count_equals_the_tables_built() {
        let l33t: Vec<char> = L33T_TABLE
            .iter()
            .flat_map(|(_, subs)| subs.iter().copied())
            .collect();
        // Every subset of the l33t characters that stand for one letter in
        // two (the ones that fork tables), with a fixed pseudo-random draw of
        // the others, plus a letter that is no l33t character.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut checked = 0;
        for subset in 0u32..(1 << l33t.len()) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            if subset > 64 && !seed.is_multiple_of(389) {
                continue;
            }
            let mut chars: Vec<char> = (0..l33t.len())
                .filter(|i| subset & (1 << i) != 0)
                .map(|i| l33t[i])
                .collect();
            chars.push('q');
            assert_eq!(
                l33t_table_count(&chars),
                l33t_tables_built(&chars),
                "{chars:?}"
            );
            checked += 1;
        }
        assert!(checked > 2_000, "{checked}");
        let all: Vec<char> = l33t.clone();
        assert_eq!(l33t_table_count(&all), l33t_tables_built(&all));
    }

    #[test]
    fn l33t_count_matches_zxcvbn_examples() {
        // No l33t characters: zxcvbn tries no tables.
        assert_eq!(l33t_table_count(&['a', 'b']), 0);
        // One l33t character, one letter.
        assert_eq!(l33t_table_count(&['4', 'x']), 1);
        // '1' maps to i or l: zxcvbn tries both.
        assert_eq!(l33t_table_count(&['1']), 2);
        let dense: Vec<char> = "4@8({[<3691!|70$5+%2".chars().collect();
        assert!(l33t_table_count(&dense) > 500);
    }

    #[test]
    fn periods() {
        let c = |s: &str| s.chars().collect::<Vec<_>>();
        assert_eq!(smallest_period(&c("abcabcab")), Some(3));
        assert_eq!(smallest_period(&c("aaaa")), Some(1));
        assert_eq!(smallest_period(&c("abcd")), None);
        assert_eq!(smallest_period(&c("")), None);
    }

    #[test]
    fn ordinary_passwords_are_plain_zxcvbn() {
        for p in [
            "password",
            "Tr0ub4dor&3",
            "correct horse battery staple",
            "P@ssw0rd!2024",
            "qwertyuiop",
        ] {
            let plain = zxcvbn::zxcvbn(p, &[]);
            let e = estimate(p, &[]);
            assert!(!e.strength.bounded, "{p}");
            assert_eq!(e.strength.score, plain.score() as u8, "{p}");
            assert_eq!(e.strength.guesses_log10, plain.guesses_log10(), "{p}");
        }
    }

    #[test]
    fn hostile_inputs_are_bounded_and_still_strong() {
        let hostile: String = "4@8({[<3691!|70$5+%2".chars().cycle().take(100).collect();
        let e = estimate(&hostile, &[]);
        assert!(e.strength.bounded);
        assert_eq!(e.strength.score, 4);
    }

    #[test]
    fn bounded_repeats_stay_weak() {
        // A weak unit repeated must not look strong because it was split.
        let unit = "p@$$w0rd1!|7(";
        let hostile = unit.repeat(7);
        let chars: Vec<char> = hostile.chars().take(ZXCVBN_MAX_CHARS).collect();
        let (log10, _) = bounded_log10(&chars, &[], COST_BUDGET);
        let base = zxcvbn::zxcvbn(unit, &[]).guesses_log10();
        assert!(log10 < base + 1.0, "{log10} vs base {base}");
    }

    #[test]
    fn common_passwords_are_recognised_whole() {
        assert!(estimate("password", &[]).is_common_password);
        assert!(estimate("iloveyou", &[]).is_common_password);
        assert!(!estimate("password-velvet-orbit", &[]).is_common_password);
        assert!(!estimate("p4ssw0rd", &[]).is_common_password);
        assert!(estimate("passwordpassword", &[]).is_common_password);
        assert!(estimate("iloveyouiloveyouiloveyou", &[]).is_common_password);
        assert!(!estimate("passwordvelvet", &[]).is_common_password);
        assert!(!estimate("velvetorbitvelvetorbit", &[]).is_common_password);
    }
}
