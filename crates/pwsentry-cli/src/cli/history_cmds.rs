//! `record`, `import`, `status`, `stale`, `forget`, and the history part of
//! `check --account`.
//!
//! Read-only commands (`check`, `status`, `stale`) never create a database
//! and open it read-only (a user who may only read it can run them): a
//! missing one is an error for `status` and `stale` (a typo in `--db` must
//! not look like "nothing stale") and a warning for `check`. `forget`
//! never creates one either. Writes are dated by the clock (`--now` only if
//! it is not in the future). Every account id is made canonical before
//! the store sees it. Nothing here prints a password, a hash or a salt,
//! not even in an error.

use super::input::{self, Line, Single};
use super::{EXIT_OK, EXIT_REJECTED, GlobalArgs, render};
use anyhow::{Context as _, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::Args;
use pwsentry::history::{self, Argon2Hash, CommitOutcome};
use pwsentry::rotation::{self, RotationState, RotationStatus};
use pwsentry::store::{AccountHistory, OpenOptions, SqliteStore, Store};
use pwsentry::{AccountId, Checker, Context, Error, Password, Policy, Verdict, Violation};
use serde::Serialize;
use serde_json::json;
use std::borrow::Cow;
use std::io::Write;
use std::ops::ControlFlow;

/// How often `record` evaluates again when another process recorded for
/// the same account between its evaluation and its commit.
pub(super) const RECORD_ATTEMPTS: u32 = 10;

/// Waits a little before evaluating again after [`Error::Busy`]: a random
/// 5–20 ms times the attempt number, so that writers that collided do not
/// collide again in lockstep.
pub(super) fn busy_backoff(attempt: u32) {
    use rand::RngExt as _;
    let ms = rand::rng().random_range(5..=20) * u64::from(attempt);
    std::thread::sleep(std::time::Duration::from_millis(ms));
}

/// Arguments of `record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The account whose password is being set
    #[arg(long, value_name = "ID")]
    pub account: String,
    /// Record even if the minimum age has not passed (administrators)
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The account the hashes belong to
    #[arg(long, value_name = "ID")]
    pub account: String,
    /// When the imported passwords were set, RFC 3339 [default: --now]
    #[arg(long, value_name = "RFC3339", value_parser = super::parse_now)]
    pub set_at: Option<DateTime<Utc>>,
}

/// Arguments of commands that take one account.
#[derive(Debug, Args)]
pub struct AccountArgs {
    /// The account
    #[arg(long, value_name = "ID")]
    pub account: String,
}

/// The history rules for one account, opened once for `check`.
pub struct HistoryCheck {
    policy: Policy,
    history: AccountHistory,
    now: DateTime<Utc>,
}

impl HistoryCheck {
    /// `None` when there is no history to check against (no database, or
    /// no entries for the account). Never creates a database.
    pub fn open(
        g: &GlobalArgs,
        policy: &Policy,
        account: &str,
    ) -> anyhow::Result<Option<HistoryCheck>> {
        let account = super::account_id(policy, account)?;
        let path = g.db_path(policy)?;
        let Some(store) = open_read_only(&path, policy)? else {
            eprintln!(
                "pwsentry: warning: no history database at {}; the password was checked without history",
                path.display()
            );
            return Ok(None);
        };
        let Some(history) = store.history(account.as_str())? else {
            return Ok(None);
        };
        Ok(Some(HistoryCheck {
            policy: policy.clone(),
            history,
            now: g.now(),
        }))
    }

    /// History violations of `password`.
    pub fn violations(&self, password: &Password) -> anyhow::Result<Vec<Violation>> {
        Ok(history::violations(
            &self.policy,
            &self.history,
            password.expose(),
            self.now,
        )?)
    }
}

/// Opens (creating if needed) the history database for a command that records.
pub(super) fn open_store(g: &GlobalArgs, policy: &Policy) -> anyhow::Result<SqliteStore> {
    let path = g.db_path(policy)?;
    let options = OpenOptions::new()
        .create(true)
        .accounts(policy.accounts().clone());
    match SqliteStore::open_with(&path, &options) {
        Ok(Some(store)) => Ok(store),
        Ok(None) => bail!("cannot create the history database {}", path.display()),
        Err(e @ Error::Io { .. }) => Err(anyhow::Error::new(e).context(format!(
            "cannot create the history database {}",
            path.display()
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Opens an existing database for a write that must not create one.
fn open_existing(g: &GlobalArgs, policy: &Policy) -> anyhow::Result<Option<SqliteStore>> {
    let options = OpenOptions::new().accounts(policy.accounts().clone());
    Ok(SqliteStore::open_with(&g.db_path(policy)?, &options)?)
}

/// Opens an existing database read-only; `None` if there is none.
fn open_read_only(path: &std::path::Path, policy: &Policy) -> anyhow::Result<Option<SqliteStore>> {
    let options = OpenOptions::new()
        .read_only(true)
        .accounts(policy.accounts().clone());
    Ok(SqliteStore::open_with(path, &options)?)
}

/// Opens the database of a report (`status`, `stale`): it must exist.
fn open_report(g: &GlobalArgs, policy: &Policy) -> anyhow::Result<SqliteStore> {
    let path = g.db_path(policy)?;
    match open_read_only(&path, policy)? {
        Some(store) => Ok(store),
        None => bail!(
            "no history database at {}: check --db, $PWSENTRY_DB or the policy's [store] (a command that records creates it)",
            path.display()
        ),
    }
}

/// Validates `--account` and makes it canonical; for `set`, which keeps
/// the id it was given for its messages.
pub(super) fn check_account(policy: &Policy, account: &str) -> anyhow::Result<AccountId> {
    super::account_id(policy, account)
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An account id safe to print: control and invisible characters (which
/// only a database from before canonical ids can hold) escaped.
fn printable(account: &str) -> Cow<'_, str> {
    pwsentry::account::escape(account)
}

// ---- record ------------------------------------------------------------------

pub fn record(g: &GlobalArgs, args: &RecordArgs) -> anyhow::Result<u8> {
    let checker = Checker::new(g.load_policy()?);
    let account = check_account(checker.policy(), &args.account)?;
    let account = account.as_str();
    let now = g.write_time()?;
    let store = open_store(g, checker.policy())?;
    let context = Context::new().account(account);
    let password = match input::read_single("New password: ", "record takes the one new password")?
    {
        Single::Password(p) => p,
        Single::TooLong => {
            let too_long = "x".repeat(checker.policy().length().max as usize + 1);
            print_record(g, account, &checker.evaluate(&too_long, &context), false)?;
            return Ok(EXIT_REJECTED);
        }
    };
    let mut attempt = 1;
    loop {
        let mut change =
            checker.evaluate_change(&store, account, password.expose(), &context, now)?;
        if args.force {
            change.override_min_age();
        }
        let verdict = change.verdict().clone();
        match checker.commit(&store, change) {
            Ok(CommitOutcome::Recorded) => {
                print_record(g, account, &verdict, true)?;
                return Ok(EXIT_OK);
            }
            Ok(_) => {
                print_record(g, account, &verdict, false)?;
                return Ok(EXIT_REJECTED);
            }
            // Another process recorded for this account meanwhile: its entry
            // may change the verdict, so evaluate again.
            Err(Error::Busy) if attempt < RECORD_ATTEMPTS => {
                busy_backoff(attempt);
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn print_record(
    g: &GlobalArgs,
    account: &str,
    verdict: &Verdict,
    recorded: bool,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if g.json {
        let mut v = render::verdict_json(verdict);
        if let Some(o) = v.as_object_mut() {
            o.insert("account".into(), json!(account));
            o.insert("recorded".into(), json!(recorded));
        }
        writeln!(out, "{v}")?;
    } else {
        write!(out, "{}", render::verdict_text(verdict))?;
        if recorded {
            writeln!(
                out,
                "recorded as the current password of {}",
                printable(account)
            )?;
        } else {
            writeln!(out, "not recorded")?;
        }
    }
    Ok(())
}

// ---- import ------------------------------------------------------------------

pub fn import(g: &GlobalArgs, args: &ImportArgs) -> anyhow::Result<u8> {
    let checker = Checker::new(g.load_policy()?);
    let account = check_account(checker.policy(), &args.account)?;
    let account = account.as_str();
    let now = g.write_time()?;
    let set_at = args.set_at.unwrap_or(now);
    if set_at > now {
        bail!("--set-at is later than the current time (--now); nothing was imported");
    }
    let hashes = read_hashes().context("nothing was imported")?;
    let store = open_store(g, checker.policy())?;
    checker.import_hashes(&store, account, &hashes, set_at, now)?;
    let entries = store.history(account)?.map_or(0, |h| h.entries().len());
    let mut out = std::io::stdout().lock();
    if g.json {
        writeln!(
            out,
            "{}",
            json!({"account": account, "imported": hashes.len(), "history_entries": entries})
        )?;
    } else {
        let noun = if hashes.len() == 1 { "hash" } else { "hashes" };
        writeln!(
            out,
            "imported {} {noun} into the history of {} ({entries} remembered after pruning)",
            hashes.len(),
            printable(account)
        )?;
    }
    Ok(EXIT_OK)
}

/// Every hash on stdin, oldest first; blank lines and `#` comments are
/// skipped. The first bad line fails the whole import, named by number
/// and never quoted.
fn read_hashes() -> anyhow::Result<Vec<Argon2Hash>> {
    let stdin = std::io::stdin();
    let mut reader = stdin.lock();
    let mut hashes = Vec::new();
    let mut number = 0usize;
    while let Some(line) = input::read_line(&mut reader).context("cannot read stdin")? {
        number += 1;
        let text = match &line {
            Line::Text(t) => t.expose().trim(),
            Line::TooLong => bail!("line {number}: too long to be a hash"),
            Line::InvalidUtf8 { .. } => bail!("line {number}: not UTF-8 text"),
        };
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let hash = Argon2Hash::parse(text).with_context(|| format!("line {number}"))?;
        hash.check_import_cost()
            .with_context(|| format!("line {number}"))?;
        hashes.push(hash);
    }
    if hashes.is_empty() {
        bail!("no hashes on stdin (one PHC string or {{ARGON2ID}} line per line)");
    }
    Ok(hashes)
}

// ---- status ------------------------------------------------------------------

pub fn status(g: &GlobalArgs, args: &AccountArgs) -> anyhow::Result<u8> {
    let policy = g.load_policy()?;
    let account = check_account(&policy, &args.account)?;
    let account = account.as_str();
    let now = g.now();
    let history = open_report(g, &policy)?.history(account)?;
    let status = rotation::status_at(
        policy.rotation(),
        history.as_ref().and_then(AccountHistory::changed_at),
        now,
    );
    let entries = history.as_ref().map_or(0, |h| h.entries().len());
    let mut out = std::io::stdout().lock();
    if g.json {
        writeln!(
            out,
            "{}",
            json!({
                "account": account,
                "status": status.state.code(),
                "changed_at": status.changed_at.map(rfc3339),
                "age_days": status.age_days,
                "expires_at": status.expires_at.map(rfc3339),
                "history_entries": entries,
            })
        )?;
    } else {
        write!(out, "{}", status_text(account, &status, entries))?;
    }
    Ok(if status.state == RotationState::Stale {
        EXIT_REJECTED
    } else {
        EXIT_OK
    })
}

fn status_text(account: &str, s: &RotationStatus, entries: usize) -> String {
    let account = printable(account);
    let (Some(changed), Some(age)) = (s.changed_at, s.age_days) else {
        return format!("{account}: unknown (no password history)\n");
    };
    let days = if age == 1 { "day" } else { "days" };
    let expires = match s.expires_at {
        Some(e) if s.state == RotationState::Stale => format!("expired {}", rfc3339(e)),
        Some(e) => format!("expires {}", rfc3339(e)),
        None => "never expires".to_owned(),
    };
    let noun = if entries == 1 { "entry" } else { "entries" };
    format!(
        "{account}: {}\n  changed {} ({age} {days} ago), {expires}\n  {entries} history {noun}\n",
        s.state,
        rfc3339(changed)
    )
}

// ---- stale -------------------------------------------------------------------

#[derive(Serialize)]
struct StaleRow<'a> {
    account: &'a str,
    status: &'static str,
    changed_at: Option<String>,
    age_days: Option<u64>,
    expires_at: Option<String>,
}

pub fn stale(g: &GlobalArgs) -> anyhow::Result<u8> {
    let policy = g.load_policy()?;
    let now = g.now();
    let store = Some(open_report(g, &policy)?);
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let (mut stale, mut expiring) = (0u64, 0u64);
    let mut write_error: Option<std::io::Error> = None;
    let mut write_row =
        |out: &mut dyn Write, a: &rotation::StaleAccount<'_>| -> std::io::Result<()> {
            let s = &a.status;
            let first = stale + expiring == 0;
            match s.state {
                RotationState::Stale => stale += 1,
                _ => expiring += 1,
            }
            if g.json {
                if !first {
                    out.write_all(b",")?;
                }
                let row = StaleRow {
                    account: &printable(a.account),
                    status: s.state.code(),
                    changed_at: s.changed_at.map(rfc3339),
                    age_days: s.age_days,
                    expires_at: s.expires_at.map(rfc3339),
                };
                serde_json::to_writer(&mut *out, &row)?;
                Ok(())
            } else {
                if first {
                    writeln!(
                        out,
                        "{:<8}  {:>5}  {:<20}  {:<20}  ACCOUNT",
                        "STATUS", "DAYS", "CHANGED", "EXPIRES"
                    )?;
                }
                writeln!(
                    out,
                    "{:<8}  {:>5}  {:<20}  {:<20}  {}",
                    s.state.code(),
                    s.age_days.unwrap_or(0),
                    s.changed_at.map(rfc3339).unwrap_or_default(),
                    s.expires_at.map(rfc3339).unwrap_or_default(),
                    printable(a.account)
                )
            }
        };
    if g.json {
        out.write_all(b"{\"accounts\":[")?;
    }
    if let Some(store) = &store {
        rotation::stale_accounts(store, policy.rotation(), now, |a| {
            match write_row(&mut out, a) {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    write_error = Some(e);
                    ControlFlow::Break(())
                }
            }
        })?;
    }
    let finish = |out: &mut dyn Write| -> std::io::Result<()> {
        if g.json {
            out.write_all(b"]}\n")?;
        } else if stale + expiring > 0 {
            writeln!(out, "{stale} stale, {expiring} expiring")?;
        }
        out.flush()
    };
    let result = match write_error {
        Some(e) => Err(e),
        None => finish(&mut out),
    };
    match result {
        // A reader that stops early (`| head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(e).context("cannot write to stdout"),
        Ok(()) => {}
    }
    Ok(if stale > 0 { EXIT_REJECTED } else { EXIT_OK })
}

// ---- forget ------------------------------------------------------------------

pub fn forget(g: &GlobalArgs, args: &AccountArgs) -> anyhow::Result<u8> {
    let policy = g.load_policy()?;
    let account = check_account(&policy, &args.account)?;
    let account = account.as_str();
    g.write_time()?;
    let forgotten = match open_existing(g, &policy)? {
        Some(store) => store.forget(account)?,
        None => false,
    };
    let mut out = std::io::stdout().lock();
    if g.json {
        writeln!(
            out,
            "{}",
            json!({"account": account, "forgotten": forgotten})
        )?;
    } else if forgotten {
        writeln!(
            out,
            "forgot {}: its password history is deleted",
            printable(account)
        )?;
    } else {
        writeln!(
            out,
            "{} has no password history; nothing to forget",
            printable(account)
        )?;
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn account_ids_are_validated() {
        let p = Policy::default();
        assert_eq!(
            check_account(&p, "Alice@Example.com").unwrap().as_str(),
            "alice@example.com"
        );
        assert!(check_account(&p, "").is_err());
        assert!(check_account(&p, "a\nb").is_err());
        assert!(check_account(&p, &"a".repeat(600)).is_err());
    }

    #[test]
    fn status_text_forms() {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let policy = Policy::default();
        let s = rotation::status_at(policy.rotation(), Some(t), t + chrono::TimeDelta::days(100));
        let text = status_text("a@b", &s, 2);
        assert!(text.starts_with("a@b: stale\n"), "{text}");
        assert!(
            text.contains("100 days ago")
                && text.contains("expired 2026-04-01T00:00:00Z")
                && text.contains("2 history entries")
        );
        let u = rotation::status_at(policy.rotation(), None, t);
        assert_eq!(
            status_text("x", &u, 0),
            "x: unknown (no password history)\n"
        );
    }
}
