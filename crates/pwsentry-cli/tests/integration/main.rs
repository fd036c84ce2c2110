//! End-to-end tests of the `pwsentry` binary and the library, built as one
//! test binary. Shared helpers are in `util.rs`.

mod util;

/// The real Dovecot, started in a temporary directory (shared with the
/// library's tests).
#[cfg(unix)]
#[path = "../../../../tests/support/dovecot.rs"]
mod dovecot;

#[cfg(unix)] // FIFOs
mod breach;
mod check;
mod cli;
mod generate;
mod history;
#[cfg(unix)] // file modes, other users, /proc
mod hostile;
mod import;
#[cfg(unix)] // passwd-files, Dovecot
mod mail;
#[cfg(unix)] // aiosmtpd, file modes
mod notify;
#[cfg(unix)] // the real server, Dovecot and Chromium
mod page;
mod policy;
#[cfg(unix)] // a PostgreSQL server on a Unix socket
mod postgres;
mod properties;
#[cfg(unix)] // SIGKILL
mod reliability;
mod secrets;
#[cfg(unix)] // Dovecot, signals
mod serve;
#[cfg(unix)] // pseudo-terminals and tmux
mod set;
#[cfg(unix)] // file modes, FIFOs, other users, /proc, tmpfs
mod trust;
