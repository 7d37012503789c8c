//! The binaries as an operator runs them: defaults, config errors, signals, example configs.

use ganglia_proto::conf::{StdFs, gmetad as gmetad_conf, gmond as gmond_conf};
use gmond::config::AgentConfig;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::Duration;
use testkit::*;

#[test]
fn the_printed_default_config_is_the_built_in_default() {
    let text = gmond::default_conf::text();
    assert!(text.contains("/* Multicast, as Ganglia's classic default (every node hears every node):\nudp_send_channel {\n  mcast_join = 239.2.11.71"));
    let parsed = gmond_conf::parse_gmond_str(&text, "gmond-rs -t", &StdFs).unwrap();
    assert_eq!(
        AgentConfig::from_gmond_conf(&parsed).unwrap(),
        AgentConfig::standalone()
    );
    let out = Command::new(bin("gmond-rs")).arg("-t").output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), text);
}

#[test]
fn config_errors_name_file_line_and_option() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("bad.conf");
    std::fs::write(
        &conf,
        "globals {\n  daemonize = no\n  send_metadata_intervall = 5\n}\n",
    )
    .unwrap();
    let out = Command::new(bin("gmond-rs"))
        .arg("-f")
        .arg("-c")
        .arg(&conf)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("bad.conf:3:") && err.contains("send_metadata_intervall"),
        "{err}"
    );
    std::fs::write(&conf, "data_source \"a\" 127.0.0.1:1\nxml_prot 8651\n").unwrap();
    let out = Command::new(bin("gmetad-rs"))
        .arg("-c")
        .arg(&conf)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("bad.conf:2:") && err.contains("xml_prot"),
        "{err}"
    );
}

#[test]
fn example_configs_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/conf");
    for f in [
        "gmond-unicast-node.conf",
        "gmond-unicast-aggregator.conf",
        "gmond-multicast.conf",
    ] {
        let p = dir.join(f);
        gmond_conf::parse_gmond_file(p.to_str().unwrap()).unwrap_or_else(|e| panic!("{e}"));
    }
    let agg =
        gmond_conf::parse_gmond_file(dir.join("gmond-unicast-aggregator.conf").to_str().unwrap())
            .unwrap();
    let cfg = AgentConfig::from_gmond_conf(&agg).unwrap();
    assert!(
        cfg.recv[0]
            .acl
            .as_ref()
            .unwrap()
            .allows("10.1.2.3".parse().unwrap())
    );
    assert!(
        !cfg.tcp[0]
            .acl
            .as_ref()
            .unwrap()
            .allows("10.1.2.3".parse().unwrap())
    );
    let g = gmetad_conf::parse_gmetad_file(dir.join("gmetad.conf").to_str().unwrap()).unwrap();
    assert_eq!(
        (g.data_sources.len(), g.data_sources[0].addresses.len()),
        (2, 2)
    );
}

fn signal(child: &std::process::Child, sig: i32) {
    // SAFETY: signalling our own child by pid.
    unsafe { libc::kill(child.id() as i32, sig) };
}

#[test]
fn sighup_reloads_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (udp, tcp) = (free_udp_port(), free_tcp_port());
    let conf = dir.path().join("gmond.conf");
    let write = |cluster: &str| {
        std::fs::write(
            &conf,
            format!(
                "globals {{ daemonize = no  setuid = no }}\ncluster {{ name = \"{cluster}\" }}\n\
                 udp_send_channel {{ host = 127.0.0.1  port = {udp} }}\n\
                 udp_recv_channel {{ bind = 127.0.0.1  port = {udp} }}\n\
                 tcp_accept_channel {{ bind = 127.0.0.1  port = {tcp} }}\n\
                 collection_group {{ collect_every = 1  time_threshold = 5  metric {{ name = \"load_one\" }} }}\n"
            ),
        )
        .unwrap()
    };
    write("before");
    let pid = dir.path().join("gmond.pid");
    let child = Command::new(bin("gmond-rs"))
        .arg("-f")
        .arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg(&pid)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut guard = Proc {
        child,
        name: "gmond-rs",
        log: dir.path().join("none"),
    };
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], tcp));
    let name = || Some(parse(&fetch(addr)?).clusters.first()?.name.clone());
    assert_eq!(
        wait_for(Duration::from_secs(10), name).as_deref(),
        Some("before")
    );
    assert!(pid.exists());
    write("after");
    signal(&guard.child, libc::SIGHUP);
    let reloaded = wait_for(Duration::from_secs(10), || name().filter(|n| n == "after"));
    assert!(reloaded.is_some(), "SIGHUP reloads the configuration");
    // An invalid configuration on SIGHUP is refused; the running one stays.
    std::fs::write(&conf, "globals { bogus = 1 }\n").unwrap();
    signal(&guard.child, libc::SIGHUP);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(name().as_deref(), Some("after"));
    signal(&guard.child, libc::SIGTERM);
    let status = wait_for(Duration::from_secs(5), || {
        guard.child.try_wait().ok().flatten()
    })
    .expect("exits on SIGTERM");
    assert!(status.success());
    assert!(!pid.exists(), "pid file removed");
    let _ = &mut guard;
}

#[test]
fn host_and_metric_caps_come_from_gmond_conf() {
    let text = "globals {\n  max_hosts = 500\n  max_metrics_per_host = 64\n}\nudp_recv_channel { bind = 127.0.0.1  port = 9 }\n";
    let parsed = gmond_conf::parse_gmond_str(text, "caps.conf", &StdFs).unwrap();
    let c = AgentConfig::from_gmond_conf(&parsed).unwrap();
    assert_eq!(
        (c.limits.max_hosts, c.limits.max_metrics_per_host),
        (500, 64)
    );
}

#[test]
fn setuid_drops_to_the_configured_user_after_binding() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return; // only root can change user; CI runs as root
    }
    let dir = tempfile::tempdir().unwrap();
    let (udp, tcp) = (free_udp_port(), free_tcp_port());
    let conf = dir.path().join("gmond.conf");
    std::fs::write(
        &conf,
        format!(
            "globals {{ daemonize = no  setuid = yes  user = nobody }}\n\
             udp_recv_channel {{ bind = 127.0.0.1  port = {udp} }}\n\
             tcp_accept_channel {{ bind = 127.0.0.1  port = {tcp} }}\n"
        ),
    )
    .unwrap();
    let child = Command::new(bin("gmond-rs"))
        .arg("-f")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let p = Proc {
        child,
        name: "gmond-rs",
        log: dir.path().join("none"),
    };
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], tcp));
    wait_for(Duration::from_secs(10), || fetch(addr)).expect("serving after the drop");
    let uid = || {
        let status = std::fs::read_to_string(format!("/proc/{}/status", p.child.id())).ok()?;
        Some(status.lines().find(|l| l.starts_with("Uid:"))?.to_string())
    };
    let dropped = wait_for(Duration::from_secs(5), || {
        uid().filter(|l| l.split_whitespace().skip(1).all(|u| u == "65534"))
    });
    assert!(dropped.is_some(), "still {:?}", uid());
}

/// A daemon started as an init script starts it (it forks and the parent returns at once),
/// inside a private mount namespace whose /dev holds only /dev/null and a /dev/log datagram
/// socket of this test's, so what the detached daemon sends to syslog can be read. Needs root
/// (CI runs as root). Returns the daemon's pid (from its pid file) and the syslog socket.
fn start_detached(
    dir: &std::path::Path,
    exe: &std::path::Path,
    conf: &std::path::Path,
) -> (i32, UnixDatagram) {
    assert!(
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() } == 0,
        "the detached-daemon tests mount a private /dev and need root (CI runs as root)"
    );
    let dev = dir.join("dev");
    std::fs::create_dir_all(&dev).unwrap();
    std::fs::write(dev.join("null"), "").unwrap();
    let log = UnixDatagram::bind(dev.join("log")).unwrap();
    log.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let pid_file = dir.join("daemon.pid");
    let script =
        r#"mount --bind /dev/null "$1/null" && mount --bind "$1" /dev && shift && exec "$@""#;
    let status = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
        .arg(&dev)
        .arg(exe)
        .arg("-c")
        .arg(conf)
        .arg("-p")
        .arg(&pid_file)
        .status()
        .unwrap();
    assert!(status.success(), "the parent returns at once with success");
    let pid: i32 = wait_for(Duration::from_secs(5), || {
        std::fs::read_to_string(&pid_file).ok()?.trim().parse().ok()
    })
    .expect("pid file");
    (pid, log)
}

/// Syslog datagrams received until one contains `want` (bounded by `timeout`).
fn syslog_until(log: &UnixDatagram, want: &str, timeout: Duration) -> Vec<String> {
    let mut got = Vec::new();
    let end = std::time::Instant::now() + timeout;
    let mut buf = [0u8; 4096];
    while std::time::Instant::now() < end && !got.iter().any(|l: &String| l.contains(want)) {
        if let Ok(n) = log.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    got
}

/// SIGTERM to the daemon by its pid; whether it is gone within 5 s.
fn stop_daemon(pid: i32) -> bool {
    // SAFETY: signalling the daemon this test started, by the pid it wrote.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    wait_for(Duration::from_secs(5), || {
        (!std::path::Path::new(&format!("/proc/{pid}")).exists()).then_some(())
    })
    .is_some()
}

/// The daemon's own line in what it sent to syslog: facility daemon, its name and pid.
fn assert_logged(lines: &[String], name: &str, pid: i32, want: &str) {
    let line = lines
        .iter()
        .find(|l| l.contains(want))
        .unwrap_or_else(|| panic!("no syslog line with {want:?}: {lines:?}"));
    // <29> = facility daemon (3) * 8 + severity notice (5), which tracing's INFO maps to.
    assert!(line.starts_with("<29>"), "{line}");
    assert!(line.contains(&format!(" {name}[{pid}]: ")), "{line}");
}

#[test]
fn gmond_rs_daemonizes_writes_the_daemons_pid_and_logs_to_syslog() {
    let dir = tempfile::tempdir().unwrap();
    let (udp, tcp) = (free_udp_port(), free_tcp_port());
    let conf = dir.path().join("gmond.conf");
    std::fs::write(
        &conf,
        format!(
            "globals {{ daemonize = yes  setuid = no }}\n\
             udp_recv_channel {{ bind = 127.0.0.1  port = {udp} }}\n\
             tcp_accept_channel {{ bind = 127.0.0.1  port = {tcp} }}\n"
        ),
    )
    .unwrap();
    let (pid, log) = start_detached(dir.path(), &bin("gmond-rs"), &conf);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], tcp));
    let served = wait_for(Duration::from_secs(10), || fetch(addr));
    let lines = syslog_until(&log, "gmond-rs started", Duration::from_secs(5));
    let gone = stop_daemon(pid);
    assert!(served.is_some(), "the daemon serves XML");
    assert_logged(&lines, "gmond-rs", pid, "gmond-rs started");
    assert!(gone, "the daemon stops on SIGTERM");
}

#[test]
fn gmetad_rs_daemonizes_at_debug_level_0_writes_the_daemons_pid_and_logs_to_syslog() {
    let dir = tempfile::tempdir().unwrap();
    let (px, pi) = (free_tcp_port(), free_tcp_port());
    let conf = dir.path().join("gmetad.conf");
    let rrds = dir.path().join("rrds");
    std::fs::create_dir_all(&rrds).unwrap();
    // A source nobody listens on: the daemon keeps serving its (empty) grid.
    std::fs::write(
        &conf,
        format!(
            "data_source \"s\" 127.0.0.1:1\nxml_port {px}\ninteractive_port {pi}\nxml_bind 127.0.0.1\n\
             interactive_bind 127.0.0.1\nrrd_rootdir \"{}\"\nsetuid off\ngridname \"detached\"\n",
            rrds.display()
        ),
    )
    .unwrap();
    let (pid, log) = start_detached(dir.path(), &bin("gmetad-rs"), &conf);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], px));
    let served = wait_for(Duration::from_secs(10), || fetch(addr));
    let lines = syslog_until(&log, "gmetad-rs started", Duration::from_secs(5));
    let gone = stop_daemon(pid);
    let served = served.expect("the daemon serves 8651");
    assert!(
        String::from_utf8_lossy(&served).contains("<GRID NAME=\"detached\""),
        "its own grid"
    );
    assert_logged(&lines, "gmetad-rs", pid, "gmetad-rs started");
    assert!(gone, "the daemon stops on SIGTERM");
    assert!(
        !dir.path().join("daemon.pid").exists(),
        "and removes its pid file"
    );
}

#[test]
fn gmetad_rs_drops_to_setuid_username_and_writes_as_that_user() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return; // only root can change user; CI runs as root
    }
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let port = free_udp_port();
    let mut c = loopback_agent_config(port);
    c.cluster.name = "su".into();
    c.send = vec![send_to_loopback(port, None)];
    let agent = gmond::agent::Agent::builder(c).spawn().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let rrds = dir.path().join("rrds");
    std::fs::create_dir(&rrds).unwrap();
    std::os::unix::fs::chown(&rrds, Some(65534), Some(65534)).unwrap();
    let (px, pi) = (free_tcp_port(), free_tcp_port());
    let conf = dir.path().join("gmetad.conf");
    std::fs::write(
        &conf,
        format!(
            "data_source \"s\" 2 {}\nxml_port {px}\ninteractive_port {pi}\nxml_bind 127.0.0.1\ninteractive_bind 127.0.0.1\n\
             rrd_rootdir \"{}\"\nRRAs \"RRA:AVERAGE:0.5:1:10\"\nsetuid on\nsetuid_username \"nobody\"\n",
            agent.xml_addrs()[0],
            rrds.display()
        ),
    )
    .unwrap();
    let child = Command::new(bin("gmetad-rs"))
        .arg("-f")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let p = Proc {
        child,
        name: "gmetad-rs",
        log: dir.path().join("none"),
    };
    let file = rrds.join("su/localhost/load_one.rrd");
    let written = wait_for(Duration::from_secs(20), || file.exists().then_some(()));
    let uid = std::fs::read_to_string(format!("/proc/{}/status", p.child.id())).unwrap_or_default();
    drop(p);
    rt.block_on(agent.shutdown());
    assert!(written.is_some(), "RRDs written after dropping privileges");
    assert!(
        uid.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().skip(1).all(|u| u == "65534")),
        "{uid}"
    );
    assert_eq!(
        std::fs::metadata(&file).unwrap().uid(),
        65534,
        "files belong to the setuid user"
    );
}
