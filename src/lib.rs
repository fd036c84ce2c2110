//! pwsentry: password strength and rotation checks.
//!
//! Build a [`Checker`] from a [`Policy`] once (it is `Send + Sync`; clone
//! it freely), then use it three ways.
//!
//! **Check** a candidate, with no I/O (a strength meter, a sign-up form).
//! The result is a [`Verdict`]: accepted or not, every broken rule with a
//! stable code and a plain-English message, and zxcvbn's estimate.
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
//! ```
//!
//! **Change** an account's password: one call evaluates the new password
//! (the rules above, then the account's history: reuse and near reuse, at
//! a bounded argon2 cost) and records its hash when accepted, retrying by
//! itself if another writer records for the account meanwhile. With the
//! current password (a self-service change), the new one must also not be
//! based on it. See [`history`] and `docs/history.md`.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use pwsentry::store::MemoryStore; // or store::SqliteStore::open(path)
//! use pwsentry::{ChangeRequest, Checker, Policy, Rule};
//!
//! // Small argon2 parameters keep the example fast; never use them for real.
//! let policy = Policy::from_toml_str("[hashing]\nmemory_kib = 64\niterations = 1\nallow_weak_parameters = true\n")?;
//! let checker = Checker::new(policy);
//! let store = MemoryStore::new();
//! let now = Utc.with_ymd_and_hms(2026, 1, 31, 12, 0, 0).unwrap(); // the caller's clock
//!
//! let first = checker.change(&store, &ChangeRequest::new("alice@example.com", "Velvet#Orbit#Canyon42", now))?;
//! assert!(first.recorded());
//!
//! let later = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap();
//! let request = ChangeRequest::new("alice@example.com", "Velvet#Orbit#Canyon43", later)
//!     .current_password("Velvet#Orbit#Canyon42");
//! let again = checker.change(&store, &request)?;
//! assert!(!again.recorded());
//! assert!(again.verdict().violates(Rule::SimilarToCurrent));
//! # Ok::<(), pwsentry::Error>(())
//! ```
//!
//! **Staleness**: how old an account's password is, at login, and the
//! accounts due for a change, streamed from the store (see [`rotation`]).
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use pwsentry::rotation::{RotationState, stale_accounts};
//! use pwsentry::store::MemoryStore;
//! use pwsentry::{ChangeRequest, Checker, Policy};
//! use std::ops::ControlFlow;
//!
//! let policy = Policy::from_toml_str("[hashing]\nmemory_kib = 64\niterations = 1\nallow_weak_parameters = true\n[rotation]\nmax_age_days = 90\n")?;
//! let checker = Checker::new(policy);
//! let store = MemoryStore::new();
//! let set = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
//! checker.change(&store, &ChangeRequest::new("bob@example.com", "Velvet#Orbit#Canyon42", set))?;
//!
//! let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
//! let status = pwsentry::rotation::status(&store, checker.policy().rotation(), "bob@example.com", now)?;
//! assert_eq!(status.state, RotationState::Stale);
//!
//! let mut stale = Vec::new();
//! stale_accounts(&store, checker.policy().rotation(), now, |a| {
//!     stale.push(a.account.to_owned());
//!     ControlFlow::Continue(())
//! })?;
//! assert_eq!(stale, ["bob@example.com"]);
//! # Ok::<(), pwsentry::Error>(())
//! ```
//!
//! The library never prints, never exits and never reads the clock or the
//! environment: time is a parameter, configuration is passed in. It has no
//! global state; the argon2 memory cap is shared by a checker's clones.
#![deny(unsafe_code)]
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
pub mod remind;
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
pub use history::{ChangeOutcome, ChangeRequest};
pub use policy::{Policy, Preset};
pub use secret::Password;
pub use verdict::{Rule, Strength, Verdict, Violation};

/// The examples of `docs/history.md`, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/history.md")]
pub struct HistoryDocs;

/// The examples of the README, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDocs;

/// The examples of `docs/library.md`, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/library.md")]
pub struct LibraryDocs;
