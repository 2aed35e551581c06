//! `hooksoak`: mixed traffic against a real `hookserver` for minutes, while its hooks are
//! replaced, checking every answer and the server's memory.
//!
//! ```no_run
//! use std::time::Duration;
//! use hookload::soak::{SoakConfig, run};
//!
//! let mut config = SoakConfig::new("target/release/hookserver");
//! config.duration = Duration::from_secs(60);
//! config.warmup = SoakConfig::default_warmup(config.duration);
//! let report = run(&config, &mut |line: &str| print!("{line}"))?;
//! println!("{}", report.summary());
//! assert!(report.passed, "{:?}", report.failures);
//! # Ok::<(), hookload::soak::Error>(())
//! ```
//!
//! A soak, in the order it runs:
//! 1. [`plan`]: the hooks (examples, a failing and a timing-out fixture, one hook whose
//!    module is swapped) and the mix of requests, each with its expected outcome.
//! 2. [`files`], [`server`]: the hooks go into a temporary modules directory; `hookserver
//!    serve` starts on it with a temporary cache directory, on a port the kernel picks.
//! 3. The load: open loop at `rate` requests per second over at most `concurrency`
//!    connections, using hookload's [`Pacer`](crate::schedule::Pacer), request templates
//!    and connections; [`wheel`] decides which entry each slot goes to. Every answer is
//!    judged ([`expect`]) and written down ([`record`]).
//! 4. Meanwhile [`changer`] switches a hook to its other version every `change_every`,
//!    [`usage`] samples the server's RSS, PSS and CPU time every second, and the table over time is
//!    printed as each interval closes.
//! 5. [`report`]: totals, percentiles, the table, and whether memory stayed flat ([`flat`]).
//!    The run passes with no unexpected outcome, flat memory, the rate sustained and the
//!    server alive.

mod drive;

pub mod changer;
pub mod expect;
pub mod files;
pub mod flat;
pub mod plan;
pub mod record;
pub mod report;
pub mod server;
pub mod status;
pub mod usage;
pub mod wheel;

use std::path::PathBuf;
use std::time::Duration;

pub use drive::run;
pub use flat::FlatRule;
pub use plan::Sources;
pub use report::SoakReport;

/// Why a soak could not run (what it finds while running is in the report instead).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Plan(#[from] plan::Error),
    #[error(transparent)]
    Files(#[from] files::Error),
    #[error(transparent)]
    Server(#[from] server::Error),
    #[error(transparent)]
    Status(#[from] status::Error),
    #[error(transparent)]
    Target(#[from] crate::target::Error),
    #[error(
        "hook {name:?} does not serve its first version ({version}) after the server became \
         ready; GET /hooks shows {shown}; see the server's log {log}"
    )]
    NotServing {
        name: &'static str,
        version: &'static str,
        shown: String,
        log: PathBuf,
    },
    #[error("{source}\n(the modules, cache and server log are kept in {dir})")]
    Kept {
        dir: PathBuf,
        #[source]
        source: Box<Error>,
    },
    #[error("a worker task failed ({0}): this is a bug in hooksoak")]
    Worker(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

/// This module's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What to run. [`SoakConfig::new`] gives the defaults of `make soak`.
#[derive(Debug, Clone)]
pub struct SoakConfig {
    /// The `hookserver` binary (release or debug).
    pub hookserver: PathBuf,
    pub sources: Sources,
    /// The script adapters (`jsonnet.wasm`, `js.wasm`), as `make adapters` leaves them.
    pub adapters: PathBuf,
    /// Requests per second, all hooks together.
    pub rate: f64,
    /// How long the load runs.
    pub duration: Duration,
    /// The first part of the run, left out of the memory verdict (see [`flat`]).
    pub warmup: Duration,
    /// One line of the table, one set of percentiles.
    pub interval: Duration,
    /// How often a hook is switched to its other version.
    pub change_every: Duration,
    /// The most requests in flight (connections).
    pub concurrency: usize,
    /// Longest wait for one answer (metacontroller's default webhook timeout).
    pub timeout: Duration,
    pub flat: FlatRule,
    /// Goes into every request, so runs differ.
    pub nonce: u32,
}

impl SoakConfig {
    /// The defaults: 10 minutes at 50 requests per second, a change every 10 s, 10 s
    /// intervals, the example hooks, fixtures and adapters where the Makefile builds them.
    /// 50 requests per second take about 15% of one core with a release build of the
    /// server and half a core with a debug build: well within a 2-core machine with either,
    /// so what the soak measures is the server, not an overloaded machine. (A debug build
    /// does not keep up with 100: its 1000-Pod calls take 300 ms each.)
    pub fn new(hookserver: impl Into<PathBuf>) -> Self {
        let duration = Duration::from_secs(600);
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u32)
            .unwrap_or_default();
        Self {
            hookserver: hookserver.into(),
            sources: Sources {
                hooks: PathBuf::from("target/hooks"),
                fixtures: PathBuf::from("target/wasm32-wasip1/hook"),
            },
            adapters: PathBuf::from("target/adapters"),
            rate: 50.0,
            duration,
            warmup: Self::default_warmup(duration),
            interval: Duration::from_secs(10),
            change_every: Duration::from_secs(10),
            concurrency: 32,
            timeout: Duration::from_secs(10),
            flat: FlatRule::default(),
            nonce: clock ^ std::process::id().rotate_left(16),
        }
    }

    /// A fifth of the run, at most a minute: long enough for the caches to fill (see
    /// [`SoakConfig::response_cache_idle`]), short enough to leave most of the run judged.
    pub fn default_warmup(duration: Duration) -> Duration {
        (duration / 5).min(Duration::from_secs(60))
    }

    /// The server's `--response-cache-idle`: half the warm-up. Every request of the soak
    /// but the resyncs is distinct, and the response cache keeps each answer until it has
    /// not been asked for this long. With the default (10 minutes) it would grow for the
    /// whole run, by design, and the memory verdict could not tell that from a leak; with
    /// half the warm-up it reaches its steady size (rate x idle) before the verdict's
    /// baseline is taken.
    pub fn response_cache_idle(&self) -> Duration {
        (self.warmup / 2).max(Duration::from_secs(1))
    }

    fn check(&self) -> Result<()> {
        let fail = |message: String| Err(Error::Config(message));
        if !(self.rate.is_finite() && self.rate > 0.0) {
            return fail(format!(
                "rate {}: must be a positive number of requests per second",
                self.rate
            ));
        }
        if self.duration.is_zero() || self.interval.is_zero() || self.timeout.is_zero() {
            return fail("duration, interval and timeout must be above zero".to_string());
        }
        if self.warmup >= self.duration {
            return fail(format!(
                "warm-up {:?} is not shorter than the duration {:?}: nothing would be judged",
                self.warmup, self.duration
            ));
        }
        if self.change_every < Duration::from_secs(1) {
            return fail(format!(
                "change every {:?}: at least 1s, the server needs time to see a change",
                self.change_every
            ));
        }
        if self.duration.as_secs_f64() / self.interval.as_secs_f64() > 10_000.0 {
            return fail("over 10000 intervals: use a longer --interval".to_string());
        }
        if self.concurrency == 0 {
            return fail("concurrency 0: at least one connection is needed".to_string());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_and_cache_idle_follow_the_duration() {
        let s = Duration::from_secs;
        assert_eq!(SoakConfig::default_warmup(s(600)), s(60));
        assert_eq!(SoakConfig::default_warmup(s(60)), s(12));
        let mut config = SoakConfig::new("hookserver");
        config.warmup = s(12);
        assert_eq!(config.response_cache_idle(), s(6));
        config.warmup = Duration::from_millis(500);
        assert_eq!(config.response_cache_idle(), s(1));
    }

    #[test]
    fn bad_configs_are_refused_with_the_reason() {
        let check = |change: fn(&mut SoakConfig)| {
            let mut config = SoakConfig::new("hookserver");
            change(&mut config);
            config.check().map_err(|e| e.to_string())
        };
        assert!(check(|_| {}).is_ok());
        for (change, says) in [
            ((|c| c.rate = 0.0) as fn(&mut SoakConfig), "positive"),
            (|c| c.warmup = c.duration, "nothing would be judged"),
            (
                |c| c.change_every = Duration::from_millis(100),
                "at least 1s",
            ),
            (|c| c.interval = Duration::from_millis(1), "10000 intervals"),
            (|c| c.concurrency = 0, "connection"),
        ] {
            let err = check(change).expect_err(says);
            assert!(err.contains(says), "{err}");
        }
    }
}
