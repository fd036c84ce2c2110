//! A throwaway Linux user, PAM service files under `/etc/pam.d` that load
//! the freshly built `libpam_pwsentry.so`, a policy and a history in a
//! private temporary folder, and Debian's `pamtester` to drive real PAM.
//! Everything is removed when the [`Sandbox`] is dropped, even when a test
//! fails. Root is required (CI runs as root); without it the tests fail
//! and say so rather than pass.

use pwsentry::Policy;
use pwsentry::store::{AccountHistory, SqliteStore, Store};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};

/// `useradd`, `userdel` and `pam_unix` all lock `/etc/passwd` and
/// `/etc/shadow`: one sandbox at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// The policy of every test: the guide's rules, a 90-day rotation with
/// 14 days' warning.
pub const POLICY: &str =
    "preset = \"seed\"\n[rotation]\nmax_age_days = 90\nwarn_days = 14\nmin_age_days = 0\n";

/// The throwaway user's password before any test changes it.
pub const INITIAL: &str = "Initial#Granite#Otter58";

pub struct Sandbox {
    pub user: String,
    dir: tempfile::TempDir,
    services: Vec<PathBuf>,
    _serial: MutexGuard<'static, ()>,
}

/// What `pamtester` did.
pub struct Run {
    pub success: bool,
    /// Its standard output and error together: PAM's prompts, the
    /// module's messages and pamtester's verdict.
    pub output: String,
}

fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn require_root_and_pamtester() {
    let uid = run(Command::new("id").arg("-u")).stdout;
    assert_eq!(
        String::from_utf8_lossy(&uid).trim(),
        "0",
        "the PAM module tests need root: they add a throwaway user and files under /etc/pam.d, \
         and pam_unix changes /etc/shadow; run them as root (scripts/test.sh does in CI)"
    );
    assert!(
        Command::new("pamtester").arg("--version").output().is_ok(),
        "pamtester is not installed: scripts/test.sh installs it (apt-get install pamtester)"
    );
}

/// The `libpam_pwsentry.so` cargo built for this test executable, beside
/// it in `target/<profile>/deps/` (cargo copies it up to `target/<profile>/`
/// only when the library itself is built, not for a test).
pub fn module() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let module = exe.parent().unwrap().join("libpam_pwsentry.so");
    assert!(
        module.is_file(),
        "{} is missing: build the module first (cargo test -p pam-pwsentry builds it)",
        module.display()
    );
    module
}

impl Sandbox {
    /// A new user with the password [`INITIAL`], and a private folder
    /// holding `policy.toml` ([`POLICY`]).
    pub fn new() -> Sandbox {
        require_root_and_pamtester();
        // A test that failed while holding the lock must not stop the others.
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let user = format!("pwst{:08x}", rand::random::<u32>());
        let dir = tempfile::Builder::new()
            .prefix("pam-pwsentry-")
            .tempdir()
            .unwrap();
        std::fs::write(dir.path().join("policy.toml"), POLICY).unwrap();
        // Others may pass through (to a folder of the throwaway user's own,
        // see `user_folder`), not list or write.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
        run(Command::new("useradd")
            .args(["--no-create-home", "--shell", "/usr/sbin/nologin"])
            .arg(&user));
        let sandbox = Sandbox {
            user,
            dir,
            services: Vec::new(),
            _serial: serial,
        };
        let mut chpasswd = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(chpasswd.stdin.take().unwrap(), "{}:{INITIAL}", sandbox.user).unwrap();
        assert!(chpasswd.wait().unwrap().success(), "chpasswd failed");
        sandbox
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn policy_path(&self) -> PathBuf {
        self.dir().join("policy.toml")
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir().join("history.db")
    }

    /// Replaces the policy the module reads.
    pub fn write_policy(&self, text: &str) {
        std::fs::write(self.policy_path(), text).unwrap();
    }

    /// The policy the module reads.
    pub fn policy(&self) -> Policy {
        Policy::from_file(self.policy_path()).unwrap()
    }

    /// Writes `/etc/pam.d/pwsentry-test-<random>` from `lines`, where
    /// `{module}` is the module's absolute path and `{options}` is
    /// `policy=… db=…` for this sandbox; returns the service name.
    pub fn service(&mut self, lines: &str) -> String {
        self.service_with(&module(), lines)
    }

    /// As [`Sandbox::service`], with the module at `module`.
    pub fn service_with(&mut self, module: &Path, lines: &str) -> String {
        let name = format!("pwsentry-test-{:08x}", rand::random::<u32>());
        let options = format!(
            "policy={} db={}",
            self.policy_path().display(),
            self.db_path().display()
        );
        let text = lines
            .replace("{module}", &module.display().to_string())
            .replace("{options}", &options);
        let path = Path::new("/etc/pam.d").join(&name);
        std::fs::write(&path, text).unwrap();
        self.services.push(path);
        name
    }

    /// `pamtester SERVICE USER OPERATION`, answering PAM's prompts with
    /// `answers`, one a line.
    pub fn pamtester(&self, service: &str, operation: &str, answers: &[&str]) -> Run {
        self.pamtester_as(None, service, operation, answers)
    }

    /// As [`Sandbox::pamtester`], run as `as_user` when given (through
    /// `runuser`), so that pam_unix behaves as for an ordinary user.
    pub fn pamtester_as(
        &self,
        as_user: Option<&str>,
        service: &str,
        operation: &str,
        answers: &[&str],
    ) -> Run {
        let mut cmd = match as_user {
            Some(u) => {
                let mut c = Command::new("runuser");
                c.args(["-u", u, "--", "pamtester"]);
                c
            }
            None => Command::new("pamtester"),
        };
        cmd.args(["-v", service, &self.user, operation]);
        self.answer(cmd, answers)
    }

    /// As [`Sandbox::pamtester`], with what it sends to syslog going to
    /// `syslog`.
    pub fn pamtester_logged(
        &self,
        syslog: &Syslog,
        service: &str,
        operation: &str,
        answers: &[&str],
    ) -> Run {
        let mut cmd = syslog.command("pamtester");
        cmd.args(["-v", service, &self.user, operation]);
        self.answer(cmd, answers)
    }

    /// Runs `cmd` (a PAM application), answering its prompts with
    /// `answers`, one a line.
    pub fn answer(&self, mut cmd: Command, answers: &[&str]) -> Run {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("pamtester");
        {
            let mut stdin = child.stdin.take().unwrap();
            let text: String = answers.iter().map(|a| format!("{a}\n")).collect();
            // pamtester may finish before reading them all (a module that
            // fails at once): a closed pipe is its answer, not an error.
            if let Err(e) = stdin.write_all(text.as_bytes()) {
                assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
            }
        }
        let out = child.wait_with_output().unwrap();
        Run {
            success: out.status.success(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }

    /// A folder owned by the throwaway user inside the sandbox, holding a
    /// copy of the module and of the policy, for a `pamtester` run as that
    /// user (the build folder may be closed to other users).
    pub fn user_folder(&self) -> PathBuf {
        let folder = self.dir().join("user");
        std::fs::create_dir(&folder).unwrap();
        std::fs::copy(module(), folder.join("pam_pwsentry.so")).unwrap();
        std::fs::copy(self.policy_path(), folder.join("policy.toml")).unwrap();
        let (uid, _) = self.ids();
        for entry in ["", "pam_pwsentry.so", "policy.toml"] {
            std::os::unix::fs::chown(folder.join(entry), Some(uid), None).unwrap();
        }
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
        folder
    }

    /// The throwaway user's user id and group id.
    pub fn ids(&self) -> (u32, u32) {
        let id = |flag: &str| -> u32 {
            String::from_utf8(run(Command::new("id").args([flag, &self.user])).stdout)
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        };
        (id("-u"), id("-g"))
    }

    /// The user's history in the database of [`Sandbox::user_folder`],
    /// read from a copy (root refuses a database in another user's folder).
    pub fn history_in(&self, user_folder: &Path) -> Option<AccountHistory> {
        let copy = tempfile::tempdir().unwrap();
        for name in ["history.db", "history.db-wal", "history.db-shm"] {
            let from = user_folder.join(name);
            if from.exists() {
                std::fs::copy(&from, copy.path().join(name)).unwrap();
            }
        }
        let store = SqliteStore::open_existing(copy.path().join("history.db")).unwrap()?;
        store.history(&self.user).unwrap()
    }

    /// The user's password hash in `/etc/shadow`.
    pub fn shadow_hash(&self) -> String {
        let shadow = std::fs::read_to_string("/etc/shadow").unwrap();
        shadow
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{}:", self.user)))
            .and_then(|rest| rest.split(':').next())
            .unwrap_or_else(|| panic!("{} is not in /etc/shadow", self.user))
            .to_owned()
    }

    /// The user's history in the sandbox's database (`None`: no database
    /// or no entry).
    pub fn history(&self) -> Option<AccountHistory> {
        let store = SqliteStore::open_existing(self.db_path()).unwrap()?;
        store.history(&self.user).unwrap()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for s in &self.services {
            let _ = std::fs::remove_file(s);
        }
        let _ = Command::new("userdel").arg(&self.user).output();
    }
}

/// Catches what programs send to syslog: a datagram socket at `/dev/log`
/// when the machine has none (a container, CI), else one bind-mounted
/// over it in a private mount namespace for the program only (`unshare`).
pub struct Syslog {
    socket: UnixDatagram,
    /// Where the socket is, when it is not `/dev/log` itself.
    private: Option<(tempfile::TempDir, PathBuf)>,
}

const DEV_LOG: &str = "/dev/log";

impl Syslog {
    pub fn capture() -> Syslog {
        let syslog = if std::fs::symlink_metadata(DEV_LOG).is_err() {
            Syslog {
                socket: UnixDatagram::bind(DEV_LOG).unwrap(),
                private: None,
            }
        } else {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("log");
            Syslog {
                socket: UnixDatagram::bind(&path).unwrap(),
                private: Some((dir, path)),
            }
        };
        syslog.socket.set_nonblocking(true).unwrap();
        syslog
    }

    /// `program`, logging to this capture.
    pub fn command(&self, program: &str) -> Command {
        match &self.private {
            None => Command::new(program),
            Some((_, path)) => {
                let mut c = Command::new("unshare");
                c.args(["--mount", "--propagation", "private", "--", "sh", "-c"])
                    .arg("mount --bind \"$0\" /dev/log && exec \"$@\"")
                    .arg(path)
                    .arg(program);
                c
            }
        }
    }

    /// Every message received so far, as sent (`<PRI>… text`).
    pub fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 65536];
        while let Ok(n) = self.socket.recv(&mut buf) {
            out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        out
    }
}

impl Drop for Syslog {
    fn drop(&mut self) {
        if self.private.is_none() {
            let _ = std::fs::remove_file(DEV_LOG);
        }
    }
}
