//! End to end in Debian's headless Chromium (driven through chromedriver's WebDriver HTTP API)
//! against a whole stack on loopback: every view loads without console errors (CSP violations
//! included), every graph image decodes in the browser and is not blank, and screenshots are
//! saved under `<target>/web-artifacts/`.

mod common;
use base64::Engine as _;
use common::*;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// chromedriver, killed by pid on drop (after its session is deleted, so Chromium exits).
struct Driver {
    child: Child,
    addr: SocketAddr,
    session: Option<String>,
}

impl Driver {
    fn start(dir: &Path) -> Driver {
        for (bin, pkg) in [
            ("/usr/bin/chromedriver", "chromium-driver"),
            ("/usr/bin/chromium", "chromium"),
        ] {
            assert!(
                Path::new(bin).exists(),
                "{bin} missing: install Debian's {pkg} (make test does)"
            );
        }
        let port = free_tcp_port();
        let log = std::fs::File::create(dir.join("chromedriver.log")).unwrap();
        let child = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start chromedriver");
        let addr = SocketAddr::new(LO, port);
        let mut d = Driver {
            child,
            addr,
            session: None,
        };
        wait_for(Duration::from_secs(20), || {
            std::net::TcpStream::connect(addr).ok()?;
            let v = d.call("GET", "/status", None);
            (v["value"]["ready"] == true).then_some(())
        })
        .expect("chromedriver ready");
        let profile = dir.join("profile");
        std::fs::create_dir_all(&profile).unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-default-apps", "--disable-extensions",
                    "--disable-dev-shm-usage", "--window-size=1400,1000",
                    format!("--user-data-dir={}", profile.display()),
                ]
            },
            "goog:loggingPrefs": {"browser": "ALL"},
            "timeouts": {"pageLoad": 60000, "script": 30000}
        }}});
        let v = d.call("POST", "/session", Some(caps));
        let id = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_owned();
        d.session = Some(id);
        d
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let r = request(
            self.addr,
            method,
            path,
            body.map(|b| b.to_string()).as_deref(),
        );
        serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{path}: {e}: {}", r.text()))
    }

    fn s(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let id = self.session.as_deref().unwrap();
        let v = self.call(method, &format!("/session/{id}{path}"), body);
        assert!(v["value"].get("error").is_none(), "{path}: {v}");
        v["value"].clone()
    }

    fn js(&self, script: &str) -> Value {
        self.s(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(id) = self.session.take() {
            let _ = std::panic::catch_unwind(|| {
                request(self.addr, "DELETE", &format!("/session/{id}"), None)
            });
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn artifacts() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("web-artifacts");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Load a page, make every image load now (lazy ones too), wait for them; return the image
/// URLs after checking they all decoded, and the console entries.
fn visit(d: &Driver, web: SocketAddr, path: &str, shot: &str) -> (Vec<String>, Vec<Value>) {
    d.s(
        "POST",
        "/url",
        Some(json!({"url": format!("http://{web}{path}")})),
    );
    let title = d.js("return document.title");
    assert!(
        !title.as_str().unwrap_or("").starts_with(['4', '5']),
        "{path}: error page {title}"
    );
    d.js("document.querySelectorAll('img').forEach(i => i.loading = 'eager'); return 0");
    let state = wait_for(Duration::from_secs(60), || {
        let v = d.js("const a = [...document.images]; \
             return {n: a.length, done: a.every(i => i.complete), \
                     bad: a.filter(i => i.complete && i.naturalWidth === 0).map(i => i.src)}");
        (v["done"] == true).then_some(v)
    })
    .unwrap_or_else(|| panic!("{path}: images never finished loading"));
    assert_eq!(
        state["bad"],
        json!([]),
        "{path}: images that did not decode"
    );
    let srcs: Vec<String> = d
        .js("return [...document.images].map(i => i.getAttribute('src'))")
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let png = d.s("GET", "/screenshot", None);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(png.as_str().unwrap())
        .unwrap();
    let (w, h, colours, _) = png_stats(&bytes, None);
    assert!(
        w > 800 && h > 500 && colours > 10,
        "{path}: screenshot {w}x{h}, {colours} colours"
    );
    std::fs::write(artifacts().join(format!("{shot}.png")), &bytes).unwrap();
    let logs = d.s("POST", "/se/log", Some(json!({"type": "browser"})));
    (srcs, logs.as_array().cloned().unwrap_or_default())
}

#[test]
fn every_view_loads_in_chromium_without_console_errors_and_graphs_decode() {
    let st = stack(20);
    let host = wait_for(Duration::from_secs(60), || {
        let h = st.own_host();
        let f = st
            .rrds
            .join(format!("{CLUSTER}/{}/relay_rooms.rrd", h.to_lowercase()));
        st.gmetad.as_ref().unwrap().flush_rrds();
        (f.exists() && st.rrds.join("__SummaryInfo__/cpu_user.rrd").exists()).then_some(h)
    })
    .expect("RRD files written");
    wait_rrd(&st, &format!("{CLUSTER}/__SummaryInfo__/mem_total.rrd"), 3);
    let web = st.web_addr();
    let (c, h) = (enc(CLUSTER), enc(&host));
    let d = Driver::start(st.dir.path());
    // The last few minutes, so the screenshots show the data the stack wrote.
    let cs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 150;
    let r = format!("r=custom&cs={cs}");
    let pages = [
        (format!("/?{r}"), "grid"),
        (format!("/c/{c}?sort=load&{r}"), "cluster"),
        (format!("/c/{c}/h/{h}?{r}"), "host"),
        (format!("/c/{c}/m/load_one?{r}"), "metric"),
        (format!("/c/{c}/h/{}?{r}", enc(EVIL_HOST)), "hostile-host"),
        (format!("/relay?{r}"), "relay"),
        ("/search?q=relay".into(), "search"),
    ];
    let mut checked = std::collections::BTreeSet::new();
    let mut drawn = 0;
    for (path, shot) in &pages {
        let (srcs, logs) = visit(&d, web, path, shot);
        let errors: Vec<&Value> = logs
            .iter()
            .filter(|e| e["level"] == "SEVERE" || e["level"] == "ERROR")
            .collect();
        assert!(errors.is_empty(), "{path}: console errors {errors:#?}");
        assert!(!srcs.is_empty() || *shot == "search", "{path}: no graphs");
        // The bytes the browser decoded are real, non-blank graphs.
        for s in srcs
            .iter()
            .filter(|s| checked.insert((*s).clone()))
            .take(12)
        {
            let r = get(web, s);
            assert_eq!(r.status, 200, "{s}");
            // Load reports draw their load area in #BBBBBB, metric graphs in #EDD5C6.
            let colour = if s.contains("g=load_report") {
                [0xBB; 3]
            } else {
                [0xED, 0xD5, 0xC6]
            };
            let (_, _, colours, hits) = png_stats(&r.body, Some(colour));
            assert!(colours > 2, "{s}: blank graph");
            if s.contains("r=custom") && hits > 0 {
                drawn += 1;
            }
        }
    }
    assert!(drawn >= 5, "only {drawn} graphs showed their data");
    // The console check can fail: a missing image is reported as an error.
    d.s(
        "POST",
        "/url",
        Some(json!({"url": format!("http://{web}/c/{c}/h/nosuch")})),
    );
    let logs = d.s("POST", "/se/log", Some(json!({"type": "browser"})));
    assert!(
        logs.as_array()
            .unwrap()
            .iter()
            .any(|e| e["level"] == "SEVERE"),
        "a 404 shows up in the console log: {logs}"
    );
    // The hostile names stayed text in the DOM: no element was made from them.
    d.s(
        "POST",
        "/url",
        Some(json!({"url": format!("http://{web}/c/{c}/h/{h}")})),
    );
    let n = d.js(
        "return document.querySelectorAll('script, main img:not([src^=\"/graph\"]), b, i').length",
    );
    assert_eq!(n, json!(0), "hostile markup became elements");
    let h1 = d.js("return document.title");
    assert!(h1.as_str().unwrap().contains(&host));
    let body = d.js("return document.body.innerText");
    assert!(
        body.as_str().unwrap().contains("<i>evil title</i>"),
        "shown as text"
    );
}
