//! zxcvbn's six frequency lists (`data/*.txt`, see `data/README.md`) as a
//! static hash table laid out by `build.rs`: part of the binary, read in
//! place, so a process does no work to get them (upstream built six
//! `HashMap`s of 94,000 words on first use, about 30 million instructions).

use crate::table_hash::{first_slot, tag, word_hash, OFFSET_BITS, SLOT_BITS};

include!(concat!(env!("OUT_DIR"), "/dictionary.rs"));

/// One entry per word: its length, a mask of its lists, its ranks in them
/// (`u16` each), the word (see `build.rs`).
static ENTRIES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/dictionary_entries.bin"));
/// `u32` × 2^`SLOT_BITS`: the open-addressed (linear probing) table of
/// entry offsets.
static SLOTS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/dictionary_slots.bin"));

#[derive(Copy, Clone, Debug, Eq, PartialEq, Hash, Default)]
#[cfg_attr(feature = "ser", derive(serde::Deserialize, serde::Serialize))]
pub enum DictionaryType {
    #[default]
    Passwords,
    English,
    FemaleNames,
    MaleNames,
    Surnames,
    UsTvAndFilm,
    UserInputs,
}

/// The frequency lists, in the fixed order in which the dictionary matcher
/// reports their matches (upstream iterates a `HashMap`, so the order, and
/// with it which of two equally ranked words wins, changed from call to call).
pub(crate) const DICTIONARY_ORDER: [DictionaryType; 6] = [
    DictionaryType::Passwords,
    DictionaryType::English,
    DictionaryType::FemaleNames,
    DictionaryType::MaleNames,
    DictionaryType::Surnames,
    DictionaryType::UsTvAndFilm,
];

/// A word's rank in each list of [`DICTIONARY_ORDER`] (0: not in that list),
/// or `None` when `word` is in none of them. As upstream, a word listed twice
/// in one list has its last rank.
#[inline]
pub(crate) fn ranks(word: &str) -> Option<[u32; 6]> {
    if word.len() > MAX_WORD_BYTES {
        return None;
    }
    let hash = word_hash(word.as_bytes());
    let wanted = tag(hash);
    let mask = (1usize << SLOT_BITS) - 1;
    let mut slot = first_slot(hash);
    // An empty slot ends every probe within `LONGEST_RUN + 1` reads
    // (`build.rs` measures the runs of the fixed table).
    for _ in 0..=LONGEST_RUN {
        let slot_value = read_u32(SLOTS, slot);
        if slot_value == 0 {
            return None;
        }
        if slot_value >> OFFSET_BITS == wanted {
            let at = (slot_value & ((1 << OFFSET_BITS) - 1)) as usize - 1;
            if let Some(ranks) = entry_ranks(at, word.as_bytes()) {
                return Some(ranks);
            }
        }
        slot = (slot + 1) & mask;
    }
    None
}

/// The ranks of the entry at `at` if its word is `word`.
#[inline]
fn entry_ranks(at: usize, word: &[u8]) -> Option<[u32; 6]> {
    let (&len, rest) = ENTRIES.get(at..)?.split_first()?;
    if usize::from(len) != word.len() {
        return None;
    }
    let (&lists, rest) = rest.split_first()?;
    let rank_bytes = 2 * lists.count_ones() as usize;
    if rest.get(rank_bytes..rank_bytes + word.len())? != word {
        return None;
    }
    let mut ranks = [0; 6];
    let mut stored = rest[..rank_bytes].chunks_exact(2);
    for (list, rank) in ranks.iter_mut().enumerate() {
        if lists & (1 << list) != 0 {
            if let Some(&[low, high]) = stored.next() {
                *rank = u32::from(u16::from_le_bytes([low, high]));
            }
        }
    }
    Some(ranks)
}

#[inline]
fn read_u32(bytes: &[u8], i: usize) -> u32 {
    match bytes.get(4 * i..4 * i + 4) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lists as the table was built from them, in `DICTIONARY_ORDER`.
    const LISTS: [&str; 6] = [
        include_str!("../data/passwords.txt"),
        include_str!("../data/english_wikipedia.txt"),
        include_str!("../data/female_names.txt"),
        include_str!("../data/male_names.txt"),
        include_str!("../data/surnames.txt"),
        include_str!("../data/us_tv_and_film.txt"),
    ];

    #[test]
    fn every_word_has_its_ranks() {
        let mut expected: std::collections::HashMap<&str, [u32; 6]> = Default::default();
        for (slot, list) in LISTS.iter().enumerate() {
            for (i, word) in list.lines().enumerate() {
                expected.entry(word).or_insert([0; 6])[slot] = i as u32 + 1;
            }
        }
        assert_eq!(expected.len(), WORD_COUNT);
        for (word, want) in &expected {
            assert_eq!(ranks(word), Some(*want), "{word:?}");
        }
        let max_chars = expected.keys().map(|w| w.chars().count()).max();
        assert_eq!(max_chars, Some(MAX_WORD_CHARS));
        // Spot checks against upstream's lists.
        assert_eq!(ranks("password").map(|r| r[0]), Some(2));
        assert_eq!(ranks("pic's").map(|r| r[0]), Some(6523));
        assert_eq!(ranks("the").map(|r| r[1]), Some(1));
    }

    #[test]
    fn other_strings_are_not_words() {
        for s in [
            "",
            "qzxqzxq",
            "passwordd",
            "PASSWORD",
            "pass word",
            "pässword",
            "\0password",
            "password\0",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ] {
            assert_eq!(ranks(s), None, "{s:?}");
        }
    }
}
