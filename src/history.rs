//! Password history: argon2 hashes of past passwords, and the rules that
//! use them (`reuse`, `recently_used`, `similar_to_previous`, `min_age`).
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
//! does. An attacker who steals the store gains the same factor against
//! one account's history, so the defender/attacker ratio is unchanged; the
//! saved time pays for the near-reuse checks. Imported hashes keep their own
//! salts and parameters, each its own group.
//!
//! # Near reuse
//! With `reject_similar`, the candidate is also hashed in up to
//! [`MAX_NEAR_VARIANTS`] (32) variants, see [`near_variants`]; a variant
//! that matches a remembered entry means the candidate is a trivial
//! variation of it. A check costs at most `groups × (1 + 32)` argon2
//! evaluations. They run in parallel (rayon), each worker with one argon2
//! memory buffer reused for all its evaluations and wiped afterwards.
//!
//! # Imported hashes
//! [`Argon2Hash::parse`] accepts PHC strings of argon2id, argon2i and
//! argon2d (versions 0x10 and 0x13), bare or with a Dovecot scheme prefix
//! (`{ARGON2ID}`, `{ARGON2I}`, `{ARGON2D}`). Their cost is bounded like the
//! policy's: memory ≤ [`MAX_MEMORY_KIB`] KiB (1 GiB), passes ≤
//! [`MAX_ITERATIONS`], lanes ≤ [`MAX_PARALLELISM`]; salts of 8..=64 bytes,
//! digests of 4..=64 bytes, associated data ≤ 32 bytes; hashes that need a
//! key id are refused.
//!
//! This module never prints, never reads the clock, and never puts a
//! password, a hash or a salt into an error message or a `Debug` output.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use pwsentry::history::CommitOutcome;
//! use pwsentry::store::MemoryStore;
//! use pwsentry::{Checker, Context, Policy, Rule};
//!
//! // Small argon2 parameters keep the example fast; never use them for real.
//! let policy = Policy::from_toml_str("[hashing]\nmemory_kib = 64\niterations = 1\nallow_weak_parameters = true\n")?;
//! let checker = Checker::new(policy);
//! let store = MemoryStore::new();
//! let now = Utc.with_ymd_and_hms(2026, 1, 31, 12, 0, 0).unwrap();
//! let context = Context::new().account("alice@example.com");
//!
//! let change = checker.evaluate_change(&store, "alice@example.com", "Velvet#Orbit#Canyon42", &context, now)?;
//! assert!(change.verdict().accepted());
//! assert_eq!(checker.commit(&store, change)?, CommitOutcome::Recorded);
//!
//! let again = checker.evaluate_change(&store, "alice@example.com", "Velvet#Orbit#Canyon43", &context, now)?;
//! assert!(again.verdict().violates(Rule::SimilarToPrevious));
//! assert_eq!(checker.commit(&store, again)?, CommitOutcome::Rejected);
//! # Ok::<(), pwsentry::Error>(())
//! ```

use crate::account::AccountId;
use crate::checker::{Checker, Context};
use crate::error::{Error, Result};
use crate::policy::{MAX_ITERATIONS, MAX_MEMORY_KIB, MAX_PARALLELISM, Policy};
use crate::secret::Password;
use crate::store::{AccountHistory, Append, EntryId, Expect, NewEntry, Retention, Store};
use crate::verdict::{Rule, Verdict, Violation};
use argon2::{Argon2, AssociatedData, Block, ParamsBuilder};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use rayon::prelude::*;
use std::fmt;
use subtle::ConstantTimeEq;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

/// Length of the random salt each account gets, in bytes.
pub const SALT_LEN: usize = 16;
/// Length of the digest of natively recorded entries, in bytes.
pub const DIGEST_LEN: usize = 32;
/// Most near-reuse variants a candidate is checked in (besides itself).
pub const MAX_NEAR_VARIANTS: usize = 32;
/// Shortest and longest salt accepted in a hash, in bytes.
pub const SALT_LEN_RANGE: std::ops::RangeInclusive<usize> = 8..=64;
/// Shortest and longest digest accepted in a hash, in bytes.
pub const DIGEST_LEN_RANGE: std::ops::RangeInclusive<usize> = 4..=64;
/// Argon2 memory the parallel workers of one check may use together (KiB);
/// fewer workers run when a group needs more.
const PARALLEL_MEMORY_BUDGET_KIB: u64 = 256 * 1024;

/// Largest memory cost of an *imported* hash, in KiB (256 MiB). Imported
/// hashes are not chosen by the administrator, so a crafted one must not
/// make every later check of the account allocate gigabytes.
pub const MAX_IMPORT_MEMORY_KIB: u32 = 256 * 1024;

/// Largest work (memory in KiB × passes) of an imported hash: 1 GiB·pass,
/// about a second of argon2 on one core. Dovecot's default
/// (m=65536, t=3) is 192 MiB·pass.
pub const MAX_IMPORT_WORK: u64 = 1024 * 1024;

/// Groups whose work (memory in KiB × passes) is above this are checked for
/// exact reuse only, not for near reuse: 32 variants at that cost would make
/// one check take tens of seconds. 256 MiB·pass covers the OWASP minimum,
/// the shipped policy and Dovecot's default parameters.
pub const NEAR_REUSE_MAX_WORK: u64 = 256 * 1024;
/// Characters tried as a dropped trailing character (besides doubling the
/// last one): digits and the most common trailing symbols.
const APPENDED: [char; 22] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '!', '@', '#', '$', '%', '&', '*', '?', '.',
    '-', '_', '+',
];

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

    /// Same salt and parameters: one evaluation serves both.
    fn same_group(&self, other: &Argon2Hash) -> bool {
        self.algorithm == other.algorithm
            && self.version == other.version
            && self.memory_kib == other.memory_kib
            && self.iterations == other.iterations
            && self.parallelism == other.parallelism
            && self.data == other.data
            && self.salt == other.salt
            && self.digest.len() == other.digest.len()
    }
}

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

// ---- near variants -----------------------------------------------------------

/// The trivial variations of `password` checked for `similar_to_previous`,
/// at most [`MAX_NEAR_VARIANTS`], without duplicates or `password` itself,
/// in this order:
///
/// 1. the last run of ASCII digits moved by ±1 and ±2, or, for a 4-digit
///    run from 1900 to 2099 (a year), by ±1, ±2 and ±3 (zero padding kept
///    when the run has a leading zero; negative values skipped);
/// 2. the last character dropped (the remembered password lacked it);
/// 3. the first letter's case flipped;
/// 4. one character appended (the remembered password had one more): each
///    digit, each of `! @ # $ % & * ? . - _ +`, and the last character again.
///
/// Variants are compared with remembered entries by hashing, so each
/// direction of a change is covered by generating its inverse from the
/// candidate: `Summer2025!` yields `Summer2024!`, and `Pass#word8` yields
/// `Pass#word7`. Together this is at most 6 + 1 + 1 + 23 = 31 variants.
///
/// ```
/// use pwsentry::history::near_variants;
/// let v: Vec<String> = near_variants("Summer2025!").iter().map(|p| p.expose().to_owned()).collect();
/// assert!(v.contains(&"Summer2024!".to_owned()));
/// assert!(v.contains(&"Summer2025".to_owned()));
/// assert!(v.contains(&"summer2025!".to_owned()));
/// assert!(v.contains(&"Summer2025!!".to_owned()));
/// assert!(v.len() <= pwsentry::history::MAX_NEAR_VARIANTS);
/// ```
pub fn near_variants(password: &str) -> Vec<Password> {
    let mut out: Vec<Password> = Vec::with_capacity(MAX_NEAR_VARIANTS);
    let mut push = |v: Password| {
        if out.len() < MAX_NEAR_VARIANTS
            && !v.expose().is_empty()
            && v.expose() != password
            && !out.contains(&v)
        {
            out.push(v);
        }
    };
    if let Some((start, end)) = last_digit_run(password) {
        let digits = &password[start..end];
        if let Ok(n) = digits.parse::<u64>().map(i128::from) {
            let year = digits.len() == 4 && (1900..=2099).contains(&n);
            let steps: &[i128] = if year {
                &[1, -1, 2, -2, 3, -3]
            } else {
                &[1, -1, 2, -2]
            };
            let padded = digits.len() > 1 && digits.starts_with('0');
            for step in steps {
                let value = n + step;
                if value < 0 {
                    continue;
                }
                let text = Zeroizing::new(if padded {
                    format!("{value:0width$}", width = digits.len())
                } else {
                    value.to_string()
                });
                push(splice(password, start, end, &text));
            }
        }
    }
    if let Some((last_start, last)) = password.char_indices().last() {
        push(splice(password, last_start, password.len(), ""));
        if let Some((i, c)) = password.char_indices().find(|(_, c)| c.is_alphabetic()) {
            let flipped: Vec<char> = if c.is_lowercase() {
                c.to_uppercase().collect()
            } else {
                c.to_lowercase().collect()
            };
            // Only one-to-one case mappings (not "ß" → "SS").
            if let [f] = flipped[..]
                && f != c
            {
                let mut buf = [0u8; 4];
                push(splice(
                    password,
                    i,
                    i + c.len_utf8(),
                    f.encode_utf8(&mut buf),
                ));
            }
        }
        for c in APPENDED.into_iter().chain([last]) {
            let mut buf = [0u8; 4];
            push(splice(
                password,
                password.len(),
                password.len(),
                c.encode_utf8(&mut buf),
            ));
        }
    }
    out
}

/// `password` with `start..end` replaced by `middle`, built without
/// reallocating (no stray copies of the secret).
fn splice(password: &str, start: usize, end: usize, middle: &str) -> Password {
    let mut s = String::with_capacity(password.len() - (end - start) + middle.len());
    s.push_str(&password[..start]);
    s.push_str(middle);
    s.push_str(&password[end..]);
    Password::new(s)
}

fn last_digit_run(s: &str) -> Option<(usize, usize)> {
    let b = s.as_bytes();
    let end = b.iter().rposition(u8::is_ascii_digit)? + 1;
    let start = b[..end]
        .iter()
        .rposition(|c| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    // Runs too long for u64 are not "a number" to step.
    (end - start <= 19).then_some((start, end))
}

// ---- matching ------------------------------------------------------------------

/// How a candidate matched a remembered entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Match {
    Exact,
    Near,
}

/// For each entry, the best match among `candidates` (index 0 is the exact
/// candidate, the others near variants).
fn match_entries(
    policy: &Policy,
    entries: &[(&Argon2Hash, bool)],
    candidates: &[Password],
) -> Result<Vec<Option<Match>>> {
    // Groups of entries with the same salt, parameters and pepper use.
    let mut groups: Vec<(&Argon2Hash, bool, Vec<usize>)> = Vec::new();
    for (i, (hash, peppered)) in entries.iter().enumerate() {
        match groups
            .iter_mut()
            .find(|(h, p, _)| *p == *peppered && h.same_group(hash))
        {
            Some(g) => g.2.push(i),
            None => groups.push((hash, *peppered, vec![i])),
        }
    }
    let pepper = policy.pepper();
    if groups.iter().any(|g| g.1) && pepper.is_none() {
        return Err(Error::Hash(
            "this account's history was recorded with a pepper, but the policy sets no hashing.pepper_file".into(),
        ));
    }
    // The exact candidate against every group; its near variants only
    // against groups cheap enough to evaluate 32 times.
    let jobs: Vec<(usize, usize)> = (0..groups.len())
        .flat_map(|g| {
            let n = if groups[g].0.work() <= NEAR_REUSE_MAX_WORK {
                candidates.len()
            } else {
                1
            };
            (0..n).map(move |c| (g, c))
        })
        .collect();
    let largest_kib = groups
        .iter()
        .map(|g| u64::from(g.0.memory_kib))
        .max()
        .unwrap_or(1)
        .max(1);
    let workers = rayon::current_num_threads()
        .min(jobs.len())
        .min(usize::try_from(PARALLEL_MEMORY_BUDGET_KIB / largest_kib).unwrap_or(usize::MAX))
        .max(1);
    let found: Vec<Vec<(usize, usize)>> = (0..workers)
        .into_par_iter()
        .map(|w| -> Result<Vec<(usize, usize)>> {
            let mine: Vec<(usize, usize)> = jobs.iter().copied().skip(w).step_by(workers).collect();
            let blocks_needed = mine
                .iter()
                .map(|(g, _)| groups[*g].0.block_count())
                .max()
                .unwrap_or(0);
            // One argon2 memory buffer per worker, reused for each of its
            // evaluations and wiped when dropped.
            let mut blocks = Zeroizing::new(vec![Block::default(); blocks_needed]);
            let mut out = Zeroizing::new([0u8; 64]);
            let mut hits = Vec::new();
            for (g, c) in mine {
                let (shape, peppered, members) = &groups[g];
                let out = &mut out[..shape.digest.len()];
                let secret = if *peppered { pepper } else { None };
                shape.compute(candidates[c].expose().as_bytes(), secret, out, &mut blocks)?;
                for &e in members {
                    if bool::from(entries[e].0.digest.as_slice().ct_eq(out)) {
                        hits.push((e, c));
                    }
                }
            }
            Ok(hits)
        })
        .collect::<Result<_>>()?;
    let mut best: Vec<Option<Match>> = vec![None; entries.len()];
    for (e, c) in found.into_iter().flatten() {
        let m = if c == 0 { Match::Exact } else { Match::Near };
        best[e] = Some(best[e].map_or(m, |b| b.min(m)));
    }
    Ok(best)
}

fn days(n: u32) -> TimeDelta {
    TimeDelta::days(i64::from(n))
}

fn add_days(t: DateTime<Utc>, n: u32) -> Result<DateTime<Utc>> {
    t.checked_add_signed(days(n))
        .ok_or_else(|| Error::Time("a date is out of range".into()))
}

/// The history rules for `password` against an account's stored `history`
/// at `now`: `reuse`, `recently_used`, `similar_to_previous` (when the
/// policy's `reject_similar` is on) and `min_age`.
///
/// Entries among the `remember` newest, or set within `remember_days` of
/// `now`, are remembered; older ones are ignored (and pruned at the next
/// record). A candidate equal to a remembered entry breaks `reuse` if the
/// entry is among the `remember` newest, else `recently_used`; a near
/// variant ([`near_variants`]) equal to one breaks `similar_to_previous`,
/// unless an exact match was already reported.
///
/// # Errors
/// [`Error::Store`] if a stored hash is malformed; [`Error::Hash`] if an
/// entry needs a pepper the policy does not have; [`Error::Time`] if a
/// date is out of range.
pub fn violations(
    policy: &Policy,
    history: &AccountHistory,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Violation>> {
    let hp = policy.history();
    let mut found = Vec::new();
    let min_age = policy.rotation().min_age_days;
    if let Some(changed_at) = history.changed_at().filter(|_| min_age > 0) {
        let allowed_from = add_days(changed_at, min_age)?;
        if now < allowed_from {
            found.push(Violation::new(
                Rule::MinAge,
                format!(
                    "the password was changed less than {} ago; it can be changed again from {}",
                    plural(min_age, "day"),
                    allowed_from.format("%Y-%m-%d %H:%M UTC")
                ),
            ));
        }
    }
    let mut remembered: Vec<(Argon2Hash, bool, bool)> = Vec::new(); // (hash, peppered, by count)
    let mut crypt_entries: Vec<(&str, bool)> = Vec::new(); // (hash, by count)
    for (i, e) in history.entries().iter().enumerate() {
        let by_count = i < hp.remember as usize;
        let recent = hp.remember_days > 0 && now < add_days(e.set_at(), hp.remember_days)?;
        if (by_count || recent) && crate::crypt::is_crypt(e.hash()) {
            crypt_entries.push((e.hash(), by_count));
        } else if by_count || recent {
            let hash = Argon2Hash::parse(e.hash()).map_err(|_| {
                Error::Store(format!("history entry {} holds a malformed hash", e.id()))
            })?;
            remembered.push((hash, e.peppered(), by_count));
        }
    }
    if remembered.is_empty() && crypt_entries.is_empty() {
        return Ok(found);
    }
    let mut candidates = vec![nfc(password)];
    if hp.reject_similar {
        let variants = near_variants(candidates[0].expose());
        candidates.extend(variants);
    }
    let entries: Vec<(&Argon2Hash, bool)> = remembered.iter().map(|(h, p, _)| (h, *p)).collect();
    let matches = match_entries(policy, &entries, &candidates)?;
    let crypt_hits = crypt_exact_reuse(&crypt_entries, password);
    let exact = |by_count: bool| {
        crypt_hits.contains(&by_count)
            || remembered
                .iter()
                .zip(&matches)
                .any(|((_, _, c), m)| *c == by_count && *m == Some(Match::Exact))
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
        found.push(Violation::new(Rule::Reuse, message));
    } else if exact(false) {
        found.push(Violation::new(
            Rule::RecentlyUsed,
            format!(
                "was used within the last {}; choose one that has not been used before",
                plural(hp.remember_days, "day")
            ),
        ));
    } else if matches.contains(&Some(Match::Near)) {
        found.push(Violation::new(
            Rule::SimilarToPrevious,
            "is too similar to a previous password (a number, the last character or the first letter's case changed); choose a new one",
        ));
    }
    Ok(found)
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

// ---- changes -------------------------------------------------------------------

/// A evaluated password change for one account, ready to
/// [`commit`](Checker::commit). Holds the (normalised) password until
/// committed or dropped; `Debug` does not print it.
pub struct Change {
    account: String,
    verdict: Verdict,
    password: Password,
    salt: Vec<u8>,
    head: Option<EntryId>,
    at: DateTime<Utc>,
}

impl fmt::Debug for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Change")
            .field("account", &self.account)
            .field("verdict", &self.verdict)
            .field("at", &self.at)
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
    /// Drops a `min_age` violation: an administrator's override
    /// (`record --force`). Other violations stay.
    pub fn override_min_age(&mut self) {
        let kept: Vec<Violation> = self
            .verdict
            .violations()
            .iter()
            .filter(|v| v.rule != Rule::MinAge)
            .cloned()
            .collect();
        self.verdict = Verdict::new(kept, self.verdict.strength().cloned());
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
    /// Evaluates `password` as the new password of `account`: every rule of
    /// [`Checker::evaluate`] plus the history rules ([`violations`]) against
    /// the account's history in `store`, at `now`. Nothing is stored until
    /// [`Checker::commit`]. `account` is made canonical first
    /// ([`AccountId`], with the policy's `[accounts]` rules), so every
    /// spelling of one account shares one history.
    ///
    /// # Errors
    /// [`Error::Account`] if `account` is not a valid id; [`Error::Time`]
    /// if `now` is before the account's current password was set; store
    /// errors, or the errors of [`violations`].
    pub fn evaluate_change(
        &self,
        store: &dyn Store,
        account: &str,
        password: &str,
        context: &Context,
        now: DateTime<Utc>,
    ) -> Result<Change> {
        let now = whole_seconds(now)?;
        // The store is only ever given canonical ids.
        let account = AccountId::parse(account, self.policy().accounts())?.into_string();
        let account = account.as_str();
        let mut verdict = self.evaluate(password, context);
        let history = store.history(account)?;
        // Time only moves forward for an account: a change dated before its
        // current password would let back-dated changes, each "old enough",
        // flush the history around the minimum age.
        if let Some(current) = history.as_ref().and_then(AccountHistory::changed_at)
            && now < current
        {
            return Err(Error::Time(format!(
                "the change would be dated {}, before the account's current password (set {}); a change cannot be dated in the past of the last one",
                now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                current.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )));
        }
        if let Some(h) = history
            .as_ref()
            .filter(|_| !verdict.violates(Rule::MaxLength))
        {
            verdict.extend(violations(self.policy(), h, password, now)?);
        }
        Ok(Change {
            account: account.to_owned(),
            verdict,
            password: nfc(password),
            salt: account_salt(history.as_ref())?,
            head: history.as_ref().and_then(AccountHistory::head),
            at: now,
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
        let hash = hash_password(self.policy(), &change.salt, change.password.expose())?;
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

    fn variants(p: &str) -> Vec<String> {
        near_variants(p)
            .iter()
            .map(|v| v.expose().to_owned())
            .collect()
    }

    #[test]
    fn variants_cover_the_issue_examples_and_stay_bounded() {
        let v = variants("Summer2025!");
        for want in [
            "Summer2024!",
            "Summer2026!",
            "Summer2022!",
            "Summer2028!",
            "Summer2025",
            "summer2025!",
            "Summer2025!1",
            "Summer2025!!",
        ] {
            assert!(v.contains(&want.to_owned()), "{want} missing from {v:?}");
        }
        assert_eq!(
            v.len(),
            6 + 1 + 1 + 22,
            "year steps, drop, case, appended (! doubled is a duplicate)"
        );
        let v = variants("Pass#word8");
        assert!(v.contains(&"Pass#word7".to_owned()) && v.contains(&"Pass#word9".to_owned()));
        assert!(
            !v.contains(&"Pass#word5".to_owned()),
            "a non-year number moves by 2 at most"
        );
        assert!(v.contains(&"pass#word8".to_owned()));
        for p in [
            "",
            "a",
            "x9",
            "007",
            "ÄÖÜ2099",
            "ǅemo",
            "😀😀",
            &"9".repeat(40),
            "abc",
        ] {
            let v = variants(p);
            assert!(v.len() <= MAX_NEAR_VARIANTS, "{p}: {}", v.len());
            assert!(!v.contains(&p.to_owned()) && !v.iter().any(String::is_empty));
            let mut d = v.clone();
            d.sort();
            d.dedup();
            assert_eq!(d.len(), v.len(), "no duplicates");
        }
        assert!(
            variants("Agent007").contains(&"Agent006".to_owned()),
            "zero padding kept"
        );
        assert!(
            variants("Pass10").contains(&"Pass9".to_owned()),
            "no padding invented"
        );
        assert!(
            !variants("Pass0").iter().any(|v| v.starts_with("Pass-")),
            "no negative numbers"
        );
        assert!(variants("ÄÖÜ1").contains(&"äÖÜ1".to_owned()));
        assert!(
            variants("ÄÖÜ1").contains(&"ÄÖÜ".to_owned()),
            "drops a whole character"
        );
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
            .evaluate_change(store, "acct", pw, &Context::new(), at(day))
            .unwrap();
        checker.commit(store, c).unwrap()
    }

    fn rules(checker: &Checker, store: &dyn Store, pw: &str, day: i64) -> Vec<Rule> {
        let c = checker
            .evaluate_change(store, "acct", pw, &Context::new(), at(day))
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
            "Velvet#Orbit#Summer2021!",
            "velvet#Orbit#Summer2024!",
            "Velvet#Orbit#Summer2024!x",
            "Velvet#Orbit#Summer2024",
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
        let mut c = checker
            .evaluate_change(
                &store,
                "acct",
                "Marble&Quartz&Heron2",
                &Context::new(),
                at(1),
            )
            .unwrap();
        assert_eq!(c.verdict().violations()[0].rule, Rule::MinAge);
        assert!(
            c.verdict().violations()[0]
                .message
                .contains("2026-01-03 12:00 UTC"),
            "{:?}",
            c.verdict()
        );
        c.override_min_age();
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
                .all(|x| x.salt() == h.salt() && x.same_group(&hashes[0]))
        );
        let bigger = Policy::from_toml_str(
            "[hashing]\nmemory_kib = 128\niterations = 1\nallow_weak_parameters = true\n",
        )
        .unwrap();
        let other = hash_password(&bigger, h.salt(), "x").unwrap();
        assert!(
            !other.same_group(&hashes[0]),
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
                "acct",
                "Velvet#Orbit#Canyon1",
                &Context::new(),
                at(0),
            )
            .unwrap();
        let second = checker
            .evaluate_change(
                &store,
                "acct",
                "Marble&Quartz&Heron2",
                &Context::new(),
                at(0),
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
    fn crypt_entries_are_exact_reuse_within_the_budget() {
        use crate::mailhash::MailHash;
        // `doveadm pw -s BLF-CRYPT -r 12` and `-s SHA512-CRYPT`.
        let p1 = "{BLF-CRYPT}$2y$12$c.8u95G7UQROcY8B8lFE8Okulq7umW/Ur2P4ro1frvGpMK3XE9VVa";
        let p2 = "{BLF-CRYPT}$2y$12$aWraDvkk3zf4q5DiEhqs0eWrNR1nIkrXuqzQGLyLUh//XEm4fZcfS";
        let p3 = "{SHA512-CRYPT}$6$d6PUDXwprPAvfRUr$OQm5gr6mZ6yL7VVawUQ1B4jw0pWwGmkTtUpxM//ROBwkxYTamlG5.uzkBLq/ktxQgLyg.WvaYtKl2.LQXAeFI/";
        let checker = Checker::new(policy("[history]\nremember = 5\n"));
        let store = MemoryStore::new();
        let hashes: Vec<MailHash> = [p3, p1]
            .iter()
            .map(|h| MailHash::parse(h).unwrap())
            .collect();
        checker
            .import_hashes(&store, "acct", &hashes, at(0), at(0))
            .unwrap();
        checker
            .import_hashes(
                &store,
                "acct",
                &[MailHash::parse(p2).unwrap()],
                at(1),
                at(1),
            )
            .unwrap();
        assert_eq!(
            rules(&checker, &store, "Marble&Quartz&Heron2", 2),
            [Rule::Reuse],
            "the current password (bcrypt 12)"
        );
        assert_eq!(
            rules(&checker, &store, "Tundra!Lantern!Opal3", 2),
            [Rule::Reuse],
            "a cheap SHA-512-crypt entry still fits the budget"
        );
        assert!(
            rules(&checker, &store, "Velvet#Orbit#Canyon1", 2).is_empty(),
            "a second bcrypt-12 entry is over the per-check budget: skipped"
        );
        assert!(
            rules(&checker, &store, "Tundra!Lantern!Opal4", 2).is_empty(),
            "exact reuse only: no near variants against crypt entries"
        );
    }
}
