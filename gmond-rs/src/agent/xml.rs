//! The XML dump on every tcp_accept_channel: ACL checked before a byte is written, the document
//! rendered into a buffer under the state lock, then written (optionally gzipped) with a
//! timeout on its own task, so a slow reader never holds the lock or blocks receiving.

use super::Shared;
use crate::config::TcpChannel;
use ganglia_proto::xml::write as xw;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Write timeout when the channel sets none.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Render the gmond XML document of the current state at `now`.
pub(super) fn render(shared: &Shared, now: u64) -> Vec<u8> {
    let cfg = &shared.cfg;
    let st = shared.lock();
    // ~350 bytes per metric with its EXTRA_DATA: one allocation, no regrowth copies.
    let mut out = Vec::with_capacity(4096 + st.table.metric_count() * 400);
    xw::header(&mut out, xw::Source::Gmond, ganglia_proto::GANGLIA_VERSION);
    xw::gmond_cluster_start(
        &mut out,
        &xw::ClusterAttrs {
            name: &cfg.cluster.name,
            localtime: now,
            owner: &cfg.cluster.owner,
            latlong: &cfg.cluster.latlong,
            url: &cfg.cluster.url,
        },
    );
    for h in st.table.hosts() {
        xw::gmond_host_start(
            &mut out,
            &xw::HostAttrs {
                name: &h.name,
                ip: &h.ip,
                tags: &cfg.tags,
                reported: h.last_heard,
                tn: now.saturating_sub(h.last_heard),
                tmax: cfg.host_tmax,
                dmax: cfg.host_dmax,
                location: h.location.as_deref().unwrap_or("unspecified"),
                gmond_started: i64::try_from(h.gmond_started).unwrap_or(i64::MAX),
            },
        );
        for (name, m) in &h.metrics {
            let Some(meta) = m.meta.as_ref().filter(|_| m.has_value) else {
                continue;
            };
            if &**name == "heartbeat" || &**name == "location" {
                continue;
            }
            // A spoofed "<spoof_name>:<name>" shows under the spoof name (gmond.c).
            let shown = if h.spoofed {
                name.split(':').next().unwrap_or(name)
            } else {
                name
            };
            xw::gmond_metric(
                &mut out,
                &xw::MetricAttrs {
                    name: shown,
                    val: &m.val,
                    metric_type: &meta.metric_type,
                    units: &meta.units,
                    tn: now.saturating_sub(m.value_time),
                    tmax: u64::from(meta.tmax),
                    dmax: u64::from(meta.dmax),
                    slope: meta.slope.as_str(),
                    source: None,
                },
                // 3.7.2 prints extra data in reverse order of receipt.
                m.extra(h).rev(),
                cfg.allow_extra_data,
            );
        }
        xw::host_end(&mut out);
    }
    xw::cluster_end(&mut out);
    xw::footer(&mut out);
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 8),
        flate2::Compression::default(),
    );
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

pub(super) async fn serve(
    listener: TcpListener,
    chan: TcpChannel,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.changed() => return,
        };
        let (mut stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "XML accept failed.");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let ip = match peer.ip() {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer.ip(), std::net::IpAddr::V4),
            v4 => v4,
        };
        if chan.acl.as_ref().is_some_and(|a| !a.allows(ip)) {
            shared.lock().stats.xml_refused += 1;
            continue; // closed without a byte, as gmond does
        }
        let shared = shared.clone();
        let gz = chan.gzip;
        let timeout = chan.timeout.unwrap_or(DEFAULT_TIMEOUT);
        tokio::spawn(async move {
            let now = super::epoch_now();
            let body = render(&shared, now);
            let body = if gz { gzip(&body) } else { body };
            shared.lock().stats.xml_served += 1;
            let _ = stream.set_nodelay(true);
            match tokio::time::timeout(timeout, stream.write_all(&body)).await {
                Ok(Ok(())) => {
                    let _ = stream.shutdown().await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "XML client went away."),
                Err(_) => tracing::info!(%peer, "XML client too slow; dropped."),
            }
        });
    }
}
