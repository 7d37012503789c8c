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

/// The path of a target under `root`.
pub fn path(root: &Path, t: &Target, case_sensitive_hostnames: bool) -> Option<PathBuf> {
    let file = |m: &str| component(m).map(|m| format!("{m}.rrd"));
    Some(match t {
        Target::Host {
            cluster,
            host,
            metric,
        } => {
            let h = if case_sensitive_hostnames {
                host.clone()
            } else {
                host.to_lowercase()
            };
            root.join(component(cluster)?)
                .join(component(&h)?)
                .join(file(metric)?)
        }
        Target::Summary { node, metric } => root
            .join(component(node)?)
            .join(SUMMARY_DIR)
            .join(file(metric)?),
        Target::Root { metric } => root.join(SUMMARY_DIR).join(file(metric)?),
    })
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
