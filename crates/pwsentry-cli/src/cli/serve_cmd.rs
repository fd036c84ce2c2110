//! `pwsentry serve`: the HTTP server (crate `pwsentry-serve`) with this
//! command line's policy, store and files.

use super::GlobalArgs;
use anyhow::{Context as _, bail};
use clap::Args;
use pwsentry::Checker;
use pwsentry::passwd_file::PasswdFile;
use pwsentry_serve::{Branding, Config, Limits};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zeroize::Zeroizing;

/// Options of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default; put a TLS proxy or --tls-cert in front otherwise)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8425")]
    pub listen: SocketAddr,
    /// Dovecot passwd-file that /v1/change and /roundcube verify against and write [default: the policy's `[mail] passwd_file`]
    #[arg(long, value_name = "FILE")]
    pub passwd_file: Option<PathBuf>,
    /// File holding the bearer token of /v1/status and /v1/stale (mode 0600 or stricter)
    #[arg(long, value_name = "FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// PEM certificate chain: serve HTTPS (with --tls-key)
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Wrong current passwords per account before a 15-minute lockout
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_failures: u32,
    /// /v1/check requests per second per client address (bursts of twice as many); raise it behind a proxy that all clients share
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub check_rate: u32,
    /// /v1/change and /roundcube requests per minute per client address
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub change_rate: u32,
    /// Requests from one client address handled at once (more are answered 429); raise it behind a proxy that all clients share
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub client_in_flight: u32,
}

/// Runs the server until SIGINT or SIGTERM.
pub fn run(g: &GlobalArgs, args: &ServeArgs) -> anyhow::Result<u8> {
    return_large_allocations_to_the_system();
    let policy = g.load_policy()?;
    // The page's logo: a configuration problem, reported before the store.
    let branding = Branding::load(policy.serve()).map_err(anyhow::Error::msg)?;
    let store = super::history_cmds::open_store(g, &policy)?;
    let admin_token = args
        .admin_token_file
        .as_deref()
        .map(read_token)
        .transpose()?;
    let passwd_file = args
        .passwd_file
        .clone()
        .or_else(|| policy.mail().passwd_file.clone());
    if let Some(p) = &passwd_file {
        // Fail at start, not at the first change.
        PasswdFile::new(p)
            .password_field("")
            .with_context(|| format!("cannot use the passwd-file {}", p.display()))?;
    }
    let mut limits = Limits::default();
    limits.max_failures_per_account = args.max_failures.max(1);
    limits.checks_per_second = args.check_rate.max(1);
    limits.changes_per_minute = args.change_rate.max(1);
    limits.max_in_flight_per_client = args.client_in_flight.max(1);
    let config = Config {
        checker: Checker::new(policy),
        store: Arc::new(store),
        passwd_file: passwd_file.as_ref().map(PasswdFile::new),
        admin_token,
        limits,
        branding,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        let scheme = if args.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        eprintln!("pwsentry serve: listening on {scheme}://{addr}");
        match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => {
                let std_listener = listener.into_std()?;
                pwsentry_serve::serve_tls(config, std_listener, cert, key, shutdown_signal())
                    .await
                    .context("the HTTPS server failed")?;
            }
            _ => pwsentry_serve::serve(config, listener, shutdown_signal())
                .await
                .context("the HTTP server failed")?,
        }
        eprintln!("pwsentry serve: stopped");
        Ok(super::EXIT_OK)
    })
}

/// Makes glibc serve every allocation of 1 MiB or more (argon2's memory:
/// 19 to 256 MiB per hash) with its own `mmap`, which `free` returns to
/// the system at once.
///
/// By default glibc raises that threshold after such a block is freed (up
/// to 32 MiB), so later argon2 buffers come from the per-thread arenas and
/// stay there after use: a server whose blocking threads each hashed once
/// kept hundreds of MiB it no longer used (BENCHMARKS.md, "HTTP server").
/// With a fixed threshold the server's memory falls back after a burst, and
/// its peak stays within the argon2 cap of the change path plus its base.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn return_large_allocations_to_the_system() {
    // SAFETY: `mallopt` only changes glibc's allocator settings, takes no
    // pointers, and is called before the server starts any thread. Its
    // result (0 when the value is refused) only means the default stays.
    let _ = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_allocations_to_the_system() {}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// The admin token: a regular file that only its owner can read; leading
/// and trailing white space ignored; at least 16 characters.
fn read_token(path: &Path) -> anyhow::Result<Zeroizing<String>> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path)
        .with_context(|| format!("admin token file {}", path.display()))?;
    if !meta.file_type().is_file() {
        bail!("admin token file {}: not a regular file", path.display());
    }
    if meta.mode() & 0o077 != 0 {
        bail!(
            "admin token file {}: readable or writable by group or others; fix with: chmod 600 {}",
            path.display(),
            path.display()
        );
    }
    if meta.len() > 4096 {
        bail!("admin token file {}: larger than 4 KiB", path.display());
    }
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("admin token file {}", path.display()))?,
    );
    let token = Zeroizing::new(text.trim().to_owned());
    if token.chars().count() < 16 || token.chars().any(char::is_whitespace) {
        bail!(
            "admin token file {}: the token must be at least 16 characters with no spaces",
            path.display()
        );
    }
    Ok(token)
}
