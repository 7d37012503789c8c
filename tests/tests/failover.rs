//! gmetad-rs polling two gmond-rs aggregators of one cluster (unicast, both fed by every node):
//! when the polled one dies, the next poll fails over and the data keeps flowing.

use gmetad::config::{Config, Source};
use gmetad::daemon::Gmetad;
use std::time::Duration;
use testkit::*;

#[test]
fn failover_to_the_second_aggregator_within_one_poll() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let (pa, pb) = (free_udp_port(), free_udp_port());
    let mk = |port: u16| {
        let mut c = loopback_agent_config(port);
        c.cluster.name = "ha".into();
        c.host_metrics = false;
        gmond::agent::Agent::builder(c).spawn().unwrap()
    };
    let (a, b) = (mk(pa), mk(pb));
    // One node sending its metrics to both aggregators.
    let mut n = loopback_agent_config(0);
    n.deaf = true;
    n.send = vec![send_to_loopback(pa, None), send_to_loopback(pb, None)];
    for g in &mut n.groups {
        g.collect_every = 1;
        g.time_threshold = 2;
    }
    let node = gmond::agent::Agent::builder(n).spawn().unwrap();

    let mut cfg = Config::builtin();
    cfg.sources = vec![Source {
        name: "ha".into(),
        step: 1,
        addrs: vec![a.xml_addrs()[0], b.xml_addrs()[0]],
    }];
    cfg.xml_addr = "127.0.0.1:0".parse().unwrap();
    cfg.interactive_addr = "127.0.0.1:0".parse().unwrap();
    cfg.write_rrds = false;
    let g = Gmetad::start(cfg).unwrap();
    let metrics = || -> Option<usize> {
        Some(
            parse(&fetch(g.xml_addr)?)
                .grids
                .first()?
                .clusters
                .first()?
                .hosts
                .first()?
                .metrics
                .len(),
        )
    };
    wait_for(Duration::from_secs(15), || metrics().filter(|n| *n >= 30))
        .expect("data through the first aggregator");
    let ok_before = g.counters().polls_ok.num;
    rt.block_on(a.shutdown()); // the polled aggregator dies
    // Within a couple of steps the polls succeed again through the second address.
    let after = wait_for(Duration::from_secs(5), || {
        let c = g.counters();
        (c.polls_ok.num >= ok_before + 2).then_some(c)
    })
    .expect("polls keep succeeding");
    assert!(
        after.polls_failed.num <= 1,
        "at most the poll that found the first address dead: {after:?}"
    );
    assert!(metrics().unwrap_or(0) >= 30);
    rt.block_on(g.shutdown());
    rt.block_on(node.shutdown());
    rt.block_on(b.shutdown());
}
