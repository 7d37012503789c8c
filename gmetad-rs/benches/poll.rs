//! The polling path of one cycle without RRD I/O: parse a 1000-host × 30-metric gmond document,
//! build the snapshot with summaries, carry over vanished hosts from the previous one, count
//! the RRD updates the RRD thread will walk (target: ≤ 30 ms together). `updates` is that walk.
//!
//! `POLL_PHASE=parse|ingest|updates|whole POLL_ITERS=N` runs one phase N times without
//! criterion, for instruction counts that other load on the machine does not disturb:
//! `perf stat -e instructions:u` with N and with 0 iterations, difference / N.

use criterion::{Criterion, criterion_group, criterion_main};
use ganglia_proto::xml::read::{ReadLimits, read};
use ganglia_proto::xml::write as w;
use gmetad::tree::{carry_over, ingest, summary::SummaryRules, updates};
use std::hint::black_box;

fn document(hosts: usize, metrics: usize) -> Vec<u8> {
    let mut out = Vec::new();
    w::header(&mut out, w::Source::Gmond, "3.7.2");
    w::gmond_cluster_start(
        &mut out,
        &w::ClusterAttrs {
            name: "bench",
            localtime: 1_700_000_000,
            owner: "o",
            latlong: "l",
            url: "u",
        },
    );
    for h in 0..hosts {
        let name = format!("node{h:05}");
        let attrs = w::HostAttrs {
            name: &name,
            ip: "10.0.0.1",
            tags: "",
            reported: 1_700_000_000,
            tn: 1,
            tmax: 20,
            dmax: 0,
            location: "x",
            gmond_started: 0,
        };
        w::gmond_host_start(&mut out, &attrs);
        for m in 0..metrics {
            let n = format!("metric_{m:02}");
            let ma = w::MetricAttrs {
                name: &n,
                val: "12.5",
                metric_type: "float",
                units: "%",
                tn: 1,
                tmax: 60,
                dmax: 0,
                slope: "both",
                source: None,
            };
            w::gmond_metric(
                &mut out,
                &ma,
                [("GROUP", "cpu"), ("TITLE", "T"), ("DESC", "D")].into_iter(),
                true,
            );
        }
        w::host_end(&mut out);
    }
    w::cluster_end(&mut out);
    w::footer(&mut out);
    out
}

/// Run one phase `POLL_ITERS` times (see the module doc).
fn counted(phase: &str) {
    let iters: usize = std::env::var("POLL_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let doc = document(1000, 30);
    let rules = SummaryRules::default();
    let parsed = read(&doc, &ReadLimits::default()).unwrap().doc;
    let snap = ingest(parsed.clone(), 1, true, &rules);
    for _ in 0..iters {
        match phase {
            "parse" => drop(black_box(read(&doc, &ReadLimits::default()).unwrap())),
            "ingest" => drop(black_box(ingest(parsed.clone(), 1, true, &rules))),
            "updates" => drop(black_box(updates(&snap, 15, &rules).count())),
            _ => {
                let d = read(&doc, &ReadLimits::default()).unwrap().doc;
                let mut s = ingest(d, 16, true, &rules);
                carry_over(&mut s, &snap);
                black_box(updates(&s, 15, &rules).count());
            }
        }
    }
}

fn bench(c: &mut Criterion) {
    if let Ok(phase) = std::env::var("POLL_PHASE") {
        counted(&phase);
        std::process::exit(0);
    }
    let doc = document(1000, 30);
    let rules = SummaryRules::default();
    let mut g = c.benchmark_group("poll_1000x30");
    g.sample_size(10);
    g.bench_function("parse", |b| {
        b.iter(|| black_box(read(&doc, &ReadLimits::default()).unwrap()))
    });
    let parsed = read(&doc, &ReadLimits::default()).unwrap().doc;
    g.bench_function("ingest", |b| {
        b.iter(|| black_box(ingest(parsed.clone(), 1, true, &rules)))
    });
    let snap = ingest(parsed.clone(), 1, true, &rules);
    g.bench_function("updates", |b| {
        b.iter(|| black_box(updates(&snap, 15, &rules).count()))
    });
    g.bench_function("whole", |b| {
        b.iter(|| {
            let d = read(&doc, &ReadLimits::default()).unwrap().doc;
            let mut s = ingest(d, 16, true, &rules);
            carry_over(&mut s, &snap);
            black_box(updates(&s, 15, &rules).count())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
