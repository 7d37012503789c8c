//! XML throughput. Target (issue 2): a gmond-style document of 1000 hosts × 35 metrics written
//! at ≥ 500 MB/s.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ganglia_proto::xml::read::{ReadLimits, read};
use ganglia_proto::xml::write as w;
use std::hint::black_box;

const METRICS: [(&str, &str, &str, &str); 7] = [
    ("load_one", "0.42", "float", " "),
    ("cpu_user", "3.1", "float", "%"),
    ("mem_free", "16234112", "float", "KB"),
    ("bytes_in", "12345.67", "float", "bytes/sec"),
    ("proc_total", "412", "uint32", " "),
    ("os_release", "6.1.0-27-amd64", "string", ""),
    ("disk_free", "183.201", "double", "GB"),
];

fn document(hosts: usize, metrics: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(hosts * metrics * 260);
    w::header(&mut out, w::Source::Gmond, "3.7.2");
    w::gmond_cluster_start(
        &mut out,
        &w::ClusterAttrs {
            name: "bench",
            localtime: 1_700_000_000,
            owner: "ops",
            latlong: "unspecified",
            url: "unspecified",
        },
    );
    let names: Vec<String> = (0..metrics)
        .map(|i| format!("{}_{i}", METRICS[i % METRICS.len()].0))
        .collect();
    for h in 0..hosts {
        let name = format!("node{h:04}.example.com");
        let ip = format!("10.0.{}.{}", h / 256, h % 256);
        w::gmond_host_start(
            &mut out,
            &w::HostAttrs {
                name: &name,
                ip: &ip,
                tags: "",
                reported: 1_699_999_990,
                tn: 10,
                tmax: 20,
                dmax: 86400,
                location: "unspecified",
                gmond_started: 1_699_000_000,
            },
        );
        for (i, n) in names.iter().enumerate() {
            let (_, val, ty, units) = METRICS[i % METRICS.len()];
            w::gmond_metric(
                &mut out,
                &w::MetricAttrs {
                    name: n,
                    val,
                    metric_type: ty,
                    units,
                    tn: 12,
                    tmax: 90,
                    dmax: 0,
                    slope: "both",
                    source: None,
                },
                [
                    ("GROUP", "cpu"),
                    ("DESC", "Percentage of CPU utilization"),
                    ("TITLE", "CPU User"),
                ]
                .into_iter(),
                true,
            );
        }
        w::host_end(&mut out);
    }
    w::cluster_end(&mut out);
    w::footer(&mut out);
    out
}

fn bench(c: &mut Criterion) {
    let doc = document(1000, 35);
    let mut g = c.benchmark_group("xml");
    g.throughput(Throughput::Bytes(doc.len() as u64));
    g.sample_size(20);
    g.bench_function("write_gmond_1000x35", |b| {
        b.iter(|| black_box(document(1000, 35).len()))
    });
    g.bench_function("read_gmond_1000x35", |b| {
        b.iter(|| {
            black_box(
                read(black_box(&doc), &ReadLimits::default())
                    .unwrap()
                    .doc
                    .clusters
                    .len(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
