//! The fast path of [`super::read`]: a strict single-pass scanner for documents exactly as gmond
//! and gmetad write them (known elements in their DTD places, double-quoted attributes, clean
//! numbers, nothing to report). It builds the same [`Document`] the tolerant builder would, with
//! one pass over each tag's attributes and no per-element allocations beyond the long strings
//! kept: text up to 23 bytes lives inline in its [`SmolStr`], a long value repeated in the
//! document (same raw bytes) is shared, and an EXTRA_DATA block whose bytes repeat one read
//! before (usually the same metric of the previous host) is not parsed again: its list is
//! shared.
//! Anything unusual (a comment inside the tree, an unknown element, a bad number, text, a
//! truncated document, a value over the length limit) makes it give up, and the tolerant reader
//! reads the document instead, so results and problem reports never differ.

use super::build::{decode, lenient_i64, lenient_u64};
use super::escape::unescape;
use super::intern::{INLINE, MAX_ENTRIES, remember};
use super::model::{
    Cluster, Document, Extra, Grid, Host, Metric, SmolStr, Source, Summary, SummaryMetric, no_extra,
};
use super::read::ReadLimits;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// Most attributes a tag may have on the fast path (METRIC has 9).
const MAX_ATTRS: usize = 16;

/// One start tag: its name, raw attribute (key, value) pairs in order, and whether it is empty.
struct Tag<'a> {
    name: &'a [u8],
    attrs: [(&'a [u8], &'a [u8]); MAX_ATTRS],
    len: usize,
    empty: bool,
}

impl<'a> Tag<'a> {
    fn attrs(&self) -> &[(&'a [u8], &'a [u8])] {
        &self.attrs[..self.len]
    }
}

/// An open element.
enum Open {
    Root,
    Grid(Grid),
    Cluster(Cluster),
    Host(Host),
    Metric(Metric),
    SummaryMetric(SummaryMetric),
    /// EXTRA_DATA: where its content starts, how many pairs the open metric had before it,
    /// and the metric's place in its HOST (for [`Extras::by_slot`]).
    ExtraData {
        start: usize,
        before: usize,
        slot: Option<usize>,
    },
    /// HOSTS, EXTRA_ELEMENT: nothing to build.
    Leaf(&'static [u8]),
}

impl Open {
    fn name(&self) -> &'static [u8] {
        match self {
            Open::Root => b"GANGLIA_XML",
            Open::Grid(_) => b"GRID",
            Open::Cluster(_) => b"CLUSTER",
            Open::Host(_) => b"HOST",
            Open::Metric(_) => b"METRIC",
            Open::SummaryMetric(_) => b"METRICS",
            Open::ExtraData { .. } => b"EXTRA_DATA",
            Open::Leaf(n) => n,
        }
    }
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

fn is_name(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b':' | b'-' | b'.')
}

/// A byte scanner over the document.
struct Scan<'a> {
    d: &'a [u8],
    at: usize,
}

impl<'a> Scan<'a> {
    fn skip_ws(&mut self) {
        while self.d.get(self.at).is_some_and(|&c| is_ws(c)) {
            self.at += 1;
        }
    }

    /// Skip past the next `pat`.
    fn past(&mut self, pat: &[u8]) -> Option<()> {
        let i = memchr::memmem::find(&self.d[self.at..], pat)?;
        self.at += i + pat.len();
        Some(())
    }

    /// What may come before the root: 3.7.2's exact DTD (with its XML declaration), or just an
    /// XML declaration. Any other DOCTYPE, or a comment, is left to the tolerant reader.
    fn prolog(&mut self) -> Option<()> {
        self.skip_ws();
        let rest = &self.d[self.at..];
        if rest.starts_with(super::dtd::DTD.as_bytes()) {
            self.at += super::dtd::DTD.len();
        } else if rest.starts_with(b"<?xml ") {
            self.past(b"?>")?;
        }
        self.skip_ws();
        Some(())
    }

    fn name(&mut self) -> &'a [u8] {
        let start = self.at;
        while self.d.get(self.at).is_some_and(|&c| is_name(c)) {
            self.at += 1;
        }
        &self.d[start..self.at]
    }

    /// A start tag into `tag` (reused: it is large); `self.at` is just past its '<'.
    fn start_tag(&mut self, tag: &mut Tag<'a>, max_attr_len: usize) -> Option<()> {
        tag.name = self.name();
        tag.len = 0;
        tag.empty = false;
        loop {
            let before = self.at;
            self.skip_ws();
            match *self.d.get(self.at)? {
                b'>' => {
                    self.at += 1;
                    return Some(());
                }
                b'/' if self.d.get(self.at + 1) == Some(&b'>') => {
                    self.at += 2;
                    tag.empty = true;
                    return Some(());
                }
                _ if self.at == before || tag.len == MAX_ATTRS => return None,
                _ => {}
            }
            let key = self.name();
            if key.is_empty() || self.d.get(self.at..self.at + 2)? != b"=\"" {
                return None;
            }
            self.at += 2;
            // Values are short: a plain loop beats memchr's set-up.
            let len = self.d[self.at..].iter().position(|&c| c == b'"')?;
            if len > max_attr_len {
                return None;
            }
            tag.attrs[tag.len] = (key, &self.d[self.at..self.at + len]);
            tag.len += 1;
            self.at += len + 1;
        }
    }
}

/// Attribute text as the tolerant reader produces it.
fn decoded(v: &[u8]) -> Cow<'_, str> {
    // The usual value: ASCII without references.
    if v.iter().all(|&c| c.is_ascii() && c != b'&') {
        if let Ok(s) = std::str::from_utf8(v) {
            return Cow::Borrowed(s);
        }
    }
    match decode(v) {
        Cow::Borrowed(s) => unescape(s),
        Cow::Owned(s) => Cow::Owned(unescape(&s).into_owned()),
    }
}

/// Long values of this document by their raw bytes, so a repeat is a reference-count bump.
#[derive(Default)]
struct Strings<'a>(HashMap<&'a [u8], SmolStr>);

impl<'a> Strings<'a> {
    fn text(&mut self, v: &'a [u8]) -> SmolStr {
        if v.len() <= INLINE {
            return SmolStr::new(decoded(v));
        }
        if let Some(s) = self.0.get(v) {
            return s.clone();
        }
        let s = SmolStr::new(decoded(v));
        remember(&mut self.0, v, s.clone());
        s
    }
}

/// What closes an EXTRA_DATA.
const END_EXTRA: &[u8] = b"</EXTRA_DATA>";

/// The EXTRA_ELEMENT pairs of the open METRIC or METRICS (the fast path never has two open),
/// and the EXTRA_DATA blocks read so far, for sharing.
struct Extras<'a> {
    /// A shared list leading the open metric's pairs.
    shared: Option<Extra>,
    /// The open metric's pairs after `shared`.
    pairs: Vec<(SmolStr, SmolStr)>,
    /// Content and list of the EXTRA_DATA of the i-th METRIC of the last HOST that had one:
    /// hosts list their metrics in the same order, so this usually is the next block.
    by_slot: Vec<(&'a [u8], Extra)>,
    /// Every EXTRA_DATA content read, by its bytes.
    blocks: HashMap<&'a [u8], Extra>,
    /// Finds [`END_EXTRA`].
    end: memchr::memmem::Finder<'static>,
}

impl<'a> Extras<'a> {
    fn new() -> Self {
        Extras {
            shared: None,
            pairs: Vec::new(),
            by_slot: Vec::new(),
            blocks: HashMap::new(),
            end: memchr::memmem::Finder::new(END_EXTRA),
        }
    }

    /// If the EXTRA_DATA content starting `rest` has the bytes of one read before: its length
    /// and list. The same bytes read the same way, so the block need not be read again.
    fn seen(&mut self, rest: &'a [u8], slot: Option<usize>) -> Option<(usize, Extra)> {
        if let Some((b, x)) = slot.and_then(|i| self.by_slot.get(i)) {
            if rest.starts_with(b) && rest[b.len()..].starts_with(END_EXTRA) {
                return Some((b.len(), x.clone()));
            }
        }
        let end = self.end.find(rest)?;
        let x = self.blocks.get(&rest[..end])?.clone();
        self.at_slot(slot, &rest[..end], &x);
        Some((end, x))
    }

    /// Remember `block` as the EXTRA_DATA of the metric at `slot` of its HOST.
    fn at_slot(&mut self, slot: Option<usize>, block: &'a [u8], x: &Extra) {
        match slot {
            Some(i) if i < self.by_slot.len() => self.by_slot[i] = (block, x.clone()),
            Some(i) if i == self.by_slot.len() && i < MAX_ENTRIES => {
                self.by_slot.push((block, x.clone()))
            }
            _ => {}
        }
    }

    /// A block's list (from [`Self::seen`]) joins the open metric's pairs.
    fn add_shared(&mut self, x: Extra) {
        if self.shared.is_none() && self.pairs.is_empty() {
            self.shared = Some(x);
        } else {
            self.pairs.extend(x.iter().cloned());
        }
    }

    /// An EXTRA_DATA was read to its end: remember its content `block` with the pairs it added
    /// (those after the first `before`).
    fn read_block(&mut self, block: &'a [u8], before: usize, slot: Option<usize>) {
        let x: Extra = match &self.pairs[before..] {
            [] => no_extra(),
            p => Arc::from(p),
        };
        if before == 0 && self.shared.is_none() {
            self.pairs.clear();
            self.shared = Some(x.clone());
        }
        self.at_slot(slot, block, &x);
        remember(&mut self.blocks, block, x);
    }

    /// The open metric's list; the state is left empty for the next metric.
    fn take(&mut self) -> Extra {
        match (self.shared.take(), self.pairs.is_empty()) {
            (Some(x), true) => x,
            (None, true) => no_extra(),
            (x, false) => x
                .iter()
                .flat_map(|x| x.iter().cloned())
                .chain(self.pairs.drain(..))
                .collect(),
        }
    }
}

/// A numeric attribute that needs no repair (else the tolerant reader must report it).
fn num(v: &[u8]) -> Option<u64> {
    if !v.is_empty() && v.len() < 20 && v.iter().all(u8::is_ascii_digit) {
        return Some(v.iter().fold(0, |n, &c| n * 10 + u64::from(c - b'0')));
    }
    let (n, clean) = lenient_u64(&decoded(v));
    clean.then_some(n)
}

fn signed(v: &[u8]) -> Option<i64> {
    let (n, clean) = lenient_i64(&decoded(v));
    clean.then_some(n)
}

/// Calls `f(index, value)` for the first occurrence of each of `keys` (the tolerant reader's
/// first-wins lookup). `keys` are in the order gmond and gmetad write them, so the n-th
/// attribute is tried against the n-th key first.
fn fields<'a>(
    tag: &Tag<'a>,
    keys: &[&[u8]],
    mut f: impl FnMut(usize, &'a [u8]) -> Option<()>,
) -> Option<u32> {
    let mut seen = 0u32;
    for (n, &(k, v)) in tag.attrs().iter().enumerate() {
        let at = match keys.get(n) {
            Some(&x) if x == k => Some(n),
            _ => keys.iter().position(|&x| x == k),
        };
        if let Some(i) = at {
            if seen & (1 << i) == 0 {
                seen |= 1 << i;
                f(i, v)?;
            }
        }
    }
    Some(seen)
}

fn unspecified(seen: u32, bit: usize, s: &mut SmolStr) {
    if seen & (1 << bit) == 0 {
        *s = SmolStr::new_inline("unspecified");
    }
}

/// Capacity hint: hosts of one source tend to have the same number of metrics.
#[derive(Default)]
struct Hints {
    metrics: usize,
}

fn open<'a>(tag: &Tag<'a>, stack: &[Open], hints: &Hints, st: &mut Strings<'a>) -> Option<Open> {
    Some(match (tag.name, stack.last()) {
        (b"GRID", Some(Open::Root | Open::Grid(_))) => {
            let mut g = Grid::default();
            fields(tag, &[b"NAME", b"AUTHORITY", b"LOCALTIME"], |i, v| {
                match i {
                    0 => g.name = st.text(v),
                    1 => g.authority = st.text(v),
                    _ => g.localtime = num(v)?,
                }
                Some(())
            })?;
            Open::Grid(g)
        }
        (b"CLUSTER", Some(Open::Root | Open::Grid(_))) => {
            let mut c = Cluster::default();
            let seen = fields(
                tag,
                &[b"NAME", b"LOCALTIME", b"OWNER", b"LATLONG", b"URL"],
                |i, v| {
                    match i {
                        0 => c.name = st.text(v),
                        1 => c.localtime = num(v)?,
                        2 => c.owner = st.text(v),
                        3 => c.latlong = st.text(v),
                        _ => c.url = st.text(v),
                    }
                    Some(())
                },
            )?;
            unspecified(seen, 2, &mut c.owner);
            unspecified(seen, 3, &mut c.latlong);
            unspecified(seen, 4, &mut c.url);
            Open::Cluster(c)
        }
        (b"HOST", Some(Open::Root | Open::Cluster(_))) => {
            let mut h = Host {
                metrics: Vec::with_capacity(hints.metrics),
                ..Host::default()
            };
            let keys: [&[u8]; 9] = [
                b"NAME",
                b"IP",
                b"TAGS",
                b"REPORTED",
                b"TN",
                b"TMAX",
                b"DMAX",
                b"LOCATION",
                b"GMOND_STARTED",
            ];
            fields(tag, &keys, |i, v| {
                match i {
                    0 => h.name = st.text(v),
                    1 => h.ip = st.text(v),
                    2 => h.tags = Some(st.text(v)),
                    3 => h.reported = num(v)?,
                    4 => h.tn = num(v)?,
                    5 => h.tmax = num(v)?,
                    6 => h.dmax = num(v)?,
                    7 => h.location = Some(st.text(v)),
                    _ => h.gmond_started = signed(v)?,
                }
                Some(())
            })?;
            if h.name.is_empty() {
                return None;
            }
            Open::Host(h)
        }
        (b"METRIC", Some(Open::Host(_))) => {
            let mut m = Metric::default();
            let keys: [&[u8]; 9] = [
                b"NAME", b"VAL", b"TYPE", b"UNITS", b"TN", b"TMAX", b"DMAX", b"SLOPE", b"SOURCE",
            ];
            let seen = fields(tag, &keys, |i, v| {
                match i {
                    0 => m.name = st.text(v),
                    1 => m.val = st.text(v),
                    2 => m.metric_type = st.text(v),
                    3 => m.units = st.text(v),
                    4 => m.tn = num(v)?,
                    5 => m.tmax = num(v)?,
                    6 => m.dmax = num(v)?,
                    7 => m.slope = st.text(v),
                    _ => m.source = st.text(v),
                }
                Some(())
            })?;
            if m.name.is_empty() {
                return None;
            }
            if seen & (1 << 8) == 0 {
                m.source = SmolStr::new_inline("gmond");
            }
            Open::Metric(m)
        }
        (b"METRICS", Some(Open::Grid(_) | Open::Cluster(_))) => {
            let mut m = SummaryMetric::default();
            let keys: [&[u8]; 7] = [
                b"NAME", b"SUM", b"NUM", b"TYPE", b"UNITS", b"SLOPE", b"SOURCE",
            ];
            let seen = fields(tag, &keys, |i, v| {
                match i {
                    0 => m.name = st.text(v),
                    1 => m.sum = st.text(v),
                    2 => m.num = num(v)?,
                    3 => m.metric_type = st.text(v),
                    4 => m.units = st.text(v),
                    5 => m.slope = st.text(v),
                    _ => m.source = st.text(v),
                }
                Some(())
            })?;
            if seen & (1 << 6) == 0 {
                m.source = SmolStr::new_inline("gmond");
            }
            Open::SummaryMetric(m)
        }
        (b"HOSTS", Some(Open::Grid(_) | Open::Cluster(_))) => Open::Leaf(b"HOSTS"),
        (b"EXTRA_DATA", Some(Open::Metric(_) | Open::SummaryMetric(_))) => {
            let slot = match stack.len().checked_sub(2).map(|i| &stack[i]) {
                Some(Open::Host(h)) => Some(h.metrics.len()),
                _ => None,
            };
            Open::ExtraData {
                start: 0,
                before: 0,
                slot,
            }
        }
        (b"EXTRA_ELEMENT", Some(Open::ExtraData { .. })) => Open::Leaf(b"EXTRA_ELEMENT"),
        _ => return None,
    })
}

fn summary_of(o: &mut Open) -> Option<&mut Summary> {
    match o {
        Open::Grid(g) => Some(g.summary.get_or_insert_with(Summary::default)),
        Open::Cluster(c) => Some(c.summary.get_or_insert_with(Summary::default)),
        _ => None,
    }
}

/// Work a tag with side effects on its ancestors (HOSTS counts, EXTRA_ELEMENT pairs) into them;
/// called before the tag's own element is pushed.
fn side_effects<'a>(
    tag: &Tag<'a>,
    stack: &mut [Open],
    st: &mut Strings<'a>,
    extras: &mut Extras<'a>,
) -> Option<()> {
    match tag.name {
        b"HOSTS" => {
            let (mut up, mut down) = (0, 0);
            fields(tag, &[b"UP", b"DOWN"], |i, v| {
                *(if i == 0 { &mut up } else { &mut down }) = num(v)?;
                Some(())
            })?;
            let s = summary_of(stack.last_mut()?)?; // the parent: called before the push
            s.hosts_up = up;
            s.hosts_down = down;
        }
        b"EXTRA_ELEMENT" => {
            let (mut k, mut v) = (SmolStr::default(), SmolStr::default());
            fields(tag, &[b"NAME", b"VAL"], |i, x| {
                *(if i == 0 { &mut k } else { &mut v }) = st.text(x);
                Some(())
            })?;
            match stack.len().checked_sub(2).map(|i| &stack[i])? {
                Open::Metric(_) | Open::SummaryMetric(_) => extras.pairs.push((k, v)),
                _ => return None,
            }
        }
        _ => {}
    }
    Some(())
}

/// Close the top element, attaching it to its parent; `end` is where its end tag starts
/// (`None` for an empty element).
fn close<'a>(
    stack: &mut Vec<Open>,
    doc: &mut Document,
    hints: &mut Hints,
    extras: &mut Extras<'a>,
    d: &'a [u8],
    end: Option<usize>,
) -> Option<()> {
    let top = stack.pop()?;
    let parent = stack.last_mut();
    match (top, parent) {
        (Open::Metric(mut m), Some(Open::Host(h))) => {
            m.extra = extras.take();
            h.metrics.push(m);
        }
        (Open::SummaryMetric(mut m), Some(p)) => {
            m.extra = extras.take();
            summary_of(p)?.metrics.push(m);
        }
        (
            Open::ExtraData {
                start,
                before,
                slot,
            },
            _,
        ) => {
            if let Some(end) = end {
                extras.read_block(d.get(start..end)?, before, slot);
            }
        }
        (Open::Host(h), Some(Open::Cluster(c))) => {
            hints.metrics = h.metrics.len();
            c.hosts.push(h);
        }
        (Open::Host(h), Some(Open::Root)) => doc.hosts.push(h),
        (Open::Cluster(c), Some(Open::Grid(g))) => g.clusters.push(c),
        (Open::Cluster(c), Some(Open::Root)) => doc.clusters.push(c),
        (Open::Grid(g), Some(Open::Grid(p))) => p.grids.push(g),
        (Open::Grid(g), Some(Open::Root)) => doc.grids.push(g),
        (Open::Root | Open::Leaf(_), _) => {}
        _ => return None,
    }
    Some(())
}

/// Read a well-formed document (already decompressed and stripped of any HTTP header), or
/// `None` when the tolerant reader has to.
pub(super) fn read(data: &[u8], limits: &ReadLimits) -> Option<Document> {
    let mut s = Scan { d: data, at: 0 };
    s.prolog()?;
    if !s.d[s.at..].starts_with(b"<GANGLIA_XML") {
        return None;
    }
    s.at += 1;
    let mut root = Tag {
        name: &[],
        attrs: [(&[][..], &[][..]); MAX_ATTRS],
        len: 0,
        empty: false,
    };
    s.start_tag(&mut root, limits.max_attr_len)?;
    if root.name != b"GANGLIA_XML" {
        return None;
    }
    let mut st = Strings::default();
    let mut extras = Extras::new();
    let mut doc = Document::default();
    let (mut version, mut source) = (SmolStr::default(), SmolStr::default());
    fields(&root, &[b"VERSION", b"SOURCE"], |i, v| {
        *(if i == 0 { &mut version } else { &mut source }) = st.text(v);
        Some(())
    })?;
    doc.version = version;
    doc.source = if source == "gmetad" {
        Source::Gmetad
    } else {
        Source::Gmond
    };
    if root.empty {
        s.skip_ws();
        return (s.at == s.d.len()).then_some(doc);
    }
    let mut stack = vec![Open::Root];
    let mut hints = Hints::default();
    let mut tag = root;
    while !stack.is_empty() {
        s.skip_ws();
        if s.d.get(s.at) != Some(&b'<') {
            return None;
        }
        let lt = s.at;
        s.at += 1;
        if s.d.get(s.at) == Some(&b'/') {
            s.at += 1;
            let name = s.name();
            if s.d.get(s.at) != Some(&b'>') || name != stack.last()?.name() {
                return None;
            }
            s.at += 1;
            close(
                &mut stack,
                &mut doc,
                &mut hints,
                &mut extras,
                data,
                Some(lt),
            )?;
            continue;
        }
        if stack.len() >= limits.max_depth {
            return None;
        }
        s.start_tag(&mut tag, limits.max_attr_len)?;
        let mut node = open(&tag, &stack, &hints, &mut st)?;
        if let Open::ExtraData {
            start,
            before,
            slot,
        } = &mut node
        {
            *start = s.at;
            *before = extras.pairs.len();
            // A block read before (at a depth where its EXTRA_ELEMENTs fit, as they do here).
            if !tag.empty && stack.len() + 1 < limits.max_depth {
                if let Some((len, x)) = extras.seen(&data[s.at..], *slot) {
                    s.at += len + END_EXTRA.len();
                    extras.add_shared(x);
                    continue;
                }
            }
        }
        side_effects(&tag, &mut stack[..], &mut st, &mut extras)?;
        stack.push(node);
        if tag.empty {
            close(&mut stack, &mut doc, &mut hints, &mut extras, data, None)?;
        }
    }
    s.skip_ws();
    (s.at == s.d.len()).then_some(doc)
}

#[cfg(test)]
mod tests {
    use super::super::read::read_tolerant;
    use super::*;
    use proptest::prelude::*;

    fn fixture(name: &str) -> Vec<u8> {
        let p = format!("{}/tests/data/xml/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(p).unwrap()
    }

    /// The gmond fixture with its first host repeated under another name (every EXTRA_DATA of
    /// the copy repeats one of the original): the copy's range, and the document.
    fn doubled() -> (std::ops::Range<usize>, Vec<u8>) {
        let d = String::from_utf8(fixture("gmond-8649.xml")).unwrap();
        let from = d.find("<HOST ").unwrap();
        let to = d.find("</HOST>\n").unwrap() + 8;
        let copy = d[from..to].replacen("NAME=\"localhost\"", "NAME=\"again\"", 1);
        let at = d.find("</CLUSTER>").unwrap();
        let out = format!("{}{copy}{}", &d[..at], &d[at..]);
        (at..at + copy.len(), out.into_bytes())
    }

    /// Whenever the fast path accepts, the tolerant reader reads the same, with nothing to report.
    fn agrees(data: &[u8]) -> bool {
        agrees_within(data, &ReadLimits::default())
    }

    fn agrees_within(data: &[u8], limits: &ReadLimits) -> bool {
        let limits = *limits;
        let Some(fast) = read(data, &limits) else {
            return false;
        };
        let slow = read_tolerant(data, &limits).expect("tolerant read of an accepted document");
        assert!(slow.complete, "fast path accepted a truncated document");
        assert_eq!(
            slow.problems,
            Vec::new(),
            "fast path accepted a document with problems"
        );
        assert_eq!(fast, slow.doc);
        true
    }

    #[test]
    fn captured_documents_take_the_fast_path() {
        for f in [
            "gmond-8649.xml",
            "gmetad-8651.xml",
            "gmetad-8652-summary.xml",
            "gmetad-8652-cluster-summary.xml",
            "gmetad-8652-host.xml",
        ] {
            assert!(agrees(&fixture(f)), "{f} fell back to the tolerant reader");
        }
    }

    #[test]
    fn unusual_documents_fall_back() {
        let doc = String::from_utf8(fixture("gmond-8649.xml")).unwrap();
        for (from, to) in [
            ("TN=\"", "TN=\"x"),                  // a number needing repair
            ("<HOST ", "<!-- c --><HOST "),       // a comment inside the tree
            ("<HOST ", "<HOST NAME=\"\" "),       // an empty NAME first (first wins)
            ("</HOST>", ""),                      // an unclosed HOST
            ("</CLUSTER>", "</CLUSTER>x"),        // text
            ("VAL=\"", "VAL='"),                  // single quotes
            ("<EXTRA_DATA>", "<EXTRA_DATA><Y/>"), // an unknown element
        ] {
            let bad = doc.replacen(from, to, 1);
            assert_ne!(bad, doc, "{from}");
            assert!(
                read(bad.as_bytes(), &ReadLimits::default()).is_none(),
                "{to}"
            );
        }
        assert!(read(&doc.as_bytes()[..doc.len() / 2], &ReadLimits::default()).is_none());
        let tight = ReadLimits {
            max_attr_len: 3,
            ..ReadLimits::default()
        };
        assert!(read(doc.as_bytes(), &tight).is_none());
    }

    #[test]
    fn entities_latin1_and_duplicates_read_as_the_tolerant_reader_does() {
        let doc = String::from_utf8(fixture("gmond-8649.xml")).unwrap();
        for (from, to) in [
            ("VAL=\"", "VAL=\"a &amp; &#233; &bogus; <&> "),
            ("<HOST NAME=\"", "<HOST TN=\"&#49;\" NAME=\"&lt;"),
            ("UNITS=\"", "UNITS=\"u\" UNITS=\"second"),
        ] {
            assert!(agrees(doc.replacen(from, to, 1).as_bytes()), "{to}");
        }
        let mut latin = doc.into_bytes();
        let at = memchr::memmem::find(&latin, b"VAL=\"").unwrap() + 5;
        latin[at] = 0xe9;
        assert!(agrees(&latin));
    }

    #[test]
    fn repeated_extra_data_and_long_values_are_shared() {
        let (_, d) = doubled();
        assert!(agrees(&d));
        let doc = read(&d, &ReadLimits::default()).unwrap();
        let hosts = &doc.clusters[0].hosts;
        let (a, b) = (&hosts[0], hosts.last().unwrap());
        assert_eq!((a.name.as_str(), b.name.as_str()), ("localhost", "again"));
        assert_eq!(a.metrics, b.metrics);
        for (x, y) in a.metrics.iter().zip(&b.metrics) {
            assert!(
                Arc::ptr_eq(&x.extra, &y.extra),
                "{}: one EXTRA_DATA list",
                x.name
            );
        }
        let long = |m: &Metric| {
            m.extra("DESC")
                .filter(|d| d.len() > INLINE)
                .map(str::as_ptr)
        };
        let shared = a.metrics.iter().filter_map(long).collect::<Vec<_>>();
        assert!(!shared.is_empty());
        assert_eq!(
            shared,
            b.metrics.iter().filter_map(long).collect::<Vec<_>>()
        );
        // The tolerant reader shares them too.
        let slow = read_tolerant(&d, &ReadLimits::default()).unwrap().doc;
        let hosts = &slow.clusters[0].hosts;
        let (a, b) = (&hosts[0], hosts.last().unwrap());
        for (x, y) in a.metrics.iter().zip(&b.metrics) {
            assert!(
                Arc::ptr_eq(&x.extra, &y.extra),
                "{}: one EXTRA_DATA list",
                x.name
            );
        }
    }

    #[test]
    fn unusual_extra_data_reads_as_the_tolerant_reader_does() {
        let (copy, d) = doubled();
        let d = String::from_utf8(d).unwrap();
        let (head, tail) = d.split_at(copy.start);
        let e = "<EXTRA_ELEMENT NAME=\"GROUP\" VAL=\"load\"/>\n";
        for (from, to) in [
            // A second block after a shared one, and before one.
            (
                "</EXTRA_DATA>\n</METRIC>",
                "</EXTRA_DATA>\n<EXTRA_DATA>\n<EXTRA_ELEMENT NAME=\"X\" VAL=\"y\"/>\n</EXTRA_DATA>\n</METRIC>",
            ),
            (
                "<EXTRA_DATA>",
                "<EXTRA_DATA>\n<EXTRA_ELEMENT NAME=\"X\" VAL=\"y\"/>\n</EXTRA_DATA>\n<EXTRA_DATA>",
            ),
            // A block of another metric, the end tag inside a value, an empty block.
            (e, "<EXTRA_ELEMENT NAME=\"GROUP\" VAL=\"cpu\"/>\n"),
            (e, "<EXTRA_ELEMENT NAME=\"GROUP\" VAL=\"</EXTRA_DATA>\"/>\n"),
            (
                "<EXTRA_DATA>",
                "<EXTRA_DATA></EXTRA_DATA><EXTRA_DATA/><EXTRA_DATA>",
            ),
        ] {
            let changed = tail.replace(from, to);
            assert_ne!(changed, tail, "{to}");
            assert!(agrees(format!("{head}{changed}").as_bytes()), "{to}");
        }
        // The same block deeper than a first one: it is read again, and the limit holds.
        let block = "<EXTRA_DATA>\n<EXTRA_ELEMENT NAME=\"GROUP\" VAL=\"g\"/>\n</EXTRA_DATA>\n";
        let metrics = format!(
            "<METRICS NAME=\"m\" SUM=\"1\" NUM=\"1\" TYPE=\"double\" UNITS=\"\" SLOPE=\"both\" SOURCE=\"gmond\">\n{block}</METRICS>\n"
        );
        let doc = format!(
            "<GANGLIA_XML VERSION=\"3.7.2\" SOURCE=\"gmetad\">\n<GRID NAME=\"a\" AUTHORITY=\"x\" LOCALTIME=\"1\">\n{metrics}<GRID NAME=\"b\" AUTHORITY=\"x\" LOCALTIME=\"1\">\n{metrics}</GRID>\n</GRID>\n</GANGLIA_XML>\n"
        );
        let limits = |max_depth| ReadLimits {
            max_depth,
            ..ReadLimits::default()
        };
        assert!(agrees_within(doc.as_bytes(), &limits(6)));
        assert!(read(doc.as_bytes(), &limits(5)).is_none());
    }

    proptest! {
        #[test]
        fn any_single_byte_change_in_a_repeated_host_is_read_alike_or_declined(at in 0usize..100_000, b in any::<u8>()) {
            let (copy, mut d) = doubled();
            let at = copy.start + at % copy.len();
            d[at] = b;
            let _ = agrees(&d);
        }

        #[test]
        fn any_single_byte_change_is_read_alike_or_declined(at in 0usize..100_000, b in any::<u8>()) {
            let mut d = fixture("gmond-8649.xml");
            let at = at % d.len();
            d[at] = b;
            let _ = agrees(&d);
        }

        #[test]
        fn any_cut_or_insertion_is_read_alike_or_declined(at in 0usize..100_000, ins in "[<>/\"= a-zA-Z&;#0-9\n]{0,6}") {
            let d = fixture("gmetad-8651.xml");
            let at = at % d.len();
            let mut e = d[..at].to_vec();
            e.extend_from_slice(ins.as_bytes());
            e.extend_from_slice(&d[at..]);
            let _ = agrees(&e);
            let _ = agrees(&d[..at]);
        }
    }
}
