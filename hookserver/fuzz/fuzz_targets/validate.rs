//! Fuzz target: a hook's stdout through the output guard, for every request shape, strict and loose.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hookserver_fuzz::validate::run(data));
