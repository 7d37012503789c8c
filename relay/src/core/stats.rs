//! Counters the core keeps and the snapshots it hands out (admin JSON, Ganglia metrics).

use super::seq::SeqStats;
use serde::Serialize;

/// Why a datagram (or a join) was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// No joined participant owns this source address or SSRC.
    NoSession,
    /// Not valid RTP/RTCP.
    Malformed,
    /// Over the publisher's bitrate cap, or the room's publisher limit.
    OverCap,
    /// A known SSRC from an address that is not its participant's (or the reverse).
    Forged,
    /// Larger than the maximum datagram size.
    Oversized,
    /// PLI/FIR arriving faster than the throttle lets through.
    Throttled,
    /// Join refused: bad, expired or wrong-room token.
    BadToken,
}

impl DropReason {
    /// Every reason, in counter order.
    pub const ALL: [DropReason; 7] = [
        DropReason::NoSession,
        DropReason::Malformed,
        DropReason::OverCap,
        DropReason::Forged,
        DropReason::Oversized,
        DropReason::Throttled,
        DropReason::BadToken,
    ];

    /// Name in the admin JSON.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::NoSession => "no_session",
            DropReason::Malformed => "malformed",
            DropReason::OverCap => "over_cap",
            DropReason::Forged => "forged",
            DropReason::Oversized => "oversized",
            DropReason::Throttled => "throttled",
            DropReason::BadToken => "bad_token",
        }
    }

    /// Whether this reason counts as an authentication failure.
    pub fn is_auth(self) -> bool {
        matches!(self, DropReason::BadToken | DropReason::Forged)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Drop counters by reason.
#[derive(Debug, Clone, Default)]
pub struct Drops([u64; 7]);

impl Drops {
    /// Count one.
    pub fn add(&mut self, r: DropReason) {
        self.0[r.index()] += 1;
    }

    /// Count for a reason.
    pub fn get(&self, r: DropReason) -> u64 {
        self.0[r.index()]
    }

    /// Sum over all media reasons (everything but refused joins).
    pub fn media_total(&self) -> u64 {
        DropReason::ALL
            .iter()
            .filter(|r| **r != DropReason::BadToken)
            .map(|r| self.get(*r))
            .sum()
    }
}

/// Per-stream statistics of one participant's SSRC.
#[derive(Debug, Clone, Default)]
pub struct StreamStats {
    /// Valid packets received from the publisher.
    pub packets_in: u64,
    /// Their bytes.
    pub bytes_in: u64,
    /// Copies forwarded to other members.
    pub packets_out: u64,
    /// Their bytes.
    pub bytes_out: u64,
    /// Sequence and jitter accounting.
    pub seq: SeqStats,
    /// PLIs for this stream forwarded to it.
    pub pli: u64,
    /// FIRs for this stream forwarded to it.
    pub fir: u64,
    /// NACKs for this stream forwarded to it.
    pub nack: u64,
    /// RTCP packets received from this participant.
    pub rtcp_in: u64,
    /// Packets dropped over the bitrate cap.
    pub over_cap: u64,
    /// Bitrate over the last stats interval.
    pub bitrate_bps: f64,
    /// bytes_in at the last interval.
    pub(crate) bytes_at_tick: u64,
}

/// One stream in a snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct StreamSnapshot {
    /// Participant id.
    pub participant: u64,
    /// SSRC.
    pub ssrc: u32,
    /// "audio" or "video".
    pub kind: &'static str,
    /// Has sent media.
    pub publisher: bool,
    /// Where its media comes from (latched), if known.
    pub source: Option<String>,
    /// Where it receives media.
    pub dest: Option<String>,
    /// Packets in.
    pub packets_in: u64,
    /// Bytes in.
    pub bytes_in: u64,
    /// Copies out.
    pub packets_out: u64,
    /// Bytes out.
    pub bytes_out: u64,
    /// Bitrate in over the last interval.
    pub bitrate_bps: f64,
    /// Cumulative lost (A.3).
    pub lost: u64,
    /// Cumulative loss in percent of expected.
    pub loss_pct: f64,
    /// Interarrival jitter (A.8) in ms.
    pub jitter_ms: f64,
    /// PLIs forwarded to it.
    pub pli: u64,
    /// FIRs forwarded to it.
    pub fir: u64,
    /// NACKs forwarded to it.
    pub nack: u64,
    /// RTCP packets received from it.
    pub rtcp_in: u64,
    /// Dropped over the bitrate cap.
    pub over_cap: u64,
}

/// One room in a snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct RoomSnapshot {
    /// Room name.
    pub room: String,
    /// Members.
    pub members: usize,
    /// Members that sent media.
    pub publishers: usize,
    /// Its streams.
    pub streams: Vec<StreamSnapshot>,
}

/// Host-level totals.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    /// Rooms with members.
    pub rooms: usize,
    /// Joined participants.
    pub participants: usize,
    /// Participants that sent media.
    pub publishers: usize,
    /// Valid packets received.
    pub rx_packets: u64,
    /// Their bytes.
    pub rx_bytes: u64,
    /// Packets forwarded.
    pub tx_packets: u64,
    /// Their bytes.
    pub tx_bytes: u64,
    /// Lost packets (A.3) over all streams, cumulative.
    pub lost: u64,
}

/// The whole admin view.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// Totals.
    pub totals: Totals,
    /// Drops by reason.
    pub drops: std::collections::BTreeMap<&'static str, u64>,
    /// Rooms, sorted by name.
    pub rooms: Vec<RoomSnapshot>,
}

/// Interval figures for the metrics: computed by `Relay::tick`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Interval {
    /// Loss over the interval, percent of expected packets.
    pub loss_pct: f64,
    /// Lost packets over the interval.
    pub lost: u64,
    /// Mean interarrival jitter of the publishing streams, ms.
    pub jitter_ms: f64,
    /// Streams that received media during the interval.
    pub active_streams: usize,
}
