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

/// Detach as gmetad does at debug level 0: fork (the parent exits), new session, the
/// configured umask, standard streams on /dev/null (logs go to syslog: [`init_logging`]).
fn daemonize(umask: u32) -> Result<()> {
    // SAFETY: called before any thread or runtime exists, so fork duplicates only this thread.
    match unsafe { libc::fork() } {
        -1 => anyhow::bail!("fork failed: {}", std::io::Error::last_os_error()),
        0 => {}
        _ => std::process::exit(0),
    }
    // SAFETY: plain syscalls in the child; /dev/null is opened read-write for the std streams.
    unsafe {
        libc::setsid();
        libc::umask(umask as libc::mode_t);
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if fd >= 0 {
            libc::dup2(fd, 0);
            libc::dup2(fd, 1);
            libc::dup2(fd, 2);
        }
    }
    Ok(())
}

/// Become `user` once the ports are bound, as gmetad does (only when running as root).
fn drop_privileges(user: &str) -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(());
    }
    let name = std::ffi::CString::new(user).context("user name")?;
    // SAFETY: getpwnam returns a pointer to static storage or NULL; read immediately.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    anyhow::ensure!(!pw.is_null(), "setuid_username {user:?} does not exist");
    // SAFETY: pw is non-null and valid until the next getpw* call.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    // SAFETY: plain syscalls; glibc applies setgid/setuid to every thread of the process.
    let ok = unsafe {
        libc::setgroups(0, std::ptr::null()) == 0
            && libc::setgid(gid) == 0
            && libc::setuid(uid) == 0
    };
    anyhow::ensure!(
        ok,
        "cannot become {user:?}: {}",
        std::io::Error::last_os_error()
    );
    tracing::info!(user, "Dropped privileges.");
    Ok(())
}

/// Logs go to stderr in the foreground and, once detached, to syslog (facility daemon, with
/// the pid), as gmetad's do.
fn init_logging(filter: &str, detached: bool) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| filter.into());
    let fmt = tracing_subscriber::fmt().with_env_filter(filter);
    let syslog = detached
        .then(|| {
            use syslog_tracing::{Facility, Options, Syslog};
            Syslog::new(c"gmetad-rs", Options::LOG_PID, Facility::Daemon)
        })
        .flatten();
    match syslog {
        Some(s) => fmt.with_writer(s).with_ansi(false).without_time().init(),
        None => fmt
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
}

fn main() -> std::process::ExitCode {
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
    init_logging(filter, detach);
    let r = loaded.and_then(|(cfg, _, umask)| {
        if detach {
            daemonize(umask)?;
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
            Some(u) => drop_privileges(u).map_err(|e| format!("{e:#}")),
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
