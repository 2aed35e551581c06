//! `hookload`: drives any metacontroller hook backend over real HTTP with realistic
//! requests, and reports throughput, latency percentiles and errors.
//!
//! ```no_run
//! use std::time::Duration;
//! use hookload::{Mode, RunConfig, run_blocking};
//!
//! let mut config = RunConfig::new("http://127.0.0.1:8080/hooks/hello-world/{hook}");
//! config.mode = Mode::Rate(200.0); // open loop; Mode::Closed sends flat out
//! config.children = 10;
//! config.duration = Duration::from_secs(5);
//! let report = run_blocking(&config)?;
//! println!("{}", report.table(false));
//! assert_eq!(report.errors.total, 0);
//! # Ok::<(), hookload::run::Error>(())
//! ```
//!
//! The parts, in the order a run uses them:
//! - [`requests`]: a [`RequestTemplate`] is the hello-world CompositeController request
//!   metacontroller would send (built by the conformance suite's generator), serialized once;
//!   [`RequestTemplate::body`] makes body `n` of it by splicing two small strings in, so
//!   every request of a run, and of every run, is distinct at the cost of two `format!`s.
//! - [`target`]: the URL, resolved once, and a [`Connection`](target::Connection): one
//!   keep-alive HTTP/1.1 connection per worker (hyper), kept for the whole run.
//! - [`schedule`]: closed loop (flat out) or open loop at a fixed rate, timed from each
//!   request's due time (no coordinated omission).
//! - [`stats`] and [`histogram`]: per-worker records, merged at the end; latencies in a
//!   log-linear histogram accurate to 0.8%.
//! - [`mod@run`]: [`run()`] / [`run_blocking`] tie these together into a [`Report`];
//!   [`report`] renders it as a table or JSON.
//!
//! - [`soak`]: the `hooksoak` binary's library: minutes of mixed traffic against a real
//!   `hookserver` while its hooks are replaced, every answer checked, memory watched.
//!
//! The load generator's own cost: one Tokio task per connection on `threads` threads (one
//! by default, so it leaves the other cores to the server under test), no allocation per
//! request beyond two short strings, the request head and the answer's body; the report
//! includes the CPU time it used.

pub mod histogram;
pub mod report;
pub mod requests;
pub mod run;
pub mod schedule;
pub mod soak;
pub mod stats;
pub mod target;

pub use report::Report;
pub use requests::{HookKind, RequestTemplate};
pub use run::{RunConfig, run, run_blocking};
pub use schedule::Mode;
