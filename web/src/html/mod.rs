//! HTML pages (maud: every interpolated value is escaped, so text from gmetad can only ever
//! come out as text). No script and no inline style: the pages work under a CSP of
//! `default-src 'none'`; sorting and ranges are links, auto-refresh is a meta refresh.

pub mod cluster;
pub mod grid;
pub mod host;
pub mod misc;

use crate::range::{NAMED, Range};
use maud::{DOCTYPE, Markup, html};

/// Percent-encode a name for a URL path segment or query value (RFC 3986 unreserved kept).
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Per-request view settings carried into every link.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// Time range.
    pub range: Range,
    /// Auto-refresh seconds (0: off).
    pub refresh: u32,
    /// "now" (epoch seconds), for custom-range bounds.
    pub now: u64,
}

impl Ctx {
    /// `r=…&refresh=…` for links.
    pub fn q(&self) -> String {
        format!("{}&refresh={}", self.range.query(), self.refresh)
    }
}

/// URL of a view.
pub fn cluster_url(c: &str) -> String {
    format!("/c/{}", enc(c))
}

/// URL of a host view.
pub fn host_url(c: &str, h: &str) -> String {
    format!("/c/{}/h/{}", enc(c), enc(h))
}

/// URL of the metric-across-hosts view.
pub fn metric_url(c: &str, m: &str) -> String {
    format!("/c/{}/m/{}", enc(c), enc(m))
}

/// Graph selector: scope (cluster, host) and what (report `g` or metric `m`).
#[derive(Debug, Clone, Copy)]
pub struct G<'a> {
    /// Cluster (None: the whole grid).
    pub c: Option<&'a str>,
    /// Host.
    pub h: Option<&'a str>,
    /// Report name (`load_report`, ...).
    pub g: Option<&'a str>,
    /// Metric name.
    pub m: Option<&'a str>,
}

/// URL of a graph or its data (`ext`: png, svg, csv, json).
pub fn graph_url(sel: G<'_>, ctx: &Ctx, size: &str, ext: &str) -> String {
    let mut q = String::new();
    for (k, v) in [("c", sel.c), ("h", sel.h), ("g", sel.g), ("m", sel.m)] {
        if let Some(v) = v {
            q.push_str(&format!("{k}={}&", enc(v)));
        }
    }
    format!("/graph.{ext}?{q}{}&z={size}", ctx.range.query())
}

/// A graph image linking to its large version, with data links under it.
pub fn graph(sel: G<'_>, ctx: &Ctx, size: &str, alt: &str) -> Markup {
    html! {
        figure.graph {
            a href=(graph_url(sel, ctx, "large", "png")) {
                img src=(graph_url(sel, ctx, size, "png")) alt=(alt) loading="lazy";
            }
            figcaption {
                a href=(graph_url(sel, ctx, size, "svg")) { "svg" } " "
                a href=(graph_url(sel, ctx, size, "csv")) { "csv" } " "
                a href=(graph_url(sel, ctx, size, "json")) { "json" }
            }
        }
    }
}

/// The range and refresh selectors for the page at `base` (`extra`: other query pairs).
fn controls(base: &str, extra: &str, ctx: &Ctx) -> Markup {
    let link = |r: &str, refresh: u32| format!("{base}?{extra}r={r}&refresh={refresh}");
    html! {
        nav.controls {
            span { "Range: " }
            @for (n, _) in NAMED {
                @if ctx.range.name() == *n {
                    strong { (n) } " "
                } @else {
                    a href=(link(n, ctx.refresh)) { (n) } " "
                }
            }
            form.custom method="get" action=(base) {
                input type="hidden" name="r" value="custom";
                input type="hidden" name="refresh" value=(ctx.refresh);
                label { "from " input type="number" name="cs" placeholder="epoch s" required; }
                label { " to " input type="number" name="ce" placeholder="epoch s"; }
                button type="submit" { "custom" }
            }
            span { " Refresh: " }
            @for s in [0u32, 30, 60, 300] {
                @let label = if s == 0 { "off".to_string() } else { format!("{s}s") };
                @if ctx.refresh == s {
                    strong { (label) } " "
                } @else {
                    a href=(format!("{base}?{extra}{}&refresh={s}", ctx.range.query())) { (label) } " "
                }
            }
        }
    }
}

/// A whole page.
pub fn page(
    title: &str,
    crumbs: &[(String, String)],
    base: &str,
    extra: &str,
    ctx: &Ctx,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                @if ctx.refresh > 0 {
                    meta http-equiv="refresh" content=(ctx.refresh);
                }
                title { (title) " - gweb-rs" }
                link rel="stylesheet" href="/static/gweb.css";
            }
            body {
                header {
                    a.brand href="/" { "Ganglia" }
                    nav.crumbs {
                        a href=(format!("/?{}", ctx.q())) { "Grid" }
                        @for (label, url) in crumbs {
                            " › " a href=(format!("{url}?{}", ctx.q())) { (label) }
                        }
                    }
                    nav.links {
                        a href=(format!("/relay?{}", ctx.q())) { "Relays" } " "
                        form.search method="get" action="/search" {
                            input type="search" name="q" placeholder="host or metric";
                            button type="submit" { "Search" }
                        }
                    }
                }
                (controls(base, extra, ctx))
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page for an error status.
pub fn error_page(status: u16, message: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (status) " - gweb-rs" }
                link rel="stylesheet" href="/static/gweb.css";
            }
            body {
                header { a.brand href="/" { "Ganglia" } }
                main { h1 { (status) } p.error { (message) } }
            }
        }
    }
}

/// Seconds as "3m 20s" style text.
pub fn ago(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_encoded_and_escaped() {
        assert_eq!(enc("a b/<c>\"'&"), "a%20b%2F%3Cc%3E%22%27%26");
        assert_eq!(host_url("lab", "x/../y"), "/c/lab/h/x%2F..%2Fy");
        let m = html! { p { ("<script>\"'&") } };
        assert_eq!(m.into_string(), "<p>&lt;script&gt;&quot;'&amp;</p>");
    }
}
