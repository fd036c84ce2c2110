//! `notify`: mails a reminder to every account whose password expires
//! within one of the policy's `[rotation] remind_days`, and a notice once
//! it is stale, through SMTP (lettre, one connection for the run).
//!
//! The library plans (`pwsentry::remind`); this module sends and notes
//! what was sent in the store, so a rerun sends nothing twice and a failed
//! send is retried on the next run. `--dry-run` lists what is due and
//! writes nothing (`--now` is allowed only there: what is sent and noted
//! is dated by the system clock). It never prints a password, and the
//! SMTP password (from `auth_file`) never appears in an error.

use super::store_cmd::{AnyStore, Location, Opening};
use super::{EXIT_OK, EXIT_REJECTED, GlobalArgs, render};
use anyhow::{Context as _, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::Args;
use lettre::Address;
use lettre::Transport as _;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::SmtpTransport;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use pwsentry::policy::NotifyPolicy;
use pwsentry::remind::{self, AddressMap, Mail, SmtpTls};
use pwsentry::store::{ReminderDays, Store};
use pwsentry::{Error, Policy, PolicyError};
use serde::Serialize;
use std::io::Write;
use std::ops::ControlFlow;
use std::time::Duration;

/// How long one SMTP command (and the connection) may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Reminders planned, then sent, at a time: bounds the memory of a run
/// over millions of accounts.
const BATCH: usize = 512;

/// Rendered subjects and bodies held at a time: a batch also ends when its
/// mails reach this size. A template may repeat `{account}` thousands of
/// times and an account id may be 512 bytes long, so one mail can be
/// megabytes; 512 of them must not be held at once.
const BATCH_BYTES: usize = 16 << 20;

/// Arguments of `notify`.
#[derive(Debug, Args)]
pub struct NotifyArgs {
    /// List the reminders that are due; send nothing, remember nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// One due reminder, rendered while the store was read.
struct Due {
    account: String,
    changed_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    days: ReminderDays,
    days_left: u64,
    mail: Result<Mail, String>,
}

/// A result line (`--json`).
#[derive(Serialize)]
struct Row<'a> {
    account: &'a str,
    reminder: String,
    days_left: u64,
    changed_at: String,
    expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<&'a str>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `14d`, `7d`, …, or `stale`.
fn reminder_name(days: ReminderDays) -> String {
    if days == pwsentry::store::STALE_NOTICE {
        "stale".to_owned()
    } else {
        format!("{days}d")
    }
}

fn config_error(origin: &str, message: String) -> anyhow::Error {
    Error::Policy(PolicyError {
        origin: origin.to_owned(),
        line: None,
        column: None,
        message,
    })
    .into()
}

/// What `[notify]` needs beyond the policy's own validation: the sender
/// as lettre parses it, and the address map's lines.
fn checked(
    policy: &Policy,
    notify: &NotifyPolicy,
    origin: &str,
) -> anyhow::Result<(Mailbox, Option<AddressMap>)> {
    let from: Mailbox = notify.from.parse().map_err(|e| {
        config_error(
            origin,
            format!("notify.from {:?} is not a mail address: {e}", notify.from),
        )
    })?;
    let map = notify
        .address_map
        .as_deref()
        .map(|p| AddressMap::load(p, policy.accounts()))
        .transpose()?;
    Ok((from, map))
}

/// For `policy check`: the checks `notify` makes before it sends (the
/// sender's address, the address map), when the policy has `[notify]`.
///
/// # Errors
/// As `notify` would fail: exit 78 with the file and the problem.
pub fn check_policy(policy: &Policy, origin: &str) -> anyhow::Result<()> {
    if let Some(notify) = policy.notify() {
        checked(policy, notify, origin)?;
    }
    Ok(())
}

/// Runs `notify`.
pub fn run(g: &GlobalArgs, args: &NotifyArgs) -> anyhow::Result<u8> {
    let policy = g.load_policy()?;
    let origin = policy
        .source()
        .map_or_else(|| "<built-in>".to_owned(), |p| p.display().to_string());
    let Some(notify) = policy.notify() else {
        return Err(config_error(
            &origin,
            "no [notify] section: set at least notify.from and notify.change_url (see docs/notify.md)".into(),
        ));
    };
    let now = if args.dry_run {
        g.now()
    } else {
        if g.now.is_some() {
            return Err(render::usage(
                "--now is accepted only with --dry-run: reminders are sent and remembered at the system clock's time",
            ));
        }
        Utc::now()
    };
    let (from, map) = checked(&policy, notify, &origin)?;
    if policy.rotation().max_age_days == 0 {
        eprintln!(
            "pwsentry: warning: rotation.max_age_days is 0 in {origin}: no password expires, so no reminder is ever due"
        );
    }
    // `_lock` is declared first so that it is dropped last, after the
    // store: closing a descriptor of the database file would release the
    // POSIX locks SQLite holds on it in this process.
    let (_lock, store) = open(g, &policy, args.dry_run)?;
    let mut sender = if args.dry_run {
        None
    } else {
        Some(Sender::new(notify)?)
    };

    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let (mut sent, mut failed, mut due_count) = (0u64, 0u64, 0u64);
    let mut after: Option<(DateTime<Utc>, String)> = None;
    let mut unreachable: Option<String> = None;
    'batches: loop {
        let mut batch: Vec<Due> = Vec::with_capacity(BATCH);
        let mut batch_bytes = 0usize;
        remind::due_reminders(
            &store,
            policy.rotation(),
            now,
            after.as_ref().map(|(t, a)| (*t, a.as_str())),
            |r| {
                let mail = notify
                    .address_for(r.account, map.as_ref())
                    .and_then(|to| recipient(&to).map(|_| to))
                    .and_then(|to| notify.mail(r, to));
                if let Ok(m) = &mail {
                    batch_bytes += m.to.len() + m.subject.len() + m.body.len();
                }
                batch.push(Due {
                    account: r.account.to_owned(),
                    changed_at: r.changed_at,
                    expires_at: r.expires_at,
                    days: r.days,
                    days_left: r.days_left,
                    mail,
                });
                if batch.len() >= BATCH || batch_bytes >= BATCH_BYTES {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )?;
        let Some(last) = batch.last() else { break };
        after = Some((last.changed_at, last.account.clone()));
        let full = batch.len() >= BATCH || batch_bytes >= BATCH_BYTES;
        for due in &batch {
            due_count += 1;
            let outcome = match (&due.mail, sender.as_mut()) {
                (Err(e), _) => Outcome::Failed(format!("cannot address the reminder: {e}")),
                (Ok(_), None) => Outcome::Due,
                (Ok(mail), Some(sender)) => match sender.send(&from, mail) {
                    Ok(()) => {
                        // Sent: remember it before anything else can fail.
                        store
                            .note_reminder(&due.account, due.changed_at, due.days, Utc::now())
                            .with_context(|| {
                                format!(
                                    "the reminder to {} was sent but could not be remembered (a rerun sends it again)",
                                    pwsentry::account::escape(&due.account)
                                )
                            })?;
                        Outcome::Sent
                    }
                    Err(SendError::Rejected(m)) => Outcome::Failed(m),
                    Err(SendError::Unreachable(m)) => {
                        unreachable = Some(m.clone());
                        Outcome::Failed(m)
                    }
                },
            };
            match &outcome {
                Outcome::Sent => sent += 1,
                Outcome::Failed(_) => failed += 1,
                Outcome::Due => {}
            }
            print_row(&mut out, g.json, due, &outcome)?;
            if unreachable.is_some() {
                break 'batches;
            }
        }
        // What went out is on record in the store; show it too.
        out.flush().context("cannot write to stdout")?;
        if !full {
            break;
        }
    }
    if !g.json && due_count > 0 {
        if args.dry_run {
            writeln!(out, "{due_count} due (dry run: nothing sent or remembered)")?;
        } else {
            writeln!(out, "{sent} sent, {failed} failed")?;
        }
    }
    out.flush().context("cannot write to stdout")?;
    drop(out);
    // Reported like errors (`--json`: an error object), though the run
    // itself finished: exit 1, not 2.
    if let Some(why) = &unreachable {
        render::print_error(
            &render::coded(
                "smtp_unavailable",
                format!(
                    "the SMTP server {}:{} cannot be used ({why}); {sent} reminders sent, the others are retried on the next run",
                    notify.smtp_host, notify.smtp_port
                ),
            ),
            g.json,
        );
    } else if failed > 0 {
        render::print_error(
            &render::coded(
                "not_sent",
                format!("{failed} reminders were not sent; they are retried on the next run"),
            ),
            g.json,
        );
    }
    Ok(if failed > 0 || unreachable.is_some() {
        EXIT_REJECTED
    } else {
        EXIT_OK
    })
}

enum Outcome {
    Sent,
    Due,
    Failed(String),
}

fn print_row(out: &mut dyn Write, json: bool, due: &Due, outcome: &Outcome) -> anyhow::Result<()> {
    let account = pwsentry::account::escape(&due.account);
    let address = due.mail.as_ref().ok().map(|m| m.to.as_str());
    let (status, error) = match outcome {
        Outcome::Sent => ("sent", None),
        Outcome::Due => ("due", None),
        Outcome::Failed(e) => ("failed", Some(e.as_str())),
    };
    if json {
        let row = Row {
            account: &account,
            reminder: reminder_name(due.days),
            days_left: due.days_left,
            changed_at: rfc3339(due.changed_at),
            expires_at: rfc3339(due.expires_at),
            address,
            status,
            error,
        };
        serde_json::to_writer(&mut *out, &row)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "{status:<6}  {:<5}  {:<20}  {account} -> {}{}",
            reminder_name(due.days),
            rfc3339(due.expires_at),
            address.unwrap_or("?"),
            error.map(|e| format!(": {e}")).unwrap_or_default()
        )?;
    }
    Ok(())
}

/// The recipient of a mail: one plain address (`user@domain`). An account
/// id may hold `<`, `>`, `,` and quotes, and the `{account}` pattern
/// passes them on: parsed as a mailbox, `alice<eve@evil.example>` would be
/// a display name with eve's address behind it.
fn recipient(to: &str) -> Result<Address, String> {
    to.parse::<Address>()
        .map_err(|e| format!("{to:?} is not a plain mail address (user@domain): {e}"))
}

/// Opens the store: read-only for a dry run; for sending, an existing one
/// (a missing store is an error, as for `stale`: a typo in `--db` must not
/// look like "nothing due"), locked for the run (see [`lock_run`]).
fn open(
    g: &GlobalArgs,
    policy: &Policy,
    dry_run: bool,
) -> anyhow::Result<(Option<std::fs::File>, AnyStore)> {
    let path = g.db_path(policy)?;
    let location = Location::parse(&path)?;
    let how = if dry_run {
        Opening::ReadOnly
    } else {
        Opening::Existing
    };
    match super::store_cmd::open_location(&location, how, policy)? {
        Some(store) if dry_run => Ok((None, store)),
        Some(store) => Ok((lock_run(&location)?, store)),
        None => bail!(
            "no history database at {}: check --db, $PWSENTRY_DB or the policy's [store] (a command that records creates it)",
            path.display()
        ),
    }
}

/// One sending run at a time per SQLite store: two runs at once (a cron
/// job still waiting for a slow server when the next one starts) would
/// both plan a reminder neither has remembered yet, and both send it.
/// The lock is `flock(2)` on the database file itself, which SQLite's own
/// (POSIX) locks do not see; it goes with the process, `kill -9`
/// included. A PostgreSQL store is not locked (see docs/notify.md).
fn lock_run(location: &Location) -> anyhow::Result<Option<std::fs::File>> {
    let Location::Sqlite(path) = location else {
        return Ok(None);
    };
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open {} to lock it", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "another `pwsentry notify` is running on {}: this run sends nothing (the other one sends what is due)",
            path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

/// Why a mail was not sent.
enum SendError {
    /// The server refused this mail (a recipient, the size): the next
    /// reminder may go through.
    Rejected(String),
    /// The server cannot be reached or spoken to: stop the run.
    Unreachable(String),
}

/// The SMTP transport, built from `[notify]`: one pooled connection,
/// reused for every mail of the run.
struct Sender {
    transport: SmtpTransport,
}

impl Sender {
    fn new(n: &NotifyPolicy) -> anyhow::Result<Sender> {
        let mut builder = SmtpTransport::builder_dangerous(n.smtp_host.as_str())
            .port(n.smtp_port)
            .timeout(Some(SMTP_TIMEOUT))
            .pool_config(PoolConfig::new().min_idle(0).max_size(1));
        let tls = |n: &NotifyPolicy| -> anyhow::Result<TlsParameters> {
            let mut b = TlsParameters::builder(n.smtp_host.clone());
            if let Some(path) = &n.tls_ca_file {
                let mut pem = Vec::new();
                if !pwsentry::trusted_file::read_at_most(
                    path,
                    pwsentry::trusted_file::FileRole::Config,
                    1 << 20,
                    &mut pem,
                )
                .map_err(|e| anyhow::anyhow!("notify.tls_ca_file {}: {e}", path.display()))?
                {
                    bail!("notify.tls_ca_file {}: larger than 1 MiB", path.display());
                }
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| anyhow::anyhow!("notify.tls_ca_file {}: {e}", path.display()))?;
                b = b
                    .certificate_store(CertificateStore::None)
                    .add_root_certificate(cert);
            } else {
                b = b.certificate_store(CertificateStore::WebpkiRoots);
            }
            b.build_rustls().context("TLS set-up for SMTP")
        };
        builder = match n.tls {
            SmtpTls::None => builder.tls(Tls::None),
            SmtpTls::Starttls => builder.tls(Tls::Required(tls(n)?)),
            SmtpTls::Tls => builder.tls(Tls::Wrapper(tls(n)?)),
            other => bail!("notify.tls {other:?} is not supported by this pwsentry"),
        };
        if let Some((user, password)) = n.read_credentials()? {
            builder = builder.credentials(Credentials::new(user, password.as_str().to_owned()));
        }
        Ok(Sender {
            transport: builder.build(),
        })
    }

    fn send(&mut self, from: &Mailbox, mail: &Mail) -> Result<(), SendError> {
        let to = Mailbox::new(None, recipient(&mail.to).map_err(SendError::Rejected)?);
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(mail.subject.as_str())
            .message_id(None)
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| SendError::Rejected(format!("cannot build the message: {e}")))?;
        match self.transport.send(&message) {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() || e.is_transient() => {
                let why = format!("refused by the SMTP server: {}", chain(&e));
                // Refusals that hold for every mail of the run (service
                // closing, authentication required or failed, TLS
                // unavailable) stop it; others concern this mail only.
                let code = e.status().map(|c| c.to_string());
                if matches!(
                    code.as_deref(),
                    Some("421" | "454" | "530" | "534" | "535" | "538")
                ) {
                    Err(SendError::Unreachable(why))
                } else {
                    Err(SendError::Rejected(why))
                }
            }
            // lettre refuses, before sending anything, a non-ASCII
            // address to a server without SMTPUTF8: a client error that
            // concerns this recipient only. Stopping there would stop
            // every run at the same account, before all later ones.
            Err(e) if e.is_client() && !mail.to.is_ascii() => Err(SendError::Rejected(format!(
                "cannot be sent to this server: {}",
                chain(&e)
            ))),
            Err(e) => Err(SendError::Unreachable(chain(&e))),
        }
    }
}

/// An error and its causes, one line, with control and invisible
/// characters escaped: it quotes the SMTP server's reply, which could
/// otherwise carry terminal escape sequences to the operator's screen
/// (or line breaks into the cron mail).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    pwsentry::account::escape(&out).into_owned()
}
