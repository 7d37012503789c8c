//! A log-linear latency histogram in microseconds (exact below 64 µs, then 32 buckets per
//! power of two, ~3% resolution), cheap enough to fill from the media thread with relaxed
//! atomics and to diff between two snapshots.

use std::sync::atomic::{AtomicU64, Ordering};

/// Number of buckets (covers up to 2^31 µs).
pub const BUCKETS: usize = 64 + 26 * 32;

/// Bucket of a value in µs.
pub fn index(us: u64) -> usize {
    if us < 64 {
        return us as usize;
    }
    let e = 63 - us.leading_zeros() as usize; // >= 6
    let i = 64 + (e - 6) * 32 + ((us >> (e - 5)) & 31) as usize;
    i.min(BUCKETS - 1)
}

/// Smallest value of a bucket, µs.
pub fn lower_bound(i: usize) -> u64 {
    if i < 64 {
        return i as u64;
    }
    let e = (i - 64) / 32 + 6;
    let sub = ((i - 64) % 32) as u64;
    (1u64 << e) + (sub << (e - 5))
}

/// The `q` quantile (0..=1) of bucket counts, as the bucket's lower bound in µs.
pub fn quantile(counts: &[u64], q: f64) -> Option<u64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((total - 1) as f64 * q.clamp(0.0, 1.0)) as u64;
    let mut seen = 0;
    for (i, c) in counts.iter().enumerate() {
        seen += c;
        if seen > rank {
            return Some(lower_bound(i));
        }
    }
    None
}

/// Shared histogram.
#[derive(Debug)]
pub struct Histogram(Vec<AtomicU64>);

impl Default for Histogram {
    fn default() -> Self {
        Histogram((0..BUCKETS).map(|_| AtomicU64::new(0)).collect())
    }
}

impl Histogram {
    /// Count `n` values of `us`.
    pub fn record(&self, us: u64, n: u64) {
        self.0[index(us)].fetch_add(n, Ordering::Relaxed);
    }

    /// Current counts.
    pub fn counts(&self) -> Vec<u64> {
        self.0.iter().map(|c| c.load(Ordering::Relaxed)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quantiles_of_a_known_spread() {
        let h = Histogram::default();
        (1..=100u64).for_each(|v| h.record(v * 10, 1));
        let c = h.counts();
        let p50 = quantile(&c, 0.5).unwrap();
        let p99 = quantile(&c, 0.99).unwrap();
        assert!((480..=500).contains(&p50), "{p50}");
        assert!((960..=990).contains(&p99), "{p99}");
        assert_eq!(quantile(&[0; 4], 0.5), None);
    }

    proptest! {
        #[test]
        fn buckets_are_monotonic_and_tight(v in 0u64..(1 << 31)) {
            let i = index(v);
            prop_assert!(lower_bound(i) <= v);
            if i + 1 < BUCKETS {
                prop_assert!(v < lower_bound(i + 1));
            }
            prop_assert!(v - lower_bound(i) <= v / 32 + 1);
        }
    }
}
