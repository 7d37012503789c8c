//! A streaming, tolerant reader for gmond and gmetad documents (quick-xml underneath).
//!
//! Tolerance is per element: a HOST with a bad attribute, a missing NAME or broken markup
//! inside it is dropped and reported, and the other hosts of the document are kept (3.7.2's
//! expat parse lost the whole source, issue #251). After broken markup the reader resynchronises
//! at the next tag that starts a line (gmond and gmetad write one tag per line), and a HOST,
//! CLUSTER or GRID that starts while a HOST (or CLUSTER) is still open closes the unclosed one.
//! A truncated document keeps every element completed before the cut.
//!
//! Input may be gzip-compressed (1f 8b; decompressed up to [`ReadLimits::max_bytes`]) and may
//! start with an HTTP response header (gmetad's interactive port). Encoding: each attribute value
//! is taken as UTF-8 when it is valid UTF-8 and as ISO-8859-1 (the DTD's declared encoding)
//! otherwise, so both real-world variants read correctly without a whole-document conversion.
//! Attribute values are unescaped leniently, because gmetad 3.7.2 re-emits unescaped values
//! such as `a <&> b`. Numeric attributes that are not plain non-negative integers keep their
//! element (leading digits are used, else 0) and are reported as a [`Problem`]. The DTD's
//! default `SOURCE="gmond"` for METRIC and METRICS is applied when the attribute is absent.

use super::build::Builder;
use quick_xml::Reader;
use quick_xml::errors::Error as QxError;
use quick_xml::events::{BytesStart, Event};
use std::borrow::Cow;
use std::io::Read as _;

use super::model::Document;

/// Bounds applied while reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Largest (decompressed) document accepted; larger input is refused before parsing, and
    /// gzip input stops decompressing one byte past it, so memory stays bounded.
    pub max_bytes: usize,
    /// Deepest element nesting accepted (a Ganglia document needs 6 plus one per nested GRID).
    pub max_depth: usize,
    /// Longest attribute value accepted (raw bytes); an element with a longer one is skipped.
    pub max_attr_len: usize,
    /// Most recoverable problems recorded before giving up on the rest of the document.
    pub max_problems: usize,
}

impl Default for ReadLimits {
    /// 512 MiB, depth 64, 64 KiB per attribute value, 1000 problems.
    fn default() -> Self {
        ReadLimits {
            max_bytes: 512 << 20,
            max_depth: 64,
            max_attr_len: 64 << 10,
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
        /// Byte offset of the element that went too deep.
        offset: u64,
        /// The limit.
        max: usize,
    },
    /// No GANGLIA_XML element was found.
    #[error("xml error: no GANGLIA_XML element (at byte {offset}: {reason})")]
    NotGanglia {
        /// Byte offset of the first problem (0 for an empty document).
        offset: u64,
        /// The first problem met, or "empty document".
        reason: String,
    },
}

/// A recoverable problem: what was skipped or repaired, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Byte offset in the (decompressed, header-stripped) document.
    pub offset: u64,
    /// Description, naming the element concerned.
    pub message: String,
}

/// The result of a read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReadOutcome {
    /// Everything that was read.
    pub doc: Document,
    /// Elements skipped or repaired, and why.
    pub problems: Vec<Problem>,
    /// Whether the document ended properly (false: truncated or abandoned).
    pub complete: bool,
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

/// Decompress, bound and strip an HTTP header; borrows the input when it can.
fn prepare<'a>(bytes: &'a [u8], limits: &ReadLimits) -> Result<Cow<'a, [u8]>, XmlError> {
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
        let skip = out.len() - skip_http(&out).len();
        out.drain(..skip);
        return Ok(Cow::Owned(out));
    }
    if bytes.len() > limits.max_bytes {
        return Err(XmlError::TooLarge {
            limit: limits.max_bytes,
        });
    }
    Ok(Cow::Borrowed(skip_http(bytes)))
}

fn new_reader(data: &[u8]) -> Reader<&[u8]> {
    let mut reader = Reader::from_reader(data);
    let cfg = reader.config_mut();
    cfg.check_end_names = false;
    cfg.allow_unmatched_ends = true;
    cfg.check_comments = false;
    cfg.trim_text(true);
    reader
}

/// Index of the first '<' outside quotes in a tag's content: broken markup, since quick-xml
/// took a following tag as part of this one.
fn unquoted_lt(content: &[u8]) -> Option<usize> {
    // Fast path (memchr): well-formed Ganglia tags have no '<' at all.
    if !content.contains(&b'<') {
        return None;
    }
    let mut quote = None;
    for (i, &c) in content.iter().enumerate() {
        match (quote, c) {
            (None, b'"' | b'\'') => quote = Some(c),
            (None, b'<') => return Some(i),
            (Some(q), _) if q == c => quote = None,
            _ => {}
        }
    }
    None
}

/// Where broken markup at `tag_at` ends: the next tag, preferring one that starts a line.
fn resync_point(data: &[u8], tag_at: usize, content: &[u8]) -> Option<usize> {
    if let Some(i) = unquoted_lt(content) {
        return Some(tag_at + 1 + i);
    }
    let from = (tag_at + 1).min(data.len());
    data[from..]
        .windows(2)
        .position(|w| w == b"\n<")
        .map(|p| from + p + 1)
}

/// Read a gmond or gmetad document.
///
/// Fails only when the input is unusable as a whole (too large, bad gzip, too deeply nested,
/// or no `GANGLIA_XML` element); everything else is reported in [`ReadOutcome::problems`].
/// Never panics.
pub fn read(bytes: &[u8], limits: &ReadLimits) -> Result<ReadOutcome, XmlError> {
    let data = prepare(bytes, limits)?;
    let data: &[u8] = &data;
    if let Some(doc) = super::fast::read(data, limits) {
        return Ok(ReadOutcome {
            doc,
            problems: Vec::new(),
            complete: true,
        });
    }
    read_tolerant(data, limits)
}

/// The tolerant reader proper (documents the fast path declined).
pub(super) fn read_tolerant(data: &[u8], limits: &ReadLimits) -> Result<ReadOutcome, XmlError> {
    let mut b = Builder::new(limits.max_attr_len);
    let mut base = 0usize;
    let mut reader = new_reader(data);
    let mut complete = false;
    let mut last_err_pos = u64::MAX;
    while b.problems.len() < limits.max_problems {
        let pre = base + reader.buffer_position() as usize;
        let event = reader.read_event();
        // Start of the markup just read (text events are trimmed, so skip blanks).
        let tag_at = pre
            + data.get(pre..).map_or(0, |d| {
                d.iter().take_while(|c| c.is_ascii_whitespace()).count()
            });
        let offset = tag_at as u64;
        let (e, empty): (BytesStart<'_>, bool) = match event {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::End(e)) => {
                b.end(e.name().into_inner(), offset);
                continue;
            }
            Ok(Event::Eof) => {
                complete = b.stack.is_empty() && b.saw_root;
                break;
            }
            Ok(_) => continue,
            Err(err) => {
                let pos = base as u64 + reader.error_position();
                b.spoil_host();
                b.problem(pos, format!("malformed markup: {err}"));
                if let QxError::Syntax(_) = err {
                    // quick-xml consumed the rest of the input looking for the end of this
                    // markup (an unbalanced quote, an unclosed comment): restart after it.
                    match resync_point(data, pos as usize, b"") {
                        Some(at) => {
                            base = at;
                            reader = new_reader(&data[at..]);
                            continue;
                        }
                        None => break,
                    }
                }
                if pos == last_err_pos {
                    break;
                }
                last_err_pos = pos;
                continue;
            }
        };
        if b.stack.len() >= limits.max_depth {
            return Err(XmlError::TooDeep {
                offset,
                max: limits.max_depth,
            });
        }
        let content: &[u8] = &e;
        let broken = unquoted_lt(content).is_some()
            || (content.contains(&b'\n') && e.attributes().with_checks(false).any(|a| a.is_err()));
        if broken && data.get(tag_at) == Some(&b'<') {
            if let Some(at) = resync_point(data, tag_at, content) {
                let name = String::from_utf8_lossy(e.name().into_inner()).into_owned();
                b.spoil_host();
                b.problem(
                    offset,
                    format!("malformed tag <{name} ...> skipped up to byte {at}"),
                );
                base = at;
                reader = new_reader(&data[at..]);
                continue;
            }
        }
        if b.start(&e, offset) && empty {
            b.pop();
        }
    }
    if !complete {
        b.finish_truncated((base + reader.buffer_position() as usize) as u64);
    }
    if !b.saw_root {
        let (offset, reason) = b.problems.first().map_or_else(
            || (0, "empty document".to_owned()),
            |p| (p.offset, p.message.clone()),
        );
        return Err(XmlError::NotGanglia { offset, reason });
    }
    Ok(ReadOutcome {
        doc: b.doc,
        problems: b.problems,
        complete,
    })
}
