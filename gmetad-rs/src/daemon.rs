//! The running collector: one polling task per data source, the root summary, the RRD service
//! and carbon exporter, and the two TCP ports. Start with [`Gmetad::start`] on a tokio runtime
//! (tests run it in-process on port 0); the `gmetad-rs` binary is a thin shell around it.

use crate::config::Config;
use crate::export::Exports;
use crate::export::carbon::{Carbon, PathScheme, Transport};
use crate::rrd::layout::Target;
use crate::rrd::rrdcached::{Address, Rrdcached};
use crate::rrd::service::RrdService;
use crate::rrd::writer::{Backend, Update};
use crate::serve::query::{self, Request};
use crate::serve::render::{self, View};
use crate::serve::status::{self, Counters, StatusInput};
use crate::source::fetch::{FetchLimits, fetch};
use crate::tree::summary::SummaryRules;
use crate::tree::{self, Node, Snapshot};
use ganglia_proto::xml::Summary;
use ganglia_proto::xml::read::{ReadLimits, read};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// What we know of one data source.
#[derive(Debug, Default)]
pub struct SourceState {
    /// Last good poll.
    pub snapshot: Option<Arc<Snapshot>>,
    /// Whether the last poll succeeded.
    pub alive: bool,
    /// Last error, if any.
    pub last_error: String,
}

struct Shared {
    cfg: Config,
    sources: Vec<Mutex<SourceState>>,
    root: Mutex<Arc<Summary>>,
    counters: Mutex<Counters>,
    rrd: Option<RrdService>,
    carbon: Option<Carbon>,
    exports: Exports,
    boot_ms: u64,
    hostname: String,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Why the collector could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A port could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// OS error.
        source: std::io::Error,
    },
    /// The RRD thread could not start.
    #[error("cannot start the RRD writer: {0}")]
    Rrd(std::io::Error),
    /// Not inside a tokio runtime.
    #[error("Gmetad::start must be called inside a tokio runtime")]
    NoRuntime,
    /// The `after_bind` step of [`Gmetad::start_with`] failed.
    #[error("{0}")]
    AfterBind(String),
}

/// A running collector.
pub struct Gmetad {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Bound xml_port address.
    pub xml_addr: SocketAddr,
    /// Bound interactive_port address.
    pub interactive_addr: SocketAddr,
    /// Bound Prometheus address, if enabled.
    pub prometheus_addr: Option<SocketAddr>,
}

/// Which port a connection came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Port {
    Xml,
    Interactive,
    Prometheus,
}

impl Gmetad {
    /// Bind the ports, start the RRD thread and every task.
    pub fn start(cfg: Config) -> Result<Gmetad, StartError> {
        Gmetad::start_with(cfg, || Ok(()))
    }

    /// As [`Gmetad::start`], running `after_bind` once the ports are bound and before anything
    /// polls or writes (the binary drops privileges there, so no RRD file is created as root).
    pub fn start_with(
        cfg: Config,
        after_bind: impl FnOnce() -> Result<(), String>,
    ) -> Result<Gmetad, StartError> {
        let rt = tokio::runtime::Handle::try_current().map_err(|_| StartError::NoRuntime)?;
        let _g = rt.enter();
        let bind = |a: SocketAddr| -> Result<TcpListener, StartError> {
            let l = std::net::TcpListener::bind(a)
                .map_err(|source| StartError::Bind { addr: a, source })?;
            l.set_nonblocking(true)
                .map_err(|source| StartError::Bind { addr: a, source })?;
            TcpListener::from_std(l).map_err(|source| StartError::Bind { addr: a, source })
        };
        let xml = bind(cfg.xml_addr)?;
        let inter = bind(cfg.interactive_addr)?;
        let prom = cfg.prometheus_addr.map(bind).transpose()?;
        after_bind().map_err(StartError::AfterBind)?;
        let rrd = if cfg.write_rrds {
            let backend = match &cfg.rrdcached {
                Some(a) => Backend::Cached(Rrdcached::new(Address::parse(a))),
                None => Backend::Direct,
            };
            Some(
                RrdService::start(
                    &cfg.rrd_rootdir,
                    cfg.case_sensitive_hostnames,
                    &cfg.rras,
                    backend,
                )
                .map_err(StartError::Rrd)?,
            )
        } else {
            None
        };
        let carbon = cfg.carbon.map(|(addr, proto, timeout)| {
            let t = match proto {
                ganglia_proto::conf::gmetad::Protocol::Udp => Transport::Udp,
                _ => Transport::Tcp,
            };
            Carbon::spawn(addr, t, timeout)
        });
        let exports = Exports::start(&cfg);
        let shared = Arc::new(Shared {
            sources: cfg
                .sources
                .iter()
                .map(|_| Mutex::new(SourceState::default()))
                .collect(),
            root: Mutex::new(Arc::new(Summary::default())),
            counters: Mutex::new(Counters::default()),
            rrd,
            carbon,
            exports,
            boot_ms: now_ms(),
            hostname: crate::config::hostname(),
            cfg,
        });
        let (stop, stop_rx) = watch::channel(false);
        let xml_addr = xml.local_addr().map_err(|source| StartError::Bind {
            addr: shared.cfg.xml_addr,
            source,
        })?;
        let interactive_addr = inter.local_addr().map_err(|source| StartError::Bind {
            addr: shared.cfg.interactive_addr,
            source,
        })?;
        let mut tasks = Vec::new();
        for i in 0..shared.cfg.sources.len() {
            tasks.push(rt.spawn(poll_source(shared.clone(), i, stop_rx.clone())));
        }
        tasks.push(rt.spawn(root_summary(shared.clone(), stop_rx.clone())));
        let threads = shared.cfg.server_threads.max(1) as usize;
        tasks.push(rt.spawn(serve(
            xml,
            Port::Xml,
            (threads / 2).max(1),
            shared.clone(),
            stop_rx.clone(),
        )));
        let prometheus_addr = prom.as_ref().and_then(|l| l.local_addr().ok());
        if let Some(l) = prom {
            tasks.push(rt.spawn(serve(
                l,
                Port::Prometheus,
                threads,
                shared.clone(),
                stop_rx.clone(),
            )));
        }
        tasks.push(rt.spawn(serve(
            inter,
            Port::Interactive,
            threads,
            shared.clone(),
            stop_rx,
        )));
        Ok(Gmetad {
            shared,
            stop,
            tasks,
            xml_addr,
            interactive_addr,
            prometheus_addr,
        })
    }

    /// Counters as /status reports them.
    pub fn counters(&self) -> Counters {
        lock(&self.shared.counters).clone()
    }

    /// RRD writer counters.
    pub fn rrd_stats(&self) -> Option<crate::rrd::writer::RrdStats> {
        self.shared.rrd.as_ref().map(RrdService::stats)
    }

    /// Wait until every RRD update queued so far is on disk.
    pub fn flush_rrds(&self) {
        if let Some(r) = &self.shared.rrd {
            r.flush();
        }
    }

    /// Stop every task.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        let shared = self.shared.clone();
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(r) = &shared.rrd {
                r.flush();
            }
        })
        .await;
    }
}

/// ±5% of `step` seconds, from the clock's low bits (no need for a random generator).
fn jittered(step: u32) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let f = 0.95 + f64::from(nanos % 1000) / 10_000.0;
    Duration::from_secs_f64(f64::from(step) * f)
}

async fn poll_source(shared: Arc<Shared>, i: usize, mut stop: watch::Receiver<bool>) {
    let src = shared.cfg.sources[i].clone();
    let limits = FetchLimits::default();
    let mut last_good = 0;
    let rules = Arc::new(SummaryRules {
        unsummarized: shared.cfg.unsummarized_metrics.clone(),
        skip_sflow_vm: shared.cfg.unsummarized_sflow_vm_metrics,
    });
    loop {
        let t0 = Instant::now();
        let result = fetch(&src.addrs, last_good, &limits).await;
        let ms = t0.elapsed().as_millis() as u64;
        match result {
            Ok((idx, bytes)) => {
                last_good = idx;
                let (sh, rules2) = (shared.clone(), rules.clone());
                let step = src.step;
                let prev = lock(&shared.sources[i]).snapshot.clone();
                let done = tokio::task::spawn_blocking(move || {
                    let out = read(&bytes, &ReadLimits::default()).map_err(|e| e.to_string())?;
                    drop(bytes);
                    let mut snap = tree::ingest(out.doc, now_secs(), sh.cfg.scalable, &rules2);
                    if let Some(prev) = prev {
                        tree::carry_over(&mut snap, &prev);
                    }
                    let updates = tree::updates(&snap, step, &rules2).count() as u64;
                    let carbon = carbon_lines(&sh.cfg, &snap);
                    let exports = sh.exports.encode(&sh.cfg, &snap);
                    Ok::<_, String>((
                        Arc::new(snap),
                        updates,
                        (carbon, exports),
                        out.problems.len(),
                    ))
                })
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
                match done {
                    Ok((snap, updates, (lines, exports), problems)) => {
                        {
                            let mut c = lock(&shared.counters);
                            c.polls_ok.record(ms, now_ms());
                            c.received += updates;
                            c.summarize_cluster += snap.nodes.len() as u64;
                            if problems > 0 {
                                c.partial_documents += 1;
                            }
                        }
                        if problems > 0 {
                            tracing::warn!(source = %src.name, problems, "Document had bad elements; the rest was used.");
                        }
                        if let Some(r) = &shared.rrd {
                            r.submit_snapshot(snap.clone(), step, rules.clone(), updates);
                        }
                        if let Some(c) = &shared.carbon {
                            c.send(lines);
                        }
                        shared.exports.send(exports);
                        let mut s = lock(&shared.sources[i]);
                        s.snapshot = Some(snap);
                        s.alive = true;
                        s.last_error.clear();
                    }
                    Err(e) => failed(&shared, i, &src.name, ms, format!("unusable document: {e}")),
                }
            }
            Err(e) => failed(&shared, i, &src.name, ms, e.to_string()),
        }
        let elapsed = t0.elapsed();
        let step = Duration::from_secs(u64::from(src.step));
        if elapsed > step {
            lock(&shared.counters).misses += 1;
        }
        let wait = jittered(src.step).saturating_sub(elapsed);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
    }
}

fn failed(shared: &Shared, i: usize, name: &str, ms: u64, err: String) {
    tracing::warn!(source = %name, error = %err, "Poll failed.");
    lock(&shared.counters).polls_failed.record(ms, now_ms());
    let mut s = lock(&shared.sources[i]);
    s.alive = false;
    s.last_error = err;
}

fn carbon_lines(cfg: &Config, snap: &Snapshot) -> String {
    if cfg.carbon.is_none() {
        return String::new();
    }
    let scheme = PathScheme {
        prefix: cfg.graphite_prefix.clone(),
        path: cfg.graphite_path.clone(),
        case_sensitive_hostnames: cfg.case_sensitive_hostnames,
    };
    let mut out = String::new();
    for n in &snap.nodes {
        let Node::Cluster(c) = n else { continue };
        // As 3.7.2: only live hosts' numeric metrics within their DMAX go to carbon.
        for (h, m) in crate::tree::recorded_metrics(c) {
            crate::export::carbon::line(
                &mut out,
                &scheme.path(&c.cluster.name, &h.name, &m.name),
                m.val.trim(),
                c.cluster.localtime,
            );
        }
    }
    out
}

async fn root_summary(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let rules = SummaryRules {
        unsummarized: shared.cfg.unsummarized_metrics.clone(),
        skip_sflow_vm: shared.cfg.unsummarized_sflow_vm_metrics,
    };
    let period = Duration::from_secs(u64::from((shared.cfg.shortest_step() / 2).max(1)));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = stop.changed() => return,
        }
        let t0 = Instant::now();
        let snaps: Vec<Arc<Snapshot>> = shared
            .sources
            .iter()
            .filter_map(|s| lock(s).snapshot.clone())
            .collect();
        let root = tree::root_summary(
            snaps.iter().flat_map(|s| s.nodes.iter()),
            &shared.cfg.summarized_metrics,
            &rules,
        );
        if let Some(r) = &shared.rrd {
            let ts = now_secs();
            let ups = root
                .metrics
                .iter()
                .map(|m| Update {
                    target: Target::Root {
                        metric: m.name.to_string(),
                    },
                    ts,
                    sum: m
                        .sum
                        .trim()
                        .parse::<f64>()
                        .map_or_else(|_| m.sum.to_string(), |v| format!("{v:.5}")),
                    num: Some(m.num),
                    slope: m.slope.to_string(),
                    step: 15,
                })
                .collect();
            r.submit(ups);
        }
        *lock(&shared.root) = Arc::new(root);
        lock(&shared.counters)
            .summarize_root
            .record(t0.elapsed().as_millis() as u64, now_ms());
    }
}

/// Render a request against the current grid (blocking: runs on the blocking pool).
fn answer(shared: &Shared, port: Port, req: Option<Request>) -> Vec<u8> {
    let snaps: Vec<Arc<Snapshot>> = shared
        .sources
        .iter()
        .filter_map(|s| lock(s).snapshot.clone())
        .collect();
    let root = lock(&shared.root).clone();
    let view = View {
        gridname: &shared.cfg.gridname,
        authority: &shared.cfg.authority,
        now: now_secs(),
        nodes: snaps
            .iter()
            .flat_map(|s| s.nodes.iter().map(move |n| (n, s.poll_time)))
            .collect(),
        root: &root,
        case_sensitive_hostnames: shared.cfg.case_sensitive_hostnames,
    };
    let mut out = Vec::with_capacity(64 << 10);
    if port == Port::Prometheus {
        out.extend_from_slice(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nConnection: close\r\n\r\n");
        out.extend_from_slice(crate::serve::prometheus::render(&view).as_bytes());
        return out;
    }
    match req {
        None => render::whole(&view, &mut out),
        Some(Request::Tree {
            path,
            summary,
            http,
        }) => {
            if http {
                out.extend_from_slice(
                    query::http_xml_header(ganglia_proto::GANGLIA_VERSION).as_bytes(),
                );
            }
            render::query(&view, &path, summary, http, &mut out);
        }
        Some(Request::Status { callback, http }) => {
            let counters = lock(&shared.counters).clone();
            let rrd = shared
                .rrd
                .as_ref()
                .map(RrdService::stats)
                .unwrap_or_default();
            let graphite = shared.carbon.as_ref().map_or((0, 0), |c| {
                let s = c.stats();
                (s.sent, s.dropped)
            });
            let sources = shared
                .cfg
                .sources
                .iter()
                .zip(&shared.sources)
                .map(|(c, s)| {
                    let s = lock(s);
                    (c.name.clone(), s.alive, s.last_error.clone())
                })
                .collect();
            let json = status::render(&StatusInput {
                host: &shared.hostname,
                gridname: &shared.cfg.gridname,
                version: ganglia_proto::GANGLIA_VERSION,
                now_ms: now_ms(),
                boot_ms: shared.boot_ms,
                counters: &counters,
                rrd: &rrd,
                rrdcached: shared.cfg.rrdcached.is_some(),
                graphite,
                riemann: shared
                    .exports
                    .riemann
                    .as_ref()
                    .map(|r| r.stats())
                    .unwrap_or_default(),
                memcached: shared
                    .exports
                    .memcached
                    .as_ref()
                    .map(|m| m.stats())
                    .unwrap_or_default(),
                sources,
            });
            if http {
                out.extend_from_slice(
                    status::http_header(ganglia_proto::GANGLIA_VERSION).as_bytes(),
                );
            }
            match callback {
                Some(cb) => out.extend_from_slice(format!("{cb}({json})").as_bytes()),
                None => out.extend_from_slice(json.as_bytes()),
            }
        }
    }
    out
}

async fn read_request(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    let read = async {
        loop {
            let n = s.read(&mut chunk).await.ok()?;
            if n == 0 {
                return Some(());
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.contains(&b'\n') || buf.contains(&b'\r') || buf.len() > query::MAX_LINE {
                return Some(());
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .ok()??;
    Some(buf)
}

/// Accept and answer on one port, at most `threads` connections at a time (gmetad runs that
/// many server threads per port) from accept until their answer is rendered: further clients
/// wait in the listen backlog, none is dropped. Writing the answer holds no slot.
async fn serve(
    listener: TcpListener,
    port: Port,
    threads: usize,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(threads.max(1)));
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = stop.changed() => return,
        };
        let (mut stream, peer) = tokio::select! {
            a = listener.accept() => match a {
                Ok(x) => x,
                Err(_) => { tokio::time::sleep(Duration::from_millis(50)).await; continue; }
            },
            _ = stop.changed() => return,
        };
        if !shared.cfg.trusts(peer.ip()) {
            lock(&shared.counters).requests_refused += 1;
            continue; // closed before reading anything, as gmetad does
        }
        let shared = shared.clone();
        tokio::spawn(async move {
            let t0 = Instant::now();
            let req = if port == Port::Interactive {
                let Some(line) = read_request(&mut stream).await else {
                    return;
                };
                match query::parse(&line) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        tracing::debug!(%peer, error = %e, "Refused request.");
                        return;
                    }
                }
            } else {
                if port == Port::Prometheus {
                    // An HTTP GET; its content does not matter.
                    let _ = read_request(&mut stream).await;
                }
                None
            };
            let sh = shared.clone();
            let Ok(body) = tokio::task::spawn_blocking(move || answer(&sh, port, req)).await else {
                return;
            };
            // The slot covers reading the request and rendering the answer, not writing it:
            // a slow reader must not pin a slot (3.7.2's issue #223); its write times out.
            drop(permit);
            let ok = tokio::time::timeout(shared.cfg.write_timeout, stream.write_all(&body)).await;
            let ms = t0.elapsed().as_millis() as u64;
            {
                let mut c = lock(&shared.counters);
                if ok.is_err() {
                    c.slow_readers += 1;
                }
                c.requests_all.record(ms, now_ms());
                match port {
                    Port::Interactive => c.requests_interactive.record(ms, now_ms()),
                    Port::Xml => c.requests_xml.record(ms, now_ms()),
                    Port::Prometheus => {}
                }
            }
            let _ = stream.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carbon_gets_only_what_the_poll_records() {
        let mut cfg = Config::builtin();
        cfg.carbon = Some((
            "127.0.0.1:2003".parse().unwrap(),
            ganglia_proto::conf::gmetad::Protocol::Tcp,
            Duration::from_millis(500),
        ));
        let doc = crate::tree::tests::live_and_dead_hosts();
        let snap = tree::ingest(doc, 1000, true, &SummaryRules::default());
        // Not the dead host, not the string, not the metric past its DMAX.
        assert_eq!(carbon_lines(&cfg, &snap), "c.up.load_one 1.5 1000\n");
    }
}
