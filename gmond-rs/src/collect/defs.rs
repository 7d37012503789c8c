//! The built-in metric definitions of gmond 3.7.2's modules (reference §4.5): name, metadata
//! TMAX, type (and so the wire id), units (note the single-space units of load_* and proc_*),
//! slope, fmt, DESC and GROUP.

use ganglia_proto::{MetricType, Slope};

/// One built-in metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Def {
    /// Metric name.
    pub name: &'static str,
    /// Metadata TMAX (the module's, not the group's time_threshold).
    pub tmax: u32,
    /// Declared type; also selects the value message (uint16 → 129, float → 134, ...).
    pub metric_type: MetricType,
    /// Units.
    pub units: &'static str,
    /// Slope.
    pub slope: Slope,
    /// printf-style format.
    pub fmt: &'static str,
    /// DESC.
    pub desc: &'static str,
    /// GROUP (the module's).
    pub group: &'static str,
}

const fn d(
    name: &'static str,
    tmax: u32,
    metric_type: MetricType,
    units: &'static str,
    slope: Slope,
    fmt: &'static str,
    desc: &'static str,
    group: &'static str,
) -> Def {
    Def { name, tmax, metric_type, units, slope, fmt, desc, group }
}

use MetricType::{Double, Float, String as Str, UInt16, UInt32};
use Slope::{Both, Unspecified, Zero};

/// Every built-in metric: the 35 of a default Linux gmond plus the optional ones
/// (cpu_intr, cpu_sintr, cpu_guest, cpu_gnice, mem_slab, sys_clock, mtu) and heartbeat/location.
pub const METRICS: &[Def] = &[
    d("gexec", 300, Str, "", Zero, "%s", "gexec available", "core"),
    d("heartbeat", 20, UInt32, "", Unspecified, "%u", "Last heartbeat", "core"),
    d("location", 1200, Str, "(x,y,z)", Unspecified, "%s", "Location of the machine", "core"),
    d("cpu_num", 1200, UInt16, "CPUs", Zero, "%hu", "Total number of CPUs", "cpu"),
    d("cpu_speed", 1200, UInt32, "MHz", Zero, "%u", "CPU Speed in terms of MHz", "cpu"),
    d("cpu_user", 90, Float, "%", Both, "%.1f", "Percentage of CPU utilization that occurred while executing at the user level", "cpu"),
    d("cpu_nice", 90, Float, "%", Both, "%.1f", "Percentage of CPU utilization that occurred while executing at the user level with nice priority", "cpu"),
    d("cpu_system", 90, Float, "%", Both, "%.1f", "Percentage of CPU utilization that occurred while executing at the system level", "cpu"),
    d("cpu_idle", 90, Float, "%", Both, "%.1f", "Percentage of time that the CPU or CPUs were idle and the system did not have an outstanding disk I/O request", "cpu"),
    d("cpu_aidle", 3800, Float, "%", Both, "%.1f", "Percent of time since boot idle CPU", "cpu"),
    d("cpu_wio", 90, Float, "%", Both, "%.1f", "Percentage of time that the CPU or CPUs were idle during which the system had an outstanding disk I/O request", "cpu"),
    d("cpu_intr", 90, Float, "%", Both, "%.1f", "cpu_intr", "cpu"),
    d("cpu_sintr", 90, Float, "%", Both, "%.1f", "cpu_sintr", "cpu"),
    d("cpu_steal", 90, Float, "%", Both, "%.1f", "cpu_steal", "cpu"),
    d("cpu_guest", 90, Float, "%", Both, "%.1f", "cpu_guest", "cpu"),
    d("cpu_gnice", 90, Float, "%", Both, "%.1f", "cpu_gnice", "cpu"),
    d("load_one", 70, Float, " ", Both, "%.2f", "One minute load average", "load"),
    d("load_five", 325, Float, " ", Both, "%.2f", "Five minute load average", "load"),
    d("load_fifteen", 950, Float, " ", Both, "%.2f", "Fifteen minute load average", "load"),
    d("mem_total", 1200, Float, "KB", Zero, "%.0f", "Total amount of memory displayed in KBs", "memory"),
    d("mem_free", 180, Float, "KB", Both, "%.0f", "Amount of available memory", "memory"),
    d("mem_shared", 180, Float, "KB", Both, "%.0f", "Amount of shared memory", "memory"),
    d("mem_buffers", 180, Float, "KB", Both, "%.0f", "Amount of buffered memory", "memory"),
    d("mem_cached", 180, Float, "KB", Both, "%.0f", "Amount of cached memory", "memory"),
    d("swap_free", 180, Float, "KB", Both, "%.0f", "Amount of available swap memory", "memory"),
    d("swap_total", 1200, Float, "KB", Zero, "%.0f", "Total amount of swap space displayed in KBs", "memory"),
    d("mem_sreclaimable", 180, Float, "KB", Both, "%.0f", "Amount of reclaimable slab memory", "memory"),
    d("mem_slab", 180, Float, "KB", Both, "%.0f", "Amount of in-kernel data structures cache", "memory"),
    d("mem_available", 180, Float, "KB", Both, "%.0f", "Estimate of how much memory is available", "memory"),
    d("bytes_out", 300, Float, "bytes/sec", Both, "%.2f", "Number of bytes out per second", "network"),
    d("bytes_in", 300, Float, "bytes/sec", Both, "%.2f", "Number of bytes in per second", "network"),
    d("pkts_in", 300, Float, "packets/sec", Both, "%.2f", "Packets in per second", "network"),
    d("pkts_out", 300, Float, "packets/sec", Both, "%.2f", "Packets out per second", "network"),
    d("disk_total", 1200, Double, "GB", Both, "%.3f", "Total available disk space", "disk"),
    d("disk_free", 180, Double, "GB", Both, "%.3f", "Total free disk space", "disk"),
    d("part_max_used", 180, Float, "%", Both, "%.1f", "Maximum percent used for all partitions", "disk"),
    d("proc_run", 950, UInt32, " ", Both, "%u", "Total number of running processes", "process"),
    d("proc_total", 950, UInt32, " ", Both, "%u", "Total number of processes", "process"),
    d("boottime", 1200, UInt32, "s", Zero, "%u", "The last time that the system was started", "system"),
    d("sys_clock", 1200, UInt32, "s", Zero, "%u", "Time as reported by the system clock", "system"),
    d("machine_type", 1200, Str, "", Zero, "%s", "System architecture", "system"),
    d("os_name", 1200, Str, "", Zero, "%s", "Operating system name", "system"),
    d("os_release", 1200, Str, "", Zero, "%s", "Operating system release date", "system"),
    d("mtu", 1200, UInt32, "", Both, "%u", "Network maximum transmission unit", "system"),
];

/// The 35 METRIC elements a default Linux gmond shows per host.
pub const DEFAULT_35: [&str; 35] = [
    "gexec", "cpu_num", "cpu_speed", "mem_total", "swap_total", "boottime", "machine_type", "os_name",
    "os_release", "cpu_user", "cpu_system", "cpu_idle", "cpu_nice", "cpu_aidle", "cpu_wio", "cpu_steal",
    "load_one", "load_five", "load_fifteen", "proc_run", "proc_total", "mem_free", "mem_shared",
    "mem_buffers", "mem_cached", "swap_free", "bytes_out", "bytes_in", "pkts_in", "pkts_out", "disk_total",
    "disk_free", "part_max_used", "mem_available", "mem_sreclaimable",
];

/// A built-in definition by name.
pub fn lookup(name: &str) -> Option<&'static Def> {
    METRICS.iter().find(|d| d.name == name)
}
