//! Argument parsing, policy and store lookup, and dispatch to commands.

mod breach_cmd;
mod check;
mod generate_cmd;
mod help;
mod history_cmds;
mod input;
mod mail_target;
mod man;
mod notify_cmd;
mod policy_cmd;
mod policy_init;
mod render;
mod serve_cmd;
mod set;
mod store_cmd;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::{Args, CommandFactory as _, Parser, Subcommand};
use pwsentry::{AccountId, Error, Policy};
use std::io::Write;
use std::path::PathBuf;
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
    /// Policy file [default: $PWSENTRY_POLICY, /etc/pwsentry/policy.toml, built-in; never the current directory]
    #[arg(long, global = true, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// History store: an SQLite file or a postgres:// URL [default: $PWSENTRY_DB, the policy's [store], /var/lib/pwsentry/history.db as root, else $XDG_DATA_HOME/pwsentry/history.db]
    #[arg(long, global = true, value_name = "FILE|URL")]
    pub db: Option<PathBuf>,
    /// The time to act at, RFC 3339 (e.g. 2026-01-31T12:00:00Z) [default: the clock]; writes refuse a time in the future
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
    /// Import existing hashes from stdin: Dovecot passwd-file lines, or PHC/{SCHEME} hashes with --account
    Import(history_cmds::ImportArgs),
    /// Show the rotation status of one account
    Status(history_cmds::AccountArgs),
    /// List every account whose password is stale or expiring
    Stale,
    /// Mail a reminder to every account whose password expires soon, and a notice once it is stale (from cron)
    Notify(notify_cmd::NotifyArgs),
    /// Delete an account and its history
    Forget(history_cmds::AccountArgs),
    /// Choose a new password at an interactive prompt with a live strength meter, and record it
    Set(set::SetArgs),
    /// Generate random passwords or passphrases that satisfy the policy
    Generate(generate_cmd::GenerateArgs),
    /// Show or validate the policy
    Policy(policy_cmd::PolicyArgs),
    /// Print a shell completion script, or write it with --output
    Completions(generate_cmd::CompletionsArgs),
    /// Serve the HTTP API, the Roundcube driver endpoint and admin reports
    Serve(serve_cmd::ServeArgs),
    /// Print the man page (roff), or write it with --output
    Man(man::ManArgs),
    /// Build or inspect a breached-password filter (Have I Been Pwned, offline)
    Breach(breach_cmd::BreachArgs),
    /// Build a filter from a large blocklist (O(1) per check)
    Blocklist(breach_cmd::BlocklistArgs),
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

/// The system-wide policy file, used when neither `--policy` nor
/// `$PWSENTRY_POLICY` names one.
pub const SYSTEM_POLICY: &str = "/etc/pwsentry/policy.toml";

/// The history database of a root process with no other setting.
pub const SYSTEM_DB: &str = "/var/lib/pwsentry/history.db";

/// How far past the system clock a write may be dated (`--now`): room for
/// clocks of a few hosts that disagree a little, not for a date that would
/// hide an account from `stale` or block its next change for years.
pub const MAX_WRITE_SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

impl GlobalArgs {
    /// The time to act at, for reports and checks: `--now` (past or
    /// future), else the clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.now.unwrap_or_else(Utc::now)
    }

    /// The time a write is dated: `--now` if it is not later than the
    /// system clock (+ [`MAX_WRITE_SKEW`]), else an error; the clock
    /// without `--now`.
    pub fn write_time(&self) -> anyhow::Result<DateTime<Utc>> {
        let clock = Utc::now();
        match self.now {
            None => Ok(clock),
            Some(t) if t > clock + MAX_WRITE_SKEW => anyhow::bail!(
                "--now {} is in the future (the system clock says {}): a write is never dated later than the clock; drop --now (it serves reports and tests with past times)",
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                clock.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            Some(t) => Ok(t),
        }
    }

    /// Loads the policy: `--policy`, `$PWSENTRY_POLICY`,
    /// `/etc/pwsentry/policy.toml`, else the built-in default. Never a file
    /// in the current directory: whoever controls the directory an
    /// administrator runs pwsentry from must not choose its rules.
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
        // `exists`, not `is_file`: a FIFO or directory there is reported by
        // the policy loader, not silently skipped.
        let system = PathBuf::from(SYSTEM_POLICY);
        std::fs::symlink_metadata(&system).is_ok().then_some(system)
    }

    /// The history database path: `--db`, `$PWSENTRY_DB`, the policy's
    /// `[store] path`, `/var/lib/pwsentry/history.db` when running as
    /// root, else `$XDG_DATA_HOME/pwsentry/history.db` (`~/.local/share/...`).
    pub fn db_path(&self, policy: &Policy) -> anyhow::Result<PathBuf> {
        if let Some(p) = &self.db {
            return Ok(p.clone());
        }
        if let Some(p) = std::env::var_os("PWSENTRY_DB").filter(|p| !p.is_empty()) {
            return Ok(PathBuf::from(p));
        }
        if let Some(p) = &policy.store().path {
            return Ok(p.clone());
        }
        if let Some(url) = &policy.store().url {
            // A postgres:// URL (validated with the policy); see store_cmd.
            return Ok(PathBuf::from(url));
        }
        if is_root() {
            return Ok(PathBuf::from(SYSTEM_DB));
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

/// `true` when the process runs with root's effective user id.
#[cfg(unix)]
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// `true` when the process runs with root's effective user id.
#[cfg(not(unix))]
pub fn is_root() -> bool {
    false
}

/// The account id of `--account`, made canonical with the policy's rules.
pub fn account_id(policy: &Policy, raw: &str) -> anyhow::Result<AccountId> {
    AccountId::parse(raw, policy.accounts()).context("--account")
}

/// Makes sure no core file can hold a password: the process is marked not
/// dumpable (also keeps other processes of the user from reading its
/// memory through /proc or ptrace) and its core size limit is zero.
#[cfg(unix)]
fn disable_core_dumps() -> std::io::Result<()> {
    use rustix::process::{Resource, Rlimit, setrlimit};
    #[cfg(any(target_os = "linux", target_os = "android"))]
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)?;
    setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    )?;
    Ok(())
}

#[cfg(not(unix))]
fn disable_core_dumps() -> std::io::Result<()> {
    Ok(())
}

/// Prints a command-line error without ever repeating what was typed where
/// it did not belong: a word in the wrong place is as likely a password
/// (`pwsentry check hunter2`) as a typo.
fn print_usage_error(e: &clap::Error) -> u8 {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    match e.kind() {
        ErrorKind::UnknownArgument | ErrorKind::InvalidSubcommand => {
            let mut msg = String::from(
                "pwsentry: error: unexpected argument (not shown: it may be a password)\n  passwords are read from standard input or the prompt, never from arguments\n",
            );
            // The suggestion is one of our own names, safe to show.
            for kind in [ContextKind::SuggestedArg, ContextKind::SuggestedSubcommand] {
                match e.get(kind) {
                    Some(ContextValue::String(s)) => {
                        msg.push_str(&format!("  tip: did you mean '{s}'?\n"));
                    }
                    Some(ContextValue::Strings(v)) if !v.is_empty() => {
                        msg.push_str(&format!("  tip: did you mean '{}'?\n", v[0]));
                    }
                    _ => {}
                }
            }
            let usage = Cli::command().render_usage().to_string();
            eprint!("{msg}\n{usage}\n\nFor more information, try '--help'.\n");
            EXIT_ERROR
        }
        _ => {
            let _ = e.print();
            if e.use_stderr() { EXIT_ERROR } else { EXIT_OK }
        }
    }
}

/// Parses arguments, runs the command, prints any error once and returns
/// the exit status.
pub fn main() -> ExitCode {
    if let Err(e) = disable_core_dumps() {
        eprintln!(
            "pwsentry: warning: cannot disable core dumps ({e}); a crash could write memory to disk"
        );
    }
    let json = help::wants_json(std::env::args_os());
    let cli = match help::parse(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) if json => return help::usage_failure(&e, json),
        Err(e) => return ExitCode::from(print_usage_error(&e)),
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            let code = exit_code_for(&err);
            let _ = std::io::stdout().flush();
            render::print_error(&err, json);
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
        Command::Notify(args) => notify_cmd::run(g, &args),
        Command::Forget(args) => history_cmds::forget(g, &args),
        Command::Set(args) => set::run(g, &args),
        Command::Generate(args) => generate_cmd::run(g, &args),
        Command::Policy(args) => policy_cmd::run(g, &args),
        Command::Serve(args) => serve_cmd::run(g, &args),
        Command::Completions(args) => generate_cmd::completions(g, &args),
        Command::Man(args) => man::run(g, &args),
        Command::Breach(args) => breach_cmd::breach(g, &args),
        Command::Blocklist(args) => breach_cmd::blocklist(g, &args),
        Command::Store(args) => store_cmd::run(g, &args),
    }
}
