//! UDP sockets for send and receive channels: unicast, IPv4 and IPv6 multicast, buffers, TTL,
//! interface selection, and batched receive (recvmmsg).

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Duration;

/// Index of a network interface by name (`"lo"`, `"eth0"`).
pub fn if_index(name: &str) -> io::Result<u32> {
    let c = std::ffi::CString::new(name)
        .map_err(|_| io::Error::other("interface name contains NUL"))?;
    // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 {
        Err(io::Error::other(format!("no such interface {name:?}")))
    } else {
        Ok(idx)
    }
}

/// First IPv4 address of interface `name`.
pub fn if_ipv4(name: &str) -> io::Result<Ipv4Addr> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below with freeifaddrs.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut found = None;
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list returned by getifaddrs, valid until freeifaddrs.
        let ifa = unsafe { &*cur };
        if !ifa.ifa_addr.is_null() && !ifa.ifa_name.is_null() {
            // SAFETY: ifa_name is a NUL-terminated string owned by the list.
            let n = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) };
            // SAFETY: ifa_addr is non-null and points to a sockaddr of the family it names.
            let family = i32::from(unsafe { (*ifa.ifa_addr).sa_family });
            if n.to_bytes() == name.as_bytes() && family == libc::AF_INET {
                // SAFETY: family AF_INET means the sockaddr is a sockaddr_in.
                let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
                found = Some(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)));
                break;
            }
        }
        cur = ifa.ifa_next;
    }
    // SAFETY: `head` came from getifaddrs and is freed exactly once.
    unsafe { libc::freeifaddrs(head) };
    found.ok_or_else(|| io::Error::other(format!("interface {name:?} has no IPv4 address")))
}

/// How to open a receive socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecvSpec {
    /// Address to bind (the group address when only `mcast_join` is set, as gmond does).
    pub bind: IpAddr,
    /// Port (0 = ephemeral, for tests).
    pub port: u16,
    /// Multicast group to join.
    pub mcast_join: Option<IpAddr>,
    /// Interface to join on (name).
    pub mcast_if: Option<String>,
    /// SO_RCVBUF in bytes (0 = system default).
    pub buffer: usize,
}

/// Open and configure a blocking receive socket with a short read timeout (so the receive
/// thread can notice shutdown).
pub fn open_recv(spec: &RecvSpec) -> io::Result<UdpSocket> {
    let addr = SocketAddr::new(spec.bind, spec.port);
    let domain = if addr.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    if spec.buffer > 0 {
        s.set_recv_buffer_size(spec.buffer)?;
    }
    s.bind(&SockAddr::from(addr))?;
    if let Some(group) = spec.mcast_join {
        match group {
            IpAddr::V4(g) => {
                let iface = match &spec.mcast_if {
                    Some(n) => if_ipv4(n)?,
                    None => Ipv4Addr::UNSPECIFIED,
                };
                s.join_multicast_v4(&g, &iface)?;
            }
            IpAddr::V6(g) => {
                let idx = match &spec.mcast_if {
                    Some(n) => if_index(n)?,
                    None => 0,
                };
                s.join_multicast_v6(&g, idx)?;
            }
        }
    }
    s.set_read_timeout(Some(Duration::from_millis(200)))?;
    Ok(s.into())
}

/// How to open a send socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendSpec {
    /// Destination.
    pub dest: SocketAddr,
    /// Multicast TTL (applied only when `dest` is multicast).
    pub ttl: u32,
    /// Interface for outgoing multicast (name).
    pub mcast_if: Option<String>,
    /// Source address to bind.
    pub bind: Option<IpAddr>,
}

/// Open a non-blocking send socket connected to its destination.
pub fn open_send(spec: &SendSpec) -> io::Result<UdpSocket> {
    let domain = if spec.dest.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    let local: IpAddr = match (spec.bind, spec.dest) {
        (Some(b), _) => b,
        (None, SocketAddr::V4(_)) => Ipv4Addr::UNSPECIFIED.into(),
        (None, SocketAddr::V6(_)) => Ipv6Addr::UNSPECIFIED.into(),
    };
    s.bind(&SockAddr::from(SocketAddr::new(local, 0)))?;
    if spec.dest.ip().is_multicast() {
        match spec.dest.ip() {
            IpAddr::V4(_) => {
                s.set_multicast_ttl_v4(spec.ttl)?;
                s.set_multicast_loop_v4(true)?;
                if let Some(n) = &spec.mcast_if {
                    s.set_multicast_if_v4(&if_ipv4(n)?)?;
                }
            }
            IpAddr::V6(_) => {
                s.set_multicast_hops_v6(spec.ttl)?;
                s.set_multicast_loop_v6(true)?;
                if let Some(n) = &spec.mcast_if {
                    s.set_multicast_if_v6(if_index(n)?)?;
                }
            }
        }
    }
    s.connect(&SockAddr::from(spec.dest))?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

/// A reusable batch of receive buffers for [`recv_batch`].
pub struct Batch {
    bufs: Vec<Vec<u8>>,
    lens: Vec<usize>,
    addrs: Vec<Option<SocketAddr>>,
}

impl Batch {
    /// `n` buffers of `size` bytes.
    pub fn new(n: usize, size: usize) -> Batch {
        Batch {
            bufs: vec![vec![0; size]; n],
            lens: vec![0; n],
            addrs: vec![None; n],
        }
    }

    /// The `i`th received datagram and its source.
    pub fn get(&self, i: usize) -> (&[u8], Option<SocketAddr>) {
        (&self.bufs[i][..self.lens[i]], self.addrs[i])
    }
}

fn sockaddr_to_std(ss: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(ss.ss_family) {
        libc::AF_INET => {
            // SAFETY: family AF_INET means the storage holds a sockaddr_in.
            let sin =
                unsafe { &*(ss as *const libc::sockaddr_storage as *const libc::sockaddr_in) };
            Some(SocketAddr::new(
                Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)).into(),
                u16::from_be(sin.sin_port),
            ))
        }
        libc::AF_INET6 => {
            // SAFETY: family AF_INET6 means the storage holds a sockaddr_in6.
            let sin6 =
                unsafe { &*(ss as *const libc::sockaddr_storage as *const libc::sockaddr_in6) };
            Some(SocketAddr::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr).into(),
                u16::from_be(sin6.sin6_port),
            ))
        }
        _ => None,
    }
}

/// Receive up to a batch of datagrams with one `recvmmsg` call, blocking until at least one
/// arrives or the socket's read timeout passes. Returns how many were received. Datagrams longer
/// than a buffer are truncated (and then fail to decode, like gmond's fixed buffer).
pub fn recv_batch(sock: &UdpSocket, batch: &mut Batch) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    let n = batch.bufs.len();
    let mut iovs: Vec<libc::iovec> = batch
        .bufs
        .iter_mut()
        .map(|b| libc::iovec {
            iov_base: b.as_mut_ptr().cast(),
            iov_len: b.len(),
        })
        .collect();
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
    let mut names: Vec<libc::sockaddr_storage> = vec![unsafe { std::mem::zeroed() }; n];
    let mut msgs: Vec<libc::mmsghdr> = (0..n)
        .map(|i| {
            // SAFETY: mmsghdr is plain old data; all-zero is a valid value, fields set below.
            let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
            m.msg_hdr.msg_iov = &mut iovs[i];
            m.msg_hdr.msg_iovlen = 1;
            m.msg_hdr.msg_name = (&mut names[i] as *mut libc::sockaddr_storage).cast();
            m.msg_hdr.msg_namelen =
                std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            m
        })
        .collect();
    // SAFETY: `msgs` points at `n` initialised headers whose buffers (`iovs`, `names`,
    // `batch.bufs`) outlive the call. MSG_WAITFORONE returns once one datagram is in.
    let got = unsafe {
        libc::recvmmsg(
            sock.as_raw_fd(),
            msgs.as_mut_ptr(),
            n as libc::c_uint,
            libc::MSG_WAITFORONE,
            std::ptr::null_mut(),
        )
    };
    if got < 0 {
        return Err(io::Error::last_os_error());
    }
    let got = got as usize;
    for i in 0..got {
        batch.lens[i] = msgs[i].msg_len as usize;
        batch.addrs[i] = sockaddr_to_std(&names[i]);
    }
    Ok(got)
}

/// The kernel's count of UDP datagrams dropped for lack of receive buffer (RcvbufErrors in
/// /proc/net/snmp), for benchmarks and stats.
pub fn kernel_rcvbuf_errors() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/snmp").ok()?;
    let mut lines = text.lines().filter(|l| l.starts_with("Udp:"));
    let header = lines.next()?;
    let values = lines.next()?;
    let idx = header
        .split_whitespace()
        .position(|h| h == "RcvbufErrors")?;
    values.split_whitespace().nth(idx)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicast_batch_receive_on_loopback() {
        let r = open_recv(&RecvSpec {
            bind: Ipv4Addr::LOCALHOST.into(),
            port: 0,
            mcast_join: None,
            mcast_if: None,
            buffer: 1 << 20,
        })
        .unwrap();
        let dest = r.local_addr().unwrap();
        let s = open_send(&SendSpec {
            dest,
            ttl: 1,
            mcast_if: None,
            bind: None,
        })
        .unwrap();
        for i in 0..10u8 {
            s.send(&[i; 8]).unwrap();
        }
        let mut batch = Batch::new(16, 1472);
        let mut seen = 0;
        while seen < 10 {
            let n = recv_batch(&r, &mut batch).unwrap();
            for i in 0..n {
                let (data, from) = batch.get(i);
                assert_eq!(data, &[seen as u8; 8]);
                assert_eq!(from.unwrap().ip(), Ipv4Addr::LOCALHOST);
                seen += 1;
            }
        }
        assert!(kernel_rcvbuf_errors().is_some());
    }

    #[test]
    fn interface_lookup() {
        assert_eq!(if_ipv4("lo").unwrap(), Ipv4Addr::LOCALHOST);
        assert!(if_index("lo").unwrap() > 0);
        assert!(if_index("no-such-if0").is_err());
    }
}
