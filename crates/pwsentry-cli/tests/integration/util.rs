//! Helpers for running the `pwsentry` binary in tests.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Path of the built binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pwsentry"))
}

/// The workspace root (where `policy.toml` and `tests/data` are).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `tests/data/corpora/<rel>` (third-party test data, licences in its
/// README); panics with a clear message when missing.
pub fn corpus(rel: &str) -> PathBuf {
    let p = root().join("tests/data/corpora").join(rel);
    assert!(p.exists(), "test corpus {} is missing", p.display());
    p
}

/// What a finished run produced.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Parses stdout as one JSON value.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }

    /// Parses stdout as JSON lines.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line ({e}): {l}")))
            .collect()
    }

    /// The rule codes of a JSON verdict.
    pub fn rules(&self) -> Vec<String> {
        rules_of(&self.json())
    }
}

/// The rule codes of a JSON verdict object.
pub fn rules_of(v: &serde_json::Value) -> Vec<String> {
    v["violations"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["rule"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A `pwsentry` invocation being built. Runs in a fresh temporary directory
/// (so no stray `./policy.toml` applies) with `$PWSENTRY_POLICY` removed,
/// and `$PWSENTRY_DB` and `$XDG_DATA_HOME` pointing into that directory:
/// run as root (as CI is), pwsentry's default database is the system's
/// `/var/lib/pwsentry/history.db`, which a test must neither read nor write.
pub struct Run {
    cmd: Command,
    stdin: Vec<u8>,
    _dir: Option<tempfile::TempDir>,
}

/// Starts building a run of `pwsentry args...`.
pub fn pwsentry<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .current_dir(dir.path())
        .env_remove("PWSENTRY_POLICY")
        .env("PWSENTRY_DB", dir.path().join("xdg/pwsentry/history.db"))
        .env("XDG_DATA_HOME", dir.path().join("xdg"))
        .env("NO_COLOR", "1");
    Run {
        cmd,
        stdin: Vec::new(),
        _dir: Some(dir),
    }
}

impl Run {
    /// Feeds `bytes` on stdin.
    pub fn stdin(mut self, bytes: impl AsRef<[u8]>) -> Self {
        self.stdin = bytes.as_ref().to_vec();
        self
    }

    /// Runs in `dir` instead of the fresh temporary directory.
    pub fn cwd(mut self, dir: &Path) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    /// Removes an environment variable (`PWSENTRY_DB`, to see the default
    /// location: only where the caller is not root).
    pub fn env_remove(mut self, key: &str) -> Self {
        self.cmd.env_remove(key);
        self
    }

    /// Runs to completion.
    pub fn run(mut self) -> Output {
        let mut child = self
            .cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn pwsentry");
        let mut stdin = child.stdin.take().expect("stdin");
        let input = std::mem::take(&mut self.stdin);
        let writer = std::thread::spawn(move || {
            // The child may exit before reading everything (a rejected long line).
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().expect("wait");
        let _ = writer.join();
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write test file");
    p
}

/// Writes a secret (a pepper) to `dir/name`, readable by its owner only
/// (pwsentry refuses a pepper others can read), and returns the path.
pub fn write_private(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let p = write(dir, name, text);
    #[cfg(unix)]
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod 600");
    p
}
