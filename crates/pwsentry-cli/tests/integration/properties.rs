//! Property tests of the library (proptest, fixed seeds, modest case
//! counts): any input is evaluated without panicking, canonically
//! equivalent inputs get the same verdict, the reported length grows when a
//! character is appended, and `policy show` output reads back to the same
//! policy.

use crate::util::{pwsentry, write, write_private};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use pwsentry::{Checker, Context, Error, Policy, Rule, Verdict};
use std::cell::Cell;
use std::path::Path;
use std::sync::OnceLock;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::canonical_combining_class;

/// A runner with a fixed seed, so a failure reproduces on every machine.
fn runner(cases: u32, seed: u64) -> TestRunner {
    TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    })
}

/// Runs `test` over `strategy`; a failure panics with the minimal input.
fn check<S: Strategy>(
    cases: u32,
    seed: u64,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    if let Err(e) = runner(cases, seed).run(&strategy, test) {
        panic!("{e}");
    }
}

// ---- inputs ----------------------------------------------------------------

/// The characters zxcvbn's l33t matcher multiplies its work on.
const L33T: &str = "4@8({[<3691!|70$5+%2";

/// Characters that reach the interesting paths: printable ASCII, dense l33t
/// symbols, combining marks and Hangul jamo that NFC composes or reorders,
/// controls, and anything at all.
fn password_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range(' ', '~'),
        2 => proptest::sample::select(L33T.chars().collect::<Vec<_>>()),
        2 => proptest::char::range('\u{0300}', '\u{036F}'),
        1 => proptest::char::range('\u{1100}', '\u{11FF}'),
        1 => proptest::sample::select(vec!['e', 'l', 'a', 'A', 'o', 'u', '\u{3b1}', '\u{ac00}']),
        1 => proptest::char::range('\0', '\u{1F}'),
        2 => any::<char>(),
    ]
}

fn password(max_chars: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(password_char(), 0..max_chars).prop_map(|v| v.into_iter().collect())
}

/// Accounts whose words (local part, domain labels) overlap the passwords
/// above, in composed and decomposed forms.
fn account() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(proptest::sample::select(vec![
        "alice@example.com".to_owned(),
        "jos\u{e9}.garc\u{ed}a@ma\u{ef}l.example".to_owned(),
        "jose\u{301}@mai\u{308}l.example".to_owned(),
        "4dm1n".to_owned(),
    ]))
}

fn context(account: &Option<String>) -> Context {
    match account {
        Some(a) => Context::new().account(a.clone()),
        None => Context::new(),
    }
}

/// Checkers for policies that switch on every rule the evaluator has.
fn checkers() -> &'static [Checker] {
    static CHECKERS: OnceLock<Vec<Checker>> = OnceLock::new();
    CHECKERS.get_or_init(|| {
        let strict = "[length]\nmin = 10\nmax = 64\n\
             [composition]\nmin_lowercase = 1\nmin_uppercase = 1\nmin_classes = 4\n\
             max_repeat = 2\nmax_sequence = 3\npatterns = [\"[^ ].*[^ ]\", \"(?s).*\\\\p{L}.*\"]\n\
             [strength]\nmin_score = 4\nblocklists = [\"builtin:common-passwords\"]\n";
        [
            Policy::default(),
            Policy::from_toml_str("preset = \"nist-800-63b\"\n").unwrap(),
            Policy::from_toml_str("preset = \"pci-dss-4\"\n").unwrap(),
            Policy::from_toml_str(strict).unwrap(),
        ]
        .into_iter()
        .map(Checker::new)
        .collect()
    })
}

// ---- evaluate ----------------------------------------------------------------

/// Invariants every verdict keeps, whatever the input.
fn verdict_is_consistent(v: &Verdict, password: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(v.accepted(), v.violations().is_empty());
    match v.strength() {
        None => prop_assert!(
            v.violates(Rule::MaxLength),
            "only an over-long input goes unscored: {:?}",
            v
        ),
        Some(s) => {
            prop_assert!(s.score <= 4);
            prop_assert!(
                s.guesses_log10.is_finite() && s.guesses_log10 >= 0.0,
                "{:?}",
                s
            );
        }
    }
    // A message must never quote the candidate. Short candidates can occur
    // in any text by chance, so only check those long enough to be unique.
    if password.chars().count() >= 12 {
        for m in v.violations().iter().map(|x| x.message.as_str()) {
            prop_assert!(!m.contains(password), "message quotes the password: {}", m);
        }
    }
    Ok(())
}

#[test]
fn evaluate_any_unicode_without_panicking() {
    let strategy = (
        prop_oneof![3 => password(160), 1 => any::<String>()],
        0..checkers().len(),
        account(),
    );
    check(256, 0x5eed_0001, strategy, |(pw, which, account)| {
        let checker = &checkers()[which];
        let ctx = context(&account);
        let v = checker.evaluate(&pw, &ctx);
        verdict_is_consistent(&v, &pw)?;
        // Pure: the same input gives the same verdict (up to zxcvbn's own
        // nondeterminism, see `same_verdicts`).
        prop_assert!(same_verdicts(checker, &ctx, &pw, &pw), "{:?}", v);
        Ok(())
    });
}

#[test]
fn evaluate_far_over_the_limit_is_rejected_unscored() {
    // Beyond the pre-check (16 bytes per allowed code point) the input is
    // rejected without being normalised or scored.
    let strategy = (0..checkers().len(), password(40), 1usize..4);
    check(24, 0x5eed_0002, strategy, |(which, unit, reps)| {
        let checker = &checkers()[which];
        let max = checker.policy().length().max as usize;
        let unit = if unit.is_empty() {
            "x".to_owned()
        } else {
            unit
        };
        let long: String = unit.chars().cycle().take(max * 8 * reps + 1).collect();
        let v = checker.evaluate(&long, &Context::new());
        prop_assert!(v.violates(Rule::MaxLength), "{:?}", v.violations());
        prop_assert!(v.strength().is_none());
        Ok(())
    });
}

/// Whether `a` and `b` get the same verdict, allowing for zxcvbn's own
/// nondeterminism: zxcvbn 3.1.1 iterates `HashMap`s (random order per map)
/// when it picks the cheapest match sequence, so a few inputs (such as
/// `"Jose\u{6}"`, four NULs, `"4048!"`, found by the `evaluate` fuzz target) get one of
/// two guess counts from call to call. Then the verdicts of `a` and `b`,
/// each drawn a few times, must have an outcome in common: a normalisation
/// bug gives disjoint sets.
fn same_verdicts(checker: &Checker, ctx: &Context, a: &str, b: &str) -> bool {
    if checker.evaluate(a, ctx) == checker.evaluate(b, ctx) {
        return true;
    }
    let draws = |p: &str| {
        let mut seen: Vec<Verdict> = Vec::new();
        for _ in 0..32 {
            let v = checker.evaluate(p, ctx);
            if !seen.contains(&v) {
                seen.push(v);
            }
        }
        seen
    };
    let (sa, sb) = (draws(a), draws(b));
    sa.iter().any(|v| sb.contains(v))
}

#[test]
fn zxcvbn_ties_are_the_only_nondeterminism() {
    // The input the fuzzer found: zxcvbn scores it 10^12.03 or 10^12.05 at
    // random. Everything pwsentry adds (rules, normalisation) is the same
    // every time, and both outcomes are reached from either spelling.
    let checker = &checkers()[1];
    let pw = "Jose\u{6}\0\0\0\0\x34048!";
    let mut outcomes: Vec<Verdict> = Vec::new();
    for _ in 0..64 {
        let v = checker.evaluate(pw, &Context::new());
        assert_eq!(v.violations()[0].rule, Rule::ControlCharacters);
        if !outcomes.contains(&v) {
            outcomes.push(v);
        }
    }
    assert!(outcomes.len() <= 2, "{outcomes:?}");
    let rules: Vec<Vec<Rule>> = outcomes
        .iter()
        .map(|v| v.violations().iter().map(|x| x.rule).collect())
        .collect();
    assert!(
        rules.windows(2).all(|w| w[0] == w[1]),
        "only the estimate may vary: {rules:?}"
    );
    assert!(same_verdicts(
        checker,
        &Context::new(),
        pw,
        &pw.nfd().collect::<String>()
    ));
}

/// A canonically equivalent spelling of `s`: its first `split` characters
/// composed, the rest decomposed. (Canonical equivalence is preserved by
/// concatenation.)
fn mixed_form(s: &str, split: usize) -> String {
    let head: String = s.chars().take(split).collect();
    let tail: String = s.chars().skip(split).collect();
    head.nfc().chain(tail.nfd()).collect()
}

#[test]
fn canonically_equivalent_inputs_get_the_same_verdict() {
    let strategy = (password(80), 0usize..80, 0..checkers().len(), account());
    check(128, 0x5eed_0003, strategy, |(pw, split, which, account)| {
        let checker = &checkers()[which];
        let ctx = context(&account);
        let forms = [
            pw.nfc().collect::<String>(),
            pw.nfd().collect::<String>(),
            mixed_form(&pw, split),
        ];
        for form in &forms {
            prop_assert!(same_verdicts(checker, &ctx, &pw, form), "form {:?}", form);
        }
        // The account id is normalised too.
        if let Some(a) = &account {
            let nfd_ctx = Context::new().account(a.nfd().collect::<String>());
            // (`min_score` may differ with zxcvbn's ties, the rules may not.)
            let rules = |c: &Context| -> Vec<Rule> {
                let v = checker.evaluate(&pw, c);
                v.violations()
                    .iter()
                    .map(|x| x.rule)
                    .filter(|r| *r != Rule::MinScore)
                    .collect()
            };
            prop_assert_eq!(rules(&ctx), rules(&nfd_ctx));
        }
        Ok(())
    });
}

// ---- reported length ---------------------------------------------------------

/// A policy whose only possible length violations name the exact length:
/// min = max = the hard cap, so every input of at most that many code
/// points gets "must be at least 1024 characters long (N more)".
fn length_checker() -> &'static Checker {
    static CHECKER: OnceLock<Checker> = OnceLock::new();
    CHECKER.get_or_init(|| {
        let max = pwsentry::policy::HARD_MAX_LENGTH;
        let text = format!("preset = \"nist-800-63b\"\n[length]\nmin = {max}\nmax = {max}\n");
        Checker::new(Policy::from_toml_str(&text).unwrap())
    })
}

/// The length the checker reports for `s`, read from its `min_length`
/// message; `None` when it is rejected as longer than the maximum.
fn reported_length(s: &str) -> Option<u32> {
    let v = length_checker().evaluate(s, &Context::new());
    if v.violates(Rule::MaxLength) {
        return None;
    }
    let min = pwsentry::policy::HARD_MAX_LENGTH;
    let Some(m) = v.violations().iter().find(|x| x.rule == Rule::MinLength) else {
        return Some(min);
    };
    let more = m
        .message
        .rsplit_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(" more)"))
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or_else(|| panic!("min_length message without a count: {}", m.message));
    Some(min - more)
}

fn nfc_len(s: &str) -> u32 {
    s.nfc().count() as u32
}

#[test]
fn reported_length_is_the_nfc_code_point_count() {
    let strategy = (password(120), password_char());
    check(128, 0x5eed_0004, strategy, |(s, c)| {
        let longer = format!("{s}{c}");
        prop_assert_eq!(reported_length(&s), Some(nfc_len(&s)));
        prop_assert_eq!(reported_length(&longer), Some(nfc_len(&longer)));
        Ok(())
    });
}

#[test]
fn appending_a_character_never_shortens_the_reported_length() {
    // "Adding a character" is appending one with canonical combining class
    // 0 (a starter: letters, digits, symbols, jamo, controls). Appending a
    // combining mark can legitimately shorten the count, because length is
    // counted after NFC: see the next test.
    let starter = password_char().prop_filter("a starter", |c| canonical_combining_class(*c) == 0);
    let strategy = (password(120), proptest::collection::vec(starter, 1..4));
    check(128, 0x5eed_0005, strategy, |(s, added)| {
        let mut before = reported_length(&s).expect("short input");
        let mut longer = s.clone();
        for c in added {
            longer.push(c);
            let after = reported_length(&longer).expect("short input");
            prop_assert!(
                after >= before,
                "{:?}: {} < {} after appending {:?}",
                longer,
                after,
                before,
                c
            );
            // No canonical composition ends in an ASCII character, so an
            // appended ASCII character (space included: nothing is trimmed)
            // always counts as one more.
            if c.is_ascii() {
                prop_assert_eq!(after, before + 1, "{:?} after appending {:?}", longer, c);
            }
            before = after;
        }
        Ok(())
    });
}

#[test]
fn appending_a_combining_mark_can_compose_to_fewer_code_points() {
    // Pinned, not a bug: `l` + U+0304 has no precomposed form (2 code
    // points) but `l` + U+0304 + U+0323 is canonically equivalent to U+1E39
    // (ḹ, 1 code point). Any count that is both NFC-invariant and
    // NFC-based must shrink here; the NFC-equivalence property above wins.
    assert_eq!(reported_length("l\u{304}"), Some(2));
    assert_eq!(reported_length("l\u{304}\u{323}"), Some(1));
    assert_eq!(reported_length("\u{1e39}"), Some(1));
    // Hangul: L + V jamo compose into one syllable, like U+AC00 itself.
    assert_eq!(reported_length("\u{1100}"), Some(1));
    assert_eq!(reported_length("\u{1100}\u{1161}"), Some(1));
    assert_eq!(reported_length("\u{1100}\u{1161}x"), Some(2));
}

// ---- policy round trip -------------------------------------------------------

/// One generated `policy.toml`: each key absent or a value in or around its
/// valid range.
#[derive(Debug, Clone, Default)]
struct PolicyText {
    preset: Option<&'static str>,
    /// `(section, key, TOML value)` in section order.
    keys: Vec<(&'static str, &'static str, String)>,
}

impl PolicyText {
    fn render(&self) -> String {
        let mut out = String::new();
        if let Some(p) = self.preset {
            out.push_str(&format!("preset = {}\n", toml_str(p)));
        }
        let mut section = "";
        for (s, k, v) in &self.keys {
            if *s != section {
                out.push_str(&format!("[{s}]\n"));
                section = s;
            }
            out.push_str(&format!("{k} = {v}\n"));
        }
        out
    }

    fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.keys
            .iter()
            .find(|(s, k, _)| *s == section && *k == key)
            .map(|(_, _, v)| v.as_str())
    }
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// An integer: mostly inside `valid`, sometimes (1 in 25) one of `odd` (edges just
/// outside the range, negatives, overflows).
fn int(valid: std::ops::RangeInclusive<i64>, odd: &'static [i64]) -> BoxedStrategy<String> {
    prop_oneof![
        24 => valid.prop_map(|n| n.to_string()),
        1 => proptest::sample::select(odd).prop_map(|n| n.to_string()),
    ]
    .boxed()
}

fn boolean() -> BoxedStrategy<String> {
    any::<bool>().prop_map(|b| b.to_string()).boxed()
}

/// Regular expressions for `patterns`: valid ones (some need TOML
/// escaping) and invalid ones.
const PATTERNS: (&[&str], &[&str]) = (
    &[
        "[^ ].*[^ ]",
        ".*\\d.*",
        "(?i).*[a-z].*",
        "\"quoted\".*",
        "\\\\|.*",
        "caf\u{e9}.*",
        "tab\t.*",
        "\\p{Greek}+",
    ],
    &["(unclosed", "a{1000}{1000}"],
);

/// Blocklist and pepper names, resolved against [`fixture_dir`]: existing
/// ones, and missing ones or (`short.bin`) a pepper that is too short.
const BLOCKLISTS: (&[&str], &[&str]) = (
    &["builtin:common-passwords", "list.txt", "ABS"],
    &["missing.txt"],
);
const PEPPERS: (&[&str], &[&str]) = (&["", "pepper.bin"], &["short.bin", "missing.bin"]);

fn fixture_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "list.txt", "Password1\nletmein\n");
        write(dir.path(), "abs-list.txt", "hunter2\n");
        write_private(dir.path(), "pepper.bin", "0123456789abcdef-pepper\n");
        write(dir.path(), "short.bin", "short\n");
        dir
    })
    .path()
}

fn path_value(name: &str) -> String {
    if name == "ABS" {
        fixture_dir().join("abs-list.txt").display().to_string()
    } else {
        name.to_owned()
    }
}

/// One of `good` (19 in 20) or `bad`, as a TOML string.
fn name((good, bad): (&'static [&'static str], &'static [&'static str])) -> BoxedStrategy<String> {
    prop_oneof![
        19 => proptest::sample::select(good),
        1 => proptest::sample::select(bad),
    ]
    .prop_map(|s| toml_str(&path_value(s)))
    .boxed()
}

fn list_of(
    items: (&'static [&'static str], &'static [&'static str]),
    max: usize,
) -> BoxedStrategy<String> {
    proptest::collection::vec(name(items), 0..=max)
        .prop_map(|v| format!("[{}]", v.join(", ")))
        .boxed()
}

fn policy_text() -> impl Strategy<Value = PolicyText> {
    type KeyStrategy = (&'static str, &'static str, BoxedStrategy<String>);
    let keys: Vec<KeyStrategy> = vec![
        (
            "length",
            "min",
            int(0..=140, &[-1, 1023, 1024, 1025, 4_294_967_296]),
        ),
        ("length", "max", int(8..=200, &[0, 1, 1024, 1025])),
        ("composition", "min_letters", int(0..=4, &[60, 600])),
        ("composition", "min_lowercase", int(0..=3, &[200])),
        ("composition", "min_uppercase", int(0..=3, &[200])),
        ("composition", "min_digits", int(0..=3, &[-5, 300])),
        ("composition", "min_symbols", int(0..=3, &[1200])),
        ("composition", "min_classes", int(0..=4, &[5, 255])),
        ("composition", "max_repeat", int(0..=6, &[1])),
        ("composition", "max_sequence", int(0..=6, &[1])),
        ("composition", "patterns", list_of(PATTERNS, 3)),
        ("strength", "min_score", int(0..=4, &[5, 255, 256])),
        ("strength", "reject_context_words", boolean()),
        ("strength", "blocklists", list_of(BLOCKLISTS, 2)),
        ("history", "remember", int(0..=12, &[999, 1000, 1001])),
        ("history", "remember_days", int(0..=400, &[36_500, 36_501])),
        ("history", "reject_similar", boolean()),
        ("rotation", "max_age_days", int(0..=400, &[36_500, 36_501])),
        ("rotation", "warn_days", int(0..=30, &[400])),
        ("rotation", "min_age_days", int(0..=10, &[400])),
        (
            "hashing",
            "memory_kib",
            prop_oneof![
                int(8..=256, &[0, 7, 1_048_576, 1_048_577]),
                int(19_456..=65_536, &[19_455, 47_103])
            ]
            .boxed(),
        ),
        ("hashing", "iterations", int(1..=4, &[0, 64, 65])),
        ("hashing", "parallelism", int(1..=2, &[0, 16, 17])),
        ("hashing", "pepper_file", name(PEPPERS)),
        (
            "hashing",
            "allow_weak_parameters",
            prop_oneof![3 => Just("true".to_owned()), 1 => Just("false".to_owned())].boxed(),
        ),
    ];
    let presets = proptest::option::of(proptest::sample::select(vec![
        "seed",
        "nist-800-63b",
        "pci-dss-4",
        "nist",
    ]));
    // Each key is present with probability 1/2.
    type Present = BoxedStrategy<Option<(&'static str, &'static str, String)>>;
    let present: Vec<Present> = keys
        .into_iter()
        .map(|(s, k, v)| proptest::option::of(v.prop_map(move |v| (s, k, v))).boxed())
        .collect();
    (presets, present).prop_map(|(preset, keys)| PolicyText {
        preset,
        keys: keys.into_iter().flatten().collect(),
    })
}

/// The value a valid policy took for `section.key`, as TOML text.
fn effective(p: &Policy, section: &str, key: &str) -> String {
    let table: toml::Table = toml::from_str(&p.to_toml()).unwrap();
    table[section][key].to_string()
}

#[test]
fn every_valid_policy_round_trips_through_to_toml() {
    let valid = Cell::new(0u32);
    let invalid = Cell::new(0u32);
    let base = fixture_dir();
    check(512, 0x5eed_0006, policy_text(), |text| {
        let source = text.render();
        let policy = match Policy::parse(&source, "gen.toml", base) {
            Ok(p) => p,
            Err(Error::Policy(e)) => {
                invalid.set(invalid.get() + 1);
                prop_assert!(!e.message.is_empty());
                prop_assert!(
                    e.to_string().starts_with("invalid policy gen.toml"),
                    "{}",
                    e
                );
                return Ok(());
            }
            Err(other) => return Err(TestCaseError::fail(format!("not a policy error: {other}"))),
        };
        valid.set(valid.get() + 1);
        prop_assert_eq!(policy.preset().name(), text.preset.unwrap_or("seed"));
        // Every key the file gave is the value in force (paths resolved).
        for (section, key, value) in &text.keys {
            let got = effective(&policy, section, key);
            let want = match *key {
                "blocklists" | "pepper_file" => continue,
                _ => {
                    toml::from_str::<toml::Table>(&format!("v = {value}")).unwrap()["v"].to_string()
                }
            };
            prop_assert_eq!(got, want, "{}.{} in\n{}", section, key, source);
        }
        if text.get("hashing", "pepper_file") == Some("\"pepper.bin\"") {
            prop_assert_eq!(
                policy.hashing().pepper_file.clone(),
                Some(base.join("pepper.bin"))
            );
            prop_assert_eq!(policy.pepper(), Some(&b"0123456789abcdef-pepper"[..]));
        }
        // Read back from another folder: resolved paths must not depend on it.
        let shown = policy.to_toml();
        let other = std::env::temp_dir();
        let again = Policy::parse(&shown, "shown.toml", &other).map_err(|e| {
            TestCaseError::fail(format!("{e}\n--- source\n{source}--- shown\n{shown}"))
        })?;
        prop_assert_eq!(&policy, &again, "source:\n{}", source);
        prop_assert_eq!(policy.pepper(), again.pepper());
        prop_assert_eq!(shown, again.to_toml());
        Ok(())
    });
    // The generator must exercise both sides of validation.
    eprintln!("{} valid, {} invalid policies", valid.get(), invalid.get());
    assert!(
        valid.get() >= 100,
        "only {} valid policies generated",
        valid.get()
    );
    assert!(
        invalid.get() >= 100,
        "only {} invalid policies generated",
        invalid.get()
    );
}

#[test]
fn policy_show_output_reads_back_through_the_cli() {
    // `policy show` of a file in a relative folder, saved beside it: the
    // relative blocklist must not be resolved twice (`conf/conf/list.txt`).
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    std::fs::create_dir(&conf).unwrap();
    write(&conf, "list.txt", "Password1\n");
    write_private(&conf, "pepper.bin", "0123456789abcdef-pepper\n");
    let cases = [
        "",
        "preset = \"nist-800-63b\"\n[length]\nmin = 8\n",
        "[strength]\nblocklists = [\"list.txt\", \"builtin:common-passwords\"]\n",
        "[hashing]\npepper_file = \"pepper.bin\"\nmemory_kib = 64\niterations = 1\nallow_weak_parameters = true\n",
        "[composition]\npatterns = [\"\\\"q\\\".*\", \"caf\u{e9}\\t\"]\n",
    ];
    for (i, text) in cases.iter().enumerate() {
        let name = format!("conf/policy{i}.toml");
        write(dir.path(), &name, text);
        let show = |file: &str| {
            let out = pwsentry(["--policy", file, "policy", "show"])
                .cwd(dir.path())
                .run();
            assert_eq!(out.code, 0, "{file}: {out:?}");
            // Drop the "# effective policy (from FILE)" line.
            out.stdout.split_once('\n').unwrap().1.to_owned()
        };
        let shown = show(&name);
        let shown_name = format!("conf/shown{i}.toml");
        write(dir.path(), &shown_name, &shown);
        assert_eq!(show(&shown_name), shown, "case {i}: {text}");
        let original = Policy::from_file(dir.path().join(&name)).unwrap();
        let reread = Policy::from_file(dir.path().join(&shown_name)).unwrap();
        assert_eq!(original, reread, "case {i}: {text}");
        let out = pwsentry(["policy", "check", &shown_name])
            .cwd(dir.path())
            .run();
        assert_eq!(out.code, 0, "case {i}: {out:?}");
    }
}

#[test]
fn an_empty_policy_file_is_the_seed_preset() {
    let dir = tempfile::tempdir().unwrap();
    for text in ["", "\n\n", "# only a comment\n"] {
        let path = write(dir.path(), "empty.toml", text);
        let p = Policy::from_file(&path).unwrap();
        assert_eq!(p, Policy::from_preset(pwsentry::Preset::Seed), "{text:?}");
        // The built-in default (the shipped policy.toml) adds a minimum age.
        assert_eq!(Policy::default().rotation().min_age_days, 1);
    }
}
