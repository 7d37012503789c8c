//! The load client behind `relay-load`: rooms × members on loopback, each member sending
//! audio-like (50 packets/s of 160 B) or video-like (~800 kbit/s in ≤ 1200 B packets) RTP with
//! a send timestamp in the payload, and receiving everything its room forwards.

use crate::client::{ClientError, Control};
use crate::core::rtp::{parse_rtp, write_rtp_header};
use crate::core::token::{Tokens, random_nonce};
use serde::Serialize;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Load shape.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Relay control address.
    pub control: SocketAddr,
    /// Token signer (the relay's secret).
    pub tokens: Tokens,
    /// Rooms.
    pub rooms: usize,
    /// Members per room.
    pub members: usize,
    /// Members per room that send video (the rest send audio).
    pub video_members: usize,
    /// Sending time.
    pub seconds: f64,
    /// Multiplier on every packet rate.
    pub rate_scale: f64,
    /// Print progress to stderr every second.
    pub progress: bool,
    /// Room-name prefix (rooms are PREFIX-0, PREFIX-1, …).
    pub room_prefix: String,
}

/// The final report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    /// Packets sent by all members.
    pub sent: u64,
    /// Copies that should arrive (sent × other members).
    pub expected: u64,
    /// Copies that arrived.
    pub delivered: u64,
    /// expected − delivered.
    pub lost: u64,
    /// lost / expected, percent.
    pub loss_pct: f64,
    /// Copies that arrived from another room (must be 0).
    pub cross_room: u64,
    /// Delivered copies per second of sending.
    pub delivered_pps: f64,
    /// Latency percentiles (send timestamp in the payload to receipt), µs.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Maximum.
    pub max_us: u64,
    /// Seconds of sending.
    pub seconds: f64,
}

/// Load failures.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Socket problem.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    /// Join failed.
    #[error("join: {0}")]
    Join(#[from] ClientError),
}

struct Member {
    room: u32,
    ssrc: u32,
    video: bool,
    sock: UdpSocket,
    media: SocketAddr,
}

const MAX_SAMPLES: usize = 4_000_000;

/// Run the load to completion.
pub fn run(cfg: &LoadConfig) -> Result<Summary, LoadError> {
    let epoch = Instant::now();
    let base = (random_nonce() as u32) & 0x7fff_0000;
    let expiry = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + cfg.seconds as u64
        + 3600;
    let mut controls = Vec::new();
    let mut members = Vec::new();
    for r in 0..cfg.rooms {
        let room = format!("{}-{r}", cfg.room_prefix);
        let token = cfg.tokens.sign(&room, expiry, random_nonce());
        let mut ctl = Control::connect(cfg.control)?;
        for m in 0..cfg.members {
            let sock = UdpSocket::bind("127.0.0.1:0")?;
            sock.set_nonblocking(true)?;
            let socket = socket2::SockRef::from(&sock);
            let _ = socket.set_recv_buffer_size(4 << 20);
            let ssrc = base + (r * cfg.members + m) as u32 + 1;
            let video = m < cfg.video_members;
            let kind = if video { "video" } else { "audio" };
            let j = ctl.join(&room, &token, ssrc, kind, Some(sock.local_addr()?), None)?;
            members.push(Member {
                room: r as u32,
                ssrc,
                video,
                sock,
                media: j.media,
            });
        }
        controls.push(ctl);
    }
    let members = Arc::new(members);
    let stop_rx = Arc::new(AtomicBool::new(false));
    let delivered = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let receiver = {
        let (members, stop, delivered) = (members.clone(), stop_rx.clone(), delivered.clone());
        std::thread::spawn(move || receive(&members, epoch, &stop, &delivered))
    };
    let sender = {
        let (members, sent) = (members.clone(), sent.clone());
        let (secs, scale) = (cfg.seconds, cfg.rate_scale);
        std::thread::spawn(move || send(&members, epoch, secs, scale, &sent))
    };
    let start = Instant::now();
    let mut last_ping = Instant::now();
    while !sender.is_finished() {
        std::thread::sleep(Duration::from_millis(100));
        if last_ping.elapsed() > Duration::from_secs(10) {
            // Keeps members whose media is sparse (tiny rate scales) from being reaped.
            for c in &mut controls {
                c.request(r#"{"op":"ping"}"#)?;
            }
            last_ping = Instant::now();
        }
        let t = start.elapsed().as_secs_f64();
        if cfg.progress && (t.fract() < 0.1) {
            eprintln!(
                "relay-load: t={:.0}s sent={} delivered={} ({:.0} delivered/s)",
                t,
                sent.load(Ordering::Relaxed),
                delivered.load(Ordering::Relaxed),
                delivered.load(Ordering::Relaxed) as f64 / t.max(0.001)
            );
        }
    }
    let per_member = sender.join().unwrap_or_default();
    let send_secs = start.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(300));
    stop_rx.store(true, Ordering::Relaxed);
    let (mut lat, cross) = receiver.join().unwrap_or_default();
    drop(controls);
    let sent_total: u64 = per_member.iter().sum();
    let expected: u64 = per_member
        .iter()
        .map(|s| s * (cfg.members as u64).saturating_sub(1))
        .sum();
    let got = delivered.load(Ordering::Relaxed);
    lat.sort_unstable();
    let pct = |q: f64| -> u64 {
        if lat.is_empty() {
            0
        } else {
            u64::from(lat[((lat.len() - 1) as f64 * q) as usize])
        }
    };
    let lost = expected.saturating_sub(got);
    Ok(Summary {
        sent: sent_total,
        expected,
        delivered: got,
        lost,
        loss_pct: if expected > 0 {
            lost as f64 * 100.0 / expected as f64
        } else {
            0.0
        },
        cross_room: cross,
        delivered_pps: got as f64 / send_secs.max(0.001),
        p50_us: pct(0.5),
        p99_us: pct(0.99),
        max_us: lat.last().copied().map_or(0, u64::from),
        seconds: send_secs,
    })
}

struct Stream {
    next: Instant,
    period: Duration,
    /// RTP timestamp advance per period (the media clock follows wall time at any scale).
    ts_step: u32,
    seq: u16,
    ts: u32,
}

fn packet(
    buf: &mut Vec<u8>,
    m: &Member,
    s: &mut Stream,
    marker: bool,
    size: usize,
    epoch: Instant,
) {
    buf.clear();
    write_rtp_header(
        buf,
        if m.video { 96 } else { 111 },
        marker,
        s.seq,
        s.ts,
        m.ssrc,
    );
    s.seq = s.seq.wrapping_add(1);
    let t = epoch.elapsed().as_nanos() as u64;
    buf.extend_from_slice(&t.to_be_bytes());
    buf.extend_from_slice(&m.room.to_be_bytes());
    buf.resize(size.max(buf.len()), 0x55);
}

/// Send until `secs` have passed; returns packets sent per member.
fn send(members: &[Member], epoch: Instant, secs: f64, scale: f64, sent: &AtomicU64) -> Vec<u64> {
    let scale = scale.max(1e-3);
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(secs);
    // Audio: one 160 B payload every 20 ms. Video: 25 frames/s of 4000 B (800 kbit/s) in
    // packets of at most 1200 B.
    let mut streams: Vec<Stream> = members
        .iter()
        .enumerate()
        .map(|(i, m)| Stream {
            next: start + Duration::from_micros((i as u64 * 1777) % 20_000),
            period: Duration::from_secs_f64(if m.video { 0.04 } else { 0.02 } / scale),
            ts_step: (if m.video {
                90_000.0 * 0.04
            } else {
                48_000.0 * 0.02
            } / scale) as u32,
            seq: (i as u16).wrapping_mul(7919),
            ts: 0,
        })
        .collect();
    let mut counts = vec![0u64; members.len()];
    let mut buf = Vec::with_capacity(1500);
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        for (i, (m, s)) in members.iter().zip(streams.iter_mut()).enumerate() {
            if s.next > now {
                continue;
            }
            if m.video {
                let mut left: usize = 4000;
                while left > 0 {
                    let chunk = left.min(1188);
                    left -= chunk;
                    packet(&mut buf, m, s, left == 0, 12 + chunk, epoch);
                    if m.sock.send_to(&buf, m.media).is_ok() {
                        counts[i] += 1;
                    }
                }
                s.ts = s.ts.wrapping_add(s.ts_step);
            } else {
                packet(&mut buf, m, s, false, 12 + 160, epoch);
                if m.sock.send_to(&buf, m.media).is_ok() {
                    counts[i] += 1;
                }
                s.ts = s.ts.wrapping_add(s.ts_step);
            }
            s.next += s.period;
            if s.next + s.period < now {
                s.next = now; // fell behind: do not burst to catch up
            }
        }
        sent.store(counts.iter().sum(), Ordering::Relaxed);
        let next = streams.iter().map(|s| s.next).min().unwrap_or(end).min(end);
        let wait = next.saturating_duration_since(Instant::now());
        if wait > Duration::from_micros(50) {
            std::thread::sleep(wait);
        }
    }
    counts
}

/// Receive until stopped: (latency samples in µs, copies from other rooms).
fn receive(
    members: &[Member],
    epoch: Instant,
    stop: &AtomicBool,
    delivered: &AtomicU64,
) -> (Vec<u32>, u64) {
    let mut fds: Vec<libc::pollfd> = members
        .iter()
        .map(|m| libc::pollfd {
            fd: m.sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let mut lat = Vec::new();
    let mut cross = 0;
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        // SAFETY: fds is a live array of pollfd of the given length.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 50) };
        if n <= 0 {
            continue;
        }
        for (m, p) in members.iter().zip(fds.iter_mut()) {
            if p.revents == 0 {
                continue;
            }
            p.revents = 0;
            while let Ok((len, _)) = m.sock.recv_from(&mut buf) {
                let now = epoch.elapsed().as_nanos() as u64;
                let Ok(h) = parse_rtp(&buf[..len]) else {
                    continue;
                };
                let pl = &buf[h.payload_offset..h.payload_offset + h.payload_len];
                if pl.len() < 12 {
                    continue;
                }
                let t = u64::from_be_bytes(pl[..8].try_into().unwrap_or_default());
                let room = u32::from_be_bytes(pl[8..12].try_into().unwrap_or_default());
                if room != m.room {
                    cross += 1;
                    continue;
                }
                delivered.fetch_add(1, Ordering::Relaxed);
                if lat.len() < MAX_SAMPLES {
                    lat.push(u32::try_from(now.saturating_sub(t) / 1000).unwrap_or(u32::MAX));
                }
            }
        }
    }
    (lat, cross)
}
