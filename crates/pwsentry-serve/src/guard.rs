//! What bounds the work a client can cause: per-address request rates (in
//! memory, per process), lockouts after wrong current passwords (in the
//! store, shared by every server process), and a cap on the memory argon2
//! may use at once (in memory, per process).

use crate::Limits;
use crate::api::ApiError;
use axum::http::StatusCode;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

/// Per-address rate limiters and the argon2 memory gate.
pub struct Guard {
    checks: DefaultKeyedRateLimiter<IpAddr>,
    changes: DefaultKeyedRateLimiter<IpAddr>,
    argon2: Arc<Semaphore>,
    argon2_mib: u32,
    limits: Limits,
    /// One change at a time per account (see [`Guard::account_turn`]).
    turns: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Guard {
    pub fn new(limits: &Limits) -> Guard {
        let nz = |n: u32| NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
        let checks = Quota::per_second(nz(limits.checks_per_second))
            .allow_burst(nz(limits.checks_per_second.saturating_mul(2)));
        let changes = Quota::per_minute(nz(limits.changes_per_minute));
        let argon2_mib = u32::try_from(limits.argon2_memory_kib / 1024)
            .unwrap_or(u32::MAX)
            .max(1);
        Guard {
            checks: RateLimiter::keyed(checks),
            changes: RateLimiter::keyed(changes),
            argon2: Arc::new(Semaphore::new(argon2_mib as usize)),
            argon2_mib,
            limits: limits.clone(),
            turns: Mutex::new(HashMap::new()),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// One more `/v1/check` from `client`, or 429.
    pub fn allow_check(&self, client: IpAddr) -> Result<(), ApiError> {
        self.allow(&self.checks, client)
    }

    /// One more change attempt from `client`, or 429.
    pub fn allow_change(&self, client: IpAddr) -> Result<(), ApiError> {
        self.allow(&self.changes, client)
    }

    fn allow(
        &self,
        limiter: &DefaultKeyedRateLimiter<IpAddr>,
        client: IpAddr,
    ) -> Result<(), ApiError> {
        // Forget idle addresses now and then, so that many addresses cannot
        // grow the table without bound.
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        limiter.check_key(&client_key(client)).map_err(|_| {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests from this address; slow down",
            );
            e.retry_after = Some(1);
            e
        })
    }

    /// Waits until no other change of `account` is in flight in this
    /// process. Held from the lockout check until the failure is noted, so
    /// that concurrent wrong passwords cannot all pass the check before any
    /// of them is counted.
    pub async fn account_turn(&self, account: &str) -> OwnedMutexGuard<()> {
        let turn = {
            let mut turns = self.turns.lock().unwrap_or_else(PoisonError::into_inner);
            // Forget accounts nobody holds or waits for: bounded by the
            // requests in flight.
            turns.retain(|_, t| Arc::strong_count(t) > 1);
            turns.entry(account.to_owned()).or_default().clone()
        };
        turn.lock_owned().await
    }

    /// Waits (at most [`Limits::argon2_wait`]) for `memory_kib` of argon2
    /// memory; the permit returns it when dropped.
    pub async fn argon2(&self, memory_kib: u32) -> Result<OwnedSemaphorePermit, ApiError> {
        let mib = memory_kib.div_ceil(1024).max(1);
        if mib > self.argon2_mib {
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "a stored hash needs more argon2 memory than the server allows",
            ));
        }
        let acquire = self.argon2.clone().acquire_many_owned(mib);
        match tokio::time::timeout(self.limits.argon2_wait, acquire).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => {
                let mut e = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "the server is busy hashing passwords; try again",
                );
                e.retry_after = Some(5);
                Err(e)
            }
        }
    }
}

/// Whom per-address limits count: an IPv4 address (also when mapped into
/// IPv6), or an IPv6 address's /64 prefix, since one host or site commonly
/// holds a whole /64 and could otherwise use a new address per request.
pub fn client_key(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V4(_) => client,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(
                u128::from(v6) & !u128::from(u64::MAX),
            )),
        },
    }
}

/// The store keys of an account's and a client's failed attempts.
pub fn failure_keys(account: &str, client: IpAddr) -> [(String, FailureScope); 2] {
    [
        (format!("account:{account}"), FailureScope::Account),
        (
            format!("client:{}", client_key(client)),
            FailureScope::Client,
        ),
    ]
}

/// Whose failures a key counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureScope {
    Account,
    Client,
}

impl FailureScope {
    pub fn max(self, limits: &Limits) -> u32 {
        match self {
            FailureScope::Account => limits.max_failures_per_account,
            FailureScope::Client => limits.max_failures_per_client,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_ipv6_prefix_is_one_client() {
        let guard = Guard::new(&Limits {
            changes_per_minute: 3,
            ..Limits::default()
        });
        let mut allowed = 0;
        for host in 1..=10u16 {
            let ip: IpAddr = format!("2001:db8:1:2::{host:x}").parse().unwrap();
            allowed += usize::from(guard.allow_change(ip).is_ok());
        }
        assert_eq!(allowed, 3, "a /64 shares one rate limit");
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(guard.allow_change(other).is_ok());
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
        assert_eq!(
            failure_keys("a@x.org", "2001:db8:1:2::9".parse().unwrap())[1].0,
            failure_keys("a@x.org", "2001:db8:1:2:ffff::1".parse().unwrap())[1].0
        );
    }
}
