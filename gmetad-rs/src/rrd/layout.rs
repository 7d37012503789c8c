//! The RRD tree gmetad 3.7.2 writes (reference §3.6), as pure functions: paths, data-source
//! definitions, archives and update values.

use std::path::{Path, PathBuf};

/// Name of the summary directories.
pub const SUMMARY_DIR: &str = "__SummaryInfo__";

/// The default RRAs of gmetad 3.7.2 (15 s × 5856, 1 min × 20160, 10 min × 52704 at step 15).
pub const DEFAULT_RRAS: [&str; 3] = [
    "RRA:AVERAGE:0.5:1:5856",
    "RRA:AVERAGE:0.5:4:20160",
    "RRA:AVERAGE:0.5:40:52704",
];

/// Which file an update goes to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// `<cluster>/<host>/<metric>.rrd`, DS `sum`.
    Host {
        /// CLUSTER NAME.
        cluster: String,
        /// HOST NAME.
        host: String,
        /// METRIC NAME.
        metric: String,
    },
    /// `<cluster or grid>/__SummaryInfo__/<metric>.rrd`, DS `sum` and `num`.
    Summary {
        /// CLUSTER or GRID NAME.
        node: String,
        /// Metric name.
        metric: String,
    },
    /// `__SummaryInfo__/<metric>.rrd` at the root, DS `sum` and `num`.
    Root {
        /// Metric name.
        metric: String,
    },
}

impl Target {
    /// Whether the file has the `num` data source.
    pub fn is_summary(&self) -> bool {
        !matches!(self, Target::Host { .. })
    }

    /// The same target, borrowed.
    pub fn as_ref(&self) -> TargetRef<'_> {
        match self {
            Target::Host {
                cluster,
                host,
                metric,
            } => TargetRef::Host {
                cluster,
                host,
                metric,
            },
            Target::Summary { node, metric } => TargetRef::Summary { node, metric },
            Target::Root { metric } => TargetRef::Root { metric },
        }
    }
}

/// A [`Target`] borrowing its names (from a snapshot: no copies per update).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetRef<'a> {
    /// `<cluster>/<host>/<metric>.rrd`.
    Host {
        /// CLUSTER NAME.
        cluster: &'a str,
        /// HOST NAME.
        host: &'a str,
        /// METRIC NAME.
        metric: &'a str,
    },
    /// `<cluster or grid>/__SummaryInfo__/<metric>.rrd`.
    Summary {
        /// CLUSTER or GRID NAME.
        node: &'a str,
        /// Metric name.
        metric: &'a str,
    },
    /// `__SummaryInfo__/<metric>.rrd`.
    Root {
        /// Metric name.
        metric: &'a str,
    },
}

impl TargetRef<'_> {
    /// Whether the file has the `num` data source.
    pub fn is_summary(&self) -> bool {
        !matches!(self, TargetRef::Host { .. })
    }
}

/// RRD data-source type for a slope: positive → COUNTER, derivative → DERIVE, else GAUGE.
pub fn ds_type(slope: &str) -> &'static str {
    match slope {
        "positive" => "COUNTER",
        "derivative" => "DERIVE",
        _ => "GAUGE",
    }
}

/// A path component from a name: used verbatim except characters no file name can hold ('/'
/// and NUL become '_', a deliberate fix of issue #265); "", "." and ".." are refused.
pub fn component(name: &str) -> Option<String> {
    if name.is_empty() || name == "." || name == ".." {
        return None;
    }
    Some(name.replace(['/', '\0'], "_"))
}

/// Append `/` and the path component for `name` to `out` (see [`component`]); false if refused.
fn push_component(out: &mut Vec<u8>, name: &str) -> bool {
    if name.is_empty() || name == "." || name == ".." {
        return false;
    }
    if !out.is_empty() && out.last() != Some(&b'/') {
        out.push(b'/');
    }
    out.extend(
        name.bytes()
            .map(|b| if b == b'/' || b == 0 { b'_' } else { b }),
    );
    true
}

/// The path of a target under `root` as bytes, written into `out` (cleared first; reused by the
/// writer so building a path allocates nothing). False if a name is refused.
pub fn path_bytes(out: &mut Vec<u8>, root: &[u8], t: TargetRef<'_>, case_sensitive: bool) -> bool {
    out.clear();
    out.extend_from_slice(root);
    while out.len() > 1 && out.last() == Some(&b'/') {
        out.pop();
    }
    let file = |out: &mut Vec<u8>, m: &str| {
        push_component(out, m) && {
            out.extend_from_slice(b".rrd");
            true
        }
    };
    match t {
        TargetRef::Host {
            cluster,
            host,
            metric,
        } => {
            if !push_component(out, cluster) {
                return false;
            }
            let ok = if case_sensitive {
                push_component(out, host)
            } else if host.is_ascii() {
                let at = out.len() + 1;
                push_component(out, host) && {
                    out[at..].make_ascii_lowercase();
                    true
                }
            } else {
                push_component(out, &host.to_lowercase())
            };
            ok && file(out, metric)
        }
        TargetRef::Summary { node, metric } => {
            push_component(out, node) && push_component(out, SUMMARY_DIR) && file(out, metric)
        }
        TargetRef::Root { metric } => push_component(out, SUMMARY_DIR) && file(out, metric),
    }
}

/// The path of a target under `root`.
pub fn path(root: &Path, t: &Target, case_sensitive_hostnames: bool) -> Option<PathBuf> {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let mut out = Vec::new();
    path_bytes(
        &mut out,
        root.as_os_str().as_bytes(),
        t.as_ref(),
        case_sensitive_hostnames,
    )
    .then(|| PathBuf::from(std::ffi::OsString::from_vec(out)))
}

/// The `DS:` arguments of a new file: `sum` of the slope's type, plus `num` (GAUGE) for
/// summaries; heartbeat 8 × step, no bounds.
pub fn ds_args(slope: &str, step: u32, summary: bool) -> Vec<String> {
    let hb = step.saturating_mul(8);
    let mut v = vec![format!("DS:sum:{}:{hb}:U:U", ds_type(slope))];
    if summary {
        v.push(format!("DS:num:GAUGE:{hb}:U:U"));
    }
    v
}

/// A parsed `RRA:CF:xff:steps:rows` definition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rra {
    /// AVERAGE, MIN, MAX or LAST.
    pub cf: &'static str,
    /// X-files factor.
    pub xff: f64,
    /// Primary data points per row.
    pub steps: u32,
    /// Rows.
    pub rows: u32,
}

/// Parse an RRA definition of the forms gmetad.conf uses.
pub fn parse_rra(s: &str) -> Option<Rra> {
    let f: Vec<&str> = s.trim().split(':').collect();
    if f.len() != 5 || f[0] != "RRA" {
        return None;
    }
    let cf = match f[1] {
        "AVERAGE" => "AVERAGE",
        "MIN" => "MIN",
        "MAX" => "MAX",
        "LAST" => "LAST",
        _ => return None,
    };
    let xff: f64 = f[2].parse().ok().filter(|x: &f64| (0.0..1.0).contains(x))?;
    Some(Rra {
        cf,
        xff,
        steps: f[3].parse().ok().filter(|s| *s > 0)?,
        rows: f[4].parse().ok().filter(|r| *r > 0)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_gmetad() {
        let r = Path::new("/var/lib/ganglia/rrds");
        let h = Target::Host {
            cluster: "my cluster".into(),
            host: "Web1".into(),
            metric: "load_one".into(),
        };
        assert_eq!(
            path(r, &h, true).unwrap(),
            Path::new("/var/lib/ganglia/rrds/my cluster/Web1/load_one.rrd")
        );
        assert_eq!(
            path(r, &h, false).unwrap(),
            Path::new("/var/lib/ganglia/rrds/my cluster/web1/load_one.rrd")
        );
        let s = Target::Summary {
            node: "lab".into(),
            metric: "cpu_num".into(),
        };
        assert_eq!(
            path(r, &s, true).unwrap(),
            Path::new("/var/lib/ganglia/rrds/lab/__SummaryInfo__/cpu_num.rrd")
        );
        assert_eq!(
            path(r, &Target::Root { metric: "x".into() }, true).unwrap(),
            Path::new("/var/lib/ganglia/rrds/__SummaryInfo__/x.rrd")
        );
        let slash = Target::Host {
            cluster: "c".into(),
            host: "h".into(),
            metric: "ipmi_i/o".into(),
        };
        assert_eq!(
            path(r, &slash, true).unwrap(),
            Path::new("/var/lib/ganglia/rrds/c/h/ipmi_i_o.rrd")
        );
        let dotdot = Target::Host {
            cluster: "..".into(),
            host: "h".into(),
            metric: "m".into(),
        };
        assert_eq!(path(r, &dotdot, true), None);
    }

    #[test]
    fn data_sources_and_archives() {
        assert_eq!(ds_args("both", 15, false), ["DS:sum:GAUGE:120:U:U"]);
        assert_eq!(
            ds_args("positive", 15, true),
            ["DS:sum:COUNTER:120:U:U", "DS:num:GAUGE:120:U:U"]
        );
        assert_eq!(ds_type("derivative"), "DERIVE");
        assert_eq!(
            parse_rra("RRA:AVERAGE:0.5:1:5856"),
            Some(Rra {
                cf: "AVERAGE",
                xff: 0.5,
                steps: 1,
                rows: 5856
            })
        );
        assert_eq!(parse_rra("RRA:HWPREDICT:1:2:3"), None);
        assert_eq!(parse_rra("RRA:AVERAGE:1.5:1:5"), None);
        assert!(DEFAULT_RRAS.iter().all(|r| parse_rra(r).is_some()));
    }
}
