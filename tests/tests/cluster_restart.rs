//! gmond restarts in a real cluster in network namespaces (testkit::cluster): over multicast
//! and in unicast (two aggregators), the restarted host's metrics reappear everywhere and a
//! restarted aggregator gets every metric of every host back (metadata resent).

use std::time::Duration;
use testkit::cluster::{Cluster, Spec};
use testkit::wait_for;

const T: Duration = Duration::from_secs(40);

/// Build, converge, start gmetad-rs and wait for its first complete view.
fn cluster(spec: Spec) -> Cluster {
    let mut c = Cluster::new(spec);
    c.wait_converged(T);
    c.start_gmetad();
    c.wait_gmetad_complete(T);
    c
}

/// GMOND_STARTED of host `h` as gmond `i` (or gmetad-rs for `None`) reports it, with its metric
/// count.
fn host_view(c: &Cluster, at: Option<usize>, h: usize) -> Option<(i64, usize)> {
    let name = Cluster::host_name(h);
    let doc = match at {
        Some(i) => c.gmond_doc(i)?,
        None => c.gmetad_doc()?,
    };
    let cl = match at {
        Some(_) => doc.clusters.first()?,
        None => doc.grids.first()?.clusters.first()?,
    };
    let host = cl.hosts.iter().find(|x| x.name == name)?;
    Some((host.gmond_started, host.metrics.len()))
}

/// Restart the gmonds in `victims`: each comes back with a new GMOND_STARTED and every metric
/// at every listening gmond and in gmetad-rs, and each restarted listener again knows every
/// host with every metric (the others resent their metadata).
fn restart(spec: Spec, victims: &[usize]) {
    let mut c = cluster(spec);
    let before: Vec<i64> = victims
        .iter()
        .map(|&v| host_view(&c, Some(c.listeners()[0]), v).unwrap().0)
        .collect();
    for &v in victims {
        c.kill9_gmond(v);
    }
    // GMOND_STARTED has a 1 s resolution: make the new one differ.
    std::thread::sleep(Duration::from_millis(1100));
    for &v in victims {
        c.start_gmond(v);
    }
    let want = testkit::cluster::metric_count();
    for (k, &v) in victims.iter().enumerate() {
        for at in c.listeners().into_iter().map(Some).chain([None]) {
            let got = wait_for(T, || {
                host_view(&c, at, v).filter(|(s, m)| *s > before[k] && *m >= want)
            });
            assert!(
                got.is_some(),
                "host {v} restarted but {} shows {:?} (started before: {})",
                at.map_or("gmetad-rs".into(), |i| format!("gmond {i}")),
                host_view(&c, at, v),
                before[k]
            );
        }
    }
    // Nothing lost anywhere: every listener (restarted ones included) has every host again.
    c.wait_converged(T);
    c.wait_gmetad_complete(T);
}

#[test]
fn restarted_gmonds_reappear_everywhere_over_multicast() {
    // Host 0 is polled by gmetad-rs, host 3 is a plain node.
    restart(Spec::new("rm"), &[0, 3]);
}

#[test]
fn restarted_aggregator_and_node_lose_no_metric_in_unicast() {
    let mut s = Spec::new("ru");
    s.multicast = false;
    restart(s, &[0, 2]);
}
