//! Building a filter file from Have I Been Pwned's corpus or from plain
//! password lists, streaming, in flat memory.
//!
//! Keys arrive sorted from a sorted `HASH:COUNT` file or a directory of
//! 5-hex-prefix files: they are cut into groups of about a million keys at
//! 16-bit prefix boundaries, and each group becomes a binary fuse filter
//! written out before the next is read, so memory is bounded by one group
//! (about 40 MiB), not by the input. Unsorted input (plain lists, whose
//! hashes come in any order, or a `HASH:COUNT` file that turns out not to
//! be sorted) first goes to 256 temporary shard files by the key's first
//! byte, each then sorted alone. The output is written to a temporary file
//! in the destination folder, synced, and renamed over the destination: a
//! failed build leaves nothing behind. Nothing here prints; progress goes
//! through [`Progress`].

use super::format::{
    DIR_ENTRY_LEN, DIRECTORY_BITS, FORMAT_VERSION, FilterKind, FingerprintBits, GROUP_LEN, Group,
    HEADER_LEN, Header,
};
use super::{blocklist_form, key_of};
use blake2::{Blake2b256, Digest};
use std::fs::File;
use std::io::{BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// A group is closed at the first 16-bit prefix boundary after it holds
/// this many keys: large enough that binary fuse filters reach their
/// best size (≈ 2.26 bytes per key at 16 bits), small enough that building
/// one takes about 40 MiB. (Unit tests use small groups, to cover
/// many-group files quickly.)
const GROUP_TARGET: usize = if cfg!(test) { 1 << 14 } else { 1 << 20 };
/// More keys than this under one 16-bit prefix cannot come from SHA-1
/// (the full corpus has about 30,000 per prefix): refused, so that crafted
/// input cannot make one group, and the memory to build it, unbounded.
const MAX_KEYS_PER_PREFIX: usize = if cfg!(test) { 1 << 12 } else { 1 << 21 };
/// Keys one temporary shard may hold before the build stops (8 M keys,
/// 64 MiB to sort): unsorted input of up to about 2 billion entries.
const MAX_KEYS_PER_SHARD: u64 = 8 << 20;
/// Temporary shards for unsorted input, by the key's first byte.
const SHARDS: usize = 256;
/// Longest input line, in bytes.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Size of the read buffer.
const READ_BUFFER: usize = 1 << 20;

/// What an input holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum InputFormat {
    /// Decide from the first non-empty line of each input: 40 hex digits,
    /// `:` and a count is Have I Been Pwned's format, anything else a plain
    /// list. A directory is always the per-prefix layout.
    #[default]
    Auto,
    /// `SHA1HEX:COUNT` lines (or, in a file named by a 5-hex prefix,
    /// 35-hex suffixes `SUFFIX:COUNT`).
    Hibp,
    /// One password per line, hashed as read.
    Plain,
}

/// Where input comes from.
pub enum Input {
    /// A file (`HASH:COUNT` lines or a plain list) or a directory of
    /// 5-hex-prefix files as the official downloader writes them.
    Path(PathBuf),
    /// An already open stream (standard input), named for messages. Read
    /// once: if it is a `HASH:COUNT` stream it must be sorted.
    Stream {
        /// Name used in messages, e.g. `<stdin>`.
        name: String,
        /// The bytes.
        reader: Box<dyn Read>,
    },
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::Path(p) => write!(f, "Input::Path({})", p.display()),
            Input::Stream { name, .. } => write!(f, "Input::Stream({name})"),
        }
    }
}

/// How to build.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BuildOptions {
    /// Breach corpus (passwords as typed) or blocklist (matching form).
    pub kind: FilterKind,
    /// Fingerprint width.
    pub fingerprint: FingerprintBits,
    /// Leave out `HASH:COUNT` entries seen fewer times than this.
    pub min_count: u64,
    /// What the inputs hold.
    pub format: InputFormat,
    /// Free text stored in the header (what the filter was built from).
    pub description: String,
    /// Skip (and count) malformed lines instead of stopping at the first.
    pub skip_bad_lines: bool,
    /// Folder for temporary shards (default: the output's folder).
    pub temp_dir: Option<PathBuf>,
}

impl BuildOptions {
    /// Defaults for `kind`: 16-bit fingerprints, min count 1, auto format.
    pub fn new(kind: FilterKind) -> BuildOptions {
        BuildOptions {
            kind,
            fingerprint: FingerprintBits::Sixteen,
            min_count: 1,
            format: InputFormat::Auto,
            description: String::new(),
            skip_bad_lines: false,
            temp_dir: None,
        }
    }
}

/// Receives progress from a build (the CLI draws a bar with it).
pub trait Progress {
    /// Total input bytes, when known (files), before reading starts.
    fn start(&mut self, _total_bytes: Option<u64>) {}
    /// `bytes` more input bytes and `lines` more lines were read.
    fn advance(&mut self, _bytes: u64, _lines: u64) {}
    /// A new phase began (e.g. sorting temporary shards).
    fn phase(&mut self, _what: &str) {}
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Default)]
pub struct NoProgress;
impl Progress for NoProgress {}

/// What a build did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BuildSummary {
    /// Lines read.
    pub lines: u64,
    /// Distinct entries in the filter.
    pub entries: u64,
    /// Entries left out by `min_count`.
    pub below_min_count: u64,
    /// Repeated entries (or distinct hashes sharing their first 64 bits).
    pub duplicates: u64,
    /// Malformed lines skipped (with `skip_bad_lines`).
    pub bad_lines: u64,
    /// Binary fuse filters in the file.
    pub groups: u32,
    /// Size of the file written.
    pub file_len: u64,
    /// `true` when the keys went through temporary shards.
    pub used_temporary_shards: bool,
}

/// Why a build failed. The output file is not created or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Reading an input or writing the output failed.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A malformed input line.
    #[error("{file}, line {line}: {reason}")]
    BadLine {
        /// The input.
        file: String,
        /// 1-based line number.
        line: u64,
        /// What is wrong with it (never the line itself: it may be a password).
        reason: String,
    },
    /// A `HASH:COUNT` stream that is not sorted by hash (a file is reread
    /// through temporary shards instead; a stream cannot be).
    #[error(
        "{file}, line {line}: not sorted by hash; sort it (`LC_ALL=C sort`) or pass a file instead of a stream"
    )]
    NotSorted {
        /// The input.
        file: String,
        /// 1-based line number.
        line: u64,
    },
    /// Input that cannot be SHA-1 hashes of a corpus (far too many under
    /// one prefix), or too large for the temporary shards.
    #[error("{0}")]
    Unsupported(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Builds the filter file `output` from `inputs`.
///
/// # Errors
/// [`BuildError`]; on error no output file is created or replaced.
pub fn build(
    inputs: Vec<Input>,
    output: &Path,
    options: &BuildOptions,
    progress: &mut dyn Progress,
) -> Result<BuildSummary, BuildError> {
    let mut sniffed = Vec::with_capacity(inputs.len());
    for input in inputs {
        sniffed.push(sniff(input, options)?);
    }
    let rereadable = sniffed.iter().all(|(i, _)| matches!(i, Input::Path(_)));
    let total = rereadable.then(|| {
        sniffed
            .iter()
            .filter_map(|(i, _)| match i {
                Input::Path(p) => Some(input_size(p)),
                Input::Stream { .. } => None,
            })
            .sum()
    });
    // Plain lists hash to keys in random order: they go through shards.
    let shards = sniffed.iter().any(|(_, shape)| *shape == Shape::Plain);
    let paths: Vec<(PathBuf, Shape)> = sniffed
        .iter()
        .filter_map(|(i, s)| match i {
            Input::Path(p) => Some((p.clone(), *s)),
            Input::Stream { .. } => None,
        })
        .collect();
    progress.start(total);
    match run(sniffed, output, options, progress, shards) {
        Err(BuildError::NotSorted { .. }) if rereadable && !shards => {
            progress.phase("input not sorted by hash: rereading through temporary shards");
            progress.start(total);
            let inputs = paths
                .into_iter()
                .map(|(p, s)| (Input::Path(p), s))
                .collect();
            run(inputs, output, options, progress, true)
        }
        other => other,
    }
}

/// Decides the shape of an input from its first non-empty line (a
/// stream's first bytes are kept and put back in front of it).
fn sniff(input: Input, options: &BuildOptions) -> Result<(Input, Shape), BuildError> {
    if options.kind == FilterKind::Blocklist || options.format == InputFormat::Plain {
        return Ok((input, Shape::Plain));
    }
    if options.format == InputFormat::Hibp {
        return Ok((input, Shape::Hibp));
    }
    match input {
        Input::Path(path) => {
            let meta = std::fs::metadata(&path).map_err(io_err(&path))?;
            if meta.is_dir() {
                return Ok((Input::Path(path), Shape::Hibp));
            }
            let prefix = path
                .file_name()
                .and_then(|n| prefix_of_name(&n.to_string_lossy()));
            let mut head = Vec::new();
            open_regular(&path)?
                .take(MAX_LINE_BYTES as u64)
                .read_to_end(&mut head)
                .map_err(io_err(&path))?;
            let shape = shape_of(&head, prefix);
            Ok((Input::Path(path), shape))
        }
        Input::Stream { name, mut reader } => {
            let mut head = vec![0u8; MAX_LINE_BYTES];
            let mut n = 0;
            // Read until a non-empty line is complete, or the limit.
            while n < head.len() {
                let m = match reader.read(&mut head[n..]) {
                    Ok(m) => m,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(source) => {
                        return Err(BuildError::Io {
                            path: PathBuf::from(&name),
                            source,
                        });
                    }
                };
                if m == 0 {
                    break;
                }
                n += m;
                let seen = &head[..n];
                let trimmed = seen.iter().position(|b| *b != b'\n' && *b != b'\r');
                if trimmed.is_some_and(|t| seen[t..].contains(&b'\n')) {
                    break;
                }
            }
            head.truncate(n);
            let shape = shape_of(&head, None);
            let reader: Box<dyn Read> = Box::new(std::io::Cursor::new(head).chain(reader));
            Ok((Input::Stream { name, reader }, shape))
        }
    }
}

fn shape_of(head: &[u8], prefix: Option<u32>) -> Shape {
    let first = head
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .find(|l| !l.is_empty());
    match first {
        Some(line) if !looks_like_hibp(line, prefix) => Shape::Plain,
        _ => Shape::Hibp,
    }
}

fn input_size(p: &Path) -> u64 {
    match std::fs::metadata(p) {
        Ok(m) if m.is_dir() => std::fs::read_dir(p)
            .map(|d| {
                d.filter_map(|e| e.ok()?.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

fn run(
    inputs: Vec<(Input, Shape)>,
    output: &Path,
    options: &BuildOptions,
    progress: &mut dyn Progress,
    shards: bool,
) -> Result<BuildSummary, BuildError> {
    let mut writer = FilterWriter::create(output, options)?;
    let mut summary = BuildSummary {
        used_temporary_shards: shards,
        ..BuildSummary::default()
    };
    if shards {
        let temp_dir = options
            .temp_dir
            .clone()
            .unwrap_or_else(|| parent_dir(output));
        let mut spill = Spill::create(&temp_dir)?;
        for (input, shape) in inputs {
            read_input(
                input,
                shape,
                options,
                progress,
                &mut summary,
                &mut |key, _| spill.push(key),
            )?;
        }
        progress.phase("sorting temporary shards");
        spill.drain(&mut writer)?;
    } else {
        let mut sorted = SortedSink::new(&mut writer);
        for (input, shape) in inputs {
            read_input(
                input,
                shape,
                options,
                progress,
                &mut summary,
                &mut |key, at| {
                    sorted.push(key).map_err(|e| match (e, at) {
                        (BuildError::NotSorted { .. }, Some((file, line))) => {
                            BuildError::NotSorted {
                                file: file.to_owned(),
                                line,
                            }
                        }
                        (other, _) => other,
                    })
                },
            )?;
        }
        sorted.finish()?;
    }
    summary.duplicates = writer.duplicates;
    summary.entries = writer.entries;
    summary.groups = writer.groups.len() as u32;
    summary.file_len = writer.finish(options, summary.below_min_count)?;
    Ok(summary)
}

fn parent_dir(p: &Path) -> PathBuf {
    p.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_owned()
}

// ---- reading inputs ------------------------------------------------------

/// Where a key came from: `Some((file, line))` for a `HASH:COUNT` line (so
/// an ordering error can name it), `None` for a plain-list line.
type At<'a> = Option<(&'a str, u64)>;

fn read_input(
    input: Input,
    shape: Shape,
    options: &BuildOptions,
    progress: &mut dyn Progress,
    summary: &mut BuildSummary,
    sink: &mut dyn FnMut(u64, At<'_>) -> Result<(), BuildError>,
) -> Result<(), BuildError> {
    match input {
        Input::Stream { name, reader } => read_stream(
            reader,
            &name,
            (None, shape),
            options,
            progress,
            summary,
            sink,
        ),
        Input::Path(path) => {
            let meta = std::fs::metadata(&path).map_err(io_err(&path))?;
            if meta.is_dir() {
                let mut files = Vec::new();
                for entry in std::fs::read_dir(&path).map_err(io_err(&path))? {
                    let entry = entry.map_err(io_err(&path))?;
                    let name = entry.file_name();
                    let name = name.to_string_lossy();
                    if name.starts_with('.') {
                        continue;
                    }
                    let Some(prefix) = prefix_of_name(&name) else {
                        return Err(BuildError::Unsupported(format!(
                            "{}: unexpected file `{}` in a per-prefix corpus folder (expected names like 0A1B2.txt)",
                            path.display(),
                            name.escape_debug()
                        )));
                    };
                    files.push((prefix, entry.path()));
                }
                files.sort();
                for (prefix, file) in files {
                    let f = open_regular(&file)?;
                    let name = file.display().to_string();
                    read_stream(
                        Box::new(f),
                        &name,
                        (Some(prefix), Shape::Hibp),
                        options,
                        progress,
                        summary,
                        sink,
                    )?;
                }
                Ok(())
            } else {
                let f = open_regular(&path)?;
                let name = path.display().to_string();
                // A single prefix file (`0A1B2.txt`) holds 35-hex suffixes.
                let prefix = path
                    .file_name()
                    .and_then(|n| prefix_of_name(&n.to_string_lossy()));
                read_stream(
                    Box::new(f),
                    &name,
                    (prefix, shape),
                    options,
                    progress,
                    summary,
                    sink,
                )
            }
        }
    }
}

fn open_regular(path: &Path) -> Result<File, BuildError> {
    let meta = std::fs::metadata(path).map_err(io_err(path))?;
    if !meta.is_file() {
        return Err(BuildError::Unsupported(format!(
            "{}: not a regular file",
            path.display()
        )));
    }
    File::open(path).map_err(io_err(path))
}

/// `0A1B2` or `0A1B2.txt` → the 20-bit prefix.
fn prefix_of_name(name: &str) -> Option<u32> {
    let stem = name.strip_suffix(".txt").unwrap_or(name);
    if stem.len() != 5 {
        return None;
    }
    let mut v = 0u32;
    for b in stem.bytes() {
        v = (v << 4) | u32::from(hex_value(b)?);
    }
    Some(v)
}

/// Hex digit values, `0xff` for anything else (one load per digit on the
/// hot path of a 2-billion-line build).
const HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

fn hex_value(b: u8) -> Option<u8> {
    let v = HEX[usize::from(b)];
    (v != 0xff).then_some(v)
}

/// The line's shape, decided by its first non-empty line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Hibp,
    Plain,
}

fn looks_like_hibp(line: &[u8], prefix: Option<u32>) -> bool {
    let hex_len = if prefix.is_some() { 35 } else { 40 };
    line.len() > hex_len + 1
        && line[..hex_len].iter().all(|b| hex_value(*b).is_some())
        && line[hex_len] == b':'
        && line[hex_len + 1..].iter().all(u8::is_ascii_digit)
}

/// Reads one stream; `layout` is the 20-bit prefix of a per-prefix file
/// (its lines then hold 35-hex suffixes) and the line shape.
fn read_stream(
    reader: Box<dyn Read>,
    name: &str,
    layout: (Option<u32>, Shape),
    options: &BuildOptions,
    progress: &mut dyn Progress,
    summary: &mut BuildSummary,
    sink: &mut dyn FnMut(u64, At<'_>) -> Result<(), BuildError>,
) -> Result<(), BuildError> {
    let (prefix, shape) = layout;
    let mut lines = LineReader::new(reader);
    let mut reported = (0u64, 0u64);
    loop {
        let range = match lines.next_line() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(LineError::Io(e)) => {
                return Err(BuildError::Io {
                    path: PathBuf::from(name),
                    source: e,
                });
            }
            Err(LineError::TooLong) => {
                return Err(BuildError::BadLine {
                    file: name.to_owned(),
                    line: lines.line_no + 1,
                    reason: format!("longer than {MAX_LINE_BYTES} bytes"),
                });
            }
        };
        let line_no = lines.line_no;
        let line = lines.slice(range);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line_no - reported.1 >= 65_536 {
            progress.advance(lines.bytes - reported.0, line_no - reported.1);
            reported = (lines.bytes, line_no);
        }
        if line.is_empty() {
            continue;
        }
        let parsed = match shape {
            Shape::Hibp => parse_hibp(line, prefix).map(|(key, count)| (key, Some(count))),
            Shape::Plain => parse_plain(line, options.kind).map(|key| (key, None)),
        };
        match parsed {
            Ok((key, count)) => {
                if count.is_some_and(|c| c < options.min_count) {
                    summary.below_min_count += 1;
                    continue;
                }
                let at = count.map(|_| (name, line_no));
                sink(key, at)?;
            }
            Err(reason) if options.skip_bad_lines => {
                let _ = reason;
                summary.bad_lines += 1;
            }
            Err(reason) => {
                return Err(BuildError::BadLine {
                    file: name.to_owned(),
                    line: line_no,
                    reason,
                });
            }
        }
    }
    progress.advance(lines.bytes - reported.0, lines.line_no - reported.1);
    summary.lines += lines.line_no;
    Ok(())
}

/// Parses `HASH40:COUNT` (or `SUFFIX35:COUNT` under `prefix`) into the key
/// and the count.
fn parse_hibp(line: &[u8], prefix: Option<u32>) -> Result<(u64, u64), String> {
    let hex_len = if prefix.is_some() { 35 } else { 40 };
    let colon = if line.get(hex_len) == Some(&b':') {
        hex_len
    } else {
        memchr::memchr(b':', line)
            .ok_or_else(|| format!("expected {hex_len} hex digits, `:` and a count (HASH:COUNT)"))?
    };
    if colon != hex_len {
        return Err(if prefix.is_none() && colon == 32 {
            "32 hex digits: this looks like the NTLM corpus; download the SHA-1 one".to_owned()
        } else {
            format!("expected {hex_len} hex digits before `:`, found {colon} characters")
        });
    }
    let key_digits = if prefix.is_some() { 11 } else { 16 };
    let mut key: u64 = prefix.map_or(0, u64::from);
    let mut bad = 0u8;
    for b in &line[..key_digits] {
        let v = HEX[usize::from(*b)];
        bad |= v;
        key = (key << 4) | u64::from(v & 0xf);
    }
    for b in &line[key_digits..hex_len] {
        bad |= HEX[usize::from(*b)];
    }
    // Every valid digit is below 16; 0xff marks a non-digit.
    if bad > 0xf {
        return Err("the hash is not hexadecimal".to_owned());
    }
    let digits = &line[colon + 1..];
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return Err("the count after `:` is not a whole number".to_owned());
    }
    let count = digits
        .iter()
        .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    Ok((key, count))
}

fn parse_plain(line: &[u8], kind: FilterKind) -> Result<u64, String> {
    let text = std::str::from_utf8(line).map_err(|_| "not valid UTF-8".to_owned())?;
    Ok(match kind {
        FilterKind::Blocklist => key_of(blocklist_form(text).as_bytes()),
        _ => key_of(text.as_bytes()),
    })
}

enum LineError {
    Io(std::io::Error),
    TooLong,
}

/// Splits a stream into lines with one fixed buffer (lines are bounded).
struct LineReader {
    reader: Box<dyn Read>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    line_no: u64,
    bytes: u64,
}

impl LineReader {
    fn new(reader: Box<dyn Read>) -> LineReader {
        LineReader {
            reader,
            buf: vec![0; READ_BUFFER],
            start: 0,
            end: 0,
            eof: false,
            line_no: 0,
            bytes: 0,
        }
    }

    fn slice(&self, r: std::ops::Range<usize>) -> &[u8] {
        &self.buf[r]
    }

    fn next_line(&mut self) -> Result<Option<std::ops::Range<usize>>, LineError> {
        loop {
            let window = &self.buf[self.start..self.end];
            if let Some(pos) = memchr::memchr(b'\n', window) {
                if pos > MAX_LINE_BYTES {
                    return Err(LineError::TooLong);
                }
                let s = self.start;
                self.start += pos + 1;
                self.line_no += 1;
                return Ok(Some(s..s + pos));
            }
            if window.len() > MAX_LINE_BYTES {
                return Err(LineError::TooLong);
            }
            if self.eof {
                if self.start < self.end {
                    let s = self.start;
                    self.start = self.end;
                    self.line_no += 1;
                    return Ok(Some(s..self.end));
                }
                return Ok(None);
            }
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            let n = loop {
                match self.reader.read(&mut self.buf[self.end..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(LineError::Io(e)),
                }
            };
            if n == 0 {
                self.eof = true;
            }
            self.end += n;
            self.bytes += n as u64;
        }
    }
}

// ---- sorted keys → groups ------------------------------------------------

/// Takes keys in ascending order, drops repeats and cuts them into groups.
struct SortedSink<'w> {
    writer: &'w mut FilterWriter,
    keys: Vec<u64>,
    last: Option<u64>,
    /// First 16-bit prefix of the open group.
    group_start: u32,
    /// Prefix of the last key, and how many keys share it.
    prefix: u32,
    in_prefix: usize,
}

impl<'w> SortedSink<'w> {
    fn new(writer: &'w mut FilterWriter) -> SortedSink<'w> {
        SortedSink {
            writer,
            keys: Vec::with_capacity(GROUP_TARGET + 64 * 1024),
            last: None,
            group_start: 0,
            prefix: 0,
            in_prefix: 0,
        }
    }

    fn push(&mut self, key: u64) -> Result<(), BuildError> {
        match self.last {
            Some(last) if key < last => {
                return Err(BuildError::NotSorted {
                    file: String::new(),
                    line: 0,
                });
            }
            Some(last) if key == last => {
                self.writer.duplicates += 1;
                return Ok(());
            }
            _ => {}
        }
        self.last = Some(key);
        let prefix = (key >> (64 - DIRECTORY_BITS)) as u32;
        if prefix != self.prefix {
            if self.keys.len() >= GROUP_TARGET {
                self.writer
                    .add_group(&self.keys, self.group_start, prefix)?;
                self.keys.clear();
                self.group_start = prefix;
            }
            self.prefix = prefix;
            self.in_prefix = 0;
        }
        self.in_prefix += 1;
        if self.in_prefix > MAX_KEYS_PER_PREFIX {
            return Err(BuildError::Unsupported(format!(
                "more than {MAX_KEYS_PER_PREFIX} entries share the hash prefix {prefix:04X}: these are not SHA-1 hashes of a corpus"
            )));
        }
        self.keys.push(key);
        Ok(())
    }

    fn finish(self) -> Result<(), BuildError> {
        if !self.keys.is_empty() {
            self.writer
                .add_group(&self.keys, self.group_start, 1 << DIRECTORY_BITS)?;
        }
        Ok(())
    }
}

// ---- temporary shards for unsorted keys -----------------------------------

struct Spill {
    shards: Vec<BufWriter<File>>,
    counts: Vec<u64>,
    dir: PathBuf,
}

impl Spill {
    fn create(dir: &Path) -> Result<Spill, BuildError> {
        let mut shards = Vec::with_capacity(SHARDS);
        for _ in 0..SHARDS {
            let f = tempfile::tempfile_in(dir).map_err(io_err(dir))?;
            shards.push(BufWriter::with_capacity(16 * 1024, f));
        }
        Ok(Spill {
            shards,
            counts: vec![0; SHARDS],
            dir: dir.to_owned(),
        })
    }

    fn push(&mut self, key: u64) -> Result<(), BuildError> {
        let s = (key >> 56) as usize;
        self.counts[s] += 1;
        if self.counts[s] > MAX_KEYS_PER_SHARD {
            return Err(BuildError::Unsupported(format!(
                "unsorted input too large: more than {} million entries in one of {SHARDS} temporary shards; pass a sorted HASH:COUNT file",
                MAX_KEYS_PER_SHARD >> 20
            )));
        }
        self.shards[s]
            .write_all(&key.to_le_bytes())
            .map_err(io_err(&self.dir))
    }

    fn drain(self, writer: &mut FilterWriter) -> Result<(), BuildError> {
        let dir = self.dir;
        let mut sink = SortedSink::new(writer);
        let mut keys: Vec<u64> = Vec::new();
        let mut bytes: Vec<u8> = Vec::new();
        for (shard, count) in self.shards.into_iter().zip(self.counts) {
            let mut file = shard.into_inner().map_err(|e| BuildError::Io {
                path: dir.clone(),
                source: e.into_error(),
            })?;
            file.rewind().map_err(io_err(&dir))?;
            keys.clear();
            keys.reserve(count as usize);
            let mut reader = std::io::BufReader::with_capacity(64 * 1024, file);
            bytes.resize(64 * 1024, 0);
            loop {
                let n = read_full(&mut reader, &mut bytes).map_err(io_err(&dir))?;
                for chunk in bytes[..n].chunks_exact(8) {
                    let mut k = [0u8; 8];
                    k.copy_from_slice(chunk);
                    keys.push(u64::from_le_bytes(k));
                }
                if n < bytes.len() {
                    break;
                }
            }
            keys.sort_unstable();
            for &k in &keys {
                sink.push(k)?;
            }
        }
        sink.finish()
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(m) => n += m,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

// ---- writing the file ------------------------------------------------------

struct FilterWriter {
    temp: tempfile::NamedTempFile,
    out: BufWriter<File>,
    output: PathBuf,
    hasher: Blake2b256,
    pos: u64,
    fingerprint: FingerprintBits,
    groups: Vec<Group>,
    directory: Vec<u32>,
    entries: u64,
    duplicates: u64,
}

impl FilterWriter {
    fn create(output: &Path, options: &BuildOptions) -> Result<FilterWriter, BuildError> {
        let dir = parent_dir(output);
        let temp = tempfile::Builder::new()
            .prefix(".pwsentry-filter-")
            .tempfile_in(&dir)
            .map_err(io_err(&dir))?;
        let file = temp.reopen().map_err(io_err(output))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        // The header is written last; reserve its room.
        out.write_all(&[0u8; HEADER_LEN as usize])
            .map_err(io_err(output))?;
        Ok(FilterWriter {
            temp,
            out,
            output: output.to_owned(),
            hasher: Blake2b256::new(),
            pos: HEADER_LEN,
            fingerprint: options.fingerprint,
            groups: Vec::new(),
            directory: Vec::new(),
            entries: 0,
            duplicates: 0,
        })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), BuildError> {
        self.out.write_all(bytes).map_err(io_err(&self.output))?;
        self.hasher.update(bytes);
        self.pos += bytes.len() as u64;
        Ok(())
    }

    /// Builds one binary fuse filter over `keys` (sorted, distinct), for the
    /// 16-bit prefixes `first..end`.
    fn add_group(&mut self, keys: &[u64], first: u32, end: u32) -> Result<(), BuildError> {
        let group_no = self.groups.len() as u32;
        let failed =
            |e: &str| BuildError::Unsupported(format!("building a binary fuse filter failed: {e}"));
        let (descriptor, bytes): (xorf::Descriptor, Vec<u8>) = match self.fingerprint {
            FingerprintBits::Sixteen => {
                let f = xorf::BinaryFuse16::try_from(keys).map_err(failed)?;
                let b = f
                    .fingerprints
                    .iter()
                    .flat_map(|x| x.to_le_bytes())
                    .collect();
                (f.descriptor, b)
            }
            FingerprintBits::ThirtyTwo => {
                let f = xorf::BinaryFuse32::try_from(keys).map_err(failed)?;
                let b = f
                    .fingerprints
                    .iter()
                    .flat_map(|x| x.to_le_bytes())
                    .collect();
                (f.descriptor, b)
            }
        };
        let group = Group {
            offset: self.pos,
            seed: descriptor.seed,
            segment_length: descriptor.segment_length,
            segment_count_length: descriptor.segment_count_length,
            array_len: (bytes.len() as u64 / self.fingerprint.bytes()) as u32,
            entries: keys.len() as u32,
        };
        self.write(&bytes)?;
        // Keep every array 8-byte aligned.
        let pad = (8 - (self.pos % 8)) % 8;
        self.write(&[0u8; 8][..pad as usize])?;
        self.groups.push(group);
        self.directory.resize(end as usize, group_no);
        let _ = first;
        self.entries += keys.len() as u64;
        Ok(())
    }

    /// Writes the directory, the group table and the header, syncs and
    /// renames into place. Returns the file length.
    fn finish(mut self, options: &BuildOptions, _below: u64) -> Result<u64, BuildError> {
        let directory_bits = if self.groups.len() > 1 {
            DIRECTORY_BITS
        } else {
            0
        };
        let directory_offset = self.pos;
        if !self.groups.is_empty() {
            self.directory.resize(1 << directory_bits, 0);
            let mut dir = Vec::with_capacity(self.directory.len() * DIR_ENTRY_LEN as usize);
            for &g in &self.directory {
                let entry = self.groups[g as usize].encode_entry().ok_or_else(|| {
                    BuildError::Unsupported("a group does not fit the directory format".into())
                })?;
                dir.extend_from_slice(&entry);
            }
            self.write(&dir)?;
        }
        let table_offset = self.pos;
        let table: Vec<u8> = self.groups.iter().flat_map(|g| g.encode()).collect();
        debug_assert_eq!(table.len() as u64, self.groups.len() as u64 * GROUP_LEN);
        self.write(&table)?;
        let mut body_checksum = [0u8; 32];
        body_checksum.copy_from_slice(&self.hasher.finalize_reset());
        let header = Header {
            version: FORMAT_VERSION,
            kind: options.kind,
            fingerprint: self.fingerprint,
            entry_count: self.entries,
            min_count: options.min_count,
            fp_rate: self.fingerprint.design_rate(),
            description: options.description.clone(),
            group_count: self.groups.len() as u32,
            directory_bits,
            directory_offset,
            table_offset,
            file_len: self.pos,
            body_checksum,
            header_checksum: [0; 32],
        };
        let output = self.output.clone();
        let mut file = self.out.into_inner().map_err(|e| BuildError::Io {
            path: output.clone(),
            source: e.into_error(),
        })?;
        file.rewind().map_err(io_err(&output))?;
        file.write_all(&header.encode()).map_err(io_err(&output))?;
        file.sync_all().map_err(io_err(&output))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // A filter holds no secret; every user that runs a check reads it.
            std::fs::set_permissions(self.temp.path(), std::fs::Permissions::from_mode(0o644))
                .map_err(io_err(&output))?;
        }
        self.temp.persist(&output).map_err(|e| BuildError::Io {
            path: output.clone(),
            source: e.error,
        })?;
        if let Ok(dir) = File::open(parent_dir(&output)) {
            let _ = dir.sync_all();
        }
        Ok(header.file_len)
    }
}
