//! Argument parsing, policy and store lookup, and dispatch to commands.

mod check;
mod generate_cmd;
mod history_cmds;
mod input;
mod policy_cmd;
mod render;
mod set;
mod store_cmd;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use pwsentry::{Error, Policy};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit status: the password was accepted / nothing is stale.
pub const EXIT_OK: u8 = 0;
/// Exit status: the password was rejected / something is stale.
pub const EXIT_REJECTED: u8 = 1;
/// Exit status: usage or runtime error.
pub const EXIT_ERROR: u8 = 2;
/// Exit status: the policy file is invalid (EX_CONFIG).
pub const EXIT_POLICY: u8 = 78;
/// Exit status: the user aborted an interactive prompt.
pub const EXIT_ABORTED: u8 = 130;

/// Password strength and rotation checker.
///
/// Passwords are read from standard input (one per line) or, for `set`,
/// from a masked prompt; never from the command line.
#[derive(Debug, Parser)]
#[command(name = "pwsentry", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Policy file [default: $PWSENTRY_POLICY, ./policy.toml, /etc/pwsentry/policy.toml, built-in]
    #[arg(long, global = true, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// History store: an SQLite file or a postgres:// URL [default: $PWSENTRY_DB, else $XDG_DATA_HOME/pwsentry/history.db]
    #[arg(long, global = true, value_name = "FILE|URL")]
    pub db: Option<PathBuf>,
    /// The time to act at, RFC 3339 (e.g. 2026-01-31T12:00:00Z) [default: the clock]
    #[arg(long, global = true, value_name = "RFC3339", value_parser = parse_now)]
    pub now: Option<DateTime<Utc>>,
    /// Print JSON instead of text
    #[arg(long, global = true)]
    pub json: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a password from stdin against the policy (and the history, with --account)
    Check(check::CheckArgs),
    /// Check a password from stdin and, if accepted, record it in the history
    Record(history_cmds::RecordArgs),
    /// Import existing hashes (PHC or Dovecot {ARGON2ID} lines) from stdin into an account's history
    Import(history_cmds::ImportArgs),
    /// Show the rotation status of one account
    Status(history_cmds::AccountArgs),
    /// List every account whose password is stale or expiring
    Stale,
    /// Delete an account and its history
    Forget(history_cmds::AccountArgs),
    /// Choose a new password at an interactive prompt with a live strength meter, and record it
    Set(set::SetArgs),
    /// Generate random passwords or passphrases that satisfy the policy
    Generate(generate_cmd::GenerateArgs),
    /// Show or validate the policy
    Policy(policy_cmd::PolicyArgs),
    /// Print a shell completion script
    Completions(generate_cmd::CompletionsArgs),
    /// Print the man page (roff) to stdout
    Man,
    /// Migrate the history store's schema, or copy a store into another (SQLite, PostgreSQL)
    Store(store_cmd::StoreArgs),
}

fn parse_now(s: &str) -> Result<DateTime<Utc>, String> {
    let t = DateTime::parse_from_rfc3339(s)
        .map_err(|e| format!("not an RFC 3339 time ({e}); example: 2026-01-31T12:00:00Z"))?;
    let t = t.with_timezone(&Utc);
    let year = chrono::Datelike::year(&t);
    if !(1970..=9000).contains(&year) {
        return Err(format!(
            "year {year} is outside the supported range 1970..=9000"
        ));
    }
    Ok(t)
}

impl GlobalArgs {
    /// The time to act at.
    pub fn now(&self) -> DateTime<Utc> {
        self.now.unwrap_or_else(Utc::now)
    }

    /// Loads the policy: `--policy`, `$PWSENTRY_POLICY`, `./policy.toml`,
    /// `/etc/pwsentry/policy.toml`, else the built-in default.
    pub fn load_policy(&self) -> anyhow::Result<Policy> {
        let path = self.policy_path();
        match path {
            Some(path) => Ok(Policy::from_file(&path)?),
            None => Ok(Policy::default()),
        }
    }

    /// The policy file that applies, or `None` for the built-in one.
    pub fn policy_path(&self) -> Option<PathBuf> {
        if let Some(p) = &self.policy {
            return Some(p.clone());
        }
        if let Some(p) = std::env::var_os("PWSENTRY_POLICY").filter(|p| !p.is_empty()) {
            return Some(PathBuf::from(p));
        }
        ["policy.toml", "/etc/pwsentry/policy.toml"]
            .iter()
            .map(Path::new)
            .find(|p| p.is_file())
            .map(Path::to_path_buf)
    }

    /// The history database path: `--db`, `$PWSENTRY_DB`, else
    /// `$XDG_DATA_HOME/pwsentry/history.db` (`~/.local/share/...`).
    pub fn db_path(&self) -> anyhow::Result<PathBuf> {
        if let Some(p) = &self.db {
            return Ok(p.clone());
        }
        if let Some(p) = std::env::var_os("PWSENTRY_DB").filter(|p| !p.is_empty()) {
            return Ok(PathBuf::from(p));
        }
        let data = match std::env::var_os("XDG_DATA_HOME").filter(|p| !p.is_empty()) {
            Some(d) => PathBuf::from(d),
            None => {
                let home = std::env::var_os("HOME")
                    .filter(|p| !p.is_empty())
                    .context("cannot locate the history database: set --db, $PWSENTRY_DB, $XDG_DATA_HOME or $HOME")?;
                PathBuf::from(home).join(".local/share")
            }
        };
        Ok(data.join("pwsentry").join("history.db"))
    }
}

/// Parses arguments, runs the command, prints any error once and returns
/// the exit status.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_ERROR } else { EXIT_OK });
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            let code = exit_code_for(&err);
            let _ = std::io::stdout().flush();
            eprintln!("pwsentry: error: {}", render::error_chain(&err));
            ExitCode::from(code)
        }
    }
}

fn exit_code_for(err: &anyhow::Error) -> u8 {
    let policy_error = err.chain().any(|e| {
        matches!(e.downcast_ref::<Error>(), Some(Error::Policy(_)))
            || e.downcast_ref::<pwsentry::PolicyError>().is_some()
    });
    if policy_error {
        EXIT_POLICY
    } else {
        EXIT_ERROR
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let g = &cli.global;
    match cli.command {
        Command::Check(args) => check::run(g, &args),
        Command::Record(args) => history_cmds::record(g, &args),
        Command::Import(args) => history_cmds::import(g, &args),
        Command::Status(args) => history_cmds::status(g, &args),
        Command::Stale => history_cmds::stale(g),
        Command::Forget(args) => history_cmds::forget(g, &args),
        Command::Set(args) => set::run(g, &args),
        Command::Generate(args) => generate_cmd::run(g, &args),
        Command::Policy(args) => policy_cmd::run(g, &args),
        Command::Completions(args) => generate_cmd::completions(&args),
        Command::Man => generate_cmd::man(),
        Command::Store(args) => store_cmd::run(g, &args),
    }
}
