//! The RRD service: a dedicated thread that owns the writer, fed through a bounded queue, so
//! slow disks never stall polling or serving (3.7.2 issue #322: RRD I/O hung gmetad). Batches
//! waiting in the queue are merged: per file, updates are applied in time order and exact
//! duplicates dropped; when the queue is full the newest batch is dropped and counted.

use super::writer::{Backend, RrdStats, Update, Writer};
use crate::tree::summary::SummaryRules;
use crate::tree::{self, Snapshot};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

/// Batches the queue holds before dropping.
pub const QUEUE_BATCHES: usize = 64;

enum Msg {
    Batch(Vec<Update>),
    /// A poll's snapshot: the thread walks it for the updates (no copy per file).
    Snapshot(Arc<Snapshot>, u32, Arc<SummaryRules>),
    Flush(SyncSender<()>),
}

/// Handle to the RRD thread. Dropping it finishes queued work and stops the thread.
pub struct RrdService {
    tx: Option<SyncSender<Msg>>,
    stats: Arc<Mutex<RrdStats>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn run(mut w: Writer, rx: Receiver<Msg>, stats: Arc<Mutex<RrdStats>>) {
    while let Ok(first) = rx.recv() {
        let mut batch = Vec::new();
        let mut snaps = Vec::new();
        let mut flushes = Vec::new();
        let mut take = |m: Msg, batch: &mut Vec<Update>| match m {
            Msg::Batch(b) => batch.extend(b),
            Msg::Snapshot(s, step, rules) => snaps.push((s, step, rules)),
            Msg::Flush(done) => flushes.push(done),
        };
        take(first, &mut batch);
        while let Ok(m) = rx.try_recv() {
            take(m, &mut batch);
        }
        // Coalesce: per target in time order, exact duplicates once.
        batch.sort_by(|a, b| a.target.cmp(&b.target).then(a.ts.cmp(&b.ts)));
        let before = batch.len();
        batch.dedup_by(|a, b| a.target == b.target && a.ts == b.ts);
        let mut local = RrdStats {
            skipped_old: (before - batch.len()) as u64,
            ..RrdStats::default()
        };
        w.write(&batch, &mut local);
        drop(batch);
        // Snapshots in arrival order, which is time order per source; a repeated timestamp is
        // skipped by the writer's per-file check.
        for (s, step, rules) in snaps {
            w.write_refs(tree::updates(&s, step, &rules), &mut local);
        }
        if !flushes.is_empty() {
            if let Err(e) = w.flush() {
                local.last_error = format!("flush: {e}");
            }
        }
        {
            let mut s = stats.lock().unwrap_or_else(|e| e.into_inner());
            s.written += local.written;
            s.created += local.created;
            s.skipped_old += local.skipped_old;
            s.create_errors += local.create_errors;
            s.update_errors += local.update_errors;
            s.bad_names += local.bad_names;
            s.total_millis += local.total_millis;
            if local.last_time != 0 {
                s.last_time = local.last_time;
            }
            if !local.last_error.is_empty() {
                tracing::warn!(error = %local.last_error, "RRD write error.");
                s.last_error = local.last_error;
            }
        }
        for f in flushes {
            let _ = f.send(());
        }
    }
}

impl RrdService {
    /// Start the thread.
    pub fn start(
        root: &std::path::Path,
        case_sensitive: bool,
        rras: &[String],
        backend: Backend,
    ) -> std::io::Result<RrdService> {
        let w = Writer::new(root, case_sensitive, rras, backend);
        let (tx, rx) = sync_channel(QUEUE_BATCHES);
        let stats = Arc::new(Mutex::new(RrdStats::default()));
        let s2 = stats.clone();
        let thread = std::thread::Builder::new()
            .name("gmetad-rrd".into())
            .spawn(move || run(w, rx, s2))?;
        Ok(RrdService {
            tx: Some(tx),
            stats,
            thread: Some(thread),
        })
    }

    /// Queue a batch; never blocks.
    pub fn submit(&self, batch: Vec<Update>) {
        if batch.is_empty() {
            return;
        }
        let n = batch.len() as u64;
        let Some(tx) = &self.tx else { return };
        let mut s = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        match tx.try_send(Msg::Batch(batch)) {
            Ok(()) => s.queued += n,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                s.dropped_batches += 1
            }
        }
    }

    /// Queue a poll's snapshot, whose `n` updates ([`tree::updates`]) the thread writes; never
    /// blocks.
    pub fn submit_snapshot(
        &self,
        snap: Arc<Snapshot>,
        step: u32,
        rules: Arc<SummaryRules>,
        n: u64,
    ) {
        if n == 0 {
            return;
        }
        let Some(tx) = &self.tx else { return };
        let mut s = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        match tx.try_send(Msg::Snapshot(snap, step, rules)) {
            Ok(()) => s.queued += n,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                s.dropped_batches += 1
            }
        }
    }

    /// Wait until everything queued so far is written (and rrdcached flushed).
    pub fn flush(&self) {
        let (done_tx, done_rx) = sync_channel(1);
        if let Some(tx) = &self.tx {
            if tx.send(Msg::Flush(done_tx)).is_ok() {
                let _ = done_rx.recv();
            }
        }
    }

    /// Counters.
    pub fn stats(&self) -> RrdStats {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for RrdService {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
