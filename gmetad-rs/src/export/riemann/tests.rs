use super::*;
use crate::tree::{self, summary::SummaryRules};
use ganglia_proto::xml::read::{ReadLimits, read};

/// A minimal protobuf reader for the tests: (field, wire value) pairs.
#[derive(Debug, Clone, PartialEq)]
enum V {
    Int(u64),
    F64(u64),
    F32(u32),
    Bytes(Vec<u8>),
}

fn fields(b: &[u8]) -> Vec<(u64, V)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < b.len() {
        let key = read_varint(b, &mut at).unwrap();
        let v = match key & 7 {
            0 => V::Int(read_varint(b, &mut at).unwrap()),
            1 => {
                at += 8;
                V::F64(u64::from_le_bytes(b[at - 8..at].try_into().unwrap()))
            }
            5 => {
                at += 4;
                V::F32(u32::from_le_bytes(b[at - 4..at].try_into().unwrap()))
            }
            2 => {
                let n = read_varint(b, &mut at).unwrap() as usize;
                at += n;
                V::Bytes(b[at - n..at].to_vec())
            }
            w => panic!("wire type {w}"),
        };
        out.push((key >> 3, v));
    }
    out
}

fn text(v: &V) -> String {
    match v {
        V::Bytes(b) => String::from_utf8(b.clone()).unwrap(),
        o => panic!("not bytes: {o:?}"),
    }
}

#[test]
fn event_bytes_match_a_hand_encoding() {
    let attrs = [("k", Some("v")), ("x", None)];
    let e = Event {
        service: "s",
        host: "h",
        description: Some(""),
        tags: &["t"],
        ttl: Some(1.0),
        attributes: &attrs,
        metric_sint64: Some(-2),
        ..Event::default()
    };
    let mut out = Vec::new();
    encode_event(&e, &mut out);
    #[rustfmt::skip]
    let want = [
        0x1a, 1, b's', 0x22, 1, b'h', 0x2a, 0, 0x3a, 1, b't',
        0x45, 0x00, 0x00, 0x80, 0x3f,
        0x4a, 6, 0x0a, 1, b'k', 0x12, 1, b'v',
        0x4a, 3, 0x0a, 1, b'x',
        0x68, 3, // zigzag(-2) = 3
    ];
    assert_eq!(out, want);
    let mut m = Vec::new();
    encode_msg([&e], &mut m);
    assert_eq!(m[0], 0x32);
    assert_eq!(m[1] as usize, want.len());
    assert_eq!(&m[2..], &want);
    let d = Event {
        service: "a",
        host: "b",
        metric_d: Some(0.5),
        time: Some(300),
        state: Some("ok"),
        ..Event::default()
    };
    out.clear();
    encode_event(&d, &mut out);
    let f = fields(&out);
    assert_eq!(f[0], (1, V::Int(300)));
    assert_eq!(f[1], (2, V::Bytes(b"ok".to_vec())));
    assert_eq!(f.last().unwrap(), &(14, V::F64(0.5f64.to_bits())));
}

#[test]
fn replies_decode_and_garbage_is_refused() {
    assert_eq!(
        decode_reply(&[0x10, 0x01]).unwrap(),
        Reply {
            ok: Some(true),
            error: None
        }
    );
    let r = decode_reply(&[0x10, 0x00, 0x1a, 3, b'b', b'a', b'd', 0x45, 0, 0, 0, 0]).unwrap();
    assert_eq!(r.ok, Some(false));
    assert_eq!(r.error.as_deref(), Some("bad"));
    assert!(decode_reply(&[0x1a, 9, b'x']).is_err());
    assert!(decode_reply(&[0x10]).is_err());
    assert_eq!(decode_reply(&[]).unwrap(), Reply::default());
}

#[test]
fn c_number_parsing() {
    assert_eq!(c_strtol(" 42"), 42);
    assert_eq!(c_strtol("-7x"), -7);
    assert_eq!(c_strtol("12.9"), 12);
    assert_eq!(c_strtol("abc"), 0);
    assert_eq!(c_strtol("4294967295"), 4294967295);
    assert_eq!(c_strtol("99999999999999999999999"), i64::MAX);
    assert_eq!(c_strtod("0.75"), 0.75);
    assert_eq!(c_strtod(" 1e3 "), 1000.0);
    assert_eq!(c_strtod("3.5abc"), 3.5);
    assert_eq!(c_strtod("1e"), 1.0);
    assert_eq!(c_strtod("-inf"), f64::NEG_INFINITY);
    assert!(c_strtod("nan").is_nan());
    assert_eq!(c_strtod(""), 0.0);
}

const XML: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" standalone="yes"?>
<GANGLIA_XML VERSION="3.7.2" SOURCE="gmond">
<CLUSTER NAME="lab" LOCALTIME="1000" OWNER="o" LATLONG="l" URL="u">
<HOST NAME="Web1" IP="10.0.0.1" TAGS="a,,b" REPORTED="995" TN="5" TMAX="20" DMAX="0" LOCATION="rack1" GMOND_STARTED="1">
<METRIC NAME="load_one" VAL="0.75" TYPE="float" UNITS=" " TN="5" TMAX="70" DMAX="0" SLOPE="both" SOURCE="gmond"/>
<METRIC NAME="cpu_num" VAL="4" TYPE="uint16" UNITS="CPUs" TN="5" TMAX="1200" DMAX="0" SLOPE="zero" SOURCE="gmond"/>
<METRIC NAME="os_name" VAL="Linux" TYPE="string" UNITS="" TN="5" TMAX="1200" DMAX="0" SLOPE="zero" SOURCE="gmond"/>
<METRIC NAME="gone" VAL="1" TYPE="int32" UNITS="" TN="50" TMAX="20" DMAX="10" SLOPE="both" SOURCE="gmond"/>
<METRIC NAME="odd" VAL="1" TYPE="bogus" UNITS="" TN="5" TMAX="20" DMAX="0" SLOPE="both" SOURCE="gmond"/>
</HOST>
<HOST NAME="dead" IP="10.0.0.2" TAGS="" REPORTED="100" TN="900" TMAX="20" DMAX="0" LOCATION="unspecified" GMOND_STARTED="1">
<METRIC NAME="load_one" VAL="0.1" TYPE="float" UNITS=" " TN="900" TMAX="70" DMAX="0" SLOPE="both" SOURCE="gmond"/>
</HOST>
</CLUSTER>
</GANGLIA_XML>
"#;

fn snapshot() -> Snapshot {
    let doc = read(XML.as_bytes(), &ReadLimits::default()).unwrap().doc;
    tree::ingest(doc, 1000, true, &SummaryRules::default())
}

/// (service, host, field → values) of one encoded event.
fn event(b: &[u8]) -> Vec<(u64, V)> {
    fields(b)
}

#[test]
fn udp_one_datagram_per_event_with_gmetads_fields() {
    let b = encode_snapshot(&snapshot(), "g", Some("env=test"), Transport::Udp);
    // Web1: heartbeat + 3 metrics (gone: TN > DMAX; odd: unknown type); dead: heartbeat only.
    assert_eq!(b.len(), 5);
    assert_eq!(b.events, vec![1; 5]);
    let evs: Vec<Vec<(u64, V)>> = b
        .frames()
        .map(|f| {
            let m = fields(f);
            assert_eq!(m.len(), 1);
            assert_eq!(m[0].0, 6);
            let V::Bytes(e) = &m[0].1 else { panic!() };
            event(e)
        })
        .collect();
    let get = |e: &Vec<(u64, V)>, f: u64| -> Vec<V> {
        e.iter()
            .filter(|(n, _)| *n == f)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let hb = &evs[0];
    assert_eq!(text(&get(hb, 3)[0]), "heartbeat");
    assert_eq!(text(&get(hb, 4)[0]), "Web1");
    assert_eq!(text(&get(hb, 5)[0]), "seconds");
    assert_eq!(get(hb, 13), vec![V::Int(995 * 2)]);
    assert_eq!(get(hb, 8), vec![V::F32(80f32.to_bits())]);
    assert!(get(hb, 1).is_empty(), "3.7.2 never packs time");
    let tags: Vec<String> = get(hb, 7).iter().map(text).collect();
    assert_eq!(tags, ["a", "b"]);
    let attrs: Vec<(String, String)> = get(hb, 9)
        .iter()
        .map(|a| {
            let V::Bytes(a) = a else { panic!() };
            let f = fields(a);
            (text(&f[0].1), text(&f[1].1))
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("grid", "g"),
        ("cluster", "lab"),
        ("ip", "10.0.0.1"),
        ("location", "rack1"),
        ("env", "test"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(attrs, want);
    let load = &evs[1];
    assert_eq!(text(&get(load, 3)[0]), "load_one");
    assert_eq!(get(load, 14), vec![V::F64(0.75f64.to_bits())]);
    assert_eq!(text(&get(load, 5)[0]), " ");
    assert_eq!(get(load, 8), vec![V::F32(70f32.to_bits())]);
    let cpu = &evs[2];
    assert_eq!(get(cpu, 13), vec![V::Int(8)]);
    let os = &evs[3];
    assert_eq!(text(&get(os, 2)[0]), "Linux");
    assert_eq!(text(&get(os, 5)[0]), "", "empty UNITS is still sent");
    assert!(get(os, 13).is_empty() && get(os, 14).is_empty());
    let dead = &evs[4];
    assert_eq!(text(&get(dead, 4)[0]), "dead");
    assert_eq!(text(&get(dead, 3)[0]), "heartbeat");
    assert!(get(dead, 7).is_empty());
}

#[test]
fn tcp_one_length_prefixed_msg_per_host() {
    let b = encode_snapshot(&snapshot(), "g", None, Transport::Tcp);
    assert_eq!(b.events, vec![4, 1]);
    for f in b.frames() {
        let n = u32::from_be_bytes(f[..4].try_into().unwrap()) as usize;
        assert_eq!(n, f.len() - 4);
    }
    let m = fields(&b.frames().next().unwrap()[4..]);
    assert_eq!(m.len(), 4);
    assert!(m.iter().all(|(n, _)| *n == 6));
}

async fn serve_replies(l: tokio::net::TcpListener, ok: bool, conns: Arc<Mutex<u32>>) {
    loop {
        let Ok((mut s, _)) = l.accept().await else {
            return;
        };
        *lock(&conns) += 1;
        tokio::spawn(async move {
            loop {
                let mut h = [0u8; 4];
                if s.read_exact(&mut h).await.is_err() {
                    return;
                }
                let mut b = vec![0u8; u32::from_be_bytes(h) as usize];
                if s.read_exact(&mut b).await.is_err() {
                    return;
                }
                let reply: &[u8] = if ok {
                    &[0, 0, 0, 2, 0x10, 1]
                } else {
                    &[0, 0, 0, 7, 0x10, 0, 0x1a, 3, b'f', b'u', b'l']
                };
                if s.write_all(reply).await.is_err() {
                    return;
                }
            }
        });
    }
}

async fn wait_stats(r: &Riemann, f: impl Fn(&RiemannStats) -> bool) -> RiemannStats {
    for _ in 0..200 {
        let s = r.stats();
        if f(&s) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("stats never matched: {:?}", r.stats());
}

#[tokio::test]
async fn tcp_reads_replies_over_one_connection() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let conns = Arc::new(Mutex::new(0));
    tokio::spawn(serve_replies(l, true, conns.clone()));
    let r = Riemann::spawn(addr, Transport::Tcp);
    for _ in 0..3 {
        r.send(encode_snapshot(&snapshot(), "g", None, Transport::Tcp));
    }
    let s = wait_stats(&r, |s| s.sent == 15).await;
    assert_eq!((s.connects, s.dropped, s.failures), (1, 0, 0));
    assert!(!s.breaker_open);
    assert_eq!(*lock(&conns), 1);
}

#[tokio::test]
async fn breaker_opens_after_more_than_five_failures() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let conns = Arc::new(Mutex::new(0));
    tokio::spawn(serve_replies(l, false, conns.clone()));
    let r = Riemann::spawn(addr, Transport::Tcp);
    for _ in 0..10 {
        r.send(encode_snapshot(&snapshot(), "g", None, Transport::Tcp));
    }
    let s = wait_stats(&r, |s| s.dropped == 50).await;
    assert!(s.breaker_open);
    assert_eq!(s.sent, 0);
    assert_eq!(
        s.failures, 6,
        "opened on the sixth failure, then nothing tried"
    );
    assert_eq!(
        *lock(&conns),
        1,
        "a reply that is not ok keeps the connection"
    );
}

#[tokio::test]
async fn unreachable_server_opens_the_breaker_at_once() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let r = Riemann::spawn(port, Transport::Tcp);
    r.send(encode_snapshot(&snapshot(), "g", None, Transport::Tcp));
    r.send(encode_snapshot(&snapshot(), "g", None, Transport::Tcp));
    let s = wait_stats(&r, |s| s.dropped == 10).await;
    assert!(s.breaker_open);
    assert_eq!((s.failures, s.connects), (1, 0));
}

#[tokio::test]
async fn udp_datagrams_arrive() {
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let r = Riemann::spawn(sock.local_addr().unwrap(), Transport::Udp);
    let b = encode_snapshot(&snapshot(), "g", None, Transport::Udp);
    let want: Vec<Vec<u8>> = b.frames().map(<[u8]>::to_vec).collect();
    r.send(b);
    for w in want {
        let mut buf = [0u8; 2048];
        let n = tokio::time::timeout(Duration::from_secs(5), sock.recv(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], &w[..]);
    }
    let s = wait_stats(&r, |s| s.sent == 5).await;
    assert_eq!(s.dropped, 0);
}

#[tokio::test]
async fn a_silent_server_costs_one_timeout_and_a_reconnect_per_poll() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s); // reads nothing, answers nothing
        }
    });
    let r = Riemann::spawn(addr, Transport::Tcp);
    let t0 = Instant::now();
    r.send(encode_snapshot(&snapshot(), "g", None, Transport::Tcp));
    r.send(encode_snapshot(&snapshot(), "g", None, Transport::Tcp));
    let s = wait_stats(&r, |s| s.dropped == 10).await;
    assert!(t0.elapsed() >= 2 * SOCKET_TIMEOUT);
    assert_eq!((s.failures, s.connects, s.sent), (2, 2, 0));
    assert!(!s.breaker_open, "two failures do not open the breaker");
}
