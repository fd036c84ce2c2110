//! What the fuzz targets check, one function per target. Each takes the
//! fuzzer's bytes and panics when pwsentry breaks a promise; returning
//! means the input was handled correctly.
//!
//! The same functions replay the committed corpus (`fuzz/corpus/<target>/`)
//! as regression tests on the stable toolchain: the integration test
//! `tests/integration/fuzz_corpus.rs` includes this file as a module. So
//! this file uses only what the main crate's tests also have: `pwsentry`,
//! `chrono` and `unicode-normalization`.

use chrono::{DateTime, TimeZone, Utc};
use pwsentry::history::Argon2Hash;
use pwsentry::policy::{MAX_ITERATIONS, MAX_MEMORY_KIB, MAX_PARALLELISM};
use pwsentry::store::{MemoryStore, Store};
use pwsentry::{ChangeRequest, Checker, Context, Error, Policy, Rule, Verdict};
use std::path::Path;
use std::sync::OnceLock;
use unicode_normalization::UnicodeNormalization;

/// Relative blocklist and pepper paths of fuzzed policies resolve here: a
/// folder that does not exist, so they are "not found" errors.
const FUZZ_BASE: &str = "/nonexistent/pwsentry-fuzz";

/// `policy_parser`: any text either is a valid policy whose `to_toml` reads
/// back to an equal policy (and the same text), or is refused with a policy
/// error whose line lies within the text. Never a panic, never another
/// kind of error.
pub fn policy_parser(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if names_a_device(text) {
        return;
    }
    let base = Path::new(FUZZ_BASE);
    match Policy::parse(text, "fuzz.toml", base) {
        Ok(policy) => {
            let shown = policy.to_toml();
            let again = match Policy::parse(&shown, "shown.toml", base) {
                Ok(p) => p,
                Err(e) => panic!("to_toml output does not parse: {e}\n{shown}"),
            };
            assert_eq!(policy, again, "to_toml output is another policy:\n{shown}");
            assert_eq!(shown, again.to_toml(), "to_toml is not stable");
        }
        Err(Error::Policy(e)) => {
            assert!(!e.message.is_empty(), "an empty error message");
            if let Some(line) = e.line {
                let lines = text.split('\n').count();
                assert!(
                    (1..=lines).contains(&line),
                    "line {line} of a {lines}-line text"
                );
                assert!(e.column.is_some_and(|c| c >= 1), "{e:?}");
            }
        }
        Err(other) => panic!("policy text gave a non-policy error: {other}"),
    }
}

/// A fuzzed policy may name any file as a blocklist or pepper; reading a
/// device (`/dev/zero`, `/dev/stdin`) would hang the fuzzer, not find a bug
/// in the parser. Skips any text whose TOML strings mention such a place.
fn names_a_device(text: &str) -> bool {
    fn walk(v: &toml::Value) -> bool {
        match v {
            toml::Value::String(s) => ["dev", "proc", "sys", "run"].iter().any(|d| s.contains(d)),
            toml::Value::Array(a) => a.iter().any(walk),
            toml::Value::Table(t) => t.values().any(walk),
            _ => false,
        }
    }
    toml::from_str::<toml::Table>(text).is_ok_and(|t| t.values().any(walk))
}

/// The policies `evaluate` picks from: every rule switched on somewhere.
fn checkers() -> &'static [Checker] {
    static CHECKERS: OnceLock<Vec<Checker>> = OnceLock::new();
    CHECKERS.get_or_init(|| {
        let texts = [
            "",
            "preset = \"nist-800-63b\"\n",
            "preset = \"pci-dss-4\"\n",
            "[length]\nmin = 10\nmax = 64\n\
             [composition]\nmin_lowercase = 1\nmin_uppercase = 1\nmin_classes = 4\n\
             max_repeat = 2\nmax_sequence = 3\npatterns = [\"[^ ].*[^ ]\", \"(?s).*\\\\p{L}.*\"]\n\
             [strength]\nmin_score = 4\nblocklists = [\"builtin:common-passwords\"]\n",
            // The longest passwords any policy allows, scored in full.
            "preset = \"nist-800-63b\"\n[length]\nmin = 1\nmax = 1024\n[strength]\nmin_score = 0\n",
        ];
        texts
            .iter()
            .map(|t| Checker::new(Policy::from_toml_str(t).expect("fuzz policies are valid")))
            .collect()
    })
}

/// `evaluate`: the first byte picks a policy (and, with its high bit set,
/// the text before the first newline is the account); the rest, decoded
/// lossily, is the candidate. The verdict must be consistent, and the same
/// for the NFC and NFD spellings of the candidate (up to zxcvbn's own
/// nondeterminism, see [`same_verdicts`]).
pub fn evaluate(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let (account, password) = match text.split_once('\n') {
        Some((a, p)) if selector & 0x80 != 0 => (Some(a), p),
        _ => (None, &*text),
    };
    let checker = &checkers()[usize::from(selector & 0x7f) % checkers().len()];
    let context = account.map_or_else(Context::new, |a| Context::new().account(a));
    let verdict = checker.evaluate(password, &context);
    assert_consistent(&verdict, password);
    // Only spellings that differ from the input cost another evaluation.
    let nfd: String = password.nfd().collect();
    let nfc: String = password.nfc().collect();
    for (form, other) in [("NFD", &nfd), ("NFC", &nfc)] {
        if other != password {
            assert!(
                same_verdicts(checker, &context, password, other),
                "the {form} spelling gets another verdict: {verdict:?} vs {:?}",
                checker.evaluate(other, &context)
            );
        }
    }
}

/// Whether `a` and `b` get the same verdict, allowing for zxcvbn's own
/// nondeterminism: zxcvbn 3.1.1 iterates `HashMap`s (random order per
/// map) when it picks the cheapest match sequence, so a few inputs (such
/// as `"Jose\u{6}"`, four NULs, `"4048!"`) get one of two guess counts from call
/// to call. Then the verdicts of `a` and `b`, each drawn a few times, must
/// have an outcome in common: a normalisation bug would give disjoint sets.
pub fn same_verdicts(checker: &Checker, context: &Context, a: &str, b: &str) -> bool {
    let (va, vb) = (checker.evaluate(a, context), checker.evaluate(b, context));
    if va == vb {
        return true;
    }
    let draws = |p: &str| -> Vec<Verdict> {
        let mut seen: Vec<Verdict> = Vec::new();
        for _ in 0..32 {
            let v = checker.evaluate(p, context);
            if !seen.contains(&v) {
                seen.push(v);
            }
        }
        seen
    };
    let (sa, sb) = (draws(a), draws(b));
    sa.iter().any(|v| sb.contains(v))
}

fn assert_consistent(v: &Verdict, password: &str) {
    assert_eq!(v.accepted(), v.violations().is_empty());
    match v.strength() {
        None => assert!(
            v.violates(Rule::MaxLength),
            "unscored without max_length: {v:?}"
        ),
        Some(s) => {
            assert!(s.score <= 4, "{s:?}");
            assert!(
                s.guesses_log10.is_finite() && s.guesses_log10 >= 0.0,
                "{s:?}"
            );
        }
    }
    if password.chars().count() >= 12 {
        for x in v.violations() {
            assert!(
                !x.message.contains(password),
                "a message quotes the password: {}",
                x.message
            );
        }
    }
}

/// The parts of a hash line an error must never repeat: `$`-separated
/// fields of 16 or more base64 characters (salts, digests, or anything in
/// their place). Shorter text, and text with other characters, can occur
/// in the fixed wording of an error ("expected $argon2id$v=19$m=...") by
/// chance, so it proves nothing.
fn quotable_fields(line: &str) -> impl Iterator<Item = &str> {
    line.split('$').filter(|f| {
        f.len() >= 16
            && f.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    })
}

/// Most lines of one `hash_import` input that are imported (the policy
/// remembers more than this, so none is pruned).
const MAX_IMPORTED: usize = 64;

/// argon2 cost (KiB × passes × lanes) up to which imported hashes are also
/// verified against a candidate: enough to run every parameter shape,
/// cheap enough to fuzz.
const VERIFY_COST_LIMIT: u64 = 1 << 9;

fn fuzz_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 31, 12, 0, 0)
        .single()
        .expect("a valid date")
}

fn import_checker() -> &'static Checker {
    static CHECKER: OnceLock<Checker> = OnceLock::new();
    CHECKER.get_or_init(|| {
        let text = "[hashing]\nmemory_kib = 64\niterations = 1\nallow_weak_parameters = true\n\
                    [history]\nremember = 1000\n";
        Checker::new(Policy::from_toml_str(text).expect("a valid policy"))
    })
}

/// `hash_import`: each line of the input is parsed as `import` parses it.
/// A hash that parses has bounded parameters and prints back (PHC and
/// Dovecot forms) to an equal hash; a refused one gets a hash error that
/// does not quote it. The parsed hashes are then imported into a memory
/// store, where every one is kept verbatim; when they are cheap, a
/// candidate is checked against them.
pub fn hash_import(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut hashes = Vec::new();
    for line in text.lines().take(MAX_IMPORTED) {
        match Argon2Hash::parse(line) {
            Ok(h) => {
                assert!((1..=MAX_PARALLELISM).contains(&h.parallelism()), "{h:?}");
                assert!((1..=MAX_ITERATIONS).contains(&h.iterations()), "{h:?}");
                assert!(
                    (8 * h.parallelism()..=MAX_MEMORY_KIB).contains(&h.memory_kib()),
                    "{h:?}"
                );
                for printed in [h.to_string(), h.to_dovecot()] {
                    match Argon2Hash::parse(&printed) {
                        Ok(again) => assert_eq!(again, h, "{printed} reads back differently"),
                        Err(e) => panic!("{printed} does not read back: {e}"),
                    }
                }
                hashes.push(h);
            }
            Err(Error::Hash(message)) => {
                for field in quotable_fields(line) {
                    assert!(
                        !message.contains(field),
                        "the error quotes the input: {message}"
                    );
                }
            }
            Err(other) => panic!("a hash line gave a non-hash error: {other}"),
        }
    }
    if hashes.is_empty() {
        return;
    }
    let checker = import_checker();
    let store = MemoryStore::new();
    let account = "fuzz@example.com";
    let now = fuzz_now();
    let mail: Vec<pwsentry::mailhash::MailHash> = hashes.iter().cloned().map(Into::into).collect();
    if let Err(e) = checker.import_hashes(&store, account, &mail, now, now) {
        panic!("importing parsed hashes failed: {e}");
    }
    let history = match store.history(account) {
        Ok(Some(h)) => h,
        other => panic!("the imported history is missing: {other:?}"),
    };
    let mut stored: Vec<String> = history
        .entries()
        .iter()
        .map(|e| e.hash().to_owned())
        .collect();
    let mut imported: Vec<String> = hashes.iter().map(ToString::to_string).collect();
    stored.sort();
    imported.sort();
    assert_eq!(
        stored, imported,
        "the store does not hold exactly the imported hashes"
    );
    let cheap = hashes.iter().all(|h| {
        u64::from(h.memory_kib()) * u64::from(h.iterations()) * u64::from(h.parallelism())
            <= VERIFY_COST_LIMIT
    });
    if cheap && hashes.len() <= 4 {
        let request = ChangeRequest::new(account, "Velvet#Orbit#Canyon42", now);
        match checker.evaluate_change(&store, &request) {
            Ok(change) => assert!(
                !change.verdict().violates(Rule::Reuse),
                "a random digest matched the candidate"
            ),
            Err(e) => panic!("checking against imported hashes failed: {e}"),
        }
    }
}
