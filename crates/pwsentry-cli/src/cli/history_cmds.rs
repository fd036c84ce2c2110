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
use super::mail_target::{MailArgs, MailTarget};
use super::store_cmd::{AnyStore, Location, Opening};
use super::{EXIT_OK, EXIT_REJECTED, GlobalArgs, render};
use anyhow::{Context as _, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::Args;
use pwsentry::crypt::{self, CryptHash};
use pwsentry::history;
use pwsentry::mailhash::{MailHash, PasswdLine};
use pwsentry::passwd_file::PasswdUpdate;
use pwsentry::rotation::{self, RotationState, RotationStatus};
use pwsentry::store::{AccountHistory, Store};
use pwsentry::{AccountId, ChangeRequest, Checker, Context, Error, Password, Policy, Verdict};
use serde::Serialize;
use serde_json::json;
use std::borrow::Cow;
use std::collections::HashMap;
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
    /// Verify the current password first (stdin: the current password on
    /// the first line, the new one on the second); the new one must not be
    /// based on it
    #[arg(long)]
    pub verify_current: bool,
    #[command(flatten)]
    pub mail: MailArgs,
}

/// Arguments of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The account bare hashes belong to (passwd-file lines name their own)
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// Skip (and list on stderr) lines whose hash cannot be used: other schemes, costs above the bounds, malformed hashes
    #[arg(long)]
    pub skip_unusable: bool,
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

/// The full check of `check --account`: the account's history, read once.
pub struct HistoryCheck<'a> {
    checker: &'a Checker,
    account: String,
    user_inputs: &'a [String],
    history: AccountHistory,
    now: DateTime<Utc>,
}

impl<'a> HistoryCheck<'a> {
    /// `None` when there is no history to check against (no database, or
    /// no entries for the account). Never creates a database.
    pub fn open(
        g: &GlobalArgs,
        checker: &'a Checker,
        account: &'a str,
        user_inputs: &'a [String],
    ) -> anyhow::Result<Option<HistoryCheck<'a>>> {
        let policy = checker.policy();
        let account = super::account_id(policy, account)?.into_string();
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
            checker,
            account,
            user_inputs,
            history,
            now: g.now(),
        }))
    }

    /// Every rule, the history's included, for `password` (the history is
    /// hashed only when no cheaper rule rejects it).
    pub fn verdict(&self, password: &Password) -> anyhow::Result<Verdict> {
        let request = self.user_inputs.iter().fold(
            ChangeRequest::new(&self.account, password.expose(), self.now),
            |r, w| r.user_input(w),
        );
        let change = self
            .checker
            .evaluate_change_against(Some(&self.history), &request)?;
        Ok(change.verdict().clone())
    }
}

/// Opens (creating if needed) the history store for a command that records.
pub(super) fn open_store(g: &GlobalArgs, policy: &Policy) -> anyhow::Result<AnyStore> {
    let location = Location::parse(&g.db_path(policy)?)?;
    super::store_cmd::open_location(&location, Opening::Create, policy)?
        .context("the history store could not be created")
}

/// Opens an existing store for a write that must not create one.
fn open_existing(g: &GlobalArgs, policy: &Policy) -> anyhow::Result<Option<AnyStore>> {
    let location = Location::parse(&g.db_path(policy)?)?;
    super::store_cmd::open_location(&location, Opening::Existing, policy)
}

/// Opens an existing database read-only; `None` if there is none.
fn open_read_only(path: &std::path::Path, policy: &Policy) -> anyhow::Result<Option<AnyStore>> {
    super::store_cmd::open_location(&Location::parse(path)?, Opening::ReadOnly, policy)
}

/// Opens the database of a report (`status`, `stale`): it must exist.
fn open_report(g: &GlobalArgs, policy: &Policy) -> anyhow::Result<AnyStore> {
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
    let target = MailTarget::open(checker.policy(), &args.mail, account)?;
    let context = Context::new().account(account);
    let current = if args.verify_current {
        Some(read_current_password()?)
    } else {
        None
    };
    let password = match input::read_single("New password: ", "record takes the one new password")?
    {
        Single::Password(p) => p,
        Single::TooLong => {
            let too_long = "x".repeat(checker.policy().length().max as usize + 1);
            print_record(g, account, &checker.evaluate(&too_long, &context), false)?;
            return Ok(EXIT_REJECTED);
        }
    };
    let mut request = ChangeRequest::new(account, password.expose(), now);
    if args.force {
        request = request.override_min_age();
    }
    if let Some(current) = &current {
        request = match &target {
            Some(t) => {
                let correct = t.verify_current(account, current)?;
                request.checked_current_password(current.expose(), correct)
            }
            None => request.current_password(current.expose()),
        };
    }
    // `change_with` evaluates again by itself when another process records
    // for this account meanwhile (its entry may change the verdict); when
    // that keeps happening, wait a little and try once more. The
    // passwd-file is written once the password is accepted, before the
    // history.
    let mut attempt = 1;
    let mut written = None;
    let outcome = loop {
        let write = || -> pwsentry::Result<()> {
            if let Some(t) = &target {
                written = Some(t.write(account, &password)?);
            }
            Ok(())
        };
        match checker.change_with(&store, &request, write) {
            Err(Error::Busy) if attempt < 3 => {
                busy_backoff(attempt);
                attempt += 1;
            }
            other => break other?,
        }
    };
    if let (Some(t), Some(update)) = (&target, written) {
        let how = match update {
            PasswdUpdate::Replaced => "written to",
            PasswdUpdate::Created => "added to",
            _ => "written to",
        };
        if !g.json {
            eprintln!("{how} {}", t.path().display());
        }
        if !outcome.recorded() {
            eprintln!(
                "warning: the new password is in {} but another process recorded a password for this account meanwhile, which made this one unacceptable; check the account",
                t.path().display()
            );
        }
    }
    print_record(g, account, outcome.verdict(), outcome.recorded())?;
    Ok(if outcome.recorded() {
        EXIT_OK
    } else {
        EXIT_REJECTED
    })
}

/// The current password for `--verify-current`: a masked prompt on a
/// terminal, else the first line of stdin.
fn read_current_password() -> anyhow::Result<Password> {
    use std::io::IsTerminal as _;
    if std::io::stdin().is_terminal() {
        return match input::read_single("Current password: ", "the current password is one line")? {
            Single::Password(p) => Ok(p),
            Single::TooLong => bail!("--verify-current: the current password is too long"),
        };
    }
    super::set::read_current(&mut std::io::stdin().lock())
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

/// Most hashes one import reads: a passwd-file of a large mail provider.
/// The whole input is held (parsed) until its one transaction; see
/// docs/import.md for the memory this takes.
const MAX_IMPORT_HASHES: usize = 200_000;

pub fn import(g: &GlobalArgs, args: &ImportArgs) -> anyhow::Result<u8> {
    let checker = Checker::new(g.load_policy()?);
    let account = args
        .account
        .as_deref()
        .map(|a| check_account(checker.policy(), a))
        .transpose()?;
    let now = g.write_time()?;
    let set_at = args.set_at.unwrap_or(now);
    if set_at > now {
        bail!("--set-at is later than the current time (--now); nothing was imported");
    }
    let stdin = std::io::stdin();
    let (accounts, skipped) = read_import(
        checker.policy(),
        &mut stdin.lock(),
        account.as_ref().map(AccountId::as_str),
        args.skip_unusable,
    )
    .context("nothing was imported")?;
    let store = open_store(g, checker.policy())?;
    let total: usize = accounts.iter().map(|(_, h)| h.len()).sum();
    // One transaction for the whole input: all or nothing.
    let batch: Vec<(&str, &[MailHash])> = accounts
        .iter()
        .map(|(a, h)| (a.as_str(), h.as_slice()))
        .collect();
    checker.import_batch(&store, &batch, set_at, now)?;
    let mut out = std::io::stdout().lock();
    if let [(account, hashes)] = &accounts[..] {
        let entries = store.history(account)?.map_or(0, |h| h.entries().len());
        if g.json {
            let mut v =
                json!({"account": account, "imported": hashes.len(), "history_entries": entries});
            if args.skip_unusable
                && let Some(o) = v.as_object_mut()
            {
                o.insert("skipped".into(), json!(skipped));
            }
            writeln!(out, "{v}")?;
        } else {
            let noun = if hashes.len() == 1 { "hash" } else { "hashes" };
            writeln!(
                out,
                "imported {} {noun} into the history of {} ({entries} remembered after pruning)",
                hashes.len(),
                printable(account)
            )?;
        }
    } else if g.json {
        let mut v = json!({"accounts": accounts.len(), "imported": total});
        if args.skip_unusable
            && let Some(o) = v.as_object_mut()
        {
            o.insert("skipped".into(), json!(skipped));
        }
        writeln!(out, "{v}")?;
    } else {
        writeln!(
            out,
            "imported {total} hashes into the histories of {} accounts",
            accounts.len()
        )?;
    }
    if skipped > 0 && !g.json {
        let noun = if skipped == 1 { "line" } else { "lines" };
        writeln!(
            out,
            "skipped {skipped} {noun} with unusable hashes (listed on stderr)"
        )?;
    }
    Ok(EXIT_OK)
}

/// Hashes per account, accounts in order of first appearance, each
/// account's hashes oldest first.
type ImportBatch = Vec<(String, Vec<MailHash>)>;

/// Reads an import: whole Dovecot passwd-file lines
/// (`user:{SCHEME}hash:...`, the account taken from the line) and bare
/// hashes (for `account`, from `--account`), oldest first; blank lines and
/// `#` comments are skipped. The first bad line fails the whole import,
/// named by number and never quoted.
///
/// With `skip_unusable`, a line whose hash is refused (another scheme, a
/// cost above the bounds, a malformed hash) is reported on stderr by
/// number and skipped instead; the count of such lines is returned.
fn read_import(
    policy: &Policy,
    reader: &mut impl std::io::BufRead,
    account: Option<&str>,
    skip_unusable: bool,
) -> anyhow::Result<(ImportBatch, usize)> {
    let mut skipped = 0usize;
    let mut batch: ImportBatch = Vec::new();
    // Each account's place in `batch` and the line that first named it.
    let mut index: HashMap<String, (usize, usize)> = HashMap::new();
    let mut count = 0usize;
    let mut number = 0usize;
    while let Some(line) = input::read_line(reader).context("cannot read stdin")? {
        number += 1;
        let text = match &line {
            Line::Text(t) => t.expose(),
            Line::TooLong => bail!("line {number}: too long to be a hash or a passwd-file line"),
            Line::InvalidUtf8 { .. } => bail!("line {number}: not UTF-8 text"),
        };
        if text.contains('\0') {
            bail!("line {number}: contains a NUL byte");
        }
        let (owner, field) = if text.contains(':') {
            let Some(entry) = PasswdLine::parse(text).with_context(|| format!("line {number}"))?
            else {
                continue;
            };
            let user = check_account(policy, entry.user())
                .with_context(|| format!("line {number}: the user field"))?
                .into_string();
            if account.is_some_and(|a| a != user) {
                bail!("line {number}: the line is for another account than --account");
            }
            if account.is_none()
                && let Some(&(_, first)) = index.get(&user)
            {
                bail!(
                    "line {number}: {} already has a line (line {first}); a passwd-file names each account once (ids compared in canonical form)",
                    printable(&user)
                );
            }
            (user, entry.password())
        } else {
            let trimmed = text.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let Some(account) = account else {
                bail!(
                    "line {number}: a bare hash needs --account (or give whole passwd-file lines, user:{{SCHEME}}hash:...)"
                );
            };
            (account.to_owned(), trimmed)
        };
        let parsed = MailHash::parse(field).and_then(|h| h.check_import_cost().map(|()| h));
        let hash = match parsed {
            Ok(h) => h,
            Err(e) if skip_unusable => {
                skipped += 1;
                eprintln!("pwsentry: line {number}: skipped: {e}");
                continue;
            }
            Err(e) => return Err(anyhow::Error::new(e).context(format!("line {number}"))),
        };
        count += 1;
        if count > MAX_IMPORT_HASHES {
            bail!(
                "line {number}: more than {MAX_IMPORT_HASHES} hashes in one import; split the input"
            );
        }
        match index.get(&owner) {
            Some(&(i, _)) => batch[i].1.push(hash),
            None => {
                index.insert(owner.clone(), (batch.len(), number));
                batch.push((owner, vec![hash]));
            }
        }
    }
    if batch.is_empty() {
        bail!(
            "no hashes on stdin (passwd-file lines user:{{SCHEME}}hash:..., or with --account one hash per line)"
        );
    }
    Ok((batch, skipped))
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
    let unchecked = history.as_ref().map_or(0, unchecked_crypt_entries);
    let unverifiable = history
        .as_ref()
        .map_or(0, |h| history::unverifiable_entries(&policy, h).len());
    let mut out = std::io::stdout().lock();
    if g.json {
        let mut v = json!({
            "account": account,
            "status": status.state.code(),
            "changed_at": status.changed_at.map(rfc3339),
            "age_days": status.age_days,
            "expires_at": status.expires_at.map(rfc3339),
            "history_entries": entries,
            "unverifiable_entries": unverifiable,
        });
        if unchecked > 0
            && let Some(o) = v.as_object_mut()
        {
            o.insert("unchecked_entries".into(), json!(unchecked));
        }
        writeln!(out, "{v}")?;
    } else {
        write!(out, "{}", status_text(account, &status, entries, now))?;
        if unchecked > 0 {
            let noun = if unchecked == 1 {
                "entry is"
            } else {
                "entries are"
            };
            writeln!(
                out,
                "  {unchecked} history {noun} malformed or above the crypt cost bounds, and never checked"
            )?;
        }
        if unverifiable > 0 {
            let (noun, verb) = if unverifiable == 1 {
                ("entry", "is")
            } else {
                ("entries", "are")
            };
            writeln!(
                out,
                "  {unverifiable} history {noun} {verb} unverifiable: parameters above the bounds (never compared with new passwords; `forget` the account or import sound hashes)"
            )?;
        }
    }
    Ok(if status.state == RotationState::Stale {
        EXIT_REJECTED
    } else {
        EXIT_OK
    })
}

/// crypt(3) entries the history rules skip: malformed, or above the cost
/// bounds (edited into the database, or imported by an older version).
fn unchecked_crypt_entries(history: &AccountHistory) -> usize {
    history
        .entries()
        .iter()
        .filter(|e| crypt::is_crypt(e.hash()) && CryptHash::parse(e.hash()).is_err())
        .count()
}

fn status_text(account: &str, s: &RotationStatus, entries: usize, now: DateTime<Utc>) -> String {
    let account = printable(account);
    let (Some(changed), Some(age)) = (s.changed_at, s.age_days) else {
        return format!("{account}: unknown (no password history)\n");
    };
    // A change dated after now (a database written before writes refused
    // a future --now, or edited) is not "0 days ago": say what it is.
    let ago = if changed > now + super::MAX_WRITE_SKEW {
        "in the future: the database or the clock is wrong".to_owned()
    } else {
        let days = if age == 1 { "day" } else { "days" };
        format!("{age} {days} ago")
    };
    let expires = match s.expires_at {
        Some(e) if s.state == RotationState::Stale => format!("expired {}", rfc3339(e)),
        Some(e) => format!("expires {}", rfc3339(e)),
        None => "never expires".to_owned(),
    };
    let noun = if entries == 1 { "entry" } else { "entries" };
    format!(
        "{account}: {}\n  changed {} ({ago}), {expires}\n  {entries} history {noun}\n",
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
    use pwsentry::Policy;

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
        let text = status_text("a@b", &s, 2, t + chrono::TimeDelta::days(100));
        assert!(text.starts_with("a@b: stale\n"), "{text}");
        assert!(
            text.contains("100 days ago")
                && text.contains("expired 2026-04-01T00:00:00Z")
                && text.contains("2 history entries")
        );
        let u = rotation::status_at(policy.rotation(), None, t);
        assert_eq!(
            status_text("x", &u, 0, t),
            "x: unknown (no password history)\n"
        );
        // Dated after now: never "0 days ago".
        let now = t - chrono::TimeDelta::days(400);
        let f = rotation::status_at(policy.rotation(), Some(t), now);
        let text = status_text("f", &f, 1, now);
        assert!(
            text.contains(
                "changed 2026-01-01T00:00:00Z (in the future: the database or the clock is wrong)"
            ),
            "{text}"
        );
    }
}
