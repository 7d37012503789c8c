//! Writing updates: files created on demand through librrd (the `rrd` crate), values written
//! either directly through librrd or through rrdcached. Runs on the RRD service thread only.

use super::layout::{self, Target, TargetRef};
use super::rrdcached::Rrdcached;
use rrd::ops::create::{Archive, DataSource, DataSourceName};
use rrd::ops::update::Datum;
use std::collections::HashMap;
use std::ffi::{CStr, OsStr};
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::os::unix::ffi::OsStrExt;
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

impl Update {
    /// The same update, borrowed.
    pub fn as_ref(&self) -> UpdateRef<'_> {
        UpdateRef {
            target: self.target.as_ref(),
            ts: self.ts,
            sum: &self.sum,
            num: self.num,
            slope: &self.slope,
            step: self.step,
        }
    }
}

impl From<UpdateRef<'_>> for Update {
    fn from(u: UpdateRef<'_>) -> Update {
        Update {
            target: match u.target {
                TargetRef::Host {
                    cluster,
                    host,
                    metric,
                } => Target::Host {
                    cluster: cluster.into(),
                    host: host.into(),
                    metric: metric.into(),
                },
                TargetRef::Summary { node, metric } => Target::Summary {
                    node: node.into(),
                    metric: metric.into(),
                },
                TargetRef::Root { metric } => Target::Root {
                    metric: metric.into(),
                },
            },
            ts: u.ts,
            sum: u.sum.into(),
            num: u.num,
            slope: u.slope.into(),
            step: u.step,
        }
    }
}

/// One value for one file, borrowed from a snapshot (the RRD thread walks the snapshot itself
/// instead of receiving one owned record per file).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpdateRef<'a> {
    /// Which file.
    pub target: TargetRef<'a>,
    /// Timestamp.
    pub ts: u64,
    /// The value text.
    pub sum: &'a str,
    /// Hosts contributing (summaries only).
    pub num: Option<u64>,
    /// The metric's slope.
    pub slope: &'a str,
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
    /// Last timestamp written per file, keyed by a 64-bit hash of its path (a collision among
    /// a few hundred thousand files is vanishingly unlikely and would cost one skipped update).
    last_ts: HashMap<u64, u64>,
    /// Reused buffers: the path (NUL-terminated for librrd) and the update argument.
    path_buf: Vec<u8>,
    arg_buf: String,
    cached_lines: Vec<(PathBuf, String)>,
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

fn path_hash(p: &[u8]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    p.hash(&mut h);
    h.finish()
}

/// `rrd_update` of one "ts:v[:n]" argument, skipping past updates (a file left by an earlier run
/// may be ahead of us). Both strings are NUL-terminated.
fn rrd_update(path: &[u8], arg: &[u8]) -> Result<(), String> {
    let path = CStr::from_bytes_with_nul(path).map_err(|e| e.to_string())?;
    let arg = CStr::from_bytes_with_nul(arg).map_err(|e| e.to_string())?;
    let mut argv = [arg.as_ptr()];
    // SAFETY: both pointers are valid NUL-terminated strings for the duration of the call, argv
    // holds exactly argc (1) entries, and a null template is allowed; librrd keeps no pointer.
    let rc = unsafe {
        rrd_sys::rrd_updatex_r(
            path.as_ptr(),
            std::ptr::null(),
            1,
            1,
            argv.as_mut_ptr().cast(),
        )
    };
    if rc == 0 {
        return Ok(());
    }
    // SAFETY: rrd_get_error returns null or this thread's NUL-terminated error buffer, which
    // stays valid until rrd_clear_error, called after the copy.
    unsafe {
        let p = rrd_sys::rrd_get_error();
        let msg = if p.is_null() {
            "unknown librrd error".to_owned()
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        };
        rrd_sys::rrd_clear_error();
        Err(msg)
    }
}

/// "N bytes free on its filesystem" for `dir` (statvfs, blocks available to unprivileged users).
fn free_space(dir: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return "free space unknown".to_owned();
    };
    // SAFETY: a valid NUL-terminated path and a zeroed statvfs buffer for the kernel to fill.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return format!("free space unknown: {}", std::io::Error::last_os_error());
    }
    let free = u128::from(st.f_bavail) * u128::from(st.f_frsize);
    format!("{free} bytes free on its filesystem")
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
            path_buf: Vec::with_capacity(256),
            arg_buf: String::with_capacity(64),
            cached_lines: Vec::new(),
        }
    }

    fn create(&self, path: &Path, u: &UpdateRef<'_>) -> Result<(), String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        }
        let hb = u.step.saturating_mul(8);
        let sum = DataSourceName::new("sum").map_err(|e| e.to_string())?;
        let mut ds = vec![match layout::ds_type(u.slope) {
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
        .map_err(|e| match e {
            // librrd 1.7 fails some writes (a full disk) without an error text, and errno is
            // gone by then: say what the filesystem has left, the usual reason.
            rrd::error::RrdError::LibRrdError(m) if m.is_empty() => format!(
                "create {}: librrd gave no reason; {}",
                path.display(),
                free_space(path.parent().unwrap_or(path))
            ),
            e => format!("create {}: {e}", path.display()),
        })
    }

    /// Apply a batch (already ordered by time per file).
    pub fn write(&mut self, batch: &[Update], stats: &mut RrdStats) {
        self.write_refs(batch.iter().map(Update::as_ref), stats);
    }

    /// Apply borrowed updates (ordered by time per file).
    pub fn write_refs<'a>(
        &mut self,
        updates: impl IntoIterator<Item = UpdateRef<'a>>,
        stats: &mut RrdStats,
    ) {
        let t0 = std::time::Instant::now();
        for u in updates {
            self.write_one(&u, stats);
        }
        if let Backend::Cached(c) = &mut self.backend {
            let lines = std::mem::take(&mut self.cached_lines);
            if !lines.is_empty() {
                match c.batch(&lines) {
                    Ok(errors) => {
                        stats.written += (lines.len() - errors.len()) as u64;
                        stats.update_errors += errors.len() as u64;
                        if let Some(e) = errors.last() {
                            stats.last_error = e.clone();
                        }
                    }
                    Err(e) => {
                        stats.update_errors += lines.len() as u64;
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

    fn write_one(&mut self, u: &UpdateRef<'_>, stats: &mut RrdStats) {
        let root = self.root.as_os_str().as_bytes();
        if !layout::path_bytes(&mut self.path_buf, root, u.target, self.case_sensitive) {
            stats.bad_names += 1;
            return;
        }
        let key = path_hash(&self.path_buf);
        let last = self.last_ts.get(&key).copied();
        if last.is_some_and(|last| u.ts <= last) {
            stats.skipped_old += 1;
            return;
        }
        let path = Path::new(OsStr::from_bytes(&self.path_buf));
        if last.is_none() && !path.exists() {
            match self.create(path, u) {
                Ok(()) => stats.created += 1,
                Err(e) => {
                    stats.create_errors += 1;
                    stats.last_error = e;
                    return;
                }
            }
        }
        let ds_type = layout::ds_type(u.slope);
        let a = &mut self.arg_buf;
        a.clear();
        let _ = write!(a, "{}:", u.ts);
        match datum(ds_type, u.sum) {
            Datum::Int(i) => {
                let _ = write!(a, "{i}");
            }
            Datum::Float(f) => {
                let _ = write!(a, "{f}");
            }
            Datum::Unspecified => a.push('U'),
        }
        if let Some(n) = u.num {
            let _ = write!(a, ":{n}");
        }
        match &mut self.backend {
            Backend::Direct => {
                a.push('\0');
                self.path_buf.push(0);
                let r = rrd_update(&self.path_buf, a.as_bytes());
                self.path_buf.pop();
                match r {
                    Ok(()) => stats.written += 1,
                    Err(e) => {
                        stats.update_errors += 1;
                        stats.last_error = format!("update {}: {e}", path_display(&self.path_buf));
                    }
                }
            }
            Backend::Cached(_) => {
                // rrdcached gets the value text as received, as gmetad sends it.
                let mut v = format!("{}:{}", u.ts, u.sum.trim());
                if let Some(n) = u.num {
                    let _ = write!(v, ":{n}");
                }
                let p = PathBuf::from(OsStr::from_bytes(&self.path_buf));
                self.cached_lines.push((p, v));
            }
        }
        self.last_ts.insert(key, u.ts);
    }

    /// Ask rrdcached to write everything it holds (no-op in direct mode).
    pub fn flush(&mut self) -> Result<(), String> {
        match &mut self.backend {
            Backend::Direct => Ok(()),
            Backend::Cached(c) => c.flush_all().map_err(|e| e.to_string()),
        }
    }
}

fn path_display(p: &[u8]) -> String {
    String::from_utf8_lossy(p).into_owned()
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
