//! gstat's logic without its I/O: classify the hosts of a gmond XML dump and print them exactly
//! as gstat 3.7.2 does (gstat/gstat.c, lib/gexec_funcs.c; reference §5).

use std::fmt::Write as _;

/// gstat's options (flags of gstat 3.7.2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GstatOptions {
    /// `-a`: all hosts, not only those running gexec.
    pub all: bool,
    /// `-d`: only dead hosts.
    pub dead: bool,
    /// `-m`: MPI machine file.
    pub mpifile: bool,
    /// `-1`: host and information on one line.
    pub single_line: bool,
    /// `-l`: only the host list.
    pub list: bool,
    /// `-n`: numeric addresses.
    pub numeric: bool,
}

/// One host as gstat sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GstatHost {
    /// NAME attribute.
    pub name: String,
    /// IP attribute.
    pub ip: String,
    /// REPORTED attribute.
    pub reported: i64,
    /// cpu_num metric.
    pub cpu_num: i32,
    /// proc_run metric.
    pub proc_run: i32,
    /// proc_total metric.
    pub proc_total: i32,
    /// load_one, load_five, load_fifteen.
    pub load: [f64; 3],
    /// cpu_user, cpu_nice, cpu_system, cpu_idle, cpu_wio.
    pub cpu: [f64; 5],
    /// gexec metric is "ON".
    pub gexec_on: bool,
}

impl GstatHost {
    /// Record a METRIC's NAME and VAL (C's atoi/atof semantics: unparsable → 0).
    pub fn set_metric(&mut self, name: &str, val: &str) {
        let f = || c_atof(val);
        let i = || c_atof(val) as i32;
        match name {
            "cpu_num" => self.cpu_num = i(),
            "load_one" => self.load[0] = f(),
            "load_five" => self.load[1] = f(),
            "load_fifteen" => self.load[2] = f(),
            "proc_run" => self.proc_run = i(),
            "proc_total" => self.proc_total = i(),
            "cpu_user" => self.cpu[0] = f(),
            "cpu_nice" => self.cpu[1] = f(),
            "cpu_system" => self.cpu[2] = f(),
            "cpu_idle" => self.cpu[3] = f(),
            "cpu_wio" => self.cpu[4] = f(),
            "gexec" => self.gexec_on = val == "ON",
            _ => {}
        }
    }

    /// `host[.domain]` unless the name is just the IP (unresolved) or `-n` is given.
    fn display(&self, numeric: bool) -> &str {
        if numeric || self.name == self.ip {
            &self.ip
        } else {
            &self.name
        }
    }
}

/// The numeric prefix of `s` as C's atof reads it.
fn c_atof(s: &str) -> f64 {
    let t = s.trim_start();
    let mut end = 0;
    let b = t.as_bytes();
    if end < b.len() && matches!(b[end], b'+' | b'-') {
        end += 1;
    }
    while end < b.len() && (b[end].is_ascii_digit() || b[end] == b'.') {
        end += 1;
    }
    if end < b.len() && matches!(b[end], b'e' | b'E') {
        let mut e = end + 1;
        if e < b.len() && matches!(b[e], b'+' | b'-') {
            e += 1;
        }
        if e < b.len() && b[e].is_ascii_digit() {
            end = e;
            while end < b.len() && b[end].is_ascii_digit() {
                end += 1;
            }
        }
    }
    t[..end].parse().unwrap_or(0.0)
}

/// C's `ctime()` in the local time zone, with its trailing newline.
pub fn ctime(t: i64) -> String {
    // SAFETY: `tm` is plain data filled by localtime_r; the time value is a valid time_t.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let tt = t as libc::time_t;
    // SAFETY: both pointers are valid for the duration of the call.
    if unsafe { libc::localtime_r(&tt, &mut tm) }.is_null() {
        return format!("{t}\n");
    }
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {}{:3} {:02}:{:02}:{:02} {}\n",
        DAYS[tm.tm_wday.clamp(0, 6) as usize],
        MONTHS[tm.tm_mon.clamp(0, 11) as usize],
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        i64::from(tm.tm_year) + 1900
    )
}

/// Render gstat's output for cluster `name` at `localtime` with `hosts` in document order.
pub fn render(name: &str, localtime: i64, hosts: &[GstatHost], o: &GstatOptions) -> String {
    const GEXEC_TIMEOUT: i64 = 60;
    // gexec_funcs.c prepends to its lists, then sorts stably: reverse document order first.
    let mut up: Vec<&GstatHost> = Vec::new();
    let mut dead: Vec<&GstatHost> = Vec::new();
    for h in hosts.iter().rev() {
        if (localtime - h.reported).abs() < GEXEC_TIMEOUT {
            up.push(h)
        } else {
            dead.push(h)
        }
    }
    let key = |h: &&GstatHost| h.load[0] - f64::from(h.cpu_num);
    up.sort_by(|a, b| {
        key(a)
            .partial_cmp(&key(b))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    dead.sort_by_key(|h| std::cmp::Reverse(h.reported));
    let gexec: Vec<&GstatHost> = up.iter().copied().filter(|h| h.gexec_on).collect();

    let mut s = String::new();
    if o.mpifile {
        for h in if o.all { &up } else { &gexec } {
            let _ = writeln!(s, "{}:{}", h.display(o.numeric), h.cpu_num);
        }
        return s;
    }
    if !o.list {
        let _ = writeln!(s, "CLUSTER INFORMATION");
        let _ = writeln!(s, "       Name: {name}");
        let _ = writeln!(s, "      Hosts: {}", up.len());
        let _ = writeln!(s, "Gexec Hosts: {}", gexec.len());
        let _ = writeln!(s, " Dead Hosts: {}", dead.len());
        let _ = writeln!(s, "  Localtime: {}", ctime(localtime));
    }
    if o.dead {
        if !o.list {
            s.push_str("DEAD CLUSTER HOSTS\n");
        }
        if dead.is_empty() {
            s.push_str("There are no hosts down at this time\n");
        } else {
            if !o.list {
                let _ = writeln!(s, "{:>32.32}   Last Reported", "Hostname");
            }
            for h in &dead {
                let _ = write!(s, "{:>32.32}   {}", h.name, ctime(h.reported));
            }
        }
        return s;
    }
    let list = if o.all { &up } else { &gexec };
    if list.is_empty() {
        s.push_str(if o.all {
            "There are no hosts up at this time\n"
        } else {
            "There are no hosts running gexec at this time\n"
        });
        return s;
    }
    if !o.list {
        s.push_str("CLUSTER HOSTS\n");
        s.push_str(
            "Hostname                     LOAD                       CPU              Gexec\n",
        );
        s.push_str(
            " CPUs (Procs/Total) [     1,     5, 15min] [  User,  Nice, System, Idle, Wio]\n\n",
        );
    }
    for h in list {
        s.push_str(h.display(o.numeric));
        s.push(if o.single_line { ' ' } else { '\n' });
        let _ = writeln!(
            s,
            " {:4} ({:5}/{:5}) [{:6.2},{:6.2},{:6.2}] [{:6.1},{:6.1},{:6.1},{:6.1},{:6.1}] {}",
            h.cpu_num,
            h.proc_run,
            h.proc_total,
            h.load[0],
            h.load[1],
            h.load[2],
            h.cpu[0],
            h.cpu[1],
            h.cpu[2],
            h.cpu[3],
            h.cpu[4],
            if h.gexec_on { "ON" } else { "OFF" }
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two hosts of the captured gmond-8649.xml, as gstat read them.
    fn fixture_hosts() -> Vec<GstatHost> {
        let mut local = GstatHost {
            name: "localhost".into(),
            ip: "127.0.0.1".into(),
            reported: 1795545840,
            ..Default::default()
        };
        for (n, v) in [
            ("cpu_num", "2"),
            ("proc_run", "1"),
            ("proc_total", "95"),
            ("load_one", "0.34"),
            ("load_five", "0.77"),
            ("load_fifteen", "0.58"),
            ("cpu_user", "1.8"),
            ("cpu_nice", "0.0"),
            ("cpu_system", "1.0"),
            ("cpu_idle", "97.3"),
            ("cpu_wio", "0.0"),
            ("gexec", "OFF"),
        ] {
            local.set_metric(n, v);
        }
        let spoof = GstatHost {
            name: "spoofhost".into(),
            ip: "10.1.2.3".into(),
            reported: 1795545811 - 40,
            ..Default::default()
        };
        vec![local, spoof]
    }

    fn data(name: &str) -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../ganglia-proto/tests/data/gstat")
            .join(name);
        std::fs::read_to_string(p).unwrap()
    }

    #[test]
    fn matches_captured_gstat_output() {
        // gstat ran a minute after the XML capture: its LOCALTIME was 18:45:01 UTC.
        let t = 1795545901;
        let mut hosts = fixture_hosts();
        hosts[0].reported = t - 1;
        // The captures were taken with TZ=UTC; ctime uses the local zone.
        let utc = ctime(0) == "Thu Jan  1 00:00:00 1970\n";
        let norm = |s: String| {
            if utc {
                s
            } else {
                s.lines()
                    .filter(|l| !l.starts_with("  Localtime:"))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        };
        assert_eq!(
            norm(render(
                "lab",
                t,
                &hosts,
                &GstatOptions {
                    all: true,
                    ..Default::default()
                }
            )),
            norm(data("gstat-a.txt"))
        );
        assert_eq!(
            norm(render(
                "lab",
                t,
                &hosts,
                &GstatOptions {
                    all: true,
                    single_line: true,
                    ..Default::default()
                }
            )),
            norm(data("gstat-a-1.txt"))
        );
        assert_eq!(
            render(
                "lab",
                t,
                &hosts,
                &GstatOptions {
                    mpifile: true,
                    ..Default::default()
                }
            ),
            data("gstat-m.txt")
        );
    }

    #[test]
    fn dead_list_mpi_and_sorting() {
        let mut hosts = fixture_hosts();
        let mut busy = hosts[0].clone();
        busy.name = "busy.example.com".into();
        busy.ip = "10.0.0.2".into();
        busy.load[0] = 5.0;
        busy.gexec_on = true;
        hosts.insert(0, busy);
        let t = 1795545841;
        let all = render(
            "lab",
            t,
            &hosts,
            &GstatOptions {
                all: true,
                list: true,
                single_line: true,
                ..Default::default()
            },
        );
        let order: Vec<_> = all.lines().map(|l| l.split(' ').next().unwrap()).collect();
        assert_eq!(
            order,
            ["localhost", "busy.example.com"],
            "least loaded first"
        );
        let mpi = render(
            "lab",
            t,
            &hosts,
            &GstatOptions {
                mpifile: true,
                ..Default::default()
            },
        );
        assert_eq!(mpi, "busy.example.com:2\n");
        let mpi_n = render(
            "lab",
            t,
            &hosts,
            &GstatOptions {
                mpifile: true,
                numeric: true,
                all: true,
                ..Default::default()
            },
        );
        assert_eq!(mpi_n, "127.0.0.1:2\n10.0.0.2:2\n");
        let dead = render(
            "lab",
            t,
            &hosts,
            &GstatOptions {
                dead: true,
                ..Default::default()
            },
        );
        assert!(dead.contains("DEAD CLUSTER HOSTS\n                        Hostname   Last Reported\n                       spoofhost   "), "{dead}");
        assert_eq!(c_atof("12.5abc"), 12.5);
        assert_eq!(c_atof("x"), 0.0);
    }
}
