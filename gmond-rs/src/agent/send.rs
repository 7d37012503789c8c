//! The sender task: runs the scheduler, sends its datagrams on every send channel, answers
//! metadata requests, sends our own requests, and runs cleanup.

use super::{Control, Shared, builtin, epoch_now};
use crate::core::packets::{self, MetricDef, Sender};
use crate::core::schedule::{Sampler, Scheduler};
use crate::embed::registry::Registry;
use ganglia_proto::Value;
use std::net::UdpSocket;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Values for the core metrics, host metrics and the embedder's registry.
pub(super) struct AgentSampler {
    pub(super) host: Option<Box<dyn Sampler + Send>>,
    pub(super) registry: Registry,
    pub(super) started: u64,
    pub(super) location: String,
    pub(super) gexec: bool,
}

impl Sampler for AgentSampler {
    fn sample(&mut self, name: &str, now: u64) -> Option<Value> {
        match name {
            "heartbeat" => Some(Value::UInt(u32::try_from(self.started).unwrap_or(u32::MAX))),
            "location" => Some(Value::Str(self.location.clone())),
            "gexec" => Some(Value::Str(if self.gexec { "ON" } else { "OFF" }.to_owned())),
            _ => self
                .registry
                .sample(name, now)
                .or_else(|| self.host.as_mut().and_then(|h| h.sample(name, now))),
        }
    }
}

/// Build the scheduler from the built-in catalogue, the config's groups and the registry.
pub(super) fn build_scheduler(shared: &Shared, registry: &Registry) -> Scheduler {
    let cfg = &shared.cfg;
    let sender = match &cfg.override_hostname {
        Some(h) => Sender::overridden(h, cfg.override_ip.as_deref()),
        None => Sender::plain(&cfg.hostname),
    };
    let (mut catalog, mut groups) = (Vec::new(), Vec::new());
    if cfg.host_metrics {
        catalog.extend(builtin::catalog());
        groups.extend(cfg.groups.iter().cloned());
    }
    let (reg_defs, reg_groups) = registry.schedule();
    catalog.extend(reg_defs);
    groups.extend(reg_groups);
    match Scheduler::new(
        &groups,
        &catalog,
        sender.clone(),
        cfg.send_metadata_interval,
    ) {
        Ok(s) => {
            if !s.unmatched().is_empty() {
                tracing::info!(metrics = ?s.unmatched(), "Collection group metrics with no source here are ignored.");
            }
            s
        }
        Err(e) => {
            // Validated at start-up; a registry change cannot introduce a bad pattern.
            tracing::error!(error = %e, "Invalid collection groups; sending nothing.");
            Scheduler::new(&[], &catalog, sender, 0)
                .unwrap_or_else(|_| unreachable!("no groups, no patterns"))
        }
    }
}

fn send_all(socks: &[UdpSocket], shared: &Shared, datagrams: &[Vec<u8>]) {
    let (mut sent, mut errors) = (0u64, 0u64);
    for d in datagrams {
        for s in socks {
            match s.send(d) {
                Ok(_) => sent += 1,
                Err(_) => errors += 1,
            }
        }
    }
    let mut st = shared.lock();
    st.stats.packets_sent += sent;
    st.stats.send_errors += errors;
}

pub(super) async fn run(
    shared: Arc<Shared>,
    socks: Vec<UdpSocket>,
    mut sampler: AgentSampler,
    mut control: mpsc::UnboundedReceiver<Control>,
    mut stop: watch::Receiver<bool>,
) {
    let registry = sampler.registry.clone();
    let mut generation = registry.generation();
    let mut sched = build_scheduler(&shared, &registry);
    let mute = shared.cfg.mute;
    let mut next_cleanup = epoch_now() + shared.cfg.cleanup_threshold.max(1);
    let mut out: Vec<Vec<u8>> = Vec::new();
    loop {
        let now = epoch_now();
        if registry.generation() != generation {
            generation = registry.generation();
            sched = build_scheduler(&shared, &registry);
        }
        if !mute {
            out.clear();
            sched.tick(now, &mut sampler, &mut out);
            if !out.is_empty() {
                send_all(&socks, &shared, &out);
            }
        }
        if now >= next_cleanup {
            let mut st = shared.lock();
            let st = &mut *st;
            st.table.cleanup(now, shared.cfg.host_dmax, &mut st.stats);
            next_cleanup = now + shared.cfg.cleanup_threshold.max(1);
        }
        let deadline = if mute {
            next_cleanup
        } else {
            sched.next_deadline().min(next_cleanup)
        };
        // Wake at least every second so registry changes and clock jumps are noticed.
        let wait = match deadline.saturating_sub(epoch_now()) {
            0 => Duration::from_millis(50),
            _ => Duration::from_secs(1),
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            msg = control.recv() => match msg {
                Some(Control::MetadataRequested(name)) => {
                    if sched.request_metadata(&name) {
                        tracing::debug!(metric = %name, "Metadata requested; resending.");
                    }
                }
                Some(Control::SendRequest { host, name, spoof }) => {
                    let mut buf = Vec::with_capacity(64);
                    packets::request(&mut buf, &host, &name, spoof);
                    send_all(&socks, &shared, &[buf]);
                }
                None => break,
            },
            _ = stop.changed() => break,
        }
    }
}

/// Every metric this agent can schedule, as definitions (for `gmond-rs -m`).
pub fn catalog_with(registry: &Registry, host_metrics: bool) -> Vec<Arc<MetricDef>> {
    let mut c = if host_metrics {
        builtin::catalog()
    } else {
        Vec::new()
    };
    c.extend(registry.schedule().0);
    c
}
