//! crypt(3) password hashes as mail servers keep them: SHA-512-crypt
//! (`$6$`), SHA-256-crypt (`$5$`) and bcrypt (`$2y$`, `$2b$`, `$2a$`),
//! bare or after a Dovecot scheme prefix (`{SHA512-CRYPT}`,
//! `{SHA256-CRYPT}`, `{BLF-CRYPT}`, `{CRYPT}`).
//!
//! pwsentry never *makes* these hashes (it records argon2id). It reads
//! them for two things: exact reuse against imported history entries, and
//! checking a current password against a Dovecot passwd-file. Both run on
//! hashes that an administrator imported from elsewhere, or that someone
//! with write access to a file edited, so their cost is bounded before any
//! work: SHA-crypt rounds ≤ [`MAX_SHA_ROUNDS`] (and the password length
//! counted in, see [`CryptHash::check_cost`]), bcrypt cost ≤
//! [`MAX_BCRYPT_COST`]. The digests are compared in constant time by the
//! RustCrypto `sha-crypt` and the `bcrypt` crates.
//!
//! Older crypt schemes (DES, MD5-crypt `$1$`, the `$2x$` bug-compatible
//! bcrypt) are refused: they are broken or ambiguous, and a history check
//! against them would prove nothing.
//!
//! This module never prints and never puts a password, a salt or a digest
//! into an error message or a `Debug` output.
//!
//! ```
//! use pwsentry::crypt::{CryptHash, CryptScheme};
//! // Made by `doveadm pw -s SHA512-CRYPT` for the password "x".
//! let h = CryptHash::parse("{SHA512-CRYPT}$6$6Coe3mp36ZfStpxy$Ih26vX2MTeqJeI6v1DxuyBL0PsZqg3lbcPEJiM8mcbBdoH/EVPQcWGNp1NDwyxYcDaDDCXg2NPqrYem0kFVU.1")?;
//! assert_eq!(h.scheme(), CryptScheme::Sha512Crypt);
//! assert_eq!(h.cost(), 5000);
//! assert!(h.verify(b"x")?);
//! assert!(!h.verify(b"y")?);
//! assert!(CryptHash::parse("$6$rounds=999999999$salt$hash").is_err());
//! # Ok::<(), pwsentry::Error>(())
//! ```

use crate::error::{Error, Result};
use std::fmt;
use zeroize::Zeroizing;

/// SHA-crypt's default rounds (glibc's and Dovecot's), used when a hash
/// has no `rounds=` field.
pub const DEFAULT_SHA_ROUNDS: u32 = 5_000;
/// Fewest SHA-crypt rounds a hash can name (glibc raises anything lower to
/// this, and writes the raised value).
pub const MIN_SHA_ROUNDS: u32 = 1_000;
/// Most SHA-crypt rounds accepted: 40 × the default (glibc's and
/// Dovecot's 5,000). One SHA-512-crypt verification at this bound costs
/// about 0.15 s of CPU here (SHA-256-crypt: 0.03 s; see `BENCHMARKS.md`,
/// "Imported crypt hashes"). passlib's 656,000 rounds are refused.
pub const MAX_SHA_ROUNDS: u32 = 200_000;
/// Fewest bcrypt cost accepted (the algorithm's own minimum).
pub const MIN_BCRYPT_COST: u32 = 4;
/// Highest bcrypt cost accepted: 2^12 key-schedule rounds, about 0.3 s of
/// CPU here. Dovecot's default is 5, PHP's 10 and Laravel's 12.
pub const MAX_BCRYPT_COST: u32 = 12;
/// SHA-crypt hashes the password into every round, so its cost grows with
/// the password's length. Up to this many bytes a round costs about the
/// same as with an empty password; beyond, [`CryptHash::check_cost`]
/// counts the extra blocks.
pub const SHA_CHEAP_PASSWORD_BYTES: usize = 128;
/// Most work one SHA-crypt verification may cost, in bytes hashed
/// (rounds × SHA blocks per round × block size): [`MAX_SHA_ROUNDS`] with a
/// password of [`SHA_CHEAP_PASSWORD_BYTES`]. A password of 1024
/// four-byte characters still verifies against the default 5,000 rounds.
pub const MAX_SHA_WORK_BYTES: u64 =
    MAX_SHA_ROUNDS as u64 * 512 + (SHA_CHEAP_PASSWORD_BYTES * SHA_CHEAP_PASSWORD_BYTES) as u64;

/// CPU one history check may spend on crypt(3) entries, in nanoseconds
/// as [`CryptHash::estimated_cost_ns`] counts them: entries are checked
/// newest first and those that no longer fit are skipped. Half a second:
/// the current password at the bounds, or a few at mail servers' defaults.
pub const CHECK_BUDGET_NS: u64 = 500_000_000;

// Measured with `cargo bench --bench crypt` (BENCHMARKS.md, "Imported
// crypt hashes"), per byte of `sha_work_bytes` and per bcrypt round
// (2^cost), rounded up; long passwords cost SHA-crypt more per byte
// (many small updates), which the SHA-512 figure covers.
const SHA512_PS_PER_BYTE: u64 = 3_200;
const SHA256_PS_PER_BYTE: u64 = 1_600;
const BCRYPT_NS_PER_ROUND: u64 = 80_000;

/// The crypt(3) schemes pwsentry reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CryptScheme {
    /// SHA-256-crypt, `$5$`: Dovecot's `{SHA256-CRYPT}`.
    Sha256Crypt,
    /// SHA-512-crypt, `$6$`: Dovecot's `{SHA512-CRYPT}`, glibc's default.
    Sha512Crypt,
    /// bcrypt, `$2y$` / `$2b$` / `$2a$`: Dovecot's `{BLF-CRYPT}`.
    Bcrypt,
}

impl CryptScheme {
    /// Dovecot's name of the scheme, e.g. `"SHA512-CRYPT"`.
    pub fn dovecot_name(self) -> &'static str {
        match self {
            CryptScheme::Sha256Crypt => "SHA256-CRYPT",
            CryptScheme::Sha512Crypt => "SHA512-CRYPT",
            CryptScheme::Bcrypt => "BLF-CRYPT",
        }
    }

    /// `Some(Some(scheme))` for a Dovecot scheme name that fixes the
    /// scheme, `Some(None)` for `CRYPT` (any of them), `None` otherwise.
    fn from_dovecot_name(name: &str) -> Option<Option<CryptScheme>> {
        match name.to_ascii_uppercase().as_str() {
            "SHA256-CRYPT" => Some(Some(CryptScheme::Sha256Crypt)),
            "SHA512-CRYPT" => Some(Some(CryptScheme::Sha512Crypt)),
            "BLF-CRYPT" => Some(Some(CryptScheme::Bcrypt)),
            "CRYPT" => Some(None),
            _ => None,
        }
    }
}

/// Whether `text` looks like a crypt(3) hash (a Dovecot crypt scheme
/// prefix, or a `$5$`, `$6$`, `$2?$` or `$1$` string), valid or not, so
/// that [`CryptHash::parse`] gives the reason it is refused. Cheap; no
/// parsing.
pub fn is_crypt(text: &str) -> bool {
    let text = text.trim_start();
    if let Some(rest) = text.strip_prefix('{') {
        return rest
            .split_once('}')
            .is_some_and(|(name, _)| CryptScheme::from_dovecot_name(name).is_some());
    }
    ["$5$", "$6$", "$2a$", "$2b$", "$2y$", "$2x$", "$1$"]
        .iter()
        .any(|p| text.starts_with(p))
}

/// A parsed crypt(3) hash with its cost within pwsentry's bounds.
///
/// `Display` writes the bare crypt string (`$6$...`), which is what the
/// history stores; `Debug` shows the scheme and cost only.
#[derive(Clone, PartialEq, Eq)]
pub struct CryptHash {
    scheme: CryptScheme,
    cost: u32,
    text: Zeroizing<String>,
}

impl fmt::Debug for CryptHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CryptHash")
            .field("scheme", &self.scheme)
            .field("cost", &self.cost)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for CryptHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn bad(what: &str) -> Error {
    Error::Hash(what.to_owned())
}

/// The characters of crypt's base64 alphabet (`./0-9A-Za-z`).
fn crypt_b64(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/')
}

impl CryptHash {
    /// Parses a crypt string, bare (`$6$...`) or after a Dovecot scheme
    /// prefix (any case). Surrounding whitespace is ignored.
    ///
    /// # Errors
    /// [`Error::Hash`] saying what is wrong, never quoting the input: not
    /// a supported scheme, a prefix that names another scheme than the
    /// string, a malformed salt or digest, or a cost above the bounds.
    pub fn parse(text: &str) -> Result<CryptHash> {
        let text = text.trim();
        let (wanted, mcf) = match text.strip_prefix('{') {
            Some(rest) => {
                let (name, mcf) = rest
                    .split_once('}')
                    .ok_or_else(|| bad("unterminated {SCHEME} prefix"))?;
                let wanted = CryptScheme::from_dovecot_name(name).ok_or_else(|| {
                    bad("not a crypt scheme: only {SHA512-CRYPT}, {SHA256-CRYPT}, {BLF-CRYPT} and {CRYPT} are read here")
                })?;
                (wanted, mcf)
            }
            None => (None, text),
        };
        let hash = if let Some(rest) = mcf.strip_prefix("$6$") {
            Self::parse_sha(CryptScheme::Sha512Crypt, rest, 86)?
        } else if let Some(rest) = mcf.strip_prefix("$5$") {
            Self::parse_sha(CryptScheme::Sha256Crypt, rest, 43)?
        } else if mcf.starts_with("$2") {
            Self::parse_bcrypt(mcf)?
        } else if mcf.starts_with("$1$") {
            return Err(bad(
                "MD5-crypt ($1$) is broken and not supported; only SHA-512-crypt, SHA-256-crypt and bcrypt",
            ));
        } else {
            return Err(bad(
                "not a supported crypt string (expected $6$..., $5$... or $2y$...; DES crypt is not supported)",
            ));
        };
        if wanted.is_some_and(|w| w != hash.scheme) {
            return Err(bad(
                "the {SCHEME} prefix names another scheme than the hash",
            ));
        }
        Ok(hash)
    }

    /// `rest` is what follows `$6$` or `$5$`: `[rounds=N$]salt$digest`.
    fn parse_sha(scheme: CryptScheme, rest: &str, digest_len: usize) -> Result<CryptHash> {
        let mut fields = rest.split('$');
        let mut field = fields.next().unwrap_or_default();
        let mut cost = DEFAULT_SHA_ROUNDS;
        let mut explicit = false;
        if let Some(n) = field.strip_prefix("rounds=") {
            if n.is_empty()
                || n.len() > 10
                || !n.bytes().all(|b| b.is_ascii_digit())
                || n.starts_with('0')
            {
                return Err(bad("the rounds= field is not a decimal number"));
            }
            cost = n
                .parse()
                .map_err(|_| bad("the rounds= field is out of range"))?;
            explicit = true;
            field = fields.next().ok_or_else(|| bad("missing salt"))?;
        }
        if explicit && cost < MIN_SHA_ROUNDS {
            return Err(Error::Hash(format!(
                "{cost} rounds is below SHA-crypt's minimum of {MIN_SHA_ROUNDS}"
            )));
        }
        if field.is_empty() || field.len() > 16 || !crypt_b64(field) {
            return Err(bad("the salt must be 1 to 16 characters of ./0-9A-Za-z"));
        }
        let digest = fields.next().ok_or_else(|| bad("missing digest"))?;
        if digest.len() != digest_len || !crypt_b64(digest) {
            return Err(Error::Hash(format!(
                "the digest must be {digest_len} characters of ./0-9A-Za-z"
            )));
        }
        if fields.next().is_some() {
            return Err(bad("unexpected text after the digest"));
        }
        let hash = CryptHash {
            scheme,
            cost,
            text: Zeroizing::new(format!(
                "${}${rest}",
                if scheme == CryptScheme::Sha512Crypt {
                    6
                } else {
                    5
                }
            )),
        };
        hash.check_bounds()?;
        Ok(hash)
    }

    /// `mcf` is the whole `$2y$NN$<22 salt><31 digest>` string.
    fn parse_bcrypt(mcf: &str) -> Result<CryptHash> {
        let b = mcf.as_bytes();
        if b.len() != 60 || !mcf.is_ascii() || b[3] != b'$' || b[6] != b'$' {
            return Err(bad(
                "a bcrypt hash is 60 characters: $2y$, two cost digits, $, 53 of ./0-9A-Za-z",
            ));
        }
        match &mcf[1..3] {
            "2a" | "2b" | "2y" => {}
            "2x" => {
                return Err(bad(
                    "the $2x$ bcrypt variant reproduces an old bug and is not supported",
                ));
            }
            _ => return Err(bad("unknown bcrypt variant (expected $2y$, $2b$ or $2a$)")),
        }
        let digits = &mcf[4..6];
        if !digits.bytes().all(|c| c.is_ascii_digit()) || !crypt_b64(&mcf[7..]) {
            return Err(bad(
                "a bcrypt hash is 60 characters: $2y$, two cost digits, $, 53 of ./0-9A-Za-z",
            ));
        }
        let cost: u32 = digits
            .parse()
            .map_err(|_| bad("the bcrypt cost is not a number"))?;
        if cost < MIN_BCRYPT_COST {
            return Err(Error::Hash(format!(
                "bcrypt cost {cost} is below the minimum of {MIN_BCRYPT_COST}"
            )));
        }
        let hash = CryptHash {
            scheme: CryptScheme::Bcrypt,
            cost,
            text: Zeroizing::new(mcf.to_owned()),
        };
        hash.check_bounds()?;
        Ok(hash)
    }

    fn check_bounds(&self) -> Result<()> {
        let max = match self.scheme {
            CryptScheme::Bcrypt => MAX_BCRYPT_COST,
            CryptScheme::Sha256Crypt | CryptScheme::Sha512Crypt => MAX_SHA_ROUNDS,
        };
        if self.cost > max {
            let what = match self.scheme {
                CryptScheme::Bcrypt => "bcrypt cost",
                _ => "SHA-crypt rounds",
            };
            return Err(Error::Hash(format!(
                "{what} {} is above pwsentry's bound of {max}, so that checking it cannot make a password change slow",
                self.cost
            )));
        }
        Ok(())
    }

    /// The scheme.
    pub fn scheme(&self) -> CryptScheme {
        self.scheme
    }

    /// The cost: rounds for SHA-crypt, the log2 cost for bcrypt.
    pub fn cost(&self) -> u32 {
        self.cost
    }

    /// The hash as Dovecot writes it, e.g. `{SHA512-CRYPT}$6$...`.
    pub fn to_dovecot(&self) -> String {
        format!("{{{}}}{}", self.scheme.dovecot_name(), self.text.as_str())
    }

    /// Refuses a verification whose work is above the bounds: SHA-crypt
    /// rounds × SHA blocks hashed per round (which grows with the
    /// password's length) above [`MAX_SHA_WORK_BYTES`]. bcrypt reads at most 72
    /// bytes of the password, so its cost is the hash's alone.
    ///
    /// # Errors
    /// [`Error::Hash`] naming the rounds (not the password's length: errors
    /// may be logged).
    pub fn check_cost(&self, password_len: usize) -> Result<()> {
        if self.scheme == CryptScheme::Bcrypt {
            return Ok(());
        }
        if self.sha_work_bytes(password_len) > MAX_SHA_WORK_BYTES {
            return Err(Error::Hash(format!(
                "the password is too long to be checked against {} SHA-crypt rounds within pwsentry's cost bound",
                self.cost
            )));
        }
        Ok(())
    }

    /// Bytes SHA-crypt hashes for a password of `len` bytes: every round,
    /// plus the password hashed `len` times at the start.
    fn sha_work_bytes(&self, len: usize) -> u64 {
        let len64 = u64::try_from(len).unwrap_or(u64::MAX);
        u64::from(self.cost)
            .saturating_mul(sha_bytes_per_round(self.scheme, len))
            .saturating_add(len64.saturating_mul(len64))
    }

    /// What one [`CryptHash::verify`] with a password of `password_len`
    /// bytes costs, in nanoseconds of CPU on the machine the bounds were
    /// measured on (`cargo bench --bench crypt`, see `BENCHMARKS.md`);
    /// `None` if it is above the bounds. Used to keep a history check
    /// within [`CHECK_BUDGET_NS`].
    pub fn estimated_cost_ns(&self, password_len: usize) -> Option<u64> {
        self.check_cost(password_len).ok()?;
        Some(match self.scheme {
            CryptScheme::Bcrypt => (1u64 << self.cost).saturating_mul(BCRYPT_NS_PER_ROUND),
            CryptScheme::Sha512Crypt => {
                self.sha_work_bytes(password_len)
                    .saturating_mul(SHA512_PS_PER_BYTE)
                    / 1000
            }
            CryptScheme::Sha256Crypt => {
                self.sha_work_bytes(password_len)
                    .saturating_mul(SHA256_PS_PER_BYTE)
                    / 1000
            }
        })
    }

    /// Whether `password` (the exact bytes) is the password of this hash.
    /// Compared in constant time. A password containing a NUL byte never
    /// matches: crypt(3) would have read only the part before it. bcrypt
    /// reads the first 72 bytes only, as everywhere.
    ///
    /// # Errors
    /// [`Error::Hash`] if the work is above the bounds
    /// ([`CryptHash::check_cost`]) or the hash cannot be evaluated.
    pub fn verify(&self, password: &[u8]) -> Result<bool> {
        self.check_cost(password.len())?;
        if password.contains(&0) {
            return Ok(false);
        }
        match self.scheme {
            CryptScheme::Bcrypt => bcrypt::verify(password, &self.text)
                .map_err(|_| bad("the bcrypt hash cannot be evaluated")),
            CryptScheme::Sha256Crypt | CryptScheme::Sha512Crypt => {
                use sha_crypt::PasswordVerifier as _;
                match sha_crypt::ShaCrypt::default().verify_password(password, self.text.as_str()) {
                    Ok(()) => Ok(true),
                    Err(sha_crypt::password_hash::Error::PasswordInvalid) => Ok(false),
                    Err(_) => Err(bad("the SHA-crypt hash cannot be evaluated")),
                }
            }
        }
    }
}

/// Bytes hashed in one SHA-crypt round for a password of `len` bytes, in
/// whole blocks: the previous digest, the password up to twice, the salt,
/// and one block of padding at most.
fn sha_bytes_per_round(scheme: CryptScheme, len: usize) -> u64 {
    let (digest, block) = match scheme {
        CryptScheme::Sha256Crypt => (32u64, 64u64),
        _ => (64, 128),
    };
    let len = u64::try_from(len).unwrap_or(u64::MAX);
    let bytes = digest
        .saturating_add(len.saturating_mul(2))
        .saturating_add(16);
    (bytes.div_ceil(block) + 1).saturating_mul(block)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with `doveadm pw -s SCHEME` (Dovecot 2.3) for the password "x"
    // (and, for the rounds, `-r`).
    const SHA512: &str = "{SHA512-CRYPT}$6$6Coe3mp36ZfStpxy$Ih26vX2MTeqJeI6v1DxuyBL0PsZqg3lbcPEJiM8mcbBdoH/EVPQcWGNp1NDwyxYcDaDDCXg2NPqrYem0kFVU.1";
    const SHA512_ROUNDS: &str = "{SHA512-CRYPT}$6$rounds=10000$qj2oWEk0s/Wo7JAP$AZJT7O51EGZgILqoudLmW8z5YSyal/qGTuCZ4yonnpYodaJZLCvIqITb5kBP4KMRjmZQiZ5h447BxPKi.l8aZ1";
    const SHA256: &str =
        "{SHA256-CRYPT}$5$iRHwaUBIoSF8mdtl$LY8Q020uw95jWyA2BrfvD9e.67GoRBQRCpGtGV/urt5";
    const BLF: &str = "{BLF-CRYPT}$2y$05$sqcHuadYkvouU0rc72J1DOjQXyTqoLfFGEdEahk91zjBfnZqlOTIy";
    const CRYPT_BLF: &str = "{CRYPT}$2y$05$3rL2ps1e00LetgVLbz74z.orB4tvBRsWJJKJQpqYoXsRWBRZlruS6";

    #[test]
    fn doveadm_hashes_verify() {
        for (text, scheme, cost) in [
            (SHA512, CryptScheme::Sha512Crypt, 5000),
            (SHA512_ROUNDS, CryptScheme::Sha512Crypt, 10_000),
            (SHA256, CryptScheme::Sha256Crypt, 5000),
            (BLF, CryptScheme::Bcrypt, 5),
            (CRYPT_BLF, CryptScheme::Bcrypt, 5),
        ] {
            let h = CryptHash::parse(text).unwrap();
            assert_eq!((h.scheme(), h.cost()), (scheme, cost), "{text}");
            assert!(h.verify(b"x").unwrap(), "{text}");
            assert!(!h.verify(b"X").unwrap(), "{text}");
            assert!(!h.verify(b"x\0").unwrap(), "NUL never matches");
            assert!(!h.verify(b"").unwrap());
            let bare = text.split_once('}').unwrap().1;
            assert_eq!(h.to_string(), bare);
            assert_eq!(CryptHash::parse(bare).unwrap(), h);
            assert_eq!(CryptHash::parse(&h.to_dovecot()).unwrap(), h);
            assert!(is_crypt(text) && is_crypt(bare));
            let dbg = format!("{h:?}");
            assert!(!dbg.contains(&bare[8..20]), "{dbg}");
        }
        assert!(!is_crypt("$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA"));
        assert!(!is_crypt("{ARGON2ID}$argon2id$"));
    }

    #[test]
    fn malformed_and_costly_hashes_are_refused_without_echo() {
        let s512 = SHA512.split_once('}').unwrap().1;
        let digest = s512.rsplit('$').next().unwrap();
        let blf = BLF.split_once('}').unwrap().1;
        let cases = [
            String::new(),
            "{SHA512-CRYPT".into(),
            format!("{{SHA256-CRYPT}}{s512}"),
            format!("{{BLF-CRYPT}}{s512}"),
            format!("{{PLAIN}}{s512}"),
            "$1$abcdefgh$0123456789abcdefghijkl".into(),
            "abJnggxhB/yWI".into(),
            format!("$6$rounds=999999999$6Coe3mp36ZfStpxy${digest}"),
            format!("$6$rounds=4294967296$6Coe3mp36ZfStpxy${digest}"),
            format!("$6$rounds=200001$6Coe3mp36ZfStpxy${digest}"),
            format!("$6$rounds=999$6Coe3mp36ZfStpxy${digest}"),
            format!("$6$rounds=05000$6Coe3mp36ZfStpxy${digest}"),
            format!("$6$rounds=$6Coe3mp36ZfStpxy${digest}"),
            format!("$6$${digest}"),
            format!("$6$6Coe3mp36ZfStpxyX${digest}"),
            format!("$6$6Coe:mp36ZfStpx${digest}"),
            format!("$6$6Coe3mp36ZfStpxy${}", &digest[1..]),
            format!("$6$6Coe3mp36ZfStpxy${digest}$"),
            format!("$6$6Coe3mp36ZfStpxy${digest}x"),
            format!("$6$6Coe3mp36ZfStpxy${}\u{e9}", &digest[1..]),
            format!("$6$6Coe3mp36ZfStpxy${}\0", &digest[1..]),
            blf.replace("$2y$05$", "$2y$13$"),
            blf.replace("$2y$05$", "$2y$31$"),
            blf.replace("$2y$05$", "$2y$03$"),
            blf.replace("$2y$05$", "$2x$05$"),
            blf.replace("$2y$05$", "$2z$05$"),
            blf.replace("$2y$05$", "$2y$5a$"),
            format!("{blf}A"),
            blf[..59].to_owned(),
            format!("{}\u{e9}", &blf[..58]),
            format!("{}:", &blf[..59]),
        ];
        for c in &cases {
            let e = CryptHash::parse(c).expect_err(c).to_string();
            assert!(
                !e.contains("6Coe") && !e.contains("sqcH") && !e.contains(&digest[..10]),
                "error echoes the hash: {e}"
            );
        }
        // At the bounds: accepted.
        assert!(CryptHash::parse(&format!("$6$rounds=200000$6Coe3mp36ZfStpxy${digest}")).is_ok());
        assert!(CryptHash::parse(&format!("$6$rounds=1000$6Coe3mp36ZfStpxy${digest}")).is_ok());
        assert!(CryptHash::parse(&blf.replace("$2y$05$", "$2y$12$")).is_ok());
        assert!(CryptHash::parse(&blf.replace("$2y$05$", "$2b$04$")).is_ok());
    }

    #[test]
    fn long_passwords_count_against_sha_rounds() {
        let h = CryptHash::parse(SHA512).unwrap();
        assert!(
            h.check_cost(4096).is_ok(),
            "default rounds, longest password"
        );
        let digest = SHA512.rsplit('$').next().unwrap();
        let heavy =
            CryptHash::parse(&format!("$6$rounds=200000$6Coe3mp36ZfStpxy${digest}")).unwrap();
        assert!(heavy.check_cost(SHA_CHEAP_PASSWORD_BYTES).is_ok());
        let e = heavy.verify(&[b'a'; 1000]).unwrap_err().to_string();
        assert!(e.contains("too long") && e.contains("200000"), "{e}");
        let b = CryptHash::parse(BLF).unwrap();
        assert!(b.check_cost(1 << 20).is_ok(), "bcrypt reads 72 bytes");
    }
    #[test]
    fn one_hash_at_the_bounds_fits_the_check_budget() {
        let digest = SHA512.rsplit('$').next().unwrap();
        let sha = CryptHash::parse(&format!("$6$rounds=200000$6Coe3mp36ZfStpxy${digest}")).unwrap();
        let blf = CryptHash::parse(&BLF.replace("$2y$05$", "$2y$12$")).unwrap();
        for (h, len) in [(&sha, SHA_CHEAP_PASSWORD_BYTES), (&blf, 4096)] {
            let cost = h.estimated_cost_ns(len).unwrap();
            assert!(
                cost <= CHECK_BUDGET_NS && cost * 2 > CHECK_BUDGET_NS,
                "{h:?}: {cost}"
            );
        }
        assert_eq!(sha.estimated_cost_ns(1000), None, "over the bound");
        let default = CryptHash::parse(SHA512).unwrap();
        assert!(default.estimated_cost_ns(25).unwrap() < 20_000_000);
    }
}
