//! Median and 95th percentile of durations in bounded memory.
//!
//! Up to [`EXACT_LIMIT`] values are kept as they are and quantiles are exact. Past
//! that, values go into a fixed log-scale histogram (1,300 buckets, 10.4 KiB) whose
//! buckets grow by a factor of [`GAMMA`]: any quantile it returns is within
//! [`RELATIVE_ERROR`] (0.99 %) of the true value for durations from 0.01 ms to about
//! 17 days; shorter durations are within 0.01 ms, longer ones are reported as the
//! largest duration seen. Results are always clamped to the observed minimum and
//! maximum. The quantile definition is nearest-rank: the smallest value such that at
//! least `q·n` values are at or below it (the median of 10, 20, 30, 40 is 20).

/// How many values are kept exactly before switching to the histogram.
pub const EXACT_LIMIT: usize = 256;
/// Ratio between the upper bounds of two neighbouring histogram buckets.
pub const GAMMA: f64 = 1.02;
/// Largest relative error of a quantile once the histogram is in use: (γ−1)/(γ+1).
pub const RELATIVE_ERROR: f64 = (GAMMA - 1.0) / (GAMMA + 1.0);
/// Upper bound of the first bucket, in milliseconds.
const MIN_MS: f64 = 0.01;
const BUCKETS: usize = 1300;

/// A streaming summary of durations (milliseconds) with bounded memory.
#[derive(Debug, Clone, Default)]
pub struct DurationSketch {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    exact: Vec<f64>,
    buckets: Option<Box<[u64]>>,
}

fn bucket_of(v: f64) -> usize {
    if v <= MIN_MS {
        return 0;
    }
    let i = ((v / MIN_MS).ln() / GAMMA.ln()).ceil();
    if i >= (BUCKETS - 1) as f64 {
        BUCKETS - 1
    } else {
        i as usize
    }
}

/// The value that represents bucket `i` (for `i ≥ 1`): the point with the smallest relative error
/// to both ends of `(MIN·γ^(i−1), MIN·γ^i]`.
fn value_of(i: usize) -> f64 {
    2.0 * MIN_MS * GAMMA.powi(i as i32) / (GAMMA + 1.0)
}

impl DurationSketch {
    /// An empty sketch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one duration. Negative and non-finite values count as 0.
    pub fn push(&mut self, ms: f64) {
        let v = if ms.is_finite() && ms > 0.0 { ms } else { 0.0 };
        if self.count == 0 {
            self.min = v;
            self.max = v;
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.count += 1;
        self.sum += v;
        if let Some(b) = self.buckets.as_mut() {
            b[bucket_of(v)] += 1;
        } else if self.exact.len() < EXACT_LIMIT {
            self.exact.push(v);
        } else {
            self.histogram_mut()[bucket_of(v)] += 1;
        }
    }

    fn histogram_mut(&mut self) -> &mut [u64] {
        let exact = std::mem::take(&mut self.exact);
        let b = self
            .buckets
            .get_or_insert_with(|| vec![0u64; BUCKETS].into_boxed_slice());
        for v in exact {
            b[bucket_of(v)] += 1;
        }
        b
    }

    /// Adds everything `other` saw.
    pub fn merge(&mut self, other: &DurationSketch) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            self.min = other.min;
            self.max = other.max;
        } else {
            self.min = self.min.min(other.min);
            self.max = self.max.max(other.max);
        }
        self.count += other.count;
        self.sum += other.sum;
        let exact_fits = self.buckets.is_none()
            && other.buckets.is_none()
            && self.exact.len() + other.exact.len() <= EXACT_LIMIT;
        if exact_fits {
            self.exact.extend_from_slice(&other.exact);
            return;
        }
        let b = self.histogram_mut();
        for &v in &other.exact {
            b[bucket_of(v)] += 1;
        }
        if let Some(ob) = &other.buckets {
            for (x, y) in b.iter_mut().zip(ob.iter()) {
                *x += y;
            }
        }
    }

    /// Number of durations added.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether quantiles are exact (no more than [`EXACT_LIMIT`] values so far).
    pub fn is_exact(&self) -> bool {
        self.buckets.is_none()
    }

    /// Smallest duration, if any.
    pub fn min(&self) -> Option<f64> {
        (self.count > 0).then_some(self.min)
    }

    /// Largest duration, if any.
    pub fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }

    /// Arithmetic mean, if any.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }

    /// The nearest-rank `q`-quantile (`q` in `[0, 1]`), if any value was added.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let q = if q.is_finite() {
            q.clamp(0.0, 1.0)
        } else {
            0.5
        };
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let v = match &self.buckets {
            None => {
                let mut sorted = self.exact.clone();
                sorted.sort_by(f64::total_cmp);
                sorted[(rank - 1) as usize]
            }
            // The extremes are known exactly.
            Some(_) if rank == 1 => self.min,
            Some(_) if rank == self.count => self.max,
            Some(b) => {
                let mut seen = 0u64;
                let mut found = self.max;
                for (i, &c) in b.iter().enumerate() {
                    seen += c;
                    if seen >= rank {
                        // The first bucket holds the minimum whenever it holds anything.
                        // and the last one everything too long to place.
                        found = match i {
                            0 => self.min,
                            i if i == BUCKETS - 1 => self.max,
                            i => value_of(i),
                        };
                        break;
                    }
                }
                found
            }
        };
        Some(v.clamp(self.min, self.max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_samples_are_exact_nearest_rank() {
        let mut s = DurationSketch::new();
        for v in [40.0, 10.0, 30.0, 20.0] {
            s.push(v);
        }
        assert!(s.is_exact());
        assert_eq!(s.quantile(0.5), Some(20.0));
        assert_eq!(s.quantile(0.95), Some(40.0));
        assert_eq!(s.quantile(0.0), Some(10.0));
        assert_eq!(s.mean(), Some(25.0));
        assert_eq!(DurationSketch::new().quantile(0.5), None);
    }

    #[test]
    fn large_samples_stay_within_the_stated_error() {
        let mut s = DurationSketch::new();
        // 1..=100_000 ms: the true nearest-rank median is 50_000 and p95 95_000.
        for v in 1..=100_000 {
            s.push(f64::from(v));
        }
        assert!(!s.is_exact());
        let rel = |got: f64, want: f64| (got - want).abs() / want;
        assert!(rel(s.quantile(0.5).unwrap(), 50_000.0) <= RELATIVE_ERROR);
        assert!(rel(s.quantile(0.95).unwrap(), 95_000.0) <= RELATIVE_ERROR);
        assert_eq!(s.quantile(1.0), Some(100_000.0));
        assert_eq!(s.quantile(0.0), Some(1.0));
    }

    #[test]
    fn merging_equals_pushing_everything_into_one() {
        let values: Vec<f64> = (0..1000).map(|i| f64::from(i * 37 % 1009) + 0.5).collect();
        let mut whole = DurationSketch::new();
        values.iter().for_each(|&v| whole.push(v));
        let (mut a, mut b) = (DurationSketch::new(), DurationSketch::new());
        values[..100].iter().for_each(|&v| a.push(v));
        values[100..].iter().for_each(|&v| b.push(v));
        a.merge(&b);
        assert_eq!(a.count(), whole.count());
        for q in [0.1, 0.5, 0.95, 0.99] {
            assert_eq!(a.quantile(q), whole.quantile(q), "q={q}");
        }
        // Two exact halves stay exact.
        let (mut c, mut d) = (DurationSketch::new(), DurationSketch::new());
        c.push(3.0);
        d.push(1.0);
        c.merge(&d);
        assert!(c.is_exact());
        assert_eq!(c.quantile(0.5), Some(1.0));
    }

    #[test]
    fn odd_values_are_tolerated() {
        let mut s = DurationSketch::new();
        for v in [f64::NAN, -5.0, f64::INFINITY, 0.001, 1e15] {
            s.push(v);
        }
        for _ in 0..EXACT_LIMIT {
            s.push(0.0);
        }
        assert_eq!(s.min(), Some(0.0));
        assert_eq!(s.max(), Some(1e15));
        assert_eq!(s.quantile(1.0), Some(1e15));
        assert_eq!(s.quantile(0.5), Some(0.0));
    }
}
