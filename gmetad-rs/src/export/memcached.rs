//! memcached export (reference §3.8; gmetad 3.7.2's `write_data_to_memcached` when built
//! `WITH_MEMCACHED`, which Debian's package is not): every metric of every live host we are the
//! authority for (all types, skipped when DMAX ≠ 0 and TN > DMAX) is stored as key
//! `HOST/METRIC` (or `CLUSTER/HOST/METRIC` with `memcached_include_cluster_in_key`), value VAL,
//! expiry = the metric's DMAX (0 = never), in memcached's text protocol:
//! `set <key> 0 <exptime> <bytes> noreply\r\n<val>\r\n`.
//!
//! `memcached_parameters` is a libmemcached option string; `--SERVER=host[:port]` (repeatable,
//! port 11211) is honoured, `--POOL-MIN`/`--POOL-MAX` are accepted (one connection per server
//! here), anything else is ignored with a warning. With several servers a key goes where
//! libmemcached's defaults send it (one-at-a-time hash, modula distribution), so libmemcached
//! readers find it. Keys that 3.7.2 refuses as too long (components + 3 > 250 bytes) and keys
//! memcached's text protocol cannot carry (space or control characters) are skipped and counted.
//!
//! Sending runs on its own task behind a bounded queue: one persistent TCP connection per server,
//! each poll's sets written in one go and closed by a `version` request whose answer confirms
//! that the server read them all; a broken connection is re-opened with a doubling back-off
//! (1 s to 30 s).

use crate::tree::{Node, Snapshot};
use ganglia_proto::MetricType;
use std::io::Write as _;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// gmetad's MEMCACHED_MAX_KEY_LENGTH.
pub const MAX_KEY: usize = 250;
/// memcached's default port.
pub const DEFAULT_PORT: u16 = 11211;
/// How long a server may take to confirm a batch (or to accept a connection).
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// `memcached_parameters`, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parameters {
    /// `--SERVER=` entries: host and port, in order.
    pub servers: Vec<(String, u16)>,
    /// `--POOL-MIN=` (accepted, not needed: one connection per server).
    pub pool_min: Option<u32>,
    /// `--POOL-MAX=`.
    pub pool_max: Option<u32>,
    /// Options not understood (ignored).
    pub ignored: Vec<String>,
}

/// Why `memcached_parameters` is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// No `--SERVER=`.
    #[error("memcached_parameters {0:?} names no --SERVER=host:port")]
    NoServer(String),
    /// A malformed value.
    #[error("memcached_parameters: bad {0}")]
    Bad(String),
}

/// Parse a libmemcached option string ("--SERVER=a:11211 --SERVER=b --POOL-MAX=4").
pub fn parse_parameters(s: &str) -> Result<Parameters, ParamError> {
    let mut p = Parameters::default();
    for tok in s.split_whitespace() {
        let (name, value) = tok.split_once('=').unwrap_or((tok, ""));
        let value = value.trim_matches('"');
        match name.to_ascii_uppercase().as_str() {
            "--SERVER" => {
                // host, host:port, [v6]:port; libmemcached's "/?weight" suffix is ignored.
                let v = value.split("/?").next().unwrap_or(value);
                let (host, port) = if let Some(rest) = v.strip_prefix('[') {
                    let (h, tail) = rest
                        .split_once(']')
                        .ok_or_else(|| ParamError::Bad(format!("--SERVER={value}")))?;
                    (h, tail.strip_prefix(':'))
                } else if v.matches(':').count() == 1 {
                    let (h, port) = v.split_once(':').unwrap_or((v, ""));
                    (h, Some(port))
                } else {
                    (v, None)
                };
                let port = match port {
                    Some(x) => x
                        .parse()
                        .map_err(|_| ParamError::Bad(format!("port in --SERVER={value}")))?,
                    None => DEFAULT_PORT,
                };
                if host.is_empty() {
                    return Err(ParamError::Bad(format!("--SERVER={value}")));
                }
                p.servers.push((host.to_string(), port));
            }
            "--POOL-MIN" | "--POOL-MAX" => {
                let n = value
                    .parse()
                    .map_err(|_| ParamError::Bad(tok.to_string()))?;
                if name.eq_ignore_ascii_case("--POOL-MIN") {
                    p.pool_min = Some(n);
                } else {
                    p.pool_max = Some(n);
                }
            }
            _ => p.ignored.push(tok.to_string()),
        }
    }
    if p.servers.is_empty() {
        return Err(ParamError::NoServer(s.to_string()));
    }
    Ok(p)
}

/// The resolved memcached export settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Servers, in `--SERVER=` order (the order the key distribution uses).
    pub servers: Vec<SocketAddr>,
    /// `memcached_include_cluster_in_key`.
    pub include_cluster: bool,
}

impl Settings {
    /// Parse and resolve `memcached_parameters`.
    pub fn resolve(parameters: &str, include_cluster: bool) -> Result<Settings, ParamError> {
        let p = parse_parameters(parameters)?;
        for i in &p.ignored {
            tracing::warn!(option = %i, "memcached_parameters: option not supported; ignored.");
        }
        let mut servers = Vec::new();
        for (h, port) in &p.servers {
            let sa = (h.as_str(), *port)
                .to_socket_addrs()
                .ok()
                .and_then(|mut i| i.next())
                .ok_or_else(|| ParamError::Bad(format!("--SERVER={h}:{port} does not resolve")))?;
            servers.push(sa);
        }
        Ok(Settings {
            servers,
            include_cluster,
        })
    }
}

/// libhashkit's one-at-a-time hash (libmemcached's default), bytes taken as C `char` (signed).
pub fn one_at_a_time(key: &[u8]) -> u32 {
    let mut v: u32 = 0;
    for &b in key {
        v = v.wrapping_add(b as i8 as i32 as u32);
        v = v.wrapping_add(v << 10);
        v ^= v >> 6;
    }
    v = v.wrapping_add(v << 3);
    v ^= v >> 11;
    v.wrapping_add(v << 15)
}

/// Which of `n` servers holds `key` (libmemcached's modula distribution).
pub fn server_for(key: &[u8], n: usize) -> usize {
    if n <= 1 {
        0
    } else {
        (one_at_a_time(key) as usize) % n
    }
}

/// The key of a metric, or `None` when 3.7.2 would refuse it as too long or memcached's text
/// protocol could not carry it.
pub fn key(include_cluster: bool, cluster: &str, host: &str, metric: &str) -> Option<String> {
    let k = if include_cluster {
        if cluster.len() + host.len() + metric.len() + 3 > MAX_KEY {
            return None;
        }
        format!("{cluster}/{host}/{metric}")
    } else {
        if host.len() + metric.len() + 3 > MAX_KEY {
            return None;
        }
        format!("{host}/{metric}")
    };
    (!k.bytes().any(|b| b <= b' ' || b == 0x7f)).then_some(k)
}

/// Append one `set ... noreply`.
pub fn set(out: &mut Vec<u8>, key: &str, val: &[u8], exptime: u64) {
    let _ = write!(out, "set {key} 0 {exptime} {} noreply\r\n", val.len());
    out.extend_from_slice(val);
    out.extend_from_slice(b"\r\n");
}

/// What one poll stores: the bytes for each server and how many sets they hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// Per server (index as in [`Settings::servers`]): wire bytes and number of sets.
    pub per_server: Vec<(Vec<u8>, u64)>,
    /// Keys skipped (too long or unusable).
    pub skipped: u64,
}

impl Batch {
    /// Bytes on the wire.
    pub fn bytes(&self) -> usize {
        self.per_server.iter().map(|s| s.0.len()).sum()
    }
}

/// Every set of a poll (see the module documentation).
pub fn encode_snapshot(snap: &Snapshot, include_cluster: bool, servers: usize) -> Batch {
    let servers = servers.max(1);
    let mut b = Batch {
        per_server: vec![(Vec::new(), 0); servers],
        skipped: 0,
    };
    for n in &snap.nodes {
        let Node::Cluster(c) = n else { continue };
        for h in crate::tree::live_hosts(c) {
            for m in &h.metrics {
                if crate::tree::expired(m) || MetricType::parse(&m.metric_type).is_none() {
                    continue;
                }
                let Some(k) = key(include_cluster, &c.cluster.name, &h.name, &m.name) else {
                    b.skipped += 1;
                    continue;
                };
                let slot = &mut b.per_server[server_for(k.as_bytes(), servers)];
                let val: &str = &m.val;
                set(&mut slot.0, &k, val.as_bytes(), m.dmax);
                slot.1 += 1;
            }
        }
    }
    b
}

/// Counters of the exporter ("memcached" in /status).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MemcachedStats {
    /// Sets confirmed sent.
    pub sent: u64,
    /// Milliseconds spent sending.
    pub total_millis: u64,
    /// Epoch ms of the last send.
    pub last_time: u64,
    /// Sets dropped (queue full, server down, send failure).
    pub dropped: u64,
    /// Keys skipped (too long or unusable).
    pub skipped_keys: u64,
    /// Error lines the servers answered.
    pub server_errors: u64,
    /// Connections made.
    pub connects: u64,
}

/// Handle to the exporter task.
#[derive(Debug, Clone)]
pub struct Memcached {
    tx: mpsc::Sender<Batch>,
    stats: Arc<Mutex<MemcachedStats>>,
    servers: usize,
    queued: super::Budget,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Memcached {
    /// Start the exporter task on the current runtime.
    pub fn spawn(servers: Vec<SocketAddr>) -> Memcached {
        let (tx, rx) = mpsc::channel(64);
        let stats = Arc::new(Mutex::new(MemcachedStats::default()));
        let n = servers.len();
        let queued = super::Budget::default();
        tokio::spawn(run(servers, rx, stats.clone(), queued.clone()));
        Memcached {
            tx,
            stats,
            servers: n,
            queued,
        }
    }

    /// How many servers keys are spread over.
    pub fn servers(&self) -> usize {
        self.servers
    }

    /// Queue a poll's sets; never blocks (a full queue, by count or by
    /// [`super::MAX_QUEUED_BYTES`], drops them and counts them).
    pub fn send(&self, batch: Batch) {
        lock(&self.stats).skipped_keys += batch.skipped;
        let n: u64 = batch.per_server.iter().map(|s| s.1).sum();
        if n == 0 {
            return;
        }
        let bytes = batch.bytes();
        if !self.queued.try_send(&self.tx, batch, bytes) {
            lock(&self.stats).dropped += n;
        }
    }

    /// Counters.
    pub fn stats(&self) -> MemcachedStats {
        *lock(&self.stats)
    }
}

struct Conn {
    addr: SocketAddr,
    stream: Option<BufReader<tokio::net::TcpStream>>,
    retry_at: Option<Instant>,
    backoff: Duration,
}

impl Conn {
    fn broken(&mut self, why: &str) {
        tracing::warn!(server = %self.addr, error = why,
            "memcached: connection failed; retrying in {} s.", self.backoff.as_secs());
        self.stream = None;
        self.retry_at = Some(Instant::now() + self.backoff);
        self.backoff = (self.backoff * 2).min(Duration::from_secs(30));
    }

    /// Write the sets and a `version`, read up to its answer; returns error lines seen, or why
    /// the batch could not be delivered.
    async fn deliver(&mut self, bytes: &[u8], stats: &Mutex<MemcachedStats>) -> Result<u64, ()> {
        if self.retry_at.is_some_and(|t| Instant::now() < t) {
            return Err(());
        }
        if self.stream.is_none() {
            match tokio::time::timeout(TIMEOUT, tokio::net::TcpStream::connect(self.addr)).await {
                Ok(Ok(s)) => {
                    let _ = s.set_nodelay(true);
                    lock(stats).connects += 1;
                    if self.retry_at.take().is_some() {
                        tracing::info!(server = %self.addr, "memcached: reconnected.");
                    }
                    self.stream = Some(BufReader::new(s));
                }
                Ok(Err(e)) => {
                    self.broken(&format!("cannot connect: {e}"));
                    return Err(());
                }
                Err(_) => {
                    self.broken("connect timed out");
                    return Err(());
                }
            }
        }
        let Some(s) = self.stream.as_mut() else {
            return Err(());
        };
        let exchange = async {
            s.get_mut().write_all(bytes).await?;
            s.get_mut().write_all(b"version\r\n").await?;
            let mut errors = 0u64;
            let mut line = String::new();
            loop {
                line.clear();
                if s.read_line(&mut line).await? == 0 {
                    return Err(std::io::Error::other("server closed the connection"));
                }
                if line.starts_with("VERSION") {
                    return Ok(errors);
                }
                if errors == 0 {
                    tracing::warn!(answer = %line.trim_end(), "memcached: server refused a set.");
                }
                errors += 1;
            }
        };
        let wait = TIMEOUT.max(Duration::from_millis(bytes.len() as u64 / 1000));
        match tokio::time::timeout(wait, exchange).await {
            Ok(Ok(errors)) => {
                self.backoff = Duration::from_secs(1);
                Ok(errors)
            }
            Ok(Err(e)) => {
                self.broken(&e.to_string());
                Err(())
            }
            Err(_) => {
                self.broken("no answer in time");
                Err(())
            }
        }
    }
}

async fn run(
    servers: Vec<SocketAddr>,
    mut rx: mpsc::Receiver<Batch>,
    stats: Arc<Mutex<MemcachedStats>>,
    queued: super::Budget,
) {
    let mut conns: Vec<Conn> = servers
        .into_iter()
        .map(|addr| Conn {
            addr,
            stream: None,
            retry_at: None,
            backoff: Duration::from_secs(1),
        })
        .collect();
    while let Some(batch) = rx.recv().await {
        queued.give(batch.bytes());
        for (conn, (bytes, n)) in conns.iter_mut().zip(batch.per_server) {
            if n == 0 {
                continue;
            }
            let t0 = Instant::now();
            let r = conn.deliver(&bytes, &stats).await;
            let mut s = lock(&stats);
            match r {
                Ok(errors) => {
                    s.server_errors += errors;
                    s.sent += n.saturating_sub(errors);
                    s.dropped += errors.min(n);
                    s.total_millis += t0.elapsed().as_millis() as u64;
                    s.last_time = now_ms();
                }
                Err(()) => s.dropped += n,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_parse_like_libmemcached_options() {
        let p = parse_parameters(
            "--SERVER=127.0.0.1:11311 --server=cache2 --POOL-MIN=2 --POOL-MAX=8 --BINARY-PROTOCOL",
        )
        .unwrap();
        assert_eq!(
            p.servers,
            vec![("127.0.0.1".into(), 11311), ("cache2".into(), 11211)]
        );
        assert_eq!((p.pool_min, p.pool_max), (Some(2), Some(8)));
        assert_eq!(p.ignored, vec!["--BINARY-PROTOCOL".to_string()]);
        let p = parse_parameters("--SERVER=[::1]:1234 --SERVER=h:5/?3").unwrap();
        assert_eq!(p.servers, vec![("::1".into(), 1234), ("h".into(), 5)]);
        assert!(matches!(
            parse_parameters("--POOL-MIN=1"),
            Err(ParamError::NoServer(_))
        ));
        assert!(parse_parameters("--SERVER=h:notaport").is_err());
        assert!(parse_parameters("--POOL-MAX=x --SERVER=h").is_err());
    }

    #[test]
    fn keys_follow_gmetads_rules() {
        assert_eq!(key(false, "c", "h1", "load_one").unwrap(), "h1/load_one");
        assert_eq!(key(true, "c", "h1", "load_one").unwrap(), "c/h1/load_one");
        // 3.7.2's check: host + metric + 3 > 250 is refused.
        let h = "h".repeat(100);
        assert!(key(false, "", &h, &"m".repeat(147)).is_some());
        assert!(key(false, "", &h, &"m".repeat(148)).is_none());
        assert!(key(true, "c", &h, &"m".repeat(146)).is_some());
        assert!(key(true, "c", &h, &"m".repeat(147)).is_none());
        assert!(
            key(true, "my cluster", "h", "m").is_none(),
            "no spaces on the wire"
        );
        let mut out = Vec::new();
        set(&mut out, "h/m", b"0.5", 0);
        assert_eq!(out, b"set h/m 0 0 3 noreply\r\n0.5\r\n");
    }

    #[test]
    fn hash_is_libhashkits_one_at_a_time() {
        // Jenkins one-at-a-time reference values.
        assert_eq!(one_at_a_time(b"a"), 0xca2e_9442);
        assert_eq!(
            one_at_a_time(b"The quick brown fox jumps over the lazy dog"),
            0x519e_91f5
        );
        assert_eq!(server_for(b"anything", 1), 0);
        assert!(server_for(b"anything", 3) < 3);
    }
}
