//! A token bucket in bytes, driven by a monotonic `now` in nanoseconds.

/// Bytes per second with a burst depth.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: u64,
    depth: u64,
    tokens: u64,
    last: u64,
}

impl TokenBucket {
    /// Full bucket of `depth` bytes refilled at `rate` bytes/s.
    pub fn new(rate: u64, depth: u64, now: u64) -> TokenBucket {
        TokenBucket {
            rate,
            depth,
            tokens: depth,
            last: now,
        }
    }

    /// Take `n` bytes at `now`; false (nothing taken) when the bucket holds fewer.
    pub fn take(&mut self, n: u64, now: u64) -> bool {
        let dt = now.saturating_sub(self.last);
        let refill = (u128::from(dt) * u128::from(self.rate) / 1_000_000_000) as u64;
        if refill > 0 {
            self.tokens = self.tokens.saturating_add(refill).min(self.depth);
            // Advance only by the time the refill accounts for, so slow rates still refill.
            self.last += (u128::from(refill) * 1_000_000_000 / u128::from(self.rate.max(1))) as u64;
            if self.tokens == self.depth {
                self.last = now;
            }
        }
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TokenBucket;

    #[test]
    fn burst_then_rate() {
        let mut b = TokenBucket::new(1000, 3000, 0);
        assert!(b.take(3000, 0));
        assert!(!b.take(1, 0));
        assert!(b.take(500, 500_000_000), "half a second refills 500 bytes");
        assert!(!b.take(100, 500_000_000));
        // Over 10 s at most depth + 10 * rate bytes pass.
        let mut b = TokenBucket::new(1000, 3000, 0);
        let passed: u64 = (0..10_000u64)
            .filter(|i| b.take(100, i * 1_000_000))
            .count() as u64
            * 100;
        assert!((12_000..=13_000).contains(&passed), "{passed}");
    }
}
