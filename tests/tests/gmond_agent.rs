//! The agent in-process on loopback: bad input, caps, ACLs, gzip, metadata requests, restarts
//! in unicast setups, embedding, slow readers.

use ganglia_proto::conf::gmond::{AccessRule, Acl, AclAction};
use ganglia_proto::xdr::{self, Message, Metadata, MetricId, WireValue};
use gmond::agent::Agent;
use gmond::config::{AgentConfig, TcpChannel};
use gmond::core::hosts::Limits;
use gmond::embed::registry::MetricSpec;
use gmond::net::udp::SendSpec;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;
use testkit::*;

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn aggregator(recv_port: u16, f: impl FnOnce(&mut AgentConfig)) -> Agent {
    let mut c = loopback_agent_config(recv_port);
    c.host_metrics = false;
    f(&mut c);
    Agent::builder(c).spawn().unwrap()
}

fn packet(host: &str, name: &str, spoof: bool, value: Option<f32>) -> Vec<u8> {
    let mut out = Vec::new();
    let id = MetricId { host, name, spoof };
    match value {
        None => xdr::encode(
            &Message::Metadata {
                id,
                meta: Metadata {
                    metric_type: "float",
                    name,
                    units: "%",
                    slope: 3,
                    tmax: 60,
                    dmax: 0,
                    extra: vec![("GROUP", "test")],
                },
            },
            &mut out,
        ),
        Some(v) => xdr::encode(
            &Message::Value {
                id,
                fmt: "%.1f",
                value: WireValue::Float(v),
            },
            &mut out,
        ),
    }
    out
}

fn sender() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").unwrap()
}

fn xml_of(a: &Agent) -> ganglia_proto::xml::Document {
    parse(&fetch(a.xml_addrs()[0]).unwrap())
}

#[test]
fn malformed_datagrams_are_counted_and_lose_nothing() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let a = aggregator(0, |_| {});
    let to = a.udp_addrs()[0];
    let s = sender();
    s.send_to(&packet("h", "good", false, None), to).unwrap();
    s.send_to(&packet("h", "good", false, Some(1.5)), to)
        .unwrap();
    let mut truncated = packet("h", "x", false, None);
    truncated.truncate(10);
    let bad: Vec<Vec<u8>> = vec![
        truncated,
        vec![0, 0, 0, 0x7f],                         // unknown id
        vec![0, 0, 0, 0x85, 0xff, 0xff, 0xff, 0xff], // hostile length
        vec![
            0, 0, 0, 0x88, 0, 0, 0, 1, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ], // invalid UTF-8
        packet("nocolon", "y", true, Some(1.0)),     // bad spoof string
        packet("h", &"n".repeat(300), false, Some(1.0)), // oversized name
    ];
    for b in &bad {
        s.send_to(b, to).unwrap();
    }
    let st = wait_for(Duration::from_secs(5), || {
        let st = a.stats();
        (st.packets_received >= 8).then_some(st)
    })
    .unwrap();
    assert_eq!(
        (
            st.malformed_truncated,
            st.malformed_unknown_id,
            st.malformed_string_too_long,
            st.malformed_invalid_utf8
        ),
        (1, 1, 1, 1)
    );
    assert_eq!((st.dropped_bad_spoof, st.dropped_bad_name), (1, 1));
    let d = xml_of(&a);
    let m = &d.clusters[0].hosts[0].metrics;
    assert_eq!(
        (m.len(), m[0].name.as_str(), m[0].val.as_str()),
        (1, "good", "1.5")
    );
    rt.block_on(a.shutdown());
}

#[test]
fn a_spoof_flood_stays_under_the_host_cap_and_xml_stays_well_formed() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let a = aggregator(0, |c| {
        c.limits = Limits {
            max_hosts: 100,
            ..Limits::default()
        }
    });
    let to = a.udp_addrs()[0];
    let s = sender();
    for i in 0..1000u32 {
        // Hostile names too: XML specials and control characters.
        let spoof = format!(
            "10.{}.{}.{}:h<&\"'\x01{i}",
            i >> 16,
            (i >> 8) & 255,
            i & 255
        );
        s.send_to(&packet(&spoof, "m<&>", true, None), to).unwrap();
        s.send_to(&packet(&spoof, "m<&>", true, Some(i as f32)), to)
            .unwrap();
        if i % 100 == 99 {
            std::thread::sleep(Duration::from_millis(20)); // stay within the socket buffer
        }
    }
    let st = wait_for(Duration::from_secs(5), || {
        let st = a.stats();
        (st.packets_received >= 2000).then_some(st)
    })
    .expect("all datagrams arrive on loopback");
    assert_eq!(a.counts().0, 100);
    assert_eq!(st.dropped_host_cap, 1800);
    let d = xml_of(&a);
    assert_eq!(d.clusters[0].hosts.len(), 100);
    assert!(
        d.clusters[0]
            .hosts
            .iter()
            .all(|h| h.name.starts_with("h<&\"'?") && h.metrics[0].name == "m<&>")
    );
    rt.block_on(a.shutdown());
}

#[test]
fn acls_refuse_before_a_byte_is_written_and_gzip_output_works() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let deny_lo = Acl {
        default: AclAction::Allow,
        access: vec![AccessRule::new(LO, 32, AclAction::Deny)],
    };
    let a = aggregator(0, |c| {
        c.tcp.push(TcpChannel {
            addr: SocketAddr::new(LO, 0),
            timeout: None,
            gzip: false,
            acl: Some(deny_lo.clone()),
        });
        c.tcp.push(TcpChannel {
            addr: SocketAddr::new(LO, 0),
            timeout: None,
            gzip: true,
            acl: None,
        });
        c.recv[0].acl = Some(deny_lo.clone());
    });
    assert_eq!(
        fetch(a.xml_addrs()[1]).unwrap(),
        Vec::<u8>::new(),
        "refused: closed without a byte"
    );
    let gz = fetch(a.xml_addrs()[2]).unwrap();
    assert_eq!(&gz[..2], &[0x1f, 0x8b]);
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut plain)
        .unwrap();
    assert!(parse(&plain).clusters.len() == 1);
    sender()
        .send_to(&packet("h", "m", false, None), a.udp_addrs()[0])
        .unwrap();
    let st = wait_for(Duration::from_secs(5), || {
        Some(a.stats()).filter(|s| s.dropped_acl == 1)
    })
    .expect("UDP ACL");
    assert_eq!((st.xml_refused, a.counts().0), (1, 0));
    rt.block_on(a.shutdown());
}

#[test]
fn metadata_requests_are_answered_and_sent() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    // A raw socket plays the aggregator: it receives the agent's packets and sends requests.
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut c = AgentConfig::ephemeral();
    c.recv[0].spec.port = 0;
    c.send = vec![SendSpec {
        dest: peer.local_addr().unwrap(),
        ttl: 1,
        mcast_if: None,
        bind: None,
    }];
    c.host_metrics = false;
    let a = Agent::builder(c).spawn().unwrap();
    let g = a
        .registry()
        .gauge(MetricSpec::new("app_sessions").group("app").every(1, 3600))
        .unwrap();
    g.set(4.0);
    let mut seen = Vec::new();
    let mut buf = [0u8; 1500];
    let mut recv_ids = |seen: &mut Vec<u32>, until: Duration| {
        let end = std::time::Instant::now() + until;
        while std::time::Instant::now() < end {
            if let Ok(n) = peer.recv(&mut buf) {
                seen.push(xdr::decode(&buf[..n]).unwrap().message_id());
            }
        }
    };
    recv_ids(&mut seen, Duration::from_secs(3));
    assert_eq!(
        seen.iter().filter(|&&i| i == 128).count(),
        1,
        "metadata once at start: {seen:?}"
    );
    // Ask for it again.
    let mut req = Vec::new();
    xdr::encode(
        &Message::MetadataRequest {
            id: MetricId {
                host: "agg",
                name: "app_sessions",
                spoof: false,
            },
        },
        &mut req,
    );
    peer.send_to(&req, a.udp_addrs()[0]).unwrap();
    seen.clear();
    recv_ids(&mut seen, Duration::from_secs(3));
    assert!(
        seen.contains(&128),
        "metadata re-sent after a request: {seen:?}"
    );
    // A value without metadata makes the agent send a request (136) on its send channels.
    peer.send_to(
        &packet("other", "unknown_metric", false, Some(1.0)),
        a.udp_addrs()[0],
    )
    .unwrap();
    seen.clear();
    recv_ids(&mut seen, Duration::from_secs(2));
    assert!(seen.contains(&136), "{seen:?}");
    rt.block_on(a.shutdown());
}

#[test]
fn a_restarted_unicast_aggregator_sees_every_metric_within_one_metadata_interval() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let port = free_udp_port();
    let agg = aggregator(port, |_| {});
    let mut c = AgentConfig::ephemeral();
    c.deaf = true;
    c.send = vec![SendSpec {
        dest: SocketAddr::new(LO, port),
        ttl: 1,
        mcast_if: None,
        bind: None,
    }];
    c.send_metadata_interval = 3;
    let node = Agent::builder(c).spawn().unwrap();
    let all = |a: &Agent| {
        let d = xml_of(a);
        d.clusters[0].hosts.first().map_or(0, |h| h.metrics.len())
    };
    wait_for(Duration::from_secs(10), || (all(&agg) >= 35).then_some(()))
        .expect("first aggregator");
    rt.block_on(agg.shutdown());
    // The default groups send most metrics every 90-3600 s; metadata must not wait for that.
    let agg2 = aggregator(port, |_| {});
    let n = wait_for(Duration::from_secs(8), || {
        Some(all(&agg2)).filter(|n| *n >= 35)
    });
    assert_eq!(
        n,
        Some(35),
        "restarted aggregator shows {} metrics",
        all(&agg2)
    );
    rt.block_on(node.shutdown());
    rt.block_on(agg2.shutdown());
}

#[test]
fn embedded_relay_metrics_appear_with_their_group_and_a_slow_reader_blocks_nothing() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let port = free_udp_port();
    let mut c = AgentConfig::ephemeral();
    c.recv[0].spec.port = port;
    c.send = vec![SendSpec {
        dest: SocketAddr::new(LO, port),
        ttl: 1,
        mcast_if: None,
        bind: None,
    }];
    c.host_metrics = false;
    let a = Agent::builder(c).spawn().unwrap();
    let mut gauges = Vec::new();
    for s in gmond::embed::relay::relay_specs() {
        gauges.push(
            a.registry()
                .gauge(s.every(1, 5).value_threshold(0.5))
                .unwrap(),
        );
    }
    gauges[0].set(3.0);
    // A client that connects and never reads.
    let idle = std::net::TcpStream::connect(a.xml_addrs()[0]).unwrap();
    let rooms = wait_for(Duration::from_secs(5), || {
        let d = xml_of(&a);
        d.clusters[0]
            .hosts
            .first()?
            .metrics
            .iter()
            .find(|m| m.name == "relay_rooms" && m.val == "3")
            .cloned()
    })
    .expect("relay_rooms = 3 in XML (a change beyond value_threshold is sent at once)");
    assert_eq!(
        (
            rooms.val.as_str(),
            rooms.metric_type.as_str(),
            rooms.extra("GROUP")
        ),
        ("3", "uint32", Some("relay"))
    );
    drop(idle);
    rt.block_on(a.shutdown());
}
