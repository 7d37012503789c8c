//! Side-by-side ingest benchmark: Debian's gmond 3.7.2 and gmond-rs, each run as a process on
//! the same generated config (loopback only), fed spoofed XDR for N hosts × M metrics at
//! increasing rates with sendmmsg. Reports, for both: kernel UDP drops (RcvbufErrors delta),
//! CPU time per received packet, XML dump time and size, RSS per metric; and the ratios.
//!
//! `gmond-bench [--hosts N] [--metrics M] [--seconds S] [--rates 50000,100000,...] [--plot F]`
//! Loss is counted on the daemon's own socket (the `drops` column of /proc/net/udp), so other
//! traffic on the machine does not count. `--plot F` writes one `daemon rate achieved loss%`
//! line per step for scripts/bench.sh to draw.
//! Bounded: every phase has a fixed duration; both daemons are stopped by pid at the end.

use std::io::Read;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use testkit::{Proc, free_tcp_port, free_udp_port, wait_for};

struct Opts {
    hosts: usize,
    metrics: usize,
    seconds: f64,
    rates: Vec<u64>,
    plot: Option<std::path::PathBuf>,
}

fn opts() -> Opts {
    let mut o = Opts {
        hosts: 1000,
        metrics: 30,
        seconds: 2.0,
        rates: vec![
            100_000, 200_000, 300_000, 400_000, 500_000, 700_000, 1_000_000,
        ],
        plot: None,
    };
    let a: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i + 1 < a.len() {
        match a[i].as_str() {
            "--hosts" => o.hosts = a[i + 1].parse().expect("--hosts N"),
            "--metrics" => o.metrics = a[i + 1].parse().expect("--metrics M"),
            "--seconds" => o.seconds = a[i + 1].parse().expect("--seconds S"),
            "--rates" => {
                o.rates = a[i + 1]
                    .split(',')
                    .map(|r| r.parse().expect("--rates a,b,c"))
                    .collect()
            }
            "--plot" => o.plot = Some(a[i + 1].clone().into()),
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    o
}

fn packets(o: &Opts) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    use ganglia_proto::xdr::{Message, Metadata, MetricId, WireValue, encode};
    let (mut meta, mut vals) = (Vec::new(), Vec::new());
    for h in 0..o.hosts {
        let host = format!("10.{}.{}.{}:node{h:05}", h >> 16, (h >> 8) & 255, h & 255);
        for m in 0..o.metrics {
            let name = format!("metric_{m:02}");
            let id = MetricId {
                host: &host,
                name: &name,
                spoof: true,
            };
            let mut b = Vec::new();
            let extra = vec![
                ("GROUP", "bench"),
                ("TITLE", "Bench metric"),
                ("DESC", "A benchmark metric"),
                ("SPOOF_HOST", host.as_str()),
            ];
            encode(
                &Message::Metadata {
                    id,
                    meta: Metadata {
                        metric_type: "float",
                        name: &name,
                        units: "%",
                        slope: 3,
                        tmax: 60,
                        dmax: 0,
                        extra,
                    },
                },
                &mut b,
            );
            meta.push(b);
            let mut v = Vec::new();
            encode(
                &Message::Value {
                    id,
                    fmt: "%.2f",
                    value: WireValue::Float((h * m) as f32 / 7.0),
                },
                &mut v,
            );
            vals.push(v);
        }
    }
    (meta, vals)
}

/// Send `pkts` round-robin at `rate` per second for `secs`, with sendmmsg batches of 64.
fn blast(sock: &UdpSocket, pkts: &[Vec<u8>], rate: u64, secs: f64) -> u64 {
    const BATCH: usize = 64;
    let start = Instant::now();
    let total = (rate as f64 * secs) as u64;
    let mut sent = 0u64;
    let mut idx = 0usize;
    while sent < total && start.elapsed().as_secs_f64() < secs + 2.0 {
        let n = BATCH.min((total - sent) as usize);
        let mut iovs: Vec<libc::iovec> = (0..n)
            .map(|k| {
                let p = &pkts[(idx + k) % pkts.len()];
                libc::iovec {
                    iov_base: p.as_ptr() as *mut libc::c_void,
                    iov_len: p.len(),
                }
            })
            .collect();
        let mut msgs: Vec<libc::mmsghdr> = iovs
            .iter_mut()
            .map(|iov| {
                // SAFETY: plain data; the pointers set below outlive the call.
                let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
                m.msg_hdr.msg_iov = iov;
                m.msg_hdr.msg_iovlen = 1;
                m
            })
            .collect();
        // SAFETY: `msgs` holds `n` valid headers pointing at live buffers; the socket is connected.
        let r = unsafe { libc::sendmmsg(sock.as_raw_fd(), msgs.as_mut_ptr(), n as u32, 0) };
        if r > 0 {
            sent += r as u64;
            idx += r as usize;
        }
        // Pace: be where the rate says we should be.
        let due = Duration::from_secs_f64(sent as f64 / rate as f64);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    sent
}

fn cpu_split(pid: u32) -> (f64, f64) {
    testkit::proc_cpu(pid)
}

fn cpu_ticks(pid: u32) -> f64 {
    let (u, s) = cpu_split(pid);
    u + s
}

fn rss_kb(pid: u32) -> u64 {
    testkit::proc_rss_kb(pid)
}

/// Datagrams the kernel dropped on the UDP socket bound to `port` (IPv4 and IPv6 tables).
fn socket_drops(port: u16) -> u64 {
    let want = format!(":{port:04X}");
    ["/proc/net/udp", "/proc/net/udp6"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|t| {
            t.lines()
                .skip(1)
                .filter_map(|l| {
                    let cols: Vec<&str> = l.split_whitespace().collect();
                    let local = cols.get(1)?;
                    local
                        .ends_with(&want)
                        .then(|| cols.last()?.parse::<u64>().ok())
                        .flatten()
                })
                .collect::<Vec<_>>()
        })
        .sum()
}

fn dump(addr: SocketAddr) -> (Duration, usize) {
    let t = Instant::now();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let mut v = Vec::new();
    s.read_to_end(&mut v).unwrap();
    (t.elapsed(), v.len())
}

struct Row {
    rate: u64,
    sent: u64,
    achieved: f64,
    drops: u64,
    cpu_us_per_pkt: f64,
}

struct Result {
    name: &'static str,
    rows: Vec<Row>,
    dump_ms: f64,
    dump_bytes: usize,
    rss_per_metric: f64,
}

fn run(name: &'static str, exe: &Path, o: &Opts, meta: &[Vec<u8>], vals: &[Vec<u8>]) -> Result {
    let dir = tempfile::tempdir().unwrap();
    let (udp, tcp) = (free_udp_port(), free_tcp_port());
    let conf = dir.path().join("gmond.conf");
    // Debian's gmond refuses a buffer larger than net.core.rmem_max.
    let buffer: u64 = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4 << 20);
    std::fs::write(
        &conf,
        format!(
            "globals {{\n daemonize = no\n setuid = no\n host_dmax = 0\n}}\ncluster {{ name = \"bench\" }}\n\
             udp_recv_channel {{\n bind = 127.0.0.1\n port = {udp}\n buffer = {buffer}\n}}\n\
             tcp_accept_channel {{\n bind = 127.0.0.1\n port = {tcp}\n}}\n"
        ),
    )
    .unwrap();
    let proc = Proc::spawn(
        name,
        Command::new(exe).arg("-f").arg("-c").arg(&conf),
        dir.path().join("log"),
    );
    let pid = proc.child.id();
    let xml = SocketAddr::from(([127, 0, 0, 1], tcp));
    wait_for(Duration::from_secs(10), || {
        std::net::TcpStream::connect(xml).ok()
    })
    .unwrap_or_else(|| panic!("{name} did not start: {}", proc.log()));
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.connect(("127.0.0.1", udp)).unwrap();
    // RSS per metric is the growth over the empty daemon, so start-up size does not count.
    let rss0 = rss_kb(pid);
    // Metadata first, gently, so every metric exists.
    eprintln!("{name}: sending metadata for {} metrics", meta.len());
    blast(&sock, meta, 50_000, meta.len() as f64 / 50_000.0);
    blast(&sock, vals, 50_000, vals.len() as f64 / 50_000.0);
    std::thread::sleep(Duration::from_millis(500));
    let mut rows = Vec::new();
    for &rate in &o.rates {
        let (d0, c0, split0) = (socket_drops(udp), cpu_ticks(pid), cpu_split(pid));
        let t0 = Instant::now();
        let sent = blast(&sock, vals, rate, o.seconds);
        let achieved = sent as f64 / t0.elapsed().as_secs_f64();
        std::thread::sleep(Duration::from_millis(300));
        let (d1, c1, split1) = (socket_drops(udp), cpu_ticks(pid), cpu_split(pid));
        let sec_us = 1e6;
        let received = sent.saturating_sub(d1 - d0).max(1);
        let row = Row {
            rate,
            sent,
            achieved,
            drops: d1 - d0,
            cpu_us_per_pkt: (c1 - c0) * sec_us / received as f64,
        };
        eprintln!(
            "{name}: {rate} pkt/s: sent {sent} ({achieved:.0}/s), dropped {}, {:.2} µs CPU/pkt (user {:.2} / system {:.2} s)",
            row.drops,
            row.cpu_us_per_pkt,
            split1.0 - split0.0,
            split1.1 - split0.1
        );
        rows.push(row);
    }
    // State memory, measured before any XML dump (a dump's buffer is transient).
    let rss_state = rss_kb(pid).saturating_sub(rss0);
    let mut best = Duration::MAX;
    let mut bytes = 0;
    for _ in 0..3 {
        let (t, b) = dump(xml);
        best = best.min(t);
        bytes = b;
    }
    let metrics = (o.hosts * o.metrics) as f64;
    Result {
        name,
        rows,
        dump_ms: best.as_secs_f64() * 1e3,
        dump_bytes: bytes,
        rss_per_metric: rss_state as f64 * 1024.0 / metrics,
    }
}

fn main() {
    let o = opts();
    let (meta, vals) = packets(&o);
    let ours = testkit::bin("gmond-rs");
    let debian = Path::new("/usr/sbin/gmond");
    assert!(
        debian.exists(),
        "Debian's gmond (ganglia-monitor) is needed for the comparison"
    );
    let results = [
        run("debian-gmond", debian, &o, &meta, &vals),
        run("gmond-rs", &ours, &o, &meta, &vals),
    ];
    println!(
        "\n{} hosts x {} metrics, {} s per rate (loopback, this machine: {} cores)",
        o.hosts,
        o.metrics,
        o.seconds,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<14} {:>10} {:>11} {:>10} {:>8} {:>14}",
        "daemon", "rate/s", "achieved/s", "sent", "loss %", "CPU us/pkt"
    );
    let mut plot = String::new();
    for r in &results {
        for row in &r.rows {
            let loss = row.drops as f64 * 100.0 / row.sent.max(1) as f64;
            println!(
                "{:<14} {:>10} {:>11.0} {:>10} {:>8.2} {:>14.2}",
                r.name, row.rate, row.achieved, row.sent, loss, row.cpu_us_per_pkt
            );
            plot += &format!("{} {} {:.0} {:.4}\n", r.name, row.rate, row.achieved, loss);
        }
    }
    if let Some(path) = &o.plot {
        std::fs::write(path, plot).expect("write --plot file");
    }
    println!();
    for r in &results {
        // Highest rate the sender really reached with no drop on the socket; when no rate
        // dropped anything, the sender (one core) was the limit, not the daemon.
        let best = r
            .rows
            .iter()
            .filter(|x| x.drops == 0)
            .map(|x| x.achieved as u64)
            .max();
        let all_clean = r.rows.iter().all(|x| x.drops == 0);
        match best {
            Some(b) if all_clean => println!(
                "{:<14} highest rate without kernel drops: {b} pkt/s (no drops at any rate: the sender was the limit)",
                r.name
            ),
            Some(b) => println!(
                "{:<14} highest rate without kernel drops: {b} pkt/s",
                r.name
            ),
            None => println!("{:<14} dropped packets at every rate", r.name),
        }
    }
    println!(
        "\n{:<14} {:>12} {:>12} {:>16}",
        "daemon", "dump ms", "dump bytes", "RSS bytes/metric"
    );
    for r in &results {
        println!(
            "{:<14} {:>12.1} {:>12} {:>16.0}",
            r.name, r.dump_ms, r.dump_bytes, r.rss_per_metric
        );
    }
    let (d, g) = (&results[0], &results[1]);
    // CPU per packet compared at the highest rate both received without drops.
    let common = d
        .rows
        .iter()
        .zip(&g.rows)
        .filter(|(a, b)| a.drops == 0 && b.drops == 0)
        .map(|(a, _)| a.rate)
        .max()
        .unwrap_or(o.rates[0]);
    let cpu = |r: &Result| {
        r.rows
            .iter()
            .find(|x| x.rate == common)
            .map_or(0.0, |x| x.cpu_us_per_pkt)
    };
    println!(
        "\nratios (Debian / gmond-rs): CPU per packet at {} pkt/s {:.1}x, XML dump time {:.1}x, RSS per metric {:.1}x",
        common,
        cpu(d) / cpu(g).max(1e-9),
        d.dump_ms / g.dump_ms.max(1e-9),
        d.rss_per_metric / g.rss_per_metric.max(1e-9)
    );
}
