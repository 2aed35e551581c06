//! What a soak writes down while it runs: per interval, per entry of the mix and overall.
//!
//! A request counts in the interval its slot was *due* in (open loop: latency from the due
//! time, so a server that falls behind shows the queueing it causes). Latency percentiles
//! are of good answers (the expected `200`); expected errors are counted by kind, and their
//! latency goes only into their entry's figures (a timeout takes its timeout by design).
//!
//! One recorder for all workers, behind a lock: at a few hundred requests a second the lock
//! costs nothing, and one histogram per interval (58 KiB) instead of one per worker keeps a
//! long run small.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::expect::{Unexpected, UnexpectedKind, Verdict};
use crate::histogram::Histogram;

/// Unexpected outcomes kept with their evidence, the first of each kind for each entry of
/// the mix; the rest are only counted.
pub const EXAMPLES: usize = 20;

/// One interval of the run.
#[derive(Debug, Clone, Default)]
pub struct Interval {
    pub requests: u64,
    pub ok: u64,
    pub expected: BTreeMap<&'static str, u64>,
    pub unexpected: BTreeMap<UnexpectedKind, u64>,
    /// Good answers.
    pub latency: Histogram,
    /// Hook changes that started in it, and the longest wait until one was seen.
    pub changes: u32,
    pub slowest_change: Option<Duration>,
}

/// One entry of the mix over the whole run.
#[derive(Debug, Clone, Default)]
pub struct EntryRecord {
    pub requests: u64,
    pub ok: u64,
    pub expected: u64,
    pub unexpected: u64,
    /// Answers as expected, good or expected errors.
    pub latency: Histogram,
}

/// An unexpected outcome with its evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// Seconds since the start (the request's due time, or the event's).
    pub at_s: f64,
    /// The mix entry, for a request.
    pub entry: Option<String>,
    pub unexpected: Unexpected,
}

/// A hook switched to another version.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub at_s: f64,
    pub hook: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    /// From writing the files until `GET /hooks` showed the new version; `None`: never.
    pub seen_after: Option<Duration>,
}

/// Everything written down; see the module docs.
#[derive(Debug)]
pub struct Recorder {
    start: Instant,
    interval: Duration,
    pub intervals: Vec<Interval>,
    pub entries: Vec<EntryRecord>,
    /// Good answers over the whole run.
    pub latency: Histogram,
    pub expected: BTreeMap<&'static str, u64>,
    pub unexpected: BTreeMap<UnexpectedKind, u64>,
    /// The first [`EXAMPLES`] unexpected outcomes.
    pub examples: Vec<Example>,
    pub changes: Vec<Change>,
}

impl Recorder {
    /// A recorder for a run starting at `start`, cut into `interval`s, over `entries` mix
    /// entries.
    pub fn new(start: Instant, interval: Duration, entries: usize) -> Self {
        Self {
            start,
            interval: interval.max(Duration::from_millis(1)),
            intervals: Vec::new(),
            entries: vec![EntryRecord::default(); entries],
            latency: Histogram::new(),
            expected: BTreeMap::new(),
            unexpected: BTreeMap::new(),
            examples: Vec::new(),
            changes: Vec::new(),
        }
    }

    /// The interval `at` falls in (times before the start go into the first).
    pub fn interval_of(&self, at: Instant) -> usize {
        (at.saturating_duration_since(self.start).as_nanos() / self.interval.as_nanos()) as usize
    }

    /// Makes sure interval `index` exists.
    fn reach(&mut self, index: usize) {
        if self.intervals.len() <= index {
            self.intervals.resize_with(index + 1, Interval::default);
        }
    }

    fn interval_mut(&mut self, at: Instant) -> &mut Interval {
        let index = self.interval_of(at);
        self.reach(index);
        &mut self.intervals[index]
    }

    /// Requests written down for interval `index`.
    pub fn requests_in(&self, index: usize) -> u64 {
        self.intervals.get(index).map_or(0, |i| i.requests)
    }

    /// Writes down a request of mix entry `entry` (named by `name`, called only when the
    /// outcome is kept as an example), due at `due` and over at `done`. Returns the example
    /// when this outcome was kept as one.
    pub fn request(
        &mut self,
        entry: usize,
        name: impl FnOnce() -> String,
        due: Instant,
        done: Instant,
        verdict: Verdict,
    ) -> Option<&Example> {
        let latency =
            u64::try_from(done.saturating_duration_since(due).as_nanos()).unwrap_or(u64::MAX);
        let index = self.interval_of(due);
        self.reach(index);
        let interval = &mut self.intervals[index];
        let record = &mut self.entries[entry];
        interval.requests += 1;
        record.requests += 1;
        match verdict {
            Verdict::Answer => {
                interval.ok += 1;
                interval.latency.record(latency);
                record.ok += 1;
                record.latency.record(latency);
                self.latency.record(latency);
                None
            }
            Verdict::ExpectedError(label) => {
                *interval.expected.entry(label).or_default() += 1;
                record.expected += 1;
                record.latency.record(latency);
                *self.expected.entry(label).or_default() += 1;
                None
            }
            Verdict::Unexpected(unexpected) => {
                *interval.unexpected.entry(unexpected.kind).or_default() += 1;
                record.unexpected += 1;
                self.unexpected_at(due, Some(name()), unexpected)
            }
        }
    }

    /// Writes down an unexpected event that is not a request (a change not seen, the server
    /// gone).
    pub fn event(&mut self, at: Instant, unexpected: Unexpected) -> Option<&Example> {
        *self
            .interval_mut(at)
            .unexpected
            .entry(unexpected.kind)
            .or_default() += 1;
        self.unexpected_at(at, None, unexpected)
    }

    fn unexpected_at(
        &mut self,
        at: Instant,
        entry: Option<String>,
        unexpected: Unexpected,
    ) -> Option<&Example> {
        *self.unexpected.entry(unexpected.kind).or_default() += 1;
        // A broken hook fails every request alike: one example of it says all.
        let seen = self
            .examples
            .iter()
            .any(|e| e.entry == entry && e.unexpected.kind == unexpected.kind);
        if seen || self.examples.len() >= EXAMPLES {
            return None;
        }
        self.examples.push(Example {
            at_s: at.saturating_duration_since(self.start).as_secs_f64(),
            entry,
            unexpected,
        });
        self.examples.last()
    }

    /// Writes down a change that started at `at`.
    pub fn change(&mut self, at: Instant, mut change: Change) {
        change.at_s = at.saturating_duration_since(self.start).as_secs_f64();
        let interval = self.interval_mut(at);
        interval.changes += 1;
        interval.slowest_change = interval.slowest_change.max(change.seen_after);
        self.changes.push(change);
    }

    /// Unexpected outcomes, requests and events.
    pub fn unexpected_total(&self) -> u64 {
        self.unexpected.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_land_in_their_interval_entry_and_totals() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut recorder = Recorder::new(start, Duration::from_secs(10), 2);
        recorder.request(0, String::new, at(100), at(102), Verdict::Answer);
        recorder.request(0, String::new, at(9_999), at(10_005), Verdict::Answer);
        recorder.request(
            1,
            String::new,
            at(10_000),
            at(10_150),
            Verdict::ExpectedError("times out (slow)"),
        );
        let example = recorder
            .request(
                1,
                || "slow sync 0".to_string(),
                at(25_000),
                at(25_001),
                Verdict::Unexpected(Unexpected::new(UnexpectedKind::Status(429), "busy")),
            )
            .expect("kept")
            .clone();
        assert_eq!(example.entry.as_deref(), Some("slow sync 0"));
        assert_eq!(example.at_s, 25.0);

        assert_eq!(recorder.intervals.len(), 3);
        assert_eq!(
            (
                recorder.requests_in(0),
                recorder.requests_in(1),
                recorder.requests_in(2)
            ),
            (2, 1, 1)
        );
        assert_eq!(recorder.requests_in(7), 0);
        assert_eq!(recorder.intervals[0].latency.max(), 6_000_000);
        assert_eq!(
            recorder.intervals[1].latency.count(),
            0,
            "errors are not latency"
        );
        assert_eq!(recorder.intervals[1].expected["times out (slow)"], 1);
        assert_eq!(
            recorder.intervals[2].unexpected[&UnexpectedKind::Status(429)],
            1
        );
        assert_eq!(recorder.latency.count(), 2);
        assert_eq!(
            (recorder.entries[1].requests, recorder.entries[1].expected),
            (2, 1)
        );
        assert_eq!(recorder.entries[1].latency.max(), 150_000_000);
        assert_eq!(recorder.unexpected_total(), 1);
    }

    #[test]
    fn examples_are_one_per_entry_and_kind_and_capped_but_everything_is_counted() {
        let start = Instant::now();
        let mut recorder = Recorder::new(start, Duration::from_secs(1), EXAMPLES + 5);
        let unexpected = |kind| Unexpected::new(kind, "evidence");
        for _ in 0..5 {
            recorder.event(start, unexpected(UnexpectedKind::ChangeNotSeen));
        }
        assert_eq!(recorder.examples.len(), 1, "the same event five times");
        for entry in 0..EXAMPLES + 5 {
            for kind in [UnexpectedKind::Timeout, UnexpectedKind::Timeout] {
                recorder.request(
                    entry,
                    || format!("entry {entry}"),
                    start,
                    start,
                    Verdict::Unexpected(unexpected(kind)),
                );
            }
        }
        assert_eq!(recorder.examples.len(), EXAMPLES);
        assert_eq!(recorder.examples[1].entry.as_deref(), Some("entry 0"));
        assert_eq!(recorder.examples[2].entry.as_deref(), Some("entry 1"));
        assert_eq!(recorder.unexpected_total(), 5 + 2 * (EXAMPLES as u64 + 5));
        assert_eq!(recorder.requests_in(0), 2 * (EXAMPLES as u64 + 5));
    }

    #[test]
    fn changes_mark_their_interval() {
        let start = Instant::now();
        let mut recorder = Recorder::new(start, Duration::from_secs(10), 1);
        let change = |seen_ms: Option<u64>| Change {
            at_s: 0.0,
            hook: "swap",
            from: "a",
            to: "b",
            seen_after: seen_ms.map(Duration::from_millis),
        };
        recorder.change(start + Duration::from_secs(12), change(Some(700)));
        recorder.change(start + Duration::from_secs(15), change(Some(300)));
        assert_eq!(recorder.intervals[1].changes, 2);
        assert_eq!(
            recorder.intervals[1].slowest_change,
            Some(Duration::from_millis(700))
        );
        assert_eq!(recorder.changes[0].at_s, 12.0);
    }
}
