//! gmetad-rs in-process against sources serving captured Ganglia XML on loopback: ports,
//! queries, /status, RRD files (checked with rrdtool), bad sources, slow readers.

use ganglia_proto::xml::read::read;
use gmetad::config::{Config, Source};
use gmetad::daemon::Gmetad;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The captured gmond dump with its clock moved to now (so its hosts are alive).
fn gmond_fixture_now() -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ganglia-proto/tests/data/xml/gmond-8649.xml");
    let s = std::fs::read_to_string(p).unwrap();
    let t = now();
    s.replace("LOCALTIME=\"1795545841\"", &format!("LOCALTIME=\"{t}\""))
        .replace(
            "REPORTED=\"1795545840\"",
            &format!("REPORTED=\"{}\"", t - 1),
        )
        .replace(
            "REPORTED=\"1795545811\"",
            &format!("REPORTED=\"{}\"", t - 2),
        )
        .into_bytes()
}

/// A thread answering every connection with `body()`; stops with the test process.
fn serve_static(body: impl Fn() -> Vec<u8> + Send + 'static) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let _ = s.write_all(&body());
        }
    });
    addr
}

fn config(dir: &Path, sources: Vec<Source>) -> Config {
    let mut c = Config::builtin();
    c.sources = sources;
    c.gridname = "testgrid".into();
    c.xml_addr = "127.0.0.1:0".parse().unwrap();
    c.interactive_addr = "127.0.0.1:0".parse().unwrap();
    c.rrd_rootdir = dir.join("rrds");
    c.rras = vec!["RRA:AVERAGE:0.5:1:60".into()];
    c.prometheus_addr = Some("127.0.0.1:0".parse().unwrap());
    c
}

fn ask(addr: SocketAddr, line: Option<&str>) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    if let Some(l) = line {
        s.write_all(l.as_bytes()).unwrap();
    }
    let mut v = Vec::new();
    s.read_to_end(&mut v).unwrap();
    v
}

fn wait_for<T>(secs: u64, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if std::time::Instant::now() > end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn rrdtool_info(f: &Path) -> String {
    let out = std::process::Command::new("/usr/bin/rrdtool")
        .arg("info")
        .arg(f)
        .output()
        .expect("rrdtool (Debian's rrdtool package)");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn serves_polls_summarises_and_writes_rrds() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let dir = tempfile::tempdir().unwrap();
    let src = serve_static(gmond_fixture_now);
    let g = Gmetad::start(config(
        dir.path(),
        vec![Source {
            name: "lab-src".into(),
            step: 2,
            addrs: vec![src],
        }],
    ))
    .unwrap();

    let doc = wait_for(10, || {
        let d = read(&ask(g.xml_addr, None), &Default::default()).ok()?.doc;
        (!d.grids.is_empty() && !d.grids[0].clusters.is_empty()).then_some(d)
    })
    .expect("8651 shows the polled cluster");
    let grid = &doc.grids[0];
    assert_eq!(
        (grid.name.as_str(), grid.clusters[0].name.as_str()),
        ("testgrid", "lab")
    );
    assert_eq!(grid.clusters[0].hosts.len(), 2);
    let raw = String::from_utf8(ask(g.xml_addr, None)).unwrap();
    let host_line = raw.lines().find(|l| l.starts_with("<HOST ")).unwrap();
    assert!(
        host_line.ends_with("TAGS=\"\">"),
        "gmetad order: TAGS last: {host_line}"
    );
    assert!(raw.contains("SOURCE=\"gmond\""));

    // Interactive queries, as ganglia-web sends them.
    // The root summary is computed every step/2 seconds.
    let summary = wait_for(10, || {
        let d = read(
            &ask(g.interactive_addr, Some("/?filter=summary\n")),
            &Default::default(),
        )
        .ok()?
        .doc;
        d.grids[0]
            .summary
            .as_ref()
            .filter(|s| s.hosts_up == 2)
            .map(|_| d.clone())
    })
    .expect("root HOSTS/METRICS");
    let root = summary.grids[0].summary.as_ref().unwrap();
    assert!(
        root.metrics
            .iter()
            .any(|m| m.name == "load_one" && m.num == 1 && m.metric_type == "double")
    );
    let cs = &summary.grids[0].clusters[0];
    assert!(cs.hosts.is_empty() && cs.summary.as_ref().unwrap().hosts_up == 2);
    let cluster = read(
        &ask(g.interactive_addr, Some("/lab\n")),
        &Default::default(),
    )
    .unwrap()
    .doc;
    assert_eq!(cluster.grids[0].clusters[0].hosts.len(), 2);
    let host = read(
        &ask(g.interactive_addr, Some("/lab/localhost\n")),
        &Default::default(),
    )
    .unwrap()
    .doc;
    assert_eq!(host.grids[0].clusters[0].hosts.len(), 1);
    let http = ask(
        g.interactive_addr,
        Some("GET /lab/localhost/load_one HTTP/1.0\r\n\r\n"),
    );
    assert!(http.starts_with(b"HTTP/1.0 200 OK\r\n"));
    let m = read(&http, &Default::default()).unwrap().doc;
    assert_eq!(m.grids[0].clusters[0].hosts[0].metrics.len(), 1);
    let status = String::from_utf8(ask(g.interactive_addr, Some("/status\n"))).unwrap();
    assert!(
        status.starts_with("{\"host\":") && status.contains("\"polls\":{\"ok\":{\"num\":"),
        "{status}"
    );
    assert!(
        ask(g.interactive_addr, Some("/lab;rm -rf\n")).is_empty(),
        "refused requests get nothing"
    );
    let prom = String::from_utf8(ask(
        g.prometheus_addr.unwrap(),
        Some("GET /metrics HTTP/1.1\r\n\r\n"),
    ))
    .unwrap();
    assert!(
        prom.starts_with("HTTP/1.0 200 OK")
            && prom.contains("ganglia_load_one{cluster=\"lab\",host=\"localhost\"}"),
        "{prom}"
    );

    // RRDs: host metrics and the cluster summary, with gmetad's layout.
    let f = dir.path().join("rrds/lab/localhost/load_one.rrd");
    wait_for(10, || f.exists().then_some(())).expect("host RRD");
    g.flush_rrds();
    let info = rrdtool_info(&f);
    assert!(
        info.contains("step = 2") && info.contains("ds[sum].minimal_heartbeat = 16"),
        "{info}"
    );
    let s = dir.path().join("rrds/lab/__SummaryInfo__/load_one.rrd");
    assert!(rrdtool_info(&s).contains("ds[num].type = \"GAUGE\""));
    assert!(
        !dir.path().join("rrds/lab/localhost/os_name.rrd").exists(),
        "strings get no RRD"
    );
    let root_file = dir.path().join("rrds/__SummaryInfo__/load_one.rrd");
    wait_for(10, || root_file.exists().then_some(())).expect("root summary RRD");
    rt.block_on(g.shutdown());
}

#[test]
fn a_bad_source_never_affects_a_good_one_and_slow_readers_block_nothing() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let dir = tempfile::tempdir().unwrap();
    let good = serve_static(gmond_fixture_now);
    let garbage = serve_static(|| {
        b"<GANGLIA_XML><CLUSTER NAME=\"bad\"><HOST NAME=\"x\"><<<<>>>\x00".to_vec()
    });
    let dead: SocketAddr = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let g = Gmetad::start(config(
        dir.path(),
        vec![
            Source {
                name: "good".into(),
                step: 1,
                addrs: vec![good],
            },
            Source {
                name: "garbage".into(),
                step: 1,
                addrs: vec![garbage],
            },
            Source {
                name: "dead".into(),
                step: 1,
                addrs: vec![dead],
            },
        ],
    ))
    .unwrap();
    // A reader that connects to 8651 and never reads.
    let idle = TcpStream::connect(g.xml_addr).unwrap();
    let doc = wait_for(10, || {
        let d = read(&ask(g.xml_addr, None), &Default::default()).ok()?.doc;
        d.grids[0]
            .clusters
            .iter()
            .any(|c| c.name == "lab")
            .then_some(d)
    })
    .expect("good source served despite the others");
    let lab = doc.grids[0]
        .clusters
        .iter()
        .find(|c| c.name == "lab")
        .unwrap();
    assert_eq!(lab.hosts.len(), 2);
    let c = wait_for(10, || {
        Some(g.counters()).filter(|c| c.polls_failed.num >= 2 && c.polls_ok.num >= 2)
    })
    .expect("counters");
    assert!(c.partial_documents >= 1 || c.polls_failed.num >= 2);
    let status = String::from_utf8(ask(g.interactive_addr, Some("/status\n"))).unwrap();
    assert!(
        status.contains("\"name\":\"dead\",\"alive\":false"),
        "{status}"
    );
    drop(idle);
    rt.block_on(g.shutdown());
}

#[test]
fn an_unusable_rrd_root_is_reported_and_writing_recovers_when_it_is_fixed() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let dir = tempfile::tempdir().unwrap();
    let src = serve_static(gmond_fixture_now);
    let mut cfg = config(
        dir.path(),
        vec![Source {
            name: "lab-src".into(),
            step: 1,
            addrs: vec![src],
        }],
    );
    // A regular file where the RRD root should be: every create fails (as with a full disk).
    std::fs::write(&cfg.rrd_rootdir, "not a directory").unwrap();
    cfg.prometheus_addr = None;
    let g = Gmetad::start(cfg).unwrap();
    let errors = wait_for(10, || {
        g.flush_rrds();
        g.rrd_stats().filter(|s| s.create_errors > 0)
    })
    .expect("create errors counted");
    assert!(errors.last_error.contains("rrds"), "{}", errors.last_error);
    let status = String::from_utf8(ask(g.interactive_addr, Some("/status\n"))).unwrap();
    assert!(
        status.contains("\"createErrors\":") && !status.contains("\"createErrors\":0,"),
        "{status}"
    );
    // Polling and serving go on.
    let doc = read(&ask(g.xml_addr, None), &Default::default())
        .unwrap()
        .doc;
    assert_eq!(doc.grids[0].clusters[0].hosts.len(), 2);
    // Fix the fault: files appear without a restart.
    std::fs::remove_file(dir.path().join("rrds")).unwrap();
    std::fs::create_dir(dir.path().join("rrds")).unwrap();
    let f = dir.path().join("rrds/lab/localhost/load_one.rrd");
    wait_for(10, || f.exists().then_some(())).expect("writing recovers");
    rt.block_on(g.shutdown());
}

#[test]
fn a_host_missing_from_the_next_document_lingers_as_down() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let dir = tempfile::tempdir().unwrap();
    // After the switch the source (a restarted gmond, say) no longer knows spoofhost.
    let restarted = Arc::new(AtomicBool::new(false));
    let r2 = restarted.clone();
    let src = serve_static(move || {
        let doc = gmond_fixture_now();
        if !r2.load(Ordering::Relaxed) {
            return doc;
        }
        let s = String::from_utf8(doc).unwrap();
        let start = s.find("<HOST NAME=\"spoofhost\"").unwrap();
        let end = start + s[start..].find("</HOST>").unwrap() + "</HOST>\n".len();
        format!("{}{}", &s[..start], &s[end..]).into_bytes()
    });
    let g = Gmetad::start(config(
        dir.path(),
        vec![Source {
            name: "lab-src".into(),
            step: 1,
            addrs: vec![src],
        }],
    ))
    .unwrap();
    let hosts = |g: &Gmetad| -> Vec<(String, u64, u64)> {
        read(&ask(g.xml_addr, None), &Default::default())
            .ok()
            .and_then(|d| d.doc.grids.into_iter().next())
            .and_then(|g| g.clusters.into_iter().next())
            .map(|c| {
                c.hosts
                    .into_iter()
                    .map(|h| (h.name.into(), h.tn, h.tmax))
                    .collect()
            })
            .unwrap_or_default()
    };
    let before = wait_for(10, || {
        let h = hosts(&g);
        h.into_iter().find(|h| h.0 == "spoofhost")
    })
    .expect("both hosts polled");
    let polls = g.counters().polls_ok.num;
    restarted.store(true, Ordering::Relaxed);
    wait_for(20, || {
        (g.counters().polls_ok.num >= polls + 3).then_some(())
    })
    .expect("three polls of the restarted source");
    let now = hosts(&g);
    let spoof = now
        .iter()
        .find(|h| h.0 == "spoofhost")
        .expect("spoofhost is still shown after it left the document");
    assert!(
        spoof.1 >= before.1 + 2,
        "its TN keeps growing: {before:?} -> {spoof:?}"
    );
    assert!(now.iter().any(|h| h.0 == "localhost"));
    // Its summary counts only what the document carries, as 3.7.2's does.
    let summary =
        String::from_utf8(ask(g.interactive_addr, Some("/lab?filter=summary\n"))).unwrap();
    assert!(summary.contains("HOSTS UP=\"1\" DOWN=\"0\""), "{summary}");
    rt.block_on(g.shutdown());
}
