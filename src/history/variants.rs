//! The near-reuse catalogue: the few variations of a candidate that are
//! hashed and compared with the remembered entries (`similar_to_previous`).
//!
//! Each variant undoes one common change a person makes to an old password,
//! so a candidate that *is* such a change hashes, in one of its variants, to
//! the old password. The catalogue is ordered by how often people make the
//! change (see `docs/history.md` for the table and the reasoning) and holds
//! at most [`MAX_NEAR_VARIANTS`], so near reuse costs at most that many
//! argon2 evaluations at the policy's own cost.
//!
//! Variants are built without stray copies of the secret: every buffer is a
//! [`Password`] (wiped on drop). This module never prints.

use crate::secret::Password;
use unicode_normalization::UnicodeNormalization;

/// Most near-reuse variants a candidate is hashed in (besides itself).
pub(crate) const MAX_NEAR_VARIANTS: usize = 8;

/// Lookalike characters people put for letters ("leet"), and the letter.
const LOOKALIKES: [(char, char); 8] = [
    ('0', 'o'),
    ('1', 'i'),
    ('3', 'e'),
    ('4', 'a'),
    ('5', 's'),
    ('7', 't'),
    ('@', 'a'),
    ('$', 's'),
];

/// The variations of `password` (NFC) checked for `similar_to_previous`, at
/// most [`MAX_NEAR_VARIANTS`], without duplicates, empty strings or
/// `password` itself, in this order (the remembered password each one
/// catches in brackets):
///
/// 1. the last run of ASCII digits minus 1 [`…2024` when `…2025` is typed];
/// 2. the last character dropped [one character appended];
/// 3. the first letter's case flipped [`velvet…` when `Velvet…` is typed];
/// 4. NFKC with surrounding white space trimmed [fullwidth digits, a
///    leading or trailing space];
/// 5. the last run of ASCII digits plus 1 [the number moved down];
/// 6. the whole password's case: title case per word when it is all upper
///    or all lower case; every letter's case swapped when it has more
///    capitals than small letters (typed with caps lock on, where Shift
///    gives the small ones); else all lower case [caps lock,
///    `VELVET#ORBIT…`, `vELVET#oRBIT…`];
/// 7. lookalikes restored (`0`→o, `1`→i, `3`→e, `4`→a, `5`→s, `7`→t, `@`→a,
///    `$`→s, where a letter follows) [`Velvet#0rbit…`];
/// 8. one character appended: `!` after a digit, `1` after a letter, the
///    last character again after a symbol [the last character dropped].
pub(crate) fn near_variants(password: &str) -> Vec<Password> {
    let mut out: Vec<Password> = Vec::with_capacity(MAX_NEAR_VARIANTS);
    let mut push = |v: Option<Password>| {
        if let Some(v) = v
            && out.len() < MAX_NEAR_VARIANTS
            && !v.expose().is_empty()
            && v.expose() != password
            && !out.contains(&v)
        {
            out.push(v);
        }
    };
    push(step_number(password, -1));
    push(drop_last(password));
    push(flip_first_letter(password));
    push(Some(canonical(password)));
    push(step_number(password, 1));
    push(Some(whole_case(password)));
    push(restore_lookalikes(password));
    push(append_one(password));
    out
}

/// `password` with `start..end` replaced by `middle`, built without
/// reallocating.
fn splice(password: &str, start: usize, end: usize, middle: &str) -> Password {
    let mut s = String::with_capacity(password.len() - (end - start) + middle.len());
    s.push_str(&password[..start]);
    s.push_str(middle);
    s.push_str(&password[end..]);
    Password::new(s)
}

/// Byte range of the last run of ASCII digits, if it is short enough to be
/// a number (≤ 19 digits).
fn last_digit_run(s: &str) -> Option<(usize, usize)> {
    let b = s.as_bytes();
    let end = b.iter().rposition(u8::is_ascii_digit)? + 1;
    let start = b[..end]
        .iter()
        .rposition(|c| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    (end - start <= 19).then_some((start, end))
}

/// The last number moved by `step` (zero padding kept when it has a
/// leading zero; never negative).
fn step_number(password: &str, step: i128) -> Option<Password> {
    let (start, end) = last_digit_run(password)?;
    let digits = &password[start..end];
    let value = i128::from(digits.parse::<u64>().ok()?) + step;
    if value < 0 {
        return None;
    }
    let padded = digits.len() > 1 && digits.starts_with('0');
    let text = zeroize::Zeroizing::new(if padded {
        format!("{value:0width$}", width = digits.len())
    } else {
        value.to_string()
    });
    Some(splice(password, start, end, &text))
}

fn drop_last(password: &str) -> Option<Password> {
    let (i, _) = password.char_indices().last()?;
    Some(splice(password, i, password.len(), ""))
}

/// The one-to-one case mapping of `c`, if it has one (not "ß" → "SS").
fn swap_case(c: char) -> Option<char> {
    let one = |it: &mut dyn Iterator<Item = char>| match (it.next(), it.next()) {
        (Some(f), None) if f != c => Some(f),
        _ => None,
    };
    if c.is_lowercase() {
        one(&mut c.to_uppercase())
    } else {
        one(&mut c.to_lowercase())
    }
}

fn to_upper(c: char) -> char {
    if c.is_lowercase() {
        swap_case(c).unwrap_or(c)
    } else {
        c
    }
}

fn to_lower(c: char) -> char {
    if c.is_uppercase() {
        swap_case(c).unwrap_or(c)
    } else {
        c
    }
}

fn flip_first_letter(password: &str) -> Option<Password> {
    let (i, c) = password.char_indices().find(|(_, c)| c.is_alphabetic())?;
    let f = swap_case(c)?;
    let mut buf = [0u8; 4];
    Some(splice(
        password,
        i,
        i + c.len_utf8(),
        f.encode_utf8(&mut buf),
    ))
}

fn canonical(password: &str) -> Password {
    let mut s = String::with_capacity(password.len() + 8);
    s.extend(password.nfkc());
    let trimmed = s.trim();
    if trimmed.len() == s.len() {
        Password::new(s)
    } else {
        let t = Password::new(trimmed.to_owned());
        zeroize::Zeroize::zeroize(&mut s);
        t
    }
}

/// Title case per run of letters, every letter's case swapped, or all
/// lower case (see the catalogue).
fn whole_case(password: &str) -> Password {
    let upper = password.chars().filter(|c| c.is_uppercase()).count();
    let lower = password.chars().filter(|c| c.is_lowercase()).count();
    let mut s = String::with_capacity(password.len());
    if upper > lower && lower > 0 {
        // Mostly capitals with a few small letters: typed with caps lock
        // on, where Shift gives the small letters (`vELVET#oRBIT…`).
        s.extend(password.chars().map(|c| swap_case(c).unwrap_or(c)));
    } else if upper > 0 && lower > 0 {
        s.extend(password.chars().map(to_lower));
    } else {
        let mut in_word = false;
        // A word is a run of letters and digits: `0RBIT` → `0rbit`.
        for c in password.chars() {
            s.push(if in_word { to_lower(c) } else { to_upper(c) });
            in_word = c.is_alphanumeric();
        }
    }
    Password::new(s)
}

fn restore_lookalikes(password: &str) -> Option<Password> {
    let chars: Vec<char> = password.chars().collect();
    // Lookalikes that start a word take the case most other words start
    // with: `Velvet#0rbit#Canyon` → `Velvet#Orbit#Canyon`.
    let (mut upper_starts, mut lower_starts) = (0, 0);
    for (i, c) in chars.iter().enumerate() {
        if c.is_alphabetic() && (i == 0 || !chars[i - 1].is_alphabetic()) {
            if c.is_uppercase() {
                upper_starts += 1;
            } else if c.is_lowercase() {
                lower_starts += 1;
            }
        }
    }
    let mut s = String::with_capacity(password.len());
    let mut changed = false;
    for (i, &c) in chars.iter().enumerate() {
        let next_is_letter = chars.get(i + 1).is_some_and(|n| n.is_alphabetic());
        let letter = LOOKALIKES.iter().find(|(l, _)| *l == c).map(|(_, r)| *r);
        match letter.filter(|_| next_is_letter) {
            Some(r) => {
                let word_start = i == 0 || !chars[i - 1].is_alphabetic();
                s.push(if word_start && upper_starts > lower_starts {
                    to_upper(r)
                } else {
                    r
                });
                changed = true;
            }
            None => s.push(c),
        }
    }
    let restored = Password::new(s);
    changed.then_some(restored)
}

fn append_one(password: &str) -> Option<Password> {
    let last = password.chars().last()?;
    let c = if last.is_ascii_digit() {
        '!'
    } else if last.is_alphanumeric() {
        '1'
    } else {
        last
    };
    let mut buf = [0u8; 4];
    Some(splice(
        password,
        password.len(),
        password.len(),
        c.encode_utf8(&mut buf),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variants(p: &str) -> Vec<String> {
        near_variants(p)
            .iter()
            .map(|v| v.expose().to_owned())
            .collect()
    }

    #[test]
    fn each_catalogue_entry_in_order() {
        assert_eq!(
            variants("Velvet#Orbit#Canyon10"),
            [
                "Velvet#Orbit#Canyon9",
                "Velvet#Orbit#Canyon1",
                "velvet#Orbit#Canyon10",
                "Velvet#Orbit#Canyon11",
                "velvet#orbit#canyon10",
                "Velvet#Orbit#Canyon10!",
            ],
            "canonical form and lookalikes equal the password: skipped"
        );
        let v = variants("VELVET#0RBIT#CANYON１０ ");
        assert!(v.contains(&"VELVET#0RBIT#CANYON10".to_owned()), "{v:?}");
        assert!(v.contains(&"Velvet#0rbit#Canyon１０ ".to_owned()), "{v:?}");
        assert!(variants("Velvet#0rbit#Canyon10").contains(&"Velvet#Orbit#Canyon10".to_owned()));
        assert!(variants("p@ssw0rd!").contains(&"password!".to_owned()));
        assert!(variants("Summer2025").contains(&"Summer2024".to_owned()));
        assert!(variants("Summer2025").contains(&"Summer2025!".to_owned()));
        assert!(variants("Agent007").contains(&"Agent006".to_owned()));
        assert!(variants("Pass10").contains(&"Pass9".to_owned()));
        assert!(!variants("Pass0").iter().any(|v| v.starts_with("Pass-")));
        assert!(variants("abc#").contains(&"abc##".to_owned()));
        assert!(variants("ÄÖÜ1").contains(&"äÖÜ1".to_owned()));
        // Caps lock on while typing `Velvet#Orbit#Canyon10` with Shift.
        assert!(
            variants("vELVET#oRBIT#cANYON10").contains(&"Velvet#Orbit#Canyon10".to_owned()),
            "{:?}",
            variants("vELVET#oRBIT#cANYON10")
        );
        assert!(variants("pASSWORD1").contains(&"Password1".to_owned()));
    }

    #[test]
    fn bounded_distinct_and_never_the_password() {
        for p in [
            "",
            "a",
            " ",
            "x9",
            "007",
            "ÄÖÜ2099",
            "ǅemo",
            "ß",
            "😀😀",
            &"9".repeat(40),
            &"Ab1@".repeat(256),
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
    }
}
