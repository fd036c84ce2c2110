//! Expiry reminders: which accounts are due a reminder mail, and what the
//! mail says. The policy's `[rotation] remind_days` (e.g. `[14, 7, 1]`)
//! and `[notify]` section ([`NotifyPolicy`]) configure it; the `pwsentry
//! notify` command sends the mails.
//!
//! - [`due_reminders`] is the plan: given the store, the rotation policy
//!   and `now`, it streams every (account, reminder) due, oldest password
//!   first. Only the smallest threshold crossed is due (a first run five
//!   days before expiry sends the 7-day reminder, not the 14- and 7-day
//!   ones), one stale notice once the password is stale, and nothing that
//!   the store remembers as sent for the current password
//!   ([`Store::note_reminder`]); a new password starts afresh.
//! - [`NotifyPolicy`] renders the subject and body from the policy's
//!   templates (placeholders `{account}`, `{days_left}`, `{expires}`,
//!   `{change_url}`) and resolves the recipient (an address pattern or an
//!   [`AddressMap`] file).
//!
//! Nothing here sends mail, prints or reads the clock; the plan keeps no
//! list of accounts in memory (it streams through
//! [`Store::visit_reminders`]).
//!
//! ```
//! use chrono::{TimeDelta, TimeZone, Utc};
//! use pwsentry::Policy;
//! use pwsentry::remind::due_reminders;
//! use pwsentry::store::{Append, Expect, MemoryStore, NewEntry, Retention, Store};
//! use std::ops::ControlFlow;
//!
//! let policy = Policy::from_toml_str("[rotation]\nmax_age_days = 90\nremind_days = [14, 7, 1]\n")?;
//! let store = MemoryStore::new();
//! let set = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
//! let entry = [NewEntry::new(set, "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", false)];
//! store.append("bob@example.com", &Append { salt: &[1; 16], entries: &entry, expect: Expect::Anything, retention: Retention::new(5, None) })?;
//!
//! // Five days before expiry: the 7-day reminder is due, and only that.
//! let now = set + TimeDelta::days(85);
//! let mut due = Vec::new();
//! due_reminders(&store, policy.rotation(), now, None, |r| {
//!     due.push((r.account.to_owned(), r.days, r.days_left));
//!     ControlFlow::Continue(())
//! })?;
//! assert_eq!(due, [("bob@example.com".to_owned(), 7, 5)]);
//!
//! // Once it is noted as sent, nothing is due until the 1-day threshold.
//! store.note_reminder("bob@example.com", set, 7, now)?;
//! let mut n = 0;
//! due_reminders(&store, policy.rotation(), now + TimeDelta::days(3), None, |_| { n += 1; ControlFlow::Continue(()) })?;
//! assert_eq!(n, 0);
//! # Ok::<(), pwsentry::Error>(())
//! ```

use crate::account::{AccountId, AccountsPolicy};
use crate::error::{Error, Result};
use crate::policy::RotationPolicy;
use crate::store::{ReminderDays, STALE_NOTICE, Store};
use crate::trusted_file::{self, FileRole};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Most thresholds `[rotation] remind_days` may list.
pub const MAX_REMIND_DAYS: usize = 16;

/// Largest template (subject or body) accepted, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;

/// Largest address map file accepted, in bytes: the map is held in memory
/// (it lists the exceptions to the address pattern, not every account).
pub const MAX_ADDRESS_MAP_BYTES: usize = 64 * 1024 * 1024;

/// Largest SMTP credentials file accepted, in bytes.
const MAX_AUTH_BYTES: usize = 4096;

/// One reminder that is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reminder<'a> {
    /// The account id.
    pub account: &'a str,
    /// When its current password was set.
    pub changed_at: DateTime<Utc>,
    /// When that password expires (`changed_at + max_age_days`).
    pub expires_at: DateTime<Utc>,
    /// Which reminder: the threshold crossed (days before expiry, one of
    /// `remind_days`), or [`STALE_NOTICE`] for the stale notice.
    pub days: ReminderDays,
    /// Whole days left until expiry, rounded up (0 once stale).
    pub days_left: u64,
}

impl Reminder<'_> {
    /// `true` for the notice sent once the password is stale.
    pub fn is_stale_notice(&self) -> bool {
        self.days == STALE_NOTICE
    }
}

/// Where a walk of [`due_reminders`] stopped: pass the last reminder's
/// position as `after` to go on from there.
pub type Position<'a> = (DateTime<Utc>, &'a str);

/// Calls `visit` for every reminder due at `now`, oldest password first
/// (ties by account id), streaming from the store, until `visit` returns
/// [`ControlFlow::Break`]. With `after`, starts strictly after that
/// (`changed_at`, account): a caller that stops after a batch, sends it
/// and notes it with [`Store::note_reminder`] goes on from the last
/// reminder of the batch.
///
/// Per account, at most one reminder is due: the stale notice once the
/// password is stale, else the smallest threshold of
/// `policy.remind_days` already crossed (`now >= expires_at - days`); and
/// none if the store remembers that reminder, or a more urgent one, as sent
/// for the current password. Nothing is due when the policy has no maximum
/// age.
///
/// # Errors
/// Store errors; [`Error::Time`] if `now` is too early to subtract the
/// maximum age from.
pub fn due_reminders(
    store: &dyn Store,
    policy: &RotationPolicy,
    now: DateTime<Utc>,
    after: Option<Position<'_>>,
    mut visit: impl FnMut(&Reminder<'_>) -> ControlFlow<()>,
) -> Result<()> {
    if policy.max_age_days == 0 {
        return Ok(());
    }
    let max_age = days(policy.max_age_days);
    let earliest = policy.remind_days.iter().copied().max().unwrap_or(0);
    let window = policy.max_age_days.saturating_sub(earliest);
    let cutoff = now
        .checked_sub_signed(days(window))
        .ok_or_else(|| Error::Time("the time is too early for the maximum age".into()))?;
    store.visit_reminders(cutoff, after, &mut |account, changed_at, reminded| {
        let Some(expires_at) = changed_at.checked_add_signed(max_age) else {
            return ControlFlow::Continue(());
        };
        let Some((due, days_left)) = due_at(policy, expires_at, now) else {
            return ControlFlow::Continue(());
        };
        if reminded.is_some_and(|sent| sent <= due) {
            return ControlFlow::Continue(());
        }
        visit(&Reminder {
            account,
            changed_at,
            expires_at,
            days: due,
            days_left,
        })
    })
}

/// The reminder due at `now` for a password expiring at `expires_at`, with
/// the whole days left (rounded up), ignoring what was sent.
fn due_at(
    policy: &RotationPolicy,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<(ReminderDays, u64)> {
    if now >= expires_at {
        return Some((STALE_NOTICE, 0));
    }
    let left = expires_at - now;
    let crossed = policy
        .remind_days
        .iter()
        .copied()
        .filter(|d| left <= days(*d))
        .min()?;
    let secs = left.num_seconds();
    let days_left = u64::try_from((secs + 86_399) / 86_400).unwrap_or(0);
    Some((crossed, days_left))
}

fn days(n: u32) -> TimeDelta {
    TimeDelta::days(i64::from(n))
}

// ---- templates ----------------------------------------------------------------

/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 4] = ["account", "days_left", "expires", "change_url"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Account,
    DaysLeft,
    Expires,
    ChangeUrl,
}

/// A subject or body template: text with `{account}`, `{days_left}`,
/// `{expires}` and `{change_url}`; `{{` and `}}` stand for `{` and `}`.
/// Checked when it is built: an unknown placeholder is an error naming it
/// and its line.
#[derive(Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    pieces: Vec<Piece>,
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Template").field(&self.source).finish()
    }
}

impl Serialize for Template {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl Template {
    /// Parses `source`.
    ///
    /// # Errors
    /// A message naming the line (1-based, within the template) and the
    /// unknown placeholder or the stray brace.
    ///
    /// ```
    /// use pwsentry::remind::Template;
    /// assert!(Template::parse("Expires in {days_left} days").is_ok());
    /// let e = Template::parse("Hello\n{acount}").unwrap_err();
    /// assert!(e.contains("line 2") && e.contains("{acount}"), "{e}");
    /// ```
    pub fn parse(source: &str) -> std::result::Result<Template, String> {
        if source.len() > MAX_TEMPLATE_BYTES {
            return Err(format!("is larger than {} KiB", MAX_TEMPLATE_BYTES / 1024));
        }
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = source;
        let line_of = |r: &str| source[..source.len() - r.len()].matches('\n').count() + 1;
        while let Some(i) = rest.find(['{', '}']) {
            text.push_str(&rest[..i]);
            let tail = &rest[i..];
            if let Some(after) = tail.strip_prefix("{{") {
                text.push('{');
                rest = after;
            } else if let Some(after) = tail.strip_prefix("}}") {
                text.push('}');
                rest = after;
            } else if tail.starts_with('}') {
                return Err(format!(
                    "line {}: a lone `}}` (write `}}}}` for a brace)",
                    line_of(tail)
                ));
            } else {
                let close = tail[1..].find(['}', '{', '\n']).map(|j| j + 1);
                let Some(close) = close.filter(|&j| tail.as_bytes()[j] == b'}') else {
                    return Err(format!(
                        "line {}: a `{{` without its `}}` (write `{{{{` for a brace)",
                        line_of(tail)
                    ));
                };
                let name = &tail[1..close];
                let piece = match name {
                    "account" => Piece::Account,
                    "days_left" => Piece::DaysLeft,
                    "expires" => Piece::Expires,
                    "change_url" => Piece::ChangeUrl,
                    _ => {
                        return Err(format!(
                            "line {}: unknown placeholder `{{{}}}`; expected one of {}",
                            line_of(tail),
                            name.escape_debug(),
                            PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                        ));
                    }
                };
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(piece);
                rest = &tail[close + 1..];
            }
        }
        text.push_str(rest);
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Template {
            source: source.to_owned(),
            pieces,
        })
    }

    /// The template as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The text for `reminder`, with the change page at `change_url`.
    pub fn render(&self, reminder: &Reminder<'_>, change_url: &str) -> String {
        let mut out = String::with_capacity(self.source.len() + 64);
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Account => out.push_str(reminder.account),
                Piece::DaysLeft => out.push_str(&reminder.days_left.to_string()),
                Piece::Expires => out.push_str(
                    &reminder
                        .expires_at
                        .to_rfc3339_opts(SecondsFormat::Secs, true),
                ),
                Piece::ChangeUrl => out.push_str(change_url),
            }
        }
        out
    }

    fn uses_only_account(&self) -> bool {
        self.pieces
            .iter()
            .all(|p| matches!(p, Piece::Text(_) | Piece::Account))
    }
}

// ---- [notify] -------------------------------------------------------------------

/// How the SMTP connection is secured (`[notify] tls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SmtpTls {
    /// Plain SMTP (the local MTA on localhost, the default).
    #[default]
    None,
    /// STARTTLS, required: the mail is not sent if the server does not
    /// offer it or its certificate does not verify.
    Starttls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
}

/// The default subject of a reminder.
pub const DEFAULT_SUBJECT: &str = "Your password expires in {days_left} days";
/// The default body of a reminder.
pub const DEFAULT_TEMPLATE: &str = "Hello,\n\nthe password of {account} expires on {expires}, in {days_left} days.\nPlease choose a new one before then:\n\n    {change_url}\n\nThis is an automatic message.\n";
/// The default subject of the stale notice.
pub const DEFAULT_STALE_SUBJECT: &str = "Your password has expired";
/// The default body of the stale notice.
pub const DEFAULT_STALE_TEMPLATE: &str = "Hello,\n\nthe password of {account} expired on {expires}.\nPlease choose a new one now:\n\n    {change_url}\n\nThis is an automatic message.\n";

/// `[notify]`: the reminder mails of `pwsentry notify`. Validated with the
/// policy: templates use only known placeholders, no header value or
/// address holds a line break, the change URL is an `http(s)` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NotifyPolicy {
    /// The sender, e.g. `pwsentry <noreply@example.com>`.
    pub from: String,
    /// Subject of a reminder.
    pub subject: Template,
    /// Body of a reminder (from `template` or `template_file`).
    pub template: Template,
    /// The file the body was read from, if any.
    pub template_file: Option<PathBuf>,
    /// Subject of the stale notice.
    pub stale_subject: Template,
    /// Body of the stale notice (from `stale_template` or `stale_template_file`).
    pub stale_template: Template,
    /// The file the stale notice's body was read from, if any.
    pub stale_template_file: Option<PathBuf>,
    /// The page where a password is changed (`{change_url}`).
    pub change_url: String,
    /// SMTP server (default `localhost`).
    pub smtp_host: String,
    /// SMTP port (default 25).
    pub smtp_port: u16,
    /// `none` (default), `starttls` or `tls`.
    pub tls: SmtpTls,
    /// PEM file of the CA(s) to trust instead of the Mozilla roots.
    pub tls_ca_file: Option<PathBuf>,
    /// A private file: the SMTP user name on the first line, its password
    /// on the second. Needs `tls`.
    pub auth_file: Option<PathBuf>,
    /// The recipient as a pattern of `{account}` (default `"{account}"`).
    pub address: String,
    /// A file of `account address` lines; listed accounts get that address
    /// instead of the pattern's.
    pub address_map: Option<PathBuf>,
    address_pattern: Template,
}

/// As `policy show` prints it: a body read from a file is printed as the
/// file's name, so that the output reads back as the same policy.
impl Serialize for NotifyPolicy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            from: &'a str,
            subject: &'a Template,
            #[serde(skip_serializing_if = "Option::is_none")]
            template: Option<&'a Template>,
            #[serde(skip_serializing_if = "Option::is_none")]
            template_file: Option<&'a Path>,
            stale_subject: &'a Template,
            #[serde(skip_serializing_if = "Option::is_none")]
            stale_template: Option<&'a Template>,
            #[serde(skip_serializing_if = "Option::is_none")]
            stale_template_file: Option<&'a Path>,
            change_url: &'a str,
            smtp_host: &'a str,
            smtp_port: u16,
            tls: SmtpTls,
            #[serde(skip_serializing_if = "Option::is_none")]
            tls_ca_file: Option<&'a Path>,
            #[serde(skip_serializing_if = "Option::is_none")]
            auth_file: Option<&'a Path>,
            address: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            address_map: Option<&'a Path>,
        }
        View {
            from: &self.from,
            subject: &self.subject,
            template: self.template_file.is_none().then_some(&self.template),
            template_file: self.template_file.as_deref(),
            stale_subject: &self.stale_subject,
            stale_template: self
                .stale_template_file
                .is_none()
                .then_some(&self.stale_template),
            stale_template_file: self.stale_template_file.as_deref(),
            change_url: &self.change_url,
            smtp_host: &self.smtp_host,
            smtp_port: self.smtp_port,
            tls: self.tls,
            tls_ca_file: self.tls_ca_file.as_deref(),
            auth_file: self.auth_file.as_deref(),
            address: &self.address,
            address_map: self.address_map.as_deref(),
        }
        .serialize(s)
    }
}

/// A rendered reminder mail.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mail {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub body: String,
}

impl NotifyPolicy {
    /// The recipient of `account`'s reminders: its line in `map` if any,
    /// else the `address` pattern.
    ///
    /// # Errors
    /// A message if the result is empty or holds a line break or another
    /// control character (a header injection).
    pub fn address_for(
        &self,
        account: &str,
        map: Option<&AddressMap>,
    ) -> std::result::Result<String, String> {
        let address = match map.and_then(|m| m.get(account)) {
            Some(a) => a.to_owned(),
            None => self.address_pattern.render(
                &Reminder {
                    account,
                    changed_at: DateTime::<Utc>::UNIX_EPOCH,
                    expires_at: DateTime::<Utc>::UNIX_EPOCH,
                    days: STALE_NOTICE,
                    days_left: 0,
                },
                "",
            ),
        };
        header_value("address", &address)?;
        if address.trim().is_empty() {
            return Err("the address is empty".into());
        }
        Ok(address)
    }

    /// The mail for `reminder`, to `to`.
    ///
    /// # Errors
    /// A message if the rendered subject holds a line break or another
    /// control character (only a malformed account id could bring one).
    pub fn mail(&self, reminder: &Reminder<'_>, to: String) -> std::result::Result<Mail, String> {
        let (subject, body) = if reminder.is_stale_notice() {
            (&self.stale_subject, &self.stale_template)
        } else {
            (&self.subject, &self.template)
        };
        let subject = subject.render(reminder, &self.change_url);
        header_value("subject", &subject)?;
        Ok(Mail {
            to,
            subject,
            body: body.render(reminder, &self.change_url),
        })
    }

    /// Reads `auth_file`: (user, password), or `None` without one.
    ///
    /// # Errors
    /// [`Error::Policy`] naming the file when it is not a private regular
    /// file, is too large, or does not hold a user line and a password line.
    pub fn read_credentials(&self) -> Result<Option<(String, Zeroizing<String>)>> {
        let Some(path) = &self.auth_file else {
            return Ok(None);
        };
        let bad = |m: String| {
            Error::Policy(crate::error::PolicyError {
                origin: path.display().to_string(),
                line: None,
                column: None,
                message: format!("notify.auth_file: {m}"),
            })
        };
        let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_AUTH_BYTES + 1));
        if !trusted_file::read_at_most(path, FileRole::Secret, MAX_AUTH_BYTES, &mut bytes)
            .map_err(|e| bad(e.to_string()))?
        {
            return Err(bad(format!("larger than {MAX_AUTH_BYTES} bytes")));
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| bad("not UTF-8 text".into()))?;
        let mut lines = text.lines();
        let user = lines.next().unwrap_or("").trim();
        let password = lines.next().unwrap_or("");
        if user.is_empty() || password.is_empty() {
            return Err(bad(
                "expected the user name on the first line and the password on the second".into(),
            ));
        }
        Ok(Some((user.to_owned(), Zeroizing::new(password.to_owned()))))
    }
}

/// Refuses a header value or address with a line break or another control
/// character: it could add headers or recipients to the mail.
pub fn header_value(what: &str, value: &str) -> std::result::Result<(), String> {
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(format!(
            "{what} holds a control character ({}): line breaks could add headers or recipients",
            c.escape_debug()
        ));
    }
    Ok(())
}

/// The `[notify]` section as written.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNotify {
    from: Option<toml::Spanned<String>>,
    subject: Option<toml::Spanned<String>>,
    template: Option<toml::Spanned<String>>,
    template_file: Option<toml::Spanned<String>>,
    stale_subject: Option<toml::Spanned<String>>,
    stale_template: Option<toml::Spanned<String>>,
    stale_template_file: Option<toml::Spanned<String>>,
    change_url: Option<toml::Spanned<String>>,
    smtp_host: Option<toml::Spanned<String>>,
    smtp_port: Option<toml::Spanned<u16>>,
    tls: Option<toml::Spanned<SmtpTls>>,
    tls_ca_file: Option<toml::Spanned<String>>,
    auth_file: Option<toml::Spanned<String>>,
    address: Option<toml::Spanned<String>>,
    address_map: Option<toml::Spanned<String>>,
}

/// A validation failure: the byte offset of the offending value (if known)
/// and the message.
pub(crate) type Problem = (Option<usize>, String);

impl RawNotify {
    /// Validates the section; relative paths resolve against `base`.
    pub(crate) fn validate(
        self,
        section: Option<usize>,
        base: &Path,
    ) -> std::result::Result<NotifyPolicy, Problem> {
        let at = |v: &Option<toml::Spanned<String>>| v.as_ref().map(|s| s.span().start);
        let path = |v: Option<toml::Spanned<String>>| {
            v.map(|s| s.into_inner())
                .filter(|s| !s.is_empty())
                .map(|p| resolve(base, &p))
        };
        let from_at = at(&self.from).or(section);
        let from = self
            .from
            .map(|s| s.into_inner())
            .filter(|s| !s.trim().is_empty())
            .ok_or((
                from_at,
                "notify.from is required (the sender, e.g. \"pwsentry <noreply@example.com>\")"
                    .to_owned(),
            ))?;
        header_value("notify.from", &from).map_err(|m| (from_at, m))?;
        let url_at = at(&self.change_url).or(section);
        let change_url = self
            .change_url
            .map(|s| s.into_inner())
            .ok_or((url_at, "notify.change_url is required (the page where a password is changed, for {change_url})".to_owned()))?;
        let scheme_ok = change_url.starts_with("https://") || change_url.starts_with("http://");
        if !scheme_ok
            || change_url
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err((
                url_at,
                "notify.change_url must be an http:// or https:// URL without spaces or control characters".into(),
            ));
        }
        let subject_of = |key: &str, v: Option<toml::Spanned<String>>, default: &str| {
            let span = v.as_ref().map(|s| s.span().start);
            let text = v.map_or_else(|| default.to_owned(), |s| s.into_inner());
            header_value(&format!("notify.{key}"), &text).map_err(|m| (span, m))?;
            Template::parse(&text).map_err(|m| (span, format!("notify.{key}, {m}")))
        };
        let subject = subject_of("subject", self.subject, DEFAULT_SUBJECT)?;
        let stale_subject = subject_of("stale_subject", self.stale_subject, DEFAULT_STALE_SUBJECT)?;
        let (template, template_file) = body(
            "template",
            self.template,
            self.template_file,
            DEFAULT_TEMPLATE,
            base,
        )?;
        let (stale_template, stale_template_file) = body(
            "stale_template",
            self.stale_template,
            self.stale_template_file,
            DEFAULT_STALE_TEMPLATE,
            base,
        )?;
        let host_at = at(&self.smtp_host);
        let smtp_host = self
            .smtp_host
            .map_or_else(|| "localhost".to_owned(), |s| s.into_inner());
        if smtp_host.is_empty()
            || smtp_host
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err((
                host_at,
                "notify.smtp_host must be a host name or address".into(),
            ));
        }
        let port_at = self.smtp_port.as_ref().map(|s| s.span().start);
        let smtp_port = self.smtp_port.map_or(25, |s| s.into_inner());
        if smtp_port == 0 {
            return Err((port_at, "notify.smtp_port must be 1..=65535".into()));
        }
        let tls_at = self.tls.as_ref().map(|s| s.span().start);
        let tls = self.tls.map(|s| s.into_inner()).unwrap_or_default();
        let ca_at = at(&self.tls_ca_file);
        let tls_ca_file = path(self.tls_ca_file);
        if tls_ca_file.is_some() && tls == SmtpTls::None {
            return Err((
                ca_at,
                "notify.tls_ca_file needs tls = \"starttls\" or \"tls\"".into(),
            ));
        }
        let auth_at = at(&self.auth_file);
        let auth_file = path(self.auth_file);
        if auth_file.is_some() && tls == SmtpTls::None {
            return Err((
                auth_at.or(tls_at),
                "notify.auth_file needs tls = \"starttls\" or \"tls\": the SMTP password must not travel in clear text".into(),
            ));
        }
        let address_at = at(&self.address);
        let address = self
            .address
            .map_or_else(|| "{account}".to_owned(), |s| s.into_inner());
        header_value("notify.address", &address).map_err(|m| (address_at, m))?;
        let pattern =
            Template::parse(&address).map_err(|m| (address_at, format!("notify.address, {m}")))?;
        if !pattern.uses_only_account() {
            return Err((
                address_at,
                "notify.address may use only the placeholder {account}".into(),
            ));
        }
        if address.trim().is_empty() {
            return Err((address_at, "notify.address must not be empty".into()));
        }
        let address_map = path(self.address_map);
        Ok(NotifyPolicy {
            from,
            subject,
            template,
            template_file,
            stale_subject,
            stale_template,
            stale_template_file,
            change_url,
            smtp_host,
            smtp_port,
            tls,
            tls_ca_file,
            auth_file,
            address,
            address_map,
            address_pattern: pattern,
        })
    }
}

/// A body from `key` or `key_file` (not both), else `default`.
fn body(
    key: &str,
    text: Option<toml::Spanned<String>>,
    file: Option<toml::Spanned<String>>,
    default: &str,
    base: &Path,
) -> std::result::Result<(Template, Option<PathBuf>), Problem> {
    let file = file.filter(|f| !f.get_ref().is_empty());
    match (text, file) {
        (Some(t), Some(f)) => Err((
            Some(f.span().start.max(t.span().start)),
            format!("set notify.{key} or notify.{key}_file, not both"),
        )),
        (Some(t), None) => {
            let span = Some(t.span().start);
            Template::parse(t.get_ref())
                .map(|tpl| (tpl, None))
                .map_err(|m| (span, format!("notify.{key}, {m}")))
        }
        (None, Some(f)) => {
            let span = Some(f.span().start);
            let path = resolve(base, f.get_ref());
            let mut bytes = Vec::new();
            let within =
                trusted_file::read_at_most(&path, FileRole::Config, MAX_TEMPLATE_BYTES, &mut bytes)
                    .map_err(|e| (span, format!("notify.{key}_file {}: {e}", path.display())))?;
            if !within {
                return Err((
                    span,
                    format!(
                        "notify.{key}_file {}: larger than {} KiB",
                        path.display(),
                        MAX_TEMPLATE_BYTES / 1024
                    ),
                ));
            }
            let text = String::from_utf8(bytes).map_err(|_| {
                (
                    span,
                    format!("notify.{key}_file {}: not UTF-8 text", path.display()),
                )
            })?;
            let tpl = Template::parse(&text)
                .map_err(|m| (span, format!("notify.{key}_file {}, {m}", path.display())))?;
            Ok((tpl, Some(path)))
        }
        (None, None) => Template::parse(default)
            .map(|t| (t, None))
            .map_err(|m| (None, m)),
    }
}

fn resolve(base: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_owned()
    } else {
        base.join(path)
    }
}

// ---- address map ----------------------------------------------------------------

/// Recipients for accounts whose mail goes elsewhere than the `address`
/// pattern says: a file of `account address` lines (`#` starts a comment
/// line). Account ids are made canonical as everywhere else.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressMap {
    map: HashMap<String, String>,
}

impl AddressMap {
    /// Reads the map at `path` (a trusted file, at most
    /// [`MAX_ADDRESS_MAP_BYTES`]).
    ///
    /// # Errors
    /// [`Error::Policy`] naming the file, and the line for a malformed
    /// entry (a line without two fields, an invalid account id, an address
    /// with a control character, an account listed twice).
    pub fn load(path: &Path, rules: &AccountsPolicy) -> Result<AddressMap> {
        let origin = path.display().to_string();
        let fail = |line: Option<usize>, message: String| {
            Error::Policy(crate::error::PolicyError {
                origin: origin.clone(),
                line,
                column: line.map(|_| 1),
                message: format!("address map: {message}"),
            })
        };
        let mut bytes = Vec::new();
        if !trusted_file::read_at_most(path, FileRole::Config, MAX_ADDRESS_MAP_BYTES, &mut bytes)
            .map_err(|e| fail(None, e.to_string()))?
        {
            return Err(fail(
                None,
                format!("larger than {} MiB", MAX_ADDRESS_MAP_BYTES >> 20),
            ));
        }
        let text = String::from_utf8(bytes).map_err(|_| fail(None, "not UTF-8 text".into()))?;
        AddressMap::parse(&text, rules).map_err(|(line, m)| fail(Some(line), m))
    }

    /// Parses map text; errors give the 1-based line.
    ///
    /// # Errors
    /// (line, message) for the first malformed line.
    ///
    /// ```
    /// use pwsentry::remind::AddressMap;
    /// let map = AddressMap::parse("# ops\nAlice@Example.com  alice.private@example.org\n", &Default::default()).unwrap();
    /// assert_eq!(map.get("alice@example.com"), Some("alice.private@example.org"));
    /// ```
    pub fn parse(
        text: &str,
        rules: &AccountsPolicy,
    ) -> std::result::Result<AddressMap, (usize, String)> {
        let mut map = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split_whitespace();
            let (Some(account), Some(address), None) =
                (fields.next(), fields.next(), fields.next())
            else {
                return Err((n, "expected `account address`".into()));
            };
            let account = AccountId::parse(account, rules)
                .map_err(|e| (n, format!("invalid account id: {e}")))?
                .into_string();
            header_value("the address", address).map_err(|m| (n, m))?;
            if map.insert(account.clone(), address.to_owned()).is_some() {
                return Err((n, format!("{account} is listed twice")));
            }
        }
        Ok(AddressMap { map })
    }

    /// The address of `account`, if the map lists it.
    pub fn get(&self, account: &str) -> Option<&str> {
        self.map.get(account).map(String::as_str)
    }

    /// How many accounts the map lists.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// `true` when the map lists no account.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Policy;
    use crate::store::{Append, Expect, MemoryStore, NewEntry, Retention};
    use chrono::TimeZone;

    fn t(day: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + TimeDelta::days(day)
    }

    fn rotation(remind: &str) -> RotationPolicy {
        Policy::from_toml_str(&format!(
            "[rotation]\nmax_age_days = 90\nwarn_days = 14\nremind_days = {remind}\n"
        ))
        .unwrap()
        .rotation()
        .clone()
    }

    fn add(store: &MemoryStore, account: &str, day: i64) {
        let e = [NewEntry::new(t(day), "h", false)];
        store
            .append(
                account,
                &Append {
                    salt: &[1; 16],
                    entries: &e,
                    expect: Expect::Anything,
                    retention: Retention::new(1, None),
                },
            )
            .unwrap();
    }

    fn due(store: &MemoryStore, r: &RotationPolicy, now: DateTime<Utc>) -> Vec<(String, u32, u64)> {
        let mut out = Vec::new();
        due_reminders(store, r, now, None, |x| {
            out.push((x.account.to_owned(), x.days, x.days_left));
            ControlFlow::Continue(())
        })
        .unwrap();
        out
    }

    #[test]
    fn thresholds_one_at_a_time() {
        let r = rotation("[1, 14, 7]");
        assert_eq!(r.remind_days, [14, 7, 1], "kept most distant first");
        let store = MemoryStore::new();
        add(&store, "a", 0); // expires on day 90
        let at = |day: i64, hours: i64| t(day) + TimeDelta::hours(hours);
        assert!(
            due(&store, &r, at(75, 23)).is_empty(),
            "before the 14-day line"
        );
        assert_eq!(
            due(&store, &r, t(76)),
            [("a".into(), 14, 14)],
            "exactly 14 days before"
        );
        assert_eq!(
            due(&store, &r, at(76, 12)),
            [("a".into(), 14, 14)],
            "13.5 days round up"
        );
        // A first run at 5 days left sends the 7-day reminder only.
        assert_eq!(due(&store, &r, t(85)), [("a".into(), 7, 5)]);
        store.note_reminder("a", t(0), 7, t(85)).unwrap();
        assert!(
            due(&store, &r, t(88)).is_empty(),
            "7 sent; 1 not yet crossed"
        );
        assert_eq!(due(&store, &r, t(89)), [("a".into(), 1, 1)]);
        store.note_reminder("a", t(0), 1, t(89)).unwrap();
        assert!(due(&store, &r, at(89, 23)).is_empty());
        assert_eq!(due(&store, &r, t(90)), [("a".into(), 0, 0)], "stale notice");
        store.note_reminder("a", t(0), STALE_NOTICE, t(90)).unwrap();
        assert!(due(&store, &r, t(400)).is_empty(), "one stale notice");
        // A new password starts afresh.
        add(&store, "a", 100);
        assert!(due(&store, &r, t(150)).is_empty());
        assert_eq!(due(&store, &r, t(180)), [("a".into(), 14, 10)]);
        assert_eq!(due(&store, &r, t(185)), [("a".into(), 7, 5)]);
    }

    #[test]
    fn no_thresholds_or_no_rotation() {
        let store = MemoryStore::new();
        add(&store, "a", 0);
        let r = rotation("[]");
        assert!(due(&store, &r, t(89)).is_empty());
        assert_eq!(due(&store, &r, t(95)), [("a".into(), 0, 0)]);
        let off = Policy::from_toml_str("[rotation]\nmax_age_days = 0\nwarn_days = 0\n")
            .unwrap()
            .rotation()
            .clone();
        assert!(due(&store, &off, t(10_000)).is_empty());
    }

    #[test]
    fn batches_resume_after_the_last_one() {
        let store = MemoryStore::new();
        for (i, a) in ["d", "c", "b", "a"].iter().enumerate() {
            add(&store, a, i as i64 % 2);
        }
        let r = rotation("[7]");
        let mut all = Vec::new();
        let mut after: Option<(DateTime<Utc>, String)> = None;
        loop {
            let mut batch = Vec::new();
            due_reminders(
                &store,
                &r,
                t(200),
                after.as_ref().map(|(t, a)| (*t, a.as_str())),
                |x| {
                    batch.push((x.changed_at, x.account.to_owned()));
                    if batch.len() == 3 {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                },
            )
            .unwrap();
            let Some(last) = batch.last().cloned() else {
                break;
            };
            all.extend(batch.iter().map(|(_, a)| a.clone()));
            after = Some(last);
        }
        assert_eq!(all, ["b", "d", "a", "c"]);
    }

    #[test]
    fn templates() {
        let tpl =
            Template::parse("{{literal}} {account}: {days_left} days, {expires}, {change_url}")
                .unwrap();
        let r = Reminder {
            account: "bob@example.com",
            changed_at: t(0),
            expires_at: t(90),
            days: 7,
            days_left: 6,
        };
        assert_eq!(
            tpl.render(&r, "https://x/change"),
            "{literal} bob@example.com: 6 days, 2026-04-01T00:00:00Z, https://x/change"
        );
        for (bad, expect) in [
            ("a\nb {days}", "line 2: unknown placeholder `{days}`"),
            ("x }", "line 1: a lone `}`"),
            ("x {account", "line 1: a `{` without its `}`"),
            ("{acc\nount}", "without its"),
        ] {
            let e = Template::parse(bad).unwrap_err();
            assert!(e.contains(expect), "{bad:?}: {e}");
        }
    }

    const NOTIFY: &str = "[notify]\nfrom = \"pwsentry <noreply@example.com>\"\nchange_url = \"https://mail.example.com/password\"\n";

    fn policy_error(extra: &str) -> String {
        Policy::from_toml_str(&format!("{NOTIFY}{extra}"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn notify_section_is_validated() {
        let p = Policy::from_toml_str(NOTIFY).unwrap();
        let n = p.notify().unwrap();
        assert_eq!(
            (n.smtp_host.as_str(), n.smtp_port, n.tls),
            ("localhost", 25, SmtpTls::None)
        );
        assert_eq!(
            n.address_for("bob@example.com", None).unwrap(),
            "bob@example.com"
        );
        assert!(Policy::default().notify().is_none());
        for (extra, line, expect) in [
            (
                "subject = \"Hi {name}\"\n",
                4,
                "unknown placeholder `{name}`",
            ),
            (
                "template = \"\"\"\nline one\n{days-left}\n\"\"\"\n",
                4,
                "line 2: unknown placeholder `{days-left}`",
            ),
            ("subject = \"a\\r\\nBcc: x@y\"\n", 4, "control character"),
            (
                "address = \"{account}\\nBcc: x@y\"\n",
                4,
                "control character",
            ),
            (
                "address = \"{expires}@x\"\n",
                4,
                "only the placeholder {account}",
            ),
            ("smtp_port = 0\n", 4, "smtp_port"),
            ("tls = \"ssl\"\n", 4, "unknown variant"),
            ("auth_file = \"/etc/pwsentry/smtp\"\n", 4, "clear text"),
            ("bogus = 1\n", 4, "unknown field `bogus`"),
            (
                "template = \"x\"\ntemplate_file = \"t.txt\"\n",
                5,
                "not both",
            ),
        ] {
            let e = policy_error(extra);
            assert!(
                e.contains(expect) && e.contains(&format!("line {line}")),
                "{extra:?}: {e}"
            );
        }
        let e = Policy::from_toml_str("[notify]\nfrom = \"a@b\"\nchange_url = \"javascript:x\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("change_url") && e.contains("line 3"), "{e}");
        let e = Policy::from_toml_str("[notify]\nchange_url = \"https://x\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("notify.from is required"), "{e}");
    }

    #[test]
    fn remind_days_are_validated() {
        for (days, expect) in [
            ("[0]", "at least 1"),
            ("[90]", "less than rotation.max_age_days"),
            ("[7, 14, 7]", "lists 7 twice"),
        ] {
            let e = Policy::from_toml_str(&format!(
                "[rotation]\nmax_age_days = 90\nremind_days = {days}\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(e.contains(expect) && e.contains("line 3"), "{days}: {e}");
        }
        let e = Policy::from_toml_str("preset = \"nist-800-63b\"\n[rotation]\nremind_days = [7]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs rotation.max_age_days"), "{e}");
    }

    #[test]
    fn policy_show_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("body.txt"),
            "Hi {account}, {days_left} days: {change_url}\n",
        )
        .unwrap();
        let text = format!(
            "[rotation]\nremind_days = [7, 14]\n{NOTIFY}template_file = \"body.txt\"\ntls = \"starttls\"\nsmtp_port = 587\n"
        );
        let path = dir.path().join("policy.toml");
        std::fs::write(&path, text).unwrap();
        let p = Policy::from_file(&path).unwrap();
        let n = p.notify().unwrap();
        assert_eq!(
            n.template.source(),
            "Hi {account}, {days_left} days: {change_url}\n"
        );
        let shown = p.to_toml();
        assert!(
            shown.contains("remind_days = [14, 7]") && shown.contains("template_file"),
            "{shown}"
        );
        let again = Policy::parse(&shown, "<shown>", dir.path()).unwrap();
        assert_eq!(again, p);
    }

    #[test]
    fn mails_are_rendered() {
        let p = Policy::from_toml_str(&format!("{NOTIFY}subject = \"{{days_left}} days left for {{account}}\"\naddress = \"{{account}}.notify@relay.example\"\n")).unwrap();
        let n = p.notify().unwrap();
        let r = Reminder {
            account: "bob@example.com",
            changed_at: t(0),
            expires_at: t(90),
            days: 7,
            days_left: 6,
        };
        let to = n.address_for(r.account, None).unwrap();
        assert_eq!(to, "bob@example.com.notify@relay.example");
        let mail = n.mail(&r, to).unwrap();
        assert_eq!(mail.subject, "6 days left for bob@example.com");
        assert!(
            mail.body.contains("https://mail.example.com/password")
                && mail.body.contains("2026-04-01T00:00:00Z"),
            "{}",
            mail.body
        );
        let stale = Reminder {
            days: STALE_NOTICE,
            days_left: 0,
            ..r
        };
        let mail = n.mail(&stale, "x@y".into()).unwrap();
        assert_eq!(mail.subject, DEFAULT_STALE_SUBJECT);
        assert!(
            mail.body.contains("expired on 2026-04-01T00:00:00Z"),
            "{}",
            mail.body
        );
        let map = AddressMap::parse(
            "bob@example.com bob@home.example\n",
            &AccountsPolicy::default(),
        )
        .unwrap();
        assert_eq!(
            n.address_for("bob@example.com", Some(&map)).unwrap(),
            "bob@home.example"
        );
        assert!(
            n.address_for("bad\r\nBcc: x@y", None).is_err(),
            "a line break in an id never reaches a header"
        );
    }

    #[test]
    fn address_maps() {
        let rules = AccountsPolicy::default();
        let m = AddressMap::parse("a@x.org b@y.org\n\n# c\nC@X.ORG c@y.org\n", &rules).unwrap();
        assert_eq!((m.get("c@x.org"), m.len()), (Some("c@y.org"), 2));
        for (bad, line) in [
            ("a@x.org\n", 1),
            ("ok@x.org o@y\nx@y.org a b\n", 2),
            ("a@x.org b@y\nA@x.org c@y\n", 2),
            ("a@x.org b@y\u{7}\n", 1),
            ("a\u{202E}b@x.org y@z\n", 1),
        ] {
            assert_eq!(
                AddressMap::parse(bad, &rules).unwrap_err().0,
                line,
                "{bad:?}"
            );
        }
    }
}
