//! End-to-end tests of the `pwsentry` binary and the library, built as one
//! test binary. Shared helpers are in `util.rs`.

mod util;

mod check;
mod generate;
mod history;
#[cfg(unix)] // file modes, other users, /proc
mod hostile;
mod policy;
#[cfg(unix)] // a PostgreSQL server on a Unix socket
mod postgres;
mod properties;
#[cfg(unix)] // SIGKILL
mod reliability;
mod secrets;
#[cfg(unix)] // pseudo-terminals and tmux
mod set;
