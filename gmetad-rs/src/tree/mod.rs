//! The grid as gmetad sees it: each data source's last good poll turned into cluster and grid
//! nodes with their summaries (pure; reference §3.4, §3.5), and the RRD updates a poll causes.

pub mod summary;

use crate::rrd::layout::TargetRef;
use crate::rrd::writer::{Update, UpdateRef};
use ganglia_proto::MetricType;
use ganglia_proto::xml::{Cluster, Document, Grid, Host, Metric, SmolStr, Source, Summary};
use std::collections::HashSet;
use summary::{SummaryRules, Summer, host_alive};

/// A cluster reported by a gmond (authority: we keep every host and metric).
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterNode {
    /// The cluster with its hosts, as polled.
    pub cluster: Cluster,
    /// HOSTS/METRICS computed from its live hosts.
    pub summary: Summary,
    /// Whether the producer is older than 2.5 (liveness by REPORTED).
    pub old: bool,
    /// How many of `cluster.hosts` (the first ones) came in the latest document; the rest
    /// vanished from it and linger until their DMAX ([`carry_over`]).
    pub polled: usize,
}

impl ClusterNode {
    /// The hosts of the latest document (RRD, carbon and Prometheus use only these).
    pub fn polled_hosts(&self) -> &[Host] {
        &self.cluster.hosts[..self.polled.min(self.cluster.hosts.len())]
    }
}

/// A grid reported by another gmetad (only its summary is kept, as in scalable mode).
#[derive(Debug, Clone, PartialEq)]
pub struct GridNode {
    /// NAME.
    pub name: SmolStr,
    /// AUTHORITY.
    pub authority: SmolStr,
    /// LOCALTIME of the child gmetad.
    pub localtime: u64,
    /// Everything inside it, summed.
    pub summary: Summary,
}

/// One top-level child of our GRID.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A cluster.
    Cluster(ClusterNode),
    /// A child grid.
    Grid(GridNode),
}

impl Node {
    /// CLUSTER or GRID NAME: the key of the node in queries and the RRD tree.
    pub fn name(&self) -> &str {
        match self {
            Node::Cluster(c) => &c.cluster.name,
            Node::Grid(g) => &g.name,
        }
    }

    /// The node's summary.
    pub fn summary(&self) -> &Summary {
        match self {
            Node::Cluster(c) => &c.summary,
            Node::Grid(g) => &g.summary,
        }
    }
}

/// What one successful poll of a source produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    /// Clusters and grids of the source.
    pub nodes: Vec<Node>,
    /// Our clock when the poll finished (TN is recomputed from it at query time).
    pub poll_time: u64,
}

fn is_old(version: &str) -> bool {
    version.as_bytes() < b"2.5".as_slice()
}

fn cluster_node(c: Cluster, old: bool, rules: &SummaryRules) -> ClusterNode {
    let mut s = Summer::default();
    for h in &c.hosts {
        s.add_host(h, c.localtime, old, rules);
    }
    ClusterNode {
        summary: s.finish(),
        polled: c.hosts.len(),
        cluster: c,
        old,
    }
}

fn grid_summary(g: &Grid, old: bool, rules: &SummaryRules) -> Summary {
    if let Some(s) = &g.summary {
        return s.clone();
    }
    let mut sum = Summer::default();
    for c in &g.clusters {
        match &c.summary {
            Some(s) => sum.add_summary(s, rules),
            None => sum.add_summary(&cluster_node(c.clone(), old, rules).summary, rules),
        }
    }
    for n in &g.grids {
        sum.add_summary(&grid_summary(n, old, rules), rules);
    }
    sum.finish()
}

fn all_clusters(g: Grid, out: &mut Vec<Cluster>) {
    out.extend(g.clusters);
    for n in g.grids {
        all_clusters(n, out);
    }
}

/// Turn a polled document into nodes. With `scalable` (the default) a gmetad's GRID becomes a
/// summarised grid node; without it every CLUSTER inside becomes a local cluster (2.5.0 style).
pub fn ingest(doc: Document, poll_time: u64, scalable: bool, rules: &SummaryRules) -> Snapshot {
    let old = is_old(&doc.version);
    let mut nodes = Vec::new();
    for c in doc.clusters {
        nodes.push(Node::Cluster(cluster_node(c, old, rules)));
    }
    for g in doc.grids {
        if scalable || doc.source == Source::Gmond {
            nodes.push(Node::Grid(GridNode {
                summary: grid_summary(&g, old, rules),
                name: g.name,
                authority: g.authority,
                localtime: g.localtime,
            }));
        } else {
            let mut cs = Vec::new();
            all_clusters(g, &mut cs);
            nodes.extend(
                cs.into_iter()
                    .map(|c| Node::Cluster(cluster_node(c, old, rules))),
            );
        }
    }
    Snapshot { nodes, poll_time }
}

/// Whether gmetad records this metric of a live host: a numeric type (not string or
/// timestamp) not past its DMAX (reference §3.4).
pub fn recorded(m: &Metric) -> bool {
    MetricType::parse(&m.metric_type).is_some_and(MetricType::is_numeric) && !expired(m)
}

/// Whether a metric is past its DMAX (TN > DMAX ≠ 0): gmetad skips it (reference §3.4).
pub fn expired(m: &Metric) -> bool {
    m.dmax != 0 && m.tn > m.dmax
}

/// The live hosts of a cluster's latest document (lingering ones are never live).
pub fn live_hosts(c: &ClusterNode) -> impl Iterator<Item = &Host> {
    c.polled_hosts()
        .iter()
        .filter(move |h| host_alive(h, c.cluster.localtime, c.old))
}

/// The metrics a poll records for a cluster: the [`recorded`] metrics of the live hosts of the
/// latest document (not lingering ones). RRD updates, carbon and Prometheus all use these, as
/// 3.7.2 writes RRDs and carbon only for what it processes.
pub fn recorded_metrics(c: &ClusterNode) -> impl Iterator<Item = (&Host, &Metric)> {
    live_hosts(c).flat_map(|h| {
        h.metrics
            .iter()
            .filter(|m| recorded(m))
            .map(move |m| (h, m))
    })
}

/// The RRD updates of one poll, borrowed from the snapshot: every numeric metric of every live
/// host (timestamped with the source's LOCALTIME) and every summary metric of every node.
pub fn updates<'a>(
    snap: &'a Snapshot,
    step: u32,
    rules: &'a SummaryRules,
) -> impl Iterator<Item = UpdateRef<'a>> + 'a {
    snap.nodes.iter().flat_map(move |n| {
        let (name, ts) = match n {
            Node::Cluster(c) => (c.cluster.name.as_str(), c.cluster.localtime),
            Node::Grid(g) => (g.name.as_str(), g.localtime),
        };
        let cluster = match n {
            Node::Cluster(c) => Some(c),
            Node::Grid(_) => None,
        };
        let hosts = cluster.into_iter().flat_map(move |c| {
            recorded_metrics(c).map(move |(h, m)| UpdateRef {
                target: TargetRef::Host {
                    cluster: name,
                    host: &h.name,
                    metric: &m.name,
                },
                ts,
                sum: &m.val,
                num: None,
                slope: &m.slope,
                step,
            })
        });
        let sums = n
            .summary()
            .metrics
            .iter()
            .filter(move |m| rules.includes(&m.name))
            .map(move |m| UpdateRef {
                target: TargetRef::Summary {
                    node: name,
                    metric: &m.name,
                },
                ts,
                sum: &m.sum,
                num: Some(m.num),
                slope: &m.slope,
                step,
            });
        hosts.chain(sums)
    })
}

/// Hosts that vanished from a cluster's latest document (a restarted or failed-over gmond that
/// never heard them, or one that deleted them) stay in the cluster, as in gmetad 3.7.2 whose
/// cluster hash keeps every host until its cleanup thread deletes it: their TN keeps growing
/// from when they were last seen (so they show as down), and a host with DMAX ≠ 0 goes once TN
/// exceeds DMAX (reference §3.7; checked at every poll instead of every 180 s). They are not
/// counted in the cluster's HOSTS UP/DOWN and get no RRD, carbon or Prometheus values (3.7.2
/// counts and writes only what the document carries). Clusters are matched by NAME, hosts by
/// exact NAME; a cluster missing from the new document is not carried.
pub fn carry_over(new: &mut Snapshot, old: &Snapshot) {
    let delta = new.poll_time.saturating_sub(old.poll_time);
    for n in &mut new.nodes {
        let Node::Cluster(c) = n else { continue };
        let prev = old.nodes.iter().find_map(|o| match o {
            Node::Cluster(p) if p.cluster.name == c.cluster.name => Some(p),
            _ => None,
        });
        let Some(prev) = prev else { continue };
        let present: HashSet<&str> = c.cluster.hosts.iter().map(|h| h.name.as_str()).collect();
        let gone: Vec<Host> = prev
            .cluster
            .hosts
            .iter()
            .filter(|h| !present.contains(h.name.as_str()))
            .filter_map(|h| {
                let tn = h.tn.saturating_add(delta);
                if h.dmax != 0 && tn > h.dmax {
                    return None;
                }
                let mut h = h.clone();
                h.tn = tn;
                for m in &mut h.metrics {
                    m.tn = m.tn.saturating_add(delta);
                }
                Some(h)
            })
            .collect();
        c.cluster.hosts.extend(gone);
    }
}

/// The updates of [`updates`] as owned records.
pub fn rrd_updates(snap: &Snapshot, step: u32, rules: &SummaryRules) -> Vec<Update> {
    updates(snap, step, rules).map(Update::from).collect()
}

/// The root summary over every node of every source; `only` restricts it to these metric
/// names when non-empty (`summarized_metrics`).
pub fn root_summary<'a>(
    nodes: impl Iterator<Item = &'a Node>,
    only: &[String],
    rules: &SummaryRules,
) -> Summary {
    let mut s = Summer::default();
    for n in nodes {
        s.add_summary(n.summary(), rules);
    }
    let mut out = s.finish();
    if !only.is_empty() {
        out.metrics.retain(|m| only.iter().any(|o| *o == m.name));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
