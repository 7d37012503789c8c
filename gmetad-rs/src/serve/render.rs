//! Rendering the grid in gmetad's layout: the xml_port dump and the interactive-port answers
//! (reference §2.3, §3.2). Pure: a [`View`] of the grid at `now` in, bytes out.

use crate::tree::{ClusterNode, Node};
use ganglia_proto::xml::write as w;
use ganglia_proto::xml::{Host, Summary};

/// The grid at one instant.
pub struct View<'a> {
    /// Our GRID NAME.
    pub gridname: &'a str,
    /// Our AUTHORITY.
    pub authority: &'a str,
    /// Query time (GRID LOCALTIME; TN is recomputed against it).
    pub now: u64,
    /// Every node with the time it was polled.
    pub nodes: Vec<(&'a Node, u64)>,
    /// The root summary.
    pub root: &'a Summary,
    /// Host lookups are case-insensitive when false.
    pub case_sensitive_hostnames: bool,
}

fn tn(now: u64, poll_time: u64, tn: u64) -> u64 {
    tn.saturating_add(now.saturating_sub(poll_time))
}

fn cluster_start(out: &mut Vec<u8>, c: &ClusterNode) {
    let k = &c.cluster;
    w::gmond_cluster_start(
        out,
        &w::ClusterAttrs {
            name: &k.name,
            localtime: k.localtime,
            owner: &k.owner,
            latlong: &k.latlong,
            url: &k.url,
        },
    );
}

fn host(out: &mut Vec<u8>, h: &Host, now: u64, poll: u64, only_metric: Option<&str>) {
    w::gmetad_host_start(
        out,
        &w::HostAttrs {
            name: &h.name,
            ip: &h.ip,
            tags: h.tags.as_deref().unwrap_or("unspecified"),
            reported: h.reported,
            tn: tn(now, poll, h.tn),
            tmax: h.tmax,
            dmax: h.dmax,
            location: h.location.as_deref().unwrap_or("unspecified"),
            gmond_started: h.gmond_started,
        },
    );
    for m in h
        .metrics
        .iter()
        .filter(|m| only_metric.is_none_or(|o| o == m.name))
    {
        let t = tn(now, poll, m.tn);
        if m.dmax != 0 && t > m.dmax {
            continue;
        }
        w::gmetad_metric(
            out,
            &w::MetricAttrs {
                name: &m.name,
                val: &m.val,
                metric_type: &m.metric_type,
                units: &m.units,
                tn: t,
                tmax: m.tmax,
                dmax: m.dmax,
                slope: &m.slope,
                source: Some(&m.source),
            },
            m.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        );
    }
    w::host_end(out);
}

fn node(out: &mut Vec<u8>, n: &Node, now: u64, poll: u64, summary: bool) {
    match n {
        Node::Cluster(c) => {
            cluster_start(out, c);
            if summary {
                w::write_summary(out, &c.summary);
            } else {
                for h in &c.cluster.hosts {
                    host(out, h, now, poll, None);
                }
            }
            w::cluster_end(out);
        }
        Node::Grid(g) => {
            w::grid_start(out, &g.name, &g.authority, g.localtime);
            w::write_summary(out, &g.summary);
            w::grid_end(out);
        }
    }
}

fn open(out: &mut Vec<u8>, v: &View<'_>) {
    w::header(out, w::Source::Gmetad, ganglia_proto::GANGLIA_VERSION);
    w::grid_start(out, v.gridname, v.authority, v.now);
}

fn close(out: &mut Vec<u8>) {
    w::grid_end(out);
    w::footer(out);
}

/// The xml_port dump: our GRID with every cluster in full and every child grid summarised.
pub fn whole(v: &View<'_>, out: &mut Vec<u8>) {
    open(out, v);
    for (n, poll) in &v.nodes {
        node(out, n, v.now, *poll, false);
    }
    close(out);
}

fn same_host(a: &str, b: &str, case_sensitive: bool) -> bool {
    if case_sensitive {
        a == b
    } else {
        a.eq_ignore_ascii_case(b)
    }
}

/// An interactive-port answer for `path` (`/cluster/host/metric`), `?filter=summary`, and the
/// not-found rules of 3.7.2: in raw mode a missing element prints its parent's whole subtree;
/// in HTTP mode it prints nothing for that branch, and `*` matches every child.
pub fn query(v: &View<'_>, path: &[String], summary: bool, http: bool, out: &mut Vec<u8>) {
    open(out, v);
    match path.first() {
        None => {
            if summary {
                w::write_summary(out, v.root);
            }
            for (n, poll) in &v.nodes {
                node(out, n, v.now, *poll, summary);
            }
        }
        Some(first) => {
            let wildcard = http && first == "*";
            let matched: Vec<_> = v
                .nodes
                .iter()
                .filter(|(n, _)| wildcard || n.name() == first)
                .collect();
            if matched.is_empty() && !http {
                for (n, poll) in &v.nodes {
                    node(out, n, v.now, *poll, false);
                }
            }
            for (n, poll) in matched {
                match (n, path.get(1)) {
                    (_, None) | (Node::Grid(_), Some(_)) => {
                        node(out, n, v.now, *poll, summary || matches!(n, Node::Grid(_)))
                    }
                    (Node::Cluster(c), Some(hname)) => {
                        cluster_start(out, c);
                        let hw = http && hname == "*";
                        let hosts: Vec<_> = c
                            .cluster
                            .hosts
                            .iter()
                            .filter(|h| hw || same_host(&h.name, hname, v.case_sensitive_hostnames))
                            .collect();
                        if hosts.is_empty() && !http {
                            for h in &c.cluster.hosts {
                                host(out, h, v.now, *poll, None);
                            }
                        }
                        for h in hosts {
                            let metric = path.get(2).filter(|m| !(http && *m == "*"));
                            match metric {
                                Some(m) if h.metrics.iter().any(|x| x.name == m) => {
                                    host(out, h, v.now, *poll, Some(m))
                                }
                                Some(_) if http => {
                                    // Not found: the host element with nothing in it.
                                    host(
                                        out,
                                        &Host {
                                            metrics: Vec::new(),
                                            ..h.clone()
                                        },
                                        v.now,
                                        *poll,
                                        None,
                                    );
                                }
                                _ => host(out, h, v.now, *poll, None),
                            }
                        }
                        w::cluster_end(out);
                    }
                }
            }
        }
    }
    close(out);
}
