//! The `account` service (`pam_sm_acct_mgmt`): the password's rotation
//! status at login. Stale: by `stale=`, demand a new password
//! (`PAM_NEW_AUTHTOK_REQD`), warn, or refuse (`PAM_AUTHTOK_EXPIRED`);
//! expiring: a notice with the days left; otherwise (or no history) no
//! objection.
//!
//! When the policy or the history cannot be used, the module fails open
//! (`PAM_IGNORE`, the reason in syslog): rotation is a reminder, and a
//! broken history must not lock everyone out, root included. With
//! `stale=deny`, where the administrator asked for enforcement, it fails
//! closed (`PAM_SERVICE_ERR`). It only reads the history.

use crate::config;
use crate::options::{Options, Stale};
use crate::session::{Code, Level, Session};
use chrono::{DateTime, TimeDelta, Utc};
use pwsentry::AccountId;
use pwsentry::rotation::{self, RotationState};
use std::ffi::CStr;

/// `pam_sm_acct_mgmt` with the module's `args`, at `now`; `silent` is
/// `PAM_SILENT` (no notices).
pub fn acct_mgmt(
    session: &mut dyn Session,
    args: &[&CStr],
    silent: bool,
    now: DateTime<Utc>,
) -> Code {
    let options = match Options::parse(args.iter().copied()) {
        Ok(o) => o,
        // Without valid options there is no `stale=` to go by: fail closed.
        Err(e) => {
            session.log(Level::Error, &format!("bad option: {e}"));
            return Code::SERVICE_ERR;
        }
    };
    let failed = |session: &mut dyn Session, why: &str| {
        session.log(Level::Error, why);
        match options.stale {
            Stale::Deny => Code::SERVICE_ERR,
            Stale::Change | Stale::Warn => Code::IGNORE,
        }
    };
    let config = match config::load(&options) {
        Ok(c) => c,
        Err(e) => return failed(session, &e),
    };
    let user = match session.user() {
        Ok(u) => u,
        Err(c) => return c,
    };
    let account = match AccountId::parse(&user, config.checker.policy().accounts()) {
        Ok(a) => a,
        Err(e) => {
            return failed(
                session,
                &format!(
                    "the user name {} is not an account id pwsentry accepts: {e}",
                    pwsentry::account::escape(&user)
                ),
            );
        }
    };
    let store = match config.open_for_status() {
        Ok(Some(s)) => s,
        // Nothing recorded yet: nothing to say.
        Ok(None) => return Code::SUCCESS,
        Err(e) => return failed(session, &e),
    };
    let policy = config.checker.policy().rotation();
    let status = match rotation::status(&store, policy, account.as_str(), now) {
        Ok(s) => s,
        Err(e) => return failed(session, &format!("reading the history of {account}: {e}")),
    };
    let Some(expires) = status.expires_at else {
        return Code::SUCCESS;
    };
    let on = expires.format("%Y-%m-%d");
    match status.state {
        RotationState::Stale => {
            let age = status.age_days.unwrap_or(0);
            session.log(
                Level::Notice,
                &format!("password of {account} is stale ({age} days old)"),
            );
            match options.stale {
                Stale::Change => {
                    session.error(&format!(
                        "Your password is {age} days old and expired on {on} (UTC): you must change it now."
                    ));
                    Code::NEW_AUTHTOK_REQD
                }
                Stale::Warn => {
                    if !silent {
                        session.info(&format!(
                            "Your password is {age} days old and expired on {on} (UTC); please change it with passwd."
                        ));
                    }
                    Code::SUCCESS
                }
                Stale::Deny => {
                    session.error(&format!(
                        "Your password expired on {on} (UTC); ask an administrator to set a new one."
                    ));
                    Code::AUTHTOK_EXPIRED
                }
            }
        }
        RotationState::Expiring => {
            if !silent {
                let days = days_left(expires, now);
                let unit = if days == 1 { "day" } else { "days" };
                session.info(&format!(
                    "Your password will expire in {days} {unit} (on {on}, UTC); change it with passwd."
                ));
            }
            Code::SUCCESS
        }
        _ => Code::SUCCESS,
    }
}

/// Whole days until `expires`, rounded up: 4 days and 1 hour is "5 days".
fn days_left(expires: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    let left = expires - now;
    let day = TimeDelta::days(1);
    let whole = left.num_days();
    if left > day * i32::try_from(whole).unwrap_or(i32::MAX) {
        whole + 1
    } else {
        whole
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn days_left_rounds_up() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(days_left(now + TimeDelta::days(5), now), 5);
        assert_eq!(
            days_left(now + TimeDelta::days(5) - TimeDelta::seconds(3), now),
            5
        );
        assert_eq!(
            days_left(now + TimeDelta::days(4) + TimeDelta::hours(1), now),
            5
        );
        assert_eq!(days_left(now + TimeDelta::minutes(1), now), 1);
    }
}
