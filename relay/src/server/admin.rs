//! The admin endpoint: `GET /` (or any line) answers the per-stream snapshot as JSON over a
//! minimal HTTP/1.0 response, then closes.

use crate::core::Relay;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serve until the listener task is aborted.
pub async fn serve(listener: TcpListener, relay: Arc<Mutex<Relay>>) {
    loop {
        let Ok((mut s, peer)) = listener.accept().await else {
            continue;
        };
        let relay = relay.clone();
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
                ("200 OK", serde_json::to_string(&snap).unwrap_or_default())
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
