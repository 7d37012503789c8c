//! `gstat-rs`: drop-in replacement for Ganglia 3.7's gstat (same flags, same output).

use clap::Parser;
use gmond::gstat::{GstatHost, GstatOptions, render};
use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// The Ganglia Status Client (gstat-rs) connects with a Ganglia Monitoring Daemon (gmond) and
/// output a load-balanced list of cluster hosts
#[derive(Parser, Debug)]
#[command(name = "gstat-rs", version = concat!(env!("CARGO_PKG_VERSION"), " (gstat 3.7.2 compatible)"))]
struct Args {
    /// List all hosts. Not just hosts running gexec
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// Print only the hosts which are dead
    #[arg(short = 'd', long = "dead")]
    dead: bool,
    /// Print a load-balanced mpifile
    #[arg(short = 'm', long = "mpifile")]
    mpifile: bool,
    /// Print host and information all on one line
    #[arg(short = '1', long = "single_line")]
    single_line: bool,
    /// Print ONLY the host list
    #[arg(short = 'l', long = "list")]
    list: bool,
    /// Print numeric addresses instead of hostnames
    #[arg(short = 'n', long = "numeric")]
    numeric: bool,
    /// Specify the ip address of the gmond to query
    #[arg(short = 'i', long = "gmond_ip", default_value = "localhost")]
    gmond_ip: String,
    /// Specify the gmond port to query
    #[arg(short = 'p', long = "gmond_port", default_value_t = 8649)]
    gmond_port: u16,
}

fn fetch(host: &str, port: u16) -> Option<Vec<u8>> {
    let addr = (host, port).to_socket_addrs().ok()?.next()?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    Some(buf)
}

fn main() {
    let a = Args::parse();
    let unable = || -> ! {
        println!(
            "Unable to get hostlist from {} {}!",
            a.gmond_ip, a.gmond_port
        );
        std::process::exit(255)
    };
    let Some(bytes) = fetch(&a.gmond_ip, a.gmond_port) else {
        unable()
    };
    let Ok(out) = ganglia_proto::xml::read::read(&bytes, &Default::default()) else {
        unable()
    };
    let Some(c) = out.doc.clusters.first() else {
        unable()
    };
    let hosts: Vec<GstatHost> = c
        .hosts
        .iter()
        .map(|h| {
            let mut g = GstatHost {
                name: h.name.to_string(),
                ip: h.ip.to_string(),
                reported: h.reported as i64,
                ..Default::default()
            };
            for m in &h.metrics {
                g.set_metric(&m.name, &m.val);
            }
            g
        })
        .collect();
    let opts = GstatOptions {
        all: a.all,
        dead: a.dead,
        mpifile: a.mpifile,
        single_line: a.single_line,
        list: a.list,
        numeric: a.numeric,
    };
    print!("{}", render(&c.name, c.localtime as i64, &hosts, &opts));
}
