//! IPv4 and IPv6 multicast channels, exercised only inside an empty network namespace this test
//! creates (`unshare -n`), on its own loopback interface. Nothing reaches the machine's network.

use gmond::agent::Agent;
use gmond::config::{AgentConfig, RecvChannel, TcpChannel};
use gmond::net::udp::{RecvSpec, SendSpec};
use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::Duration;
use testkit::*;

const INNER: &str = "GMOND_RS_MULTICAST_INNER";

/// Run `test` again inside a fresh network namespace.
fn run_in_netns(test: &str) {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .args(["-n", "--"])
        .arg(exe)
        .args([
            "--exact",
            test,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(INNER, "1")
        .output()
        .expect("unshare is available (util-linux) and we are root");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("1 passed"),
        "inner test failed:\n{text}"
    );
}

fn setup_loopback_multicast() {
    assert_eq!(
        std::env::var(INNER).as_deref(),
        Ok("1"),
        "only inside the namespace"
    );
    for args in [
        &["link", "set", "lo", "up"][..],
        &["link", "set", "lo", "multicast", "on"],
        &["route", "add", "224.0.0.0/4", "dev", "lo"],
        // Linux loopback does not carry IPv6 multicast: a veth pair inside this namespace does.
        &[
            "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
        ],
        &["link", "set", "veth0", "up"],
        &["link", "set", "veth1", "up"],
        &["-6", "addr", "add", "fd00::1/64", "dev", "veth0", "nodad"],
        &["-6", "addr", "add", "fd00::2/64", "dev", "veth1", "nodad"],
    ] {
        let st = Command::new("ip").args(args).status().unwrap();
        assert!(st.success(), "ip {args:?}");
    }
}

fn mcast_agent(group: IpAddr, port: u16, any: IpAddr, cluster: &str) -> Agent {
    let iface = if group.is_ipv4() { "lo" } else { "veth0" };
    let mut c = AgentConfig::ephemeral();
    c.cluster.name = cluster.into();
    c.recv = vec![RecvChannel {
        spec: RecvSpec {
            bind: any,
            port,
            mcast_join: Some(group),
            mcast_if: Some(iface.into()),
            buffer: 0,
        },
        acl: None,
        retry_bind: false,
    }];
    let lo: IpAddr = if group.is_ipv4() {
        "127.0.0.1".parse().unwrap()
    } else {
        "::1".parse().unwrap()
    };
    c.tcp = vec![TcpChannel {
        addr: SocketAddr::new(lo, 0),
        timeout: None,
        gzip: false,
        acl: None,
    }];
    c.send = vec![SendSpec {
        dest: SocketAddr::new(group, port),
        ttl: 1,
        mcast_if: Some(iface.into()),
        bind: None,
    }];
    c.host_metrics = true;
    for g in &mut c.groups {
        g.collect_every = 1;
        g.time_threshold = 3;
    }
    Agent::builder(c).spawn().unwrap()
}

fn both_agents_see_each_other(group: &str, any: &str) {
    setup_loopback_multicast();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let (group, any): (IpAddr, IpAddr) = (group.parse().unwrap(), any.parse().unwrap());
    let port = free_udp_port();
    let a = mcast_agent(group, port, any, "mc");
    let b = mcast_agent(group, port, any, "mc");
    for agent in [&a, &b] {
        let n = wait_for(Duration::from_secs(10), || {
            let d = parse(&fetch(agent.xml_addrs()[0])?);
            let n = d.clusters[0].hosts.first()?.metrics.len();
            (n >= 35).then_some(n)
        });
        assert_eq!(n, Some(35), "metrics over multicast {group}");
    }
    // Both agents heard both senders (same host: same source address in this namespace).
    assert!(a.stats().packets_received > 0 && b.stats().packets_received > 0);
    rt.block_on(a.shutdown());
    rt.block_on(b.shutdown());
}

#[test]
fn ipv4_multicast_239_2_11_71_in_a_private_namespace() {
    run_in_netns("inner_ipv4");
}

#[test]
fn ipv6_multicast_in_a_private_namespace() {
    run_in_netns("inner_ipv6");
}

#[test]
#[ignore = "runs only inside the namespace created by the test above"]
fn inner_ipv4() {
    both_agents_see_each_other("239.2.11.71", "0.0.0.0");
}

#[test]
#[ignore = "runs only inside the namespace created by the test above"]
fn inner_ipv6() {
    both_agents_see_each_other("ff15::8649", "::");
}
