//! What the views need from a gmetad document: host liveness, numeric metrics, groups, relay
//! hosts. Pure functions over `ganglia_proto::xml` values.

use ganglia_proto::xml::{Cluster, Host, Metric};
use std::collections::BTreeMap;

/// Whether a host is down: TN > 4 × TMAX (ganglia-web's rule); with TMAX 0, REPORTED more than
/// 240 s before the cluster's LOCALTIME.
pub fn host_down(cluster: &Cluster, h: &Host) -> bool {
    if h.tmax != 0 {
        h.tn > 4 * h.tmax
    } else {
        cluster.localtime.abs_diff(h.reported) >= 240
    }
}

/// Whether a metric is numeric (graphable): every TYPE but string and timestamp.
pub fn is_numeric(m: &Metric) -> bool {
    !matches!(m.metric_type.as_str(), "string" | "timestamp" | "")
}

/// A metric's numeric value, if any.
pub fn value_f64(m: &Metric) -> Option<f64> {
    m.val.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A host's metric by name.
pub fn metric<'a>(h: &'a Host, name: &str) -> Option<&'a Metric> {
    h.metrics.iter().find(|m| m.name == name)
}

/// A host's numeric metric value by name.
pub fn value(h: &Host, name: &str) -> Option<f64> {
    metric(h, name).and_then(value_f64)
}

/// load_one per CPU, the figure host tiles are coloured by (None when unknown).
pub fn load_per_cpu(h: &Host) -> Option<f64> {
    let load = value(h, "load_one")?;
    let cpus = value(h, "cpu_num").filter(|c| *c > 0.0).unwrap_or(1.0);
    Some(load / cpus)
}

/// The colour class (0 idle … 4 overloaded) of a load per CPU; "down" hosts get their own.
pub fn load_class(per_cpu: Option<f64>) -> &'static str {
    match per_cpu {
        None => "load-unknown",
        Some(l) if l < 0.25 => "load-0",
        Some(l) if l < 0.5 => "load-1",
        Some(l) if l < 0.75 => "load-2",
        Some(l) if l < 1.0 => "load-3",
        Some(_) => "load-4",
    }
}

/// A metric's display title: its TITLE extra element, else its name.
pub fn title(m: &Metric) -> &str {
    m.extra("TITLE")
        .filter(|t| !t.is_empty())
        .unwrap_or(&m.name)
}

/// A metric's group (GROUP extra element; "no_group" like ganglia-web when absent).
pub fn group(m: &Metric) -> &str {
    m.extra("GROUP")
        .filter(|t| !t.is_empty())
        .unwrap_or("no_group")
}

/// Metrics grouped by GROUP, groups and metrics sorted by name.
pub fn grouped(h: &Host) -> BTreeMap<&str, Vec<&Metric>> {
    let mut out: BTreeMap<&str, Vec<&Metric>> = BTreeMap::new();
    for m in &h.metrics {
        out.entry(group(m)).or_default().push(m);
    }
    for v in out.values_mut() {
        v.sort_by(|a, b| a.name.cmp(&b.name));
    }
    out
}

/// Whether a metric belongs to the relay family (group "relay", or a `relay_` name).
pub fn is_relay_metric(m: &Metric) -> bool {
    m.extra("GROUP") == Some("relay") || m.name.starts_with("relay_")
}

/// The relay metrics graphed on the relay view, in display order, when the host has them.
pub const RELAY_GRAPHS: &[&str] = &[
    "relay_rx_bits",
    "relay_tx_bits",
    "relay_rx_pkts",
    "relay_tx_pkts",
    "relay_loss_pct",
    "relay_jitter_ms",
    "relay_streams",
    "relay_participants",
];

/// Hosts sort orders on the cluster view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    /// By name, ascending.
    Name,
    /// By load per CPU, highest first.
    Load,
    /// Down hosts first, then by name.
    Down,
}

impl SortBy {
    /// From the `sort` query parameter (unknown: by name).
    pub fn parse(s: Option<&str>) -> SortBy {
        match s {
            Some("load") => SortBy::Load,
            Some("down") => SortBy::Down,
            _ => SortBy::Name,
        }
    }

    /// The query parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            SortBy::Name => "name",
            SortBy::Load => "load",
            SortBy::Down => "down",
        }
    }
}

/// A cluster's hosts in the requested order.
pub fn sorted_hosts(c: &Cluster, by: SortBy) -> Vec<&Host> {
    let mut v: Vec<&Host> = c.hosts.iter().collect();
    match by {
        SortBy::Name => v.sort_by(|a, b| a.name.cmp(&b.name)),
        SortBy::Load => v.sort_by(|a, b| {
            let (x, y) = (load_per_cpu(a), load_per_cpu(b));
            y.partial_cmp(&x)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a.name.cmp(&b.name))
        }),
        SortBy::Down => v.sort_by(|a, b| {
            host_down(c, b)
                .cmp(&host_down(c, a))
                .then_with(|| a.name.cmp(&b.name))
        }),
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, tn: u64, load: &str) -> Host {
        Host {
            name: name.into(),
            tn,
            tmax: 20,
            metrics: vec![Metric {
                name: "load_one".into(),
                val: load.into(),
                metric_type: "float".into(),
                ..Metric::default()
            }],
            ..Host::default()
        }
    }

    #[test]
    fn down_means_tn_over_four_tmax() {
        let c = Cluster::default();
        assert!(!host_down(&c, &host("a", 80, "1")));
        assert!(host_down(&c, &host("a", 81, "1")));
    }

    #[test]
    fn sorting_and_load_classes() {
        let c = Cluster {
            hosts: vec![host("b", 0, "0.1"), host("a", 500, "x"), host("c", 0, "3")],
            ..Cluster::default()
        };
        let names = |v: Vec<&Host>| {
            v.iter()
                .map(|h| h.name.clone())
                .collect::<Vec<_>>()
                .join("")
        };
        assert_eq!(names(sorted_hosts(&c, SortBy::Name)), "abc");
        assert_eq!(names(sorted_hosts(&c, SortBy::Load)), "cba");
        assert_eq!(names(sorted_hosts(&c, SortBy::Down)), "abc");
        assert_eq!(load_class(load_per_cpu(&c.hosts[2])), "load-4");
        assert_eq!(load_class(load_per_cpu(&c.hosts[0])), "load-0");
        assert_eq!(load_class(load_per_cpu(&c.hosts[1])), "load-unknown");
    }
}
