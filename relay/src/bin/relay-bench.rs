//! relay-bench: forwarded packets/s at fan-out 1:N with small packets, relay-rs against a
//! minimal recvmmsg/sendmmsg forwarding loop (the ceiling) measured in the same run, CPU per
//! forwarded packet, and latency percentiles at half the relay's capacity. Loopback only,
//! bounded in time. The last stdout line is the machine-readable result.

use anyhow::{Context, Result, bail};
use clap::Parser;
use relay::client::Control;
use relay::core::hist;
use relay::core::rtp::write_rtp_header;
use relay::core::token::Tokens;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(
    name = "relay-bench",
    about = "relay-rs forwarding benchmark against a minimal recvmmsg/sendmmsg loop"
)]
struct Args {
    /// Seconds per measurement phase (4 phases).
    #[arg(long, default_value_t = 4.0)]
    seconds: f64,
    /// Interleaved rounds (ceiling, relay, ...); the best round of each is reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Rounds of the latency phases (relay-rs, ceiling, ...); the round with the lowest p99 of
    /// each is reported, with the hypervisor's steal during it. Default: rounds + 2.
    #[arg(long)]
    latency_rounds: Option<usize>,
    /// Input rate (packets/s) for the latency phases instead of half the measured capacity.
    #[arg(long)]
    latency_rate: Option<f64>,
    /// Receivers per publisher.
    #[arg(long, default_value_t = 4)]
    fanout: usize,
    /// Datagram size in bytes.
    #[arg(long, default_value_t = 200)]
    size: usize,
    /// Pin the forwarder to CPU 1 and the load generator and sinks to CPU 0 (helps on an
    /// otherwise idle machine, hurts when other work shares CPU 1).
    #[arg(long)]
    pin: bool,
    /// Internal: run the ceiling forwarder on this address, forwarding to --dests.
    #[arg(long, hide = true)]
    ceiling: Option<SocketAddr>,
    /// Internal: the ceiling's destinations.
    #[arg(long, hide = true, value_delimiter = ',')]
    dests: Vec<SocketAddr>,
}

const BATCH: usize = 64;

fn sockaddr(a: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    let s = socket2::SockAddr::from(*a);
    // SAFETY: all-zero is a valid sockaddr_storage; we copy s.len() bytes from a valid address.
    let mut st: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    unsafe {
        std::ptr::copy_nonoverlapping(
            s.as_ptr().cast::<u8>(),
            (&mut st as *mut libc::sockaddr_storage).cast::<u8>(),
            s.len() as usize,
        );
    }
    (st, s.len())
}

fn big_buffers(s: &UdpSocket) {
    let v: libc::c_int = 8 << 20;
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_SNDBUFFORCE] {
        // SAFETY: valid fd and option value.
        unsafe {
            libc::setsockopt(
                s.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&v as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
}

/// The ceiling: receive a batch, send every datagram to every destination, nothing else.
fn ceiling(listen: SocketAddr, dests: &[SocketAddr]) -> Result<()> {
    let sock = UdpSocket::bind(listen)?;
    big_buffers(&sock);
    sock.set_read_timeout(Some(Duration::from_millis(200)))?;
    println!("{}", sock.local_addr()?.port());
    std::io::stdout().flush()?;
    let fd = sock.as_raw_fd();
    let names: Vec<_> = dests.iter().map(sockaddr).collect();
    let mut bufs = vec![[0u8; 2048]; BATCH];
    // SAFETY: all-zero is valid for these C structs; pointers are set before each use.
    let mut iov: Vec<libc::iovec> = vec![unsafe { std::mem::zeroed() }; BATCH];
    let mut msgs: Vec<libc::mmsghdr> = vec![unsafe { std::mem::zeroed() }; BATCH];
    let mut out_iov: Vec<libc::iovec> = vec![unsafe { std::mem::zeroed() }; BATCH * dests.len()];
    let mut out: Vec<libc::mmsghdr> = vec![unsafe { std::mem::zeroed() }; BATCH * dests.len()];
    let end = Instant::now() + Duration::from_secs(120);
    while Instant::now() < end {
        for i in 0..BATCH {
            iov[i].iov_base = bufs[i].as_mut_ptr().cast();
            iov[i].iov_len = 2048;
            msgs[i].msg_hdr.msg_iov = &mut iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: headers point at live buffers.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                msgs.as_mut_ptr(),
                BATCH as u32,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if n <= 0 {
            continue;
        }
        let mut k = 0;
        for i in 0..n as usize {
            for (st, len) in &names {
                out_iov[k].iov_base = bufs[i].as_mut_ptr().cast();
                out_iov[k].iov_len = msgs[i].msg_len as usize;
                out[k].msg_hdr.msg_name = (st as *const libc::sockaddr_storage).cast_mut().cast();
                out[k].msg_hdr.msg_namelen = *len;
                out[k].msg_hdr.msg_iov = &mut out_iov[k];
                out[k].msg_hdr.msg_iovlen = 1;
                k += 1;
            }
        }
        let mut done = 0;
        while done < k {
            // SAFETY: headers point at live buffers and addresses.
            let m = unsafe { libc::sendmmsg(fd, out[done..k].as_mut_ptr(), (k - done) as u32, 0) };
            done += if m <= 0 { 1 } else { m as usize };
        }
    }
    Ok(())
}

/// Pin `pid` (0: this process) to one CPU; false if the machine has fewer CPUs.
fn pin(pid: u32, cpu: usize) -> bool {
    // SAFETY: a zeroed cpu_set_t filled with CPU_SET, passed with its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(
            pid as libc::pid_t,
            std::mem::size_of::<libc::cpu_set_t>(),
            &set,
        ) == 0
    }
}

fn cpu_ticks(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields after the command: state is [0]; utime [11], stime [12].
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

fn clk_tck() -> f64 {
    // SAFETY: sysconf has no preconditions.
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).max(1) as f64
}

struct Sinks {
    socks: Vec<UdpSocket>,
}

struct Phase {
    fwd_pps: f64,
    cpu_ns_per_fwd: f64,
    p50_us: f64,
    p99_us: f64,
    sent: u64,
    received: u64,
    /// relay-rs's own receive-to-send p50/p99 (kernel receive timestamps), µs.
    added: Option<(u64, u64)>,
    /// Share of the machine's CPU time the hypervisor took (steal, /proc/stat) during the
    /// phase, %: on a virtual machine, the cause of millisecond gaps nobody inside can avoid.
    steal_pct: f64,
}

/// The machine's (steal, total) CPU ticks from /proc/stat's first line.
fn cpu_steal_ticks() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<u64> = text
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal [guest guest_nice: counted in user]
    (v.get(7).copied().unwrap_or(0), v.iter().take(8).sum())
}

/// Offer `rate` packets/s (0: as fast as possible) from `src` to `dst` for `secs`, count what
/// the sinks receive; `cpu_pid` is the forwarder whose CPU time is charged.
fn phase(
    src: &UdpSocket,
    dst: SocketAddr,
    sinks: &Sinks,
    size: usize,
    ssrc: u32,
    rate: f64,
    secs: f64,
    cpu_pid: u32,
    epoch: Instant,
) -> Phase {
    drain(sinks);
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicU64::new(0));
    let rx = {
        let socks: Vec<UdpSocket> = sinks
            .socks
            .iter()
            .map(|s| s.try_clone().expect("clone"))
            .collect();
        let (stop, received) = (stop.clone(), received.clone());
        std::thread::spawn(move || receive(&socks, &stop, &received, epoch))
    };
    let cpu0 = cpu_ticks(cpu_pid);
    let steal0 = cpu_steal_ticks();
    let t0 = Instant::now();
    let sent = generate(src, dst, size, ssrc, rate, secs, epoch);
    let elapsed = t0.elapsed().as_secs_f64();
    let got_at_end = received.load(Ordering::Relaxed);
    let cpu1 = cpu_ticks(cpu_pid);
    let steal1 = cpu_steal_ticks();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let mut lat = rx.join().unwrap_or_default();
    lat.sort_unstable();
    let pct = |q: f64| {
        lat.get(((lat.len().max(1) - 1) as f64 * q) as usize)
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    let cpu_s = (cpu1 - cpu0) as f64 / clk_tck();
    Phase {
        fwd_pps: got_at_end as f64 / elapsed,
        cpu_ns_per_fwd: if got_at_end > 0 {
            cpu_s * 1e9 / got_at_end as f64
        } else {
            0.0
        },
        p50_us: pct(0.5),
        p99_us: pct(0.99),
        sent,
        received: received.load(Ordering::Relaxed),
        added: None,
        steal_pct: 100.0 * steal1.0.saturating_sub(steal0.0) as f64
            / steal1.1.saturating_sub(steal0.1).max(1) as f64,
    }
}

/// Lower p99 is better; a phase that delivered nothing is worst.
fn latency_key(p: &Phase) -> f64 {
    if p.received == 0 {
        f64::NEG_INFINITY
    } else {
        -p.p99_us
    }
}

/// Wait until the previous phase's backlog has drained: nothing arrives for 300 ms (at most 10 s).
fn drain(sinks: &Sinks) {
    let end = Instant::now() + Duration::from_secs(10);
    let mut quiet_since = Instant::now();
    let mut buf = [0u8; 2048];
    while Instant::now() < end && quiet_since.elapsed() < Duration::from_millis(300) {
        let mut got = false;
        for s in &sinks.socks {
            while s.recv_from(&mut buf).is_ok() {
                got = true;
            }
        }
        if got {
            quiet_since = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// relay-rs's receive-to-send histogram (bucket counts) from its admin endpoint.
fn admin_latency(admin: SocketAddr) -> Result<Vec<u64>> {
    let mut s = std::net::TcpStream::connect_timeout(&admin, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(b"GET /stats HTTP/1.0\r\n\r\n")?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut s, &mut text)?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let v: serde_json::Value = serde_json::from_str(body)?;
    let mut counts = vec![0u64; hist::BUCKETS];
    for b in v["fwd_latency"]["buckets"]
        .as_array()
        .context("fwd_latency buckets")?
    {
        let (lo, n) = (b[0].as_u64().unwrap_or(0), b[1].as_u64().unwrap_or(0));
        counts[hist::index(lo)] += n;
    }
    Ok(counts)
}

/// p50/p99 of what was added between two histogram snapshots.
fn added_latency(before: &[u64], after: &[u64]) -> Option<(u64, u64)> {
    let d: Vec<u64> = after
        .iter()
        .zip(before)
        .map(|(a, b)| a.saturating_sub(*b))
        .collect();
    Some((hist::quantile(&d, 0.5)?, hist::quantile(&d, 0.99)?))
}

fn generate(
    src: &UdpSocket,
    dst: SocketAddr,
    size: usize,
    ssrc: u32,
    rate: f64,
    secs: f64,
    epoch: Instant,
) -> u64 {
    let (name, nlen) = sockaddr(&dst);
    let mut bufs = vec![vec![0u8; size]; BATCH];
    // SAFETY: all-zero is valid for these C structs.
    let mut iov: Vec<libc::iovec> = vec![unsafe { std::mem::zeroed() }; BATCH];
    let mut msgs: Vec<libc::mmsghdr> = vec![unsafe { std::mem::zeroed() }; BATCH];
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(secs);
    let mut seq = 0u16;
    let mut sent = 0u64;
    let mut hdr = Vec::with_capacity(12);
    while Instant::now() < end {
        let n = if rate > 0.0 {
            let due = (start.elapsed().as_secs_f64() * rate) as u64;
            if due <= sent {
                std::thread::sleep(Duration::from_micros(200));
                continue;
            }
            ((due - sent) as usize).min(BATCH)
        } else {
            BATCH
        };
        let t = epoch.elapsed().as_nanos() as u64;
        for i in 0..n {
            hdr.clear();
            write_rtp_header(&mut hdr, 111, false, seq, u32::from(seq) * 960, ssrc);
            seq = seq.wrapping_add(1);
            bufs[i][..12].copy_from_slice(&hdr);
            bufs[i][12..20].copy_from_slice(&t.to_be_bytes());
            iov[i].iov_base = bufs[i].as_mut_ptr().cast();
            iov[i].iov_len = size;
            msgs[i].msg_hdr.msg_name = (&name as *const libc::sockaddr_storage).cast_mut().cast();
            msgs[i].msg_hdr.msg_namelen = nlen;
            msgs[i].msg_hdr.msg_iov = &mut iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: headers point at live buffers and the destination.
        let m = unsafe { libc::sendmmsg(src.as_raw_fd(), msgs.as_mut_ptr(), n as u32, 0) };
        if m > 0 {
            sent += m as u64;
        }
    }
    sent
}

fn receive(
    socks: &[UdpSocket],
    stop: &AtomicBool,
    received: &AtomicU64,
    epoch: Instant,
) -> Vec<u64> {
    let mut fds: Vec<libc::pollfd> = socks
        .iter()
        .map(|s| libc::pollfd {
            fd: s.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let mut bufs = vec![[0u8; 256]; BATCH];
    // SAFETY: all-zero is valid for these C structs.
    let mut iov: Vec<libc::iovec> = vec![unsafe { std::mem::zeroed() }; BATCH];
    let mut msgs: Vec<libc::mmsghdr> = vec![unsafe { std::mem::zeroed() }; BATCH];
    let mut lat = Vec::with_capacity(1 << 20);
    let mut k = 0u64;
    while !stop.load(Ordering::Relaxed) {
        // SAFETY: live pollfd array.
        if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 50) } <= 0 {
            continue;
        }
        for f in &mut fds {
            if f.revents == 0 {
                continue;
            }
            f.revents = 0;
            loop {
                for i in 0..BATCH {
                    iov[i].iov_base = bufs[i].as_mut_ptr().cast();
                    iov[i].iov_len = 256;
                    msgs[i].msg_hdr.msg_iov = &mut iov[i];
                    msgs[i].msg_hdr.msg_iovlen = 1;
                }
                // SAFETY: headers point at live buffers.
                let n = unsafe {
                    libc::recvmmsg(
                        f.fd,
                        msgs.as_mut_ptr(),
                        BATCH as u32,
                        libc::MSG_DONTWAIT,
                        std::ptr::null_mut(),
                    )
                };
                if n <= 0 {
                    break;
                }
                let now = epoch.elapsed().as_nanos() as u64;
                received.fetch_add(n as u64, Ordering::Relaxed);
                for b in bufs.iter().take(n as usize) {
                    k += 1;
                    if k % 4 == 0 && lat.len() < 4_000_000 {
                        let t = u64::from_be_bytes(b[12..20].try_into().unwrap_or_default());
                        lat.push(now.saturating_sub(t));
                    }
                }
            }
        }
    }
    lat
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sibling(name: &str) -> Result<std::path::PathBuf> {
    let exe = std::env::current_exe()?;
    let p = exe.with_file_name(name);
    if !p.exists() {
        bail!(
            "{} not found next to relay-bench (cargo build --release -p relay --bins)",
            p.display()
        );
    }
    Ok(p)
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn main() -> Result<()> {
    let a = Args::parse();
    if let Some(listen) = a.ceiling {
        return ceiling(listen, &a.dests);
    }
    anyhow::ensure!(a.seconds > 0.0 && a.seconds <= 60.0, "--seconds in (0, 60]");
    anyhow::ensure!((20..=1400).contains(&a.size), "--size in 20..=1400");
    let epoch = Instant::now();
    let pinned =
        a.pin && std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2 && pin(0, 0);
    let sinks = Sinks {
        socks: (0..a.fanout)
            .map(|_| {
                let s = UdpSocket::bind("127.0.0.1:0")?;
                big_buffers(&s);
                s.set_nonblocking(true)?;
                Ok(s)
            })
            .collect::<std::io::Result<_>>()?,
    };
    let dests: Vec<SocketAddr> = sinks
        .socks
        .iter()
        .map(|s| s.local_addr())
        .collect::<std::io::Result<_>>()?;
    let src = UdpSocket::bind("127.0.0.1:0")?;
    big_buffers(&src);

    // (a) The ceiling forwarder, in its own process.
    let mut child = Command::new(std::env::current_exe()?)
        .arg("--ceiling")
        .arg("127.0.0.1:0")
        .arg("--dests")
        .arg(
            dests
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(","),
        )
        .stdout(Stdio::piped())
        .spawn()
        .context("ceiling forwarder")?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    let ceiling_pid = child.id();
    if pinned {
        pin(ceiling_pid, 1);
    }
    let ceiling_proc = Killed(child);
    let ceiling_addr: SocketAddr = format!("127.0.0.1:{}", line.trim()).parse()?;
    eprintln!(
        "relay-bench: ceiling forwarder (pid {ceiling_pid}) on {ceiling_addr}, fan-out 1:{}, {} B",
        a.fanout, a.size
    );

    // (b) relay-rs with its embedded agent (sending to an unused loopback port).
    let dir = std::env::temp_dir().join(format!("relay-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let secret = dir.join("secret");
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&secret)?;
        writeln!(f, "bench-{}", relay::core::token::random_nonce())?;
    }
    let conf = dir.join("gmond.conf");
    std::fs::write(
        &conf,
        format!(
            "globals {{ daemonize = no }}\ncluster {{ name = \"bench\" }}\nudp_send_channel {{ host = 127.0.0.1 port = {} }}\n",
            free_port()?
        ),
    )?;
    let control: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let admin: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let relay_child = Command::new(sibling("relay-rs")?)
        .arg("--control")
        .arg(control.to_string())
        .arg("--media")
        .arg(format!("127.0.0.1:{}", free_port()?))
        .arg("--admin")
        .arg(admin.to_string())
        .arg("--secret-file")
        .arg(&secret)
        .arg("--gmond-conf")
        .arg(&conf)
        .args(["--max-bitrate", "0", "--max-members", "64"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .context("relay-rs")?;
    let relay_pid = relay_child.id();
    if pinned {
        // The media thread gets CPU 1 to itself, as the ceiling's single thread does; the
        // control, admin and agent threads (tokio workers) share CPU 0 with the load.
        std::thread::sleep(Duration::from_millis(300));
        for t in std::fs::read_dir(format!("/proc/{relay_pid}/task"))?.flatten() {
            if let Some(tid) = t.file_name().to_str().and_then(|s| s.parse().ok()) {
                let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
                pin(
                    tid,
                    if comm.trim_end() == "relay-media" {
                        1
                    } else {
                        0
                    },
                );
            }
        }
    }
    let relay_proc = Killed(relay_child);
    let tokens = Tokens::from_file(&secret)?;
    let mut ctl = None;
    for _ in 0..100 {
        if let Ok(c) = Control::connect(control) {
            ctl = Some(c);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut ctl = ctl.context("relay-rs control port")?;
    let tok = tokens.sign("bench", u64::MAX / 2, 1);
    let j = ctl.join("bench", &tok, 1, "audio", None, None)?;
    for (i, d) in dests.iter().enumerate() {
        ctl.join("bench", &tok, 100 + i as u32, "audio", Some(*d), None)?;
    }
    let best = |a: Option<Phase>, b: Phase, key: fn(&Phase) -> f64| match a {
        Some(a) if key(&a) >= key(&b) => Some(a),
        _ => Some(b),
    };
    let (mut c_full, mut r_full) = (None, None);
    for round in 1..=a.rounds.max(1) {
        let c = phase(
            &src,
            ceiling_addr,
            &sinks,
            a.size,
            1,
            0.0,
            a.seconds,
            ceiling_pid,
            epoch,
        );
        eprintln!(
            "relay-bench: round {round}: ceiling {:.0} forwarded/s, {:.0} ns CPU per forwarded packet",
            c.fwd_pps, c.cpu_ns_per_fwd
        );
        c_full = best(c_full, c, |p| p.fwd_pps);
        // The sinks send nothing: pings keep them from being reaped as inactive.
        ctl.request(r#"{"op":"ping"}"#)?;
        let r = phase(
            &src, j.media, &sinks, a.size, 1, 0.0, a.seconds, relay_pid, epoch,
        );
        eprintln!(
            "relay-bench: round {round}: relay-rs {:.0} forwarded/s, {:.0} ns CPU per forwarded packet",
            r.fwd_pps, r.cpu_ns_per_fwd
        );
        r_full = best(r_full, r, |p| p.fwd_pps);
    }
    let (c_full, r_full) = (c_full.context("a round")?, r_full.context("a round")?);
    // Latency at half the relay's capacity, through both (lowest p99 of the rounds).
    let half_in = a
        .latency_rate
        .unwrap_or(r_full.fwd_pps / a.fanout as f64 / 2.0);
    let (mut r_half, mut c_half) = (None, None);
    for round in 1..=a.latency_rounds.unwrap_or(a.rounds + 2).max(1) {
        ctl.request(r#"{"op":"ping"}"#)?;
        drain(&sinks); // the previous phase's backlog must not count
        let before = admin_latency(admin)?;
        let mut r = phase(
            &src, j.media, &sinks, a.size, 1, half_in, a.seconds, relay_pid, epoch,
        );
        r.added = added_latency(&before, &admin_latency(admin)?);
        eprintln!(
            "relay-bench: round {round}: at {half_in:.0} in/s relay-rs p50 {:.0} us p99 {:.0} us end to end; inside relay-rs (kernel rx timestamp to sent) p50/p99 {:?} us; steal {:.1}%",
            r.p50_us, r.p99_us, r.added, r.steal_pct
        );
        r_half = best(r_half, r, latency_key);
        let c = phase(
            &src,
            ceiling_addr,
            &sinks,
            a.size,
            1,
            half_in,
            a.seconds,
            ceiling_pid,
            epoch,
        );
        eprintln!(
            "relay-bench: round {round}: at {half_in:.0} in/s ceiling p50 {:.0} us p99 {:.0} us; steal {:.1}%",
            c.p50_us, c.p99_us, c.steal_pct
        );
        c_half = best(c_half, c, latency_key);
    }
    let (r_half, c_half) = (r_half.context("a round")?, c_half.context("a round")?);
    let loss =
        |p: &Phase| 100.0 * (1.0 - p.received as f64 / (p.sent as f64 * a.fanout as f64)).max(0.0);
    eprintln!(
        "relay-bench: at {:.0} in/s ({:.0} forwarded/s): relay-rs p50 {:.0} us p99 {:.0} us (loss {:.3}%), ceiling p50 {:.0} us p99 {:.0} us",
        half_in,
        half_in * a.fanout as f64,
        r_half.p50_us,
        r_half.p99_us,
        loss(&r_half),
        c_half.p50_us,
        c_half.p99_us
    );
    drop(ctl);
    drop(relay_proc);
    drop(ceiling_proc);
    let _ = std::fs::remove_dir_all(&dir);
    let ratio = r_full.fwd_pps / c_full.fwd_pps.max(1.0);
    println!(
        "{}",
        serde_json::json!({
            "bench": "relay", "fanout": a.fanout, "rounds": a.rounds, "pinned": pinned, "size": a.size, "seconds": a.seconds,
            "ceiling_fwd_pps": c_full.fwd_pps.round(), "relay_fwd_pps": r_full.fwd_pps.round(),
            "ratio": (ratio * 1000.0).round() / 1000.0,
            "ceiling_cpu_ns_per_fwd": c_full.cpu_ns_per_fwd.round(),
            "relay_cpu_ns_per_fwd": r_full.cpu_ns_per_fwd.round(),
            "half_load_in_pps": half_in.round(),
            "relay_p50_us": r_half.p50_us, "relay_p99_us": r_half.p99_us,
            "relay_added_p50_us": r_half.added.map(|a| a.0),
            "relay_added_p99_us": r_half.added.map(|a| a.1),
            "relay_half_load_loss_pct": (loss(&r_half) * 1000.0).round() / 1000.0,
            "ceiling_p50_us": c_half.p50_us, "ceiling_p99_us": c_half.p99_us,
            "relay_half_load_steal_pct": (r_half.steal_pct * 10.0).round() / 10.0,
            "ceiling_half_load_steal_pct": (c_half.steal_pct * 10.0).round() / 10.0,
        })
    );
    Ok(())
}
