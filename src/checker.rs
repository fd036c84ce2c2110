//! The checker: applies a policy's rules and the strength estimate to a
//! candidate password and returns a [`Verdict`].
//!
//! No clock, no printing, and no I/O except the few positioned reads of an
//! already open filter file (breach filter, blocklist filters) per lookup.
//! History rules live in the history module and are added on top of this
//! verdict.

use crate::blocklist::fold;
use crate::history::{DEFAULT_ARGON2_MEMORY_CAP_KIB, MemoryBudget};
use crate::normalise;
use crate::policy::{HARD_MAX_LENGTH, LengthUnit, Policy};
use crate::rules::{self, Counts};
use crate::strength;
use crate::verdict::{Rule, Verdict, Violation};
use std::sync::Arc;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};
use zeroize::Zeroizing;

/// Who the password is for: the account id and other words the password
/// must not be built from (name, service name, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    account: Option<String>,
    user_inputs: Vec<String>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Context::default()
    }

    /// Sets the account id. For an email address, its local part, the
    /// pieces of the local part (split at `.`, `_`, `-`, `+`) and the domain
    /// labels other than the top-level one become context words.
    pub fn account(mut self, account: impl Into<String>) -> Self {
        self.account = Some(account.into());
        self
    }

    /// Adds a word the password must not contain (a name, the service, ...).
    pub fn user_input(mut self, word: impl Into<String>) -> Self {
        self.user_inputs.push(word.into());
        self
    }

    /// The account id, if set.
    pub fn account_id(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// Every context word in the matching form (NFKC, case-folded, hidden
    /// characters removed), without duplicates.
    pub fn words(&self) -> Vec<String> {
        let mut words: Vec<String> = Vec::new();
        let mut push = |w: &str| {
            let w = fold(w.trim());
            if !w.is_empty() && !words.contains(&w) {
                words.push(w);
            }
        };
        if let Some(account) = &self.account {
            push(account);
            let (local, domain) = match account.rsplit_once('@') {
                Some((l, d)) => (l, Some(d)),
                None => (account.as_str(), None),
            };
            push(local);
            for piece in local.split(['.', '_', '-', '+']) {
                push(piece);
            }
            if let Some(domain) = domain {
                let labels: Vec<&str> = domain.split('.').collect();
                for label in &labels[..labels.len().saturating_sub(1)] {
                    push(label);
                }
            }
        }
        for w in &self.user_inputs {
            push(w);
        }
        words
    }
}

/// Evaluates candidates against one policy. Cheap to share: `Send + Sync`,
/// immutable, no global state.
///
/// Clones share one cap on the argon2 memory their history checks hold at
/// once ([`Checker::with_argon2_memory_cap`]): a service that builds one
/// `Checker` and clones it (or puts it in an `Arc`) has a process-wide cap.
///
/// ```
/// use pwsentry::{Checker, Context, Policy, Preset, Rule};
/// let checker = Checker::new(Policy::from_preset(Preset::Nist80063b));
/// let v = checker.evaluate("short", &Context::new());
/// assert_eq!(v.violations()[0].rule, Rule::MinLength);
/// ```
#[derive(Debug, Clone)]
pub struct Checker {
    policy: Policy,
    budget: Arc<MemoryBudget>,
}

impl Checker {
    /// A checker for `policy`. Cheap: zxcvbn's dictionaries and keyboard
    /// graphs are static tables, built at compile time.
    pub fn new(policy: Policy) -> Self {
        Checker {
            policy,
            budget: Arc::new(MemoryBudget::new(DEFAULT_ARGON2_MEMORY_CAP_KIB)),
        }
    }

    /// This checker with its own cap on the argon2 memory that the history
    /// checks of it and its clones hold at once, in KiB (default
    /// [`DEFAULT_ARGON2_MEMORY_CAP_KIB`], 256 MiB). A check that would go
    /// over waits until other checks return memory; one evaluation that
    /// needs more than the whole cap (a policy whose `memory_kib` is above
    /// it) waits for the whole budget.
    ///
    /// The cap lives in the checker rather than in a global so that two
    /// policies in one process, and tests, do not interfere; share one
    /// checker (clone it) to share the cap.
    ///
    /// ```
    /// use pwsentry::{Checker, Policy};
    /// let checker = Checker::new(Policy::default()).with_argon2_memory_cap(64 * 1024);
    /// assert_eq!(checker.clone().argon2_memory_cap_kib(), 64 * 1024);
    /// ```
    pub fn with_argon2_memory_cap(mut self, kib: u64) -> Self {
        self.budget = Arc::new(MemoryBudget::new(kib));
        self
    }

    /// The cap on argon2 memory held at once, in KiB.
    pub fn argon2_memory_cap_kib(&self) -> u64 {
        self.budget.cap_kib()
    }

    pub(crate) fn budget(&self) -> &MemoryBudget {
        &self.budget
    }

    /// The policy this checker applies.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Applies every non-history rule to `password`.
    ///
    /// The password is NFC-normalised first, so composed and decomposed
    /// forms of the same text get the same verdict; length and character
    /// classes are counted on that form, in grapheme clusters (what a person
    /// types) unless the policy counts code points. zxcvbn scores its NFKC
    /// form; blocklists, the built-in common-password list and context words
    /// compare its NFKC + case-folded form, so fullwidth or invisible
    /// characters change nothing there. Inputs longer than the policy's
    /// maximum are rejected (`max_length`) without being scored.
    pub fn evaluate(&self, password: &str, context: &Context) -> Verdict {
        let length = self.policy.length();
        // Code points allowed: a grapheme may hold many, but the cost of the
        // rules must stay bounded, so HARD_MAX_LENGTH caps them whatever the
        // unit.
        let max_code_points = match length.count {
            LengthUnit::CodePoints => length.max.min(HARD_MAX_LENGTH),
            LengthUnit::Graphemes => HARD_MAX_LENGTH,
        } as usize;
        // NFC changes a code point count by a small factor at most; anything
        // this far over the limit is rejected before we spend time on it.
        if password.len() > 4 * 4 * max_code_points
            && let Some((cut, _)) = password.char_indices().nth(4 * max_code_points)
        {
            // Say which limit it is: too many characters, or a few
            // characters made of very many code points.
            let few = length.count == LengthUnit::Graphemes
                && normalise::grapheme_count(&password[..cut]) <= length.max as usize;
            return too_long(&self.policy, if few { HARD_MAX_LENGTH } else { length.max });
        }
        let owned: Option<Zeroizing<String>> = match is_nfc_quick(password.chars()) {
            IsNormalized::Yes => None,
            _ => Some(Zeroizing::new(password.nfc().collect())),
        };
        let normalised: &str = owned.as_ref().map_or(password, |s| s.as_str());
        let counts = Counts::of(normalised);
        let units = match length.count {
            LengthUnit::CodePoints => counts.chars,
            LengthUnit::Graphemes => counts.graphemes,
        };
        if units > length.max {
            return too_long(&self.policy, length.max);
        }
        if counts.chars as usize > max_code_points {
            return too_long(&self.policy, HARD_MAX_LENGTH);
        }
        let mut violations: Vec<Violation> = Vec::new();
        violations.extend(rules::length(units, length));
        violations.extend(rules::composition(
            normalised,
            &counts,
            self.policy.composition(),
            self.policy.compiled_patterns(),
        ));

        let words = context.words();
        let folded = normalise::matching_form(normalised);
        let strength_rules = self.policy.strength();
        if strength_rules.reject_context_words && rules::contains_context_word(&folded, &words) {
            violations.push(Violation::new(
                Rule::ContextWord,
                "must not contain the account name or other personal words",
            ));
        }
        let inputs: Vec<&str> = words.iter().map(String::as_str).collect();
        let estimate = strength::estimate(&normalise::scoring_form(normalised), &inputs);
        let blocklist = self.policy.blocklist();
        // A filter that cannot be read fails closed: the password is not
        // accepted unchecked.
        match blocklist.contains_folded(&folded) {
            Ok(listed) if listed || (blocklist.uses_builtin() && estimate.is_common_password) => {
                violations.push(Violation::new(
                    Rule::Blocklist,
                    "is on a list of banned or commonly used passwords",
                ));
            }
            Ok(_) => {}
            Err(_) => violations.push(Violation::new(
                Rule::Blocklist,
                "could not be checked against a blocklist filter (the file is unreadable or damaged); tell an administrator",
            )),
        }
        if let Some(filter) = self.policy.breach_filter() {
            let found = crate::breach::breach_forms(password)
                .iter()
                .try_fold(false, |hit, form| {
                    Ok::<_, crate::breach::FilterError>(hit || filter.contains(form)?)
                });
            match found {
                Ok(false) => {}
                Ok(true) => violations.push(Violation::new(
                    Rule::Breached,
                    "has appeared in a data breach; choose another",
                )),
                Err(_) => violations.push(Violation::new(
                    Rule::Breached,
                    "could not be checked against the breached-password filter (the file is unreadable or damaged); tell an administrator",
                )),
            }
        }
        let mut strength = estimate.strength;
        if strength.score < strength_rules.min_score {
            violations.push(Violation::new(
                Rule::MinScore,
                format!(
                    "is too easy to guess (strength {} of 4, needs {})",
                    strength.score, strength_rules.min_score
                ),
            ));
        }
        // zxcvbn's advice that symbols are unnecessary contradicts a policy
        // that demands them.
        let comp = self.policy.composition();
        if comp.min_symbols > 0
            || comp.min_digits > 0
            || comp.min_uppercase > 0
            || comp.min_classes > 1
        {
            strength
                .suggestions
                .retain(|s| !s.starts_with("No need for symbols"));
        }
        Verdict::new(violations, Some(strength))
    }
}

/// The `max_length` verdict: over the policy's maximum, or (`max` =
/// [`HARD_MAX_LENGTH`]) over the code-point cap that bounds the cost of
/// characters made of many code points.
fn too_long(policy: &Policy, max: u32) -> Verdict {
    let message = if max == policy.length().max {
        format!("must be at most {max} characters long")
    } else {
        format!(
            "must be at most {max} Unicode code points long (some of these characters are made of many)"
        )
    };
    Verdict::new(vec![Violation::new(Rule::MaxLength, message)], None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checker_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Checker>();
    }

    #[test]
    fn account_words() {
        let c = Context::new()
            .account("Jane.Doe+mail@Mail.Example.com")
            .user_input("Acme");
        let w = c.words();
        for expected in [
            "jane.doe+mail@mail.example.com",
            "jane.doe+mail",
            "jane",
            "doe",
            "mail",
            "example",
            "acme",
        ] {
            assert!(
                w.contains(&expected.to_owned()),
                "{expected} missing from {w:?}"
            );
        }
        assert!(!w.contains(&"com".to_owned()), "the TLD is no context word");
    }
}
