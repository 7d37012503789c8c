//! Riemann export: Debian's gmetad 3.7.2 and gmetad-rs poll the same fixed gmond document with
//! `riemann_server` pointing at a UDP socket of the test; what arrives is decoded by an
//! independent decoder (Debian's `protoc --decode=Msg` on tests/fixtures/riemann.proto) and
//! compared with the events 3.7.2's `create_riemann_event` builds for that document. Debian's
//! package is built without `WITH_RIEMANN` (it parses the options and sends nothing); the test
//! checks that too, and compares the two streams should a Debian build ever send.

use gmetad::daemon::Gmetad;
use gmetad::export::riemann::{Settings, Transport};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use testkit::*;

const DOC: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" standalone="yes"?>
<GANGLIA_XML VERSION="3.7.2" SOURCE="gmond">
<CLUSTER NAME="lab" LOCALTIME="1700000100" OWNER="o" LATLONG="l" URL="u">
<HOST NAME="web1.example.com" IP="10.0.0.1" TAGS="prod,web" REPORTED="1700000090" TN="3" TMAX="20" DMAX="0" LOCATION="rack1" GMOND_STARTED="1699990000">
<METRIC NAME="load_one" VAL="0.75" TYPE="float" UNITS=" " TN="3" TMAX="70" DMAX="0" SLOPE="both" SOURCE="gmond"/>
<METRIC NAME="cpu_num" VAL="4" TYPE="uint16" UNITS="CPUs" TN="3" TMAX="1200" DMAX="0" SLOPE="zero" SOURCE="gmond"/>
<METRIC NAME="bytes_in" VAL="1234.5" TYPE="double" UNITS="bytes/sec" TN="3" TMAX="300" DMAX="0" SLOPE="both" SOURCE="gmond"/>
<METRIC NAME="temp" VAL="-3" TYPE="int32" UNITS="C" TN="3" TMAX="60" DMAX="600" SLOPE="both" SOURCE="gmetric"/>
<METRIC NAME="os_name" VAL="Linux" TYPE="string" UNITS="" TN="3" TMAX="1200" DMAX="0" SLOPE="zero" SOURCE="gmond"/>
<METRIC NAME="stale" VAL="1" TYPE="int32" UNITS="" TN="50" TMAX="20" DMAX="10" SLOPE="both" SOURCE="gmetric"/>
</HOST>
<HOST NAME="down" IP="10.0.0.2" TAGS="" REPORTED="1700000000" TN="900" TMAX="20" DMAX="0" LOCATION="unspecified" GMOND_STARTED="1699990000">
<METRIC NAME="load_one" VAL="0.1" TYPE="float" UNITS=" " TN="900" TMAX="70" DMAX="0" SLOPE="both" SOURCE="gmond"/>
</HOST>
</CLUSTER>
</GANGLIA_XML>
"#;

/// The events of one poll as protoc prints them, one `Vec` of normalised lines per event, in
/// the order 3.7.2 sends them (per host: heartbeat, then the metrics of a live host; "stale"
/// is past its DMAX; "down" is dead and gets only its heartbeat).
fn expected() -> Vec<Vec<String>> {
    let attrs = |ip: &str, loc: &str| {
        vec![
            "attributes: \"grid\"=\"g\"".to_string(),
            "attributes: \"cluster\"=\"lab\"".into(),
            format!("attributes: \"ip\"=\"{ip}\""),
            format!("attributes: \"location\"=\"{loc}\""),
            "attributes: \"env\"=\"test\"".into(),
        ]
    };
    let ev = |host: &str, service: &str, desc: &str, ttl: &str, value: &str| {
        let mut v = vec![];
        if let Some(s) = value.strip_prefix("state:") {
            v.push(format!("state: \"{s}\""));
        }
        v.push(format!("service: \"{service}\""));
        v.push(format!("host: \"{host}\""));
        v.push(format!("description: \"{desc}\""));
        if host == "web1.example.com" {
            v.push("tags: \"prod\"".into());
            v.push("tags: \"web\"".into());
        }
        v.push(format!("ttl: {ttl}"));
        if host == "down" {
            v.extend(attrs("10.0.0.2", "unspecified"));
        } else {
            v.extend(attrs("10.0.0.1", "rack1"));
        }
        if !value.starts_with("state:") {
            v.push(value.to_string());
        }
        v
    };
    let w = "web1.example.com";
    vec![
        ev(w, "heartbeat", "seconds", "80", "metric_sint64: 1700000090"),
        ev(w, "load_one", " ", "70", "metric_d: 0.75"),
        ev(w, "cpu_num", "CPUs", "1200", "metric_sint64: 4"),
        ev(w, "bytes_in", "bytes/sec", "300", "metric_d: 1234.5"),
        ev(w, "temp", "C", "60", "metric_sint64: -3"),
        ev(w, "os_name", "", "1200", "state:Linux"),
        ev(
            "down",
            "heartbeat",
            "seconds",
            "80",
            "metric_sint64: 1700000000",
        ),
    ]
}

/// Decode one serialised `Msg` with Debian's protoc into events of normalised lines.
fn protoc_decode(msg: &[u8]) -> Vec<Vec<String>> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut p = Command::new("/usr/bin/protoc")
        .arg(format!("--proto_path={}", fixtures.display()))
        .args(["--decode=Msg", "riemann.proto"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("protoc runs");
    p.stdin.take().unwrap().write_all(msg).unwrap();
    let out = p.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "protoc could not decode {msg:02x?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut events = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    let (mut key, mut in_attr) = (String::new(), false);
    for l in text.lines().map(str::trim) {
        match l {
            "events {" => cur = Vec::new(),
            "attributes {" => in_attr = true,
            "}" if in_attr => in_attr = false,
            "}" => events.push(std::mem::take(&mut cur)),
            _ if in_attr => {
                if let Some(k) = l.strip_prefix("key: ") {
                    key = k.to_string();
                    cur.push(format!("attributes: {key}"));
                } else if let Some(v) = l.strip_prefix("value: ") {
                    let last = cur.last_mut().unwrap();
                    *last = format!("attributes: {key}={v}");
                }
            }
            _ => cur.push(l.to_string()),
        }
    }
    assert!(
        !in_attr && cur.is_empty(),
        "unbalanced protoc output:\n{text}"
    );
    events
}

/// Datagrams arriving on `sock` until `want` have come or `timeout` passes.
fn datagrams(sock: &UdpSocket, want: usize, timeout: Duration) -> Vec<Vec<u8>> {
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let end = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    while got.len() < want && Instant::now() < end {
        if let Ok(n) = sock.recv(&mut buf) {
            got.push(buf[..n].to_vec());
        }
    }
    got
}

fn ours(source: SocketAddr, riemann: SocketAddr, transport: Transport) -> Gmetad {
    let mut c = gmetad_config("src", 1, source);
    c.gridname = "g".into();
    c.riemann = Some(Settings {
        addr: riemann,
        transport,
        attributes: Some("env=test".into()),
    });
    Gmetad::start(c).unwrap()
}

#[test]
fn udp_events_decode_to_what_gmetad_3_7_2_builds() {
    require("/usr/bin/protoc", "protobuf-compiler");
    require("/usr/sbin/gmetad", "gmetad");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let dir = tempfile::tempdir().unwrap();
    let src = serve_document(200, || DOC.as_bytes().to_vec());
    let deb_sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let rs_sock = UdpSocket::bind("127.0.0.1:0").unwrap();

    // Debian's gmetad, loopback only, no RRDs, foreground with debug output.
    let (px, pi) = (free_tcp_port(), free_tcp_port());
    let conf = dir.path().join("gmetad.conf");
    std::fs::write(
        &conf,
        format!(
            "data_source \"src\" 1 {src}\ngridname \"g\"\nxml_port {px}\ninteractive_port {pi}\n\
             rrd_rootdir \"{}\"\nwrite_rrds off\nsetuid off\nriemann_server \"127.0.0.1\"\n\
             riemann_port {}\nriemann_protocol \"udp\"\nriemann_attributes \"env=test\"\n",
            dir.path().display(),
            deb_sock.local_addr().unwrap().port()
        ),
    )
    .unwrap();
    let deb = Proc::spawn(
        "gmetad",
        Command::new("/usr/sbin/gmetad")
            .args(["-d", "1", "-c"])
            .arg(&conf),
        dir.path().join("gmetad.log"),
    );
    // It polled the document (its XML shows the host) ...
    wait_for(Duration::from_secs(15), || {
        let x = fetch(SocketAddr::from(([127, 0, 0, 1], px)))?;
        String::from_utf8_lossy(&x)
            .contains("web1.example.com")
            .then_some(())
    })
    .unwrap_or_else(|| panic!("Debian gmetad did not poll: {}", deb.log()));

    let g = ours(src, rs_sock.local_addr().unwrap(), Transport::Udp);
    let want = expected();
    let got = datagrams(&rs_sock, want.len(), Duration::from_secs(15));
    assert_eq!(got.len(), want.len(), "one datagram per event");
    let mut rs_events = Vec::new();
    for d in &got {
        let evs = protoc_decode(d);
        assert_eq!(evs.len(), 1, "one event per datagram");
        rs_events.extend(evs);
    }
    assert_eq!(rs_events, want);

    // ... over several of its 1 s polls.
    let deb_got = datagrams(&deb_sock, want.len(), Duration::from_secs(4));
    let log = deb.log();
    drop(deb);
    if deb_got.is_empty() {
        // Why: the package is built without WITH_RIEMANN. Its binary has the option parser's
        // strings ("Enabling Riemann forwarding to %s") but none of export_helpers.c's
        // "[riemann] ..." messages, and it links no protobuf-c.
        let bin = std::fs::read("/usr/sbin/gmetad").unwrap();
        let has = |s: &[u8]| bin.windows(s.len()).any(|w| w == s);
        assert!(
            has(b"Enabling Riemann forwarding to"),
            "Debian's gmetad no longer parses riemann_server"
        );
        assert!(
            !has(b"[riemann]"),
            "Debian's gmetad is built with Riemann yet sent nothing; its log:\n{log}"
        );
        eprintln!("Debian's gmetad sent no Riemann events: built without WITH_RIEMANN");
    } else {
        let mut deb_events = Vec::new();
        for d in &deb_got {
            deb_events.extend(protoc_decode(d));
        }
        let strip = |v: Vec<Vec<String>>| -> Vec<Vec<String>> {
            v.into_iter()
                .map(|e| e.into_iter().filter(|l| !l.starts_with("time")).collect())
                .collect()
        };
        assert_eq!(strip(deb_events), strip(rs_events), "Debian vs gmetad-rs");
    }
    let st = gmetad_query(g.interactive_addr, "/status");
    let n: u64 = st
        .split("\"riemann\":{\"num\":")
        .nth(1)
        .and_then(|r| r.split(',').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no riemann counter in {st}"));
    assert!(n >= want.len() as u64, "{st}");
    rt.block_on(g.shutdown());
}

#[test]
fn tcp_sends_one_length_prefixed_msg_per_host_and_reads_replies() {
    require("/usr/bin/protoc", "protobuf-compiler");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let src = serve_document(200, || DOC.as_bytes().to_vec());
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut conns = 0;
        for mut s in l.incoming().flatten().take(3) {
            conns += 1;
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            loop {
                let mut h = [0u8; 4];
                if s.read_exact(&mut h).is_err() {
                    break;
                }
                let mut b = vec![0u8; u32::from_be_bytes(h) as usize];
                if s.read_exact(&mut b).is_err() || tx.send((conns, b)).is_err() {
                    return;
                }
                // Msg{ok: true}
                if s.write_all(&[0, 0, 0, 2, 0x10, 1]).is_err() {
                    break;
                }
            }
        }
    });
    let g = ours(src, addr, Transport::Tcp);
    let want = expected();
    let mut msgs = Vec::new();
    for _ in 0..6 {
        msgs.push(rx.recv_timeout(Duration::from_secs(15)).expect("a Msg"));
    }
    // Three polls, two hosts each: web1's heartbeat and metrics, then down's heartbeat.
    for (i, (conn, m)) in msgs.iter().enumerate() {
        assert_eq!(*conn, 1, "one persistent connection");
        let evs = protoc_decode(m);
        if i % 2 == 0 {
            assert_eq!(evs, want[..6]);
        } else {
            assert_eq!(evs, want[6..]);
        }
    }
    let st = gmetad_query(g.interactive_addr, "/status");
    assert!(st.contains("\"connects\":1,\"breakerOpen\":false"), "{st}");
    rt.block_on(g.shutdown());
}
