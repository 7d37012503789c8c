//! Receive channels: one OS thread per socket, batched with recvmmsg, the state locked once per
//! batch. Serving XML takes the same lock only long enough to render into a buffer, so neither
//! blocks the other for long (3.7.2 issue #50: the XML port stalled under UDP load).

use super::{Control, Shared, epoch_now};
use crate::config::Acl;
use crate::core::hosts::Action;
use crate::net::udp::{self, Batch, RecvSpec};
use ganglia_proto::xdr::{self, Limits};
use std::net::{IpAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;

/// Datagrams read per recvmmsg call.
const BATCH: usize = 64;

/// Silence after which multicast groups are joined again (gmond: 60 s).
const REJOIN_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

/// Leave and re-join the channel's multicast group (a switch may have dropped our membership).
fn rejoin(sock: &UdpSocket, spec: &RecvSpec) -> std::io::Result<()> {
    let s = socket2::SockRef::from(sock);
    match spec.mcast_join {
        Some(IpAddr::V4(g)) => {
            let iface = match &spec.mcast_if {
                Some(n) => udp::if_ipv4(n)?,
                None => std::net::Ipv4Addr::UNSPECIFIED,
            };
            let _ = s.leave_multicast_v4(&g, &iface);
            s.join_multicast_v4(&g, &iface)
        }
        Some(IpAddr::V6(g)) => {
            let idx = match &spec.mcast_if {
                Some(n) => udp::if_index(n)?,
                None => 0,
            };
            let _ = s.leave_multicast_v6(&g, idx);
            s.join_multicast_v6(&g, idx)
        }
        None => Ok(()),
    }
}

pub(super) fn run(
    sock: UdpSocket,
    spec: RecvSpec,
    acl: Option<Acl>,
    shared: Arc<Shared>,
    control: tokio::sync::mpsc::UnboundedSender<Control>,
    resolve: mpsc::Sender<IpAddr>,
) {
    let mut batch = Batch::new(BATCH, shared.cfg.max_udp_msg_len.max(64));
    let limits = Limits {
        max_string: shared.cfg.max_udp_msg_len,
        max_extra: 64,
    };
    let mut outcomes = Vec::with_capacity(BATCH);
    let mut last_rx = std::time::Instant::now();
    let mut cap_warned = false;
    while !shared.stopping.load(Ordering::Relaxed) {
        if spec.mcast_join.is_some() && last_rx.elapsed() >= REJOIN_AFTER {
            match rejoin(&sock, &spec) {
                Ok(()) => {
                    tracing::info!(group = ?spec.mcast_join, "No datagram for 60 s; re-joined the multicast group.")
                }
                Err(e) => {
                    tracing::warn!(group = ?spec.mcast_join, error = %e, "Multicast re-join failed.")
                }
            }
            last_rx = std::time::Instant::now();
        }
        let n = match udp::recv_batch(&sock, &mut batch) {
            Ok(n) => {
                last_rx = std::time::Instant::now();
                n
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::warn!(error = %e, "UDP receive failed.");
                std::thread::sleep(std::time::Duration::from_millis(100));
                continue;
            }
        };
        let now = epoch_now();
        {
            let mut st = shared.lock();
            let st = &mut *st;
            st.stats.packets_received += n as u64;
            for i in 0..n {
                let (data, from) = batch.get(i);
                let Some(from) = from else { continue };
                let src = canonical(from.ip());
                if acl.as_ref().is_some_and(|a| !a.allows(src)) {
                    st.stats.drop(crate::core::stats::Drop::Acl);
                    continue;
                }
                match xdr::decode_with(data, &limits) {
                    Ok(msg) => {
                        let o = st.table.handle(now, src, &msg, &mut st.stats);
                        if o.resolve.is_some() || o.action != Action::None {
                            outcomes.push(o);
                        }
                    }
                    Err(e) => st.stats.malformed(&e),
                }
            }
        }
        if !cap_warned {
            let st = shared.lock();
            if st.stats.dropped_host_cap + st.stats.dropped_metric_cap > 0 {
                cap_warned = true;
                tracing::warn!(
                    max_hosts = shared.cfg.limits.max_hosts,
                    max_metrics_per_host = shared.cfg.limits.max_metrics_per_host,
                    "Host or metric cap reached; further new hosts/metrics are dropped and counted (logged once)."
                );
            }
        }
        // A short batch means we woke for a trickle: let datagrams accumulate in the socket
        // buffer for a moment, so each wake-up and system call carries more of them.
        if n < BATCH / 2 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        for o in outcomes.drain(..) {
            if let Some(ip) = o.resolve {
                let _ = resolve.send(ip);
            }
            match o.action {
                Action::None => {}
                Action::RequestMetadata { host, name, spoof } => {
                    let _ = control.send(Control::SendRequest { host, name, spoof });
                }
                Action::MetadataRequested { name } => {
                    let _ = control.send(Control::MetadataRequested(name));
                }
            }
        }
    }
}

/// IPv4-mapped IPv6 sources are the IPv4 host they map (one host entry, not two).
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}
