//! gmetad-rs against Debian's gmetad 3.7.2 on loopback: the same gmond polled by both gives the
//! same RRD files and the same XML structure, and each polls the other as a grid.

use gmetad::config::{Config, Source};
use gmetad::daemon::Gmetad;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use testkit::*;

const STEP: u32 = 2;
const RRA: &str = "RRA:AVERAGE:0.5:1:60";

fn lo(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Debian's gmond sending to itself, serving XML on a TCP port.
fn gmond(dir: &Path) -> (Proc, SocketAddr) {
    let (p, t) = (free_udp_port(), free_tcp_port());
    let proc = debian_gmond(dir, &debian_gmond_conf("lab", &[p], Some(p), Some(t)));
    wait_for(Duration::from_secs(15), || {
        let d = parse(&fetch(lo(t))?);
        (d.clusters.first()?.hosts.first()?.metrics.len() >= 30).then_some(())
    })
    .unwrap_or_else(|| panic!("Debian gmond did not come up: {}", proc.log()));
    (proc, lo(t))
}

struct DebianGmetad {
    _proc: Proc,
    xml: SocketAddr,
    interactive: SocketAddr,
    rrds: PathBuf,
}

fn debian_gmetad(dir: &Path, grid: &str, source: SocketAddr) -> DebianGmetad {
    require("/usr/sbin/gmetad", "gmetad");
    let rrds = dir.join("deb-rrds");
    std::fs::create_dir_all(&rrds).unwrap();
    let (px, pi) = (free_tcp_port(), free_tcp_port());
    let conf = dir.join("gmetad.conf");
    std::fs::write(
        &conf,
        format!(
            "data_source \"src\" {STEP} {source}\ngridname \"{grid}\"\nxml_port {px}\ninteractive_port {pi}\nrrd_rootdir \"{}\"\nsetuid off\nRRAs \"{RRA}\"\n",
            rrds.display()
        ),
    )
    .unwrap();
    let proc = Proc::spawn(
        "gmetad",
        Command::new("/usr/sbin/gmetad")
            .args(["-d", "1", "-c"])
            .arg(&conf),
        dir.join("gmetad.log"),
    );
    wait_for(Duration::from_secs(10), || TcpStream::connect(lo(px)).ok())
        .expect("Debian gmetad listening");
    DebianGmetad {
        _proc: proc,
        xml: lo(px),
        interactive: lo(pi),
        rrds,
    }
}

fn ours(dir: &Path, grid: &str, source: SocketAddr) -> Gmetad {
    let mut c = Config::builtin();
    c.sources = vec![Source {
        name: "src".into(),
        step: STEP,
        addrs: vec![source],
    }];
    c.gridname = grid.into();
    c.xml_addr = "127.0.0.1:0".parse().unwrap();
    c.interactive_addr = "127.0.0.1:0".parse().unwrap();
    c.rrd_rootdir = dir.join("rs-rrds");
    c.rras = vec![RRA.into()];
    Gmetad::start(c).unwrap()
}

fn files(root: &Path) -> Vec<String> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else if p.extension().is_some_and(|x| x == "rrd") {
                out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut v = Vec::new();
    walk(root, root, &mut v);
    v.sort();
    v
}

/// The structural lines of `rrdtool info`: step, DS definitions, RRA definitions.
fn structure(f: &Path) -> BTreeMap<String, String> {
    let out = Command::new("/usr/bin/rrdtool")
        .arg("info")
        .arg(f)
        .output()
        .expect("rrdtool");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(" = "))
        .filter(|(k, _)| {
            *k == "step"
                || (k.starts_with("ds[")
                    && (k.ends_with(".type")
                        || k.ends_with(".minimal_heartbeat")
                        || k.ends_with(".min")
                        || k.ends_with(".max")))
                || (k.starts_with("rra[")
                    && (k.ends_with(".cf")
                        || k.ends_with(".rows")
                        || k.ends_with(".pdp_per_row")
                        || k.ends_with(".xff")))
        })
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn ask(addr: SocketAddr, line: &str) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(line.as_bytes()).unwrap();
    let mut v = Vec::new();
    s.read_to_end(&mut v).unwrap();
    v
}

/// Element names with their attribute names, in document order, values dropped.
fn shape(xml: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(xml);
    let body = &text[text.find("<GANGLIA_XML").unwrap_or(0)..];
    body.lines()
        .filter(|l| l.starts_with('<') && !l.starts_with("</"))
        .map(|l| {
            l.split('"')
                .step_by(2)
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[test]
fn same_source_same_rrd_files_and_same_xml_structure() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let dir = tempfile::tempdir().unwrap();
    let (_gmond, src) = gmond(dir.path());
    let deb = debian_gmetad(dir.path(), "grid", src);
    let g = ours(dir.path(), "grid", src);
    let rs_root = dir.path().join("rs-rrds");
    // Wait until both trees have settled on the same file set (root summaries come last).
    let both = wait_for(Duration::from_secs(40), || {
        g.flush_rrds();
        let (a, b) = (files(&deb.rrds), files(&rs_root));
        (a.len() > 60 && a == b).then_some(a)
    });
    let (a, b) = (files(&deb.rrds), files(&rs_root));
    let set = both.unwrap_or_else(|| {
        let only_deb: Vec<_> = a.iter().filter(|f| !b.contains(f)).collect();
        let only_rs: Vec<_> = b.iter().filter(|f| !a.contains(f)).collect();
        panic!("RRD file sets differ:\nonly Debian: {only_deb:?}\nonly gmetad-rs: {only_rs:?}")
    });
    assert!(
        set.iter().any(|f| f == "lab/__SummaryInfo__/load_one.rrd")
            && set.iter().any(|f| f == "__SummaryInfo__/load_one.rrd")
    );
    for f in &set {
        assert_eq!(
            structure(&rs_root.join(f)),
            structure(&deb.rrds.join(f)),
            "{f}"
        );
    }
    // Same XML structure on 8651 and for the queries ganglia-web sends.
    assert_eq!(
        shape(&fetch(g.xml_addr).unwrap()),
        shape(&fetch(deb.xml).unwrap())
    );
    for q in ["/?filter=summary\n", "/lab\n", "/lab?filter=summary\n"] {
        // Debian's cluster summaries carry their hosts' extra elements only from its second
        // poll of a source on, so those lines depend on timing; the rest must match.
        let no_extra = |v: Vec<String>| -> Vec<String> {
            v.into_iter()
                .filter(|l| !(q.contains("summary") && l.contains("<EXTRA_ELEMENT")))
                .collect()
        };
        let (mine, theirs) = (
            no_extra(shape(&ask(g.interactive_addr, q))),
            no_extra(shape(&ask(deb.interactive, q))),
        );
        assert_eq!(mine.len(), theirs.len(), "{q}: {mine:#?}\n{theirs:#?}");
        assert_eq!(mine[..3], theirs[..3], "{q}");
    }
    let host = parse(&fetch(g.xml_addr).unwrap()).grids[0].clusters[0].hosts[0]
        .name
        .clone();
    let q = format!("/lab/{host}/load_one\n");
    assert_eq!(
        shape(&ask(g.interactive_addr, &q)),
        shape(&ask(deb.interactive, &q))
    );
    rt.block_on(g.shutdown());
}

#[test]
fn each_gmetad_polls_the_other_as_a_grid() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let dir = tempfile::tempdir().unwrap();
    let (_gmond, src) = gmond(dir.path());
    // gmetad-rs polls the gmond; Debian's gmetad polls gmetad-rs.
    let lower = ours(dir.path(), "rs-grid", src);
    let deb = debian_gmetad(dir.path(), "deb-grid", lower.xml_addr);
    let seen = wait_for(Duration::from_secs(30), || {
        let d = parse(&fetch(deb.xml)?);
        let child = d
            .grids
            .first()?
            .grids
            .iter()
            .find(|g| g.name == "rs-grid")?
            .clone();
        child
            .summary
            .filter(|s| s.hosts_up == 1 && !s.metrics.is_empty())
    });
    assert!(
        seen.is_some(),
        "Debian gmetad shows gmetad-rs's grid with a summary"
    );
    wait_for(Duration::from_secs(20), || {
        deb.rrds
            .join("rs-grid/__SummaryInfo__/load_one.rrd")
            .exists()
            .then_some(())
    })
    .expect("Debian gmetad writes the child grid's summary RRD");
    // And gmetad-rs polls Debian's gmetad.
    let dir2 = tempfile::tempdir().unwrap();
    let upper = ours(dir2.path(), "top", deb.xml);
    let child = wait_for(Duration::from_secs(30), || {
        let d = parse(&fetch(upper.xml_addr)?);
        d.grids
            .first()?
            .grids
            .iter()
            .find(|g| g.name == "deb-grid")
            .cloned()
    })
    .expect("gmetad-rs shows Debian's grid");
    assert!(child.summary.unwrap().hosts_up >= 1);
    wait_for(Duration::from_secs(20), || {
        upper.flush_rrds();
        dir2.path()
            .join("rs-rrds/deb-grid/__SummaryInfo__/load_one.rrd")
            .exists()
            .then_some(())
    })
    .expect("gmetad-rs writes the child grid's summary RRD");
    rt.block_on(upper.shutdown());
    rt.block_on(lower.shutdown());
}

#[test]
fn gmetad_rs_writes_through_debians_rrdcached() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let dir = tempfile::tempdir().unwrap();
    let (_gmond, src) = gmond(dir.path());
    let sock = dir.path().join("rrdcached.sock");
    let rc = rrdcached(dir.path(), &sock, 3600);
    let mut c = Config::builtin();
    c.sources = vec![Source {
        name: "src".into(),
        step: STEP,
        addrs: vec![src],
    }];
    c.xml_addr = "127.0.0.1:0".parse().unwrap();
    c.interactive_addr = "127.0.0.1:0".parse().unwrap();
    c.rrd_rootdir = dir.path().join("rs-rrds");
    c.rras = vec![RRA.into()];
    c.rrdcached = Some(format!("unix:{}", sock.display()));
    let g = Gmetad::start(c).unwrap();
    // Values sit in rrdcached (write delay 3600 s) until flushed; lastupdate asks the daemon.
    let file = wait_for(Duration::from_secs(20), || {
        g.flush_rrds();
        let stats = g.rrd_stats()?;
        (stats.written >= 60 && stats.update_errors == 0).then_some(())?;
        files(&dir.path().join("rs-rrds")).into_iter().find(|f| {
            f.ends_with("/load_one.rrd") && f.starts_with("lab/") && !f.contains("__SummaryInfo__")
        })
    })
    .unwrap_or_else(|| {
        panic!(
            "no updates through rrdcached: {:?}\n{}",
            g.rrd_stats(),
            rc.log()
        )
    });
    let path = dir.path().join("rs-rrds").join(&file);
    let out = Command::new("/usr/bin/rrdtool")
        .arg("lastupdate")
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().count() >= 3,
        "a value was written through rrdcached: {text}"
    );
    rt.block_on(g.shutdown());
    drop(rc);
}
