//! The on-disk layout of a filter file: the header (encode, decode,
//! validate) and the group descriptors. No lookups and no building here.
//!
//! All integers are little-endian. A file is:
//!
//! ```text
//! [0, 4096)            header (fixed size, checksummed, see `Header`)
//! [4096, directory)    fingerprint arrays, one per group, 8-byte aligned
//! [directory, table)   2^directory_bits × 16-byte packed group descriptors:
//!                      hash prefix → everything a lookup needs (one read)
//! [table, file_len)    group_count × 32-byte group descriptors
//! ```

use super::FilterError;
use blake2::{Blake2b256, Digest};

/// First eight bytes of every filter file.
pub(crate) const MAGIC: [u8; 8] = *b"PWSFLTR\x1a";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Size of the header, in bytes.
pub(crate) const HEADER_LEN: u64 = 4096;
/// Where the header checksum starts (it covers every byte before it).
const HEADER_SUM_AT: usize = HEADER_LEN as usize - 32;
/// Where the description starts.
const DESCRIPTION_AT: usize = 120;
/// Longest source description kept, in bytes.
pub const MAX_DESCRIPTION_BYTES: usize = 2048;
/// Size of one group descriptor, in bytes.
pub(crate) const GROUP_LEN: u64 = 32;
/// Size of one directory entry, in bytes.
pub(crate) const DIR_ENTRY_LEN: u64 = 16;

/// What the keys of a filter are the hashes of; decides how a candidate is
/// looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FilterKind {
    /// A breached-password corpus: SHA-1 of each password as it was typed
    /// (Have I Been Pwned's form). Used by `[breach] filter`.
    Breach,
    /// A blocklist: SHA-1 of each entry in the blocklist matching form
    /// (see [`blocklist_form`](super::blocklist_form)). Used in
    /// `[strength] blocklists`.
    Blocklist,
}

impl FilterKind {
    fn code(self) -> u32 {
        match self {
            FilterKind::Breach => 1,
            FilterKind::Blocklist => 2,
        }
    }

    fn from_code(code: u32) -> Option<FilterKind> {
        match code {
            1 => Some(FilterKind::Breach),
            2 => Some(FilterKind::Blocklist),
            _ => None,
        }
    }

    /// `"breach"` or `"blocklist"`.
    pub fn name(self) -> &'static str {
        match self {
            FilterKind::Breach => "breach",
            FilterKind::Blocklist => "blocklist",
        }
    }
}

/// Width of the stored fingerprints, which sets the false-positive rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FingerprintBits {
    /// 16-bit fingerprints (binary fuse 16): a rate of about 2^-16,
    /// about 2.25 bytes per entry.
    #[default]
    Sixteen,
    /// 32-bit fingerprints (binary fuse 32): a rate of about 2^-32,
    /// about 4.5 bytes per entry.
    ThirtyTwo,
}

impl FingerprintBits {
    /// 16 or 32.
    pub fn bits(self) -> u32 {
        match self {
            FingerprintBits::Sixteen => 16,
            FingerprintBits::ThirtyTwo => 32,
        }
    }

    /// Bytes per fingerprint.
    pub(crate) fn bytes(self) -> u64 {
        u64::from(self.bits() / 8)
    }

    /// The design false-positive rate, 2^-bits.
    pub fn design_rate(self) -> f64 {
        (-f64::from(self.bits())).exp2()
    }

    fn from_bits(bits: u32) -> Option<FingerprintBits> {
        match bits {
            16 => Some(FingerprintBits::Sixteen),
            32 => Some(FingerprintBits::ThirtyTwo),
            _ => None,
        }
    }
}

/// The header of a filter file, as `breach info` prints it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Header {
    /// Format version of the file.
    pub version: u32,
    /// What the keys are hashes of.
    pub kind: FilterKind,
    /// Fingerprint width.
    pub fingerprint: FingerprintBits,
    /// Distinct entries in the filter.
    pub entry_count: u64,
    /// Entries seen fewer times than this in the corpus were left out
    /// (`1` for lists without counts).
    pub min_count: u64,
    /// The design false-positive rate.
    pub fp_rate: f64,
    /// Free text: what the filter was built from.
    pub description: String,
    /// Number of binary fuse filters (groups) in the file.
    pub group_count: u32,
    /// Bits of the key prefix the directory is indexed by (0 or 16).
    pub directory_bits: u32,
    /// Offset of the directory.
    pub directory_offset: u64,
    /// Offset of the group table.
    pub table_offset: u64,
    /// Total length of the file.
    pub file_len: u64,
    /// BLAKE2b-256 of every byte after the header.
    pub body_checksum: [u8; 32],
    /// BLAKE2b-256 of the header itself (bytes 0..4064).
    pub header_checksum: [u8; 32],
}

impl Header {
    /// Serialises the header into its 4096 bytes, checksum included.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; HEADER_LEN as usize];
        b[0..8].copy_from_slice(&MAGIC);
        put32(&mut b, 8, self.version);
        put32(&mut b, 12, HEADER_LEN as u32);
        put32(&mut b, 16, self.fingerprint.bits());
        put32(&mut b, 20, self.directory_bits);
        put32(&mut b, 24, self.kind.code());
        put32(&mut b, 28, self.group_count);
        put64(&mut b, 32, self.entry_count);
        put64(&mut b, 40, self.min_count);
        b[48..56].copy_from_slice(&self.fp_rate.to_le_bytes());
        put64(&mut b, 56, self.directory_offset);
        put64(&mut b, 64, self.table_offset);
        put64(&mut b, 72, self.file_len);
        b[80..112].copy_from_slice(&self.body_checksum);
        let desc = truncate_utf8(&self.description, MAX_DESCRIPTION_BYTES);
        put32(&mut b, 112, desc.len() as u32);
        b[DESCRIPTION_AT..DESCRIPTION_AT + desc.len()].copy_from_slice(desc.as_bytes());
        let sum = Blake2b256::digest(&b[..HEADER_SUM_AT]);
        b[HEADER_SUM_AT..].copy_from_slice(&sum);
        b
    }

    /// Parses and validates a header read from a file of `actual_len`
    /// bytes. Checks, in order: length, magic, version, checksum, then that
    /// every field is consistent with the others and with the file length.
    pub(crate) fn decode(b: &[u8], actual_len: u64) -> Result<Header, FilterError> {
        let corrupt = |why: &str| FilterError::Corrupt(why.to_owned());
        if b.len() < 16 || actual_len < 16 {
            return Err(FilterError::Truncated {
                len: actual_len,
                needed: HEADER_LEN,
            });
        }
        if b[0..8] != MAGIC {
            return Err(FilterError::Foreign);
        }
        let version = get32(b, 8);
        if version > FORMAT_VERSION {
            return Err(FilterError::NewerVersion { version });
        }
        if version != FORMAT_VERSION || get32(b, 12) as u64 != HEADER_LEN {
            return Err(corrupt("unknown format version or header size"));
        }
        if (b.len() as u64) < HEADER_LEN || actual_len < HEADER_LEN {
            return Err(FilterError::Truncated {
                len: actual_len,
                needed: HEADER_LEN,
            });
        }
        let sum = Blake2b256::digest(&b[..HEADER_SUM_AT]);
        if sum.as_slice() != &b[HEADER_SUM_AT..HEADER_LEN as usize] {
            return Err(corrupt("the header checksum does not match"));
        }
        let fingerprint = FingerprintBits::from_bits(get32(b, 16))
            .ok_or_else(|| corrupt("fingerprint width is not 16 or 32"))?;
        let directory_bits = get32(b, 20);
        if directory_bits != 0 && directory_bits != DIRECTORY_BITS {
            return Err(corrupt("directory width is not 0 or 16"));
        }
        let kind = FilterKind::from_code(get32(b, 24)).ok_or_else(|| corrupt("unknown kind"))?;
        let desc_len = get32(b, 112) as usize;
        if desc_len > MAX_DESCRIPTION_BYTES {
            return Err(corrupt("description too long"));
        }
        let description =
            String::from_utf8_lossy(&b[DESCRIPTION_AT..DESCRIPTION_AT + desc_len]).into_owned();
        let mut body_checksum = [0u8; 32];
        body_checksum.copy_from_slice(&b[80..112]);
        let mut header_checksum = [0u8; 32];
        header_checksum.copy_from_slice(&b[HEADER_SUM_AT..HEADER_LEN as usize]);
        let h = Header {
            version,
            kind,
            fingerprint,
            entry_count: get64(b, 32),
            min_count: get64(b, 40),
            fp_rate: f64::from_le_bytes(get8(b, 48)),
            description,
            group_count: get32(b, 28),
            directory_bits,
            directory_offset: get64(b, 56),
            table_offset: get64(b, 64),
            file_len: get64(b, 72),
            body_checksum,
            header_checksum,
        };
        if h.file_len != actual_len {
            return Err(if actual_len < h.file_len {
                FilterError::Truncated {
                    len: actual_len,
                    needed: h.file_len,
                }
            } else {
                corrupt("the file is longer than its header says")
            });
        }
        let dir_len = if h.group_count == 0 {
            0
        } else {
            (1u64 << h.directory_bits) * DIR_ENTRY_LEN
        };
        let table_len = u64::from(h.group_count) * GROUP_LEN;
        let consistent = h.directory_offset >= HEADER_LEN
            && h.directory_offset.checked_add(dir_len) == Some(h.table_offset)
            && h.table_offset.checked_add(table_len) == Some(h.file_len)
            && (h.group_count > 0 || h.entry_count == 0)
            && (h.directory_bits == 16 || h.group_count <= 1);
        if !consistent {
            return Err(corrupt("the section offsets are inconsistent"));
        }
        Ok(h)
    }
}

/// Width of the directory when a filter has more than one group.
pub(crate) const DIRECTORY_BITS: u32 = 16;

/// Where one binary fuse filter lives and how to hash into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Group {
    pub offset: u64,
    pub seed: u64,
    pub segment_length: u32,
    pub segment_count_length: u32,
    pub array_len: u32,
    pub entries: u32,
}

impl Group {
    pub(crate) fn encode(&self) -> [u8; GROUP_LEN as usize] {
        let mut b = [0u8; GROUP_LEN as usize];
        put64(&mut b, 0, self.offset);
        put64(&mut b, 8, self.seed);
        put32(&mut b, 16, self.segment_length);
        put32(&mut b, 20, self.segment_count_length);
        put32(&mut b, 24, self.array_len);
        put32(&mut b, 28, self.entries);
        b
    }

    /// The packed form held by the directory: seed (8 bytes), array
    /// offset / 8 (4), segment count (3), log2 of the segment length (1).
    /// The array length, `(segment count + 2) × segment length`, follows.
    pub(crate) fn encode_entry(&self) -> Option<[u8; DIR_ENTRY_LEN as usize]> {
        let mut b = [0u8; DIR_ENTRY_LEN as usize];
        let segment_count = self.segment_count_length / self.segment_length;
        let fits = self.offset.is_multiple_of(8)
            && self.offset / 8 <= u64::from(u32::MAX)
            && segment_count < 1 << 24
            && self.segment_length.is_power_of_two()
            && u64::from(segment_count + 2) * u64::from(self.segment_length)
                == u64::from(self.array_len);
        if !fits {
            return None;
        }
        put64(&mut b, 0, self.seed);
        put32(&mut b, 8, (self.offset / 8) as u32);
        put32(
            &mut b,
            12,
            segment_count | (self.segment_length.trailing_zeros() << 24),
        );
        Some(b)
    }

    /// Parses a directory entry, range-checked like [`Group::decode`].
    pub(crate) fn decode_entry(
        b: &[u8; DIR_ENTRY_LEN as usize],
        header: &Header,
    ) -> Result<Group, FilterError> {
        let packed = get32(b, 12);
        let shift = packed >> 24;
        let segment_count = packed & 0x00ff_ffff;
        if shift > 24 {
            return Err(FilterError::Corrupt(
                "a directory entry is out of range".into(),
            ));
        }
        let segment_length = 1u32 << shift;
        let array_len = (u64::from(segment_count) + 2) << shift;
        let g = Group {
            offset: u64::from(get32(b, 8)) * 8,
            seed: get64(b, 0),
            segment_length,
            segment_count_length: segment_count << shift,
            array_len: u32::try_from(array_len)
                .map_err(|_| FilterError::Corrupt("a directory entry is out of range".into()))?,
            entries: 0,
        };
        g.check(header)
    }

    /// Parses a descriptor and checks that every index a lookup can compute
    /// stays inside its array, and the array inside the fingerprint area.
    pub(crate) fn decode(
        b: &[u8; GROUP_LEN as usize],
        header: &Header,
    ) -> Result<Group, FilterError> {
        let g = Group {
            offset: get64(b, 0),
            seed: get64(b, 8),
            segment_length: get32(b, 16),
            segment_count_length: get32(b, 20),
            array_len: get32(b, 24),
            entries: get32(b, 28),
        };
        g.check(header)
    }

    fn check(self, header: &Header) -> Result<Group, FilterError> {
        let g = self;
        let fp = header.fingerprint.bytes();
        let end = u64::from(g.array_len)
            .checked_mul(fp)
            .and_then(|n| n.checked_add(g.offset));
        let max_index = u64::from(g.segment_count_length) + 2 * u64::from(g.segment_length);
        let ok = g.segment_length.is_power_of_two()
            && g.offset >= HEADER_LEN
            && end.is_some_and(|e| e <= header.directory_offset)
            && max_index <= u64::from(g.array_len);
        if ok {
            Ok(g)
        } else {
            Err(FilterError::Corrupt(
                "a group descriptor is out of range".into(),
            ))
        }
    }

    /// The three array positions and the fingerprint of `key`: binary fuse
    /// hashing exactly as xorf 0.13 builds it (`tests::lookup_matches_xorf`
    /// pins this; the format version changes if it ever has to).
    pub(crate) fn probe(&self, key: u64) -> ([u32; 3], u64) {
        let hash = murmur_mix64(key.wrapping_add(self.seed));
        let fingerprint = hash ^ (hash >> 32);
        let hi = ((u128::from(hash) * u128::from(self.segment_count_length)) >> 64) as u32;
        let mask = self.segment_length - 1;
        let h0 = hi;
        let h1 = (h0 + self.segment_length) ^ (((hash >> 18) as u32) & mask);
        let h2 = (h0 + 2 * self.segment_length) ^ ((hash as u32) & mask);
        ([h0, h1, h2], fingerprint)
    }
}

/// MurmurHash3's 64-bit finaliser, the mix xorf applies to `key + seed`.
fn murmur_mix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

fn truncate_utf8(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}
fn get8(b: &[u8], at: usize) -> [u8; 8] {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    a
}
fn get32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}
fn get64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(get8(b, at))
}
