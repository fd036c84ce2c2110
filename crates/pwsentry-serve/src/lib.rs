//! pwsentry's HTTP server: the policy, the history and the mail server's
//! passwd-file behind a small JSON API, a Roundcube `httpapi` password
//! driver endpoint, and status and staleness reports for administrators.
//!
//! | route | who | what |
//! |---|---|---|
//! | `POST /v1/check` | anyone | `{password, account?, user_inputs?}` → the verdict (no history: see below) |
//! | `POST /v1/change` | the account's owner | `{account, current_password, new_password}` → verify, evaluate, write, record |
//! | `POST /roundcube` | Roundcube's password plugin | form `user`, `curpass`, `newpass` → `ok` or the reasons as text |
//! | `GET /v1/status/{account}` | administrators (bearer token) | the account's rotation status |
//! | `GET /v1/stale` | administrators (bearer token) | every stale or expiring account, streamed |
//! | `GET /` | people in a browser | the self-service page; `POST /` is its form without JavaScript |
//! | `POST /v1/generate` | the page's "suggest one" | `{account?}` → a password the policy accepts |
//! | `GET /healthz` | anyone | `ok` |
//!
//! `/v1/check` never consults the history: an unauthenticated caller could
//! otherwise test guesses against an account's current and past passwords
//! without the lockout of `/v1/change`. The account only adds its name
//! parts as context words.
//!
//! The server is thin: handlers parse and bound the request, apply the
//! [`Limits`], and call the library; the change itself is in `change.rs`.
//! It must not log, echo or store a password: log lines carry the method,
//! path, status and time only, and no route takes a secret in its URL.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod api;
mod change;
mod guard;
mod page;
mod routes;

use pwsentry::Checker;
use pwsentry::passwd_file::PasswdFile;
use pwsentry::store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

pub use page::{Branding, MAX_LOGO_BYTES};
pub use routes::router;

/// What the server serves: the policy's checker, the history, the
/// passwd-file it changes and the administrators' token.
pub struct Config {
    /// Built once from the policy.
    pub checker: Checker,
    /// The shared history (and failed-attempt counts).
    pub store: Arc<dyn Store>,
    /// The Dovecot passwd-file that `/v1/change` verifies against and
    /// writes; without one, `/v1/change` and `/roundcube` answer 503.
    pub passwd_file: Option<PasswdFile>,
    /// The bearer token of `/v1/status` and `/v1/stale`; without one, they
    /// answer 404.
    pub admin_token: Option<Zeroizing<String>>,
    /// Request limits.
    pub limits: Limits,
    /// How the self-service page presents itself (`[serve]` in the policy).
    pub branding: Branding,
}

/// Limits on what one client can make the server do.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Limits {
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// Longest a request may take before it is answered 503.
    pub request_timeout: Duration,
    /// Longest a client may take to send a request's headers before its
    /// connection is closed (slow-header clients, "slowloris").
    pub header_read_timeout: Duration,
    /// Requests handled at once on each route; more wait.
    pub max_in_flight: usize,
    /// Requests from one client address (an IPv6 /64) handled or waiting
    /// at once, counted before the body is read; more are answered 429.
    /// Without it, one address sending hundreds of slow bodies held every
    /// slot of a route for the whole request timeout.
    pub max_in_flight_per_client: u32,
    /// Wrong current passwords per account within [`Limits::lockout_window`]
    /// before the account is locked out for the rest of the window.
    pub max_failures_per_account: u32,
    /// Wrong current passwords per client address within the window before
    /// that address is locked out.
    pub max_failures_per_client: u32,
    /// The lockout window.
    pub lockout_window: Duration,
    /// `/v1/check` requests per second per client address (with a burst of
    /// twice as many).
    pub checks_per_second: u32,
    /// `/v1/change` and `/roundcube` requests per minute per client address.
    pub changes_per_minute: u32,
    /// Memory that argon2 may use at once for the server's own hashing
    /// (current-password checks and new hashes), KiB.
    pub argon2_memory_kib: u64,
    /// How long a request may wait for argon2 memory before 503.
    pub argon2_wait: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 * 1024,
            request_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            max_in_flight: 512,
            max_in_flight_per_client: 64,
            max_failures_per_account: 5,
            max_failures_per_client: 20,
            lockout_window: Duration::from_secs(15 * 60),
            checks_per_second: 200,
            changes_per_minute: 30,
            argon2_memory_kib: 256 * 1024,
            argon2_wait: Duration::from_secs(10),
        }
    }
}

/// Serves `config` on `listener` until `shutdown` completes, then gives
/// the requests in flight up to 10 seconds to finish.
///
/// A client must send a request's headers within
/// [`Limits::header_read_timeout`], or its connection is closed: slow
/// clients cannot hold connections open for free. That holds from the
/// moment a connection is accepted (a client that sends nothing at all is
/// closed too) and between requests on a kept-alive connection. Only
/// HTTP/1.x is spoken: HTTP/2 (also "prior knowledge" HTTP/2 without TLS)
/// has no header timeout, and a quiet HTTP/2 connection would be held
/// for ever; the page and the API need nothing of HTTP/2.
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let header_timeout = config.limits.header_read_timeout;
    let mut server = axum_server::Server::from_listener(listener)
        .http1_only()
        .first_request_timeout(header_timeout);
    server
        .http_builder()
        .http1()
        .header_read_timeout(Some(header_timeout));
    let handle = shutdown_handle(shutdown);
    let app = router(config).into_make_service_with_connect_info::<SocketAddr>();
    server.handle(handle).serve(app).await
}

/// Serves `config` over TLS (rustls) on `listener` with the PEM
/// certificate chain and key in `cert` and `key`, as [`serve`] does.
///
/// # Errors
/// The certificate or key cannot be read or used; I/O errors.
pub async fn serve_tls(
    config: Config,
    listener: std::net::TcpListener,
    cert: &std::path::Path,
    key: &std::path::Path,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // One process-wide provider; a second install (tests) is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key).await?;
    // HTTP/1.1 only (see `serve`): offer no `h2` in ALPN.
    let mut tls_config = (*tls.get_inner()).clone();
    tls_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tls = axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(tls_config));
    let header_timeout = config.limits.header_read_timeout;
    let mut server = axum_server::from_tcp_rustls(listener, tls)?
        .http1_only()
        .first_request_timeout(header_timeout);
    server
        .http_builder()
        .http1()
        .header_read_timeout(Some(header_timeout));
    let handle = shutdown_handle(shutdown);
    let app = routes::router_for(config, true).into_make_service_with_connect_info::<SocketAddr>();
    server.handle(handle).serve(app).await
}

/// A handle that starts a graceful shutdown (10 seconds for the requests
/// in flight) when `shutdown` completes.
fn shutdown_handle(
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> axum_server::Handle<SocketAddr> {
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    handle
}
