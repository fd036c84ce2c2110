//! Plain-text similarity between a candidate and the account's current
//! password, when the caller knows the current one (a self-service change,
//! PAM's old authtok): `similar_to_current`, at no hashing cost.
//!
//! Both are folded (NFKC, trimmed, lower case, lookalikes to one letter)
//! and compared: the candidate is "based on" the current password when it
//! contains it, or is within a small edit distance of it, as passwdqc's
//! "is based on the old password". Work is bounded by the lengths, which
//! the caller bounds. This module never prints.

use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

/// The matching form of a password for similarity: NFKC, surrounding white
/// space trimmed, lower case, and lookalikes folded (`0`→o, `1`/`|`/`i`→l,
/// `$`/`5`→s, `@`/`4`→a, `3`→e, `7`→t).
///
/// Kept in one place so that it can be pointed at the crate's shared
/// normalisation (NFKC + case folding) once there is one.
pub(crate) fn fold_for_similarity(password: &str) -> Zeroizing<Vec<char>> {
    let nfkc: Zeroizing<String> = Zeroizing::new(password.nfkc().collect());
    let mut out = Zeroizing::new(Vec::with_capacity(nfkc.len()));
    for c in nfkc.trim().chars().flat_map(char::to_lowercase) {
        out.push(match c {
            '0' => 'o',
            '1' | '|' | 'i' => 'l',
            '$' | '5' => 's',
            '@' | '4' => 'a',
            '3' => 'e',
            '7' => 't',
            c => c,
        });
    }
    out
}

/// Longest folded text compared, in characters; longer current passwords
/// are compared by their first this many. Keeps the edit distance at
/// O(n × m) ≤ 4096².
const MAX_COMPARED: usize = 4096;

/// Whether `candidate` is based on `current`: after folding, it contains
/// it, or is within `max(2, len / 4)` edits of it (`len` = the current
/// password's folded length).
pub(crate) fn similar_to_current(candidate: &str, current: &str) -> bool {
    let new = fold_for_similarity(prefix(candidate));
    let old = fold_for_similarity(prefix(current));
    let new = &new[..new.len().min(MAX_COMPARED)];
    let old = &old[..old.len().min(MAX_COMPARED)];
    if old.is_empty() {
        return false;
    }
    if new.windows(old.len()).any(|w| w == old) {
        return true;
    }
    let limit = (old.len() / 4).max(2);
    within_edit_distance(new, old, limit)
}

/// The first [`MAX_COMPARED`] characters of `s`: folding more is wasted.
fn prefix(s: &str) -> &str {
    s.char_indices()
        .nth(MAX_COMPARED)
        .map_or(s, |(i, _)| &s[..i])
}

/// Levenshtein distance of `a` and `b` ≤ `limit`, stopping as soon as every
/// cell of a row is over it.
fn within_edit_distance(a: &[char], b: &[char], limit: usize) -> bool {
    if a.len().abs_diff(b.len()) > limit {
        return false;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut row = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != cb);
            row[j + 1] = substitute.min(prev[j + 1] + 1).min(row[j] + 1);
        }
        if row.iter().all(|d| *d > limit) {
            return false;
        }
        std::mem::swap(&mut prev, &mut row);
    }
    prev[b.len()] <= limit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_repros_are_similar() {
        let current = "Velvet#Orbit#Canyon10";
        for candidate in [
            "VELVET#ORBIT#CANYON10",
            " Velvet#Orbit#Canyon10",
            "Velvet#Orbit#Canyon10!!",
            "Velvet#Orbit#Canyon13",
            "Velvet#0rbit#Canyon10",
            "Velvet#Orbit#Canyon１０",
            "velvet#orbit#canyon2025!",
            "My:Velvet#Orbit#Canyon10:again:and:again",
            "V3lv3t#0rb1t#C4ny0n10",
        ] {
            assert!(similar_to_current(candidate, current), "{candidate}");
        }
    }

    #[test]
    fn different_passwords_are_not() {
        let current = "Velvet#Orbit#Canyon10";
        for candidate in [
            "Marble&Quartz&Heron2",
            "Velvet#Meadow#Fjord77",
            "correct horse battery staple",
        ] {
            assert!(!similar_to_current(candidate, current), "{candidate}");
        }
        assert!(!similar_to_current("anything", ""));
        assert!(!similar_to_current("abcdefgh", "zyxwvuts"));
    }

    #[test]
    fn huge_inputs_are_bounded() {
        let big = "Ab1@".repeat(50_000);
        assert!(similar_to_current(&big, &big));
        assert!(!similar_to_current(
            &"x".repeat(200_000),
            &"y".repeat(200_000)
        ));
    }

    #[test]
    fn edit_distance_limits() {
        let c = |s: &str| s.chars().collect::<Vec<_>>();
        assert!(within_edit_distance(&c("kitten"), &c("sitting"), 3));
        assert!(!within_edit_distance(&c("kitten"), &c("sitting"), 2));
        assert!(within_edit_distance(&c(""), &c("ab"), 2));
    }
}
