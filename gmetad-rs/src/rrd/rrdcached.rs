//! An rrdcached client: one persistent connection (TCP or unix socket), BATCH mode, paths
//! escaped so names with spaces work (3.7.2 issue #229), reconnect on failure.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// Where rrdcached listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// `host:port` (IPv6 as `[addr]:port`).
    Tcp(String),
    /// `unix:/path` or an absolute path.
    Unix(PathBuf),
}

impl Address {
    /// Parse rrdcached_address: `unix:/path`, `/path`, `host:port`, `host` (port 42217).
    pub fn parse(s: &str) -> Address {
        if let Some(p) = s.strip_prefix("unix:") {
            return Address::Unix(p.into());
        }
        if s.starts_with('/') {
            return Address::Unix(s.into());
        }
        let has_port = if s.starts_with('[') {
            s.contains("]:")
        } else {
            s.matches(':').count() == 1
        };
        Address::Tcp(if has_port {
            s.to_owned()
        } else {
            format!("{s}:42217")
        })
    }
}

enum Conn {
    Tcp(BufReader<TcpStream>),
    Unix(BufReader<UnixStream>),
}

impl Conn {
    fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        match self {
            Conn::Tcp(r) => r.get_mut().write_all(b),
            Conn::Unix(r) => r.get_mut().write_all(b),
        }
    }

    fn read_line(&mut self, s: &mut String) -> std::io::Result<usize> {
        match self {
            Conn::Tcp(r) => r.read_line(s),
            Conn::Unix(r) => r.read_line(s),
        }
    }
}

/// A connection to rrdcached, opened on first use and reopened after errors.
pub struct Rrdcached {
    addr: Address,
    conn: Option<Conn>,
    timeout: Duration,
}

/// Escape a path for rrdcached's tokenizer: backslash before spaces and backslashes.
pub fn escape(path: &str) -> String {
    let mut s = String::with_capacity(path.len() + 4);
    for c in path.chars() {
        if c == ' ' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

impl Rrdcached {
    /// A client for `addr` with a 5 s reply timeout (gmetad's).
    pub fn new(addr: Address) -> Rrdcached {
        Rrdcached {
            addr,
            conn: None,
            timeout: Duration::from_secs(5),
        }
    }

    fn connect(&mut self) -> std::io::Result<&mut Conn> {
        if self.conn.is_none() {
            let c = match &self.addr {
                Address::Tcp(a) => {
                    let s = TcpStream::connect(a)?;
                    s.set_read_timeout(Some(self.timeout))?;
                    s.set_write_timeout(Some(self.timeout))?;
                    s.set_nodelay(true)?;
                    Conn::Tcp(BufReader::new(s))
                }
                Address::Unix(p) => {
                    let s = UnixStream::connect(p)?;
                    s.set_read_timeout(Some(self.timeout))?;
                    s.set_write_timeout(Some(self.timeout))?;
                    Conn::Unix(BufReader::new(s))
                }
            };
            self.conn = Some(c);
        }
        self.conn
            .as_mut()
            .ok_or_else(|| std::io::Error::other("not connected"))
    }

    fn reply(conn: &mut Conn) -> std::io::Result<(i64, String)> {
        let mut line = String::new();
        if conn.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "rrdcached closed the connection",
            ));
        }
        let (code, msg) = line
            .trim_end()
            .split_once(' ')
            .unwrap_or((line.trim_end(), ""));
        Ok((code.parse().unwrap_or(-1), msg.to_owned()))
    }

    fn batch_once(&mut self, updates: &[(PathBuf, String)]) -> std::io::Result<Vec<String>> {
        let conn = self.connect()?;
        conn.write_all(b"BATCH\n")?;
        let (code, msg) = Self::reply(conn)?;
        if code != 0 {
            return Err(std::io::Error::other(format!("BATCH refused: {msg}")));
        }
        let mut buf = String::with_capacity(updates.len() * 80);
        for (p, v) in updates {
            buf.push_str("UPDATE ");
            buf.push_str(&escape(&p.to_string_lossy()));
            buf.push(' ');
            buf.push_str(v);
            buf.push('\n');
        }
        buf.push_str(".\n");
        conn.write_all(buf.as_bytes())?;
        let (n, _) = Self::reply(conn)?;
        let mut errors = Vec::new();
        for _ in 0..n.max(0) {
            let mut line = String::new();
            conn.read_line(&mut line)?;
            errors.push(line.trim_end().to_owned());
        }
        Ok(errors)
    }

    /// Send updates in one BATCH; returns the per-line error messages. One reconnect is tried.
    pub fn batch(&mut self, updates: &[(PathBuf, String)]) -> std::io::Result<Vec<String>> {
        match self.batch_once(updates) {
            Ok(e) => Ok(e),
            Err(_) => {
                self.conn = None;
                let r = self.batch_once(updates);
                if r.is_err() {
                    self.conn = None;
                }
                r
            }
        }
    }

    /// `FLUSHALL`: write every cached value to disk.
    pub fn flush_all(&mut self) -> std::io::Result<()> {
        let conn = self.connect()?;
        conn.write_all(b"FLUSHALL\n")?;
        let (code, msg) = Self::reply(conn)?;
        if code < 0 {
            Err(std::io::Error::other(msg))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_escaping() {
        assert_eq!(
            Address::parse("unix:/run/rrdcached.sock"),
            Address::Unix("/run/rrdcached.sock".into())
        );
        assert_eq!(Address::parse("/tmp/s"), Address::Unix("/tmp/s".into()));
        assert_eq!(
            Address::parse("127.0.0.1:42217"),
            Address::Tcp("127.0.0.1:42217".into())
        );
        assert_eq!(
            Address::parse("127.0.0.1"),
            Address::Tcp("127.0.0.1:42217".into())
        );
        assert_eq!(Address::parse("[::1]:9"), Address::Tcp("[::1]:9".into()));
        assert_eq!(
            escape("/r/my cluster/h\\x/m.rrd"),
            "/r/my\\ cluster/h\\\\x/m.rrd"
        );
    }
}
