//! Fuzz target: the ETag of a call and If-None-Match matching.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hookserver_fuzz::etag::run(data));
