//! gmond-rs against Debian's real Ganglia 3.7.2, in both directions, on loopback only.
//! Debian's daemons run on configs these tests write (unicast to 127.0.0.1 ports).

use ganglia_proto::xml::{Document, Host, Metric};
use gmond::agent::Agent;
use gmond::core::schedule::GroupSpec;
use gmond::net::udp::SendSpec;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::Duration;
use testkit::*;

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const LO2: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

fn fast_groups() -> Vec<GroupSpec> {
    let mut g = gmond::config::default_groups();
    for x in &mut g {
        x.collect_every = 1;
        x.time_threshold = 3;
    }
    g
}

/// An in-process gmond-rs listening on `recv_port` (UDP) and an ephemeral TCP port.
fn agent(cluster: &str, recv_port: u16, send: Vec<SendSpec>) -> Agent {
    let mut c = loopback_agent_config(recv_port);
    c.cluster.name = cluster.into();
    c.send = send;
    c.groups = fast_groups();
    c.send_metadata_interval = 5;
    Agent::builder(c).spawn().expect("agent starts")
}

fn send_to(port: u16, bind: Option<IpAddr>) -> SendSpec {
    send_to_loopback(port, bind)
}

fn host_by_ip<'a>(d: &'a Document, ip: &str) -> Option<&'a Host> {
    d.clusters
        .iter()
        .flat_map(|c| &c.hosts)
        .find(|h| h.ip == ip)
}

/// What must be identical between two receivers of the same metric: everything but the value
/// and the timing.
/// TYPE, UNITS, SLOPE, TMAX, DMAX and sorted extra data.
type Shape = (String, String, String, u64, u64, Vec<(String, String)>);

fn shape(m: &Metric) -> Shape {
    let mut extra: Vec<_> = m
        .extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    extra.sort();
    (
        m.metric_type.to_string(),
        m.units.to_string(),
        m.slope.to_string(),
        m.tmax,
        m.dmax,
        extra,
    )
}

fn shapes(h: &Host) -> BTreeMap<String, Shape> {
    h.metrics
        .iter()
        .map(|m| (m.name.to_string(), shape(m)))
        .collect()
}

#[test]
fn debian_gmond_and_gmond_rs_exchange_all_metrics_with_identical_attributes() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let dir = tempfile::tempdir().unwrap();
    let (pd, td) = (free_udp_port(), free_tcp_port());
    let pr = free_udp_port();
    // gmond-rs sends from 127.0.0.2 so Debian's gmond sees it as a host of its own.
    let ours = agent("interop", pr, vec![send_to(pd, Some(LO2))]);
    let deb = debian_gmond(
        dir.path(),
        &debian_gmond_conf("interop", &[pd, pr], Some(pd), Some(td)),
    );
    let deb_addr = SocketAddr::new(LO, td);
    let ours_addr = ours.xml_addrs()[0];

    let want = 35 - NOT_IN_DEBIAN.len();
    let full = |d: &Document, ip: &str| {
        host_by_ip(d, ip)
            .filter(|h| h.metrics.len() >= want)
            .is_some()
    };
    let deb_doc = wait_for(Duration::from_secs(30), || {
        let d = parse(&fetch(deb_addr)?);
        (full(&d, "127.0.0.1") && full(&d, "127.0.0.2")).then_some(d)
    })
    .unwrap_or_else(|| {
        panic!(
            "Debian gmond never showed both hosts; its log:\n{}",
            deb.log()
        )
    });
    let our_doc = wait_for(Duration::from_secs(30), || {
        let d = parse(&fetch(ours_addr)?);
        full(&d, "127.0.0.1").then_some(d)
    })
    .expect("gmond-rs shows Debian's host");

    let debian_own = shapes(host_by_ip(&deb_doc, "127.0.0.1").unwrap());
    let ours_at_debian = shapes(host_by_ip(&deb_doc, "127.0.0.2").unwrap());
    let debian_at_ours = shapes(host_by_ip(&our_doc, "127.0.0.1").unwrap());
    let names: Vec<_> = debian_own.keys().cloned().collect();
    assert_eq!(names.len(), want, "{names:?}");
    // All 35 default metrics of ours reach Debian's gmond ...
    let ours_names: Vec<_> = ours_at_debian.keys().map(String::as_str).collect();
    for n in gmond::collect::defs::DEFAULT_35 {
        assert!(
            ours_names.contains(&n),
            "{n} missing at Debian's gmond: {ours_names:?}"
        );
    }
    // ... and look exactly like its own.
    let ours_common: BTreeMap<_, _> = ours_at_debian
        .iter()
        .filter(|(k, _)| debian_own.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(ours_common, debian_own);
    // Debian's metrics, as we show them, look exactly like Debian shows them.
    assert_eq!(debian_at_ours, debian_own);
    // And host attributes come out in gmond's order (gstat reads them by position).
    let raw = String::from_utf8(fetch(ours_addr).unwrap()).unwrap();
    let host_line = raw.lines().find(|l| l.starts_with("<HOST ")).unwrap();
    let order: Vec<_> = host_line
        .split('"')
        .step_by(2)
        .map(|s| s.trim().trim_start_matches("<HOST ").trim_end_matches('='))
        .collect();
    assert_eq!(
        &order[..9],
        [
            "NAME",
            "IP",
            "TAGS",
            "REPORTED",
            "TN",
            "TMAX",
            "DMAX",
            "LOCATION",
            "GMOND_STARTED"
        ]
    );
    drop(deb);
    rt.block_on(ours.shutdown());
}

fn gmetric_conf(dir: &std::path::Path, name: &str, port: u16) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(
        &p,
        format!("udp_send_channel {{\n host = 127.0.0.1\n port = {port}\n}}\n"),
    )
    .unwrap();
    p
}

#[test]
fn gmetric_both_ways() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    require("/usr/bin/gmetric", "ganglia-monitor");
    let dir = tempfile::tempdir().unwrap();
    let (pd, td, pr) = (free_udp_port(), free_tcp_port(), free_udp_port());
    let ours = agent("gm", pr, vec![]);
    let deb = debian_gmond(
        dir.path(),
        &debian_gmond_conf("gm", &[], Some(pd), Some(td)),
    );
    wait_for(Duration::from_secs(10), || fetch(SocketAddr::new(LO, td))).expect("Debian gmond up");
    let to_ours = gmetric_conf(dir.path(), "to-ours.conf", pr);
    let to_deb = gmetric_conf(dir.path(), "to-deb.conf", pd);
    let args = [
        "-t",
        "double",
        "-v",
        "1250000.5",
        "-u",
        "bytes/sec",
        "-g",
        "relay,media",
        "-s",
        "positive",
        "-x",
        "20",
        "-d",
        "300",
        "-D",
        "a <desc>",
        "-T",
        "Relay In",
    ];
    let run = |bin: &std::path::Path, conf: &std::path::Path, name: &str| {
        let out = Command::new(bin)
            .arg("-c")
            .arg(conf)
            .args(["-n", name])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            bin.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(std::path::Path::new("/usr/bin/gmetric"), &to_ours, "m_deb");
    run(std::path::Path::new("/usr/bin/gmetric"), &to_deb, "m_deb");
    run(&bin("gmetric-rs"), &to_deb, "m_rs");
    let find = |addr: SocketAddr, name: &str| -> Option<Metric> {
        let d = parse(&fetch(addr)?);
        d.clusters
            .iter()
            .flat_map(|c| &c.hosts)
            .flat_map(|h| &h.metrics)
            .find(|m| m.name == name)
            .cloned()
    };
    let deb_addr = SocketAddr::new(LO, td);
    let at_ours = wait_for(Duration::from_secs(10), || {
        find(ours.xml_addrs()[0], "m_deb")
    })
    .expect("Debian gmetric → gmond-rs");
    let deb_at_deb = wait_for(Duration::from_secs(10), || find(deb_addr, "m_deb"))
        .expect("Debian gmetric → Debian gmond");
    let rs_at_deb = wait_for(Duration::from_secs(10), || find(deb_addr, "m_rs"))
        .expect("gmetric-rs → Debian gmond");
    assert_eq!(shape(&at_ours), shape(&deb_at_deb));
    assert_eq!(shape(&rs_at_deb), shape(&deb_at_deb));
    assert_eq!(
        (at_ours.val.as_str(), rs_at_deb.val.as_str()),
        ("1250000.5", "1250000.5")
    );
    assert_eq!(at_ours.extra("TITLE"), Some("Relay In"));
    // Same validation messages as gmetric.
    for bad in [
        ["-n", "x", "-v", "abc", "-t", "float"],
        ["-n", "x", "-v", "1", "-t", "int64"],
    ] {
        let theirs = Command::new("/usr/bin/gmetric")
            .arg("-c")
            .arg(&to_ours)
            .args(bad)
            .output()
            .unwrap();
        let mine = Command::new(bin("gmetric-rs"))
            .arg("-c")
            .arg(&to_ours)
            .args(bad)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&mine.stderr),
            String::from_utf8_lossy(&theirs.stderr)
        );
        assert!(!mine.status.success() && !theirs.status.success());
    }
    drop(deb);
    rt.block_on(ours.shutdown());
}

#[test]
fn debian_gstat_reads_gmond_rs_like_gstat_rs_does() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    require("/usr/bin/gstat", "ganglia-monitor");
    let pr = free_udp_port();
    let ours = agent("gs", pr, vec![send_to(pr, None)]);
    let port = ours.xml_addrs()[0].port().to_string();
    wait_for(Duration::from_secs(15), || {
        let d = parse(&fetch(ours.xml_addrs()[0])?);
        host_by_ip(&d, "127.0.0.1")
            .filter(|h| h.metrics.len() >= 35)
            .map(|_| ())
    })
    .expect("own metrics");
    let mut same = false;
    for _ in 0..5 {
        let theirs = Command::new("/usr/bin/gstat")
            .args(["-a", "-i", "127.0.0.1", "-p", &port])
            .output()
            .unwrap();
        let mine = Command::new(bin("gstat-rs"))
            .args(["-a", "-i", "127.0.0.1", "-p", &port])
            .output()
            .unwrap();
        let (t, m) = (
            String::from_utf8_lossy(&theirs.stdout),
            String::from_utf8_lossy(&mine.stdout),
        );
        assert!(
            t.contains("CLUSTER HOSTS") && t.contains("Name: gs"),
            "Debian gstat: {t}"
        );
        if t == m {
            same = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(300)); // a value changed between the two reads
    }
    assert!(same, "gstat and gstat-rs disagree");
    rt.block_on(ours.shutdown());
}

#[test]
fn debian_gmetad_polls_gmond_rs_and_writes_rrds() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    require("/usr/sbin/gmetad", "gmetad");
    require("/usr/bin/rrdtool", "rrdtool");
    let dir = tempfile::tempdir().unwrap();
    let pr = free_udp_port();
    let ours = agent("polled", pr, vec![send_to(pr, None)]);
    let rrds = dir.path().join("rrds");
    std::fs::create_dir(&rrds).unwrap();
    let (px, pi) = (free_tcp_port(), free_tcp_port());
    let conf = dir.path().join("gmetad.conf");
    std::fs::write(
        &conf,
        format!(
            "data_source \"rs\" 2 127.0.0.1:{}\ngridname \"interop\"\nxml_port {px}\ninteractive_port {pi}\nrrd_rootdir \"{}\"\nsetuid off\nRRAs \"RRA:AVERAGE:0.5:1:60\"\ncase_sensitive_hostnames 1\n",
            ours.xml_addrs()[0].port(),
            rrds.display()
        ),
    )
    .unwrap();
    let gmetad = Proc::spawn(
        "gmetad",
        Command::new("/usr/sbin/gmetad")
            .args(["-d", "1", "-c"])
            .arg(&conf),
        dir.path().join("gmetad.log"),
    );
    let file = wait_for(Duration::from_secs(40), || {
        let host_dir = std::fs::read_dir(rrds.join("polled"))
            .ok()?
            .filter_map(Result::ok)
            .find(|e| e.file_name() != "__SummaryInfo__")?;
        let f = host_dir.path().join("load_one.rrd");
        f.exists().then_some(f)
    })
    .unwrap_or_else(|| panic!("no RRD written; gmetad log:\n{}", gmetad.log()));
    let info = Command::new("/usr/bin/rrdtool")
        .arg("info")
        .arg(&file)
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("step = 2"), "{info}");
    assert!(info.contains("ds[sum].type = \"GAUGE\""), "{info}");
    assert!(rrds.join("polled/__SummaryInfo__/load_one.rrd").exists());
    drop(gmetad);
    rt.block_on(ours.shutdown());
}
