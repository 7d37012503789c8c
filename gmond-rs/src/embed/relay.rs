//! The relay metric family (group "relay"): what a media relay reports through the embedded
//! agent, so operators see media throughput, loss and jitter next to CPU and load.

use super::registry::MetricSpec;
use ganglia_proto::{MetricType, Slope};

/// (name, units, type, title, description) of every relay metric.
pub const RELAY_METRICS: &[(&str, &str, MetricType, &str, &str)] = &[
    (
        "relay_rooms",
        "rooms",
        MetricType::UInt32,
        "Relay Rooms",
        "Rooms with at least one member",
    ),
    (
        "relay_participants",
        "clients",
        MetricType::UInt32,
        "Relay Participants",
        "Joined participants",
    ),
    (
        "relay_publishers",
        "clients",
        MetricType::UInt32,
        "Relay Publishers",
        "Participants sending media",
    ),
    (
        "relay_streams",
        "streams",
        MetricType::UInt32,
        "Relay Streams",
        "Media streams (SSRCs) being forwarded",
    ),
    (
        "relay_rx_pkts",
        "packets/sec",
        MetricType::Float,
        "Relay Packets Received",
        "Media packets received per second",
    ),
    (
        "relay_tx_pkts",
        "packets/sec",
        MetricType::Float,
        "Relay Packets Sent",
        "Media packets forwarded per second",
    ),
    (
        "relay_rx_bits",
        "bits/sec",
        MetricType::Float,
        "Relay Bits Received",
        "Media bits received per second",
    ),
    (
        "relay_tx_bits",
        "bits/sec",
        MetricType::Float,
        "Relay Bits Sent",
        "Media bits forwarded per second",
    ),
    (
        "relay_bytes_in",
        "bytes/sec",
        MetricType::Float,
        "Relay Bytes In",
        "Media bytes received per second",
    ),
    (
        "relay_bytes_out",
        "bytes/sec",
        MetricType::Float,
        "Relay Bytes Out",
        "Media bytes forwarded per second",
    ),
    (
        "relay_pkts_lost",
        "packets/sec",
        MetricType::Float,
        "Relay Packets Lost",
        "Packets lost per second (RFC 3550 sequence accounting)",
    ),
    (
        "relay_loss_pct",
        "%",
        MetricType::Float,
        "Relay Loss",
        "Packet loss over the last interval",
    ),
    (
        "relay_jitter_ms",
        "ms",
        MetricType::Float,
        "Relay Jitter",
        "Mean interarrival jitter (RFC 3550 A.8)",
    ),
    (
        "relay_fwd_latency_us",
        "us",
        MetricType::Float,
        "Relay Forward Latency",
        "Mean time from receive to forward",
    ),
    (
        "relay_auth_failures",
        "failures/sec",
        MetricType::Float,
        "Relay Auth Failures",
        "Rejected joins and media per second",
    ),
    (
        "relay_udp_drops",
        "packets/sec",
        MetricType::Float,
        "Relay Kernel UDP Drops",
        "Kernel UDP receive-buffer drops per second",
    ),
    (
        "relay_drops",
        "packets/sec",
        MetricType::Float,
        "Relay Dropped Packets",
        "Media packets dropped per second (no session, malformed, forged, over cap, oversized)",
    ),
];

/// Specs for the whole family: group "relay", slope both, collected every 15 s, sent at least
/// every 60 s (so TMAX 60).
pub fn relay_specs() -> Vec<MetricSpec> {
    RELAY_METRICS
        .iter()
        .map(|(name, units, ty, title, desc)| {
            MetricSpec::new(name)
                .metric_type(*ty)
                .units(units)
                .title(title)
                .desc(desc)
                .group("relay")
                .slope(Slope::Both)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn family_is_complete_and_valid() {
        let specs = super::relay_specs();
        assert_eq!(specs.len(), 17);
        let reg = crate::embed::registry::Registry::default();
        for s in specs {
            assert_eq!(s.def.groups, ["relay"]);
            reg.gauge(s).unwrap();
        }
    }
}
