//! The policy: the TOML model, built-in presets and validation.
//!
//! A [`Policy`] is validated once, when it is built, and is immutable after
//! that: no combination it can hold is contradictory (`min > max`, a warning
//! window longer than the maximum age, an unsatisfiable composition). This
//! module reads the policy file and its blocklists and pepper file, and
//! nothing else; it never looks at the environment or the clock.

pub use crate::account::AccountsPolicy;
use crate::blocklist::Blocklist;
use crate::breach::{Filter, FilterKind};
use crate::error::{Error, PolicyError, Result};
pub use crate::remind::NotifyPolicy;
use crate::trusted_file::{self, FileRole};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml::Spanned;
use zeroize::Zeroizing;

/// The shipped default policy (`policy.toml` at the crate root).
pub(crate) const DEFAULT_POLICY_TOML: &str = include_str!("../policy.toml");

/// The longest password any policy may allow, in code points. Keeps the
/// cost of the linear rules bounded whatever the policy says.
pub const HARD_MAX_LENGTH: u32 = 1024;

/// Largest accepted `[hashing] memory_kib` (1 GiB).
pub const MAX_MEMORY_KIB: u32 = 1024 * 1024;
/// Largest accepted `[hashing] iterations`.
pub const MAX_ITERATIONS: u32 = 64;
/// Largest accepted `[hashing] parallelism`.
pub const MAX_PARALLELISM: u32 = 16;

/// OWASP's equivalent minimum argon2id settings (memory in KiB, passes):
/// parameters are strong enough when they reach one row in both columns.
pub(crate) const OWASP_ARGON2ID_MINIMUMS: [(u32, u32); 5] = [
    (47_104, 1),
    (19_456, 2),
    (12_288, 3),
    (9_216, 4),
    (7_168, 5),
];

/// Largest policy text accepted, in bytes. Real policies are a few KiB
/// (blocklists live in their own files); the cap keeps a hostile or
/// mistaken `--policy` (a 10 MB file, `/dev/zero`) from costing seconds and
/// hundreds of MiB in the TOML parser, or never finishing.
pub const MAX_POLICY_BYTES: usize = 1024 * 1024;

/// Largest pepper file accepted, in bytes: a bound so that a mistaken
/// `pepper_file` (`/dev/zero`, a big file) fails fast.
const MAX_PEPPER_BYTES: usize = 4096;

/// Name of the built-in blocklist: the most common passwords in zxcvbn's
/// own frequency list, matched as a whole password.
pub(crate) const BUILTIN_BLOCKLIST: &str = "builtin:common-passwords";

/// A named, complete policy that a file can start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// The mail-security guide's rules (the default).
    #[default]
    Seed,
    /// NIST SP 800-63B: long, no composition rules, no rotation, blocklist.
    #[serde(rename = "nist-800-63b")]
    Nist80063b,
    /// PCI DSS 4.0: 12 characters, letters and digits, 90-day rotation, history 4.
    #[serde(rename = "pci-dss-4")]
    PciDss4,
}

impl Preset {
    /// Every preset.
    pub const ALL: [Preset; 3] = [Preset::Seed, Preset::Nist80063b, Preset::PciDss4];

    /// The name used in `preset = "..."`.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Seed => "seed",
            Preset::Nist80063b => "nist-800-63b",
            Preset::PciDss4 => "pci-dss-4",
        }
    }

    fn from_name(name: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.name() == name)
    }

    fn settings(self) -> Settings {
        let seed = Settings {
            preset: self,
            length: LengthPolicy {
                min: 8,
                max: 128,
                count: LengthUnit::Graphemes,
            },
            composition: CompositionPolicy {
                min_letters: 1,
                min_lowercase: 0,
                min_uppercase: 0,
                min_digits: 1,
                min_symbols: 1,
                min_classes: 0,
                max_repeat: 0,
                max_sequence: 0,
                patterns: Vec::new(),
            },
            strength: StrengthPolicy {
                min_score: 3,
                reject_context_words: true,
                blocklists: Vec::new(),
            },
            history: HistoryPolicy {
                remember: 5,
                remember_days: 0,
                reject_similar: true,
            },
            rotation: RotationPolicy {
                max_age_days: 90,
                warn_days: 14,
                min_age_days: 0,
                remind_days: Vec::new(),
            },
            hashing: HashingPolicy {
                memory_kib: 19_456,
                iterations: 2,
                parallelism: 1,
                pepper_file: None,
                allow_weak_parameters: false,
            },
            accounts: AccountsPolicy::default(),
            store: StorePolicy::default(),
            breach: BreachPolicy { filter: None },
            mail: MailPolicy::default(),
            serve: ServePolicy::default(),
            notify: None,
        };
        match self {
            Preset::Seed => seed,
            Preset::Nist80063b => Settings {
                // SP 800-63B § 3.1.1.2: "each Unicode code point SHALL be
                // counted as a single character".
                length: LengthPolicy {
                    min: 15,
                    max: 128,
                    count: LengthUnit::CodePoints,
                },
                composition: CompositionPolicy {
                    min_letters: 0,
                    min_digits: 0,
                    min_symbols: 0,
                    ..seed.composition
                },
                strength: StrengthPolicy {
                    min_score: 3,
                    reject_context_words: true,
                    blocklists: vec![PathBuf::from(BUILTIN_BLOCKLIST)],
                },
                history: HistoryPolicy {
                    remember: 1,
                    remember_days: 0,
                    reject_similar: false,
                },
                rotation: RotationPolicy {
                    max_age_days: 0,
                    warn_days: 0,
                    min_age_days: 0,
                    remind_days: Vec::new(),
                },
                ..seed
            },
            Preset::PciDss4 => Settings {
                length: LengthPolicy {
                    min: 12,
                    ..seed.length
                },
                composition: CompositionPolicy {
                    min_symbols: 0,
                    ..seed.composition
                },
                strength: StrengthPolicy {
                    min_score: 0,
                    reject_context_words: true,
                    blocklists: Vec::new(),
                },
                history: HistoryPolicy {
                    remember: 4,
                    ..seed.history
                },
                // Rotation (90 days, 14-day warning) is the seed's.
                ..seed
            },
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `[length]`: bounds, counted after NFC in [`LengthPolicy::count`] units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LengthPolicy {
    /// Fewest characters.
    pub min: u32,
    /// Most characters; longer inputs are rejected without being scored.
    /// Whatever the unit, no password may exceed [`HARD_MAX_LENGTH`] code
    /// points.
    pub max: u32,
    /// What a character is: a grapheme cluster (the default) or a code point.
    pub count: LengthUnit,
}

impl LengthPolicy {
    /// The length of `password` as this policy counts it: grapheme clusters
    /// or code points of its NFC form. For progress meters ("3 more").
    ///
    /// ```
    /// use pwsentry::{Policy, Preset};
    /// let family = "a1\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}";
    /// assert_eq!(Policy::default().length().measure(family), 3);
    /// assert_eq!(Policy::from_preset(Preset::Nist80063b).length().measure(family), 7);
    /// ```
    pub fn measure(&self, password: &str) -> usize {
        use unicode_normalization::UnicodeNormalization;
        let nfc = Zeroizing::new(password.nfc().collect::<String>());
        match self.count {
            LengthUnit::Graphemes => crate::normalise::grapheme_count(&nfc),
            LengthUnit::CodePoints => nfc.chars().count(),
        }
    }
}

/// `[length] count`: the unit of the length rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LengthUnit {
    /// Extended grapheme clusters (Unicode UAX #29): what a person types
    /// and sees as one character. `क़` (two code points), `é` written with a
    /// combining accent and a family emoji (seven code points) each count
    /// as one.
    Graphemes,
    /// Unicode code points of the NFC text, as NIST SP 800-63B counts.
    CodePoints,
}

/// `[composition]`: character mix. `0` switches a rule off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CompositionPolicy {
    /// Fewest letters (any script).
    pub min_letters: u32,
    /// Fewest lowercase letters.
    pub min_lowercase: u32,
    /// Fewest uppercase letters.
    pub min_uppercase: u32,
    /// Fewest decimal digits.
    pub min_digits: u32,
    /// Fewest symbols: characters that are neither letters nor digits (space
    /// and emoji count; marks and format characters never do).
    pub min_symbols: u32,
    /// Fewest of the four classes lowercase, uppercase, digit, symbol.
    pub min_classes: u32,
    /// Longest allowed run of one character (`0` = no limit).
    pub max_repeat: u32,
    /// Longest allowed run like `abcd` or `4321` (`0` = no limit).
    pub max_sequence: u32,
    /// Regular expressions that must each match the whole password.
    pub patterns: Vec<String>,
}

/// `[strength]`: zxcvbn score, context words and blocklists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StrengthPolicy {
    /// Lowest accepted zxcvbn score, 0..=4.
    pub min_score: u8,
    /// Reject passwords containing the account id's parts or `--user-input` words (≥ 3 chars).
    pub reject_context_words: bool,
    /// Blocklist files (resolved against the policy file's folder), or
    /// `"builtin:common-passwords"` (zxcvbn's list of common passwords).
    pub blocklists: Vec<PathBuf>,
}

/// `[history]`: which earlier passwords may not come back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct HistoryPolicy {
    /// How many of the latest passwords (the current one included) are remembered.
    pub remember: u32,
    /// Also forbid any password set within this many days (`0` = off).
    pub remember_days: u32,
    /// Reject trivial variations of remembered passwords.
    pub reject_similar: bool,
}

/// `[rotation]`: password ages, in days. `0` switches a rule off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RotationPolicy {
    /// A password older than this is stale.
    pub max_age_days: u32,
    /// A password within this many days of `max_age_days` is expiring.
    pub warn_days: u32,
    /// A password may not be changed again until it is this old.
    pub min_age_days: u32,
    /// `pwsentry notify` mails a reminder when a password is within this
    /// many days of `max_age_days`, once per threshold (most distant
    /// first, e.g. `[14, 7, 1]`), and once when it is stale.
    pub remind_days: Vec<u32>,
}

/// `[hashing]`: argon2id parameters for the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct HashingPolicy {
    /// Memory cost in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub iterations: u32,
    /// Degree of parallelism (lanes).
    pub parallelism: u32,
    /// File holding the pepper (argon2 secret), if any.
    #[serde(serialize_with = "serialize_optional_path")]
    pub pepper_file: Option<PathBuf>,
    /// Allow parameters below OWASP's minimum (tests only).
    pub allow_weak_parameters: bool,
}

fn serialize_optional_path<S: serde::Serializer>(
    p: &Option<PathBuf>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(
        &p.as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    )
}

/// `[store]`: where the password history lives, so that every program
/// reading this policy (cron, PAM, services) shares one history. Unset,
/// the program picks its default (`--db`, `$PWSENTRY_DB`, a system or
/// per-user path).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StorePolicy {
    /// An SQLite file, resolved against the policy file's folder.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_optional_path"
    )]
    pub path: Option<PathBuf>,
    /// A store URL (`postgres://…`) for stores that are not a local file.
    /// Never holds a password: the policy file is readable by everyone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// URL schemes `[store] url` accepts.
pub const STORE_URL_SCHEMES: &[&str] = &["postgres", "postgresql"];

/// `[breach]`: the breached-password filter (see [`crate::breach`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BreachPolicy {
    /// A filter built by `pwsentry breach build` (resolved against the
    /// policy file's folder); candidates found in it break the `breached`
    /// rule. The `nist-800-63b` preset expects one.
    #[serde(serialize_with = "serialize_optional_path")]
    pub filter: Option<PathBuf>,
}

/// `[mail]`: the mail server's credentials, which `set`, `record` and
/// `serve` write a changed password into.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MailPolicy {
    /// Dovecot's passwd-file (resolved against the policy file's folder):
    /// an accepted new password is written into its account's line as an
    /// `{ARGON2ID}` hash before it is recorded (see
    /// [`crate::passwd_file`]). Unset, nothing but the history is written.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_optional_path"
    )]
    pub passwd_file: Option<PathBuf>,
}

/// `[serve]`: how the self-service page of `pwsentry serve` presents
/// itself. Only checked for form here; the server reads the logo when it
/// starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ServePolicy {
    /// The page's title and heading (plain text, at most
    /// [`MAX_SERVE_TITLE_CHARS`] characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A PNG or SVG file shown above the form (resolved against the policy
    /// file's folder).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_optional_path"
    )]
    pub logo: Option<PathBuf>,
    /// Where the page's "Help" link points (an `https://` or `http://` URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help_url: Option<String>,
}

/// Longest `[serve] title`, in characters.
pub const MAX_SERVE_TITLE_CHARS: usize = 100;
/// Longest `[serve] help_url`, in bytes.
pub const MAX_SERVE_HELP_URL_BYTES: usize = 2048;

/// The plain values of a policy, as `policy show` prints them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Settings {
    preset: Preset,
    length: LengthPolicy,
    composition: CompositionPolicy,
    strength: StrengthPolicy,
    history: HistoryPolicy,
    rotation: RotationPolicy,
    hashing: HashingPolicy,
    accounts: AccountsPolicy,
    store: StorePolicy,
    breach: BreachPolicy,
    mail: MailPolicy,
    serve: ServePolicy,
    #[serde(skip_serializing_if = "Option::is_none")]
    notify: Option<NotifyPolicy>,
}

/// A validated, immutable password policy.
///
/// ```
/// use pwsentry::{Policy, Preset};
/// let policy = Policy::from_toml_str("preset = \"nist-800-63b\"\n[length]\nmin = 8\n")?;
/// assert_eq!(policy.preset(), Preset::Nist80063b);
/// assert_eq!(policy.length().min, 8);
/// assert_eq!(policy.length().max, 128);
/// # Ok::<(), pwsentry::Error>(())
/// ```
#[derive(Clone)]
pub struct Policy {
    settings: Settings,
    source: Option<PathBuf>,
    patterns: Vec<Regex>,
    blocklist: Arc<Blocklist>,
    pepper: Option<Arc<Zeroizing<Vec<u8>>>>,
    breach: Option<Arc<Filter>>,
}

impl PartialEq for Policy {
    fn eq(&self, other: &Self) -> bool {
        self.settings == other.settings
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("settings", &self.settings)
            .field("blocklist_entries", &self.blocklist.len())
            .field("pepper", &self.pepper.as_ref().map(|_| "[redacted]"))
            .field("breach_filter", &self.breach.as_ref().map(|f| f.path()))
            .finish()
    }
}

impl Default for Policy {
    /// The shipped `policy.toml`.
    fn default() -> Self {
        match Policy::parse(DEFAULT_POLICY_TOML, "<built-in>", Path::new(".")) {
            Ok(p) => p,
            // The built-in text is tested; fall back to its preset if it is ever broken.
            Err(_) => Policy::from_preset(Preset::Seed),
        }
    }
}

impl Policy {
    /// A preset with no overrides.
    pub fn from_preset(preset: Preset) -> Policy {
        Policy::from_settings(preset.settings(), "<preset>", "", &Spans::default())
            .unwrap_or_else(|_| unreachable_preset(preset))
    }

    /// Reads and validates a policy file. Relative blocklist, pepper and
    /// store paths are resolved against the file's folder. The file, its
    /// blocklists and its pepper must be regular files (see
    /// [`crate::trusted_file`]); the pepper must be private.
    ///
    /// # Errors
    /// [`Error::Policy`] naming the file if it cannot be read or is not
    /// trusted, and the line and column if it is invalid.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Policy> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        if path.is_dir() {
            return Err(
                PolicyError::at(&origin, "", None, "is a directory, not a policy file").into(),
            );
        }
        let mut bytes = Vec::new();
        let within_limit =
            trusted_file::read_at_most(path, FileRole::Config, MAX_POLICY_BYTES, &mut bytes)
                .map_err(|problem| {
                    PolicyError::at(
                        &origin,
                        "",
                        None,
                        format!("cannot use this policy file: {problem}"),
                    )
                })?;
        if !within_limit {
            return Err(PolicyError::at(&origin, "", None, too_big_message()).into());
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            PolicyError::at(
                &origin,
                "",
                None,
                format!(
                    "not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            )
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        // Resolve relative blocklist and pepper paths against an absolute
        // folder: `to_toml` (`policy show`) prints the resolved paths, and a
        // relative folder would be applied twice when that output is saved
        // beside the original and read back (`conf/conf/list.txt`).
        let base = std::path::absolute(base).unwrap_or_else(|_| base.to_owned());
        let mut policy = Policy::parse(&text, &origin, &base)?;
        policy.source = Some(std::path::absolute(path).unwrap_or_else(|_| path.to_owned()));
        Ok(policy)
    }

    /// The file this policy was read from (absolute), or `None` for a
    /// built-in, preset or string policy.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// Parses a policy from TOML text; relative paths resolve against the
    /// current directory.
    ///
    /// # Errors
    /// [`Error::Policy`] naming the line and column if the text is invalid.
    pub fn from_toml_str(text: &str) -> Result<Policy> {
        Policy::parse(text, "<string>", Path::new("."))
    }

    /// Parses a policy from TOML text named `origin` (for messages), with
    /// relative paths resolved against `base_dir`.
    ///
    /// # Errors
    /// [`Error::Policy`] naming the line and column if the text is invalid.
    pub fn parse(text: &str, origin: &str, base_dir: &Path) -> Result<Policy> {
        if text.len() > MAX_POLICY_BYTES {
            return Err(PolicyError::at(origin, text, None, too_big_message()).into());
        }
        if text.contains('\0') {
            return Err(PolicyError::at(
                origin,
                text,
                text.find('\0'),
                "contains a NUL byte: not a TOML text file",
            )
            .into());
        }
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let start = e.span().map(|s| s.start);
            let msg = crate::error::plain_toml_message(e.message().trim_end(), text, start);
            PolicyError::at(origin, text, start, msg)
        })?;
        let (settings, spans) = raw.merge(origin, text, base_dir)?;
        Policy::from_settings(settings, origin, text, &spans)
    }

    fn from_settings(s: Settings, origin: &str, text: &str, spans: &Spans) -> Result<Policy> {
        let err = |span: Option<usize>, msg: String| -> Error {
            PolicyError::at(origin, text, span, msg).into()
        };
        let (len, comp, hist_rot, hash) = (&s.length, &s.composition, &s.rotation, &s.hashing);
        if len.max == 0 || len.max > HARD_MAX_LENGTH {
            return Err(err(
                spans.max_len,
                format!(
                    "length.max must be between 1 and {HARD_MAX_LENGTH}, not {}",
                    len.max
                ),
            ));
        }
        if len.min > len.max {
            return Err(err(
                spans.min_len.or(spans.max_len),
                format!(
                    "length.min ({}) is greater than length.max ({})",
                    len.min, len.max
                ),
            ));
        }
        if comp.min_classes > 4 {
            return Err(err(
                spans.min_classes,
                format!(
                    "composition.min_classes must be 0..=4, not {}",
                    comp.min_classes
                ),
            ));
        }
        let letters = comp
            .min_letters
            .max(comp.min_lowercase.saturating_add(comp.min_uppercase));
        let needed = letters
            .saturating_add(comp.min_digits)
            .saturating_add(comp.min_symbols);
        if needed > len.max {
            return Err(err(
                spans.max_len,
                format!(
                    "the composition rules need at least {needed} characters but length.max is {}",
                    len.max
                ),
            ));
        }
        if comp.max_repeat == 1 || comp.max_sequence == 1 {
            let span = if comp.max_repeat == 1 {
                spans.max_repeat
            } else {
                spans.max_sequence
            };
            return Err(err(
                span,
                "max_repeat and max_sequence must be 0 (off) or at least 2".into(),
            ));
        }
        if s.strength.min_score > 4 {
            return Err(err(
                spans.min_score,
                format!(
                    "strength.min_score must be 0..=4, not {}",
                    s.strength.min_score
                ),
            ));
        }
        if hist_rot.max_age_days > 0 && hist_rot.warn_days >= hist_rot.max_age_days {
            return Err(err(
                spans.warn_days,
                format!(
                    "rotation.warn_days ({}) must be less than rotation.max_age_days ({})",
                    hist_rot.warn_days, hist_rot.max_age_days
                ),
            ));
        }
        if hist_rot.max_age_days > 0 && hist_rot.min_age_days >= hist_rot.max_age_days {
            return Err(err(
                spans.min_age,
                format!(
                    "rotation.min_age_days ({}) must be less than rotation.max_age_days ({})",
                    hist_rot.min_age_days, hist_rot.max_age_days
                ),
            ));
        }
        validate_remind_days(hist_rot).map_err(|m| err(spans.remind_days, m))?;
        if hist_rot.max_age_days > 36_500
            || hist_rot.min_age_days > 36_500
            || s.history.remember_days > 36_500
        {
            return Err(err(
                spans.max_age,
                "day counts must be at most 36500 (100 years)".into(),
            ));
        }
        if s.history.remember > 1000 {
            return Err(err(
                spans.remember,
                format!(
                    "history.remember must be at most 1000, not {}",
                    s.history.remember
                ),
            ));
        }
        validate_hashing(hash).map_err(|m| err(spans.hashing, m))?;

        let mut patterns = Vec::with_capacity(comp.patterns.len());
        for (i, source) in comp.patterns.iter().enumerate() {
            let re = regex::RegexBuilder::new(&format!("^(?:{source})$"))
                .size_limit(1 << 20)
                .build()
                .map_err(|e| {
                    err(
                        spans.patterns.get(i).copied().flatten(),
                        format!(
                            "invalid regular expression in composition.patterns: {}",
                            first_line(&e.to_string())
                        ),
                    )
                })?;
            patterns.push(re);
        }
        let mut blocklist = Blocklist::default();
        for (i, path) in s.strength.blocklists.iter().enumerate() {
            let span = spans.blocklists.get(i).copied().flatten();
            if path.as_os_str() == BUILTIN_BLOCKLIST {
                blocklist.include_builtin();
                continue;
            }
            blocklist
                .load_file(path)
                .map_err(|m| err(span, format!("blocklist {}: {m}", path.display())))?;
        }
        let pepper = match &hash.pepper_file {
            None => None,
            Some(path) => Some(Arc::new(read_pepper(path).map_err(|m| {
                err(spans.pepper, format!("pepper_file {}: {m}", path.display()))
            })?)),
        };
        validate_store(&s.store).map_err(|m| err(spans.store, m))?;
        validate_serve(&s.serve)
            .map_err(|(key, m)| err(spans.serve.get(key).copied().flatten(), m))?;
        let breach = match &s.breach.filter {
            None => None,
            Some(path) => Some(Arc::new(
                Filter::open_kind(path, FilterKind::Breach).map_err(|e| {
                    err(
                        spans.breach_filter,
                        format!("breach.filter {}: {e}", path.display()),
                    )
                })?,
            )),
        };
        Ok(Policy {
            settings: s,
            source: None,
            patterns,
            blocklist: Arc::new(blocklist),
            pepper,
            breach,
        })
    }

    /// The preset this policy starts from.
    pub fn preset(&self) -> Preset {
        self.settings.preset
    }
    /// `[length]`.
    pub fn length(&self) -> &LengthPolicy {
        &self.settings.length
    }
    /// `[composition]`.
    pub fn composition(&self) -> &CompositionPolicy {
        &self.settings.composition
    }
    /// `[strength]`.
    pub fn strength(&self) -> &StrengthPolicy {
        &self.settings.strength
    }
    /// `[history]`.
    pub fn history(&self) -> &HistoryPolicy {
        &self.settings.history
    }
    /// `[rotation]`.
    pub fn rotation(&self) -> &RotationPolicy {
        &self.settings.rotation
    }
    /// `[hashing]`.
    pub fn hashing(&self) -> &HashingPolicy {
        &self.settings.hashing
    }
    /// `[accounts]`.
    pub fn accounts(&self) -> &AccountsPolicy {
        &self.settings.accounts
    }
    /// `[store]`.
    pub fn store(&self) -> &StorePolicy {
        &self.settings.store
    }
    /// `[breach]`.
    pub fn breach(&self) -> &BreachPolicy {
        &self.settings.breach
    }
    /// `[mail]`.
    pub fn mail(&self) -> &MailPolicy {
        &self.settings.mail
    }
    /// `[serve]`.
    pub fn serve(&self) -> &ServePolicy {
        &self.settings.serve
    }
    /// `[notify]`, if the policy has that section (reminder mails).
    pub fn notify(&self) -> Option<&NotifyPolicy> {
        self.settings.notify.as_ref()
    }
    /// The open breached-password filter of `[breach] filter`, if any
    /// (only its header has been read).
    pub fn breach_filter(&self) -> Option<&Filter> {
        self.breach.as_deref()
    }
    /// The pepper read from `hashing.pepper_file`, if any.
    pub fn pepper(&self) -> Option<&[u8]> {
        self.pepper.as_deref().map(|p| p.as_slice())
    }
    pub(crate) fn compiled_patterns(&self) -> &[Regex] {
        &self.patterns
    }
    pub(crate) fn blocklist(&self) -> &Blocklist {
        &self.blocklist
    }

    /// The effective policy (preset merged) as TOML, every key explicit.
    /// Parsing the output gives back an equal policy.
    pub fn to_toml(&self) -> String {
        toml::to_string(&self.settings).unwrap_or_else(|e| format!("# cannot render policy: {e}\n"))
    }
}

fn unreachable_preset(preset: Preset) -> Policy {
    // Presets are constants covered by tests; building one cannot fail.
    Policy {
        settings: preset.settings(),
        source: None,
        patterns: Vec::new(),
        blocklist: Arc::new(Blocklist::default()),
        pepper: None,
        breach: None,
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_owned()
}

/// Checks `[rotation] remind_days`: positive, unique, below the maximum age.
fn validate_remind_days(r: &RotationPolicy) -> std::result::Result<(), String> {
    let days = &r.remind_days;
    if days.len() > crate::remind::MAX_REMIND_DAYS {
        return Err(format!(
            "rotation.remind_days lists {} thresholds; at most {}",
            days.len(),
            crate::remind::MAX_REMIND_DAYS
        ));
    }
    if !days.is_empty() && r.max_age_days == 0 {
        return Err(
            "rotation.remind_days needs rotation.max_age_days: without a maximum age nothing expires".into(),
        );
    }
    for (i, d) in days.iter().enumerate() {
        if *d == 0 || *d >= r.max_age_days {
            return Err(format!(
                "rotation.remind_days: {d} must be at least 1 and less than rotation.max_age_days ({})",
                r.max_age_days
            ));
        }
        if days[..i].contains(d) {
            return Err(format!("rotation.remind_days lists {d} twice"));
        }
    }
    Ok(())
}

/// Checks argon2 parameters against hard limits and OWASP's minimum.
pub(crate) fn validate_hashing(h: &HashingPolicy) -> std::result::Result<(), String> {
    if h.parallelism == 0 || h.parallelism > MAX_PARALLELISM {
        return Err(format!(
            "hashing.parallelism must be 1..={MAX_PARALLELISM}, not {}",
            h.parallelism
        ));
    }
    if h.iterations == 0 || h.iterations > MAX_ITERATIONS {
        return Err(format!(
            "hashing.iterations must be 1..={MAX_ITERATIONS}, not {}",
            h.iterations
        ));
    }
    if h.memory_kib < 8 * h.parallelism || h.memory_kib > MAX_MEMORY_KIB {
        return Err(format!(
            "hashing.memory_kib must be between {} (8 × parallelism) and {MAX_MEMORY_KIB}, not {}",
            8 * h.parallelism,
            h.memory_kib
        ));
    }
    if !h.allow_weak_parameters && !meets_owasp_minimum(h.memory_kib, h.iterations) {
        return Err(format!(
            "hashing parameters m={} KiB, t={} are below OWASP's argon2id minimum (e.g. m=19456, t=2); set allow_weak_parameters = true only for tests",
            h.memory_kib, h.iterations
        ));
    }
    Ok(())
}

/// `true` when (memory, passes) reach one of [`OWASP_ARGON2ID_MINIMUMS`].
pub(crate) fn meets_owasp_minimum(memory_kib: u32, iterations: u32) -> bool {
    OWASP_ARGON2ID_MINIMUMS
        .iter()
        .any(|&(m, t)| memory_kib >= m && iterations >= t)
}

fn too_big_message() -> String {
    format!(
        "is larger than {} KiB, too large for a policy file (blocklists go in their own files)",
        MAX_POLICY_BYTES / 1024
    )
}

/// Checks `[store]`: one location at most, and a URL of a known kind
/// without a password in it.
fn validate_store(st: &StorePolicy) -> std::result::Result<(), String> {
    if st.path.is_some() && st.url.is_some() {
        return Err("set store.path or store.url, not both".into());
    }
    if let Some(url) = &st.url {
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        if !scheme
            .as_deref()
            .is_some_and(|s| STORE_URL_SCHEMES.contains(&s))
        {
            return Err(format!(
                "store.url must start with one of {} (an SQLite file goes in store.path)",
                STORE_URL_SCHEMES
                    .iter()
                    .map(|s| format!("`{s}://`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let authority = url
            .split_once("://")
            .map_or("", |(_, rest)| rest.split(['/', '?']).next().unwrap_or(""));
        if authority
            .rsplit_once('@')
            .is_some_and(|(user, _)| user.contains(':'))
            || url.contains("password=")
        {
            return Err("store.url must not contain a password: the policy file is readable by every user; use a password file (PGPASSFILE) or a Unix socket".into());
        }
    }
    Ok(())
}

/// Checks `[serve]`; an error names its key (0 title, 1 logo, 2 help_url).
fn validate_serve(sv: &ServePolicy) -> std::result::Result<(), (usize, String)> {
    if let Some(title) = &sv.title {
        if title.trim().is_empty() || title.chars().count() > MAX_SERVE_TITLE_CHARS {
            return Err((
                0,
                format!("serve.title must be 1 to {MAX_SERVE_TITLE_CHARS} characters"),
            ));
        }
        if title.chars().any(char::is_control) {
            return Err((0, "serve.title must not contain control characters".into()));
        }
    }
    if let Some(logo) = &sv.logo {
        let ext = logo
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if !matches!(ext.as_deref(), Some("png" | "svg")) {
            return Err((
                1,
                format!("serve.logo {}: must be a .png or .svg file", logo.display()),
            ));
        }
    }
    if let Some(url) = &sv.help_url {
        let lower = url.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"));
        if !rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/')) {
            return Err((
                2,
                "serve.help_url must be an https:// or http:// URL with a host".into(),
            ));
        }
        if url.len() > MAX_SERVE_HELP_URL_BYTES
            || url.chars().any(|c| {
                c.is_control() || c.is_whitespace() || matches!(c, '"' | '<' | '>' | '\\' | '`')
            })
        {
            return Err((
                2,
                format!(
                    "serve.help_url must be at most {MAX_SERVE_HELP_URL_BYTES} bytes, without spaces, control characters, quotes or angle brackets"
                ),
            ));
        }
    }
    Ok(())
}

fn read_pepper(path: &Path) -> std::result::Result<Zeroizing<Vec<u8>>, String> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_PEPPER_BYTES + 1));
    if !trusted_file::read_at_most(path, FileRole::Secret, MAX_PEPPER_BYTES, &mut bytes)
        .map_err(|e| e.to_string())?
    {
        return Err(format!("a pepper must be at most {MAX_PEPPER_BYTES} bytes"));
    }
    while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        bytes.pop();
    }
    if bytes.len() < 16 {
        return Err(format!(
            "a pepper must be at least 16 bytes, this one has {}",
            bytes.len()
        ));
    }
    Ok(bytes)
}

// ---- the TOML model ------------------------------------------------------

#[derive(Default)]
struct Spans {
    min_len: Option<usize>,
    max_len: Option<usize>,
    min_classes: Option<usize>,
    max_repeat: Option<usize>,
    max_sequence: Option<usize>,
    min_score: Option<usize>,
    patterns: Vec<Option<usize>>,
    blocklists: Vec<Option<usize>>,
    warn_days: Option<usize>,
    min_age: Option<usize>,
    remind_days: Option<usize>,
    max_age: Option<usize>,
    remember: Option<usize>,
    hashing: Option<usize>,
    pepper: Option<usize>,
    store: Option<usize>,
    breach_filter: Option<usize>,
    /// title, logo, help_url
    serve: [Option<usize>; 3],
}

type S<T> = Option<Spanned<T>>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    preset: S<String>,
    length: Option<RawLength>,
    composition: Option<RawComposition>,
    strength: Option<RawStrength>,
    history: Option<RawHistory>,
    rotation: Option<RawRotation>,
    hashing: Option<RawHashing>,
    accounts: Option<RawAccounts>,
    store: Option<RawStore>,
    breach: Option<RawBreach>,
    mail: Option<RawMail>,
    serve: Option<RawServe>,
    notify: Option<Spanned<crate::remind::RawNotify>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLength {
    min: S<u32>,
    max: S<u32>,
    count: S<LengthUnit>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawComposition {
    min_letters: S<u32>,
    min_lowercase: S<u32>,
    min_uppercase: S<u32>,
    min_digits: S<u32>,
    min_symbols: S<u32>,
    min_classes: S<u32>,
    max_repeat: S<u32>,
    max_sequence: S<u32>,
    patterns: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStrength {
    min_score: S<u8>,
    reject_context_words: S<bool>,
    blocklists: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHistory {
    remember: S<u32>,
    remember_days: S<u32>,
    reject_similar: S<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRotation {
    max_age_days: S<u32>,
    warn_days: S<u32>,
    min_age_days: S<u32>,
    remind_days: S<Vec<u32>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHashing {
    memory_kib: S<u32>,
    iterations: S<u32>,
    parallelism: S<u32>,
    pepper_file: S<String>,
    allow_weak_parameters: S<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAccounts {
    case_sensitive_local_part: S<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStore {
    path: S<String>,
    url: S<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBreach {
    filter: S<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMail {
    passwd_file: S<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServe {
    title: S<String>,
    logo: S<String>,
    help_url: S<String>,
}

fn set<T>(target: &mut T, value: S<T>) -> Option<usize> {
    value.map(|v| {
        let start = v.span().start;
        *target = v.into_inner();
        start
    })
}

fn resolve(base: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() || p == BUILTIN_BLOCKLIST {
        path.to_owned()
    } else {
        base.join(path)
    }
}

impl RawPolicy {
    fn merge(self, origin: &str, text: &str, base: &Path) -> Result<(Settings, Spans)> {
        let preset = match &self.preset {
            None => Preset::Seed,
            Some(name) => Preset::from_name(name.get_ref()).ok_or_else(|| {
                PolicyError::at(
                    origin,
                    text,
                    Some(name.span().start),
                    format!(
                        "unknown preset `{}`, expected one of `seed`, `nist-800-63b`, `pci-dss-4`",
                        name.get_ref().escape_debug()
                    ),
                )
            })?,
        };
        let mut s = preset.settings();
        let mut sp = Spans::default();
        let l = self.length.unwrap_or_default();
        sp.min_len = set(&mut s.length.min, l.min);
        sp.max_len = set(&mut s.length.max, l.max);
        set(&mut s.length.count, l.count);
        let c = self.composition.unwrap_or_default();
        let cs = &mut s.composition;
        set(&mut cs.min_letters, c.min_letters);
        set(&mut cs.min_lowercase, c.min_lowercase);
        set(&mut cs.min_uppercase, c.min_uppercase);
        set(&mut cs.min_digits, c.min_digits);
        set(&mut cs.min_symbols, c.min_symbols);
        sp.min_classes = set(&mut cs.min_classes, c.min_classes);
        sp.max_repeat = set(&mut cs.max_repeat, c.max_repeat);
        sp.max_sequence = set(&mut cs.max_sequence, c.max_sequence);
        if let Some(list) = c.patterns {
            sp.patterns = list.iter().map(|p| Some(p.span().start)).collect();
            cs.patterns = list.into_iter().map(Spanned::into_inner).collect();
        }
        let st = self.strength.unwrap_or_default();
        sp.min_score = set(&mut s.strength.min_score, st.min_score);
        set(
            &mut s.strength.reject_context_words,
            st.reject_context_words,
        );
        if let Some(list) = st.blocklists {
            sp.blocklists = list.iter().map(|p| Some(p.span().start)).collect();
            s.strength.blocklists = list.iter().map(|p| resolve(base, p.get_ref())).collect();
        }
        let h = self.history.unwrap_or_default();
        sp.remember = set(&mut s.history.remember, h.remember);
        set(&mut s.history.remember_days, h.remember_days);
        set(&mut s.history.reject_similar, h.reject_similar);
        let r = self.rotation.unwrap_or_default();
        sp.max_age = set(&mut s.rotation.max_age_days, r.max_age_days);
        sp.warn_days = set(&mut s.rotation.warn_days, r.warn_days);
        sp.min_age = set(&mut s.rotation.min_age_days, r.min_age_days);
        sp.remind_days = set(&mut s.rotation.remind_days, r.remind_days);
        // Most distant first, as they are crossed; validated later.
        s.rotation.remind_days.sort_unstable_by(|a, b| b.cmp(a));
        let hs = self.hashing.unwrap_or_default();
        let spans = [
            set(&mut s.hashing.memory_kib, hs.memory_kib),
            set(&mut s.hashing.iterations, hs.iterations),
            set(&mut s.hashing.parallelism, hs.parallelism),
            set(
                &mut s.hashing.allow_weak_parameters,
                hs.allow_weak_parameters,
            ),
        ];
        sp.hashing = spans.into_iter().flatten().next();
        if let Some(p) = hs.pepper_file {
            sp.pepper = Some(p.span().start);
            let p = p.into_inner();
            s.hashing.pepper_file = (!p.is_empty()).then(|| resolve(base, &p));
        }
        let a = self.accounts.unwrap_or_default();
        set(
            &mut s.accounts.case_sensitive_local_part,
            a.case_sensitive_local_part,
        );
        let st = self.store.unwrap_or_default();
        if let Some(p) = st.path {
            sp.store = Some(p.span().start);
            let p = p.into_inner();
            s.store.path = (!p.is_empty()).then(|| resolve(base, &p));
        }
        if let Some(u) = st.url {
            sp.store = sp.store.or(Some(u.span().start));
            let u = u.into_inner();
            s.store.url = (!u.is_empty()).then_some(u);
        }
        if let Some(f) = self.mail.and_then(|m| m.passwd_file) {
            let f = f.into_inner();
            s.mail.passwd_file = (!f.is_empty()).then(|| resolve(base, &f));
        }
        if let Some(f) = self.breach.and_then(|b| b.filter) {
            sp.breach_filter = Some(f.span().start);
            let f = f.into_inner();
            s.breach.filter = (!f.is_empty()).then(|| resolve(base, &f));
        }
        let sv = self.serve.unwrap_or_default();
        if let Some(t) = sv.title {
            sp.serve[0] = Some(t.span().start);
            s.serve.title = Some(t.into_inner());
        }
        if let Some(l) = sv.logo {
            sp.serve[1] = Some(l.span().start);
            let l = l.into_inner();
            s.serve.logo = (!l.is_empty()).then(|| resolve(base, &l));
        }
        if let Some(u) = sv.help_url {
            sp.serve[2] = Some(u.span().start);
            s.serve.help_url = Some(u.into_inner());
        }
        if let Some(n) = self.notify {
            let section = Some(n.span().start);
            let policy = n
                .into_inner()
                .validate(section, base)
                .map_err(|(at, m)| PolicyError::at(origin, text, at.or(section), m))?;
            s.notify = Some(policy);
        }
        if sp.max_age.is_none() {
            sp.max_age = sp.warn_days.or(sp.min_age);
        }
        if sp.warn_days.is_none() {
            sp.warn_days = sp.max_age;
        }
        if sp.min_age.is_none() {
            sp.min_age = sp.max_age;
        }
        Ok((s, sp))
    }
}
