//! Graphite/carbon export (reference §3.8): one line per host-level numeric metric,
//! `<path> <value> <LOCALTIME>\n`, over ONE persistent TCP connection (3.7.2 opened a connection
//! per metric and wrote the trailing NUL) or UDP datagrams. Sending runs on its own task behind
//! a bounded queue, so a slow carbon never stalls polling.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// How metric paths are built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathScheme {
    /// `graphite_prefix`.
    pub prefix: Option<String>,
    /// `graphite_path` with `%s` (cluster), `%h` (host), `%m` (metric).
    pub path: Option<String>,
    /// `case_sensitive_hostnames`: when false, host names are lower-cased.
    pub case_sensitive_hostnames: bool,
}

impl PathScheme {
    /// The Graphite path of a metric: cluster spaces → `_`, host dots → `_`, metric spaces → `_`.
    pub fn path(&self, cluster: &str, host: &str, metric: &str) -> String {
        let c = cluster.replace(' ', "_");
        let mut h = host.replace('.', "_");
        if !self.case_sensitive_hostnames {
            h = h.to_lowercase();
        }
        let m = metric.replace(' ', "_");
        let body = match &self.path {
            Some(p) => {
                let mut out = String::with_capacity(p.len() + c.len() + h.len() + m.len());
                let mut chars = p.chars();
                while let Some(ch) = chars.next() {
                    if ch != '%' {
                        out.push(ch);
                        continue;
                    }
                    match chars.next() {
                        Some('s') => out.push_str(&c),
                        Some('h') => out.push_str(&h),
                        Some('m') => out.push_str(&m),
                        Some(o) => {
                            out.push('%');
                            out.push(o);
                        }
                        None => out.push('%'),
                    }
                }
                out
            }
            None => format!("{c}.{h}.{m}"),
        };
        match &self.prefix {
            Some(p) if !p.is_empty() => format!("{p}.{body}"),
            _ => body,
        }
    }
}

/// Append one plaintext-protocol line.
pub fn line(out: &mut String, path: &str, value: &str, ts: u64) {
    let _ = writeln!(out, "{path} {value} {ts}");
}

/// Transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// One persistent TCP connection, reconnected on failure.
    Tcp,
    /// UDP datagrams of whole lines.
    Udp,
}

/// Counters of the exporter.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CarbonStats {
    /// Batches sent.
    pub sent: u64,
    /// Batches dropped (queue full or send failure).
    pub dropped: u64,
    /// Connection (re)establishments.
    pub connects: u64,
}

/// Handle to the exporter task.
#[derive(Debug, Clone)]
pub struct Carbon {
    tx: mpsc::Sender<String>,
    stats: std::sync::Arc<std::sync::Mutex<CarbonStats>>,
}

impl Carbon {
    /// Start the exporter task on the current runtime.
    pub fn spawn(addr: SocketAddr, transport: Transport, timeout: Duration) -> Carbon {
        let (tx, rx) = mpsc::channel(64);
        let stats = std::sync::Arc::new(std::sync::Mutex::new(CarbonStats::default()));
        tokio::spawn(run(addr, transport, timeout, rx, stats.clone()));
        Carbon { tx, stats }
    }

    /// Queue a batch of lines; never blocks (a full queue drops the batch and counts it).
    pub fn send(&self, batch: String) {
        if batch.is_empty() {
            return;
        }
        if self.tx.try_send(batch).is_err() {
            self.stats.lock().unwrap_or_else(|e| e.into_inner()).dropped += 1;
        }
    }

    /// Counters.
    pub fn stats(&self) -> CarbonStats {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn run(
    addr: SocketAddr,
    transport: Transport,
    timeout: Duration,
    mut rx: mpsc::Receiver<String>,
    stats: std::sync::Arc<std::sync::Mutex<CarbonStats>>,
) {
    let bump = |f: fn(&mut CarbonStats)| f(&mut stats.lock().unwrap_or_else(|e| e.into_inner()));
    let mut tcp: Option<tokio::net::TcpStream> = None;
    let udp = match transport {
        Transport::Udp => {
            let bind: SocketAddr = if addr.is_ipv4() {
                "0.0.0.0:0"
            } else {
                "[::]:0"
            }
            .parse()
            .unwrap_or(addr);
            tokio::net::UdpSocket::bind(bind).await.ok()
        }
        Transport::Tcp => None,
    };
    while let Some(batch) = rx.recv().await {
        let ok = match transport {
            Transport::Udp => match &udp {
                Some(s) => {
                    let mut all = true;
                    // Keep datagrams under a typical MTU, split at line boundaries.
                    let mut chunk = String::new();
                    for l in batch.split_inclusive('\n') {
                        if chunk.len() + l.len() > 1400 && !chunk.is_empty() {
                            all &= s.send_to(chunk.as_bytes(), addr).await.is_ok();
                            chunk.clear();
                        }
                        chunk.push_str(l);
                    }
                    if !chunk.is_empty() {
                        all &= s.send_to(chunk.as_bytes(), addr).await.is_ok();
                    }
                    all
                }
                None => false,
            },
            Transport::Tcp => {
                let mut ok = false;
                for _attempt in 0..2 {
                    if tcp.is_none() {
                        if let Ok(Ok(s)) =
                            tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr))
                                .await
                        {
                            bump(|s| s.connects += 1);
                            tcp = Some(s);
                        }
                    }
                    let Some(s) = tcp.as_mut() else { break };
                    match tokio::time::timeout(
                        timeout.max(Duration::from_secs(1)),
                        s.write_all(batch.as_bytes()),
                    )
                    .await
                    {
                        Ok(Ok(())) => {
                            ok = true;
                            break;
                        }
                        _ => tcp = None, // reconnect once, then give up on this batch
                    }
                }
                ok
            }
        };
        if ok {
            bump(|s| s.sent += 1)
        } else {
            bump(|s| s.dropped += 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[test]
    fn paths_follow_graphite_path_rules() {
        let mut s = PathScheme::default();
        assert_eq!(
            s.path("my cluster", "web1.example.com", "load_one"),
            "my_cluster.web1_example_com.load_one"
        );
        s.prefix = Some("ganglia".into());
        s.path = Some("%s.hosts.%h.%m".into());
        assert_eq!(
            s.path("c", "Web1", "disk free"),
            "ganglia.c.hosts.web1.disk_free"
        );
        s.case_sensitive_hostnames = true;
        assert_eq!(s.path("c", "Web1", "x"), "ganglia.c.hosts.Web1.x");
        let mut out = String::new();
        line(&mut out, "a.b.c", "0.5", 1700000000);
        assert_eq!(out, "a.b.c 0.5 1700000000\n");
    }

    #[tokio::test]
    async fn one_persistent_connection_for_many_batches() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let c = Carbon::spawn(addr, Transport::Tcp, Duration::from_millis(500));
        for i in 0..5 {
            c.send(format!("m.{i} {i} 100\n"));
        }
        let (mut s, _) = l.accept().await.unwrap();
        let mut got = String::new();
        while got.lines().count() < 5 {
            let mut b = [0u8; 256];
            let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut b))
                .await
                .unwrap()
                .unwrap();
            got.push_str(std::str::from_utf8(&b[..n]).unwrap());
        }
        assert_eq!(
            got,
            "m.0 0 100\nm.1 1 100\nm.2 2 100\nm.3 3 100\nm.4 4 100\n"
        );
        assert!(!got.contains('\0'));
        assert_eq!(c.stats().connects, 1);
    }
}
