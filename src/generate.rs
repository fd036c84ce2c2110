//! Random passwords and diceware passphrases that satisfy a policy.
//!
//! Candidates are drawn from a cryptographically secure generator (`rand`'s
//! thread-local ChaCha12, seeded from the operating system, or any
//! [`CryptoRng`] the caller passes) and built so that the policy's
//! character-class rules hold by construction. Each candidate is then
//! checked with the caller's [`Checker`]; one that is not accepted with the
//! top zxcvbn score (4) is thrown away and another drawn (at most 100
//! times), so a result always passes the checker.
//!
//! zxcvbn's score is an estimate for passwords people choose; it cannot
//! see that a string was drawn at random from a small space (a one-word
//! passphrase scores 4). So a style whose real entropy, computed from the
//! way it is drawn, is below [`MIN_ENTROPY_BITS`] is refused
//! ([`GenerateError::TooLittleEntropy`]), whatever zxcvbn says.
//!
//! Passphrases use the EFF large wordlist (7,776 words, CC BY 3.0 US, see
//! `src/data/eff_large_wordlist.LICENSE.md`), embedded in the library.
//!
//! This module must not print, read the clock or the environment, or hold a
//! generated secret anywhere but in a [`Password`] or a zeroized buffer. It
//! applies the policy's non-history rules only: a fresh random password
//! cannot realistically be in an account's history.
//!
//! ```
//! use pwsentry::generate::{Generator, Style};
//! use pwsentry::{Checker, Context, Policy};
//!
//! let checker = Checker::new(Policy::default());
//! let generator = Generator::new(&checker).context(Context::new().account("alice@example.com"));
//!
//! let password = generator.generate(Style::password_for(checker.policy()))?;
//! assert_eq!(password.password().char_count(), 16);
//! assert!(password.entropy_bits() > 90.0);
//!
//! let phrase = generator.generate(Style::passphrase())?;
//! assert!(phrase.entropy_bits() > 77.0);
//! assert!(checker.evaluate(phrase.password().expose(), &Context::new()).accepted());
//! # Ok::<(), pwsentry::generate::GenerateError>(())
//! ```

use crate::checker::{Checker, Context};
use crate::policy::{CompositionPolicy, HARD_MAX_LENGTH, Policy};
use crate::secret::Password;
use crate::verdict::{Strength, Verdict};
use rand::seq::SliceRandom;
use rand::{CryptoRng, Rng, RngExt};
use zeroize::Zeroizing;

/// The EFF large wordlist, verbatim: `<dice code>\t<word>` per line.
const EFF_LARGE_WORDLIST: &str = include_str!("data/eff_large_wordlist.txt");

/// Number of words in the EFF large wordlist (6⁵, five dice).
const WORDLIST_LEN: usize = 7776;
/// Length of a generated password when the policy asks for no more.
pub const DEFAULT_LENGTH: usize = 16;
/// Words in a generated passphrase by default (about 77.5 bits).
pub const DEFAULT_WORDS: usize = 6;
/// Most words a passphrase may have.
pub const MAX_WORDS: usize = 64;
/// The least entropy, in bits, a generated password or passphrase may have
/// (the draw's own entropy, not zxcvbn's estimate): about 10¹⁸ equally
/// likely outcomes, out of reach of offline guessing against a slow hash.
/// Five words of a passphrase, or eleven random characters, reach it.
pub const MIN_ENTROPY_BITS: f64 = 60.0;
/// The zxcvbn score every generated password reaches, whatever the policy's
/// own minimum.
const REQUIRED_SCORE: u8 = 4;
/// Candidates drawn before giving up on a style the policy cannot accept.
const MAX_ATTEMPTS: u32 = 100;

/// Lowercase letters used in random passwords (no `l`, which looks like `1`).
const LOWERCASE: &str = "abcdefghijkmnopqrstuvwxyz";
/// Uppercase letters used in random passwords (no `I` or `O`).
const UPPERCASE: &str = "ABCDEFGHJKLMNPQRSTUVWXYZ";
/// Digits used in random passwords and passphrases (no `0` or `1`).
const DIGITS: &str = "23456789";
/// Symbols used in random passwords and passphrases: none that needs
/// quoting in a shell or a config file (no quotes, backslash, space or `|`).
const SYMBOLS: &str = "!#$%&*+-./:;=?@^_~";
/// Between the words of a passphrase; counts as a symbol.
const SEPARATOR: char = '-';
/// Characters a random password draws its unconstrained positions from.
const ALPHABET_LEN: usize = LOWERCASE.len() + UPPERCASE.len() + DIGITS.len() + SYMBOLS.len();

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Style {
    /// `length` random characters from lowercase and uppercase letters,
    /// digits and symbols (leaving out look-alikes such as `l`, `1`, `O`,
    /// `0`, and characters that need quoting in a shell), at least one of
    /// each and more where the policy asks for more.
    Password {
        /// Characters.
        length: usize,
    },
    /// `words` words from the EFF large wordlist joined by `-`,
    /// with a capital letter, digits or symbols added only where the
    /// policy's composition rules require them.
    Passphrase {
        /// Words.
        words: usize,
    },
}

impl Style {
    /// A random password of [`DEFAULT_LENGTH`] characters, or longer when
    /// `policy` needs more, but no longer than it allows.
    ///
    /// ```
    /// use pwsentry::generate::Style;
    /// use pwsentry::{Policy, Preset};
    /// assert_eq!(Style::password_for(&Policy::default()), Style::Password { length: 16 });
    /// let long = Policy::from_toml_str("[length]\nmin = 24\n")?;
    /// assert_eq!(Style::password_for(&long), Style::Password { length: 24 });
    /// # Ok::<(), pwsentry::Error>(())
    /// ```
    pub fn password_for(policy: &Policy) -> Style {
        let needs = Needs::for_password(policy.composition()).total();
        let length = DEFAULT_LENGTH.max(policy.length().min as usize).max(needs);
        Style::Password {
            length: length.min(policy.length().max as usize),
        }
    }

    /// A passphrase of [`DEFAULT_WORDS`] words.
    pub fn passphrase() -> Style {
        Style::Passphrase {
            words: DEFAULT_WORDS,
        }
    }
}

/// A generated password, its entropy and its strength estimate.
#[derive(Debug, Clone)]
pub struct Generated {
    password: Password,
    entropy_bits: f64,
    strength: Strength,
}

impl Generated {
    /// The password.
    pub fn password(&self) -> &Password {
        &self.password
    }

    /// Takes the password out.
    pub fn into_password(self) -> Password {
        self.password
    }

    /// Entropy of the way it was drawn, in bits: a lower bound on
    /// log₂ of the number of equally likely outcomes (for a passphrase,
    /// `words × log₂ 7776` plus the digits and symbols added). Dropping the
    /// rare candidates that fail the policy lowers it by log₂ of the
    /// acceptance rate, a small fraction of a bit for sensible policies.
    pub fn entropy_bits(&self) -> f64 {
        self.entropy_bits
    }

    /// zxcvbn's estimate (its score is always 4).
    pub fn strength(&self) -> &Strength {
        &self.strength
    }
}

/// Why no password could be generated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateError {
    /// The requested length is outside what the policy allows, or too short
    /// for the characters it requires.
    #[error(
        "cannot generate a password of {length} characters: the policy allows {min} to {max} and its character rules need at least {required}"
    )]
    Length {
        /// The requested length.
        length: usize,
        /// The policy's minimum length.
        min: u32,
        /// The policy's maximum length.
        max: u32,
        /// Characters the composition rules need.
        required: usize,
    },
    /// The word count is zero or above [`MAX_WORDS`].
    #[error("a passphrase needs 1 to {max} words, not {words}", max = MAX_WORDS)]
    Words {
        /// The requested word count.
        words: usize,
    },
    /// The style draws from too small a space: its entropy is below
    /// [`MIN_ENTROPY_BITS`], however strong zxcvbn thinks the results are.
    #[error(
        "refused: {what} has only {bits:.1} bits of entropy, below the {floor:.0}-bit floor for generated passwords; {hint}",
        floor = MIN_ENTROPY_BITS
    )]
    TooLittleEntropy {
        /// The style asked for, e.g. "a 1-word passphrase".
        what: String,
        /// Its entropy in bits.
        bits: f64,
        /// What to ask for instead, e.g. "ask for 5 words or more".
        hint: String,
    },
    /// No candidate of this style was accepted with the top strength score.
    #[error(
        "none of {attempts} generated candidates was accepted with strength 4 (last rejected for: {rules}); {hint}"
    )]
    NotAccepted {
        /// How many candidates were tried.
        attempts: u32,
        /// Rule codes the last candidate broke, comma-separated.
        rules: String,
        /// What to change, e.g. "ask for more words".
        hint: &'static str,
    },
}

/// Draws passwords for one checker and context.
///
/// Parses the embedded word list once; reuse one generator for many
/// passwords. `Send + Sync` like the checker it borrows.
#[derive(Debug, Clone)]
pub struct Generator<'c> {
    checker: &'c Checker,
    context: Context,
    words: Vec<&'static str>,
}

impl<'c> Generator<'c> {
    /// A generator whose results `checker` accepts with an empty context.
    pub fn new(checker: &'c Checker) -> Self {
        Generator {
            checker,
            context: Context::new(),
            words: eff_large_wordlist(),
        }
    }

    /// Also keep the words of `context` (account name, ...) out of results.
    pub fn context(mut self, context: Context) -> Self {
        self.context = context;
        self
    }

    /// Generates one password with the thread-local CSPRNG ([`rand::rng`]).
    ///
    /// # Errors
    /// [`GenerateError`] when `style` asks for a length or word count the
    /// policy cannot accept, or when 100 candidates in a row all failed
    /// the checker (a restrictive pattern, too few words for strength 4);
    /// [`GenerateError::TooLittleEntropy`] when the style's entropy is
    /// below [`MIN_ENTROPY_BITS`].
    ///
    /// # Example
    /// ```
    /// use pwsentry::generate::{Generator, Style};
    /// use pwsentry::{Checker, Context, Policy, Preset};
    /// let checker = Checker::new(Policy::from_preset(Preset::Nist80063b));
    /// let g = Generator::new(&checker).generate(Style::Passphrase { words: 5 })?;
    /// assert_eq!(g.password().expose().split('-').count(), 5);
    /// assert_eq!(g.strength().score, 4);
    /// # Ok::<(), pwsentry::generate::GenerateError>(())
    /// ```
    pub fn generate(&self, style: Style) -> Result<Generated, GenerateError> {
        self.generate_with_rng(style, &mut rand::rng())
    }

    /// Like [`Generator::generate`], drawing from `rng`.
    ///
    /// # Errors
    /// As [`Generator::generate`].
    pub fn generate_with_rng<R: CryptoRng + ?Sized>(
        &self,
        style: Style,
        rng: &mut R,
    ) -> Result<Generated, GenerateError> {
        let policy = self.checker.policy();
        let hint = match style {
            Style::Password { length } => {
                let required = Needs::for_password(policy.composition()).total();
                let (min, max) = (policy.length().min, policy.length().max);
                if length < min as usize
                    || length > max as usize
                    || length < required
                    || length > HARD_MAX_LENGTH as usize
                {
                    return Err(GenerateError::Length {
                        length,
                        min,
                        max,
                        required,
                    });
                }
                "ask for a longer password"
            }
            Style::Passphrase { words } => {
                if words == 0 || words > MAX_WORDS {
                    return Err(GenerateError::Words { words });
                }
                "ask for more words, or check the policy's length and patterns"
            }
        };
        let mut rules = String::new();
        for _ in 0..MAX_ATTEMPTS {
            let (mut candidate, entropy_bits) = match style {
                Style::Password { length } => {
                    random_password(rng, length, Needs::for_password(policy.composition()))
                }
                Style::Passphrase { words } => {
                    passphrase(rng, &self.words, words, policy.composition())
                }
            };
            if entropy_bits < MIN_ENTROPY_BITS {
                return Err(too_little_entropy(style, entropy_bits, policy.length().max));
            }
            let verdict = self.checker.evaluate(&candidate, &self.context);
            match accepted_strength(verdict) {
                Ok(strength) => {
                    let password = Password::new(std::mem::take(&mut *candidate));
                    return Ok(Generated {
                        password,
                        entropy_bits,
                        strength,
                    });
                }
                Err(codes) => rules = codes,
            }
        }
        Err(GenerateError::NotAccepted {
            attempts: MAX_ATTEMPTS,
            rules,
            hint,
        })
    }
}

/// The refusal of a style that draws from too small a space, saying how
/// much more would do.
fn too_little_entropy(style: Style, bits: f64, max_length: u32) -> GenerateError {
    let (what, hint) = match style {
        Style::Password { length } => {
            // Every extra character is drawn from the whole alphabet.
            let per_char = (ALPHABET_LEN as f64).log2();
            let more = ((MIN_ENTROPY_BITS - bits) / per_char).ceil().max(1.0) as usize;
            let enough = length + more;
            let hint = if enough > max_length as usize {
                format!(
                    "the policy's length.max ({max_length}) is too short for {enough} characters; raise it"
                )
            } else {
                format!("ask for {enough} characters or more")
            };
            (format!("a {length}-character password"), hint)
        }
        Style::Passphrase { words } => {
            let per_word = (WORDLIST_LEN as f64).log2();
            let more = ((MIN_ENTROPY_BITS - bits) / per_word).ceil().max(1.0) as usize;
            (
                format!("a {words}-word passphrase"),
                format!("ask for {} words or more", words + more),
            )
        }
    };
    GenerateError::TooLittleEntropy { what, bits, hint }
}

/// The strength of an accepted verdict with the top score, else the codes
/// of what went wrong.
fn accepted_strength(verdict: Verdict) -> Result<Strength, String> {
    let mut codes: Vec<&str> = verdict.violations().iter().map(|v| v.rule.code()).collect();
    match verdict.strength() {
        Some(s) if codes.is_empty() && s.score >= REQUIRED_SCORE => Ok(s.clone()),
        Some(s) => {
            if s.score < REQUIRED_SCORE && !codes.contains(&"min_score") {
                codes.push("strength below 4");
            }
            Err(codes.join(", "))
        }
        None => Err(codes.join(", ")),
    }
}

/// The words of the embedded EFF large wordlist, in dice order.
fn eff_large_wordlist() -> Vec<&'static str> {
    EFF_LARGE_WORDLIST
        .lines()
        .filter_map(|line| line.split_once('\t').map(|(_, word)| word))
        .collect()
}

/// How many characters of each class a random password must contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Needs {
    lower: usize,
    upper: usize,
    digits: usize,
    symbols: usize,
    /// Letters of either case beyond `lower + upper`.
    letters: usize,
}

impl Needs {
    /// At least one of every class (so the result also suits systems with
    /// their own class rules), more where the policy asks.
    fn for_password(c: &CompositionPolicy) -> Needs {
        let lower = (c.min_lowercase as usize).max(1);
        let upper = (c.min_uppercase as usize).max(1);
        Needs {
            lower,
            upper,
            digits: (c.min_digits as usize).max(1),
            symbols: (c.min_symbols as usize).max(1),
            letters: (c.min_letters as usize).saturating_sub(lower + upper),
        }
    }

    fn total(&self) -> usize {
        self.lower + self.upper + self.digits + self.symbols + self.letters
    }
}

/// A uniform index below `n` (0 when `n` is 0, so callers never hit an
/// empty range).
fn pick<R: Rng + ?Sized>(rng: &mut R, n: usize) -> usize {
    if n == 0 { 0 } else { rng.random_range(0..n) }
}

/// Appends `n` characters drawn from `set` and returns the bits they add.
fn draw<R: Rng + ?Sized>(rng: &mut R, out: &mut Vec<char>, set: &str, n: usize) -> f64 {
    let set = set.as_bytes();
    for _ in 0..n {
        out.push(char::from(set[pick(rng, set.len())]));
    }
    n as f64 * (set.len() as f64).log2()
}

/// Required characters of each class, the rest from the whole alphabet,
/// shuffled. Entropy: the draws' bits; the shuffle only adds to it (given
/// the permutation, the string determines the draws).
fn random_password<R: Rng + ?Sized>(
    rng: &mut R,
    length: usize,
    needs: Needs,
) -> (Zeroizing<String>, f64) {
    let mut chars: Zeroizing<Vec<char>> = Zeroizing::new(Vec::with_capacity(length));
    let letters = [LOWERCASE, UPPERCASE].concat();
    let all = [LOWERCASE, UPPERCASE, DIGITS, SYMBOLS].concat();
    let mut bits = draw(rng, &mut chars, LOWERCASE, needs.lower);
    bits += draw(rng, &mut chars, UPPERCASE, needs.upper);
    bits += draw(rng, &mut chars, DIGITS, needs.digits);
    bits += draw(rng, &mut chars, SYMBOLS, needs.symbols);
    bits += draw(rng, &mut chars, &letters, needs.letters);
    bits += draw(rng, &mut chars, &all, length.saturating_sub(needs.total()));
    chars.shuffle(rng);
    (Zeroizing::new(chars.iter().collect()), bits)
}

/// `count` words joined by [`SEPARATOR`]; capital letters, digits and
/// symbols are added only where `c` requires them.
fn passphrase<R: Rng + ?Sized>(
    rng: &mut R,
    list: &[&'static str],
    count: usize,
    c: &CompositionPolicy,
) -> (Zeroizing<String>, f64) {
    let mut words: Vec<Zeroizing<String>> = (0..count)
        .map(|_| Zeroizing::new(list[pick(rng, list.len())].to_owned()))
        .collect();
    let mut bits = count as f64 * (list.len() as f64).log2();

    let separators = count.saturating_sub(1);
    let mut upper = c.min_uppercase as usize;
    let mut digits = c.min_digits as usize;
    let mut symbols = (c.min_symbols as usize).saturating_sub(separators);
    let has_symbol = separators > 0 || symbols > 0;
    let mut classes =
        1 + usize::from(has_symbol) + usize::from(upper > 0) + usize::from(digits > 0);
    while classes < c.min_classes as usize {
        if digits == 0 {
            digits = 1;
        } else if upper == 0 {
            upper = 1;
        } else {
            symbols = 1;
        }
        classes += 1;
    }

    // Capitalise the first letter of `upper` distinct words; which words is
    // extra entropy that the estimate leaves out.
    let chosen = rand::seq::index::sample(rng, count, upper.min(count));
    for i in chosen.iter() {
        if let Some(word) = words.get_mut(i) {
            let capital: String = word
                .chars()
                .take(1)
                .flat_map(char::to_uppercase)
                .chain(word.chars().skip(1))
                .collect();
            **word = capital;
        }
    }
    let mut tail: Zeroizing<Vec<char>> = Zeroizing::new(Vec::new());
    if digits > 0 {
        bits += draw(rng, &mut tail, DIGITS, digits);
        let at = pick(rng, count);
        if let Some(word) = words.get_mut(at) {
            word.extend(tail.drain(..));
        }
    }
    if symbols > 0 {
        bits += draw(rng, &mut tail, SYMBOLS, symbols);
        let at = pick(rng, count);
        if let Some(word) = words.get_mut(at) {
            word.extend(tail.drain(..));
        }
    }
    let mut out = Zeroizing::new(String::new());
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            out.push(SEPARATOR);
        }
        out.push_str(word);
    }
    (out, bits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Preset;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use std::collections::HashSet;

    #[test]
    fn wordlist_is_the_eff_large_list() {
        let words = eff_large_wordlist();
        assert_eq!(words.len(), WORDLIST_LEN);
        assert_eq!((words[0], words[WORDLIST_LEN - 1]), ("abacus", "zoom"));
        let unique: HashSet<&str> = words.iter().copied().collect();
        assert_eq!(unique.len(), WORDLIST_LEN, "no duplicate words");
        assert!(
            words
                .iter()
                .all(|w| w.len() >= 3 && w.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        );
        // The dice codes run 11111..=66666 in order: the file is complete and unchanged in shape.
        let mut expected = [1u8; 5];
        for line in EFF_LARGE_WORDLIST.lines() {
            let code: Vec<u8> = line
                .split('\t')
                .next()
                .unwrap()
                .bytes()
                .map(|b| b - b'0')
                .collect();
            assert_eq!(code, expected, "at {line}");
            for d in expected.iter_mut().rev() {
                if *d < 6 {
                    *d += 1;
                    break;
                }
                *d = 1;
            }
        }
    }

    #[test]
    fn random_password_has_every_class_and_the_right_bits() {
        let mut rng = StdRng::seed_from_u64(7);
        let needs = Needs {
            lower: 1,
            upper: 2,
            digits: 3,
            symbols: 4,
            letters: 0,
        };
        for _ in 0..200 {
            let (p, bits) = random_password(&mut rng, 16, needs);
            assert_eq!(p.chars().count(), 16);
            let count = |set: &str| p.chars().filter(|c| set.contains(*c)).count();
            assert!(
                count(LOWERCASE) >= 1
                    && count(UPPERCASE) >= 2
                    && count(DIGITS) >= 3
                    && count(SYMBOLS) >= 4,
                "{}",
                *p
            );
            assert_eq!(
                count(LOWERCASE) + count(UPPERCASE) + count(DIGITS) + count(SYMBOLS),
                16
            );
            let expected = 25f64.log2()
                + 2.0 * 24f64.log2()
                + 3.0 * 3.0
                + 4.0 * 18f64.log2()
                + 6.0 * 75f64.log2();
            assert!((bits - expected).abs() < 1e-9, "{bits} vs {expected}");
        }
    }

    #[test]
    fn passphrase_adds_only_what_the_policy_needs() {
        let mut rng = StdRng::seed_from_u64(11);
        let list = eff_large_wordlist();
        let nist = Policy::from_preset(Preset::Nist80063b);
        // A list without hyphenated words, so the words can be split back out.
        let plain: Vec<&'static str> = list
            .iter()
            .copied()
            .filter(|w| !w.contains(SEPARATOR))
            .collect();
        let (p, _) = passphrase(&mut rng, &plain, 6, nist.composition());
        let words: Vec<&str> = p.split(SEPARATOR).collect();
        assert_eq!(words.len(), 6, "{}", *p);
        assert!(
            words.iter().all(|w| plain.contains(w)),
            "only list words: {}",
            *p
        );
        let (p, bits) = passphrase(&mut rng, &list, 6, nist.composition());
        assert!(
            !p.chars()
                .any(|c| c.is_ascii_digit() || c.is_ascii_uppercase()),
            "{}",
            *p
        );
        assert!((bits - 6.0 * 7776f64.log2()).abs() < 1e-9);

        let strict = Policy::from_toml_str(
            "[composition]\nmin_uppercase = 2\nmin_digits = 2\nmin_symbols = 8\n",
        )
        .unwrap();
        let (p, bits) = passphrase(&mut rng, &list, 4, strict.composition());
        assert!(
            p.chars().filter(char::is_ascii_uppercase).count() >= 2,
            "{}",
            *p
        );
        assert!(
            p.chars().filter(char::is_ascii_digit).count() >= 2,
            "{}",
            *p
        );
        assert!(
            p.chars().filter(|c| !c.is_alphanumeric()).count() >= 8,
            "{}",
            *p
        );
        let expected = 4.0 * 7776f64.log2() + 2.0 * 3.0 + 5.0 * 18f64.log2();
        assert!((bits - expected).abs() < 1e-9, "{bits} vs {expected}");

        let classes = Policy::from_toml_str(
            "[composition]\nmin_digits = 0\nmin_symbols = 0\nmin_classes = 4\n",
        )
        .unwrap();
        let (p, _) = passphrase(&mut rng, &list, 1, classes.composition());
        let has = |f: fn(&char) -> bool| p.chars().any(|c| f(&c));
        assert!(
            has(char::is_ascii_uppercase)
                && has(char::is_ascii_digit)
                && has(|c| !c.is_alphanumeric()),
            "{}",
            *p
        );
    }

    #[test]
    fn results_pass_the_checker_with_score_4() {
        let checker = Checker::new(Policy::default());
        let context = Context::new().account("alice@example.com");
        let g = Generator::new(&checker).context(context.clone());
        let mut rng = StdRng::seed_from_u64(3);
        for style in [
            Style::password_for(checker.policy()),
            Style::passphrase(),
            Style::Passphrase { words: 5 },
        ] {
            for _ in 0..20 {
                let out = g.generate_with_rng(style, &mut rng).unwrap();
                let v = checker.evaluate(out.password().expose(), &context);
                assert!(v.accepted(), "{:?}", v.violations());
                assert_eq!(v.score(), Some(4));
            }
        }
    }

    #[test]
    fn impossible_requests_are_errors_not_panics() {
        let checker = Checker::new(Policy::default());
        let g = Generator::new(&checker);
        assert!(matches!(
            g.generate(Style::Password { length: 4 }),
            Err(GenerateError::Length { required: 4, .. })
        ));
        assert!(matches!(
            g.generate(Style::Password { length: 129 }),
            Err(GenerateError::Length { .. })
        ));
        assert!(matches!(
            g.generate(Style::Passphrase { words: 0 }),
            Err(GenerateError::Words { words: 0 })
        ));
        // Eight random characters are too few whatever zxcvbn says.
        let err = g.generate(Style::Password { length: 8 }).unwrap_err();
        assert!(
            matches!(err, GenerateError::TooLittleEntropy { .. }),
            "{err}"
        );
        let pattern = Checker::new(
            Policy::from_toml_str("[composition]\npatterns = [\"[0-9]+\"]\n").unwrap(),
        );
        let err = Generator::new(&pattern)
            .generate(Style::passphrase())
            .unwrap_err();
        assert!(err.to_string().contains("pattern"), "{err}");
    }

    #[test]
    fn styles_below_the_entropy_floor_are_refused_whatever_zxcvbn_says() {
        let checker = Checker::new(Policy::default());
        let g = Generator::new(&checker);
        for words in 1..=4 {
            let err = g.generate(Style::Passphrase { words }).unwrap_err();
            let GenerateError::TooLittleEntropy { bits, ref hint, .. } = err else {
                panic!("{words} words: {err}");
            };
            assert!(bits < MIN_ENTROPY_BITS, "{bits}");
            assert_eq!(hint, "ask for 5 words or more", "{err}");
        }
        let one = g
            .generate(Style::Passphrase { words: 1 })
            .unwrap_err()
            .to_string();
        assert!(
            one.starts_with("refused: a 1-word passphrase has only "),
            "{one}"
        );
        assert!(one.contains("below the 60-bit floor"), "{one}");
        let five = g.generate(Style::Passphrase { words: 5 }).unwrap();
        assert!(five.entropy_bits() >= MIN_ENTROPY_BITS);
        let err = g.generate(Style::Password { length: 9 }).unwrap_err();
        assert!(
            matches!(err, GenerateError::TooLittleEntropy { .. }),
            "{err}"
        );
        let err = g.generate(Style::Password { length: 10 }).unwrap_err();
        assert!(
            err.to_string().contains("ask for 11 characters or more"),
            "{err}"
        );
        let eleven = g.generate(Style::Password { length: 11 }).unwrap();
        assert!(
            eleven.entropy_bits() >= MIN_ENTROPY_BITS,
            "{}",
            eleven.entropy_bits()
        );
        // A policy that allows only short passwords cannot have them generated.
        let short = Checker::new(
            Policy::from_toml_str("[length]\nmin = 6\nmax = 8\n[strength]\nmin_score = 0\n")
                .unwrap(),
        );
        let err = Generator::new(&short)
            .generate(Style::password_for(short.policy()))
            .unwrap_err();
        assert!(
            matches!(err, GenerateError::TooLittleEntropy { .. }),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("length.max (8) is too short for 11 characters"),
            "no impossible advice: {err}"
        );
    }

    #[test]
    fn default_length_follows_the_policy() {
        let short_max = Policy::from_toml_str("[length]\nmin = 8\nmax = 12\n").unwrap();
        assert_eq!(
            Style::password_for(&short_max),
            Style::Password { length: 12 }
        );
        let many =
            Policy::from_toml_str("[length]\nmax = 40\n[composition]\nmin_symbols = 20\n").unwrap();
        assert_eq!(Style::password_for(&many), Style::Password { length: 23 });
    }

    #[test]
    fn generated_debug_is_redacted() {
        let checker = Checker::new(Policy::default());
        let out = Generator::new(&checker)
            .generate(Style::passphrase())
            .unwrap();
        let debug = format!("{out:?}");
        assert!(
            debug.contains("[redacted]") && !debug.contains(out.password().expose()),
            "{debug}"
        );
    }
}
