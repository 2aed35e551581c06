//! What each worker writes down while the run goes: one [`Recorder`] per worker, owned
//! (nothing shared, no locks), merged when the run ends.
//!
//! A request counts in the measurement when it was *due* in the measured window (after the
//! warm-up); earlier ones are only counted as warm-up. Latency is recorded for good answers
//! (200, and a JSON object when asked): failures are counted by kind instead, so a backend
//! that fails fast cannot look fast.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::histogram::Histogram;

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// An answer with this status other than 200.
    Status(u16),
    /// No connection could be opened.
    Connect,
    /// The connection broke before the whole answer was in.
    Connection,
    /// No whole answer within the timeout.
    Timeout,
    /// A 200 whose body is not a JSON object (only checked with `expect_json`).
    InvalidBody,
}

/// Failures by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ErrorCounts {
    /// Answers other than 200, by status code.
    pub status: BTreeMap<u16, u64>,
    pub connect: u64,
    pub connection: u64,
    pub timeout: u64,
    pub invalid_body: u64,
}

impl ErrorCounts {
    /// All failures.
    pub fn total(&self) -> u64 {
        self.status.values().sum::<u64>()
            + self.connect
            + self.connection
            + self.timeout
            + self.invalid_body
    }

    fn count(&mut self, failure: Failure) {
        match failure {
            Failure::Status(code) => *self.status.entry(code).or_default() += 1,
            Failure::Connect => self.connect += 1,
            Failure::Connection => self.connection += 1,
            Failure::Timeout => self.timeout += 1,
            Failure::InvalidBody => self.invalid_body += 1,
        }
    }

    fn merge(&mut self, other: &ErrorCounts) {
        for (code, count) in &other.status {
            *self.status.entry(*code).or_default() += count;
        }
        self.connect += other.connect;
        self.connection += other.connection;
        self.timeout += other.timeout;
        self.invalid_body += other.invalid_body;
    }
}

/// One slice of the timeline: requests due in it, and the latency of their good answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Slice {
    pub requests: u64,
    pub errors: u64,
    pub ok: u64,
    pub latency_sum_ns: u64,
    pub latency_max_ns: u64,
}

impl Slice {
    fn merge(&mut self, other: &Slice) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.ok += other.ok;
        self.latency_sum_ns += other.latency_sum_ns;
        self.latency_max_ns = self.latency_max_ns.max(other.latency_max_ns);
    }
}

/// The times of one request.
#[derive(Debug, Clone, Copy)]
pub struct Times {
    /// When it was due (open loop) or started (closed loop).
    pub due: Instant,
    /// When the worker started sending it (connecting first if needed).
    pub sent: Instant,
    /// When the whole answer was in, or the failure known.
    pub done: Instant,
}

/// One worker's record of the run; see the module docs.
#[derive(Debug, Clone)]
pub struct Recorder {
    window: Instant,
    slice: Duration,
    /// From due (or start) to the whole answer, good answers only.
    pub latency: Histogram,
    /// From the start of sending to the whole answer, good answers only.
    pub service: Histogram,
    pub ok: u64,
    pub errors: ErrorCounts,
    /// Requests due before the window (the warm-up), not in any other figure.
    pub warmup: u64,
    /// Bytes of request and response bodies in the window.
    pub request_bytes: u64,
    pub response_bytes: u64,
    /// When the last measured request finished.
    pub last_done: Option<Instant>,
    /// Connections opened (the first ones included).
    pub connections: u64,
    pub timeline: Vec<Slice>,
}

impl Recorder {
    /// A recorder for a window starting at `window`, with timeline slices of `slice`.
    pub fn new(window: Instant, slice: Duration) -> Self {
        Self {
            window,
            slice: slice.max(Duration::from_millis(1)),
            latency: Histogram::new(),
            service: Histogram::new(),
            ok: 0,
            errors: ErrorCounts::default(),
            warmup: 0,
            request_bytes: 0,
            response_bytes: 0,
            last_done: None,
            connections: 0,
            timeline: Vec::new(),
        }
    }

    /// Requests measured (good or failed).
    pub fn requests(&self) -> u64 {
        self.ok + self.errors.total()
    }

    /// Writes down one request of `request_bytes` and its outcome (the answer's size).
    pub fn record(&mut self, times: Times, request_bytes: u64, outcome: Result<u64, Failure>) {
        let Some(since_window) = times.due.checked_duration_since(self.window) else {
            self.warmup += 1;
            return;
        };
        let at = (since_window.as_nanos() / self.slice.as_nanos()) as usize;
        if self.timeline.len() <= at {
            self.timeline.resize(at + 1, Slice::default());
        }
        let slice = &mut self.timeline[at];
        slice.requests += 1;
        self.request_bytes += request_bytes;
        self.last_done = self.last_done.max(Some(times.done));
        match outcome {
            Ok(response_bytes) => {
                let latency = nanos(times.done - times.due);
                self.latency.record(latency);
                self.service
                    .record(nanos(times.done.saturating_duration_since(times.sent)));
                self.ok += 1;
                self.response_bytes += response_bytes;
                slice.ok += 1;
                slice.latency_sum_ns += latency;
                slice.latency_max_ns = slice.latency_max_ns.max(latency);
            }
            Err(failure) => {
                self.errors.count(failure);
                slice.errors += 1;
            }
        }
    }

    /// Adds everything `other` wrote down (same window and slices).
    pub fn merge(&mut self, other: &Recorder) {
        self.latency.merge(&other.latency);
        self.service.merge(&other.service);
        self.ok += other.ok;
        self.errors.merge(&other.errors);
        self.warmup += other.warmup;
        self.request_bytes += other.request_bytes;
        self.response_bytes += other.response_bytes;
        self.last_done = self.last_done.max(other.last_done);
        self.connections += other.connections;
        if self.timeline.len() < other.timeline.len() {
            self.timeline.resize(other.timeline.len(), Slice::default());
        }
        for (mine, theirs) in self.timeline.iter_mut().zip(&other.timeline) {
            mine.merge(theirs);
        }
    }

    /// The start of the measured window.
    pub fn window(&self) -> Instant {
        self.window
    }

    /// The timeline's slice length.
    pub fn slice(&self) -> Duration {
        self.slice
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_is_kept_apart_and_failures_are_counted_by_kind() {
        let start = Instant::now();
        let window = start + Duration::from_secs(1);
        let mut a = Recorder::new(window, Duration::from_secs(1));
        let at = |ms: u64| start + Duration::from_millis(ms);
        let times = |due, done| Times {
            due: at(due),
            sent: at(due),
            done: at(done),
        };
        a.record(times(500, 600), 10, Ok(5));
        a.record(times(1000, 1002), 10, Ok(5));
        a.record(times(1100, 1200), 10, Err(Failure::Status(500)));
        let mut b = Recorder::new(window, Duration::from_secs(1));
        b.record(times(2500, 2510), 10, Ok(7));
        b.record(times(2600, 2700), 10, Err(Failure::Timeout));
        b.record(times(2600, 2601), 10, Err(Failure::Status(500)));
        a.merge(&b);
        assert_eq!((a.warmup, a.ok, a.requests()), (1, 2, 5));
        assert_eq!(a.errors.status, BTreeMap::from([(500, 2)]));
        assert_eq!(a.errors.timeout, 1);
        assert_eq!(a.errors.total(), 3);
        assert_eq!((a.request_bytes, a.response_bytes), (50, 12));
        assert_eq!(a.latency.max(), 10_000_000);
        assert_eq!(a.last_done, Some(at(2700)));
        assert_eq!(a.timeline.len(), 2);
        assert_eq!((a.timeline[0].requests, a.timeline[0].errors), (2, 1));
        assert_eq!((a.timeline[1].requests, a.timeline[1].ok), (3, 1));
    }
}
