//! `record`, `import`, `status`, `stale`, `forget`, and the history part of
//! `check --account`.
//!
//! Read-only commands (`check`, `status`, `stale`, `forget`) never create a
//! database: a missing one is an empty history. Nothing here prints a
//! password, a hash or a salt, not even in an error.

use super::input::{self, Line, Single};
use super::{EXIT_OK, EXIT_REJECTED, GlobalArgs, render};
use anyhow::{Context as _, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::Args;
use pwsentry::history::{self, Argon2Hash, CommitOutcome};
use pwsentry::rotation::{self, RotationState, RotationStatus};
use pwsentry::store::{AccountHistory, Store};
use pwsentry::{Checker, Context, Error, Password, Policy, Verdict, Violation};
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

/// Longest account id accepted, in bytes.
const MAX_ACCOUNT_LEN: usize = 512;

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
        let Some(store) = open_existing(g)? else {
            return Ok(None);
        };
        let Some(history) = store.history(account)? else {
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

/// Opens (creating if needed) the history store for a command that records.
pub(super) fn open_store(g: &GlobalArgs) -> anyhow::Result<super::store_cmd::AnyStore> {
    super::store_cmd::open(g)
}

fn open_existing(g: &GlobalArgs) -> anyhow::Result<Option<super::store_cmd::AnyStore>> {
    super::store_cmd::open_existing(g)
}

/// The account id rules of every command: the id is shown on terminals and
/// in reports, so control characters (escape sequences) are refused.
pub(super) fn check_account(account: &str) -> anyhow::Result<()> {
    if account.is_empty() {
        bail!("--account must not be empty");
    }
    if account.len() > MAX_ACCOUNT_LEN {
        bail!("--account is longer than {MAX_ACCOUNT_LEN} bytes");
    }
    if account.chars().any(char::is_control) {
        bail!("--account must not contain control characters");
    }
    Ok(())
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An account id safe to print in a text table.
fn printable(account: &str) -> Cow<'_, str> {
    if account.chars().any(char::is_control) {
        Cow::Owned(
            account
                .chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(account)
    }
}

// ---- record ------------------------------------------------------------------

pub fn record(g: &GlobalArgs, args: &RecordArgs) -> anyhow::Result<u8> {
    check_account(&args.account)?;
    let checker = Checker::new(g.load_policy()?);
    let store = open_store(g)?;
    let context = Context::new().account(args.account.clone());
    let password = match input::read_single("New password: ")? {
        Single::Password(p) => p,
        Single::TooLong => {
            let too_long = "x".repeat(checker.policy().length().max as usize + 1);
            print_record(
                g,
                &args.account,
                &checker.evaluate(&too_long, &context),
                false,
            )?;
            return Ok(EXIT_REJECTED);
        }
    };
    let now = g.now();
    let mut attempt = 1;
    loop {
        let mut change =
            checker.evaluate_change(&store, &args.account, password.expose(), &context, now)?;
        if args.force {
            change.override_min_age();
        }
        let verdict = change.verdict().clone();
        match checker.commit(&store, change) {
            Ok(CommitOutcome::Recorded) => {
                print_record(g, &args.account, &verdict, true)?;
                return Ok(EXIT_OK);
            }
            Ok(_) => {
                print_record(g, &args.account, &verdict, false)?;
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
    check_account(&args.account)?;
    let checker = Checker::new(g.load_policy()?);
    let now = g.now();
    let set_at = args.set_at.unwrap_or(now);
    if set_at > now {
        bail!("--set-at is later than the current time (--now); nothing was imported");
    }
    let hashes = read_hashes().context("nothing was imported")?;
    let store = open_store(g)?;
    checker.import_hashes(&store, &args.account, &hashes, set_at, now)?;
    let entries = store
        .history(&args.account)?
        .map_or(0, |h| h.entries().len());
    let mut out = std::io::stdout().lock();
    if g.json {
        writeln!(
            out,
            "{}",
            json!({"account": args.account, "imported": hashes.len(), "history_entries": entries})
        )?;
    } else {
        let noun = if hashes.len() == 1 { "hash" } else { "hashes" };
        writeln!(
            out,
            "imported {} {noun} into the history of {} ({entries} remembered after pruning)",
            hashes.len(),
            printable(&args.account)
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
    let now = g.now();
    let history = match open_existing(g)? {
        Some(store) => store.history(&args.account)?,
        None => None,
    };
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
                "account": args.account,
                "status": status.state.code(),
                "changed_at": status.changed_at.map(rfc3339),
                "age_days": status.age_days,
                "expires_at": status.expires_at.map(rfc3339),
                "history_entries": entries,
            })
        )?;
    } else {
        write!(out, "{}", status_text(&args.account, &status, entries))?;
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
    let store = open_existing(g)?;
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
                    account: a.account,
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
    let forgotten = match open_existing(g)? {
        Some(store) => store.forget(&args.account)?,
        None => false,
    };
    let mut out = std::io::stdout().lock();
    if g.json {
        writeln!(
            out,
            "{}",
            json!({"account": args.account, "forgotten": forgotten})
        )?;
    } else if forgotten {
        writeln!(
            out,
            "forgot {}: its password history is deleted",
            printable(&args.account)
        )?;
    } else {
        writeln!(
            out,
            "{} has no password history; nothing to forget",
            printable(&args.account)
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
        assert!(check_account("alice@example.com").is_ok());
        assert!(check_account("").is_err());
        assert!(check_account("a\nb").is_err());
        assert!(check_account(&"a".repeat(600)).is_err());
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
