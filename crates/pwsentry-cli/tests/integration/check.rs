//! The rule engine and the `check` command: table-driven rule cases,
//! normalisation, presets, output formats and exit codes.

use crate::util::{pwsentry, rules_of, write};
use pwsentry::{Checker, Context, Policy, Preset, Rule};
use serde::Deserialize;
use std::collections::BTreeSet;

const DEFAULT_POLICY: &str = "[strength]\nmin_score = 0\n";

#[derive(Deserialize)]
struct Cases {
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    password: String,
    policy: Option<String>,
    account: Option<String>,
    #[serde(default)]
    user_inputs: Vec<String>,
    /// A password whose strength (score and guesses) the verdict must have.
    same_strength_as: Option<String>,
    violations: Vec<String>,
}

#[test]
fn rule_table() {
    let text =
        std::fs::read_to_string(crate::util::root().join("tests/data/rule_cases.toml")).unwrap();
    let cases: Cases = toml::from_str(&text).unwrap();
    assert!(cases.case.len() > 30);
    let mut failures = Vec::new();
    for case in &cases.case {
        let policy = match Policy::from_toml_str(case.policy.as_deref().unwrap_or(DEFAULT_POLICY)) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{}: {e}", case.name));
                continue;
            }
        };
        let checker = Checker::new(policy);
        let mut ctx = Context::new();
        if let Some(a) = &case.account {
            ctx = ctx.account(a.clone());
        }
        for w in &case.user_inputs {
            ctx = ctx.user_input(w.clone());
        }
        let verdict = checker.evaluate(&case.password, &ctx);
        let got: BTreeSet<&str> = verdict.violations().iter().map(|v| v.rule.code()).collect();
        let want: BTreeSet<&str> = case.violations.iter().map(String::as_str).collect();
        if got != want {
            failures.push(format!("{}: got {got:?}, want {want:?}", case.name));
        }
        if let Some(other) = &case.same_strength_as {
            let strength = |v: &pwsentry::Verdict| {
                v.strength()
                    .map(|s| (s.score, s.guesses_log10.to_bits(), s.bounded))
            };
            let theirs = checker.evaluate(other, &ctx);
            if strength(&verdict) != strength(&theirs) || strength(&verdict).is_none() {
                failures.push(format!(
                    "{}: strength {:?}, want that of {other:?}: {:?}",
                    case.name,
                    verdict.strength(),
                    theirs.strength()
                ));
            }
        }
        if verdict.accepted() != want.is_empty() {
            failures.push(format!("{}: accepted {}", case.name, verdict.accepted()));
        }
    }
    assert!(
        failures.is_empty(),
        "rule cases failed:\n{}",
        failures.join("\n")
    );
}

#[test]
fn composed_and_decomposed_forms_count_the_same() {
    let policy = Policy::from_toml_str("[length]\nmin = 9\n[strength]\nmin_score = 0\n").unwrap();
    let checker = Checker::new(policy);
    // "café#2024" is 9 code points composed, 10 decomposed.
    let composed = "caf\u{e9}#2024";
    let decomposed = "cafe\u{301}#2024";
    assert_eq!(composed.chars().count(), 9);
    assert_eq!(decomposed.chars().count(), 10);
    let a = checker.evaluate(composed, &Context::new());
    let b = checker.evaluate(decomposed, &Context::new());
    assert!(a.accepted(), "{:?}", a.violations());
    assert_eq!(a, b);
    // And one fewer is too short in both forms.
    let a = checker.evaluate("caf\u{e9}#202", &Context::new());
    let b = checker.evaluate("cafe\u{301}#202", &Context::new());
    assert!(a.violates(Rule::MinLength));
    assert_eq!(a, b);
}

#[test]
fn blocklist_files_match_whole_password_ignoring_case() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "banned.txt", "Summer#2024\nletmein!9\n");
    let policy_path = write(
        dir.path(),
        "policy.toml",
        "[strength]\nmin_score = 0\nblocklists = [\"banned.txt\"]\n",
    );
    let checker = Checker::new(Policy::from_file(&policy_path).unwrap());
    let ctx = Context::new();
    assert!(
        checker
            .evaluate("SUMMER#2024", &ctx)
            .violates(Rule::Blocklist)
    );
    assert!(
        checker
            .evaluate("letmein!9", &ctx)
            .violates(Rule::Blocklist)
    );
    assert!(
        !checker
            .evaluate("Summer#2024x", &ctx)
            .violates(Rule::Blocklist),
        "whole-password match only"
    );
}

#[test]
fn messages_are_plain_and_never_quote_the_password() {
    let checker = Checker::new(Policy::default());
    let secret = "alice";
    let v = checker.evaluate(secret, &Context::new().account("alice@example.com"));
    let symbols = v
        .violations()
        .iter()
        .find(|x| x.rule == Rule::Symbols)
        .unwrap();
    assert_eq!(symbols.message, "needs at least 1 symbol, such as @ or #");
    let len = v
        .violations()
        .iter()
        .find(|x| x.rule == Rule::MinLength)
        .unwrap();
    assert_eq!(len.message, "must be at least 8 characters long (3 more)");
    for x in v.violations() {
        assert!(!x.message.contains(secret), "{}", x.message);
    }
}

#[test]
fn presets_are_complete_and_distinct() {
    let seed = Policy::from_preset(Preset::Seed);
    let nist = Policy::from_preset(Preset::Nist80063b);
    let pci = Policy::from_preset(Preset::PciDss4);
    // The shipped policy.toml is the seed preset with a one-day minimum
    // age (issue 9: history flushing).
    let shipped = Policy::from_toml_str("[rotation]\nmin_age_days = 1\n").unwrap();
    assert_eq!(
        shipped,
        Policy::default(),
        "the shipped policy.toml is the seed preset with min_age_days = 1"
    );
    assert_eq!(seed.rotation().min_age_days, 0);
    assert_eq!(
        (
            seed.length().min,
            seed.composition().min_symbols,
            seed.strength().min_score
        ),
        (8, 1, 3)
    );
    assert_eq!(
        (
            seed.rotation().max_age_days,
            seed.rotation().warn_days,
            seed.history().remember
        ),
        (90, 14, 5)
    );
    assert_eq!(nist.length().min, 15);
    assert!(nist.length().max >= 64);
    assert_eq!(
        nist.composition().min_symbols
            + nist.composition().min_digits
            + nist.composition().min_letters,
        0
    );
    assert_eq!(nist.rotation().max_age_days, 0);
    assert!(!nist.strength().blocklists.is_empty() && nist.strength().reject_context_words);
    assert_eq!(
        (
            pci.length().min,
            pci.rotation().max_age_days,
            pci.history().remember
        ),
        (12, 90, 4)
    );
    assert_eq!(
        (pci.composition().min_letters, pci.composition().min_digits),
        (1, 1)
    );
}

#[test]
fn cli_text_output_and_exit_codes() {
    let out = pwsentry(["check"]).stdin("hello\n").run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.starts_with("rejected: strength 0/4"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("symbols: needs at least 1 symbol, such as @ or #")
    );
    assert!(
        !out.stdout.contains("hello"),
        "the password is never printed"
    );
    let out = pwsentry(["check"]).stdin("Velvet#Orbit#Canyon42\n").run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.starts_with("accepted: strength 4/4"),
        "{}",
        out.stdout
    );
}

#[test]
fn cli_json_output() {
    // Its own (absent) history: as root the default is the system's.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db").display().to_string();
    let out = pwsentry([
        "--json",
        "--db",
        &db,
        "check",
        "--account",
        "alice@example.com",
    ])
    .stdin("alice2024\n")
    .run();
    assert_eq!(out.code, 1);
    let v = out.json();
    assert_eq!(v["accepted"], false);
    assert_eq!(v["score"].as_u64(), Some(1));
    assert!(v["guesses_log10"].as_f64().unwrap() > 3.0);
    assert_eq!(rules_of(&v), ["symbols", "context_word", "min_score"]);
    assert!(v["suggestions"].is_array());
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        &keys[..6],
        [
            "accepted",
            "score",
            "guesses_log10",
            "violations",
            "warning",
            "suggestions"
        ]
    );
}

#[test]
fn cli_batch_keeps_input_order_and_reports_bad_lines() {
    let mut input = String::new();
    let pws = [
        "short",
        "Velvet#Orbit#Canyon42",
        "",
        "bluehorse7",
        "Tr0ub4dor&3-Qx!",
    ];
    for _ in 0..300 {
        for p in pws {
            input.push_str(p);
            input.push('\n');
        }
    }
    let out = pwsentry(["--json", "check", "--batch"]).stdin(&input).run();
    assert_eq!(out.code, 1, "some rejected: {}", out.stderr);
    let lines = out.json_lines();
    assert_eq!(lines.len(), 1500);
    for (i, v) in lines.iter().enumerate() {
        let expect_ok = matches!(i % 5, 1 | 4);
        assert_eq!(v["accepted"], expect_ok, "line {}", i + 1);
    }
    // Text batch: one line per result.
    let out = pwsentry(["check", "--batch"])
        .stdin("Velvet#Orbit#Canyon42\nabc\n")
        .run();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "accepted\tscore=4",
            "rejected\tscore=0\tmin_length,digits,symbols,min_score"
        ]
    );
    // An invalid line is an error result in place; the run exits 2.
    let out = pwsentry(["--json", "check", "--batch"])
        .stdin(b"Velvet#Orbit#Canyon42\n\xff\xfe\nabc\n".as_slice())
        .run();
    assert_eq!(out.code, 2);
    let lines = out.json_lines();
    assert_eq!(lines.len(), 3);
    assert!(
        lines[1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 2 is not valid UTF-8")
    );
    assert_eq!(lines[1]["error"]["code"], "invalid_input");
    assert_eq!(lines[1]["accepted"], false);
    assert_eq!(lines[2]["accepted"], false);
    // All accepted: exit 0.
    let out = pwsentry(["check", "--batch"])
        .stdin("Velvet#Orbit#Canyon42\n")
        .run();
    assert_eq!(out.code, 0);
}

#[test]
fn cli_bad_stdin() {
    let out = pwsentry(["check"]).stdin(b"caf\xe9\n".as_slice()).run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("stdin is not valid UTF-8"),
        "{}",
        out.stderr
    );
    // Empty stdin: a usage error, not an empty password.
    let out = pwsentry(["--json", "check"]).run();
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stdout.is_empty(), "no verdict: {}", out.stdout);
    let err: serde_json::Value = serde_json::from_str(out.stderr.trim()).unwrap();
    assert_eq!(err["error"]["code"], "usage");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no password on stdin")
    );
    // An empty line is an empty password: rejected.
    let out = pwsentry(["--json", "check"]).stdin("\n").run();
    assert_eq!(out.code, 1);
    assert!(out.rules().contains(&"min_length".to_owned()));
    // A 10 MB line is rejected as too long without being scored.
    let mut big = vec![b'a'; 10 * 1024 * 1024];
    big.push(b'\n');
    let out = pwsentry(["--json", "check"]).stdin(&big).run();
    assert_eq!(out.code, 1);
    let v = out.json();
    assert_eq!(rules_of(&v), ["max_length"]);
    assert!(v["score"].is_null(), "not scored");
}

#[test]
fn password_arguments_are_not_accepted() {
    let out = pwsentry(["check", "Velvet#Orbit#Canyon42"]).run();
    assert_eq!(out.code, 2);
    assert!(
        !out.stderr.contains("Velvet#Orbit#Canyon42") || out.stderr.contains("unexpected argument")
    );
    let out = pwsentry(["check", "--password", "x"]).run();
    assert_eq!(out.code, 2);
}

#[test]
fn policy_lookup_order() {
    let dir = tempfile::tempdir().unwrap();
    // ./policy.toml in the working directory never applies (issue 9)...
    write(dir.path(), "policy.toml", "preset = \"nist-800-63b\"\n");
    let out = pwsentry(["--json", "check"])
        .cwd(dir.path())
        .stdin("velvet orbit canyon\n")
        .run();
    assert_eq!(
        out.code, 1,
        "the built-in policy wants a digit: {}",
        out.stdout
    );
    // ...$PWSENTRY_POLICY beats it...
    let env_policy = write(dir.path(), "env.toml", "[length]\nmin = 30\n");
    let out = pwsentry(["--json", "check"])
        .cwd(dir.path())
        .env("PWSENTRY_POLICY", &env_policy)
        .stdin("velvet orbit canyon\n")
        .run();
    assert!(out.rules().contains(&"min_length".to_owned()));
    // ...and --policy beats both.
    let out = pwsentry(["--json", "--policy", "policy.toml", "check"])
        .cwd(dir.path())
        .env("PWSENTRY_POLICY", &env_policy)
        .stdin("velvet orbit canyon\n")
        .run();
    assert_eq!(out.code, 0);
}

/// Issue 9's Unicode reproductions, end to end through `pwsentry check`
/// with the shipped policy (or the named preset), passwords on stdin.
#[test]
fn cli_unicode_reproductions() {
    let run = |policy: Option<&str>, password: &str| {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["--json".to_owned()];
        if let Some(text) = policy {
            let path = write(dir.path(), "policy.toml", text);
            args.extend(["--policy".to_owned(), path.display().to_string()]);
        }
        args.push("check".to_owned());
        let out = pwsentry(args).stdin(format!("{password}\n")).run();
        assert_eq!(out.code, 1, "{password:?} must be rejected: {out:?}");
        out.json()
    };
    // Fullwidth scores like ASCII (1 of 4), not 3.
    let fullwidth = run(
        None,
        "\u{FF30}\u{FF41}\u{FF53}\u{FF53}\u{FF57}\u{FF4F}\u{FF52}\u{FF44}\u{FF11}!",
    );
    let ascii = run(None, "Password1!");
    assert_eq!(fullwidth["score"], ascii["score"]);
    assert_eq!(fullwidth["score"].as_u64(), Some(1));
    assert_eq!(rules_of(&fullwidth), ["min_score"]);
    // Five typed characters, nine code points.
    let v = run(None, "\u{958}\u{959}\u{95A}\u{95C}1");
    assert!(rules_of(&v).contains(&"min_length".to_owned()), "{v}");
    // a1 and a family emoji: three characters.
    let v = run(
        None,
        "a1\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}\u{200D}\u{1F466}",
    );
    assert!(rules_of(&v).contains(&"min_length".to_owned()), "{v}");
    // A zero-width space: rejected, and never the symbol.
    let v = run(None, "Password123!\u{200B}");
    assert!(
        rules_of(&v).contains(&"control_characters".to_owned()),
        "{v}"
    );
    let v = run(Some("[strength]\nmin_score = 0\n"), "Password123\u{200B}");
    assert_eq!(rules_of(&v), ["control_characters", "symbols"]);
    // A combining mark is not a symbol.
    let v = run(Some("[strength]\nmin_score = 0\n"), "bluehorse7\u{301}");
    assert_eq!(rules_of(&v), ["symbols"]);
    // Fullwidth passwordpassword is on the NIST preset's blocklist.
    let v = run(
        Some("preset = \"nist-800-63b\"\n"),
        &"\u{FF50}\u{FF41}\u{FF53}\u{FF53}\u{FF57}\u{FF4F}\u{FF52}\u{FF44}".repeat(2),
    );
    assert!(rules_of(&v).contains(&"blocklist".to_owned()), "{v}");
}
