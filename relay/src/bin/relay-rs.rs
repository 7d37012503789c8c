//! relay-rs: the media relay. `relay-rs --secret-file F` runs it; `relay-rs token --room R
//! --ttl S --secret-file F` prints a join token.

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use gmond::config::AgentConfig;
use relay::core::Limits;
use relay::core::token::{Tokens, random_nonce};
use relay::server::{Config, Server, embedded_agent_config};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Parser, Debug)]
#[command(
    name = "relay-rs",
    version,
    about = "PalTalk-style media relay monitored through an embedded gmond agent"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Print a join token for a room.
    Token {
        /// Room name.
        #[arg(long)]
        room: String,
        /// Seconds the token stays valid.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
        /// File holding the shared secret.
        #[arg(long)]
        secret_file: PathBuf,
    },
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Control-plane TCP address (JSON lines).
    #[arg(long, default_value = "127.0.0.1:7000")]
    control: SocketAddr,
    /// Media UDP address (RTP and RTCP).
    #[arg(long, default_value = "127.0.0.1:7001")]
    media: SocketAddr,
    /// Admin HTTP address (per-stream JSON).
    #[arg(long, default_value = "127.0.0.1:7002")]
    admin: SocketAddr,
    /// File holding the token secret (not empty, not world-readable).
    #[arg(long)]
    secret_file: Option<PathBuf>,
    /// gmond.conf whose udp_send_channels the embedded agent uses (default: unicast to
    /// 127.0.0.1:8649).
    #[arg(long)]
    gmond_conf: Option<PathBuf>,
    /// Run without the embedded agent.
    #[arg(long)]
    no_agent: bool,
    /// Members per room.
    #[arg(long, default_value_t = 16)]
    max_members: usize,
    /// Publishers per room.
    #[arg(long, default_value_t = 16)]
    max_publishers: usize,
    /// Per-publisher bitrate cap in bits/s (0: none).
    #[arg(long, default_value_t = 4_000_000)]
    max_bitrate: u64,
    /// Seconds without media or control messages before a participant is reaped.
    #[arg(long, default_value_t = 30)]
    inactivity: u64,
    /// Minimum milliseconds between PLI/FIR forwarded to one publisher.
    #[arg(long, default_value_t = 500)]
    pli_interval_ms: u64,
    /// Seconds between stats ticks (bitrate, loss and jitter intervals, reaper).
    #[arg(long, default_value_t = 5)]
    stats_interval: u64,
    /// Seconds between metric collections (sent at least every 4 collections).
    #[arg(long, default_value_t = 15)]
    metric_every: u64,
}

fn agent_config(a: &RunArgs) -> Result<Option<AgentConfig>> {
    if a.no_agent {
        return Ok(None);
    }
    let c = match &a.gmond_conf {
        Some(p) => {
            let text = p.to_string_lossy().into_owned();
            let parsed = ganglia_proto::conf::gmond::parse_gmond_file(&text)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            AgentConfig::from_gmond_conf(&parsed).with_context(|| text.clone())?
        }
        None => AgentConfig::standalone(),
    };
    Ok(Some(embedded_agent_config(c)))
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Some(Cmd::Token {
        room,
        ttl,
        secret_file,
    }) = cli.cmd
    {
        let t = Tokens::from_file(&secret_file)?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        println!("{}", t.sign(&room, now + ttl, random_nonce()));
        return Ok(());
    }
    let a = cli.run;
    let secret = a
        .secret_file
        .as_ref()
        .context("--secret-file is required to run the relay")?;
    let tokens = Tokens::from_file(secret)?;
    let mut cfg = Config::new(tokens);
    cfg.control = a.control;
    cfg.media = a.media;
    cfg.admin = a.admin;
    cfg.agent = agent_config(&a)?;
    cfg.metric_every = (a.metric_every.max(1), a.metric_every.max(1) * 4);
    cfg.stats_interval = Duration::from_secs(a.stats_interval.max(1));
    cfg.limits = Limits {
        max_members: a.max_members,
        max_publishers: a.max_publishers,
        max_bitrate_bps: a.max_bitrate,
        inactivity_ns: a.inactivity.saturating_mul(1_000_000_000),
        pli_interval_ns: a.pli_interval_ms.saturating_mul(1_000_000),
        ..Limits::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("tokio runtime")?;
    rt.block_on(async move {
        let server = Server::start(cfg).await?;
        eprintln!(
            "relay-rs: control {} media {} admin {}",
            server.control_addr, server.media_addr, server.admin_addr
        );
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        server.shutdown().await;
        anyhow::Ok(())
    })
}
