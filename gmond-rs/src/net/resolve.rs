//! Reverse DNS for new hosts, off the receive path: a thread answers lookups one at a time and
//! the caller applies each answer to the host table (3.7.2 resolves inline, once per host).

use std::net::{IpAddr, SocketAddr};
use std::sync::mpsc;

/// The host name of `ip` by reverse lookup (`getnameinfo` with `NI_NAMEREQD`), if it has one.
pub fn reverse(ip: IpAddr) -> Option<String> {
    let sa = socket2::SockAddr::from(SocketAddr::new(ip, 0));
    let mut host = [0 as libc::c_char; 1025];
    // SAFETY: `sa` is a valid sockaddr of the stated length; `host` is writable for its length;
    // no service buffer is requested.
    let rc = unsafe {
        libc::getnameinfo(
            sa.as_ptr().cast(),
            sa.len(),
            host.as_mut_ptr(),
            host.len() as libc::socklen_t,
            std::ptr::null_mut(),
            0,
            libc::NI_NAMEREQD,
        )
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: getnameinfo succeeded, so `host` holds a NUL-terminated string.
    let name = unsafe { std::ffi::CStr::from_ptr(host.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

/// Start a resolver thread. Send it addresses; it calls `apply(ip, name)` for each that resolves.
/// The thread ends when the returned sender is dropped.
pub fn spawn(
    apply: impl Fn(IpAddr, String) + Send + 'static,
) -> std::io::Result<mpsc::Sender<IpAddr>> {
    let (tx, rx) = mpsc::channel::<IpAddr>();
    std::thread::Builder::new()
        .name("gmond-resolve".into())
        .spawn(move || {
            for ip in rx {
                if let Some(name) = reverse(ip) {
                    apply(ip, name);
                }
            }
        })?;
    Ok(tx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_resolves_through_the_hosts_file() {
        // 127.0.0.1 is "localhost" in every /etc/hosts this project runs on.
        assert_eq!(
            reverse("127.0.0.1".parse().unwrap()).as_deref(),
            Some("localhost")
        );
    }
}
