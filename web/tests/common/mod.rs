//! Shared by the web tests: a whole stack in-process on loopback (gmond-rs agent with host
//! metrics, embedded relay gauges and hostile names → gmetad-rs with small RRAs in a temp dir →
//! gweb-rs), a small HTTP client, PNG checks and waits.
#![allow(dead_code, unreachable_pub)]

use gmetad::config::{Config, Source};
use gmetad::daemon::Gmetad;
use gmond::agent::Agent;
use gmond::embed::registry::{Gauge, MetricSpec};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// A cluster name with every character HTML and gmetad's query grammar care about.
/// (with a ':', which librrd's DEF syntax needs escaped)
pub const CLUSTER: &str = "lab:<&> \"q\" 'a'";
/// A hostile metric name (embedded gauge on the agent's own host).
/// (The embedding API refuses '/', '"', ':' and spaces, so those travel the gmetric path.)
pub const EVIL_METRIC: &str = "<script>alert('m')&x";
/// A hostile group (EXTRA_ELEMENT GROUP of that metric).
pub const EVIL_GROUP: &str = "<b>grp\"'&</b>";
/// A hostile host name (spoofed like `gmetric -S`).
pub const EVIL_HOST: &str = "<img src=x onerror=alert(1)>\"'&";
/// The hostile host's metric.
/// (gmetric refuses '"' in names, values, types and units.)
pub const EVIL_HOST_METRIC: &str = "</script>m<&>'";
/// A hostile string value (gmetric -t string) of the hostile host.
pub const EVIL_VALUE: &str = "<script>v</script>&'";

pub use testkit::{free_tcp_port, free_udp_port, wait_for};

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(p) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..p]).trim(), 16).unwrap_or(0);
        if n == 0 || b.len() < p + 2 + n {
            break;
        }
        out.extend_from_slice(&b[p + 2..p + 2 + n]);
        b = &b[(p + 4 + n).min(b.len())..];
    }
    out
}

/// One HTTP/1.1 request (Connection: close), bounded by a 30 s timeout.
pub fn request(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> Resp {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    // Read until the body is complete (Content-Length) or the peer closes: some servers
    // (chromedriver) keep the connection open despite `Connection: close`.
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    let split = loop {
        if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = s.read(&mut buf).expect("read response head");
        assert!(n > 0, "connection closed before the response head");
        raw.extend_from_slice(&buf[..n]);
    };
    let len = String::from_utf8_lossy(&raw[..split])
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok());
    loop {
        if len.is_some_and(|l| raw.len() >= split + 4 + l) {
            break;
        }
        let n = s.read(&mut buf).expect("read response body");
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers,
        body,
    }
}

pub fn get(addr: SocketAddr, path: &str) -> Resp {
    request(addr, "GET", path, None)
}

/// Percent-encode a name for a URL (as the pages do).
pub fn enc(s: &str) -> String {
    gweb::html::enc(s)
}

/// Decode a PNG: (width, height, number of distinct colours, count of pixels of `rgb`).
pub fn png_stats(bytes: &[u8], rgb: Option<[u8; 3]>) -> (u32, u32, usize, usize) {
    let mut d = png::Decoder::new(std::io::Cursor::new(bytes));
    d.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut r = d.read_info().expect("png header");
    let mut buf = vec![0; r.output_buffer_size().expect("png size")];
    let info = r.next_frame(&mut buf).expect("png frame");
    let ch = info.color_type.samples();
    let mut colours = std::collections::HashSet::new();
    let mut hits = 0;
    for px in buf[..info.buffer_size()].chunks(ch) {
        let c = [px[0], px[1.min(ch - 1)], px[2.min(ch - 1)]];
        colours.insert(c);
        if Some(c) == rgb {
            hits += 1;
        }
    }
    (info.width, info.height, colours.len(), hits)
}

/// The two datagrams gmetric-rs's own builder makes for `gmetric -S 10.9.8.7:<EVIL_HOST> ...`.
pub fn gmetric_packets(name: &str, value: &str, ty: &str) -> [Vec<u8>; 2] {
    let args = gmond::gmetric::GmetricArgs {
        name: Some(name.into()),
        value: Some(value.into()),
        metric_type: Some(ty.into()),
        units: "u<&>".into(),
        slope: "both".into(),
        tmax: 60,
        dmax: 0,
        group: Some(EVIL_GROUP.into()),
        desc: Some("\"desc'&<>".into()),
        title: Some("<i>title</i>".into()),
        spoof: Some(format!("10.9.8.7:{EVIL_HOST}")),
        ..Default::default()
    };
    gmond::gmetric::build(&args, "unused", None).expect("gmetric accepts these arguments")
}

/// The in-process stack.
pub struct Stack {
    pub rt: tokio::runtime::Runtime,
    pub agent: Option<Agent>,
    pub gmetad: Option<Gmetad>,
    pub web: Option<gweb::Web>,
    pub gauges: Vec<Gauge>,
    pub udp: SocketAddr,
    pub rrds: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Stack {
    pub fn web_addr(&self) -> SocketAddr {
        self.web.as_ref().unwrap().addr
    }
    /// gmetad-rs's whole tree, parsed.
    pub fn tree(&self) -> Option<ganglia_proto::xml::Document> {
        let addr = self.gmetad.as_ref()?.xml_addr;
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        let mut v = Vec::new();
        s.read_to_end(&mut v).ok()?;
        Some(
            ganglia_proto::xml::read::read(&v, &Default::default())
                .ok()?
                .doc,
        )
    }

    /// The agent's own host (the one with load_one), once gmetad-rs has it under its resolved
    /// name (the agent names a host by its address until reverse DNS answers).
    pub fn own_host(&self) -> String {
        let start = Instant::now();
        wait_for(Duration::from_secs(40), || {
            let d = self.tree()?;
            let c = d.grids.first()?.clusters.first()?;
            c.hosts
                .iter()
                .filter(|h| h.name != EVIL_HOST)
                .find(|h| h.metrics.iter().any(|m| m.name == "load_one"))
                .map(|h| h.name.to_string())
                .filter(|n| {
                    n.parse::<IpAddr>().is_err() || start.elapsed() > Duration::from_secs(20)
                })
        })
        .expect("the agent's host reaches gmetad-rs with load_one")
    }

    /// Send the hostile spoofed host's metrics once, as gmetric-rs builds them.
    pub fn send_evil_host(&self, v: f32) {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let float = gmetric_packets(EVIL_HOST_METRIC, &v.to_string(), "float");
        let string = gmetric_packets("evil_string", EVIL_VALUE, "string");
        for p in float.iter().chain(string.iter()) {
            s.send_to(p, self.udp).unwrap();
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let (w, g, a) = (self.web.take(), self.gmetad.take(), self.agent.take());
        self.rt.block_on(async {
            if let Some(w) = w {
                w.shutdown().await;
            }
            if let Some(g) = g {
                g.shutdown().await;
            }
            if let Some(a) = a {
                a.shutdown().await;
            }
        });
    }
}

/// Small RRAs: 10 min at 1 s, 1 h at 30 s, 30 h at 1 h (a coarse one, like the default set has).
pub const RRAS: [&str; 3] = [
    "RRA:AVERAGE:0.5:1:600",
    "RRA:AVERAGE:0.5:30:120",
    "RRA:AVERAGE:0.5:3600:30",
];

/// Start the web server in front of `gmetad` and `rrds`.
pub fn web(gmetad: SocketAddr, rrds: &Path) -> gweb::Web {
    let mut cfg = gweb::Config::builtin();
    cfg.listen = SocketAddr::new(LO, 0);
    cfg.gmetad = gmetad;
    cfg.rrds = rrds.to_path_buf();
    cfg.cache_ttl = Duration::from_millis(500);
    gweb::Web::start(cfg).expect("gweb-rs starts")
}

/// gmond-rs (host metrics, relay gauges, a hostile gauge) → gmetad-rs (step 1) → gweb-rs.
/// `host_tmax` short so a host that stops sending turns down within seconds.
pub fn stack(host_tmax: u64) -> Stack {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let dir = tempfile::tempdir().unwrap();
    let port = free_udp_port();
    let mut c = gmond::config::AgentConfig::ephemeral();
    c.cluster.name = CLUSTER.into();
    c.recv[0].spec.bind = LO;
    c.recv[0].spec.port = port;
    c.tcp[0].addr = SocketAddr::new(LO, 0);
    c.send = vec![gmond::net::udp::SendSpec {
        dest: SocketAddr::new(LO, port),
        ttl: 1,
        mcast_if: None,
        bind: None,
    }];
    c.host_tmax = host_tmax;
    for g in &mut c.groups {
        g.collect_every = 1;
        g.time_threshold = 2;
    }
    let agent = Agent::builder(c).spawn().expect("agent");
    let mut gauges = Vec::new();
    for s in gmond::embed::relay::relay_specs() {
        gauges.push(agent.registry().gauge(s.every(1, 2)).unwrap());
    }
    gauges.push(
        agent
            .registry()
            .gauge(
                MetricSpec::new(EVIL_METRIC)
                    .group(EVIL_GROUP)
                    .title("<i>evil title</i>")
                    .desc("desc \"'&<>")
                    .units("<u>")
                    .every(1, 2),
            )
            .unwrap(),
    );
    for (i, g) in gauges.iter().enumerate() {
        g.set(10.0 + i as f64);
    }
    let rrds = dir.path().join("rrds");
    let mut cfg = Config::builtin();
    cfg.sources = vec![Source {
        name: "src".into(),
        step: 1,
        addrs: vec![agent.xml_addrs()[0]],
    }];
    cfg.gridname = "grid<&>".into();
    cfg.xml_addr = SocketAddr::new(LO, 0);
    cfg.interactive_addr = SocketAddr::new(LO, 0);
    cfg.rrd_rootdir = rrds.clone();
    cfg.rras = RRAS.iter().map(|r| r.to_string()).collect();
    let gmetad = Gmetad::start(cfg).expect("gmetad-rs");
    let web = web(gmetad.interactive_addr, &rrds);
    let udp = SocketAddr::new(LO, port);
    let st = Stack {
        rt,
        agent: Some(agent),
        gmetad: Some(gmetad),
        web: Some(web),
        gauges,
        udp,
        rrds,
        dir,
    };
    st.send_evil_host(5.0);
    st
}

/// Wait until the host's `metric` has an RRD file with at least `secs` of updates.
pub fn wait_rrd(st: &Stack, rel: &str, updates: usize) {
    let f = st.rrds.join(rel);
    let start = Instant::now();
    wait_for(Duration::from_secs(60), || {
        st.gmetad.as_ref().unwrap().flush_rrds();
        (f.exists() && start.elapsed() >= Duration::from_secs(updates as u64)).then_some(())
    })
    .unwrap_or_else(|| panic!("{} never appeared", f.display()));
}

/// A child process stopped by pid on drop (SIGTERM, then SIGKILL).
pub struct Killed(pub std::process::Child);
impl Drop for Killed {
    fn drop(&mut self) {
        // SAFETY: signalling our own child by pid.
        unsafe { libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM) };
        let end = std::time::Instant::now() + Duration::from_secs(3);
        while std::time::Instant::now() < end {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
