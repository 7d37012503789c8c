//! The grid overview: every cluster (and child grid) with hosts up/down and its load graph, and
//! the grid's summary report graphs.

use super::{Ctx, G, cluster_url, graph, page};
use crate::graph::Report;
use ganglia_proto::xml::{Document, Summary};
use maud::{Markup, html};
use std::collections::HashSet;

fn counts(s: Option<&Summary>) -> (u64, u64) {
    s.map_or((0, 0), |s| (s.hosts_up, s.hosts_down))
}

/// The overview page from a `/?filter=summary` answer.
/// `reports`: the grid's report graphs that have files; `loaded`: clusters (and child grids)
/// whose load graph has files.
pub fn render(doc: &Document, reports: &[Report], loaded: &HashSet<String>, ctx: &Ctx) -> Markup {
    let grid = doc.grids.first();
    let name = grid.map_or("unspecified", |g| g.name.as_str());
    let (up, down) = counts(grid.and_then(|g| g.summary.as_ref()));
    let body = html! {
        section.summary {
            p {
                span.up { (up) " hosts up" } ", "
                span.down { (down) " hosts down" }
                @if let Some(g) = grid { ", localtime " (g.localtime) }
            }
            div.graphs {
                @for r in reports {
                    (graph(G { c: None, h: None, g: Some(r.name()), m: None }, ctx, "medium", r.name()))
                }
            }
        }
        section.clusters {
            h2 { "Clusters" }
            table.list {
                thead { tr { th { "Cluster" } th { "Hosts up" } th { "Hosts down" } th { "Load" } } }
                tbody {
                    @for c in grid.map(|g| g.clusters.as_slice()).unwrap_or_default() {
                        @let (u, d) = counts(c.summary.as_ref());
                        tr {
                            td { a href=(format!("{}?{}", cluster_url(&c.name), ctx.q())) { (c.name) } }
                            td.up { (u) }
                            td.down { (d) }
                            td { @if loaded.contains(c.name.as_str()) { (graph(G { c: Some(&c.name), h: None, g: Some("load_report"), m: None }, ctx, "small", "load")) } }
                        }
                    }
                    @for g in grid.map(|g| g.grids.as_slice()).unwrap_or_default() {
                        @let (u, d) = counts(g.summary.as_ref());
                        tr {
                            td {
                                "grid " (g.name) " "
                                @if g.authority.starts_with("http://") || g.authority.starts_with("https://") {
                                    a href=(g.authority) rel="noopener" { "(its web view)" }
                                }
                            }
                            td.up { (u) }
                            td.down { (d) }
                            td { @if loaded.contains(g.name.as_str()) { (graph(G { c: Some(&g.name), h: None, g: Some("load_report"), m: None }, ctx, "small", "load")) } }
                        }
                    }
                }
            }
        }
    };
    page(&format!("{name} Grid"), &[], "/", "", ctx, body)
}
