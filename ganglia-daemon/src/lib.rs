//! Process plumbing shared by the daemons' thin `main`s (gmond-rs, gmetad-rs): detaching as
//! gmond and gmetad do, becoming the configured user once the sockets are bound, and logging
//! to stderr in the foreground or to syslog once detached.

use std::ffi::{CStr, CString};

/// Why a process step failed.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// fork(2) failed.
    #[error("fork failed: {0}")]
    Fork(std::io::Error),
    /// The user name holds a NUL byte.
    #[error("user name {0:?} holds a NUL byte")]
    BadName(String),
    /// No such user in the password database.
    #[error("user {0:?} does not exist")]
    NoSuchUser(String),
    /// setgroups/setgid/setuid failed.
    #[error("cannot become {user:?}: {source}")]
    Become {
        /// The user.
        user: String,
        /// The failing call's error.
        source: std::io::Error,
    },
}

/// Detach: fork (the parent exits 0), new session, `umask` if given, standard streams on
/// /dev/null. Call before any thread or runtime exists; logs go wherever [`init_logging`] sent
/// them (syslog when detached).
pub fn daemonize(umask: Option<u32>) -> Result<(), DaemonError> {
    // SAFETY: the caller runs single-threaded, so fork duplicates only this thread.
    match unsafe { libc::fork() } {
        -1 => return Err(DaemonError::Fork(std::io::Error::last_os_error())),
        0 => {}
        _ => std::process::exit(0),
    }
    // SAFETY: plain syscalls in the child; /dev/null is opened read-write for the std streams.
    unsafe {
        libc::setsid();
        if let Some(m) = umask {
            libc::umask(m as libc::mode_t);
        }
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if fd >= 0 {
            libc::dup2(fd, 0);
            libc::dup2(fd, 1);
            libc::dup2(fd, 2);
            if fd > 2 {
                libc::close(fd);
            }
        }
    }
    Ok(())
}

/// Become `user` (its uid, gid, no supplementary groups) when running as root, as gmond and
/// gmetad do once their ports are bound; returns whether anything changed (not root: nothing).
pub fn drop_privileges(user: &str) -> Result<bool, DaemonError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(false);
    }
    let name = CString::new(user).map_err(|_| DaemonError::BadName(user.to_owned()))?;
    // SAFETY: getpwnam returns a pointer to static storage or NULL; read immediately.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return Err(DaemonError::NoSuchUser(user.to_owned()));
    }
    // SAFETY: pw is non-null and valid until the next getpw* call.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    // SAFETY: plain syscalls; glibc applies setgid/setuid to every thread of the process.
    let ok = unsafe {
        libc::setgroups(0, std::ptr::null()) == 0
            && libc::setgid(gid) == 0
            && libc::setuid(uid) == 0
    };
    if !ok {
        return Err(DaemonError::Become {
            user: user.to_owned(),
            source: std::io::Error::last_os_error(),
        });
    }
    tracing::info!(user, "Dropped privileges.");
    Ok(true)
}

/// Install the global tracing subscriber: `RUST_LOG` or else `filter`; stderr in the
/// foreground, syslog (facility daemon, `ident[pid]`) when `detached`, as gmond and gmetad log.
/// Call once, before [`daemonize`] (the syslog connection opens with the first message).
pub fn init_logging(ident: &'static CStr, filter: &str, detached: bool) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| filter.into());
    let fmt = tracing_subscriber::fmt().with_env_filter(filter);
    let syslog = detached
        .then(|| {
            use syslog_tracing::{Facility, Options, Syslog};
            Syslog::new(ident, Options::LOG_PID, Facility::Daemon)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_user_is_refused_by_name_when_root() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            assert!(!drop_privileges("no-such-user-ganglia-rs").unwrap());
            return;
        }
        let e = drop_privileges("no-such-user-ganglia-rs").unwrap_err();
        assert_eq!(
            e.to_string(),
            "user \"no-such-user-ganglia-rs\" does not exist"
        );
        let e = drop_privileges("a\0b").unwrap_err();
        assert!(matches!(e, DaemonError::BadName(_)), "{e}");
    }
}
