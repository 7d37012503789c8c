//! `gmetric-rs`: drop-in replacement for Ganglia 3.7's gmetric (same flags, same validation and
//! messages). Send channels come from gmond.conf, like gmetric.

use clap::Parser;
use gmond::config::AgentConfig;
use gmond::gmetric::{self, GmetricArgs};
use gmond::net::udp;
use std::path::Path;

const DEFAULT_CONF: &str = "/etc/ganglia/gmond.conf";

/// The Ganglia Metric Client (gmetric-rs) announces a metric on the list of defined send
/// channels defined in a configuration file
#[derive(Parser, Debug)]
#[command(name = "gmetric-rs", version = concat!(env!("CARGO_PKG_VERSION"), " (gmetric 3.7.2 compatible)"))]
struct Args {
    /// The configuration file to use for finding send channels
    #[arg(short = 'c', long = "conf")]
    conf: Option<String>,
    /// Name of the metric
    #[arg(short = 'n', long = "name")]
    name: Option<String>,
    /// Value of the metric
    #[arg(short = 'v', long = "value", allow_hyphen_values = true)]
    value: Option<String>,
    /// Either string|int8|uint8|int16|uint16|int32|uint32|float|double
    #[arg(short = 't', long = "type")]
    metric_type: Option<String>,
    /// Unit of measure for the value e.g. Kilobytes, Celcius
    #[arg(short = 'u', long = "units", default_value = "")]
    units: String,
    /// Either zero|positive|negative|both|derivative
    #[arg(short = 's', long = "slope", default_value = "both")]
    slope: String,
    /// The maximum time in seconds between gmetric calls
    #[arg(short = 'x', long = "tmax", default_value_t = 60)]
    tmax: u32,
    /// The lifetime in seconds of this metric
    #[arg(short = 'd', long = "dmax", default_value_t = 0)]
    dmax: u32,
    /// Group(s) of the metric (comma-separated)
    #[arg(short = 'g', long = "group")]
    group: Option<String>,
    /// Cluster of the metric
    #[arg(short = 'C', long = "cluster")]
    cluster: Option<String>,
    /// Description of the metric
    #[arg(short = 'D', long = "desc")]
    desc: Option<String>,
    /// Title of the metric
    #[arg(short = 'T', long = "title")]
    title: Option<String>,
    /// IP address and name of host/device (colon separated) we are spoofing
    #[arg(short = 'S', long = "spoof")]
    spoof: Option<String>,
    /// spoof a heartbeat message (use with spoof option)
    #[arg(short = 'H', long = "heartbeat")]
    heartbeat: bool,
}

fn fail(msg: &str) -> ! {
    eprintln!("{msg}");
    std::process::exit(1)
}

fn main() {
    let a = Args::parse();
    let cfg = match (&a.conf, Path::new(DEFAULT_CONF).exists()) {
        (Some(p), _) => load(p),
        (None, true) => load(DEFAULT_CONF),
        (None, false) => AgentConfig::standalone(),
    };
    let override_spoof = cfg
        .override_hostname
        .as_ref()
        .map(|h| format!("{}:{h}", cfg.override_ip.as_deref().unwrap_or(h)));
    let args = GmetricArgs {
        name: a.name,
        value: a.value,
        metric_type: a.metric_type,
        units: a.units,
        slope: a.slope,
        tmax: a.tmax,
        dmax: a.dmax,
        group: a.group,
        cluster: a.cluster,
        desc: a.desc,
        title: a.title,
        spoof: a.spoof,
        heartbeat: a.heartbeat,
    };
    let packets = match gmetric::build(&args, &cfg.hostname, override_spoof.as_deref()) {
        Ok(p) => p,
        Err(e) => fail(&e.to_string()),
    };
    let mut failed = 0;
    for spec in &cfg.send {
        let ok = udp::open_send(spec).and_then(|s| {
            for p in &packets {
                s.send(p)?;
            }
            Ok(())
        });
        if ok.is_err() {
            failed += 1;
        }
    }
    if failed > 0 {
        fail(&format!(
            "There was an error sending to {failed} of the send channels."
        ));
    }
}

fn load(path: &str) -> AgentConfig {
    let parsed = ganglia_proto::conf::gmond::parse_gmond_file(path)
        .unwrap_or_else(|e| fail(&format!("gmetric-rs: {e}")));
    AgentConfig::from_gmond_conf(&parsed)
        .unwrap_or_else(|e| fail(&format!("gmetric-rs: {path}: {e}")))
}
