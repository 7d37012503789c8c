//! Exports to other stores: Graphite/carbon, Riemann, memcached.

pub mod carbon;
pub mod memcached;
pub mod riemann;

use crate::config::Config;
use crate::tree::Snapshot;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Most bytes an exporter's queue holds; a poll that would go past it is dropped and counted,
/// so a stalled server costs bounded memory however large the grid.
pub const MAX_QUEUED_BYTES: usize = 64 << 20;

/// The bytes queued to one exporter task.
#[derive(Debug, Clone, Default)]
pub(crate) struct Budget(Arc<AtomicUsize>);

impl Budget {
    /// Reserve `n` bytes; false when that would exceed [`MAX_QUEUED_BYTES`].
    pub(crate) fn take(&self, n: usize) -> bool {
        self.0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| {
                (q + n <= MAX_QUEUED_BYTES).then_some(q + n)
            })
            .is_ok()
    }

    /// Release `n` bytes.
    pub(crate) fn give(&self, n: usize) {
        self.0.fetch_sub(n, Ordering::AcqRel);
    }

    /// Queue `item` of `bytes` to its exporter task without blocking; false (nothing queued,
    /// nothing reserved) when the byte budget or the channel is full.
    pub(crate) fn try_send<T>(
        &self,
        tx: &tokio::sync::mpsc::Sender<T>,
        item: T,
        bytes: usize,
    ) -> bool {
        if !self.take(bytes) {
            return false;
        }
        if tx.try_send(item).is_err() {
            self.give(bytes);
            return false;
        }
        true
    }
}

/// The Riemann and memcached exporters of a running collector (carbon is driven separately).
#[derive(Debug, Clone, Default)]
pub struct Exports {
    /// Riemann, when `riemann_server` is set.
    pub riemann: Option<riemann::Riemann>,
    /// memcached, when `memcached_parameters` is set.
    pub memcached: Option<memcached::Memcached>,
}

/// One poll's encoded Riemann events and memcached sets, ready to queue.
#[derive(Debug, Default)]
pub struct Encoded {
    riemann: Option<riemann::Batch>,
    memcached: Option<memcached::Batch>,
}

impl Exports {
    /// Start the exporter tasks the configuration asks for (on the current runtime).
    pub fn start(cfg: &Config) -> Exports {
        Exports {
            riemann: cfg.riemann.as_ref().map(|r| {
                tracing::info!(server = %r.addr, transport = ?r.transport, "Riemann export enabled.");
                riemann::Riemann::spawn(r.addr, r.transport)
            }),
            memcached: cfg.memcached.as_ref().map(|m| {
                tracing::info!(servers = ?m.servers, "memcached export enabled.");
                memcached::Memcached::spawn(m.servers.clone())
            }),
        }
    }

    /// Encode a poll for the exporters `cfg` (the one they were started with) asks for (CPU
    /// work: call it off the async threads, as the poll's parsing is).
    pub fn encode(&self, cfg: &Config, snap: &Snapshot) -> Encoded {
        Encoded {
            riemann: self
                .riemann
                .as_ref()
                .zip(cfg.riemann.as_ref())
                .map(|(_, r)| {
                    riemann::encode_snapshot(
                        snap,
                        &cfg.gridname,
                        r.attributes.as_deref(),
                        r.transport,
                    )
                }),
            // Keys are spread over the servers the running task holds connections to.
            memcached: self
                .memcached
                .as_ref()
                .zip(cfg.memcached.as_ref())
                .map(|(h, m)| memcached::encode_snapshot(snap, m.include_cluster, h.servers())),
        }
    }

    /// Queue an encoded poll; never blocks.
    pub fn send(&self, e: Encoded) {
        if let (Some(r), Some(b)) = (&self.riemann, e.riemann) {
            r.send(b);
        }
        if let (Some(m), Some(b)) = (&self.memcached, e.memcached) {
            m.send(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_budget_refuses_past_its_limit_and_frees_on_give() {
        let b = Budget::default();
        assert!(b.take(MAX_QUEUED_BYTES - 10));
        assert!(!b.take(11));
        assert!(b.take(10));
        assert!(!b.take(1));
        b.give(MAX_QUEUED_BYTES / 2);
        assert!(b.take(MAX_QUEUED_BYTES / 2));
    }
}
