//! A real Dovecot for tests: `dovecot` started with a minimal configuration
//! in a temporary folder (no protocols, no listeners: only the auth
//! service on Unix sockets in that folder), a passwd-file passdb, and
//! `doveadm auth test` to authenticate against it. Stopped when dropped.
//!
//! Needs Debian's `dovecot-core` (scripts/test.sh installs it) and root
//! (Dovecot's master drops privileges to its own users).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A running Dovecot authenticating from `users` (a passwd-file).
pub struct Dovecot {
    dir: tempfile::TempDir,
    config: PathBuf,
    users: PathBuf,
}

/// Whether Dovecot can be run here; tests that need it fail with this
/// message rather than pass silently when it is missing.
pub fn require() {
    assert!(
        Command::new("dovecot")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "dovecot is missing: install Debian's dovecot-core (scripts/test.sh does)"
    );
    assert!(
        rustix_is_root(),
        "the Dovecot tests must run as root (Dovecot's master drops privileges)"
    );
}

fn rustix_is_root() -> bool {
    // No libc call needed: /proc/self/status says who we are.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

impl Dovecot {
    /// Starts Dovecot with a passwd-file holding `users_text`.
    pub fn start(users_text: &str) -> Dovecot {
        require();
        let dir = tempfile::Builder::new()
            .prefix("pwsentry-dovecot")
            .tempdir()
            .expect("temp dir");
        // Dovecot's unprivileged processes must reach the sockets and the file.
        set_mode(dir.path(), 0o755);
        let run = dir.path().join("run");
        std::fs::create_dir(&run).unwrap();
        std::fs::create_dir(dir.path().join("state")).unwrap();
        let users = dir.path().join("users");
        std::fs::write(&users, users_text).unwrap();
        set_mode(&users, 0o644);
        let config = dir.path().join("dovecot.conf");
        std::fs::write(
            &config,
            format!(
                "protocols =\nlisten = 127.0.0.1\nssl = no\nbase_dir = {run}\nstate_dir = {state}\n\
                 log_path = {log}\ndefault_internal_user = dovecot\ndefault_login_user = dovenull\n\
                 passdb {{\n  driver = passwd-file\n  args = {users}\n}}\n\
                 userdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home=/nonexistent\n}}\n",
                run = run.display(),
                state = dir.path().join("state").display(),
                log = dir.path().join("dovecot.log").display(),
                users = users.display(),
            ),
        )
        .unwrap();
        let status = Command::new("dovecot")
            .arg("-c")
            .arg(&config)
            .status()
            .expect("run dovecot");
        assert!(
            status.success(),
            "dovecot did not start: {}",
            Self::log_of(dir.path())
        );
        let socket = run.join("auth-client");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !socket.exists() {
            assert!(
                Instant::now() < deadline,
                "dovecot's auth socket never appeared: {}",
                Self::log_of(dir.path())
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Dovecot { dir, config, users }
    }

    /// The passwd-file Dovecot reads.
    pub fn users(&self) -> &Path {
        &self.users
    }

    /// Whether Dovecot accepts `password` for `user` (`doveadm auth test`).
    pub fn authenticates(&self, user: &str, password: &str) -> bool {
        // doveadm takes the password as an argument: a throwaway test password.
        let out = Command::new("doveadm")
            .arg("-c")
            .arg(&self.config)
            .args(["auth", "test", user, password])
            .stdin(Stdio::null())
            .output()
            .expect("run doveadm");
        match out.status.code() {
            Some(0) => true,
            Some(77) => false,
            other => panic!(
                "doveadm auth test failed ({other:?}): {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }

    fn log_of(dir: &Path) -> String {
        std::fs::read_to_string(dir.join("dovecot.log")).unwrap_or_default()
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = Command::new("doveadm")
            .arg("-c")
            .arg(&self.config)
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.dir.path();
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}
