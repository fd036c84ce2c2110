//! Composition and context rules: pure functions of the normalised
//! candidate and the policy.
//!
//! Each check returns the violations it finds, with plain-English messages
//! that never quote the candidate.

use crate::normalise::{self, CharClass};
use crate::policy::{CompositionPolicy, LengthPolicy};
use crate::verdict::{Rule, Violation};

/// Counts of each character class in a candidate.
///
/// Classes are counted per grapheme cluster (a character as typed), from
/// its first code point that has a class: `é` typed as `e` + U+0301 is one
/// lowercase letter, a family emoji is one symbol, and a combining mark,
/// a format character or an unassigned code point is never a class of its
/// own (so never the symbol a policy asks for). Keycaps (`1️⃣`) are symbols.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Unicode code points.
    pub chars: u32,
    /// Grapheme clusters: the characters a person types.
    pub graphemes: u32,
    pub letters: u32,
    pub lowercase: u32,
    pub uppercase: u32,
    /// Letters with no case (most scripts other than Latin, Greek, Cyrillic).
    pub caseless: u32,
    pub digits: u32,
    pub symbols: u32,
    /// Control characters, and hidden (default-ignorable) code points
    /// outside emoji sequences: never allowed.
    pub controls: u32,
}

impl Counts {
    pub(crate) fn of(s: &str) -> Counts {
        if s.is_ascii() {
            return Counts::of_ascii(s);
        }
        let mut c = Counts::default();
        for cluster in normalise::graphemes(s) {
            c.graphemes += 1;
            let mut class = CharClass::None;
            let mut hidden = false;
            for ch in cluster.chars() {
                c.chars += 1;
                let this = normalise::char_class(ch);
                if this == CharClass::Control {
                    c.controls += 1;
                } else if class == CharClass::None {
                    class = this;
                }
                hidden |= normalise::is_default_ignorable(ch);
            }
            if hidden && !normalise::is_emoji_sequence(cluster) {
                c.controls += 1;
            }
            if cluster.contains('\u{20E3}') {
                class = CharClass::Symbol;
            }
            match class {
                CharClass::Uppercase => c.uppercase += 1,
                CharClass::Lowercase => c.lowercase += 1,
                CharClass::Caseless => c.caseless += 1,
                CharClass::Digit => c.digits += 1,
                CharClass::Symbol => c.symbols += 1,
                CharClass::None | CharClass::Control => {}
            }
        }
        c.letters = c.uppercase + c.lowercase + c.caseless;
        c
    }

    /// [`Counts::of`] for ASCII text, the common case, without grapheme
    /// segmentation or Unicode tables: every character is its own grapheme
    /// but CR LF, and no ASCII character is a mark or hidden.
    fn of_ascii(s: &str) -> Counts {
        let mut c = Counts::default();
        let mut prev = 0u8;
        for b in s.bytes() {
            c.chars += 1;
            if !(prev == b'\r' && b == b'\n') {
                c.graphemes += 1;
            }
            prev = b;
            match b {
                b'A'..=b'Z' => c.uppercase += 1,
                b'a'..=b'z' => c.lowercase += 1,
                b'0'..=b'9' => c.digits += 1,
                0..=0x1F | 0x7F => c.controls += 1,
                _ => c.symbols += 1,
            }
        }
        c.letters = c.uppercase + c.lowercase;
        c
    }

    /// Of lowercase, uppercase, digit, symbol: how many are present.
    /// Caseless letters count as lowercase.
    pub(crate) fn classes(&self) -> u32 {
        [
            self.lowercase + self.caseless,
            self.uppercase,
            self.digits,
            self.symbols,
        ]
        .iter()
        .filter(|n| **n > 0)
        .count() as u32
    }
}

fn plural(n: u32, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The length rules. `count` is in the policy's unit (grapheme clusters or
/// code points, see [`LengthPolicy::count`]).
pub(crate) fn length(count: u32, policy: &LengthPolicy) -> Option<Violation> {
    if count < policy.min {
        let missing = policy.min - count;
        Some(Violation::new(
            Rule::MinLength,
            format!(
                "must be at least {} long ({} more)",
                plural(policy.min, "character", "characters"),
                missing
            ),
        ))
    } else if count > policy.max {
        Some(Violation::new(
            Rule::MaxLength,
            format!(
                "must be at most {} long",
                plural(policy.max, "character", "characters")
            ),
        ))
    } else {
        None
    }
}

/// Character-class, repeat, sequence and pattern rules.
pub(crate) fn composition(
    s: &str,
    counts: &Counts,
    policy: &CompositionPolicy,
    patterns: &[regex::Regex],
) -> Vec<Violation> {
    let mut out = Vec::new();
    if counts.controls > 0 {
        out.push(Violation::new(
            Rule::ControlCharacters,
            "must not contain control or invisible characters, such as tab, NUL or a zero-width space",
        ));
    }
    let mut need = |have: u32, min: u32, rule: Rule, one: &str, many: &str, hint: &str| {
        if have < min {
            out.push(Violation::new(
                rule,
                format!("needs at least {}{hint}", plural(min, one, many)),
            ));
        }
    };
    need(
        counts.letters,
        policy.min_letters,
        Rule::Letters,
        "letter",
        "letters",
        "",
    );
    need(
        counts.lowercase,
        policy.min_lowercase,
        Rule::Lowercase,
        "lowercase letter",
        "lowercase letters",
        "",
    );
    need(
        counts.uppercase,
        policy.min_uppercase,
        Rule::Uppercase,
        "uppercase letter",
        "uppercase letters",
        "",
    );
    need(
        counts.digits,
        policy.min_digits,
        Rule::Digits,
        "digit",
        "digits",
        "",
    );
    need(
        counts.symbols,
        policy.min_symbols,
        Rule::Symbols,
        "symbol",
        "symbols",
        ", such as @ or #",
    );
    if counts.classes() < policy.min_classes {
        out.push(Violation::new(
            Rule::MinClasses,
            format!(
                "needs at least {} of: lowercase letters, uppercase letters, digits, symbols (has {})",
                policy.min_classes,
                counts.classes()
            ),
        ));
    }
    if policy.max_repeat > 0 && longest_repeat(s) > policy.max_repeat {
        out.push(Violation::new(
            Rule::MaxRepeat,
            format!(
                "must not repeat a character more than {} times in a row",
                policy.max_repeat
            ),
        ));
    }
    if policy.max_sequence > 0 && longest_sequence(s) > policy.max_sequence {
        out.push(Violation::new(
            Rule::MaxSequence,
            format!(
                "must not contain more than {} sequential characters, as in abcd or 4321",
                policy.max_sequence
            ),
        ));
    }
    for (re, source) in patterns.iter().zip(&policy.patterns) {
        if !re.is_match(s) {
            out.push(Violation::new(
                Rule::Pattern,
                format!("must match the policy pattern `{source}`"),
            ));
        }
    }
    out
}

/// Longest run of one character.
pub(crate) fn longest_repeat(s: &str) -> u32 {
    let mut best = 0;
    let mut run = 0;
    let mut prev = None;
    for c in s.chars() {
        run = if Some(c) == prev { run + 1 } else { 1 };
        best = best.max(run);
        prev = Some(c);
    }
    best
}

/// Longest run of consecutive letters or digits, ascending or descending
/// (`abcd`, `DCBA`, `4321`), ignoring case.
pub(crate) fn longest_sequence(s: &str) -> u32 {
    fn key(c: char) -> Option<(bool, i32)> {
        if c.is_ascii_digit() {
            Some((true, c as i32))
        } else if c.is_ascii_alphabetic() {
            Some((false, c.to_ascii_lowercase() as i32))
        } else {
            None
        }
    }
    let mut best = 0;
    let mut run = 0u32;
    let mut dir = 0i32;
    let mut prev: Option<(bool, i32)> = None;
    for c in s.chars() {
        let k = key(c);
        match (prev, k) {
            (Some((pd, pv)), Some((d, v))) if pd == d && (v - pv).abs() == 1 => {
                let step = v - pv;
                if run >= 2 && step == dir {
                    run += 1;
                } else {
                    run = 2;
                    dir = step;
                }
            }
            (_, Some(_)) => run = 1,
            (_, None) => run = 0,
        }
        best = best.max(run);
        prev = k;
    }
    best
}

/// The context words the candidate contains, both in the matching form
/// (see [`normalise::matching_form`]).
pub(crate) fn contains_context_word(lower: &str, words: &[String]) -> bool {
    words
        .iter()
        .any(|w| w.chars().count() >= 3 && lower.contains(w.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_classify_every_char_once() {
        let c = Counts::of("aB3 @é\u{4e2d}\t٣");
        assert_eq!(c.chars, 9);
        assert_eq!((c.lowercase, c.uppercase, c.caseless), (2, 1, 1));
        assert_eq!(c.letters, 4);
        assert_eq!(c.digits, 2, "ASCII and Arabic-Indic digits");
        assert_eq!(c.symbols, 2, "space and @");
        assert_eq!(c.controls, 1);
        assert_eq!(c.classes(), 4);
    }

    #[test]
    fn the_ascii_path_agrees_with_the_unicode_path() {
        let general = |s: &str| {
            // The general path, forced by a non-ASCII suffix that is one
            // lowercase letter and one grapheme of its own.
            let mut c = Counts::of(&format!("{s}\u{E9}"));
            c.chars -= 1;
            c.graphemes -= 1;
            c.lowercase -= 1;
            c.letters -= 1;
            c
        };
        for a in 0u8..0x80 {
            for b in [b'\n', b'\r', b'a', b'Z', b'5', b'#', b' ', 0, 0x7F] {
                let s = String::from_utf8(vec![a, b]).unwrap();
                assert_eq!(Counts::of_ascii(&s), general(&s), "{s:?}");
            }
        }
        assert_eq!(Counts::of("a\r\nb").graphemes, 3);
    }

    #[test]
    fn repeats_and_sequences() {
        assert_eq!(longest_repeat(""), 0);
        assert_eq!(longest_repeat("abccc1"), 3);
        assert_eq!(longest_sequence("xabcd!"), 4);
        assert_eq!(longest_sequence("98765"), 5);
        assert_eq!(longest_sequence("AbC"), 3);
        assert_eq!(longest_sequence("abcba"), 3);
        assert_eq!(longest_sequence("a9b"), 1);
        assert_eq!(
            longest_sequence("9a"),
            1,
            "digit then letter is no sequence"
        );
        assert_eq!(longest_sequence("acegi"), 1);
    }
}
