//! `pwsentry serve` end to end: the real binary on 127.0.0.1, a real HTTP
//! client, a real passwd-file, and the real Dovecot authenticating what the
//! server wrote. The server's log is scanned for the passwords it saw.

use crate::dovecot;
use crate::util::{bin, write};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) const FAST_HASHING: &str =
    "[hashing]\nmemory_kib = 64\niterations = 1\nallow_weak_parameters = true\n";
const TOKEN: &str = "admin-token-0123456789abcdef";
pub(crate) const OLD: &str = "Old#Orbit#Canyon42";
pub(crate) const NEW: &str = "New#Velvet#Harbor77";

/// A running `pwsentry serve` and what it logged (also used by the page's
/// browser tests).
pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
    log: Arc<Mutex<String>>,
    pub(crate) agent: ureq::Agent,
}

impl Server {
    pub(crate) fn start(dir: &Path, passwd_file: Option<&Path>, extra: &[&str]) -> Server {
        let policy = dir.join("policy.toml");
        if !policy.exists() {
            write(dir, "policy.toml", FAST_HASHING);
        }
        let token = dir.join("token");
        if !token.exists() {
            write(dir, "token", format!("{TOKEN}\n"));
            set_mode(&token, 0o600);
        }
        let mut cmd = Command::new(bin());
        cmd.arg("--policy")
            .arg(&policy)
            .arg("--db")
            .arg(dir.join("history.db"))
            .args(["serve", "--listen", "127.0.0.1:0", "--admin-token-file"])
            .arg(&token)
            .args(extra)
            .env_remove("PWSENTRY_POLICY")
            .env_remove("PWSENTRY_DB")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(p) = passwd_file {
            cmd.arg("--passwd-file").arg(p);
        }
        let mut child = cmd.spawn().expect("spawn pwsentry serve");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stderr);
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 {
                    if let Some(addr) = line.trim().strip_prefix("pwsentry serve: listening on ") {
                        let _ = tx.send(addr.to_owned());
                    }
                    log.lock().unwrap().push_str(&line);
                    line.clear();
                }
            });
        }
        let base = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the server did not start: {}", log.lock().unwrap()));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Server {
            child,
            base,
            log,
            agent,
        }
    }

    pub(crate) fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let mut r = self
            .agent
            .post(format!("{}{path}", self.base))
            .send_json(body)
            .unwrap();
        let status = r.status().as_u16();
        let text = r.body_mut().read_to_string().unwrap();
        (
            status,
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{status} not JSON ({e}): {text}")),
        )
    }

    pub(crate) fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> (u16, String) {
        let mut r = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Content-Type", content_type)
            .send(&body[..])
            .unwrap();
        (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        )
    }

    fn roundcube(&self, user: &str, cur: &str, new: &str) -> (u16, String) {
        let mut r = self
            .agent
            .post(format!("{}/roundcube", self.base))
            .send_form([("user", user), ("curpass", cur), ("newpass", new)])
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    }

    /// The server's socket address, for raw connections (requests an
    /// HTTP client library would not send).
    pub(crate) fn addr(&self) -> std::net::SocketAddr {
        self.base.trim_start_matches("http://").parse().unwrap()
    }

    pub(crate) fn get(&self, path: &str, token: Option<&str>) -> (u16, String) {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        let mut r = req.call().unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    }

    pub(crate) fn change(&self, account: &str, current: &str, new: &str) -> (u16, Value) {
        self.post_json(
            "/v1/change",
            &json!({"account": account, "current_password": current, "new_password": new}),
        )
    }

    /// Stops the server (SIGTERM) and returns its whole log.
    pub(crate) fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let status = self.child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let log = self.log.lock().unwrap().clone();
        assert!(status.success(), "serve exited with {status}: {log}");
        assert!(
            log.contains("pwsentry serve: stopped"),
            "no graceful shutdown: {log}"
        );
        log
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw connection to `addr` from the loopback address `source` (each
/// client address has its own rate limits and lockout).
fn connect_from(addr: std::net::SocketAddr, source: [u8; 4]) -> std::net::TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&std::net::SocketAddr::from((source, 0)).into())
        .unwrap();
    socket.connect(&addr.into()).unwrap();
    socket.into()
}

pub(crate) fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

pub(crate) fn passwd_with(dir: &Path, password: &str) -> PathBuf {
    let field = pwsentry::mailhash::dovecot_argon2id(
        &pwsentry::Password::from(password),
        &pwsentry::mailhash::MailHashParams::new(64, 1, 1).unwrap(),
    )
    .unwrap();
    let p = write(
        dir,
        "users",
        format!(
            "# mail users\nalice@example.com:{field}::::::\nbob@example.com:{{PLAIN}}bob::::::\n"
        ),
    );
    set_mode(&p, 0o640);
    p
}

fn rules(v: &Value) -> Vec<String> {
    crate::util::rules_of(v)
}

#[test]
fn check_answers_like_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), None, &[]);
    let (status, v) = server.post_json(
        "/v1/check",
        &json!({"password": "alice2024", "account": "alice@example.com"}),
    );
    assert_eq!(status, 200);
    assert_eq!(v["accepted"], false);
    assert!(rules(&v).contains(&"context_word".to_owned()), "{v}");
    let policy = dir.path().join("policy.toml");
    let db = dir.path().join("history.db");
    let cli = crate::util::pwsentry([
        "--json".as_ref(),
        "--policy".as_ref(),
        policy.as_os_str(),
        "--db".as_ref(),
        db.as_os_str(),
        "check".as_ref(),
        "--account".as_ref(),
        "alice@example.com".as_ref(),
    ])
    .stdin("alice2024\n")
    .run();
    assert_eq!(cli.json(), v, "the server's verdict is the CLI's");
    let (status, v) = server.post_json(
        "/v1/check",
        &json!({"password": "Velvet#Orbit#Canyon42", "user_inputs": ["velvet"]}),
    );
    assert_eq!(status, 200);
    assert_eq!(rules(&v), ["context_word"]);
    server.stop();
}

#[test]
fn bad_requests_get_clear_errors_without_echoing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), None, &[]);
    let marker = "Marker#Secret#9731";
    for (body, code, says) in [
        (
            format!("{{\"password\": \"{marker}\""),
            400,
            "not valid JSON",
        ),
        ("{}".to_owned(), 400, "missing field `password`"),
        (
            format!("{{\"password\": \"x\", \"{marker}\": 1}}"),
            400,
            "does not take",
        ),
        (
            format!("{{\"password\": [\"{marker}\"]}}"),
            400,
            "wrong type",
        ),
        (
            format!("{{\"password\": \"{}\"}}", "x".repeat(8000)),
            400,
            "longer than",
        ),
        (
            format!("{{\"password\": \"{}\"}}", "x".repeat(40_000)),
            413,
            "too large",
        ),
    ] {
        let (status, text) = server.post_raw("/v1/check", "application/json", body.into_bytes());
        assert_eq!(status, code, "{text}");
        assert!(text.contains(says), "{says}: {text}");
        assert!(!text.contains(marker));
    }
    let (status, _) = server.post_raw("/v1/check", "text/plain", b"{\"password\":\"x\"}".to_vec());
    assert_eq!(status, 415);
    let (status, _) = server.get("/v1/check?password=x", None);
    assert_eq!(status, 405, "no GET: a password never goes in a URL");
    let log = server.stop();
    assert!(!log.contains(marker), "{log}");
}

#[test]
fn admin_routes_need_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), None, &[]);
    assert_eq!(server.get("/v1/stale", None).0, 401);
    assert_eq!(
        server.get("/v1/stale", Some("wrong-token-0123456789")).0,
        401
    );
    assert_eq!(
        server
            .get(
                "/v1/status/alice@example.com",
                Some(&TOKEN[..TOKEN.len() - 1])
            )
            .0,
        401
    );
    let (status, body) = server.get("/v1/stale", Some(TOKEN));
    assert_eq!((status, body.trim()), (200, "{\"accounts\":[]}"));
    let (status, body) = server.get("/v1/status/alice@example.com", Some(TOKEN));
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "unknown");
    assert_eq!(server.get("/healthz", None), (200, "ok\n".to_owned()));
    server.stop();

    // A loose token file is refused at start.
    set_mode(&dir.path().join("token"), 0o644);
    let out = Command::new(bin())
        .args(["--policy"])
        .arg(dir.path().join("policy.toml"))
        .arg("--db")
        .arg(dir.path().join("history.db"))
        .args(["serve", "--listen", "127.0.0.1:0", "--admin-token-file"])
        .arg(dir.path().join("token"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 600"));
}

#[test]
fn change_writes_the_passwd_file_records_and_locks_out() {
    let dir = tempfile::tempdir().unwrap();
    let users = passwd_with(dir.path(), OLD);
    let server = Server::start(dir.path(), Some(&users), &["--max-failures", "3"]);

    // A weak new password: rejected with its reasons, nothing written.
    let before = std::fs::read(&users).unwrap();
    let (status, v) = server.change("alice@example.com", OLD, "alice1");
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["changed"], false);
    assert!(rules(&v["verdict"]).contains(&"min_length".to_owned()));
    assert_eq!(std::fs::read(&users).unwrap(), before);

    // The right current password and a strong new one.
    let (status, v) = server.change("alice@example.com", OLD, NEW);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["changed"], true);
    let field = pwsentry::passwd_file::PasswdFile::new(&users)
        .password_field("alice@example.com")
        .unwrap()
        .unwrap();
    assert!(field.starts_with("{ARGON2ID}$argon2id$"));
    assert!(pwsentry::mailhash::verify(&field, &pwsentry::Password::from(NEW)).unwrap());
    let text = std::fs::read_to_string(&users).unwrap();
    assert!(
        text.starts_with("# mail users\n") && text.contains("\nbob@example.com:{PLAIN}bob::::::\n")
    );
    let (_, status_body) = server.get("/v1/status/alice@example.com", Some(TOKEN));
    let s: Value = serde_json::from_str(&status_body).unwrap();
    assert_eq!(
        (s["status"].as_str(), s["history_entries"].as_u64()),
        (Some("ok"), Some(1))
    );

    // The old password no longer verifies; the same new one again is reuse.
    let (status, v) = server.change("alice@example.com", OLD, "Other#Tundra#Lantern5");
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("wrong_current_password"))
    );
    // The same again: caught in plain text against the verified current
    // password, before any hashing.
    let (status, v) = server.change("alice@example.com", NEW, NEW);
    assert_eq!(status, 422);
    assert!(
        rules(&v["verdict"]).contains(&"similar_to_current".to_owned()),
        "{v}"
    );

    // Unknown accounts answer as wrong passwords do.
    let (status, v) = server.change("nobody@example.com", OLD, "Other#Tundra#Lantern5");
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("wrong_current_password"))
    );

    // Third wrong password for alice: locked out, even with the right one.
    for wrong in ["wrong-1", "wrong-2"] {
        let (status, _) = server.change("alice@example.com", wrong, "Other#Tundra#Lantern5");
        assert_eq!(status, 403);
    }
    let (status, v) = server.change("alice@example.com", NEW, "Other#Tundra#Lantern5");
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (429, Some("locked_out")),
        "{v}"
    );
    let log = server.stop();

    // The lockout lives in the store: a second server process agrees.
    let server = Server::start(dir.path(), Some(&users), &["--max-failures", "3"]);
    let (status, _) = server.change("alice@example.com", NEW, "Other#Tundra#Lantern5");
    assert_eq!(status, 429);
    let log2 = server.stop();
    for secret in [
        OLD,
        NEW,
        "Other#Tundra#Lantern5",
        "wrong-1",
        "wrong-2",
        "alice1",
    ] {
        assert!(
            !log.contains(secret) && !log2.contains(secret),
            "{secret} in the log: {log}{log2}"
        );
    }
    let db = std::fs::read(dir.path().join("history.db")).unwrap();
    assert!(
        !db.windows(NEW.len()).any(|w| w == NEW.as_bytes()),
        "no plain password in the store"
    );
}

#[test]
fn roundcube_driver_and_dovecot_authenticate_the_new_password() {
    dovecot::require();
    let field = pwsentry::mailhash::dovecot_argon2id(
        &pwsentry::Password::from(OLD),
        &pwsentry::mailhash::MailHashParams::DOVECOT_DEFAULT,
    )
    .unwrap();
    let dovecot = dovecot::Dovecot::start(&format!("alice@example.com:{field}::::::\n"));
    assert!(dovecot.authenticates("alice@example.com", OLD));
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Some(dovecot.users()), &[]);

    let (status, body) = server.roundcube("alice@example.com", OLD, "short");
    assert_eq!(status, 422);
    assert!(body.contains("min_length"), "{body}");
    let (status, body) = server.roundcube("alice@example.com", "not-it", NEW);
    assert_eq!(status, 403, "{body}");
    let (status, body) = server.roundcube("alice@example.com", OLD, NEW);
    assert_eq!((status, body.as_str()), (200, "ok"));

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !dovecot.authenticates("alice@example.com", NEW) {
        assert!(
            std::time::Instant::now() < deadline,
            "Dovecot never accepted the new password"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(!dovecot.authenticates("alice@example.com", OLD));
    let log = server.stop();
    assert!(
        !log.contains(OLD) && !log.contains(NEW) && !log.contains("not-it"),
        "{log}"
    );
}

#[test]
fn serves_https_with_the_given_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl (scripts/test.sh installs it)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let (c, k) = (cert.display().to_string(), key.display().to_string());
    let server = Server::start(dir.path(), None, &["--tls-cert", &c, "--tls-key", &k]);
    assert!(
        server.base.starts_with("https://127.0.0.1:"),
        "{}",
        server.base
    );
    let out = Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--cacert",
            &c,
            "--data-binary",
            "@-",
        ])
        .args(["-H", "Content-Type: application/json"])
        .arg(format!("{}/v1/check", server.base))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(b"{\"password\":\"Velvet#Orbit#Canyon42\"}")?;
            child.wait_with_output()
        })
        .expect("curl (scripts/test.sh installs it)");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    assert_eq!(v["accepted"], true);
    // Over TLS the page's CSRF cookie is `Secure` and `__Host-` prefixed.
    let page = Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--cacert",
            &c,
            "--dump-header",
            "-",
            "--output",
            "/dev/null",
        ])
        .arg(format!("{}/", server.base))
        .output()
        .expect("curl");
    let headers = String::from_utf8_lossy(&page.stdout).to_ascii_lowercase();
    let cookie = headers
        .lines()
        .find(|l| l.starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no cookie: {headers}"));
    assert!(
        cookie.contains("__host-pwsentry_csrf=")
            && cookie.contains("; secure")
            && cookie.contains("samesite=strict"),
        "{cookie}"
    );
    // Only HTTP/1.1 is offered (ALPN): HTTP/2 has no header timeout, so a
    // quiet HTTP/2 connection would be held for ever.
    let version = Command::new("curl")
        .args(["--silent", "--show-error", "--http2", "--cacert", &c])
        .args(["--output", "/dev/null", "--write-out", "%{http_version}"])
        .arg(format!("{}/healthz", server.base))
        .output()
        .expect("curl");
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        "1.1",
        "{}",
        String::from_utf8_lossy(&version.stderr)
    );
    // Plain HTTP to the TLS port gets no answer.
    let plain = server
        .agent
        .get(server.base.replace("https://", "http://") + "/healthz")
        .call();
    assert!(plain.is_err() || plain.unwrap().status().as_u16() >= 400);
    server.stop();
}

#[test]
fn concurrent_wrong_passwords_cannot_outrun_the_lockout() {
    let dir = tempfile::tempdir().unwrap();
    let users = passwd_with(dir.path(), OLD);
    let server = Server::start(dir.path(), Some(&users), &["--max-failures", "3"]);
    // Sixteen wrong guesses at once: the count is checked before argon2
    // and noted after, so without serialising they all get a guess.
    let answers: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let server = &server;
                s.spawn(move || {
                    server
                        .change(
                            "alice@example.com",
                            &format!("wrong-guess-{i}"),
                            "Other#Tundra#Lantern5",
                        )
                        .0
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let guesses = answers.iter().filter(|&&s| s == 403).count();
    assert_eq!(guesses, 3, "exactly --max-failures guesses: {answers:?}");
    assert_eq!(
        answers.iter().filter(|&&s| s == 429).count(),
        13,
        "{answers:?}"
    );
    let (status, _) = server.change("alice@example.com", OLD, NEW);
    assert_eq!(status, 429, "still locked for the right password");
    server.stop();
}

#[test]
fn json_rejections_never_quote_values_or_field_names() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), None, &[]);
    let marker = "Marker#Secret#9731";
    for body in [
        format!("{{\"password\": \"x\", \"user_inputs\": \"missing field {marker}\"}}"),
        format!("{{\"password\": \"x\", \"missing field {marker}\": 1}}"),
        format!("{{\"password\": \"x\", \"user_inputs\": \"is longer than {marker}\"}}"),
    ] {
        let (status, text) = server.post_raw("/v1/check", "application/json", body.into_bytes());
        assert_eq!(status, 400, "{text}");
        assert!(
            !text.contains(marker),
            "the answer quotes the request: {text}"
        );
    }
    let log = server.stop();
    assert!(!log.contains(marker), "{log}");
}

#[test]
fn two_server_processes_share_one_lockout() {
    // Two servers on one history: each attempt is counted in the store
    // before it is verified, in one step, so together they allow exactly
    // --max-failures guesses, not one more per process.
    let dir = tempfile::tempdir().unwrap();
    let users = passwd_with(dir.path(), OLD);
    let a = Server::start(dir.path(), Some(&users), &["--max-failures", "4"]);
    let b = Server::start(dir.path(), Some(&users), &["--max-failures", "4"]);
    let answers: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let server = if i % 2 == 0 { &a } else { &b };
                s.spawn(move || {
                    server
                        .change(
                            "alice@example.com",
                            &format!("wrong-guess-{i}"),
                            "Other#Tundra#Lantern5",
                        )
                        .0
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        answers.iter().filter(|&&s| s == 403).count(),
        4,
        "{answers:?}"
    );
    assert_eq!(
        answers.iter().filter(|&&s| s == 429).count(),
        12,
        "{answers:?}"
    );
    a.stop();
    b.stop();
}

#[test]
fn a_right_password_does_not_count_as_a_failure() {
    // Attempts are counted before verification and taken back when the
    // password is right: four right-password changes in a row (limit 2)
    // are never locked out.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "policy.toml",
        format!("{FAST_HASHING}[history]\nremember = 0\nreject_similar = false\n"),
    );
    let users = passwd_with(dir.path(), OLD);
    let server = Server::start(dir.path(), Some(&users), &["--max-failures", "2"]);
    let passwords = [
        OLD,
        NEW,
        "Third#Walnut#Meadow31",
        "Fourth#Copper#Signal64",
        "Fifth#Amber#Thistle18",
    ];
    for pair in passwords.windows(2) {
        let (status, body) = server.change("alice@example.com", pair[0], pair[1]);
        assert_eq!(status, 200, "{body}");
    }
    server.stop();
}

#[test]
fn a_legacy_hash_answers_a_wrong_password_no_sooner_than_an_unknown_account() {
    // carol's line holds a SHA512-CRYPT hash (password "carol"): checking
    // it costs about a millisecond, while an unknown account costs an
    // argon2 run on a decoy. Without the floor, a fast 403 would tell that
    // carol exists.
    let dir = tempfile::tempdir().unwrap();
    let users = write(
        dir.path(),
        "users",
        "carol@example.com:{SHA512-CRYPT}$6$rounds=5000$0V5tmsmMdAyxeHTM$ixTwq8E/1UsAtIA1blrveO0hl6o2IkoOimI9dK9bq0XtFDgzDuDxZacVtpj/AsQZcQBL7t.6fUSSHdXcd6F8O.::::::\n",
    );
    set_mode(&users, 0o640);
    let server = Server::start(dir.path(), Some(&users), &[]);
    let timed = |account: &str| {
        let started = std::time::Instant::now();
        let (status, body) = server.change(account, "wrong-guess", "Other#Tundra#Lantern5");
        assert_eq!(status, 403, "{body}");
        started.elapsed()
    };
    let mut known: Vec<_> = (0..3).map(|_| timed("carol@example.com")).collect();
    let mut unknown: Vec<_> = (0..3)
        .map(|i| timed(&format!("nobody{i}@example.com")))
        .collect();
    known.sort();
    unknown.sort();
    // Before the floor, carol answered ~100 times sooner; the margin
    // leaves room for a loaded machine slowing the decoy runs down.
    assert!(
        known[1] * 4 >= unknown[1],
        "carol answered in {known:?}, unknown accounts in {unknown:?}"
    );
    server.stop();
}

#[test]
fn slow_request_headers_get_the_connection_closed() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), None, &[]);
    let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    stream
        .write_all(b"POST /v1/check HTTP/1.1\r\nHost: localhost\r\n")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(40)))
        .unwrap();
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    // The server closes the connection (after an optional 408) once the
    // header timeout (10 s) has passed; it never waits for the rest.
    let read = stream.read_to_end(&mut buf);
    let waited = started.elapsed();
    assert!(read.is_ok(), "the connection was not closed: {read:?}");
    assert!(
        waited < Duration::from_secs(30),
        "closed only after {waited:?}"
    );
    assert!(
        waited >= Duration::from_secs(5),
        "closed too soon, after {waited:?}: {}",
        String::from_utf8_lossy(&buf)
    );
    // The server still serves others.
    let (status, _) = server.get("/healthz", None);
    assert_eq!(status, 200);
    server.stop();
}

#[test]
fn the_policy_names_the_passwd_file() {
    let dir = tempfile::tempdir().unwrap();
    let users = passwd_with(dir.path(), OLD);
    write(
        dir.path(),
        "policy.toml",
        format!("{FAST_HASHING}[mail]\npasswd_file = \"users\"\n"),
    );
    let before = std::fs::read_to_string(&users).unwrap();
    let server = Server::start(dir.path(), None, &[]);
    let (status, body) = server.change("alice@example.com", OLD, NEW);
    assert_eq!(status, 200, "{body}");
    let after = std::fs::read_to_string(&users).unwrap();
    assert_ne!(before, after);
    assert!(
        after.contains("bob@example.com:{PLAIN}bob::::::"),
        "{after}"
    );
    server.stop();
}

#[test]
fn silent_and_http2_connections_are_closed_like_slow_ones() {
    // A connection that never sends a byte, and one that opens with the
    // HTTP/2 preface without TLS ("prior knowledge") and then goes quiet,
    // were held open for ever: hyper's protocol detection is not timed,
    // and HTTP/2 has no header timeout. A few hundred such connections
    // used up the server's file descriptors (see docs/security.md).
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), None, &[]);
    let addr = server.addr();
    let openings: [(&str, &[u8]); 2] = [
        ("silent", b""),
        (
            "HTTP/2 prior knowledge",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0",
        ),
    ];
    let waits: Vec<_> = openings
        .iter()
        .map(|(name, opening)| {
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            stream.write_all(opening).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(40)))
                .unwrap();
            let name = *name;
            std::thread::spawn(move || {
                let started = std::time::Instant::now();
                let mut buf = Vec::new();
                let read = stream.read_to_end(&mut buf).map(|_| ());
                (name, read, started.elapsed(), buf)
            })
        })
        .collect();
    for wait in waits {
        let (name, read, waited, buf) = wait.join().unwrap();
        assert!(
            read.is_ok(),
            "{name}: the connection was not closed: {read:?}"
        );
        assert!(
            waited < Duration::from_secs(30),
            "{name}: closed only after {waited:?}"
        );
        // HTTP/2 is not spoken at all: no SETTINGS frame comes back.
        assert!(
            buf.is_empty() || buf.starts_with(b"HTTP/1.1 "),
            "{name}: answered {buf:?}"
        );
    }
    let (status, _) = server.get("/healthz", None);
    assert_eq!(status, 200);
    server.stop();
}

#[test]
fn an_unusable_hash_answers_like_an_unknown_account() {
    // bob's line holds `{PLAIN}bob`, a scheme pwsentry does not verify.
    // It was answered 500 at once, where an unknown account is answered
    // 403 after an argon2 run: anyone could list the accounts whose lines
    // use such schemes. Now both answer the same, and the log says why.
    let dir = tempfile::tempdir().unwrap();
    let users = passwd_with(dir.path(), OLD);
    let server = Server::start(dir.path(), Some(&users), &[]);
    let timed = |account: &str, current: &str| {
        let started = std::time::Instant::now();
        let (status, body) = server.change(account, current, "Other#Tundra#Lantern5");
        (status, body, started.elapsed())
    };
    let (_, unknown, _) = timed("nobody@example.com", "bob");
    for current in ["wrong-guess", "bob"] {
        let (status, body, _) = timed("bob@example.com", current);
        assert_eq!(status, 403, "{body}");
        assert_eq!(body, unknown);
    }
    // Medians of interleaved runs: a loaded machine slows single runs.
    let (mut bob, mut nobody) = (Vec::new(), Vec::new());
    for i in 0..3 {
        bob.push(timed("bob@example.com", "wrong-guess").2);
        nobody.push(timed(&format!("nobody{i}@example.com"), "bob").2);
    }
    bob.sort();
    nobody.sort();
    assert!(
        bob[1] * 4 >= nobody[1],
        "bob answered in {bob:?}, unknown accounts in {nobody:?}"
    );
    let log = server.stop();
    assert!(
        log.contains("warning: a passwd-file hash cannot be verified")
            && log.contains("unsupported scheme"),
        "{log}"
    );
    assert!(
        !log.contains("wrong-guess") && !log.contains(":bob"),
        "{log}"
    );
}

#[test]
fn a_legacy_hash_answers_as_late_as_an_unknown_account_under_load() {
    // The floor alone (the decoy's time at start-up) hid carol's cheap
    // SHA512-CRYPT hash only on an idle server: with a few wrong attempts
    // in flight, an unknown account's argon2 run slowed down while carol's
    // answer stayed at the floor, about half the time. A legacy hash now
    // costs the decoy's run as well.
    let dir = tempfile::tempdir().unwrap();
    let users = write(
        dir.path(),
        "users",
        "carol@example.com:{SHA512-CRYPT}$6$rounds=5000$0V5tmsmMdAyxeHTM$ixTwq8E/1UsAtIA1blrveO0hl6o2IkoOimI9dK9bq0XtFDgzDuDxZacVtpj/AsQZcQBL7t.6fUSSHdXcd6F8O.::::::\n",
    );
    set_mode(&users, 0o640);
    let server = Server::start(
        dir.path(),
        Some(&users),
        &["--max-failures", "1000", "--change-rate", "100000"],
    );
    let addr = server.addr();
    // Each source address may fail 20 times per window: spread the load
    // over loopback addresses.
    let attempt = move |source: [u8; 4], account: &str| {
        use std::io::{Read, Write};
        let mut stream = connect_from(addr, source);
        let body = json!({"account": account, "current_password": "wrong-guess", "new_password": "Other#Tundra#Lantern5"}).to_string();
        let started = std::time::Instant::now();
        write!(
            stream,
            "POST /v1/change HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
        started.elapsed()
    };
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load: Vec<_> = (0..3u8)
        .map(|t| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                for i in 0..18u8 {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    attempt([127, 0, 1, 10 + t], &format!("load{t}x{i}@example.com"));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut carol = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..7 {
        carol.push(attempt([127, 0, 1, 2], "carol@example.com"));
        unknown.push(attempt([127, 0, 1, 3], &format!("nobody{i}@example.com")));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for l in load {
        l.join().unwrap();
    }
    carol.sort();
    unknown.sort();
    // Before: carol's median 0.45 to 0.65 of the unknown one's; now about
    // 1. The bound leaves room for a loaded machine's noise.
    assert!(
        carol[3] * 10 >= unknown[3] * 7,
        "carol answered in {carol:?}, unknown accounts in {unknown:?}"
    );
    server.stop();
}

#[test]
fn slow_bodies_from_one_address_do_not_stall_the_others() {
    // 520 requests from one address that send their headers, then a body
    // never finished: each held one of the route's 512 slots for the whole
    // request timeout (30 s), and everyone else's /v1/check waited. Now an
    // address has at most `--client-in-flight` (64) requests at once.
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), None, &[]);
    let addr = server.addr();
    let connect_from = |source: [u8; 4]| connect_from(addr, source);
    let slow: Vec<_> = (0..520)
        .map(|_| {
            let mut s = connect_from([127, 0, 2, 1]);
            s.write_all(
                b"POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"pass",
            )
            .unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let check = |source: [u8; 4]| {
        use std::io::Read;
        let mut s = connect_from(source);
        let body = br#"{"password":"Velvet#Orbit#Canyon42"}"#;
        let started = std::time::Instant::now();
        write!(
            s,
            "POST /v1/check HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .unwrap();
        s.write_all(body).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(40))).unwrap();
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        (answer, started.elapsed())
    };
    let (answer, took) = check([127, 0, 2, 2]);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        took < Duration::from_secs(5),
        "another address waited {took:?}"
    );
    let (answer, took) = check([127, 0, 2, 1]);
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{answer}"
    );
    assert!(
        took < Duration::from_secs(5),
        "the flooding address waited {took:?}"
    );
    drop(slow);
    server.stop();
}

#[test]
fn outsider_attempts_that_held() {
    // What an outsider tried against the page and the API that was refused
    // (docs/serve.md): kept as tests so that it stays refused.
    let dir = tempfile::tempdir().unwrap();
    let users = passwd_with(dir.path(), OLD);
    let server = Server::start(dir.path(), Some(&users), &[]);
    let send = |method: &str, path: &str, headers: &[(&str, &str)], body: &str| {
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", server.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut r = server
            .agent
            .run(req.body(body.to_owned()).unwrap())
            .unwrap();
        let h: Vec<(String, String)> = r
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        (
            r.status().as_u16(),
            h,
            r.body_mut().read_to_string().unwrap_or_default(),
        )
    };
    let has = |h: &[(String, String)], name: &str| h.iter().any(|(k, _)| k == name);
    let value = |h: &[(String, String)], name: &str| {
        h.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };

    // A token only for the nonce it was made for; the page keeps a
    // well-formed nonce of the browser's and replaces anything else.
    let chosen = format!("{:032x}", 0xabcu128);
    let (_, h, page) = send(
        "GET",
        "/",
        &[("Cookie", &format!("pwsentry_csrf={chosen}"))],
        "",
    );
    assert!(value(&h, "set-cookie").starts_with(&format!("pwsentry_csrf={chosen};")));
    let token = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let (_, h, _) = send(
        "GET",
        "/",
        &[("Cookie", "pwsentry_csrf=\"x<a>; Path=/x")],
        "",
    );
    let fresh = value(&h, "set-cookie");
    assert!(
        fresh.starts_with("pwsentry_csrf=") && !fresh.contains('"') && !fresh.contains("<a>"),
        "{fresh}"
    );
    let cookie = format!("pwsentry_csrf={chosen}");
    let form = format!(
        "csrf={token}&account=alice%40example.com&current_password=x&new_password=Other%23Tundra%23Lantern5&confirm_password=Other%23Tundra%23Lantern5"
    );
    let urlencoded = "application/x-www-form-urlencoded";
    // Fetch metadata other than same-origin is refused before anything is
    // verified, whatever the token.
    for site in ["same-site", "none", "cross-site"] {
        let (status, _, page) = send(
            "POST",
            "/",
            &[
                ("Cookie", &cookie),
                ("Content-Type", urlencoded),
                ("Sec-Fetch-Site", site),
            ],
            &form,
        );
        assert_eq!(status, 403, "{site}: {page}");
        assert!(page.contains("not sent from this page"), "{page}");
    }
    // The token of another nonce; the browser's own cookie after a tossed one.
    let other = format!("pwsentry_csrf={:032x}", 0xdefu128);
    for c in [other.clone(), format!("{other}; {cookie}")] {
        let (status, _, page) = send(
            "POST",
            "/",
            &[("Cookie", &c), ("Content-Type", urlencoded)],
            &form,
        );
        assert_eq!(status, 403, "{c}: {page}");
    }
    // The body types another site's form can send without a preflight,
    // other than a urlencoded form, are not forms here; JSON is not taken
    // as text/plain.
    for ct in ["text/plain", "multipart/form-data; boundary=x"] {
        let (status, _, page) = send(
            "POST",
            "/",
            &[("Cookie", &cookie), ("Content-Type", ct)],
            &form,
        );
        assert_eq!(status, 400, "{ct}: {page}");
    }
    let change =
        json!({"account": "alice@example.com", "current_password": "x", "new_password": NEW})
            .to_string();
    for ct in [
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
    ] {
        let (status, _, _) = send("POST", "/v1/change", &[("Content-Type", ct)], &change);
        assert_eq!(status, 415, "{ct}");
    }
    // No CORS: a preflight is not answered with permission, nor is a
    // generated password readable by another origin, nor cached.
    let (status, h, _) = send(
        "OPTIONS",
        "/v1/change",
        &[
            ("Origin", "https://evil.example"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type"),
        ],
        "",
    );
    assert!(
        status >= 400 && !has(&h, "access-control-allow-origin"),
        "{status} {h:?}"
    );
    let (status, h, _) = send(
        "POST",
        "/v1/generate",
        &[
            ("Content-Type", "application/json"),
            ("Origin", "https://evil.example"),
        ],
        "{}",
    );
    assert_eq!(status, 200);
    assert!(!has(&h, "access-control-allow-origin"), "{h:?}");
    assert_eq!(value(&h, "cache-control"), "no-store");
    // Passwords are never taken from a URL.
    let (status, _, _) = send(
        "GET",
        &format!(
            "/v1/change?account=alice%40example.com&current_password={}",
            "Query%23Secret%231"
        ),
        &[],
        "",
    );
    assert_eq!(status, 405);
    // The lockout counts the canonical account: case variants share it,
    // and variants that are other accounts never match alice's line.
    for i in 0..5 {
        let (status, body) = server.change(
            [
                "alice@example.com",
                "ALICE@example.com",
                "Alice@EXAMPLE.COM",
            ][i % 3],
            "wrong-guess",
            NEW,
        );
        assert_eq!(status, 403, "{body}");
    }
    for variant in ["ALICE@EXAMPLE.COM", "alice@example.com"] {
        let (status, body) = server.change(variant, OLD, NEW);
        assert_eq!(status, 429, "{variant}: {body}");
    }
    for variant in [
        "alice@example.com.",
        "alice+x@example.com",
        "\u{ff41}lice@example.com",
    ] {
        let (status, body) = server.change(variant, OLD, NEW);
        assert_eq!(status, 403, "{variant}: {body}");
    }
    let log = server.stop();
    for secret in [OLD, NEW, "wrong-guess", "Query#Secret#1", "Query%23Secret"] {
        assert!(!log.contains(secret), "{secret} in the log: {log}");
    }
}

#[test]
fn forms_on_other_sites_cannot_spend_a_lockout_through_roundcube() {
    // /roundcube takes a urlencoded form, which any page can make its
    // visitors' browsers post (no preflight): five such posts with wrong
    // passwords locked alice out, from addresses that were not the
    // attacker's. Browsers say where a post comes from; Roundcube's server
    // says nothing, and is still served.
    let dir = tempfile::tempdir().unwrap();
    let users = passwd_with(dir.path(), OLD);
    let server = Server::start(dir.path(), Some(&users), &[]);
    let form = "user=alice%40example.com&curpass=wrong-guess&newpass=Other%23Tundra%23Lantern5";
    for (k, v) in [
        ("Sec-Fetch-Site", "cross-site"),
        ("Sec-Fetch-Site", "same-site"),
        ("Origin", "https://evil.example"),
    ] {
        for _ in 0..3 {
            let mut r = server
                .agent
                .post(format!("{}/roundcube", server.base))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header(k, v)
                .send(form.as_bytes())
                .unwrap();
            let text = r.body_mut().read_to_string().unwrap();
            assert_eq!(r.status().as_u16(), 403, "{k}: {v}: {text}");
            assert!(text.contains("not for forms on other sites"), "{text}");
        }
    }
    let (status, text) = server.roundcube("alice@example.com", OLD, NEW);
    assert_eq!((status, text.as_str()), (200, "ok"));
    server.stop();
}

#[test]
fn a_body_refused_unread_closes_the_connection_and_says_so() {
    // A 415 is answered before the body is read; the connection cannot be
    // reused, and the answer must say so, or a keep-alive client sends its
    // next request into a closed socket.
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), None, &[]);
    let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    let body = "x".repeat(4000);
    write!(
        stream,
        "POST /v1/check HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 415"), "{answer}");
    assert!(answer.contains("\r\nconnection: close\r\n"), "{answer}");
    server.stop();
}
