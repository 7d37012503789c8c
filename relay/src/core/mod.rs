//! The sans-IO relay core: rooms, participants, RTP/RTCP validation and forwarding decisions,
//! limits and statistics. Datagrams, source addresses and `now` (monotonic ns) come in;
//! destinations come out. No sockets, no clocks.

pub mod bucket;
pub mod hist;
pub mod rtp;
pub mod seq;
pub mod stats;
pub mod token;

use bucket::TokenBucket;
use rtp::Packet;
use stats::{
    DropReason, Drops, Interval, RoomSnapshot, Snapshot, StreamSnapshot, StreamStats, Totals,
};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

/// Media kind of a participant's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Audio (default clock 48 kHz).
    Audio,
    /// Video (clock 90 kHz).
    Video,
}

impl Kind {
    /// "audio" or "video".
    pub fn name(self) -> &'static str {
        match self {
            Kind::Audio => "audio",
            Kind::Video => "video",
        }
    }

    /// RTP clock rate assumed for jitter.
    pub fn clock_rate(self) -> u32 {
        match self {
            Kind::Audio => 48_000,
            Kind::Video => 90_000,
        }
    }
}

/// Room and stream limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Rooms at once.
    pub max_rooms: usize,
    /// Members per room.
    pub max_members: usize,
    /// Members per room that may send media.
    pub max_publishers: usize,
    /// Per-publisher bitrate cap in bits/s (0: none).
    pub max_bitrate_bps: u64,
    /// Token-bucket depth in bytes.
    pub burst_bytes: u64,
    /// Reap a participant after this long without media or control messages (ns).
    pub inactivity_ns: u64,
    /// At most one PLI/FIR per publisher per this interval (ns).
    pub pli_interval_ns: u64,
    /// Largest datagram accepted.
    pub max_packet: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rooms: 10_000,
            max_members: 16,
            max_publishers: 16,
            max_bitrate_bps: 4_000_000,
            burst_bytes: 256 * 1024,
            inactivity_ns: 30_000_000_000,
            pli_interval_ns: 500_000_000,
            max_packet: 1500,
        }
    }
}

/// What a participant asks for when joining (the token is checked by the caller).
#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    /// Room name.
    pub room: String,
    /// Its stream's SSRC.
    pub ssrc: u32,
    /// Its stream's kind.
    pub kind: Kind,
    /// Where it wants media (None: latch onto the source of its first packet).
    pub recv: Option<SocketAddr>,
    /// Where it wants RTCP (None: same as media).
    pub rtcp: Option<SocketAddr>,
    /// Only media from this IP may latch (the control connection's peer).
    pub peer_ip: Option<IpAddr>,
}

/// Why a join was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    /// The room has `max_members`.
    #[error("room {0:?} is full")]
    RoomFull(String),
    /// `max_rooms` reached.
    #[error("too many rooms")]
    TooManyRooms,
    /// Another participant already uses the SSRC.
    #[error("ssrc {0} is already in use")]
    SsrcInUse(u32),
    /// Empty room name.
    #[error("empty room name")]
    EmptyRoom,
}

#[derive(Debug, Clone, Copy)]
struct Member {
    id: u64,
    dest: Option<SocketAddr>,
    rtcp: Option<SocketAddr>,
}

#[derive(Debug)]
struct Room {
    name: String,
    members: Vec<Member>,
    publishers: usize,
}

#[derive(Debug)]
struct Participant {
    room: usize,
    ssrc: u32,
    kind: Kind,
    recv: Option<SocketAddr>,
    rtcp_dest: Option<SocketAddr>,
    peer_ip: Option<IpAddr>,
    src: Option<SocketAddr>,
    rtcp_src: Option<SocketAddr>,
    publisher: bool,
    bucket: TokenBucket,
    last_active: u64,
    last_pli: Option<u64>,
    stats: StreamStats,
}

impl Participant {
    fn dest(&self) -> Option<SocketAddr> {
        self.recv.or(self.src)
    }
}

/// A forwarding decision for one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send the datagram unchanged to the destinations pushed into `out`.
    Forward,
    /// Dropped and counted.
    Drop(DropReason),
}

/// The relay state.
#[derive(Debug)]
pub struct Relay {
    limits: Limits,
    rooms: Vec<Option<Room>>,
    room_index: HashMap<String, usize>,
    free_rooms: Vec<usize>,
    participants: HashMap<u64, Participant>,
    by_ssrc: HashMap<u32, u64>,
    by_src: HashMap<SocketAddr, u64>,
    next_id: u64,
    drops: Drops,
    totals: Totals,
    last_tick: Option<u64>,
}

impl Relay {
    /// An empty relay.
    pub fn new(limits: Limits) -> Relay {
        Relay {
            limits,
            rooms: Vec::new(),
            room_index: HashMap::new(),
            free_rooms: Vec::new(),
            participants: HashMap::new(),
            by_ssrc: HashMap::new(),
            by_src: HashMap::new(),
            next_id: 1,
            drops: Drops::default(),
            totals: Totals::default(),
            last_tick: None,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Count a drop decided outside the core (a refused token, a truncated datagram).
    pub fn count_drop(&mut self, r: DropReason) {
        self.drops.add(r);
    }

    /// Drop counters.
    pub fn drops(&self) -> &Drops {
        &self.drops
    }

    /// Add a participant; returns its id.
    pub fn join(&mut self, j: Join, now: u64) -> Result<u64, JoinError> {
        if j.room.is_empty() {
            return Err(JoinError::EmptyRoom);
        }
        if self.by_ssrc.contains_key(&j.ssrc) {
            return Err(JoinError::SsrcInUse(j.ssrc));
        }
        let room = match self.room_index.get(&j.room) {
            Some(&r) => {
                let room = self.rooms[r].as_ref().expect("indexed rooms exist");
                if room.members.len() >= self.limits.max_members {
                    return Err(JoinError::RoomFull(j.room));
                }
                r
            }
            None => {
                if self.room_index.len() >= self.limits.max_rooms {
                    return Err(JoinError::TooManyRooms);
                }
                let room = Room {
                    name: j.room.clone(),
                    members: Vec::new(),
                    publishers: 0,
                };
                let r = match self.free_rooms.pop() {
                    Some(r) => {
                        self.rooms[r] = Some(room);
                        r
                    }
                    None => {
                        self.rooms.push(Some(room));
                        self.rooms.len() - 1
                    }
                };
                self.room_index.insert(j.room.clone(), r);
                r
            }
        };
        let id = self.next_id;
        self.next_id += 1;
        let l = &self.limits;
        let p = Participant {
            room,
            ssrc: j.ssrc,
            kind: j.kind,
            recv: j.recv,
            rtcp_dest: j.rtcp,
            peer_ip: j.peer_ip,
            src: None,
            rtcp_src: None,
            publisher: false,
            bucket: TokenBucket::new(l.max_bitrate_bps / 8, l.burst_bytes, now),
            last_active: now,
            last_pli: None,
            stats: StreamStats::default(),
        };
        self.rooms[room]
            .as_mut()
            .expect("room exists")
            .members
            .push(Member {
                id,
                dest: p.dest(),
                rtcp: p.rtcp_dest.or(p.dest()),
            });
        self.by_ssrc.insert(j.ssrc, id);
        // Symmetric RTP/RTCP (RFC 4961): datagrams from a declared receive address are this
        // participant's (the first to declare an address keeps it).
        // Only addresses on the control peer's own IP are claimed this way.
        for a in [j.recv, j.rtcp].into_iter().flatten() {
            if j.peer_ip.is_some_and(|ip| ip != a.ip()) {
                continue;
            }
            self.by_src.entry(a).or_insert(id);
        }
        self.participants.insert(id, p);
        self.totals.participants = self.participants.len();
        self.totals.rooms = self.room_index.len();
        Ok(id)
    }

    /// Remove a participant; false if unknown.
    pub fn leave(&mut self, id: u64) -> bool {
        let Some(p) = self.participants.remove(&id) else {
            return false;
        };
        self.by_ssrc.remove(&p.ssrc);
        for a in [p.src, p.rtcp_src, p.recv, p.rtcp_dest]
            .into_iter()
            .flatten()
        {
            if self.by_src.get(&a) == Some(&id) {
                self.by_src.remove(&a);
            }
        }
        if let Some(room) = self.rooms[p.room].as_mut() {
            room.members.retain(|m| m.id != id);
            if p.publisher {
                room.publishers -= 1;
            }
            if room.members.is_empty() {
                self.room_index.remove(&room.name);
                self.rooms[p.room] = None;
                self.free_rooms.push(p.room);
            }
        }
        if p.publisher {
            self.totals.publishers -= 1;
        }
        self.totals.participants = self.participants.len();
        self.totals.rooms = self.room_index.len();
        true
    }

    /// Note control-plane activity (ping) for `id`; false if unknown.
    pub fn touch(&mut self, id: u64, now: u64) -> bool {
        self.participants
            .get_mut(&id)
            .map(|p| p.last_active = p.last_active.max(now))
            .is_some()
    }

    /// Remove participants idle for longer than the inactivity timeout; returns their ids.
    pub fn reap(&mut self, now: u64) -> Vec<u64> {
        let idle: Vec<u64> = self
            .participants
            .iter()
            .filter(|(_, p)| now.saturating_sub(p.last_active) > self.limits.inactivity_ns)
            .map(|(id, _)| *id)
            .collect();
        for id in &idle {
            self.leave(*id);
        }
        idle
    }

    fn drop(&mut self, r: DropReason) -> Verdict {
        self.drops.add(r);
        Verdict::Drop(r)
    }

    /// Decide what to do with one datagram from `src` at `now`: destinations are appended
    /// to `out` (which the caller clears).
    pub fn handle(
        &mut self,
        buf: &[u8],
        src: SocketAddr,
        now: u64,
        out: &mut Vec<SocketAddr>,
    ) -> Verdict {
        if buf.len() > self.limits.max_packet {
            return self.drop(DropReason::Oversized);
        }
        let pkt = match rtp::parse(buf) {
            Ok(p) => p,
            Err(_) => return self.drop(DropReason::Malformed),
        };
        let id = match self.by_src.get(&src) {
            Some(&id) => id,
            None => match self.latch(&pkt, src) {
                Ok(id) => id,
                Err(r) => return self.drop(r),
            },
        };
        match pkt {
            Packet::Rtp(h) => self.forward_rtp(id, &h, src, buf.len(), now, out),
            Packet::Rtcp(i) => self.forward_rtcp(id, &i, now, out),
        }
    }

    /// A datagram from an unknown address: latch it to the participant owning its SSRC.
    fn latch(&mut self, pkt: &Packet, src: SocketAddr) -> Result<u64, DropReason> {
        let ssrc = match pkt {
            Packet::Rtp(h) => h.ssrc,
            Packet::Rtcp(i) => i.sender_ssrc,
        };
        let &id = self.by_ssrc.get(&ssrc).ok_or(DropReason::NoSession)?;
        let p = self.participants.get_mut(&id).expect("indexed");
        if p.peer_ip.is_some_and(|ip| ip != src.ip()) {
            return Err(DropReason::Forged);
        }
        match pkt {
            Packet::Rtp(_) => {
                if p.src.is_some() {
                    return Err(DropReason::Forged);
                }
                p.src = Some(src);
                let (dest, rtcp) = (p.dest(), p.rtcp_dest.or(p.dest()));
                let room = self.rooms[p.room].as_mut().expect("room of a participant");
                if let Some(m) = room.members.iter_mut().find(|m| m.id == id) {
                    m.dest = dest;
                    m.rtcp = rtcp;
                }
            }
            Packet::Rtcp(_) => {
                if p.rtcp_src.is_some() {
                    return Err(DropReason::Forged);
                }
                p.rtcp_src = Some(src);
            }
        }
        self.by_src.insert(src, id);
        Ok(id)
    }

    fn forward_rtp(
        &mut self,
        id: u64,
        h: &rtp::RtpHeader,
        src: SocketAddr,
        len: usize,
        now: u64,
        out: &mut Vec<SocketAddr>,
    ) -> Verdict {
        let p = self.participants.get_mut(&id).expect("indexed");
        if h.ssrc != p.ssrc {
            return self.drop(DropReason::Forged);
        }
        if p.src.is_none() {
            // First RTP from a declared (symmetric) address.
            p.src = Some(src);
        }
        let room = self.rooms[p.room].as_mut().expect("room of a participant");
        if !p.publisher {
            if room.publishers >= self.limits.max_publishers {
                self.drops.add(DropReason::OverCap);
                return Verdict::Drop(DropReason::OverCap);
            }
            p.publisher = true;
            room.publishers += 1;
            self.totals.publishers += 1;
        }
        if self.limits.max_bitrate_bps > 0 && !p.bucket.take(len as u64, now) {
            p.stats.over_cap += 1;
            self.drops.add(DropReason::OverCap);
            return Verdict::Drop(DropReason::OverCap);
        }
        p.last_active = now;
        let s = &mut p.stats;
        s.packets_in += 1;
        s.bytes_in += len as u64;
        if s.seq.update(h.seq) {
            let rate = u128::from(p.kind.clock_rate());
            let arrival = (u128::from(now) * rate / 1_000_000_000) as u32;
            s.seq.update_jitter(arrival, h.timestamp);
        }
        let before = out.len();
        out.extend(
            room.members
                .iter()
                .filter(|m| m.id != id)
                .filter_map(|m| m.dest),
        );
        let n = (out.len() - before) as u64;
        s.packets_out += n;
        s.bytes_out += n * len as u64;
        self.totals.rx_packets += 1;
        self.totals.rx_bytes += len as u64;
        self.totals.tx_packets += n;
        self.totals.tx_bytes += n * len as u64;
        Verdict::Forward
    }

    fn forward_rtcp(
        &mut self,
        id: u64,
        i: &rtp::RtcpInfo,
        now: u64,
        out: &mut Vec<SocketAddr>,
    ) -> Verdict {
        let p = self.participants.get_mut(&id).expect("indexed");
        p.stats.rtcp_in += 1;
        p.last_active = now;
        let room_idx = p.room;
        let fb = i.feedback;
        if let Some(media) = fb.media_ssrc {
            // Feedback goes to the publisher of `media` only, inside the same room.
            let target = self.by_ssrc.get(&media).copied();
            let Some(tid) = target.filter(|t| *t != id) else {
                return self.drop(DropReason::NoSession);
            };
            let t = self.participants.get_mut(&tid).expect("indexed");
            if t.room != room_idx {
                return self.drop(DropReason::Forged);
            }
            if fb.pli + fb.fir > 0 {
                if t.last_pli
                    .is_some_and(|l| now.saturating_sub(l) < self.limits.pli_interval_ns)
                {
                    return self.drop(DropReason::Throttled);
                }
                t.last_pli = Some(now);
            }
            t.stats.pli += u64::from(fb.pli);
            t.stats.fir += u64::from(fb.fir);
            t.stats.nack += u64::from(fb.nack);
            match t.rtcp_dest.or(t.dest()) {
                Some(d) => out.push(d),
                None => return self.drop(DropReason::NoSession),
            }
            return Verdict::Forward;
        }
        let room = self.rooms[room_idx]
            .as_ref()
            .expect("room of a participant");
        out.extend(
            room.members
                .iter()
                .filter(|m| m.id != id)
                .filter_map(|m| m.rtcp),
        );
        Verdict::Forward
    }

    /// Close a stats interval: per-stream bitrates, interval loss and mean jitter.
    pub fn tick(&mut self, now: u64) -> Interval {
        let dt = self
            .last_tick
            .map_or(0.0, |t| now.saturating_sub(t) as f64 / 1e9);
        self.last_tick = Some(now);
        let mut iv = Interval::default();
        let (mut expected, mut jitter_sum) = (0u64, 0.0);
        for p in self.participants.values_mut() {
            let s = &mut p.stats;
            let delta = s.bytes_in - s.bytes_at_tick;
            s.bytes_at_tick = s.bytes_in;
            s.bitrate_bps = if dt > 0.0 {
                delta as f64 * 8.0 / dt
            } else {
                0.0
            };
            let (e, l) = s.seq.interval_loss();
            expected += e;
            iv.lost += l;
            if delta > 0 {
                iv.active_streams += 1;
                jitter_sum += s.seq.jitter() * 1000.0 / f64::from(p.kind.clock_rate());
            }
        }
        if expected > 0 {
            iv.loss_pct = iv.lost as f64 * 100.0 / expected as f64;
        }
        if iv.active_streams > 0 {
            iv.jitter_ms = jitter_sum / iv.active_streams as f64;
        }
        iv
    }

    /// Host totals.
    pub fn totals(&self) -> Totals {
        let mut t = self.totals.clone();
        t.lost = self.participants.values().map(|p| p.stats.seq.lost()).sum();
        t
    }

    /// Everything, for the admin endpoint.
    pub fn snapshot(&self) -> Snapshot {
        let mut rooms: Vec<RoomSnapshot> = self
            .rooms
            .iter()
            .flatten()
            .map(|r| RoomSnapshot {
                room: r.name.clone(),
                members: r.members.len(),
                publishers: r.publishers,
                streams: r
                    .members
                    .iter()
                    .filter_map(|m| self.participants.get(&m.id).map(|p| (m.id, p)))
                    .map(|(id, p)| stream_snapshot(id, p))
                    .collect(),
            })
            .collect();
        rooms.sort_by(|a, b| a.room.cmp(&b.room));
        Snapshot {
            totals: self.totals(),
            drops: DropReason::ALL
                .iter()
                .map(|r| (r.name(), self.drops.get(*r)))
                .collect(),
            rooms,
        }
    }
}

fn stream_snapshot(id: u64, p: &Participant) -> StreamSnapshot {
    let s = &p.stats;
    let expected = s.seq.expected();
    StreamSnapshot {
        participant: id,
        ssrc: p.ssrc,
        kind: p.kind.name(),
        publisher: p.publisher,
        source: p.src.map(|a| a.to_string()),
        dest: p.dest().map(|a| a.to_string()),
        packets_in: s.packets_in,
        bytes_in: s.bytes_in,
        packets_out: s.packets_out,
        bytes_out: s.bytes_out,
        bitrate_bps: s.bitrate_bps,
        lost: s.seq.lost(),
        loss_pct: if expected > 0 {
            s.seq.lost() as f64 * 100.0 / expected as f64
        } else {
            0.0
        },
        jitter_ms: s.seq.jitter() * 1000.0 / f64::from(p.kind.clock_rate()),
        pli: s.pli,
        fir: s.fir,
        nack: s.nack,
        rtcp_in: s.rtcp_in,
        over_cap: s.over_cap,
    }
}

#[cfg(test)]
mod tests;
