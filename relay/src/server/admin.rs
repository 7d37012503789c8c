//! The admin endpoint: `GET /` (or any line) answers the per-stream snapshot as JSON over a
//! minimal HTTP/1.0 response, then closes.

use crate::core::Relay;
use crate::core::hist;
use crate::server::media::MediaCounters;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Receive-to-send latency since start: percentiles and the non-empty buckets
/// (`[lower bound µs, count]`, so readers can diff two snapshots).
pub fn latency_json(counts: &[u64]) -> serde_json::Value {
    let buckets: Vec<(u64, u64)> = counts
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .map(|(i, c)| (hist::lower_bound(i), *c))
        .collect();
    serde_json::json!({
        "count": counts.iter().sum::<u64>(),
        "p50_us": hist::quantile(counts, 0.5),
        "p99_us": hist::quantile(counts, 0.99),
        "buckets": buckets,
    })
}

/// Serve until the listener task is aborted.
pub async fn serve(listener: TcpListener, relay: Arc<Mutex<Relay>>, media: Arc<MediaCounters>) {
    loop {
        let Ok((mut s, peer)) = listener.accept().await else {
            continue;
        };
        let relay = relay.clone();
        let media = media.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            let mut got = 0;
            // Read the request head (bounded in size and time); its content is ignored.
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                while got < buf.len() {
                    match s.read(&mut buf[got..]).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got += n,
                    }
                    if buf[..got].windows(2).any(|w| w == b"\n\n" || w == b"\r\n") {
                        break;
                    }
                }
            })
            .await;
            let path = std::str::from_utf8(&buf[..got])
                .ok()
                .and_then(|l| l.split_whitespace().nth(1))
                .unwrap_or("/")
                .to_owned();
            let (status, body) = if path == "/" || path.starts_with("/stats") {
                let snap = relay.lock().unwrap_or_else(|e| e.into_inner()).snapshot();
                let mut v = serde_json::to_value(&snap).unwrap_or_default();
                v["fwd_latency"] = latency_json(&media.latency.counts());
                ("200 OK", v.to_string())
            } else {
                (
                    "404 Not Found",
                    r#"{"error":"not found (try /stats)"}"#.to_owned(),
                )
            };
            let resp = format!(
                "HTTP/1.0 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}\n",
                body.len() + 1
            );
            if let Err(e) =
                tokio::time::timeout(Duration::from_secs(5), s.write_all(resp.as_bytes())).await
            {
                tracing::debug!(%peer, error = %e, "admin write timed out");
            }
        });
    }
}
