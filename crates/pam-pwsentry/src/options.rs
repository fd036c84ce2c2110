//! The module's options, as written after the module's path in
//! `/etc/pam.d/*`: parsed strictly, so that a typo (`polcy=`) is an error in
//! syslog rather than a silently weaker check.
//!
//! | option | for | meaning |
//! |--------|-----|---------|
//! | `policy=/abs/path` | both | the policy file (default `/etc/pwsentry/policy.toml`, else the built-in policy) |
//! | `db=/abs/path` | both | the SQLite history (default: the policy's `[store] path`, else `/var/lib/pwsentry/history.db`) |
//! | `retry=N` | password | attempts before giving up, 1 to 10 (default 1) |
//! | `use_authtok` | password | never ask: check the password an earlier module set |
//! | `authtok_type=WORD` | password | shown in PAM's prompts ("New WORD password") |
//! | `record` | password | this instance records the change checked earlier in the stack |
//! | `stale=change\|warn\|deny` | account | what a stale password means at login (default `change`) |
//!
//! Paths must be absolute: the module never resolves anything against
//! the current directory.

use std::ffi::CStr;
use std::fmt;
use std::path::PathBuf;

/// Largest `retry=`: each attempt may cost the policy's argon2 budget.
pub const MAX_RETRY: u32 = 10;

/// What a stale password means at login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stale {
    /// Demand a new password now (`PAM_NEW_AUTHTOK_REQD`), as shadow's
    /// password expiry does: `login`, `sshd` and `su` then run `passwd`'s
    /// stack before letting the user in.
    #[default]
    Change,
    /// Let the user in with a warning.
    Warn,
    /// Refuse the login (`PAM_AUTHTOK_EXPIRED`) until an administrator
    /// sets a new password.
    Deny,
}

/// The parsed options of one line of a PAM service file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `policy=`.
    pub policy: Option<PathBuf>,
    /// `db=`.
    pub db: Option<PathBuf>,
    /// `retry=`.
    pub retry: u32,
    /// `use_authtok`.
    pub use_authtok: bool,
    /// `record`.
    pub record: bool,
    /// `stale=`.
    pub stale: Stale,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            policy: None,
            db: None,
            retry: 1,
            use_authtok: false,
            record: false,
            stale: Stale::Change,
        }
    }
}

/// A bad option; the message names it and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionError(String);

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OptionError {}

impl Options {
    /// Parses the options PAM passes to the module.
    ///
    /// # Errors
    /// [`OptionError`] naming an unknown option, a bad value, a relative
    /// path or an option given twice.
    pub fn parse<'a>(args: impl IntoIterator<Item = &'a CStr>) -> Result<Options, OptionError> {
        let mut o = Options::default();
        let mut seen: Vec<&'static str> = Vec::new();
        for raw in args {
            let arg = raw
                .to_str()
                .map_err(|_| OptionError("an option is not UTF-8 text".into()))?;
            let (key, value) = match arg.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (arg, None),
            };
            let key: &'static str = match key {
                "policy" => "policy",
                "db" => "db",
                "retry" => "retry",
                "use_authtok" => "use_authtok",
                "authtok_type" => "authtok_type",
                "record" => "record",
                "stale" => "stale",
                _ => {
                    return Err(OptionError(format!(
                        "unknown option `{}`; expected policy=, db=, retry=, use_authtok, authtok_type=, record or stale=",
                        pwsentry::account::escape(arg)
                    )));
                }
            };
            if seen.contains(&key) {
                return Err(OptionError(format!("option `{key}` is given twice")));
            }
            seen.push(key);
            let flag = |o: &mut bool| match value {
                None => {
                    *o = true;
                    Ok(())
                }
                Some(_) => Err(OptionError(format!("option `{key}` takes no value"))),
            };
            let value_of = || {
                value
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| OptionError(format!("option `{key}=` needs a value")))
            };
            match key {
                "policy" => o.policy = Some(absolute(key, value_of()?)?),
                "db" => o.db = Some(absolute(key, value_of()?)?),
                "retry" => {
                    o.retry = value_of()?
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_RETRY).contains(n))
                        .ok_or_else(|| {
                            OptionError(format!("retry= must be a number from 1 to {MAX_RETRY}"))
                        })?;
                }
                "use_authtok" => flag(&mut o.use_authtok)?,
                // Read by libpam's own prompts (pam_get_authtok).
                "authtok_type" => {
                    value_of()?;
                }
                "record" => flag(&mut o.record)?,
                "stale" => {
                    o.stale = match value_of()? {
                        "change" => Stale::Change,
                        "warn" => Stale::Warn,
                        "deny" => Stale::Deny,
                        _ => {
                            return Err(OptionError("stale= must be change, warn or deny".into()));
                        }
                    };
                }
                _ => {}
            }
        }
        Ok(o)
    }
}

fn absolute(key: &str, value: &str) -> Result<PathBuf, OptionError> {
    let path = PathBuf::from(value);
    if !path.is_absolute() {
        return Err(OptionError(format!(
            "{key}= must be an absolute path (the module never looks in the current directory), not `{}`",
            pwsentry::account::escape(value)
        )));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    fn parse(args: &[&str]) -> Result<Options, OptionError> {
        let owned: Vec<CString> = args.iter().map(|a| CString::new(*a).unwrap()).collect();
        Options::parse(owned.iter().map(CString::as_c_str))
    }

    #[test]
    fn defaults_without_options() {
        let o = parse(&[]).unwrap();
        assert_eq!(o, Options::default());
        assert_eq!(o.retry, 1);
        assert_eq!(o.stale, Stale::Change);
    }

    #[test]
    fn every_option() {
        let o = parse(&[
            "policy=/etc/pwsentry/p.toml",
            "db=/var/lib/h.db",
            "retry=3",
            "use_authtok",
            "authtok_type=UNIX",
            "record",
            "stale=deny",
        ])
        .unwrap();
        assert_eq!(
            o.policy.as_deref(),
            Some(std::path::Path::new("/etc/pwsentry/p.toml"))
        );
        assert_eq!(o.db.as_deref(), Some(std::path::Path::new("/var/lib/h.db")));
        assert_eq!(o.retry, 3);
        assert!(o.use_authtok && o.record);
        assert_eq!(o.stale, Stale::Deny);
        assert_eq!(parse(&["stale=warn"]).unwrap().stale, Stale::Warn);
    }

    #[test]
    fn mistakes_are_errors_naming_the_option() {
        for (args, expect) in [
            (&["polcy=/x"][..], "unknown option `polcy=/x`"),
            (&["policy=etc/p.toml"], "absolute path"),
            (&["db=history.db"], "absolute path"),
            (&["db="], "needs a value"),
            (&["retry=0"], "from 1 to 10"),
            (&["retry=11"], "from 1 to 10"),
            (&["retry=x"], "from 1 to 10"),
            (&["retry=-1"], "from 1 to 10"),
            (&["retry=100"], "from 1 to 10"),
            (&["retry=4294967297"], "from 1 to 10"),
            (&["retry=99999999999999999999999"], "from 1 to 10"),
            (&["retry= 3"], "from 1 to 10"),
            (&["retry"], "needs a value"),
            (&["use_first_pass"], "unknown option"),
            (&["db=/a", "db=/b"], "given twice"),
            (&["stale=change", "stale=deny"], "given twice"),
            (&["record=yes"], "takes no value"),
            (&["stale=never"], "change, warn or deny"),
            (&["retry=2", "retry=3"], "given twice"),
        ] {
            let e = parse(args).unwrap_err().to_string();
            assert!(e.contains(expect), "{args:?}: {e}");
        }
    }
}
