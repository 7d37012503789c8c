//! server_threads: gmetad-rs serves at most server_threads connections at once on the
//! interactive port and server_threads/2 (at least 1) on xml_port, as gmetad's thread pools do;
//! further clients wait and are answered once a slot frees, none is dropped.

use gmetad::config::{Config, Source};
use gmetad::daemon::Gmetad;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use testkit::*;

fn start(threads: u32) -> Gmetad {
    let mut c = Config::builtin();
    // A source nobody listens on: polls fail, the ports still answer.
    c.sources = vec![Source {
        name: "none".into(),
        step: 5,
        addrs: vec![SocketAddr::from(([127, 0, 0, 1], free_tcp_port()))],
    }];
    c.xml_addr = "127.0.0.1:0".parse().unwrap();
    c.interactive_addr = "127.0.0.1:0".parse().unwrap();
    c.write_rrds = false;
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
