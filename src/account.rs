//! Canonical account ids: one spelling per account, validated once.
//!
//! An [`AccountId`] is what the history is keyed by, so two spellings of
//! one mailbox (`Alice@Example.com`, `alice@example.com`) must become the
//! same id, and an id that could be mistaken for another on a terminal or
//! in a report (invisible or bidi characters, surrounding spaces) is
//! refused rather than silently cleaned: the caller sees the error and
//! nothing is looked up or stored under a surprising name.
//!
//! The canonical form is NFC, with the domain (after the last `@`)
//! lowercased and the local part lowercased too unless
//! [`AccountsPolicy::case_sensitive_local_part`] is set. This module does
//! no I/O.

use serde::Serialize;
use std::borrow::Cow;
use std::fmt;
use unicode_normalization::UnicodeNormalization;

/// Longest account id accepted, in bytes (after normalisation).
pub const MAX_ACCOUNT_ID_BYTES: usize = 512;

/// `[accounts]`: how account ids are made canonical.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AccountsPolicy {
    /// Keep the case of the local part (before the last `@`): `Alice@x`
    /// and `alice@x` are then two accounts. Off by default, as almost
    /// every mail system treats them as one.
    pub case_sensitive_local_part: bool,
}

impl AccountsPolicy {
    /// The default rules: local part and domain both lowercased.
    pub fn new() -> Self {
        AccountsPolicy::default()
    }

    /// Rules that keep (`true`) or lowercase (`false`) the local part.
    pub fn with_case_sensitive_local_part(mut self, yes: bool) -> Self {
        self.case_sensitive_local_part = yes;
        self
    }
}

/// A validated, canonical account id.
///
/// ```
/// use pwsentry::account::{AccountId, AccountsPolicy};
/// let rules = AccountsPolicy::new();
/// let id = AccountId::parse("Alice@Example.COM", &rules)?;
/// assert_eq!(id.as_str(), "alice@example.com");
/// assert!(AccountId::parse(" alice@example.com", &rules).is_err());
/// assert!(AccountId::parse("alice\u{202e}@example.com", &rules).is_err());
/// # Ok::<(), pwsentry::account::AccountIdError>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId(String);

/// Why a string is not a valid account id. The message never quotes the
/// id itself (it may hold characters that would disturb a terminal); it
/// names the position and code point instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccountIdError {
    /// The id is empty.
    #[error("an account id must not be empty")]
    Empty,
    /// The id is longer than [`MAX_ACCOUNT_ID_BYTES`].
    #[error("an account id must be at most {MAX_ACCOUNT_ID_BYTES} bytes long")]
    TooLong,
    /// The id contains a space or other white space (leading and trailing
    /// spaces are refused, not trimmed, so a typo is seen).
    #[error(
        "an account id must not contain white space (found U+{:04X} at character {position})",
        u32::from(*found)
    )]
    Whitespace {
        /// 1-based character position.
        position: usize,
        /// The character.
        found: char,
    },
    /// The id contains a control, format, bidi or other invisible character.
    #[error(
        "an account id must not contain control, format or invisible characters (found U+{:04X} at character {position})",
        u32::from(*found)
    )]
    Invisible {
        /// 1-based character position.
        position: usize,
        /// The character.
        found: char,
    },
    /// The id has an `@` with nothing before or after it.
    #[error("an account id with an @ needs a local part before it and a domain after it")]
    EmptyPart,
}

impl AccountId {
    /// Validates `raw` and returns its canonical form.
    ///
    /// # Errors
    /// [`AccountIdError`] if `raw` is empty, too long, or contains white
    /// space or an invisible character, or has an empty part around `@`.
    pub fn parse(raw: &str, rules: &AccountsPolicy) -> Result<AccountId, AccountIdError> {
        if raw.is_empty() {
            return Err(AccountIdError::Empty);
        }
        // Bounded before any allocation: NFC and lowercasing grow a string
        // by a small factor at most, so 4× the limit is already too long.
        if raw.len() > 4 * MAX_ACCOUNT_ID_BYTES {
            return Err(AccountIdError::TooLong);
        }
        for (i, c) in raw.chars().enumerate() {
            if c.is_whitespace() {
                return Err(AccountIdError::Whitespace {
                    position: i + 1,
                    found: c,
                });
            }
            if is_invisible(c) {
                return Err(AccountIdError::Invisible {
                    position: i + 1,
                    found: c,
                });
            }
        }
        let nfc: String = raw.nfc().collect();
        let (local, domain) = match nfc.rsplit_once('@') {
            Some((l, d)) => (l, Some(d)),
            None => (nfc.as_str(), None),
        };
        if domain.is_some_and(str::is_empty) || (domain.is_some() && local.is_empty()) {
            return Err(AccountIdError::EmptyPart);
        }
        let mut id = if rules.case_sensitive_local_part {
            local.to_owned()
        } else {
            local.to_lowercase()
        };
        if let Some(domain) = domain {
            id.push('@');
            id.push_str(&domain.to_lowercase());
        }
        // Lowercasing can leave text that is no longer in NFC (U+0130).
        let id: String = id.nfc().collect();
        if id.len() > MAX_ACCOUNT_ID_BYTES {
            return Err(AccountIdError::TooLong);
        }
        Ok(AccountId(id))
    }

    /// The canonical id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The canonical id, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl AsRef<str> for AccountId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({:?})", self.0)
    }
}

/// `text` with every control or invisible character (see [`AccountId`])
/// and every backslash escaped (`\u{202e}`, `\\`), for showing an id
/// that did not come through [`AccountId::parse`] (an old database, an
/// error message) on a terminal or in a report.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c == '\\' || is_invisible(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if is_invisible(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Characters that are invisible or change how the text around them is
/// shown: controls (Cc), format characters (Cf, which includes the bidi
/// embeddings, overrides and isolates and the zero-width characters),
/// line and paragraph separators, Unicode's other default-ignorable
/// code points (variation selectors, Hangul fillers, tags, ...), and
/// U+2800 BRAILLE PATTERN BLANK, a symbol that shows as a space (the usual
/// "invisible character" for names, and `is_whitespace` does not know it).
pub(crate) fn is_invisible(c: char) -> bool {
    if c.is_control() {
        return true;
    }
    let u = u32::from(c);
    INVISIBLE.iter().any(|&(lo, hi)| (lo..=hi).contains(&u))
}

/// General category Cf (Unicode 16) and Default_Ignorable_Code_Point,
/// merged into sorted ranges, and U+2800 (see [`is_invisible`]).
const INVISIBLE: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x206F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> Result<String, AccountIdError> {
        AccountId::parse(s, &AccountsPolicy::new()).map(AccountId::into_string)
    }

    #[test]
    fn case_and_normalisation_give_one_id() {
        assert_eq!(canon("Alice@Example.com").unwrap(), "alice@example.com");
        assert_eq!(canon("alice@EXAMPLE.COM").unwrap(), "alice@example.com");
        // Decomposed é (e + U+0301) and composed é are one account.
        assert_eq!(canon("Re\u{301}my@x.org").unwrap(), "r\u{e9}my@x.org");
        assert_eq!(canon("r\u{e9}my@x.org").unwrap(), "r\u{e9}my@x.org");
        assert_eq!(canon("ALICE").unwrap(), "alice");
        // Lowercasing İ gives i + U+0307, which stays NFC.
        let dotted = canon("\u{130}@x.org").unwrap();
        assert_eq!(dotted, "i\u{307}@x.org");
        assert_eq!(canon(&dotted).unwrap(), dotted, "idempotent");
    }

    #[test]
    fn case_sensitive_local_parts_keep_their_case() {
        let rules = AccountsPolicy::new().with_case_sensitive_local_part(true);
        let id = AccountId::parse("Alice@Example.COM", &rules).unwrap();
        assert_eq!(id.as_str(), "Alice@example.com");
    }

    #[test]
    fn bad_ids_are_refused_not_cleaned() {
        assert_eq!(canon(""), Err(AccountIdError::Empty));
        for bad in [
            " alice@example.com",
            "alice@example.com ",
            "alice @example.com",
            "alice\u{a0}@example.com",
            "alice@example.com\n",
        ] {
            assert!(
                matches!(canon(bad), Err(AccountIdError::Whitespace { .. })),
                "{bad:?}"
            );
        }
        for bad in [
            "alice\u{202e}@example.com",
            "alice\u{2066}@example.com",
            "al\u{200b}ice@example.com",
            "alice\u{feff}@example.com",
            "alice\u{ad}@example.com",
            "alice\u{fe0f}@example.com",
            "alice\u{e0041}@example.com",
            "alice\u{1b}[31m@example.com",
            "alice\u{7f}@example.com",
            // Shows as a space: `alice⠀@example.com` passed for another id.
            "alice\u{2800}@example.com",
        ] {
            assert!(
                matches!(canon(bad), Err(AccountIdError::Invisible { .. })),
                "{bad:?}"
            );
        }
        assert_eq!(canon("@example.com"), Err(AccountIdError::EmptyPart));
        assert_eq!(canon("alice@"), Err(AccountIdError::EmptyPart));
        assert_eq!(
            canon(&"a".repeat(MAX_ACCOUNT_ID_BYTES + 1)),
            Err(AccountIdError::TooLong)
        );
        assert_eq!(
            canon(&"a".repeat(100_000)),
            Err(AccountIdError::TooLong),
            "huge input refused before any work"
        );
        assert!(canon(&"a".repeat(MAX_ACCOUNT_ID_BYTES)).is_ok());
    }

    #[test]
    fn messages_name_the_code_point_not_the_text() {
        let e = canon("ab\u{202e}c").unwrap_err().to_string();
        assert!(e.contains("U+202E at character 3"), "{e}");
        assert!(!e.contains('\u{202e}'));
    }

    #[test]
    fn escaping_shows_invisible_characters() {
        assert_eq!(escape("alice@x"), "alice@x");
        assert_eq!(escape("a\u{202e}b\u{1b}[c\\"), "a\\u{202e}b\\u{1b}[c\\\\");
    }

    #[test]
    fn ordinary_ids_pass() {
        for ok in [
            "bob",
            "jane.doe+tag@mail.example.com",
            "用户@例子.中国",
            "o'brien@x.ie",
            "\u{1F600}@x.org",
        ] {
            assert!(canon(ok).is_ok(), "{ok}");
        }
    }
}
