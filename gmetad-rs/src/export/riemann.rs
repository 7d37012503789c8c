//! Riemann export (reference §3.8, gmetad 3.7.2's `export_helpers.c` / `process_xml.c` when built
//! `WITH_RIEMANN`): a hand-written protobuf encoder of riemann.proto's `Msg`/`Event` (sans-IO,
//! [`encode_snapshot`]) and a sender task behind a bounded queue ([`Riemann`]).
//!
//! What goes on the wire, as 3.7.2's `create_riemann_event` builds it:
//! - per HOST of a cluster we are the authority for, alive or not, one `heartbeat` event
//!   (`metric_sint64` = REPORTED, description "seconds", ttl = 4·TMAX);
//! - per METRIC of a live host (skipped when DMAX ≠ 0 and TN > DMAX), one event: service = NAME,
//!   `metric_sint64` (C `strtol`) for the int types, `metric_d` (C `strtod`) for float/double,
//!   `state` = VAL for string/timestamp; description = UNITS; ttl = TMAX;
//! - host = HOST NAME; tags = host TAGS split on ',' (empty pieces dropped, as `strtok` does);
//!   attributes = "grid=G,cluster=C,ip=IP,location=L[,riemann_attributes]" split on ',' then '='.
//! - `time` is NOT sent: 3.7.2 assigns `event->time` but never sets protobuf-c's `has_time`, so
//!   the field is never packed and Riemann stamps events with its own clock. We send the same.
//!
//! UDP: one datagram per event (a `Msg` holding one event). TCP: one `Msg` per host, each framed
//! by a 4-byte big-endian length, over one persistent connection; every reply `Msg` is read
//! (while the next frames are written) and its `ok` checked. A circuit breaker mirrors gmetad's: after more than 5 failures (or a failed
//! connect) nothing is sent for 15 s, then one reconnect is tried; socket operations time out
//! after 500 ms.

use crate::tree::summary::host_alive;
use crate::tree::{Node, Snapshot};
use ganglia_proto::MetricType;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// gmetad's RIEMANN_TCP_TIMEOUT.
pub const SOCKET_TIMEOUT: Duration = Duration::from_millis(500);
/// gmetad's RIEMANN_RETRY_TIMEOUT.
pub const RETRY_AFTER: Duration = Duration::from_secs(15);
/// gmetad's RIEMANN_MAX_FAILURES (the breaker opens when failures exceed it).
pub const MAX_FAILURES: u32 = 5;
/// Largest reply accepted from the server.
const MAX_REPLY: usize = 1 << 20;

/// The resolved `riemann_*` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `riemann_server`:`riemann_port`, resolved.
    pub addr: SocketAddr,
    /// `riemann_protocol`.
    pub transport: Transport,
    /// `riemann_attributes` ("k=v,k=v"), appended to every event's attributes.
    pub attributes: Option<String>,
}

/// Transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// One datagram per event.
    Udp,
    /// One length-prefixed `Msg` per host over a persistent connection.
    Tcp,
}

/// One riemann.proto `Event` (only the fields gmetad sets).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event<'a> {
    /// `time` (1).
    pub time: Option<i64>,
    /// `state` (2).
    pub state: Option<&'a str>,
    /// `service` (3).
    pub service: &'a str,
    /// `host` (4).
    pub host: &'a str,
    /// `description` (5).
    pub description: Option<&'a str>,
    /// `tags` (7).
    pub tags: &'a [&'a str],
    /// `ttl` (8).
    pub ttl: Option<f32>,
    /// `attributes` (9): key, optional value.
    pub attributes: &'a [(&'a str, Option<&'a str>)],
    /// `metric_sint64` (13).
    pub metric_sint64: Option<i64>,
    /// `metric_d` (14).
    pub metric_d: Option<f64>,
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn bytes_field(out: &mut Vec<u8>, tag: u8, b: &[u8]) {
    out.push(tag);
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Append the encoding of one `Event` message body (fields in number order, as protobuf-c).
pub fn encode_event(e: &Event<'_>, out: &mut Vec<u8>) {
    if let Some(t) = e.time {
        out.push(0x08);
        varint(out, t as u64);
    }
    if let Some(s) = e.state {
        bytes_field(out, 0x12, s.as_bytes());
    }
    bytes_field(out, 0x1a, e.service.as_bytes());
    bytes_field(out, 0x22, e.host.as_bytes());
    if let Some(d) = e.description {
        bytes_field(out, 0x2a, d.as_bytes());
    }
    for t in e.tags {
        bytes_field(out, 0x3a, t.as_bytes());
    }
    if let Some(ttl) = e.ttl {
        out.push(0x45);
        out.extend_from_slice(&ttl.to_le_bytes());
    }
    for (k, v) in e.attributes {
        let mut a = Vec::with_capacity(k.len() + v.map_or(0, str::len) + 4);
        bytes_field(&mut a, 0x0a, k.as_bytes());
        if let Some(v) = v {
            bytes_field(&mut a, 0x12, v.as_bytes());
        }
        bytes_field(out, 0x4a, &a);
    }
    if let Some(m) = e.metric_sint64 {
        out.push(0x68);
        varint(out, ((m << 1) ^ (m >> 63)) as u64);
    }
    if let Some(d) = e.metric_d {
        out.push(0x71);
        out.extend_from_slice(&d.to_le_bytes());
    }
}

/// Append a `Msg` carrying `events` (field 6).
pub fn encode_msg<'a>(events: impl IntoIterator<Item = &'a Event<'a>>, out: &mut Vec<u8>) {
    let mut body = Vec::with_capacity(256);
    for e in events {
        body.clear();
        encode_event(e, &mut body);
        bytes_field(out, 0x32, &body);
    }
}

/// The fields of a reply `Msg` the sender looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reply {
    /// `ok` (2).
    pub ok: Option<bool>,
    /// `error` (3).
    pub error: Option<String>,
}

/// Why a reply could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed Riemann reply at byte {0}")]
pub struct DecodeError(pub usize);

fn read_varint(b: &[u8], at: &mut usize) -> Result<u64, DecodeError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at).ok_or(DecodeError(*at))?;
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(v);
        }
    }
    Err(DecodeError(*at))
}

/// Decode a reply `Msg` (unknown fields skipped).
pub fn decode_reply(b: &[u8]) -> Result<Reply, DecodeError> {
    let mut r = Reply::default();
    let mut at = 0;
    while at < b.len() {
        let key = read_varint(b, &mut at)?;
        let (field, wire) = (key >> 3, key & 7);
        match wire {
            0 => {
                let v = read_varint(b, &mut at)?;
                if field == 2 {
                    r.ok = Some(v != 0);
                }
            }
            1 => at += 8,
            5 => at += 4,
            2 => {
                let n = read_varint(b, &mut at)? as usize;
                let end = at.checked_add(n).filter(|&e| e <= b.len());
                let end = end.ok_or(DecodeError(at))?;
                if field == 3 {
                    r.error = Some(String::from_utf8_lossy(&b[at..end]).into_owned());
                }
                at = end;
            }
            _ => return Err(DecodeError(at)),
        }
    }
    if at > b.len() {
        return Err(DecodeError(b.len()));
    }
    Ok(r)
}

/// C `strtol(s, NULL, 10)`: leading blanks, optional sign, digits; saturates; 0 if none.
pub fn c_strtol(s: &str) -> i64 {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        let d = i64::from(b - b'0');
        v = if neg {
            v.saturating_mul(10).saturating_sub(d)
        } else {
            v.saturating_mul(10).saturating_add(d)
        };
    }
    v
}

/// C `strtod(s, NULL)` for the forms gmond prints: the longest leading number; 0 if none.
pub fn c_strtod(s: &str) -> f64 {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'-') => (-1.0, &t[1..]),
        Some(b'+') => (1.0, &t[1..]),
        _ => (1.0, t),
    };
    match rest.get(..3).map(str::to_ascii_lowercase).as_deref() {
        Some("inf") => return sign * f64::INFINITY,
        Some("nan") => return f64::NAN,
        _ => {}
    }
    let end = t
        .bytes()
        .position(|b| !(b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E')))
        .unwrap_or(t.len())
        .min(64);
    (1..=end)
        .rev()
        .find_map(|n| t[..n].parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// `tokenize(s, ",")` of export_helpers.c: split, dropping empty pieces.
fn tokens<'a>(s: &'a str, delim: char) -> impl Iterator<Item = &'a str> + 'a {
    s.split(delim).filter(|p| !p.is_empty())
}

/// What one poll sends: frames ready for the wire (a UDP datagram each, or a length-prefixed
/// TCP `Msg` each) in one buffer, and how many events each carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    buf: Vec<u8>,
    ends: Vec<usize>,
    /// Events per frame.
    pub events: Vec<u32>,
}

impl Batch {
    /// Events in the batch.
    pub fn total_events(&self) -> u64 {
        self.events.iter().map(|&n| u64::from(n)).sum()
    }

    /// The wire frames, in order.
    pub fn frames(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(a, &b)| &self.buf[a..b])
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes on the wire.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    fn push(&mut self, frame: &[u8], events: u32) {
        self.buf.extend_from_slice(frame);
        self.ends.push(self.buf.len());
        self.events.push(events);
    }
}

/// Every event of a poll, encoded for `transport` (see the module documentation for what is
/// sent). `grid` is our GRID NAME, `extra` the `riemann_attributes` string.
pub fn encode_snapshot(
    snap: &Snapshot,
    grid: &str,
    extra: Option<&str>,
    transport: Transport,
) -> Batch {
    let mut batch = Batch::default();
    let mut msg = Vec::with_capacity(4096);
    for n in &snap.nodes {
        let Node::Cluster(c) = n else { continue };
        let cluster: &str = &c.cluster.name;
        let localtime = c.cluster.localtime;
        for h in c.polled_hosts() {
            let host: &str = &h.name;
            let tags: Vec<&str> = h
                .tags
                .as_deref()
                .map_or_else(Vec::new, |t| tokens(t, ',').collect());
            let ip: &str = &h.ip;
            let attr_str = format!(
                "grid={grid},cluster={cluster},ip={ip},location={}{}{}",
                h.location.as_deref().unwrap_or(""),
                if extra.is_some() { "," } else { "" },
                extra.unwrap_or("")
            );
            let attrs: Vec<(&str, Option<&str>)> = tokens(&attr_str, ',')
                .map(|kv| {
                    let mut p = tokens(kv, '=');
                    (p.next().unwrap_or(""), p.next())
                })
                .collect();
            let mut events = Vec::with_capacity(h.metrics.len() + 1);
            events.push(Event {
                service: "heartbeat",
                host,
                description: Some("seconds"),
                tags: &tags,
                ttl: Some((h.tmax * 4) as f32),
                attributes: &attrs,
                metric_sint64: Some(h.reported as i64),
                ..Event::default()
            });
            if host_alive(h, localtime, c.old) {
                for m in &h.metrics {
                    if crate::tree::expired(m) {
                        continue;
                    }
                    let Some(t) = MetricType::parse(&m.metric_type) else {
                        continue;
                    };
                    let val: &str = &m.val;
                    let mut e = Event {
                        service: &m.name,
                        host,
                        description: Some(&m.units),
                        tags: &tags,
                        ttl: Some(m.tmax as f32),
                        attributes: &attrs,
                        ..Event::default()
                    };
                    match t {
                        MetricType::Float | MetricType::Double => e.metric_d = Some(c_strtod(val)),
                        MetricType::String | MetricType::Timestamp => e.state = Some(val),
                        _ => e.metric_sint64 = Some(c_strtol(val)),
                    }
                    events.push(e);
                }
            }
            match transport {
                Transport::Udp => {
                    for e in &events {
                        msg.clear();
                        encode_msg([e], &mut msg);
                        batch.push(&msg, 1);
                    }
                }
                Transport::Tcp => {
                    msg.clear();
                    msg.extend_from_slice(&[0; 4]);
                    encode_msg(&events, &mut msg);
                    let len = (msg.len() - 4) as u32;
                    msg[..4].copy_from_slice(&len.to_be_bytes());
                    batch.push(&msg, events.len() as u32);
                }
            }
        }
    }
    batch
}

/// Counters of the exporter ("riemann" in /status).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RiemannStats {
    /// Events sent.
    pub sent: u64,
    /// Milliseconds spent sending.
    pub total_millis: u64,
    /// Epoch ms of the last send.
    pub last_time: u64,
    /// Events dropped (queue full, breaker open, send failure).
    pub dropped: u64,
    /// Failures (connect, send, reply timeout, reply not ok).
    pub failures: u64,
    /// TCP connections made.
    pub connects: u64,
    /// Whether the circuit breaker is open now.
    pub breaker_open: bool,
}

/// Handle to the exporter task.
#[derive(Debug, Clone)]
pub struct Riemann {
    tx: mpsc::Sender<Batch>,
    stats: Arc<Mutex<RiemannStats>>,
    queued: super::Budget,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Riemann {
    /// Start the exporter task on the current runtime.
    pub fn spawn(addr: SocketAddr, transport: Transport) -> Riemann {
        let (tx, rx) = mpsc::channel(64);
        let stats = Arc::new(Mutex::new(RiemannStats::default()));
        let queued = super::Budget::default();
        tokio::spawn(run(addr, transport, rx, stats.clone(), queued.clone()));
        Riemann { tx, stats, queued }
    }

    /// Queue a poll's events; never blocks (a full queue, by count or by
    /// [`super::MAX_QUEUED_BYTES`], drops them and counts them).
    pub fn send(&self, batch: Batch) {
        if batch.is_empty() {
            return;
        }
        let (n, bytes) = (batch.total_events(), batch.bytes());
        if !self.queued.try_send(&self.tx, batch, bytes) {
            lock(&self.stats).dropped += n;
        }
    }

    /// Counters.
    pub fn stats(&self) -> RiemannStats {
        *lock(&self.stats)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The TCP side: connection plus gmetad's circuit breaker.
struct Tcp {
    addr: SocketAddr,
    stats: Arc<Mutex<RiemannStats>>,
    conn: Option<tokio::net::TcpStream>,
    failures: u32,
    open_until: Option<Instant>,
}

impl Tcp {
    fn open(&mut self, why: &str) {
        lock(&self.stats).breaker_open = true;
        tracing::error!(server = %self.addr, failures = self.failures, reason = why,
            "Riemann: circuit breaker open; nothing sent for {} s.", RETRY_AFTER.as_secs());
        self.conn = None;
        self.open_until = Some(Instant::now() + RETRY_AFTER);
    }

    fn fail(&mut self, why: &str) {
        self.failures += 1;
        lock(&self.stats).failures += 1;
        tracing::warn!(server = %self.addr, failures = self.failures, error = why, "Riemann: send failed.");
        if self.failures > MAX_FAILURES {
            self.open(why);
        }
    }

    /// Send every frame and read one reply per frame; returns the events delivered.
    async fn send(&mut self, batch: &Batch) -> u64 {
        if let Some(t) = self.open_until {
            if Instant::now() < t {
                return 0;
            }
            self.open_until = None;
            self.failures = 0;
            lock(&self.stats).breaker_open = false;
            tracing::info!(server = %self.addr, "Riemann: retry period over, reconnecting.");
        }
        if self.conn.is_none() {
            match tokio::time::timeout(SOCKET_TIMEOUT, tokio::net::TcpStream::connect(self.addr))
                .await
            {
                Ok(Ok(s)) => {
                    let _ = s.set_nodelay(true);
                    lock(&self.stats).connects += 1;
                    self.conn = Some(s);
                }
                Ok(Err(e)) => {
                    lock(&self.stats).failures += 1;
                    self.open(&format!("cannot connect: {e}"));
                    return 0;
                }
                Err(_) => {
                    lock(&self.stats).failures += 1;
                    self.open("connect timed out");
                    return 0;
                }
            }
        }
        let Some(s) = self.conn.as_mut() else {
            return 0;
        };
        // Every frame (one host each) is written while the replies (one per Msg, as a Riemann
        // server answers) are read on the other half, so a distant server costs one round trip
        // per poll, not one per host. A reply that is not ok (back-pressure) counts as a
        // failure and keeps the connection; an I/O error or a timeout drops it.
        let (mut rd, mut wr) = s.split();
        let write = async {
            for f in batch.frames() {
                match tokio::time::timeout(SOCKET_TIMEOUT, wr.write_all(f)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(format!("write: {e}")),
                    Err(_) => return Err("write timed out".to_string()),
                }
            }
            Ok(())
        };
        let read = async {
            let mut replies = Vec::with_capacity(batch.len());
            for _ in 0..batch.len() {
                match tokio::time::timeout(SOCKET_TIMEOUT, read_reply(&mut rd)).await {
                    Ok(Ok(r)) => replies.push(r),
                    Ok(Err(e)) => return (replies, Some(format!("reading a reply: {e}"))),
                    Err(_) => return (replies, Some("no reply within 500 ms".to_string())),
                }
            }
            (replies, None)
        };
        let (written, (replies, read_err)) = tokio::join!(write, read);
        let mut delivered = 0;
        let mut all_ok = true;
        for (r, &n) in replies.iter().zip(&batch.events) {
            if r.ok == Some(true) {
                delivered += u64::from(n);
                continue;
            }
            all_ok = false;
            if self.open_until.is_none() {
                self.fail(&format!(
                    "server answered not ok: {}",
                    r.error.as_deref().unwrap_or("(no error text)")
                ));
            }
        }
        if let Some(e) = written.err().or(read_err) {
            all_ok = false;
            if self.open_until.is_none() {
                self.conn = None;
                self.fail(&e);
            }
        }
        if all_ok {
            self.failures = 0;
        }
        delivered
    }
}

async fn read_reply<R: tokio::io::AsyncRead + Unpin>(s: &mut R) -> std::io::Result<Reply> {
    let mut h = [0u8; 4];
    s.read_exact(&mut h).await?;
    let n = u32::from_be_bytes(h) as usize;
    if n > MAX_REPLY {
        return Err(std::io::Error::other(format!("reply of {n} bytes")));
    }
    let mut b = vec![0u8; n];
    s.read_exact(&mut b).await?;
    decode_reply(&b).map_err(std::io::Error::other)
}

async fn run(
    addr: SocketAddr,
    transport: Transport,
    mut rx: mpsc::Receiver<Batch>,
    stats: Arc<Mutex<RiemannStats>>,
    queued: super::Budget,
) {
    let udp = match transport {
        Transport::Udp => {
            let bind: SocketAddr = if addr.is_ipv4() {
                ([0, 0, 0, 0], 0).into()
            } else {
                (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
            };
            match tokio::net::UdpSocket::bind(bind).await {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::error!(error = %e, "Riemann: cannot open a UDP socket; nothing will be sent.");
                    None
                }
            }
        }
        Transport::Tcp => None,
    };
    let mut tcp = Tcp {
        addr,
        stats: stats.clone(),
        conn: None,
        failures: 0,
        open_until: None,
    };
    let mut udp_errors_logged = false;
    while let Some(batch) = rx.recv().await {
        queued.give(batch.bytes());
        let t0 = Instant::now();
        let total = batch.total_events();
        let delivered = match (&udp, transport) {
            (Some(s), Transport::Udp) => {
                let mut ok = 0;
                for (f, &n) in batch.frames().zip(&batch.events) {
                    match s.send_to(f, addr).await {
                        Ok(w) if w == f.len() => ok += u64::from(n),
                        r => {
                            lock(&stats).failures += 1;
                            if !udp_errors_logged {
                                udp_errors_logged = true;
                                tracing::error!(server = %addr, result = ?r, "Riemann: UDP send failed (logged once).");
                            }
                        }
                    }
                }
                ok
            }
            (_, Transport::Tcp) => tcp.send(&batch).await,
            _ => 0,
        };
        let mut s = lock(&stats);
        s.dropped += total - delivered;
        if delivered > 0 {
            s.sent += delivered;
            s.total_millis += t0.elapsed().as_millis() as u64;
            s.last_time = now_ms();
        }
    }
}

#[cfg(test)]
mod tests;
