//! A real Ganglia cluster on one machine for reliability tests: N gmond-rs hosts, each in its
//! own network namespace on a private bridge ([`crate::netns`]), talking multicast
//! 239.2.11.71 on their namespace interfaces (or unicast to two aggregators), and gmetad-rs in
//! its own namespace polling two of them as one data_source with failover. Every daemon runs as
//! a process (`ip netns exec`) on a config written here, RRDs go to a temp dir with small RRAs.
//! Dropping the [`Cluster`] kills the daemons, deletes the temp dir and the namespaces.

use crate::netns::{Net, Node, in_ns};
use crate::{Proc, bin, fetch, wait_for};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

/// The multicast channel of classic Ganglia.
pub const MCAST: &str = "239.2.11.71";
/// The cluster NAME every gmond reports.
pub const CLUSTER: &str = "nscluster";
/// RRAs of every RRD: one-step rows for ten minutes at a 2 s step.
pub const RRA: &str = "RRA:AVERAGE:0.5:1:300";

/// Octet of the first gmond host; host `i` is 10.213.0.(11 + i).
const FIRST_HOST: u8 = 11;
/// gmetad-rs's address octet.
const GMETAD: u8 = 2;
/// The test's own trusted client.
const CLIENT: u8 = 3;

/// What to build.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Test tag (unique per test binary; part of every namespace name).
    pub tag: &'static str,
    /// Number of gmond hosts (≥ 4 for the harness's scenarios).
    pub hosts: usize,
    /// Multicast 239.2.11.71 (true) or unicast to hosts 0 and 1 (the aggregators).
    pub multicast: bool,
    /// gmetad data_source step, seconds.
    pub step: u32,
    /// Extra lines inside every gmond's `globals { }`.
    pub gmond_globals: String,
    /// An `acl { }` block for every gmond's tcp_accept_channel.
    pub tcp_acl: Option<String>,
    /// Extra gmetad.conf lines (`trusted_hosts ...`).
    pub gmetad_extra: String,
    /// rrd_rootdir (a temp dir of the cluster when `None`).
    pub rrd_rootdir: Option<PathBuf>,
}

impl Spec {
    /// Four multicast hosts, step 2, the client trusted by CIDR.
    pub fn new(tag: &'static str) -> Spec {
        Spec {
            tag,
            hosts: 4,
            multicast: true,
            step: 2,
            gmond_globals: String::new(),
            tcp_acl: None,
            gmetad_extra: "trusted_hosts 10.213.0.0/30\n".into(),
            rrd_rootdir: None,
        }
    }
}

/// The running cluster. Field order is drop order: daemons first, then files, then namespaces.
pub struct Cluster {
    gmonds: Vec<Option<Proc>>,
    gmetad: Option<Proc>,
    /// What was built.
    pub spec: Spec,
    /// The gmond hosts.
    pub nodes: Vec<Node>,
    /// gmetad-rs's namespace.
    pub gmetad_node: Node,
    /// A trusted client namespace the test queries from (10.213.0.3).
    pub client: Node,
    /// Where the RRDs go.
    pub rrds: PathBuf,
    /// Configs and logs (deleted on drop).
    pub dir: tempfile::TempDir,
    /// The namespaces (deleted last).
    pub net: Net,
}

/// How many METRIC elements a host of the fast collection groups ([`crate::fast_groups`])
/// has: every group metric except `heartbeat` and `location` (HOST attributes, not METRICs).
pub fn metric_count() -> usize {
    gmond::collect::groups::DEFAULT_GROUPS
        .iter()
        .flat_map(|g| g.metrics.iter())
        .filter(|(n, _, _)| {
            !crate::NOT_IN_DEBIAN.contains(n) && !["heartbeat", "location"].contains(n)
        })
        .count()
}

impl Cluster {
    /// Build the network, start every gmond (not yet gmetad-rs: [`Cluster::start_gmetad`]).
    pub fn new(spec: Spec) -> Cluster {
        let mut net = Net::new(spec.tag);
        let nodes: Vec<Node> = (0..spec.hosts)
            .map(|i| net.add(&format!("h{i}"), FIRST_HOST + i as u8))
            .collect();
        let gmetad_node = net.add("gmetad", GMETAD);
        let client = net.add("client", CLIENT);
        let dir = tempfile::tempdir().unwrap();
        let rrds = spec
            .rrd_rootdir
            .clone()
            .unwrap_or_else(|| dir.path().join("rrds"));
        std::fs::create_dir_all(&rrds).unwrap();
        let mut c = Cluster {
            gmonds: (0..spec.hosts).map(|_| None).collect(),
            gmetad: None,
            spec,
            nodes,
            gmetad_node,
            client,
            rrds,
            dir,
            net,
        };
        for i in 0..c.spec.hosts {
            c.start_gmond(i);
        }
        c
    }

    /// Host name of gmond `i`.
    pub fn host_name(i: usize) -> String {
        format!("node{i}")
    }

    /// XML address of gmond `i`.
    pub fn gmond_addr(&self, i: usize) -> SocketAddr {
        SocketAddr::from((self.nodes[i].ip, 8649))
    }

    /// gmetad-rs's address on `port` (8651 XML, 8652 interactive).
    pub fn gmetad_addr(&self, port: u16) -> SocketAddr {
        SocketAddr::from((self.gmetad_node.ip, port))
    }

    /// The gmond.conf of host `i`.
    pub fn gmond_conf(&self, i: usize) -> String {
        let s = &self.spec;
        let me = self.nodes[i].ip;
        let mut c = format!(
            "globals {{\n  daemonize = no\n  setuid = no\n  debug_level = 0\n  host_dmax = 0\n  host_tmax = 20\n  cleanup_threshold = 300\n  send_metadata_interval = 5\n  override_hostname = \"{}\"\n  override_ip = \"{me}\"\n{}\n}}\ncluster {{ name = \"{CLUSTER}\" }}\n",
            Self::host_name(i),
            s.gmond_globals
        );
        if s.multicast {
            c.push_str(&format!(
                "udp_send_channel {{ mcast_join = {MCAST}  port = 8649  ttl = 1  mcast_if = eth0 }}\n\
                 udp_recv_channel {{ mcast_join = {MCAST}  port = 8649  bind = {MCAST}  mcast_if = eth0 }}\n"
            ));
        } else {
            for a in 0..2 {
                c.push_str(&format!(
                    "udp_send_channel {{ host = {}  port = 8649 }}\n",
                    self.nodes[a].ip
                ));
            }
            if i < 2 {
                c.push_str("udp_recv_channel { port = 8649 }\n");
            }
        }
        c.push_str(&format!(
            "tcp_accept_channel {{ port = 8649\n{}\n}}\n",
            s.tcp_acl.as_deref().unwrap_or("")
        ));
        c.push_str(&crate::fast_groups());
        c
    }

    /// The gmetad.conf: one data_source polling hosts 0 and 1 (failover order).
    pub fn gmetad_conf(&self) -> String {
        let s = &self.spec;
        format!(
            "data_source \"{CLUSTER}\" {} {}:8649 {}:8649\ngridname \"nsgrid\"\nxml_port 8651\ninteractive_port 8652\nrrd_rootdir \"{}\"\nsetuid off\nRRAs \"{RRA}\"\n{}",
            s.step,
            self.nodes[0].ip,
            self.nodes[1].ip,
            self.rrds.display(),
            s.gmetad_extra
        )
    }

    /// (Re)start gmond `i` and wait until its XML port answers.
    pub fn start_gmond(&mut self, i: usize) {
        let conf = self.dir.path().join(format!("gmond{i}.conf"));
        std::fs::write(&conf, self.gmond_conf(i)).unwrap();
        let log = self.dir.path().join(format!("gmond{i}.log"));
        let mut cmd = crate::netns::command_in(&self.nodes[i].ns, &bin("gmond-rs"));
        cmd.arg("-f").arg("-c").arg(&conf);
        let p = Proc::spawn("gmond-rs", &mut cmd, log);
        let addr = self.gmond_addr(i);
        let up = wait_for(Duration::from_secs(20), || {
            in_ns(&self.client.ns, || {
                TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()
            })
        });
        assert!(up.is_some(), "gmond {i} did not start: {}", p.log());
        self.gmonds[i] = Some(p);
    }

    /// Start gmetad-rs and wait until its ports answer.
    pub fn start_gmetad(&mut self) {
        let conf = self.dir.path().join("gmetad.conf");
        std::fs::write(&conf, self.gmetad_conf()).unwrap();
        let mut cmd = crate::netns::command_in(&self.gmetad_node.ns, &bin("gmetad-rs"));
        cmd.arg("-f").arg("-c").arg(&conf).env("RUST_LOG", "warn");
        let p = Proc::spawn("gmetad-rs", &mut cmd, self.dir.path().join("gmetad.log"));
        let addr = self.gmetad_addr(8652);
        let up = wait_for(Duration::from_secs(20), || {
            in_ns(&self.client.ns, || {
                TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()
            })
        });
        assert!(up.is_some(), "gmetad-rs did not start: {}", p.log());
        self.gmetad = Some(p);
    }

    /// Pid of gmond `i`, if running.
    pub fn gmond_pid(&self, i: usize) -> Option<u32> {
        self.gmonds[i].as_ref().map(|p| p.child.id())
    }

    /// Pid of gmetad-rs, if running.
    pub fn gmetad_pid(&self) -> Option<u32> {
        self.gmetad.as_ref().map(|p| p.child.id())
    }

    /// The log of gmond `i` (or of gmetad-rs for `None`).
    pub fn log(&self, i: Option<usize>) -> String {
        let f = match i {
            Some(i) => format!("gmond{i}.log"),
            None => "gmetad.log".into(),
        };
        std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default()
    }

    fn kill9(p: Option<Proc>) {
        if let Some(mut p) = p {
            let _ = p.child.kill(); // SIGKILL
            let _ = p.child.wait();
            // Reaped: the pid may be reused, so the guard must not signal it again.
            std::mem::forget(p);
        }
    }

    /// kill -9 gmond `i`.
    pub fn kill9_gmond(&mut self, i: usize) {
        Self::kill9(self.gmonds[i].take());
    }

    /// kill -9 gmetad-rs.
    pub fn kill9_gmetad(&mut self) {
        Self::kill9(self.gmetad.take());
    }

    /// Raw bytes from `addr` (a gmond-style "connect and read" port), from the client namespace.
    pub fn fetch(&self, addr: SocketAddr) -> Option<Vec<u8>> {
        in_ns(&self.client.ns, || fetch(addr))
    }

    /// Gmond `i`'s cluster document, from the client namespace.
    pub fn gmond_doc(&self, i: usize) -> Option<ganglia_proto::xml::Document> {
        let b = self.fetch(self.gmond_addr(i))?;
        ganglia_proto::xml::read::read(&b, &Default::default())
            .ok()
            .map(|r| r.doc)
    }

    /// gmetad-rs's 8651 document, from the client namespace.
    pub fn gmetad_doc(&self) -> Option<ganglia_proto::xml::Document> {
        let b = self.fetch(self.gmetad_addr(8651))?;
        ganglia_proto::xml::read::read(&b, &Default::default())
            .ok()
            .map(|r| r.doc)
    }

    /// Ask gmetad-rs's interactive port `line` from the client namespace.
    pub fn ask(&self, line: &str) -> Option<Vec<u8>> {
        let addr = self.gmetad_addr(8652);
        in_ns(&self.client.ns, || {
            let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
            s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
            s.write_all(line.as_bytes()).ok()?;
            let mut v = Vec::new();
            s.read_to_end(&mut v).ok()?;
            Some(v)
        })
    }

    /// gmetad-rs's `/status` JSON.
    pub fn status(&self) -> Option<String> {
        let b = self.ask("/status\n")?;
        let t = String::from_utf8_lossy(&b).into_owned();
        t.contains("\"polls\"").then_some(t)
    }

    /// Hosts (name → metric count) gmond `i` reports.
    pub fn gmond_hosts(&self, i: usize) -> Option<Vec<(String, usize)>> {
        let d = self.gmond_doc(i)?;
        let c = d.clusters.first()?;
        Some(
            c.hosts
                .iter()
                .map(|h| (h.name.to_string(), h.metrics.len()))
                .collect(),
        )
    }

    /// Hosts (name → metric count) of our cluster in gmetad-rs's document.
    pub fn gmetad_hosts(&self) -> Option<Vec<(String, usize)>> {
        let d = self.gmetad_doc()?;
        let c = d.grids.first()?.clusters.first()?;
        Some(
            c.hosts
                .iter()
                .map(|h| (h.name.to_string(), h.metrics.len()))
                .collect(),
        )
    }

    /// Whether `hosts` lists every cluster host with every metric.
    pub fn complete(&self, hosts: &[(String, usize)]) -> bool {
        let want = metric_count();
        (0..self.spec.hosts).all(|i| {
            let n = Self::host_name(i);
            hosts.iter().any(|(h, m)| *h == n && *m >= want)
        })
    }

    /// The gmonds that hear every host (all in multicast; the two aggregators in unicast).
    pub fn listeners(&self) -> Vec<usize> {
        if self.spec.multicast {
            (0..self.spec.hosts).collect()
        } else {
            vec![0, 1]
        }
    }

    /// Wait until every listening gmond reports every host with every metric.
    pub fn wait_converged(&self, timeout: Duration) {
        for i in self.listeners() {
            let ok = wait_for(timeout, || self.gmond_hosts(i).filter(|h| self.complete(h)));
            assert!(
                ok.is_some(),
                "gmond {i} did not see every host with {} metrics: {:?}\n{}",
                metric_count(),
                self.gmond_hosts(i),
                self.log(Some(i))
            );
        }
    }

    /// Wait until gmetad-rs shows every host with every metric.
    pub fn wait_gmetad_complete(&self, timeout: Duration) {
        let ok = wait_for(timeout, || self.gmetad_hosts().filter(|h| self.complete(h)));
        assert!(
            ok.is_some(),
            "gmetad-rs did not show every host: {:?}\n{}",
            self.gmetad_hosts(),
            self.log(None)
        );
    }

    /// Every RRD file under the rrd root.
    pub fn rrd_files(&self) -> Vec<PathBuf> {
        fn walk(d: &std::path::Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rrd") {
                    out.push(p);
                }
            }
        }
        let mut v = Vec::new();
        walk(&self.rrds, &mut v);
        v.sort();
        v
    }
}

/// `rrdtool info` of `f`: Ok(last_update) when it is a valid RRD, Err(output) otherwise.
pub fn rrd_info(f: &std::path::Path) -> Result<u64, String> {
    let out = std::process::Command::new("/usr/bin/rrdtool")
        .arg("info")
        .arg(f)
        .output()
        .map_err(|e| format!("rrdtool: {e}"))?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(text);
    }
    text.lines()
        .find_map(|l| l.strip_prefix("last_update = "))
        .and_then(|v| v.trim().parse().ok())
        .ok_or(text)
}

/// `rrdtool info` of many files through one `rrdtool -` (pipe mode) process: per file,
/// Ok(last_update) when it is a valid RRD, Err(message) otherwise.
pub fn rrd_infos(files: &[PathBuf]) -> Vec<Result<u64, String>> {
    use std::process::{Command, Stdio};
    let mut child = match Command::new("/usr/bin/rrdtool")
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return files.iter().map(|_| Err(format!("rrdtool: {e}"))).collect(),
    };
    let mut input = String::new();
    for f in files {
        input.push_str(&format!("info {}\n", f.display()));
    }
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child
        .wait_with_output()
        .map(|o| o.stdout)
        .unwrap_or_default();
    let _ = writer.join();
    let mut res = Vec::with_capacity(files.len());
    let mut last = None;
    for line in String::from_utf8_lossy(&out).lines() {
        if let Some(v) = line.strip_prefix("last_update = ") {
            last = v.trim().parse().ok();
        } else if line.starts_with("OK ") {
            res.push(last.take().ok_or_else(|| "no last_update".to_owned()));
        } else if line.starts_with("ERROR") {
            last = None;
            res.push(Err(line.to_owned()));
        }
    }
    res.resize_with(files.len(), || Err("rrdtool stopped early".into()));
    res
}

/// The number after the key path `keys` in a JSON text (each key searched after the previous
/// one; enough for gmetad's flat /status document).
pub fn json_num(json: &str, keys: &[&str]) -> Option<u64> {
    let mut at = 0;
    for k in keys {
        let pat = format!("\"{k}\":");
        at += json[at..].find(&pat)? + pat.len();
    }
    let rest = json[at..].trim_start();
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}
