//! RRD files written through librrd and through Debian's real rrdcached, checked with the real
//! `rrdtool`. Small RRAs in temporary directories.

use gmetad::rrd::layout::Target;
use gmetad::rrd::rrdcached::{Address, Rrdcached};
use gmetad::rrd::service::RrdService;
use gmetad::rrd::writer::{Backend, Update};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const RRAS: [&str; 1] = ["RRA:AVERAGE:0.5:1:100"];

fn rras() -> Vec<String> {
    RRAS.iter().map(|s| s.to_string()).collect()
}

fn rrdtool(args: &[&str]) -> String {
    assert!(
        Path::new("/usr/bin/rrdtool").exists(),
        "rrdtool missing: install Debian's rrdtool (make test does)"
    );
    let out = Command::new("/usr/bin/rrdtool")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rrdtool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn host(cluster: &str, h: &str, m: &str, ts: u64, v: &str, slope: &str) -> Update {
    Update {
        target: Target::Host {
            cluster: cluster.into(),
            host: h.into(),
            metric: m.into(),
        },
        ts,
        sum: v.into(),
        num: None,
        slope: slope.into(),
        step: 15,
    }
}

/// The value stored at `ts` (AVERAGE, resolution of the step).
fn fetch_at(file: &Path, ts: u64) -> Vec<String> {
    let out = rrdtool(&[
        "fetch",
        file.to_str().unwrap(),
        "AVERAGE",
        "-s",
        &(ts - 15).to_string(),
        "-e",
        &ts.to_string(),
    ]);
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("{ts}:")))
        .unwrap_or_else(|| panic!("{ts} not in\n{out}"));
    line.split_whitespace().skip(1).map(str::to_owned).collect()
}

#[test]
fn direct_writes_have_gmetads_layout_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let svc = RrdService::start(dir.path(), true, &rras(), Backend::Direct).unwrap();
    let t = 1_700_000_010u64; // a multiple of 15 minus nothing: 1700000010 % 15 == 0
    assert_eq!(t % 15, 0);
    let mut batch = Vec::new();
    for i in 0..4 {
        batch.push(host(
            "lab",
            "web1",
            "load_one",
            t + 15 * i,
            &format!("{}.5", i),
            "both",
        ));
        batch.push(host(
            "lab",
            "web1",
            "bytes_total",
            t + 15 * i,
            &format!("{}", 1000 * i),
            "positive",
        ));
        batch.push(Update {
            target: Target::Summary {
                node: "lab".into(),
                metric: "load_one".into(),
            },
            ts: t + 15 * i,
            sum: format!("{}.5", i),
            num: Some(2),
            slope: "both".into(),
            step: 15,
        });
    }
    // A repeated timestamp is skipped and counted, not an error.
    batch.push(host("lab", "web1", "load_one", t + 45, "9", "both"));
    svc.submit(batch);
    svc.flush();
    let st = svc.stats();
    assert_eq!(
        (
            st.created,
            st.written,
            st.skipped_old,
            st.update_errors,
            st.create_errors
        ),
        (3, 12, 1, 0, 0),
        "{st:?}"
    );

    let f = dir.path().join("lab/web1/load_one.rrd");
    let info = rrdtool(&["info", f.to_str().unwrap()]);
    for want in [
        "step = 15",
        "ds[sum].type = \"GAUGE\"",
        "ds[sum].minimal_heartbeat = 120",
        "rra[0].rows = 100",
        "rra[0].cf = \"AVERAGE\"",
    ] {
        assert!(info.contains(want), "{want} not in\n{info}");
    }
    assert!(!info.contains("ds[num]"));
    assert_eq!(fetch_at(&f, t + 30), ["2.5000000000e+00"]);
    let c = dir.path().join("lab/web1/bytes_total.rrd");
    assert!(rrdtool(&["info", c.to_str().unwrap()]).contains("ds[sum].type = \"COUNTER\""));
    let s = dir.path().join("lab/__SummaryInfo__/load_one.rrd");
    let sinfo = rrdtool(&["info", s.to_str().unwrap()]);
    assert!(sinfo.contains("ds[num].type = \"GAUGE\""), "{sinfo}");
    assert_eq!(
        fetch_at(&s, t + 45),
        ["3.5000000000e+00", "2.0000000000e+00"]
    );
}

#[test]
fn unwritable_root_is_counted_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let svc = RrdService::start(&file, true, &rras(), Backend::Direct).unwrap();
    svc.submit(vec![host("c", "h", "m", 1_700_000_000, "1", "both")]);
    svc.submit(vec![host("..", "h", "m", 1_700_000_000, "1", "both")]);
    svc.flush();
    let st = svc.stats();
    assert_eq!((st.create_errors, st.bad_names, st.written), (1, 1, 0));
    assert!(st.last_error.contains("not-a-dir"), "{}", st.last_error);
}

struct Daemon(Child);
impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY: signalling our own child by pid.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        std::thread::sleep(Duration::from_millis(300));
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_rrdcached(base: &Path, listen: &str) -> Daemon {
    assert!(
        Path::new("/usr/bin/rrdcached").exists(),
        "rrdcached missing: install Debian's rrdcached (make test does)"
    );
    let child = Command::new("/usr/bin/rrdcached")
        .args(["-g", "-l", listen, "-b"])
        .arg(base)
        .args(["-w", "3600", "-z", "1", "-p"])
        .arg(base.join("rrdcached.pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Daemon(child)
}

fn via_rrdcached(listen: &str, addr: Address, base: &Path) {
    let _d = start_rrdcached(base, listen);
    // Wait for the socket.
    let mut ok = false;
    for _ in 0..50 {
        if Rrdcached::new(addr.clone()).flush_all().is_ok() {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(ok, "rrdcached did not come up on {listen}");
    let root = base.join("rrds");
    let svc =
        RrdService::start(&root, true, &rras(), Backend::Cached(Rrdcached::new(addr))).unwrap();
    let t = 1_700_000_010u64;
    let batch: Vec<Update> = (0..3)
        .map(|i| {
            host(
                "my cluster",
                "web 1",
                "load_one",
                t + 15 * i,
                &format!("{i}.25"),
                "both",
            )
        })
        .collect();
    svc.submit(batch);
    svc.flush();
    let st = svc.stats();
    assert_eq!(
        (st.created, st.written, st.update_errors),
        (1, 3, 0),
        "{st:?}"
    );
    let f = root.join("my cluster/web 1/load_one.rrd");
    let last = rrdtool(&["lastupdate", f.to_str().unwrap()]);
    assert!(last.contains(&format!("{}: 2.25", t + 30)), "{last}");
}

#[test]
fn rrdcached_over_a_unix_socket_with_spaces_in_names() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("rrdcached.sock");
    via_rrdcached(
        &format!("unix:{}", sock.display()),
        Address::Unix(sock),
        dir.path(),
    );
}

#[test]
fn rrdcached_over_tcp_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    via_rrdcached(
        &format!("127.0.0.1:{port}"),
        Address::Tcp(format!("127.0.0.1:{port}")),
        dir.path(),
    );
}
