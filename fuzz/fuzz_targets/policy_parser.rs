//! Fuzz target: see `pwsentry_fuzz::policy_parser` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pwsentry_fuzz::policy_parser(data));
