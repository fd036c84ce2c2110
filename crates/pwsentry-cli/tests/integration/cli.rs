//! The command line's contract across commands: `--json` everywhere,
//! errors as JSON with stable codes, one password per stdin unless
//! `--batch`, global options listed once in help.

use crate::util::{Output, pwsentry, write};

const STRONG: &str = "Velvet#Orbit#Canyon42";
const NOW: &str = "2026-01-31T12:00:00Z";
const CHEAP: &str =
    "[hashing]\nmemory_kib = 64\niterations = 1\nparallelism = 1\nallow_weak_parameters = true\n";

/// The JSON error object on stderr: (code, message).
fn json_error(out: &Output) -> (String, String) {
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {:?}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(lines[0])
        .unwrap_or_else(|e| panic!("stderr is not JSON ({e}): {}", out.stderr));
    let code = v["error"]["code"].as_str().expect("error.code").to_owned();
    let message = v["error"]["message"]
        .as_str()
        .expect("error.message")
        .to_owned();
    assert!(
        code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
        "snake_case code: {code}"
    );
    (code, message)
}

/// A run that must fail: arguments, stdin, exit code, error code and a
/// piece of the message.
type FailingRun<'a> = (Vec<&'a str>, &'a [u8], i32, &'a str, &'a str);

#[test]
fn errors_under_json_are_json_on_stderr_with_stable_codes() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.toml", "[strength]\nmin_score = \"3\"\n");
    let bad = bad.display().to_string();
    let cases: Vec<FailingRun> = vec![
        (
            vec!["--json", "check", "--no-such-option"],
            b"",
            2,
            "usage",
            "unexpected argument",
        ),
        (
            vec!["check", "--json", "hunter2"],
            b"",
            2,
            "usage",
            "not shown: it may be a password",
        ),
        (
            vec!["--json", "check"],
            b"",
            2,
            "usage",
            "no password on stdin",
        ),
        (
            vec!["--json", "check"],
            b"a\nb\n",
            2,
            "usage",
            "use --batch",
        ),
        (
            vec!["--json", "check"],
            b"caf\xe9\n",
            2,
            "invalid_input",
            "not valid UTF-8",
        ),
        (
            vec!["--json", "--policy", &bad, "check"],
            b"x\n",
            78,
            "invalid_policy",
            "strength.min_score: expected a number, found the string \"3\"",
        ),
        (
            vec!["--json", "--now", "yesterday", "stale"],
            b"",
            2,
            "usage",
            "RFC 3339",
        ),
        (
            vec!["--json", "generate", "--words", "1"],
            b"",
            2,
            "cannot_generate",
            "60-bit floor",
        ),
    ];
    for (args, stdin, code, err_code, needle) in cases {
        let out = pwsentry(&args).stdin(stdin).run();
        assert_eq!(out.code, code, "{args:?}: {}", out.stderr);
        assert!(
            out.stdout.is_empty(),
            "{args:?}: nothing on stdout: {}",
            out.stdout
        );
        assert!(!out.stderr.contains("hunter2"), "{args:?}: {}", out.stderr);
        let (c, message) = json_error(&out);
        assert_eq!(c, err_code, "{args:?}: {message}");
        assert!(message.contains(needle), "{args:?}: {message}");
    }
}

#[test]
fn errors_without_json_stay_text_and_keep_the_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.toml", "[strength]\nmin_score = \"3\"\n");
    let out = pwsentry(["--policy", &bad.display().to_string(), "check"])
        .stdin("x\n")
        .run();
    assert_eq!(out.code, 78);
    assert_eq!(
        out.stderr.trim(),
        format!(
            "pwsentry: error: invalid policy {}, line 2, column 13: strength.min_score: expected a number, found the string \"3\"",
            bad.display()
        )
    );
    let out = pwsentry(["check"]).stdin("one\ntwo\n").run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .starts_with("pwsentry: error: stdin has more than one line")
            && out
                .stderr
                .contains("use --batch to check one password per line"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "no verdict for either line");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db").display().to_string();
    let out = pwsentry(["--db", &db, "record", "--account", "a@example.com"])
        .stdin(format!("{STRONG}\n{STRONG}\n"))
        .run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("more than one line"), "{}", out.stderr);
}

#[test]
fn every_command_honours_json() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "policy.toml", CHEAP)
        .display()
        .to_string();
    let db = dir.path().join("h.db").display().to_string();
    let g = |rest: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["--json", "--policy", &policy, "--db", &db, "--now", NOW]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(rest.iter().map(|s| s.to_string()));
        v
    };
    let strong = format!("{STRONG}\n");
    let runs: Vec<(Vec<String>, &str, i32)> = vec![
        (g(&["check"]), &strong, 0),
        (g(&["check", "--batch"]), "abc\n", 1),
        (g(&["record", "--account", "a@example.com"]), &strong, 0),
        (g(&["status", "--account", "a@example.com"]), "", 0),
        (g(&["stale"]), "", 0),
        (g(&["generate"]), "", 0),
        (g(&["policy", "show"]), "", 0),
        (g(&["policy", "check"]), "", 0),
        (
            g(&["set", "--account", "b@example.com"]),
            "Lunar#Pickle#Anthem77\n",
            0,
        ),
        (g(&["forget", "--account", "a@example.com"]), "", 0),
    ];
    for (args, stdin, code) in runs {
        let out = pwsentry(&args).stdin(stdin).run();
        assert_eq!(out.code, code, "{args:?}: {}", out.stderr);
        assert!(!out.stdout.trim().is_empty(), "{args:?} printed nothing");
        for line in out.stdout.lines() {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {line}"));
            assert!(v.is_object(), "{args:?}: {line}");
        }
        assert!(
            out.stderr.is_empty(),
            "{args:?}: nothing on stderr: {}",
            out.stderr
        );
    }
}

#[test]
fn global_options_are_shown_once_in_help() {
    let top = pwsentry(["--help"]).run();
    assert_eq!(top.code, 0);
    assert_eq!(
        top.stdout.matches("--policy <FILE>").count(),
        1,
        "{}",
        top.stdout
    );
    assert!(top.stdout.contains("Global options"), "{}", top.stdout);
    for sub in [
        vec!["check", "--help"],
        vec!["set", "--help"],
        vec!["policy", "show", "--help"],
        vec!["help", "stale"],
    ] {
        let out = pwsentry(&sub).run();
        assert_eq!(out.code, 0, "{sub:?}: {}", out.stderr);
        assert!(
            !out.stdout.contains("--policy <FILE>"),
            "{sub:?}:\n{}",
            out.stdout
        );
        assert!(
            out.stdout
                .contains("Global options: --policy FILE, --db FILE, --now RFC3339, --json"),
            "{sub:?}:\n{}",
            out.stdout
        );
    }
    // ... and still work after the command.
    let out = pwsentry(["check", "--json"])
        .stdin(format!("{STRONG}\n"))
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["accepted"], true);
}
