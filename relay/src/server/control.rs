//! The control-plane driver: TCP on tokio, one JSON request per line (see `crate::control`).
//! A closed connection leaves every participant it joined.

use crate::control::{self, Conn, Ctx, MAX_LINE};
use crate::core::Relay;
use crate::core::token::Tokens;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What every connection shares.
#[derive(Debug, Clone)]
pub struct Shared {
    /// The relay state.
    pub relay: Arc<Mutex<Relay>>,
    /// Token verifier.
    pub tokens: Arc<Tokens>,
    /// Advertised media address.
    pub media: SocketAddr,
    /// Monotonic epoch of the media clock.
    pub epoch: Instant,
}

/// Accept until aborted.
pub async fn serve(listener: TcpListener, sh: Shared) {
    loop {
        match listener.accept().await {
            Ok((s, peer)) => {
                let sh = sh.clone();
                tokio::spawn(async move {
                    let mut conn = Conn::default();
                    if let Err(e) = connection(s, peer, &sh, &mut conn).await {
                        tracing::debug!(%peer, error = %e, "control connection ended");
                    }
                    let mut r = sh.relay.lock().unwrap_or_else(|e| e.into_inner());
                    control::close(&mut r, &mut conn);
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "control accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

async fn connection(
    s: TcpStream,
    peer: SocketAddr,
    sh: &Shared,
    conn: &mut Conn,
) -> std::io::Result<()> {
    let (rd, mut wr) = s.into_split();
    let mut rd = BufReader::new(rd);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut rd)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            return Ok(());
        }
        if line.len() > MAX_LINE {
            let msg =
                format!("{{\"ok\":false,\"error\":\"request longer than {MAX_LINE} bytes\"}}\n");
            wr.write_all(msg.as_bytes()).await?;
            wr.shutdown().await?;
            // Swallow what the peer is still sending (bounded), so closing does not reset the
            // connection before it read the answer.
            let mut sink = [0u8; 4096];
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
                let mut left = 1 << 20;
                while left > 0 {
                    match rd.read(&mut sink).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => left -= n.min(left),
                    }
                }
            })
            .await;
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let answer = {
            let ctx = Ctx {
                tokens: &sh.tokens,
                media: sh.media,
                peer_ip: peer.ip(),
                now: sh.epoch.elapsed().as_nanos() as u64,
                epoch: SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
            };
            let mut r = sh.relay.lock().unwrap_or_else(|e| e.into_inner());
            control::handle_line(text, &mut r, conn, ctx)
        };
        let mut out = answer.to_string();
        out.push('\n');
        wr.write_all(out.as_bytes()).await?;
    }
}
