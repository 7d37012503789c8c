//! gweb-rs: the web view of a Ganglia grid.

use anyhow::Context as _;
use clap::Parser;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

/// Serve the web view of a gmetad's grid: gmetad's interactive port plus its RRD tree.
#[derive(Debug, Parser)]
#[command(name = "gweb-rs", version)]
struct Args {
    /// HTTP listen address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// gmetad interactive port (HOST:PORT).
    #[arg(long, default_value = "127.0.0.1:8652")]
    gmetad: String,
    /// RRD root directory (default: gmetad-rs's default RRD directory).
    #[arg(long)]
    rrds: Option<PathBuf>,
    /// Seconds a gmetad answer is reused.
    #[arg(long, default_value_t = 2)]
    cache_ttl: u64,
    /// Log at debug level.
    #[arg(short, long)]
    debug: bool,
}

fn addr(s: &str, what: &str) -> anyhow::Result<SocketAddr> {
    s.to_socket_addrs()
        .with_context(|| format!("{what} {s:?}"))?
        .next()
        .with_context(|| format!("{what} {s:?}: no address"))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(if args.debug { "debug" } else { "info" })
        .init();
    let mut cfg = gweb::Config::builtin();
    cfg.listen = addr(&args.listen, "--listen")?;
    cfg.gmetad = addr(&args.gmetad, "--gmetad")?;
    if let Some(r) = args.rrds {
        cfg.rrds = r;
    }
    cfg.cache_ttl = std::time::Duration::from_secs(args.cache_ttl);
    let rt = tokio::runtime::Runtime::new().context("tokio runtime")?;
    rt.block_on(async move {
        let web = gweb::Web::start(cfg).context("gweb-rs")?;
        println!("gweb-rs: http://{}/", web.addr);
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("signal handler")?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        web.shutdown().await;
        Ok(())
    })
}
