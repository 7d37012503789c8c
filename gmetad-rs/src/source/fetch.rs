//! Fetching one XML document from a data source: addresses tried in order starting with the
//! last one that worked, the whole reply read until EOF with an inactivity timeout and a size
//! cap (reference §3.4). I/O only; parsing happens elsewhere.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Limits for one fetch.
#[derive(Debug, Clone, Copy)]
pub struct FetchLimits {
    /// Connect timeout per address.
    pub connect: Duration,
    /// Longest silence while reading (gmetad: 10 s).
    pub inactivity: Duration,
    /// Largest document accepted.
    pub max_bytes: usize,
}

impl Default for FetchLimits {
    fn default() -> Self {
        FetchLimits {
            connect: Duration::from_secs(5),
            inactivity: Duration::from_secs(10),
            max_bytes: 512 << 20,
        }
    }
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No address accepted a connection.
    #[error("no address of the data source answered ({tried} tried): {last}")]
    Unreachable {
        /// How many addresses were tried.
        tried: usize,
        /// The last error.
        last: String,
    },
    /// The source stopped sending before closing.
    #[error("{addr}: no data for {secs} s (after {got} bytes)")]
    Stalled {
        /// The address.
        addr: SocketAddr,
        /// Seconds of silence.
        secs: u64,
        /// Bytes received before.
        got: usize,
    },
    /// The document exceeded the size cap.
    #[error("{addr}: document larger than {max} bytes")]
    TooLarge {
        /// The address.
        addr: SocketAddr,
        /// The cap.
        max: usize,
    },
    /// A read error.
    #[error("{addr}: {source}")]
    Read {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

/// Fetch a document. `start` is the index to try first (the last good one); the returned index
/// is the one that answered.
pub async fn fetch(
    addrs: &[SocketAddr],
    start: usize,
    limits: &FetchLimits,
) -> Result<(usize, Vec<u8>), FetchError> {
    let n = addrs.len();
    let mut last = String::from("no addresses");
    for k in 0..n {
        let i = (start + k) % n;
        let addr = addrs[i];
        let stream = match tokio::time::timeout(limits.connect, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                last = format!("{addr}: {e}");
                continue;
            }
            Err(_) => {
                last = format!("{addr}: connect timed out");
                continue;
            }
        };
        return read_all(stream, addr, limits).await.map(|d| (i, d));
    }
    Err(FetchError::Unreachable { tried: n, last })
}

async fn read_all(
    mut s: TcpStream,
    addr: SocketAddr,
    limits: &FetchLimits,
) -> Result<Vec<u8>, FetchError> {
    let mut buf = Vec::with_capacity(128 << 10);
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let n = match tokio::time::timeout(limits.inactivity, s.read(&mut chunk)).await {
            Ok(Ok(n)) => n,
            Ok(Err(source)) => return Err(FetchError::Read { addr, source }),
            Err(_) => {
                return Err(FetchError::Stalled {
                    addr,
                    secs: limits.inactivity.as_secs(),
                    got: buf.len(),
                });
            }
        };
        if n == 0 {
            return Ok(buf);
        }
        if buf.len() + n > limits.max_bytes {
            return Err(FetchError::TooLarge {
                addr,
                max: limits.max_bytes,
            });
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Send one request line (interactive-port style) and read the reply, for federation with a
/// gmetad's interactive port or tests.
pub async fn query(
    addr: SocketAddr,
    line: &str,
    limits: &FetchLimits,
) -> Result<Vec<u8>, FetchError> {
    use tokio::io::AsyncWriteExt;
    let mut s = match tokio::time::timeout(limits.connect, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return Err(FetchError::Unreachable {
                tried: 1,
                last: format!("{addr}: {e}"),
            });
        }
        Err(_) => {
            return Err(FetchError::Unreachable {
                tried: 1,
                last: format!("{addr}: connect timed out"),
            });
        }
    };
    s.write_all(line.as_bytes())
        .await
        .map_err(|source| FetchError::Read { addr, source })?;
    read_all(s, addr, limits).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn failover_to_the_next_address_and_remember_it() {
        // A closed port, then a live one.
        let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dead_addr = dead.local_addr().unwrap();
        drop(dead);
        let live = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let live_addr = live.local_addr().unwrap();
        tokio::spawn(async move {
            for _ in 0..2 {
                let (mut s, _) = live.accept().await.unwrap();
                s.write_all(b"<GANGLIA_XML/>").await.unwrap();
            }
        });
        let l = FetchLimits::default();
        let (i, doc) = fetch(&[dead_addr, live_addr], 0, &l).await.unwrap();
        assert_eq!((i, doc.as_slice()), (1, &b"<GANGLIA_XML/>"[..]));
        let (i, _) = fetch(&[dead_addr, live_addr], i, &l).await.unwrap();
        assert_eq!(i, 1);
        assert!(matches!(
            fetch(&[dead_addr], 0, &l).await,
            Err(FetchError::Unreachable { tried: 1, .. })
        ));
    }

    #[tokio::test]
    async fn a_source_that_hangs_mid_document_times_out() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            s.write_all(b"<GANGLIA_XML>").await.unwrap();
            tokio::time::sleep(Duration::from_secs(3)).await;
        });
        let limits = FetchLimits {
            inactivity: Duration::from_millis(200),
            ..FetchLimits::default()
        };
        let e = fetch(&[addr], 0, &limits).await.unwrap_err();
        assert!(matches!(e, FetchError::Stalled { got: 13, .. }), "{e}");
        server.abort();
    }

    #[tokio::test]
    async fn documents_over_the_cap_are_refused() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let _ = s.write_all(&vec![b'x'; 100_000]).await;
        });
        let limits = FetchLimits {
            max_bytes: 10_000,
            ..FetchLimits::default()
        };
        assert!(matches!(
            fetch(&[addr], 0, &limits).await,
            Err(FetchError::TooLarge { .. })
        ));
    }
}
