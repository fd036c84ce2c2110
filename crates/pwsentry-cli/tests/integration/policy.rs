//! Policy files: error messages, `policy show` and `policy check`.

use crate::util::{pwsentry, root, write};
use pwsentry::{Error, Policy, Preset};

fn policy_error(text: &str) -> pwsentry::PolicyError {
    match Policy::from_toml_str(text) {
        Err(Error::Policy(e)) => e,
        other => panic!("expected a policy error for {text:?}, got {other:?}"),
    }
}

#[test]
fn shipped_policy_file_equals_builtin_default() {
    let file = Policy::from_file(root().join("policy.toml")).unwrap();
    assert_eq!(file, Policy::default());
    // The seed preset with a one-day minimum age (issue 9: history flushing).
    assert_ne!(file, Policy::from_preset(Preset::Seed));
    assert_eq!(
        file,
        Policy::from_toml_str("preset = \"seed\"\n[rotation]\nmin_age_days = 1\n").unwrap()
    );
}

#[test]
fn errors_name_line_column_and_allowed_keys() {
    let e = policy_error("preset = \"seed\"\n[length]\nmin = 8\nminimum = 3\n");
    assert_eq!((e.line, e.column), (Some(4), Some(1)));
    assert!(
        e.message.contains("unknown field `minimum`"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("`min`") && e.message.contains("`max`"),
        "{}",
        e.message
    );

    let e = policy_error("[lenght]\nmin = 8\n");
    assert_eq!(e.line, Some(1));
    assert!(
        e.message.contains("unknown field `lenght`") && e.message.contains("`length`"),
        "{}",
        e.message
    );

    let e = policy_error("[length]\nmin = \"eight\"\n");
    assert_eq!((e.line, e.column), (Some(2), Some(7)));
    assert_eq!(
        e.message, "length.min: expected a number, found the string \"eight\"",
        "a type error in plain words, naming the key"
    );

    let e = policy_error("[length]\nmin = -1\n");
    assert_eq!(e.line, Some(2));

    let e = policy_error("[length]\nmin = 20\nmax = 10\n");
    assert_eq!((e.line, e.column), (Some(2), Some(7)));
    assert!(
        e.message.contains("greater than length.max"),
        "{}",
        e.message
    );

    let e = policy_error("[composition]\npatterns = [\"ok\", \"(unclosed\"]\n");
    assert_eq!((e.line, e.column), (Some(2), Some(19)));
    assert!(
        e.message.contains("invalid regular expression"),
        "{}",
        e.message
    );

    let e = policy_error("preset = \"nist\"\n");
    assert_eq!(e.line, Some(1));
    assert!(e.message.contains("nist-800-63b"), "{}", e.message);

    let e = policy_error("[rotation]\nmax_age_days = 10\nwarn_days = 10\n");
    assert_eq!(e.line, Some(3));

    let e = policy_error("[hashing]\nmemory_kib = 1024\niterations = 1\n");
    assert!(e.message.contains("OWASP"), "{}", e.message);

    let e = policy_error("[length\nmin = 3\n");
    assert_eq!(e.line, Some(1));

    let e =
        policy_error("[composition]\nmin_digits = 100\nmin_symbols = 100\n[length]\nmax = 150\n");
    assert!(
        e.message.contains("need at least 201 characters"),
        "{}",
        e.message
    );
}

#[test]
fn missing_blocklist_is_a_policy_error_with_location() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "p.toml",
        "[strength]\nblocklists = [\"nope.txt\"]\n",
    );
    let out = pwsentry(["--policy", path.to_str().unwrap(), "check"])
        .stdin("x\n")
        .run();
    assert_eq!(out.code, 78, "{out:?}");
    assert!(
        out.stderr.contains("p.toml, line 2, column 15"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("nope.txt"), "{}", out.stderr);
}

#[test]
fn policy_check_and_show() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.toml", "[length]\nmni = 3\n");
    let out = pwsentry(["policy", "check", bad.to_str().unwrap()]).run();
    assert_eq!(out.code, 78);
    assert!(
        out.stderr.contains(
            "bad.toml, line 2, column 1: unknown field `mni`, expected one of `min`, `max`, `count`"
        ),
        "{}",
        out.stderr
    );

    let good = write(
        dir.path(),
        "good.toml",
        "preset = \"pci-dss-4\"\n[history]\nremember = 6\n",
    );
    let out = pwsentry(["policy", "check", good.to_str().unwrap()]).run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("valid (preset pci-dss-4)"));

    let out = pwsentry(["--policy", good.to_str().unwrap(), "policy", "show"]).run();
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("preset = \"pci-dss-4\""));
    assert!(out.stdout.contains("remember = 6"));
    assert!(
        out.stdout.contains("min = 12"),
        "preset values merged:\n{}",
        out.stdout
    );
    let shown = write(dir.path(), "shown.toml", &out.stdout);
    assert_eq!(
        Policy::from_file(&shown).unwrap(),
        Policy::from_file(&good).unwrap()
    );
}

#[test]
fn show_round_trips_for_every_preset() {
    for preset in Preset::ALL {
        let p = Policy::from_preset(preset);
        let again = Policy::from_toml_str(&p.to_toml()).unwrap_or_else(|e| panic!("{preset}: {e}"));
        assert_eq!(p, again, "{preset}");
    }
}

#[test]
fn invalid_policy_exit_code_is_78_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.toml", "[strength]\nmin_score = 9\n");
    let out = pwsentry(["--policy", bad.to_str().unwrap(), "check"])
        .stdin("x\n")
        .run();
    assert_eq!(out.code, 78);
    assert!(
        out.stderr.contains("min_score must be 0..=4"),
        "{}",
        out.stderr
    );
    let out = pwsentry(["--policy", dir.path().to_str().unwrap(), "policy", "show"]).run();
    assert_eq!(out.code, 78, "a directory: {}", out.stderr);
    assert!(out.stderr.contains("is a directory"));
}

/// `pwsentry policy init <file>` in a pseudo-terminal.
#[cfg(unix)]
fn spawn_init(dir: &std::path::Path, file: &std::path::Path) -> rexpect::session::PtySession {
    let mut cmd = std::process::Command::new(crate::util::bin());
    cmd.args(["policy", "init"])
        .arg(file)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .env_remove("PWSENTRY_POLICY")
        .env_remove("PWSENTRY_DB");
    let options = rexpect::reader::Options::new()
        .timeout_ms(Some(30_000))
        .strip_ansi_escape_codes(true);
    rexpect::session::spawn_with_options(cmd, options).expect("spawn policy init in a pty")
}

/// Waits for `text`, then a moment for the prompt to start reading keys
/// (keys sent while the terminal is still in line mode may be lost).
#[cfg(unix)]
fn wait_for(p: &mut rexpect::session::PtySession, text: &str) {
    p.exp_string(text)
        .unwrap_or_else(|e| panic!("waiting for {text:?}: {e}"));
    std::thread::sleep(std::time::Duration::from_millis(200));
}

/// Types `keys` (rexpect buffers until flushed).
#[cfg(unix)]
fn send(p: &mut rexpect::session::PtySession, keys: &str) {
    p.send(keys).unwrap();
    p.flush().unwrap();
}

#[cfg(unix)]
fn exit_code(p: &mut rexpect::session::PtySession) -> i32 {
    let _ = p.exp_eof();
    match p.process().wait().unwrap() {
        rexpect::process::WaitStatus::Exited(_, code) => code,
        other => panic!("policy init did not exit normally: {other:?}"),
    }
}

#[cfg(unix)]
#[test]
fn policy_init_asks_and_writes_a_commented_valid_policy() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("conf").join("policy.toml");
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    let mut p = spawn_init(dir.path(), &file);
    wait_for(&mut p, "pci-dss-4: 12+");
    send(&mut p, "\x1b[B"); // down: nist-800-63b
    send(&mut p, "\r");
    wait_for(&mut p, "Minimum length (1 to 128)");
    wait_for(&mut p, "[15]");
    send(&mut p, "300\r");
    wait_for(&mut p, "a number from 1 to");
    // Clear the rejected answer and give a valid one.
    send(&mut p, "\x7f\x7f\x7f12\r");
    wait_for(&mut p, "Require a symbol");
    send(&mut p, "y");
    wait_for(&mut p, "Maximum password age in days");
    send(&mut p, "60\r");
    wait_for(&mut p, "Earlier passwords that may not be used again");
    send(&mut p, "8\r");
    wait_for(&mut p, "History database");
    send(&mut p, "\r");
    wait_for(&mut p, "Wrote");
    assert_eq!(exit_code(&mut p), 0);

    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("preset = \"nist-800-63b\""), "{text}");
    assert!(
        text.lines().filter(|l| l.starts_with('#')).count() >= 8,
        "commented:\n{text}"
    );
    let policy = Policy::from_file(&file).unwrap();
    assert_eq!(policy.preset(), Preset::Nist80063b);
    assert_eq!(policy.length().min, 12);
    assert_eq!(policy.composition().min_symbols, 1);
    assert_eq!(policy.rotation().max_age_days, 60);
    assert!(policy.rotation().warn_days < 60);
    assert_eq!(policy.history().remember, 8);
    let out = pwsentry(["--json", "policy", "check"])
        .env("PWSENTRY_POLICY", &file)
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["valid"], true);
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "world-readable, owner-writable");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("conf"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");
}

#[cfg(unix)]
#[test]
fn policy_init_never_overwrites_without_a_yes() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "policy.toml", "# mine\npreset = \"seed\"\n");
    let mut p = spawn_init(dir.path(), &file);
    wait_for(&mut p, "[y/N]");
    send(&mut p, "n");
    wait_for(&mut p, "Nothing was written");
    assert_eq!(exit_code(&mut p), 130);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "# mine\npreset = \"seed\"\n"
    );
    // Esc at the first question also leaves it alone.
    let mut p = spawn_init(dir.path(), &file);
    wait_for(&mut p, "[y/N]");
    send(&mut p, "y");
    wait_for(&mut p, "pci-dss-4: 12+");
    send(&mut p, "\x1b");
    wait_for(&mut p, "Cancelled; nothing was written.");
    assert_eq!(exit_code(&mut p), 130);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "# mine\npreset = \"seed\"\n"
    );
}

#[test]
fn policy_init_without_a_terminal_refuses_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.toml");
    let path = file.display().to_string();
    let out = pwsentry(["policy", "init", &path]).stdin("\n\n\n").run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("needs a terminal") && out.stderr.contains("pwsentry policy show"),
        "{}",
        out.stderr
    );
    assert!(!file.exists(), "nothing written");
    let out = pwsentry(["--json", "policy", "init", &path]).run();
    assert_eq!(out.code, 2);
    let err: serde_json::Value = serde_json::from_str(out.stderr.trim()).unwrap();
    assert_eq!(err["error"]["code"], "not_a_terminal");
}

#[test]
fn policy_show_json_has_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "p.toml",
        "preset = \"pci-dss-4\"\n[length]\nmin = 14\n",
    );
    let path = file.display().to_string();
    let out = pwsentry(["--json", "--policy", &path, "policy", "show"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = out.json();
    assert_eq!(v["preset"], "pci-dss-4");
    assert_eq!(v["file"], file.display().to_string());
    assert_eq!(v["policy"]["length"]["min"], 14);
    assert_eq!(v["policy"]["rotation"]["max_age_days"], 90);
    let out = pwsentry(["--json", "policy", "show"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.json()["file"].is_null(),
        "the built-in policy has no file"
    );
}

#[test]
fn serve_section_brands_the_page_and_names_bad_keys() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "policy.toml",
        "[serve]\ntitle = \"Example Mail\"\nlogo = \"brand/logo.svg\"\nhelp_url = \"https://help.example.org/pw\"\n",
    );
    let p = Policy::from_file(&file).unwrap();
    assert_eq!(p.serve().title.as_deref(), Some("Example Mail"));
    assert_eq!(
        p.serve().logo.as_deref(),
        Some(
            std::path::absolute(dir.path())
                .unwrap()
                .join("brand/logo.svg")
                .as_path()
        ),
        "resolved against the policy's folder; read only by the server"
    );
    assert_eq!(
        p.serve().help_url.as_deref(),
        Some("https://help.example.org/pw")
    );
    // `policy show` round-trips it.
    assert_eq!(Policy::from_toml_str(&p.to_toml()).unwrap(), p);
    assert_eq!(Policy::default().serve(), &Default::default());

    for (text, line, says) in [
        ("[serve]\ntitel = \"x\"\n", 2, "unknown field `titel`"),
        (
            "[serve]\ntitle = \"\"\n",
            2,
            "serve.title must be 1 to 100 characters",
        ),
        (
            "[serve]\ntitle = \"a\\u0007b\"\n",
            2,
            "serve.title must not contain control",
        ),
        (
            "[serve]\nlogo = \"logo.gif\"\n",
            2,
            "logo.gif: must be a .png or .svg file",
        ),
        (
            "[serve]\nhelp_url = \"javascript:alert(1)\"\n",
            2,
            "serve.help_url must be an https:// or http:// URL",
        ),
        (
            "[serve]\nhelp_url = \"https:///x\"\n",
            2,
            "serve.help_url must be an https:// or http:// URL",
        ),
        (
            "[serve]\ntitle = \"ok\"\nhelp_url = \"https://x.org/\\\"><b>\"\n",
            3,
            "without spaces, control characters, quotes",
        ),
    ] {
        let e = policy_error(text);
        assert_eq!(e.line, Some(line), "{text}: {}", e.message);
        assert!(e.message.contains(says), "{text}: {}", e.message);
    }
}
