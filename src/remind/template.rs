//! Subject and body templates of reminder mails: text with placeholders,
//! checked when the policy is read, rendered per reminder. Pure: no I/O.

use super::Reminder;
use chrono::SecondsFormat;
use serde::Serialize;
use std::fmt;

/// Largest template (subject or body) accepted, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;

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

    pub(super) fn uses_only_account(&self) -> bool {
        self.pieces
            .iter()
            .all(|p| matches!(p, Piece::Text(_) | Piece::Account))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeDelta, TimeZone, Utc};

    fn t(day: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + TimeDelta::days(day)
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
        // Values are not templates: an account id made of placeholders and
        // braces is written as it is, never expanded again.
        let hostile = Reminder {
            account: "{change_url}{{account}}}",
            ..r
        };
        assert_eq!(
            Template::parse("{account}|{change_url}")
                .unwrap()
                .render(&hostile, "https://x/{account}"),
            "{change_url}{{account}}}|https://x/{account}"
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
}
