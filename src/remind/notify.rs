//! The `[notify]` policy section: its TOML form, its validation (sender,
//! change page, templates, SMTP settings, recipients) and what it renders
//! per reminder. It reads the template and credentials files it names,
//! and never sends anything.

use super::template::{MAX_TEMPLATE_BYTES, Template};
use super::{AddressMap, Reminder};
use crate::error::{Error, Result};
use crate::store::STALE_NOTICE;
use crate::trusted_file::{self, FileRole};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Largest SMTP credentials file accepted, in bytes.
const MAX_AUTH_BYTES: usize = 4096;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Policy;
    use crate::account::AccountsPolicy;
    use chrono::{TimeDelta, TimeZone};

    fn t(day: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + TimeDelta::days(day)
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
}
