//! The default collection groups of `gmond -t` on Linux (reference §4.4), as data.

/// A default collection group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DefaultGroup {
    /// Collected once at start-up.
    pub collect_once: bool,
    /// Seconds between collections.
    pub collect_every: u64,
    /// Maximum seconds between sends.
    pub time_threshold: u64,
    /// (name, value_threshold (-1 = none), title ("" = the name)).
    pub metrics: &'static [(&'static str, f64, &'static str)],
}

const fn g(
    collect_once: bool,
    collect_every: u64,
    time_threshold: u64,
    metrics: &'static [(&'static str, f64, &'static str)],
) -> DefaultGroup {
    DefaultGroup {
        collect_once,
        collect_every,
        time_threshold,
        metrics,
    }
}

/// G1..G11 in `gmond -t` order.
pub const DEFAULT_GROUPS: &[DefaultGroup] = &[
    g(true, 60, 20, &[("heartbeat", -1.0, "")]),
    g(
        false,
        60,
        60,
        &[
            ("cpu_num", -1.0, "CPU Count"),
            ("cpu_speed", -1.0, "CPU Speed"),
            ("mem_total", -1.0, "Memory Total"),
            ("swap_total", -1.0, "Swap Space Total"),
            ("boottime", -1.0, "Last Boot Time"),
            ("machine_type", -1.0, "Machine Type"),
            ("os_name", -1.0, "Operating System"),
            ("os_release", -1.0, "Operating System Release"),
            ("location", -1.0, "Location"),
        ],
    ),
    g(true, 60, 300, &[("gexec", -1.0, "Gexec Status")]),
    g(
        false,
        20,
        90,
        &[
            ("cpu_user", 1.0, "CPU User"),
            ("cpu_system", 1.0, "CPU System"),
            ("cpu_idle", 5.0, "CPU Idle"),
            ("cpu_nice", 1.0, "CPU Nice"),
            ("cpu_aidle", 5.0, "CPU aidle"),
            ("cpu_wio", 1.0, "CPU wio"),
            ("cpu_steal", 1.0, "CPU steal"),
        ],
    ),
    g(
        false,
        20,
        90,
        &[
            ("load_one", 1.0, "One Minute Load Average"),
            ("load_five", 1.0, "Five Minute Load Average"),
            ("load_fifteen", 1.0, "Fifteen Minute Load Average"),
        ],
    ),
    g(
        false,
        80,
        950,
        &[
            ("proc_run", 1.0, "Total Running Processes"),
            ("proc_total", 1.0, "Total Processes"),
        ],
    ),
    g(
        false,
        40,
        180,
        &[
            ("mem_free", 1024.0, "Free Memory"),
            ("mem_shared", 1024.0, "Shared Memory"),
            ("mem_buffers", 1024.0, "Memory Buffers"),
            ("mem_cached", 1024.0, "Cached Memory"),
            ("swap_free", 1024.0, "Free Swap Space"),
        ],
    ),
    g(
        false,
        40,
        300,
        &[
            ("bytes_out", 4096.0, "Bytes Sent"),
            ("bytes_in", 4096.0, "Bytes Received"),
            ("pkts_in", 256.0, "Packets Received"),
            ("pkts_out", 256.0, "Packets Sent"),
        ],
    ),
    g(
        false,
        1800,
        3600,
        &[("disk_total", 1.0, "Total Disk Space")],
    ),
    g(
        false,
        40,
        180,
        &[
            ("disk_free", 1.0, "Disk Space Available"),
            ("part_max_used", 1.0, "Maximum Disk Space Used"),
        ],
    ),
    g(
        false,
        40,
        180,
        &[
            ("mem_available", 1024.0, "Available Memory"),
            ("mem_sreclaimable", 1024.0, "Slab Memory Reclaimable"),
        ],
    ),
];
