//! Streaming writers for gmond-style and gmetad-style documents into a `Vec<u8>`, with the
//! exact byte layout of 3.7.2 (attribute order, one element per line) and every attribute
//! escaped. Low-level calls let a daemon write from its own storage without building a model.

use super::escape::escape_into;
pub use super::model::Source;
use super::model::{Cluster, Document, Grid, Host, Metric, Summary};

/// Append a decimal integer.
pub fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn push_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    push_u64(out, v.unsigned_abs());
}

#[inline]
fn attr(out: &mut Vec<u8>, name: &[u8], v: &str) {
    out.extend_from_slice(name);
    escape_into(out, v);
    out.push(b'"');
}

#[inline]
fn num(out: &mut Vec<u8>, name: &[u8], v: u64) {
    out.extend_from_slice(name);
    push_u64(out, v);
    out.push(b'"');
}

/// The DTD and the `GANGLIA_XML` start tag.
pub fn header(out: &mut Vec<u8>, source: Source, version: &str) {
    out.extend_from_slice(super::dtd::DTD.as_bytes());
    attr(out, b"<GANGLIA_XML VERSION=\"", version);
    out.extend_from_slice(b" SOURCE=\"");
    out.extend_from_slice(source.as_str().as_bytes());
    out.extend_from_slice(b"\">\n");
}

/// `</GANGLIA_XML>`.
pub fn footer(out: &mut Vec<u8>) {
    out.extend_from_slice(b"</GANGLIA_XML>\n");
}

/// CLUSTER attributes.
#[derive(Debug, Clone, Copy)]
pub struct ClusterAttrs<'a> {
    /// NAME.
    pub name: &'a str,
    /// LOCALTIME.
    pub localtime: u64,
    /// OWNER.
    pub owner: &'a str,
    /// LATLONG.
    pub latlong: &'a str,
    /// URL.
    pub url: &'a str,
}

/// `<CLUSTER NAME LOCALTIME OWNER LATLONG URL>` (same order for gmond and gmetad).
pub fn gmond_cluster_start(out: &mut Vec<u8>, c: &ClusterAttrs<'_>) {
    attr(out, b"<CLUSTER NAME=\"", c.name);
    num(out, b" LOCALTIME=\"", c.localtime);
    attr(out, b" OWNER=\"", c.owner);
    attr(out, b" LATLONG=\"", c.latlong);
    attr(out, b" URL=\"", c.url);
    out.extend_from_slice(b">\n");
}

/// `</CLUSTER>`.
pub fn cluster_end(out: &mut Vec<u8>) {
    out.extend_from_slice(b"</CLUSTER>\n");
}

/// HOST attributes.
#[derive(Debug, Clone, Copy)]
pub struct HostAttrs<'a> {
    /// NAME.
    pub name: &'a str,
    /// IP.
    pub ip: &'a str,
    /// TAGS.
    pub tags: &'a str,
    /// REPORTED.
    pub reported: u64,
    /// TN.
    pub tn: u64,
    /// TMAX.
    pub tmax: u64,
    /// DMAX.
    pub dmax: u64,
    /// LOCATION.
    pub location: &'a str,
    /// GMOND_STARTED.
    pub gmond_started: i64,
}

/// gmond's HOST start tag: NAME IP TAGS REPORTED TN TMAX DMAX LOCATION GMOND_STARTED (gstat
/// parses by position).
pub fn gmond_host_start(out: &mut Vec<u8>, h: &HostAttrs<'_>) {
    attr(out, b"<HOST NAME=\"", h.name);
    attr(out, b" IP=\"", h.ip);
    attr(out, b" TAGS=\"", h.tags);
    num(out, b" REPORTED=\"", h.reported);
    num(out, b" TN=\"", h.tn);
    num(out, b" TMAX=\"", h.tmax);
    num(out, b" DMAX=\"", h.dmax);
    attr(out, b" LOCATION=\"", h.location);
    out.extend_from_slice(b" GMOND_STARTED=\"");
    push_i64(out, h.gmond_started);
    out.extend_from_slice(b"\">\n");
}

/// gmetad's HOST start tag: TAGS last.
pub fn gmetad_host_start(out: &mut Vec<u8>, h: &HostAttrs<'_>) {
    attr(out, b"<HOST NAME=\"", h.name);
    attr(out, b" IP=\"", h.ip);
    num(out, b" REPORTED=\"", h.reported);
    num(out, b" TN=\"", h.tn);
    num(out, b" TMAX=\"", h.tmax);
    num(out, b" DMAX=\"", h.dmax);
    attr(out, b" LOCATION=\"", h.location);
    out.extend_from_slice(b" GMOND_STARTED=\"");
    push_i64(out, h.gmond_started);
    out.push(b'"');
    attr(out, b" TAGS=\"", h.tags);
    out.extend_from_slice(b">\n");
}

/// `</HOST>`.
pub fn host_end(out: &mut Vec<u8>) {
    out.extend_from_slice(b"</HOST>\n");
}

/// METRIC attributes.
#[derive(Debug, Clone, Copy)]
pub struct MetricAttrs<'a> {
    /// NAME.
    pub name: &'a str,
    /// VAL.
    pub val: &'a str,
    /// TYPE.
    pub metric_type: &'a str,
    /// UNITS.
    pub units: &'a str,
    /// TN.
    pub tn: u64,
    /// TMAX.
    pub tmax: u64,
    /// DMAX.
    pub dmax: u64,
    /// SLOPE.
    pub slope: &'a str,
    /// SOURCE: written by gmetad; gmond writes none.
    pub source: Option<&'a str>,
}

fn metric_open(out: &mut Vec<u8>, m: &MetricAttrs<'_>) {
    attr(out, b"<METRIC NAME=\"", m.name);
    attr(out, b" VAL=\"", m.val);
    attr(out, b" TYPE=\"", m.metric_type);
    attr(out, b" UNITS=\"", m.units);
    num(out, b" TN=\"", m.tn);
    num(out, b" TMAX=\"", m.tmax);
    num(out, b" DMAX=\"", m.dmax);
    attr(out, b" SLOPE=\"", m.slope);
    if let Some(s) = m.source {
        attr(out, b" SOURCE=\"", s);
    }
    out.extend_from_slice(b">\n");
}

fn extra_data<'e>(out: &mut Vec<u8>, extra: impl Iterator<Item = (&'e str, &'e str)>) {
    out.extend_from_slice(b"<EXTRA_DATA>\n");
    for (k, v) in extra {
        attr(out, b"<EXTRA_ELEMENT NAME=\"", k);
        attr(out, b" VAL=\"", v);
        out.extend_from_slice(b"/>\n");
    }
    out.extend_from_slice(b"</EXTRA_DATA>\n");
}

/// A whole gmond METRIC element; EXTRA_DATA only when `with_extra` (allow_extra_data).
pub fn gmond_metric<'e>(
    out: &mut Vec<u8>,
    m: &MetricAttrs<'_>,
    extra: impl Iterator<Item = (&'e str, &'e str)>,
    with_extra: bool,
) {
    metric_open(out, m);
    if with_extra {
        extra_data(out, extra);
    }
    out.extend_from_slice(b"</METRIC>\n");
}

/// A whole gmetad METRIC element: SOURCE and EXTRA_DATA always written.
pub fn gmetad_metric<'e>(
    out: &mut Vec<u8>,
    m: &MetricAttrs<'_>,
    extra: impl Iterator<Item = (&'e str, &'e str)>,
) {
    let m = MetricAttrs {
        source: Some(m.source.unwrap_or("gmond")),
        ..*m
    };
    metric_open(out, &m);
    extra_data(out, extra);
    out.extend_from_slice(b"</METRIC>\n");
}

/// `<GRID NAME AUTHORITY LOCALTIME>`.
pub fn grid_start(out: &mut Vec<u8>, name: &str, authority: &str, localtime: u64) {
    attr(out, b"<GRID NAME=\"", name);
    attr(out, b" AUTHORITY=\"", authority);
    num(out, b" LOCALTIME=\"", localtime);
    out.extend_from_slice(b">\n");
}

/// `</GRID>`.
pub fn grid_end(out: &mut Vec<u8>) {
    out.extend_from_slice(b"</GRID>\n");
}

/// `<HOSTS UP DOWN SOURCE="gmetad"/>`.
pub fn hosts_summary(out: &mut Vec<u8>, up: u64, down: u64) {
    num(out, b"<HOSTS UP=\"", up);
    num(out, b" DOWN=\"", down);
    out.extend_from_slice(b" SOURCE=\"gmetad\"/>\n");
}

/// METRICS attributes.
#[derive(Debug, Clone, Copy)]
pub struct SummaryAttrs<'a> {
    /// NAME.
    pub name: &'a str,
    /// SUM.
    pub sum: &'a str,
    /// NUM.
    pub num: u64,
    /// TYPE.
    pub metric_type: &'a str,
    /// UNITS.
    pub units: &'a str,
    /// SLOPE.
    pub slope: &'a str,
    /// SOURCE.
    pub source: &'a str,
}

/// A whole METRICS element with its EXTRA_DATA.
pub fn metrics_summary<'e>(
    out: &mut Vec<u8>,
    s: &SummaryAttrs<'_>,
    extra: impl Iterator<Item = (&'e str, &'e str)>,
) {
    attr(out, b"<METRICS NAME=\"", s.name);
    attr(out, b" SUM=\"", s.sum);
    num(out, b" NUM=\"", s.num);
    attr(out, b" TYPE=\"", s.metric_type);
    attr(out, b" UNITS=\"", s.units);
    attr(out, b" SLOPE=\"", s.slope);
    attr(out, b" SOURCE=\"", s.source);
    out.extend_from_slice(b">\n");
    extra_data(out, extra);
    out.extend_from_slice(b"</METRICS>\n");
}

/// Which layout [`write_document`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// gmond: HOST TAGS third, no SOURCE on METRIC, EXTRA_DATA as given.
    Gmond,
    /// gmetad: HOST TAGS last, SOURCE on METRIC, EXTRA_DATA always.
    Gmetad,
}

fn host_attrs(h: &Host) -> HostAttrs<'_> {
    HostAttrs {
        name: &h.name,
        ip: &h.ip,
        tags: h.tags.as_deref().unwrap_or(""),
        reported: h.reported,
        tn: h.tn,
        tmax: h.tmax,
        dmax: h.dmax,
        location: h.location.as_deref().unwrap_or("unspecified"),
        gmond_started: h.gmond_started,
    }
}

fn metric_attrs(m: &Metric) -> MetricAttrs<'_> {
    MetricAttrs {
        name: &m.name,
        val: &m.val,
        metric_type: &m.metric_type,
        units: &m.units,
        tn: m.tn,
        tmax: m.tmax,
        dmax: m.dmax,
        slope: &m.slope,
        source: Some(&m.source),
    }
}

/// Write one HOST element with its metrics.
pub fn write_host(out: &mut Vec<u8>, h: &Host, layout: Layout) {
    match layout {
        Layout::Gmond => gmond_host_start(out, &host_attrs(h)),
        Layout::Gmetad => gmetad_host_start(out, &host_attrs(h)),
    }
    for m in &h.metrics {
        let extra = m.extra.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        match layout {
            Layout::Gmond => gmond_metric(
                out,
                &MetricAttrs {
                    source: None,
                    ..metric_attrs(m)
                },
                extra,
                true,
            ),
            Layout::Gmetad => gmetad_metric(out, &metric_attrs(m), extra),
        }
    }
    host_end(out);
}

/// Write HOSTS and METRICS elements.
pub fn write_summary(out: &mut Vec<u8>, s: &Summary) {
    hosts_summary(out, s.hosts_up, s.hosts_down);
    for m in &s.metrics {
        metrics_summary(
            out,
            &SummaryAttrs {
                name: &m.name,
                sum: &m.sum,
                num: m.num,
                metric_type: &m.metric_type,
                units: &m.units,
                slope: &m.slope,
                source: &m.source,
            },
            m.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        );
    }
}

/// Write one CLUSTER element (summary first when present, then hosts).
pub fn write_cluster(out: &mut Vec<u8>, c: &Cluster, layout: Layout) {
    gmond_cluster_start(
        out,
        &ClusterAttrs {
            name: &c.name,
            localtime: c.localtime,
            owner: &c.owner,
            latlong: &c.latlong,
            url: &c.url,
        },
    );
    if let Some(s) = &c.summary {
        write_summary(out, s);
    }
    for h in &c.hosts {
        write_host(out, h, layout);
    }
    cluster_end(out);
}

/// Write one GRID element with everything inside it.
pub fn write_grid(out: &mut Vec<u8>, g: &Grid, layout: Layout) {
    grid_start(out, &g.name, &g.authority, g.localtime);
    if let Some(s) = &g.summary {
        write_summary(out, s);
    }
    for c in &g.clusters {
        write_cluster(out, c, layout);
    }
    for n in &g.grids {
        write_grid(out, n, layout);
    }
    grid_end(out);
}

/// Write a whole document from the model.
pub fn write_document(out: &mut Vec<u8>, d: &Document, layout: Layout) {
    header(out, d.source, &d.version);
    for g in &d.grids {
        write_grid(out, g, layout);
    }
    for c in &d.clusters {
        write_cluster(out, c, layout);
    }
    for h in &d.hosts {
        write_host(out, h, layout);
    }
    footer(out);
}
