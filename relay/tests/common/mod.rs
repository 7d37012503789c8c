//! Helpers shared by the relay's integration tests: an in-process relay on loopback port 0,
//! RTP senders/receivers, admin JSON.
#![allow(dead_code, unreachable_pub)]

use relay::client::Control;
use relay::core::Limits;
use relay::core::rtp::write_rtp_header;
use relay::core::token::Tokens;
use relay::server::{Config, Server};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const SECRET: &[u8] = b"test-secret-0123456789";

pub fn tokens() -> Tokens {
    Tokens::new(SECRET).unwrap()
}

pub fn epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn token(room: &str) -> String {
    tokens().sign(room, epoch() + 600, 1)
}

pub fn config(limits: Limits) -> Config {
    let lo: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut c = Config::new(tokens());
    c.control = lo;
    c.media = lo;
    c.admin = lo;
    c.limits = limits;
    c.agent = None;
    c.stats_interval = Duration::from_millis(200);
    c
}

pub struct Relay {
    pub rt: tokio::runtime::Runtime,
    pub server: Option<Server>,
}

impl Relay {
    pub fn start(cfg: Config) -> Relay {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = rt.block_on(Server::start(cfg)).unwrap();
        Relay {
            rt,
            server: Some(server),
        }
    }

    pub fn s(&self) -> &Server {
        self.server.as_ref().unwrap()
    }

    pub fn control(&self) -> Control {
        Control::connect(self.s().control_addr).unwrap()
    }

    /// GET /stats from the admin endpoint.
    pub fn admin(&self) -> serde_json::Value {
        admin_json(self.s().admin_addr)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            self.rt.block_on(s.shutdown());
        }
    }
}

pub fn admin_json(addr: SocketAddr) -> serde_json::Value {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /stats HTTP/1.0\r\n\r\n").unwrap();
    let mut v = String::new();
    s.read_to_string(&mut v).unwrap();
    let body = v.split_once("\r\n\r\n").expect("http response").1;
    serde_json::from_str(body).unwrap()
}

/// A member's media socket (non-blocking reads).
pub fn media_socket() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    s
}

pub fn rtp(ssrc: u32, seq: u16, len: usize) -> Vec<u8> {
    let mut p = Vec::new();
    write_rtp_header(&mut p, 111, false, seq, u32::from(seq) * 960, ssrc);
    p.resize(len, 0x42);
    p
}

/// Receive until `want` packets arrived or `timeout`: SSRCs of what arrived.
pub fn collect(s: &UdpSocket, want: usize, timeout: Duration) -> Vec<u32> {
    let end = std::time::Instant::now() + timeout;
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    while got.len() < want && std::time::Instant::now() < end {
        if let Ok((n, _)) = s.recv_from(&mut buf)
            && n >= 12
        {
            got.push(u32::from_be_bytes(buf[8..12].try_into().unwrap()));
        }
    }
    got
}

/// Drain whatever arrives within `d`.
pub fn drain(s: &UdpSocket, d: Duration) -> Vec<u32> {
    collect(s, usize::MAX, d)
}

pub fn stream(snap: &serde_json::Value, ssrc: u32) -> &serde_json::Value {
    snap["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["streams"].as_array().unwrap())
        .find(|s| s["ssrc"] == ssrc)
        .unwrap_or_else(|| panic!("stream {ssrc} in {snap}"))
}
