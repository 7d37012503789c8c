//! Host-level relay metrics through the embedded agent (group "relay", names from
//! `gmond::embed::relay::RELAY_METRICS`): gauges and counters fed at every stats tick.

use crate::core::stats::{DropReason, Drops, Interval, Totals};
use gmond::embed::registry::{Counter, Gauge, RegisterError, Registry};
use gmond::embed::relay::relay_specs;

/// Handles on every metric of the family.
#[derive(Debug)]
pub struct RelayMetrics {
    rooms: Gauge,
    participants: Gauge,
    publishers: Gauge,
    streams: Gauge,
    loss_pct: Gauge,
    jitter_ms: Gauge,
    fwd_latency_us: Gauge,
    rx_pkts: Counter,
    tx_pkts: Counter,
    rx_bits: Counter,
    tx_bits: Counter,
    bytes_in: Counter,
    bytes_out: Counter,
    pkts_lost: Counter,
    auth_failures: Counter,
    udp_drops: Counter,
    drops: Counter,
    prev: Prev,
}

#[derive(Debug, Default)]
struct Prev {
    totals: Totals,
    auth: u64,
    drops: u64,
    udp_drops: Option<u64>,
}

/// What one tick reports besides the core's figures.
#[derive(Debug, Clone, Copy, Default)]
pub struct DriverFigures {
    /// Mean receive-to-send time over the interval, µs.
    pub fwd_latency_us: f64,
    /// The media socket's cumulative kernel drops.
    pub udp_drops: Option<u64>,
}

impl RelayMetrics {
    /// Register the family in `reg`, collected every `every` seconds and sent at least every
    /// `threshold` seconds.
    pub fn register(reg: &Registry, every: u64, threshold: u64) -> Result<Self, RegisterError> {
        let specs = relay_specs();
        let spec = |n: &str| {
            specs
                .iter()
                .find(|s| s.def.name == n)
                .unwrap_or_else(|| panic!("{n} is in RELAY_METRICS"))
                .clone()
                .every(every, threshold)
        };
        let g = |n: &str| reg.gauge(spec(n));
        let c = |n: &str| reg.counter(spec(n));
        Ok(RelayMetrics {
            rooms: g("relay_rooms")?,
            participants: g("relay_participants")?,
            publishers: g("relay_publishers")?,
            streams: g("relay_streams")?,
            loss_pct: g("relay_loss_pct")?,
            jitter_ms: g("relay_jitter_ms")?,
            fwd_latency_us: g("relay_fwd_latency_us")?,
            rx_pkts: c("relay_rx_pkts")?,
            tx_pkts: c("relay_tx_pkts")?,
            rx_bits: c("relay_rx_bits")?,
            tx_bits: c("relay_tx_bits")?,
            bytes_in: c("relay_bytes_in")?,
            bytes_out: c("relay_bytes_out")?,
            pkts_lost: c("relay_pkts_lost")?,
            auth_failures: c("relay_auth_failures")?,
            udp_drops: c("relay_udp_drops")?,
            drops: c("relay_drops")?,
            prev: Prev::default(),
        })
    }

    /// Feed one stats tick.
    pub fn update(&mut self, t: &Totals, iv: &Interval, drops: &Drops, d: DriverFigures) {
        self.rooms.set(t.rooms as f64);
        self.participants.set(t.participants as f64);
        self.publishers.set(t.publishers as f64);
        self.streams.set(iv.active_streams as f64);
        self.loss_pct.set(iv.loss_pct);
        self.jitter_ms.set(iv.jitter_ms);
        self.fwd_latency_us.set(d.fwd_latency_us);
        let p = &self.prev.totals;
        let rx = t.rx_packets.saturating_sub(p.rx_packets);
        let tx = t.tx_packets.saturating_sub(p.tx_packets);
        let bin = t.rx_bytes.saturating_sub(p.rx_bytes);
        let bout = t.tx_bytes.saturating_sub(p.tx_bytes);
        self.rx_pkts.add(rx);
        self.tx_pkts.add(tx);
        self.bytes_in.add(bin);
        self.bytes_out.add(bout);
        self.rx_bits.add(bin * 8);
        self.tx_bits.add(bout * 8);
        self.pkts_lost.add(iv.lost);
        let auth: u64 = DropReason::ALL
            .iter()
            .filter(|r| r.is_auth())
            .map(|r| drops.get(*r))
            .sum();
        self.auth_failures.add(auth.saturating_sub(self.prev.auth));
        let all = drops.media_total();
        self.drops.add(all.saturating_sub(self.prev.drops));
        if let (Some(now), Some(before)) = (d.udp_drops, self.prev.udp_drops) {
            self.udp_drops.add(now.saturating_sub(before));
        }
        self.prev = Prev {
            totals: t.clone(),
            auth,
            drops: all,
            udp_drops: d.udp_drops.or(self.prev.udp_drops),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ganglia_proto::Value;

    #[test]
    fn ticks_become_gauges_and_per_second_rates() {
        let reg = Registry::default();
        let mut m = RelayMetrics::register(&reg, 1, 4).unwrap();
        let mut drops = Drops::default();
        let mut t = Totals {
            rooms: 2,
            participants: 5,
            publishers: 3,
            rx_packets: 100,
            rx_bytes: 10_000,
            tx_packets: 300,
            tx_bytes: 30_000,
            lost: 0,
        };
        let iv = Interval {
            loss_pct: 1.5,
            lost: 2,
            jitter_ms: 3.25,
            active_streams: 3,
        };
        let d = |u| DriverFigures {
            fwd_latency_us: 42.0,
            udp_drops: Some(u),
        };
        m.update(&t, &iv, &drops, d(7));
        for n in [
            "relay_rx_pkts",
            "relay_tx_pkts",
            "relay_tx_bits",
            "relay_bytes_in",
            "relay_auth_failures",
            "relay_drops",
            "relay_udp_drops",
        ] {
            assert_eq!(
                reg.sample(n, 100),
                Some(Value::Float(0.0)),
                "{n}: first sample"
            );
        }
        t.rx_packets += 50;
        t.rx_bytes += 5_000;
        t.tx_packets += 150;
        t.tx_bytes += 15_000;
        drops.add(DropReason::BadToken);
        drops.add(DropReason::Forged);
        drops.add(DropReason::Malformed);
        m.update(&t, &iv, &drops, d(17));
        let at = |n| reg.sample(n, 110);
        assert_eq!(at("relay_rx_pkts"), Some(Value::Float(5.0)));
        assert_eq!(at("relay_tx_pkts"), Some(Value::Float(15.0)));
        assert_eq!(at("relay_tx_bits"), Some(Value::Float(12_000.0)));
        assert_eq!(at("relay_bytes_in"), Some(Value::Float(500.0)));
        assert_eq!(at("relay_auth_failures"), Some(Value::Float(0.2)));
        assert_eq!(
            at("relay_drops"),
            Some(Value::Float(0.2)),
            "forged + malformed"
        );
        assert_eq!(at("relay_udp_drops"), Some(Value::Float(1.0)));
        assert_eq!(at("relay_rooms"), Some(Value::UInt(2)));
        assert_eq!(at("relay_participants"), Some(Value::UInt(5)));
        assert_eq!(at("relay_streams"), Some(Value::UInt(3)));
        assert_eq!(at("relay_jitter_ms"), Some(Value::Float(3.25)));
        assert_eq!(at("relay_fwd_latency_us"), Some(Value::Float(42.0)));
    }
}
