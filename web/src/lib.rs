//! gweb-rs: the web view of a Ganglia grid. It asks gmetad (gmetad-rs or Debian's) on its
//! interactive port with the queries ganglia-web uses, reads the RRD tree for graphs (librrd,
//! serialised), and renders auto-escaped HTML under a strict Content-Security-Policy.
//!
//! Run in-process on port 0 with [`Web::start`] inside a tokio runtime.

pub mod data;
pub mod gmetad;
pub mod graph;
pub mod html;
pub mod model;
pub mod range;
pub mod routes;
pub mod rrdpath;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// HTTP listen address.
    pub listen: SocketAddr,
    /// gmetad's interactive port.
    pub gmetad: SocketAddr,
    /// RRD root directory.
    pub rrds: PathBuf,
    /// Timeout of one gmetad query.
    pub timeout: Duration,
    /// How long a gmetad answer is reused.
    pub cache_ttl: Duration,
    /// Largest gmetad answer accepted.
    pub max_answer: usize,
}

impl Config {
    /// Defaults: 127.0.0.1:8080, gmetad 127.0.0.1:8652, gmetad-rs's default RRD directory,
    /// 10 s timeout, answers reused for 2 s, 512 MiB answer limit.
    pub fn builtin() -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            gmetad: SocketAddr::from(([127, 0, 0, 1], 8652)),
            rrds: default_rrds(),
            timeout: Duration::from_secs(10),
            cache_ttl: Duration::from_secs(2),
            max_answer: 512 << 20,
        }
    }
}

/// gmetad-rs's default RRD directory ([`ganglia_proto::conf::gmetad::default_rrd_rootdir`]).
pub fn default_rrds() -> PathBuf {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    ganglia_proto::conf::gmetad::default_rrd_rootdir(|k| std::env::var_os(k), root)
}

/// What every handler shares.
#[derive(Debug)]
pub struct State {
    /// The gmetad client.
    pub client: gmetad::Client,
    /// RRD root (canonicalised when it exists).
    pub rrds: PathBuf,
    /// The librrd lock.
    pub rrd: graph::Rrd,
}

/// The shared state handle.
pub type Shared = Arc<State>;

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

/// A running gweb-rs.
#[derive(Debug)]
pub struct Web {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// The state for a config (also used by benchmarks).
pub fn state(cfg: &Config) -> Shared {
    let rrds = std::fs::canonicalize(&cfg.rrds).unwrap_or_else(|_| cfg.rrds.clone());
    Arc::new(State {
        client: gmetad::Client::new(cfg.gmetad, cfg.timeout, cfg.max_answer, cfg.cache_ttl),
        rrds,
        rrd: graph::Rrd::default(),
    })
}

impl Web {
    /// Bind and serve (needs a tokio runtime context).
    pub fn start(cfg: Config) -> Result<Web, StartError> {
        let bind = |source| StartError::Bind {
            addr: cfg.listen,
            source,
        };
        let std_l = std::net::TcpListener::bind(cfg.listen).map_err(bind)?;
        std_l.set_nonblocking(true).map_err(bind)?;
        let addr = std_l.local_addr().map_err(bind)?;
        let listener = tokio::net::TcpListener::from_std(std_l).map_err(bind)?;
        let app = routes::router(state(&cfg));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let r = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = r {
                tracing::error!(error = %e, "http server failed");
            }
        });
        tracing::info!(%addr, gmetad = %cfg.gmetad, rrds = %cfg.rrds.display(), "gweb-rs listening");
        Ok(Web {
            addr,
            stop: Some(tx),
            task: Some(task),
        })
    }

    /// Stop serving and wait for open connections to finish.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }
}
