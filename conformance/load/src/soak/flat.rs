//! Whether the server's memory stayed flat over a soak.
//!
//! The rule, and why each part of it:
//! - **Only samples after the warm-up count.** While the warm-up runs, caches fill by
//!   design: compiled modules enter the memory tier on their first call, the response cache
//!   grows until entries start to expire (the soak sets its idle time to half the warm-up),
//!   and the allocator builds its arenas. That growth is bounded and is not a leak.
//! - **Medians of windows, not single samples.** The samples after the warm-up are cut
//!   into a *baseline* (the first 20%) and an *end* (the last 20%), at least 5 samples
//!   each. A single sample may land while a 1000-Pod request (a 3.5 MB body, tens of MiB of
//!   guest memory) is in flight; a median ignores such spikes, while a leak moves every
//!   sample.
//! - **A slack of max(8 MiB, 15% of the baseline).** Allocator fragmentation and where the
//!   windows fall against large requests move the medians by a few MiB between runs. A leak
//!   still shows: hookserver's RSS under the soak is about 100 MiB, so the slack is about
//!   15 MiB; the windows of a 10-minute soak are about 430 s apart, 21,500 requests at 50
//!   a second, so a leak of 750 bytes per request fails it. The 60-second soak catches only
//!   gross leaks (about 8 KiB per request); the long one is the real test.
//!
//! Memory that shrinks is flat. Too few samples to fill both windows is an error, never a
//! pass.

use serde::Serialize;

/// The parameters of the rule; [`FlatRule::default`] is the rule described above.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlatRule {
    /// Growth always allowed, in bytes.
    pub slack_bytes: u64,
    /// Growth allowed as a fraction of the baseline, when that is more.
    pub slack_fraction: f64,
    /// Share of the samples after the warm-up in each window.
    pub window_fraction: f64,
    /// The fewest samples in a window.
    pub min_window: usize,
}

impl Default for FlatRule {
    fn default() -> Self {
        Self {
            slack_bytes: 8 << 20,
            slack_fraction: 0.15,
            window_fraction: 0.2,
            min_window: 5,
        }
    }
}

/// The verdict, with the figures it was made from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flatness {
    /// Median of the baseline window.
    pub baseline_bytes: u64,
    /// Median of the end window.
    pub end_bytes: u64,
    /// `end_bytes - baseline_bytes` (negative: it shrank).
    pub growth_bytes: i64,
    pub allowed_bytes: u64,
    /// The windows, in seconds since the load started: `[from, to]` of their samples.
    pub baseline_s: [f64; 2],
    pub end_s: [f64; 2],
    pub flat: bool,
}

/// Why no verdict could be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error(
        "only {have} memory samples after the {warmup_s:.0} s warm-up, {need} are needed to \
         judge whether memory stayed flat; run longer (--duration) or warm up less (--warmup)"
    )]
    TooFewSamples {
        have: usize,
        need: usize,
        warmup_s: f64,
    },
}

impl FlatRule {
    /// Judges `samples` (seconds since the start, bytes), in time order, ignoring those
    /// taken before `warmup_s`.
    pub fn judge(&self, samples: &[(f64, u64)], warmup_s: f64) -> Result<Flatness, Error> {
        let after: Vec<(f64, u64)> = samples
            .iter()
            .copied()
            .filter(|&(at, _)| at >= warmup_s)
            .collect();
        let window = ((after.len() as f64 * self.window_fraction).ceil() as usize)
            .max(self.min_window.max(1));
        if after.len() < 2 * window {
            return Err(Error::TooFewSamples {
                have: after.len(),
                need: 2 * window,
                warmup_s,
            });
        }
        let baseline = &after[..window];
        let end = &after[after.len() - window..];
        let baseline_bytes = median(baseline);
        let end_bytes = median(end);
        let allowed_bytes = self
            .slack_bytes
            .max((baseline_bytes as f64 * self.slack_fraction) as u64);
        let span = |w: &[(f64, u64)]| [w[0].0, w[w.len() - 1].0];
        Ok(Flatness {
            baseline_bytes,
            end_bytes,
            growth_bytes: end_bytes as i64 - baseline_bytes as i64,
            allowed_bytes,
            baseline_s: span(baseline),
            end_s: span(end),
            flat: end_bytes <= baseline_bytes.saturating_add(allowed_bytes),
        })
    }
}

/// The median of the byte counts (the lower middle one of an even count).
fn median(samples: &[(f64, u64)]) -> u64 {
    let mut bytes: Vec<u64> = samples.iter().map(|&(_, b)| b).collect();
    bytes.sort_unstable();
    bytes[(bytes.len() - 1) / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    /// One sample a second for `seconds`, from `bytes(second)`.
    fn samples(seconds: u32, bytes: impl Fn(u32) -> u64) -> Vec<(f64, u64)> {
        (0..seconds).map(|s| (f64::from(s), bytes(s))).collect()
    }

    #[test]
    fn warmup_growth_and_spikes_are_flat() {
        // Fills from 20 to 60 MiB during a 60 s warm-up, then stays, with a 40 MiB spike
        // every 7 s (a large request in flight) and a little noise.
        let memory = samples(600, |s| {
            let base = if s < 60 {
                20 * MIB + u64::from(s) * 2 * MIB / 3
            } else {
                60 * MIB
            };
            let spike = if s % 7 == 0 { 40 * MIB } else { 0 };
            base + spike + u64::from(s % 3) * MIB
        });
        let verdict = FlatRule::default().judge(&memory, 60.0).expect("enough");
        assert!(verdict.flat, "{verdict:?}");
        assert_eq!(verdict.baseline_s, [60.0, 167.0]);
        assert_eq!(verdict.end_s, [492.0, 599.0]);
        assert!(verdict.growth_bytes.unsigned_abs() <= MIB, "{verdict:?}");
    }

    #[test]
    fn a_steady_leak_is_not_flat() {
        // 40 KiB a second (400 bytes per request at 100 req/s) from 60 MiB.
        let memory = samples(600, |s| 60 * MIB + u64::from(s) * 40 * 1024);
        let verdict = FlatRule::default().judge(&memory, 60.0).expect("enough");
        assert!(!verdict.flat, "{verdict:?}");
        // Above 8 MiB, so the 15% applies.
        let fraction = (verdict.baseline_bytes as f64 * 0.15) as u64;
        assert_eq!(verdict.allowed_bytes, fraction);
        assert!(verdict.growth_bytes > fraction as i64);
    }

    #[test]
    fn the_slack_is_the_larger_of_the_floor_and_the_fraction() {
        let rule = FlatRule::default();
        let small = samples(100, |s| if s < 60 { 10 * MIB } else { 17 * MIB });
        let verdict = rule.judge(&small, 0.0).expect("enough");
        assert_eq!(verdict.allowed_bytes, 8 * MIB);
        assert!(verdict.flat, "7 MiB on 10 MiB is within the 8 MiB floor");
        let large = samples(100, |s| if s < 60 { 200 * MIB } else { 229 * MIB });
        let verdict = rule.judge(&large, 0.0).expect("enough");
        assert_eq!(verdict.allowed_bytes, 30 * MIB);
        assert!(verdict.flat, "{verdict:?}");
        let over = samples(100, |s| if s < 60 { 200 * MIB } else { 231 * MIB });
        assert!(!rule.judge(&over, 0.0).expect("enough").flat);
    }

    #[test]
    fn shrinking_is_flat() {
        let memory = samples(100, |s| 100 * MIB - u64::from(s) * MIB / 2);
        let verdict = FlatRule::default().judge(&memory, 10.0).expect("enough");
        assert!(verdict.flat && verdict.growth_bytes < 0, "{verdict:?}");
    }

    #[test]
    fn too_few_samples_is_an_error_that_says_what_to_do() {
        let memory = samples(20, |_| 50 * MIB);
        let err = FlatRule::default()
            .judge(&memory, 12.0)
            .expect_err("8 samples after the warm-up");
        assert_eq!(
            err,
            Error::TooFewSamples {
                have: 8,
                need: 10,
                warmup_s: 12.0
            }
        );
        assert!(err.to_string().contains("run longer"), "{err}");
        // The smallest run that can be judged: two windows of five.
        assert!(
            FlatRule::default()
                .judge(&samples(22, |_| MIB), 12.0)
                .is_ok()
        );
    }
}
