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

/// How a change ended when it did not fail.
pub enum Outcome {
    /// Written and recorded; the verdict that accepted it.
    Changed(Verdict),
    /// The new password was rejected; nothing written.
    Rejected(Verdict),
}

/// Commits retried when another writer changed the account meanwhile.
const COMMIT_TRIES: usize = 3;

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
    let since = now - window;

    // One attempt per account at a time (in this process), from the
    // lockout check until its failure is noted: otherwise a burst of
    // concurrent wrong passwords all pass the check before any is counted.
    let _turn = app.guard.account_turn(&account).await;

    // 1. Locked out? No argon2 for a locked account or address.
    let keys = failure_keys(&account, client);
    let locked = {
        let app = app.clone();
        let keys = keys.clone();
        blocking(move || {
            for (key, scope) in &keys {
                if app.store.failures_since(key, since)? >= scope.max(&limits) {
                    return Ok(true);
                }
            }
            Ok(false)
        })
        .await?
    };
    if locked {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "locked_out",
            "too many wrong current passwords; try again later",
        );
        e.retry_after = Some(app.guard.limits().lockout_window.as_secs());
        return Err(e);
    }

    // 2. The current password, against the passwd-file. An unknown account
    //    costs the same as a wrong password, and answers the same.
    let field = {
        let passwd = passwd.clone();
        let account = account.clone();
        blocking(move || passwd.password_field(&account)).await?
    };
    let memory = field
        .as_deref()
        .and_then(argon2_memory_kib)
        .unwrap_or(mailhash::DOVECOT_MEMORY_KIB);
    let permit = app.guard.argon2(memory).await?;
    let verified = {
        let app = app.clone();
        let current = current.clone();
        blocking(move || {
            let _permit = permit;
            match field {
                Some(f) => mailhash::verify(&f, &current),
                None => mailhash::verify(&app.decoy_hash, &current).map(|_| false),
            }
        })
        .await?
    };
    if !verified {
        let app2 = app.clone();
        blocking(move || {
            let window = TimeDelta::from_std(app2.guard.limits().lockout_window)
                .unwrap_or(TimeDelta::minutes(15));
            for (key, _) in &keys {
                app2.store.note_failure(key, now, window)?;
            }
            Ok(())
        })
        .await?;
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_current_password",
            "the account or the current password is wrong",
        ));
    }

    // 3. Evaluate, write, record.
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
        let mut written = false;
        for _ in 0..COMMIT_TRIES {
            let change = app.checker.evaluate_change(&*app.store, &request)?;
            if !change.verdict().accepted() {
                return Ok(Outcome::Rejected(change.verdict().clone()));
            }
            if !written {
                let field = mailhash::dovecot_argon2id(&new, &params)?;
                passwd.set_password(&account, &field, false)?;
                written = true;
            }
            let verdict = change.verdict().clone();
            match app.checker.commit(&*app.store, change) {
                Ok(_) => {
                    app.store.clear_failures(&format!("account:{account}"))?;
                    return Ok(Outcome::Changed(verdict));
                }
                Err(Error::Busy) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Busy)
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
