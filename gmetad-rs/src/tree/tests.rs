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

#[test]
fn vanished_hosts_linger_as_down_until_their_dmax() {
    let rules = SummaryRules::default();
    let first = ingest(fixture("gmond-8649.xml"), 1000, true, &rules);
    let Node::Cluster(c0) = &first.nodes[0] else {
        panic!()
    };
    assert_eq!(c0.cluster.hosts.len(), 2);
    // The next document (say a restarted gmond) has only localhost.
    let mut doc = fixture("gmond-8649.xml");
    let at = doc.clusters[0]
        .hosts
        .iter()
        .position(|h| h.name != "localhost")
        .unwrap();
    let gone = doc.clusters[0].hosts.remove(at);
    doc.clusters[0].hosts[0].tn = 0;
    let mut next = ingest(doc.clone(), 1100, true, &rules);
    carry_over(&mut next, &first);
    let Node::Cluster(c) = &next.nodes[0] else {
        panic!()
    };
    assert_eq!(c.cluster.hosts.len(), 2, "the vanished host is kept");
    assert_eq!(c.polled, 1);
    let kept = &c.cluster.hosts[1];
    assert_eq!(kept.name, gone.name);
    assert_eq!(
        kept.tn,
        gone.tn + 100,
        "TN counts from when it was last seen"
    );
    assert_eq!(kept.metrics[0].tn, gone.metrics[0].tn + 100);
    assert!(
        !summary::host_alive(kept, c.cluster.localtime + 100, false),
        "and so it is down"
    );
    assert_eq!(
        (c.summary.hosts_up, c.summary.hosts_down),
        (1, 0),
        "not counted, as in 3.7.2"
    );
    let ups = rrd_updates(&next, 15, &rules);
    assert!(
        ups.iter()
            .all(|u| !matches!(&u.target, Target::Host { host, .. } if *host == gone.name)),
        "no RRD values for a host that was not reported"
    );
    // A later poll still carries it (from the carried copy); once TN passes a non-zero DMAX
    // it is gone.
    let mut later = ingest(doc.clone(), 1200, true, &rules);
    carry_over(&mut later, &next);
    let Node::Cluster(c) = &later.nodes[0] else {
        panic!()
    };
    assert_eq!(c.cluster.hosts[1].tn, gone.tn + 200);
    let mut with_dmax = first.clone();
    let Node::Cluster(w) = &mut with_dmax.nodes[0] else {
        panic!()
    };
    w.cluster.hosts[at].dmax = gone.tn + 150;
    let mut a = ingest(doc.clone(), 1100, true, &rules);
    carry_over(&mut a, &with_dmax);
    let mut b = ingest(doc, 1200, true, &rules);
    carry_over(&mut b, &a);
    let hosts = |s: &Snapshot| match &s.nodes[0] {
        Node::Cluster(c) => c.cluster.hosts.len(),
        Node::Grid(_) => 0,
    };
    assert_eq!((hosts(&a), hosts(&b)), (2, 1), "deleted once TN > DMAX");
}

/// A cluster at LOCALTIME 1000: host "up" (TN 1 of TMAX 20) with a numeric metric, a string, and
/// a numeric past its DMAX; host "down" (TN 500 of TMAX 20) with a numeric metric.
pub(crate) fn live_and_dead_hosts() -> Document {
    let metric = |name: &str, ty: &str, tn: u64, dmax: u64| Metric {
        name: name.into(),
        val: "1.5".into(),
        metric_type: ty.into(),
        tn,
        tmax: 60,
        dmax,
        slope: "both".into(),
        source: "gmond".into(),
        ..Metric::default()
    };
    let host = |name: &str, tn: u64, metrics: Vec<Metric>| Host {
        name: name.into(),
        ip: "10.0.0.1".into(),
        reported: 1000 - tn,
        tn,
        tmax: 20,
        metrics,
        ..Host::default()
    };
    Document {
        version: "3.7.2".into(),
        clusters: vec![Cluster {
            name: "c".into(),
            localtime: 1000,
            hosts: vec![
                host(
                    "up",
                    1,
                    vec![
                        metric("load_one", "float", 1, 0),
                        metric("os_name", "string", 1, 0),
                        metric("gone_metric", "double", 20, 10),
                    ],
                ),
                host("down", 500, vec![metric("load_one", "float", 1, 0)]),
            ],
            ..Cluster::default()
        }],
        ..Document::default()
    }
}

#[test]
fn a_poll_records_numeric_metrics_of_live_hosts_within_their_dmax() {
    let snap = ingest(live_and_dead_hosts(), 1000, true, &SummaryRules::default());
    let Node::Cluster(c) = &snap.nodes[0] else {
        panic!()
    };
    let got: Vec<(&str, &str)> = recorded_metrics(c)
        .map(|(h, m)| (h.name.as_str(), m.name.as_str()))
        .collect();
    assert_eq!(got, [("up", "load_one")]);
    // The RRD updates of the hosts are exactly those.
    let rules = SummaryRules::default();
    let hosts: Vec<(&str, &str)> = updates(&snap, 15, &rules)
        .filter_map(|u| match u.target {
            TargetRef::Host { host, metric, .. } => Some((host, metric)),
            _ => None,
        })
        .collect();
    assert_eq!(hosts, [("up", "load_one")]);
}
