//! A streaming, tolerant reader for gmond and gmetad documents (quick-xml underneath).
//!
//! Tolerance is per element: a HOST with a bad attribute, a missing NAME or broken markup
//! inside it is dropped and reported, and the other hosts of the document are kept (3.7.2's
//! expat parse lost the whole source, issue #251). A truncated document keeps every element
//! completed before the cut. Input may be gzip-compressed (1f 8b), may start with an HTTP
//! header, and may be UTF-8 or ISO-8859-1 (bytes that are not UTF-8 are read as Latin-1).
//! Attribute values are unescaped leniently, because gmetad 3.7.2 re-emits unescaped values.

use super::escape::unescape;
use super::model::{Cluster, Document, Grid, Host, Metric, Source, Summary, SummaryMetric};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use std::borrow::Cow;
use std::io::Read as _;

/// Bounds applied while reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Largest (decompressed) document accepted.
    pub max_bytes: usize,
    /// Deepest element nesting accepted.
    pub max_depth: usize,
    /// Most recoverable problems recorded before giving up on the rest of the document.
    pub max_problems: usize,
}

impl Default for ReadLimits {
    /// 512 MiB, depth 64, 1000 problems.
    fn default() -> Self {
        ReadLimits {
            max_bytes: 512 << 20,
            max_depth: 64,
            max_problems: 1000,
        }
    }
}

/// Why nothing could be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Larger than [`ReadLimits::max_bytes`].
    #[error("xml error: document larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// gzip input that does not decompress.
    #[error("xml error: bad gzip data: {0}")]
    Gzip(String),
    /// Nesting deeper than [`ReadLimits::max_depth`].
    #[error("xml error: nesting deeper than {max} at byte {offset}")]
    TooDeep {
        /// Byte offset.
        offset: u64,
        /// The limit.
        max: usize,
    },
    /// No GANGLIA_XML element was found.
    #[error("xml error: no GANGLIA_XML element (first problem: {0})")]
    NotGanglia(String),
}

/// A recoverable problem: what was skipped and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Byte offset in the (decompressed) document.
    pub offset: u64,
    /// Description, naming the element skipped.
    pub message: String,
}

/// The result of a read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReadOutcome {
    /// Everything that was read.
    pub doc: Document,
    /// Elements skipped and why.
    pub problems: Vec<Problem>,
    /// Whether the document ended properly (false: truncated or abandoned).
    pub complete: bool,
}

enum Frame {
    Root,
    Grid(Grid),
    Cluster(Cluster),
    Host(Host, bool),
    Metric(Metric),
    SummaryMetric(SummaryMetric),
    /// Any other element; names of the common ones are static, so they cost no allocation.
    Other(Cow<'static, [u8]>),
}

impl Frame {
    fn name(&self) -> &[u8] {
        match self {
            Frame::Root => b"GANGLIA_XML",
            Frame::Grid(_) => b"GRID",
            Frame::Cluster(_) => b"CLUSTER",
            Frame::Host(..) => b"HOST",
            Frame::Metric(_) => b"METRIC",
            Frame::SummaryMetric(_) => b"METRICS",
            Frame::Other(n) => n.as_ref(),
        }
    }
}

fn lenient_u64(s: &str) -> u64 {
    let t = s.trim();
    let digits: &str = &t[..t.bytes().take_while(u8::is_ascii_digit).count()];
    digits
        .parse()
        .unwrap_or(if digits.is_empty() { 0 } else { u64::MAX })
}

fn lenient_i64(s: &str) -> i64 {
    let t = s.trim();
    match t.strip_prefix('-') {
        Some(r) => -(lenient_u64(r).min(i64::MAX as u64) as i64),
        None => lenient_u64(t).min(i64::MAX as u64) as i64,
    }
}

/// An element's attributes: (NAME, unescaped value).
type Attrs<'a> = Vec<(&'a [u8], Cow<'a, str>)>;

/// Attributes of an element as (NAME, unescaped value) pairs, borrowing where possible.
fn attrs<'a>(e: &'a BytesStart<'a>) -> Result<Attrs<'a>, String> {
    let mut v = Vec::with_capacity(10);
    for a in e.attributes().with_checks(false) {
        let a = a.map_err(|err| err.to_string())?;
        let key = a.key.into_inner();
        let val = match a.value {
            Cow::Borrowed(b) => {
                match unescape(std::str::from_utf8(b).map_err(|e| e.to_string())?) {
                    Cow::Borrowed(s) => Cow::Borrowed(s),
                    Cow::Owned(s) => Cow::Owned(s),
                }
            }
            Cow::Owned(b) => {
                Cow::Owned(unescape(&String::from_utf8(b).map_err(|e| e.to_string())?).into_owned())
            }
        };
        v.push((key, val));
    }
    Ok(v)
}

fn get(a: &[(&[u8], Cow<'_, str>)], k: &[u8]) -> Option<String> {
    a.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
}

fn get_u64(a: &[(&[u8], Cow<'_, str>)], k: &[u8]) -> u64 {
    a.iter()
        .find(|(n, _)| *n == k)
        .map_or(0, |(_, v)| lenient_u64(v))
}

/// Skip an HTTP response header block (gmetad's interactive port in HTTP mode).
fn skip_http(body: &[u8]) -> &[u8] {
    if body.starts_with(b"HTTP/") {
        if let Some(p) = body.windows(4).position(|w| w == b"\r\n\r\n") {
            return &body[p + 4..];
        }
        if let Some(p) = body.windows(2).position(|w| w == b"\n\n") {
            return &body[p + 2..];
        }
    }
    body
}

/// UTF-8 as is; anything else read as ISO-8859-1.
fn text(body: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(body) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(body.iter().map(|&b| char::from(b)).collect()),
    }
}

/// Decompress, bound, strip an HTTP header and decode; borrows the input when it can.
fn prepare<'a>(bytes: &'a [u8], limits: &ReadLimits) -> Result<Cow<'a, str>, XmlError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .take(limits.max_bytes as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| XmlError::Gzip(e.to_string()))?;
        if out.len() > limits.max_bytes {
            return Err(XmlError::TooLarge {
                limit: limits.max_bytes,
            });
        }
        return Ok(Cow::Owned(text(skip_http(&out)).into_owned()));
    }
    if bytes.len() > limits.max_bytes {
        return Err(XmlError::TooLarge {
            limit: limits.max_bytes,
        });
    }
    Ok(text(skip_http(bytes)))
}

struct Builder {
    doc: Document,
    saw_root: bool,
    stack: Vec<Frame>,
    problems: Vec<Problem>,
}

impl Builder {
    fn problem(&mut self, offset: u64, message: String) {
        self.problems.push(Problem { offset, message });
    }

    /// Mark the innermost open HOST (if any) bad.
    fn spoil_host(&mut self) {
        for f in self.stack.iter_mut().rev() {
            if let Frame::Host(_, bad) = f {
                *bad = true;
                return;
            }
        }
    }

    fn start(&mut self, e: &BytesStart<'_>, offset: u64) {
        let a = match attrs(e) {
            Ok(a) => a,
            Err(msg) => {
                let name = String::from_utf8_lossy(e.name().into_inner()).into_owned();
                self.problem(offset, format!("bad attributes on {name}: {msg}"));
                if name == "HOST" {
                    self.stack.push(Frame::Host(Host::default(), true));
                } else {
                    self.spoil_host();
                    self.stack.push(Frame::Other(Cow::Owned(name.into_bytes())));
                }
                return;
            }
        };
        let s = |k: &[u8]| get(&a, k).unwrap_or_default();
        let n = |k: &[u8]| get_u64(&a, k);
        let frame = match e.name().into_inner() {
            b"GANGLIA_XML" => {
                self.saw_root = true;
                self.doc.version = s(b"VERSION");
                self.doc.source = if s(b"SOURCE") == "gmetad" {
                    Source::Gmetad
                } else {
                    Source::Gmond
                };
                Frame::Root
            }
            b"GRID" => Frame::Grid(Grid {
                name: s(b"NAME"),
                authority: s(b"AUTHORITY"),
                localtime: n(b"LOCALTIME"),
                ..Grid::default()
            }),
            b"CLUSTER" => Frame::Cluster(Cluster {
                name: s(b"NAME"),
                localtime: n(b"LOCALTIME"),
                owner: get(&a, b"OWNER").unwrap_or_else(|| "unspecified".into()),
                latlong: get(&a, b"LATLONG").unwrap_or_else(|| "unspecified".into()),
                url: get(&a, b"URL").unwrap_or_else(|| "unspecified".into()),
                ..Cluster::default()
            }),
            b"HOST" => {
                let name = get(&a, b"NAME").filter(|v| !v.is_empty());
                if name.is_none() {
                    self.problem(offset, "HOST without NAME skipped".into());
                }
                Frame::Host(
                    Host {
                        name: name.clone().unwrap_or_default(),
                        ip: s(b"IP"),
                        tags: get(&a, b"TAGS"),
                        reported: n(b"REPORTED"),
                        tn: n(b"TN"),
                        tmax: n(b"TMAX"),
                        dmax: n(b"DMAX"),
                        location: get(&a, b"LOCATION"),
                        gmond_started: get(&a, b"GMOND_STARTED").map_or(0, |v| lenient_i64(&v)),
                        metrics: Vec::new(),
                    },
                    name.is_none(),
                )
            }
            b"METRIC" => {
                if get(&a, b"NAME").is_none_or(|v| v.is_empty()) {
                    self.problem(offset, "METRIC without NAME skipped".into());
                    Frame::Other(Cow::Borrowed(b"METRIC"))
                } else {
                    Frame::Metric(Metric {
                        name: s(b"NAME"),
                        val: s(b"VAL"),
                        metric_type: s(b"TYPE"),
                        units: s(b"UNITS"),
                        tn: n(b"TN"),
                        tmax: n(b"TMAX"),
                        dmax: n(b"DMAX"),
                        slope: s(b"SLOPE"),
                        source: get(&a, b"SOURCE").unwrap_or_else(|| "gmond".into()),
                        extra: Vec::new(),
                    })
                }
            }
            b"METRICS" => Frame::SummaryMetric(SummaryMetric {
                name: s(b"NAME"),
                sum: s(b"SUM"),
                num: n(b"NUM"),
                metric_type: s(b"TYPE"),
                units: s(b"UNITS"),
                slope: s(b"SLOPE"),
                source: get(&a, b"SOURCE").unwrap_or_else(|| "gmond".into()),
                extra: Vec::new(),
            }),
            b"HOSTS" => {
                let (up, down) = (n(b"UP"), n(b"DOWN"));
                if let Some(sum) = self.summary_of_top() {
                    sum.hosts_up = up;
                    sum.hosts_down = down;
                }
                Frame::Other(Cow::Borrowed(b"HOSTS"))
            }
            b"EXTRA_ELEMENT" => {
                let kv = (s(b"NAME"), s(b"VAL"));
                for f in self.stack.iter_mut().rev() {
                    match f {
                        Frame::Metric(m) => {
                            m.extra.push(kv);
                            break;
                        }
                        Frame::SummaryMetric(m) => {
                            m.extra.push(kv);
                            break;
                        }
                        Frame::Other(_) => continue,
                        _ => break,
                    }
                }
                Frame::Other(Cow::Borrowed(b"EXTRA_ELEMENT"))
            }
            b"EXTRA_DATA" => Frame::Other(Cow::Borrowed(b"EXTRA_DATA")),
            other => Frame::Other(Cow::Owned(other.to_vec())),
        };
        self.stack.push(frame);
    }

    /// The summary of the innermost GRID or CLUSTER, created on demand.
    fn summary_of_top(&mut self) -> Option<&mut Summary> {
        for f in self.stack.iter_mut().rev() {
            match f {
                Frame::Grid(g) => return Some(g.summary.get_or_insert_with(Summary::default)),
                Frame::Cluster(c) => return Some(c.summary.get_or_insert_with(Summary::default)),
                _ => {}
            }
        }
        None
    }

    /// Close the top frame, attaching it to its parent.
    fn pop(&mut self) {
        let Some(f) = self.stack.pop() else { return };
        match f {
            Frame::Metric(m) => {
                if let Some(Frame::Host(h, _)) = self.stack.last_mut() {
                    h.metrics.push(m);
                }
            }
            Frame::SummaryMetric(m) => {
                if let Some(s) = self.summary_of_top() {
                    s.metrics.push(m);
                }
            }
            Frame::Host(h, bad) => {
                if bad {
                    return;
                }
                match self.stack.last_mut() {
                    Some(Frame::Cluster(c)) => c.hosts.push(h),
                    Some(Frame::Root) => self.doc.hosts.push(h),
                    _ => {}
                }
            }
            Frame::Cluster(c) => match self.stack.last_mut() {
                Some(Frame::Grid(g)) => g.clusters.push(c),
                Some(Frame::Root) => self.doc.clusters.push(c),
                _ => {}
            },
            Frame::Grid(g) => match self.stack.last_mut() {
                Some(Frame::Grid(p)) => p.grids.push(g),
                Some(Frame::Root) => self.doc.grids.push(g),
                _ => {}
            },
            Frame::Root | Frame::Other(_) => {}
        }
    }

    fn end(&mut self, name: &[u8], offset: u64) {
        if self.stack.last().is_some_and(|f| f.name() == name) {
            self.pop();
            return;
        }
        let pretty = String::from_utf8_lossy(name).into_owned();
        match self.stack.iter().rposition(|f| f.name() == name) {
            Some(depth) => {
                self.problem(
                    offset,
                    format!("mismatched </{pretty}>; unclosed elements inside it dropped"),
                );
                // Broken nesting inside a host makes that host untrustworthy.
                if self.stack.iter().any(|f| matches!(f, Frame::Host(..))) {
                    self.spoil_host();
                }
                while self.stack.len() > depth {
                    self.pop();
                }
            }
            None => {
                self.spoil_host();
                self.problem(offset, format!("stray </{pretty}> ignored"));
            }
        }
    }
}

/// Read a gmond or gmetad document.
pub fn read(bytes: &[u8], limits: &ReadLimits) -> Result<ReadOutcome, XmlError> {
    let text = prepare(bytes, limits)?;
    let mut reader = Reader::from_str(&text);
    let cfg = reader.config_mut();
    cfg.check_end_names = false;
    cfg.check_comments = false;
    cfg.trim_text(true);
    let mut b = Builder {
        doc: Document::default(),
        saw_root: false,
        stack: Vec::new(),
        problems: Vec::new(),
    };
    let mut complete = false;
    let mut last_err_pos = u64::MAX;
    loop {
        let offset = reader.buffer_position();
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                if b.stack.len() >= limits.max_depth {
                    return Err(XmlError::TooDeep {
                        offset,
                        max: limits.max_depth,
                    });
                }
                b.start(&e, offset);
            }
            Ok(Event::Empty(e)) => {
                if b.stack.len() >= limits.max_depth {
                    return Err(XmlError::TooDeep {
                        offset,
                        max: limits.max_depth,
                    });
                }
                b.start(&e, offset);
                b.pop();
            }
            Ok(Event::End(e)) => b.end(e.name().into_inner(), offset),
            Ok(Event::Eof) => {
                complete = b.stack.is_empty() && b.saw_root;
                break;
            }
            Ok(_) => {}
            Err(e) => {
                let pos = reader.error_position();
                b.spoil_host();
                b.problem(pos, format!("malformed markup: {e}"));
                if pos == last_err_pos || b.problems.len() >= limits.max_problems {
                    break;
                }
                last_err_pos = pos;
            }
        }
    }
    if !complete {
        if !b.stack.is_empty() {
            b.problem(
                text.len() as u64,
                "document truncated; open elements kept up to their last complete child".into(),
            );
        }
        // Unwind: open hosts and metrics are incomplete and dropped; containers keep what they have.
        while let Some(top) = b.stack.last() {
            if matches!(top, Frame::Metric(_) | Frame::Host(..)) {
                b.spoil_host();
            }
            b.pop();
        }
    }
    if !b.saw_root {
        let first = b
            .problems
            .first()
            .map_or_else(|| "empty document".to_owned(), |p| p.message.clone());
        return Err(XmlError::NotGanglia(first));
    }
    Ok(ReadOutcome {
        doc: b.doc,
        problems: b.problems,
        complete,
    })
}
