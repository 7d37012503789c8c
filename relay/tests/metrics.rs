//! The relay's host metrics travel through its embedded agent to a gmond-rs aggregator (group
//! "relay" under the relay host), then through gmetad-rs into RRD files read back with rrdtool.

mod common;

use common::*;
use gmond::agent::Agent;
use gmond::config::AgentConfig;
use relay::core::Limits;
use relay::server::embedded_agent_config;
use std::process::Command;
use std::time::{Duration, Instant};
use testkit::{loopback_agent_config, send_to_loopback, wait_for};

fn relay_metric(doc: &ganglia_proto::xml::Document, name: &str) -> Option<(String, String, f64)> {
    doc.clusters.iter().flat_map(|c| &c.hosts).find_map(|h| {
        let m = h.metrics.iter().find(|m| m.name == name)?;
        Some((
            h.name.to_string(),
            m.extra("GROUP").unwrap_or_default().to_owned(),
            m.val.parse().ok()?,
        ))
    })
}

#[test]
fn relay_metrics_reach_the_aggregator_and_gmetad_rrds() {
    testkit::require("/usr/bin/rrdtool", "rrdtool");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let mut ac = loopback_agent_config(0);
    ac.host_metrics = false;
    let agg = Agent::builder(ac).spawn().unwrap();
    let agg_port = agg.udp_addrs()[0].port();
    let mut cfg = config(Limits::default());
    let mut emb = embedded_agent_config(AgentConfig::ephemeral());
    emb.send = vec![send_to_loopback(agg_port, None)];
    cfg.agent = Some(emb);
    cfg.metric_every = (1, 4);
    cfg.stats_interval = Duration::from_millis(500);
    let relay = Relay::start(cfg);
    let mut c = relay.control();
    let (s1, s2) = (media_socket(), media_socket());
    let j = c
        .join(
            "m",
            &token("m"),
            1,
            "audio",
            Some(s1.local_addr().unwrap()),
            None,
        )
        .unwrap();
    c.join(
        "m",
        &token("m"),
        2,
        "audio",
        Some(s2.local_addr().unwrap()),
        None,
    )
    .unwrap();
    // 50 packets/s for up to 20 s (stops as soon as the metrics are seen).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut seq = 0u16;
            while !stop.load(std::sync::atomic::Ordering::Relaxed)
                && start.elapsed() < Duration::from_secs(40)
            {
                s1.send_to(&rtp(1, seq, 172), j.media).unwrap();
                seq = seq.wrapping_add(1);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let xml = agg.xml_addrs()[0];
    let doc = || testkit::fetch(xml).map(|b| testkit::parse(&b));
    let (host, group, v) = wait_for(Duration::from_secs(20), || {
        let d = doc()?;
        relay_metric(&d, "relay_rx_pkts").filter(|(_, _, v)| *v > 10.0)
    })
    .expect("relay_rx_pkts > 10/s at the aggregator");
    assert_eq!(group, "relay");
    assert!(v < 200.0, "about 50 packets/s, got {v}");
    let d = doc().unwrap();
    let get = |n: &str| relay_metric(&d, n).unwrap_or_else(|| panic!("{n} at the aggregator"));
    assert_eq!(get("relay_participants").2, 2.0);
    assert_eq!(get("relay_rooms").2, 1.0);
    assert_eq!(get("relay_participants").0, host, "all under one host");
    for n in [
        "relay_tx_pkts",
        "relay_rx_bits",
        "relay_loss_pct",
        "relay_jitter_ms",
        "relay_fwd_latency_us",
        "relay_udp_drops",
        "relay_drops",
    ] {
        get(n);
    }
    // Refused joins, kept up until the rate shows.
    let auth = wait_for(Duration::from_secs(15), || {
        for _ in 0..5 {
            assert!(c.join("m", "forged.token", 3, "audio", None, None).is_err());
        }
        let d = doc()?;
        relay_metric(&d, "relay_auth_failures").filter(|m| m.2 > 0.0)
    });
    assert!(
        auth.is_some(),
        "the refused join shows as an auth failure rate"
    );

    // On through gmetad-rs into RRDs.
    let dir = tempfile::tempdir().unwrap();
    let mut g = gmetad::config::Config::builtin();
    g.sources = vec![gmetad::config::Source {
        name: "relays".into(),
        step: 1,
        addrs: vec![xml],
    }];
    g.xml_addr = "127.0.0.1:0".parse().unwrap();
    g.interactive_addr = "127.0.0.1:0".parse().unwrap();
    g.rrd_rootdir = dir.path().to_path_buf();
    g.rras = vec!["RRA:AVERAGE:0.5:1:120".into()];
    let gm = gmetad::daemon::Gmetad::start(g).unwrap();
    let cluster = &d.clusters[0].name;
    let rrd = dir
        .path()
        .join(cluster)
        .join(&host)
        .join("relay_rx_pkts.rrd");
    let last = wait_for(Duration::from_secs(30), || {
        let out = Command::new("/usr/bin/rrdtool")
            .arg("lastupdate")
            .arg(&rrd)
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let v: f64 = text
            .lines()
            .last()?
            .split_once(':')?
            .1
            .trim()
            .parse()
            .ok()?;
        (v > 10.0).then_some(v)
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    sender.join().unwrap();
    assert!(
        last.is_some(),
        "rrdtool lastupdate of {} shows the packet rate",
        rrd.display()
    );
    rt.block_on(gm.shutdown());
    drop(relay);
    rt.block_on(agg.shutdown());
}
