//! `gmond-rs`: drop-in replacement for Ganglia 3.7's gmond, with gmond's flags.
//! A thin shell over the library's own embedding API (`gmond::agent::Agent`).

use anyhow::{Context, Result};
use clap::Parser;
use gmond::agent::{Agent, catalog_with};
use gmond::config::AgentConfig;
use gmond::embed::registry::Registry;
use std::path::{Path, PathBuf};

const DEFAULT_CONF: &str = "/etc/ganglia/gmond.conf";

/// The Ganglia Monitoring Daemon (gmond-rs) listens to the cluster message channel, stores the
/// data in-memory and when requested will output an XML description of the state of the cluster.
#[derive(Parser, Debug)]
#[command(name = "gmond-rs", version = concat!(env!("CARGO_PKG_VERSION"), " (gmond 3.7.2 compatible)"))]
struct Args {
    /// Location of gmond configuration file
    #[arg(short = 'c', long = "conf")]
    conf: Option<PathBuf>,
    /// Location of this host in the cluster 'rack,rank,plane'
    #[arg(short = 'l', long = "location")]
    location: Option<String>,
    /// Debug level. If greater than zero, daemon will stay in foreground
    #[arg(short = 'd', long = "debug", default_value_t = 0)]
    debug: u32,
    /// Run in foreground (don't daemonize)
    #[arg(short = 'f', long = "foreground")]
    foreground: bool,
    /// Print the default configuration to stdout and exit
    #[arg(short = 't', long = "default_config")]
    default_config: bool,
    /// Print the list of metrics this gmond supports
    #[arg(short = 'm', long = "metrics")]
    metrics: bool,
    /// Write process-id to file
    #[arg(short = 'p', long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// Accepted for compatibility; use tcp_accept_channel gzip_output
    #[arg(short = 'z', long = "gzip-output", hide = true)]
    gzip_output: bool,
}

fn module_of(group: &str) -> &str {
    match group {
        "core" => "core_metrics",
        "cpu" => "cpu_module",
        "disk" => "disk_module",
        "load" => "load_module",
        "memory" => "mem_module",
        "network" => "net_module",
        "process" => "proc_module",
        "system" => "sys_module",
        other => other,
    }
}

/// Load the configuration as gmond does: -c must exist; without -c the default file is used if
/// present, else the built-in default.
/// The configuration, whether to daemonize, and the user to become (`setuid`/`user`).
fn load(args: &Args) -> Result<(AgentConfig, bool, Option<String>)> {
    let (path, explicit) = match &args.conf {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from(DEFAULT_CONF), false),
    };
    let mut cfg = if explicit || Path::new(DEFAULT_CONF).exists() {
        let p = path.to_string_lossy();
        let parsed =
            ganglia_proto::conf::gmond::parse_gmond_file(&p).map_err(|e| anyhow::anyhow!("{e}"))?;
        let daemonize = parsed.globals.daemonize;
        let user = parsed.globals.setuid.then(|| parsed.globals.user.clone());
        let cfg = AgentConfig::from_gmond_conf(&parsed).with_context(|| format!("{p}"))?;
        (cfg, daemonize, user)
    } else {
        (AgentConfig::standalone(), true, None)
    };
    if let Some(l) = &args.location {
        cfg.0.location = l.clone();
    }
    Ok(cfg)
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let mut detached = false;
    match run(args, &mut detached) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if detached => {
            tracing::error!("gmond-rs: {e:#}");
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("gmond-rs: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `detached` is set once logs go to syslog instead of stderr.
fn run(args: Args, detached: &mut bool) -> Result<()> {
    if args.default_config {
        print!("{}", gmond::default_conf::text());
        return Ok(());
    }
    let (cfg, conf_daemonize, user) = load(&args)?;
    if args.metrics {
        for d in catalog_with(&Registry::default(), true) {
            let group = d.groups.first().map_or("core", String::as_str);
            println!("{:<15}\t{} (module {})", d.name, d.desc, module_of(group));
        }
        return Ok(());
    }
    let filter = match args.debug {
        0 => "info",
        1..=2 => "debug",
        _ => "trace",
    };
    let detach = conf_daemonize && !args.foreground && args.debug == 0;
    // Detached, logs go to syslog as gmond's do.
    ganglia_daemon::init_logging(c"gmond-rs", filter, detach);
    *detached = detach;
    if detach {
        ganglia_daemon::daemonize(None)?;
    }
    if let Some(p) = &args.pid_file {
        std::fs::write(p, format!("{}\n", std::process::id()))
            .with_context(|| format!("writing pid file {}", p.display()))?;
    }
    let pid_file = args.pid_file.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = rt.block_on(serve(args, cfg, user));
    if let Some(p) = pid_file {
        let _ = std::fs::remove_file(p);
    }
    result
}

async fn serve(args: Args, mut cfg: AgentConfig, mut user: Option<String>) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let started = gmond::agent::epoch_now();
    loop {
        let agent = Agent::builder(cfg.clone())
            .started_at(started)
            .spawn()
            .context("starting gmond-rs")?;
        tracing::info!(udp = ?agent.udp_addrs(), xml = ?agent.xml_addrs(), cluster = %cfg.cluster.name, "gmond-rs started.");
        // Become the configured user once the sockets are open, as gmond does (only as root).
        if let Some(u) = user.take() {
            ganglia_daemon::drop_privileges(&u).context("setuid user")?;
        }
        tokio::select! {
            _ = hup.recv() => {
                match load(&args) {
                    Ok((new, _, _)) => {
                        tracing::info!("SIGHUP: reloading configuration.");
                        agent.shutdown().await;
                        cfg = new;
                    }
                    Err(e) => {
                        tracing::error!(error = %format!("{e:#}"), "SIGHUP: configuration invalid; keeping the running one.");
                        // Keep running with the old agent until the next signal.
                        tokio::select! {
                            _ = term.recv() => { agent.shutdown().await; return Ok(()) }
                            _ = int.recv() => { agent.shutdown().await; return Ok(()) }
                            _ = hup.recv() => { agent.shutdown().await; }
                        }
                    }
                }
            }
            _ = term.recv() => { agent.shutdown().await; return Ok(()) }
            _ = int.recv() => { agent.shutdown().await; return Ok(()) }
        }
    }
}
