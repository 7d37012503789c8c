//! Carbon export against Debian's real graphite-carbon (carbon-cache) on loopback: whisper files
//! appear with the values gmetad-rs polled.

use gmetad::daemon::Gmetad;
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use testkit::*;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// One host with one metric, its clock at now.
fn document() -> Vec<u8> {
    let t = now();
    let mut out = Vec::new();
    use ganglia_proto::xml::write as w;
    w::header(&mut out, w::Source::Gmond, "3.7.2");
    w::gmond_cluster_start(
        &mut out,
        &w::ClusterAttrs {
            name: "my lab",
            localtime: t,
            owner: "o",
            latlong: "l",
            url: "u",
        },
    );
    w::gmond_host_start(
        &mut out,
        &w::HostAttrs {
            name: "web1.example.com",
            ip: "10.0.0.1",
            tags: "",
            reported: t,
            tn: 0,
            tmax: 20,
            dmax: 0,
            location: "x",
            gmond_started: 0,
        },
    );
    w::gmond_metric(
        &mut out,
        &w::MetricAttrs {
            name: "load_one",
            val: "0.75",
            metric_type: "float",
            units: " ",
            tn: 0,
            tmax: 70,
            dmax: 0,
            slope: "both",
            source: None,
        },
        std::iter::empty(),
        false,
    );
    w::host_end(&mut out);
    w::cluster_end(&mut out);
    w::footer(&mut out);
    out
}

#[test]
fn carbon_cache_receives_host_metrics_over_one_connection() {
    require("/usr/bin/carbon-cache", "graphite-carbon");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (line, pickle, query) = (free_tcp_port(), free_tcp_port(), free_tcp_port());
    for sub in ["conf", "storage", "log", "whisper"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    std::fs::write(
        d.join("conf/carbon.conf"),
        format!(
            "[cache]\nSTORAGE_DIR = {s}/storage/\nLOCAL_DATA_DIR = {s}/whisper/\nWHISPER_DIR = {s}/whisper/\nLOG_DIR = {s}/log/\nPID_DIR = {s}/\n\
             ENABLE_LOGROTATION = False\nUSER =\nMAX_CACHE_SIZE = inf\nMAX_UPDATES_PER_SECOND = 5000\nMAX_CREATES_PER_MINUTE = inf\n\
             ENABLE_TAGS = False\nLINE_RECEIVER_INTERFACE = 127.0.0.1\nLINE_RECEIVER_PORT = {line}\nENABLE_UDP_LISTENER = False\n\
             PICKLE_RECEIVER_INTERFACE = 127.0.0.1\nPICKLE_RECEIVER_PORT = {pickle}\nCACHE_QUERY_INTERFACE = 127.0.0.1\nCACHE_QUERY_PORT = {query}\n",
            s = d.display()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("conf/storage-schemas.conf"),
        "[default]\npattern = .*\nretentions = 1s:1h\n",
    )
    .unwrap();
    let carbon = Proc::spawn(
        "carbon-cache",
        Command::new("/usr/bin/carbon-cache")
            .arg(format!("--config={}/conf/carbon.conf", d.display()))
            .args(["--nodaemon", "start"]),
        d.join("carbon.log"),
    );
    let carbon_addr = SocketAddr::from(([127, 0, 0, 1], line));
    wait_for(Duration::from_secs(20), || {
        std::net::TcpStream::connect(carbon_addr).ok()
    })
    .unwrap_or_else(|| panic!("carbon-cache did not start: {}", carbon.log()));

    let mut cfg = gmetad_config("lab", 1, serve_document(50, document));
    cfg.carbon = Some((
        carbon_addr,
        ganglia_proto::conf::gmetad::Protocol::Tcp,
        Duration::from_millis(500),
    ));
    cfg.graphite_prefix = Some("ganglia".into());
    let g = Gmetad::start(cfg).unwrap();
    // graphite path rules: cluster spaces → '_', host dots → '_'.
    let wsp = d.join("whisper/ganglia/my_lab/web1_example_com/load_one.wsp");
    wait_for(Duration::from_secs(30), || wsp.exists().then_some(()))
        .unwrap_or_else(|| panic!("no whisper file; carbon log:\n{}", carbon.log()));
    let values = wait_for(Duration::from_secs(20), || {
        let out = Command::new("/usr/bin/whisper-fetch")
            .arg("--from")
            .arg((now() - 120).to_string())
            .arg(&wsp)
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .any(|l| l.ends_with("0.750000"))
            .then_some(text)
    });
    assert!(values.is_some(), "the polled value reached whisper");
    rt.block_on(g.shutdown());
    drop(carbon);
}
