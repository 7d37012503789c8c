//! The running relay: media thread, control and admin listeners, stats task and the embedded
//! gmond agent, tied together. Start it inside a tokio runtime; every port may be 0.

pub mod admin;
pub mod control;
pub mod media;
pub mod metrics;

use crate::core::token::Tokens;
use crate::core::{Limits, Relay};
use gmond::agent::Agent;
use gmond::config::AgentConfig;
use metrics::{DriverFigures, RelayMetrics};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Control-plane TCP listen address.
    pub control: SocketAddr,
    /// Media UDP address.
    pub media: SocketAddr,
    /// Admin JSON TCP address.
    pub admin: SocketAddr,
    /// Token verifier.
    pub tokens: Tokens,
    /// Room and stream limits.
    pub limits: Limits,
    /// The embedded agent's configuration (None: no agent).
    pub agent: Option<AgentConfig>,
    /// Metric collection period and maximum send interval, seconds.
    pub metric_every: (u64, u64),
    /// Stats tick (bitrates, loss and jitter intervals, reaper).
    pub stats_interval: Duration,
}

impl Config {
    /// Loopback defaults (control 7000, media 7001, admin 7002), the built-in agent default.
    pub fn new(tokens: Tokens) -> Config {
        Config {
            control: "127.0.0.1:7000".parse().expect("literal"),
            media: "127.0.0.1:7001".parse().expect("literal"),
            admin: "127.0.0.1:7002".parse().expect("literal"),
            tokens,
            limits: Limits::default(),
            agent: Some(embedded_agent_config(AgentConfig::standalone())),
            metric_every: (15, 60),
            stats_interval: Duration::from_secs(5),
        }
    }
}

/// An agent configuration for embedding: only its send channels are used (no receiving, no
/// XML port, no host metrics — the host's own gmond reports those).
pub fn embedded_agent_config(mut c: AgentConfig) -> AgentConfig {
    c.recv.clear();
    c.tcp.clear();
    c.deaf = true;
    c.host_metrics = false;
    c.groups.clear();
    c
}

/// Start-up failures.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener could not bind.
    #[error("cannot bind {what} on {addr}: {err}")]
    Bind {
        /// Which listener.
        what: &'static str,
        /// Address.
        addr: SocketAddr,
        /// Cause.
        err: std::io::Error,
    },
    /// The embedded agent failed.
    #[error("embedded agent: {0}")]
    Agent(String),
}

/// A running relay.
pub struct Server {
    /// Control address (bound).
    pub control_addr: SocketAddr,
    /// Media address (bound).
    pub media_addr: SocketAddr,
    /// Admin address (bound).
    pub admin_addr: SocketAddr,
    relay: Arc<Mutex<Relay>>,
    stop: Arc<AtomicBool>,
    media_thread: Option<std::thread::JoinHandle<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    agent: Option<Agent>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("control", &self.control_addr)
            .field("media", &self.media_addr)
            .finish()
    }
}

fn bind_err(what: &'static str, addr: SocketAddr) -> impl FnOnce(std::io::Error) -> StartError {
    move |err| StartError::Bind { what, addr, err }
}

impl Server {
    /// Bind everything and start.
    pub async fn start(cfg: Config) -> Result<Server, StartError> {
        let epoch = Instant::now();
        let relay = Arc::new(Mutex::new(Relay::new(cfg.limits)));
        let sock = media::bind(cfg.media).map_err(bind_err("media", cfg.media))?;
        let media_addr = sock.local_addr().map_err(bind_err("media", cfg.media))?;
        let control = tokio::net::TcpListener::bind(cfg.control)
            .await
            .map_err(bind_err("control", cfg.control))?;
        let admin = tokio::net::TcpListener::bind(cfg.admin)
            .await
            .map_err(bind_err("admin", cfg.admin))?;
        let control_addr = control
            .local_addr()
            .map_err(bind_err("control", cfg.control))?;
        let admin_addr = admin.local_addr().map_err(bind_err("admin", cfg.admin))?;
        let agent = match cfg.agent {
            Some(a) => Some(
                Agent::builder(a)
                    .host_metrics(false)
                    .spawn()
                    .map_err(|e| StartError::Agent(e.to_string()))?,
            ),
            None => None,
        };
        let metrics = match &agent {
            Some(a) => Some(
                RelayMetrics::register(a.registry(), cfg.metric_every.0, cfg.metric_every.1)
                    .map_err(|e| StartError::Agent(e.to_string()))?,
            ),
            None => None,
        };
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(media::MediaCounters::default());
        let stats_sock = sock.try_clone().map_err(bind_err("media", cfg.media))?;
        let media_thread = {
            let (relay, counters, stop) = (relay.clone(), counters.clone(), stop.clone());
            std::thread::Builder::new()
                .name("relay-media".into())
                .spawn(move || media::run(sock, relay, counters, epoch, stop))
                .map_err(bind_err("media thread", media_addr))?
        };
        let shared = control::Shared {
            relay: relay.clone(),
            tokens: Arc::new(cfg.tokens),
            media: media_addr,
            epoch,
        };
        let tasks = vec![
            tokio::spawn(control::serve(control, shared)),
            tokio::spawn(admin::serve(admin, relay.clone(), counters.clone())),
            tokio::spawn(stats_loop(
                relay.clone(),
                counters,
                metrics,
                stats_sock,
                epoch,
                cfg.stats_interval,
            )),
        ];
        tracing::info!(%control_addr, %media_addr, %admin_addr, "relay-rs started");
        Ok(Server {
            control_addr,
            media_addr,
            admin_addr,
            relay,
            stop,
            media_thread: Some(media_thread),
            tasks,
            agent,
        })
    }

    /// The per-stream snapshot (what the admin endpoint serves).
    pub fn snapshot(&self) -> crate::core::stats::Snapshot {
        self.relay
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .snapshot()
    }

    /// The embedded agent, if any.
    pub fn agent(&self) -> Option<&Agent> {
        self.agent.as_ref()
    }

    /// Stop everything and wait for the media thread.
    pub async fn shutdown(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in &self.tasks {
            t.abort();
        }
        if let Some(t) = self.media_thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
        if let Some(a) = self.agent.take() {
            a.shutdown().await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn stats_loop(
    relay: Arc<Mutex<Relay>>,
    counters: Arc<media::MediaCounters>,
    mut metrics: Option<RelayMetrics>,
    sock: UdpSocket,
    epoch: Instant,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    let (mut lat_ns, mut lat_n) = (0u64, 0u64);
    loop {
        tick.tick().await;
        let now = epoch.elapsed().as_nanos() as u64;
        let (totals, iv, drops, reaped) = {
            let mut r = relay.lock().unwrap_or_else(|e| e.into_inner());
            let reaped = r.reap(now);
            let iv = r.tick(now);
            (r.totals(), iv, r.drops().clone(), reaped)
        };
        if !reaped.is_empty() {
            tracing::info!(count = reaped.len(), "reaped inactive participants");
        }
        let (ns, n) = (
            counters.latency_ns.load(Ordering::Relaxed),
            counters.latency_count.load(Ordering::Relaxed),
        );
        let fwd_latency_us = if n > lat_n {
            (ns - lat_ns) as f64 / (n - lat_n) as f64 / 1000.0
        } else {
            0.0
        };
        (lat_ns, lat_n) = (ns, n);
        if let Some(m) = metrics.as_mut() {
            let udp_drops = media::kernel_drops(&sock);
            m.update(
                &totals,
                &iv,
                &drops,
                DriverFigures {
                    fwd_latency_us,
                    udp_drops,
                },
            );
        }
    }
}
