//! The shipped binaries: `relay-rs token`, `relay-rs` refusing bad secret files, and
//! `relay-load` through a running `relay-rs` with its one-line JSON summary.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;
use testkit::{Proc, free_tcp_port, free_udp_port, wait_for};

const RELAY: &str = env!("CARGO_BIN_EXE_relay-rs");
const LOAD: &str = env!("CARGO_BIN_EXE_relay-load");

fn secret(dir: &std::path::Path, text: &str, mode: u32) -> std::path::PathBuf {
    let p = dir.join(format!("secret-{mode:o}-{}", text.len()));
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}

#[test]
fn token_subcommand_and_secret_file_checks() {
    let dir = tempfile::tempdir().unwrap();
    let s = secret(dir.path(), "k3y\n", 0o600);
    let out = Command::new(RELAY)
        .args(["token", "--room", "lobby", "--ttl", "60", "--secret-file"])
        .arg(&s)
        .output()
        .unwrap();
    assert!(out.status.success());
    let tok = String::from_utf8(out.stdout).unwrap();
    let t = relay::core::token::Tokens::new(b"k3y").unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(t.verify(tok.trim(), "lobby", now), Ok(()));
    assert!(
        t.verify(tok.trim(), "lobby", now + 61).is_err(),
        "expires after the ttl"
    );
    for (bad, why) in [
        (secret(dir.path(), "", 0o600), "is empty"),
        (secret(dir.path(), "k3y", 0o644), "world-readable"),
    ] {
        let out = Command::new(RELAY)
            .arg("--secret-file")
            .arg(&bad)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{err}");
    }
}

#[test]
fn relay_load_through_relay_rs_reports_one_json_line() {
    let dir = tempfile::tempdir().unwrap();
    let s = secret(dir.path(), "load-secret", 0o600);
    let control = format!("127.0.0.1:{}", free_tcp_port());
    let relay = Proc::spawn(
        "relay-rs",
        Command::new(RELAY)
            .args(["--control", &control])
            .args(["--media", &format!("127.0.0.1:{}", free_udp_port())])
            .args(["--admin", &format!("127.0.0.1:{}", free_tcp_port())])
            .arg("--no-agent")
            .arg("--secret-file")
            .arg(&s),
        dir.path().join("relay.log"),
    );
    wait_for(Duration::from_secs(10), || {
        std::net::TcpStream::connect(&control).ok()
    })
    .unwrap_or_else(|| panic!("relay-rs did not start: {}", relay.log()));
    let out = Command::new(LOAD)
        .args([
            "--control",
            &control,
            "--rooms",
            "2",
            "--members",
            "3",
            "--seconds",
            "2",
        ])
        .args(["--rate-scale", "0.5", "--secret-file"])
        .arg(&s)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("relay-load: t="),
        "progress lines: {stderr}"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let (sent, expected, delivered) = (
        v["sent"].as_u64().unwrap(),
        v["expected"].as_u64().unwrap(),
        v["delivered"].as_u64().unwrap(),
    );
    // 2 rooms: one video member (25 frames/s × 4 packets) and two audio members (50/s) each,
    // at half rate for 2 s.
    assert!((300..=500).contains(&sent), "{v}");
    assert_eq!(expected, sent * 2);
    assert!(delivered * 100 >= expected * 99, "{v}");
    assert_eq!(v["cross_room"], 0);
    assert!(v["p99_us"].as_u64().unwrap() >= v["p50_us"].as_u64().unwrap());
    drop(relay);
}

#[test]
fn relay_rs_reports_through_the_channels_of_its_gmond_conf() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let mut ac = testkit::loopback_agent_config(0);
    ac.host_metrics = false;
    let agg = gmond::agent::Agent::builder(ac).spawn().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("gmond.conf");
    std::fs::write(
        &conf,
        format!(
            "globals {{ daemonize = no }}\ncluster {{ name = \"relays\" }}\nudp_send_channel {{ host = 127.0.0.1 port = {} }}\n",
            agg.udp_addrs()[0].port()
        ),
    )
    .unwrap();
    let s = secret(dir.path(), "conf-secret", 0o600);
    let control = format!("127.0.0.1:{}", free_tcp_port());
    let relay = Proc::spawn(
        "relay-rs",
        Command::new(RELAY)
            .args(["--control", &control])
            .args(["--media", &format!("127.0.0.1:{}", free_udp_port())])
            .args(["--admin", &format!("127.0.0.1:{}", free_tcp_port())])
            .args(["--metric-every", "1", "--stats-interval", "1"])
            .arg("--gmond-conf")
            .arg(&conf)
            .arg("--secret-file")
            .arg(&s),
        dir.path().join("relay.log"),
    );
    let mut c = wait_for(Duration::from_secs(10), || {
        relay::client::Control::connect(control.parse().unwrap()).ok()
    })
    .unwrap_or_else(|| panic!("relay-rs did not start: {}", relay.log()));
    let t = relay::core::token::Tokens::new(b"conf-secret").unwrap();
    let tok = t.sign("r", u64::MAX / 2, 7);
    c.join("r", &tok, 1, "audio", None, None).unwrap();
    c.join("r", &tok, 2, "video", None, None).unwrap();
    let xml = agg.xml_addrs()[0];
    let seen = wait_for(Duration::from_secs(20), || {
        let d = testkit::parse(&testkit::fetch(xml)?);
        d.clusters
            .iter()
            .flat_map(|c| &c.hosts)
            .flat_map(|h| &h.metrics)
            .find(|m| m.name == "relay_participants" && m.val == "2")
            .map(|m| m.extra("GROUP").unwrap_or_default().to_owned())
    });
    assert_eq!(seen.as_deref(), Some("relay"), "{}", relay.log());
    drop(c);
    drop(relay);
    rt.block_on(agg.shutdown());
}
