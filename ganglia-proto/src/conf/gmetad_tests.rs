use super::*;
use crate::conf::MemFs;

fn parse(text: &str) -> Result<GmetadConfig, ConfError> {
    parse_gmetad_str(text, "gmetad.conf", &MemFs::new())
}

fn err(text: &str) -> String {
    parse(text).expect_err("should fail").to_string()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn addr(host: &str, port: u16) -> SourceAddr {
    SourceAddr {
        host: host.into(),
        port,
    }
}

#[test]
fn defaults() {
    let c = parse("# nothing\n").unwrap();
    assert_eq!(
        c,
        GmetadConfig {
            files: vec!["gmetad.conf".into()],
            ..GmetadConfig::default()
        }
    );
    assert_eq!(c.gridname, "unspecified");
    assert_eq!(
        (
            c.xml_port,
            c.interactive_port,
            c.server_threads,
            c.umask,
            c.debug_level
        ),
        (8651, 8652, 4, 0, 0)
    );
    assert_eq!(c.rras, DEFAULT_RRAS);
    assert!(c.setuid && c.scalable && c.write_rrds && c.case_sensitive_hostnames);
    assert!(
        !c.all_trusted && !c.memcached_include_cluster_in_key && !c.unsummarized_sflow_vm_metrics
    );
    assert_eq!(c.setuid_username, "nobody");
    assert_eq!(c.rrd_rootdir, "/var/lib/ganglia/rrds");
    assert_eq!(
        (c.carbon_port, c.carbon_protocol, c.carbon_timeout),
        (2003, Protocol::Tcp, 500)
    );
    assert_eq!((c.riemann_port, c.riemann_protocol), (5555, Protocol::Udp));
    assert_eq!(c.authority_for("box"), "http://box/ganglia/");
    assert!(c.validate().is_err());
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "gmetad.conf needs at least one data_source"
    );
}

#[test]
fn every_option() {
    let text = r#"
data_source "my cluster" 10 localhost  my.machine.edu:8649  1.2.3.5:8655
Data_Source "another source" 1.3.4.7:8655  1.3.4.8
data_source v6 [::1]:8650 [2001:db8::1] fe80::1 30
gridname "MyGrid"
authority "http://mycluster.org/newprefix/"
trusted_hosts 127.0.0.1 169.229.50.165 my.gmetad.org
trusted_hosts 10.0.0.0/8 2001:db8::/32 ::2
all_trusted off
debug_level 2
xml_port 9651
interactive_port 9652
xml_bind 127.0.0.1
interactive_bind ::
server_threads 10
umask 022
rrd_rootdir "/some/other/place"
rrdcached_address 127.0.0.1:4242
setuid off
setuid_username "ganglia"
scalable off
write_rrds Off
RRAs "RRA:AVERAGE:0.5:1:244" "RRA:AVERAGE:0.5:24:244" \
     "RRA:AVERAGE:0.5:168:244"
case_sensitive_hostnames 0
carbon_server "my.graphite.box"
carbon_port 2004
carbon_protocol udp
carbon_timeout 1000
graphite_prefix "datacenter1.gmetad"
graphite_path "datacenter1.gmetad.%s.%h.%m"
memcached_parameters "--SERVER=127.0.0.1"
memcached_include_cluster_in_key 1
riemann_server "my.riemann.box"
riemann_port 5556
riemann_protocol tcp
riemann_attributes "customer=Acme,environment=Production"
unsummarized_metrics diskstat CPU
unsummarized_metrics vm
unsummarized_sflow_vm_metrics on
summarized_metrics load_one bytes_in
"#;
    let c = parse(text).unwrap();
    c.validate().unwrap();
    assert_eq!(c.data_sources.len(), 3);
    let d = &c.data_sources[0];
    assert_eq!((d.name.as_str(), d.step), ("my cluster", 10));
    assert_eq!(
        d.addresses,
        vec![
            addr("localhost", 8649),
            addr("my.machine.edu", 8649),
            addr("1.2.3.5", 8655)
        ]
    );
    let d = &c.data_sources[1];
    assert_eq!((d.name.as_str(), d.step), ("another source", 15));
    assert_eq!(
        d.addresses,
        vec![addr("1.3.4.7", 8655), addr("1.3.4.8", 8649)]
    );
    let d = &c.data_sources[2];
    assert_eq!(d.step, 15, "only the 2nd token is a step");
    assert_eq!(
        d.addresses,
        vec![
            addr("::1", 8650),
            addr("2001:db8::1", 8649),
            addr("fe80::1", 8649),
            addr("30", 8649)
        ]
    );
    assert_eq!(d.addresses[0].to_string(), "[::1]:8650");
    assert_eq!(c.gridname, "MyGrid");
    assert_eq!(
        c.authority_for("ignored"),
        "http://mycluster.org/newprefix/"
    );
    assert_eq!(c.trusted_hosts.len(), 6);
    assert_eq!(
        c.trusted_hosts[2],
        TrustedHost::Name("my.gmetad.org".into())
    );
    assert_eq!(
        c.trusted_hosts[3],
        TrustedHost::Net {
            addr: ip("10.0.0.0"),
            prefix: 8
        }
    );
    assert!(!c.all_trusted);
    assert_eq!(
        (c.debug_level, c.xml_port, c.interactive_port),
        (2, 9651, 9652)
    );
    assert_eq!(
        (c.xml_bind, c.interactive_bind),
        (Some(ip("127.0.0.1")), Some(ip("::")))
    );
    assert_eq!((c.server_threads, c.umask), (10, 0o22));
    assert_eq!(c.rrd_rootdir, "/some/other/place");
    assert_eq!(c.rrdcached_address.as_deref(), Some("127.0.0.1:4242"));
    assert!(!c.setuid && !c.scalable && !c.write_rrds && !c.case_sensitive_hostnames);
    assert_eq!(c.setuid_username, "ganglia");
    assert_eq!(
        c.rras,
        [
            "RRA:AVERAGE:0.5:1:244",
            "RRA:AVERAGE:0.5:24:244",
            "RRA:AVERAGE:0.5:168:244"
        ]
    );
    assert_eq!(c.carbon_server.as_deref(), Some("my.graphite.box"));
    assert_eq!(
        (c.carbon_port, c.carbon_protocol, c.carbon_timeout),
        (2004, Protocol::Udp, 1000)
    );
    assert_eq!(c.graphite_prefix.as_deref(), Some("datacenter1.gmetad"));
    assert_eq!(
        c.graphite_path.as_deref(),
        Some("datacenter1.gmetad.%s.%h.%m")
    );
    assert_eq!(
        c.memcached_parameters.as_deref(),
        Some("--SERVER=127.0.0.1")
    );
    assert!(c.memcached_include_cluster_in_key);
    assert_eq!(c.riemann_server.as_deref(), Some("my.riemann.box"));
    assert_eq!((c.riemann_port, c.riemann_protocol), (5556, Protocol::Tcp));
    assert_eq!(
        c.riemann_attributes.as_deref(),
        Some("customer=Acme,environment=Production")
    );
    assert_eq!(c.unsummarized_metrics, ["diskstat", "CPU", "vm"]);
    assert!(c.unsummarized_sflow_vm_metrics);
    assert_eq!(c.summarized_metrics, ["load_one", "bytes_in"]);
}

#[test]
fn trust() {
    let c = parse("trusted_hosts 192.0.2.7 10.0.0.0/8 2001:db8::/32 [::5] some.name").unwrap();
    for (peer, want) in [
        ("127.0.0.1", true),
        ("::1", true),
        ("::ffff:127.0.0.1", true),
        ("127.0.0.2", false),
        ("192.0.2.7", true),
        ("::ffff:192.0.2.7", true),
        ("192.0.2.8", false),
        ("10.200.1.1", true),
        ("11.0.0.1", false),
        ("2001:db8:ffff::1", true),
        ("::5", true),
        ("::6", false),
    ] {
        assert_eq!(c.is_trusted(ip(peer)), want, "{peer}");
    }
    for (text, want) in [
        ("on", true),
        ("yes", true),
        ("1", true),
        ("5", true),
        ("off", false),
        ("no", false),
        ("0", false),
    ] {
        let c = parse(&format!("all_trusted {text}")).unwrap();
        assert_eq!(
            c.all_trusted, want,
            "all_trusted {text}: real meaning, not the C quirk"
        );
        assert_eq!(c.is_trusted(ip("203.0.113.1")), want);
    }
    assert_eq!(TrustedHost::parse("10.0.0.0/33"), None);
    assert_eq!(TrustedHost::parse("name/8"), None);
    assert_eq!(
        TrustedHost::parse("::/0"),
        Some(TrustedHost::Net {
            addr: ip("::"),
            prefix: 0
        })
    );
}

#[test]
fn toggles_and_no_token_limit() {
    for (t, want) in [
        ("yes", true),
        ("Y", true),
        ("1", true),
        ("on", true),
        ("ON", true),
        ("true", true),
        ("no", false),
        ("off", false),
        ("0", false),
        ("nope", false),
    ] {
        assert_eq!(
            parse(&format!("setuid {t}")).unwrap().setuid,
            want,
            "setuid {t}"
        );
    }
    for (t, want) in [
        ("off", false),
        ("OFF", false),
        ("no", false),
        ("on", true),
        ("whatever", true),
    ] {
        assert_eq!(
            parse(&format!("scalable {t}")).unwrap().scalable,
            want,
            "scalable {t}"
        );
    }
    let hosts: Vec<String> = (1..=40).map(|i| format!("10.0.0.{i}")).collect();
    let c = parse(&format!(
        "data_source big 20 {}\ntrusted_hosts {}",
        hosts.join(" "),
        hosts.join(" ")
    ))
    .unwrap();
    assert_eq!(c.data_sources[0].addresses.len(), 40);
    assert_eq!(c.trusted_hosts.len(), 40);
    let rras: Vec<String> = (0..32).map(|i| format!("RRA:AVERAGE:0.5:{i}:10")).collect();
    assert_eq!(
        parse(&format!("RRAs {}", rras.join(" ")))
            .unwrap()
            .rras
            .len(),
        32
    );
}

#[test]
fn includes() {
    let fs = MemFs::new()
        .with("/etc/ganglia/gmetad.d/20-b.conf", "data_source b host-b")
        .with(
            "/etc/ganglia/gmetad.d/10-a.conf",
            "data_source a host-a\ninclude \"/etc/ganglia/common.conf\"",
        )
        .with("/etc/ganglia/common.conf", "gridname common")
        .with("/loop.conf", "Include /loop.conf");
    let c = parse_gmetad_str(
        "Include \"/etc/ganglia/gmetad.d/*.conf\"\nxml_port 1",
        "main",
        &fs,
    )
    .unwrap();
    let names: Vec<_> = c.data_sources.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(c.gridname, "common");
    assert_eq!(c.files.len(), 4);
    let e = parse_gmetad_str("include /loop.conf", "main", &fs).unwrap_err();
    assert_eq!(
        e.to_string(),
        "/loop.conf:1:9: include cycle: \"/loop.conf\" is already being read"
    );
    assert!(
        parse_gmetad_str("include /none/*.conf", "main", &fs)
            .unwrap()
            .files
            == ["main"]
    );
}

#[test]
fn errors_with_positions() {
    let many_rras: Vec<String> = (0..33).map(|i| format!("RRA:AVERAGE:0.5:{i}:10")).collect();
    let many = format!("RRAs {}", many_rras.join(" "));
    let cases: Vec<(&str, &str)> = vec![
        (
            "gridname x\n  bogus_option 1",
            "gmetad.conf:2:3: unknown option 'bogus_option' in top level",
        ),
        (
            "xml_port abc",
            "gmetad.conf:1:10: option 'xml_port' expects a port number (0-65535), got \"abc\"",
        ),
        (
            "xml_port 70000",
            "gmetad.conf:1:10: option 'xml_port' expects a port number (0-65535), got \"70000\"",
        ),
        (
            "debug_level -1",
            "gmetad.conf:1:13: option 'debug_level' expects a non-negative integer, got \"-1\"",
        ),
        (
            "server_threads 0",
            "gmetad.conf:1:16: option 'server_threads': must be at least 1",
        ),
        (
            "gridname",
            "gmetad.conf:1:1: option 'gridname' needs an argument",
        ),
        (
            "gridname My Grid",
            "gmetad.conf:1:13: option 'gridname': takes one argument, got 2 (quote values that contain blanks)",
        ),
        (
            "gridname \"My Grid",
            "gmetad.conf:1:10: unterminated string",
        ),
        (
            "all_trusted maybe",
            "gmetad.conf:1:13: option 'all_trusted' expects on/off, yes/no, true/false or an integer, got \"maybe\"",
        ),
        (
            "carbon_protocol sctp",
            "gmetad.conf:1:17: option 'carbon_protocol' expects \"tcp\" or \"udp\", got \"sctp\"",
        ),
        (
            "xml_bind localhost",
            "gmetad.conf:1:10: option 'xml_bind' expects an IP address, got \"localhost\"",
        ),
        (
            "trusted_hosts 10.0.0.0/40",
            "gmetad.conf:1:15: option 'trusted_hosts' expects an address, a network (a.b.c.d/len) or a host name, got \"10.0.0.0/40\"",
        ),
        (
            "trusted_hosts",
            "gmetad.conf:1:1: option 'trusted_hosts' needs at least one host",
        ),
        (
            "data_source",
            "gmetad.conf:1:1: option 'data_source' needs a name and at least one address",
        ),
        (
            "data_source x",
            "gmetad.conf:1:1: option 'data_source' needs a name and at least one address",
        ),
        (
            "data_source x 20",
            "gmetad.conf:1:1: option 'data_source' needs a name and at least one address",
        ),
        (
            "data_source x 0 h",
            "gmetad.conf:1:15: option 'data_source': polling interval of 'x' must be between 1 and 4294967295",
        ),
        (
            "data_source x h:port",
            "gmetad.conf:1:15: option 'data_source' expects an address host[:port] or [ipv6]:port, got \"h:port\"",
        ),
        (
            "data_source x h:0",
            "gmetad.conf:1:15: option 'data_source' expects an address host[:port] or [ipv6]:port, got \"h:0\"",
        ),
        (
            "data_source x [::1",
            "gmetad.conf:1:15: option 'data_source' expects an address host[:port] or [ipv6]:port, got \"[::1\"",
        ),
        (
            "data_source x [::1]x",
            "gmetad.conf:1:15: option 'data_source' expects an address host[:port] or [ipv6]:port, got \"[::1]x\"",
        ),
        (
            "data_source x :8649",
            "gmetad.conf:1:15: option 'data_source' expects an address host[:port] or [ipv6]:port, got \":8649\"",
        ),
        (
            "data_source x a:b:c",
            "gmetad.conf:1:15: option 'data_source' expects an address host[:port] or [ipv6]:port, got \"a:b:c\"",
        ),
        (
            &many,
            "gmetad.conf:1:1: option 'RRAs': at most 32 RRAs, got 33",
        ),
        (
            "RRAs",
            "gmetad.conf:1:1: option 'RRAs' needs at least one argument",
        ),
        (
            "include /missing.conf",
            "gmetad.conf:1:9: invalid include path \"/missing.conf\"",
        ),
    ];
    let bad: Vec<_> = cases
        .iter()
        .filter_map(|(text, want)| {
            let got = err(text);
            (got != *want).then(|| format!("input {text:?}\n   got: {got}\n  want: {want}"))
        })
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_default_rrd_directory_follows_override_root_xdg_then_home() {
    use std::path::PathBuf;
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| std::ffi::OsString::from(v))
        }
    };
    let all = &[
        ("GANGLIA_RS_RRDS", "/srv/rrds"),
        ("XDG_DATA_HOME", "/x"),
        ("HOME", "/h"),
    ];
    assert_eq!(
        default_rrd_rootdir(env(all), true),
        PathBuf::from("/srv/rrds")
    );
    let user = &[("XDG_DATA_HOME", "/x"), ("HOME", "/h")];
    assert_eq!(
        default_rrd_rootdir(env(user), true),
        PathBuf::from("/var/lib/ganglia-rs/rrds")
    );
    assert_eq!(
        default_rrd_rootdir(env(user), false),
        PathBuf::from("/x/ganglia-rs/rrds")
    );
    assert_eq!(
        default_rrd_rootdir(env(&[("HOME", "/h")]), false),
        PathBuf::from("/h/.local/share/ganglia-rs/rrds")
    );
    assert_eq!(
        default_rrd_rootdir(env(&[]), false),
        PathBuf::from("./ganglia-rs/rrds")
    );
}
