//! Breached-password and big-blocklist filters: a file of binary fuse
//! filters over SHA-1 keys, looked up in O(1) straight from the file.
//!
//! Opening a filter maps the file read-only into memory and checks its
//! 4 KiB header only; each lookup then touches four small pieces of the
//! map (the 16-byte directory entry of the key's prefix, three
//! fingerprints), so a 4 GiB corpus costs nothing at start-up and well
//! under a microsecond per lookup once its pages are in the page cache.
//! The map is the library's one `unsafe` block (`map.rs`); what it relies
//! on, and what happens when a filter is truncated in place under a running
//! process, is written there.
//!
//! Keys are the first 8 bytes (big-endian) of the SHA-1 of a password, so
//! a filter built from Have I Been Pwned's `HASH:COUNT` lines matches the
//! password as typed. Building lives in [`build`]. This module never
//! prints and never reads the environment or the clock.

pub mod build;
mod format;
mod map;

pub use format::{FORMAT_VERSION, FilterKind, FingerprintBits, Header, MAX_DESCRIPTION_BYTES};

use format::{DIR_ENTRY_LEN, Group, HEADER_LEN};
use map::FileMap;
use sha1::{Digest, Sha1};
use std::path::{Path, PathBuf};
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

/// Why a filter file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// The file could not be opened or read.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A FIFO, device or directory where a filter file was expected.
    #[error("not a regular file")]
    NotRegular,
    /// A file pwsentry does not trust (writable by everyone); the message
    /// says how to fix it.
    #[error("{0}")]
    Untrusted(crate::trusted_file::FileProblem),
    /// Shorter than its header says.
    #[error("truncated: {len} bytes, expected {needed}; rebuild it with `pwsentry breach build`")]
    Truncated {
        /// Bytes in the file.
        len: u64,
        /// Bytes the header says it has.
        needed: u64,
    },
    /// Not a pwsentry filter file at all.
    #[error(
        "not a pwsentry filter file (wrong magic bytes); build one with `pwsentry breach build` or `pwsentry blocklist build`"
    )]
    Foreign,
    /// Written by a newer pwsentry.
    #[error(
        "filter format version {version} is newer than this pwsentry reads ({FORMAT_VERSION}); upgrade pwsentry or rebuild the filter"
    )]
    NewerVersion {
        /// The file's version.
        version: u32,
    },
    /// Damaged: a checksum or a field does not add up.
    #[error("corrupt filter file: {0}; rebuild it")]
    Corrupt(String),
    /// A breach filter where a blocklist filter was expected, or the reverse.
    #[error("is a {found} filter, expected a {expected} filter")]
    WrongKind {
        /// What the file is.
        found: &'static str,
        /// What the caller wanted.
        expected: &'static str,
    },
}

/// An open filter file. Cheap to share (`Send + Sync`): lookups take
/// `&self` and read the read-only map, so threads do not contend.
#[derive(Debug)]
pub struct Filter {
    map: FileMap,
    path: PathBuf,
    header: Header,
}

impl Filter {
    /// Opens `path`, reads and validates its header (magic, version,
    /// checksum, lengths). Refuses anything but a regular file, without
    /// blocking on a FIFO, and a file everyone may write
    /// ([`trusted_file`](crate::trusted_file), the policy's rule).
    ///
    /// # Errors
    /// [`FilterError`] naming what is wrong.
    pub fn open(path: impl AsRef<Path>) -> Result<Filter, FilterError> {
        use crate::trusted_file::{self, FileProblem, FileRole};
        let path = path.as_ref();
        // Opened once, without blocking, and judged by the open file: a
        // filter everyone may write could be emptied by anyone, which
        // switches the breach check off for every user.
        let file = trusted_file::open(path, FileRole::Config).map_err(|p| match p {
            FileProblem::Io(e) => FilterError::Io(e),
            FileProblem::NotRegular(_) => FilterError::NotRegular,
            other => FilterError::Untrusted(other),
        })?;
        let meta = file.metadata()?;
        let len = meta.len();
        if len < HEADER_LEN {
            // Too short to map usefully (an empty file cannot be mapped);
            // the header decoder names what is wrong.
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::Read::take(&file, HEADER_LEN), &mut buf)?;
            return Err(Header::decode(&buf, len)
                .err()
                .unwrap_or(FilterError::Truncated {
                    len,
                    needed: HEADER_LEN,
                }));
        }
        let map = FileMap::new(&file)?;
        let header = Header::decode(&map.bytes()[..HEADER_LEN as usize], len)?;
        Ok(Filter {
            map,
            path: path.to_owned(),
            header,
        })
    }

    /// Like [`Filter::open`], and checks that the filter is of `kind`.
    ///
    /// # Errors
    /// As [`Filter::open`], and [`FilterError::WrongKind`].
    pub fn open_kind(path: impl AsRef<Path>, kind: FilterKind) -> Result<Filter, FilterError> {
        let filter = Filter::open(path)?;
        if filter.header.kind != kind {
            return Err(FilterError::WrongKind {
                found: filter.header.kind.name(),
                expected: kind.name(),
            });
        }
        Ok(filter)
    }

    /// The validated header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The file this filter was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `true` when `key` is (probably) in the filter: never a false
    /// negative, false positives at about [`Header::fp_rate`].
    ///
    /// # Errors
    /// [`FilterError`] when the file cannot be read or a descriptor is out
    /// of range (the file changed or was damaged after it was opened).
    pub fn contains_key(&self, key: u64) -> Result<bool, FilterError> {
        let h = &self.header;
        if h.group_count == 0 {
            return Ok(false);
        }
        let bucket = if h.directory_bits == 0 {
            0
        } else {
            key >> (64 - h.directory_bits)
        };
        let entry = self.array_at(h.directory_offset + bucket * DIR_ENTRY_LEN)?;
        let group = Group::decode_entry(entry, h)?;
        let (positions, fingerprint) = group.probe(key);
        let width = h.fingerprint.bytes();
        let mut acc = fingerprint;
        for p in positions {
            let b = self.bytes_at(group.offset + u64::from(p) * width, width)?;
            acc ^= b.iter().rev().fold(0u64, |v, x| (v << 8) | u64::from(*x));
        }
        let mask = if width == 2 { 0xffff } else { 0xffff_ffff };
        Ok(acc & mask == 0)
    }

    /// The `len` bytes at `offset`; an error, not a panic, when they lie
    /// outside the file (a descriptor the header checks did not cover).
    fn bytes_at(&self, offset: u64, len: u64) -> Result<&[u8], FilterError> {
        let bytes = self.map.bytes();
        usize::try_from(offset)
            .ok()
            .zip(usize::try_from(len).ok())
            .and_then(|(at, n)| bytes.get(at..at.checked_add(n)?))
            .ok_or_else(|| {
                FilterError::Corrupt(format!(
                    "{len} bytes at offset {offset} lie beyond the end of the file ({} bytes)",
                    bytes.len()
                ))
            })
    }

    /// The `N` bytes at `offset`, as an array.
    fn array_at<const N: usize>(&self, offset: u64) -> Result<&[u8; N], FilterError> {
        let bytes = self.bytes_at(offset, N as u64)?;
        <&[u8; N]>::try_from(bytes).map_err(|_| FilterError::Corrupt("short read".into()))
    }

    /// `true` when `text`'s SHA-1 key is in the filter.
    ///
    /// # Errors
    /// As [`Filter::contains_key`].
    pub fn contains(&self, text: &str) -> Result<bool, FilterError> {
        self.contains_key(key_of(text.as_bytes()))
    }

    /// Reads the whole body and compares it with the header's checksum:
    /// linear in the file size (seconds for the full corpus), for `breach
    /// info --verify`, never on the lookup path.
    ///
    /// # Errors
    /// [`FilterError::Corrupt`] when the checksum differs; I/O errors.
    pub fn verify_body(&self) -> Result<(), FilterError> {
        use blake2::{Blake2b256, Digest as _};
        let mut hasher = Blake2b256::new();
        hasher.update(self.bytes_at(HEADER_LEN, self.header.file_len - HEADER_LEN)?);
        if hasher.finalize().as_slice() != self.header.body_checksum {
            return Err(FilterError::Corrupt(
                "the body checksum does not match".into(),
            ));
        }
        // The group table is not on the lookup path; check it here.
        for n in 0..u64::from(self.header.group_count) {
            let g = self.array_at(self.header.table_offset + n * format::GROUP_LEN)?;
            Group::decode(g, &self.header)?;
        }
        Ok(())
    }
}

/// `true` when `head` starts with a filter file's magic bytes.
pub fn is_filter_magic(head: &[u8]) -> bool {
    head.starts_with(&format::MAGIC)
}

/// The filter key of `bytes`: the first 8 bytes of their SHA-1, big-endian
/// (so keys sort like the hex hashes of Have I Been Pwned's files).
pub fn key_of(bytes: &[u8]) -> u64 {
    let digest = Sha1::digest(bytes);
    let mut k = [0u8; 8];
    k.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(k)
}

/// The form a blocklist entry and a candidate are compared in, for plain
/// and filter blocklists alike.
///
/// Today this is the blocklist's own matching (NFC, lowercase). It is the
/// one place to repoint when blocklists move to the NFKC + case-folded
/// matching view.
pub fn blocklist_form(text: &str) -> Zeroizing<String> {
    Zeroizing::new(crate::blocklist::fold(text))
}

/// The forms of a candidate looked up in a breach filter, without
/// duplicates: as typed, its NFC form and its NFKC form.
///
/// Have I Been Pwned hashes the bytes of a password as it was typed,
/// case-sensitive, so those forms are looked up as they are (not case
/// folded): a case variant common enough to matter is in the corpus
/// itself. NFC and NFKC catch the same text typed decomposed or in
/// compatibility characters (fullwidth letters and digits), which is how
/// it most likely appears in a breach. For ASCII this is one lookup.
pub fn breach_forms(typed: &str) -> Vec<Zeroizing<String>> {
    let mut forms: Vec<Zeroizing<String>> = vec![Zeroizing::new(typed.to_owned())];
    if !typed.is_ascii() {
        for form in [
            Zeroizing::new(typed.nfc().collect::<String>()),
            Zeroizing::new(typed.nfkc().collect::<String>()),
        ] {
            if !forms.iter().any(|f| f.as_str() == form.as_str()) {
                forms.push(form);
            }
        }
    }
    forms
}

#[cfg(test)]
mod tests;
