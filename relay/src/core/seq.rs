//! Per-stream reception statistics: RFC 3550 A.3 sequence accounting (extended sequence
//! numbers, loss, probation) and A.8 interarrival jitter.

const MAX_DROPOUT: u16 = 3000;
const MAX_MISORDER: u16 = 100;
const RTP_SEQ_MOD: u32 = 1 << 16;

/// Reception state of one source.
#[derive(Debug, Clone, Default)]
pub struct SeqStats {
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    probation: u32,
    received: u64,
    started: bool,
    expected_prior: u64,
    received_prior: u64,
    transit: Option<i64>,
    jitter: f64,
}

/// Number of sequential packets before a source counts as valid (A.3 MIN_SEQUENTIAL).
pub const MIN_SEQUENTIAL: u32 = 2;

impl SeqStats {
    fn init(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = RTP_SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// A.3 `update_seq`: returns false for a packet that does not (yet) count (probation,
    /// a large jump awaiting confirmation).
    pub fn update(&mut self, seq: u16) -> bool {
        if !self.started {
            self.started = true;
            self.init(seq);
            self.max_seq = seq.wrapping_sub(1);
            self.probation = MIN_SEQUENTIAL;
        }
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init(seq);
                    self.received += 1;
                    return true;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return false;
        } else if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles += RTP_SEQ_MOD;
            }
            self.max_seq = seq;
        } else if u32::from(udelta) <= RTP_SEQ_MOD - u32::from(MAX_MISORDER) {
            if u32::from(seq) == self.bad_seq {
                // Two sequential packets after a big jump: the source restarted.
                self.init(seq);
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (RTP_SEQ_MOD - 1);
                return false;
            }
        } else {
            // Duplicate or reordered packet: counted as received.
        }
        self.received += 1;
        true
    }

    /// Highest extended sequence number seen.
    pub fn extended_max(&self) -> u64 {
        u64::from(self.cycles) + u64::from(self.max_seq)
    }

    /// Packets expected since the source became valid.
    pub fn expected(&self) -> u64 {
        if self.received == 0 {
            return 0;
        }
        (self.extended_max() + 1).saturating_sub(u64::from(self.base_seq))
    }

    /// Valid packets received.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Cumulative lost packets (A.3; negative values from duplicates clamp to 0).
    pub fn lost(&self) -> u64 {
        self.expected().saturating_sub(self.received)
    }

    /// Loss fraction since the previous call (A.3 interval accounting), 0..=1.
    pub fn interval_loss(&mut self) -> (u64, u64) {
        let expected = self.expected();
        let e = expected.saturating_sub(self.expected_prior);
        self.expected_prior = expected;
        let r = self.received.saturating_sub(self.received_prior);
        self.received_prior = self.received;
        (e, e.saturating_sub(r))
    }

    /// A.8: `arrival` in the stream's timestamp units.
    pub fn update_jitter(&mut self, arrival: u32, rtp_ts: u32) {
        let transit = i64::from(arrival.wrapping_sub(rtp_ts) as i32);
        if let Some(prev) = self.transit {
            let d = (transit - prev).unsigned_abs() as f64;
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.transit = Some(transit);
    }

    /// Interarrival jitter in timestamp units.
    pub fn jitter(&self) -> f64 {
        self.jitter
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn feed(s: &mut SeqStats, seqs: impl IntoIterator<Item = u16>) {
        for q in seqs {
            s.update(q);
        }
    }

    #[test]
    fn probation_then_counting_and_loss() {
        let mut s = SeqStats::default();
        assert!(!s.update(100), "first packet is on probation");
        assert!(s.update(101));
        feed(&mut s, [102, 104, 105]); // 103 lost
        assert_eq!((s.expected(), s.received(), s.lost()), (5, 4, 1));
        assert_eq!(s.interval_loss(), (5, 1));
        feed(&mut s, [106, 107]);
        assert_eq!(s.interval_loss(), (2, 0));
    }

    #[test]
    fn wraparound_and_restart() {
        let mut s = SeqStats::default();
        feed(&mut s, [65533, 65534, 65535, 0, 1]);
        assert_eq!(s.extended_max(), 65536 + 1);
        assert_eq!(s.lost(), 0);
        // A jump of 30000: ignored once, accepted as a restart when confirmed.
        assert!(!s.update(30000));
        assert!(s.update(30001));
        assert_eq!((s.expected(), s.received(), s.lost()), (1, 1, 0));
    }

    #[test]
    fn jitter_converges_to_the_spread() {
        let mut s = SeqStats::default();
        // Packets every 960 units, arriving alternately 0 and 160 units late.
        for i in 0..500u32 {
            s.update_jitter(i * 960 + (i % 2) * 160, i * 960);
        }
        assert!((s.jitter() - 160.0).abs() < 1.0, "{}", s.jitter());
        let mut steady = SeqStats::default();
        (0..50u32).for_each(|i| steady.update_jitter(i * 960 + 77, i * 960));
        assert_eq!(steady.jitter(), 0.0);
    }

    proptest! {
        /// In-order delivery of a random subset of a sequence run: loss equals the gaps.
        #[test]
        fn loss_matches_the_gaps(start: u16, keep in proptest::collection::vec(any::<bool>(), 3..3000)) {
            let mut s = SeqStats::default();
            let mut sent = Vec::new();
            // The first two packets always arrive (they end probation).
            let mut n = 0u16;
            for (i, k) in keep.iter().enumerate() {
                if i < 2 || *k {
                    sent.push(start.wrapping_add(n));
                }
                n = n.wrapping_add(1);
            }
            feed(&mut s, sent.iter().copied());
            let last = *sent.last().unwrap();
            let span = u64::from(last.wrapping_sub(start.wrapping_add(1))) + 1;
            prop_assert_eq!(s.expected(), span);
            prop_assert_eq!(s.received(), sent.len() as u64 - 1);
            prop_assert_eq!(s.lost(), span - (sent.len() as u64 - 1));
        }

        #[test]
        fn arbitrary_sequences_never_panic(seqs in proptest::collection::vec(any::<u16>(), 0..500)) {
            let mut s = SeqStats::default();
            feed(&mut s, seqs.iter().copied());
            prop_assert!(s.lost() <= s.expected());
            let _ = s.interval_loss();
        }
    }
}
