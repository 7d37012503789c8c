use super::*;
use crate::rrd::layout::Target;
use ganglia_proto::xml::read::read;

fn fixture(name: &str) -> Document {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ganglia-proto/tests/data/xml")
        .join(name);
    read(&std::fs::read(p).unwrap(), &Default::default())
        .unwrap()
        .doc
}

#[test]
fn a_gmond_document_becomes_one_cluster_with_its_summary() {
    let doc = fixture("gmond-8649.xml");
    let snap = ingest(doc, 5, true, &SummaryRules::default());
    assert_eq!(snap.nodes.len(), 1);
    let Node::Cluster(c) = &snap.nodes[0] else {
        panic!()
    };
    assert_eq!(c.cluster.name, "lab");
    // spoofhost's TN (29) < 4 * 20, so both hosts are up in the capture.
    assert_eq!((c.summary.hosts_up, c.summary.hosts_down), (2, 0));
    let load = c
        .summary
        .metrics
        .iter()
        .find(|m| m.name == "load_one")
        .unwrap();
    assert_eq!((load.num, load.metric_type.as_str()), (1, "double"));
    // Compare with what Debian's gmetad computed for the same cluster.
    let theirs = fixture("gmetad-8652-cluster-summary.xml");
    let ts = theirs.grids[0].clusters[0].summary.as_ref().unwrap();
    for m in &ts.metrics {
        let ours = c
            .summary
            .metrics
            .iter()
            .find(|x| x.name == m.name)
            .unwrap_or_else(|| panic!("{} missing", m.name));
        assert_eq!(
            (ours.num, &ours.units, &ours.slope),
            (m.num, &m.units, &m.slope),
            "{}",
            m.name
        );
    }
}

#[test]
fn rrd_updates_cover_live_numeric_metrics_and_summaries() {
    let snap = ingest(fixture("gmond-8649.xml"), 5, true, &SummaryRules::default());
    let ups = rrd_updates(&snap, 15, &SummaryRules::default());
    let host_files: Vec<_> = ups
        .iter()
        .filter_map(|u| match &u.target {
            Target::Host { host, metric, .. } if host == "localhost" => Some(metric.as_str()),
            _ => None,
        })
        .collect();
    assert!(host_files.contains(&"load_one") && host_files.contains(&"fixture_u8"));
    assert!(
        !host_files.contains(&"os_name") && !host_files.contains(&"fixture_string"),
        "no strings"
    );
    let Node::Cluster(c) = &snap.nodes[0] else {
        panic!()
    };
    assert!(ups.iter().all(|u| u.ts == c.cluster.localtime));
    assert!(ups.iter().any(|u| matches!(&u.target, Target::Summary { node, metric } if node == "lab" && metric == "cpu_num") && u.num == Some(1)));
}

#[test]
fn a_gmetad_document_becomes_a_summarised_grid_unless_not_scalable() {
    let g = ingest(
        fixture("gmetad-8651.xml"),
        5,
        true,
        &SummaryRules::default(),
    );
    let Node::Grid(grid) = &g.nodes[0] else {
        panic!("{:?}", g.nodes[0])
    };
    assert_eq!(grid.name, "testgrid");
    assert!(grid.summary.hosts_up >= 1 && !grid.summary.metrics.is_empty());
    let flat = ingest(
        fixture("gmetad-8651.xml"),
        5,
        false,
        &SummaryRules::default(),
    );
    assert!(matches!(&flat.nodes[0], Node::Cluster(c) if c.cluster.name == "lab"));
    let root = root_summary(
        g.nodes.iter().chain(flat.nodes.iter()),
        &["load_one".to_string()],
        &SummaryRules::default(),
    );
    assert_eq!(root.metrics.len(), 1);
    assert_eq!(root.hosts_up, grid.summary.hosts_up * 2);
}
