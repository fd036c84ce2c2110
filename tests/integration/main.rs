//! End-to-end tests of the `pwsentry` binary and the library, built as one
//! test binary. Shared helpers are in `util.rs`.

mod util;

mod check;
mod policy;
