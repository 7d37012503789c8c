use super::*;
use crate::conf::MemFs;
use std::net::IpAddr;

fn parse(text: &str) -> Result<GmondConfig, ConfError> {
    parse_gmond_str(text, "gmond.conf", &MemFs::new())
}

fn err(text: &str) -> String {
    parse(text).expect_err("should fail").to_string()
}

#[test]
fn defaults() {
    let c = parse("").unwrap();
    let d = GmondConfig {
        files: vec!["gmond.conf".into()],
        ..GmondConfig::default()
    };
    assert_eq!(c, d);
    let g = &c.globals;
    assert!(g.daemonize && g.setuid && !g.mute && !g.deaf && g.allow_extra_data && !g.gexec);
    assert_eq!(
        (g.user.as_str(), g.debug_level, g.max_udp_msg_len),
        ("nobody", 0, 1472)
    );
    assert_eq!(
        (
            g.host_dmax,
            g.host_tmax,
            g.cleanup_threshold,
            g.send_metadata_interval
        ),
        (86400, 20, 300, 0)
    );
    assert_eq!(
        (&g.module_dir, &g.override_hostname, &g.override_ip, &g.tags),
        (&None, &None, &None, &None)
    );
    assert_eq!(c.cluster.name, "unspecified");
    assert_eq!(c.cluster.url, "unspecified");
    assert_eq!(c.host.location, "unspecified");
    assert_eq!(c.sflow.udp_port, 6343);
    assert!(c.sflow.accept_vm_metrics && !c.sflow.multiple_jvm_instances);
    assert!(
        c.udp_send_channels.is_empty() && c.modules.is_empty() && c.collection_groups.is_empty()
    );
}

#[test]
fn syntax_features() {
    let text = r#"
# hash comment
// slash comment
/* block
   comment */ GLOBALS {
  Daemonize = NO ; setuid = Off, user = 'gan\'glia'
  debug_level = "3"   # quoted number
  host_dmax = 0x10
  override_hostname = "a\tb\x41\101\"q\\"
  tags = bare/word:with.dots
  override_ip = '1.2.3.4'
}
cluster { name = "my cluster" owner = o latlong = "N1 W2" url = http://x/y }
Collection_Group { collect_once = TRUE metric { name = m VALUE_THRESHOLD = 2.5e1 title = "T" } }
"#;
    let c = parse(text).unwrap();
    assert!(!c.globals.daemonize && !c.globals.setuid);
    assert_eq!(c.globals.user, "gan'glia");
    assert_eq!(c.globals.debug_level, 3);
    assert_eq!(c.globals.host_dmax, 16);
    assert_eq!(c.globals.override_hostname.as_deref(), Some("a\tbAA\"q\\"));
    assert_eq!(c.globals.tags.as_deref(), Some("bare/word:with.dots"));
    assert_eq!(c.globals.override_ip.as_deref(), Some("1.2.3.4"));
    assert_eq!(c.cluster.name, "my cluster");
    assert_eq!(c.cluster.url, "http://x/y");
    assert!(c.collection_groups[0].collect_once);
    assert_eq!(
        c.collection_groups[0].metrics[0].value_threshold,
        Some(25.0)
    );
    // Single quotes keep unknown escapes.
    let c = parse(r"host { location = 'a\nb' }").unwrap();
    assert_eq!(c.host.location, "a\\nb");
    // Multi-line quoted strings are allowed.
    let c = parse("host { location = \"a\nb\" }").unwrap();
    assert_eq!(c.host.location, "a\nb");
}

#[test]
fn channels_acl_and_modules() {
    let text = r#"
udp_send_channel { host = 10.0.0.1 port = 8649 ttl = 2 bind_hostname = yes mcast_if = eth0 }
udp_send_channel { mcast_join = 239.2.11.71 port = "8650" bind = 10.0.0.2 }
udp_recv_channel {
  port = 8649 family = inet6 retry_bind = no buffer = 10485760 mcast_if = eth1
  acl {
    default = "deny"
    access { ip = 127.0.0.1 mask = 32 action = "allow" }
    access { ip = ::1 mask = 128 action = allow }
  }
}
tcp_accept_channel { port = 8649 gzip_output = yes timeout = 1000000 interface = eth0 bind = 127.0.0.1
  acl { default = allow access { ip = 10.0.0.0 mask = 8 action = deny } } }
tcp_accept_channel { port = 8650 timeout = -1 }
modules {
  module { name = "core_metrics" }
  module { name = "python_module" language = "C" path = "modpython.so" params = "/usr/lib/ganglia/python_modules" enabled = no
    param RefreshRate { value = 10 }
    param "Other" { value = x }
    param refreshrate { value = 20 }
  }
}
modules { module { name = extra } }
sflow { udp_port = 6344 accept_jvm_metrics = no multiple_http_instances = yes }
"#;
    let c = parse(text).unwrap();
    let s = &c.udp_send_channels;
    assert_eq!(s.len(), 2);
    assert_eq!(
        (
            s[0].host.as_deref(),
            s[0].port,
            s[0].ttl,
            s[0].bind_hostname
        ),
        (Some("10.0.0.1"), Some(8649), 2, true)
    );
    assert_eq!(s[0].mcast_if.as_deref(), Some("eth0"));
    assert_eq!(
        (s[1].mcast_join.as_deref(), s[1].port, s[1].ttl),
        (Some("239.2.11.71"), Some(8650), 1)
    );
    let r = &c.udp_recv_channels[0];
    assert_eq!(
        (r.port, r.family, r.retry_bind, r.buffer),
        (Some(8649), Family::Inet6, false, 10485760)
    );
    let acl = r.acl.as_ref().unwrap();
    assert_eq!(acl.default, AclAction::Deny);
    assert_eq!(acl.access.len(), 2);
    assert!(acl.allows("127.0.0.1".parse::<IpAddr>().unwrap()));
    assert!(acl.allows("::1".parse::<IpAddr>().unwrap()));
    assert!(!acl.allows("10.0.0.1".parse::<IpAddr>().unwrap()));
    let t = &c.tcp_accept_channels;
    assert_eq!(
        (t[0].port, t[0].gzip_output, t[0].timeout),
        (Some(8649), true, Some(1_000_000))
    );
    assert_eq!(
        (t[0].interface.as_deref(), t[0].bind.as_deref()),
        (Some("eth0"), Some("127.0.0.1"))
    );
    assert!(
        !t[0]
            .acl
            .as_ref()
            .unwrap()
            .allows("10.1.1.1".parse::<IpAddr>().unwrap())
    );
    assert!(
        t[0].acl
            .as_ref()
            .unwrap()
            .allows("11.1.1.1".parse::<IpAddr>().unwrap())
    );
    assert_eq!(
        (t[1].timeout, t[1].gzip_output, t[1].family),
        (None, false, Family::Inet4)
    );
    assert_eq!(c.modules.len(), 3, "repeated modules sections merge");
    let m = &c.modules[1];
    assert_eq!(m.language.as_deref(), Some("C"));
    assert!(!m.enabled && c.modules[0].enabled);
    assert_eq!(m.params.as_deref(), Some("/usr/lib/ganglia/python_modules"));
    assert_eq!(m.param.len(), 2);
    assert_eq!(
        (m.param[0].name.as_str(), m.param[0].value.as_deref()),
        ("refreshrate", Some("20"))
    );
    assert_eq!(
        (m.param[1].name.as_str(), m.param[1].value.as_deref()),
        ("Other", Some("x"))
    );
    assert_eq!(c.modules[2].name.as_deref(), Some("extra"));
    assert_eq!(c.sflow.udp_port, 6344);
    assert!(
        !c.sflow.accept_jvm_metrics && c.sflow.multiple_http_instances && c.sflow.accept_vm_metrics
    );
}

#[test]
fn single_sections_merge_and_options_override() {
    let c =
        parse("globals { user = a mute = yes } globals { user = b } cluster { name = x name = y }")
            .unwrap();
    assert_eq!(c.globals.user, "b");
    assert!(c.globals.mute);
    assert_eq!(c.cluster.name, "y");
    let c = parse("collection_group { metric { name = a value_threshold = -1 } metric { name_match = \"^b(.*)\" title = \"B \\\\1\" } }").unwrap();
    let g = &c.collection_groups[0];
    assert_eq!(
        (g.collect_once, g.collect_every, g.time_threshold),
        (false, 60, 3600)
    );
    assert_eq!(g.metrics[0].value_threshold, None);
    assert_eq!(g.metrics[1].name_match.as_deref(), Some("^b(.*)"));
    assert_eq!(g.metrics[1].title.as_deref(), Some("B \\1"));
    let c = parse("udp_recv_channel { port = -1 }").unwrap();
    assert_eq!(c.udp_recv_channels[0].port, None);
}

#[test]
fn errors_with_positions() {
    let cases: &[(&str, &str)] = &[
        (
            "globals {\n  x = 1 /* never closed\n",
            "gmond.conf:2:9: unterminated comment",
        ),
        (
            "host { location = \"abc\n}\n",
            "gmond.conf:1:19: unterminated string",
        ),
        (
            "host { location = 'abc }",
            "gmond.conf:1:19: unterminated string",
        ),
        (
            "globals {\n  bogus = 1\n}",
            "gmond.conf:2:3: unknown option 'bogus' in section 'globals'",
        ),
        (
            "bogus { }",
            "gmond.conf:1:1: unknown section 'bogus' in top level",
        ),
        (
            "globals { user { } }",
            "gmond.conf:1:11: 'user' is an option: write `name = value`",
        ),
        (
            "globals = 1",
            "gmond.conf:1:1: 'globals' is a section: write `name { ... }`",
        ),
        (
            "udp_send_channel {\n    port = \"abc\"\n}",
            "gmond.conf:2:5: option 'port' expects an integer, got \"abc\"",
        ),
        (
            "globals { host_dmax = 12x }",
            "gmond.conf:1:11: option 'host_dmax' expects a non-negative integer, got \"12x\"",
        ),
        (
            "globals { debug_level = abc }",
            "gmond.conf:1:11: option 'debug_level' expects a non-negative integer, got \"abc\"",
        ),
        (
            "udp_recv_channel { port = 70000 }",
            "gmond.conf:1:20: option 'port' expects a port number (0-65535), got \"70000\"",
        ),
        (
            "globals { mute = maybe }",
            "gmond.conf:1:11: option 'mute' expects a boolean (yes/no, true/false, on/off), got \"maybe\"",
        ),
        (
            "collection_group { metric { value_threshold = x } }",
            "gmond.conf:1:29: option 'value_threshold' expects a number, got \"x\"",
        ),
        (
            "globals {\n  mute = no\n",
            "gmond.conf:3:1: missing '}' closing section 'globals' opened at line 1, column 1",
        ),
        (
            "globals { mute = no } }",
            "gmond.conf:1:23: unexpected '}', expected an option or section name",
        ),
        (
            "globals { mute no }",
            "gmond.conf:1:19: unexpected '}', expected '{' after 'mute no'",
        ),
        (
            "globals { mute = }",
            "gmond.conf:1:18: unexpected '}', expected a value",
        ),
        (
            "globals { mute = { a } }",
            "gmond.conf:1:18: 'mute' takes a single value, not a list",
        ),
        (
            "udp_send_channel { bind = 1.2.3.4 bind_hostname = yes }",
            "gmond.conf:1:1: option 'bind_hostname': udp_send_channel cannot have both 'bind' and 'bind_hostname = yes'",
        ),
        (
            "udp_recv_channel { family = inet5 }",
            "gmond.conf:1:20: option 'family' expects \"inet4\" or \"inet6\", got \"inet5\"",
        ),
        (
            "udp_recv_channel { acl { access { ip = nope } } }",
            "gmond.conf:1:35: option 'ip' expects an IP address, got \"nope\"",
        ),
        (
            "udp_recv_channel { acl { access { ip = 1.2.3.4 mask = 33 } } }",
            "gmond.conf:1:48: option 'mask': prefix length 33 is out of range 0-32",
        ),
        (
            "udp_recv_channel { acl { access { mask = 3 } } }",
            "gmond.conf:1:26: option 'ip': every access entry needs an 'ip'",
        ),
        (
            "udp_recv_channel { acl { default = maybe } }",
            "gmond.conf:1:26: option 'default' expects \"allow\" or \"deny\", got \"maybe\"",
        ),
        (
            "modules { module { param { value = 1 } } }",
            "gmond.conf:1:20: 'param' needs a title: write `param NAME { value = ... }`",
        ),
        (
            "modules { module title { } }",
            "gmond.conf:1:11: 'module' is a section without a title",
        ),
        (
            "include (\"/nope.conf\")",
            "gmond.conf:1:10: invalid include path \"/nope.conf\"",
        ),
        (
            "include (a, b)",
            "gmond.conf:1:1: option 'include': expects exactly one path, got 2 arguments",
        ),
        (
            "foo (a)",
            "gmond.conf:1:1: unknown option 'foo' in functions",
        ),
        (
            "include (a",
            "gmond.conf:1:11: unexpected end of file, expected ',' or ')'",
        ),
        (
            "= 3",
            "gmond.conf:1:1: unexpected '=', expected an option or section name",
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
fn includes() {
    let fs = MemFs::new()
        .with(
            "/etc/ganglia/conf.d/b.conf",
            "modules { module { name = b } }",
        )
        .with(
            "/etc/ganglia/conf.d/a.conf",
            "modules { module { name = a } }\ninclude ('/etc/ganglia/extra.conf')",
        )
        .with("/etc/ganglia/conf.d/.hidden.conf", "bogus { }")
        .with("/etc/ganglia/conf.d/c.pyconf", "bogus { }")
        .with("/etc/ganglia/extra.conf", "globals { user = extra }")
        .with("/etc/ganglia/conf.d/sub/d.conf", "bogus { }");
    let c = parse_gmond_str(
        "include ('/etc/ganglia/conf.d/*.conf')\nhost { location = x }",
        "main",
        &fs,
    )
    .unwrap();
    let names: Vec<_> = c
        .modules
        .iter()
        .map(|m| m.name.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(c.globals.user, "extra");
    assert_eq!(
        c.files,
        [
            "main",
            "/etc/ganglia/conf.d/a.conf",
            "/etc/ganglia/extra.conf",
            "/etc/ganglia/conf.d/b.conf"
        ]
    );
    // No match for a wildcard is fine.
    let c = parse_gmond_str("include ('/none/*.conf')", "main", &fs).unwrap();
    assert_eq!(c.files, ["main"]);
    // An existing path is included even with a wildcard character in its name.
    let fs2 = MemFs::new().with("/x/[a].conf", "host { location = bracket }");
    let c = parse_gmond_str("include (\"/x/[a].conf\")", "main", &fs2).unwrap();
    assert_eq!(c.host.location, "bracket");
    // Errors inside an included file carry that file's name.
    let fs3 = MemFs::new().with("/inc.conf", "\n\n  bogus = 1");
    let e = parse_gmond_str("include ('/inc.conf')", "main", &fs3)
        .unwrap_err()
        .to_string();
    assert_eq!(e, "/inc.conf:3:3: unknown option 'bogus' in top level");
}

#[test]
fn include_cycles_and_depth() {
    let fs = MemFs::new()
        .with("a", "include ('b')")
        .with("b", "include ('a')");
    let e = parse_gmond_str("include ('a')", "main", &fs).unwrap_err();
    assert_eq!(e.kind, ConfErrorKind::IncludeCycle("a".into()));
    assert_eq!(
        e.to_string(),
        "b:1:10: include cycle: \"a\" is already being read"
    );
    let fs = MemFs::new().with("self", "include ('self')");
    let e = parse_gmond_str("include ('self')", "self", &fs).unwrap_err();
    assert!(matches!(e.kind, ConfErrorKind::IncludeCycle(_)));
    let mut fs = MemFs::new();
    for i in 0..40 {
        fs.insert(&format!("f{i}"), &format!("include ('f{}')", i + 1));
    }
    fs.insert("f40", "");
    let e = parse_gmond_str("include ('f0')", "main", &fs).unwrap_err();
    assert!(matches!(e.kind, ConfErrorKind::IncludeDepth(_)), "{e}");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let text = "a {".repeat(10_000);
    assert!(matches!(
        parse(&text).unwrap_err().kind,
        ConfErrorKind::TooDeep
    ));
}
