//! `gmetad-rs`: drop-in replacement for Ganglia 3.7's gmetad, with gmetad's flags.

use anyhow::{Context, Result};
use clap::Parser;
use gmetad::config::Config;
use gmetad::daemon::Gmetad;
use std::path::{Path, PathBuf};

const DEFAULT_CONF: &str = "/etc/ganglia/gmetad.conf";

/// The Ganglia Meta Daemon (gmetad-rs) collects information from multiple gmond or gmetad data
/// sources, saves the information to RRD files and exports XML which is the sum of all the data
/// sources.
#[derive(Parser, Debug)]
#[command(name = "gmetad-rs", version = concat!(env!("CARGO_PKG_VERSION"), " (gmetad 3.7.2 compatible)"))]
struct Args {
    /// Location of gmetad configuration file
    #[arg(short = 'c', long = "conf")]
    conf: Option<PathBuf>,
    /// Debug level. If greater than zero, daemon will stay in foreground. Overrides the
    /// configuration's debug_level.
    #[arg(short = 'd', long = "debug")]
    debug: Option<u32>,
    /// Write process-id to file
    #[arg(short = 'p', long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// Stay in the foreground at debug level 0 (a gmetad-rs extension, like gmond's -f)
    #[arg(short = 'f', long = "foreground")]
    foreground: bool,
}

/// The configuration with its `debug_level` and `umask`.
fn load(args: &Args) -> Result<(Config, u32, u32)> {
    let path = match &args.conf {
        Some(p) => p.clone(),
        None if Path::new(DEFAULT_CONF).exists() => PathBuf::from(DEFAULT_CONF),
        None => {
            let c = Config::builtin();
            std::fs::create_dir_all(&c.rrd_rootdir)
                .with_context(|| format!("creating {}", c.rrd_rootdir.display()))?;
            return Ok((c, 0, 0));
        }
    };
    let p = path.to_string_lossy();
    let parsed =
        ganglia_proto::conf::gmetad::parse_gmetad_file(&p).map_err(|e| anyhow::anyhow!("{e}"))?;
    let cfg = Config::from_conf(&parsed).with_context(|| format!("{p}"))?;
    Ok((cfg, parsed.debug_level, parsed.umask))
}

/// Allocations of 1 MiB and more (a fetched document, an XML answer) get their own mapping,
/// returned to the kernel when freed. glibc's default threshold grows to the largest block
/// freed so far, after which such buffers come from the per-thread heaps and stay resident
/// there between polls (measured: RSS 49 → 30 MB polling 1000 hosts × 30 metrics).
fn large_blocks_mapped() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

fn main() -> std::process::ExitCode {
    large_blocks_mapped();
    let args = Args::parse();
    let loaded = load(&args);
    let debug = match (&loaded, args.debug) {
        (_, Some(d)) => d,
        (Ok((_, d, _)), None) => *d,
        (Err(_), None) => 0,
    };
    // librrd's Rust binding logs every call at debug level: keep that out of -d output.
    let filter = if debug > 0 { "debug,rrd=info" } else { "info" };
    let detach = loaded.is_ok() && debug == 0 && !args.foreground;
    // Detached, logs go to syslog as gmetad's do.
    ganglia_daemon::init_logging(c"gmetad-rs", filter, detach);
    let r = loaded.and_then(|(cfg, _, umask)| {
        if detach {
            // As gmetad at debug level 0: fork, new session, the configured umask.
            ganglia_daemon::daemonize(Some(umask))?;
        }
        run(args, cfg)
    });
    match r {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if detach => {
            tracing::error!("gmetad-rs: {e:#}");
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("gmetad-rs: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: Args, cfg: Config) -> Result<()> {
    if let Some(p) = &args.pid_file {
        std::fs::write(p, format!("{}\n", std::process::id()))
            .with_context(|| format!("writing {}", p.display()))?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let r = rt.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let sources: Vec<_> = cfg.sources.iter().map(|s| s.name.clone()).collect();
        let user = cfg.setuid_user.clone();
        // Privileges go right after binding, before the first poll can create an RRD file.
        let g = Gmetad::start_with(cfg, || match &user {
            // Become setuid_username right after binding, as gmetad does (only as root).
            Some(u) => ganglia_daemon::drop_privileges(u)
                .map(drop)
                .map_err(|e| format!("setuid_username: {e}")),
            None => Ok(()),
        })
        .context("starting gmetad-rs")?;
        tracing::info!(xml = %g.xml_addr, interactive = %g.interactive_addr, ?sources, "gmetad-rs started.");
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        g.shutdown().await;
        anyhow::Ok(())
    });
    if let Some(p) = &args.pid_file {
        let _ = std::fs::remove_file(p);
    }
    r
}
