//! The running agent: sockets, threads and tasks around the sans-IO core, and the handle the
//! `gmond-rs` binary and embedders (the relay) use.
//!
//! ```no_run
//! # async fn run() -> Result<(), gmond::agent::StartError> {
//! use gmond::agent::Agent;
//! use gmond::config::AgentConfig;
//! use gmond::embed::registry::MetricSpec;
//! let agent = Agent::builder(AgentConfig::standalone()).host_metrics(false).spawn()?;
//! let rooms = agent.registry().gauge(MetricSpec::new("relay_rooms").group("relay")).unwrap();
//! rooms.set(3.0);
//! agent.shutdown().await;
//! # Ok(()) }
//! ```

mod builtin;
mod recv;
mod send;
mod xml;

pub use send::catalog_with;

use crate::config::AgentConfig;
use crate::core::hosts::HostTable;
use crate::core::schedule::{Sampler, Scheduler};
use crate::core::stats::Stats;
use crate::embed::registry::Registry;
use crate::net::{resolve, udp};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{mpsc, watch};

/// Seconds since the Unix epoch.
pub fn epoch_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Mutable state shared by the receive threads, the sender and the XML server.
pub(crate) struct State {
    pub(crate) table: HostTable,
    pub(crate) stats: Stats,
}

pub(crate) struct Shared {
    pub(crate) cfg: AgentConfig,
    state: Mutex<State>,
    pub(crate) stopping: AtomicBool,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // State stays consistent between statements; a panic elsewhere must not stop serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Messages from the receive path to the sender.
#[derive(Debug)]
pub(crate) enum Control {
    /// Someone asked for our metadata of this metric.
    MetadataRequested(String),
    /// Ask the owner of this metric for its metadata.
    SendRequest {
        host: String,
        name: String,
        spoof: bool,
    },
}

/// Why an agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// deaf and mute: nothing to do.
    #[error("configuration is both deaf and mute: nothing to do")]
    NothingToDo,
    /// A receive channel could not be opened.
    #[error("cannot open udp_recv_channel {addr}: {source}")]
    BindUdp {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// A send channel could not be opened.
    #[error("cannot open udp_send_channel to {addr}: {source}")]
    SendChannel {
        /// The destination.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// A TCP channel could not be opened.
    #[error("cannot open tcp_accept_channel {addr}: {source}")]
    BindTcp {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Collection groups are invalid.
    #[error(transparent)]
    Schedule(#[from] crate::core::schedule::ScheduleError),
    /// Threads could not be started.
    #[error("cannot start agent threads: {0}")]
    Thread(std::io::Error),
    /// Not inside a tokio runtime.
    #[error("Agent::spawn must be called inside a tokio runtime")]
    NoRuntime,
}

/// Configures and starts an [`Agent`].
pub struct AgentBuilder {
    cfg: AgentConfig,
    registry: Registry,
    host_sampler: Option<Box<dyn Sampler + Send>>,
    started: Option<u64>,
}

impl AgentBuilder {
    /// Collect the built-in host metrics (default: as the config says, normally yes). An
    /// embedder on a host that already runs a system gmond turns this off.
    pub fn host_metrics(mut self, on: bool) -> Self {
        self.cfg.host_metrics = on;
        self
    }

    /// Share an existing registry (to register metrics before the agent starts).
    pub fn registry(mut self, r: Registry) -> Self {
        self.registry = r;
        self
    }

    /// Use this sampler for host metrics instead of the Linux collectors.
    pub fn host_sampler(mut self, s: Box<dyn Sampler + Send>) -> Self {
        self.host_sampler = Some(s);
        self
    }

    /// The heartbeat value (our start time); default: now.
    pub fn started_at(mut self, t: u64) -> Self {
        self.started = Some(t);
        self
    }

    /// Open every channel and start the agent on the current tokio runtime.
    pub fn spawn(self) -> Result<Agent, StartError> {
        let rt = tokio::runtime::Handle::try_current().map_err(|_| StartError::NoRuntime)?;
        let cfg = self.cfg;
        if cfg.deaf && cfg.mute {
            return Err(StartError::NothingToDo);
        }
        // Validate groups now so a bad name_match fails start-up, not the sender task.
        Scheduler::new(
            &cfg.groups,
            &builtin::catalog(),
            crate::core::packets::Sender::plain("x"),
            0,
        )?;

        let mut recv_socks = Vec::new();
        let mut retry = Vec::new();
        if !cfg.deaf {
            for r in &cfg.recv {
                let addr = SocketAddr::new(r.spec.bind, r.spec.port);
                match udp::open_recv(&r.spec) {
                    Ok(s) => recv_socks.push((s, r.spec.clone(), r.acl.clone())),
                    // retry_bind: keep trying every 60 s, as gmond does.
                    Err(e) if r.retry_bind => {
                        tracing::warn!(%addr, error = %e, "Cannot bind udp_recv_channel; retrying every 60 s.");
                        retry.push(r.clone());
                    }
                    Err(source) => return Err(StartError::BindUdp { addr, source }),
                }
            }
        }
        let mut send_socks = Vec::new();
        if !cfg.mute {
            for s in &cfg.send {
                send_socks.push(udp::open_send(s).map_err(|source| StartError::SendChannel {
                    addr: s.dest,
                    source,
                })?);
            }
        }
        let mut listeners = Vec::new();
        if !cfg.deaf {
            for t in &cfg.tcp {
                let l = std::net::TcpListener::bind(t.addr)
                    .and_then(|l| l.set_nonblocking(true).map(|()| l))
                    .map_err(|source| StartError::BindTcp {
                        addr: t.addr,
                        source,
                    })?;
                listeners.push((l, t.clone()));
            }
        }

        let started = self.started.unwrap_or_else(epoch_now);
        let location = cfg.location.clone();
        let gexec = cfg.gexec;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                table: HostTable::new(cfg.limits),
                stats: Stats::default(),
            }),
            cfg,
            stopping: AtomicBool::new(false),
        });
        let udp_addrs = recv_socks
            .iter()
            .filter_map(|(s, _, _)| s.local_addr().ok())
            .collect();
        let xml_addrs = listeners
            .iter()
            .filter_map(|(l, _)| l.local_addr().ok())
            .collect();

        let (stop_tx, stop_rx) = watch::channel(false);
        let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
        let res_shared = shared.clone();
        let resolver = resolve::spawn(move |ip: IpAddr, name: String| {
            res_shared.lock().table.set_name(&ip.to_string(), name);
        })
        .map_err(StartError::Thread)?;

        let mut threads = Vec::new();
        for (i, (sock, spec, acl)) in recv_socks.into_iter().enumerate() {
            let (sh, ctl, res) = (shared.clone(), ctl_tx.clone(), resolver.clone());
            let t = std::thread::Builder::new()
                .name(format!("gmond-recv-{i}"))
                .spawn(move || recv::run(sock, spec, acl, sh, ctl, res))
                .map_err(StartError::Thread)?;
            threads.push(t);
        }
        for (i, r) in retry.into_iter().enumerate() {
            let (sh, ctl, res) = (shared.clone(), ctl_tx.clone(), resolver.clone());
            let t = std::thread::Builder::new()
                .name(format!("gmond-recv-retry-{i}"))
                .spawn(move || {
                    let mut next = std::time::Instant::now() + std::time::Duration::from_secs(60);
                    while !sh.stopping.load(Ordering::Relaxed) {
                        if std::time::Instant::now() >= next {
                            match udp::open_recv(&r.spec) {
                                Ok(sock) => return recv::run(sock, r.spec, r.acl, sh, ctl, res),
                                Err(_) => next += std::time::Duration::from_secs(60),
                            }
                        }
                        std::thread::sleep(std::time::Duration::from_millis(200));
                    }
                })
                .map_err(StartError::Thread)?;
            threads.push(t);
        }
        drop(resolver);

        let mut tasks = Vec::new();
        let _guard = rt.enter();
        for (l, chan) in listeners {
            let l = tokio::net::TcpListener::from_std(l).map_err(|source| StartError::BindTcp {
                addr: chan.addr,
                source,
            })?;
            tasks.push(rt.spawn(xml::serve(l, chan, shared.clone(), stop_rx.clone())));
        }
        let host = match self.host_sampler {
            Some(s) => Some(s),
            None if shared.cfg.host_metrics => Some(builtin::default_sampler()),
            None => None,
        };
        let sampler = send::AgentSampler {
            host,
            registry: self.registry.clone(),
            started,
            location,
            gexec,
        };
        tasks.push(rt.spawn(send::run(
            shared.clone(),
            send_socks,
            sampler,
            ctl_rx,
            stop_rx,
        )));
        Ok(Agent {
            shared,
            registry: self.registry,
            stop: stop_tx,
            tasks,
            threads,
            udp_addrs,
            xml_addrs,
            _ctl: ctl_tx,
        })
    }
}

/// A running agent. Dropping it without [`Agent::shutdown`] stops it too (threads notice
/// within 200 ms).
pub struct Agent {
    shared: Arc<Shared>,
    registry: Registry,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    threads: Vec<std::thread::JoinHandle<()>>,
    udp_addrs: Vec<SocketAddr>,
    xml_addrs: Vec<SocketAddr>,
    _ctl: mpsc::UnboundedSender<Control>,
}

impl Agent {
    /// Start configuring an agent.
    pub fn builder(cfg: AgentConfig) -> AgentBuilder {
        AgentBuilder {
            cfg,
            registry: Registry::default(),
            host_sampler: None,
            started: None,
        }
    }

    /// The application-metrics registry: `agent.registry().gauge(...)`.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Bound addresses of the receive channels.
    pub fn udp_addrs(&self) -> &[SocketAddr] {
        &self.udp_addrs
    }

    /// Bound addresses of the XML channels.
    pub fn xml_addrs(&self) -> &[SocketAddr] {
        &self.xml_addrs
    }

    /// A copy of the counters.
    pub fn stats(&self) -> Stats {
        self.shared.lock().stats.clone()
    }

    /// Hosts and metrics currently held.
    pub fn counts(&self) -> (usize, usize) {
        let st = self.shared.lock();
        (st.table.len(), st.table.metric_count())
    }

    /// Render the XML dump as a client connecting now would receive it (uncompressed).
    pub fn xml(&self) -> Vec<u8> {
        xml::render(&self.shared, epoch_now())
    }

    /// Stop every task and thread and wait for them.
    pub async fn shutdown(mut self) {
        self.stop_now();
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        let threads: Vec<_> = self.threads.drain(..).collect();
        let _ =
            tokio::task::spawn_blocking(move || threads.into_iter().for_each(|t| drop(t.join())))
                .await;
    }

    fn stop_now(&self) {
        self.shared.stopping.store(true, Ordering::Relaxed);
        let _ = self.stop.send(true);
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.stop_now();
    }
}
