//! The owned document model shared by gmetad-rs, the web UI and tests.
//!
//! Text fields are [`SmolStr`]: up to 23 bytes inline (no allocation), longer ones a shared
//! `Arc<str>`, so cloning a model is cheap and the readers can hand the same long value (a DESC,
//! a long metric name) to every host that repeats it. A metric's EXTRA_DATA is an [`Extra`], one
//! shared list for every metric whose EXTRA_DATA bytes repeat (the same metric on every host).

use std::sync::Arc;

pub use smol_str::SmolStr;

/// EXTRA_ELEMENT name/value pairs in document order, shared between metrics that repeat them
/// (build one with `vec![..].into()` or [`no_extra`]).
pub type Extra = Arc<[(SmolStr, SmolStr)]>;

/// An empty [`Extra`] (no allocation: empty lists share one static).
pub fn no_extra() -> Extra {
    Arc::default()
}

/// Who produced a document (`GANGLIA_XML SOURCE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// A gmond (tcp_accept_channel).
    #[default]
    Gmond,
    /// A gmetad (xml_port / interactive_port).
    Gmetad,
}

impl Source {
    /// The attribute text.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Gmond => "gmond",
            Source::Gmetad => "gmetad",
        }
    }
}

/// A whole `GANGLIA_XML` document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document {
    /// SOURCE attribute.
    pub source: Source,
    /// VERSION attribute.
    pub version: SmolStr,
    /// Top-level GRID elements (gmetad).
    pub grids: Vec<Grid>,
    /// Top-level CLUSTER elements (gmond).
    pub clusters: Vec<Cluster>,
    /// Top-level HOST elements (allowed by the DTD; unusual).
    pub hosts: Vec<Host>,
}

/// A GRID element.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Grid {
    /// NAME.
    pub name: SmolStr,
    /// AUTHORITY.
    pub authority: SmolStr,
    /// LOCALTIME (0 if absent).
    pub localtime: u64,
    /// CLUSTER children.
    pub clusters: Vec<Cluster>,
    /// Nested GRID children.
    pub grids: Vec<Grid>,
    /// HOSTS/METRICS summary, if present.
    pub summary: Option<Summary>,
}

/// A CLUSTER element.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cluster {
    /// NAME.
    pub name: SmolStr,
    /// LOCALTIME: the producer's clock (gmetad uses it as the RRD timestamp).
    pub localtime: u64,
    /// OWNER.
    pub owner: SmolStr,
    /// LATLONG.
    pub latlong: SmolStr,
    /// URL.
    pub url: SmolStr,
    /// HOST children.
    pub hosts: Vec<Host>,
    /// HOSTS/METRICS summary, if present.
    pub summary: Option<Summary>,
}

/// A HOST element.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Host {
    /// NAME.
    pub name: SmolStr,
    /// IP.
    pub ip: SmolStr,
    /// TAGS (absent: `None`).
    pub tags: Option<SmolStr>,
    /// REPORTED: epoch seconds of the last packet.
    pub reported: u64,
    /// TN: seconds since REPORTED.
    pub tn: u64,
    /// TMAX.
    pub tmax: u64,
    /// DMAX.
    pub dmax: u64,
    /// LOCATION (absent: `None`).
    pub location: Option<SmolStr>,
    /// GMOND_STARTED (signed: 3.7.2 prints garbage heartbeats with %d).
    pub gmond_started: i64,
    /// METRIC children.
    pub metrics: Vec<Metric>,
}

/// A METRIC element.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metric {
    /// NAME.
    pub name: SmolStr,
    /// VAL as text.
    pub val: SmolStr,
    /// TYPE.
    pub metric_type: SmolStr,
    /// UNITS.
    pub units: SmolStr,
    /// TN.
    pub tn: u64,
    /// TMAX.
    pub tmax: u64,
    /// DMAX.
    pub dmax: u64,
    /// SLOPE.
    pub slope: SmolStr,
    /// SOURCE (the DTD default "gmond" when absent).
    pub source: SmolStr,
    /// EXTRA_ELEMENT name/value pairs in document order.
    pub extra: Extra,
}

impl Metric {
    /// First extra-data value for `key` (GROUP, TITLE, DESC, ...).
    pub fn extra(&self, key: &str) -> Option<&str> {
        self.extra
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// HOSTS and METRICS elements of a summarised CLUSTER or GRID.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    /// HOSTS UP.
    pub hosts_up: u64,
    /// HOSTS DOWN.
    pub hosts_down: u64,
    /// METRICS elements.
    pub metrics: Vec<SummaryMetric>,
}

/// A METRICS element: a metric summed over live hosts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SummaryMetric {
    /// NAME.
    pub name: SmolStr,
    /// SUM as text.
    pub sum: SmolStr,
    /// NUM: hosts contributing.
    pub num: u64,
    /// TYPE (always "double" from gmetad).
    pub metric_type: SmolStr,
    /// UNITS.
    pub units: SmolStr,
    /// SLOPE.
    pub slope: SmolStr,
    /// SOURCE.
    pub source: SmolStr,
    /// EXTRA_ELEMENT pairs.
    pub extra: Extra,
}
