//! The model builder behind [`super::read`]: an element stack that attaches finished elements to
//! their parents and drops the ones that turned out bad, recording why.

use super::escape::unescape;
use super::intern::Interner;
use super::model::{
    Cluster, Document, Grid, Host, Metric, SmolStr, Source, Summary, SummaryMetric, no_extra,
};
use super::read::Problem;
use quick_xml::events::BytesStart;
use std::borrow::Cow;

/// One open element.
type Pair = (SmolStr, SmolStr);

/// One open element.
pub(super) enum Frame {
    Root,
    Grid(Grid),
    Cluster(Cluster),
    /// The host and whether it is bad (dropped when closed).
    Host(Host, bool),
    /// The metric and its EXTRA_ELEMENT pairs so far.
    Metric(Metric, Vec<Pair>),
    /// The summary metric and its EXTRA_ELEMENT pairs so far.
    SummaryMetric(SummaryMetric, Vec<Pair>),
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
            Frame::Metric(..) => b"METRIC",
            Frame::SummaryMetric(..) => b"METRICS",
            Frame::Other(n) => n.as_ref(),
        }
    }
}

/// A numeric attribute: `(value, clean)`. Absent reads as `(0, true)`. Otherwise the leading
/// decimal digits are used (none: 0, too many: `u64::MAX`), and `clean` says whether the text
/// was exactly a non-negative decimal integer (surrounding blanks allowed).
pub(super) fn lenient_u64(s: &str) -> (u64, bool) {
    let t = s.trim();
    let n = t.bytes().take_while(u8::is_ascii_digit).count();
    match t[..n].parse::<u64>() {
        Ok(v) => (v, n == t.len()),
        Err(_) if n == 0 => (0, false),
        Err(_) => (u64::MAX, false),
    }
}

/// As [`lenient_u64`] with an optional leading '-', saturating at the i64 range.
pub(super) fn lenient_i64(s: &str) -> (i64, bool) {
    let t = s.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    let (v, clean) = lenient_u64(digits);
    let clean = clean && digits.len() == digits.trim_start().len();
    let v = v.min(i64::MAX as u64) as i64;
    (if neg { -v } else { v }, clean)
}

/// An element's attributes: (NAME, unescaped value).
type Attrs<'a> = Vec<(&'a [u8], Cow<'a, str>)>;

/// Why an element's attributes could not be used.
pub(super) enum AttrError {
    /// Broken markup (unquoted value, key without '=', ...).
    Malformed(String),
    /// A value longer than [`super::read::ReadLimits::max_attr_len`].
    TooLong(String, usize),
}

/// Attribute bytes as text: UTF-8 when valid, otherwise ISO-8859-1 (the DTD's declared encoding).
pub(super) fn decode(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(b.iter().map(|&c| char::from(c)).collect()),
    }
}

/// Attributes of an element as (NAME, unescaped value) pairs, borrowing where possible.
/// Duplicate attributes are tolerated (the first wins on lookup).
fn attrs<'a>(e: &'a BytesStart<'a>, max_len: usize) -> Result<Attrs<'a>, AttrError> {
    let mut v = Vec::with_capacity(10);
    for a in e.attributes().with_checks(false) {
        let a = a.map_err(|err| AttrError::Malformed(err.to_string()))?;
        let key = a.key.into_inner();
        if a.value.len() > max_len {
            let key = String::from_utf8_lossy(key).into_owned();
            return Err(AttrError::TooLong(key, a.value.len()));
        }
        let val = match a.value {
            Cow::Borrowed(b) => match decode(b) {
                Cow::Borrowed(s) => unescape(s),
                Cow::Owned(s) => Cow::Owned(unescape(&s).into_owned()),
            },
            Cow::Owned(b) => Cow::Owned(unescape(&decode(&b)).into_owned()),
        };
        v.push((key, val));
    }
    Ok(v)
}

fn get_raw<'v>(a: &'v [(&[u8], Cow<'_, str>)], k: &[u8]) -> Option<&'v str> {
    a.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_ref())
}

/// Reads attributes of one element, collecting numeric attributes that needed repair.
struct Fields<'x, 'a> {
    a: &'x [(&'a [u8], Cow<'a, str>)],
    repaired: Vec<String>,
    intern: &'x mut Interner,
}

impl Fields<'_, '_> {
    fn s(&mut self, k: &[u8]) -> SmolStr {
        self.opt(k).unwrap_or_default()
    }

    fn opt(&mut self, k: &[u8]) -> Option<SmolStr> {
        get_raw(self.a, k).map(|v| self.intern.str(v))
    }

    fn or_unspecified(&mut self, k: &[u8]) -> SmolStr {
        self.opt(k)
            .unwrap_or_else(|| SmolStr::new_inline("unspecified"))
    }

    fn n(&mut self, k: &[u8]) -> u64 {
        let Some(raw) = get_raw(self.a, k) else {
            return 0;
        };
        let (v, clean) = lenient_u64(raw);
        if !clean {
            self.note(k, raw, &v.to_string());
        }
        v
    }

    fn i(&mut self, k: &[u8]) -> i64 {
        let Some(raw) = get_raw(self.a, k) else {
            return 0;
        };
        let (v, clean) = lenient_i64(raw);
        if !clean {
            self.note(k, raw, &v.to_string());
        }
        v
    }

    fn note(&mut self, k: &[u8], raw: &str, used: &str) {
        let mut shown: String = raw.chars().take(40).collect();
        if shown.len() < raw.len() {
            shown.push_str("...");
        }
        self.repaired.push(format!(
            "{}={shown:?} is not a non-negative integer; read as {used}",
            String::from_utf8_lossy(k)
        ));
    }
}

/// The element stack and everything read so far.
pub(super) struct Builder {
    pub(super) doc: Document,
    pub(super) saw_root: bool,
    pub(super) stack: Vec<Frame>,
    pub(super) problems: Vec<Problem>,
    pub(super) max_attr_len: usize,
    /// Repeated long values and EXTRA_DATA lists, shared.
    intern: Interner,
}

impl Builder {
    pub(super) fn new(max_attr_len: usize) -> Self {
        Builder {
            doc: Document::default(),
            saw_root: false,
            stack: Vec::new(),
            problems: Vec::new(),
            max_attr_len,
            intern: Interner::default(),
        }
    }

    pub(super) fn problem(&mut self, offset: u64, message: String) {
        self.problems.push(Problem { offset, message });
    }

    /// Mark the innermost open HOST (if any) bad.
    pub(super) fn spoil_host(&mut self) {
        for f in self.stack.iter_mut().rev() {
            if let Frame::Host(_, bad) = f {
                *bad = true;
                return;
            }
        }
    }

    /// Close open elements down to `depth` after a problem: an open HOST is dropped, open
    /// containers keep their completed children.
    fn unwind_to(&mut self, depth: usize) {
        while self.stack.len() > depth {
            if let Some(Frame::Host(_, bad)) = self.stack.last_mut() {
                *bad = true;
            }
            self.pop();
        }
    }

    /// A new HOST, CLUSTER or GRID begins: anything still open above its nearest permitted
    /// parent (CLUSTER or the root for a HOST; GRID or the root for a CLUSTER or GRID) was left
    /// unclosed, 3.7.2's expat lost the whole source here. Recover at this boundary: an open
    /// HOST is dropped, an open CLUSTER keeps its completed hosts.
    fn resync_before(&mut self, elem: &[u8], offset: u64) {
        let parent = |f: &Frame| match elem {
            b"HOST" => matches!(f, Frame::Cluster(_) | Frame::Root),
            _ => matches!(f, Frame::Grid(_) | Frame::Root),
        };
        let Some(p) = self.stack.iter().rposition(parent) else {
            return;
        };
        if p + 1 == self.stack.len() {
            return;
        }
        let what = match &self.stack[p + 1] {
            Frame::Host(h, _) => format!("HOST {:?} dropped", h.name),
            Frame::Cluster(c) => format!("CLUSTER {:?} closed", c.name),
            f => format!("<{}> closed", String::from_utf8_lossy(f.name())),
        };
        let elem = String::from_utf8_lossy(elem).into_owned();
        self.problem(
            offset,
            format!("unclosed element before <{elem}>: {what}; recovered at <{elem}>"),
        );
        self.unwind_to(p + 1);
    }

    /// An element start (or empty element) at `offset`. Returns whether a frame was pushed
    /// (a tag without a valid name is reported and ignored).
    pub(super) fn start(&mut self, e: &BytesStart<'_>, offset: u64) -> bool {
        let tag = e.name().into_inner();
        if !tag
            .first()
            .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_' || c == b':' || c >= 0x80)
        {
            self.spoil_host();
            let shown = String::from_utf8_lossy(&e[..e.len().min(40)]).into_owned();
            self.problem(
                offset,
                format!("tag without a valid name <{shown}> ignored"),
            );
            return false;
        }
        if matches!(tag, b"HOST" | b"CLUSTER" | b"GRID") {
            self.resync_before(tag, offset);
        }
        let a = match attrs(e, self.max_attr_len) {
            Ok(a) => a,
            Err(err) => {
                self.bad_attrs(tag, err, offset);
                return true;
            }
        };
        let mut intern = std::mem::take(&mut self.intern);
        let mut f = Fields {
            a: &a,
            repaired: Vec::new(),
            intern: &mut intern,
        };
        let frame = match tag {
            b"GANGLIA_XML" => {
                self.saw_root = true;
                self.doc.version = f.s(b"VERSION");
                self.doc.source = if f.s(b"SOURCE") == "gmetad" {
                    Source::Gmetad
                } else {
                    Source::Gmond
                };
                Frame::Root
            }
            b"GRID" => Frame::Grid(Grid {
                name: f.s(b"NAME"),
                authority: f.s(b"AUTHORITY"),
                localtime: f.n(b"LOCALTIME"),
                ..Grid::default()
            }),
            b"CLUSTER" => Frame::Cluster(Cluster {
                name: f.s(b"NAME"),
                localtime: f.n(b"LOCALTIME"),
                owner: f.or_unspecified(b"OWNER"),
                latlong: f.or_unspecified(b"LATLONG"),
                url: f.or_unspecified(b"URL"),
                ..Cluster::default()
            }),
            b"HOST" => {
                let name = f.opt(b"NAME").filter(|v| !v.is_empty());
                if name.is_none() {
                    self.problem(offset, "HOST without NAME skipped".into());
                }
                let bad = name.is_none();
                Frame::Host(
                    Host {
                        name: name.unwrap_or_default(),
                        ip: f.s(b"IP"),
                        tags: f.opt(b"TAGS"),
                        reported: f.n(b"REPORTED"),
                        tn: f.n(b"TN"),
                        tmax: f.n(b"TMAX"),
                        dmax: f.n(b"DMAX"),
                        location: f.opt(b"LOCATION"),
                        gmond_started: f.i(b"GMOND_STARTED"),
                        metrics: Vec::new(),
                    },
                    bad,
                )
            }
            b"METRIC" => {
                if get_raw(&a, b"NAME").is_none_or(str::is_empty) {
                    self.problem(offset, "METRIC without NAME skipped".into());
                    Frame::Other(Cow::Borrowed(b"METRIC"))
                } else {
                    Frame::Metric(
                        Metric {
                            name: f.s(b"NAME"),
                            val: f.s(b"VAL"),
                            metric_type: f.s(b"TYPE"),
                            units: f.s(b"UNITS"),
                            tn: f.n(b"TN"),
                            tmax: f.n(b"TMAX"),
                            dmax: f.n(b"DMAX"),
                            slope: f.s(b"SLOPE"),
                            source: f.opt(b"SOURCE").unwrap_or_else(|| "gmond".into()),
                            extra: no_extra(),
                        },
                        Vec::new(),
                    )
                }
            }
            b"METRICS" => Frame::SummaryMetric(
                SummaryMetric {
                    name: f.s(b"NAME"),
                    sum: f.s(b"SUM"),
                    num: f.n(b"NUM"),
                    metric_type: f.s(b"TYPE"),
                    units: f.s(b"UNITS"),
                    slope: f.s(b"SLOPE"),
                    source: f.opt(b"SOURCE").unwrap_or_else(|| "gmond".into()),
                    extra: no_extra(),
                },
                Vec::new(),
            ),
            b"HOSTS" => {
                let (up, down) = (f.n(b"UP"), f.n(b"DOWN"));
                if let Some(sum) = self.summary_of_top() {
                    sum.hosts_up = up;
                    sum.hosts_down = down;
                }
                Frame::Other(Cow::Borrowed(b"HOSTS"))
            }
            b"EXTRA_ELEMENT" => {
                let kv = (f.s(b"NAME"), f.s(b"VAL"));
                self.push_extra(kv);
                Frame::Other(Cow::Borrowed(b"EXTRA_ELEMENT"))
            }
            b"EXTRA_DATA" => Frame::Other(Cow::Borrowed(b"EXTRA_DATA")),
            other => Frame::Other(Cow::Owned(other.to_vec())),
        };
        let repaired = f.repaired;
        self.intern = intern;
        if !repaired.is_empty() {
            let who = format!(
                "{} {:?}",
                String::from_utf8_lossy(tag),
                get_raw(&a, b"NAME").unwrap_or("")
            );
            for r in repaired {
                self.problem(offset, format!("{who}: {r}"));
            }
        }
        self.stack.push(frame);
        true
    }

    /// An element whose attributes are unusable. A HOST is skipped. An over-long value skips
    /// just that element; broken markup anywhere inside a HOST also drops the host.
    fn bad_attrs(&mut self, tag: &[u8], err: AttrError, offset: u64) {
        let name = String::from_utf8_lossy(tag).into_owned();
        let skipped = if name == "HOST" {
            self.stack.push(Frame::Host(Host::default(), true));
            "skipped"
        } else {
            if matches!(err, AttrError::Malformed(_)) {
                self.spoil_host();
            }
            self.stack.push(Frame::Other(Cow::Owned(tag.to_vec())));
            "skipped with its content"
        };
        let why = match err {
            AttrError::Malformed(m) => format!("bad attributes: {m}"),
            AttrError::TooLong(k, len) => format!(
                "attribute {k} is {len} bytes, over the limit of {}",
                self.max_attr_len
            ),
        };
        self.problem(offset, format!("{name} {skipped}: {why}"));
    }

    fn push_extra(&mut self, kv: Pair) {
        for f in self.stack.iter_mut().rev() {
            match f {
                Frame::Metric(_, e) | Frame::SummaryMetric(_, e) => return e.push(kv),
                Frame::Other(_) => continue,
                _ => return,
            }
        }
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

    /// Close the top frame, attaching it to its parent. Elements in a place the DTD does not
    /// allow (a METRIC outside a HOST, a HOST inside a GRID) are dropped.
    pub(super) fn pop(&mut self) {
        let Some(f) = self.stack.pop() else { return };
        match f {
            Frame::Metric(mut m, e) => {
                if let Some(Frame::Host(h, _)) = self.stack.last_mut() {
                    m.extra = self.intern.extra(&e);
                    h.metrics.push(m);
                }
            }
            Frame::SummaryMetric(mut m, e) => {
                m.extra = self.intern.extra(&e);
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

    /// An end tag at `offset`.
    pub(super) fn end(&mut self, name: &[u8], offset: u64) {
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
                self.unwind_to(depth + 1);
                // Broken nesting inside a host makes that host untrustworthy.
                self.spoil_host();
                // The named element itself closes normally.
                self.pop();
            }
            None => {
                // Broken nesting inside a host makes that host untrustworthy.
                self.spoil_host();
                self.problem(offset, format!("stray </{pretty}> ignored"));
            }
        }
    }

    /// End of input: whatever is still open was truncated. Open hosts and metrics are
    /// incomplete and dropped; containers keep what they have.
    pub(super) fn finish_truncated(&mut self, offset: u64) {
        if !self.stack.is_empty() {
            self.problem(
                offset,
                "document truncated; open elements kept up to their last complete child".into(),
            );
        }
        self.unwind_to(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_numbers() {
        assert_eq!(lenient_u64("42"), (42, true));
        assert_eq!(lenient_u64(" 42 "), (42, true));
        assert_eq!(lenient_u64("12abc"), (12, false));
        assert_eq!(lenient_u64("abc"), (0, false));
        assert_eq!(lenient_u64(""), (0, false));
        assert_eq!(lenient_u64("-3"), (0, false));
        assert_eq!(lenient_u64("99999999999999999999999"), (u64::MAX, false));
        assert_eq!(lenient_i64("-205065680"), (-205065680, true));
        assert_eq!(lenient_i64("7"), (7, true));
        assert_eq!(lenient_i64("- 7"), (-7, false));
        assert_eq!(lenient_i64("-99999999999999999999"), (-i64::MAX, false));
    }
}
