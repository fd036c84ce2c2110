//! `pam_pwsentry.so` under real PAM: service files in `/etc/pam.d`, Debian's
//! `pamtester`, a throwaway user and the real `pam_unix` changing
//! `/etc/shadow` (see `sandbox.rs`). Needs root.

mod attack;
mod sandbox;

use chrono::{TimeDelta, Utc};
use pwsentry::crypt::CryptHash;
use pwsentry::history::Argon2Hash;
use pwsentry::store::SqliteStore;
use pwsentry::{ChangeRequest, Checker, Context, Rule, Verdict};
use sandbox::{INITIAL, POLICY, Run, Sandbox, Syslog};

const STRONG: &str = "Velvet#Orbit#Canyon42";
const STRONG2: &str = "Marble&Quartz&Heron7";

/// The `/etc/pam.d/common-password` stack of docs/pam.md (pam_unix with
/// SHA-512 so the test can verify the hash it writes), and an account stack
/// with `stale=`.
fn stack(stale: &str, retry: u32, unix: &str) -> String {
    format!(
        "account  required                    {{module}} {{options}} stale={stale}\n\
         account  required                    pam_permit.so\n\
         password requisite                   {{module}} {{options}} retry={retry}\n\
         password [success=1 default=ignore]  {unix}\n\
         password requisite                   pam_deny.so\n\
         password optional                    {{module}} record\n\
         password required                    pam_permit.so\n"
    )
}

const UNIX: &str = "pam_unix.so obscure use_authtok try_first_pass sha512";

fn standard(sb: &mut Sandbox) -> String {
    sb.service(&stack("change", 1, UNIX))
}

/// Every violation of `verdict` was shown through the conversation.
fn assert_reasons(run: &Run, verdict: &Verdict) {
    assert!(!verdict.accepted());
    for v in verdict.violations() {
        let line = format!("BAD PASSWORD: {}", v.message);
        assert!(
            run.output.contains(&line),
            "missing {line:?} in:\n{}",
            run.output
        );
    }
}

/// Records `STRONG` for the sandbox's user as set `days` ago.
fn backdate(sb: &Sandbox, days: i64) {
    let checker = Checker::new(sb.policy());
    let store = SqliteStore::open(sb.db_path()).unwrap();
    let at = Utc::now() - TimeDelta::days(days);
    let outcome = checker
        .change(&store, &ChangeRequest::new(&sb.user, STRONG, at))
        .unwrap();
    assert!(outcome.recorded(), "{:?}", outcome.verdict());
}

#[test]
fn a_weak_password_is_refused_with_every_reason_and_nothing_changes() {
    let mut sb = Sandbox::new();
    let svc = standard(&mut sb);
    let before = sb.shadow_hash();
    let weak = "summer2024";
    let expected = Checker::new(sb.policy()).evaluate(weak, &Context::new().account(&sb.user));
    assert!(expected.violations().len() >= 2, "{expected:?}");

    let run = sb.pamtester(&svc, "chauthtok", &[weak]);
    assert!(!run.success, "{}", run.output);
    assert_reasons(&run, &expected);
    assert!(run.output.contains("Suggestion: "), "{}", run.output);
    assert!(
        run.output
            .contains("Authentication token manipulation error"),
        "{}",
        run.output
    );
    assert!(
        !run.output.contains("Retype"),
        "a refused password is not asked for again:\n{}",
        run.output
    );
    assert_eq!(sb.shadow_hash(), before, "/etc/shadow must not change");
    assert!(sb.history().is_none(), "nothing may be recorded");
}

#[test]
fn a_strong_password_is_set_by_pam_unix_recorded_then_refused_as_reuse() {
    let mut sb = Sandbox::new();
    let svc = standard(&mut sb);
    let before = sb.shadow_hash();

    let run = sb.pamtester(&svc, "chauthtok", &[STRONG, STRONG]);
    assert!(run.success, "{}", run.output);
    assert!(!run.output.contains("BAD PASSWORD"), "{}", run.output);
    let hash = sb.shadow_hash();
    assert_ne!(hash, before, "pam_unix did not change /etc/shadow");
    assert!(
        CryptHash::parse(&hash)
            .unwrap()
            .verify(STRONG.as_bytes())
            .unwrap(),
        "pam_unix must set the very password the module accepted (PAM_AUTHTOK)"
    );
    let history = sb
        .history()
        .expect("the record instance after pam_unix records it");
    assert_eq!(history.entries().len(), 1);
    let entry = &history.entries()[0];
    assert!(
        Argon2Hash::parse(entry.hash())
            .unwrap()
            .verify(STRONG.as_bytes(), None)
            .unwrap()
    );
    assert!(
        (Utc::now() - entry.set_at()).num_seconds().abs() < 300,
        "recorded now"
    );

    // The same password again: refused with the history's reason.
    let expected = {
        let store = SqliteStore::open_existing(sb.db_path()).unwrap().unwrap();
        let request = ChangeRequest::new(&sb.user, STRONG, Utc::now());
        Checker::new(sb.policy())
            .evaluate_change(&store, &request)
            .unwrap()
    };
    assert!(
        expected.verdict().violates(Rule::Reuse),
        "{:?}",
        expected.verdict()
    );
    let run = sb.pamtester(&svc, "chauthtok", &[STRONG, STRONG]);
    assert!(!run.success, "{}", run.output);
    assert_reasons(&run, expected.verdict());
    assert_eq!(sb.shadow_hash(), hash, "/etc/shadow must not change");
    assert_eq!(
        sb.history().unwrap().entries().len(),
        1,
        "nothing more recorded"
    );
}

#[test]
fn retry_asks_again_and_a_mistyped_confirmation_changes_nothing() {
    let mut sb = Sandbox::new();
    let svc = sb.service(&stack("change", 2, UNIX));
    let before = sb.shadow_hash();

    // Both attempts fail: a weak password, then a mistyped confirmation.
    let run = sb.pamtester(
        &svc,
        "chauthtok",
        &["summer2024", STRONG, "Velvet#Orbit#Canyon43"],
    );
    assert!(!run.success, "{}", run.output);
    assert!(run.output.contains("BAD PASSWORD"), "{}", run.output);
    assert!(
        run.output.contains("Sorry, passwords do not match."),
        "{}",
        run.output
    );
    assert_eq!(sb.shadow_hash(), before);
    assert!(sb.history().is_none());

    // A weak one, then a strong one confirmed: the second attempt wins.
    let run = sb.pamtester(&svc, "chauthtok", &["summer2024", STRONG2, STRONG2]);
    assert!(run.success, "{}", run.output);
    assert_eq!(
        run.output.matches("New password:").count(),
        2,
        "{}",
        run.output
    );
    assert!(
        CryptHash::parse(&sb.shadow_hash())
            .unwrap()
            .verify(STRONG2.as_bytes())
            .unwrap()
    );
    assert_eq!(sb.history().unwrap().entries().len(), 1);
}

#[test]
fn a_failing_pam_unix_records_nothing() {
    let mut sb = Sandbox::new();
    let before = sb.shadow_hash();

    // A module that fails in the update pass only (pam_exec skips the
    // first pass) where pam_unix would be: the module accepts, the change
    // fails.
    let svc = sb.service(&stack("change", 1, "pam_exec.so quiet /bin/false"));
    let run = sb.pamtester(&svc, "chauthtok", &[STRONG, STRONG]);
    assert!(!run.success, "{}", run.output);
    assert!(
        run.output.contains("Retype new password:"),
        "the module accepted it:\n{}",
        run.output
    );
    assert!(
        sb.history().is_none(),
        "recorded although the change failed"
    );

    // The real pam_unix refusing: run as the user, it verifies the current
    // password but cannot write /etc/shadow without root.
    let folder = sb.user_folder();
    let module = folder.join("pam_pwsentry.so");
    let options = format!(
        "policy={} db={}",
        folder.join("policy.toml").display(),
        folder.join("history.db").display()
    );
    let svc = sb.service_with(
        &module,
        &stack("change", 1, UNIX).replace("{options}", &options),
    );
    let user = sb.user.clone();
    let run = sb.pamtester_as(Some(&user), &svc, "chauthtok", &[INITIAL, STRONG, STRONG]);
    assert!(!run.success, "{}", run.output);
    assert!(
        run.output.contains("Current password:"),
        "pam_unix asked:\n{}",
        run.output
    );
    assert!(
        run.output.contains("Retype new password:"),
        "the module accepted it:\n{}",
        run.output
    );
    assert!(
        folder.join("history.db").exists(),
        "the module opened its history"
    );
    assert!(
        sb.history_in(&folder).is_none(),
        "recorded although pam_unix failed"
    );
    assert_eq!(sb.shadow_hash(), before);
}

#[test]
fn the_current_password_pam_unix_verified_is_compared_in_plain_text() {
    let mut sb = Sandbox::new();
    let folder = sb.user_folder();
    let options = format!(
        "policy={} db={}",
        folder.join("policy.toml").display(),
        folder.join("history.db").display()
    );
    let svc = sb.service_with(
        &folder.join("pam_pwsentry.so"),
        &stack("change", 1, UNIX).replace("{options}", &options),
    );
    let similar = "initial#granite#otter59";
    let expected = {
        let checker = Checker::new(sb.policy());
        let request =
            ChangeRequest::new(&sb.user, similar, Utc::now()).verified_current_password(INITIAL);
        checker.evaluate_change_against(None, &request).unwrap()
    };
    assert!(
        expected.verdict().violates(Rule::SimilarToCurrent),
        "{:?}",
        expected.verdict()
    );
    let user = sb.user.clone();
    let run = sb.pamtester_as(Some(&user), &svc, "chauthtok", &[INITIAL, similar]);
    assert!(!run.success, "{}", run.output);
    assert_reasons(&run, expected.verdict());
}

#[test]
fn a_stale_password_must_be_changed_at_login_and_then_login_is_clean() {
    let mut sb = Sandbox::new();
    backdate(&sb, 100);
    let svc = standard(&mut sb);

    let run = sb.pamtester(&svc, "acct_mgmt", &[]);
    assert!(!run.success, "{}", run.output);
    assert!(
        run.output
            .contains("Authentication token is no longer valid; new one required"),
        "PAM_NEW_AUTHTOK_REQD expected:\n{}",
        run.output
    );
    assert!(run.output.contains("100 days old"), "{}", run.output);
    assert!(
        run.output.contains("you must change it now"),
        "{}",
        run.output
    );

    // What login does next: change it, as the user, through the password
    // stack; pam_unix asks for the current password first.
    let run = sb.pamtester(
        &svc,
        "chauthtok(PAM_CHANGE_EXPIRED_AUTHTOK)",
        &[INITIAL, STRONG2, STRONG2],
    );
    assert!(run.success, "{}", run.output);
    assert!(run.output.contains("Current password:"), "{}", run.output);
    assert!(
        CryptHash::parse(&sb.shadow_hash())
            .unwrap()
            .verify(STRONG2.as_bytes())
            .unwrap()
    );
    assert_eq!(sb.history().unwrap().entries().len(), 2);
    let run = sb.pamtester(&svc, "acct_mgmt", &[]);
    assert!(run.success, "{}", run.output);
    assert!(!run.output.contains("Your password"), "{}", run.output);
}

#[test]
fn an_expiring_password_gets_the_days_left_unless_silent() {
    let mut sb = Sandbox::new();
    backdate(&sb, 85);
    let svc = standard(&mut sb);

    let run = sb.pamtester(&svc, "acct_mgmt", &[]);
    assert!(run.success, "{}", run.output);
    assert!(
        run.output.contains("Your password will expire in 5 days"),
        "{}",
        run.output
    );
    let run = sb.pamtester(&svc, "acct_mgmt(PAM_SILENT)", &[]);
    assert!(run.success, "{}", run.output);
    assert!(!run.output.contains("Your password"), "{}", run.output);
}

#[test]
fn stale_deny_refuses_the_login_and_stale_warn_lets_in_with_a_warning() {
    let mut sb = Sandbox::new();
    backdate(&sb, 100);

    let deny = sb.service(&stack("deny", 1, UNIX));
    let run = sb.pamtester(&deny, "acct_mgmt", &[]);
    assert!(!run.success, "{}", run.output);
    assert!(
        run.output.contains("Authentication token expired"),
        "{}",
        run.output
    );
    assert!(
        run.output.contains("ask an administrator"),
        "{}",
        run.output
    );

    let warn = sb.service(&stack("warn", 1, UNIX));
    let run = sb.pamtester(&warn, "acct_mgmt", &[]);
    assert!(run.success, "{}", run.output);
    assert!(run.output.contains("100 days old"), "{}", run.output);
}

#[test]
fn without_history_login_is_clean_and_no_database_is_created() {
    let mut sb = Sandbox::new();
    let svc = sb.service(&stack("deny", 1, UNIX));
    let run = sb.pamtester(&svc, "acct_mgmt", &[]);
    assert!(run.success, "{}", run.output);
    assert!(!run.output.contains("Your password"), "{}", run.output);
    assert!(!sb.db_path().exists());
}

#[test]
fn an_untrusted_history_fails_closed_for_password_and_as_stale_says_for_account() {
    use std::os::unix::fs::PermissionsExt;
    let mut sb = Sandbox::new();
    backdate(&sb, 100);
    std::fs::set_permissions(sb.db_path(), std::fs::Permissions::from_mode(0o666)).unwrap();
    let before = sb.shadow_hash();

    let change = standard(&mut sb);
    let run = sb.pamtester(&change, "chauthtok", &[STRONG2, STRONG2]);
    assert!(!run.success, "{}", run.output);
    assert!(
        run.output.contains("cannot be checked now"),
        "{}",
        run.output
    );
    assert!(
        !run.output.contains("New password:"),
        "it fails before asking:\n{}",
        run.output
    );
    assert_eq!(sb.shadow_hash(), before);

    // stale=change: a reminder, which a broken history must not turn
    // into a lock-out (PAM_IGNORE; pam_permit decides).
    let run = sb.pamtester(&change, "acct_mgmt", &[]);
    assert!(run.success, "{}", run.output);
    assert!(!run.output.contains("must change"), "{}", run.output);
    // stale=deny: enforcement, so it fails closed.
    let deny = sb.service(&stack("deny", 1, UNIX));
    let run = sb.pamtester(&deny, "acct_mgmt", &[]);
    assert!(!run.success, "{}", run.output);
    assert!(
        run.output.contains("Error in service module"),
        "{}",
        run.output
    );
}

#[test]
fn a_bad_option_fails_closed() {
    let mut sb = Sandbox::new();
    let before = sb.shadow_hash();
    let svc = sb.service(
        "password requisite {module} {options} polcy=/etc/pwsentry/policy.toml\n\
         password [success=1 default=ignore] pam_unix.so use_authtok sha512\n\
         password requisite pam_deny.so\n\
         password required pam_permit.so\n",
    );
    let run = sb.pamtester(&svc, "chauthtok", &[STRONG, STRONG]);
    assert!(!run.success, "{}", run.output);
    assert!(
        run.output.contains("cannot be checked now"),
        "{}",
        run.output
    );
    assert_eq!(sb.shadow_hash(), before);
}

#[test]
fn refusals_and_errors_go_to_syslog_authpriv_without_the_password() {
    use std::os::unix::fs::PermissionsExt;
    let mut sb = Sandbox::new();
    let syslog = Syslog::capture();
    let svc = standard(&mut sb);
    let weak = "summer2024";

    let run = sb.pamtester_logged(&syslog, &svc, "chauthtok", &[weak]);
    assert!(!run.success, "{}", run.output);
    let logs = syslog.messages();
    // authpriv (10 << 3) | notice (5)
    let notice = logs
        .iter()
        .find(|m| m.starts_with("<85>") && m.contains("refused: "))
        .unwrap_or_else(|| panic!("no authpriv notice of the refusal in {logs:#?}"));
    assert!(
        notice.contains(&format!("new password of {} refused: ", sb.user)),
        "{notice}"
    );
    assert!(notice.contains("symbols"), "the rule codes: {notice}");

    // A policy others may write: refused, logged as an error naming it.
    std::fs::set_permissions(sb.policy_path(), std::fs::Permissions::from_mode(0o666)).unwrap();
    let run = sb.pamtester_logged(&syslog, &svc, "chauthtok", &[STRONG, STRONG]);
    assert!(!run.success, "{}", run.output);
    let logs = [logs, syslog.messages()].concat();
    let error = logs
        .iter()
        .find(|m| m.starts_with("<83>") && m.contains("writable by group or others"))
        .unwrap_or_else(|| panic!("no authpriv error about the policy in {logs:#?}"));
    assert!(
        error.contains(&sb.policy_path().display().to_string()),
        "{error}"
    );
    for m in &logs {
        assert!(
            !m.contains(weak) && !m.contains(STRONG),
            "a password in syslog: {m}"
        );
    }
}

#[test]
fn a_root_reset_ignores_the_minimum_age_a_users_change_does_not() {
    let mut sb = Sandbox::new();
    sb.write_policy(&POLICY.replace("min_age_days = 0", "min_age_days = 1"));
    let svc = standard(&mut sb);
    let run = sb.pamtester(&svc, "chauthtok", &[STRONG, STRONG]);
    assert!(run.success, "{}", run.output);
    // Root again at once (`passwd USER`): an administrator's reset.
    let run = sb.pamtester(&svc, "chauthtok", &[STRONG2, STRONG2]);
    assert!(run.success, "{}", run.output);
    assert_eq!(sb.history().unwrap().entries().len(), 2);

    // The user (as login has it change an expired password): too soon.
    let third = "Lantern&Meadow&Falcon31";
    let expected = {
        let store = SqliteStore::open_existing(sb.db_path()).unwrap().unwrap();
        let request = ChangeRequest::new(&sb.user, third, Utc::now());
        Checker::new(sb.policy())
            .evaluate_change(&store, &request)
            .unwrap()
    };
    assert!(
        expected.verdict().violates(Rule::MinAge),
        "{:?}",
        expected.verdict()
    );
    let hash = sb.shadow_hash();
    let run = sb.pamtester(
        &svc,
        "chauthtok(PAM_CHANGE_EXPIRED_AUTHTOK)",
        &[STRONG2, third],
    );
    assert!(!run.success, "{}", run.output);
    assert_reasons(&run, expected.verdict());
    assert_eq!(sb.shadow_hash(), hash);
}
