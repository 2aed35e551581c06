//! The checks behind each fuzz target, one module per target. Each `run` takes the raw
//! fuzzer input, drives hookserver's own code with it and panics when a promise of the
//! request path is broken. The same functions replay the kept regression inputs under
//! `cargo test` (hookserver/tests/fuzz_regressions.rs includes these files).

pub mod etag;
pub mod route;
pub mod validate;
