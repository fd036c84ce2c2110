//! `set`: the interactive prompt in a real pseudo-terminal (rexpect), the
//! 40-column layout in tmux, the non-interactive path, and the Dovecot hash
//! checked by the real `doveadm pw -t`.
//!
//! Passwords here are throwaway test values; they reach the program through
//! the terminal or stdin only (doveadm's own `-p` is the one exception).

use crate::util::{bin, pwsentry, write};
use rexpect::process::WaitStatus;
use rexpect::session::{PtySession, spawn_with_options};
use std::path::{Path, PathBuf};
use std::process::Command;

const ACCOUNT: &str = "alice@example.com";
const STRONG: &str = "Velvet#Orbit#Canyon42";
const NOW: &str = "2026-01-31T12:00:00Z";
/// The shipped rules with cheap history hashing, so tests stay fast.
const POLICY: &str =
    "[hashing]\nmemory_kib = 64\niterations = 1\nparallelism = 1\nallow_weak_parameters = true\n";

/// A policy file and a history database in a temporary folder.
struct Setup {
    dir: tempfile::TempDir,
    policy: PathBuf,
    db: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let policy = write(dir.path(), "policy.toml", POLICY);
        let db = dir.path().join("history.db");
        Setup { dir, policy, db }
    }

    fn global_args(&self) -> Vec<String> {
        vec![
            "--policy".into(),
            self.policy.display().to_string(),
            "--db".into(),
            self.db.display().to_string(),
            "--now".into(),
            NOW.into(),
        ]
    }

    /// `pwsentry <global args> set --account ACCOUNT <extra>` in a fresh pty.
    fn spawn_set(&self, extra: &[&str]) -> Prompt {
        self.spawn_set_until(extra, "New password: ")
    }

    /// As [`Setup::spawn_set`], waiting for `first` instead.
    fn spawn_set_until(&self, extra: &[&str], first: &str) -> Prompt {
        let mut cmd = Command::new(bin());
        cmd.args(self.global_args())
            .args(["set", "--account", ACCOUNT])
            .args(extra)
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env("TERM", "xterm")
            .env("LANG", "C.UTF-8")
            .env_remove("LC_ALL")
            .env_remove("PWSENTRY_POLICY")
            .env_remove("PWSENTRY_DB");
        let options = rexpect::reader::Options::new()
            .timeout_ms(Some(30_000))
            .strip_ansi_escape_codes(true);
        let session = spawn_with_options(cmd, options).expect("spawn pwsentry set in a pty");
        let mut prompt = Prompt { session };
        prompt.expect(first);
        prompt
    }

    /// `pwsentry <global args> <args>` with `stdin`, not in a terminal.
    fn run(&self, args: &[&str], stdin: &str) -> crate::util::Output {
        let mut argv = self.global_args();
        argv.extend(args.iter().map(|s| s.to_string()));
        pwsentry(argv).stdin(stdin).run()
    }

    /// `true` if `password` is in ACCOUNT's history (`check --account` calls it reuse).
    fn is_recorded(&self, password: &str) -> bool {
        let out = self.run(
            &["--json", "check", "--account", ACCOUNT],
            &format!("{password}\n"),
        );
        assert!(
            out.code == 0 || out.code == 1,
            "check failed: {}",
            out.stderr
        );
        crate::util::rules_of(&out.json())
            .iter()
            .any(|r| r == "reuse")
    }

    fn status(&self) -> crate::util::Output {
        self.run(&["--json", "status", "--account", ACCOUNT], "")
    }
}

/// A running `set` in a pseudo-terminal.
struct Prompt {
    session: PtySession,
}

impl Prompt {
    fn expect(&mut self, text: &str) -> String {
        self.session
            .exp_string(text)
            .unwrap_or_else(|e| panic!("waiting for {text:?}: {e}"))
    }

    fn type_text(&mut self, text: &str) {
        self.session.send(text).unwrap();
        self.session.flush().unwrap();
    }

    fn enter(&mut self, text: &str) {
        self.type_text(text);
        self.type_text("\r");
    }

    fn control(&mut self, c: char) {
        self.session.send_control(c).unwrap();
    }

    /// Waits for the end of output and returns the exit code and what came last.
    fn finish(mut self) -> (i32, String) {
        let rest = self.session.exp_eof().unwrap_or_default();
        match self.session.process().wait().unwrap() {
            WaitStatus::Exited(_, code) => (code, rest),
            other => panic!("set did not exit normally: {other:?}"),
        }
    }
}

#[test]
fn a_weak_password_shows_its_failing_rules_while_typing() {
    let s = Setup::new();
    let mut p = s.spawn_set(&[]);
    p.type_text("abc");
    p.expect("0/4 too guessable");
    p.expect("3 characters; not accepted yet:");
    // The same words as the final verdict.
    p.expect("must be at least 8 characters long (5 more)");
    p.expect("needs at least 1 digit");
    p.expect("needs at least 1 symbol, such as @ or #");
    // One more key: the meter follows.
    p.type_text("1");
    p.expect("must be at least 8 characters long (4 more)");
    p.type_text("#Zebra!x");
    p.expect("meets the rules so far");
    p.control('c');
    p.expect("Cancelled; nothing was recorded.");
    let (code, _) = p.finish();
    assert_eq!(code, 130);
    assert!(!s.is_recorded("abc1#Zebra!x"));
}

#[test]
fn a_strong_password_is_recorded_after_confirmation_and_appears_in_status() {
    let s = Setup::new();
    let mut p = s.spawn_set(&[]);
    p.enter(STRONG);
    p.expect("Type it again to confirm: ");
    p.enter(STRONG);
    p.expect(&format!(
        "New password for {ACCOUNT} recorded (strength 4/4, very unguessable)."
    ));
    let (code, _) = p.finish();
    assert_eq!(code, 0);
    assert!(s.is_recorded(STRONG));
    let status = s.status();
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(
        status.stdout.contains("2026-01-31T12:00:00"),
        "status shows the change: {}",
        status.stdout
    );
}

#[test]
fn a_confirmation_mismatch_asks_again() {
    let s = Setup::new();
    let mut p = s.spawn_set(&[]);
    p.enter(STRONG);
    p.expect("Type it again to confirm: ");
    p.enter("Velvet#Orbit#Canyon43");
    p.expect("That does not match. Type the same password again.");
    p.expect("Type it again to confirm: ");
    p.enter(STRONG);
    p.expect("recorded");
    assert_eq!(p.finish().0, 0);
    assert!(s.is_recorded(STRONG));
    assert!(!s.is_recorded("Velvet#Orbit#Canyon43"));
}

#[test]
fn three_mismatched_confirmations_record_nothing() {
    let s = Setup::new();
    let mut p = s.spawn_set(&[]);
    p.enter(STRONG);
    for _ in 0..3 {
        p.expect("Type it again to confirm: ");
        p.enter("something else entirely");
    }
    p.expect("The entries did not match; nothing was recorded.");
    assert_eq!(p.finish().0, 1);
    assert!(!s.is_recorded(STRONG));
}

#[test]
fn three_rejected_tries_exit_1_with_nothing_recorded() {
    let s = Setup::new();
    let mut p = s.spawn_set(&[]);
    p.enter("password1");
    p.expect("Not accepted:");
    p.expect("needs at least 1 symbol, such as @ or #");
    p.expect("Warning: This is a very common password.");
    p.expect("2 tries left.");
    p.expect("New password: ");
    p.enter("short#1");
    p.expect("must be at least 8 characters long (1 more)");
    p.expect("1 try left.");
    p.expect("New password: ");
    p.enter("alice#2026x");
    p.expect("must not contain the account name");
    p.expect("3 passwords were rejected; nothing was recorded.");
    assert_eq!(p.finish().0, 1);
    assert!(!s.is_recorded("password1") && !s.is_recorded("alice#2026x"));
}

#[test]
fn ctrl_c_or_escape_records_nothing() {
    let s = Setup::new();
    // Ctrl-C at the confirmation, after a strong password was accepted.
    let mut p = s.spawn_set(&[]);
    p.enter(STRONG);
    p.expect("Type it again to confirm: ");
    p.type_text("Velvet");
    p.control('c');
    p.expect("Cancelled; nothing was recorded.");
    assert_eq!(p.finish().0, 130);
    assert!(!s.is_recorded(STRONG));
    // Esc at the first prompt.
    let mut p = s.spawn_set(&[]);
    p.type_text(STRONG);
    p.expect("meets the rules so far");
    p.type_text("\x1b");
    p.expect("Cancelled; nothing was recorded.");
    assert_eq!(p.finish().0, 130);
    assert!(!s.is_recorded(STRONG));
}

#[test]
fn backspace_and_ctrl_u_edit_the_password() {
    let s = Setup::new();
    let mut p = s.spawn_set(&["--print-hash", "phc"]);
    // Ctrl-U throws away what was typed; backspace removes the last character.
    p.type_text("throwaway junk");
    p.expect("14 characters");
    p.control('u');
    p.type_text(&format!("{STRONG}XY"));
    p.expect("23 characters");
    p.type_text("\x7f\x7f");
    p.expect("21 characters; meets the rules so far");
    p.type_text("\r");
    p.expect("Type it again to confirm: ");
    p.enter(STRONG);
    let (code, rest) = p.finish();
    assert_eq!(code, 0, "{rest}");
    assert!(
        s.is_recorded(STRONG),
        "what was recorded is the edited password"
    );
    // The PHC line is a hash of exactly the edited password.
    let hash = rest
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("$argon2id$"))
        .unwrap_or_else(|| panic!("no hash in {rest:?}"));
    assert!(
        hash.starts_with("$argon2id$v=19$m=65536,t=3,p=1$"),
        "{hash}"
    );
    assert!(pwsentry::mailhash::verify(hash, &pwsentry::Password::from(STRONG)).unwrap());
}

#[test]
fn g_generates_a_password_shown_once_that_is_then_recorded() {
    let s = Setup::new();
    let mut p = s.spawn_set(&[]);
    p.enter("g");
    p.expect("shown only this once");
    let shown = p.expect("Type it again to confirm: ");
    // The password is the one line without spaces between the announcement
    // and the confirmation prompt.
    let generated = shown
        .lines()
        .map(str::trim)
        .find(|l| l.len() >= 16 && !l.contains(' '))
        .unwrap_or_else(|| panic!("no generated password in {shown:?}"))
        .to_owned();
    assert!(
        generated.split('-').count() >= 6,
        "a six-word passphrase: {generated:?}"
    );
    p.enter(&generated);
    p.expect("recorded");
    let (code, rest) = p.finish();
    assert_eq!(code, 0);
    assert!(!rest.contains(&generated), "shown only once");
    assert!(s.is_recorded(&generated));
}

#[test]
fn without_a_terminal_set_reads_one_line_like_record() {
    let s = Setup::new();
    let out = s.run(&["set", "--account", ACCOUNT], "password1\n");
    assert_eq!(out.code, 1);
    assert!(out.stdout.is_empty(), "nothing on stdout: {}", out.stdout);
    assert!(
        out.stderr.contains("rejected") && out.stderr.contains("not recorded"),
        "{}",
        out.stderr
    );
    assert!(!s.is_recorded("password1"));

    let out = s.run(
        &["set", "--account", ACCOUNT, "--print-hash", "phc"],
        &format!("{STRONG}\n"),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "only the hash on stdout: {:?}", out.stdout);
    assert!(pwsentry::mailhash::verify(lines[0], &pwsentry::Password::from(STRONG)).unwrap());
    assert!(s.is_recorded(STRONG));

    // Setting the same password again is reuse.
    let out = s.run(
        &["--json", "set", "--account", ACCOUNT],
        &format!("{STRONG}\n"),
    );
    assert_eq!(out.code, 1);
    assert!(
        crate::util::rules_of(&out.json()).contains(&"reuse".to_owned()),
        "{}",
        out.stdout
    );
}

#[test]
fn dovecot_hash_is_verified_by_doveadm() {
    let doveadm = Path::new("/usr/bin/doveadm");
    assert!(
        doveadm.exists() || Command::new("doveadm").arg("help").output().is_ok(),
        "doveadm is missing: install Debian's dovecot-core (apt-get install -y dovecot-core); .ci/run does"
    );
    let s = Setup::new();
    let password = "Lunar#Pickle#Anthem77";
    let out = s.run(
        &["set", "--account", ACCOUNT, "--print-hash", "dovecot"],
        &format!("{password}\n"),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let hash = out.stdout.trim();
    assert!(
        hash.starts_with("{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$"),
        "{hash}"
    );
    let check = |p: &str| {
        Command::new("doveadm")
            .args(["pw", "-t", hash, "-p", p])
            .output()
            .expect("run doveadm pw -t")
    };
    let ok = check(password);
    assert!(
        ok.status.success(),
        "doveadm rejected the hash: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("(verified)"));
    let wrong = check("Lunar#Pickle#Anthem78");
    assert!(!wrong.status.success(), "doveadm accepted a wrong password");
}

/// A tmux server of our own (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Runs `command` in a `width`-column pane with `env` set (an empty
    /// value removes the variable).
    fn start(width: u16, env: &[(&str, &str)], command: &str) -> Tmux {
        Tmux::start_sized(width, 30, env, command)
    }

    /// Like [`Tmux::start`] with `height` rows.
    fn start_sized(width: u16, height: u16, env: &[(&str, &str)], command: &str) -> Tmux {
        let socket = format!("pwsentry-test-{}-{}x{}", std::process::id(), width, height);
        // `env` takes its -u options before any assignment.
        let mut env_args = String::from("env");
        for (k, _) in env.iter().filter(|(_, v)| v.is_empty()) {
            env_args.push_str(&format!(" -u {k}"));
        }
        for (k, v) in env.iter().filter(|(_, v)| !v.is_empty()) {
            env_args.push_str(&format!(" {k}={v}"));
        }
        let mut cmd = Command::new("tmux");
        cmd.args([
            "-L",
            &socket,
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
        cmd.arg(format!("{env_args} {command}"));
        let status = cmd
            .status()
            .expect("tmux is needed for the narrow-terminal test (Debian package tmux)");
        assert!(status.success());
        Tmux { socket }
    }

    fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "0"])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The screen and everything scrolled off it.
    fn history(&self) -> String {
        let out = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "capture-pane",
                "-p",
                "-S",
                "-",
                "-t",
                "0",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self, escapes: bool) -> String {
        let mut args = vec!["-L", self.socket.as_str(), "capture-pane", "-p", "-t", "0"];
        if escapes {
            args.push("-e");
        }
        let out = Command::new("tmux").args(&args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Polls the screen until it contains `text`.
    fn wait_for(&self, text: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let screen = self.screen(false);
            if screen.contains(text) {
                return screen;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {text:?}; screen:\n{screen}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

#[test]
fn forty_columns_ascii_locale_and_no_color() {
    let s = Setup::new();
    let args: Vec<String> = s.global_args();
    // The shell keeps the pane alive after pwsentry exits, so the last screen can be read.
    let command = format!(
        "sh -c '{} {} set --account {ACCOUNT}; echo EXIT=$?; sleep 30'",
        bin().display(),
        args.join(" ")
    );
    let tmux = Tmux::start(
        40,
        &[
            ("LANG", "C"),
            ("LC_ALL", ""),
            ("NO_COLOR", "1"),
            ("TERM", "xterm"),
        ],
        &command,
    );
    tmux.wait_for("New password:");
    tmux.keys(&["-l", "abc1"]);
    let screen = tmux.wait_for("4 more");
    for line in screen.lines() {
        assert!(
            line.chars().count() <= 40,
            "line wider than 40 columns: {line:?}"
        );
    }
    assert!(
        screen.contains("[####------] 1/4") || screen.contains("[##--------] 0/4"),
        "ASCII bar:\n{screen}"
    );
    assert!(
        !screen.contains('█'),
        "no block characters in a non-UTF-8 locale:\n{screen}"
    );
    assert!(
        !screen.contains("abc1"),
        "the password is never shown:\n{screen}"
    );
    let colored = tmux.screen(true);
    assert!(
        !colored.contains("\x1b[31m") && !colored.contains("\x1b[32m"),
        "NO_COLOR means no colour:\n{colored:?}"
    );
    tmux.keys(&["Escape"]);
    tmux.wait_for("EXIT=130");
}

#[test]
fn colours_and_the_unicode_bar_where_allowed() {
    let s = Setup::new();
    let command = format!(
        "sh -c '{} {} set --account {ACCOUNT}; sleep 30'",
        bin().display(),
        s.global_args().join(" ")
    );
    let tmux = Tmux::start(
        80,
        &[
            ("LANG", "C.UTF-8"),
            ("LC_ALL", ""),
            ("NO_COLOR", ""),
            ("TERM", "xterm-256color"),
        ],
        &command,
    );
    tmux.wait_for("New password:");
    tmux.keys(&["-l", "abc"]);
    let screen = tmux.wait_for("5 more");
    assert!(screen.contains("██░░░░░░░░ 0/4 too guessable"), "{screen}");
    let colored = tmux.screen(true);
    assert!(
        colored.contains("\x1b[31m"),
        "a weak score is red: {colored:?}"
    );
    tmux.keys(&["C-c"]);
}

/// `pwsentry set` under `sh` in tmux, the pane kept open after it exits.
fn set_in_tmux(s: &Setup, width: u16, height: u16, extra_env: &[(&str, &str)]) -> Tmux {
    let command = format!(
        "sh -c '{} {} set --account {ACCOUNT}; echo EXIT=$?; sleep 60'",
        bin().display(),
        s.global_args().join(" ")
    );
    let mut env = vec![
        ("LANG", "C.UTF-8"),
        ("LC_ALL", ""),
        ("TERM", "xterm-256color"),
    ];
    env.extend_from_slice(extra_env);
    let tmux = Tmux::start_sized(width, height, &env, &command);
    tmux.wait_for("New password:");
    tmux
}

#[test]
fn g_works_after_a_rejection_too() {
    let s = Setup::new();
    let mut p = s.spawn_set(&[]);
    p.enter("password1");
    p.expect("Not accepted:");
    p.expect("2 tries left.");
    p.expect("New password: ");
    p.enter("g");
    p.expect("shown only this once");
    let shown = p.expect("Type it again to confirm: ");
    let generated = shown
        .lines()
        .map(str::trim)
        .find(|l| l.len() >= 16 && !l.contains(' '))
        .unwrap_or_else(|| panic!("no generated password in {shown:?}"))
        .to_owned();
    p.enter(&generated);
    p.expect("recorded");
    assert_eq!(p.finish().0, 0);
    assert!(s.is_recorded(&generated));
}

#[test]
fn the_bar_is_green_only_for_an_accepted_password() {
    let s = Setup::new();
    let tmux = set_in_tmux(&s, 80, 30, &[("NO_COLOR", "")]);
    // Strong to zxcvbn, but without the symbol the policy wants: not green.
    tmux.keys(&["-l", "VelvetOrbitCanyon42"]);
    // Wait for the meter of the whole input, not of its first keys.
    let screen = tmux.wait_for("19 characters");
    assert!(screen.contains("needs at least 1 symbol"), "{screen}");
    assert!(screen.contains("4/4 very unguessable"), "{screen}");
    let colored = tmux.screen(true);
    assert!(
        colored.contains("\x1b[33m") && !colored.contains("\x1b[32m"),
        "a strong score that breaks a rule is yellow, not green: {colored:?}"
    );
    tmux.keys(&["-l", "#"]);
    tmux.wait_for("meets the rules so far");
    let colored = tmux.screen(true);
    assert!(
        colored.contains("\x1b[32m"),
        "accepted is green: {colored:?}"
    );
    tmux.keys(&["Escape"]);
    tmux.wait_for("EXIT=130");
}

#[test]
fn in_a_short_terminal_the_meter_redraws_in_place() {
    let s = Setup::new();
    // Six rows: the meter of a one-letter password (bar, count and five
    // rules) is taller than the room under the prompt.
    let tmux = set_in_tmux(&s, 60, 6, &[("NO_COLOR", "1")]);
    for key in ["a", "b", "c", "d", "e", "f"] {
        tmux.keys(&["-l", key]);
        std::thread::sleep(std::time::Duration::from_millis(150));
    }
    tmux.wait_for("6 characters");
    let screen = tmux.screen(false);
    assert!(screen.lines().count() <= 6, "{screen}");
    assert!(screen.contains('…'), "the cut meter says so:\n{screen}");
    let history = tmux.history();
    let copies = history.matches("characters; not accepted yet").count();
    assert_eq!(
        copies, 1,
        "one meter, redrawn in place, not a copy per key in the scrollback:\n{history}"
    );
    tmux.keys(&["Escape"]);
    tmux.wait_for("EXIT=130");
}

#[test]
fn a_generated_password_is_cleared_from_the_screen_when_nothing_is_recorded() {
    for height in [30, 8] {
        let s = Setup::new();
        let tmux = set_in_tmux(&s, 80, height, &[("NO_COLOR", "1")]);
        tmux.keys(&["g", "Enter"]);
        let screen = tmux.wait_for("Type it again to confirm:");
        let generated = screen
            .lines()
            .map(str::trim)
            .find(|l| l.len() >= 16 && !l.contains(' ') && l.contains('-'))
            .unwrap_or_else(|| panic!("no generated password on screen:\n{screen}"))
            .to_owned();
        tmux.keys(&["Escape"]);
        let screen = tmux.wait_for("EXIT=130");
        assert!(
            screen.contains("cleared from the screen") && screen.contains("nothing was recorded"),
            "{screen}"
        );
        let history = tmux.history();
        assert!(
            !history.contains(&generated),
            "{height} rows: the generated password is still on the screen or in its scrollback:\n{history}"
        );
        assert!(!s.is_recorded(&generated));
    }
}

#[test]
fn set_json_always_prints_the_verdict_and_whether_it_was_recorded() {
    let s = Setup::new();
    let out = s.run(
        &["--json", "set", "--account", ACCOUNT, "--print-hash", "phc"],
        &format!("{STRONG}\n"),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = out.json();
    assert_eq!(v["accepted"], true, "{v}");
    assert_eq!(v["recorded"], true, "{v}");
    assert_eq!(v["score"], 4, "{v}");
    assert_eq!(v["account"], ACCOUNT, "{v}");
    let hash = v["hash"].as_str().unwrap();
    assert!(pwsentry::mailhash::verify(hash, &pwsentry::Password::from(STRONG)).unwrap());
    // Rejected: the verdict, recorded false, no hash.
    let out = s.run(
        &["--json", "set", "--account", ACCOUNT, "--print-hash", "phc"],
        "password1\n",
    );
    assert_eq!(out.code, 1);
    let v = out.json();
    assert_eq!(
        (v["accepted"].clone(), v["recorded"].clone()),
        (false.into(), false.into())
    );
    assert!(v["hash"].is_null(), "{v}");
    assert!(crate::util::rules_of(&v).contains(&"symbols".to_owned()));
    // Without --print-hash, no hash key at all.
    let out = s.run(
        &["--json", "set", "--account", "bob@example.com"],
        "Lunar#Pickle#Anthem77\n",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = out.json();
    assert_eq!(v["recorded"], true);
    assert!(v.get("hash").is_none(), "{v}");
}

#[test]
fn set_takes_exactly_one_line_of_stdin() {
    let s = Setup::new();
    let out = s.run(
        &["set", "--account", ACCOUNT],
        &format!("{STRONG}\n{STRONG}\n"),
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("more than one line"), "{}", out.stderr);
    let out = s.run(&["set", "--account", ACCOUNT], "");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("no password on stdin"),
        "{}",
        out.stderr
    );
    assert!(!s.is_recorded(STRONG));
}

#[test]
fn set_json_at_a_terminal_prints_one_object_at_the_end() {
    let s = Setup::new();
    let mut p = s.spawn_set(&["--json"]);
    p.enter(STRONG);
    p.expect("Type it again to confirm: ");
    p.enter(STRONG);
    // The object (stdout) comes before the last words (stderr).
    let before = p.expect("recorded (strength 4/4");
    let (code, _) = p.finish();
    assert_eq!(code, 0);
    let line = before
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON in {before:?}"));
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(
        (v["accepted"].clone(), v["recorded"].clone()),
        (true.into(), true.into())
    );
    assert_eq!(v["account"], ACCOUNT);
    // Cancelled before any check: recorded false, no verdict.
    let mut p = s.spawn_set(&["--json"]);
    p.type_text("\x1b");
    p.expect("Cancelled; nothing was recorded.");
    let (code, rest) = p.finish();
    assert_eq!(code, 130);
    let line = rest
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON in {rest:?}"));
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["recorded"], false);
    assert!(v["accepted"].is_null(), "{v}");
}

#[test]
fn a_password_too_new_to_change_ends_the_prompt_at_once() {
    let s = Setup::new();
    std::fs::write(&s.policy, format!("{POLICY}[rotation]\nmin_age_days = 1\n")).unwrap();
    let out = s.run(&["record", "--account", ACCOUNT], &format!("{STRONG}\n"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut p = s.spawn_set(&[]);
    p.enter("Lunar#Pickle#Anthem77");
    p.expect("Not accepted:");
    p.expect("The current password is too new to be changed yet; nothing was recorded.");
    let (code, rest) = p.finish();
    assert_eq!(code, 1);
    assert!(!rest.contains("New password:"), "no second try: {rest:?}");
    assert!(!s.is_recorded("Lunar#Pickle#Anthem77"));
}

#[test]
fn verify_current_asks_for_the_current_password_first() {
    let s = Setup::new();
    let out = s.run(&["record", "--account", ACCOUNT], &format!("{STRONG}\n"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let next = "Marble&Quartz&Heron#2031";

    let mut p = s.spawn_set_until(&["--verify-current"], "Current password: ");
    p.enter("not-the-current-one");
    p.expect("New password: ");
    p.enter(next);
    p.expect("the current password is wrong");
    p.expect("nothing was recorded");
    let (code, _) = p.finish();
    assert_eq!(code, 1);
    assert!(!s.is_recorded(next));

    let mut p = s.spawn_set_until(&["--verify-current"], "Current password: ");
    p.enter(STRONG);
    p.expect("New password: ");
    p.enter(next);
    p.expect("Type it again to confirm: ");
    p.enter(next);
    p.expect(&format!("New password for {ACCOUNT} recorded"));
    let (code, _) = p.finish();
    assert_eq!(code, 0);
    assert!(s.is_recorded(next));
}
