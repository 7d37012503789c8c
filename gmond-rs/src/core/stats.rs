//! Packet and state counters of one agent (replaces gmond's global scoreboard).

use ganglia_proto::xdr::DecodeError;

/// Why a decoded datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drop {
    /// Empty or oversized metric name.
    BadName,
    /// Spoof string not of the form `IP:NAME`.
    BadSpoof,
    /// The host cap was reached.
    HostCap,
    /// The per-host metric cap was reached.
    MetricCap,
    /// The sender is refused by the channel's ACL.
    Acl,
}

/// Counters, all monotonically increasing.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Datagrams received on every channel.
    pub packets_received: u64,
    /// Metadata messages accepted.
    pub metadata_received: u64,
    /// Value messages accepted.
    pub values_received: u64,
    /// Metadata requests received.
    pub requests_received: u64,
    /// Metadata requests we sent for values lacking metadata.
    pub requests_sent: u64,
    /// Malformed datagrams, by decode error.
    pub malformed_truncated: u64,
    /// Unknown message id (pre-3.1 packets, garbage).
    pub malformed_unknown_id: u64,
    /// Strings longer than the bytes present or the limit.
    pub malformed_string_too_long: u64,
    /// Extra-data count over the limit.
    pub malformed_too_many_extra: u64,
    /// Strings that are not UTF-8.
    pub malformed_invalid_utf8: u64,
    /// 16-bit values out of range.
    pub malformed_value_out_of_range: u64,
    /// Dropped: bad metric name.
    pub dropped_bad_name: u64,
    /// Dropped: bad spoof string.
    pub dropped_bad_spoof: u64,
    /// Dropped: host cap.
    pub dropped_host_cap: u64,
    /// Dropped: metric cap.
    pub dropped_metric_cap: u64,
    /// Dropped: ACL.
    pub dropped_acl: u64,
    /// Hosts created.
    pub hosts_created: u64,
    /// Hosts removed by host_dmax.
    pub hosts_expired: u64,
    /// Metrics removed by DMAX.
    pub metrics_expired: u64,
    /// Packets we sent.
    pub packets_sent: u64,
    /// Send errors.
    pub send_errors: u64,
    /// XML dumps served.
    pub xml_served: u64,
    /// XML connections refused by ACL.
    pub xml_refused: u64,
}

impl Stats {
    /// Count a dropped message.
    pub fn drop(&mut self, why: Drop) {
        match why {
            Drop::BadName => self.dropped_bad_name += 1,
            Drop::BadSpoof => self.dropped_bad_spoof += 1,
            Drop::HostCap => self.dropped_host_cap += 1,
            Drop::MetricCap => self.dropped_metric_cap += 1,
            Drop::Acl => self.dropped_acl += 1,
        }
    }

    /// Count a malformed datagram.
    pub fn malformed(&mut self, e: &DecodeError) {
        match e {
            DecodeError::Truncated { .. } => self.malformed_truncated += 1,
            DecodeError::UnknownId(_) => self.malformed_unknown_id += 1,
            DecodeError::StringTooLong { .. } => self.malformed_string_too_long += 1,
            DecodeError::TooManyExtra { .. } => self.malformed_too_many_extra += 1,
            DecodeError::InvalidUtf8 { .. } => self.malformed_invalid_utf8 += 1,
            DecodeError::ValueOutOfRange { .. } => self.malformed_value_out_of_range += 1,
        }
    }

    /// Total malformed datagrams.
    pub fn malformed_total(&self) -> u64 {
        self.malformed_truncated
            + self.malformed_unknown_id
            + self.malformed_string_too_long
            + self.malformed_too_many_extra
            + self.malformed_invalid_utf8
            + self.malformed_value_out_of_range
    }
}
