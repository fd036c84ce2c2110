//! Results of an evaluation: the verdict, its violations and stable rule codes.
//!
//! Plain data only: nothing here prints, and no message ever quotes the
//! password.

use serde::Serialize;
use std::fmt;

/// A rule that a candidate password can break. The snake_case code
/// ([`Rule::code`]) is stable: scripts and the JSON output depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rule {
    /// Fewer code points than `length.min`.
    MinLength,
    /// More code points than `length.max` (the password was not scored).
    MaxLength,
    /// Fewer letters than `composition.min_letters`.
    Letters,
    /// Fewer lowercase letters than `composition.min_lowercase`.
    Lowercase,
    /// Fewer uppercase letters than `composition.min_uppercase`.
    Uppercase,
    /// Fewer digits than `composition.min_digits`.
    Digits,
    /// Fewer symbols than `composition.min_symbols`.
    Symbols,
    /// Fewer character classes than `composition.min_classes`.
    MinClasses,
    /// A run of one character longer than `composition.max_repeat`.
    MaxRepeat,
    /// A run like `abcd` or `4321` longer than `composition.max_sequence`.
    MaxSequence,
    /// Does not match one of `composition.patterns`.
    Pattern,
    /// Contains the account name or another context word.
    ContextWord,
    /// Found in a blocklist.
    Blocklist,
    /// Found in the breached-password filter (`[breach] filter`).
    Breached,
    /// zxcvbn score below `strength.min_score`.
    MinScore,
    /// Contains a control character (NUL, tab, escape, ...) or an invisible
    /// (default-ignorable) one outside an emoji sequence.
    ControlCharacters,
    /// The current password given with a change is wrong or cannot be verified.
    CurrentPassword,
    /// Based on the current password given with a change (plain-text
    /// comparison: case, NFKC, lookalikes, small edits).
    SimilarToCurrent,
    /// Equal to one of the last `history.remember` passwords.
    Reuse,
    /// Equal to a password set within `history.remember_days` days.
    RecentlyUsed,
    /// A trivial variation of a remembered password.
    SimilarToPrevious,
    /// The current password was set less than `rotation.min_age_days` ago.
    MinAge,
}

impl Rule {
    /// Every rule, in the order violations are reported.
    pub const ALL: [Rule; 22] = [
        Rule::ControlCharacters,
        Rule::MinLength,
        Rule::MaxLength,
        Rule::Letters,
        Rule::Lowercase,
        Rule::Uppercase,
        Rule::Digits,
        Rule::Symbols,
        Rule::MinClasses,
        Rule::MaxRepeat,
        Rule::MaxSequence,
        Rule::Pattern,
        Rule::ContextWord,
        Rule::Blocklist,
        Rule::Breached,
        Rule::MinScore,
        Rule::CurrentPassword,
        Rule::SimilarToCurrent,
        Rule::Reuse,
        Rule::RecentlyUsed,
        Rule::SimilarToPrevious,
        Rule::MinAge,
    ];

    /// The stable snake_case code, e.g. `"min_length"`.
    pub fn code(self) -> &'static str {
        match self {
            Rule::MinLength => "min_length",
            Rule::MaxLength => "max_length",
            Rule::Letters => "letters",
            Rule::Lowercase => "lowercase",
            Rule::Uppercase => "uppercase",
            Rule::Digits => "digits",
            Rule::Symbols => "symbols",
            Rule::MinClasses => "min_classes",
            Rule::MaxRepeat => "max_repeat",
            Rule::MaxSequence => "max_sequence",
            Rule::Pattern => "pattern",
            Rule::ContextWord => "context_word",
            Rule::Blocklist => "blocklist",
            Rule::Breached => "breached",
            Rule::MinScore => "min_score",
            Rule::ControlCharacters => "control_characters",
            Rule::CurrentPassword => "current_password",
            Rule::SimilarToCurrent => "similar_to_current",
            Rule::Reuse => "reuse",
            Rule::RecentlyUsed => "recently_used",
            Rule::SimilarToPrevious => "similar_to_previous",
            Rule::MinAge => "min_age",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One broken rule, with a plain-English explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    /// Which rule.
    pub rule: Rule,
    /// What to do about it, e.g. "needs at least 1 symbol, such as @ or #".
    pub message: String,
}

impl Violation {
    /// A violation of `rule` explained by `message`.
    pub fn new(rule: Rule, message: impl Into<String>) -> Self {
        Violation {
            rule,
            message: message.into(),
        }
    }
}

/// zxcvbn's estimate of a password's strength.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Strength {
    /// 0 (too guessable) ..= 4 (very unguessable).
    pub score: u8,
    /// log10 of the estimated number of guesses.
    pub guesses_log10: f64,
    /// zxcvbn's warning, when it has one.
    pub warning: Option<String>,
    /// zxcvbn's suggestions.
    pub suggestions: Vec<String>,
    /// `true` when the input was too costly for plain zxcvbn and was scored
    /// by the bounded method (see the README's design notes).
    pub bounded: bool,
}

/// The outcome of evaluating one candidate password.
///
/// A rejected password is a result, not an error: `violations` lists every
/// rule it breaks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    violations: Vec<Violation>,
    strength: Option<Strength>,
}

impl Verdict {
    /// Builds a verdict; violations are sorted into [`Rule::ALL`] order.
    pub(crate) fn new(mut violations: Vec<Violation>, strength: Option<Strength>) -> Self {
        violations.sort_by_key(|v| Rule::ALL.iter().position(|r| *r == v.rule));
        Verdict {
            violations,
            strength,
        }
    }

    /// `true` when no rule is broken.
    pub fn accepted(&self) -> bool {
        self.violations.is_empty()
    }

    /// Every broken rule, in a stable order.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// `true` if `rule` is among the violations.
    pub fn violates(&self, rule: Rule) -> bool {
        self.violations.iter().any(|v| v.rule == rule)
    }

    /// The strength estimate; `None` when the password was not scored
    /// (longer than the policy allows, or with control characters).
    pub fn strength(&self) -> Option<&Strength> {
        self.strength.as_ref()
    }

    /// The zxcvbn score, if scored.
    pub fn score(&self) -> Option<u8> {
        self.strength.as_ref().map(|s| s.score)
    }

    /// Adds violations found later (for example by the history rules, or a
    /// service's own checks), keeping the stable order.
    ///
    /// # Example
    /// ```
    /// use pwsentry::{Checker, Context, Policy, Rule, Violation};
    /// let checker = Checker::new(Policy::default());
    /// let mut verdict = checker.evaluate("Velvet#Orbit#Canyon42", &Context::new());
    /// verdict.extend([Violation::new(Rule::Reuse, "was used before")]);
    /// assert!(!verdict.accepted());
    /// assert!(verdict.violates(Rule::Reuse));
    /// ```
    pub fn extend(&mut self, more: impl IntoIterator<Item = Violation>) {
        let mut all = std::mem::take(&mut self.violations);
        all.extend(more);
        *self = Verdict::new(all, self.strength.take());
    }
}
