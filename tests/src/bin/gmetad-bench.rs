//! Side-by-side collector benchmark: Debian's gmetad 3.7.2 and gmetad-rs, each run as a process
//! polling its own copy of the same source (a gmond-style document of N hosts × M metrics with a
//! fresh LOCALTIME per poll), small RRAs in temporary directories. Reports CPU seconds per poll
//! cycle (steady state, after the files exist), the librrd update floor measured in the same
//! run, gmetad-rs with Debian's rrdcached, 8651 dump time, the interactive port's latency for
//! one host (`/bench/<host>`, what ganglia-web's host view asks) and RSS.
//!
//! `gmetad-bench [--hosts N] [--metrics M] [--step S] [--cycles C] [--scale | --ours-direct]`.
//! Bounded by the cycle count.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use testkit::{Proc, free_tcp_port, wait_for};

const RRA: &str = "RRA:AVERAGE:0.5:1:60";

fn arg(name: &str, default: u64) -> u64 {
    let a: Vec<String> = std::env::args().collect();
    a.iter()
        .position(|x| x == name)
        .and_then(|i| a.get(i + 1))
        .map_or(default, |v| v.parse().expect(name))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn document(hosts: usize, metrics: usize) -> Vec<u8> {
    use ganglia_proto::xml::write as w;
    let t = now();
    let mut out = Vec::with_capacity(hosts * metrics * 260);
    w::header(&mut out, w::Source::Gmond, "3.7.2");
    w::gmond_cluster_start(
        &mut out,
        &w::ClusterAttrs {
            name: "bench",
            localtime: t,
            owner: "o",
            latlong: "l",
            url: "u",
        },
    );
    let names: Vec<String> = (0..metrics).map(|m| format!("metric_{m:02}")).collect();
    for h in 0..hosts {
        let name = format!("node{h:05}");
        let ip = format!("10.0.{}.{}", h / 256, h % 256);
        let attrs = w::HostAttrs {
            name: &name,
            ip: &ip,
            tags: "",
            reported: t,
            tn: 1,
            tmax: 20,
            dmax: 0,
            location: "x",
            gmond_started: 0,
        };
        w::gmond_host_start(&mut out, &attrs);
        for (m, n) in names.iter().enumerate() {
            let val = format!("{}.{}", (h + m + t as usize) % 100, m % 10);
            let ma = w::MetricAttrs {
                name: n,
                val: &val,
                metric_type: "float",
                units: "%",
                tn: 1,
                tmax: 60,
                dmax: 0,
                slope: "both",
                source: None,
            };
            w::gmond_metric(&mut out, &ma, std::iter::empty(), false);
        }
        w::host_end(&mut out);
    }
    w::cluster_end(&mut out);
    w::footer(&mut out);
    out
}

/// A source answering each connection with a fresh document; counts polls.
fn source(hosts: usize, metrics: usize) -> (SocketAddr, Arc<AtomicU64>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let polls = Arc::new(AtomicU64::new(0));
    let p2 = polls.clone();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let _ = s.write_all(&document(hosts, metrics));
            p2.fetch_add(1, Ordering::Relaxed);
        }
    });
    (addr, polls)
}

fn cpu_secs(pid: u32) -> f64 {
    let (u, s) = testkit::proc_cpu(pid);
    u + s
}

fn rss_mb(pid: u32) -> f64 {
    testkit::proc_rss_kb(pid) as f64 / 1024.0
}

struct Outcome {
    name: String,
    cpu_per_cycle: f64,
    helper_cpu_per_cycle: Option<f64>,
    dump_ms: f64,
    dump_bytes: usize,
    /// Interactive `/bench/<host>` answer time, p50 and p99 in ms.
    host_query_ms: (f64, f64),
    rss_mb: f64,
    /// `"misses":N` from /status (gmetad-rs only).
    misses: Option<u64>,
}

fn run(
    name: &str,
    exe: &Path,
    dir: &Path,
    hosts: usize,
    metrics: usize,
    step: u64,
    cycles: u64,
    rrdcached: Option<&Proc>,
    sock: Option<&Path>,
) -> Outcome {
    let (src, polls) = source(hosts, metrics);
    let (px, pi) = (free_tcp_port(), free_tcp_port());
    let rrds = dir.join(format!("{name}-rrds"));
    std::fs::create_dir_all(&rrds).unwrap();
    let conf = dir.join(format!("{name}.conf"));
    let mut text = format!(
        "data_source \"bench\" {step} {src}\ngridname \"bench\"\nxml_port {px}\ninteractive_port {pi}\nrrd_rootdir \"{}\"\nsetuid off\nRRAs \"{RRA}\"\n",
        rrds.display()
    );
    if let Some(s) = sock {
        text.push_str(&format!("rrdcached_address \"unix:{}\"\n", s.display()));
    }
    std::fs::write(&conf, text).unwrap();
    let proc = Proc::spawn(
        "gmetad",
        Command::new(exe).args(["-d", "1", "-c"]).arg(&conf),
        dir.join(format!("{name}.log")),
    );
    let pid = proc.child.id();
    let xml = SocketAddr::from(([127, 0, 0, 1], px));
    wait_for(Duration::from_secs(20), || TcpStream::connect(xml).ok())
        .unwrap_or_else(|| panic!("{name} did not start: {}", proc.log()));
    // Warm-up: two polls create every file.
    eprintln!(
        "{name}: warming up (creating {} RRD files)",
        hosts * metrics
    );
    wait_for(Duration::from_secs(step * 6 + 60), || {
        (polls.load(Ordering::Relaxed) >= 2).then_some(())
    })
    .expect("warm-up polls");
    // Creating the files can outlast two polls on a slow machine (300k files in the scale run):
    // measure only once every host metric has its file, so creation never counts as updates.
    let want = hosts * metrics;
    let created = wait_for(Duration::from_secs(900), || {
        (count_rrds(&rrds) >= want).then_some(())
    });
    if created.is_none() {
        eprintln!(
            "{name}: only {} of {want} RRD files after 900 s",
            count_rrds(&rrds)
        );
    }
    std::thread::sleep(Duration::from_secs(step));
    let (c0, p0) = (cpu_secs(pid), polls.load(Ordering::Relaxed));
    let h0 = rrdcached.map(|r| cpu_secs(r.child.id()));
    let t0 = Instant::now();
    while polls.load(Ordering::Relaxed) < p0 + cycles
        && t0.elapsed() < Duration::from_secs(step * (cycles + 4))
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(step / 2)); // let the last cycle's writes finish
    let n = (polls.load(Ordering::Relaxed) - p0).max(1) as f64;
    let cpu_per_cycle = (cpu_secs(pid) - c0) / n;
    let helper_cpu_per_cycle = rrdcached
        .zip(h0)
        .map(|(r, h0)| (cpu_secs(r.child.id()) - h0) / n);
    eprintln!("{name}: {n} cycles, {cpu_per_cycle:.3} CPU-s per cycle");
    let mut best = f64::MAX;
    let mut bytes = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let mut v = Vec::new();
        TcpStream::connect(xml)
            .unwrap()
            .read_to_end(&mut v)
            .unwrap();
        best = best.min(t.elapsed().as_secs_f64() * 1e3);
        bytes = v.len();
    }
    let host_query_ms = host_query(SocketAddr::from(([127, 0, 0, 1], pi)), hosts);
    let misses = (|| {
        let mut s = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], pi))).ok()?;
        s.write_all(b"/status\n").ok()?;
        let mut v = String::new();
        s.read_to_string(&mut v).ok()?;
        let at = v.find("\"misses\":")? + 9;
        v[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .ok()
    })();
    Outcome {
        misses,
        host_query_ms,
        name: name.into(),
        cpu_per_cycle,
        helper_cpu_per_cycle,
        dump_ms: best,
        dump_bytes: bytes,
        rss_mb: rss_mb(pid),
    }
}

/// `.rrd` files under `dir`, at any depth.
fn count_rrds(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| match e.file_type() {
                Ok(t) if t.is_dir() => count_rrds(&e.path()),
                _ => usize::from(e.path().extension().is_some_and(|x| x == "rrd")),
            })
            .sum()
    })
}

/// p50 and p99 of 200 interactive `/bench/nodeNNNNN` queries (hosts spread over the cluster),
/// each a fresh connection as ganglia-web makes them; an empty answer fails the bench.
fn host_query(addr: SocketAddr, hosts: usize) -> (f64, f64) {
    let mut times: Vec<f64> = (0..200)
        .map(|i| {
            let h = (i * 7919) % hosts.max(1);
            let t = Instant::now();
            let mut s = TcpStream::connect(addr).expect("interactive port");
            s.write_all(format!("/bench/node{h:05}\n").as_bytes())
                .unwrap();
            let mut v = Vec::new();
            s.read_to_end(&mut v).unwrap();
            let ms = t.elapsed().as_secs_f64() * 1e3;
            let want = format!("NAME=\"node{h:05}\"");
            assert!(
                v.windows(want.len()).any(|w| w == want.as_bytes()),
                "host query for node{h:05} did not return the host"
            );
            ms
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[times.len() * 99 / 100])
}

/// librrd's own cost: one rrd_update per file for `files` existing files, in this process, in
/// the daemons' steady state: each file updated once per `step` seconds, so the kernel has
/// written back the pages of the previous pass (the next write faults them dirty again) as it
/// has between two of a daemon's polls. Files are created and warmed by two passes first; the
/// mean of the four passes after that is the floor (a virtual machine's speed wanders).
fn rrd_floor(dir: &Path, files: usize, step: u64) -> f64 {
    use gmetad::rrd::layout::Target;
    use gmetad::rrd::service::RrdService;
    use gmetad::rrd::writer::{Backend, Update};
    let root = dir.join("floor-rrds");
    let svc = RrdService::start(&root, true, &[RRA.to_string()], Backend::Direct).unwrap();
    let batch = |ts: u64| -> Vec<Update> {
        (0..files)
            .map(|i| Update {
                target: Target::Host {
                    cluster: "c".into(),
                    host: format!("h{}", i / 30),
                    metric: format!("m{}", i % 30),
                },
                ts,
                sum: "1.5".into(),
                num: None,
                slope: "both".into(),
                step: 15,
            })
            .collect()
    };
    let t = now();
    let mut measured = 0.0;
    for (pass, ts) in [t - 90, t - 75, t - 60, t - 45, t - 30, t - 15]
        .into_iter()
        .enumerate()
    {
        if pass > 0 {
            std::thread::sleep(Duration::from_secs(step));
        }
        let b = batch(ts);
        let before = process_cpu();
        svc.submit(b);
        svc.flush();
        if pass >= 2 {
            measured += process_cpu() - before;
        }
    }
    measured / 4.0
}

fn process_cpu() -> f64 {
    cpu_secs(std::process::id())
}

fn main() {
    let hosts = arg("--hosts", 1000) as usize;
    let metrics = arg("--metrics", 30) as usize;
    let step = arg("--step", 5);
    let cycles = arg("--cycles", 4);
    let dir = tempfile::tempdir().unwrap();
    let debian = Path::new("/usr/sbin/gmetad");
    assert!(
        debian.exists(),
        "Debian's gmetad is needed for the comparison"
    );
    let ours = testkit::bin("gmetad-rs");
    if std::env::args().any(|a| a == "--scale") {
        return scale(&ours, dir.path(), hosts, metrics, step, cycles);
    }
    if std::env::args().any(|a| a == "--ours-direct") {
        // gmetad-rs alone in direct mode: a quick CPU/RSS check while working on it.
        let g = run(
            "gmetad-rs",
            &ours,
            dir.path(),
            hosts,
            metrics,
            step,
            cycles,
            None,
            None,
        );
        println!(
            "gmetad-rs direct: {:.3} CPU-s per cycle, RSS {:.1} MB",
            g.cpu_per_cycle, g.rss_mb
        );
        return;
    }
    let floor = rrd_floor(dir.path(), hosts * metrics, step);
    let d = run(
        "debian-gmetad",
        debian,
        dir.path(),
        hosts,
        metrics,
        step,
        cycles,
        None,
        None,
    );
    let g = run(
        "gmetad-rs",
        &ours,
        dir.path(),
        hosts,
        metrics,
        step,
        cycles,
        None,
        None,
    );
    // gmetad-rs with Debian's rrdcached on a unix socket.
    let sock = dir.path().join("rrdcached.sock");
    let rc = testkit::rrdcached(dir.path(), &sock, 3600);
    let c = run(
        "gmetad-rs+rrdcached",
        &ours,
        dir.path(),
        hosts,
        metrics,
        step,
        cycles,
        Some(&rc),
        Some(&sock),
    );
    drop(rc);
    println!(
        "\n{hosts} hosts x {metrics} metrics, step {step} s, {cycles} measured cycles, RRA {RRA}"
    );
    println!(
        "librrd rrd_update floor for {} files: {floor:.3} CPU-s per cycle",
        hosts * metrics
    );
    println!(
        "{:<22} {:>14} {:>16} {:>10} {:>12} {:>17} {:>8}",
        "daemon",
        "CPU-s/cycle",
        "rrdcached CPU-s",
        "dump ms",
        "dump bytes",
        "host query p50/99",
        "RSS MB"
    );
    for o in [&d, &g, &c] {
        let h = o
            .helper_cpu_per_cycle
            .map_or("-".to_string(), |x| format!("{x:.3}"));
        let q = format!("{:.2}/{:.2} ms", o.host_query_ms.0, o.host_query_ms.1);
        println!(
            "{:<22} {:>14.3} {:>16} {:>10.1} {:>12} {:>17} {:>8.1}",
            o.name, o.cpu_per_cycle, h, o.dump_ms, o.dump_bytes, q, o.rss_mb
        );
    }
    println!(
        "\nratios: Debian/gmetad-rs CPU per cycle {:.1}x; gmetad-rs / librrd floor {:.2}; 8651 dump Debian/gmetad-rs {:.1}x; host query p50 Debian/gmetad-rs {:.1}x",
        d.cpu_per_cycle / g.cpu_per_cycle.max(1e-9),
        g.cpu_per_cycle / floor.max(1e-9),
        d.dump_ms / g.dump_ms.max(1e-9),
        d.host_query_ms.0 / g.host_query_ms.0.max(1e-9)
    );
}

/// The scale run of issue 4: only gmetad-rs with rrdcached, reporting misses.
fn scale(ours: &Path, dir: &Path, hosts: usize, metrics: usize, step: u64, cycles: u64) {
    let sock = dir.join("rrdcached.sock");
    let rc = testkit::rrdcached(dir, &sock, 300);
    let o = run(
        "gmetad-rs+rrdcached",
        ours,
        dir,
        hosts,
        metrics,
        step,
        cycles,
        Some(&rc),
        Some(&sock),
    );
    drop(rc);
    println!(
        "\nscale: {hosts} hosts x {metrics} metrics every {step} s with rrdcached: {:.3} CPU-s per cycle (rrdcached {:.3}), misses {}, 8651 dump {:.0} ms ({} bytes), RSS {:.0} MB",
        o.cpu_per_cycle,
        o.helper_cpu_per_cycle.unwrap_or(0.0),
        o.misses.map_or("?".into(), |m| m.to_string()),
        o.dump_ms,
        o.dump_bytes,
        o.rss_mb
    );
}
