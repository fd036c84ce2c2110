//! End-to-end tests of the `pwsentry` binary and the library, built as one
//! test binary. Shared helpers are in `util.rs`.

mod util;

mod check;
mod generate;
mod history;
mod policy;
#[cfg(unix)] // pseudo-terminals and tmux
mod set;
mod strength;
