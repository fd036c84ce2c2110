//! A throwaway PostgreSQL server for tests, shared by the tests of one
//! test binary: Debian's `initdb` and `pg_ctl` (from
//! /usr/lib/postgresql/*/bin, never another PostgreSQL on $PATH) in a
//! temporary directory, listening on a Unix socket in that directory and on
//! a loopback port with TLS (a CA and a server certificate made with
//! `openssl`), password authentication (scram-sha-256) everywhere.
//!
//! When the tests run as root, the server runs as `nobody` (through
//! `setpriv`), the directory handed to it. A watchdog shell started with
//! the server stops it (`pg_ctl stop -m immediate`) and removes the
//! directory once the test process is gone, however it ended (statics are
//! never dropped, and a panicking or killed test would skip a `Drop`).
//!
//! Used by the library's tests (`tests/postgres.rs`) and the CLI's
//! integration tests (`#[path]`), so there is one harness.

#![allow(dead_code)]

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The superuser the server is created with.
pub const USER: &str = "pwsentry_test";
/// Its password: distinctive, so tests can look for it in output.
pub const PASSWORD: &str = "Pg-Secret-4b7e-Quartz";

/// A running server.
pub struct PgServer {
    dir: PathBuf,
    bin: PathBuf,
    run_as: Option<(u32, u32)>,
    /// The loopback TCP port (TLS).
    pub port: u16,
    next_db: AtomicUsize,
}

/// The server of this test binary, started on first use.
pub fn server() -> &'static PgServer {
    static SERVER: OnceLock<PgServer> = OnceLock::new();
    SERVER.get_or_init(PgServer::start)
}

fn debian_bin() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, b)| b)
        .expect("Debian's PostgreSQL server is not installed (/usr/lib/postgresql/*/bin/initdb); scripts/test.sh installs the `postgresql` package")
}

/// (uid, gid) of `nobody` when we are root: PostgreSQL refuses to run as root.
fn unprivileged() -> Option<(u32, u32)> {
    let me = std::fs::metadata("/proc/self").ok()?.uid();
    if me != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    let line = passwd
        .lines()
        .find(|l| l.starts_with("nobody:"))
        .expect("running as root, and no `nobody` user to run PostgreSQL as");
    let f: Vec<&str> = line.split(':').collect();
    Some((f[2].parse().unwrap(), f[3].parse().unwrap()))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    if path.is_dir() {
        for e in std::fs::read_dir(path).unwrap() {
            chown_tree(&e.unwrap().path(), uid, gid);
        }
    }
}

impl PgServer {
    fn start() -> PgServer {
        let bin = debian_bin();
        let run_as = unprivileged();
        let dir = tempfile::Builder::new()
            .prefix("pwsentry-pg-")
            .tempdir()
            .unwrap()
            .keep();
        let port = free_port();
        let server = PgServer {
            dir,
            bin,
            run_as,
            port,
            next_db: AtomicUsize::new(0),
        };
        server.init();
        server
    }

    /// The directory of the Unix socket.
    pub fn socket_dir(&self) -> PathBuf {
        self.dir.join("sock")
    }

    /// The CA certificate that signed the server's.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    fn as_server(&self, program: &Path) -> Command {
        match self.run_as {
            Some((uid, gid)) => {
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .arg("--clear-groups")
                    .arg(program);
                c
            }
            None => Command::new(program),
        }
    }

    fn init(&self) {
        let d = &self.dir;
        std::fs::create_dir(self.socket_dir()).unwrap();
        std::fs::write(d.join("pwfile"), format!("{PASSWORD}\n")).unwrap();
        // A CA and a server certificate for 127.0.0.1 / localhost.
        let ssl = |args: &[&str]| {
            run(
                Command::new("openssl").args(args).current_dir(d),
                "openssl (install the `openssl` package)",
            )
        };
        ssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=pwsentry test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ]);
        ssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ]);
        std::fs::write(
            d.join("ext.cnf"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        ssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "server.pem",
        ]);
        std::fs::set_permissions(
            d.join("server.key"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        if let Some((uid, gid)) = self.run_as {
            chown_tree(d, uid, gid);
        }
        let data = d.join("data");
        run(
            self.as_server(&self.bin.join("initdb"))
                .arg("-D")
                .arg(&data)
                .args([
                    "-U",
                    USER,
                    "--auth=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ])
                .arg(format!("--pwfile={}", d.join("pwfile").display()))
                .stdout(Stdio::piped()),
            "initdb",
        );
        // The tests kill clients, not the server: its own fsync is not
        // what they test, and turning it off keeps them fast.
        let conf = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
             ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n\
             fsync = off\nmax_connections = 200\nshared_buffers = 32MB\n",
            self.port,
            self.socket_dir().display(),
            d.join("server.pem").display(),
            d.join("server.key").display()
        );
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .unwrap();
        std::io::Write::write_all(&mut f, conf.as_bytes()).unwrap();
        drop(f);
        self.watchdog();
        run(
            self.as_server(&self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(d.join("server.log"))
                .args(["-w", "-t", "60", "start"])
                .stdout(Stdio::piped()),
            "pg_ctl start",
        );
    }

    /// Stops the server and removes its directory once this process ends.
    fn watchdog(&self) {
        let setpriv = match self.run_as {
            Some((uid, gid)) => format!("setpriv --reuid={uid} --regid={gid} --clear-groups "),
            None => String::new(),
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
             {setpriv}'{pg_ctl}' -D '{data}' -m immediate stop >/dev/null 2>&1; rm -rf '{dir}'",
            pid = std::process::id(),
            pg_ctl = self.bin.join("pg_ctl").display(),
            data = self.dir.join("data").display(),
            dir = self.dir.display(),
        );
        // Never waited for: it must outlive this process to clean up after it.
        #[allow(clippy::zombie_processes)]
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server's watchdog");
    }

    /// Runs SQL through Debian's `psql` on the Unix socket; returns its
    /// unaligned, tuples-only output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        run(
            Command::new(self.bin.join("psql"))
                .arg("-h")
                .arg(self.socket_dir())
                .args(["-p", &self.port.to_string(), "-U", USER, "-d", db])
                .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
                .env("PGPASSWORD", PASSWORD)
                .env_remove("PGSERVICE"),
            "psql",
        )
        .trim()
        .to_owned()
    }

    /// Runs `sql` (which takes locks and sleeps) in a thread, and returns
    /// once `held` (a query on `pg_locks`) reports the lock taken.
    pub fn hold(&'static self, db: &str, sql: &str, held: &str) -> std::thread::JoinHandle<String> {
        let (db2, sql) = (db.to_owned(), sql.to_owned());
        let handle = std::thread::spawn(move || self.psql(&db2, &sql));
        let start = std::time::Instant::now();
        while self.psql(db, held) != "t" {
            assert!(start.elapsed().as_secs() < 60, "the lock was never taken");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        handle
    }

    /// Ends the sessions of `db` whose query contains `marker` (a holder
    /// started with [`PgServer::hold`]): their locks are released at once.
    pub fn release(&self, db: &str, marker: &str) {
        self.psql(
            db,
            &format!(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                  WHERE pid <> pg_backend_pid() AND query LIKE '%{marker}%'"
            ),
        );
    }

    /// A new, empty database named after `prefix`.
    pub fn database(&self, prefix: &str) -> String {
        let n = self.next_db.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}_{n}");
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        name
    }

    /// URL of `db` over the Unix socket, with the password.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://{USER}:{PASSWORD}@/{db}?host={}&port={}",
            self.socket_dir().display(),
            self.port
        )
    }

    /// URL of `db` over the Unix socket, percent-encoded host form, no password.
    pub fn url_without_password(&self, db: &str) -> String {
        let host = self.socket_dir().display().to_string().replace('/', "%2F");
        format!("postgresql://{USER}@{host}:{}/{db}", self.port)
    }

    /// URL of `db` over TCP on 127.0.0.1 with TLS required and verified
    /// against the test CA.
    pub fn tls_url(&self, db: &str) -> String {
        format!(
            "postgres://{USER}:{PASSWORD}@127.0.0.1:{}/{db}?sslmode=verify-full&sslrootcert={}",
            self.port,
            self.ca_file().display()
        )
    }
}
