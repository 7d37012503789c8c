//! memcached export against Debian's real memcached 1.6 on loopback: the keys gmetad-rs stores
//! are read back with `get` (values), `mg ... t` (expiry = DMAX) and, with two servers, with
//! libmemcached's own `memccat` (so the key distribution is libmemcached's).

use gmetad::daemon::Gmetad;
use gmetad::export::memcached::Settings;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;
use testkit::*;

fn doc() -> String {
    let long = "h".repeat(250);
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" standalone="yes"?>
<GANGLIA_XML VERSION="3.7.2" SOURCE="gmond">
<CLUSTER NAME="lab" LOCALTIME="1700000100" OWNER="o" LATLONG="l" URL="u">
<HOST NAME="web1" IP="10.0.0.1" TAGS="" REPORTED="1700000090" TN="3" TMAX="20" DMAX="0" LOCATION="x" GMOND_STARTED="1">
<METRIC NAME="load_one" VAL="0.75" TYPE="float" UNITS=" " TN="3" TMAX="70" DMAX="0" SLOPE="both" SOURCE="gmond"/>
<METRIC NAME="os_name" VAL="Linux" TYPE="string" UNITS="" TN="3" TMAX="1200" DMAX="0" SLOPE="zero" SOURCE="gmond"/>
<METRIC NAME="temp" VAL="-3" TYPE="int32" UNITS="C" TN="3" TMAX="60" DMAX="3600" SLOPE="both" SOURCE="gmetric"/>
<METRIC NAME="stale" VAL="1" TYPE="int32" UNITS="" TN="50" TMAX="20" DMAX="10" SLOPE="both" SOURCE="gmetric"/>
</HOST>
<HOST NAME="web2" IP="10.0.0.2" TAGS="" REPORTED="1700000090" TN="3" TMAX="20" DMAX="0" LOCATION="x" GMOND_STARTED="1">
<METRIC NAME="load_one" VAL="1.5" TYPE="float" UNITS=" " TN="3" TMAX="70" DMAX="0" SLOPE="both" SOURCE="gmond"/>
<METRIC NAME="cpu_num" VAL="8" TYPE="uint16" UNITS="CPUs" TN="3" TMAX="1200" DMAX="0" SLOPE="zero" SOURCE="gmond"/>
</HOST>
<HOST NAME="{long}" IP="10.0.0.3" TAGS="" REPORTED="1700000090" TN="3" TMAX="20" DMAX="0" LOCATION="x" GMOND_STARTED="1">
<METRIC NAME="load_one" VAL="2" TYPE="float" UNITS=" " TN="3" TMAX="70" DMAX="0" SLOPE="both" SOURCE="gmond"/>
</HOST>
<HOST NAME="down" IP="10.0.0.4" TAGS="" REPORTED="1700000000" TN="900" TMAX="20" DMAX="0" LOCATION="x" GMOND_STARTED="1">
<METRIC NAME="load_one" VAL="0.1" TYPE="float" UNITS=" " TN="900" TMAX="70" DMAX="0" SLOPE="both" SOURCE="gmond"/>
</HOST>
</CLUSTER>
</GANGLIA_XML>
"#
    )
}

/// Key → value gmetad 3.7.2 stores for [`doc`] (without the cluster in the key).
const STORED: &[(&str, &str)] = &[
    ("web1/load_one", "0.75"),
    ("web1/os_name", "Linux"),
    ("web1/temp", "-3"),
    ("web2/load_one", "1.5"),
    ("web2/cpu_num", "8"),
];
const ABSENT: &[&str] = &["web1/stale", "down/load_one"];

fn memcached(dir: &std::path::Path, name: &'static str) -> (Proc, SocketAddr) {
    memcached_on(dir, name, free_tcp_port())
}

fn memcached_on(dir: &std::path::Path, name: &'static str, port: u16) -> (Proc, SocketAddr) {
    require("/usr/bin/memcached", "memcached");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let p = Proc::spawn(
        name,
        Command::new("/usr/bin/memcached").args([
            "-l",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "0",
            "-u",
            "root",
            "-m",
            "16",
        ]),
        dir.join(format!("{name}.log")),
    );
    wait_for(Duration::from_secs(10), || TcpStream::connect(addr).ok())
        .unwrap_or_else(|| panic!("memcached did not start: {}", p.log()));
    (p, addr)
}

/// One text-protocol request; the answer up to `END`/a single line.
fn ask(addr: SocketAddr, req: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut r = BufReader::new(s);
    let mut out = String::new();
    loop {
        let mut l = String::new();
        if r.read_line(&mut l).unwrap() == 0 {
            break;
        }
        out.push_str(&l);
        if l == "END\r\n" || req.starts_with("mg") && !l.starts_with("VA") {
            break;
        }
        if l.starts_with("VA") {
            let mut v = String::new();
            r.read_line(&mut v).unwrap();
            out.push_str(&v);
            break;
        }
    }
    out
}

fn get(addr: SocketAddr, key: &str) -> Option<String> {
    let a = ask(addr, &format!("get {key}\r\n"));
    let mut l = a.lines();
    let head = l.next()?;
    head.starts_with("VALUE ")
        .then(|| l.next().unwrap_or("").to_string())
}

fn ours(source: SocketAddr, servers: Vec<SocketAddr>, include_cluster: bool) -> Gmetad {
    let mut c = gmetad_config("src", 1, source);
    c.memcached = Some(Settings {
        servers,
        include_cluster,
    });
    Gmetad::start(c).unwrap()
}

#[test]
fn values_and_expiry_read_back_from_memcached() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let dir = tempfile::tempdir().unwrap();
    let (mc, addr) = memcached(dir.path(), "memcached");
    let g = ours(
        serve_document(200, || doc().into_bytes()),
        vec![addr],
        false,
    );
    wait_for(Duration::from_secs(15), || get(addr, "web2/cpu_num"))
        .unwrap_or_else(|| panic!("nothing stored; memcached log: {}", mc.log()));
    for (k, v) in STORED {
        assert_eq!(get(addr, k).as_deref(), Some(*v), "{k}");
    }
    for k in ABSENT {
        assert_eq!(get(addr, k), None, "{k} must not be stored");
    }
    // Expiry = DMAX: temp (DMAX 3600) has a TTL near an hour, load_one (DMAX 0) none.
    let t = ask(addr, "mg web1/temp t v\r\n");
    let ttl: i64 = t
        .split_whitespace()
        .find_map(|w| w.strip_prefix('t')?.parse().ok())
        .unwrap_or_else(|| panic!("no ttl in {t:?}"));
    assert!((3590..=3600).contains(&ttl), "{t:?}");
    let t = ask(addr, "mg web1/load_one t v\r\n");
    assert!(t.contains(" t-1"), "{t:?}");
    let st = wait_for(Duration::from_secs(10), || {
        let s = gmetad_query(g.interactive_addr, "/status");
        s.contains("\"skippedKeys\":").then_some(s)
    })
    .unwrap();
    let num: u64 = st
        .split("\"memcached\":{\"num\":")
        .nth(1)
        .and_then(|r| r.split(',').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no memcached counter in {st}"));
    assert!(num >= STORED.len() as u64, "{st}");
    assert!(
        !st.contains("\"skippedKeys\":0"),
        "the 250-byte host is skipped: {st}"
    );
    assert!(st.contains("\"connects\":1}"), "one connection: {st}");
    rt.block_on(g.shutdown());
}

#[test]
fn two_servers_share_keys_as_libmemcached_distributes_them() {
    require("/usr/bin/memccat", "libmemcached-tools");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let dir = tempfile::tempdir().unwrap();
    let (_a, a) = memcached(dir.path(), "memcached-a");
    let (_b, b) = memcached(dir.path(), "memcached-b");
    let g = ours(serve_document(200, || doc().into_bytes()), vec![a, b], true);
    let keys: Vec<String> = STORED.iter().map(|(k, _)| format!("lab/{k}")).collect();
    wait_for(Duration::from_secs(15), || {
        keys.iter()
            .all(|k| get(a, k).is_some() || get(b, k).is_some())
            .then_some(())
    })
    .expect("every key stored on one of the servers");
    let on_a = keys.iter().filter(|k| get(a, k).is_some()).count();
    let on_b = keys.iter().filter(|k| get(b, k).is_some()).count();
    assert_eq!(on_a + on_b, keys.len(), "each key on exactly one server");
    assert!(
        on_a > 0 && on_b > 0,
        "keys spread over both ({on_a}, {on_b})"
    );
    // libmemcached, given the same server list, looks each key up where we put it.
    for ((_, v), k) in STORED.iter().zip(&keys) {
        let out = Command::new("/usr/bin/memccat")
            .arg(format!("--servers={a},{b}"))
            .arg(k)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim_end(),
            *v,
            "memccat {k}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    rt.block_on(g.shutdown());
}

#[test]
fn a_restarted_memcached_is_refilled_after_a_reconnect() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let dir = tempfile::tempdir().unwrap();
    let (first, addr) = memcached(dir.path(), "memcached-1");
    let g = ours(
        serve_document(200, || doc().into_bytes()),
        vec![addr],
        false,
    );
    wait_for(Duration::from_secs(15), || get(addr, "web1/load_one")).expect("stored");
    drop(first);
    // Polls fail to deliver while it is down ...
    std::thread::sleep(Duration::from_millis(2500));
    let (_second, _) = memcached_on(dir.path(), "memcached-2", addr.port());
    // ... and the exporter reconnects (back-off at most a few seconds) and fills the new,
    // empty one again.
    let v = wait_for(Duration::from_secs(20), || get(addr, "web1/load_one"));
    assert_eq!(v.as_deref(), Some("0.75"));
    let st = gmetad_query(g.interactive_addr, "/status");
    assert!(st.contains("\"connects\":2}"), "reconnected once: {st}");
    assert!(
        !st.contains("\"memcached\":{\"dropped\":0,"),
        "sets dropped while down: {st}"
    );
    rt.block_on(g.shutdown());
}
