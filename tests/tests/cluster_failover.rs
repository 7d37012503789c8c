//! A real cluster in network namespaces (testkit::cluster): four gmond-rs hosts on multicast
//! 239.2.11.71 (or unicast to two aggregators), gmetad-rs polling two of them as one
//! data_source. Faults: kill -9 of the polled gmond, kill -9 of gmetad-rs in the middle of its
//! RRD writes (gmond restarts: cluster_restart.rs). The `soak_*` variants (ignored; `make
//! soak`) repeat them longer.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};
use testkit::cluster::{CLUSTER, Cluster, Spec, json_num, rrd_infos};
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

/// Every file passes `rrdtool info`; their last_update values.
fn all_valid(files: &[PathBuf]) -> Vec<u64> {
    rrd_infos(files)
        .into_iter()
        .zip(files)
        .map(|(r, f)| r.unwrap_or_else(|e| panic!("{}: {e}", f.display())))
        .collect()
}

fn host_rrd(c: &Cluster, host: usize, metric: &str) -> PathBuf {
    c.rrds
        .join(CLUSTER)
        .join(Cluster::host_name(host))
        .join(format!("{metric}.rrd"))
}

/// kill -9 the gmond gmetad-rs polls, `rounds` times (restarting it in between): each time the
/// next poll goes to the other address and the RRDs of the surviving hosts never miss more
/// than one step.
fn failover(tag: &'static str, rounds: usize) {
    let mut c = cluster(Spec::new(tag));
    let step = u64::from(c.spec.step);
    let watched = [host_rrd(&c, 2, "load_one"), host_rrd(&c, 3, "cpu_idle")];
    wait_for(T, || {
        rrd_infos(&watched).iter().all(Result::is_ok).then_some(())
    })
    .expect("RRDs of hosts 2 and 3 created");
    for round in 0..rounds {
        // The polled address is the last one that answered: round 0 polls host 0; after a
        // failover gmetad-rs stays on host 1, so alternate.
        let victim = round % 2;
        let status0 = c.status().expect("status");
        let failed0 = json_num(&status0, &["polls", "failed", "num"]).unwrap();
        // Sample last_update of the watched RRDs from 2 steps before to 4 steps after the kill.
        let mut seen: Vec<BTreeMap<u64, Instant>> = vec![BTreeMap::new(); watched.len()];
        let sample = |seen: &mut Vec<BTreeMap<u64, Instant>>| {
            for (k, r) in rrd_infos(&watched).into_iter().enumerate() {
                if let Ok(t) = r {
                    seen[k].entry(t).or_insert_with(Instant::now);
                }
            }
        };
        let until = Instant::now() + Duration::from_secs(2 * step);
        while Instant::now() < until {
            sample(&mut seen);
            std::thread::sleep(Duration::from_millis(200));
        }
        c.kill9_gmond(victim);
        let killed = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let until = Instant::now() + Duration::from_secs(4 * step);
        while Instant::now() < until {
            sample(&mut seen);
            std::thread::sleep(Duration::from_millis(200));
        }
        for (k, s) in seen.iter().enumerate() {
            let ts: Vec<u64> = s.keys().copied().collect();
            let gap = ts.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(u64::MAX);
            // One step missed at most (LOCALTIME has 1 s resolution, hence the +1).
            assert!(
                gap <= 2 * step + 1,
                "round {round}: {} updates {ts:?}: gap {gap} s > one missed step of {step} s",
                watched[k].display()
            );
            assert!(
                ts.last().copied().unwrap_or(0) >= killed + 2 * step,
                "round {round}: {} not updated after the kill: {ts:?} (killed at {killed})",
                watched[k].display()
            );
        }
        let status = c.status().expect("status after failover");
        let failed = json_num(&status, &["polls", "failed", "num"]).unwrap();
        assert!(
            failed <= failed0 + 1,
            "round {round}: failover took more than one poll: {status}"
        );
        assert!(status.contains("\"alive\":true"), "{status}");
        if round + 1 < rounds {
            c.start_gmond(victim);
            c.wait_converged(T);
        }
    }
    all_valid(&c.rrd_files());
}

#[test]
fn kill9_of_the_polled_gmond_fails_over_within_one_poll() {
    failover("fo", 1);
}

#[test]
#[ignore = "long variant: make soak"]
fn soak_kill9_of_the_polled_gmond_repeatedly() {
    failover("sfo", 6);
}

/// kill -9 gmetad-rs `rounds` times while it is writing RRDs (the kill follows the first file
/// of a batch changing), restart it each time: every RRD passes `rrdtool info` and updates
/// resume.
fn kill_gmetad(tag: &'static str, rounds: usize) {
    let mut c = cluster(Spec::new(tag));
    let want = 4 * testkit::cluster::metric_count();
    wait_for(T, || (c.rrd_files().len() >= want).then_some(())).expect("RRDs created");
    let mut mid_batch = 0;
    for round in 0..rounds {
        let files = c.rrd_files();
        let mtime = |f: &PathBuf| std::fs::metadata(f).and_then(|m| m.modified()).ok();
        let before: Vec<_> = files.iter().map(mtime).collect();
        let end = Instant::now() + Duration::from_secs(4 * u64::from(c.spec.step));
        let mut fired = false;
        while Instant::now() < end {
            if files.iter().zip(&before).any(|(f, b)| mtime(f) != *b) {
                c.kill9_gmetad();
                fired = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(fired, "round {round}: no RRD write seen: {}", c.log(None));
        let changed = files
            .iter()
            .zip(&before)
            .filter(|(f, b)| mtime(f) != **b)
            .count();
        if changed < files.len() {
            mid_batch += 1;
        }
        println!(
            "round {round}: killed after {changed} of {} files of the batch were written",
            files.len()
        );
        let last = all_valid(&files);
        c.start_gmetad();
        // Updates resume on every file (the hosts are alive, so every metric is polled).
        let resumed = wait_for(T, || {
            rrd_infos(&files)
                .iter()
                .zip(&last)
                .all(|(r, l)| r.as_ref().is_ok_and(|t| t > l))
                .then_some(())
        });
        assert!(
            resumed.is_some(),
            "round {round}: updates did not resume: {}",
            c.log(None)
        );
    }
    println!("{mid_batch} of {rounds} kills landed inside a batch");
    assert!(mid_batch > 0, "no kill landed inside a batch of RRD writes");
    all_valid(&c.rrd_files());
}

#[test]
fn kill9_of_gmetad_during_rrd_writes_leaves_valid_rrds() {
    kill_gmetad("kg", 3);
}

#[test]
#[ignore = "long variant: make soak"]
fn soak_kill9_of_gmetad_during_rrd_writes() {
    kill_gmetad("skg", 20);
}
