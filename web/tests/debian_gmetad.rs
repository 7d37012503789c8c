//! gweb-rs in front of Debian's real gmetad 3.7.2 (config written by this test, loopback only,
//! RRDs with small RRAs in a temp dir), fed by an in-process gmond-rs agent: the same queries
//! and the same RRD layout work, so the web view also serves a Debian grid.

mod common;
use common::*;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn debian_gmetad(dir: &Path, source: SocketAddr) -> (Killed, SocketAddr, std::path::PathBuf) {
    assert!(
        Path::new("/usr/sbin/gmetad").exists(),
        "/usr/sbin/gmetad missing: install Debian's gmetad (make test does)"
    );
    let rrds = dir.join("deb-rrds");
    std::fs::create_dir_all(&rrds).unwrap();
    let (px, pi) = (free_tcp_port(), free_tcp_port());
    let conf = dir.join("gmetad.conf");
    let rras: Vec<String> = RRAS.iter().map(|r| format!("\"{r}\"")).collect();
    std::fs::write(
        &conf,
        format!(
            "data_source \"src\" 2 {source}\ngridname \"debgrid\"\nxml_port {px}\ninteractive_port {pi}\nrrd_rootdir \"{}\"\nsetuid off\nRRAs {}\n",
            rrds.display(),
            rras.join(" ")
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("gmetad.log")).unwrap();
    let child = Command::new("/usr/sbin/gmetad")
        .args(["-d", "1", "-c"])
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start Debian gmetad");
    let p = Killed(child);
    let ia = SocketAddr::new(LO, pi);
    wait_for(Duration::from_secs(15), || TcpStream::connect(ia).ok()).expect("gmetad listening");
    (p, ia, rrds)
}

#[test]
fn gweb_rs_serves_a_debian_gmetad_grid() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let dir = tempfile::tempdir().unwrap();
    let mut c = gmond::config::AgentConfig::ephemeral();
    c.cluster.name = "deb".into();
    let port = free_udp_port();
    c.recv[0].spec.bind = LO;
    c.recv[0].spec.port = port;
    c.tcp[0].addr = SocketAddr::new(LO, 0);
    c.send = vec![gmond::net::udp::SendSpec {
        dest: SocketAddr::new(LO, port),
        ttl: 1,
        mcast_if: None,
        bind: None,
    }];
    for g in &mut c.groups {
        g.collect_every = 1;
        g.time_threshold = 2;
    }
    let agent = gmond::agent::Agent::builder(c).spawn().unwrap();
    let (_gmetad, interactive, rrds) = debian_gmetad(dir.path(), agent.xml_addrs()[0]);
    let web = web(interactive, &rrds);
    let a = web.addr;
    // Debian's gmetad lower-cases host directories; find the host it wrote.
    let host_dir = wait_for(Duration::from_secs(60), || {
        let d = std::fs::read_dir(rrds.join("deb"))
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.join("load_one.rrd").exists() && !p.ends_with("__SummaryInfo__"))?;
        rrds.join("deb/__SummaryInfo__/load_one.rrd")
            .exists()
            .then_some(d)
    })
    .expect("Debian gmetad wrote host and summary RRDs");
    // The host's name as the web view lists it (from Debian gmetad's answer).
    let cluster = wait_for(Duration::from_secs(20), || {
        let r = get(a, "/c/deb");
        (r.status == 200 && r.text().contains("/c/deb/h/")).then_some(r.text())
    })
    .expect("cluster page through Debian's gmetad");
    let start = cluster.find("/c/deb/h/").unwrap() + "/c/deb/h/".len();
    let h = &cluster[start..start + cluster[start..].find('?').unwrap()];
    assert_eq!(
        host_dir.file_name().unwrap().to_string_lossy(),
        h.to_lowercase(),
        "the host listed is the one with files"
    );
    // Let a few updates accumulate (step 2).
    wait_for(Duration::from_secs(30), || {
        let csv = get(
            a,
            &format!(
                "/graph.csv?c=deb&h={h}&m=load_one&r=custom&cs={}",
                now() - 120
            ),
        )
        .text();
        (csv.lines()
            .skip(1)
            .filter(|l| l.split(',').nth(1).is_some_and(|v| !v.is_empty()))
            .count()
            >= 3)
            .then_some(())
    })
    .expect("load_one values through librrd fetch");
    for (path, ct) in [
        ("/".to_string(), "text/html; charset=utf-8"),
        ("/c/deb".into(), "text/html; charset=utf-8"),
        (format!("/c/deb/h/{h}"), "text/html; charset=utf-8"),
        ("/c/deb/m/load_one".into(), "text/html; charset=utf-8"),
        ("/search?q=load".into(), "text/html; charset=utf-8"),
        (format!("/graph.png?c=deb&h={h}&g=load_report"), "image/png"),
        ("/graph.png?c=deb&g=cpu_report".into(), "image/png"),
        (
            format!("/graph.json?c=deb&h={h}&m=load_one"),
            "application/json",
        ),
    ] {
        let r = get(a, &path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.header("content-type"), Some(ct), "{path}");
    }
    let grid = get(a, "/").text();
    assert!(
        grid.contains("debgrid Grid") && grid.contains("/c/deb?"),
        "{grid}"
    );
    let hp = get(a, &format!("/c/deb/h/{h}")).text();
    assert!(
        hp.contains("load metrics") && hp.contains("cpu_report"),
        "{hp}"
    );
    // The graph shows the data Debian's gmetad wrote (metric area colour #EDD5C6).
    let png = get(
        a,
        &format!(
            "/graph.png?c=deb&h={h}&m=mem_total&r=custom&cs={}",
            now() - 120
        ),
    );
    assert_eq!(png.status, 200, "{}", png.text());
    let (_, _, colours, area) = png_stats(&png.body, Some([0xED, 0xD5, 0xC6]));
    assert!(
        colours > 2 && area > 20,
        "{colours} colours, {area} area pixels"
    );
    rt.block_on(web.shutdown());
    rt.block_on(agent.shutdown());
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
