//! server_threads: gmetad-rs serves at most server_threads connections at once on the
//! interactive port and server_threads/2 (at least 1) on xml_port, as gmetad's thread pools do;
//! further clients wait and are answered once a slot frees, none is dropped.

use gmetad::daemon::Gmetad;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use testkit::*;

fn start(threads: u32) -> Gmetad {
    // A source nobody listens on: polls fail, the ports still answer.
    let none = SocketAddr::from(([127, 0, 0, 1], free_tcp_port()));
    let mut c = gmetad_config("none", 5, none);
    c.server_threads = threads;
    Gmetad::start(c).unwrap()
}

/// Send a request and wait up to `wait` for the first answer bytes.
fn answered_within(s: &mut TcpStream, wait: Duration) -> bool {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut b = [0u8; 64];
    matches!(s.read(&mut b), Ok(n) if n > 0)
}

fn request(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"/\n").unwrap();
    s
}

#[test]
fn extra_interactive_clients_wait_for_a_free_slot() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let g = start(2);
    // Two clients that connect and say nothing hold both interactive slots.
    let idle1 = TcpStream::connect(g.interactive_addr).unwrap();
    let _idle2 = TcpStream::connect(g.interactive_addr).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut waiting = request(g.interactive_addr);
    assert!(
        !answered_within(&mut waiting, Duration::from_millis(1500)),
        "a third client is served while two slots are taken"
    );
    let t0 = Instant::now();
    drop(idle1);
    assert!(
        answered_within(&mut waiting, Duration::from_secs(5)),
        "the waiting client is answered once a slot frees"
    );
    assert!(t0.elapsed() < Duration::from_secs(5));
    // xml_port has its own slots (2 / 2 = 1): it answers meanwhile.
    assert!(fetch(g.xml_addr).is_some_and(|x| x.starts_with(b"<?xml")));
    rt.block_on(g.shutdown());
}

#[test]
fn more_threads_serve_more_at_once_and_one_thread_still_serves_xml() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let g = start(4);
    let _idle1 = TcpStream::connect(g.interactive_addr).unwrap();
    let _idle2 = TcpStream::connect(g.interactive_addr).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut third = request(g.interactive_addr);
    assert!(answered_within(&mut third, Duration::from_secs(5)));
    rt.block_on(g.shutdown());
    let g = start(1);
    assert!(fetch(g.xml_addr).is_some_and(|x| x.starts_with(b"<?xml")));
    let mut one = request(g.interactive_addr);
    assert!(answered_within(&mut one, Duration::from_secs(5)));
    rt.block_on(g.shutdown());
}

/// A gmond document of `hosts` hosts with 30 metrics each (about 6 KB per host).
fn big_doc(hosts: usize) -> Vec<u8> {
    let mut d = String::from(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\" standalone=\"yes\"?>\n<GANGLIA_XML VERSION=\"3.7.2\" SOURCE=\"gmond\">\n<CLUSTER NAME=\"big\" LOCALTIME=\"1700000100\" OWNER=\"o\" LATLONG=\"l\" URL=\"u\">\n",
    );
    for h in 0..hosts {
        d.push_str(&format!("<HOST NAME=\"host-{h:05}.example.com\" IP=\"10.1.{}.{}\" TAGS=\"\" REPORTED=\"1700000090\" TN=\"3\" TMAX=\"20\" DMAX=\"0\" LOCATION=\"x\" GMOND_STARTED=\"1\">\n", h / 256, h % 256));
        for m in 0..30 {
            d.push_str(&format!("<METRIC NAME=\"metric_number_{m:02}\" VAL=\"{h}.{m}\" TYPE=\"float\" UNITS=\"units\" TN=\"3\" TMAX=\"70\" DMAX=\"0\" SLOPE=\"both\" SOURCE=\"gmond\">\n<EXTRA_DATA>\n<EXTRA_ELEMENT NAME=\"GROUP\" VAL=\"load\"/>\n</EXTRA_DATA>\n</METRIC>\n"));
        }
        d.push_str("</HOST>\n");
    }
    d.push_str("</CLUSTER>\n</GANGLIA_XML>\n");
    d.into_bytes()
}

/// A client with a 4 KiB receive buffer (set before connect) that sends nothing and reads
/// nothing, so an answer of megabytes stalls in the server's write.
fn stalled_client(addr: SocketAddr) -> TcpStream {
    use std::os::fd::FromRawFd;
    let SocketAddr::V4(a) = addr else {
        panic!("IPv4 only")
    };
    // SAFETY: plain socket calls on a descriptor we own and hand to TcpStream.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0);
        let v: libc::c_int = 4096;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as u32,
        );
        let sa = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: a.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*a.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        let rc = libc::connect(
            fd,
            (&sa as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as u32,
        );
        assert_eq!(rc, 0);
        TcpStream::from_raw_fd(fd)
    }
}

fn xml_requests(g: &Gmetad) -> u64 {
    let out = gmetad_query(g.interactive_addr, "/status");
    out.split("\"xml\":{\"num\":")
        .nth(1)
        .and_then(|r| r.split(',').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no xml counter in {out}"))
}

#[test]
fn a_stalled_reader_holds_no_slot_while_its_answer_is_written() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let doc = big_doc(2000);
    let mut c = gmetad_config("big", 5, serve_document(100, move || doc.clone()));
    c.server_threads = 1; // one slot on xml_port
    let g = Gmetad::start(c).unwrap();
    wait_for(Duration::from_secs(30), || {
        fetch(g.xml_addr).filter(|x| x.len() > 8 << 20)
    })
    .expect("the big grid is served");
    let before = xml_requests(&g);
    let _stalled = stalled_client(g.xml_addr);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        xml_requests(&g),
        before,
        "the stalled reader's answer is still being written"
    );
    let t0 = Instant::now();
    let x = fetch(g.xml_addr).expect("a second reader is served");
    assert!(x.len() > 8 << 20);
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "served in {:?} while the stalled reader's write (10 s timeout) goes on",
        t0.elapsed()
    );
    assert_eq!(
        xml_requests(&g),
        before + 1,
        "the stalled write had not ended"
    );
    rt.block_on(g.shutdown());
}
