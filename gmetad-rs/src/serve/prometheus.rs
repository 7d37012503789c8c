//! The grid in the Prometheus text exposition format (gmetad-rs extension, `prometheus_port`):
//! every numeric metric of every live host as `ganglia_<metric>{cluster,host}`, host liveness
//! as `ganglia_host_up`, and child grids' summaries as `ganglia_grid_<metric>_sum`/`_num`.

use super::render::View;
use crate::tree::Node;
use crate::tree::summary::host_alive;
use std::collections::BTreeMap;
use std::fmt::Write as _;

fn name(metric: &str) -> String {
    let mut s = String::from("ganglia_");
    s.extend(metric.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        }
    }));
    s
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Render the exposition.
pub fn render(v: &View<'_>) -> String {
    let mut families: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut add = |fam: String, labels: String, value: &str| {
        families
            .entry(fam)
            .or_default()
            .push(format!("{{{labels}}} {value}"));
    };
    for (n, _) in &v.nodes {
        match n {
            Node::Cluster(c) => {
                let cl = label(&c.cluster.name);
                for (i, h) in c.cluster.hosts.iter().enumerate() {
                    let labels = format!("cluster=\"{cl}\",host=\"{}\"", label(&h.name));
                    // A host no longer in the source's document lingers as down.
                    let up = i < c.polled && host_alive(h, c.cluster.localtime, c.old);
                    add(
                        "ganglia_host_up".into(),
                        labels.clone(),
                        if up { "1" } else { "0" },
                    );
                    if !up {
                        continue;
                    }
                    for m in &h.metrics {
                        // What the poll records (numeric, within DMAX), as RRD and carbon.
                        if !crate::tree::recorded(m) {
                            continue;
                        }
                        if let Ok(x) = m.val.trim().parse::<f64>() {
                            add(name(&m.name), labels.clone(), &x.to_string());
                        }
                    }
                }
            }
            Node::Grid(g) => {
                let labels = format!("grid=\"{}\"", label(&g.name));
                add(
                    "ganglia_grid_hosts_up".into(),
                    labels.clone(),
                    &g.summary.hosts_up.to_string(),
                );
                add(
                    "ganglia_grid_hosts_down".into(),
                    labels.clone(),
                    &g.summary.hosts_down.to_string(),
                );
                for m in &g.summary.metrics {
                    if let Ok(x) = m.sum.trim().parse::<f64>() {
                        add(
                            format!("ganglia_grid_{}_sum", &name(&m.name)[8..]),
                            labels.clone(),
                            &x.to_string(),
                        );
                        add(
                            format!("ganglia_grid_{}_num", &name(&m.name)[8..]),
                            labels.clone(),
                            &m.num.to_string(),
                        );
                    }
                }
            }
        }
    }
    let mut out = String::new();
    for (fam, lines) in families {
        let _ = writeln!(out, "# TYPE {fam} gauge");
        for l in lines {
            let _ = writeln!(out, "{fam}{l}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{ingest, summary::SummaryRules};

    #[test]
    fn exposition_of_the_captured_cluster() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../ganglia-proto/tests/data/xml/gmond-8649.xml");
        let doc = ganglia_proto::xml::read::read(&std::fs::read(p).unwrap(), &Default::default())
            .unwrap()
            .doc;
        let snap = ingest(doc, 0, true, &SummaryRules::default());
        let root = ganglia_proto::xml::Summary::default();
        let v = View {
            gridname: "g",
            authority: "a",
            now: 0,
            nodes: snap.nodes.iter().map(|n| (n, 0)).collect(),
            root: &root,
            case_sensitive_hostnames: true,
        };
        let text = render(&v);
        assert!(text.contains("# TYPE ganglia_load_one gauge\nganglia_load_one{cluster=\"lab\",host=\"localhost\"} "), "{text}");
        assert!(text.contains("ganglia_host_up{cluster=\"lab\",host=\"spoofhost\"} 1"));
        assert!(!text.contains("os_name"), "strings are not exported");
        assert_eq!(text.matches("# TYPE ganglia_load_one ").count(), 1);
    }
}
