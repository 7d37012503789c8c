//! Writing updates: files created on demand through librrd (the `rrd` crate), values written
//! either directly through librrd or through rrdcached. Runs on the RRD service thread only.

use super::layout::{self, Target};
use super::rrdcached::Rrdcached;
use rrd::ops::create::{Archive, DataSource, DataSourceName};
use rrd::ops::update::{BatchTime, Datum, Options};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

/// One value for one file.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// Which file.
    pub target: Target,
    /// Timestamp (the source's LOCALTIME, or gmetad's clock for the root summary).
    pub ts: u64,
    /// The value text as received (host) or formatted (summaries).
    pub sum: String,
    /// Hosts contributing (summaries only).
    pub num: Option<u64>,
    /// The metric's slope (DS type of new files).
    pub slope: String,
    /// RRD step of new files.
    pub step: u32,
}

/// Counters of the RRD writer, reported in /status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RrdStats {
    /// Updates handed to the service.
    pub queued: u64,
    /// Updates written.
    pub written: u64,
    /// Files created.
    pub created: u64,
    /// Updates skipped: timestamp not newer than the file's last one.
    pub skipped_old: u64,
    /// Batches dropped because the queue was full (a slow disk).
    pub dropped_batches: u64,
    /// Failed creates.
    pub create_errors: u64,
    /// Failed updates.
    pub update_errors: u64,
    /// Updates whose target has no valid path ("..", empty names).
    pub bad_names: u64,
    /// Total milliseconds spent writing.
    pub total_millis: u64,
    /// Epoch milliseconds of the last write.
    pub last_time: u64,
    /// Last error message.
    pub last_error: String,
}

/// Where values go.
pub enum Backend {
    /// librrd in this process.
    Direct,
    /// An rrdcached daemon (files are still created here, as gmetad does).
    Cached(Rrdcached),
}

/// Creates files and applies updates.
pub struct Writer {
    root: PathBuf,
    case_sensitive: bool,
    rras: Vec<Archive>,
    backend: Backend,
    last_ts: HashMap<PathBuf, u64>,
}

fn datum(ds_type: &str, v: &str) -> Datum {
    let t = v.trim();
    if ds_type != "GAUGE" {
        if let Ok(i) = t.parse::<u64>() {
            return Datum::Int(i);
        }
    }
    t.parse::<f64>().map_or(Datum::Unspecified, Datum::Float)
}

impl Writer {
    /// A writer for the tree at `root` with `rras` for new files (invalid RRAs are skipped
    /// with a warning; none valid means the defaults).
    pub fn new(root: &Path, case_sensitive: bool, rras: &[String], backend: Backend) -> Writer {
        let mut parsed: Vec<Archive> = rras
            .iter()
            .filter_map(|r| {
                let p = layout::parse_rra(r);
                if p.is_none() {
                    tracing::warn!(rra = %r, "Unsupported RRA definition ignored.");
                }
                p
            })
            .filter_map(to_archive)
            .collect();
        if parsed.is_empty() {
            parsed = layout::DEFAULT_RRAS
                .iter()
                .filter_map(|r| layout::parse_rra(r))
                .filter_map(to_archive)
                .collect();
        }
        Writer {
            root: root.to_path_buf(),
            case_sensitive,
            rras: parsed,
            backend,
            last_ts: HashMap::new(),
        }
    }

    fn create(&self, path: &Path, u: &Update) -> Result<(), String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        }
        let hb = u.step.saturating_mul(8);
        let sum = DataSourceName::new("sum").map_err(|e| e.to_string())?;
        let mut ds = vec![match layout::ds_type(&u.slope) {
            "COUNTER" => DataSource::counter(&sum, hb, None, None),
            "DERIVE" => DataSource::derive(&sum, hb, None, None),
            _ => DataSource::gauge(&sum, hb, None, None),
        }];
        if u.target.is_summary() {
            let num = DataSourceName::new("num").map_err(|e| e.to_string())?;
            ds.push(DataSource::gauge(&num, hb, None, None));
        }
        let start = UNIX_EPOCH + Duration::from_secs(u.ts.saturating_sub(1));
        rrd::ops::create::create(
            path,
            start,
            Duration::from_secs(u64::from(u.step.max(1))),
            true,
            None,
            &[],
            ds.iter(),
            self.rras.iter(),
        )
        .map_err(|e| format!("create {}: {e}", path.display()))
    }

    /// Apply a batch (already ordered by time per file).
    pub fn write(&mut self, batch: &[Update], stats: &mut RrdStats) {
        let t0 = std::time::Instant::now();
        let mut cached_lines: Vec<(PathBuf, String)> = Vec::new();
        for u in batch {
            let Some(path) = layout::path(&self.root, &u.target, self.case_sensitive) else {
                stats.bad_names += 1;
                continue;
            };
            if self.last_ts.get(&path).is_some_and(|&last| u.ts <= last) {
                stats.skipped_old += 1;
                continue;
            }
            if !self.last_ts.contains_key(&path) && !path.exists() {
                match self.create(&path, u) {
                    Ok(()) => stats.created += 1,
                    Err(e) => {
                        stats.create_errors += 1;
                        stats.last_error = e;
                        continue;
                    }
                }
            }
            let ds_type = layout::ds_type(&u.slope);
            match &mut self.backend {
                Backend::Direct => {
                    let mut data = vec![datum(ds_type, &u.sum)];
                    if let Some(n) = u.num {
                        data.push(Datum::Int(n));
                    }
                    let when = BatchTime::Timestamp(UNIX_EPOCH + Duration::from_secs(u.ts));
                    // skip_past_updates: a file left by an earlier run may be ahead of us.
                    let opts = Options {
                        skip_past_updates: true,
                    };
                    match rrd::ops::update::update_all(&path, opts, &[(when, data)]) {
                        Ok(()) => stats.written += 1,
                        Err(e) => {
                            stats.update_errors += 1;
                            stats.last_error = format!("update {}: {e}", path.display());
                        }
                    }
                }
                Backend::Cached(_) => {
                    let mut v = format!("{}:{}", u.ts, u.sum.trim());
                    if let Some(n) = u.num {
                        v.push_str(&format!(":{n}"));
                    }
                    cached_lines.push((path.clone(), v));
                }
            }
            self.last_ts.insert(path, u.ts);
        }
        if let Backend::Cached(c) = &mut self.backend {
            if !cached_lines.is_empty() {
                match c.batch(&cached_lines) {
                    Ok(errors) => {
                        stats.written += (cached_lines.len() - errors.len()) as u64;
                        stats.update_errors += errors.len() as u64;
                        if let Some(e) = errors.last() {
                            stats.last_error = e.clone();
                        }
                    }
                    Err(e) => {
                        stats.update_errors += cached_lines.len() as u64;
                        stats.last_error = format!("rrdcached: {e}");
                    }
                }
            }
        }
        stats.total_millis += t0.elapsed().as_millis() as u64;
        stats.last_time = std::time::SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
    }

    /// Ask rrdcached to write everything it holds (no-op in direct mode).
    pub fn flush(&mut self) -> Result<(), String> {
        match &mut self.backend {
            Backend::Direct => Ok(()),
            Backend::Cached(c) => c.flush_all().map_err(|e| e.to_string()),
        }
    }
}

fn to_archive(r: layout::Rra) -> Option<Archive> {
    let cf = match r.cf {
        "MIN" => rrd::ConsolidationFn::Min,
        "MAX" => rrd::ConsolidationFn::Max,
        "LAST" => rrd::ConsolidationFn::Last,
        _ => rrd::ConsolidationFn::Avg,
    };
    Archive::new(cf, r.xff, r.steps, r.rows).ok()
}
