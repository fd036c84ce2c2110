//! The `password` service (`pam_sm_chauthtok`): check the new password,
//! and, in the `record` instance after `pam_unix`, record it.
//!
//! PAM calls every module twice: first with `PAM_PRELIM_CHECK` (this module
//! only makes sure its policy and history can be used, so a broken set-up
//! fails before anyone types a password), then with `PAM_UPDATE_AUTHTOK`,
//! where the checking instance asks for, evaluates and hands on the new
//! password, `pam_unix` writes it, and the recording instance (reached only
//! if `pam_unix` succeeded) stores its hash. Nothing is recorded for a
//! change that did not happen. It never writes a password to a message or
//! to syslog.

use crate::config::{self, Config};
use crate::options::Options;
use crate::session::{Code, Level, Pending, Secret, Session};
use chrono::{DateTime, Utc};
use pwsentry::history::CommitOutcome;
use pwsentry::{AccountId, ChangeRequest, Error, Rule, Verdict};
use std::ffi::CStr;
use subtle::ConstantTimeEq;

/// Which of PAM's two passes this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// `PAM_PRELIM_CHECK`.
    Prelim,
    /// `PAM_UPDATE_AUTHTOK`.
    Update,
}

/// What the user is told when the module cannot work (the reason is in
/// syslog, which users cannot read).
pub const UNAVAILABLE: &str =
    "pam_pwsentry: the new password cannot be checked now; the system log says why";

/// `pam_sm_chauthtok` with the module's `args`, at `now`.
pub fn chauthtok(
    session: &mut dyn Session,
    args: &[&CStr],
    pass: Pass,
    now: DateTime<Utc>,
) -> Code {
    let options = match Options::parse(args.iter().copied()) {
        Ok(o) => o,
        Err(e) => return unavailable(session, &format!("bad option: {e}")),
    };
    if options.record {
        return match pass {
            Pass::Prelim => Code::IGNORE,
            Pass::Update => record(session, now),
        };
    }
    let config = match config::load(&options) {
        Ok(c) => c,
        Err(e) => return unavailable(session, &e),
    };
    match pass {
        // Fail closed now, before pam_unix asks for anything.
        Pass::Prelim => match config.open_for_change() {
            Ok(_) => Code::SUCCESS,
            Err(e) => unavailable(session, &e),
        },
        Pass::Update => check(session, &options, config, now),
    }
}

fn unavailable(session: &mut dyn Session, why: &str) -> Code {
    session.log(Level::Error, why);
    session.error(UNAVAILABLE);
    Code::SERVICE_ERR
}

fn check(session: &mut dyn Session, options: &Options, config: Config, now: DateTime<Utc>) -> Code {
    let user = match session.user() {
        Ok(u) => u,
        Err(c) => return c,
    };
    let checker = config.checker.clone();
    let account = match AccountId::parse(&user, checker.policy().accounts()) {
        Ok(a) => a,
        Err(e) => {
            return unavailable(
                session,
                &format!(
                    "the user name {} is not an account id pwsentry accepts: {e}",
                    pwsentry::account::escape(&user)
                ),
            );
        }
    };
    let store = match config.open_for_change() {
        Ok(s) => s,
        Err(e) => return unavailable(session, &e),
    };
    let old = match session.old_password() {
        Ok(old) => old,
        Err(c) => return c,
    };
    for _ in 0..options.retry {
        let new = match session.new_password() {
            Ok(p) => p,
            Err(c) => return c,
        };
        let mut request = ChangeRequest::new(account.as_str(), &new, now);
        if let Some(old) = &old {
            // Set by pam_unix in the first pass, after verifying it.
            request = request.verified_current_password(old);
        }
        let change = match checker.evaluate_change(&store, &request) {
            Ok(c) => c,
            Err(e) => {
                session.forget_new_password();
                return unavailable(
                    session,
                    &format!("checking the new password of {account}: {e}"),
                );
            }
        };
        if !change.verdict().accepted() {
            explain(session, change.verdict());
            session.log(
                Level::Notice,
                &format!(
                    "new password of {account} refused: {}",
                    rule_codes(change.verdict())
                ),
            );
            session.forget_new_password();
            if options.use_authtok {
                // The password came from an earlier module: asking again is its job.
                return Code::AUTHTOK_ERR;
            }
            continue;
        }
        if !options.use_authtok {
            match session.confirm_new_password() {
                Ok(()) => {}
                // PAM said "Sorry, passwords do not match." and cleared it.
                Err(Code::TRY_AGAIN) => continue,
                Err(c) => return c,
            }
        }
        let pending = Pending {
            checker,
            store,
            change,
            password: new,
        };
        return match session.keep(pending) {
            Ok(()) => Code::SUCCESS,
            Err(c) => {
                session.log(
                    Level::Error,
                    "cannot keep the accepted change on the PAM handle",
                );
                session.forget_new_password();
                c
            }
        };
    }
    Code::AUTHTOK_ERR
}

/// Every reason, one `PAM_ERROR_MSG` each, then zxcvbn's advice when the
/// password was too guessable.
fn explain(session: &mut dyn Session, verdict: &Verdict) {
    for v in verdict.violations() {
        session.error(&format!("BAD PASSWORD: {}", v.message));
    }
    if verdict.violates(Rule::MinScore)
        && let Some(strength) = verdict.strength()
    {
        for s in &strength.suggestions {
            session.info(&format!("Suggestion: {s}"));
        }
    }
}

fn rule_codes(verdict: &Verdict) -> String {
    let codes: Vec<&str> = verdict.violations().iter().map(|v| v.rule.code()).collect();
    codes.join(", ")
}

/// The `record` instance: commits the change the checking instance kept,
/// if `PAM_AUTHTOK` is still the password it accepted.
fn record(session: &mut dyn Session, now: DateTime<Utc>) -> Code {
    let Some(pending) = session.take() else {
        session.log(
            Level::Error,
            "record: no new password was accepted by a pam_pwsentry line earlier in this stack; nothing recorded (see docs/pam.md for the stack)",
        );
        return Code::SERVICE_ERR;
    };
    let same = match session.current_new_password() {
        Ok(Some(current)) => bool::from(current.as_bytes().ct_eq(pending.password.as_bytes())),
        _ => false,
    };
    let account = pending.change.account().to_owned();
    if !same {
        session.log(
            Level::Error,
            &format!("record: the password set for {account} is not the one pam_pwsentry accepted (a module in between changed it); nothing recorded"),
        );
        return Code::SERVICE_ERR;
    }
    let Pending {
        checker,
        store,
        change,
        password,
    } = pending;
    match checker.commit(&store, change) {
        Ok(CommitOutcome::Recorded) => Code::SUCCESS,
        Ok(_) => {
            session.log(
                Level::Error,
                &format!("record: the change of {account} was not accepted; nothing recorded"),
            );
            Code::SERVICE_ERR
        }
        // Another writer recorded for the account since the check: the
        // password is set all the same, so record it as of now.
        Err(Error::Busy) => record_again(session, &checker, &store, &account, &password, now),
        Err(e) => {
            session.log(
                Level::Error,
                &format!("record: the new password of {account} is set but not recorded: {e}"),
            );
            Code::SERVICE_ERR
        }
    }
}

fn record_again(
    session: &mut dyn Session,
    checker: &pwsentry::Checker,
    store: &pwsentry::store::SqliteStore,
    account: &str,
    password: &Secret,
    now: DateTime<Utc>,
) -> Code {
    let request = ChangeRequest::new(account, password, now).override_min_age();
    match checker.change(store, &request) {
        Ok(o) if o.recorded() => Code::SUCCESS,
        Ok(o) => {
            session.log(
                Level::Warning,
                &format!(
                    "record: the new password of {account} is set but not recorded: another change came first and it now breaks {}",
                    rule_codes(o.verdict())
                ),
            );
            Code::SERVICE_ERR
        }
        Err(e) => {
            session.log(
                Level::Error,
                &format!("record: the new password of {account} is set but not recorded: {e}"),
            );
            Code::SERVICE_ERR
        }
    }
}
