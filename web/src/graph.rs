//! Graph definitions (the classic stacked report graphs and single-metric graphs) and their
//! rendering by librrd. librrd's graph code keeps global state, so every librrd call of the
//! process goes through one [`Rrd`] lock on the blocking pool.

use crate::rrdpath::{self, Scope};
use rrd::ConsolidationFn;
use rrd::ops::graph::Color;
use rrd::ops::graph::elements::{
    Area, AreaColor, CDef, ColorWithLegend, Def, GraphElement, Line, VarName,
};
use rrd::ops::graph::props::{GraphProps, ImageFormat, Labels, Limits, Size, TimeRange};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Why a graph could not be made.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// None of the files the graph needs exist.
    #[error("no rrd data for {0}")]
    NoData(String),
    /// librrd failed.
    #[error("rrd error: {0}")]
    Rrd(String),
}

/// The report graphs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// load_one, CPUs, nodes, running processes.
    Load,
    /// cpu_user/nice/system/wio/steal stacked, in percent.
    Cpu,
    /// Memory use, shared, cache, buffers, swap, stacked, with the total.
    Mem,
    /// bytes_in and bytes_out.
    Network,
}

impl Report {
    /// Every report, in display order.
    pub const ALL: [Report; 4] = [Report::Load, Report::Cpu, Report::Mem, Report::Network];

    /// From the `g` parameter (`load_report`, ...).
    pub fn parse(s: &str) -> Option<Report> {
        Report::ALL.into_iter().find(|r| r.name() == s)
    }

    /// The `g` parameter value.
    pub fn name(self) -> &'static str {
        match self {
            Report::Load => "load_report",
            Report::Cpu => "cpu_report",
            Report::Mem => "mem_report",
            Report::Network => "network_report",
        }
    }
}

/// What a graph shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    /// A report graph.
    Report(Report),
    /// One metric (its `sum` DS; for summaries also the `num` count in the data export).
    Metric(String),
}

/// Graph sizes, ganglia-web's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageSize {
    /// 240 × 60.
    Small,
    /// 400 × 120.
    Medium,
    /// 800 × 240.
    Large,
}

impl ImageSize {
    /// From the `z` parameter (default medium).
    pub fn parse(s: Option<&str>) -> Option<ImageSize> {
        match s {
            None | Some("" | "medium") => Some(ImageSize::Medium),
            Some("small") => Some(ImageSize::Small),
            Some("large") => Some(ImageSize::Large),
            _ => None,
        }
    }

    fn dims(self) -> (u32, u32) {
        match self {
            ImageSize::Small => (240, 60),
            ImageSize::Medium => (400, 120),
            ImageSize::Large => (800, 240),
        }
    }
}

/// A graph request whose names were validated against the tree.
#[derive(Debug, Clone)]
pub struct Request {
    /// Whose files.
    pub scope: Scope,
    /// What to draw.
    pub what: What,
    /// Start and end, epoch seconds.
    pub start: u64,
    /// End, epoch seconds.
    pub end: u64,
    /// Image size.
    pub size: ImageSize,
    /// Title text (drawn by librrd; never markup).
    pub title: String,
    /// Vertical label (units).
    pub vlabel: String,
}

/// One line of data: which file and DS, and how it is drawn.
#[derive(Debug, Clone)]
pub struct Series {
    /// Label (legend, CSV column, JSON ds_name).
    pub label: String,
    /// The file.
    pub file: PathBuf,
    /// The DS ("sum" or "num").
    pub ds: &'static str,
    /// Metric name (for JSON).
    pub metric: String,
}

fn rgb(s: &str) -> Color {
    s.parse().unwrap_or(Color {
        red: 0,
        green: 0,
        blue: 0,
        alpha: None,
    })
}

fn var(name: &str) -> VarName {
    // Only fixed ASCII names are used here.
    VarName::new(name).unwrap_or_else(|_| VarName::new("x").expect("valid var name"))
}

/// librrd's DEF takes ':' as a separator: escape it (and '\') in file names.
fn def_path(p: &Path) -> PathBuf {
    let s = p.to_string_lossy();
    PathBuf::from(s.replace('\\', "\\\\").replace(':', "\\:"))
}

struct Builder<'a> {
    root: &'a Path,
    scope: &'a Scope,
    el: Vec<GraphElement>,
    series: Vec<Series>,
    n: usize,
}

impl Builder<'_> {
    /// DEF a metric's DS; returns the var name, or None when the file is missing.
    fn def(&mut self, metric: &str, ds: &'static str, label: &str) -> Option<String> {
        let file = rrdpath::file(self.root, self.scope, metric)?;
        let name = format!("d{}", self.n);
        self.n += 1;
        self.el.push(GraphElement::Def(Def {
            var_name: var(&name),
            rrd: def_path(&file),
            ds_name: ds.into(),
            consolidation_fn: ConsolidationFn::Avg,
            step: None,
            start: None,
            end: None,
            reduce: None,
        }));
        self.series.push(Series {
            label: label.into(),
            file,
            ds,
            metric: metric.into(),
        });
        Some(name)
    }

    fn cdef(&mut self, rpn: String) -> String {
        let name = format!("c{}", self.n);
        self.n += 1;
        self.el.push(GraphElement::CDef(CDef {
            var_name: var(&name),
            rpn,
        }));
        name
    }

    fn area(&mut self, v: &str, color: &str, label: &str, stack: bool) {
        self.el.push(GraphElement::Area(Area {
            value: var(v),
            color: Some(ColorWithLegend {
                color: AreaColor::Color(rgb(color)),
                legend: Some(label.into()),
            }),
            stack,
            skip_scale: false,
        }));
    }

    fn line(&mut self, v: &str, color: &str, label: &str) {
        self.el.push(GraphElement::Line(Line {
            width: 2.0,
            value: var(v),
            color: Some(ColorWithLegend {
                color: rgb(color),
                legend: Some(label.into()),
            }),
            stack: false,
            skip_scale: false,
            dashes: None,
        }));
    }

    /// A summary's average over hosts (sum/num) or a host's value.
    fn avg(&mut self, metric: &str, label: &str) -> Option<String> {
        let s = self.def(metric, "sum", label)?;
        if !self.scope.is_summary() {
            return Some(s);
        }
        let n = self.def(metric, "num", &format!("{label} hosts"))?;
        Some(self.cdef(format!("{s},{n},/")))
    }
}

fn build_report(b: &mut Builder<'_>, r: Report) {
    match r {
        Report::Load => {
            if let Some(v) = b.def("load_one", "sum", "1-min load") {
                b.area(&v, "#BBBBBB", "1-min load", false);
            }
            if b.scope.is_summary()
                && let Some(v) = b.def("cpu_num", "num", "Nodes")
            {
                b.line(&v, "#00FF00", "Nodes");
            }
            if let Some(v) = b.def("cpu_num", "sum", "CPUs") {
                b.line(&v, "#FF0000", "CPUs");
            }
            if let Some(v) = b.def("proc_run", "sum", "Running processes") {
                b.line(&v, "#2030F4", "Running processes");
            }
        }
        Report::Cpu => {
            let parts = [
                ("cpu_user", "#3333BB", "User"),
                ("cpu_nice", "#FFEA00", "Nice"),
                ("cpu_system", "#DD0000", "System"),
                ("cpu_wio", "#FF8A60", "Wait"),
                ("cpu_steal", "#990099", "Steal"),
            ];
            let mut first = true;
            for (m, c, l) in parts {
                if let Some(v) = b.avg(m, l) {
                    b.area(&v, c, l, !first);
                    first = false;
                }
            }
        }
        Report::Mem => {
            let k = |b: &mut Builder<'_>, m: &str, l: &str| b.def(m, "sum", l);
            let (Some(total), Some(free)) = (k(b, "mem_total", "Total"), k(b, "mem_free", "Free"))
            else {
                return;
            };
            let extras = [
                ("mem_shared", "Shared", "#0000AA"),
                ("mem_cached", "Cache", "#33CC33"),
                ("mem_buffers", "Buffers", "#99FF33"),
            ];
            let opt: Vec<(Option<String>, &str, &str)> = extras
                .iter()
                .map(|(m, l, c)| (k(b, m, l), *l, *c))
                .collect();
            let mut used = format!("{total},{free},-");
            for v in opt.iter().filter_map(|o| o.0.as_ref()) {
                used.push_str(&format!(",{v},-"));
            }
            let used = b.cdef(format!("{used},1024,*"));
            b.area(&used, "#5555CC", "Use", false);
            for (v, l, c) in &opt {
                if let Some(v) = v {
                    let s = b.cdef(format!("{v},1024,*"));
                    b.area(&s, c, l, true);
                }
            }
            if let (Some(st), Some(sf)) =
                (k(b, "swap_total", "Swap"), k(b, "swap_free", "Swap free"))
            {
                let s = b.cdef(format!("{st},{sf},-,1024,*"));
                b.area(&s, "#9900CC", "Swapped", true);
            }
            let t = b.cdef(format!("{total},1024,*"));
            b.line(&t, "#FF0000", "Total");
        }
        Report::Network => {
            if let Some(v) = b.def("bytes_in", "sum", "In") {
                b.line(&v, "#33CC33", "In");
            }
            if let Some(v) = b.def("bytes_out", "sum", "Out") {
                b.line(&v, "#5555CC", "Out");
            }
        }
    }
}

/// The DEF/CDEF/AREA/LINE elements and the series a request reads.
pub fn elements(
    root: &Path,
    scope: &Scope,
    what: &What,
) -> Result<(Vec<GraphElement>, Vec<Series>), GraphError> {
    let mut b = Builder {
        root,
        scope,
        el: Vec::new(),
        series: Vec::new(),
        n: 0,
    };
    match what {
        What::Report(r) => build_report(&mut b, *r),
        What::Metric(m) => {
            if let Some(v) = b.def(m, "sum", m) {
                b.area(&v, "#EDD5C6", m, false);
                b.line(&v, "#AA3300", "");
            }
            if scope.is_summary() {
                b.def(m, "num", "hosts");
            }
        }
    }
    if !b
        .el
        .iter()
        .any(|e| matches!(e, GraphElement::Area(_) | GraphElement::Line(_)))
    {
        return Err(GraphError::NoData(match what {
            What::Report(r) => r.name().into(),
            What::Metric(m) => m.clone(),
        }));
    }
    Ok((b.el, b.series))
}

/// The reports of a scope that have the files they need.
pub fn reports_with_files(root: &Path, scope: &Scope) -> Vec<Report> {
    Report::ALL
        .into_iter()
        .filter(|r| elements(root, scope, &What::Report(*r)).is_ok())
        .collect()
}

fn ts(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// The process-wide librrd lock: every graph and fetch goes through it.
#[derive(Debug, Clone, Default)]
pub struct Rrd {
    lock: Arc<Mutex<()>>,
}

/// Image formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// PNG.
    Png,
    /// SVG.
    Svg,
}

/// One fetched series: its label and (timestamp, value) rows (NaN: unknown).
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The series.
    pub series: Series,
    /// Rows.
    pub rows: Vec<(u64, f64)>,
}

impl Rrd {
    /// Render a graph (blocking; call from the blocking pool).
    pub fn render(&self, root: &Path, req: &Request, fmt: Format) -> Result<Vec<u8>, GraphError> {
        let (el, _) = elements(root, &req.scope, &req.what)?;
        let (w, h) = req.size.dims();
        let props = GraphProps {
            time_range: TimeRange {
                start: Some(ts(req.start)),
                end: Some(ts(req.end.max(req.start + 1))),
                step_seconds: None,
            },
            labels: Labels {
                title: Some(req.title.clone()),
                vertical_label: (!req.vlabel.is_empty()).then(|| req.vlabel.clone()),
            },
            size: Size {
                width: Some(w),
                height: Some(h),
                ..Size::default()
            },
            limits: Limits {
                lower_limit: Some(0.0),
                ..Limits::default()
            },
            ..GraphProps::default()
        };
        let f = match fmt {
            Format::Png => ImageFormat::Png,
            Format::Svg => ImageFormat::Svg,
        };
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        rrd::ops::graph::graph(f, &props, &el)
            .map(|(img, _)| img)
            .map_err(|e| GraphError::Rrd(e.to_string()))
    }

    /// Fetch every series of a request (blocking).
    pub fn fetch(&self, root: &Path, req: &Request) -> Result<Vec<Fetched>, GraphError> {
        let (_, series) = elements(root, &req.scope, &req.what)?;
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for s in series {
            let data = rrd::ops::fetch::fetch(
                &s.file,
                ConsolidationFn::Avg,
                ts(req.start),
                ts(req.end.max(req.start + 1)),
                // At most ~2000 rows: librrd picks the finest archive at least this coarse.
                Duration::from_secs(((req.end.saturating_sub(req.start)) / 2000).max(1)),
            )
            .map_err(|e| GraphError::Rrd(e.to_string()))?;
            let col = data.ds_names().iter().position(|n| n == s.ds);
            let rows = data
                .rows()
                .iter()
                .map(|r| {
                    let t = r
                        .timestamp()
                        .duration_since(SystemTime::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs());
                    (
                        t,
                        col.and_then(|c| r.as_slice().get(c).copied())
                            .unwrap_or(f64::NAN),
                    )
                })
                .collect();
            out.push(Fetched { series: s, rows });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(root: &Path, scope: &Scope, what: What) -> Vec<String> {
        let (el, _) = elements(root, scope, &what).unwrap();
        let props = GraphProps::default();
        rrd::ops::graph::graph_args(None, &props, &el).unwrap()
    }

    #[test]
    fn reports_use_the_files_that_exist_and_summaries_average_cpu() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        let host = Scope::Host("c:1".into(), "h".into());
        let sum = Scope::Cluster("c:1".into());
        std::fs::create_dir_all(r.join("c:1/h")).unwrap();
        std::fs::create_dir_all(r.join("c:1/__SummaryInfo__")).unwrap();
        for m in ["mem_total", "mem_free", "cpu_user", "load_one"] {
            std::fs::write(r.join(format!("c:1/h/{m}.rrd")), b"").unwrap();
            std::fs::write(r.join(format!("c:1/__SummaryInfo__/{m}.rrd")), b"").unwrap();
        }
        let mem = args(r, &host, What::Report(Report::Mem));
        assert!(mem.iter().any(|a| a == "CDEF:c2=d0,d1,-,1024,*"), "{mem:?}");
        // ':' in a directory name is escaped for librrd's DEF parser.
        assert!(
            mem[0].contains("c\\:1/h/mem_total.rrd:sum:AVERAGE"),
            "{mem:?}"
        );
        let cpu = args(r, &sum, What::Report(Report::Cpu));
        assert!(cpu.iter().any(|a| a.ends_with(":num:AVERAGE")), "{cpu:?}");
        assert!(cpu.iter().any(|a| a == "CDEF:c2=d0,d1,/"), "{cpu:?}");
        let load = args(r, &host, What::Report(Report::Load));
        assert_eq!(load.iter().filter(|a| a.starts_with("DEF:")).count(), 1);
        assert!(matches!(
            elements(r, &host, &What::Report(Report::Network)),
            Err(GraphError::NoData(_))
        ));
        assert_eq!(
            reports_with_files(r, &host),
            vec![Report::Load, Report::Cpu, Report::Mem]
        );
    }
}
