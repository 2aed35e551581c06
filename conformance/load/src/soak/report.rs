//! The result of a soak: [`SoakReport`], serialized as JSON for scripts, shown as a table
//! over time ([`SoakReport::rows`], also printed live while it runs) and a summary.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::SoakConfig;
use super::expect::UnexpectedKind;
use super::flat::Flatness;
use super::plan::Plan;
use super::record::{Interval, Recorder};
use super::usage::Sample;
use crate::report::Percentiles;

/// Everything a soak measured. Times in seconds since the load started (`_s`) or
/// milliseconds (`_ms`), memory in bytes.
#[derive(Debug, Clone, Serialize)]
pub struct SoakReport {
    /// No unexpected outcome, memory flat, the rate sustained, the server alive.
    pub passed: bool,
    /// Why it did not pass, one sentence each.
    pub failures: Vec<String>,
    pub settings: Settings,
    /// Requests due in the run, sent, and due but never sent (every connection busy).
    pub due: u64,
    pub requests: u64,
    pub unsent: u64,
    /// Good answers (the expected `200`).
    pub ok: u64,
    pub expected_errors: BTreeMap<String, u64>,
    /// Unexpected outcomes by kind (requests, changes not seen, the server exiting).
    pub unexpected: BTreeMap<String, u64>,
    pub unexpected_total: u64,
    /// The first unexpected outcomes, with their evidence.
    pub unexpected_examples: Vec<ExampleReport>,
    /// Good answers over the whole run, from their due time.
    pub latency_ms: Percentiles,
    /// The interval with the highest p99 of good answers.
    pub worst_interval: Option<WorstInterval>,
    pub mix: Vec<EntryReport>,
    pub intervals: Vec<IntervalReport>,
    pub changes: Vec<ChangeReport>,
    pub memory: MemoryReport,
    pub server: ServerReport,
}

/// What ran.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub hookserver: String,
    pub rate: f64,
    pub duration_s: f64,
    pub warmup_s: f64,
    pub interval_s: f64,
    pub change_every_s: f64,
    pub concurrency: usize,
    pub timeout_s: f64,
    /// The server's `--response-cache-idle` (see [`super::SoakConfig::response_cache_idle`]).
    pub response_cache_idle_s: f64,
}

/// One entry of the mix.
#[derive(Debug, Clone, Serialize)]
pub struct EntryReport {
    pub name: String,
    /// Share of the traffic, out of 100.
    pub weight: u32,
    pub request_bytes: u64,
    pub requests: u64,
    pub ok: u64,
    pub expected_errors: u64,
    pub unexpected: u64,
    /// Answers as expected (good ones and expected errors).
    pub latency_ms: Percentiles,
}

/// One interval of the run.
#[derive(Debug, Clone, Serialize)]
pub struct IntervalReport {
    pub start_s: f64,
    pub end_s: f64,
    /// It starts in the warm-up (left out of the memory verdict).
    pub warmup: bool,
    pub requests: u64,
    /// Requests due per second.
    pub throughput: f64,
    pub ok: u64,
    pub expected_errors: BTreeMap<String, u64>,
    pub unexpected: BTreeMap<String, u64>,
    /// Good answers due in the interval.
    pub latency_ms: Percentiles,
    /// Medians of the samples taken in the interval.
    pub rss_bytes: Option<u64>,
    pub pss_bytes: Option<u64>,
    /// The server's CPU use over the interval, in % of one core.
    pub cpu_percent: Option<f64>,
    pub changes: u32,
    pub slowest_change_ms: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorstInterval {
    pub start_s: f64,
    pub p99_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExampleReport {
    pub at_s: f64,
    pub entry: Option<String>,
    pub kind: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangeReport {
    pub at_s: f64,
    pub hook: String,
    pub from: String,
    pub to: String,
    /// From writing the files until `GET /hooks` showed the new version; `null`: never.
    pub seen_after_ms: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemoryReport {
    /// The first sample, taken when the server was ready and before the load.
    pub start_rss_bytes: Option<u64>,
    pub max_rss_bytes: Option<u64>,
    pub start_pss_bytes: Option<u64>,
    pub end_pss_bytes: Option<u64>,
    /// The server's CPU use over the whole load, in % of one core.
    pub cpu_percent: Option<f64>,
    /// The verdict (see [`super::flat`]); `null` when it could not be made.
    pub flatness: Option<Flatness>,
    /// Why no verdict could be made.
    pub flatness_error: Option<String>,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerReport {
    pub pid: u32,
    /// How it ended by itself during the run; `null`: it ran until stopped.
    pub exited: Option<String>,
    /// Its log; kept when the soak fails.
    pub log: String,
}

/// What the run hands over to make a report.
#[derive(Debug)]
pub struct Measured<'a> {
    pub config: &'a SoakConfig,
    pub plan: &'a Plan,
    pub recorder: &'a Recorder,
    pub due: u64,
    /// Intervals in the run.
    pub intervals: usize,
    pub samples: Vec<Sample>,
    pub flatness: Result<Flatness, String>,
    pub server: ServerReport,
}

impl SoakReport {
    pub fn new(measured: Measured<'_>) -> Self {
        let Measured {
            config,
            plan,
            recorder,
            due,
            intervals,
            samples,
            flatness,
            server,
        } = measured;
        let requests: u64 = recorder.entries.iter().map(|e| e.requests).sum();
        let interval_s = config.interval.as_secs_f64();
        let intervals: Vec<IntervalReport> = (0..intervals)
            .map(|index| {
                let empty = Interval::default();
                let interval = recorder.intervals.get(index).unwrap_or(&empty);
                interval_report(
                    index,
                    interval,
                    interval_s,
                    config.warmup.as_secs_f64(),
                    &samples,
                )
            })
            .collect();
        let worst_interval = intervals
            .iter()
            .filter(|i| i.ok > 0)
            .max_by(|a, b| a.latency_ms.p99.total_cmp(&b.latency_ms.p99))
            .map(|i| WorstInterval {
                start_s: i.start_s,
                p99_ms: i.latency_ms.p99,
            });
        let mix = plan
            .entries
            .iter()
            .zip(&recorder.entries)
            .map(|(entry, record)| EntryReport {
                name: entry.name(&plan.hooks),
                weight: entry.weight,
                request_bytes: entry.template.body(0).len(),
                requests: record.requests,
                ok: record.ok,
                expected_errors: record.expected,
                unexpected: record.unexpected,
                latency_ms: Percentiles::of(&record.latency),
            })
            .collect();
        let (flatness, flatness_error) = match flatness {
            Ok(flatness) => (Some(flatness), None),
            Err(why) => (None, Some(why)),
        };
        let mut report = Self {
            passed: false,
            failures: Vec::new(),
            settings: Settings {
                hookserver: config.hookserver.display().to_string(),
                rate: config.rate,
                duration_s: config.duration.as_secs_f64(),
                warmup_s: config.warmup.as_secs_f64(),
                interval_s,
                change_every_s: config.change_every.as_secs_f64(),
                concurrency: config.concurrency,
                timeout_s: config.timeout.as_secs_f64(),
                response_cache_idle_s: config.response_cache_idle().as_secs_f64(),
            },
            due,
            requests,
            unsent: due.saturating_sub(requests),
            ok: recorder.entries.iter().map(|e| e.ok).sum(),
            expected_errors: by_label(&recorder.expected),
            unexpected: by_kind(&recorder.unexpected),
            unexpected_total: recorder.unexpected_total(),
            unexpected_examples: recorder
                .examples
                .iter()
                .map(|e| ExampleReport {
                    at_s: e.at_s,
                    entry: e.entry.clone(),
                    kind: e.unexpected.kind.to_string(),
                    detail: e.unexpected.detail.clone(),
                })
                .collect(),
            latency_ms: Percentiles::of(&recorder.latency),
            worst_interval,
            mix,
            intervals,
            changes: recorder
                .changes
                .iter()
                .map(|c| ChangeReport {
                    at_s: c.at_s,
                    hook: c.hook.to_string(),
                    from: c.from.to_string(),
                    to: c.to.to_string(),
                    seen_after_ms: c.seen_after.map(|d| d.as_secs_f64() * 1e3),
                })
                .collect(),
            memory: MemoryReport {
                start_rss_bytes: samples.first().map(|s| s.rss_bytes),
                max_rss_bytes: samples.iter().map(|s| s.rss_bytes).max(),
                start_pss_bytes: samples.first().and_then(|s| s.pss_bytes),
                end_pss_bytes: samples.last().and_then(|s| s.pss_bytes),
                cpu_percent: cpu_percent(&samples.iter().collect::<Vec<_>>()),
                flatness,
                flatness_error,
                samples,
            },
            server,
        };
        report.failures = report.judge();
        report.passed = report.failures.is_empty();
        report
    }

    /// Why the run fails; empty when it passes.
    fn judge(&self) -> Vec<String> {
        let mut failures = Vec::new();
        if self.unexpected_total > 0 {
            failures.push(format!(
                "{} unexpected outcome{} ({}); the first of each kind are listed as \
                 \"unexpected\"",
                self.unexpected_total,
                plural(self.unexpected_total),
                list(&self.unexpected)
            ));
        }
        if let Some(exit) = &self.server.exited {
            failures.push(format!(
                "the server exited during the run ({exit}); see its log {}",
                self.server.log
            ));
        }
        match (&self.memory.flatness, &self.memory.flatness_error) {
            (Some(flat), _) if !flat.flat => failures.push(format!(
                "RSS grew by {} from {} (median of {:.0}-{:.0} s) to {} (median of {:.0}-{:.0} \
                 s), more than the {} allowed: a leak, or a cache still filling after the \
                 warm-up (try a longer --warmup to tell)",
                mib(flat.growth_bytes.unsigned_abs()),
                mib(flat.baseline_bytes),
                flat.baseline_s[0],
                flat.baseline_s[1],
                mib(flat.end_bytes),
                flat.end_s[0],
                flat.end_s[1],
                mib(flat.allowed_bytes),
            )),
            (None, Some(why)) => failures.push(why.clone()),
            _ => {}
        }
        if !rate_sustained(self.due, self.unsent) {
            failures.push(format!(
                "{} of {} requests due were never sent (every one of the {} connections was \
                 busy): the machine does not sustain {} req/s; lower --rate",
                self.unsent, self.due, self.settings.concurrency, self.settings.rate
            ));
        }
        failures
    }

    /// The header of [`SoakReport::rows`].
    pub fn header() -> String {
        format!(
            "{:>11} {:>7} {:>7} {:>8} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>6}  changes\n",
            "interval",
            "req/s",
            "ok",
            "expected",
            "unexpected",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "RSS MiB",
            "PSS MiB",
            "CPU %"
        )
    }

    /// The table over time, one line per interval, without the header.
    pub fn rows(&self) -> String {
        self.intervals.iter().map(row).collect()
    }

    /// The summary for people.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let mut line = |label: &str, text: String| {
            let _ = writeln!(out, "{label:<12}{text}");
        };
        let s = &self.settings;
        line(
            "load",
            format!(
                "{} req/s open loop, at most {} in flight, {:.0} s ({:.0} s warm-up); a hook \
                 change every {:.0} s",
                s.rate, s.concurrency, s.duration_s, s.warmup_s, s.change_every_s
            ),
        );
        line(
            "requests",
            format!(
                "{} due, {} sent, {} never sent",
                self.due, self.requests, self.unsent
            ),
        );
        line(
            "outcomes",
            format!(
                "{} good answers; expected errors: {}; unexpected: {}",
                self.ok,
                list(&self.expected_errors),
                if self.unexpected_total == 0 {
                    "none".to_string()
                } else {
                    format!("{} ({})", self.unexpected_total, list(&self.unexpected))
                }
            ),
        );
        let p = &self.latency_ms;
        line(
            "latency",
            format!(
                "p50 {:.3} | p90 {:.3} | p99 {:.3} | p99.9 {:.3} | max {:.3} ms (good answers, \
                 from due time)",
                p.p50, p.p90, p.p99, p.p999, p.max
            ),
        );
        if let Some(worst) = &self.worst_interval {
            line(
                "worst p99",
                format!(
                    "{:.3} ms, in the interval from {:.0} s",
                    worst.p99_ms, worst.start_s
                ),
            );
        }
        let seen: Vec<f64> = self
            .changes
            .iter()
            .filter_map(|c| c.seen_after_ms)
            .collect();
        line(
            "changes",
            format!(
                "{} ({}), {} not seen; seen in GET /hooks after {} ms at most",
                self.changes.len(),
                list(&count_by(self.changes.iter().map(|c| c.hook.as_str()))),
                self.changes.len() - seen.len(),
                seen.iter().copied().fold(0.0, f64::max).round()
            ),
        );
        let m = &self.memory;
        let opt = |bytes: Option<u64>| bytes.map_or("-".to_string(), mib);
        line(
            "RSS",
            format!(
                "{} at start, max {}{}",
                opt(m.start_rss_bytes),
                opt(m.max_rss_bytes),
                match &m.flatness {
                    Some(f) => format!(
                        "; after warm-up {} (median {:.0}-{:.0} s), end {} (median {:.0}-{:.0} \
                         s): {}{} of {} allowed, {}",
                        mib(f.baseline_bytes),
                        f.baseline_s[0],
                        f.baseline_s[1],
                        mib(f.end_bytes),
                        f.end_s[0],
                        f.end_s[1],
                        if f.growth_bytes < 0 { "-" } else { "+" },
                        mib(f.growth_bytes.unsigned_abs()),
                        mib(f.allowed_bytes),
                        if f.flat { "flat" } else { "NOT FLAT" }
                    ),
                    None => String::new(),
                }
            ),
        );
        line(
            "PSS",
            format!(
                "{} at start, {} at the end",
                opt(m.start_pss_bytes),
                opt(m.end_pss_bytes)
            ),
        );
        line(
            "server CPU",
            m.cpu_percent.map_or("unknown".to_string(), |cpu| {
                format!("{cpu:.0}% of one core")
            }),
        );
        line(
            "mix",
            format!(
                "{:<34} {:>6} {:>7} {:>7} {:>6} {:>9} {:>9} {:>9}",
                "entry (hook kind Pods)",
                "weight",
                "sent",
                "good",
                "errors",
                "p50 ms",
                "p99 ms",
                "max ms"
            ),
        );
        for entry in &self.mix {
            line(
                "",
                format!(
                    "{:<34} {:>6} {:>7} {:>7} {:>6} {:>9.3} {:>9.3} {:>9.3}",
                    entry.name,
                    entry.weight,
                    entry.requests,
                    entry.ok,
                    entry.expected_errors + entry.unexpected,
                    entry.latency_ms.p50,
                    entry.latency_ms.p99,
                    entry.latency_ms.max
                ),
            );
        }
        for example in &self.unexpected_examples {
            line(
                "unexpected",
                format!(
                    "at {:.1} s{}: {}: {}",
                    example.at_s,
                    example
                        .entry
                        .as_deref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default(),
                    example.kind,
                    example.detail
                ),
            );
        }
        line(
            "result",
            if self.passed {
                "passed".to_string()
            } else {
                format!("FAILED: {}", self.failures.join("; "))
            },
        );
        out
    }
}

/// Interval `index` of the table, with the medians of the memory `samples` taken in it.
pub fn interval_report(
    index: usize,
    interval: &Interval,
    interval_s: f64,
    warmup_s: f64,
    samples: &[Sample],
) -> IntervalReport {
    let start_s = index as f64 * interval_s;
    let end_s = start_s + interval_s;
    let within: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at_s >= start_s && s.at_s < end_s)
        .collect();
    let median = |values: Vec<u64>| -> Option<u64> {
        let mut values = values;
        values.sort_unstable();
        values.get(values.len().checked_sub(1)? / 2).copied()
    };
    IntervalReport {
        start_s,
        end_s,
        warmup: start_s < warmup_s,
        requests: interval.requests,
        throughput: interval.requests as f64 / interval_s,
        ok: interval.ok,
        expected_errors: by_label(&interval.expected),
        unexpected: by_kind(&interval.unexpected),
        latency_ms: Percentiles::of(&interval.latency),
        rss_bytes: median(within.iter().map(|s| s.rss_bytes).collect()),
        pss_bytes: median(within.iter().filter_map(|s| s.pss_bytes).collect()),
        cpu_percent: cpu_percent(&within),
        changes: interval.changes,
        slowest_change_ms: interval.slowest_change.map(|d| d.as_secs_f64() * 1e3),
    }
}

/// One line of the table over time.
pub fn row(interval: &IntervalReport) -> String {
    let p = &interval.latency_ms;
    let mib = |bytes: Option<u64>| {
        bytes.map_or("-".to_string(), |b| format!("{:.1}", b as f64 / 1048576.0))
    };
    format!(
        "{:>9} s {:>7.1} {:>7} {:>8} {:>10} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>8} {:>8} {:>6}  {}\n",
        format!("{:.0}-{:.0}", interval.start_s, interval.end_s),
        interval.throughput,
        interval.ok,
        interval.expected_errors.values().sum::<u64>(),
        interval.unexpected.values().sum::<u64>(),
        p.p50,
        p.p90,
        p.p99,
        p.max,
        mib(interval.rss_bytes),
        mib(interval.pss_bytes),
        interval
            .cpu_percent
            .map_or("-".to_string(), |cpu| format!("{cpu:.0}")),
        [
            match interval.slowest_change_ms {
                Some(ms) => format!("{} (seen in {ms:.0} ms)", interval.changes),
                None if interval.changes > 0 => format!("{} (NOT SEEN)", interval.changes),
                None => String::new(),
            },
            if interval.warmup {
                "warm-up".to_string()
            } else {
                String::new()
            },
        ]
        .iter()
        .filter(|text| !text.is_empty())
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
    )
}

/// Whether the load ran as asked: a few due slots may be left over at the very end (0.5%),
/// more means the load generator or the server fell behind, and the soak did not run the
/// traffic it claims.
fn rate_sustained(due: u64, unsent: u64) -> bool {
    unsent * 200 <= due
}

/// CPU use between the first and the last of `samples`, in % of one core.
fn cpu_percent(samples: &[&Sample]) -> Option<f64> {
    let (first, last) = (samples.first()?, samples.last()?);
    let seconds = last.at_s - first.at_s;
    (seconds > 0.0).then_some(100.0 * (last.cpu_s? - first.cpu_s?) / seconds)
}

fn by_label(counts: &BTreeMap<&'static str, u64>) -> BTreeMap<String, u64> {
    counts.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn by_kind(counts: &BTreeMap<UnexpectedKind, u64>) -> BTreeMap<String, u64> {
    counts.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn count_by<'a>(names: impl Iterator<Item = &'a str>) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for name in names {
        *counts.entry(name.to_string()).or_default() += 1;
    }
    counts
}

/// `a 3, b 1`, or `none`.
fn list(counts: &BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return "none".to_string();
    }
    counts
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1048576.0)
}

fn plural(count: u64) -> &'static str {
    if count == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_is_sustained_when_at_most_half_a_percent_is_left_unsent() {
        assert!(rate_sustained(60_000, 0));
        assert!(rate_sustained(60_000, 300));
        assert!(!rate_sustained(60_000, 301));
        assert!(rate_sustained(0, 0));
    }

    #[test]
    fn cpu_is_the_slope_of_cpu_time() {
        let sample = |at_s, cpu_s| Sample {
            at_s,
            rss_bytes: 1,
            pss_bytes: None,
            cpu_s,
        };
        let (a, b, c) = (
            sample(0.0, Some(1.0)),
            sample(5.0, Some(2.0)),
            sample(10.0, Some(4.0)),
        );
        assert_eq!(cpu_percent(&[&a, &b, &c]), Some(30.0));
        assert_eq!(cpu_percent(&[&a]), None, "one sample has no slope");
        assert_eq!(cpu_percent(&[&a, &sample(1.0, None)]), None);
    }

    #[test]
    fn a_row_shows_medians_and_changes() {
        let mut interval = Interval {
            requests: 1000,
            ok: 990,
            changes: 1,
            slowest_change: Some(std::time::Duration::from_millis(60)),
            ..Interval::default()
        };
        interval.expected.insert("exits (fail)", 10);
        interval.latency.record(2_000_000);
        let samples: Vec<Sample> = [(9.0, 50), (10.0, 70), (11.0, 60), (12.0, 65), (20.0, 999)]
            .into_iter()
            .map(|(at_s, mib)| Sample {
                at_s,
                rss_bytes: mib << 20,
                pss_bytes: None,
                cpu_s: Some(at_s / 2.0),
            })
            .collect();
        let report = interval_report(1, &interval, 10.0, 12.0, &samples);
        assert_eq!(report.rss_bytes, Some(65 << 20), "median of 10-20 s");
        assert_eq!(report.cpu_percent, Some(50.0));
        let line = row(&report);
        assert!(
            line.trim_start().starts_with("10-20 s   100.0     990"),
            "{line}"
        );
        assert!(
            line.ends_with("    65.0        -     50  1 (seen in 60 ms), warm-up\n"),
            "{line}"
        );
        // One sample: its RSS, but no CPU slope; and no warm-up mark.
        let after = row(&interval_report(
            2,
            &Interval::default(),
            10.0,
            12.0,
            &samples,
        ));
        assert!(after.ends_with("   999.0        -      -  \n"), "{after}");
    }
}
