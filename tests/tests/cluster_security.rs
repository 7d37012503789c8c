//! An untrusted peer on the cluster's own network (another namespace, 10.213.0.66) gets
//! nothing from 8649 (tcp_accept_channel ACL by ip/mask), 8651 or 8652 (trusted_hosts by
//! CIDR), while the trusted client (10.213.0.3, inside both) gets full answers.
//! Relay forged-media tests live with the relay (see RELIABILITY.md).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use testkit::cluster::{Cluster, Spec, json_num};
use testkit::netns::in_ns;

const T: Duration = Duration::from_secs(40);

/// Everything a peer in `ns` reads from `addr` after sending `query` (connection refusals and
/// resets read as zero bytes).
fn read_all(ns: &str, addr: SocketAddr, query: Option<&str>) -> Vec<u8> {
    in_ns(ns, || {
        let mut v = Vec::new();
        let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(3)) else {
            return v;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        if let Some(q) = query {
            let _ = s.write_all(q.as_bytes());
        }
        let mut b = [0u8; 4096];
        while let Ok(n) = s.read(&mut b) {
            if n == 0 {
                break;
            }
            v.extend_from_slice(&b[..n]);
        }
        v
    })
}

#[test]
fn an_untrusted_peer_gets_nothing_from_8649_8651_8652() {
    let mut spec = Spec::new("sec");
    // gmetad-rs (.2) and the client (.3): 10.213.0.0/30 as gmond's ip/mask ACL.
    spec.tcp_acl = Some(
        "acl {\n default = \"deny\"\n access { ip = 10.213.0.0  mask = 30  action = \"allow\" }\n}"
            .into(),
    );
    spec.gmetad_extra = "trusted_hosts 10.213.0.0/30\n".into();
    let mut c = Cluster::new(spec);
    c.wait_converged(T);
    c.start_gmetad();
    c.wait_gmetad_complete(T);
    let evil = c.net.add("evil", 66);

    let mut targets: Vec<(String, SocketAddr, Option<&str>)> = (0..c.spec.hosts)
        .map(|i| (format!("gmond {i}:8649"), c.gmond_addr(i), None))
        .collect();
    targets.push(("gmetad 8651".into(), c.gmetad_addr(8651), None));
    for q in [
        "/\n",
        "/status\n",
        "/?filter=summary\n",
        "GET /status HTTP/1.0\r\n\r\n",
    ] {
        targets.push((format!("gmetad 8652 {q:?}"), c.gmetad_addr(8652), Some(q)));
    }
    for (what, addr, q) in &targets {
        // Control: the trusted client gets a real answer on the same network.
        let good = read_all(&c.client.ns, *addr, *q);
        assert!(
            good.len() > 100,
            "{what}: trusted client got {} bytes",
            good.len()
        );
        let bad = read_all(&evil.ns, *addr, *q);
        assert!(
            bad.is_empty(),
            "{what}: untrusted 10.213.0.66 got {} bytes: {:?}",
            bad.len(),
            String::from_utf8_lossy(&bad[..bad.len().min(200)])
        );
    }
    let s = c.status().unwrap();
    let refused = json_num(&s, &["refused"]).unwrap();
    assert!(refused >= 5, "gmetad-rs counts refused peers: {s}");
}
