//! pwsentry: password strength and rotation checks.
//!
//! Build a [`Checker`] from a [`Policy`] once, then [`Checker::evaluate`]
//! each candidate. The result is a [`Verdict`]: accepted or not, every
//! broken rule with a stable code and a plain-English message, and zxcvbn's
//! strength estimate.
//!
//! ```
//! use pwsentry::{Checker, Context, Policy, Rule};
//!
//! let checker = Checker::new(Policy::default());
//! let context = Context::new().account("alice@example.com");
//!
//! let weak = checker.evaluate("alice2024", &context);
//! assert!(!weak.accepted());
//! assert!(weak.violates(Rule::Symbols));
//! assert!(weak.violates(Rule::ContextWord));
//!
//! let strong = checker.evaluate("Velvet#Orbit#Canyon42", &context);
//! assert!(strong.accepted(), "{:?}", strong.violations());
//! # Ok::<(), pwsentry::Error>(())
//! ```
//!
//! The library never prints, never exits and never reads the clock or the
//! environment: time is a parameter, configuration is passed in.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod account;
mod blocklist;
pub mod breach;
mod checker;
pub mod crypt;
mod error;
pub mod generate;
pub mod history;
pub mod mailhash;
mod normalise;
#[cfg(unix)]
pub mod passwd_file;
pub mod policy;
pub mod rotation;
mod rules;
mod secret;
pub mod store;
pub mod strength;
pub mod trusted_file;
mod verdict;

/// The `chrono` crate this one is built with, re-exported: times in the
/// public API are `chrono::DateTime<chrono::Utc>`, and naming them through
/// `pwsentry::chrono` avoids a version mismatch with your own `chrono`.
pub use chrono;

pub use account::{AccountId, AccountIdError};
pub use checker::{Checker, Context};
pub use error::{Error, PolicyError, Result};
pub use policy::{Policy, Preset};
pub use secret::Password;
pub use verdict::{Rule, Strength, Verdict, Violation};
