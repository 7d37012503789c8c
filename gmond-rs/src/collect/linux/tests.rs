use super::*;

const STAT: &str = "cpu  100 10 50 800 20 5 5 10 3 1\ncpu0 50 5 25 400 10 2 3 5 1 0\nintr 1 2 3\nbtime 1700000000\n";

#[test]
fn proc_stat_and_cpu_percentages() {
    let (cpu, btime) = parse_proc_stat(STAT);
    let cpu = cpu.unwrap();
    assert_eq!(
        (cpu.v[0], cpu.v[9], cpu.total(), btime),
        (100, 1, 1000, Some(1_700_000_000))
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stat"), STAT).unwrap();
    let mut h = HostMetrics::new(Roots {
        proc: dir.path().into(),
        sys: dir.path().into(),
    });
    // First sample: since boot.
    assert_eq!(h.sample("cpu_user", 1), Some(Value::Float(10.0)));
    assert_eq!(
        h.sample("cpu_system", 1),
        Some(Value::Float(6.0)),
        "system + irq + softirq"
    );
    assert_eq!(h.sample("cpu_wio", 1), Some(Value::Float(2.0)));
    std::fs::write(
        dir.path().join("stat"),
        "cpu  150 10 50 850 20 5 5 10 3 1\nbtime 1700000000\n",
    )
    .unwrap();
    assert_eq!(
        h.sample("cpu_user", 1),
        Some(Value::Float(10.0)),
        "same second: cached"
    );
    assert_eq!(h.sample("cpu_user", 2), Some(Value::Float(50.0)));
    assert_eq!(h.sample("cpu_idle", 2), Some(Value::Float(50.0)));
    assert_eq!(
        h.sample("cpu_aidle", 2),
        Some(Value::Float((850.0f64 / 1100.0 * 100.0) as f32))
    );
    assert_eq!(h.sample("boottime", 2), Some(Value::UInt(1_700_000_000)));
}

#[test]
fn meminfo_loadavg_netdev_mounts() {
    let m =
        parse_meminfo("MemTotal:       24684084 kB\nMemFree:  100 kB\nHugePages_Total:       0\n");
    assert_eq!(
        (m["MemTotal"], m["MemFree"], m.get("MemShared")),
        (24684084.0, 100.0, None)
    );
    assert_eq!(
        parse_loadavg("0.34 0.77 0.58 2/95 1234\n"),
        Some(([0.34, 0.77, 0.58], 2, 95))
    );
    assert_eq!(parse_loadavg("garbage"), None);
    let dev = "Inter-|   Receive |  Transmit\n face |bytes packets ...\n    lo: 999 9 0 0 0 0 0 0 999 9 0 0 0 0 0 0\n  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\neth0.5: 7 7 0 0 0 0 0 0 7 7 0 0 0 0 0 0\n bond0: 5 5 0 0 0 0 0 0 5 5 0 0 0 0 0 0\n  eth1: 1 1 0 0 0 0 0 0 2 2 0 0 0 0 0 0\n";
    assert_eq!(parse_net_dev(dev), [1001, 11, 2002, 22]);
    let mounts = "/dev/vda / ext4 rw,relatime 0 0\nproc /proc proc rw 0 0\n/dev/vda /again ext4 rw 0 0\n/dev/vdb /ro ext4 ro 0 0\nhost:/x /nfs nfs rw 0 0\n/dev/vdc /my\\040disk xfs rw 0 0\n";
    assert_eq!(parse_mounts(mounts), ["/", "/my disk"]);
}

#[test]
fn missing_mem_shared_is_zero_and_net_rates_need_two_samples() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("meminfo"), "MemTotal: 10 kB\n").unwrap();
    std::fs::create_dir_all(dir.path().join("net")).unwrap();
    std::fs::write(
        dir.path().join("net/dev"),
        "h\nh\n eth0: 100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0\n",
    )
    .unwrap();
    let mut h = HostMetrics::new(Roots {
        proc: dir.path().into(),
        sys: dir.path().into(),
    });
    assert_eq!(h.sample("mem_shared", 1), Some(Value::Float(0.0)));
    assert_eq!(h.sample("bytes_in", 1), Some(Value::Float(0.0)));
    std::thread::sleep(std::time::Duration::from_millis(50));
    std::fs::write(
        dir.path().join("net/dev"),
        "h\nh\n eth0: 200 2 0 0 0 0 0 0 100 1 0 0 0 0 0 0\n",
    )
    .unwrap();
    let Some(Value::Float(rate)) = h.sample("bytes_in", 2) else {
        panic!()
    };
    assert!(rate > 100.0, "{rate}");
    assert_eq!(h.sample("no_such_metric", 2), None);
}

#[test]
fn every_default_metric_has_a_sane_live_value_here() {
    let mut h = HostMetrics::new(Roots::default());
    for name in crate::collect::defs::DEFAULT_35 {
        if name == "gexec" {
            continue; // a core metric: the agent answers it
        }
        let v = h
            .sample(name, 100)
            .unwrap_or_else(|| panic!("{name} has no value on this machine"));
        let def = crate::collect::defs::lookup(name).unwrap();
        let f = v.as_f64();
        match def.units {
            "%" => assert!((0.0..=100.0).contains(&f.unwrap()), "{name} = {v:?}"),
            _ if def.metric_type != ganglia_proto::MetricType::String => {
                assert!(f.unwrap() >= 0.0, "{name} = {v:?}")
            }
            _ => {}
        }
    }
    assert!(matches!(h.sample("cpu_num", 1), Some(Value::UShort(n)) if n >= 1));
    assert!(matches!(h.sample("mem_total", 1), Some(Value::Float(v)) if v > 0.0));
    assert_eq!(h.sample("os_name", 1), Some(Value::Str("Linux".into())));
}

#[test]
fn definitions_match_the_reference() {
    use crate::collect::defs::{DEFAULT_35, lookup};
    assert_eq!(DEFAULT_35.len(), 35);
    for n in DEFAULT_35 {
        assert!(lookup(n).is_some(), "{n}");
    }
    let l = lookup("load_one").unwrap();
    assert_eq!(
        (
            l.tmax,
            l.metric_type,
            l.units,
            l.slope,
            l.fmt,
            l.desc,
            l.group
        ),
        (
            70,
            ganglia_proto::MetricType::Float,
            " ",
            ganglia_proto::Slope::Both,
            "%.2f",
            "One minute load average",
            "load"
        )
    );
    assert_eq!(lookup("proc_run").unwrap().units, " ");
    assert_eq!(
        lookup("cpu_num").unwrap().metric_type,
        ganglia_proto::MetricType::UInt16
    );
    assert_eq!(
        lookup("disk_total").unwrap().metric_type,
        ganglia_proto::MetricType::Double
    );
    // Every metric named by the default groups is defined.
    for g in crate::collect::groups::DEFAULT_GROUPS {
        for (n, _, _) in g.metrics {
            assert!(lookup(n).is_some(), "{n}");
        }
    }
}
