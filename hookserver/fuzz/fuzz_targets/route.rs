//! Fuzz target: routing, headers and body parsing through the real router.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hookserver_fuzz::route::run(data));
