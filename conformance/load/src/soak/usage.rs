//! The server's memory and CPU over time: a thread reads `/proc/PID/status` (VmRSS),
//! `/proc/PID/stat` (CPU time) and, where the kernel has it, `/proc/PID/smaps_rollup`
//! (Pss) once a second.
//!
//! RSS is what the flatness rule judges: it is always there. PSS is reported beside it; it
//! counts shared pages (the binary, libc) in proportion, so it is the better figure for what
//! the server costs a node, but it needs Linux 4.14 and read access to the process. CPU
//! time shows how much of the machine the chosen rate takes.
//!
//! A process that has exited but not been waited for (a zombie) has no VmRSS line: that,
//! or no `/proc/PID` at all, is reported as the server gone.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

/// One reading.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    /// Seconds since the load started (negative: before it).
    pub at_s: f64,
    pub rss_bytes: u64,
    pub pss_bytes: Option<u64>,
    /// CPU time (user and system) the process has used since it started.
    pub cpu_s: Option<f64>,
}

/// What [`read`] finds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    pub rss_bytes: u64,
    pub pss_bytes: Option<u64>,
    pub cpu_s: Option<f64>,
}

/// Reads the usage of `pid`; `None` when the process is gone.
pub fn read(pid: u32) -> Option<Usage> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_bytes = kib_field(&status, "VmRSS:")?;
    let pss_bytes = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|text| kib_field(&text, "Pss:"));
    let cpu_s = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| cpu_ticks(&stat))
        .map(|ticks| ticks as f64 / clock_ticks_per_second());
    Some(Usage {
        rss_bytes,
        pss_bytes,
        cpu_s,
    })
}

/// utime + stime from `/proc/PID/stat`, in clock ticks. The command name (field 2) is in
/// parentheses and may hold spaces, so fields are counted after its closing one.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    // After the name: state (3), ppid (4), ..., utime (14), stime (15).
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// The value of a `Name:   1234 kB` line, in bytes.
fn kib_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|line| line.starts_with(name))?;
    let mut words = line[name.len()..].split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => Some(value * 1024),
        _ => None,
    }
}

/// The sampling thread; see the module docs.
#[derive(Debug)]
pub struct Sampler {
    samples: Arc<Mutex<Vec<Sample>>>,
    gone: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    /// Samples `pid` every `every`, times counted from `start`; the first sample at once.
    pub fn start(pid: u32, start: Instant, every: Duration) -> std::io::Result<Self> {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let gone = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (samples, gone, stop) = (samples.clone(), gone.clone(), stop.clone());
            std::thread::Builder::new()
                .name("hooksoak-memory".to_string())
                .spawn(move || {
                    let mut next = Instant::now();
                    while !stop.load(Ordering::Relaxed) {
                        let now = Instant::now();
                        if now >= next {
                            let Some(usage) = read(pid) else {
                                gone.store(true, Ordering::Relaxed);
                                break;
                            };
                            let at_s = if now >= start {
                                (now - start).as_secs_f64()
                            } else {
                                -(start - now).as_secs_f64()
                            };
                            samples.lock().expect("samples").push(Sample {
                                at_s,
                                rss_bytes: usage.rss_bytes,
                                pss_bytes: usage.pss_bytes,
                                cpu_s: usage.cpu_s,
                            });
                            next += every;
                        }
                        // Short naps, so stopping does not wait for a whole period.
                        std::thread::sleep(
                            next.saturating_duration_since(Instant::now())
                                .min(Duration::from_millis(50)),
                        );
                    }
                })?
        };
        Ok(Self {
            samples,
            gone,
            stop,
            thread: Some(thread),
        })
    }

    /// The samples so far.
    pub fn samples(&self) -> Vec<Sample> {
        self.samples.lock().expect("samples").clone()
    }

    /// Whether the process was found gone.
    pub fn server_gone(&self) -> bool {
        self.gone.load(Ordering::Relaxed)
    }

    /// Stops sampling; returns every sample.
    pub fn finish(mut self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.samples()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_in_bytes() {
        let status = "Name:\thookserver\nVmPeak:\t  900 kB\nVmRSS:\t   51200 kB\nThreads:\t9\n";
        assert_eq!(kib_field(status, "VmRSS:"), Some(50 << 20));
        assert_eq!(kib_field(status, "Threads:"), None, "no unit");
        assert_eq!(kib_field(status, "VmSwap:"), None);
        let rollup = "55d0-7ffe ---p 00000000 00:00 0  [rollup]\nRss:  100 kB\nPss:  75 kB\n";
        assert_eq!(kib_field(rollup, "Pss:"), Some(75 * 1024));
        let stat = "4242 (tokio (runtime)) S 1 4242 4242 0 -1 4194560 1200 0 0 0 730 45 0 0 \
                    20 0 9 0 1234 2000000 3000";
        assert_eq!(cpu_ticks(stat), Some(775));
        assert_eq!(cpu_ticks("4242 (x) S 1"), None);
    }

    #[test]
    fn this_process_is_sampled_and_a_dead_one_is_gone() {
        let usage = read(std::process::id()).expect("this process has an RSS");
        assert!(usage.rss_bytes > 1 << 20, "{usage:?}");
        // CPU time moves with work (in clock ticks of 10 ms).
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut spins = 0u64;
        while read(std::process::id()).and_then(|u| u.cpu_s) == usage.cpu_s {
            assert!(
                Instant::now() < deadline,
                "CPU time did not move: {usage:?}"
            );
            spins = std::hint::black_box(spins.wrapping_add(1));
        }
        let start = Instant::now();
        let sampler =
            Sampler::start(std::process::id(), start, Duration::from_millis(10)).expect("thread");
        std::thread::sleep(Duration::from_millis(100));
        assert!(!sampler.server_gone());
        let samples = sampler.finish();
        assert!(samples.len() >= 5, "{}", samples.len());
        assert!(samples.windows(2).all(|w| w[0].at_s < w[1].at_s));

        let mut child = std::process::Command::new("true").spawn().expect("true");
        let pid = child.id();
        child.wait().expect("reaped");
        let sampler = Sampler::start(pid, start, Duration::from_millis(10)).expect("thread");
        std::thread::sleep(Duration::from_millis(50));
        assert!(sampler.server_gone());
        assert!(sampler.finish().is_empty());
    }
}
