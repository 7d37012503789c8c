//! Embedding the agent in an application: report application metrics as Ganglia metrics.
//!
//! Starts an agent that sends to 127.0.0.1:8649 (a gmond or gmond-rs there shows the metrics
//! under this host), registers the relay metric family, updates two gauges and a counter for a
//! few seconds, and stops. Run: `cargo run -p ganglia-examples --example embed_agent`.

use gmond::agent::Agent;
use gmond::config::AgentConfig;
use gmond::embed::registry::MetricSpec;
use gmond::embed::relay::relay_specs;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut cfg = AgentConfig::standalone();
    cfg.recv.clear(); // an embedded agent only sends
    cfg.tcp.clear();
    cfg.deaf = true;
    let agent = Agent::builder(cfg).host_metrics(false).spawn()?;
    let mut gauges = Vec::new();
    for spec in relay_specs() {
        gauges.push((
            spec.def.name.clone(),
            agent.registry().gauge(spec.every(5, 20))?,
        ));
    }
    let rooms = &gauges
        .iter()
        .find(|(n, _)| n == "relay_rooms")
        .expect("in the family")
        .1;
    let packets = agent.registry().counter(
        MetricSpec::new("app_packets")
            .group("app")
            .units("packets/sec")
            .every(5, 20),
    )?;
    for i in 0..10 {
        rooms.set(f64::from(i % 4));
        packets.add(1000);
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    println!("sent: {:?}", agent.stats());
    agent.shutdown().await;
    Ok(())
}
