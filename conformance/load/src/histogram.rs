//! A log-linear histogram of nanosecond values (the HdrHistogram layout, fixed to what a
//! load generator needs): exact below 256 ns, then every power-of-two range is cut into 128
//! equal buckets, so any value is known to better than 1/128 (0.8%) of itself, over the whole
//! `u64` range, in 58 KiB. Recording is an index computation and an increment; each worker
//! owns one and they are merged at the end, so nothing is shared while the run goes.

/// Buckets below the first power-of-two group hold one value each.
const SUB_BITS: u32 = 8;
const SUB: u64 = 1 << SUB_BITS;
/// Buckets per power-of-two group above `SUB`.
const HALF: u64 = SUB / 2;
const BUCKETS: usize = (SUB + (64 - SUB_BITS as u64) * HALF) as usize;

/// Counts of values (nanoseconds) in log-linear buckets; see the module docs.
#[derive(Clone, Debug)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            total: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    /// Counts one value.
    pub fn record(&mut self, value: u64) {
        self.counts[index(value)] += 1;
        self.total += 1;
        self.sum += u128::from(value);
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    /// Adds every value counted in `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// How many values were counted.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The largest value counted (exact), 0 when empty.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The smallest value counted (exact), 0 when empty.
    pub fn min(&self) -> u64 {
        if self.total == 0 { 0 } else { self.min }
    }

    /// The mean of the values counted (exact), 0 when empty.
    pub fn mean(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum as f64 / self.total as f64
        }
    }

    /// The smallest value at or below which at least `quantile` (0..=1) of the values lie,
    /// as the top of its bucket (never above the exact maximum); 0 when empty.
    pub fn quantile(&self, quantile: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((quantile.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (bucket, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return highest(bucket).clamp(self.min, self.max);
            }
        }
        self.max
    }
}

fn index(value: u64) -> usize {
    if value < SUB {
        return value as usize;
    }
    let magnitude = 63 - value.leading_zeros(); // >= SUB_BITS
    let shift = magnitude - SUB_BITS + 1;
    let sub = value >> shift; // in HALF..SUB
    (SUB + u64::from(magnitude - SUB_BITS) * HALF + (sub - HALF)) as usize
}

/// The largest value that lands in `bucket`.
fn highest(bucket: usize) -> u64 {
    let bucket = bucket as u64;
    if bucket < SUB {
        return bucket;
    }
    let offset = bucket - SUB;
    let shift = offset / HALF + 1;
    let sub = offset % HALF + HALF;
    let top = (u128::from(sub + 1) << shift) - 1;
    u64::try_from(top).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_tight() {
        let mut previous_top = None;
        for bucket in 0..BUCKETS {
            let top = highest(bucket);
            if let Some(previous) = previous_top {
                assert!(top > previous, "bucket {bucket}");
                assert_eq!(
                    index(previous + 1),
                    bucket,
                    "first value of bucket {bucket}"
                );
            }
            assert_eq!(index(top), bucket);
            previous_top = Some(top);
        }
        assert_eq!(previous_top, Some(u64::MAX));
        assert_eq!(index(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_are_within_one_percent_of_the_exact_ones() {
        let mut histogram = Histogram::new();
        // A skewed spread, like latencies: 10 us .. ~1 s.
        let mut values: Vec<u64> = (0..100_000u64)
            .map(|i| 10_000 + (i * i * 7919) % 1_000_000_000)
            .collect();
        for &value in &values {
            histogram.record(value);
        }
        values.sort_unstable();
        for quantile in [0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
            let exact = values
                [((quantile * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1];
            let got = histogram.quantile(quantile);
            let error = (got as f64 - exact as f64).abs() / exact as f64;
            assert!(error < 0.01, "q{quantile}: got {got}, exact {exact}");
            assert!(got >= exact, "reported as the bucket's top");
        }
        assert_eq!(histogram.max(), values[values.len() - 1]);
        assert_eq!(histogram.min(), values[0]);
        assert_eq!(histogram.count(), 100_000);
    }

    #[test]
    fn merging_equals_recording_everything_in_one() {
        let (mut a, mut b, mut both) = (Histogram::new(), Histogram::new(), Histogram::new());
        for value in [5, 300, 70_000, 1_000_000] {
            a.record(value);
            both.record(value);
        }
        for value in [1, 999_999_999] {
            b.record(value);
            both.record(value);
        }
        a.merge(&b);
        assert_eq!(a.count(), both.count());
        assert_eq!(a.min(), 1);
        assert_eq!(a.max(), 999_999_999);
        for quantile in [0.1, 0.5, 0.9, 1.0] {
            assert_eq!(a.quantile(quantile), both.quantile(quantile));
        }
    }

    #[test]
    fn empty_is_all_zero() {
        let histogram = Histogram::new();
        assert_eq!(
            (
                histogram.quantile(0.5),
                histogram.min(),
                histogram.max(),
                histogram.mean()
            ),
            (0, 0, 0, 0.0)
        );
    }
}
