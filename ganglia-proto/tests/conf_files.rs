//! The configuration files shipped by Debian's Ganglia 3.7.2 parse to the expected values;
//! includes work through the real file system; no input makes either parser panic.

use ganglia_proto::conf::gmetad::{self, GmetadConfig, SourceAddr, TrustedHost};
use ganglia_proto::conf::gmond::{self, CollectionGroup, GmondConfig};
use ganglia_proto::conf::{ConfErrorKind, MemFs};
use proptest::prelude::*;
use std::path::Path;

fn data(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/conf")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The Debian layout in memory: /etc/ganglia/conf.d holds modpython.conf and a .pyconf.
fn debian_fs() -> MemFs {
    MemFs::new()
        .with(
            "/etc/ganglia/conf.d/modpython.conf",
            &data("conf.d/modpython.conf"),
        )
        .with(
            "/etc/ganglia/conf.d/diskfree.pyconf",
            &data("conf.d/diskfree.pyconf"),
        )
}

/// (name, value_threshold, title) of a group's metric.
type MetricRow<'a> = (&'a str, Option<f64>, Option<&'a str>);

fn group(g: &CollectionGroup) -> (bool, u64, u64, Vec<MetricRow<'_>>) {
    let metrics = g
        .metrics
        .iter()
        .map(|m| {
            (
                m.name.as_deref().unwrap_or(""),
                m.value_threshold,
                m.title.as_deref(),
            )
        })
        .collect();
    (g.collect_once, g.collect_every, g.time_threshold, metrics)
}

fn check_common_groups(c: &GmondConfig, g2_once: bool, g2_every: u64, g2_threshold: u64) {
    let g = &c.collection_groups;
    assert_eq!(
        group(&g[0]),
        (true, 60, 20, vec![("heartbeat", None, None)])
    );
    let g2 = group(&g[1]);
    assert_eq!((g2.0, g2.1, g2.2), (g2_once, g2_every, g2_threshold));
    let names: Vec<_> = g2.3.iter().map(|m| (m.0, m.2.unwrap_or(""))).collect();
    assert_eq!(
        names,
        [
            ("cpu_num", "CPU Count"),
            ("cpu_speed", "CPU Speed"),
            ("mem_total", "Memory Total"),
            ("swap_total", "Swap Space Total"),
            ("boottime", "Last Boot Time"),
            ("machine_type", "Machine Type"),
            ("os_name", "Operating System"),
            ("os_release", "Operating System Release"),
            ("location", "Location"),
        ]
    );
    assert_eq!(
        group(&g[2]),
        (true, 60, 300, vec![("gexec", None, Some("Gexec Status"))])
    );
    let cpu = group(&g[3]);
    assert_eq!((cpu.0, cpu.1, cpu.2), (false, 20, 90));
    assert_eq!(cpu.3[0], ("cpu_user", Some(1.0), Some("CPU User")));
    assert_eq!(cpu.3[2], ("cpu_idle", Some(5.0), Some("CPU Idle")));
    assert_eq!(cpu.3[4], ("cpu_aidle", Some(5.0), Some("CPU aidle")));
    assert!(cpu.3.iter().all(|m| m.0 != "cpu_intr"), "commented out");
    assert_eq!(
        group(&g[4]),
        (
            false,
            20,
            90,
            vec![
                ("load_one", Some(1.0), Some("One Minute Load Average")),
                ("load_five", Some(1.0), Some("Five Minute Load Average")),
                (
                    "load_fifteen",
                    Some(1.0),
                    Some("Fifteen Minute Load Average")
                ),
            ]
        )
    );
    assert_eq!(
        group(&g[5]),
        (
            false,
            80,
            950,
            vec![
                ("proc_run", Some(1.0), Some("Total Running Processes")),
                ("proc_total", Some(1.0), Some("Total Processes"))
            ]
        )
    );
    let mem = group(&g[6]);
    assert_eq!((mem.1, mem.2, mem.3.len()), (40, 180, 5));
    assert_eq!(mem.3[0], ("mem_free", Some(1024.0), Some("Free Memory")));
    assert_eq!(
        mem.3[4],
        ("swap_free", Some(1024.0), Some("Free Swap Space"))
    );
    assert_eq!(
        group(&g[7]),
        (
            false,
            40,
            300,
            vec![
                ("bytes_out", Some(4096.0), Some("Bytes Sent")),
                ("bytes_in", Some(4096.0), Some("Bytes Received")),
                ("pkts_in", Some(256.0), Some("Packets Received")),
                ("pkts_out", Some(256.0), Some("Packets Sent")),
            ]
        )
    );
    assert_eq!(
        group(&g[8]),
        (
            false,
            1800,
            3600,
            vec![("disk_total", Some(1.0), Some("Total Disk Space"))]
        )
    );
    assert_eq!(
        group(&g[9]),
        (
            false,
            40,
            180,
            vec![
                ("disk_free", Some(1.0), Some("Disk Space Available")),
                ("part_max_used", Some(1.0), Some("Maximum Disk Space Used")),
            ]
        )
    );
}

fn check_channels(c: &GmondConfig) {
    let s = &c.udp_send_channels;
    assert_eq!(s.len(), 1);
    assert_eq!(
        (s[0].mcast_join.as_deref(), s[0].port, s[0].ttl),
        (Some("239.2.11.71"), Some(8649), 1)
    );
    assert!(s[0].host.is_none() && s[0].bind.is_none() && !s[0].bind_hostname);
    let r = &c.udp_recv_channels;
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].mcast_join.as_deref(), r[0].bind.as_deref(), r[0].port),
        (Some("239.2.11.71"), Some("239.2.11.71"), Some(8649))
    );
    assert!(r[0].retry_bind && r[0].acl.is_none());
    assert_eq!(r[0].buffer, 0);
    let t = &c.tcp_accept_channels;
    assert_eq!(t.len(), 1);
    assert_eq!(
        (t[0].port, t[0].gzip_output, t[0].timeout),
        (Some(8649), false, None)
    );
    assert_eq!(c.cluster, gmond::Cluster::default());
    assert_eq!(c.host.location, "unspecified");
}

#[test]
fn debian_gmond_conf() {
    let c = gmond::parse_gmond_str(
        &data("debian-gmond.conf"),
        "/etc/ganglia/gmond.conf",
        &debian_fs(),
    )
    .unwrap();
    let g = &c.globals;
    assert!(g.daemonize && g.setuid && !g.mute && !g.deaf && !g.gexec && g.allow_extra_data);
    assert_eq!(g.user, "ganglia");
    assert_eq!(
        (
            g.debug_level,
            g.max_udp_msg_len,
            g.host_dmax,
            g.host_tmax,
            g.cleanup_threshold
        ),
        (0, 1472, 0, 20, 300)
    );
    check_channels(&c);
    // 8 modules of gmond.conf, then python_module from conf.d/modpython.conf, then diskfree.
    let names: Vec<_> = c
        .modules
        .iter()
        .map(|m| m.name.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        [
            "core_metrics",
            "cpu_module",
            "disk_module",
            "load_module",
            "mem_module",
            "net_module",
            "proc_module",
            "sys_module",
            "python_module",
            "diskfree"
        ]
    );
    assert_eq!(c.modules[0].path, None);
    assert_eq!(
        c.modules[1].path.as_deref(),
        Some("/usr/lib/x86_64-linux-gnu/ganglia/modcpu.so")
    );
    assert_eq!(
        c.modules[8].params.as_deref(),
        Some("/usr/lib/ganglia/python_modules")
    );
    let df = &c.modules[9];
    assert_eq!(df.language.as_deref(), Some("python"));
    assert_eq!(df.param.len(), 2);
    assert_eq!(
        (df.param[0].name.as_str(), df.param[0].value.as_deref()),
        ("mounts", Some("/proc/mounts"))
    );
    // The include comes before the groups in Debian's file, so the .pyconf group is first.
    assert_eq!(c.collection_groups.len(), 11);
    let py = &c.collection_groups[0];
    assert_eq!((py.collect_every, py.time_threshold), (120, 20));
    assert_eq!(py.metrics[0].name_match.as_deref(), Some("disk_free_(.+)"));
    assert_eq!(py.metrics[0].title.as_deref(), Some("Disk free \\1"));
    let rest = GmondConfig {
        collection_groups: c.collection_groups[1..].to_vec(),
        ..c.clone()
    };
    // Debian's G2 is collect_once with time_threshold 1200.
    check_common_groups(&rest, true, 60, 1200);
    assert_eq!(
        c.files,
        [
            "/etc/ganglia/gmond.conf",
            "/etc/ganglia/conf.d/modpython.conf",
            "/etc/ganglia/conf.d/diskfree.pyconf"
        ]
    );
    // Without a conf.d (no match for the wildcard) it parses too.
    let c =
        gmond::parse_gmond_str(&data("debian-gmond.conf"), "gmond.conf", &MemFs::new()).unwrap();
    assert_eq!((c.modules.len(), c.collection_groups.len()), (8, 10));
}

#[test]
fn gmond_t_default_config() {
    let c = gmond::parse_gmond_str(&data("gmond-t.conf"), "gmond -t", &MemFs::new()).unwrap();
    let g = &c.globals;
    assert_eq!(
        *g,
        gmond::Globals::default(),
        "gmond -t writes the built-in defaults"
    );
    check_channels(&c);
    assert_eq!(c.modules.len(), 8);
    assert_eq!(c.modules[1].path.as_deref(), Some("modcpu.so"));
    assert!(c.collection_groups.len() >= 10);
    check_common_groups(&c, false, 60, 60);
    let cpu = &c.collection_groups[3];
    assert!(
        cpu.metrics
            .iter()
            .any(|m| m.name.as_deref() == Some("cpu_steal"))
    );
    assert_eq!(c.sflow, gmond::Sflow::default());
}

#[test]
fn debian_gmetad_conf() {
    let c = gmetad::parse_gmetad_str(
        &data("debian-gmetad.conf"),
        "/etc/ganglia/gmetad.conf",
        &MemFs::new(),
    )
    .unwrap();
    c.validate().unwrap();
    assert_eq!(c.data_sources.len(), 1);
    let d = &c.data_sources[0];
    assert_eq!((d.name.as_str(), d.step), ("this host", 15));
    assert_eq!(
        d.addresses,
        [SourceAddr {
            host: "localhost".into(),
            port: 8649
        }]
    );
    assert_eq!(
        c.trusted_hosts,
        [TrustedHost::Net {
            addr: "127.0.0.1".parse().unwrap(),
            prefix: 32
        }]
    );
    assert_eq!(c.setuid_username, "ganglia");
    let expected = GmetadConfig {
        data_sources: c.data_sources.clone(),
        trusted_hosts: c.trusted_hosts.clone(),
        setuid_username: "ganglia".into(),
        files: vec!["/etc/ganglia/gmetad.conf".into()],
        ..GmetadConfig::default()
    };
    assert_eq!(c, expected, "everything else is the default");
}

#[test]
fn std_fs_includes_from_a_tempdir() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_owned();
    let confd = format!("{d}/conf.d");
    std::fs::create_dir(&confd).unwrap();
    std::fs::write(format!("{confd}/b.conf"), "cluster { owner = b }").unwrap();
    std::fs::write(
        format!("{confd}/a.conf"),
        "cluster { owner = a name = from_a }",
    )
    .unwrap();
    std::fs::write(format!("{confd}/c.txt"), "bogus { }").unwrap();
    std::fs::create_dir(format!("{confd}/sub.conf")).unwrap(); // directories never match
    let main = format!("{d}/gmond.conf");
    std::fs::write(
        &main,
        format!("include ('{confd}/*.conf')\nhost {{ location = here }}"),
    )
    .unwrap();
    let c = gmond::parse_gmond_file(&main).unwrap();
    assert_eq!(
        (
            c.cluster.owner.as_str(),
            c.cluster.name.as_str(),
            c.host.location.as_str()
        ),
        ("b", "from_a", "here")
    );
    assert_eq!(c.files.len(), 3);

    // A cycle through the real file system, spelled differently each time.
    std::fs::write(
        format!("{d}/loop.conf"),
        format!("include ('{d}/./loop.conf')"),
    )
    .unwrap();
    let e = gmond::parse_gmond_file(&format!("{d}/loop.conf")).unwrap_err();
    assert!(matches!(e.kind, ConfErrorKind::IncludeCycle(_)), "{e}");

    // gmetad through the real file system.
    std::fs::write(format!("{confd}/s.gconf"), "data_source s 5 h:1").unwrap();
    let gm = format!("{d}/gmetad.conf");
    std::fs::write(&gm, format!("Include \"{confd}/*.gconf\"\ngridname g")).unwrap();
    let c = gmetad::parse_gmetad_file(&gm).unwrap();
    assert_eq!((c.data_sources[0].step, c.gridname.as_str()), (5, "g"));

    let e = gmond::parse_gmond_file(&format!("{d}/missing.conf")).unwrap_err();
    assert!(matches!(e.kind, ConfErrorKind::Io { .. }));
    assert!(e.pos.is_none());
    let e = gmetad::parse_gmetad_file(&format!("{d}/missing.conf")).unwrap_err();
    assert!(e.to_string().starts_with("cannot read"), "{e}");
}

fn fragments() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "globals",
        "{",
        "}",
        "=",
        "(",
        ")",
        "include",
        "'",
        "\"",
        "\\",
        "/*",
        "*/",
        "//",
        "#",
        "\n",
        " ",
        "udp_recv_channel",
        "acl",
        "access",
        "ip",
        "mask",
        "port",
        "8649",
        "-1",
        "yes",
        "1.5",
        "param",
        "x",
        "data_source",
        "trusted_hosts",
        "RRAs",
        ":",
        "[",
        "]",
        "::1",
        "10.0.0.0/8",
        ",",
        ";",
        "+=",
        "*",
        "collection_group",
        "metric",
        "modules",
        "module",
        "value_threshold",
        "\\\n",
        "0x",
        "é",
    ]);
    prop::collection::vec(pieces, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn gmond_never_panics(text in "\\PC{0,200}") {
        let fs = MemFs::new().with("x", &text);
        let _ = gmond::parse_gmond_str(&text, "x", &fs);
    }

    #[test]
    fn gmond_fragments_never_panic(text in fragments()) {
        let fs = MemFs::new().with("x", &text).with("include", &text);
        let _ = gmond::parse_gmond_str(&text, "x", &fs);
    }

    #[test]
    fn gmetad_never_panics(text in "\\PC{0,200}") {
        let fs = MemFs::new().with("x", &text);
        let _ = gmetad::parse_gmetad_str(&text, "x", &fs);
    }

    #[test]
    fn gmetad_fragments_never_panic(text in fragments()) {
        let fs = MemFs::new().with("x", &text);
        let _ = gmetad::parse_gmetad_str(&text, "x", &fs);
    }

    #[test]
    fn byte_noise_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let text = String::from_utf8_lossy(&bytes);
        let fs = MemFs::new();
        let _ = gmond::parse_gmond_str(&text, "x", &fs);
        let _ = gmetad::parse_gmetad_str(&text, "x", &fs);
    }
}
