//! `pwsentry breach build|info` and `pwsentry blocklist build`: build and
//! inspect filter files. The work is the library's (`pwsentry::breach`);
//! this module parses arguments, draws the progress bar and prints.

use super::{EXIT_OK, GlobalArgs};
use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use pwsentry::breach::build::{BuildOptions, BuildSummary, Input, InputFormat, Progress, build};
use pwsentry::breach::{Filter, FilterKind, FingerprintBits, Header};
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

/// Arguments of `breach`.
#[derive(Debug, Args)]
pub struct BreachArgs {
    #[command(subcommand)]
    pub action: BreachAction,
}

/// What to do with a breach filter.
#[derive(Debug, Subcommand)]
pub enum BreachAction {
    /// Build a breached-password filter from the Have I Been Pwned SHA-1 corpus or plain password lists
    Build(BuildArgs),
    /// Print a filter file's header; with --verify, also check the body's checksum
    Info(InfoArgs),
}

/// Arguments of `blocklist`.
#[derive(Debug, Args)]
pub struct BlocklistArgs {
    #[command(subcommand)]
    pub action: BlocklistAction,
}

/// What to do with a blocklist.
#[derive(Debug, Subcommand)]
pub enum BlocklistAction {
    /// Build a filter from plain blocklists (one password per line), for the policy's strength.blocklists
    Build(ListBuildArgs),
}

/// `breach build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Inputs: a HASH:COUNT file, a folder of 5-hex-prefix files, a plain list, or - for stdin
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// The filter file to write (atomically)
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Leave out hashes seen fewer than N times in the corpus
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub min_count: u64,
    /// Fingerprint width: 16 (false positives ~2^-16, ~2.26 bytes/entry) or 32 (~2^-32, ~4.5 bytes/entry)
    #[arg(long, value_name = "BITS", default_value = "16")]
    pub bits: Bits,
    /// What the inputs hold [default: decided from each input's first line]
    #[arg(long, value_name = "FORMAT", default_value = "auto")]
    pub format: Format,
    #[command(flatten)]
    pub common: CommonBuildArgs,
}

/// `blocklist build`.
#[derive(Debug, Args)]
pub struct ListBuildArgs {
    /// Plain blocklists, one password per line, or - for stdin
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// The filter file to write (atomically)
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Fingerprint width: 16 or 32
    #[arg(long, value_name = "BITS", default_value = "16")]
    pub bits: Bits,
    #[command(flatten)]
    pub common: CommonBuildArgs,
}

/// Options both builds take.
#[derive(Debug, Args)]
pub struct CommonBuildArgs {
    /// Text stored in the header [default: the input names]
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// Skip malformed lines (and count them) instead of stopping at the first
    #[arg(long)]
    pub skip_bad_lines: bool,
    /// Folder for temporary shards [default: the output's folder]
    #[arg(long, value_name = "DIR")]
    pub temp_dir: Option<PathBuf>,
}

/// `breach info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The filter file
    pub file: PathBuf,
    /// Also read the whole file and check the body checksum
    #[arg(long)]
    pub verify: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Bits {
    #[value(name = "16")]
    Sixteen,
    #[value(name = "32")]
    ThirtyTwo,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// Decide from the first line
    Auto,
    /// HASH:COUNT lines (SUFFIX:COUNT in 5-hex-prefix files)
    Hibp,
    /// One password per line
    Plain,
}

pub fn breach(g: &GlobalArgs, args: &BreachArgs) -> anyhow::Result<u8> {
    match &args.action {
        BreachAction::Build(a) => {
            let mut options = BuildOptions::new(FilterKind::Breach);
            options.min_count = a.min_count;
            options.format = match a.format {
                Format::Auto => InputFormat::Auto,
                Format::Hibp => InputFormat::Hibp,
                Format::Plain => InputFormat::Plain,
            };
            if a.min_count == 0 {
                bail!("--min-count must be at least 1");
            }
            run_build(g, &a.inputs, &a.output, a.bits, &a.common, options)
        }
        BreachAction::Info(a) => info(g, a),
    }
}

pub fn blocklist(g: &GlobalArgs, args: &BlocklistArgs) -> anyhow::Result<u8> {
    match &args.action {
        BlocklistAction::Build(a) => {
            let mut options = BuildOptions::new(FilterKind::Blocklist);
            options.format = InputFormat::Plain;
            run_build(g, &a.inputs, &a.output, a.bits, &a.common, options)
        }
    }
}

fn run_build(
    g: &GlobalArgs,
    inputs: &[PathBuf],
    output: &Path,
    bits: Bits,
    common: &CommonBuildArgs,
    mut options: BuildOptions,
) -> anyhow::Result<u8> {
    options.fingerprint = match bits {
        Bits::Sixteen => FingerprintBits::Sixteen,
        Bits::ThirtyTwo => FingerprintBits::ThirtyTwo,
    };
    options.skip_bad_lines = common.skip_bad_lines;
    options.temp_dir = common.temp_dir.clone();
    let names: Vec<String> = inputs
        .iter()
        .map(|p| {
            p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        })
        .collect();
    options.description = common.description.clone().unwrap_or_else(|| {
        let what = match options.kind {
            FilterKind::Breach => "breached passwords",
            _ => "blocklist",
        };
        format!("{what} from {}", names.join(", "))
    });
    if inputs.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        bail!("stdin (-) can be given once");
    }
    let inputs: Vec<Input> = inputs
        .iter()
        .map(|p| {
            if p.as_os_str() == "-" {
                Input::Stream {
                    name: "<stdin>".to_owned(),
                    reader: Box::new(std::io::stdin().lock()),
                }
            } else {
                Input::Path(p.clone())
            }
        })
        .collect();
    let mut progress = Bar::new();
    let summary = build(inputs, output, &options, &mut progress)
        .with_context(|| format!("cannot build {}", output.display()))?;
    progress.done();
    report(g, output, &summary)?;
    Ok(EXIT_OK)
}

fn report(g: &GlobalArgs, output: &Path, s: &BuildSummary) -> anyhow::Result<()> {
    if g.json {
        println!(
            "{}",
            serde_json::json!({
                "file": output.display().to_string(),
                "lines": s.lines,
                "entries": s.entries,
                "below_min_count": s.below_min_count,
                "duplicates": s.duplicates,
                "bad_lines": s.bad_lines,
                "groups": s.groups,
                "bytes": s.file_len,
                "temporary_shards": s.used_temporary_shards,
            })
        );
    } else {
        println!(
            "{}: {} entries from {} lines ({} below --min-count, {} repeated, {} bad lines skipped), {} bytes ({:.2} per entry)",
            output.display(),
            s.entries,
            s.lines,
            s.below_min_count,
            s.duplicates,
            s.bad_lines,
            s.file_len,
            s.file_len as f64 / s.entries.max(1) as f64
        );
    }
    Ok(())
}

fn info(g: &GlobalArgs, a: &InfoArgs) -> anyhow::Result<u8> {
    let filter = Filter::open(&a.file).with_context(|| format!("{}", a.file.display()))?;
    if a.verify {
        filter
            .verify_body()
            .with_context(|| format!("{}", a.file.display()))?;
    }
    let h = filter.header();
    if g.json {
        println!("{}", header_json(&a.file, h, a.verify));
    } else {
        print!("{}", header_text(&a.file, h, a.verify));
    }
    Ok(EXIT_OK)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn header_json(path: &Path, h: &Header, verified: bool) -> serde_json::Value {
    serde_json::json!({
        "file": path.display().to_string(),
        "format_version": h.version,
        "kind": h.kind.name(),
        "entries": h.entry_count,
        "min_count": h.min_count,
        "fingerprint_bits": h.fingerprint.bits(),
        "fp_rate": h.fp_rate,
        "description": h.description,
        "groups": h.group_count,
        "bytes": h.file_len,
        "header_checksum": hex(&h.header_checksum),
        "body_checksum": hex(&h.body_checksum),
        "body_verified": verified,
    })
}

fn header_text(path: &Path, h: &Header, verified: bool) -> String {
    // The description is free text from the file: shown escaped, so it
    // cannot carry terminal control sequences.
    format!(
        "file:            {}\nformat version:  {}\nkind:            {}\nentries:         {}\nmin count:       {}\nfingerprint:     {} bits\nfalse positives: {:.3e} (1 in {:.0})\ndescription:     {}\ngroups:          {}\nsize:            {} bytes ({:.2} per entry)\nheader checksum: {} (valid)\nbody checksum:   {}{}\n",
        path.display(),
        h.version,
        h.kind.name(),
        h.entry_count,
        h.min_count,
        h.fingerprint.bits(),
        h.fp_rate,
        1.0 / h.fp_rate,
        h.description.escape_debug(),
        h.group_count,
        h.file_len,
        h.file_len as f64 / h.entry_count.max(1) as f64,
        hex(&h.header_checksum),
        hex(&h.body_checksum),
        if verified {
            " (verified)"
        } else {
            " (not read; --verify)"
        },
    )
}

/// A progress bar on stderr when it is a terminal; nothing otherwise.
struct Bar(Option<indicatif::ProgressBar>, u64);

impl Bar {
    fn new() -> Bar {
        Bar(std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stderr(),
            );
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg} ETA {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        }), 0)
    }

    fn done(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Bar {
    fn start(&mut self, total_bytes: Option<u64>) {
        if let Some(bar) = &self.0 {
            bar.set_length(total_bytes.unwrap_or(0));
            bar.set_position(0);
            bar.reset_eta();
            bar.reset_elapsed();
        }
        self.1 = 0;
    }

    fn advance(&mut self, bytes: u64, lines: u64) {
        self.1 += lines;
        if let Some(bar) = &self.0 {
            bar.inc(bytes);
            let secs = bar.elapsed().as_secs_f64();
            if secs > 0.0 {
                bar.set_message(format!("{:.2}M lines/s", self.1 as f64 / secs / 1e6));
            }
        }
    }

    fn phase(&mut self, what: &str) {
        if let Some(bar) = &self.0 {
            bar.println(what);
        }
    }
}
