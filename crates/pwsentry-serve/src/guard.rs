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
    /// Requests in flight per client key (see [`Guard::enter`]).
    in_flight: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

/// A request counted in flight for its client until dropped.
pub struct InFlight {
    counts: Arc<Mutex<HashMap<IpAddr, u32>>>,
    key: IpAddr,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = counts.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                // Bounded by the requests in flight.
                counts.remove(&self.key);
            }
        }
    }
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
            in_flight: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Counts one more request in flight from `client`, or 429 when it
    /// already has [`Limits::max_in_flight_per_client`].
    pub fn enter(&self, client: IpAddr) -> Result<InFlight, ApiError> {
        let key = client_key(client);
        let mut counts = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let n = counts.entry(key).or_insert(0);
        if *n >= self.limits.max_in_flight_per_client.max(1) {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests at once from this address; slow down",
            );
            e.retry_after = Some(1);
            return Err(e);
        }
        *n += 1;
        Ok(InFlight {
            counts: self.in_flight.clone(),
            key,
        })
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
    fn requests_in_flight_are_capped_per_client_and_given_back() {
        let guard = Guard::new(&Limits {
            max_in_flight_per_client: 2,
            ..Limits::default()
        });
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let first = guard.enter(a).unwrap();
        let second = guard.enter(a).unwrap();
        let refused = guard.enter(a).map(|_| ()).unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(guard.enter("192.0.2.2".parse().unwrap()).is_ok());
        // The same /64 is one client.
        let v6a = guard.enter("2001:db8::1".parse().unwrap()).unwrap();
        let v6b = guard.enter("2001:db8::2".parse().unwrap()).unwrap();
        assert!(guard.enter("2001:db8::3".parse().unwrap()).is_err());
        drop(first);
        let third = guard.enter(a).unwrap();
        drop((second, third, v6a, v6b));
        assert!(
            guard.in_flight.lock().unwrap().is_empty(),
            "finished clients are forgotten"
        );
    }

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
