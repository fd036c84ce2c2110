//! Fuzz target: see `pwsentry_fuzz::hash_import` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pwsentry_fuzz::hash_import(data));
