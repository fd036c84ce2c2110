//! Password history: argon2 hashes of past passwords, the rules that use
//! them (`reuse`, `recently_used`, `similar_to_previous`, `min_age`, and,
//! when the caller knows the current password, `current_password` and
//! `similar_to_current`), and the change API: [`Checker::change`] evaluates
//! a new password and records it in one call.
//!
//! # Hashing
//! Every entry is an argon2 PHC string, verified with the parameters inside
//! it, so changing the policy's `[hashing]` or importing hashes made
//! elsewhere keeps working. Passwords are NFC-normalised before hashing.
//! Entries pwsentry records itself use argon2id (version 0x13), the
//! policy's parameters, a 32-byte digest, the account's random 16-byte salt
//! (one per account, kept by the [`Store`]) and the policy's pepper as
//! argon2's secret input, if one is set.
//!
//! Entries that share (salt, algorithm, version, parameters, pepper) form a
//! group: hashing a candidate once per group gives a digest to compare, in
//! constant time, with every entry of the group. A check against 24
//! natively recorded entries therefore costs what a check against one
//! does. Imported hashes keep their own salts and parameters, each its own
//! group.
//!
//! # Bounded cost
//! What one evaluation may cost is fixed, whatever the store holds:
//! - a candidate that a cheap rule already rejects (length, composition,
//!   context words, blocklist, score, minimum age, similarity to the
//!   current password) is never hashed;
//! - near reuse hashes at most 8 variants of the candidate
//!   (`docs/history.md` has the catalogue), and only against groups whose
//!   cost (memory, and memory × passes) is at or below the policy's, within
//!   a near-reuse budget of 8 evaluations at the policy's cost; costlier
//!   groups get the exact check only;
//! - exact checks of groups other than the account's native one stop after
//!   [`MAX_EXACT_WORK`] KiB × passes (newest entries first);
//! - an entry above the import bounds ([`MAX_IMPORT_MEMORY_KIB`],
//!   [`MAX_IMPORT_WORK`], or the policy's own cost if higher), or that does
//!   not parse, is never evaluated: it is skipped and reported
//!   ([`Change::skipped`], [`unverifiable_entries`]);
//! - the evaluations run on up to one thread per core
//!   (`std::thread::scope`), and all evaluations of a [`Checker`] and its
//!   clones share one cap on argon2 memory
//!   ([`Checker::with_argon2_memory_cap`], 256 MiB by default): a check
//!   waits for memory rather than exceeding the cap.
//!
//! # Imported hashes
//! [`Argon2Hash::parse`] accepts PHC strings of argon2id, argon2i and
//! argon2d (versions 0x10 and 0x13), bare or with a Dovecot scheme prefix
//! (`{ARGON2ID}`, `{ARGON2I}`, `{ARGON2D}`); salts of 8..=64 bytes,
//! digests of 4..=64 bytes, associated data ≤ 32 bytes; hashes that need a
//! key id are refused. [`Checker::import_hashes`] also refuses any above
//! the import bounds.
//!
//! This module never prints, never reads the clock, and never puts a
//! password, a hash or a salt into an error message or a `Debug` output.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use pwsentry::store::MemoryStore;
//! use pwsentry::{ChangeRequest, Checker, Policy, Rule};
//!
//! // Small argon2 parameters keep the example fast; never use them for real.
//! let policy = Policy::from_toml_str("[hashing]\nmemory_kib = 64\niterations = 1\nallow_weak_parameters = true\n")?;
//! let checker = Checker::new(policy);
//! let store = MemoryStore::new();
//! let now = Utc.with_ymd_and_hms(2026, 1, 31, 12, 0, 0).unwrap();
//!
//! let first = checker.change(&store, &ChangeRequest::new("alice@example.com", "Velvet#Orbit#Canyon42", now))?;
//! assert!(first.recorded());
//!
//! let again = checker.change(&store, &ChangeRequest::new("alice@example.com", "Velvet#Orbit#Canyon43", now))?;
//! assert!(!again.recorded());
//! assert!(again.verdict().violates(Rule::SimilarToPrevious));
//! # Ok::<(), pwsentry::Error>(())
//! ```

use crate::account::AccountId;
mod budget;
mod similarity;
mod variants;

pub use budget::DEFAULT_ARGON2_MEMORY_CAP_KIB;
pub(crate) use budget::MemoryBudget;

use crate::checker::{Checker, Context};
use crate::error::{Error, Result};
use crate::policy::{HARD_MAX_LENGTH, MAX_ITERATIONS, MAX_MEMORY_KIB, MAX_PARALLELISM, Policy};
use crate::secret::Password;
use crate::store::{AccountHistory, Append, EntryId, Expect, NewEntry, Retention, Store};
use crate::verdict::{Rule, Verdict, Violation};
use argon2::{Argon2, AssociatedData, Block, ParamsBuilder};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use subtle::ConstantTimeEq;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

/// Length of the random salt each account gets, in bytes.
pub const SALT_LEN: usize = 16;
/// Length of the digest of natively recorded entries, in bytes.
pub const DIGEST_LEN: usize = 32;
/// Shortest and longest salt accepted in a hash, in bytes.
pub const SALT_LEN_RANGE: std::ops::RangeInclusive<usize> = 8..=64;
/// Shortest and longest digest accepted in a hash, in bytes.
pub const DIGEST_LEN_RANGE: std::ops::RangeInclusive<usize> = 4..=64;

/// Largest memory cost of an *imported* hash, in KiB (256 MiB). Imported
/// hashes are not chosen by the administrator, so a crafted one must not
/// make every later check of the account allocate gigabytes.
pub const MAX_IMPORT_MEMORY_KIB: u32 = 256 * 1024;

/// Largest work (memory in KiB × passes) of an imported hash: 1 GiB·pass,
/// about a second of argon2 on one core. Dovecot's default
/// (m=65536, t=3) is 192 MiB·pass.
pub const MAX_IMPORT_WORK: u64 = 1024 * 1024;

/// Work (memory in KiB × passes) that the exact checks of one evaluation
/// may spend on groups other than the account's native one (imported
/// hashes, entries from older parameters): 2 GiB·pass, about two imports at
/// the bound or ten at Dovecot's default. Older groups past it are skipped
/// and reported ([`SkipReason::OverBudget`]).
pub const MAX_EXACT_WORK: u64 = 2 * 1024 * 1024;

/// How often [`Checker::change`] evaluates again when another writer
/// recorded for the account between its evaluation and its commit.
const CHANGE_ATTEMPTS: u32 = 10;

// ---- hashes ----------------------------------------------------------------

/// An argon2 variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// Argon2d (data-dependent memory access).
    Argon2d,
    /// Argon2i (data-independent memory access).
    Argon2i,
    /// Argon2id (the hybrid; what pwsentry records).
    Argon2id,
}

impl Algorithm {
    /// The PHC identifier, e.g. `"argon2id"`.
    pub fn ident(self) -> &'static str {
        match self {
            Algorithm::Argon2d => "argon2d",
            Algorithm::Argon2i => "argon2i",
            Algorithm::Argon2id => "argon2id",
        }
    }

    fn from_ident(s: &str) -> Option<Algorithm> {
        [Algorithm::Argon2d, Algorithm::Argon2i, Algorithm::Argon2id]
            .into_iter()
            .find(|a| a.ident() == s)
    }

    fn engine(self) -> argon2::Algorithm {
        match self {
            Algorithm::Argon2d => argon2::Algorithm::Argon2d,
            Algorithm::Argon2i => argon2::Algorithm::Argon2i,
            Algorithm::Argon2id => argon2::Algorithm::Argon2id,
        }
    }
}

/// A parsed argon2 hash: algorithm, version, parameters, salt and digest,
/// with every value within pwsentry's bounds.
///
/// `Display` writes the PHC string; `Debug` hides the salt and digest.
///
/// ```
/// use pwsentry::history::{Algorithm, Argon2Hash};
/// let h = Argon2Hash::parse("{ARGON2ID}$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA")?;
/// assert_eq!(h.algorithm(), Algorithm::Argon2id);
/// assert_eq!((h.memory_kib(), h.iterations(), h.parallelism()), (64, 1, 1));
/// assert_eq!(h.to_string(), "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA");
/// assert!(Argon2Hash::parse("$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA").is_err());
/// # Ok::<(), pwsentry::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Argon2Hash {
    algorithm: Algorithm,
    version: u32,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    data: Vec<u8>,
    salt: Vec<u8>,
    digest: Vec<u8>,
}

impl fmt::Debug for Argon2Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Argon2Hash")
            .field("algorithm", &self.algorithm)
            .field("version", &self.version)
            .field("memory_kib", &self.memory_kib)
            .field("iterations", &self.iterations)
            .field("parallelism", &self.parallelism)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Argon2Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "${}$v={}$m={},t={},p={}",
            self.algorithm.ident(),
            self.version,
            self.memory_kib,
            self.iterations,
            self.parallelism
        )?;
        if !self.data.is_empty() {
            write!(f, ",data={}", B64.encode(&self.data))?;
        }
        write!(
            f,
            "${}${}",
            B64.encode(&self.salt),
            B64.encode(&self.digest)
        )
    }
}

fn bad(what: &str) -> Error {
    Error::Hash(what.to_owned())
}

impl Argon2Hash {
    /// Parses a PHC string (`$argon2id$v=19$m=...,t=...,p=...$salt$digest`,
    /// argon2i and argon2d too; a missing `v=` means version 0x10), bare or
    /// after a Dovecot scheme prefix (`{ARGON2ID}`, `{ARGON2I}`,
    /// `{ARGON2D}`, any case). Surrounding whitespace is ignored.
    ///
    /// # Errors
    /// [`Error::Hash`] saying what is wrong (never quoting the input) when
    /// the text is not such a hash or its values are out of bounds (see
    /// the module docs).
    pub fn parse(text: &str) -> Result<Argon2Hash> {
        let text = text.trim();
        let (scheme, phc) = match text.strip_prefix('{') {
            Some(rest) => {
                let (scheme, phc) = rest
                    .split_once('}')
                    .ok_or_else(|| bad("unterminated {SCHEME} prefix"))?;
                let algorithm = match scheme.to_ascii_uppercase().as_str() {
                    "ARGON2ID" => Algorithm::Argon2id,
                    "ARGON2I" => Algorithm::Argon2i,
                    "ARGON2D" => Algorithm::Argon2d,
                    _ => {
                        return Err(bad(
                            "not an argon2 scheme: only {ARGON2ID}, {ARGON2I} and {ARGON2D} hashes can be used",
                        ));
                    }
                };
                (Some(algorithm), phc)
            }
            None => (None, text),
        };
        let mut parts = phc.split('$');
        if parts.next() != Some("") {
            return Err(bad(
                "not a PHC string (expected $argon2id$v=19$m=...,t=...,p=...$salt$hash)",
            ));
        }
        let algorithm = parts
            .next()
            .and_then(Algorithm::from_ident)
            .ok_or_else(|| {
                bad("not an argon2 hash: only argon2id, argon2i and argon2d can be used")
            })?;
        if scheme.is_some_and(|s| s != algorithm) {
            return Err(bad(
                "the {SCHEME} prefix names another argon2 variant than the hash",
            ));
        }
        let mut field = parts.next().ok_or_else(|| bad("missing parameters"))?;
        let mut version = 0x10;
        if let Some(v) = field.strip_prefix("v=") {
            version = match v {
                "16" => 0x10,
                "19" => 0x13,
                _ => return Err(bad("unsupported argon2 version (expected v=16 or v=19)")),
            };
            field = parts.next().ok_or_else(|| bad("missing parameters"))?;
        }
        let (mut m, mut t, mut p, mut data) = (None, None, None, Vec::new());
        for pair in field.split(',') {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| bad("malformed parameter list"))?;
            let slot = match key {
                "m" => &mut m,
                "t" => &mut t,
                "p" => &mut p,
                "data" => {
                    data = B64
                        .decode(value)
                        .map_err(|_| bad("the data parameter is not valid base64"))?;
                    continue;
                }
                "keyid" => {
                    return Err(bad(
                        "the hash needs a key (keyid), which pwsentry does not have",
                    ));
                }
                _ => {
                    return Err(bad(
                        "unknown parameter (expected m, t, p and optionally data)",
                    ));
                }
            };
            if slot.is_some() {
                return Err(bad("a parameter is given twice"));
            }
            *slot = Some(decimal(value)?);
        }
        let (Some(m), Some(t), Some(p)) = (m, t, p) else {
            return Err(bad("the parameters m, t and p are all required"));
        };
        let salt = B64
            .decode(parts.next().ok_or_else(|| bad("missing salt"))?)
            .map_err(|_| bad("the salt is not valid base64"))?;
        let digest = B64
            .decode(parts.next().ok_or_else(|| bad("missing digest"))?)
            .map_err(|_| bad("the digest is not valid base64"))?;
        if parts.next().is_some() {
            return Err(bad("unexpected text after the digest"));
        }
        let hash = Argon2Hash {
            algorithm,
            version,
            memory_kib: m,
            iterations: t,
            parallelism: p,
            data,
            salt,
            digest,
        };
        hash.check_bounds()?;
        Ok(hash)
    }

    /// Refuses parameters too costly for a hash that was not made by this
    /// policy: memory above [`MAX_IMPORT_MEMORY_KIB`] or work above
    /// [`MAX_IMPORT_WORK`]. [`Checker::import_hashes`] applies it to every
    /// hash.
    ///
    /// # Errors
    /// [`Error::Hash`] naming the parameters and the limits.
    pub fn check_import_cost(&self) -> Result<()> {
        if self.memory_kib > MAX_IMPORT_MEMORY_KIB || self.work() > MAX_IMPORT_WORK {
            return Err(Error::Hash(format!(
                "m={} KiB, t={} costs more than an imported hash may (at most {MAX_IMPORT_MEMORY_KIB} KiB and {MAX_IMPORT_WORK} KiB × passes), so that it cannot make later checks slow",
                self.memory_kib, self.iterations
            )));
        }
        Ok(())
    }

    /// Memory in KiB × passes: what one evaluation costs, roughly.
    fn work(&self) -> u64 {
        u64::from(self.memory_kib) * u64::from(self.iterations)
    }

    fn check_bounds(&self) -> Result<()> {
        if !(1..=MAX_PARALLELISM).contains(&self.parallelism) {
            return Err(Error::Hash(format!(
                "parallelism {} is outside 1..={MAX_PARALLELISM}",
                self.parallelism
            )));
        }
        if !(1..=MAX_ITERATIONS).contains(&self.iterations) {
            return Err(Error::Hash(format!(
                "{} passes is outside 1..={MAX_ITERATIONS}",
                self.iterations
            )));
        }
        let min_memory = 8 * self.parallelism;
        if !(min_memory..=MAX_MEMORY_KIB).contains(&self.memory_kib) {
            return Err(Error::Hash(format!(
                "memory cost {} KiB is outside {min_memory}..={MAX_MEMORY_KIB} KiB",
                self.memory_kib
            )));
        }
        if !SALT_LEN_RANGE.contains(&self.salt.len()) {
            return Err(Error::Hash(format!(
                "a salt of {} bytes is outside 8..=64 bytes",
                self.salt.len()
            )));
        }
        if !DIGEST_LEN_RANGE.contains(&self.digest.len()) {
            return Err(Error::Hash(format!(
                "a digest of {} bytes is outside 4..=64 bytes",
                self.digest.len()
            )));
        }
        if self.data.len() > argon2::Params::MAX_DATA_LEN {
            return Err(bad("the associated data is longer than 32 bytes"));
        }
        Ok(())
    }

    /// The argon2 variant.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
    /// The argon2 version: `0x10` or `0x13`.
    pub fn version(&self) -> u32 {
        self.version
    }
    /// Memory cost in KiB.
    pub fn memory_kib(&self) -> u32 {
        self.memory_kib
    }
    /// Number of passes.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }
    /// Degree of parallelism (lanes).
    pub fn parallelism(&self) -> u32 {
        self.parallelism
    }
    /// The salt.
    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    /// The hash as Dovecot writes it: `{ARGON2ID}$argon2id$...`.
    pub fn to_dovecot(&self) -> String {
        format!("{{{}}}{self}", self.algorithm.ident().to_ascii_uppercase())
    }

    /// Whether `password` (the exact bytes: not normalised) hashes to this
    /// digest with `secret` (a pepper) as argon2's secret input. The digests
    /// are compared in constant time.
    ///
    /// # Errors
    /// [`Error::Hash`] if argon2 refuses the parameters.
    pub fn verify(&self, password: &[u8], secret: Option<&[u8]>) -> Result<bool> {
        let mut blocks = Zeroizing::new(vec![Block::default(); self.block_count()]);
        let mut out = Zeroizing::new(vec![0u8; self.digest.len()]);
        self.compute(password, secret, &mut out, &mut blocks)?;
        Ok(bool::from(out.ct_eq(&self.digest)))
    }

    /// Hashes `password` with the parameters and salt of `self` into `out`
    /// (sized like the digest), using `blocks` as argon2's memory.
    fn compute(
        &self,
        password: &[u8],
        secret: Option<&[u8]>,
        out: &mut [u8],
        blocks: &mut [Block],
    ) -> Result<()> {
        let engine_err = |e: argon2::Error| Error::Hash(format!("argon2: {e}"));
        let mut builder = ParamsBuilder::new();
        builder
            .m_cost(self.memory_kib)
            .t_cost(self.iterations)
            .p_cost(self.parallelism)
            .output_len(self.digest.len());
        if !self.data.is_empty() {
            builder.data(AssociatedData::new(&self.data).map_err(engine_err)?);
        }
        let params = builder.build().map_err(engine_err)?;
        let version = argon2::Version::try_from(self.version).map_err(engine_err)?;
        let argon = match secret {
            Some(s) => Argon2::new_with_secret(s, self.algorithm.engine(), version, params)
                .map_err(engine_err)?,
            None => Argon2::new(self.algorithm.engine(), version, params),
        };
        argon
            .hash_password_into_with_memory(password, &self.salt, out, blocks)
            .map_err(engine_err)
    }

    /// argon2's memory for these parameters, in 1 KiB blocks.
    fn block_count(&self) -> usize {
        argon2::Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_or(self.memory_kib as usize, |p| p.block_count())
    }

    /// What hashes with the same salt and parameters share (then one
    /// evaluation serves them all), with whether they are peppered.
    fn group_key(&self, peppered: bool) -> GroupKey<'_> {
        (
            peppered,
            self.algorithm,
            [
                self.version,
                self.memory_kib,
                self.iterations,
                self.parallelism,
            ],
            &self.data,
            &self.salt,
            self.digest.len(),
        )
    }
}

/// See [`Argon2Hash::group_key`].
type GroupKey<'a> = (bool, Algorithm, [u32; 4], &'a [u8], &'a [u8], usize);

fn decimal(s: &str) -> Result<u32> {
    if s.is_empty()
        || s.len() > 10
        || !s.bytes().all(|b| b.is_ascii_digit())
        || (s.len() > 1 && s.starts_with('0'))
    {
        return Err(bad("a parameter is not a decimal number"));
    }
    s.parse().map_err(|_| bad("a parameter is out of range"))
}

/// Hashes `password` (NFC-normalised) the way pwsentry records it:
/// argon2id 0x13 with the policy's parameters, `salt`, and the policy's
/// pepper as secret.
///
/// # Errors
/// [`Error::Hash`] if the salt is not 8..=64 bytes long.
pub fn hash_password(policy: &Policy, salt: &[u8], password: &str) -> Result<Argon2Hash> {
    hash_native(policy, salt, password, None)
}

/// [`hash_password`], holding a lease on `budget` while argon2 runs.
fn hash_native(
    policy: &Policy,
    salt: &[u8],
    password: &str,
    budget: Option<&MemoryBudget>,
) -> Result<Argon2Hash> {
    let h = policy.hashing();
    let mut hash = Argon2Hash {
        algorithm: Algorithm::Argon2id,
        version: 0x13,
        memory_kib: h.memory_kib,
        iterations: h.iterations,
        parallelism: h.parallelism,
        data: Vec::new(),
        salt: salt.to_vec(),
        digest: vec![0; DIGEST_LEN],
    };
    hash.check_bounds()?;
    let normalised = nfc(password);
    let _lease = budget.map(|b| b.lease(hash.block_count() as u64));
    let mut blocks = Zeroizing::new(vec![Block::default(); hash.block_count()]);
    let mut out = Zeroizing::new([0u8; DIGEST_LEN]);
    hash.compute(
        normalised.expose().as_bytes(),
        policy.pepper(),
        &mut out[..],
        &mut blocks,
    )?;
    hash.digest.copy_from_slice(&out[..]);
    Ok(hash)
}

fn nfc(password: &str) -> Password {
    let mut s = String::with_capacity(password.len() + 8);
    s.extend(password.nfc());
    Password::new(s)
}

/// A fresh random salt of [`SALT_LEN`] bytes from the operating system's
/// generator (through `rand`'s thread-local CSPRNG).
pub fn new_salt() -> Vec<u8> {
    let mut salt = vec![0u8; SALT_LEN];
    rand::rng().fill_bytes(&mut salt);
    salt
}

// ---- matching ------------------------------------------------------------------

/// Why the history rules did not compare the candidate with an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SkipReason {
    /// Its parameters are above the bounds: memory or memory × passes over
    /// [`MAX_IMPORT_MEMORY_KIB`] / [`MAX_IMPORT_WORK`] (or the policy's own
    /// cost, if higher). An entry edited in the database shows up here; it
    /// would cost minutes and gigabytes to evaluate.
    AboveBounds,
    /// The stored text is not a usable argon2 hash.
    Malformed,
    /// The evaluation's budget for exact checks ([`MAX_EXACT_WORK`]) was
    /// spent on newer entries.
    OverBudget,
}

impl SkipReason {
    /// `true` for entries no evaluation can ever check (above the bounds or
    /// malformed), as opposed to ones left out of one evaluation.
    pub fn is_unverifiable(self) -> bool {
        matches!(self, SkipReason::AboveBounds | SkipReason::Malformed)
    }
}

/// A remembered entry the history rules skipped, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SkippedEntry {
    /// The store's id of the entry.
    pub id: EntryId,
    /// Why it was skipped.
    pub reason: SkipReason,
}

/// Memory in KiB × passes of one evaluation at the policy's parameters.
fn policy_work(policy: &Policy) -> u64 {
    let h = policy.hashing();
    u64::from(h.memory_kib) * u64::from(h.iterations)
}

/// Whether evaluating `hash` could cost more than any hash pwsentry accepts.
fn above_bounds(policy: &Policy, hash: &Argon2Hash) -> bool {
    hash.memory_kib > MAX_IMPORT_MEMORY_KIB.max(policy.hashing().memory_kib)
        || hash.work() > MAX_IMPORT_WORK.max(policy_work(policy))
}

/// Whether `hash` costs no more than the policy's own parameters.
fn within_policy_cost(policy: &Policy, hash: &Argon2Hash) -> bool {
    hash.memory_kib <= policy.hashing().memory_kib && hash.work() <= policy_work(policy)
}

/// A stored entry, parsed, or why it cannot be used.
fn classify(policy: &Policy, hash: &str) -> std::result::Result<Argon2Hash, SkipReason> {
    let parsed = Argon2Hash::parse(hash).map_err(|_| SkipReason::Malformed)?;
    if above_bounds(policy, &parsed) {
        return Err(SkipReason::AboveBounds);
    }
    Ok(parsed)
}

/// The entries of `history` that no evaluation under `policy` will ever
/// compare a candidate with: their parameters are above the bounds (see
/// [`SkipReason::AboveBounds`]) or they do not parse. `pwsentry status`
/// reports them.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use pwsentry::Policy;
/// use pwsentry::history::unverifiable_entries;
/// use pwsentry::store::{AccountHistory, HistoryEntry};
///
/// let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
/// let tampered = "$argon2id$v=19$m=1048576,t=64,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA";
/// let history = AccountHistory::new(vec![7; 16], vec![HistoryEntry::new(3, at, tampered, false)]);
/// assert_eq!(unverifiable_entries(&Policy::default(), &history), [3]);
/// ```
pub fn unverifiable_entries(policy: &Policy, history: &AccountHistory) -> Vec<EntryId> {
    history
        .entries()
        .iter()
        // crypt(3) entries have bounds of their own (`crate::crypt`).
        .filter(|e| !crate::crypt::is_crypt(e.hash()) && classify(policy, e.hash()).is_err())
        .map(|e| e.id())
        .collect()
}

/// How a candidate matched a remembered entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Match {
    Exact,
    Near,
}

/// Entries sharing one argon2 evaluation, and how many candidates (the
/// exact one, then near variants) it is hashed in.
struct Group<'a> {
    shape: &'a Argon2Hash,
    peppered: bool,
    members: Vec<usize>,
    candidates: usize,
}

/// What the hashing part of an evaluation found and spent.
#[derive(Default)]
struct Matched {
    best: Vec<Option<Match>>,
    over_budget: Vec<usize>,
    evaluations: usize,
}

/// For each entry, the best match among `candidates` (index 0 is the exact
/// candidate, the others near variants), within the cost bounds (see the
/// module docs). `entries` are newest first and within the bounds.
fn match_entries(
    checker: &Checker,
    salt: &[u8],
    entries: &[(&Argon2Hash, bool)],
    candidates: &[Password],
) -> Result<Matched> {
    let policy = checker.policy();
    // Groups in order of their newest entry. Found through a map, not by
    // comparing with every group so far: a history of many entries with
    // distinct salts (a long import, an edited database) must not cost
    // entries² comparisons before any budget applies.
    let mut groups: Vec<Group<'_>> = Vec::new();
    let mut index: HashMap<GroupKey<'_>, usize> = HashMap::with_capacity(entries.len());
    for (i, (hash, peppered)) in entries.iter().enumerate() {
        match index.entry(hash.group_key(*peppered)) {
            Entry::Occupied(g) => groups[*g.get()].members.push(i),
            Entry::Vacant(slot) => {
                slot.insert(groups.len());
                groups.push(Group {
                    shape: hash,
                    peppered: *peppered,
                    members: vec![i],
                    candidates: 1,
                });
            }
        }
    }
    if groups.iter().any(|g| g.peppered) && policy.pepper().is_none() {
        return Err(Error::Hash(
            "this account's history was recorded with a pepper, but the policy sets no hashing.pepper_file".into(),
        ));
    }
    // The native group (the account's salt at the policy's parameters)
    // first: it holds what pwsentry recorded under this policy.
    let h = policy.hashing();
    let native = |g: &Group<'_>| {
        g.shape.salt == salt
            && g.shape.algorithm == Algorithm::Argon2id
            && g.shape.version == 0x13
            && (g.shape.memory_kib, g.shape.iterations, g.shape.parallelism)
                == (h.memory_kib, h.iterations, h.parallelism)
    };
    groups.sort_by_key(|g| !native(g));
    let mut over_budget = Vec::new();
    let (mut exact_work, mut near_work) = (0u64, 0u64);
    let near_budget = policy_work(policy) * (candidates.len() as u64 - 1);
    groups.retain_mut(|g| {
        let work = g.shape.work();
        if !native(g) {
            if exact_work + work > MAX_EXACT_WORK {
                over_budget.extend(g.members.iter().copied());
                return false;
            }
            exact_work += work;
        }
        let near = work * (candidates.len() as u64 - 1);
        if candidates.len() > 1
            && within_policy_cost(policy, g.shape)
            && near_work + near <= near_budget
        {
            near_work += near;
            g.candidates = candidates.len();
        }
        true
    });
    let jobs: Vec<(usize, usize)> = groups
        .iter()
        .enumerate()
        .flat_map(|(gi, g)| (0..g.candidates).map(move |c| (gi, c)))
        .collect();
    let largest_kib = groups
        .iter()
        .map(|g| g.shape.block_count() as u64)
        .max()
        .unwrap_or(1);
    let budget = checker.budget();
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(jobs.len())
        .min(budget.fits(largest_kib))
        .max(1);
    let next = AtomicUsize::new(0);
    let pepper = policy.pepper();
    let work = || -> Result<Vec<(usize, usize)>> {
        // One argon2 buffer per worker, leased from the checker's memory
        // budget, reused for each of its evaluations and wiped when dropped.
        let _lease = budget.lease(largest_kib);
        let mut blocks = Zeroizing::new(vec![Block::default(); largest_kib as usize]);
        let mut out = Zeroizing::new([0u8; 64]);
        let mut hits = Vec::new();
        loop {
            let Some(&(gi, c)) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) else {
                return Ok(hits);
            };
            let g = &groups[gi];
            let out = &mut out[..g.shape.digest.len()];
            let secret = if g.peppered { pepper } else { None };
            let blocks = &mut blocks[..g.shape.block_count()];
            g.shape
                .compute(candidates[c].expose().as_bytes(), secret, out, blocks)?;
            for &e in &g.members {
                if bool::from(entries[e].0.digest.as_slice().ct_eq(out)) {
                    hits.push((e, c));
                }
            }
        }
    };
    let found: Vec<Vec<(usize, usize)>> = if workers == 1 {
        vec![work()?]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..workers).map(|_| s.spawn(work)).collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Error::Hash("an argon2 worker failed".into())))
                })
                .collect::<Result<_>>()
        })?
    };
    let mut best: Vec<Option<Match>> = vec![None; entries.len()];
    for (e, c) in found.into_iter().flatten() {
        let m = if c == 0 { Match::Exact } else { Match::Near };
        best[e] = Some(best[e].map_or(m, |b| b.min(m)));
    }
    Ok(Matched {
        best,
        over_budget,
        evaluations: jobs.len(),
    })
}

fn days(n: u32) -> TimeDelta {
    TimeDelta::days(i64::from(n))
}

fn add_days(t: DateTime<Utc>, n: u32) -> Result<DateTime<Utc>> {
    t.checked_add_signed(days(n))
        .ok_or_else(|| Error::Time("a date is out of range".into()))
}

/// `min_age`: the current password was set less than `min_age_days` ago.
fn min_age_violation(
    policy: &Policy,
    history: &AccountHistory,
    now: DateTime<Utc>,
) -> Result<Option<Violation>> {
    let min_age = policy.rotation().min_age_days;
    let Some(changed_at) = history.changed_at().filter(|_| min_age > 0) else {
        return Ok(None);
    };
    let allowed_from = add_days(changed_at, min_age)?;
    Ok((now < allowed_from).then(|| {
        Violation::new(
            Rule::MinAge,
            format!(
                "the password was changed less than {} ago; it can be changed again from {}",
                plural(min_age, "day"),
                allowed_from.format("%Y-%m-%d %H:%M UTC")
            ),
        )
    }))
}

/// What the hashing rules found for one candidate.
struct HistoryFindings {
    violations: Vec<Violation>,
    skipped: Vec<SkippedEntry>,
    evaluations: usize,
}

/// The remembered entries of `history` at `now` that can be evaluated, as
/// (hash, peppered, remembered by count, id), and the skipped ones.
type Remembered = (Argon2Hash, bool, bool, EntryId);

/// Remembered crypt(3) entries (imported SHA-crypt, bcrypt), as (hash,
/// remembered by count): exact reuse only, see [`crypt_exact_reuse`].
type RememberedCrypt<'h> = (&'h str, bool);

fn remembered<'h>(
    policy: &Policy,
    history: &'h AccountHistory,
    now: DateTime<Utc>,
) -> Result<(Vec<Remembered>, Vec<SkippedEntry>, Vec<RememberedCrypt<'h>>)> {
    let hp = policy.history();
    let mut usable = Vec::new();
    let mut skipped = Vec::new();
    let mut crypt = Vec::new();
    for (i, e) in history.entries().iter().enumerate() {
        let by_count = i < hp.remember as usize;
        let recent = hp.remember_days > 0 && now < add_days(e.set_at(), hp.remember_days)?;
        if (by_count || recent) && crate::crypt::is_crypt(e.hash()) {
            crypt.push((e.hash(), by_count));
        } else if by_count || recent {
            match classify(policy, e.hash()) {
                Ok(hash) => usable.push((hash, e.peppered(), by_count, e.id())),
                Err(reason) => skipped.push(SkippedEntry { id: e.id(), reason }),
            }
        }
    }
    Ok((usable, skipped, crypt))
}

/// `reuse`, `recently_used` and `similar_to_previous` for `candidate` (NFC)
/// against the remembered entries of `history` at `now`.
///
/// Entries among the `remember` newest, or set within `remember_days` of
/// `now`, are remembered. A candidate equal to a remembered entry breaks
/// `reuse` if the entry is among the `remember` newest, else
/// `recently_used`; a near variant equal to one breaks
/// `similar_to_previous`, unless an exact match was already reported.
fn history_rules(
    checker: &Checker,
    history: &AccountHistory,
    candidate: &Password,
    now: DateTime<Utc>,
) -> Result<HistoryFindings> {
    let policy = checker.policy();
    let hp = policy.history();
    let (remembered, skipped, crypt) = remembered(policy, history, now)?;
    let mut findings = HistoryFindings {
        violations: Vec::new(),
        skipped,
        evaluations: 0,
    };
    if remembered.is_empty() && crypt.is_empty() {
        return Ok(findings);
    }
    let crypt_hits = crypt_exact_reuse(&crypt, candidate.expose());
    let mut candidates = vec![candidate.clone()];
    if hp.reject_similar {
        candidates.extend(variants::near_variants(candidate.expose()));
    }
    let entries: Vec<(&Argon2Hash, bool)> = remembered.iter().map(|(h, p, _, _)| (h, *p)).collect();
    let matched = match_entries(checker, history.salt(), &entries, &candidates)?;
    findings.evaluations = matched.evaluations;
    findings
        .skipped
        .extend(matched.over_budget.iter().map(|&i| SkippedEntry {
            id: remembered[i].3,
            reason: SkipReason::OverBudget,
        }));
    let exact = |by_count: bool| {
        crypt_hits.contains(&by_count)
            || remembered
                .iter()
                .zip(&matched.best)
                .any(|((_, _, c, _), m)| *c == by_count && *m == Some(Match::Exact))
    };
    if exact(true) {
        let message = if hp.remember <= 1 {
            "is the current password; choose a new one".to_owned()
        } else {
            format!(
                "is one of the last {} passwords of this account; choose one that has not been used before",
                hp.remember
            )
        };
        findings
            .violations
            .push(Violation::new(Rule::Reuse, message));
    } else if exact(false) {
        findings.violations.push(Violation::new(
            Rule::RecentlyUsed,
            format!(
                "was used within the last {}; choose one that has not been used before",
                plural(hp.remember_days, "day")
            ),
        ));
    } else if matched.best.contains(&Some(Match::Near)) {
        findings.violations.push(Violation::new(
            Rule::SimilarToPrevious,
            "is too similar to a previous password (a number, a character at the end, the letter case, a space or a lookalike character changed); choose a new one",
        ));
    }
    Ok(findings)
}

/// Exact reuse against remembered crypt(3) entries (SHA-crypt, bcrypt:
/// imported from a mail server), newest first: one verification each, of
/// the NFC form and, if it differs, of the typed form, within
/// [`crate::crypt`]'s per-hash bounds and [`crate::crypt::CHECK_BUDGET_NS`]
/// per check. Entries above the bounds or the budget, or malformed, are
/// skipped, never evaluated (`status` counts them). No near reuse: every
/// variant would cost a full crypt run. Returns the `by count` flag of
/// every entry that matched.
fn crypt_exact_reuse(entries: &[(&str, bool)], password: &str) -> Vec<bool> {
    let normalised = nfc(password);
    let mut forms = vec![normalised.expose().as_bytes()];
    if normalised.expose() != password {
        forms.push(password.as_bytes());
    }
    let mut budget = crate::crypt::CHECK_BUDGET_NS;
    let mut hits = Vec::new();
    for (text, by_count) in entries {
        let Ok(hash) = crate::crypt::CryptHash::parse(text) else {
            continue;
        };
        for form in &forms {
            let Some(cost) = hash.estimated_cost_ns(form.len()) else {
                continue;
            };
            if cost > budget {
                continue;
            }
            budget -= cost;
            if hash.verify(form).unwrap_or(false) {
                hits.push(*by_count);
                break;
            }
        }
    }
    hits
}

fn plural(n: u32, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// Verifies `current` against the account's current entry: one argon2
/// evaluation. `Some(violation)` when it cannot be verified or is wrong.
fn verify_current(
    checker: &Checker,
    history: Option<&AccountHistory>,
    current: &str,
) -> Result<(Option<Violation>, usize)> {
    let wrong = |why: &str| {
        Some(Violation::new(
            Rule::CurrentPassword,
            format!("the current password {why}"),
        ))
    };
    // No password pwsentry accepts is this long (4 bytes per code point of
    // the hard maximum, with room for decomposed forms): not worth hashing.
    if current.len() > 16 * HARD_MAX_LENGTH as usize {
        return Ok((wrong("is wrong"), 0));
    }
    let Some(entry) = history.and_then(|h| h.entries().first()) else {
        return Ok((
            wrong("cannot be verified: the account has no recorded password"),
            0,
        ));
    };
    let hash = match classify(checker.policy(), entry.hash()) {
        Ok(hash) => hash,
        Err(_) => {
            return Ok((
                wrong(
                    "cannot be verified: its stored hash is unusable (parameters above the bounds, or malformed)",
                ),
                0,
            ));
        }
    };
    let secret = if entry.peppered() {
        Some(checker.policy().pepper().ok_or_else(|| {
            Error::Hash(
                "this account's history was recorded with a pepper, but the policy sets no hashing.pepper_file".into(),
            )
        })?)
    } else {
        None
    };
    let current = nfc(current);
    let _lease = checker.budget().lease(hash.block_count() as u64);
    let ok = hash.verify(current.expose().as_bytes(), secret)?;
    Ok((
        (!ok).then(|| Violation::new(Rule::CurrentPassword, "the current password is wrong")),
        1,
    ))
}

// ---- changes -------------------------------------------------------------------

/// A password change to evaluate (and record): the account, the new
/// password, when, and what else the caller knows. The account is given
/// once: it is also the context word source of the rules.
///
/// `Debug` does not print the passwords.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use pwsentry::ChangeRequest;
/// let now = Utc.with_ymd_and_hms(2026, 1, 31, 12, 0, 0).unwrap();
/// let request = ChangeRequest::new("alice@example.com", "Velvet#Orbit#Canyon42", now)
///     .current_password("Marble&Quartz&Heron7")
///     .user_input("Alice Liddell");
/// assert!(!format!("{request:?}").contains("Velvet"));
/// ```
#[derive(Clone)]
pub struct ChangeRequest<'a> {
    account: &'a str,
    new_password: &'a str,
    current_password: Option<&'a str>,
    current_verified: bool,
    current_wrong: bool,
    user_inputs: Vec<&'a str>,
    now: DateTime<Utc>,
    override_min_age: bool,
}

impl fmt::Debug for ChangeRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangeRequest")
            .field("account", &self.account)
            .field("new_password", &"[redacted]")
            .field(
                "current_password",
                &self.current_password.map(|_| "[redacted]"),
            )
            .field("user_inputs", &self.user_inputs)
            .field("now", &self.now)
            .field("override_min_age", &self.override_min_age)
            .finish()
    }
}

impl<'a> ChangeRequest<'a> {
    /// `account` sets `new_password` at `now` (the caller's clock; the
    /// library never reads one).
    pub fn new(account: &'a str, new_password: &'a str, now: DateTime<Utc>) -> Self {
        ChangeRequest {
            account,
            new_password,
            current_password: None,
            current_verified: false,
            current_wrong: false,
            user_inputs: Vec::new(),
            now,
            override_min_age: false,
        }
    }

    /// The password the user says is the current one (self-service change,
    /// PAM's old authtok). It is verified against the account's current
    /// hash (one argon2 evaluation; wrong or unverifiable: rule
    /// `current_password`), and the new password is compared with it in
    /// plain text (rule `similar_to_current`: case, NFKC, lookalikes and
    /// small edits folded), at no hashing cost.
    pub fn current_password(mut self, current: &'a str) -> Self {
        self.current_password = Some(current);
        self.current_verified = false;
        self.current_wrong = false;
        self
    }

    /// The current password, already verified by the caller against the
    /// credential the mail server uses (e.g. a Dovecot passwd-file, see
    /// [`crate::passwd_file`]): only the plain-text `similar_to_current`
    /// comparison is made, no hashing against the history.
    pub fn verified_current_password(self, current: &'a str) -> Self {
        self.checked_current_password(current, true)
    }

    /// The current password, which the caller checked against the
    /// credential the mail server uses: when `correct`, as
    /// [`ChangeRequest::verified_current_password`]; when not, the change
    /// is rejected by rule `current_password` without hashing anything.
    pub fn checked_current_password(mut self, current: &'a str, correct: bool) -> Self {
        self.current_password = Some(current);
        self.current_verified = correct;
        self.current_wrong = !correct;
        self
    }

    /// Adds a word the password must not contain (a name, the service).
    pub fn user_input(mut self, word: &'a str) -> Self {
        self.user_inputs.push(word);
        self
    }

    /// Ignores `min_age`: an administrator's override (`record --force`).
    pub fn override_min_age(mut self) -> Self {
        self.override_min_age = true;
        self
    }

    /// The account.
    pub fn account(&self) -> &'a str {
        self.account
    }

    /// The context of the non-history rules: the account and user inputs.
    fn context(&self) -> Context {
        self.user_inputs
            .iter()
            .fold(Context::new().account(self.account), |c, w| {
                c.user_input(*w)
            })
    }
}

/// An evaluated password change for one account, ready to
/// [`commit`](Checker::commit). Holds the (normalised) password until
/// committed or dropped; `Debug` does not print it.
pub struct Change {
    account: String,
    verdict: Verdict,
    password: Password,
    salt: Vec<u8>,
    head: Option<EntryId>,
    at: DateTime<Utc>,
    skipped: Vec<SkippedEntry>,
    evaluations: usize,
}

impl fmt::Debug for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Change")
            .field("account", &self.account)
            .field("verdict", &self.verdict)
            .field("at", &self.at)
            .field("skipped", &self.skipped)
            .field("argon2_evaluations", &self.evaluations)
            .finish_non_exhaustive()
    }
}

impl Change {
    /// The account.
    pub fn account(&self) -> &str {
        &self.account
    }
    /// Every rule the new password breaks, the history rules included.
    pub fn verdict(&self) -> &Verdict {
        &self.verdict
    }
    /// When the change is made: the `now` it was evaluated at, to the second.
    pub fn at(&self) -> DateTime<Utc> {
        self.at
    }
    /// Remembered entries that were not compared with the new password,
    /// and why (see [`SkipReason`]).
    pub fn skipped(&self) -> &[SkippedEntry] {
        &self.skipped
    }
    /// How many argon2 evaluations the history rules and the current
    /// password's verification cost (0 when a cheaper rule rejected the
    /// password first).
    pub fn argon2_evaluations(&self) -> usize {
        self.evaluations
    }
}

/// What [`Checker::commit`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommitOutcome {
    /// The password's hash is stored as the account's current password.
    Recorded,
    /// The change was rejected (see [`Change::verdict`]); nothing was stored.
    Rejected,
}

/// What [`Checker::change`] did: the verdict, and whether the new password
/// was recorded (only when accepted).
#[derive(Debug, Clone)]
pub struct ChangeOutcome {
    verdict: Verdict,
    recorded: bool,
    applied: bool,
    skipped: Vec<SkippedEntry>,
    evaluations: usize,
}

impl ChangeOutcome {
    /// Every rule the new password breaks; empty when it was recorded.
    pub fn verdict(&self) -> &Verdict {
        &self.verdict
    }
    /// `true` when the new password's hash is stored as the current one.
    pub fn recorded(&self) -> bool {
        self.recorded
    }
    /// `true` when [`Checker::change_with`]'s `apply` ran (always `true`
    /// for [`Checker::change`] once the password was accepted).
    pub fn applied(&self) -> bool {
        self.applied
    }
    /// Remembered entries that were not compared (see [`Change::skipped`]).
    pub fn skipped(&self) -> &[SkippedEntry] {
        &self.skipped
    }
    /// argon2 evaluations spent on checking (see
    /// [`Change::argon2_evaluations`]), not counting the recording's one.
    pub fn argon2_evaluations(&self) -> usize {
        self.evaluations
    }
}

fn whole_seconds(t: DateTime<Utc>) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp(t.timestamp(), 0)
        .ok_or_else(|| Error::Time("a time is out of range".into()))
}

fn retention(policy: &Policy, now: DateTime<Utc>) -> Result<Retention> {
    let hp = policy.history();
    let since = match hp.remember_days {
        0 => None,
        d => Some(
            now.checked_sub_signed(days(d))
                .ok_or_else(|| Error::Time("a date is out of range".into()))?,
        ),
    };
    Ok(Retention::new(hp.remember, since))
}

fn account_salt(history: Option<&AccountHistory>) -> Result<Vec<u8>> {
    match history {
        Some(h) if SALT_LEN_RANGE.contains(&h.salt().len()) => Ok(h.salt().to_vec()),
        Some(_) => Err(Error::Store(
            "the account's salt has an invalid length".into(),
        )),
        None => Ok(new_salt()),
    }
}

impl Checker {
    /// Evaluates, then records when accepted, retrying by itself when
    /// another writer records for the account in between
    /// ([`Error::Busy`] from the store: it evaluates again, up to 10 times).
    /// See [`Checker::evaluate_change`] for what is checked.
    ///
    /// # Errors
    /// [`Error::Busy`] if other writers kept coming first; store and hash
    /// errors; [`Error::Time`] if `now` is out of range.
    pub fn change(&self, store: &dyn Store, request: &ChangeRequest<'_>) -> Result<ChangeOutcome> {
        self.change_with(store, request, || Ok(()))
    }

    /// Like [`Checker::change`], and writes the new password somewhere
    /// else before recording it: `apply` (writing a mail server's
    /// passwd-file, say) runs once, after the password was accepted and
    /// before the history is written, so an `apply` that fails leaves the
    /// history unchanged, and a password is never recorded that did not
    /// take effect.
    ///
    /// The other way round is possible and rare: when another writer
    /// records for the account between `apply` and the commit and the new
    /// password is no longer acceptable after that (it just became the
    /// other writer's too), `apply` has run but nothing is recorded;
    /// [`ChangeOutcome::applied`] and [`ChangeOutcome::recorded`] say so.
    ///
    /// ```
    /// use pwsentry::{ChangeRequest, Checker, Policy};
    /// use pwsentry::store::MemoryStore;
    /// let checker = Checker::new(Policy::default());
    /// let store = MemoryStore::new();
    /// let now = "2026-12-01T09:00:00Z".parse()?;
    /// let mut written = false;
    /// let request = ChangeRequest::new("alice@example.com", "Velvet#Orbit#Canyon42", now);
    /// let outcome = checker.change_with(&store, &request, || {
    ///     written = true; // write the mail server's credentials here
    ///     Ok(())
    /// })?;
    /// assert!(written && outcome.applied() && outcome.recorded());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`Checker::change`], and `apply`'s error (nothing recorded).
    pub fn change_with(
        &self,
        store: &dyn Store,
        request: &ChangeRequest<'_>,
        apply: impl FnOnce() -> Result<()>,
    ) -> Result<ChangeOutcome> {
        let mut apply = Some(apply);
        let mut attempt = 1;
        loop {
            let change = self.evaluate_change(store, request)?;
            let mut outcome = ChangeOutcome {
                verdict: change.verdict.clone(),
                recorded: false,
                applied: apply.is_none(),
                skipped: change.skipped.clone(),
                evaluations: change.evaluations,
            };
            if !change.verdict.accepted() {
                return Ok(outcome);
            }
            if let Some(apply) = apply.take() {
                apply()?;
                outcome.applied = true;
            }
            match self.commit(store, change) {
                Ok(CommitOutcome::Recorded) => {
                    outcome.recorded = true;
                    return Ok(outcome);
                }
                Ok(CommitOutcome::Rejected) => return Ok(outcome),
                Err(Error::Busy) if attempt < CHANGE_ATTEMPTS => attempt += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// Evaluates `request` against the account's history in `store`; nothing
    /// is stored until [`Checker::commit`]. See
    /// [`Checker::evaluate_change_against`].
    ///
    /// # Errors
    /// Store errors, and those of [`Checker::evaluate_change_against`].
    pub fn evaluate_change(
        &self,
        store: &dyn Store,
        request: &ChangeRequest<'_>,
    ) -> Result<Change> {
        // The store is only ever given canonical ids.
        let account = AccountId::parse(request.account, self.policy().accounts())?.into_string();
        let request = ChangeRequest {
            account: &account,
            ..request.clone()
        };
        let history = store.history(&account)?;
        self.evaluate_change_against(history.as_ref(), &request)
    }

    /// Evaluates `request` against `history` (the account's, as read from
    /// a store; `None` if it has none), cheapest rules first:
    /// 1. every rule of [`Checker::evaluate`], `min_age` (unless
    ///    overridden) and, with a current password, `similar_to_current`;
    /// 2. only if none of those broke: the current password's
    ///    verification (one argon2 evaluation; `current_password`);
    /// 3. only if still accepted: `reuse`, `recently_used` and
    ///    `similar_to_previous`, hashing within the bounds of the module
    ///    docs. Skipped entries are in [`Change::skipped`].
    ///
    /// # Errors
    /// [`Error::Hash`] if an entry needs a pepper the policy does not have;
    /// [`Error::Store`] if the account's salt is invalid; [`Error::Time`]
    /// if a date is out of range.
    pub fn evaluate_change_against(
        &self,
        history: Option<&AccountHistory>,
        request: &ChangeRequest<'_>,
    ) -> Result<Change> {
        let now = whole_seconds(request.now)?;
        // Time only moves forward for an account: a change dated before its
        // current password would let back-dated changes, each "old enough",
        // flush the history around the minimum age.
        if let Some(current) = history.and_then(AccountHistory::changed_at)
            && now < current
        {
            return Err(Error::Time(format!(
                "the change would be dated {}, before the account's current password (set {}); a change cannot be dated in the past of the last one",
                now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                current.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )));
        }
        let policy = self.policy();
        let mut verdict = self.evaluate(request.new_password, &request.context());
        let candidate = nfc(request.new_password);
        if let Some(h) = history.filter(|_| !request.override_min_age) {
            verdict.extend(min_age_violation(policy, h, now)?);
        }
        if let Some(current) = request.current_password
            && !verdict.violates(Rule::MaxLength)
            && similarity::similar_to_current(candidate.expose(), current)
        {
            verdict.extend([Violation::new(
                Rule::SimilarToCurrent,
                "is too similar to the current password (the same apart from letter case, lookalike characters or a few characters); choose a new one",
            )]);
        }
        let mut evaluations = 0;
        let mut skipped = Vec::new();
        if request.current_wrong {
            verdict.extend([Violation::new(
                Rule::CurrentPassword,
                "the current password is wrong",
            )]);
        } else if verdict.accepted()
            && !request.current_verified
            && let Some(current) = request.current_password
        {
            let (wrong, n) = verify_current(self, history, current)?;
            evaluations += n;
            verdict.extend(wrong);
        }
        if let Some(h) = history {
            if verdict.accepted() {
                let findings = history_rules(self, h, &candidate, now)?;
                evaluations += findings.evaluations;
                skipped = findings.skipped;
                verdict.extend(findings.violations);
            } else {
                skipped = remembered(policy, h, now)?.1;
            }
        }
        Ok(Change {
            account: request.account.to_owned(),
            verdict,
            password: candidate,
            salt: account_salt(history)?,
            head: history.and_then(AccountHistory::head),
            at: now,
            skipped,
            evaluations,
        })
    }

    /// Records an accepted change: hashes the password (the account's salt,
    /// the policy's parameters and pepper) and appends it as the current
    /// password, pruning entries the policy no longer remembers, in one
    /// store transaction. A rejected change is not stored.
    ///
    /// # Errors
    /// [`Error::Busy`] if the account's history changed since the change was
    /// evaluated (another writer came first: evaluate again) or the store
    /// stayed locked; other store or hashing errors.
    pub fn commit(&self, store: &dyn Store, change: Change) -> Result<CommitOutcome> {
        if !change.verdict.accepted() {
            return Ok(CommitOutcome::Rejected);
        }
        let hash = hash_native(
            self.policy(),
            &change.salt,
            change.password.expose(),
            Some(self.budget()),
        )?;
        let entry = NewEntry::new(
            change.at,
            hash.to_string(),
            self.policy().pepper().is_some(),
        );
        store.append(
            &change.account,
            &Append {
                salt: &change.salt,
                entries: std::slice::from_ref(&entry),
                expect: Expect::Unchanged(change.head),
                retention: retention(self.policy(), change.at)?,
            },
        )?;
        Ok(CommitOutcome::Recorded)
    }

    /// Adds hashes made elsewhere (oldest first; the last becomes the
    /// current password unless the account has a newer one) to `account`'s
    /// history, all set at `set_at`, then prunes as of `now`; all or
    /// nothing. They are verified without the pepper; crypt(3) hashes
    /// for exact reuse only. `account` is made canonical first, as for
    /// [`Checker::evaluate_change`].
    ///
    /// # Errors
    /// [`Error::Account`] if `account` is not a valid id; [`Error::Time`]
    /// if `set_at` is after `now`; [`Error::Hash`] if a hash is above the
    /// import bounds; store errors.
    pub fn import_hashes(
        &self,
        store: &dyn Store,
        account: &str,
        hashes: &[crate::mailhash::MailHash],
        set_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.import_batch(store, &[(account, hashes)], set_at, now)
    }

    /// [`Checker::import_hashes`] for several accounts (a whole
    /// passwd-file) through [`Store::append_batch`]: all or nothing in a
    /// store that overrides it, such as [`SqliteStore`](crate::store::SqliteStore).
    ///
    /// # Errors
    /// As [`Checker::import_hashes`]; a hash error names the account's
    /// position in `batch` and the hash's in its list.
    pub fn import_batch(
        &self,
        store: &dyn Store,
        batch: &[(&str, &[crate::mailhash::MailHash])],
        set_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let (set_at, now) = (whole_seconds(set_at)?, whole_seconds(now)?);
        let canonical: Vec<String> = batch
            .iter()
            .map(|(account, _)| {
                AccountId::parse(account, self.policy().accounts()).map(AccountId::into_string)
            })
            .collect::<std::result::Result<_, _>>()?;
        if set_at > now {
            return Err(Error::Time(
                "the passwords cannot have been set after now".into(),
            ));
        }
        let retention = retention(self.policy(), now)?;
        let mut owned: Vec<(Vec<u8>, Vec<NewEntry>)> = Vec::with_capacity(batch.len());
        for (a, (_, hashes)) in batch.iter().enumerate() {
            for (i, h) in hashes.iter().enumerate() {
                h.check_import_cost().map_err(|e| {
                    Error::Hash(if batch.len() == 1 {
                        format!("hash {}: {e}", i + 1)
                    } else {
                        format!("account {}, hash {}: {e}", a + 1, i + 1)
                    })
                })?;
            }
            let entries = hashes
                .iter()
                .map(|h| NewEntry::new(set_at, h.to_string(), false))
                .collect();
            owned.push((new_salt(), entries));
        }
        let appends: Vec<(&str, Append<'_>)> = canonical
            .iter()
            .zip(&owned)
            .map(|(account, (salt, entries))| {
                (
                    account.as_str(),
                    Append {
                        salt,
                        entries,
                        expect: Expect::Anything,
                        retention,
                    },
                )
            })
            .collect();
        store.append_batch(&appends)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use chrono::TimeZone;

    fn policy(extra: &str) -> Policy {
        Policy::from_toml_str(&format!(
            "[hashing]\nmemory_kib = 64\niterations = 1\nallow_weak_parameters = true\n{extra}"
        ))
        .unwrap()
    }

    fn at(day: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap() + TimeDelta::days(day)
    }

    #[test]
    fn phc_round_trip_and_rejections() {
        let phc = "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA";
        let h = Argon2Hash::parse(phc).unwrap();
        assert_eq!(h.to_string(), phc);
        assert_eq!(h.to_dovecot(), format!("{{ARGON2ID}}{phc}"));
        assert_eq!(
            Argon2Hash::parse(&format!("  {{argon2id}}{phc}\n")).unwrap(),
            h
        );
        let v10 = Argon2Hash::parse(
            "$argon2i$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA",
        )
        .unwrap();
        assert_eq!(v10.version(), 0x10);
        let bad = [
            "",
            "argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$aGFzaA",
            "$2y$10$abcdefghijklmnopqrstuv",
            "{SHA512-CRYPT}$6$abc$def",
            "{ARGON2I}$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=18$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=64,t=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=64,t=1,p=1,m=64$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=64,t=1,p=1,keyid=AAAA$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=2097152,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=64,t=65,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=64,t=1,p=17$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$SGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$",
            "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA$x",
            "$argon2id$v=19$m=064,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$SGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA==$SGFzaGhhc2hoYXNoaGFzaA",
        ];
        for b in bad {
            let e = Argon2Hash::parse(b).expect_err(b).to_string();
            assert!(
                !e.contains("c29tZ") && !e.contains("SGFza"),
                "error echoes the hash: {e}"
            );
        }
    }

    #[test]
    fn native_hash_verifies_with_pepper_only() {
        let dir = tempfile::tempdir().unwrap();
        let pepper = dir.path().join("pepper");
        std::fs::write(&pepper, "0123456789abcdef0123").unwrap();
        #[cfg(unix)]
        std::fs::set_permissions(&pepper, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        let p = policy(&format!(
            "pepper_file = {:?}\n",
            pepper.display().to_string()
        ));
        let h = hash_password(&p, &[9; 16], "Cafe\u{301}#1").unwrap();
        assert_eq!(h.algorithm(), Algorithm::Argon2id);
        assert_eq!(h.version(), 0x13);
        assert!(
            h.verify("Caf\u{e9}#1".as_bytes(), p.pepper()).unwrap(),
            "NFC before hashing"
        );
        assert!(
            !h.verify("Caf\u{e9}#1".as_bytes(), None).unwrap(),
            "the pepper is an input"
        );
        assert!(!h.verify("Caf\u{e9}#2".as_bytes(), p.pepper()).unwrap());
        assert_eq!(Argon2Hash::parse(&h.to_string()).unwrap(), h);
    }

    fn record(checker: &Checker, store: &dyn Store, pw: &str, day: i64) -> CommitOutcome {
        let c = checker
            .evaluate_change(store, &ChangeRequest::new("acct", pw, at(day)))
            .unwrap();
        checker.commit(store, c).unwrap()
    }

    fn rules(checker: &Checker, store: &dyn Store, pw: &str, day: i64) -> Vec<Rule> {
        let c = checker
            .evaluate_change(store, &ChangeRequest::new("acct", pw, at(day)))
            .unwrap();
        c.verdict().violations().iter().map(|v| v.rule).collect()
    }

    #[test]
    fn remember_counts_the_current_password() {
        let checker = Checker::new(policy("[history]\nremember = 1\nreject_similar = false\n"));
        let store = MemoryStore::new();
        assert_eq!(
            record(&checker, &store, "Velvet#Orbit#Canyon1", 0),
            CommitOutcome::Recorded
        );
        assert_eq!(
            rules(&checker, &store, "Velvet#Orbit#Canyon1", 1),
            [Rule::Reuse]
        );
        assert_eq!(
            record(&checker, &store, "Marble&Quartz&Heron2", 1),
            CommitOutcome::Recorded
        );
        assert!(
            rules(&checker, &store, "Velvet#Orbit#Canyon1", 2).is_empty(),
            "remember = 1: only the current one"
        );
        assert_eq!(
            store.history("acct").unwrap().unwrap().entries().len(),
            1,
            "pruned to one"
        );
    }

    #[test]
    fn remember_n_then_days() {
        let checker = Checker::new(policy(
            "[history]\nremember = 3\nremember_days = 30\nreject_similar = false\n",
        ));
        let store = MemoryStore::new();
        let pws = [
            "Velvet#Orbit#Canyon1",
            "Marble&Quartz&Heron2",
            "Tundra!Lantern!Opal3",
            "Cobalt?Meadow?Fjord4",
        ];
        for (i, p) in pws.iter().enumerate() {
            assert_eq!(
                record(&checker, &store, p, i as i64),
                CommitOutcome::Recorded,
                "{p}"
            );
        }
        // pws[0] is 4th newest but set 3 days ago: recently_used, not reuse.
        assert_eq!(rules(&checker, &store, pws[0], 3), [Rule::RecentlyUsed]);
        assert_eq!(rules(&checker, &store, pws[1], 3), [Rule::Reuse]);
        // 30 days after it was set, pws[0] is free again; pws[1] is still among the last 3.
        assert!(rules(&checker, &store, pws[0], 30).is_empty());
        assert_eq!(rules(&checker, &store, pws[1], 30), [Rule::Reuse]);
        assert_eq!(
            store.history("acct").unwrap().unwrap().entries().len(),
            4,
            "kept by days"
        );
        assert_eq!(
            record(&checker, &store, "Saffron+Glacier+Wren5", 40),
            CommitOutcome::Recorded
        );
        assert_eq!(
            store.history("acct").unwrap().unwrap().entries().len(),
            3,
            "pruned when recording"
        );
    }

    #[test]
    fn near_reuse_in_both_directions() {
        let checker = Checker::new(policy("[history]\nremember = 5\n"));
        let store = MemoryStore::new();
        record(&checker, &store, "Velvet#Orbit#Summer2024!", 0);
        for similar in [
            "Velvet#Orbit#Summer2025!",
            "Velvet#Orbit#Summer2023!",
            "velvet#Orbit#Summer2024!",
            "Velvet#Orbit#Summer2024!x",
            "Velvet#Orbit#Summer2024",
            "VELVET#ORBIT#SUMMER2024!",
            " Velvet#Orbit#Summer2024!",
            "Velvet#0rbit#Summer2024!",
            "Velvet#Orbit#Summer２０２４!",
        ] {
            assert_eq!(
                rules(&checker, &store, similar, 1),
                [Rule::SimilarToPrevious],
                "{similar}"
            );
        }
        assert_eq!(
            rules(&checker, &store, "Velvet#Orbit#Summer2024!", 1),
            [Rule::Reuse],
            "exact beats near"
        );
        assert!(rules(&checker, &store, "Velvet#Orbit#Summer2030!", 1).is_empty());
        let off = Checker::new(policy("[history]\nreject_similar = false\n"));
        assert!(rules(&off, &store, "Velvet#Orbit#Summer2025!", 1).is_empty());
    }

    #[test]
    fn min_age_and_override() {
        let checker = Checker::new(policy("[rotation]\nmin_age_days = 2\n"));
        let store = MemoryStore::new();
        record(&checker, &store, "Velvet#Orbit#Canyon1", 0);
        let request = ChangeRequest::new("acct", "Marble&Quartz&Heron2", at(1));
        let c = checker.evaluate_change(&store, &request).unwrap();
        assert_eq!(c.verdict().violations()[0].rule, Rule::MinAge);
        assert!(
            c.verdict().violations()[0]
                .message
                .contains("2026-01-03 12:00 UTC"),
            "{:?}",
            c.verdict()
        );
        assert_eq!(c.argon2_evaluations(), 0, "min_age is a cheap rule");
        let c = checker
            .evaluate_change(&store, &request.override_min_age())
            .unwrap();
        assert!(c.verdict().accepted());
        assert_eq!(checker.commit(&store, c).unwrap(), CommitOutcome::Recorded);
        assert!(rules(&checker, &store, "Tundra!Lantern!Opal3", 3).is_empty());
    }

    #[test]
    fn grouping_native_entries_share_one_group() {
        let p = policy("[history]\nremember = 24\n");
        let checker = Checker::new(p.clone());
        let store = MemoryStore::new();
        for i in 0..5 {
            record(
                &checker,
                &store,
                &format!("Velvet#Orbit#Canyon{}x", i * 10),
                i,
            );
        }
        let h = store.history("acct").unwrap().unwrap();
        let hashes: Vec<Argon2Hash> = h
            .entries()
            .iter()
            .map(|e| Argon2Hash::parse(e.hash()).unwrap())
            .collect();
        assert!(
            hashes
                .iter()
                .all(|x| x.salt() == h.salt() && x.group_key(false) == hashes[0].group_key(false))
        );
        let bigger = Policy::from_toml_str(
            "[hashing]\nmemory_kib = 128\niterations = 1\nallow_weak_parameters = true\n",
        )
        .unwrap();
        let other = hash_password(&bigger, h.salt(), "x").unwrap();
        assert!(
            other.group_key(false) != hashes[0].group_key(false),
            "new parameters form a new group"
        );
    }

    #[test]
    fn concurrent_writer_makes_commit_busy() {
        let checker = Checker::new(policy(""));
        let store = MemoryStore::new();
        let first = checker
            .evaluate_change(
                &store,
                &ChangeRequest::new("acct", "Velvet#Orbit#Canyon1", at(0)),
            )
            .unwrap();
        let second = checker
            .evaluate_change(
                &store,
                &ChangeRequest::new("acct", "Marble&Quartz&Heron2", at(0)),
            )
            .unwrap();
        assert_eq!(
            checker.commit(&store, first).unwrap(),
            CommitOutcome::Recorded
        );
        assert!(matches!(checker.commit(&store, second), Err(Error::Busy)));
    }

    #[test]
    fn imported_hashes_are_checked_without_pepper() {
        let checker = Checker::new(policy("[history]\nreject_similar = false\n"));
        let store = MemoryStore::new();
        let imported = hash_password(&policy(""), &[5; 16], "Velvet#Orbit#Canyon1").unwrap();
        checker
            .import_hashes(&store, "acct", &[imported.into()], at(0), at(1))
            .unwrap();
        assert_eq!(
            rules(&checker, &store, "Velvet#Orbit#Canyon1", 1),
            [Rule::Reuse]
        );
        assert!(
            checker
                .import_hashes(&store, "acct", &[], at(5), at(1))
                .is_err(),
            "set after now"
        );
    }

    #[test]
    fn concurrent_checks_share_the_memory_cap() {
        // 64 KiB per evaluation, a cap of two: 8 threads of checks (each
        // wanting one worker per core) never hold more than 128 KiB.
        let checker = Checker::new(policy("[history]\nremember = 5\n")).with_argon2_memory_cap(128);
        let store = MemoryStore::new();
        record(&checker, &store, "Velvet#Orbit#Canyon10", 0);
        std::thread::scope(|s| {
            for t in 0..8 {
                let (checker, store) = (checker.clone(), &store);
                s.spawn(move || {
                    for i in 0..4 {
                        let pw = format!("Granite@Willow@Comet#{t}#{i}");
                        let c = checker
                            .evaluate_change(store, &ChangeRequest::new("acct", &pw, at(1)))
                            .unwrap();
                        assert!(c.verdict().accepted());
                        let c = checker
                            .evaluate_change(
                                store,
                                &ChangeRequest::new("acct", "Velvet#Orbit#Canyon11", at(1)),
                            )
                            .unwrap();
                        assert!(c.verdict().violates(Rule::SimilarToPrevious));
                    }
                });
            }
        });
        assert!(checker.budget().peak() > 0);
        assert!(
            checker.budget().peak() <= 128,
            "{}",
            checker.budget().peak()
        );
    }
}
