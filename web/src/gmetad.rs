//! Client for gmetad's interactive port (8652): one query line per connection, the answer read
//! to the end (bounded in size and time), parsed with the project's tolerant XML reader.
//!
//! The queries are exactly those ganglia-web sends (reference §3.2): `/?filter=summary`, `/`,
//! `/<cluster>`, `/<cluster>?filter=summary`. Names containing characters gmetad refuses in a
//! path fall back to the full tree `/`, and the caller always looks names up in the answer, so
//! gmetad's "not found: parent subtree" quirk cannot mislead a view.

use ganglia_proto::xml::read::{ReadLimits, read};
use ganglia_proto::xml::{Cluster, Document, Grid};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// Connecting, writing or reading timed out.
    #[error("gmetad {addr}: timed out after {secs} s")]
    Timeout {
        /// gmetad's address.
        addr: SocketAddr,
        /// The timeout.
        secs: u64,
    },
    /// A socket error.
    #[error("gmetad {addr}: {source}")]
    Io {
        /// gmetad's address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The answer was larger than the limit.
    #[error("gmetad {addr}: answer larger than {limit} bytes")]
    TooLarge {
        /// gmetad's address.
        addr: SocketAddr,
        /// The limit.
        limit: usize,
    },
    /// The answer is not a Ganglia document.
    #[error("gmetad {addr}: {source}")]
    Xml {
        /// gmetad's address.
        addr: SocketAddr,
        /// The reader's error.
        source: ganglia_proto::xml::read::XmlError,
    },
}

/// Characters gmetad 3.7.2 refuses anywhere in a query path.
const REFUSED: &[char] = &[
    '>', '!', '@', '#', '$', '%', '`', ';', '|', '"', '\\', '\'', '<', '?', '\n', '\r', '/', '*',
];

/// The query line for one cluster, or `None` when its name cannot be sent (then ask for `/`).
pub fn cluster_query(cluster: &str, summary: bool) -> Option<String> {
    if cluster.is_empty() || cluster.contains(REFUSED) || cluster.len() > 1000 {
        return None;
    }
    Some(if summary {
        format!("/{cluster}?filter=summary")
    } else {
        format!("/{cluster}")
    })
}

/// The grid answered by gmetad (the document's first GRID), if any.
pub fn root_grid(doc: &Document) -> Option<&Grid> {
    doc.grids.first()
}

/// Find a cluster by exact name anywhere in the document (nested grids included).
pub fn find_cluster<'a>(doc: &'a Document, name: &str) -> Option<&'a Cluster> {
    fn in_grid<'a>(g: &'a Grid, name: &str) -> Option<&'a Cluster> {
        g.clusters
            .iter()
            .find(|c| c.name == name)
            .or_else(|| g.grids.iter().find_map(|g| in_grid(g, name)))
    }
    doc.grids
        .iter()
        .find_map(|g| in_grid(g, name))
        .or_else(|| doc.clusters.iter().find(|c| c.name == name))
}

/// Every cluster of the document, in document order (nested grids included).
pub fn all_clusters(doc: &Document) -> Vec<&Cluster> {
    fn walk<'a>(g: &'a Grid, out: &mut Vec<&'a Cluster>) {
        out.extend(g.clusters.iter());
        for c in &g.grids {
            walk(c, out);
        }
    }
    let mut out: Vec<&Cluster> = doc.clusters.iter().collect();
    for g in &doc.grids {
        walk(g, &mut out);
    }
    out
}

/// A cached answer: query line, when it was read, the document.
type Cached = (String, Instant, Arc<Document>);

/// A gmetad interactive-port client with a short-lived answer cache (one per query line), so a
/// page and its graphs asking within `cache_ttl` cost one gmetad round trip.
#[derive(Debug, Clone)]
pub struct Client {
    addr: SocketAddr,
    timeout: Duration,
    max_bytes: usize,
    cache_ttl: Duration,
    cache: Arc<Mutex<Vec<Cached>>>,
    /// One lock per query line in flight, so concurrent requests (a page's graphs) that miss
    /// the cache together wait for one answer instead of each asking gmetad.
    inflight: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl Client {
    /// A client for `addr` with a per-query timeout, an answer size limit and a cache TTL
    /// (zero disables the cache).
    pub fn new(addr: SocketAddr, timeout: Duration, max_bytes: usize, cache_ttl: Duration) -> Self {
        Client {
            addr,
            timeout,
            max_bytes,
            cache_ttl,
            cache: Arc::default(),
            inflight: Arc::default(),
        }
    }

    /// gmetad's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn cached(&self, line: &str) -> Option<Arc<Document>> {
        if self.cache_ttl.is_zero() {
            return None;
        }
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .iter()
            .find(|(q, t, _)| q == line && t.elapsed() < self.cache_ttl)
            .map(|(_, _, d)| d.clone())
    }

    /// Send one query line (without the newline) and parse the answer (or reuse a fresh one).
    pub async fn query(&self, line: &str) -> Result<Arc<Document>, QueryError> {
        if let Some(d) = self.cached(line) {
            return Ok(d);
        }
        if self.cache_ttl.is_zero() {
            return self.ask(line).await;
        }
        let gate = {
            let mut m = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
            m.entry(line.to_owned()).or_default().clone()
        };
        let _turn = gate.lock().await;
        let r = match self.cached(line) {
            Some(d) => Ok(d),
            None => self.ask(line).await,
        };
        let mut m = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
        if Arc::strong_count(&gate) <= 2 {
            m.remove(line);
        }
        r
    }

    async fn ask(&self, line: &str) -> Result<Arc<Document>, QueryError> {
        let bytes = tokio::time::timeout(self.timeout, self.fetch(line))
            .await
            .map_err(|_| QueryError::Timeout {
                addr: self.addr,
                secs: self.timeout.as_secs(),
            })??;
        let addr = self.addr;
        let max_bytes = self.max_bytes;
        let doc = tokio::task::spawn_blocking(move || {
            let limits = ReadLimits {
                max_bytes,
                ..ReadLimits::default()
            };
            read(&bytes, &limits).map(|o| {
                if !o.problems.is_empty() {
                    tracing::debug!(problems = o.problems.len(), "gmetad answer repaired");
                }
                o.doc
            })
        })
        .await
        .map_err(|e| QueryError::Io {
            addr,
            source: std::io::Error::other(e.to_string()),
        })?
        .map_err(|source| QueryError::Xml { addr, source })?;
        let doc = Arc::new(doc);
        if !self.cache_ttl.is_zero() {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache.retain(|(q, t, _)| q != line && t.elapsed() < self.cache_ttl);
            cache.push((line.to_owned(), Instant::now(), doc.clone()));
        }
        Ok(doc)
    }

    async fn fetch(&self, line: &str) -> Result<Vec<u8>, QueryError> {
        let io = |source| QueryError::Io {
            addr: self.addr,
            source,
        };
        let mut s = TcpStream::connect(self.addr).await.map_err(io)?;
        s.write_all(format!("{line}\n").as_bytes())
            .await
            .map_err(io)?;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = s.read(&mut buf).await.map_err(io)?;
            if n == 0 {
                break;
            }
            if out.len() + n > self.max_bytes {
                return Err(QueryError::TooLarge {
                    addr: self.addr,
                    limit: self.max_bytes,
                });
            }
            out.extend_from_slice(&buf[..n]);
        }
        Ok(out)
    }

    /// The full tree (`/`).
    pub async fn full(&self) -> Result<Arc<Document>, QueryError> {
        self.query("/").await
    }

    /// The grid summary (`/?filter=summary`).
    pub async fn summary(&self) -> Result<Arc<Document>, QueryError> {
        self.query("/?filter=summary").await
    }

    /// One cluster with its hosts (`/<cluster>`, or `/` when the name cannot be sent).
    pub async fn cluster(&self, name: &str) -> Result<Arc<Document>, QueryError> {
        match cluster_query(name, false) {
            Some(q) => self.query(&q).await,
            None => self.full().await,
        }
    }

    /// One host of a cluster (`/<cluster>/<host>`, or the cluster when a name cannot be sent).
    pub async fn host(&self, cluster: &str, host: &str) -> Result<Arc<Document>, QueryError> {
        match (cluster_query(cluster, false), cluster_query(host, false)) {
            (Some(c), Some(_)) => self.query(&format!("{c}/{host}")).await,
            _ => self.cluster(cluster).await,
        }
    }

    /// One cluster's summary (`/<cluster>?filter=summary`, or `/?filter=summary`).
    pub async fn cluster_summary(&self, name: &str) -> Result<Arc<Document>, QueryError> {
        match cluster_query(name, true) {
            Some(q) => self.query(&q).await,
            None => self.summary().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_cluster_names_are_never_sent() {
        assert_eq!(cluster_query("lab", false).as_deref(), Some("/lab"));
        assert_eq!(
            cluster_query("lab", true).as_deref(),
            Some("/lab?filter=summary")
        );
        for bad in ["<script>", "a\"b", "x/y", "q?filter=x", "", "a\nb", "50%"] {
            assert_eq!(cluster_query(bad, false), None, "{bad:?}");
        }
    }
}
