//! Fuzz target: see `pwsentry_fuzz::evaluate` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pwsentry_fuzz::evaluate(data));
