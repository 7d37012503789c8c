//! The media-plane driver: one UDP socket on a dedicated thread, recvmmsg in, the core's
//! decisions, sendmmsg out. The relay state is locked once per received batch.

use crate::core::Relay;
use crate::core::hist::Histogram;
use crate::core::stats::DropReason;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Datagrams per recvmmsg call.
pub const RECV_BATCH: usize = 64;
const BUF: usize = 2048;
/// Copies per sendmmsg call (and per latency timestamp).
const SEND_BATCH: usize = 64;
/// Requested socket buffer size (forced past rmem_max when running as root).
pub const SOCKET_BUFFER: usize = 8 << 20;

/// Counters the media thread publishes without taking the relay lock.
#[derive(Debug, Default)]
pub struct MediaCounters {
    /// Per forwarded copy: kernel receive timestamp to sendmmsg return, µs.
    pub latency: Histogram,
    /// Sum over forwarded copies of (sent - received) in ns.
    pub latency_ns: AtomicU64,
    /// Forwarded copies measured.
    pub latency_count: AtomicU64,
    /// sendmmsg failures (copies not sent).
    pub send_errors: AtomicU64,
}

fn set_buffer(sock: &Socket, opt_force: libc::c_int, size: usize) {
    let v = libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX);
    // SAFETY: a valid fd and a c_int option value of the right size.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            opt_force,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        // Not root: the kernel caps at rmem_max/wmem_max.
        let _ = if opt_force == libc::SO_RCVBUFFORCE {
            sock.set_recv_buffer_size(size)
        } else {
            sock.set_send_buffer_size(size)
        };
    }
}

/// Bind the media socket with large buffers and a short read timeout (so the thread notices
/// a stop request).
pub fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    set_buffer(&s, libc::SO_RCVBUFFORCE, SOCKET_BUFFER);
    set_buffer(&s, libc::SO_SNDBUFFORCE, SOCKET_BUFFER);
    s.bind(&addr.into())?;
    let on: libc::c_int = 1;
    // SAFETY: valid fd and option value. Kernel receive timestamps measure the added latency;
    // without them the batch's wake-up time is used.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
    s.set_read_timeout(Some(Duration::from_millis(100)))?;
    Ok(s.into())
}

/// Kernel receive-buffer drops of the UDP socket with `inode` (from /proc/net/udp{,6}).
pub fn kernel_drops(sock: &UdpSocket) -> Option<u64> {
    // SAFETY: fstat on a valid fd into a zeroed stat buffer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(sock.as_raw_fd(), &mut st) } != 0 {
        return None;
    }
    let inode = st.st_ino.to_string();
    for f in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() >= 13 && cols[9] == inode {
                return cols[12].parse().ok();
            }
        }
    }
    None
}

struct Batch {
    bufs: Vec<[u8; BUF]>,
    iov: Vec<libc::iovec>,
    names: Vec<libc::sockaddr_storage>,
    ctrl: Vec<[u64; 8]>,
    msgs: Vec<libc::mmsghdr>,
}

impl Batch {
    fn new(n: usize) -> Batch {
        // SAFETY: all-zero is a valid value for these plain C structs.
        let zero_name: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let zero_msg: libc::mmsghdr = unsafe { std::mem::zeroed() };
        Batch {
            bufs: vec![[0u8; BUF]; n],
            iov: vec![
                libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: 0
                };
                n
            ],
            names: vec![zero_name; n],
            ctrl: vec![[0u64; 8]; n],
            msgs: vec![zero_msg; n],
        }
    }

    /// Re-arm every header for a receive (pointers into our own vectors).
    fn arm(&mut self) {
        for i in 0..self.msgs.len() {
            self.iov[i].iov_base = self.bufs[i].as_mut_ptr().cast();
            self.iov[i].iov_len = BUF;
            let h = &mut self.msgs[i].msg_hdr;
            h.msg_name = (&mut self.names[i] as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_iov = &mut self.iov[i];
            h.msg_iovlen = 1;
            h.msg_control = self.ctrl[i].as_mut_ptr().cast();
            h.msg_controllen = std::mem::size_of::<[u64; 8]>();
            h.msg_flags = 0;
            self.msgs[i].msg_len = 0;
        }
    }
}

/// recvmmsg into `b`: the number of datagrams (0 on timeout).
fn recv_batch(fd: i32, b: &mut Batch) -> usize {
    b.arm();
    // SAFETY: every header points at live buffers of the stated sizes inside `b`.
    let n = unsafe {
        libc::recvmmsg(
            fd,
            b.msgs.as_mut_ptr(),
            b.msgs.len() as libc::c_uint,
            libc::MSG_WAITFORONE,
            std::ptr::null_mut(),
        )
    };
    usize::try_from(n).unwrap_or(0)
}

/// The kernel receive timestamp (CLOCK_REALTIME ns) of datagram `i`, if the kernel gave one.
fn rx_time(b: &Batch, i: usize) -> Option<u64> {
    let h = &b.msgs[i].msg_hdr;
    // SAFETY: the kernel filled msg_control within msg_controllen; the CMSG macros stay inside
    // it and the payload of SCM_TIMESTAMPNS is a timespec (read unaligned).
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(h);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                return Some(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64);
            }
            c = libc::CMSG_NXTHDR(h, c);
        }
    }
    None
}

fn realtime_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn source(b: &Batch, i: usize) -> Option<SocketAddr> {
    let st = &b.names[i];
    let len = b.msgs[i].msg_hdr.msg_namelen as usize;
    match libc::c_int::from(st.ss_family) {
        libc::AF_INET if len >= std::mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let a: &libc::sockaddr_in = unsafe { &*(st as *const _ as *const libc::sockaddr_in) };
            let ip = std::net::Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::new(ip.into(), u16::from_be(a.sin_port)))
        }
        libc::AF_INET6 if len >= std::mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let a: &libc::sockaddr_in6 = unsafe { &*(st as *const _ as *const libc::sockaddr_in6) };
            let ip = std::net::Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(SocketAddr::new(ip.into(), u16::from_be(a.sin6_port)))
        }
        _ => None,
    }
}

/// sendmmsg every (datagram index, destination) pair, `SEND_BATCH` copies per call, calling
/// `sent(chunk)` as each chunk is out (so a large backlog does not hold the first copies until
/// the last is sent); returns copies that failed.
fn send_all(
    fd: i32,
    b: &mut Batch,
    out: &[(usize, SockAddr)],
    scratch: &mut Vec<libc::mmsghdr>,
    iov: &mut Vec<libc::iovec>,
    mut sent: impl FnMut(&[(usize, SockAddr)]),
) -> u64 {
    let mut failed = 0;
    for chunk in out.chunks(SEND_BATCH) {
        scratch.clear();
        iov.clear();
        for (i, _) in chunk {
            iov.push(libc::iovec {
                iov_base: b.bufs[*i].as_mut_ptr().cast(),
                iov_len: b.msgs[*i].msg_len as usize,
            });
        }
        for (k, (_, dest)) in chunk.iter().enumerate() {
            // SAFETY: all-zero is a valid mmsghdr.
            let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
            m.msg_hdr.msg_name = dest.as_ptr() as *mut libc::c_void;
            m.msg_hdr.msg_namelen = dest.len();
            m.msg_hdr.msg_iov = &mut iov[k];
            m.msg_hdr.msg_iovlen = 1;
            scratch.push(m);
        }
        let mut done = 0;
        while done < scratch.len() {
            // SAFETY: headers point at the destination addresses in `out` and buffers in `b`,
            // all alive for the call.
            let n = unsafe {
                libc::sendmmsg(
                    fd,
                    scratch[done..].as_mut_ptr(),
                    (scratch.len() - done) as libc::c_uint,
                    0,
                )
            };
            if n <= 0 {
                // The first message failed (e.g. unreachable destination): skip it.
                failed += 1;
                done += 1;
            } else {
                done += n as usize;
            }
        }
        sent(chunk);
    }
    failed
}

/// Run the media loop until `stop` is set.
pub fn run(
    sock: UdpSocket,
    relay: Arc<Mutex<Relay>>,
    counters: Arc<MediaCounters>,
    epoch: Instant,
    stop: Arc<AtomicBool>,
) {
    let fd = sock.as_raw_fd();
    let mut b = Batch::new(RECV_BATCH);
    let mut out: Vec<(usize, SockAddr)> = Vec::with_capacity(RECV_BATCH * 16);
    let mut dests: Vec<SocketAddr> = Vec::with_capacity(16);
    let mut scratch = Vec::with_capacity(SEND_BATCH);
    let mut iov = Vec::with_capacity(SEND_BATCH);
    let mut rx: Vec<Option<u64>> = Vec::with_capacity(RECV_BATCH);
    while !stop.load(Ordering::Relaxed) {
        let n = recv_batch(fd, &mut b);
        if n == 0 {
            continue;
        }
        let t_recv = Instant::now();
        let now = t_recv.duration_since(epoch).as_nanos() as u64;
        out.clear();
        {
            let mut r = relay.lock().unwrap_or_else(|e| e.into_inner());
            for i in 0..n {
                let len = b.msgs[i].msg_len as usize;
                if b.msgs[i].msg_hdr.msg_flags & libc::MSG_TRUNC != 0 || len > BUF {
                    r.count_drop(DropReason::Oversized);
                    continue;
                }
                let Some(src) = source(&b, i) else {
                    r.count_drop(DropReason::Malformed);
                    continue;
                };
                dests.clear();
                r.handle(&b.bufs[i][..len], src, now, &mut dests);
                out.extend(dests.iter().map(|d| (i, SockAddr::from(*d))));
            }
        }
        if out.is_empty() {
            continue;
        }
        rx.clear();
        rx.extend((0..n).map(|i| rx_time(&b, i)));
        let mut sum = 0u64;
        let failed = send_all(fd, &mut b, &out, &mut scratch, &mut iov, |chunk| {
            let took = t_recv.elapsed().as_nanos() as u64;
            let done = realtime_ns();
            // Per received datagram: its copies in this chunk (out is ordered by datagram).
            let mut k = 0;
            while k < chunk.len() {
                let i = chunk[k].0;
                let copies = chunk[k..].iter().take_while(|(j, _)| *j == i).count();
                let ns = rx[i].map_or(took, |t| done.saturating_sub(t));
                counters.latency.record(ns / 1000, copies as u64);
                sum += ns * copies as u64;
                k += copies;
            }
        });
        counters.latency_ns.fetch_add(sum, Ordering::Relaxed);
        counters
            .latency_count
            .fetch_add(out.len() as u64, Ordering::Relaxed);
        if failed > 0 {
            counters.send_errors.fetch_add(failed, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_drops_of_an_overflowing_socket_are_read_from_proc() {
        let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
        s.set_recv_buffer_size(4096).unwrap();
        s.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        let s: UdpSocket = s.into();
        assert_eq!(kernel_drops(&s), Some(0));
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let dst = s.local_addr().unwrap();
        for _ in 0..200 {
            tx.send_to(&[0u8; 1000], dst).unwrap();
        }
        assert!(kernel_drops(&s).unwrap() > 100, "{:?}", kernel_drops(&s));
    }

    #[test]
    fn media_socket_gets_large_buffers_and_a_read_timeout() {
        let s = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let r = socket2::SockRef::from(&s);
        // Forced past rmem_max as root; the kernel's default cap otherwise.
        assert!(r.recv_buffer_size().unwrap() >= 200 * 1024);
        assert_eq!(s.read_timeout().unwrap(), Some(Duration::from_millis(100)));
    }
}
