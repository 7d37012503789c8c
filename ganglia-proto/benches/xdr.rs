//! XDR decode/encode throughput. Target (issue 2): decode ≥ 5M packets/s on one core.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ganglia_proto::xdr::{self, Message, Metadata, MetricId, WireValue};
use std::hint::black_box;

fn packets() -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    let mut out = Vec::new();
    xdr::encode(
        &Message::Value {
            id: MetricId {
                host: "node17.example.com",
                name: "load_one",
                spoof: false,
            },
            fmt: "%.2f",
            value: WireValue::Float(0.42),
        },
        &mut out,
    );
    v.push(std::mem::take(&mut out));
    xdr::encode(
        &Message::Value {
            id: MetricId {
                host: "10.1.2.3:node17",
                name: "os_release",
                spoof: true,
            },
            fmt: "%s",
            value: WireValue::Str("6.1.0-27-amd64"),
        },
        &mut out,
    );
    v.push(std::mem::take(&mut out));
    xdr::encode(
        &Message::Metadata {
            id: MetricId {
                host: "node17.example.com",
                name: "cpu_user",
                spoof: false,
            },
            meta: Metadata {
                metric_type: "float",
                name: "cpu_user",
                units: "%",
                slope: 3,
                tmax: 90,
                dmax: 0,
                extra: vec![
                    ("TITLE", "CPU User"),
                    ("DESC", "Percentage of CPU utilization"),
                    ("GROUP", "cpu"),
                ],
            },
        },
        &mut out,
    );
    v.push(out);
    v
}

fn bench(c: &mut Criterion) {
    let pkts = packets();
    let mut g = c.benchmark_group("xdr");
    g.throughput(Throughput::Elements(pkts.len() as u64));
    g.bench_function("decode_mixed", |b| {
        b.iter(|| {
            for p in &pkts {
                black_box(xdr::decode(black_box(p)).ok());
            }
        })
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode_value", |b| {
        b.iter(|| black_box(xdr::decode(black_box(&pkts[0])).ok()))
    });
    let msgs: Vec<_> = pkts.iter().map(|p| xdr::decode(p).unwrap()).collect();
    let mut out = Vec::with_capacity(512);
    g.throughput(Throughput::Elements(pkts.len() as u64));
    g.bench_function("encode_mixed", |b| {
        b.iter(|| {
            for m in &msgs {
                out.clear();
                xdr::encode(black_box(m), &mut out);
            }
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
