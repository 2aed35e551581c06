//! A run: check the target, open the connections, send one probe, then let one worker per
//! connection send until the window ends, and merge what they recorded into a [`Report`].
//!
//! The run lasts `warmup + duration`; only requests due after the warm-up are measured.
//! In-flight requests are waited for (at most `timeout`) when it ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use tokio::task::JoinSet;

use crate::report::{Facts, Report};
use crate::requests::{self, HookKind, RequestTemplate};
use crate::schedule::{Mode, Pacer, Timetable};
use crate::stats::{Failure, Recorder, Times};
use crate::target::{self, Connection, Target};

/// Why a run could not be made (failed requests during a run are results, not errors).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Target(#[from] target::Error),
    #[error(transparent)]
    Requests(#[from] requests::Error),
    #[error(
        "POST {url} answered {status} to the first request: {body:?}; check --url \
         (hookserver serves /hooks/NAME/HOOK, the reference webhook /NAME/HOOK)"
    )]
    NoSuchHook {
        url: String,
        status: u16,
        body: String,
    },
    #[error("POST {url} got no answer to the first request ({what}); is it an HTTP server?")]
    Probe { url: String, what: &'static str },
    #[error("a worker task failed ({0}): this is a bug in hookload")]
    Worker(String),
    #[error("cannot start the client runtime")]
    Runtime(#[source] std::io::Error),
}

/// This module's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What to run. [`RunConfig::new`] gives the command line's defaults.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The hook's URL; `{hook}` is replaced by the hook kind.
    pub url: String,
    pub hook: HookKind,
    /// Observed Pods in each request (0..=1000).
    pub children: usize,
    pub mode: Mode,
    /// Connections (closed loop: each sends flat out; open loop: at most this many
    /// requests in flight, like metacontroller's `--workers`).
    pub concurrency: usize,
    /// The measured window.
    pub duration: Duration,
    /// Sent before the window and left out of every figure.
    pub warmup: Duration,
    /// Longest wait for one whole exchange (metacontroller's default `webhook.timeout` is 10s).
    pub timeout: Duration,
    /// Count a 200 whose body is not a JSON object as an error.
    pub expect_json: bool,
    /// Send the same body every time (a resync storm: what a response cache or ETag is
    /// for) instead of a distinct one per request.
    pub identical: bool,
    /// Slice length of the report's timeline.
    pub timeline_slice: Duration,
    /// Tokio worker threads ([`run_blocking`]; 1 runs everything on the calling thread).
    pub threads: usize,
    /// Goes into every request, so runs differ from each other; [`RunConfig::new`] takes it
    /// from the clock and the process id.
    pub nonce: u32,
}

impl RunConfig {
    /// Defaults: sync, 1 child (hello-world's own Pod), closed loop over 5 connections
    /// (metacontroller's default worker count), 10s after a 2s warm-up, 10s timeout.
    pub fn new(url: impl Into<String>) -> Self {
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u32)
            .unwrap_or_default();
        Self {
            url: url.into(),
            hook: HookKind::Sync,
            children: 1,
            mode: Mode::Closed,
            concurrency: 5,
            duration: Duration::from_secs(10),
            warmup: Duration::from_secs(2),
            timeout: Duration::from_secs(10),
            expect_json: false,
            identical: false,
            timeline_slice: Duration::from_secs(1),
            threads: 1,
            nonce: clock ^ std::process::id().rotate_left(16),
        }
    }

    fn check(&self) -> Result<()> {
        let fail = |message: String| Err(Error::Config(message));
        if self.children > 1000 {
            return fail(format!("children {}: at most 1000", self.children));
        }
        if self.concurrency == 0 {
            return fail("concurrency 0: at least one connection is needed".to_string());
        }
        if let Mode::Rate(rate) = self.mode
            && !(rate.is_finite() && rate > 0.0)
        {
            return fail(format!(
                "rate {rate}: must be a positive number of requests per second"
            ));
        }
        if self.duration.is_zero() || self.timeout.is_zero() {
            return fail("duration and timeout must be above zero".to_string());
        }
        if self.duration.as_secs_f64() / self.timeline_slice.as_secs_f64().max(1e-3) > 100_000.0 {
            return fail(
                "timeline slice too short for the duration (over 100000 slices)".to_string(),
            );
        }
        if self.threads == 0 {
            return fail("threads 0: at least one is needed".to_string());
        }
        Ok(())
    }
}

/// Runs `config` on a Tokio runtime of `config.threads` threads, made for it.
pub fn run_blocking(config: &RunConfig) -> Result<Report> {
    config.check()?;
    let runtime = if config.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.threads)
            .enable_all()
            .build()
    }
    .map_err(Error::Runtime)?;
    runtime.block_on(run(config))
}

/// What every worker shares: read-only, but for two counters.
struct Shared {
    target: Target,
    template: RequestTemplate,
    end: Instant,
    timeout: Duration,
    expect_json: bool,
    /// Every request is body 0.
    identical: bool,
    /// The next body number: every request, probe and warm-up included, gets its own.
    next_body: AtomicU64,
    /// Open loop: the clock releasing due slots.
    pacer: Option<Pacer>,
    /// The next open-loop slot to claim.
    next_slot: AtomicU64,
}

/// Runs `config` on the current Tokio runtime. Fails before sending anything when the
/// target is unreachable or has no such hook; see [`Error`].
pub async fn run(config: &RunConfig) -> Result<Report> {
    config.check()?;
    let target = Target::resolve(&config.url, config.hook).await?;
    let template = RequestTemplate::new(config.hook, config.children, config.nonce)?;
    let mut connections = Vec::with_capacity(config.concurrency);
    for _ in 0..config.concurrency {
        connections.push(target.connect_or_fail().await?);
    }
    let next_body = AtomicU64::new(0);
    let probe_status = probe(&target, &template, &mut connections[0], config, &next_body).await?;

    let cpu_before = cpu_time();
    let start = Instant::now();
    let window = start + config.warmup;
    let end = window + config.duration;
    let shared = Arc::new(Shared {
        target,
        template,
        end,
        timeout: config.timeout,
        expect_json: config.expect_json,
        identical: config.identical,
        next_body,
        pacer: match config.mode {
            Mode::Rate(rate) => {
                Some(Pacer::start(Timetable::new(start, rate), end).map_err(Error::Runtime)?)
            }
            Mode::Closed => None,
        },
        next_slot: AtomicU64::new(0),
    });
    let mut workers = JoinSet::new();
    for connection in connections {
        let recorder = Recorder::new(window, config.timeline_slice);
        workers.spawn(worker(Arc::clone(&shared), connection, recorder));
    }
    let mut total = Recorder::new(window, config.timeline_slice);
    while let Some(done) = workers.join_next().await {
        match done {
            Ok(recorder) => total.merge(&recorder),
            // A worker does not panic; if one did, its numbers are lost, so say so.
            Err(err) => return Err(Error::Worker(err.to_string())),
        }
    }
    let facts = Facts {
        url: shared.target.url().to_string(),
        probe_status,
        request_bytes: shared.template.body(0).len(),
        due: shared.pacer.as_ref().map(|pacer| {
            pacer
                .timetable()
                .slots_between(config.warmup, config.warmup + config.duration)
        }),
        wall: start.elapsed(),
        cpu: cpu_time()
            .zip(cpu_before)
            .map(|(after, before)| after.saturating_sub(before)),
    };
    Ok(Report::new(config, &facts, &total))
}

/// One request before the clock starts: fails the run early when nobody answers, or the
/// answer says the URL is wrong (404, 405), instead of a run of nothing but errors.
async fn probe(
    target: &Target,
    template: &RequestTemplate,
    connection: &mut Connection,
    config: &RunConfig,
    next_body: &AtomicU64,
) -> Result<u16> {
    let body = template.body(next_body.fetch_add(1, Ordering::Relaxed));
    let failed = |what| Error::Probe {
        url: target.url().to_string(),
        what,
    };
    let exchange = async {
        if !connection.ready().await {
            return Err(failed("the connection closed at once"));
        }
        connection
            .exchange(target.request(body))
            .await
            .map_err(|_| failed("the connection broke"))
    };
    let (status, answer) = tokio::time::timeout(config.timeout, exchange)
        .await
        .map_err(|_| failed("timed out"))??;
    if matches!(status.as_u16(), 404 | 405) {
        let text = String::from_utf8_lossy(&answer);
        return Err(Error::NoSuchHook {
            url: target.url().to_string(),
            status: status.as_u16(),
            body: text
                .chars()
                .take(300)
                .collect::<String>()
                .trim()
                .to_string(),
        });
    }
    Ok(status.as_u16())
}

/// One connection's loop: take the next due time, send, record; until the window ends.
async fn worker(shared: Arc<Shared>, connection: Connection, mut recorder: Recorder) -> Recorder {
    let mut connection = Some(connection);
    recorder.connections = 1;
    loop {
        let due = match &shared.pacer {
            None => {
                let now = Instant::now();
                if now >= shared.end {
                    break;
                }
                now
            }
            Some(pacer) => {
                // Closed when the run ends: slots still waiting then stay unsent (reported
                // from the count of slots due in the window).
                let Ok(permit) = pacer.permits().acquire().await else {
                    break;
                };
                permit.forget();
                let slot = shared.next_slot.fetch_add(1, Ordering::Relaxed);
                if Instant::now() >= shared.end {
                    break;
                }
                pacer.timetable().due(slot)
            }
        };
        let body = shared.template.body(if shared.identical {
            0
        } else {
            shared.next_body.fetch_add(1, Ordering::Relaxed)
        });
        let request_bytes = body.len();
        let sent = Instant::now();
        let outcome = tokio::time::timeout(
            shared.timeout,
            exchange(&shared, &mut connection, &mut recorder, body),
        )
        .await
        .unwrap_or(Err(Failure::Timeout));
        let done = Instant::now();
        if matches!(outcome, Err(Failure::Timeout | Failure::Connection)) {
            // Its state is unknown (an answer may still come): never reuse it.
            connection = None;
        }
        recorder.record(Times { due, sent, done }, request_bytes, outcome);
        if outcome == Err(Failure::Connect) && shared.pacer.is_none() {
            // Do not spin on a refused port; a rate run is paced by its timetable already.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    recorder
}

/// One exchange on the worker's connection, opening a new one first if the old one is gone
/// (see [`Target::ready_connection`]).
async fn exchange(
    shared: &Shared,
    slot: &mut Option<Connection>,
    recorder: &mut Recorder,
    body: requests::SplicedBody,
) -> Result<u64, Failure> {
    let (connection, opened) = shared
        .target
        .ready_connection(slot)
        .await
        .map_err(|_| Failure::Connect)?;
    if opened {
        recorder.connections += 1;
    }
    let (status, answer) = connection
        .exchange(shared.target.request(body))
        .await
        .map_err(|_| Failure::Connection)?;
    if status != http::StatusCode::OK {
        return Err(Failure::Status(status.as_u16()));
    }
    if shared.expect_json && !is_json_object(&answer) {
        return Err(Failure::InvalidBody);
    }
    Ok(answer.len() as u64)
}

/// Whether `bytes` is one JSON object (checked without building it).
fn is_json_object(bytes: &[u8]) -> bool {
    struct Object;
    impl<'de> Visitor<'de> for Object {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(())
        }
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    deserializer.deserialize_map(Object).is_ok() && deserializer.end().is_ok()
}

/// CPU time this process has used (user + system), where the platform tells.
fn cpu_time() -> Option<Duration> {
    #[cfg(unix)]
    {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is always valid.
        let usage = unsafe {
            if libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) != 0 {
                return None;
            }
            usage.assume_init()
        };
        let time = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
        };
        Some(time(usage.ru_utime) + time(usage.ru_stime))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_objects_are_told_from_anything_else() {
        assert!(is_json_object(
            br#"{"status": {"pods": 1}, "children": [{"a": null}]}"#
        ));
        assert!(is_json_object(b" {} \n"));
        for bad in [
            &b"[]"[..],
            b"null",
            b"{",
            b"{} {}",
            b"",
            b"\"{}\"",
            b"<html>",
        ] {
            assert!(!is_json_object(bad), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn bad_configs_are_refused_with_the_reason() {
        let config = |change: fn(&mut RunConfig)| {
            let mut config = RunConfig::new("http://127.0.0.1:1/{hook}");
            change(&mut config);
            config.check().map_err(|e| e.to_string())
        };
        assert!(config(|_| {}).is_ok());
        assert!(
            config(|c| c.children = 1001)
                .unwrap_err()
                .contains("at most 1000")
        );
        assert!(
            config(|c| c.concurrency = 0)
                .unwrap_err()
                .contains("connection")
        );
        assert!(
            config(|c| c.mode = Mode::Rate(0.0))
                .unwrap_err()
                .contains("positive")
        );
        assert!(
            config(|c| c.mode = Mode::Rate(f64::NAN))
                .unwrap_err()
                .contains("positive")
        );
        assert!(
            config(|c| c.duration = Duration::ZERO)
                .unwrap_err()
                .contains("duration")
        );
    }
}
