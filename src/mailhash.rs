//! Hash strings of a new password for a mail server: Dovecot's
//! `{ARGON2ID}` passwd-file scheme and the bare argon2id PHC string.
//!
//! Each call draws a fresh random 16-byte salt from the operating system's
//! CSPRNG (through [`rand::rng`]) and hashes with Dovecot's default cost
//! (`m=65536,t=3,p=1`), or the policy's `[hashing]` cost where that is
//! higher, so the result is something `doveadm pw -t` verifies.
//!
//! This module must not store anything, print, or mix the history's pepper
//! into these hashes: the mail server does not know the pepper, so a
//! peppered hash could never be verified there.
//!
//! ```
//! use pwsentry::mailhash::{self, MailHashParams};
//! use pwsentry::Password;
//!
//! let password = Password::from("velvet-orbit-canyon-arena");
//! # let params = MailHashParams::new(64, 1, 1)?; // cheap, for the doctest only
//! # /*
//! let params = MailHashParams::DOVECOT_DEFAULT;
//! # */
//! let line = mailhash::dovecot_argon2id(&password, &params)?;
//! assert!(line.starts_with("{ARGON2ID}$argon2id$v=19$"));
//! assert!(mailhash::verify(&line, &password)?);
//! assert!(!mailhash::verify(&line, &Password::from("velvet-orbit-canyon-arenA"))?);
//! # Ok::<(), pwsentry::Error>(())
//! ```

use crate::error::{Error, Result};
use crate::policy::Policy;
use crate::secret::Password;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;

/// Dovecot's default argon2id memory cost, in KiB (libsodium's
/// "interactive" limit of 64 MiB).
pub const DOVECOT_MEMORY_KIB: u32 = 65_536;
/// Dovecot's default argon2id passes.
pub const DOVECOT_ITERATIONS: u32 = 3;
/// Dovecot's default lanes (one; single-lane hashes verify with every
/// libsodium version Dovecot may be built with).
pub const DOVECOT_PARALLELISM: u32 = 1;
/// The scheme prefix of a Dovecot passwd-file password field.
pub const DOVECOT_PREFIX: &str = "{ARGON2ID}";
/// Bytes of random salt in each hash (Dovecot's and libsodium's size).
pub const SALT_LEN: usize = 16;

/// Which string to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MailScheme {
    /// `{ARGON2ID}$argon2id$v=19$...`, for a Dovecot passwd-file.
    Dovecot,
    /// The bare PHC string `$argon2id$v=19$...`.
    Phc,
}

impl MailScheme {
    /// Hashes `password` in this scheme.
    ///
    /// # Errors
    /// As [`phc_string`].
    pub fn hash(self, password: &Password, params: &MailHashParams) -> Result<String> {
        match self {
            MailScheme::Dovecot => dovecot_argon2id(password, params),
            MailScheme::Phc => phc_string(password, params),
        }
    }
}

/// argon2id cost parameters for a mail hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailHashParams {
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
}

impl MailHashParams {
    /// Dovecot's defaults: `m=65536,t=3,p=1`.
    pub const DOVECOT_DEFAULT: MailHashParams = MailHashParams {
        memory_kib: DOVECOT_MEMORY_KIB,
        iterations: DOVECOT_ITERATIONS,
        parallelism: DOVECOT_PARALLELISM,
    };

    /// Dovecot's defaults, with the memory and passes raised to the
    /// policy's `[hashing]` values where those are higher. Parallelism
    /// stays 1, Dovecot's default.
    ///
    /// ```
    /// use pwsentry::mailhash::MailHashParams;
    /// use pwsentry::Policy;
    /// assert_eq!(MailHashParams::for_policy(&Policy::default()), MailHashParams::DOVECOT_DEFAULT);
    /// let strong = Policy::from_toml_str("[hashing]\nmemory_kib = 262144\niterations = 2\n")?;
    /// let p = MailHashParams::for_policy(&strong);
    /// assert_eq!((p.memory_kib(), p.iterations(), p.parallelism()), (262_144, 3, 1));
    /// # Ok::<(), pwsentry::Error>(())
    /// ```
    pub fn for_policy(policy: &Policy) -> MailHashParams {
        let h = policy.hashing();
        MailHashParams {
            memory_kib: h.memory_kib.max(DOVECOT_MEMORY_KIB),
            iterations: h.iterations.max(DOVECOT_ITERATIONS),
            parallelism: DOVECOT_PARALLELISM,
        }
    }

    /// Explicit parameters (memory in KiB, passes, lanes).
    ///
    /// # Errors
    /// [`Error::Hash`] when argon2 rejects them (memory below 8 KiB per
    /// lane, zero passes or lanes, ...).
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<MailHashParams> {
        let params = MailHashParams {
            memory_kib,
            iterations,
            parallelism,
        };
        params.argon2_params()?;
        Ok(params)
    }

    /// Memory cost in KiB.
    pub fn memory_kib(&self) -> u32 {
        self.memory_kib
    }

    /// Passes.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// Lanes.
    pub fn parallelism(&self) -> u32 {
        self.parallelism
    }

    fn argon2_params(&self) -> Result<Params> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, None).map_err(|e| {
            Error::Hash(format!(
                "argon2id parameters m={}, t={}, p={}: {e}",
                self.memory_kib, self.iterations, self.parallelism
            ))
        })
    }
}

/// The argon2id PHC string of `password` with a fresh random salt:
/// `$argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>`.
///
/// # Errors
/// [`Error::Hash`] if argon2 fails (invalid parameters, memory exhausted).
pub fn phc_string(password: &Password, params: &MailHashParams) -> Result<String> {
    let mut salt = [0u8; SALT_LEN];
    rand::rng().fill_bytes(&mut salt);
    hash_with_salt(password, params, &salt)
}

/// The Dovecot passwd-file password field for `password`:
/// `{ARGON2ID}` followed by [`phc_string`].
///
/// # Errors
/// As [`phc_string`].
pub fn dovecot_argon2id(password: &Password, params: &MailHashParams) -> Result<String> {
    Ok(format!("{DOVECOT_PREFIX}{}", phc_string(password, params)?))
}

/// `true` if `hash` (a PHC string, with or without the `{ARGON2ID}`
/// prefix) is a hash of `password`, checked with the parameters inside it.
///
/// # Errors
/// [`Error::Hash`] if `hash` is not an argon2 PHC string.
pub fn verify(hash: &str, password: &Password) -> Result<bool> {
    let phc = hash.strip_prefix(DOVECOT_PREFIX).unwrap_or(hash);
    let parsed = PasswordHash::new(phc)
        .map_err(|e| Error::Hash(format!("not an argon2 PHC string: {e}")))?;
    match Argon2::default().verify_password(password.expose().as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(e) => Err(Error::Hash(format!("cannot verify: {e}"))),
    }
}

fn hash_with_salt(password: &Password, params: &MailHashParams, salt: &[u8]) -> Result<String> {
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.argon2_params()?);
    let hash = argon2
        .hash_password_with_salt(password.expose().as_bytes(), salt)
        .map_err(|e| Error::Hash(format!("argon2id hashing failed: {e}")))?;
    Ok(hash.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> MailHashParams {
        MailHashParams::new(64, 1, 1).unwrap()
    }

    #[test]
    fn dovecot_line_has_the_scheme_and_parameters() {
        let p = Password::from("correct horse");
        let line = dovecot_argon2id(&p, &cheap()).unwrap();
        let fields: Vec<&str> = line.split('$').collect();
        assert_eq!(
            fields[..4],
            ["{ARGON2ID}", "argon2id", "v=19", "m=64,t=1,p=1"],
            "{line}"
        );
        // 16 bytes of salt and 32 of hash, unpadded base64.
        assert_eq!((fields[4].len(), fields[5].len()), (22, 43), "{line}");
        assert!(verify(&line, &p).unwrap());
        assert!(!verify(&line, &Password::from("correct horsE")).unwrap());
    }

    #[test]
    fn every_hash_has_a_fresh_salt() {
        let p = Password::from("same password");
        let a = phc_string(&p, &cheap()).unwrap();
        let b = phc_string(&p, &cheap()).unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(verify(&a, &p).unwrap() && verify(&b, &p).unwrap());
    }

    #[test]
    fn known_answer() {
        // `echo -n password | argon2 somesaltsomesalt -id -v 13 -m 6 -t 2 -p 1 -e`
        // (the reference implementation; m=2^6 KiB).
        let p = Password::from("password");
        let got = hash_with_salt(
            &p,
            &MailHashParams::new(64, 2, 1).unwrap(),
            b"somesaltsomesalt",
        )
        .unwrap();
        assert_eq!(got, KNOWN_ANSWER);
    }

    const KNOWN_ANSWER: &str = "$argon2id$v=19$m=64,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Gpj7qOY5RCXJvcMzqcdQqvgR3wcPX7SleI4c9NtXk6E";

    #[test]
    fn parameters_are_validated_and_never_weaker_than_dovecot() {
        assert!(matches!(MailHashParams::new(4, 1, 1), Err(Error::Hash(_))));
        assert!(matches!(MailHashParams::new(64, 0, 1), Err(Error::Hash(_))));
        let weak = Policy::from_toml_str(
            "[hashing]\nmemory_kib = 19456\niterations = 2\nparallelism = 4\n",
        )
        .unwrap();
        assert_eq!(
            MailHashParams::for_policy(&weak),
            MailHashParams::DOVECOT_DEFAULT
        );
        let slow =
            Policy::from_toml_str("[hashing]\nmemory_kib = 47104\niterations = 8\n").unwrap();
        let p = MailHashParams::for_policy(&slow);
        assert_eq!(
            (p.memory_kib(), p.iterations(), p.parallelism()),
            (65_536, 8, 1)
        );
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(matches!(
            verify("{ARGON2ID}not-a-hash", &Password::from("x")),
            Err(Error::Hash(_))
        ));
    }
}
