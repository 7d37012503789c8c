//! Faults around a real cluster in network namespaces (testkit::cluster): a full RRD
//! filesystem, slow readers on 8649/8651/8652, a spoof flood of distinct hosts, packet loss and
//! reordering on the switch. The `soak_*` variants (ignored; `make soak`) run them at full size.

use ganglia_proto::xdr::{Message, Metadata, MetricId, WireValue, encode};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};
use testkit::cluster::{CLUSTER, Cluster, MCAST, Spec, json_num, rrd_info, rrd_infos};
use testkit::netns::{Tmpfs, exec_in, in_ns};
use testkit::{proc_rss_kb, wait_for};

const T: Duration = Duration::from_secs(40);

fn cluster(spec: Spec) -> Cluster {
    let mut c = Cluster::new(spec);
    c.wait_converged(T);
    c.start_gmetad();
    c.wait_gmetad_complete(T);
    c
}

fn status_num(c: &Cluster, keys: &[&str]) -> u64 {
    let s = c.status().expect("/status answers");
    json_num(&s, keys).unwrap_or_else(|| panic!("{keys:?} not in {s}"))
}

/// rrd_rootdir on a small tmpfs filled to the last byte before gmetad-rs starts: creates fail
/// and are counted, polling goes on; once space returns every file appears, is valid and is
/// updated.
#[test]
fn full_rrd_filesystem_counts_errors_polls_on_and_recovers() {
    let top = tempfile::tempdir().unwrap();
    let fs = Tmpfs::mount(&top.path().join("rrds"), "4m");
    // Fill it: write until ENOSPC.
    let filler = fs.dir.join("filler");
    {
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 64 << 10];
        while f.write_all(&chunk).is_ok() {}
        while f.write_all(&[0]).is_ok() {}
    }
    let mut spec = Spec::new("fs");
    spec.rrd_rootdir = Some(fs.dir.clone());
    let mut c = Cluster::new(spec);
    c.wait_converged(T);
    c.start_gmetad();
    let errors = wait_for(T, || {
        let e = status_num(&c, &["createErrors"]);
        (e >= 20).then_some(e)
    })
    .unwrap_or_else(|| panic!("no create errors counted: {:?}", c.status()));
    // Polling goes on while the disk is full.
    let ok0 = status_num(&c, &["polls", "ok", "num"]);
    wait_for(T, || {
        (status_num(&c, &["polls", "ok", "num"]) >= ok0 + 3).then_some(())
    })
    .expect("polls continue on a full disk");
    c.wait_gmetad_complete(T);
    assert!(
        status_num(&c, &["createErrors"]) > errors,
        "errors keep being counted"
    );
    // The last error names the file that could not be created, and why.
    let s = c.status().unwrap();
    assert!(s.contains("\"lastError\":\"create "), "{s}");
    assert!(s.contains(" bytes free on its filesystem"), "{s}");
    // Space returns.
    std::fs::remove_file(&filler).unwrap();
    let host = |h: usize| c.rrds.join(CLUSTER).join(Cluster::host_name(h));
    // Numeric metrics get RRDs (strings do not).
    let doc = c.gmetad_doc().expect("gmetad-rs XML");
    let want: Vec<usize> = (0..4)
        .map(|h| {
            let name = Cluster::host_name(h);
            let host = doc.grids[0].clusters[0]
                .hosts
                .iter()
                .find(|x| x.name == name);
            host.map_or(0, |x| {
                x.metrics
                    .iter()
                    .filter(|m| m.metric_type != "string")
                    .count()
            })
        })
        .collect();
    assert!(want.iter().all(|&n| n >= 20), "{want:?}");
    let all = wait_for(T, || {
        let files = c.rrd_files();
        let per_host_ok =
            (0..4).all(|h| files.iter().filter(|f| f.starts_with(host(h))).count() >= want[h]);
        (per_host_ok && rrd_infos(&files).iter().all(Result::is_ok)).then_some(files)
    })
    .unwrap_or_else(|| {
        let bad: Vec<_> = c
            .rrd_files()
            .into_iter()
            .filter_map(|f| rrd_info(&f).err().map(|e| (f, e)))
            .take(3)
            .collect();
        panic!(
            "RRDs not all back after space returned: {} files, invalid: {bad:?}\n{:?}",
            c.rrd_files().len(),
            c.status()
        )
    });
    // And they are updated.
    let last: Vec<u64> = rrd_infos(&all).into_iter().map(Result::unwrap).collect();
    wait_for(T, || {
        rrd_infos(&all)
            .iter()
            .zip(&last)
            .all(|(r, l)| r.as_ref().is_ok_and(|t| t > l))
            .then_some(())
    })
    .expect("updates resume on every file");
    drop(c);
    drop(fs);
}

/// A TCP connection with a tiny receive buffer, made in `ns`, that reads one byte per second
/// until `until`.
fn slow_reader(ns: &str, addr: SocketAddr, query: Option<&'static str>, until: Instant) {
    let s = in_ns(ns, || {
        let sock = socket2_like_small_rcvbuf();
        connect_fd(sock, addr)
    });
    let Some(mut s) = s else { return };
    if let Some(q) = query {
        let _ = s.write_all(q.as_bytes());
    }
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut b = [0u8; 1];
    while Instant::now() < until {
        match s.read(&mut b) {
            Ok(0) | Err(_) => break,
            Ok(_) => std::thread::sleep(Duration::from_secs(1)),
        }
    }
}

/// A TCP socket with a 4 KiB receive buffer (set before connect, so the window stays small).
fn socket2_like_small_rcvbuf() -> i32 {
    // SAFETY: plain socket calls on a descriptor we own.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0);
        let v: libc::c_int = 4096;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as u32,
        );
        fd
    }
}

fn connect_fd(fd: i32, addr: SocketAddr) -> Option<TcpStream> {
    use std::os::fd::FromRawFd;
    let SocketAddr::V4(a) = addr else {
        return None;
    };
    let sa = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: a.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*a.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: sa is a valid sockaddr_in; fd is ours and handed to TcpStream below.
    let rc = unsafe {
        libc::connect(
            fd,
            (&sa as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as u32,
        )
    };
    // SAFETY: fd is an open socket we own.
    let s = unsafe { TcpStream::from_raw_fd(fd) };
    (rc == 0).then_some(s)
}

/// Time a full read of `addr` (after sending `query`), from the client namespace.
fn timed_dump(c: &Cluster, addr: SocketAddr, query: Option<&str>) -> (Duration, usize) {
    let t0 = Instant::now();
    let n = in_ns(&c.client.ns, || {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
        if let Some(q) = query {
            s.write_all(q.as_bytes()).ok()?;
        }
        let mut v = Vec::new();
        s.read_to_end(&mut v).ok()?;
        Some(v.len())
    })
    .unwrap_or(0);
    (t0.elapsed(), n)
}

/// Readers taking one byte per second on 8649, 8651 and 8652 slow nobody else down: full dumps
/// stay within a generous multiple of the baseline measured just before, and gmetad-rs's
/// polls (of a gmond that has slow readers too) neither fail nor miss.
fn slow_readers(tag: &'static str, secs: u64, per_port: usize) {
    let c = cluster(Spec::new(tag));
    let ports: [(SocketAddr, Option<&'static str>); 3] = [
        (c.gmond_addr(0), None),
        (c.gmetad_addr(8651), None),
        (c.gmetad_addr(8652), Some("/\n")),
    ];
    let measure = || -> Vec<Duration> {
        ports
            .iter()
            .map(|(a, q)| {
                (0..3)
                    .map(|_| {
                        let (d, n) = timed_dump(&c, *a, *q);
                        assert!(n > 1000, "{a}: short dump ({n} bytes)");
                        d
                    })
                    .max()
                    .unwrap()
            })
            .collect()
    };
    let base = measure();
    let (ok0, failed0, misses0) = (
        status_num(&c, &["polls", "ok", "num"]),
        status_num(&c, &["polls", "failed", "num"]),
        status_num(&c, &["misses"]),
    );
    let until = Instant::now() + Duration::from_secs(secs);
    let client = c.client.ns.clone();
    std::thread::scope(|s| {
        for (a, q) in ports {
            for _ in 0..per_port {
                let ns = client.clone();
                s.spawn(move || slow_reader(&ns, a, q, until));
            }
        }
        std::thread::sleep(Duration::from_secs(2));
        // While they crawl: dumps as fast as before (generous bound, same machine, same test).
        let mut rounds = 0;
        while Instant::now() + Duration::from_secs(3) < until {
            let now = measure();
            for (k, (b, n)) in base.iter().zip(&now).enumerate() {
                assert!(
                    *n <= *b * 10 + Duration::from_millis(1500),
                    "port {:?}: dump took {n:?} with slow readers, {b:?} before",
                    ports[k].0
                );
            }
            rounds += 1;
            std::thread::sleep(Duration::from_millis(500));
        }
        assert!(rounds >= 2, "measured while the slow readers ran");
    });
    let step = u64::from(c.spec.step);
    let ok = status_num(&c, &["polls", "ok", "num"]);
    assert!(
        ok >= ok0 + secs / step - 2,
        "polls went on: {ok0} -> {ok} in {secs} s"
    );
    assert_eq!(
        status_num(&c, &["polls", "failed", "num"]),
        failed0,
        "no poll failed"
    );
    assert_eq!(
        status_num(&c, &["misses"]),
        misses0,
        "no poll missed its step"
    );
    c.wait_gmetad_complete(T);
}

#[test]
fn slow_readers_on_every_port_slow_nobody_else() {
    slow_readers("sr", 14, 2);
}

#[test]
#[ignore = "long variant: make soak"]
fn soak_slow_readers_on_every_port() {
    slow_readers("ssr", 120, 8);
}

/// A metadata packet for spoofed host `h` (each one a new host with one metric).
fn spoof_packet(h: u32, out: &mut Vec<u8>) {
    let host = format!(
        "10.{}.{}.{}:spoof{h:07}",
        (h >> 16) & 255,
        (h >> 8) & 255,
        h & 255
    );
    out.clear();
    encode(
        &Message::Metadata {
            id: MetricId {
                host: &host,
                name: "flood",
                spoof: true,
            },
            meta: Metadata {
                metric_type: "uint32",
                name: "flood",
                units: "",
                slope: 3,
                tmax: 60,
                dmax: 0,
                extra: vec![("SPOOF_HOST", host.as_str())],
            },
        },
        out,
    );
}

/// `hosts` distinct spoofed hosts multicast at most `rate` per second into the cluster: every
/// gmond keeps at most max_hosts hosts, its RSS stays under a bound derived from that cap, and
/// the real hosts keep every metric.
fn spoof_flood(tag: &'static str, hosts: u32, rate: u32) {
    const MAX_HOSTS: u64 = 1000;
    let mut spec = Spec::new(tag);
    spec.gmond_globals = format!("  max_hosts = {MAX_HOSTS}\n  max_metrics_per_host = 64\n");
    let c = cluster(spec);
    let pids: Vec<u32> = (0..4).map(|i| c.gmond_pid(i).unwrap()).collect();
    let before: Vec<u64> = pids.iter().map(|p| proc_rss_kb(*p)).collect();
    let sock = in_ns(&c.client.ns, || UdpSocket::bind("0.0.0.0:0").unwrap());
    sock.connect((MCAST, 8649)).unwrap();
    // Bounded in count and time.
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(u64::from(hosts / rate) * 3 + 10);
    let mut buf = Vec::with_capacity(256);
    let mut peak = before.clone();
    let mut sent = 0u32;
    while sent < hosts && Instant::now() < deadline {
        spoof_packet(sent, &mut buf);
        let _ = sock.send(&buf);
        sent += 1;
        if sent.is_multiple_of(1000) {
            let due = Duration::from_secs_f64(f64::from(sent) / f64::from(rate));
            if let Some(w) = due.checked_sub(t0.elapsed()) {
                std::thread::sleep(w);
            }
            if sent.is_multiple_of(20_000) {
                for (k, p) in pids.iter().enumerate() {
                    peak[k] = peak[k].max(proc_rss_kb(*p));
                }
            }
        }
    }
    println!("sent {sent} spoofed hosts in {:?}", t0.elapsed());
    assert_eq!(sent, hosts, "flood finished within its time bound");
    // The cap: host entries of at most max_hosts × (one metric + names), generous per host, plus
    // allocator slack; an uncapped gmond holding the flood grows far beyond.
    let bound_kb = MAX_HOSTS * 8 + 24 * 1024;
    for i in 0..4 {
        let n = wait_for(T, || c.gmond_hosts(i).map(|h| h.len())).expect("XML answers");
        assert!(
            n as u64 <= MAX_HOSTS,
            "gmond {i} holds {n} hosts > max_hosts {MAX_HOSTS}"
        );
        peak[i] = peak[i].max(proc_rss_kb(pids[i]));
        println!(
            "gmond {i}: {n} hosts, RSS {} KiB before, peak {} KiB (bound +{bound_kb} KiB)",
            before[i], peak[i]
        );
        assert!(
            peak[i] <= before[i] + bound_kb,
            "gmond {i} RSS grew from {} to {} KiB under the flood (bound +{bound_kb} KiB)",
            before[i],
            peak[i]
        );
    }
    // The real hosts kept all their metrics (refresh continues).
    c.wait_converged(T);
    c.wait_gmetad_complete(T);
}

#[test]
fn spoof_flood_of_100k_hosts_stays_under_the_host_cap() {
    spoof_flood("sp", 100_000, 25_000);
}

#[test]
#[ignore = "long variant: make soak"]
fn soak_spoof_flood_of_1m_hosts_stays_under_the_host_cap() {
    spoof_flood("ssp", 1_000_000, 25_000);
}

/// Impair every UDP datagram crossing the switch: 1% random loss and reordering. tc netem
/// where the kernel has it; otherwise (this kernel: CONFIG_NET_SCH_NETEM unset, no modules) the
/// same effect from nftables (numgen random drop, and a random 5% moved to a slow HTB class,
/// which delays them behind later packets). Returns what was used.
fn impair(c: &Cluster, octets: &[u8]) -> &'static str {
    let sw = &c.net.switch;
    let port = |o: u8| testkit::netns::Net::port(o);
    let (netem, why) = exec_in(
        sw,
        "tc",
        &[
            "qdisc",
            "add",
            "dev",
            &port(octets[0]),
            "root",
            "netem",
            "loss",
            "1%",
            "delay",
            "10ms",
            "reorder",
            "90%",
            "50%",
        ],
    );
    if netem {
        for &o in &octets[1..] {
            let (ok, e) = exec_in(
                sw,
                "tc",
                &[
                    "qdisc",
                    "add",
                    "dev",
                    &port(o),
                    "root",
                    "netem",
                    "loss",
                    "1%",
                    "delay",
                    "10ms",
                    "reorder",
                    "90%",
                    "50%",
                ],
            );
            assert!(ok, "netem on {}: {e}", port(o));
        }
        return "tc netem";
    }
    println!(
        "tc netem is unavailable on this kernel ({}); using nftables + HTB for loss and reordering",
        why.trim()
    );
    for &o in octets {
        let p = port(o);
        for args in [
            vec![
                "qdisc", "add", "dev", &p, "root", "handle", "1:", "htb", "default", "10",
            ],
            vec![
                "class", "add", "dev", &p, "parent", "1:", "classid", "1:10", "htb", "rate",
                "1gbit",
            ],
            vec![
                "class", "add", "dev", &p, "parent", "1:", "classid", "1:20", "htb", "rate",
                "64kbit", "burst", "1600b",
            ],
        ] {
            let (ok, e) = exec_in(sw, "tc", &args);
            assert!(ok, "tc {args:?}: {e}");
        }
    }
    let rules = "table bridge impair {\n chain impairing {\n  type filter hook forward priority 0; policy accept;\n  meta l4proto udp numgen random mod 100 < 1 counter drop\n  meta l4proto udp numgen random mod 100 < 5 counter meta priority set 1:20\n }\n}\n";
    let f = c.dir.path().join("impair.nft");
    std::fs::write(&f, rules).unwrap();
    let (ok, e) = exec_in(sw, "nft", &["-f", f.to_str().unwrap()]);
    assert!(ok, "nft (nftables, installed by make test): {e}");
    "nftables + htb"
}

/// Sequence-numbered probes from the client to a receiver on host 3, through the impaired
/// switch: (received of sent, inversions). Proves the impairment is really there.
fn probe(c: &Cluster, n: u32) -> (u32, u32) {
    let rx = in_ns(&c.nodes[3].ns, || UdpSocket::bind("0.0.0.0:9999").unwrap());
    rx.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let tx = in_ns(&c.client.ns, || UdpSocket::bind("0.0.0.0:0").unwrap());
    tx.connect((c.nodes[3].ip, 9999)).unwrap();
    let got = std::thread::scope(|s| {
        let h = s.spawn(|| {
            let mut v = Vec::new();
            let mut b = [0u8; 64];
            while let Ok(k) = rx.recv(&mut b) {
                if k >= 4 {
                    v.push(u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                }
            }
            v
        });
        for i in 0..n {
            let mut p = i.to_be_bytes().to_vec();
            p.resize(48, 0);
            let _ = tx.send(&p);
            if i.is_multiple_of(20) {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        h.join().unwrap()
    });
    let inversions = got.windows(2).filter(|w| w[1] < w[0]).count() as u32;
    (got.len() as u32, inversions)
}

/// gmetric-style updates (metadata + value each, as gmetric sends them) of `conv` for spoofed
/// host node3 from host 3's namespace: `0..n` quickly, then the final value once a second.
fn send_conv(c: &Cluster, value: u32) {
    let sock = in_ns(&c.nodes[3].ns, || UdpSocket::bind("0.0.0.0:0").unwrap());
    sock.connect((MCAST, 8649)).unwrap();
    let host = format!("{}:{}", c.nodes[3].ip, Cluster::host_name(3));
    let id = MetricId {
        host: &host,
        name: "conv",
        spoof: true,
    };
    let mut b = Vec::new();
    encode(
        &Message::Metadata {
            id,
            meta: Metadata {
                metric_type: "uint32",
                name: "conv",
                units: "",
                slope: 3,
                tmax: 60,
                dmax: 0,
                extra: vec![("SPOOF_HOST", host.as_str())],
            },
        },
        &mut b,
    );
    let _ = sock.send(&b);
    b.clear();
    encode(
        &Message::Value {
            id,
            fmt: "%u",
            value: WireValue::UInt(value),
        },
        &mut b,
    );
    let _ = sock.send(&b);
}

/// Under 1% loss and reordering on every port for `secs`, the cluster still converges: every
/// gmond and gmetad-rs end with every host and metric, the same constant values everywhere,
/// and the final value of a metric updated many times.
fn loss_and_reordering(tag: &'static str, secs: u64) {
    let c = cluster(Spec::new(tag));
    let octets: Vec<u8> = c
        .nodes
        .iter()
        .chain([&c.gmetad_node, &c.client])
        .map(|n| n.ip.octets()[3])
        .collect();
    let how = impair(&c, &octets);
    let (got, inv) = probe(&c, 3000);
    println!("impairment ({how}): {got} of 3000 probes arrived, {inv} inversions");
    assert!(got < 3000, "no loss: the impairment is not active");
    assert!(got > 2800, "far more loss than 1%: {got} of 3000");
    assert!(inv > 0, "no reordering: the impairment is not active");
    // Run impaired: rapid updates of `conv`, then the steady final value, like gmetric in cron.
    let end = Instant::now() + Duration::from_secs(secs);
    let mut v = 0;
    while Instant::now() < end {
        v += 1;
        send_conv(&c, v);
        std::thread::sleep(Duration::from_millis(50));
    }
    let final_value = v.to_string();
    let consts = [
        "cpu_num",
        "mem_total",
        "boottime",
        "os_name",
        "machine_type",
    ];
    let converged = wait_for(T, || {
        send_conv(&c, v);
        for i in 0..c.spec.hosts {
            let d = c.gmond_doc(i)?;
            let cl = d.clusters.first()?;
            if !c.complete(
                &cl.hosts
                    .iter()
                    .map(|h| (h.name.to_string(), h.metrics.len()))
                    .collect::<Vec<_>>(),
            ) {
                return None;
            }
            let node3 = cl.hosts.iter().find(|h| h.name == Cluster::host_name(3))?;
            node3
                .metrics
                .iter()
                .find(|m| m.name == "conv" && m.val == final_value)?;
            // Every host's constant metrics are there with a value.
            for h in &cl.hosts {
                for name in consts {
                    h.metrics
                        .iter()
                        .find(|m| m.name == name && !m.val.is_empty())?;
                }
            }
        }
        Some(())
    });
    assert!(
        converged.is_some(),
        "cluster did not converge under loss and reordering: {:?}",
        (0..4).map(|i| c.gmond_hosts(i)).collect::<Vec<_>>()
    );
    // Constants: every gmond holds the same value for every host.
    for name in consts {
        let views: Vec<Vec<(String, String)>> = (0..4)
            .map(|i| {
                let d = c.gmond_doc(i).unwrap();
                let mut v: Vec<_> = d.clusters[0]
                    .hosts
                    .iter()
                    .filter_map(|h| {
                        let m = h.metrics.iter().find(|m| m.name == name)?;
                        Some((h.name.to_string(), m.val.to_string()))
                    })
                    .collect();
                v.sort();
                v
            })
            .collect();
        assert!(
            views.windows(2).all(|w| w[0] == w[1]),
            "{name} differs between gmonds: {views:?}"
        );
    }
    c.wait_gmetad_complete(T);
}

#[test]
fn loss_and_reordering_on_the_switch_still_converge() {
    loss_and_reordering("lr", 15);
}

#[test]
#[ignore = "long variant: make soak"]
fn soak_loss_and_reordering_for_three_minutes() {
    loss_and_reordering("slr", 180);
}
