//! The shared test kit: ports, Debian Ganglia processes on configs the test writes (loopback only),
//! XML fetching and waiting. Every process is killed by pid when its guard drops.

pub mod cluster;
pub mod netns;

use std::io::Read;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A loopback TCP address where nothing listens and nothing will while the guard lives: a
/// socket bound to it that never listens, so connecting is refused at once and no other test
/// can be given the port (a merely "free" port may be reused by the next listener).
pub fn refusing_tcp_addr() -> (std::os::fd::OwnedFd, SocketAddr) {
    use std::os::fd::FromRawFd;
    // SAFETY: a new socket; on success we own the descriptor.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: fd is a fresh descriptor nobody else owns.
    let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    // SAFETY: all-zero is a valid sockaddr_in; the kernel fills in the port on getsockname.
    let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    sa.sin_family = libc::AF_INET as libc::sa_family_t;
    sa.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
    let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: sa and len describe a valid sockaddr_in buffer for bind and getsockname.
    let ok = unsafe {
        libc::bind(fd, (&sa as *const libc::sockaddr_in).cast(), len) == 0
            && libc::getsockname(fd, (&mut sa as *mut libc::sockaddr_in).cast(), &mut len) == 0
    };
    assert!(ok, "bind: {}", std::io::Error::last_os_error());
    let addr = SocketAddr::from(([127, 0, 0, 1], u16::from_be(sa.sin_port)));
    (owned, addr)
}

/// A gmond-like source on loopback: each of the first `n` connections gets a fresh `doc()`,
/// then is closed (bounded, so the thread ends).
pub fn serve_document(n: usize, doc: impl Fn() -> Vec<u8> + Send + 'static) -> SocketAddr {
    use std::io::Write;
    let src = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = src.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in src.incoming().flatten().take(n) {
            let _ = (&s).write_all(&doc());
        }
    });
    addr
}

/// gmetad-rs's built-in configuration polling one data source `name` at `addr` every `step`
/// seconds, with its XML and interactive ports on 127.0.0.1:0 and no RRD writes: the base the
/// in-process gmetad tests adjust.
pub fn gmetad_config(name: &str, step: u32, addr: SocketAddr) -> gmetad::config::Config {
    let mut c = gmetad::config::Config::builtin();
    c.sources = vec![gmetad::config::Source {
        name: name.into(),
        step,
        addrs: vec![addr],
    }];
    c.xml_addr = "127.0.0.1:0".parse().unwrap();
    c.interactive_addr = "127.0.0.1:0".parse().unwrap();
    c.write_rrds = false;
    c
}

/// One request line (e.g. `/status`) to a gmetad interactive port; the whole answer as text.
pub fn gmetad_query(addr: SocketAddr, line: &str) -> String {
    use std::io::Write;
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(format!("{line}\n").as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// Read a whole XML dump from a gmond-style TCP port.
pub fn fetch(addr: SocketAddr) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut v = Vec::new();
    s.read_to_end(&mut v).ok()?;
    Some(v)
}

pub fn parse(bytes: &[u8]) -> ganglia_proto::xml::Document {
    ganglia_proto::xml::read::read(bytes, &Default::default())
        .expect("valid ganglia xml")
        .doc
}

/// Poll `f` until it returns Some or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn require(bin: &str, package: &str) {
    assert!(
        Path::new(bin).exists(),
        "{bin} is missing: install Debian's {package} (make test does)"
    );
}

/// A child process killed (SIGTERM, then SIGKILL) and reaped on drop.
pub struct Proc {
    pub child: Child,
    pub name: &'static str,
    pub log: PathBuf,
}

impl Proc {
    pub fn spawn(name: &'static str, cmd: &mut Command, log: PathBuf) -> Proc {
        let f = std::fs::File::create(&log).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc { child, name, log }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: signalling our own child by pid.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let end = Instant::now() + Duration::from_secs(3);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const MODULES: &str = r#"modules {
  module { name = "core_metrics" }
  module { name = "cpu_module" path = "/usr/lib/x86_64-linux-gnu/ganglia/modcpu.so" }
  module { name = "disk_module" path = "/usr/lib/x86_64-linux-gnu/ganglia/moddisk.so" }
  module { name = "load_module" path = "/usr/lib/x86_64-linux-gnu/ganglia/modload.so" }
  module { name = "mem_module" path = "/usr/lib/x86_64-linux-gnu/ganglia/modmem.so" }
  module { name = "net_module" path = "/usr/lib/x86_64-linux-gnu/ganglia/modnet.so" }
  module { name = "proc_module" path = "/usr/lib/x86_64-linux-gnu/ganglia/modproc.so" }
  module { name = "sys_module" path = "/usr/lib/x86_64-linux-gnu/ganglia/modsys.so" }
}
"#;

/// Metrics of the reference's default set that Debian's 3.7.2 build does not have
/// (`gmond -m` there lists no mem_available).
pub const NOT_IN_DEBIAN: &[&str] = &["mem_available"];

/// The default collection groups with short intervals, as gmond.conf text for Debian's gmond.
pub fn fast_groups() -> String {
    let mut s = String::new();
    for g in gmond::collect::groups::DEFAULT_GROUPS {
        s.push_str("collection_group {\n");
        if g.collect_once {
            s.push_str("  collect_once = yes\n");
        } else {
            s.push_str("  collect_every = 1\n");
        }
        s.push_str("  time_threshold = 3\n");
        for (n, _, t) in g
            .metrics
            .iter()
            .filter(|(n, _, _)| !NOT_IN_DEBIAN.contains(n))
        {
            s.push_str(&format!(
                "  metric {{ name = \"{n}\"{} }}\n",
                if t.is_empty() {
                    String::new()
                } else {
                    format!(" title = \"{t}\"")
                }
            ));
        }
        s.push_str("}\n");
    }
    s
}

/// A gmond.conf for Debian's gmond: unicast on loopback only.
pub fn debian_gmond_conf(
    cluster: &str,
    send_ports: &[u16],
    recv_port: Option<u16>,
    tcp_port: Option<u16>,
) -> String {
    let mut s = format!(
        "globals {{\n daemonize = no\n setuid = no\n debug_level = 0\n host_dmax = 0\n host_tmax = 20\n send_metadata_interval = 5\n}}\ncluster {{ name = \"{cluster}\" }}\n"
    );
    for p in send_ports {
        s.push_str(&format!(
            "udp_send_channel {{ host = 127.0.0.1\n port = {p} }}\n"
        ));
    }
    if let Some(p) = recv_port {
        s.push_str(&format!(
            "udp_recv_channel {{ bind = 127.0.0.1\n port = {p} }}\n"
        ));
    }
    if let Some(p) = tcp_port {
        s.push_str(&format!(
            "tcp_accept_channel {{ bind = 127.0.0.1\n port = {p} }}\n"
        ));
    }
    s.push_str(MODULES);
    s.push_str(&fast_groups());
    s
}

/// Start Debian's gmond on a config this test wrote.
pub fn debian_gmond(dir: &Path, conf: &str) -> Proc {
    require("/usr/sbin/gmond", "ganglia-monitor");
    let path = dir.join("debian-gmond.conf");
    std::fs::write(&path, conf).unwrap();
    Proc::spawn(
        "gmond",
        Command::new("/usr/sbin/gmond")
            .arg("-f")
            .arg("-c")
            .arg(&path),
        dir.join("debian-gmond.log"),
    )
}

/// Path of a workspace binary (`gmetric-rs`, `gstat-rs`, `gmond-rs`, `gmetad-rs`) next to the
/// running test executable. `make test` builds every binary first.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // Test executables live in target/<profile>/deps, binaries in target/<profile>.
    let here = exe.parent().unwrap();
    let p = [here.join(name), here.parent().unwrap().join(name)]
        .into_iter()
        .find(|p| p.exists());
    p.unwrap_or_else(|| {
        panic!(
            "{name} is not built next to {}: run `cargo build --workspace --bins` (make test does)",
            exe.display()
        )
    })
}

/// An in-process agent config on loopback: one UDP receive channel on `recv_port` (0 =
/// ephemeral), one XML channel on an ephemeral port, nothing sent.
pub fn loopback_agent_config(recv_port: u16) -> gmond::config::AgentConfig {
    use gmond::config::{RecvChannel, TcpChannel};
    use gmond::net::udp::RecvSpec;
    let lo = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    let mut c = gmond::config::AgentConfig::ephemeral();
    c.recv = vec![RecvChannel {
        spec: RecvSpec {
            bind: lo,
            port: recv_port,
            mcast_join: None,
            mcast_if: None,
            buffer: 4 << 20,
        },
        acl: None,
        retry_bind: false,
    }];
    c.tcp = vec![TcpChannel {
        addr: SocketAddr::new(lo, 0),
        timeout: None,
        gzip: false,
        acl: None,
    }];
    c
}

/// A send channel to 127.0.0.1:`port`, optionally from a given source address.
pub fn send_to_loopback(port: u16, bind: Option<std::net::IpAddr>) -> gmond::net::udp::SendSpec {
    gmond::net::udp::SendSpec {
        dest: SocketAddr::from(([127, 0, 0, 1], port)),
        ttl: 1,
        mcast_if: None,
        bind,
    }
}

/// (user, system) CPU seconds of a process, from /proc.
pub fn proc_cpu(pid: u32) -> (f64, f64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let f: Vec<&str> = s
        .rsplit_once(')')
        .map_or("", |x| x.1)
        .split_whitespace()
        .collect();
    let g = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0) as f64 / 100.0;
    (g(11), g(12))
}

/// Resident set size of a process in KiB, from /proc.
pub fn proc_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// Start Debian's rrdcached in the foreground on a unix socket `sock` (nothing on the network),
/// base directory `base`, write delay `delay` seconds; waits for the socket. Stopped by pid on
/// drop like every [`Proc`].
pub fn rrdcached(base: &Path, sock: &Path, delay: u32) -> Proc {
    require("/usr/bin/rrdcached", "rrdcached");
    let p = Proc::spawn(
        "rrdcached",
        Command::new("/usr/bin/rrdcached")
            .args(["-g", "-l"])
            .arg(format!("unix:{}", sock.display()))
            .arg("-b")
            .arg(base)
            .args(["-w", &delay.to_string(), "-z", "1", "-p"])
            .arg(base.join("rrdcached.pid")),
        base.join("rrdcached.log"),
    );
    wait_for(Duration::from_secs(10), || sock.exists().then_some(()))
        .unwrap_or_else(|| panic!("rrdcached did not start: {}", p.log()));
    p
}
