//! A password change over HTTP: lockout check, the current password
//! verified against the passwd-file, the new one evaluated (rules, history),
//! written to the passwd-file, then recorded in the history.
//!
//! Order of the writes: the passwd-file first (that is what the mail server
//! uses), then the history. If recording fails after the file was written,
//! the new password works but is missing from the history (the next change
//! does not see it); the opposite order could leave a recorded password
//! that never took effect, which the user could then not set again.

use crate::api::ApiError;
use crate::guard::failure_keys;
use crate::routes::App;
use axum::http::StatusCode;
use chrono::{TimeDelta, Utc};
use pwsentry::mailhash::{self, MailHashParams};
use pwsentry::{ChangeRequest, Error, Password, Verdict};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

/// How a change ended when it did not fail.
pub enum Outcome {
    /// Written and recorded; the verdict that accepted it.
    Changed(Verdict),
    /// The new password was rejected; nothing written.
    Rejected(Verdict),
}

pub async fn change(
    app: Arc<App>,
    account: String,
    current: Password,
    new: Password,
    client: IpAddr,
) -> Result<Outcome, ApiError> {
    let Some(passwd) = app.passwd_file.clone() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_configured",
            "this server has no passwd-file to change passwords in",
        ));
    };
    let limits = app.guard.limits().clone();
    let now = Utc::now();
    let window = TimeDelta::from_std(limits.lockout_window).unwrap_or(TimeDelta::minutes(15));

    // One attempt per account at a time in this process, so that a burst
    // for one account waits here instead of holding argon2 memory.
    let _turn = app.guard.account_turn(&account).await;

    // 1. Count this attempt before verifying anything, in one store step
    //    per key (`Store::try_attempt`): however many server processes
    //    share the store, no more than the limit of attempts per window
    //    reach argon2. A correct password takes its attempt back below.
    let keys = failure_keys(&account, client);
    let admitted = {
        let app = app.clone();
        let keys = keys.clone();
        let limits = limits.clone();
        blocking(move || {
            let mut counted = Vec::new();
            for (key, scope) in &keys {
                if !app
                    .store
                    .try_attempt(key, now, window, scope.max(&limits))?
                {
                    // Locked out: take back what this attempt counted.
                    for key in counted {
                        app.store.forgive_attempt(key, now)?;
                    }
                    return Ok(false);
                }
                counted.push(key);
            }
            Ok(true)
        })
        .await?
    };
    if !admitted {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "locked_out",
            "too many wrong current passwords; try again later",
        );
        e.retry_after = Some(limits.lockout_window.as_secs());
        return Err(e);
    }

    // 2. The current password, against the passwd-file. An unknown account
    //    is verified against a decoy hash and answers what a wrong password
    //    does; both take at least `App::verify_floor`, and a wrong password
    //    for a cheaper (legacy) or unverifiable hash also runs the decoy,
    //    so that such an account cannot be told from an unknown one.
    let started = Instant::now();
    let field = {
        let passwd = passwd.clone();
        let account = account.clone();
        blocking(move || passwd.password_field(&account)).await?
    };
    let memory = field
        .as_deref()
        .and_then(argon2_memory_kib)
        .unwrap_or(app.decoy_memory_kib);
    let permit = app.guard.argon2(memory).await?;
    let verified = {
        let app = app.clone();
        let current = current.clone();
        blocking(move || {
            let _permit = permit;
            let Some(f) = field else {
                return mailhash::verify(&app.decoy_hash, &current).map(|_| false);
            };
            let verified = match mailhash::verify(&f, &current) {
                // A scheme pwsentry does not verify (`{PLAIN}`, `{SSHA}`…)
                // answers as a wrong password does: a 500 would tell an
                // outsider that the account exists.
                Err(Error::Hash(why)) => {
                    eprintln!(
                        "pwsentry serve: warning: a passwd-file hash cannot be verified ({why}); the change was refused as a wrong current password"
                    );
                    false
                }
                other => other?,
            };
            if !verified && argon2_memory_kib(&f).is_none() {
                // Cheaper than argon2 (a legacy crypt scheme): spend the
                // decoy's run too, so that under load, when argon2 runs
                // slow down, the answer still comes as late as an unknown
                // account's (the floor alone holds on an idle server).
                let _ = mailhash::verify(&app.decoy_hash, &current);
            }
            Ok(verified)
        })
        .await?
    };
    if !verified {
        if let Some(rest) = app.verify_floor.checked_sub(started.elapsed()) {
            tokio::time::sleep(rest).await;
        }
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_current_password",
            "the account or the current password is wrong",
        ));
    }
    {
        let app = app.clone();
        blocking(move || {
            for (key, _) in &keys {
                app.store.forgive_attempt(key, now)?;
            }
            Ok(())
        })
        .await?;
    }

    // 3. Evaluate; when accepted, write the passwd-file, then record
    //    (`Checker::change_with`: the file first, so a password is never
    //    recorded that the mail server does not use).
    let params = MailHashParams::for_policy(app.checker.policy());
    let permit = app
        .guard
        .argon2(
            params
                .memory_kib()
                .max(app.checker.policy().hashing().memory_kib),
        )
        .await?;
    blocking(move || {
        let _permit = permit;
        let request = ChangeRequest::new(&account, new.expose(), now)
            .verified_current_password(current.expose());
        let outcome = app.checker.change_with(&*app.store, &request, || {
            let field = mailhash::dovecot_argon2id(&new, &params)?;
            passwd.set_password(&account, &field, false).map(|_| ())
        })?;
        if outcome.applied() {
            app.store.clear_failures(&format!("account:{account}"))?;
        }
        if outcome.applied() && !outcome.recorded() {
            // The passwd-file has the new password; another writer recorded
            // for the account in between and the history refused this one.
            eprintln!(
                "pwsentry serve: warning: a new password was written to the passwd-file but not recorded in the history (a concurrent change); check the account's history"
            );
        }
        if outcome.applied() {
            Ok(Outcome::Changed(outcome.verdict().clone()))
        } else {
            Ok(Outcome::Rejected(outcome.verdict().clone()))
        }
    })
    .await
}

/// Runs library work off the async threads; library errors become 500/503.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            eprintln!("pwsentry serve: error: {e}");
            Err(ApiError::internal(&e))
        }
        Err(_) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the request failed inside the server",
        )),
    }
}

/// The `m=` parameter of an argon2 PHC string (with or without a `{SCHEME}`
/// prefix), KiB.
fn argon2_memory_kib(field: &str) -> Option<u32> {
    let params = field
        .split('$')
        .find(|p| p.starts_with("m=") || p.contains(",m="))?;
    params
        .split(',')
        .find_map(|kv| kv.strip_prefix("m="))
        .and_then(|m| m.parse().ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_memory_parameter() {
        assert_eq!(
            super::argon2_memory_kib("{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA"),
            Some(65536)
        );
        assert_eq!(
            super::argon2_memory_kib("$argon2i$v=19$t=2,m=4096,p=1$c2FsdA$aGFzaA"),
            Some(4096)
        );
        assert_eq!(
            super::argon2_memory_kib("{SHA512-CRYPT}$6$rounds=5000$salt$hash"),
            None
        );
    }
}
