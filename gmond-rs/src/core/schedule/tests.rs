use super::*;
use ganglia_proto::xdr::{self, Message, WireValue};
use ganglia_proto::{MetricType, Slope};
use std::collections::HashMap;

fn def(name: &str) -> Arc<MetricDef> {
    Arc::new(MetricDef {
        name: name.into(),
        metric_type: MetricType::Float,
        units: "%".into(),
        slope: Slope::Both,
        tmax: 90,
        dmax: 0,
        fmt: "%.1f".into(),
        desc: format!("{name} desc"),
        groups: vec!["cpu".into()],
        spoof_name: None,
    })
}

struct Fixed(HashMap<String, f32>);
impl Sampler for Fixed {
    fn sample(&mut self, name: &str, _now: u64) -> Option<Value> {
        self.0.get(name).map(|v| Value::Float(*v))
    }
}

fn metric(name: &str, threshold: f64, title: Option<&str>) -> GroupMetricSpec {
    GroupMetricSpec {
        name: Some(name.into()),
        name_match: None,
        value_threshold: threshold,
        title: title.map(Into::into),
    }
}

/// (id, name) of each datagram.
fn summary(out: &[Vec<u8>]) -> Vec<(u32, String)> {
    out.iter()
        .map(|b| {
            let m = xdr::decode(b).unwrap();
            (m.message_id(), m.id().name.to_owned())
        })
        .collect()
}

fn cpu_group() -> GroupSpec {
    GroupSpec {
        collect_once: false,
        collect_every: 20,
        time_threshold: 90,
        metrics: vec![
            metric("cpu_user", 1.0, Some("CPU User")),
            metric("cpu_idle", 5.0, None),
        ],
    }
}

fn sampler(user: f32, idle: f32) -> Fixed {
    Fixed(HashMap::from([
        ("cpu_user".to_string(), user),
        ("cpu_idle".to_string(), idle),
    ]))
}

#[test]
fn first_tick_sends_metadata_then_values_then_waits_for_time_threshold() {
    let catalog = vec![def("cpu_user"), def("cpu_idle"), def("cpu_nice")];
    let mut s = Scheduler::new(&[cpu_group()], &catalog, Sender::plain("node1"), 0).unwrap();
    let mut out = Vec::new();
    s.tick(1000, &mut sampler(10.0, 80.0), &mut out);
    assert_eq!(
        summary(&out),
        vec![
            (128, "cpu_user".into()),
            (134, "cpu_user".into()),
            (128, "cpu_idle".into()),
            (134, "cpu_idle".into())
        ]
    );
    let Message::Metadata { meta, .. } = xdr::decode(&out[0]).unwrap() else {
        panic!()
    };
    assert_eq!(meta.extra("TITLE"), Some("CPU User"));
    let Message::Metadata { meta, .. } = xdr::decode(&out[2]).unwrap() else {
        panic!()
    };
    assert_eq!(
        meta.extra("TITLE"),
        Some("cpu_idle"),
        "title defaults to the name"
    );
    assert_eq!(s.next_deadline(), 1020);
    // Small changes: collected at 1020..1080 but not sent until time_threshold (1090).
    for now in [1020, 1040, 1060, 1080] {
        out.clear();
        s.tick(now, &mut sampler(10.5, 80.0), &mut out);
        assert!(out.is_empty(), "{now}");
    }
    out.clear();
    s.tick(1090, &mut sampler(10.5, 80.0), &mut out);
    assert_eq!(
        summary(&out),
        vec![(134, "cpu_user".into()), (134, "cpu_idle".into())],
        "no metadata re-send with interval 0"
    );
}

#[test]
fn value_threshold_sends_the_whole_group_early() {
    let catalog = vec![def("cpu_user"), def("cpu_idle")];
    let mut s = Scheduler::new(&[cpu_group()], &catalog, Sender::plain("n"), 0).unwrap();
    let mut out = Vec::new();
    s.tick(0, &mut sampler(10.0, 80.0), &mut out);
    out.clear();
    s.tick(20, &mut sampler(11.5, 80.0), &mut out);
    assert_eq!(
        summary(&out),
        vec![(134, "cpu_user".into()), (134, "cpu_idle".into())]
    );
    let Message::Value { value, .. } = xdr::decode(&out[0]).unwrap() else {
        panic!()
    };
    assert_eq!(value, WireValue::Float(11.5));
}

#[test]
fn metadata_request_resends_metadata_and_group() {
    let catalog = vec![def("cpu_user"), def("cpu_idle")];
    let mut s = Scheduler::new(&[cpu_group()], &catalog, Sender::plain("n"), 0).unwrap();
    let mut out = Vec::new();
    s.tick(0, &mut sampler(10.0, 80.0), &mut out);
    assert!(s.request_metadata("cpu_idle"));
    assert!(!s.request_metadata("not_ours"));
    out.clear();
    s.tick(5, &mut sampler(10.0, 80.0), &mut out);
    assert_eq!(
        summary(&out),
        vec![
            (134, "cpu_user".into()),
            (128, "cpu_idle".into()),
            (134, "cpu_idle".into())
        ]
    );
}

#[test]
fn metadata_interval_refreshes_every_metric_whatever_the_group_schedule() {
    let catalog = vec![def("disk_total")];
    let slow = GroupSpec {
        collect_once: false,
        collect_every: 1800,
        time_threshold: 3600,
        metrics: vec![metric("disk_total", 1.0, None)],
    };
    let mut s = Scheduler::new(&[slow], &catalog, Sender::plain("n"), 30).unwrap();
    let mut smp = Fixed(HashMap::from([("disk_total".to_string(), 100.0)]));
    let mut out = Vec::new();
    s.tick(1000, &mut smp, &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(s.next_deadline(), 1030);
    out.clear();
    s.tick(1030, &mut smp, &mut out);
    assert_eq!(
        summary(&out),
        vec![(128, "disk_total".into()), (134, "disk_total".into())]
    );
    out.clear();
    s.tick(1045, &mut smp, &mut out);
    assert!(out.is_empty());
}

#[test]
fn prefix_and_regex_matching_with_title_backrefs() {
    let catalog = vec![def("cpu_user"), def("cpu_idle"), def("load_one")];
    let g = GroupSpec {
        collect_once: true,
        collect_every: 60,
        time_threshold: 60,
        metrics: vec![
            metric("CPU_", -1.0, None),
            GroupMetricSpec {
                name: None,
                name_match: Some("^load_(.*)$".into()),
                value_threshold: -1.0,
                title: Some("Load \\1".into()),
            },
            metric("nothing_like_this", -1.0, None),
        ],
    };
    let s = Scheduler::new(&[g], &catalog, Sender::plain("n"), 0).unwrap();
    let got: Vec<_> = s
        .metrics()
        .map(|(d, t)| (d.name.clone(), t.to_owned()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("cpu_user".into(), "cpu_user".into()),
            ("cpu_idle".into(), "cpu_idle".into()),
            ("load_one".into(), "Load one".into())
        ]
    );
    assert_eq!(s.unmatched(), ["nothing_like_this".to_string()]);
    let bad = GroupSpec {
        metrics: vec![GroupMetricSpec {
            name: None,
            name_match: Some("(".into()),
            value_threshold: -1.0,
            title: None,
        }],
        ..cpu_group()
    };
    assert!(matches!(
        Scheduler::new(&[bad], &catalog, Sender::plain("n"), 0),
        Err(ScheduleError::BadPattern { .. })
    ));
}

#[test]
fn collect_once_groups_are_sampled_once_and_resent() {
    let catalog = vec![def("cpu_user")];
    let g = GroupSpec {
        collect_once: true,
        collect_every: 10,
        time_threshold: 20,
        metrics: vec![metric("cpu_user", -1.0, None)],
    };
    let mut s = Scheduler::new(&[g], &catalog, Sender::plain("n"), 0).unwrap();
    struct Count(u32);
    impl Sampler for Count {
        fn sample(&mut self, _: &str, _: u64) -> Option<Value> {
            self.0 += 1;
            Some(Value::Float(self.0 as f32))
        }
    }
    let mut c = Count(0);
    let mut out = Vec::new();
    for now in (0..100).step_by(10) {
        s.tick(now, &mut c, &mut out);
    }
    assert_eq!(c.0, 1);
    assert_eq!(out.len(), 1 + 5, "metadata once, value every 20 s");
}
