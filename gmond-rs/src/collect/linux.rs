//! Linux host metrics with gmond 3.7.2's semantics (libmetrics/linux/metrics.c, reference §4.6):
//! pure parsers over /proc text, and a [`HostMetrics`] sampler that keeps the previous counters
//! (no statics) and reads each /proc file at most once per collection second.

use crate::core::schedule::Sampler;
use ganglia_proto::Value;
use std::collections::HashMap;
use std::path::PathBuf;

/// Jiffy counters of the first "cpu" line of /proc/stat.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    /// user, nice, system, idle, iowait, irq, softirq, steal, guest, guest_nice.
    pub v: [u64; 10],
}

impl CpuTimes {
    /// user+nice+system+idle+iowait+irq+softirq+steal (guest time is already in user/nice).
    pub fn total(&self) -> u64 {
        self.v[..8].iter().sum()
    }
}

/// The aggregate "cpu" line and "btime" of /proc/stat.
pub fn parse_proc_stat(text: &str) -> (Option<CpuTimes>, Option<u64>) {
    let mut cpu = None;
    let mut btime = None;
    for line in text.lines() {
        let mut it = line.split_whitespace();
        match it.next() {
            Some("cpu") => {
                let mut t = CpuTimes::default();
                for (i, f) in it.take(10).enumerate() {
                    t.v[i] = f.parse().unwrap_or(0);
                }
                cpu = Some(t);
            }
            Some("btime") => btime = it.next().and_then(|v| v.parse().ok()),
            _ => {}
        }
    }
    (cpu, btime)
}

/// /proc/meminfo values in kB by key.
pub fn parse_meminfo(text: &str) -> HashMap<&str, f64> {
    text.lines()
        .filter_map(|l| {
            let (k, rest) = l.split_once(':')?;
            Some((k.trim(), rest.split_whitespace().next()?.parse().ok()?))
        })
        .collect()
}

/// load_one, load_five, load_fifteen, running, total from /proc/loadavg.
pub fn parse_loadavg(text: &str) -> Option<([f64; 3], u32, u32)> {
    let f: Vec<&str> = text.split_whitespace().collect();
    let (run, total) = f.get(3)?.split_once('/')?;
    Some((
        [
            f.first()?.parse().ok()?,
            f.get(1)?.parse().ok()?,
            f.get(2)?.parse().ok()?,
        ],
        run.parse().ok()?,
        total.parse().ok()?,
    ))
}

/// Summed rx_bytes, rx_packets, tx_bytes, tx_packets over /proc/net/dev interfaces, skipping
/// loopback ("lo*"), bonding masters ("bond*") and VLAN interfaces (names with '.').
pub fn parse_net_dev(text: &str) -> [u64; 4] {
    let mut sum = [0u64; 4];
    for line in text.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.starts_with("lo") || name.starts_with("bond") || name.contains('.') {
            continue;
        }
        let f: Vec<u64> = rest
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        if f.len() >= 10 {
            sum[0] = sum[0].wrapping_add(f[0]);
            sum[1] = sum[1].wrapping_add(f[1]);
            sum[2] = sum[2].wrapping_add(f[8]);
            sum[3] = sum[3].wrapping_add(f[9]);
        }
    }
    sum
}

/// Local, writable, device-backed mount points of /proc/mounts, each device once.
pub fn parse_mounts(text: &str) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 {
            continue;
        }
        let (dev, mnt, fstype, opts) = (f[0], f[1], f[2], f[3]);
        let local_dev = dev.starts_with("/dev/") || dev.starts_with("/dev2/") || fstype == "zfs";
        let remote = fstype.starts_with("nfs")
            || fstype == "smbfs"
            || fstype == "autofs"
            || fstype == "gfs"
            || dev.contains(':')
            || dev.starts_with("//");
        let rw = opts.split(',').any(|o| o == "rw");
        if local_dev && !remote && rw && seen.insert(dev.to_owned()) {
            // /proc/mounts escapes spaces as \040.
            out.push(mnt.replace("\\040", " "));
        }
    }
    out
}

/// Total and available bytes of the filesystem at `path` (statvfs).
pub fn statvfs(path: &str) -> Option<(f64, f64)> {
    let c = std::ffi::CString::new(path).ok()?;
    // SAFETY: statvfs is plain data; the call fills it for a valid NUL-terminated path.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    let frsize = s.f_frsize as f64;
    Some((s.f_blocks as f64 * frsize, s.f_bavail as f64 * frsize))
}

/// Where to read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roots {
    /// Normally "/proc".
    pub proc: PathBuf,
    /// Normally "/sys".
    pub sys: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            proc: "/proc".into(),
            sys: "/sys".into(),
        }
    }
}

/// The Linux sampler.
#[derive(Debug)]
pub struct HostMetrics {
    roots: Roots,
    prev_cpu: Option<CpuTimes>,
    cpu_pct: HashMap<&'static str, f64>,
    cpu_at: Option<u64>,
    prev_net: Option<([u64; 4], f64)>,
    net_rate: [f64; 4],
    net_at: Option<u64>,
    started: std::time::Instant,
}

fn pct(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        (part as f64 * 100.0 / total as f64).clamp(0.0, 100.0)
    }
}

impl HostMetrics {
    /// A sampler reading from `roots`.
    pub fn new(roots: Roots) -> HostMetrics {
        HostMetrics {
            roots,
            prev_cpu: None,
            cpu_pct: HashMap::new(),
            cpu_at: None,
            prev_net: None,
            net_rate: [0.0; 4],
            net_at: None,
            started: std::time::Instant::now(),
        }
    }

    fn read(&self, rel: &str) -> Option<String> {
        std::fs::read_to_string(self.roots.proc.join(rel)).ok()
    }

    fn cpu(&mut self, name: &str, now: u64) -> Option<f64> {
        if self.cpu_at != Some(now) {
            let (cur, _) = parse_proc_stat(&self.read("stat")?);
            let cur = cur?;
            // First read: since boot, like gmond's first sample.
            let prev = self.prev_cpu.unwrap_or_default();
            let d: Vec<u64> = cur
                .v
                .iter()
                .zip(prev.v.iter())
                .map(|(a, b)| a.saturating_sub(*b))
                .collect();
            let total: u64 = d[..8].iter().sum();
            let names = [
                "cpu_user",
                "cpu_nice",
                "cpu_system",
                "cpu_idle",
                "cpu_wio",
                "cpu_intr",
                "cpu_sintr",
                "cpu_steal",
                "cpu_guest",
                "cpu_gnice",
            ];
            for (i, n) in names.iter().enumerate() {
                self.cpu_pct.insert(n, pct(d[i], total));
            }
            // cpu_system includes irq and softirq time (libmetrics).
            self.cpu_pct
                .insert("cpu_system", pct(d[2] + d[5] + d[6], total));
            self.cpu_pct.insert("cpu_aidle", pct(cur.v[3], cur.total()));
            self.prev_cpu = Some(cur);
            self.cpu_at = Some(now);
        }
        self.cpu_pct.get(name).copied()
    }

    fn net(&mut self, idx: usize, now: u64) -> Option<f64> {
        if self.net_at != Some(now) {
            let cur = parse_net_dev(&self.read("net/dev")?);
            let t = self.started.elapsed().as_secs_f64();
            if let Some((prev, t0)) = self.prev_net {
                let dt = t - t0;
                if dt > 0.0 {
                    for i in 0..4 {
                        // Counter wrap: a smaller value means the counter restarted.
                        let delta = cur[i].checked_sub(prev[i]).unwrap_or(cur[i]) as f64 / dt;
                        let cap = if i % 2 == 0 { 1e13 } else { 1e8 };
                        if delta < cap {
                            self.net_rate[i] = delta;
                        }
                    }
                }
            }
            self.prev_net = Some((cur, t));
            self.net_at = Some(now);
        }
        Some(self.net_rate[idx])
    }

    fn mem(&self, key: &str) -> Option<f64> {
        let text = self.read("meminfo")?;
        Some(parse_meminfo(&text).get(key).copied().unwrap_or(0.0))
    }

    fn disk(&self) -> (f64, f64, f64) {
        let mounts = self
            .read("mounts")
            .map(|t| parse_mounts(&t))
            .unwrap_or_default();
        let (mut total, mut free, mut max_used) = (0.0, 0.0, 0.0f64);
        for m in mounts {
            if let Some((t, a)) = statvfs(&m) {
                if t > 0.0 {
                    total += t;
                    free += a;
                    max_used = max_used.max((t - a) * 100.0 / t);
                }
            }
        }
        (total / 1e9, free / 1e9, max_used)
    }

    fn mtu(&self) -> Option<u32> {
        let dir = std::fs::read_dir(self.roots.sys.join("class/net")).ok()?;
        dir.filter_map(|e| {
            let p = e.ok()?.path();
            let flags = std::fs::read_to_string(p.join("flags")).ok()?;
            let up = u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16).ok()? & 1 == 1;
            let lo = p.file_name()?.to_str()? == "lo";
            if !up || lo {
                return None;
            }
            std::fs::read_to_string(p.join("mtu"))
                .ok()?
                .trim()
                .parse()
                .ok()
        })
        .min()
    }

    fn cpu_speed(&self) -> Option<u32> {
        let max = self
            .roots
            .sys
            .join("devices/system/cpu/cpu0/cpufreq/scaling_max_freq");
        if let Some(khz) = std::fs::read_to_string(max)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
        {
            return Some((khz / 1000) as u32);
        }
        let info = self.read("cpuinfo")?;
        let mhz = info
            .lines()
            .find(|l| l.starts_with("cpu MHz"))?
            .split(':')
            .nth(1)?
            .trim()
            .parse::<f64>()
            .ok()?;
        Some(mhz as u32)
    }
}

impl Sampler for HostMetrics {
    fn sample(&mut self, name: &str, now: u64) -> Option<Value> {
        let f = |v: f64| Some(Value::Float(v as f32));
        match name {
            n if n.starts_with("cpu_") && !matches!(n, "cpu_num" | "cpu_speed") => {
                f(self.cpu(n, now)?)
            }
            "cpu_num" => {
                // get_nprocs(): online CPUs, not the affinity mask.
                // SAFETY: sysconf has no preconditions.
                let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
                Some(Value::UShort(n.clamp(1, 65535) as u16))
            }
            "cpu_speed" => Some(Value::UInt(self.cpu_speed().unwrap_or(0))),
            "load_one" | "load_five" | "load_fifteen" | "proc_run" | "proc_total" => {
                let (l, run, total) = parse_loadavg(&self.read("loadavg")?)?;
                match name {
                    "load_one" => f(l[0]),
                    "load_five" => f(l[1]),
                    "load_fifteen" => f(l[2]),
                    // gmond does not count itself as running.
                    "proc_run" => Some(Value::UInt(run.saturating_sub(1))),
                    _ => Some(Value::UInt(total)),
                }
            }
            "mem_total" => f(self.mem("MemTotal")?),
            "mem_free" => f(self.mem("MemFree")?),
            "mem_shared" => f(self.mem("MemShared")?),
            "mem_buffers" => f(self.mem("Buffers")?),
            "mem_cached" => f(self.mem("Cached")?),
            "swap_total" => f(self.mem("SwapTotal")?),
            "swap_free" => f(self.mem("SwapFree")?),
            "mem_sreclaimable" => f(self.mem("SReclaimable")?),
            "mem_slab" => f(self.mem("Slab")?),
            "mem_available" => f(self.mem("MemAvailable")?),
            "bytes_in" => f(self.net(0, now)?),
            "pkts_in" => f(self.net(1, now)?),
            "bytes_out" => f(self.net(2, now)?),
            "pkts_out" => f(self.net(3, now)?),
            "disk_total" => Some(Value::Double(self.disk().0)),
            "disk_free" => Some(Value::Double(self.disk().1)),
            "part_max_used" => f(self.disk().2),
            "boottime" => Some(Value::UInt(parse_proc_stat(&self.read("stat")?).1? as u32)),
            "sys_clock" => Some(Value::UInt(now as u32)),
            "machine_type" => Some(Value::Str(std::env::consts::ARCH.to_owned())),
            "os_name" => Some(Value::Str("Linux".to_owned())),
            "os_release" => Some(Value::Str(
                self.read("sys/kernel/osrelease")?.trim().to_owned(),
            )),
            "mtu" => Some(Value::UInt(self.mtu()?)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
