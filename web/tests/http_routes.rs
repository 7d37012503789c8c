//! Every route of gweb-rs over HTTP against a real in-process stack (gmond-rs → gmetad-rs with
//! librrd files in a temp dir → gweb-rs): status, content type, CSP, escaping of hostile host,
//! metric, group and cluster names that travelled the real path, path validation, graph
//! content and data exports.

mod common;
use common::*;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Raw hostile fragments that must never appear in HTML.
const RAW: &[&str] = &[
    "<script>alert",
    "<img src=x",
    "<b>grp",
    "<i>title",
    "<i>evil",
    "lab:<&>",
    "desc \"'&<>",
    "<script>v</script>",
];

fn assert_no_raw(path: &str, body: &str) {
    for r in RAW {
        assert!(!body.contains(r), "{path}: raw {r:?} in page:\n{body}");
    }
}

fn ready(st: &Stack) -> String {
    let h = st.own_host();
    let lower = h.to_lowercase();
    wait_rrd(st, &format!("{CLUSTER}/{lower}/load_one.rrd"), 4);
    wait_rrd(st, &format!("{CLUSTER}/__SummaryInfo__/load_one.rrd"), 0);
    wait_rrd(st, "__SummaryInfo__/load_one.rrd", 0);
    h
}

#[test]
fn every_route_answers_with_status_content_type_and_csp() {
    let st = stack(20);
    let host = ready(&st);
    let a = st.web_addr();
    let (c, h) = (enc(CLUSTER), enc(&host));
    let html = "text/html; charset=utf-8";
    let cases: Vec<(String, u16, &str)> = vec![
        ("/".into(), 200, html),
        ("/?r=day&refresh=0".into(), 200, html),
        (format!("/c/{c}"), 200, html),
        (format!("/c/{c}?sort=load&m=load_one&r=week"), 200, html),
        (format!("/c/{c}?sort=down"), 200, html),
        (format!("/c/{c}/h/{h}"), 200, html),
        (
            format!("/c/{c}/h/{h}?r=custom&cs={}&ce={}", now() - 600, now()),
            200,
            html,
        ),
        (format!("/c/{c}/m/load_one"), 200, html),
        ("/relay".into(), 200, html),
        ("/search?q=load".into(), 200, html),
        ("/search".into(), 200, html),
        ("/static/gweb.css".into(), 200, "text/css; charset=utf-8"),
        (
            format!("/graph.png?c={c}&h={h}&m=load_one"),
            200,
            "image/png",
        ),
        (
            format!("/graph.svg?c={c}&h={h}&g=cpu_report&z=large"),
            200,
            "image/svg+xml",
        ),
        (
            format!("/graph.csv?c={c}&h={h}&m=load_one"),
            200,
            "text/csv; charset=utf-8",
        ),
        (
            format!("/graph.json?c={c}&g=load_report"),
            200,
            "application/json",
        ),
        ("/graph.png?g=mem_report&z=small".into(), 200, "image/png"),
        (
            format!("/graph.png?c={c}&g=network_report"),
            200,
            "image/png",
        ),
        // refused or unknown
        ("/c/nosuch".into(), 404, html),
        (format!("/c/{c}/h/nosuch"), 404, html),
        (format!("/c/{c}/m/nosuch"), 404, html),
        (format!("/c/{c}?m=nosuch"), 404, html),
        (format!("/graph.png?c={c}&h={h}&m=nosuch"), 404, html),
        (format!("/graph.png?c={c}&h={h}&g=nosuch_report"), 404, html),
        (format!("/graph.png?c={c}&h={h}"), 400, html),
        ("/graph.png?h=x".into(), 400, html),
        (format!("/graph.png?c={c}&m=load_one&z=huge"), 400, html),
        ("/?r=forever".into(), 400, html),
        ("/?r=custom&cs=now".into(), 400, html),
        ("/?refresh=1".into(), 400, html),
        ("/nothing/here".into(), 404, html),
        ("/favicon.ico".into(), 204, ""),
    ];
    for (path, status, ct) in &cases {
        let r = get(a, path);
        assert_eq!(r.status, *status, "{path}: {}", r.text());
        if !ct.is_empty() {
            assert_eq!(r.header("content-type"), Some(*ct), "{path}");
        }
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("default-src 'none'"), "{path}: CSP {csp:?}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        if ct.starts_with("text/html") {
            assert_no_raw(path, &r.text());
        }
    }
    // The pages link what they show; auto-refresh is a meta refresh (300 s unless chosen).
    let grid = get(a, "/").text();
    assert!(
        grid.contains("http-equiv=\"refresh\" content=\"300\""),
        "{grid}"
    );
    let g30 = get(a, "/?refresh=30").text();
    assert!(
        g30.contains("content=\"30\"") && g30.contains("refresh=30"),
        "{g30}"
    );
    assert!(!get(a, "/?refresh=0").text().contains("http-equiv"));
    assert!(grid.contains(&format!("href=\"/c/{c}?")), "{grid}");
    assert!(grid.contains("/graph.png?g=load_report"), "{grid}");
    let cl = get(a, &format!("/c/{c}")).text();
    assert!(cl.contains(&format!("/c/{c}/h/{h}?")), "{cl}");
    assert!(cl.contains("class=\"tile load-"), "{cl}");
    let hp = get(a, &format!("/c/{c}/h/{h}")).text();
    for want in [
        "String metrics",
        "Operating System",
        "load metrics",
        "cpu_report",
        "One Minute Load Average",
    ] {
        assert!(hp.contains(want), "host page lacks {want:?}");
    }
    wait_rrd(
        &st,
        &format!("{CLUSTER}/__SummaryInfo__/relay_tx_bits.rrd"),
        0,
    );
    let relay = get(a, "/relay").text();
    assert!(
        relay.contains("relay_tx_bits") && relay.contains(&host),
        "{relay}"
    );
    assert!(
        relay.contains(&format!("/graph.png?c={c}&amp;m=relay_tx_bits")),
        "cluster relay totals: {relay}"
    );
    let found = get(a, "/search?q=LOAD_ONE").text();
    assert!(found.contains(&format!("/c/{c}/m/load_one?")), "{found}");
    let found = get(a, &format!("/search?q={}", enc(&host))).text();
    assert!(found.contains(&format!("/c/{c}/h/{h}?")), "{found}");
}

#[test]
fn hostile_names_travel_the_real_path_and_come_out_escaped() {
    let st = stack(20);
    let host = ready(&st);
    let a = st.web_addr();
    let (c, h) = (enc(CLUSTER), enc(&host));
    wait_for(Duration::from_secs(30), || {
        st.send_evil_host(6.0);
        let t = st.tree()?;
        let cl = t.grids.first()?.clusters.first()?;
        (cl.hosts.iter().any(|x| x.name == EVIL_HOST)
            && cl
                .hosts
                .iter()
                .any(|x| x.metrics.iter().any(|m| m.name == EVIL_METRIC)))
        .then_some(())
    })
    .expect("hostile host and metric reach gmetad-rs");
    let hp = get(a, &format!("/c/{c}/h/{h}"));
    assert_eq!(hp.status, 200);
    let body = hp.text();
    assert_no_raw("host page", &body);
    assert!(
        body.contains("&lt;script&gt;alert('m')&amp;x")
            && body.contains("&lt;i&gt;evil title&lt;/i&gt;"),
        "{body}"
    );
    assert!(
        body.contains("&lt;b&gt;grp&quot;'&amp;&lt;/b&gt; metrics"),
        "group heading escaped: {body}"
    );
    assert!(
        body.contains("lab:&lt;&amp;&gt; &quot;q&quot; 'a'"),
        "cluster name escaped"
    );
    // The hostile host has its own page, graphs and entries, all escaped.
    let eh = enc(EVIL_HOST);
    let ep = get(a, &format!("/c/{c}/h/{eh}"));
    assert_eq!(ep.status, 200, "{}", ep.text());
    assert_no_raw("evil host page", &ep.text());
    assert!(
        ep.text()
            .contains("&lt;img src=x onerror=alert(1)&gt;&quot;'&amp;")
    );
    for path in [
        format!("/c/{c}"),
        "/search?q=alert".into(),
        format!("/c/{c}/m/{}", enc(EVIL_METRIC)),
        "/relay".into(),
        "/".into(),
    ] {
        let r = get(a, &path);
        assert_eq!(r.status, 200, "{path}");
        assert_no_raw(&path, &r.text());
    }
    let s = get(a, "/search?q=alert").text();
    assert!(
        s.contains("&lt;img src=x"),
        "hostile host found by search: {s}"
    );
    // The hostile search text itself comes back escaped.
    let q = get(a, &format!("/search?q={}", enc("<script>x</script>\"")));
    assert!(!q.text().contains("<script>x") && q.text().contains("&lt;script&gt;x"));
    // Graphs of hostile names: the file names follow gmetad-rs's layout ('/' → '_').
    wait_rrd(
        &st,
        &format!("{CLUSTER}/{}/{EVIL_METRIC}.rrd", host.to_lowercase()),
        2,
    );
    let g = get(a, &format!("/graph.png?c={c}&h={h}&m={}", enc(EVIL_METRIC)));
    assert_eq!(
        (g.status, g.header("content-type")),
        (200, Some("image/png"))
    );
    let svg = get(a, &format!("/graph.svg?c={c}&h={h}&m={}", enc(EVIL_METRIC)));
    assert_eq!(svg.status, 200);
    let t = svg.text();
    assert!(
        t.contains("<svg") && !t.contains("<script") && !t.contains("<img"),
        "svg text escaped: {t}"
    );
    let csv = get(a, &format!("/graph.csv?c={c}&h={h}&m={}", enc(EVIL_METRIC))).text();
    assert!(
        csv.starts_with("Timestamp,\"<script>alert('m')&x (sum)\""),
        "{csv}"
    );
    let json = get(
        a,
        &format!("/graph.json?c={c}&h={h}&m={}", enc(EVIL_METRIC)),
    );
    let v: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
    assert_eq!(v[0]["metric_name"], EVIL_METRIC);
    assert_eq!(v[0]["cluster_name"], CLUSTER);
}

#[test]
fn path_parameters_never_reach_outside_the_tree() {
    let st = stack(20);
    let host = ready(&st);
    let a = st.web_addr();
    // Files a traversal would find: beside the RRD root and at its top.
    std::fs::write(st.dir.path().join("secret.rrd"), b"secret").unwrap();
    std::fs::copy(
        st.rrds
            .join(format!("{CLUSTER}/{}/load_one.rrd", host.to_lowercase())),
        st.rrds.join("planted.rrd"),
    )
    .unwrap();
    let (c, h) = (enc(CLUSTER), enc(&host));
    let tries = [
        format!("/graph.png?c={c}&h={h}&m=..%2F..%2F..%2Fsecret"),
        format!("/graph.png?c={c}&h={h}&m=../../planted"),
        format!("/graph.csv?c={c}&h=..&m=planted"),
        "/graph.csv?c=..&h=..&m=secret".into(),
        "/graph.csv?c=..&m=secret".into(),
        "/graph.csv?c=.&m=planted".into(),
        "/graph.png?c=%2Fetc&h=passwd&m=x".into(),
        "/graph.png?m=..%2Fplanted".into(),
        format!("/graph.png?c={c}&h={h}&m=%2Fetc%2Fpasswd"),
        "/c/..%2F..%2Fetc/h/passwd".into(),
        "/c/../h/..".into(),
        format!("/c/{c}/h/..%2F..%2F"),
        format!("/c/{c}/m/..%2Fplanted"),
        format!("/c/{c}/m/..%2F..%2Fplanted"),
        "/static/..%2F..%2FCargo.toml".into(),
        "/static/../src/lib.rs".into(),
    ];
    for p in &tries {
        let r = get(a, p);
        assert!(
            matches!(r.status, 400 | 404),
            "{p}: status {} body {}",
            r.status,
            r.text()
        );
        assert!(
            !r.text().contains("secret") || r.text().contains("no metric"),
            "{p}"
        );
        assert_ne!(r.header("content-type"), Some("image/png"), "{p}");
    }
}

#[test]
fn graphs_are_drawn_from_the_rrd_files_and_data_exports_match() {
    let st = stack(20);
    let host = ready(&st);
    let a = st.web_addr();
    let (c, h) = (enc(CLUSTER), enc(&host));
    let rel = format!("{CLUSTER}/{}/relay_rooms.rrd", host.to_lowercase());
    wait_rrd(&st, &rel, 6);
    let cs = now() - 120;
    // relay_rooms was set to 10.0: the graph shows it (area colour #EDD5C6), the data has it.
    let png = get(
        a,
        &format!("/graph.png?c={c}&h={h}&m=relay_rooms&r=custom&cs={cs}"),
    );
    assert_eq!(png.status, 200, "{}", png.text());
    let (w, ht, colours, area) = png_stats(&png.body, Some([0xED, 0xD5, 0xC6]));
    assert!(
        w >= 400 && ht >= 120 && colours > 2,
        "{w}x{ht} {colours} colours"
    );
    assert!(area > 20, "series area drawn: {area} pixels");
    let csv = get(
        a,
        &format!("/graph.csv?c={c}&h={h}&m=relay_rooms&r=custom&cs={cs}"),
    )
    .text();
    let vals: Vec<f64> = csv
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1)?.parse().ok())
        .collect();
    assert!(
        vals.len() >= 3 && vals.iter().all(|v| (*v - 10.0).abs() < 1e-6),
        "{csv}"
    );
    let json = get(
        a,
        &format!("/graph.json?c={c}&h={h}&m=relay_rooms&r=custom&cs={cs}"),
    );
    let v: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
    let pts = v[0]["datapoints"].as_array().unwrap();
    assert!(
        pts.iter().filter(|p| p[0].as_f64() == Some(10.0)).count() >= 3,
        "{v}"
    );
    // Cluster summary of the same metric has sum and num series.
    let sj = get(
        a,
        &format!("/graph.json?c={c}&m=relay_rooms&r=custom&cs={cs}"),
    );
    let v: serde_json::Value = serde_json::from_slice(&sj.body).unwrap();
    assert_eq!(
        (v[0]["ds"].as_str(), v[1]["ds"].as_str()),
        (Some("sum"), Some("num")),
        "{v}"
    );
    // Every report at every scope renders and decodes, in every size and range.
    for g in ["load_report", "cpu_report", "mem_report", "network_report"] {
        for scope in [format!("c={c}&h={h}&"), format!("c={c}&"), String::new()] {
            for (z, r) in [("small", "hour"), ("medium", "2hr"), ("large", "year")] {
                let p = format!("/graph.png?{scope}g={g}&z={z}&r={r}");
                let img = get(a, &p);
                assert_eq!(img.status, 200, "{p}: {}", img.text());
                let (_, _, colours, _) = png_stats(&img.body, None);
                assert!(colours > 2, "{p}: blank image");
            }
        }
    }
}

#[test]
fn a_down_host_is_shown_with_its_history() {
    let st = stack(2);
    let host = ready(&st);
    let a = st.web_addr();
    let c = enc(CLUSTER);
    let eh = enc(EVIL_HOST);
    // The spoofed host sent once at start; with TMAX 2 it is down after 8 s of silence.
    // Its metric name has a '/': the file follows gmetad-rs's layout ('/' → '_').
    wait_rrd(
        &st,
        &format!(
            "{CLUSTER}/{}/{}.rrd",
            EVIL_HOST.to_lowercase(),
            EVIL_HOST_METRIC.replace('/', "_")
        ),
        0,
    );
    let page = wait_for(Duration::from_secs(40), || {
        let t = get(a, &format!("/c/{c}?sort=down")).text();
        t.contains("class=\"tile down\"").then_some(t)
    })
    .expect("the silent host is shown down");
    assert!(
        page.contains("hostgraph down"),
        "down host keeps its graph on the cluster page"
    );
    let first_tile = page.find("class=\"tile ").unwrap();
    assert!(
        page[first_tile..].starts_with("class=\"tile down\""),
        "sort=down puts it first"
    );
    let hp = get(a, &format!("/c/{c}/h/{eh}")).text();
    assert!(hp.contains("class=\"down\""), "{hp}");
    let g = get(
        a,
        &format!("/graph.png?c={c}&h={eh}&m={}", enc(EVIL_HOST_METRIC)),
    );
    assert_eq!(
        (g.status, g.header("content-type")),
        (200, Some("image/png")),
        "{}",
        g.text()
    );
    // The live host stays up.
    let hp = get(a, &format!("/c/{c}/h/{}", enc(&host))).text();
    assert!(hp.contains("class=\"up\""));
}

#[test]
fn the_gweb_rs_binary_takes_its_flags_and_serves() {
    let st = stack(20);
    let host = ready(&st);
    let port = free_tcp_port();
    let gm = st.gmetad.as_ref().unwrap().interactive_addr;
    let _child = Killed(
        std::process::Command::new(env!("CARGO_BIN_EXE_gweb-rs"))
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--gmetad",
                &gm.to_string(),
            ])
            .arg("--rrds")
            .arg(&st.rrds)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("gweb-rs binary"),
    );
    let addr = std::net::SocketAddr::new(LO, port);
    let page = wait_for(Duration::from_secs(20), || {
        std::net::TcpStream::connect(addr).ok()?;
        let r = get(addr, &format!("/c/{}/h/{}", enc(CLUSTER), enc(&host)));
        (r.status == 200).then_some(r)
    });
    let png = get(
        addr,
        &format!(
            "/graph.png?c={}&h={}&g=load_report",
            enc(CLUSTER),
            enc(&host)
        ),
    );
    let page = page.expect("the binary serves the host page");
    assert!(page.text().contains("cpu_report"));
    assert_eq!(png.header("content-type"), Some("image/png"));
    assert_eq!(png.status, 200);
}

#[test]
fn a_child_grid_is_listed_with_its_summary_graph_and_web_link() {
    let st = stack(20);
    ready(&st);
    let _g = st.rt.enter();
    // A top-level gmetad-rs polling the stack's gmetad-rs: the stack's grid becomes a child.
    let top_rrds = st.dir.path().join("top-rrds");
    let mut cfg = gmetad::config::Config::builtin();
    cfg.sources = vec![gmetad::config::Source {
        name: "child".into(),
        step: 1,
        addrs: vec![st.gmetad.as_ref().unwrap().xml_addr],
    }];
    cfg.gridname = "top".into();
    cfg.xml_addr = std::net::SocketAddr::new(LO, 0);
    cfg.interactive_addr = std::net::SocketAddr::new(LO, 0);
    cfg.rrd_rootdir = top_rrds.clone();
    cfg.rras = RRAS.iter().map(|r| r.to_string()).collect();
    let top = gmetad::daemon::Gmetad::start(cfg).unwrap();
    let w = web(top.interactive_addr, &top_rrds);
    let child = "grid<&>";
    wait_for(Duration::from_secs(40), || {
        top.flush_rrds();
        top_rrds
            .join(format!("{child}/__SummaryInfo__/load_one.rrd"))
            .exists()
            .then_some(())
    })
    .expect("top gmetad-rs writes the child grid's summary");
    let page = get(w.addr, "/").text();
    assert!(
        page.contains("top Grid") && page.contains("grid grid&lt;&amp;&gt;"),
        "{page}"
    );
    assert!(
        page.contains(&format!("/graph.png?c={}&amp;g=load_report", enc(child))),
        "{page}"
    );
    assert_no_raw("/", &page);
    let g = get(
        w.addr,
        &format!("/graph.png?c={}&g=load_report", enc(child)),
    );
    assert_eq!(
        (g.status, g.header("content-type")),
        (200, Some("image/png"))
    );
    let _ = png_stats(&g.body, None);
    st.rt.block_on(w.shutdown());
    st.rt.block_on(top.shutdown());
}

#[test]
fn a_dead_gmetad_or_a_malformed_query_gives_an_error_page_not_a_panic() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on this port (held for the test, so no other test's listener gets it).
    let (_held, dead) = testkit::refusing_tcp_addr();
    let w = web(dead, dir.path());
    for (path, status) in [
        ("/", 502),
        ("/c/lab", 502),
        ("/relay", 502),
        ("/graph.png?c=lab&h=x&m=y", 502),
        ("/search?q=%FF%FE", 502),
        ("/?r=%ZZ", 400),
        ("/c/%FF", 400),
    ] {
        let r = get(w.addr, path);
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert!(
            r.header("content-security-policy").is_some(),
            "{path}: CSP on errors too"
        );
    }
    // The server is still up after all that.
    assert_eq!(get(w.addr, "/static/gweb.css").status, 200);
    rt.block_on(w.shutdown());
}
