//! A blocking control-plane client (the load client, the benchmark and tests use it).

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Control client failures.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connection or I/O problem.
    #[error("control connection: {0}")]
    Io(#[from] std::io::Error),
    /// The relay answered `ok: false`.
    #[error("relay refused: {0}")]
    Refused(String),
    /// The answer was not the JSON expected.
    #[error("bad answer: {0}")]
    BadAnswer(String),
}

/// A successful join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Joined {
    /// Participant id.
    pub participant: u64,
    /// Where to send RTP and RTCP.
    pub media: SocketAddr,
}

/// One control connection (closing it leaves everything it joined).
#[derive(Debug)]
pub struct Control {
    rd: BufReader<TcpStream>,
    wr: TcpStream,
}

impl Control {
    /// Connect with a 5 s timeout on every operation.
    pub fn connect(addr: SocketAddr) -> Result<Control, ClientError> {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.set_write_timeout(Some(Duration::from_secs(5)))?;
        s.set_nodelay(true)?;
        Ok(Control {
            rd: BufReader::new(s.try_clone()?),
            wr: s,
        })
    }

    /// Send one raw line and read one answer.
    pub fn request(&mut self, line: &str) -> Result<Value, ClientError> {
        self.wr.write_all(line.as_bytes())?;
        self.wr.write_all(b"\n")?;
        let mut ans = String::new();
        if self.rd.read_line(&mut ans)? == 0 {
            return Err(ClientError::BadAnswer("connection closed".into()));
        }
        serde_json::from_str(&ans).map_err(|e| ClientError::BadAnswer(format!("{e}: {ans}")))
    }

    /// Join `room`; `recv` None lets the relay latch onto the first packet's source.
    pub fn join(
        &mut self,
        room: &str,
        token: &str,
        ssrc: u32,
        kind: &str,
        recv: Option<SocketAddr>,
        rtcp: Option<SocketAddr>,
    ) -> Result<Joined, ClientError> {
        let mut req =
            json!({"op": "join", "room": room, "token": token, "ssrc": ssrc, "kind": kind});
        if let Some(r) = recv {
            req["recv"] = json!(r.to_string());
        }
        if let Some(r) = rtcp {
            req["rtcp"] = json!(r.to_string());
        }
        let v = self.request(&req.to_string())?;
        if v["ok"] != true {
            return Err(ClientError::Refused(
                v["error"].as_str().unwrap_or("no error text").to_owned(),
            ));
        }
        let participant = v["participant"]
            .as_u64()
            .ok_or_else(|| ClientError::BadAnswer(v.to_string()))?;
        let media = v["media"]
            .as_str()
            .and_then(|m| m.parse().ok())
            .ok_or_else(|| ClientError::BadAnswer(v.to_string()))?;
        Ok(Joined { participant, media })
    }
}
