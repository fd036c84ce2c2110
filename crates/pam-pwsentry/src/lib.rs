//! `pam_pwsentry.so`: pwsentry's policy and password history where Linux
//! users change their passwords and log in.
//!
//! - **`password`** (`pam_sm_chauthtok`): asks for the new password (or
//!   takes it from an earlier module with `use_authtok`), evaluates it with
//!   the policy and the PAM user's history (and, when PAM has the current
//!   password, its plain-text similarity to it), shows every reason through
//!   the PAM conversation and, once accepted, leaves it in `PAM_AUTHTOK` for
//!   `pam_unix`. A second instance with the option `record`, placed after
//!   `pam_unix`, records the hash only once the change has succeeded.
//! - **`account`** (`pam_sm_acct_mgmt`): a stale password makes PAM demand
//!   a new one at login (`PAM_NEW_AUTHTOK_REQD`, as shadow's expiry does),
//!   an expiring one gets a notice with the days left.
//!
//! Configuration comes only from the module's options and the policy file
//! (`policy=`, default `/etc/pwsentry/policy.toml`, else the built-in
//! policy; `db=`, else the policy's `[store]`, else
//! `/var/lib/pwsentry/history.db`): never from the environment or the
//! current directory, so the module is safe inside the setuid `passwd`.
//! Errors go to syslog (authpriv), never with a password or a hash.
//! Installation and the exact stack: `docs/pam.md`.
//!
//! The only `unsafe` code is the PAM boundary in the private `ffi` module;
//! everything else is safe Rust over the [`session::Session`] trait, which
//! the tests implement without PAM.
#![deny(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod account;
mod config;
mod ffi;
pub mod options;
mod password;
pub mod session;
