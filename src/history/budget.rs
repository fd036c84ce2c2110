//! The cap on argon2 memory held at once by the evaluations of one
//! [`Checker`](crate::Checker) and all its clones.
//!
//! Each argon2 evaluation needs its parameters' memory (e.g. 19 MiB for the
//! shipped policy, up to 256 MiB for an imported hash). Before allocating
//! that buffer, an evaluation takes a lease on that much of the budget and
//! waits while the leases already out would take it over the cap; the lease
//! is returned when the buffer is wiped and freed. A request larger than the
//! whole cap (a policy that chose more memory than the cap) waits until it
//! can have the whole budget to itself, so it never deadlocks and the cap is
//! only ever exceeded by the policy's own choice.
//!
//! A lease is taken with one lock and released on drop, and no evaluation
//! holds more than one lease at a time, so concurrent checks cannot deadlock
//! on it. This module never prints and never reads the clock.

use std::sync::{Condvar, Mutex, PoisonError};

/// Argon2 memory all evaluations of one checker may hold at once, in KiB,
/// unless [`Checker::with_argon2_memory_cap`](crate::Checker::with_argon2_memory_cap)
/// says otherwise: 256 MiB.
pub const DEFAULT_ARGON2_MEMORY_CAP_KIB: u64 = 256 * 1024;

/// A shared budget of argon2 memory, in KiB.
#[derive(Debug)]
pub(crate) struct MemoryBudget {
    cap_kib: u64,
    in_use: Mutex<u64>,
    freed: Condvar,
    /// The most ever leased at once, for the tests of the callers.
    #[cfg(test)]
    peak: std::sync::atomic::AtomicU64,
}

/// Part of a [`MemoryBudget`], returned when dropped.
#[derive(Debug)]
pub(crate) struct Lease<'a> {
    budget: &'a MemoryBudget,
    kib: u64,
}

impl MemoryBudget {
    /// A budget of `cap_kib` KiB (at least 1).
    pub(crate) fn new(cap_kib: u64) -> Self {
        MemoryBudget {
            cap_kib: cap_kib.max(1),
            in_use: Mutex::new(0),
            freed: Condvar::new(),
            #[cfg(test)]
            peak: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The cap, in KiB.
    pub(crate) fn cap_kib(&self) -> u64 {
        self.cap_kib
    }

    /// How many evaluations of `kib` each fit in the budget at once (≥ 1).
    pub(crate) fn fits(&self, kib: u64) -> usize {
        usize::try_from(self.cap_kib / kib.max(1))
            .unwrap_or(usize::MAX)
            .max(1)
    }

    /// Takes `kib` KiB (or the whole cap, if that is less), waiting until
    /// other leases leave room.
    pub(crate) fn lease(&self, kib: u64) -> Lease<'_> {
        let kib = kib.min(self.cap_kib);
        // The lock guards one integer that no code panics while holding, so
        // a poisoned lock still holds a consistent value.
        let mut in_use = self.in_use.lock().unwrap_or_else(PoisonError::into_inner);
        while *in_use + kib > self.cap_kib {
            in_use = self
                .freed
                .wait(in_use)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *in_use += kib;
        #[cfg(test)]
        self.peak
            .fetch_max(*in_use, std::sync::atomic::Ordering::SeqCst);
        Lease { budget: self, kib }
    }

    #[cfg(test)]
    pub(crate) fn peak(&self) -> u64 {
        self.peak.load(std::sync::atomic::Ordering::SeqCst)
    }

    #[cfg(test)]
    fn in_use(&self) -> u64 {
        *self.in_use.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let mut in_use = self
            .budget
            .in_use
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *in_use = in_use.saturating_sub(self.kib);
        drop(in_use);
        self.budget.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn leases_never_exceed_the_cap_and_all_finish() {
        let budget = MemoryBudget::new(100);
        let peak = AtomicU64::new(0);
        std::thread::scope(|s| {
            for i in 0..16u64 {
                let (budget, peak) = (&budget, &peak);
                s.spawn(move || {
                    for _ in 0..50 {
                        let _lease = budget.lease(10 + (i % 4) * 20);
                        peak.fetch_max(budget.in_use(), Ordering::SeqCst);
                        std::thread::yield_now();
                    }
                });
            }
        });
        assert!(peak.load(Ordering::SeqCst) <= 100);
        assert_eq!(budget.in_use(), 0, "every lease returned");
    }

    #[test]
    fn a_request_over_the_cap_gets_the_whole_budget() {
        let budget = MemoryBudget::new(64);
        let big = budget.lease(1000);
        assert_eq!(budget.in_use(), 64);
        drop(big);
        let _a = budget.lease(32);
        let _b = budget.lease(32);
        assert_eq!(budget.in_use(), 64);
        assert_eq!(budget.fits(20), 3);
        assert_eq!(budget.fits(1 << 40), 1);
    }
}
