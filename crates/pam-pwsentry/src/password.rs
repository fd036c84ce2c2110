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
use chrono::{DateTime, SecondsFormat, Utc};
use pwsentry::history::CommitOutcome;
use pwsentry::store::{AccountHistory, Store};
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

/// Who is changing the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// The user (or a login changing an expired password).
    User,
    /// Root setting another user's password (`passwd USER`), which
    /// `pam_unix` recognises by the real user id and the absence of
    /// `PAM_CHANGE_EXPIRED_AUTHTOK`: the policy's minimum age does not
    /// apply (an administrator's reset, like `pwsentry record --force`);
    /// every other rule does.
    Root,
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
    caller: Caller,
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
        Pass::Update => check(session, &options, config, caller, now),
    }
}

fn unavailable(session: &mut dyn Session, why: &str) -> Code {
    session.log(Level::Error, why);
    session.error(UNAVAILABLE);
    Code::SERVICE_ERR
}

fn check(
    session: &mut dyn Session,
    options: &Options,
    config: Config,
    caller: Caller,
    now: DateTime<Utc>,
) -> Code {
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
    let now = match dated(session, &store, account.as_str(), now) {
        Ok(t) => t,
        Err(e) => {
            return unavailable(session, &format!("reading the history of {account}: {e}"));
        }
    };
    let old = match session.old_password() {
        Ok(old) => old,
        Err(c) => return c,
    };
    for _ in 0..options.retry {
        let new = match session.new_password() {
            Ok(p) => p,
            // An event-driven application answers later: PAM's convention
            // (as pam_pwquality) is to ask to be called again.
            Err(Code::CONV_AGAIN) => return Code::INCOMPLETE,
            Err(c) => return c,
        };
        let mut request = ChangeRequest::new(account.as_str(), &new, now);
        if caller == Caller::Root {
            request = request.override_min_age();
        }
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

/// When a change made `now` is dated: `now`, unless the account's current
/// password is dated later (this host's clock was set back, or another
/// host with a clock ahead recorded it). The library refuses a change dated
/// before the current password, which would leave the user, and root
/// resetting the password, unable to change it until then; the change is
/// dated with the current password instead (a warning in syslog), so time
/// still only moves forward for the account and the minimum age still
/// counts from the current password.
fn dated(
    session: &mut dyn Session,
    store: &dyn Store,
    account: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Error> {
    let current = store
        .history(account)?
        .as_ref()
        .and_then(AccountHistory::changed_at);
    match current {
        Some(current) if current > now => {
            session.log(
                Level::Warning,
                &format!(
                    "the current password of {account} is dated {}, after this host's clock ({}); the change is dated then (check the clock)",
                    current.to_rfc3339_opts(SecondsFormat::Secs, true),
                    now.to_rfc3339_opts(SecondsFormat::Secs, true)
                ),
            );
            Ok(current)
        }
        _ => Ok(now),
    }
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
    let now = match dated(session, store, account, now) {
        Ok(t) => t,
        Err(e) => {
            session.log(
                Level::Error,
                &format!("record: the new password of {account} is set but not recorded: {e}"),
            );
            return Code::SERVICE_ERR;
        }
    };
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

#[cfg(test)]
mod tests {
    //! The paths `pamtester` cannot reach in the integration tests: a
    //! password from an earlier module (`use_authtok`), and the recording
    //! instance's guards. An in-memory [`Session`] stands in for PAM.
    use super::*;
    use crate::session::Pending;
    use chrono::TimeZone;
    use std::collections::VecDeque;
    use std::ffi::CString;
    use zeroize::Zeroizing;

    #[derive(Default)]
    struct Fake {
        answers: VecDeque<&'static str>,
        authtok: Option<String>,
        old: Option<String>,
        errors: Vec<String>,
        logs: std::cell::RefCell<Vec<String>>,
        kept: Option<Pending>,
    }

    impl Session for Fake {
        fn user(&mut self) -> Result<String, Code> {
            Ok("Alice".into())
        }
        fn old_password(&self) -> Result<Option<Secret>, Code> {
            Ok(self.old.clone().map(Zeroizing::new))
        }
        fn new_password(&mut self) -> Result<Secret, Code> {
            if let Some(t) = &self.authtok {
                return Ok(Zeroizing::new(t.clone()));
            }
            let a = self.answers.pop_front().ok_or(Code::CONV_ERR)?;
            self.authtok = Some(a.into());
            Ok(Zeroizing::new(a.into()))
        }
        fn confirm_new_password(&mut self) -> Result<(), Code> {
            let a = self.answers.pop_front().ok_or(Code::CONV_ERR)?;
            if self.authtok.as_deref() == Some(a) {
                Ok(())
            } else {
                self.authtok = None;
                Err(Code::TRY_AGAIN)
            }
        }
        fn current_new_password(&self) -> Result<Option<Secret>, Code> {
            Ok(self.authtok.clone().map(Zeroizing::new))
        }
        fn forget_new_password(&mut self) {
            self.authtok = None;
        }
        fn error(&mut self, message: &str) {
            self.errors.push(message.into());
        }
        fn info(&mut self, _message: &str) {}
        fn log(&self, _level: Level, message: &str) {
            self.logs.borrow_mut().push(message.into());
        }
        fn keep(&mut self, pending: Pending) -> Result<(), Code> {
            self.kept = Some(pending);
            Ok(())
        }
        fn take(&mut self) -> Option<Pending> {
            self.kept.take()
        }
    }

    /// Writes a cheap-hashing policy and returns the module's options for
    /// it (`db=` in the same folder) plus `extra`.
    fn args(dir: &std::path::Path, extra: &[&str]) -> Vec<CString> {
        args_with_min_age(dir, 0, extra)
    }

    fn args_with_min_age(dir: &std::path::Path, min_age_days: u32, extra: &[&str]) -> Vec<CString> {
        let policy = dir.join("policy.toml");
        std::fs::write(
            &policy,
            format!("[hashing]\nmemory_kib = 64\niterations = 1\nallow_weak_parameters = true\n[rotation]\nmin_age_days = {min_age_days}\n"),
        )
        .unwrap();
        let mut v = vec![
            CString::new(format!("policy={}", policy.display())).unwrap(),
            CString::new(format!("db={}", dir.join("history.db").display())).unwrap(),
        ];
        v.extend(extra.iter().map(|e| CString::new(*e).unwrap()));
        v
    }

    fn run(fake: &mut Fake, args: &[CString], pass: Pass) -> Code {
        run_as(fake, args, pass, Caller::User)
    }

    fn run_as(fake: &mut Fake, args: &[CString], pass: Pass, caller: Caller) -> Code {
        let refs: Vec<&CStr> = args.iter().map(CString::as_c_str).collect();
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        chauthtok(fake, &refs, pass, caller, now)
    }

    fn history_len(dir: &std::path::Path) -> usize {
        let store = pwsentry::store::SqliteStore::open(dir.join("history.db")).unwrap();
        pwsentry::store::Store::history(&store, "alice")
            .unwrap()
            .map_or(0, |h| h.entries().len())
    }

    const STRONG: &str = "Velvet#Orbit#Canyon42";

    #[test]
    fn use_authtok_checks_the_earlier_modules_password_without_asking() {
        let dir = tempfile::tempdir().unwrap();
        let check = args(dir.path(), &["use_authtok", "retry=3"]);
        let mut fake = Fake {
            authtok: Some("summer2024".into()),
            ..Fake::default()
        };
        assert_eq!(run(&mut fake, &check, Pass::Update), Code::AUTHTOK_ERR);
        assert!(fake.errors.iter().any(|e| e.starts_with("BAD PASSWORD: ")));
        let logs = fake.logs.borrow().join("\n");
        assert!(logs.contains("new password of alice refused: "), "{logs}");
        assert!(!logs.contains("summer"), "a password in syslog: {logs}");
        assert_eq!(fake.authtok, None, "a refused password is cleared");
        assert!(fake.kept.is_none());

        let mut fake = Fake {
            authtok: Some(STRONG.into()),
            ..Fake::default()
        };
        assert_eq!(run(&mut fake, &check, Pass::Update), Code::SUCCESS);
        assert!(
            fake.kept.is_some(),
            "accepted without a confirmation prompt"
        );
        assert_eq!(fake.authtok.as_deref(), Some(STRONG));
    }

    #[test]
    fn record_commits_only_the_password_that_was_checked() {
        let dir = tempfile::tempdir().unwrap();
        let check = args(dir.path(), &[]);
        let record = [CString::new("record").unwrap()];

        // No checking instance before it: nothing to record.
        let mut fake = Fake::default();
        assert_eq!(run(&mut fake, &record, Pass::Update), Code::SERVICE_ERR);
        assert_eq!(run(&mut fake, &record, Pass::Prelim), Code::IGNORE);

        // A module in between swapped PAM_AUTHTOK: not recorded.
        let mut fake = Fake {
            answers: [STRONG, STRONG].into(),
            ..Fake::default()
        };
        assert_eq!(run(&mut fake, &check, Pass::Update), Code::SUCCESS);
        fake.authtok = Some("Other#Orbit#Canyon99".into());
        assert_eq!(run(&mut fake, &record, Pass::Update), Code::SERVICE_ERR);
        assert_eq!(history_len(dir.path()), 0);
        let logs = fake.logs.borrow().join("\n");
        assert!(logs.contains("not the one pam_pwsentry accepted"), "{logs}");
        assert!(!logs.contains("Canyon"), "a password in syslog: {logs}");

        // The checked password, still in PAM_AUTHTOK: recorded once.
        let mut fake = Fake {
            answers: [STRONG, STRONG].into(),
            ..Fake::default()
        };
        assert_eq!(run(&mut fake, &check, Pass::Update), Code::SUCCESS);
        assert_eq!(history_len(dir.path()), 0, "nothing before pam_unix");
        assert_eq!(run(&mut fake, &record, Pass::Update), Code::SUCCESS);
        assert_eq!(history_len(dir.path()), 1);
        assert_eq!(
            run(&mut fake, &record, Pass::Update),
            Code::SERVICE_ERR,
            "taken once"
        );
        assert_eq!(history_len(dir.path()), 1);
    }

    #[test]
    fn another_writer_between_check_and_record_still_records() {
        let dir = tempfile::tempdir().unwrap();
        let check = args(dir.path(), &[]);
        let record = [CString::new("record").unwrap()];
        let mut fake = Fake {
            answers: [STRONG, STRONG].into(),
            ..Fake::default()
        };
        assert_eq!(run(&mut fake, &check, Pass::Update), Code::SUCCESS);
        // Someone else records for alice meanwhile (another passwd).
        let mut other = Fake {
            answers: ["Marble&Quartz&Heron7", "Marble&Quartz&Heron7"].into(),
            ..Fake::default()
        };
        assert_eq!(run(&mut other, &check, Pass::Update), Code::SUCCESS);
        assert_eq!(run(&mut other, &record, Pass::Update), Code::SUCCESS);
        assert_eq!(run(&mut fake, &record, Pass::Update), Code::SUCCESS);
        assert_eq!(
            history_len(dir.path()),
            2,
            "the password that is set is recorded"
        );
    }

    #[test]
    fn the_old_password_makes_a_similar_one_fail() {
        let dir = tempfile::tempdir().unwrap();
        let check = args(dir.path(), &[]);
        let mut fake = Fake {
            answers: ["velvet#orbit#canyon43"].into(),
            old: Some(STRONG.into()),
            ..Fake::default()
        };
        assert_eq!(run(&mut fake, &check, Pass::Update), Code::AUTHTOK_ERR);
        assert!(
            fake.errors
                .iter()
                .any(|e| e.contains("too similar to the current password")),
            "{:?}",
            fake.errors
        );
    }

    #[test]
    fn a_current_password_dated_after_the_clock_does_not_block_changes() {
        // The history was written while the clock was 30 days ahead (then
        // corrected), or by a host whose clock is: before, every change of
        // the account failed as "cannot be checked now", root's reset too.
        let dir = tempfile::tempdir().unwrap();
        let check = args_with_min_age(dir.path(), 1, &[]);
        let record = [CString::new("record").unwrap()];
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        let ahead = now + chrono::TimeDelta::days(30);
        let policy = dir.path().join("policy.toml");
        let checker = pwsentry::Checker::new(pwsentry::Policy::from_file(&policy).unwrap());
        let store = pwsentry::store::SqliteStore::open(dir.path().join("history.db")).unwrap();
        let first = checker
            .change(
                &store,
                &ChangeRequest::new("alice", "Marble&Quartz&Heron7", ahead),
            )
            .unwrap();
        assert!(first.recorded());

        // The user: refused by the minimum age counted from that date, a
        // reason they are shown, not an error.
        let mut user = Fake {
            answers: [STRONG, STRONG].into(),
            ..Fake::default()
        };
        assert_eq!(run(&mut user, &check, Pass::Update), Code::AUTHTOK_ERR);
        assert!(
            user.errors.iter().any(|e| e.starts_with("BAD PASSWORD: ")),
            "{:?}",
            user.errors
        );
        let logs = user.logs.borrow().join("\n");
        assert!(logs.contains("after this host's clock"), "{logs}");

        // Root's reset: set and recorded, dated with the current password.
        let mut root = Fake {
            answers: [STRONG, STRONG].into(),
            ..Fake::default()
        };
        assert_eq!(
            run_as(&mut root, &check, Pass::Update, Caller::Root),
            Code::SUCCESS,
            "{:?} {:?}",
            root.errors,
            root.logs
        );
        assert_eq!(run(&mut root, &record, Pass::Update), Code::SUCCESS);
        let history = pwsentry::store::Store::history(&store, "alice")
            .unwrap()
            .unwrap();
        assert_eq!(history.entries().len(), 2);
        assert_eq!(history.changed_at(), Some(ahead));
    }

    #[test]
    fn root_resetting_a_password_is_not_held_to_the_minimum_age() {
        let dir = tempfile::tempdir().unwrap();
        let check = args_with_min_age(dir.path(), 1, &[]);
        let record = [CString::new("record").unwrap()];
        let mut first = Fake {
            answers: [STRONG, STRONG].into(),
            ..Fake::default()
        };
        assert_eq!(run(&mut first, &check, Pass::Update), Code::SUCCESS);
        assert_eq!(run(&mut first, &record, Pass::Update), Code::SUCCESS);

        let again = || Fake {
            answers: ["Marble&Quartz&Heron7", "Marble&Quartz&Heron7"].into(),
            ..Fake::default()
        };
        let mut user = again();
        assert_eq!(run(&mut user, &check, Pass::Update), Code::AUTHTOK_ERR);
        assert!(
            user.errors.iter().any(|e| e.starts_with("BAD PASSWORD: ")),
            "{:?}",
            user.errors
        );
        let mut root = again();
        assert_eq!(
            run_as(&mut root, &check, Pass::Update, Caller::Root),
            Code::SUCCESS
        );
        assert!(root.errors.is_empty(), "{:?}", root.errors);
    }
}
