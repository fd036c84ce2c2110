//! Lays out zxcvbn's six frequency lists (`data/*.txt`) as one static,
//! open-addressed hash table, so that nothing is built when the program
//! starts: the table is part of the binary (`include_bytes!` in
//! `src/frequency_lists.rs`) and is only read.
//!
//! Files written to `OUT_DIR` (integers little-endian):
//! * `dictionary_entries.bin`: one entry per distinct word: its length in
//!   bytes (`u8`), a mask of the lists it is in (`u8`, bit `k` for list `k`
//!   of `DICTIONARY_ORDER`), its rank in each of those lists (`u16` each),
//!   then the word itself. A lookup reads one slot and one entry.
//! * `dictionary_slots.bin`: `u32` × 2^`SLOT_BITS`, each empty (0) or the
//!   offset of an entry plus one, with a tag (see `src/table_hash.rs`);
//! * `dictionary.rs`: the word count, the longest word's length, and the
//!   longest run of occupied slots.

use std::collections::HashMap;
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

#[path = "src/table_hash.rs"]
mod table_hash;

use table_hash::{first_slot, tag, word_hash, OFFSET_BITS, SLOT_BITS};

/// The lists, in the order of `frequency_lists::DICTIONARY_ORDER`.
const LISTS: [&str; 6] = [
    "passwords",
    "english_wikipedia",
    "female_names",
    "male_names",
    "surnames",
    "us_tv_and_film",
];

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/table_hash.rs");

    let mut words: Vec<String> = Vec::new();
    let mut ranks: Vec<[u16; 6]> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (list, name) in LISTS.iter().enumerate() {
        let path = manifest.join("data").join(format!("{name}.txt"));
        println!("cargo:rerun-if-changed={}", path.display());
        let text =
            fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        // `lines` also drops a `\r` before each `\n` (a CRLF checkout).
        for (line, word) in text.lines().enumerate() {
            assert!(
                !word.is_empty() && word == word.trim() && !word.contains(','),
                "{}:{}: a word must be non-empty, with no surrounding space or comma",
                path.display(),
                line + 1
            );
            let rank = u16::try_from(line + 1).expect("a list of at most 65,535 words");
            let i = *index.entry(word.to_owned()).or_insert_with(|| {
                words.push(word.to_owned());
                ranks.push([0; 6]);
                words.len() - 1
            });
            // As upstream's `HashMap` built from the list: a word listed
            // twice keeps its last rank.
            ranks[i][list] = rank;
        }
    }

    let slot_count = 1usize << SLOT_BITS;
    assert!(
        words.len() * 2 <= slot_count,
        "{} words: raise SLOT_BITS in src/table_hash.rs",
        words.len()
    );

    let mut entries: Vec<u8> = Vec::new();
    let mut slots = vec![0u32; slot_count];
    for (word, ranks) in words.iter().zip(&ranks) {
        let at = entries.len() + 1;
        assert!(
            at < 1 << OFFSET_BITS,
            "the entries outgrow OFFSET_BITS in src/table_hash.rs"
        );
        entries.push(u8::try_from(word.len()).expect("a word of at most 255 bytes"));
        let mask = ranks
            .iter()
            .enumerate()
            .filter(|(_, &rank)| rank != 0)
            .fold(0u8, |mask, (list, _)| mask | 1 << list);
        entries.push(mask);
        for &rank in ranks.iter().filter(|&&rank| rank != 0) {
            entries.extend_from_slice(&rank.to_le_bytes());
        }
        entries.extend_from_slice(word.as_bytes());
        let hash = word_hash(word.as_bytes());
        let mut slot = first_slot(hash);
        while slots[slot] != 0 {
            slot = (slot + 1) & (slot_count - 1);
        }
        slots[slot] = (tag(hash) << OFFSET_BITS) | u32::try_from(at).expect("checked above");
    }
    let slot_bytes: Vec<u8> = slots.iter().flat_map(|s| s.to_le_bytes()).collect();

    // The longest run of occupied slots (the table wraps around): no probe
    // reads more than this many slots plus one, whatever the input, since
    // the table is fixed and nobody can add colliding words.
    let mut longest_run = 0;
    let mut run = 0;
    for slot in slots.iter().chain(&slots) {
        run = if *slot == 0 { 0 } else { run + 1 };
        longest_run = longest_run.max(run.min(slot_count));
    }
    assert!(
        longest_run <= 64,
        "a run of {longest_run} occupied slots: raise SLOT_BITS in src/table_hash.rs"
    );

    let max_chars = words.iter().map(|w| w.chars().count()).max().unwrap_or(0);
    let max_bytes = words.iter().map(String::len).max().unwrap_or(0);
    let mut consts = String::new();
    writeln!(consts, "/// Number of distinct words in the six lists.").unwrap();
    writeln!(consts, "#[allow(dead_code)]").unwrap();
    writeln!(
        consts,
        "pub(crate) const WORD_COUNT: usize = {};",
        words.len()
    )
    .unwrap();
    writeln!(consts, "/// Length in chars of the longest word.").unwrap();
    writeln!(
        consts,
        "pub(crate) const MAX_WORD_CHARS: usize = {max_chars};"
    )
    .unwrap();
    writeln!(consts, "/// Length in bytes of the longest word.").unwrap();
    writeln!(
        consts,
        "pub(crate) const MAX_WORD_BYTES: usize = {max_bytes};"
    )
    .unwrap();

    writeln!(
        consts,
        "/// The longest run of occupied slots: a probe reads at most one more."
    )
    .unwrap();
    writeln!(
        consts,
        "pub(crate) const LONGEST_RUN: usize = {longest_run};"
    )
    .unwrap();

    write(&out.join("dictionary_entries.bin"), &entries);
    write(&out.join("dictionary_slots.bin"), &slot_bytes);
    write(&out.join("dictionary.rs"), consts.as_bytes());
}

/// Writes only when the content changed, so that cargo does not rebuild
/// the crate for an identical table.
fn write(path: &Path, bytes: &[u8]) {
    if fs::read(path).ok().as_deref() != Some(bytes) {
        fs::write(path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
}
