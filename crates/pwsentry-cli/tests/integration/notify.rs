//! `pwsentry notify` against a real SMTP server: aiosmtpd (Debian's
//! `python3-aiosmtpd`) started by each test on a free loopback port, with
//! the handler `tests/support/smtp_sink.py` writing every accepted message
//! as a decoded JSON file. Passwords are dated in the past with
//! `import --set-at` (writes use the system clock, so `notify` takes no
//! `--now`); a later threshold is reached by shortening `max_age_days`.

use crate::util::{Output, pwsentry, root, write, write_private};
use chrono::{Duration, SecondsFormat, Utc};
use serde_json::Value;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub(crate) const PHC: &str =
    "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA";

/// The Python that has aiosmtpd (Debian's, not a pyenv or venv one).
fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// A loopback port nothing listens on (right now).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running aiosmtpd; stopped when dropped.
pub(crate) struct SmtpSink {
    child: Child,
    pub(crate) port: u16,
    out: PathBuf,
}

impl SmtpSink {
    /// aiosmtpd's own command line, with the JSON handler; STARTTLS
    /// (required) with `tls`.
    pub(crate) fn start(dir: &Path, port: u16, tls: Option<(&Path, &Path)>) -> SmtpSink {
        let out = dir.join(format!("received-{port}"));
        let mut cmd = Command::new(python());
        cmd.args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"));
        if let Some((cert, key)) = tls {
            cmd.arg("--tlscert").arg(cert).arg("--tlskey").arg(key);
        }
        cmd.args(["-c", "smtp_sink.JsonSink"])
            .arg(&out)
            .env("PYTHONPATH", root().join("tests/support"));
        SmtpSink::spawn(cmd, port, out)
    }

    /// The sink's own script: STARTTLS, and AUTH required with `user`
    /// and `password`.
    fn start_with_auth(
        dir: &Path,
        port: u16,
        tls: (&Path, &Path),
        user: &str,
        password: &str,
    ) -> SmtpSink {
        let out = dir.join(format!("received-{port}"));
        let mut cmd = Command::new(python());
        cmd.arg(root().join("tests/support/smtp_sink.py"))
            .arg(port.to_string())
            .arg(&out)
            .arg(tls.0)
            .arg(tls.1)
            .args([user, password]);
        SmtpSink::spawn(cmd, port, out)
    }

    fn spawn(mut cmd: Command, port: u16, out: PathBuf) -> SmtpSink {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .expect("start aiosmtpd (apt-get install python3-aiosmtpd; scripts/test.sh does)");
        let start = std::time::Instant::now();
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                let mut err = String::new();
                std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
                panic!(
                    "aiosmtpd exited ({status}): {err}\n(apt-get install python3-aiosmtpd; scripts/test.sh does)"
                );
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(20),
                "aiosmtpd did not listen on port {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        SmtpSink { child, port, out }
    }

    /// Every message received so far, oldest first.
    pub(crate) fn messages(&self) -> Vec<Value> {
        let Ok(dir) = std::fs::read_dir(&self.out) else {
            return Vec::new();
        };
        let mut names: Vec<PathBuf> = dir
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn ago(days: i64) -> String {
    (Utc::now() - Duration::days(days)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A history database, a policy and a place for the SMTP server's output.
struct Env {
    dir: tempfile::TempDir,
    db: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("history.db");
        Env { dir, db }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Dates `account`'s current password `days` ago.
    fn password_set(&self, account: &str, days: i64) {
        let at = ago(days);
        let out = self.run(
            &self.policy(90, 1),
            &["import", "--account", account, "--set-at", &at],
            &format!("{PHC}\n"),
        );
        assert_eq!(out.code, 0, "{out:?}");
    }

    /// A policy with `[notify]` pointing at `port`.
    fn policy(&self, max_age: u32, port: u16) -> PathBuf {
        self.policy_with(max_age, port, "")
    }

    fn policy_with(&self, max_age: u32, port: u16, extra: &str) -> PathBuf {
        write(
            self.path(),
            &format!("policy-{max_age}-{port}.toml"),
            format!(
                r#"[rotation]
max_age_days = {max_age}
warn_days = 14
remind_days = [14, 7, 1]

[notify]
from = "Password desk <pwdesk@example.com>"
subject = "{{account}}: {{days_left}} days left"
stale_subject = "{{account}}: password expired"
template = """
Hello {{account}},
your password expires on {{expires}} ({{days_left}} days).
Change it at {{change_url}} please.
"""
change_url = "https://mail.example.com/password"
smtp_host = "127.0.0.1"
smtp_port = {port}
address_map = "addresses.txt"
{extra}"#
            ),
        )
    }

    fn run(&self, policy: &Path, args: &[&str], stdin: &str) -> Output {
        let mut all: Vec<String> = vec![
            "--policy".into(),
            policy.display().to_string(),
            "--db".into(),
            self.db.display().to_string(),
        ];
        all.extend(args.iter().map(|s| s.to_string()));
        pwsentry(&all).stdin(stdin).cwd(self.path()).run()
    }

    fn notify(&self, policy: &Path, extra: &[&str]) -> Output {
        let mut args = vec!["--json", "notify"];
        args.extend_from_slice(extra);
        self.run(policy, &args, "")
    }
}

/// (account, reminder, status) of `notify --json` lines.
fn rows(out: &Output) -> Vec<(String, String, String)> {
    let mut r: Vec<_> = out
        .json_lines()
        .iter()
        .map(|v| {
            (
                v["account"].as_str().unwrap().to_owned(),
                v["reminder"].as_str().unwrap().to_owned(),
                v["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    r.sort();
    r
}

fn triple(a: &str, b: &str, c: &str) -> (String, String, String) {
    (a.into(), b.into(), c.into())
}

fn by_recipient(messages: &[Value]) -> Vec<(String, String)> {
    let mut r: Vec<_> = messages
        .iter()
        .map(|m| {
            (
                m["rcpt_tos"][0].as_str().unwrap().to_owned(),
                m["subject"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    r.sort();
    r
}

#[test]
fn reminders_go_out_once_per_threshold_through_a_real_smtp_server() {
    let env = Env::new();
    write(
        env.path(),
        "addresses.txt",
        "# private addresses\nErin@Example.com erin.home@example.org\n",
    );
    env.password_set("bob@example.com", 85); // 5 days left: the 7-day reminder
    env.password_set("carol@example.com", 100); // stale
    env.password_set("dave@example.com", 10); // nothing yet
    env.password_set("erin@example.com", 80); // 10 days left: the 14-day reminder
    let port = free_port();
    let sink = SmtpSink::start(env.path(), port, None);
    let policy = env.policy(90, sink.port);

    // A dry run lists what is due, sends and remembers nothing.
    for _ in 0..2 {
        let out = env.notify(&policy, &["--dry-run"]);
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(
            rows(&out),
            [
                triple("bob@example.com", "7d", "due"),
                triple("carol@example.com", "stale", "due"),
                triple("erin@example.com", "14d", "due"),
            ]
        );
    }
    assert!(sink.messages().is_empty(), "a dry run sends nothing");
    let out = env.notify(&policy, &["--dry-run"]);
    let erin = out
        .json_lines()
        .into_iter()
        .find(|l| l["account"] == "erin@example.com")
        .unwrap();
    assert_eq!(
        (&erin["days_left"], &erin["address"], &erin["reminder"]),
        (
            &Value::from(10),
            &Value::from("erin.home@example.org"),
            &Value::from("14d")
        ),
        "{erin}"
    );
    let changed =
        chrono::DateTime::parse_from_rfc3339(erin["changed_at"].as_str().unwrap()).unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(erin["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires - changed, Duration::days(90), "{erin}");
    let text = env.run(&policy, &["notify", "--dry-run"], "");
    assert!(
        text.stdout.contains("3 due (dry run")
            && text
                .stdout
                .contains("erin@example.com -> erin.home@example.org"),
        "{text:?}"
    );
    // Writes use the system clock: --now only with --dry-run.
    let out = env.run(&policy, &["--now", &ago(1), "notify"], "");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--dry-run"), "{}", out.stderr);
    assert!(sink.messages().is_empty());

    let out = env.notify(&policy, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        rows(&out),
        [
            triple("bob@example.com", "7d", "sent"),
            triple("carol@example.com", "stale", "sent"),
            triple("erin@example.com", "14d", "sent"),
        ]
    );
    let got = sink.messages();
    assert_eq!(
        by_recipient(&got),
        [
            (
                "bob@example.com".into(),
                "bob@example.com: 5 days left".into()
            ),
            (
                "carol@example.com".into(),
                "carol@example.com: password expired".into()
            ),
            (
                "erin.home@example.org".into(),
                "erin@example.com: 10 days left".into()
            ),
        ],
        "one mail per due reminder, to the mapped address where there is one"
    );
    for m in &got {
        assert_eq!(m["mail_from"], "pwdesk@example.com");
        assert_eq!(m["from"], "Password desk <pwdesk@example.com>");
        assert_eq!(m["content_type"], "text/plain");
        assert!(m["message_id"].as_str().unwrap().contains('@'), "{m}");
        assert_eq!(m["rcpt_tos"].as_array().unwrap().len(), 1);
    }
    let bob = got.iter().find(|m| m["to"] == "bob@example.com").unwrap();
    let body = bob["body"].as_str().unwrap();
    assert!(
        body.contains("Hello bob@example.com,")
            && body.contains("(5 days)")
            && body.contains("Change it at https://mail.example.com/password please."),
        "{body}"
    );
    let carol = got.iter().find(|m| m["to"] == "carol@example.com").unwrap();
    assert!(
        carol["body"].as_str().unwrap().contains("expired on"),
        "the stale notice has its own default body: {carol}"
    );
    let peers: std::collections::BTreeSet<String> =
        got.iter().map(|m| m["peer"].to_string()).collect();
    assert_eq!(peers.len(), 1, "one SMTP connection for the run: {peers:?}");

    // A rerun sends nothing twice.
    let out = env.notify(&policy, &[]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{out:?}");
    assert_eq!(sink.messages().len(), 3);
    let text = env.run(&policy, &["notify"], "");
    assert_eq!(
        (text.code, text.stdout.as_str()),
        (0, ""),
        "cron mails only when there is news"
    );

    // Four days later (the same as a maximum age four days shorter): bob
    // crosses the 1-day line, erin the 7-day one; carol is not told again.
    let later = env.policy(86, sink.port);
    let out = env.notify(&later, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        rows(&out),
        [
            triple("bob@example.com", "1d", "sent"),
            triple("erin@example.com", "7d", "sent"),
        ]
    );
    let got = sink.messages();
    assert_eq!(got.len(), 5);
    assert_eq!(
        by_recipient(&got[3..]),
        [
            (
                "bob@example.com".into(),
                "bob@example.com: 1 days left".into()
            ),
            (
                "erin.home@example.org".into(),
                "erin@example.com: 6 days left".into()
            ),
        ]
    );
    assert_eq!(env.notify(&later, &[]).stdout, "", "nothing twice");

    // A new password starts afresh: the stale notice of the old one does
    // not count, and the new one's reminders go out when they are due.
    env.password_set("carol@example.com", 5);
    assert_eq!(env.notify(&later, &["--dry-run"]).stdout, "");
    let out = env.notify(&env.policy(16, sink.port), &["--dry-run"]);
    assert!(
        rows(&out).contains(&triple("carol@example.com", "14d", "due")),
        "{out:?}"
    );

    // `forget` deletes the account's reminder records with its history.
    let out = env.run(&later, &["forget", "--account", "bob@example.com"], "");
    assert_eq!(out.code, 0, "{out:?}");
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM reminders WHERE account = 'bob@example.com'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 0);
    let n: i64 = conn
        .query_row("SELECT count(*) FROM reminders", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2, "erin's and carol's records stay");
}

#[test]
fn an_unreachable_server_fails_the_run_and_the_next_run_sends() {
    let env = Env::new();
    write(env.path(), "addresses.txt", "");
    env.password_set("bob@example.com", 85);
    env.password_set("carol@example.com", 100);
    let port = free_port();
    let policy = env.policy(90, port);

    let out = env.notify(&policy, &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains(&format!("SMTP server 127.0.0.1:{port} cannot be used"))
            && out.stderr.contains("retried on the next run")
            && out.stderr.contains("refused"),
        "{}",
        out.stderr
    );
    let error: Value = serde_json::from_str(out.stderr.trim()).unwrap();
    assert_eq!(error["error"]["code"], "smtp_unavailable", "{error}");
    let lines = out.json_lines();
    assert_eq!(
        lines.len(),
        1,
        "the run stops at the first connection failure: {lines:?}"
    );
    assert_eq!(lines[0]["status"], "failed");
    // Nothing was remembered as sent.
    assert_eq!(rows(&env.notify(&policy, &["--dry-run"])).len(), 2);

    let sink = SmtpSink::start(env.path(), port, None);
    let out = env.notify(&policy, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        by_recipient(&sink.messages())
            .into_iter()
            .map(|(to, _)| to)
            .collect::<Vec<_>>(),
        ["bob@example.com", "carol@example.com"]
    );
    assert_eq!(env.notify(&policy, &[]).stdout, "");
}

#[test]
fn a_refused_recipient_is_reported_and_retried_while_the_others_go_out() {
    let env = Env::new();
    write(
        env.path(),
        "addresses.txt",
        "carol@example.com reject.carol@example.org\n",
    );
    env.password_set("bob@example.com", 85);
    env.password_set("carol@example.com", 85);
    let sink = SmtpSink::start(env.path(), free_port(), None);
    let policy = env.policy(90, sink.port);
    for round in 0..2 {
        let out = env.notify(&policy, &[]);
        assert_eq!(out.code, 1, "{out:?}");
        let lines = out.json_lines();
        let carol = lines
            .iter()
            .find(|l| l["account"] == "carol@example.com")
            .unwrap_or_else(|| panic!("round {round}: {lines:?}"));
        assert_eq!(carol["status"], "failed");
        assert!(carol["error"].as_str().unwrap().contains("550"), "{carol}");
        assert_eq!(
            lines.iter().filter(|l| l["status"] == "sent").count(),
            1 - round,
            "bob is sent once, carol retried"
        );
        assert!(
            out.stderr.contains("1 reminders were not sent"),
            "{}",
            out.stderr
        );
    }
    assert_eq!(sink.messages().len(), 1);
}

#[test]
fn configuration_problems_are_named() {
    let env = Env::new();
    env.password_set("bob@example.com", 85);
    let bare = write(env.path(), "bare.toml", "[rotation]\nremind_days = [7]\n");
    let out = env.run(&bare, &["notify"], "");
    assert_eq!(out.code, 78, "{out:?}");
    assert!(out.stderr.contains("no [notify] section"), "{}", out.stderr);

    write(env.path(), "addresses.txt", "");
    let bad = env.policy_with(90, 25, "bogus_key = 1\n");
    let out = env.run(&bad, &["notify"], "");
    assert_eq!(out.code, 78, "{out:?}");
    assert!(
        out.stderr.contains("unknown field `bogus_key`"),
        "{}",
        out.stderr
    );

    let bad = write(
        env.path(),
        "badfrom.toml",
        "[notify]\nfrom = \"not an address\"\nchange_url = \"https://x.example/\"\n",
    );
    let out = env.run(&bad, &["notify", "--dry-run"], "");
    assert_eq!(out.code, 78, "{out:?}");
    assert!(out.stderr.contains("notify.from"), "{}", out.stderr);
    let out = pwsentry(["policy", "check", &bad.display().to_string()]).run();
    assert_eq!(out.code, 78, "policy check catches it too: {out:?}");
    assert!(out.stderr.contains("notify.from"), "{}", out.stderr);

    write(env.path(), "addresses.txt", "bob@example.com\n");
    let out = env.run(&env.policy(90, 25), &["notify", "--dry-run"], "");
    assert_eq!(out.code, 78, "{out:?}");
    assert!(
        out.stderr.contains("addresses.txt") && out.stderr.contains("line 1"),
        "{}",
        out.stderr
    );

    // A missing database is an error, not "nothing due".
    write(env.path(), "addresses.txt", "");
    let out = pwsentry([
        "--policy",
        &env.policy(90, 25).display().to_string(),
        "--db",
        &env.path().join("typo.db").display().to_string(),
        "notify",
    ])
    .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("no history database"), "{}", out.stderr);
    assert!(!env.path().join("typo.db").exists());
}

/// A CA and a certificate for `localhost` signed by it (rustls refuses a
/// CA certificate as the server's own).
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=pwsentry test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    write(
        dir,
        "server.ext",
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    );
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

#[test]
fn starttls_is_required_and_verified() {
    let env = Env::new();
    write(env.path(), "addresses.txt", "");
    env.password_set("bob@example.com", 85);
    let (ca, cert, key) = certificates(env.path());
    let sink = SmtpSink::start(env.path(), free_port(), Some((&cert, &key)));
    let tls = |ca: &Path| format!("tls = \"starttls\"\ntls_ca_file = \"{}\"\n", ca.display());
    // The name must match: 127.0.0.1 is not in the certificate.
    let policy = env.policy_with(90, sink.port, &tls(&ca));
    let out = env.notify(&policy, &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        sink.messages().is_empty(),
        "nothing over an unverified connection"
    );

    let policy = write(
        env.path(),
        "tls.toml",
        std::fs::read_to_string(&policy)
            .unwrap()
            .replace("smtp_host = \"127.0.0.1\"", "smtp_host = \"localhost\""),
    );
    // A certificate from another CA is refused.
    let other = tempfile::tempdir().unwrap();
    let (other_ca, _, _) = certificates(other.path());
    let wrong = write(
        env.path(),
        "tls-wrong.toml",
        std::fs::read_to_string(&policy)
            .unwrap()
            .replace(&ca.display().to_string(), &other_ca.display().to_string()),
    );
    let out = env.notify(&wrong, &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(sink.messages().is_empty());

    // The right CA and name: sent over TLS.
    let out = env.notify(&policy, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let got = sink.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["tls"], true, "{}", got[0]);

    // A server that does not offer STARTTLS (a downgrade by whoever sits
    // in between): nothing goes out in clear text, the run stops.
    env.password_set("carol@example.com", 85);
    let plain = SmtpSink::start(env.path(), free_port(), None);
    let downgraded = write(
        env.path(),
        "tls-downgraded.toml",
        std::fs::read_to_string(&policy).unwrap().replace(
            &format!("smtp_port = {}", sink.port),
            &format!("smtp_port = {}", plain.port),
        ),
    );
    let out = env.notify(&downgraded, &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("cannot be used") && out.stderr.to_lowercase().contains("tls"),
        "{}",
        out.stderr
    );
    assert!(plain.messages().is_empty(), "{:?}", plain.messages());
    assert_eq!(
        rows(&env.notify(&policy, &["--dry-run"])),
        [triple("carol@example.com", "7d", "due")],
        "not remembered as sent"
    );
}

#[test]
fn notify_needs_a_private_auth_file() {
    let env = Env::new();
    write(env.path(), "addresses.txt", "");
    env.password_set("bob@example.com", 85);
    write(env.path(), "smtp-auth", "pwsentry\nSmtpS3cret!pass\n");
    #[cfg(unix)]
    std::fs::set_permissions(
        env.path().join("smtp-auth"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let policy = env.policy_with(90, 25, "tls = \"tls\"\nauth_file = \"smtp-auth\"\n");
    let out = env.notify(&policy, &[]);
    assert_eq!(out.code, 78, "{out:?}");
    assert!(
        out.stderr.contains("smtp-auth") && out.stderr.contains("readable by others"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("SmtpS3cret"));
    // One line only: the password line is missing.
    write_private(env.path(), "smtp-auth", "pwsentry\n");
    let out = env.notify(&policy, &[]);
    assert_eq!(out.code, 78, "{out:?}");
    assert!(
        out.stderr.contains("the password on the second"),
        "{}",
        out.stderr
    );
}

#[test]
fn smtp_auth_over_starttls() {
    let env = Env::new();
    write(env.path(), "addresses.txt", "");
    env.password_set("bob@example.com", 85);
    env.password_set("carol@example.com", 100);
    let (ca, cert, key) = certificates(env.path());
    let port = free_port();
    let sink = SmtpSink::start_with_auth(
        env.path(),
        port,
        (&cert, &key),
        "pwsentry",
        "Smtp-S3cret-pass",
    );
    let policy = |auth: &str| {
        write_private(env.path(), auth, format!("pwsentry\n{auth}\n"));
        env.policy_with(
            90,
            port,
            &format!(
                "tls = \"starttls\"\ntls_ca_file = \"{}\"\nauth_file = \"{auth}\"\n",
                ca.display()
            ),
        )
    };
    let fix = |p: PathBuf, name: &str| {
        write(
            env.path(),
            name,
            std::fs::read_to_string(p)
                .unwrap()
                .replace("smtp_host = \"127.0.0.1\"", "smtp_host = \"localhost\""),
        )
    };
    // The wrong password: nothing sent, the run stopped at the first
    // refusal (it would be refused for every mail), no password shown.
    let wrong = fix(policy("Wrong-pass-123"), "wrong.toml");
    let out = env.notify(&wrong, &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.json_lines().len(), 1, "{out:?}");
    assert!(
        out.stderr.contains("535") && out.stderr.contains("retried on the next run"),
        "{}",
        out.stderr
    );
    assert!(sink.messages().is_empty());
    for secret in ["Wrong-pass-123", "Smtp-S3cret-pass"] {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "{out:?}"
        );
    }
    assert_eq!(
        env.notify(&wrong, &["--dry-run"]).json_lines().len(),
        2,
        "not remembered"
    );
    // Without credentials the server refuses the mail (AUTH required).
    let none = fix(
        env.policy_with(
            90,
            port,
            &format!("tls = \"starttls\"\ntls_ca_file = \"{}\"\n", ca.display()),
        ),
        "none.toml",
    );
    assert_eq!(env.notify(&none, &[]).code, 1);
    assert!(sink.messages().is_empty());
    // The right one.
    let right = fix(policy("Smtp-S3cret-pass"), "right.toml");
    let out = env.notify(&right, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let got = sink.messages();
    assert_eq!(by_recipient(&got).len(), 2);
    assert!(got.iter().all(|m| m["tls"] == true));
}

/// A hand-written SMTP server on a free loopback port that accepts every
/// command but holds back its answer to the end of the first message
/// until `release` is sent, so that a test can act while a `notify` run
/// is in the middle of a send. Counts the messages whose end it saw.
struct StallingSmtp {
    port: u16,
    in_data: std::sync::mpsc::Receiver<()>,
    release: std::sync::mpsc::Sender<()>,
    messages: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl StallingSmtp {
    fn start() -> StallingSmtp {
        use std::io::{BufRead, BufReader, Write};
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (in_data_tx, in_data) = std::sync::mpsc::channel();
        let (release, release_rx) = std::sync::mpsc::channel::<()>();
        let messages = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = messages.clone();
        std::thread::spawn(move || {
            let mut first = true;
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let _ = stream.write_all(b"220 stalling ESMTP\r\n");
                let mut data = false;
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 {
                    let reply: &[u8] = if data {
                        if line == ".\r\n" {
                            data = false;
                            if first {
                                first = false;
                                let _ = in_data_tx.send(());
                                let _ = release_rx.recv();
                            }
                            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            b"250 accepted\r\n"
                        } else {
                            b""
                        }
                    } else {
                        match line.get(..4).map(|v| v.to_ascii_uppercase()).as_deref() {
                            Some("EHLO") => b"250-stalling\r\n250 8BITMIME\r\n",
                            Some("DATA") => {
                                data = true;
                                b"354 go on\r\n"
                            }
                            Some("QUIT") => b"221 bye\r\n",
                            _ => b"250 OK\r\n",
                        }
                    };
                    if !reply.is_empty() && stream.write_all(reply).is_err() {
                        break;
                    }
                    line.clear();
                }
            }
        });
        StallingSmtp {
            port,
            in_data,
            release,
            messages,
        }
    }
}

#[test]
fn two_runs_at_once_do_not_send_a_reminder_twice() {
    let env = Env::new();
    write(env.path(), "addresses.txt", "");
    env.password_set("bob@example.com", 85);
    let stalling = StallingSmtp::start();
    let sink = SmtpSink::start(env.path(), free_port(), None);
    let slow = env.policy(90, stalling.port);
    let fast = env.policy(90, sink.port);
    std::thread::scope(|s| {
        let first = s.spawn(|| env.notify(&slow, &[]));
        // The first run has sent bob's mail and waits for the server's
        // answer: it has not remembered it yet.
        stalling
            .in_data
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the first run reaches the end of its message");
        let second = env.notify(&fast, &[]);
        stalling.release.send(()).unwrap();
        let first = first.join().unwrap();
        assert_eq!(first.code, 0, "{first:?}");
        assert_eq!(
            rows(&first),
            [triple("bob@example.com", "7d", "sent")],
            "{first:?}"
        );
        assert_eq!(second.code, 2, "{second:?}");
        assert!(
            second.stderr.contains("another `pwsentry notify`")
                && second.stderr.contains("history.db"),
            "{}",
            second.stderr
        );
    });
    assert_eq!(
        sink.messages().len() + stalling.messages.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "bob is told once: {:?}",
        sink.messages()
    );
    // The lock went with the first run: the next run goes on as usual.
    let out = env.notify(&fast, &[]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{out:?}");
}

#[test]
fn an_account_id_cannot_redirect_its_reminder() {
    let env = Env::new();
    write(env.path(), "addresses.txt", "");
    // Account ids may hold `<`, `>`, `,` and quotes (no white space): as a
    // recipient they must be one plain address, never a display name
    // with another address behind it, nor a list.
    let hostile = [
        "alice<eve@evil.example>",
        "\"alice@example.com\"<eve@evil.example>",
        "alice@example.com,eve@evil.example",
        "alice@example.com>",
    ];
    for account in hostile {
        env.password_set(account, 85);
    }
    env.password_set("bob@example.com", 85);
    let sink = SmtpSink::start(env.path(), free_port(), None);
    let policy = env.policy(90, sink.port);
    let dry = env.notify(&policy, &["--dry-run"]);
    let out = env.notify(&policy, &[]);
    assert_eq!(out.code, 1, "{out:?}");
    for (label, run) in [("dry run", &dry), ("run", &out)] {
        for line in run.json_lines() {
            let account = line["account"].as_str().unwrap();
            if account == "bob@example.com" {
                continue;
            }
            assert_eq!(line["status"], "failed", "{label}: {line}");
            assert!(
                line["error"]
                    .as_str()
                    .unwrap()
                    .contains("not a plain mail address"),
                "{label}: {line}"
            );
        }
        assert_eq!(run.json_lines().len(), 5, "{label}: {run:?}");
    }
    let messages = sink.messages();
    assert_eq!(
        by_recipient(&messages),
        [(
            "bob@example.com".to_owned(),
            "bob@example.com: 5 days left".to_owned()
        )],
        "{messages:?}"
    );
}

/// A hand-written SMTP server that accepts every command, reads a whole
/// message, and then closes the connection instead of answering: the
/// client cannot know whether the mail was taken.
fn server_dropping_at_end_of_data() -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let _ = stream.write_all(b"220 dropping ESMTP\r\n");
            let (mut data, mut line) = (false, String::new());
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                let reply: &[u8] = match (data, line.as_str()) {
                    (true, ".\r\n") => break,
                    (true, _) => b"",
                    (false, l) if l.to_ascii_uppercase().starts_with("EHLO") => {
                        b"250-dropping\r\n250 8BITMIME\r\n"
                    }
                    (false, l) if l.to_ascii_uppercase().starts_with("DATA") => {
                        data = true;
                        b"354 go on\r\n"
                    }
                    _ => b"250 OK\r\n",
                };
                if !reply.is_empty() && stream.write_all(reply).is_err() {
                    break;
                }
                line.clear();
            }
        }
    });
    port
}

#[test]
fn a_mail_the_server_did_not_confirm_is_not_remembered() {
    let env = Env::new();
    write(env.path(), "addresses.txt", "");
    env.password_set("bob@example.com", 85);
    env.password_set("carol@example.com", 84);
    let policy = env.policy(90, server_dropping_at_end_of_data());
    let out = env.notify(&policy, &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        rows(&out),
        [triple("bob@example.com", "7d", "failed")],
        "the run stops at the dropped connection: {out:?}"
    );
    assert!(out.stderr.contains("0 reminders sent"), "{}", out.stderr);
    assert_eq!(
        rows(&env.notify(&policy, &["--dry-run"])),
        [
            triple("bob@example.com", "7d", "due"),
            triple("carol@example.com", "7d", "due")
        ],
        "nothing remembered as sent"
    );
}

#[test]
fn huge_rendered_mails_are_not_held_a_batch_at_a_time() {
    // 100 due reminders to 490-byte account ids, with a subject and a body
    // of 7,000 `{account}` each (within the 64 KiB a template may have):
    // 6.9 MB per mail, 690 MB for the lot. The run is given 300 MB of
    // address space: it must hold a few mails at a time, not a batch.
    let env = Env::new();
    write(env.path(), "addresses.txt", "");
    let accounts: Vec<String> = (0..100)
        .map(|i| format!("u{i:03}{}@example.com", "a".repeat(474)))
        .collect();
    for account in &accounts {
        env.password_set(account, 85);
    }
    let many = "{account}".repeat(7_000);
    let policy = write(
        env.path(),
        "huge.toml",
        std::fs::read_to_string(env.policy(90, 1))
            .unwrap()
            .replace(
                "subject = \"{account}: {days_left} days left\"",
                &format!("subject = \"{many}\""),
            )
            .replace("template = \"\"\"", &format!("template = \"\"\"{many}"))
            + "address = \"desk@example.com\"\n",
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 300000 && exec \"$0\" \"$@\"")
        .arg(crate::util::bin())
        .arg("--policy")
        .arg(&policy)
        .arg("--db")
        .arg(&env.db)
        .args(["--json", "notify", "--dry-run"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.contains("\"status\":\"due\""))
            .count(),
        100,
        "{stderr}"
    );
}

#[test]
fn a_recipient_the_server_cannot_take_does_not_stop_the_run() {
    // aiosmtpd does not offer SMTPUTF8: a non-ASCII address cannot go
    // through it. That concerns this mail only; the reminders after it
    // (later in the store's order, so on every run) still go out.
    let env = Env::new();
    write(env.path(), "addresses.txt", "");
    env.password_set("jöhn@example.com", 86);
    env.password_set("bob@example.com", 85);
    let sink = SmtpSink::start(env.path(), free_port(), None);
    let policy = env.policy(90, sink.port);
    let out = env.notify(&policy, &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        rows(&out),
        [
            triple("bob@example.com", "7d", "sent"),
            triple("jöhn@example.com", "7d", "failed")
        ],
        "{out:?}"
    );
    assert!(
        out.stderr.contains("1 reminders were not sent"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("SMTPUTF8"),
        "the reason is given: {}",
        out.stdout
    );
    assert_eq!(by_recipient(&sink.messages()).len(), 1);
}

#[test]
fn a_run_killed_mid_send_leaves_no_lock_and_nothing_remembered() {
    let env = Env::new();
    write(env.path(), "addresses.txt", "");
    env.password_set("bob@example.com", 85);
    let stalling = StallingSmtp::start();
    let sink = SmtpSink::start(env.path(), free_port(), None);
    let mut killed = Command::new(crate::util::bin())
        .arg("--policy")
        .arg(env.policy(90, stalling.port))
        .arg("--db")
        .arg(&env.db)
        .arg("notify")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    stalling
        .in_data
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the run reaches the end of its message");
    killed.kill().unwrap(); // SIGKILL
    killed.wait().unwrap();
    // The server never said it took the mail: it is sent again, once,
    // by the next run, which the dead one's lock does not hold back.
    let policy = env.policy(90, sink.port);
    let out = env.notify(&policy, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(rows(&out), [triple("bob@example.com", "7d", "sent")]);
    assert_eq!(env.notify(&policy, &[]).stdout, "");
    assert_eq!(sink.messages().len(), 1);
    drop(stalling.release);
}

/// A hand-written SMTP server that answers RCPT with `rcpt_reply`.
fn server_answering_rcpt(rcpt_reply: &'static [u8]) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let _ = stream.write_all(b"220 scripted ESMTP\r\n");
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                let reply: &[u8] = match verb.as_str() {
                    "EHLO" => b"250-scripted\r\n250 8BITMIME\r\n",
                    "RCPT" => rcpt_reply,
                    "QUIT" => b"221 bye\r\n",
                    _ => b"250 OK\r\n",
                };
                if stream.write_all(reply).is_err() {
                    break;
                }
                line.clear();
            }
        }
    });
    port
}

#[test]
fn the_server_s_words_reach_the_terminal_escaped() {
    let env = Env::new();
    write(env.path(), "addresses.txt", "");
    env.password_set("bob@example.com", 85);
    let port = server_answering_rcpt(b"550 5.1.1 \x1b]0;owned\x07\x1b[2Jno such user\r\n");
    let policy = env.policy(90, port);
    let out = env.run(&policy, &["notify"], "");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("no such user"), "{out:?}");
    assert!(
        !out.stdout.contains('\x1b') && !out.stdout.contains('\x07'),
        "{:?}",
        out.stdout
    );
    assert!(out.stdout.contains("\\u{1b}]0;owned"), "{:?}", out.stdout);
}
