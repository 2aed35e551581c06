//! The result of a run: [`Report`], serialized as one JSON object for scripts, or shown as a
//! short table for people.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::histogram::Histogram;
use crate::run::RunConfig;
use crate::schedule::Mode;
use crate::stats::{ErrorCounts, Recorder};

/// What the run knows besides the workers' records.
#[derive(Debug, Clone)]
pub(crate) struct Facts {
    pub url: String,
    pub probe_status: u16,
    /// One request body's size, for when nothing was measured.
    pub request_bytes: u64,
    /// Open loop: slots due in the window.
    pub due: Option<u64>,
    /// From the start of the warm-up to the last answer.
    pub wall: Duration,
    /// CPU time of this process over the same span.
    pub cpu: Option<Duration>,
}

/// Everything measured in a run. Times are in milliseconds (`_ms`) or seconds (`_s`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The URL requested (`{hook}` filled in).
    pub url: String,
    pub hook: String,
    /// Observed Pods in each request.
    pub children: usize,
    /// Whether every request was the same body (`--identical`) rather than a distinct one.
    pub identical: bool,
    /// Mean size of a request body.
    pub request_bytes: u64,
    /// Mean size of a good answer's body.
    pub response_bytes: u64,
    /// `closed` (flat out) or `rate` (open loop).
    pub mode: &'static str,
    pub concurrency: usize,
    pub threads: usize,
    pub warmup_s: f64,
    pub duration_s: f64,
    /// From the window's start to the last measured answer (at least `duration_s`).
    pub elapsed_s: f64,
    /// Requests due in the window and sent: `ok` + `errors.total`.
    pub requests: u64,
    pub ok: u64,
    /// Requests due in the warm-up, left out of every other figure.
    pub warmup_requests: u64,
    /// `requests / elapsed_s`.
    pub throughput: f64,
    /// `ok / elapsed_s`.
    pub ok_throughput: f64,
    /// Open loop only.
    pub rate: Option<RateReport>,
    /// Good answers, from when each request was due (open loop) or started (closed loop).
    pub latency_ms: Percentiles,
    /// Good answers, from when each request was actually sent; differs from `latency_ms`
    /// by the time requests waited for a free connection (open loop).
    pub service_ms: Percentiles,
    pub errors: Errors,
    /// Connections opened, the first `concurrency` included.
    pub connections: u64,
    /// Status of the probe request sent before the run.
    pub probe_status: u16,
    /// CPU used by this process (the load generator) over the run, where the platform tells.
    pub client_cpu: Option<Cpu>,
    /// The window cut into slices of `slice_s`.
    pub slice_s: f64,
    pub timeline: Vec<Slice>,
}

/// Requested against achieved arrival rate.
#[derive(Debug, Clone, Serialize)]
pub struct RateReport {
    /// Requests per second asked for.
    pub requested: f64,
    /// Requests per second sent on time for the window (`requests / duration_s`).
    pub achieved: f64,
    /// Requests due in the window.
    pub due: u64,
    /// Due in the window but still waiting for a free connection when it ended.
    pub unsent: u64,
}

/// Latency percentiles in milliseconds (from a histogram accurate to 0.8%; max, min and
/// mean are exact).
#[derive(Debug, Clone, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub min: f64,
    pub mean: f64,
}

impl Percentiles {
    /// The percentiles of `histogram` (nanoseconds) in milliseconds.
    pub fn of(histogram: &Histogram) -> Self {
        let ms = |nanos: u64| nanos as f64 / 1e6;
        Self {
            p50: ms(histogram.quantile(0.5)),
            p90: ms(histogram.quantile(0.9)),
            p99: ms(histogram.quantile(0.99)),
            p999: ms(histogram.quantile(0.999)),
            max: ms(histogram.max()),
            min: ms(histogram.min()),
            mean: histogram.mean() / 1e6,
        }
    }
}

/// Failed requests, by kind.
#[derive(Debug, Clone, Serialize)]
pub struct Errors {
    pub total: u64,
    #[serde(flatten)]
    pub by_kind: ErrorCounts,
}

/// The load generator's own CPU use.
#[derive(Debug, Clone, Serialize)]
pub struct Cpu {
    pub seconds: f64,
    /// Of one core, over the run (warm-up included).
    pub percent_of_one_core: f64,
}

/// One slice of the timeline (requests by due time).
#[derive(Debug, Clone, Serialize)]
pub struct Slice {
    pub start_s: f64,
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    /// Latency of good answers.
    pub mean_ms: f64,
    pub max_ms: f64,
}

impl Report {
    pub(crate) fn new(config: &RunConfig, facts: &Facts, total: &Recorder) -> Self {
        let requests = total.requests();
        let elapsed = total
            .last_done
            .map(|done| done.saturating_duration_since(total.window()))
            .unwrap_or_default()
            .max(config.duration);
        let per_second = |count: u64| count as f64 / elapsed.as_secs_f64();
        let mean = |bytes: u64, count: u64| bytes.checked_div(count);
        let slice = total.slice();
        Self {
            url: facts.url.clone(),
            hook: config.hook.to_string(),
            children: config.children,
            identical: config.identical,
            request_bytes: mean(total.request_bytes, requests).unwrap_or(facts.request_bytes),
            response_bytes: mean(total.response_bytes, total.ok).unwrap_or(0),
            mode: match config.mode {
                Mode::Closed => "closed",
                Mode::Rate(_) => "rate",
            },
            concurrency: config.concurrency,
            threads: config.threads,
            warmup_s: config.warmup.as_secs_f64(),
            duration_s: config.duration.as_secs_f64(),
            elapsed_s: elapsed.as_secs_f64(),
            requests,
            ok: total.ok,
            warmup_requests: total.warmup,
            throughput: per_second(requests),
            ok_throughput: per_second(total.ok),
            rate: match (config.mode, facts.due) {
                (Mode::Rate(requested), Some(due)) => Some(RateReport {
                    requested,
                    achieved: requests as f64 / config.duration.as_secs_f64(),
                    due,
                    unsent: due.saturating_sub(requests),
                }),
                _ => None,
            },
            latency_ms: Percentiles::of(&total.latency),
            service_ms: Percentiles::of(&total.service),
            errors: Errors {
                total: total.errors.total(),
                by_kind: total.errors.clone(),
            },
            connections: total.connections,
            probe_status: facts.probe_status,
            client_cpu: facts.cpu.map(|cpu| Cpu {
                seconds: cpu.as_secs_f64(),
                percent_of_one_core: 100.0 * cpu.as_secs_f64() / facts.wall.as_secs_f64().max(1e-9),
            }),
            slice_s: slice.as_secs_f64(),
            timeline: total
                .timeline
                .iter()
                .enumerate()
                .map(|(at, s)| Slice {
                    start_s: (slice * at as u32).as_secs_f64(),
                    requests: s.requests,
                    ok: s.ok,
                    errors: s.errors,
                    mean_ms: if s.ok == 0 {
                        0.0
                    } else {
                        s.latency_sum_ns as f64 / s.ok as f64 / 1e6
                    },
                    max_ms: s.latency_max_ns as f64 / 1e6,
                })
                .collect(),
        }
    }

    /// The report as a table for people; `timeline` adds one line per slice.
    pub fn table(&self, timeline: bool) -> String {
        let mut out = String::new();
        let mut line = |label: &str, text: String| {
            let _ = writeln!(out, "{label:<11} {text}");
        };
        line("target", format!("POST {}", self.url));
        line(
            "request",
            format!(
                "{}, {} observed Pod{}, {} body, {}",
                self.hook,
                self.children,
                if self.children == 1 { "" } else { "s" },
                bytes(self.request_bytes),
                if self.identical {
                    "the same one every time"
                } else {
                    "every one distinct"
                },
            ),
        );
        line(
            "load",
            format!(
                "{}, {} connection{}, {} client thread{}",
                match &self.rate {
                    Some(rate) => format!("open loop at {} req/s", number(rate.requested)),
                    None => "closed loop (flat out)".to_string(),
                },
                self.concurrency,
                if self.concurrency == 1 { "" } else { "s" },
                self.threads,
                if self.threads == 1 { "" } else { "s" },
            ),
        );
        line(
            "window",
            format!(
                "{:.2} s measured (last answer at {:.2} s) after {:.2} s warm-up ({} requests left out)",
                self.duration_s, self.elapsed_s, self.warmup_s, self.warmup_requests
            ),
        );
        line(
            "requests",
            format!(
                "{} ({} ok, {} failed)",
                self.requests, self.ok, self.errors.total
            ),
        );
        line(
            "throughput",
            format!(
                "{} req/s ({} ok/s)",
                number(self.throughput),
                number(self.ok_throughput)
            ),
        );
        if let Some(rate) = &self.rate {
            line(
                "rate",
                format!(
                    "asked {} req/s, sent {} req/s: {} of {} due{}",
                    number(rate.requested),
                    number(rate.achieved),
                    self.requests,
                    rate.due,
                    if rate.unsent == 0 {
                        String::new()
                    } else {
                        format!(
                            " ({} still waiting for a connection at the end)",
                            rate.unsent
                        )
                    }
                ),
            );
        }
        let since = if self.rate.is_some() {
            "due time"
        } else {
            "send"
        };
        line(
            "latency",
            format!("{}  (from {since})", percentiles(&self.latency_ms)),
        );
        if self.rate.is_some() {
            line(
                "service",
                format!("{}  (from send)", percentiles(&self.service_ms)),
            );
        }
        line("errors", errors(&self.errors));
        line(
            "client",
            format!(
                "{}, {} connections opened, answers {} on average",
                match &self.client_cpu {
                    Some(cpu) => format!(
                        "{:.2} s CPU ({:.0}% of one core)",
                        cpu.seconds, cpu.percent_of_one_core
                    ),
                    None => "CPU unknown".to_string(),
                },
                self.connections,
                bytes(self.response_bytes),
            ),
        );
        if timeline {
            line(
                "timeline",
                "start     requests  failed   mean ms    max ms".to_string(),
            );
            for slice in &self.timeline {
                line(
                    "",
                    format!(
                        "{:>6.2} s {:>9} {:>7} {:>9.3} {:>9.3}",
                        slice.start_s, slice.requests, slice.errors, slice.mean_ms, slice.max_ms
                    ),
                );
            }
        }
        out
    }
}

fn percentiles(p: &Percentiles) -> String {
    format!(
        "p50 {:.3} | p90 {:.3} | p99 {:.3} | p99.9 {:.3} | max {:.3} ms",
        p.p50, p.p90, p.p99, p.p999, p.max
    )
}

fn errors(errors: &Errors) -> String {
    if errors.total == 0 {
        return "none".to_string();
    }
    let kinds = &errors.by_kind;
    let mut parts: Vec<String> = kinds
        .status
        .iter()
        .map(|(code, count)| format!("HTTP {code}: {count}"))
        .collect();
    for (name, count) in [
        ("cannot connect", kinds.connect),
        ("connection broken", kinds.connection),
        ("timed out", kinds.timeout),
        ("not a JSON object", kinds.invalid_body),
    ] {
        if count > 0 {
            parts.push(format!("{name}: {count}"));
        }
    }
    parts.join(", ")
}

fn number(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

fn bytes(count: u64) -> String {
    match count {
        0..1024 => format!("{count} B"),
        1024..1_048_576 => format!("{:.1} KiB", count as f64 / 1024.0),
        _ => format!("{:.2} MiB", count as f64 / 1_048_576.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_numbers_read_well() {
        assert_eq!(bytes(900), "900 B");
        assert_eq!(bytes(4200), "4.1 KiB");
        assert_eq!(bytes(3 * 1_048_576), "3.00 MiB");
        assert_eq!(number(2466.14), "2466");
        assert_eq!(number(12.34), "12.3");
    }

    #[test]
    fn errors_are_listed_by_kind() {
        let mut by_kind = ErrorCounts::default();
        by_kind.status.insert(500, 3);
        by_kind.timeout = 2;
        let text = errors(&Errors { total: 5, by_kind });
        assert_eq!(text, "HTTP 500: 3, timed out: 2");
    }
}
