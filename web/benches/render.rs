//! gweb-rs server time, measured over HTTP on loopback:
//! - the cluster page for 1000 hosts × 30 metrics, each request asking a gmetad-like server for
//!   `/<cluster>` (answer ~ what gmetad-rs sends), parsing it and rendering (target < 300 ms);
//!   also with the answer cached (render only);
//! - one graph PNG (host load_report and a single metric over a day of 15 s data in real librrd
//!   files with gmetad's default RRAs) (target < 50 ms).
//!
//! `cargo bench -p web --bench render`. Everything runs on 127.0.0.1 and stops by itself.

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use ganglia_proto::xml::write::{Layout, write_document};
use ganglia_proto::xml::{Cluster, Document, Grid, Host, Metric, Source};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const HOSTS: usize = 1000;
const METRICS: usize = 30;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn host_name(i: usize) -> String {
    format!("node{i:04}")
}

fn document(only: Option<usize>) -> Vec<u8> {
    let t = now();
    let base = [
        ("load_one", "float"),
        ("cpu_num", "uint16"),
        ("proc_run", "uint32"),
        ("os_name", "string"),
    ];
    let hosts = (0..HOSTS)
        .filter(|i| only.is_none_or(|o| o == *i))
        .map(|i| Host {
            name: host_name(i).into(),
            ip: format!("10.0.{}.{}", i / 250, i % 250).into(),
            reported: t,
            tn: if i % 50 == 0 { 500 } else { 3 },
            tmax: 20,
            gmond_started: t as i64 - 1000,
            metrics: base
                .iter()
                .map(|(n, ty)| ((*n).to_owned(), *ty))
                .chain((base.len()..METRICS).map(|k| (format!("metric_{k:02}"), "float")))
                .map(|(name, ty)| Metric {
                    val: if ty == "string" {
                        "Linux".into()
                    } else {
                        format!("{}.5", i % 7).into()
                    },
                    metric_type: ty.into(),
                    units: "u".into(),
                    tn: 3,
                    tmax: 60,
                    slope: "both".into(),
                    source: "gmond".into(),
                    extra: vec![
                        ("GROUP".into(), "bench".into()),
                        ("TITLE".into(), format!("Title of {name}").into()),
                        ("DESC".into(), "A description".into()),
                    ]
                    .into(),
                    name: name.into(),
                    ..Metric::default()
                })
                .collect(),
            ..Host::default()
        })
        .collect();
    let doc = Document {
        source: Source::Gmetad,
        version: "3.7.2".into(),
        grids: vec![Grid {
            name: "bench".into(),
            authority: "http://localhost/".into(),
            localtime: t,
            clusters: vec![Cluster {
                name: "lab".into(),
                localtime: t,
                owner: "unspecified".into(),
                latlong: "unspecified".into(),
                url: "unspecified".into(),
                hosts,
                summary: None,
            }],
            ..Grid::default()
        }],
        ..Document::default()
    };
    let mut out = Vec::new();
    write_document(&mut out, &doc, Layout::Gmetad);
    out
}

/// A stand-in for gmetad's interactive port: reads the query line, answers the cluster document
/// (or, for `/lab/node0000`, that host alone, as gmetad does).
fn fake_gmetad(doc: Arc<Vec<u8>>, host0: Arc<Vec<u8>>, stop: Arc<AtomicBool>) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    l.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match l.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    let mut line = String::new();
                    let mut r = BufReader::new(s);
                    let _ = r.read_line(&mut line);
                    let answer = if line.trim_end() == format!("/lab/{}", host_name(0)) {
                        &host0
                    } else {
                        &doc
                    };
                    let _ = r.get_mut().write_all(answer);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    });
    addr
}

/// RRD files like gmetad's (step 15, default RRAs) with a day of data, written by rrdtool.
fn rrds(root: &Path) {
    let dir = root.join("lab").join(host_name(0));
    std::fs::create_dir_all(&dir).unwrap();
    let mut p = Command::new("/usr/bin/rrdtool")
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("rrdtool (Debian's rrdtool package)");
    let start = now() - 86400;
    let mut cmds = String::new();
    for m in ["load_one", "cpu_num", "proc_run"] {
        let f = dir.join(format!("{m}.rrd"));
        cmds.push_str(&format!(
            "create {} --step 15 --start {} DS:sum:GAUGE:120:U:U RRA:AVERAGE:0.5:1:5856 RRA:AVERAGE:0.5:4:20160 RRA:AVERAGE:0.5:40:52704\n",
            f.display(),
            start - 1
        ));
        for chunk in (0..5760u64).collect::<Vec<_>>().chunks(500) {
            cmds.push_str(&format!("update {}", f.display()));
            for i in chunk {
                let v = 1.0 + ((*i as f64) / 300.0).sin();
                cmds.push_str(&format!(" {}:{v:.3}", start + i * 15));
            }
            cmds.push('\n');
        }
    }
    p.stdin.take().unwrap().write_all(cmds.as_bytes()).unwrap();
    assert!(p.wait().unwrap().success());
    // Every other host has a load_one file too (hard links: real files for the page's checks).
    for i in 1..HOSTS {
        let d = root.join("lab").join(host_name(i));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::hard_link(dir.join("load_one.rrd"), d.join("load_one.rrd")).unwrap();
    }
}

fn get(addr: SocketAddr, path: &str) -> (u16, usize) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut v = Vec::new();
    s.read_to_end(&mut v).unwrap();
    let status = std::str::from_utf8(&v[9..12]).unwrap().parse().unwrap();
    (status, v.len())
}

fn web(rt: &tokio::runtime::Runtime, gmetad: SocketAddr, rrds: &Path, ttl: Duration) -> gweb::Web {
    let _g = rt.enter();
    let mut cfg = gweb::Config::builtin();
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    cfg.gmetad = gmetad;
    cfg.rrds = rrds.to_path_buf();
    cfg.cache_ttl = ttl;
    gweb::Web::start(cfg).unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rrds");
    rrds(&root);
    let doc = Arc::new(document(None));
    let stop = Arc::new(AtomicBool::new(false));
    let gm = fake_gmetad(doc.clone(), Arc::new(document(Some(0))), stop.clone());
    let fresh = web(&rt, gm, &root, Duration::ZERO);
    let cached = web(&rt, gm, &root, Duration::from_secs(3600));
    eprintln!(
        "gmetad answer: {} bytes, {HOSTS} hosts x {METRICS} metrics",
        doc.len()
    );
    // The parts of an uncached cluster page, for the record.
    let t = std::time::Instant::now();
    let parsed = ganglia_proto::xml::read::read(&doc, &Default::default()).unwrap();
    eprintln!("  of which parsing the answer: {:?}", t.elapsed());
    let t = std::time::Instant::now();
    drop(parsed);
    eprintln!("  and dropping the tree: {:?}", t.elapsed());
    let (st, len) = get(fresh.addr, "/c/lab");
    assert_eq!(st, 200);
    eprintln!("cluster page: {len} bytes");
    let mut g = c.benchmark_group("gweb");
    // Flat sampling with the minimum sample count: each request takes milliseconds, so the
    // measurement time given on the command line (make bench: 3 s, BENCH_QUICK: 1 s) bounds it.
    g.sample_size(10).sampling_mode(SamplingMode::Flat);
    g.bench_function("cluster_page_1000_hosts (query+parse+render)", |b| {
        b.iter(|| assert_eq!(get(fresh.addr, "/c/lab?sort=load").0, 200))
    });
    g.bench_function("cluster_page_1000_hosts (cached tree)", |b| {
        b.iter(|| assert_eq!(get(cached.addr, "/c/lab?sort=load").0, 200))
    });
    let h = host_name(0);
    assert_eq!(
        get(
            cached.addr,
            &format!("/graph.png?c=lab&h={h}&g=load_report&r=day")
        )
        .0,
        200
    );
    g.bench_function("graph_png load_report day", |b| {
        b.iter(|| {
            assert_eq!(
                get(
                    cached.addr,
                    &format!("/graph.png?c=lab&h={h}&g=load_report&r=day")
                )
                .0,
                200
            )
        })
    });
    g.bench_function("graph_png load_one day", |b| {
        b.iter(|| {
            assert_eq!(
                get(
                    cached.addr,
                    &format!("/graph.png?c=lab&h={h}&m=load_one&r=day")
                )
                .0,
                200
            )
        })
    });
    g.bench_function("graph_png load_one day (query+parse each time)", |b| {
        b.iter(|| {
            assert_eq!(
                get(
                    fresh.addr,
                    &format!("/graph.png?c=lab&h={h}&m=load_one&r=day")
                )
                .0,
                200
            )
        })
    });
    g.finish();
    stop.store(true, Ordering::Relaxed);
    rt.block_on(async {
        fresh.shutdown().await;
        cached.shutdown().await;
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
