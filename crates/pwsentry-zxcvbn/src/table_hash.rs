//! The hash of the compile-time dictionary table, shared by `build.rs`
//! (which lays the table out) and `frequency_lists.rs` (which probes it), so
//! the two cannot disagree. It is the Fx hash (rustc's `FxHasher`) of the
//! word's bytes, computed in `u64` whatever the platform (a build script may
//! run on another architecture than the one the table is built for). The
//! words are fixed, public lists, so a keyed hash would buy nothing.

/// Multiplier of the Fx hash (rustc's `FxHasher`).
const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

#[inline]
const fn add(hash: u64, word: u64) -> u64 {
    (hash.rotate_left(5) ^ word).wrapping_mul(SEED)
}

/// Fx hash of `bytes`: one rotate, xor and multiply per 8 bytes, then per 4,
/// then per byte. Its high bits are the best mixed; the table uses those.
#[inline]
pub(crate) fn word_hash(mut bytes: &[u8]) -> u64 {
    let mut hash = 0u64;
    while let [a, b, c, d, e, f, g, h, rest @ ..] = bytes {
        hash = add(hash, u64::from_le_bytes([*a, *b, *c, *d, *e, *f, *g, *h]));
        bytes = rest;
    }
    if let [a, b, c, d, rest @ ..] = bytes {
        hash = add(hash, u64::from(u32::from_le_bytes([*a, *b, *c, *d])));
        bytes = rest;
    }
    for &byte in bytes {
        hash = add(hash, u64::from(byte));
    }
    // Distinguishes words that differ only by leading NUL bytes, as
    // `Hash for str` does with its 0xff terminator.
    add(hash, 0xff)
}

/// The table has `1 << SLOT_BITS` slots (a load of at most one half).
pub(crate) const SLOT_BITS: u32 = 18;

/// A slot holds the offset plus one of a word's entry in its low
/// `OFFSET_BITS` bits (0: an empty slot) and a tag, more bits of the word's
/// hash, above them, so that most probes for a substring that is not a word
/// stop at the slot.
pub(crate) const OFFSET_BITS: u32 = 21;

/// The slot where the probe for a word of this hash starts.
#[inline]
pub(crate) const fn first_slot(hash: u64) -> usize {
    (hash >> (64 - SLOT_BITS)) as usize
}

/// The tag stored with a word of this hash.
#[inline]
pub(crate) const fn tag(hash: u64) -> u32 {
    ((hash >> (64 - SLOT_BITS - (32 - OFFSET_BITS))) as u32) & ((1 << (32 - OFFSET_BITS)) - 1)
}
