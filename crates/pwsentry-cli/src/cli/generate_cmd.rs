//! `pwsentry generate` (random passwords and passphrases that satisfy the
//! policy), `pwsentry completions` (shell completion scripts) and
//! `pwsentry man` (the man page), the last two made from the clap
//! definitions so they never drift from the real options.
//!
//! Generated passwords go to stdout only, one per line; the entropy note
//! goes to stderr so `pwsentry generate > file` keeps just the passwords.

use super::{Cli, EXIT_OK, GlobalArgs};
use anyhow::Context as _;
use clap::{Args, CommandFactory};
use clap_complete::{Generator as _, Shell};
use pwsentry::generate::{DEFAULT_WORDS, Generator, MAX_WORDS, MIN_ENTROPY_BITS, Style};
use pwsentry::{Checker, Context};
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// How many to generate
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub count: u32,
    /// Diceware passphrases (words from the EFF large wordlist) instead of random characters
    #[arg(long)]
    pub passphrase: bool,
    /// Words per passphrase; implies --passphrase [default: 6]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=MAX_WORDS as i64))]
    pub words: Option<u32>,
    /// Characters per password [default: 16, or the policy's minimum if longer]
    #[arg(long, value_name = "N", conflicts_with_all = ["passphrase", "words"])]
    pub length: Option<u32>,
    /// The account the passwords are for: its name parts are kept out of them
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
}

/// Arguments of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: Shell,
    /// Write the script into this folder (for packagers), named as the
    /// shell expects (pwsentry.bash, _pwsentry, pwsentry.fish, ...), instead
    /// of printing it
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
}

pub fn run(g: &GlobalArgs, args: &GenerateArgs) -> anyhow::Result<u8> {
    let checker = Checker::new(g.load_policy()?);
    let mut context = Context::new();
    if let Some(account) = &args.account {
        context = context.account(account.clone());
    }
    let generator = Generator::new(&checker).context(context);
    let style = match (args.passphrase || args.words.is_some(), args.length) {
        (true, _) => Style::Passphrase {
            words: args.words.map_or(DEFAULT_WORDS, |w| w as usize),
        },
        (false, Some(length)) => Style::Password {
            length: length as usize,
        },
        (false, None) => Style::password_for(checker.policy()),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // The weakest of the batch, for the note on stderr.
    let mut least: Option<(f64, u8)> = None;
    for _ in 0..args.count {
        // The library's errors say what to ask for instead.
        let made = generator.generate(style)?;
        let (bits, score) = (made.entropy_bits(), made.strength().score);
        least = Some(least.map_or((bits, score), |(b, s)| (b.min(bits), s.min(score))));
        if g.json {
            let line = serde_json::json!({
                "password": made.password().expose(),
                "entropy_bits": (bits * 10.0).floor() / 10.0,
                "score": score,
                "guesses_log10": (made.strength().guesses_log10 * 100.0).round() / 100.0,
            });
            writeln!(out, "{line}")?;
        } else {
            writeln!(out, "{}", made.password().expose())?;
        }
    }
    out.flush()?;
    if let (false, Some((bits, score))) = (g.json, least) {
        let what = match style {
            Style::Passphrase { words } => format!("{words}-word passphrase"),
            Style::Password { length } => format!("{length}-character password"),
            _ => "password".to_owned(),
        };
        let each = if args.count == 1 { "" } else { " each" };
        // Rounded down: the note never claims more than the draw has.
        let bits = (bits * 10.0).floor() / 10.0;
        eprintln!(
            "{what}: {bits:.1} bits of entropy{each} (at least {MIN_ENTROPY_BITS:.0} required), zxcvbn strength {score}/4, accepted by the policy"
        );
    }
    Ok(EXIT_OK)
}

pub fn completions(g: &GlobalArgs, args: &CompletionsArgs) -> anyhow::Result<u8> {
    // clap_complete panics when its writer fails, so render to memory first.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "pwsentry", &mut script);
    match &args.output {
        Some(dir) => {
            let path = dir.join(args.shell.file_name("pwsentry"));
            std::fs::write(&path, &script)
                .with_context(|| format!("cannot write {}", path.display()))?;
            print_written(g, &path);
            Ok(EXIT_OK)
        }
        None => write_stdout(&script).context("cannot write the completion script"),
    }
}

/// Says which file `--output` wrote: its path, or `{"file": …}` with `--json`.
pub(super) fn print_written(g: &GlobalArgs, path: &std::path::Path) {
    if g.json {
        println!(
            "{}",
            serde_json::json!({"file": path.display().to_string()})
        );
    } else {
        println!("{}", path.display());
    }
}

/// Writes `bytes` to stdout; a reader that stopped early (`| head`) is fine.
pub(super) fn write_stdout(bytes: &[u8]) -> anyhow::Result<u8> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(EXIT_OK),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn words_imply_passphrase_and_length_conflicts() {
        let cli = Cli::try_parse_from(["pwsentry", "generate", "--words", "4"]).unwrap();
        let super::super::Command::Generate(args) = cli.command else {
            panic!("not generate")
        };
        assert_eq!(args.words, Some(4));
        assert!(Cli::try_parse_from(["pwsentry", "generate", "--words", "0"]).is_err());
        assert!(
            Cli::try_parse_from(["pwsentry", "generate", "--length", "20", "--passphrase"])
                .is_err()
        );
        assert!(Cli::try_parse_from(["pwsentry", "generate", "--count", "0"]).is_err());
    }

    #[test]
    fn the_clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}
