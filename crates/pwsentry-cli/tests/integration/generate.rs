//! `generate`, `completions` and `man`: generated passwords pass the policy
//! they were made for (checked by the independent `check --batch` path),
//! never repeat, and the completion scripts and man page are well formed.

use crate::util::{pwsentry, rules_of, write};
use std::collections::HashSet;

const NIST: &str = "preset = \"nist-800-63b\"\n";

/// Runs `pwsentry [--policy P] generate <args>` and returns stdout's lines.
fn generate(policy: Option<&str>, args: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut argv: Vec<String> = Vec::new();
    if let Some(text) = policy {
        argv.push("--policy".into());
        argv.push(write(dir.path(), "policy.toml", text).display().to_string());
    }
    argv.push("generate".into());
    argv.extend(args.iter().map(|s| s.to_string()));
    let out = pwsentry(&argv).run();
    assert_eq!(out.code, 0, "generate {args:?} failed: {}", out.stderr);
    out.stdout.lines().map(str::to_owned).collect()
}

/// Checks every line with `check --batch --json` under `policy` and
/// asserts each is accepted with score 4.
fn assert_all_accepted(policy: Option<&str>, lines: &[String], what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut argv: Vec<String> = vec!["--json".into()];
    if let Some(text) = policy {
        argv.push("--policy".into());
        argv.push(write(dir.path(), "policy.toml", text).display().to_string());
    }
    argv.extend(["check".into(), "--batch".into()]);
    let out = pwsentry(&argv).stdin(lines.join("\n") + "\n").run();
    let results = out.json_lines();
    assert_eq!(
        results.len(),
        lines.len(),
        "{what}: one result per line; stderr: {}",
        out.stderr
    );
    for (line, r) in lines.iter().zip(&results) {
        assert_eq!(
            r["accepted"],
            true,
            "{what}: a generated password was rejected: {:?}",
            rules_of(r)
        );
        assert_eq!(
            r["score"], 4,
            "{what}: a generated password scored below 4 ({line:?} has {})",
            r["score"]
        );
    }
    assert_eq!(out.code, 0, "{what}: {}", out.stderr);
}

#[test]
fn a_thousand_passwords_and_passphrases_pass_the_shipped_and_nist_policies() {
    // The four generate runs are single-threaded; run them side by side.
    let jobs: Vec<(Option<&'static str>, &'static [&'static str], &'static str)> = vec![
        (None, &["--count", "1000"], "shipped policy, passwords"),
        (
            None,
            &["--count", "1000", "--passphrase"],
            "shipped policy, passphrases",
        ),
        (Some(NIST), &["--count", "1000"], "nist-800-63b, passwords"),
        (
            Some(NIST),
            &["--count", "1000", "--passphrase"],
            "nist-800-63b, passphrases",
        ),
    ];
    let outputs: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|(policy, args, _)| s.spawn(move || generate(*policy, args)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut seen = HashSet::new();
    for ((policy, _, what), lines) in jobs.iter().zip(&outputs) {
        assert_eq!(lines.len(), 1000, "{what}");
        for l in lines {
            assert!(
                seen.insert(l.clone()),
                "{what}: a generated password came out twice"
            );
        }
        if what.ends_with("passphrases") {
            assert!(
                lines.iter().all(|l| l.split('-').count() >= 6),
                "{what}: six words each"
            );
        }
        assert_all_accepted(*policy, lines, what);
    }
    assert_eq!(seen.len(), 4000, "no two of the 4,000 are equal");
}

#[test]
fn passwords_mix_every_class_and_passphrases_follow_the_policy() {
    let lines = generate(None, &["--count", "20", "--length", "20"]);
    for l in &lines {
        assert_eq!(l.chars().count(), 20);
        assert!(l.chars().any(|c| c.is_ascii_lowercase()), "lowercase");
        assert!(l.chars().any(|c| c.is_ascii_uppercase()), "uppercase");
        assert!(l.chars().any(|c| c.is_ascii_digit()), "digit");
        assert!(l.chars().any(|c| !c.is_ascii_alphanumeric()), "symbol");
        assert!(
            !l.contains(|c: char| "'\"\\` |".contains(c)),
            "no character that needs quoting"
        );
    }
    // The shipped policy wants a digit; NIST wants nothing but words.
    let seed = generate(None, &["--words", "5", "--count", "20"]);
    assert!(
        seed.iter().all(|l| l.chars().any(|c| c.is_ascii_digit())),
        "{seed:?}"
    );
    let nist = generate(Some(NIST), &["--words", "5", "--count", "20"]);
    assert!(
        nist.iter()
            .all(|l| l.chars().all(|c| c.is_ascii_lowercase() || c == '-')),
        "{nist:?}"
    );
    assert!(nist.iter().all(|l| l.split('-').count() >= 5));
}

#[test]
fn entropy_goes_to_stderr_or_into_the_json() {
    let out = pwsentry(["generate", "--passphrase"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout.lines().count(),
        1,
        "only the passphrase on stdout"
    );
    assert!(
        out.stderr.contains(
            "6-word passphrase: 80.5 bits of entropy (at least 60 required), zxcvbn strength 4/4"
        ),
        "{}",
        out.stderr
    );

    let out = pwsentry(["--json", "generate", "--count", "3"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = out.json_lines();
    assert_eq!(lines.len(), 3);
    for v in lines {
        assert_eq!(v["password"].as_str().unwrap().chars().count(), 16);
        let bits = v["entropy_bits"].as_f64().unwrap();
        assert!((90.0..96.0).contains(&bits), "{bits}");
        assert_eq!(v["score"], 4);
    }
}

#[test]
fn impossible_requests_fail_with_a_reason() {
    let out = pwsentry(["generate", "--length", "8"]).run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("ask for 11 characters or more"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());

    let out = pwsentry(["generate", "--length", "500"]).run();
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("allows 8 to 128"), "{}", out.stderr);

    let out = pwsentry(["generate", "--words", "0"]).run();
    assert_eq!(out.code, 2, "clap rejects it");
}

#[test]
fn too_little_real_entropy_is_refused_whatever_zxcvbn_says() {
    // One word of 7,776 (plus a digit and a symbol) scores 4/4 with zxcvbn
    // but has about 20 bits: refused, nothing on stdout.
    for words in ["1", "2", "4"] {
        let out = pwsentry(["generate", "--words", words]).run();
        assert_eq!(out.code, 2, "--words {words}: {}", out.stdout);
        assert!(out.stdout.is_empty(), "nothing generated: {}", out.stdout);
        assert!(
            out.stderr
                .contains(&format!("refused: a {words}-word passphrase has only"))
                && out.stderr.contains("below the 60-bit floor")
                && out.stderr.contains("ask for 5 words or more"),
            "{}",
            out.stderr
        );
    }
    let out = pwsentry(["--json", "generate", "--length", "10"]).run();
    assert_eq!(out.code, 2);
    let err: serde_json::Value = serde_json::from_str(out.stderr.trim()).unwrap();
    assert_eq!(err["error"]["code"], "cannot_generate");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("a 10-character password has only 53.8 bits"),
        "{err}"
    );
    // Five words are enough, and the note says what zxcvbn really said.
    let out = pwsentry(["--json", "generate", "--words", "5", "--count", "5"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    for v in out.json_lines() {
        assert!(v["entropy_bits"].as_f64().unwrap() >= 60.0, "{v}");
    }
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    for (shell, marker) in [
        ("bash", "complete -F _pwsentry"),
        ("zsh", "#compdef pwsentry"),
        ("fish", "complete -c pwsentry"),
    ] {
        let out = pwsentry(["completions", shell]).run();
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        assert!(
            out.stdout.contains(marker),
            "{shell} script lacks {marker:?}"
        );
        for word in ["set", "generate", "print-hash", "passphrase", "stale"] {
            assert!(out.stdout.contains(word), "{shell} script lacks {word}");
        }
    }
    let out = pwsentry(["completions", "tcsh"]).run();
    assert_eq!(out.code, 2);
}

#[test]
fn completions_load_in_bash() {
    let out = pwsentry(["completions", "bash"]).run();
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "pwsentry.bash", &out.stdout);
    let status = std::process::Command::new("bash")
        .args([
            "--norc",
            "-c",
            &format!("source {} && complete -p pwsentry", script.display()),
        ])
        .output()
        .expect("bash runs");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(String::from_utf8_lossy(&status.stdout).contains("_pwsentry"));
}

#[test]
fn man_page_is_roff_with_every_command() {
    let out = pwsentry(["man"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with(".ie"), "roff preamble");
    assert!(out.stdout.contains(".TH pwsentry 1"), "title header");
    for cmd in [
        "check",
        "record",
        "set",
        "generate",
        "completions",
        "man",
        "stale",
    ] {
        assert!(
            out.stdout.contains(&format!("pwsentry\\-{cmd}")) || out.stdout.contains(cmd),
            "{cmd} missing"
        );
    }
    // `man -l` renders it without errors where man is installed.
    if std::process::Command::new("man")
        .arg("--version")
        .output()
        .is_ok()
    {
        let dir = tempfile::tempdir().unwrap();
        let page = write(dir.path(), "pwsentry.1", &out.stdout);
        let rendered = std::process::Command::new("man")
            .args(["-l", "-P", "cat"])
            .arg(&page)
            .env("MANWIDTH", "80")
            .output()
            .expect("man runs");
        let text = String::from_utf8_lossy(&rendered.stdout);
        for section in [
            "COMMANDS",
            "EXIT STATUS",
            "FILES",
            "ENVIRONMENT",
            "EXAMPLES",
        ] {
            assert!(text.contains(section), "{section} missing:\n{text}");
        }
        assert!(
            String::from_utf8_lossy(&rendered.stderr).trim().is_empty(),
            "man warns: {}",
            String::from_utf8_lossy(&rendered.stderr)
        );
    }
    // It names no other page: none is installed with it.
    let named: Vec<&str> = out
        .stdout
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| w.ends_with("(1)") || w.ends_with("(5)") || w.ends_with("(8)"))
        .collect();
    assert!(named.is_empty(), "names other pages: {named:?}");
}

#[test]
fn man_and_completions_write_files_for_packagers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let out = pwsentry(["man", "--output", &d]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let page = std::fs::read_to_string(dir.path().join("pwsentry.1")).unwrap();
    assert_eq!(
        page,
        pwsentry(["man"]).run().stdout,
        "the same page as on stdout"
    );
    assert_eq!(
        out.stdout.trim(),
        dir.path().join("pwsentry.1").display().to_string()
    );
    for (shell, file, marker) in [
        ("bash", "pwsentry.bash", "complete -F _pwsentry"),
        ("zsh", "_pwsentry", "#compdef pwsentry"),
        ("fish", "pwsentry.fish", "complete -c pwsentry"),
    ] {
        let out = pwsentry(["completions", shell, "--output", &d]).run();
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        let script = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert!(script.contains(marker), "{shell}");
    }
    let out = pwsentry(["--json", "completions", "bash", "--output", &d]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.json()["file"],
        dir.path().join("pwsentry.bash").display().to_string()
    );
    let missing = dir.path().join("no/such/dir").display().to_string();
    let out = pwsentry(["--json", "man", "--output", &missing]).run();
    assert_eq!(out.code, 2);
    let err: serde_json::Value = serde_json::from_str(out.stderr.trim()).unwrap();
    assert_eq!(err["error"]["code"], "io", "{err}");
}
