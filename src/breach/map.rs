//! A read-only memory map of a filter file: the library's one `unsafe`
//! block, kept to the call that creates the map.
//!
//! Why a map and not positioned reads: a lookup touches four small pieces
//! of the file, and four `pread` system calls cost about 2 µs of CPU on a
//! machine with today's speculative-execution mitigations, where reading
//! four mapped pages that are in the page cache costs a fraction of that
//! (BENCHMARKS.md, "Breach filter").
//!
//! What the `unsafe` relies on: nobody changes the mapped bytes while the
//! map is alive. `pwsentry breach build` and `blocklist build` never write
//! into an existing filter: they write a temporary file and rename it over
//! the old one, which leaves a running process's map on the old inode,
//! intact. A filter is a trusted file (regular, not writable by group or
//! others, owned by root or the caller: `crate::trusted_file`), so only
//! its owner could rewrite it in place. If the owner does truncate it in
//! place, a lookup in the missing part ends the process with `SIGBUS`
//! rather than an error; rewriting it in place gives wrong answers until
//! the process reopens it. Both are documented in docs/breach.md.
#![allow(unsafe_code)]

use std::fs::File;

/// The whole file, mapped read-only and private.
pub(super) struct FileMap(memmap2::Mmap);

impl FileMap {
    /// Maps `file` (a regular file of at least one byte).
    pub(super) fn new(file: &File) -> std::io::Result<FileMap> {
        // SAFETY: the map is read-only and private, and the file is a
        // trusted filter that pwsentry only ever replaces by rename (see
        // the module docs for what an owner who truncates it in place
        // gets). No reference into the map outlives `FileMap`.
        let map = unsafe { memmap2::MmapOptions::new().map(file)? };
        // Lookups jump around a file of up to gigabytes: read-ahead would
        // only fill the page cache with fingerprints nobody asks for.
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Random);
        Ok(FileMap(map))
    }

    /// The mapped bytes.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for FileMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileMap({} bytes)", self.0.len())
    }
}
