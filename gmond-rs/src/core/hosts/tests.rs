use super::*;
use ganglia_proto::xdr::{self, Metadata};

fn meta_msg<'a>(
    host: &'a str,
    name: &'a str,
    spoof: bool,
    extra: Vec<(&'a str, &'a str)>,
) -> Message<'a> {
    Message::Metadata {
        id: MetricId { host, name, spoof },
        meta: Metadata {
            metric_type: "float",
            name,
            units: "%",
            slope: 3,
            tmax: 90,
            dmax: 0,
            extra,
        },
    }
}

fn val_msg<'a>(host: &'a str, name: &'a str, spoof: bool, v: WireValue<'a>) -> Message<'a> {
    Message::Value {
        id: MetricId { host, name, spoof },
        fmt: "%.1f",
        value: v,
    }
}

const SRC: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1));

#[test]
fn fixture_packets_build_a_host() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ganglia-proto/tests/data/xdr");
    let mut t = HostTable::new(Limits::default());
    let mut st = Stats::default();
    let mut actions = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for p in names
        .iter()
        .filter(|p| !p.to_string_lossy().contains("req-"))
    {
        let bytes = std::fs::read(p).unwrap();
        let msg = xdr::decode(&bytes).unwrap();
        actions.push(t.handle(1000, SRC, &msg, &mut st));
    }
    assert_eq!(
        actions[0].resolve,
        Some(SRC),
        "first packet creates the host"
    );
    assert!(actions[1..].iter().all(|a| a.resolve.is_none()));
    let local = t.get("127.0.0.1").unwrap();
    assert!(local.gmond_started > 0, "heartbeat sets GMOND_STARTED");
    let load = &local.metrics["load_one"];
    assert_eq!(&*load.meta.as_ref().unwrap().metric_type, "float");
    assert!(load.val.parse::<f64>().is_ok(), "{}", load.val);
    assert_eq!(local.metrics["fixture_u8"].val, "200");
    assert_eq!(
        &*local.metrics["fixture_u8"].meta.as_ref().unwrap().units,
        "things"
    );
    let spoof = t.get("10.1.2.3").unwrap();
    assert_eq!((spoof.name.as_str(), spoof.spoofed), ("spoofhost", true));
    assert_eq!(spoof.metrics["fixture_spoofed"].val, "42");
    assert_eq!(st.malformed_total(), 0);
}

#[test]
fn value_without_metadata_asks_once_per_interval() {
    let mut t = HostTable::new(Limits::default());
    let mut st = Stats::default();
    let v = val_msg("node1", "temp", false, WireValue::Float(1.5));
    let first = t.handle(100, SRC, &v, &mut st);
    assert_eq!(first.resolve, Some(SRC));
    let mut asked = u32::from(matches!(first.action, Action::RequestMetadata { .. }));
    for now in 101..(100 + REQUEST_INTERVAL) {
        asked += u32::from(matches!(
            t.handle(now, SRC, &v, &mut st).action,
            Action::RequestMetadata { .. }
        ));
    }
    assert_eq!(asked, 1, "one request per interval");
    let again = t.handle(200, SRC, &v, &mut st).action;
    assert_eq!(
        again,
        Action::RequestMetadata {
            host: "node1".into(),
            name: "temp".into(),
            spoof: false
        }
    );
    assert_eq!(t.get("127.0.0.1").unwrap().metrics["temp"].val, "1.5");
}

#[test]
fn spoofing_rules() {
    let mut t = HostTable::new(Limits::default());
    let mut st = Stats::default();
    let m = meta_msg("10.0.0.9:web9", "cpu_user", true, vec![]);
    assert_eq!(
        t.handle(5, SRC, &m, &mut st).resolve,
        None,
        "spoofed hosts are never resolved"
    );
    assert_eq!(t.get("10.0.0.9").unwrap().name, "web9");
    for bad in ["nocolon", ":x", "10.0.0.1:", ""] {
        t.handle(5, SRC, &meta_msg(bad, "m", true, vec![]), &mut st);
    }
    assert_eq!(st.dropped_bad_spoof, 4);
    assert_eq!(
        split_spoof("::1:six"),
        Some((":", "1:six")),
        "first ':' after the first char"
    );
    // Non-spoofed ':' in a name becomes '_' (3.7.2 sanitize_metric_name).
    t.handle(5, SRC, &meta_msg("h", "a:b", false, vec![]), &mut st);
    assert!(t.get("127.0.0.1").unwrap().metrics.contains_key("a_b"));
}

#[test]
fn heartbeat_and_location_update_the_host() {
    let mut t = HostTable::new(Limits::default());
    let mut st = Stats::default();
    t.handle(
        1,
        SRC,
        &Message::Value {
            id: MetricId {
                host: "h",
                name: "heartbeat",
                spoof: false,
            },
            fmt: "%u",
            value: WireValue::UInt(777),
        },
        &mut st,
    );
    t.handle(
        1,
        SRC,
        &Message::Value {
            id: MetricId {
                host: "h",
                name: "location",
                spoof: false,
            },
            fmt: "%s",
            value: WireValue::Str("1,2,3"),
        },
        &mut st,
    );
    let h = t.get("127.0.0.1").unwrap();
    assert_eq!(
        (h.gmond_started, h.location.as_deref()),
        (777, Some("1,2,3"))
    );
    // gmetric -S ip:host -H sends heartbeat as the string "0".
    t.handle(
        1,
        SRC,
        &Message::Value {
            id: MetricId {
                host: "1.2.3.4:x",
                name: "heartbeat",
                spoof: true,
            },
            fmt: "%s",
            value: WireValue::Str("0"),
        },
        &mut st,
    );
    assert_eq!(t.get("1.2.3.4").unwrap().gmond_started, 0);
}

#[test]
fn caps_bound_memory_and_are_counted() {
    let mut t = HostTable::new(Limits {
        max_hosts: 3,
        max_metrics_per_host: 2,
        max_name_len: 8,
    });
    let mut st = Stats::default();
    for i in 0..10 {
        let h = format!("10.0.0.{i}:h{i}");
        t.handle(1, SRC, &meta_msg(&h, "m", true, vec![]), &mut st);
    }
    assert_eq!((t.len(), st.dropped_host_cap), (3, 7));
    for n in ["a", "b", "c", "d"] {
        t.handle(1, SRC, &meta_msg("10.0.0.0:h0", n, true, vec![]), &mut st);
    }
    assert_eq!(st.dropped_metric_cap, 3);
    t.handle(
        1,
        SRC,
        &meta_msg("10.0.0.0:h0", "way_too_long_name", true, vec![]),
        &mut st,
    );
    assert_eq!(st.dropped_bad_name, 1);
    assert_eq!(t.metric_count(), 4);
}

#[test]
fn identical_metadata_is_shared_and_swept() {
    let mut t = HostTable::new(Limits::default());
    let mut st = Stats::default();
    for i in 0..50 {
        let h = format!("10.0.1.{i}:n{i}");
        t.handle(
            1,
            SRC,
            &meta_msg(&h, "load_one", true, vec![("GROUP", "load")]),
            &mut st,
        );
    }
    assert_eq!(t.distinct_metadata(), 1);
    t.cleanup(100_000, 10, &mut st);
    assert_eq!(
        (t.len(), st.hosts_expired, t.distinct_metadata()),
        (0, 50, 0)
    );
}

#[test]
fn metric_dmax_counts_from_the_last_value() {
    let mut t = HostTable::new(Limits::default());
    let mut st = Stats::default();
    let m = Message::Metadata {
        id: MetricId {
            host: "h",
            name: "tmp",
            spoof: false,
        },
        meta: Metadata {
            metric_type: "uint32",
            name: "tmp",
            units: "",
            slope: 3,
            tmax: 60,
            dmax: 100,
            extra: vec![],
        },
    };
    t.handle(0, SRC, &m, &mut st);
    let v = Message::Value {
        id: MetricId {
            host: "h",
            name: "tmp",
            spoof: false,
        },
        fmt: "%u",
        value: WireValue::UInt(1),
    };
    t.handle(90, SRC, &v, &mut st);
    t.cleanup(150, 0, &mut st);
    assert!(
        t.get("127.0.0.1").unwrap().metrics.contains_key("tmp"),
        "value at 90 keeps it alive"
    );
    t.cleanup(191, 0, &mut st);
    assert!(!t.get("127.0.0.1").unwrap().metrics.contains_key("tmp"));
    assert_eq!(st.metrics_expired, 1);
}

#[test]
fn spoofed_hosts_share_metadata_and_keep_their_spoof_host_element() {
    let mut t = HostTable::new(Limits::default());
    let mut st = Stats::default();
    let a = "10.0.0.1:a";
    let b = "10.0.0.2:b";
    for h in [a, b] {
        t.handle(
            1,
            SRC,
            &meta_msg(
                h,
                "m",
                true,
                vec![("GROUP", "g"), ("SPOOF_HOST", h), ("TITLE", "T")],
            ),
            &mut st,
        );
    }
    assert_eq!(t.distinct_metadata(), 1, "one body for both hosts");
    for (key, spoof) in [("10.0.0.1", a), ("10.0.0.2", b)] {
        let host = t.get(key).unwrap();
        let extra: Vec<_> = host.metrics["m"].extra(host).collect();
        assert_eq!(
            extra,
            [("GROUP", "g"), ("SPOOF_HOST", spoof), ("TITLE", "T")]
        );
    }
    // A SPOOF_HOST naming some other host is kept in the body as sent.
    t.handle(
        1,
        SRC,
        &meta_msg(a, "n", true, vec![("SPOOF_HOST", "9.9.9.9:z")]),
        &mut st,
    );
    let host = t.get("10.0.0.1").unwrap();
    assert_eq!(
        host.metrics["n"].extra(host).collect::<Vec<_>>(),
        [("SPOOF_HOST", "9.9.9.9:z")]
    );
}

#[test]
fn repeated_values_are_not_rerendered_but_changes_are() {
    let mut t = HostTable::new(Limits::default());
    let mut st = Stats::default();
    let v = |x: f32, fmt: &'static str| Message::Value {
        id: MetricId {
            host: "h",
            name: "m",
            spoof: false,
        },
        fmt,
        value: WireValue::Float(x),
    };
    t.handle(1, SRC, &v(1.5, "%.1f"), &mut st);
    assert_eq!(t.get("127.0.0.1").unwrap().metrics["m"].val, "1.5");
    t.handle(2, SRC, &v(1.5, "%.1f"), &mut st);
    assert_eq!(t.get("127.0.0.1").unwrap().metrics["m"].val, "1.5");
    t.handle(3, SRC, &v(1.5, "%.3f"), &mut st);
    assert_eq!(
        t.get("127.0.0.1").unwrap().metrics["m"].val,
        "1.500",
        "a new format re-renders"
    );
    t.handle(4, SRC, &v(2.25, "%.3f"), &mut st);
    assert_eq!(
        t.get("127.0.0.1").unwrap().metrics["m"].val,
        "2.250",
        "a new value re-renders"
    );
    let s = Message::Value {
        id: MetricId {
            host: "h",
            name: "m",
            spoof: false,
        },
        fmt: "%s",
        value: WireValue::Str("x"),
    };
    t.handle(5, SRC, &s, &mut st);
    assert_eq!(t.get("127.0.0.1").unwrap().metrics["m"].val, "x");
    t.handle(6, SRC, &v(2.25, "%.3f"), &mut st);
    assert_eq!(
        t.get("127.0.0.1").unwrap().metrics["m"].val,
        "2.250",
        "after a string, numbers render again"
    );
}
