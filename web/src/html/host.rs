//! The host view: host facts, the report graphs, string metrics as a table, every numeric
//! metric grouped by GROUP with its TITLE and DESC and its graph; metrics that only have RRD
//! files left (a down host's history) are graphed too.

use super::{Ctx, G, ago, cluster_url, graph, host_url, metric_url, page};
use crate::graph::Report;
use crate::model;
use ganglia_proto::xml::{Cluster, Host};
use maud::{Markup, html};
use std::collections::HashSet;

/// The host page. `history`: metric names with files but no METRIC element;
/// `reports`: report graphs with files; `graphed`: metrics with files.
pub fn render(
    c: &Cluster,
    h: &Host,
    reports: &[Report],
    graphed: &HashSet<String>,
    history: &[String],
    ctx: &Ctx,
) -> Markup {
    let down = model::host_down(c, h);
    let groups = model::grouped(h);
    let base = host_url(&c.name, &h.name);
    let body = html! {
        section.facts {
            table.facts {
                tr { th { "State" } td class=(if down { "down" } else { "up" }) { @if down { "down" } @else { "up" } } }
                tr { th { "IP" } td { (h.ip) } }
                tr { th { "Last reported" } td { (ago(h.tn)) " ago (" (h.reported) ")" } }
                tr { th { "TMAX / DMAX" } td { (h.tmax) " / " (h.dmax) } }
                @if let Some(l) = &h.location { tr { th { "Location" } td { (l) } } }
                @if let Some(t) = &h.tags { tr { th { "Tags" } td { (t) } } }
                tr { th { "gmond started" } td { (h.gmond_started) } }
            }
        }
        section.summary {
            div.graphs {
                @for r in reports {
                    (graph(G { c: Some(&c.name), h: Some(&h.name), g: Some(r.name()), m: None }, ctx, "medium", r.name()))
                }
            }
        }
        section.strings {
            h2 { "String metrics" }
            table.list {
                thead { tr { th { "Metric" } th { "Value" } th { "Description" } } }
                tbody {
                    @for m in h.metrics.iter().filter(|m| !model::is_numeric(m)) {
                        tr { td { (model::title(m)) } td { (m.val) " " (m.units) } td { (m.extra("DESC").unwrap_or("")) } }
                    }
                }
            }
        }
        @for (group, metrics) in &groups {
            @let numeric: Vec<_> = metrics.iter().filter(|m| model::is_numeric(m)).collect();
            @if !numeric.is_empty() {
                section.group {
                    h2 { (group) " metrics (" (numeric.len()) ")" }
                    div.graphs {
                        @for m in numeric {
                            div.metric {
                                h3 { a href=(format!("{}?{}", metric_url(&c.name, &m.name), ctx.q())) { (model::title(m)) } }
                                p.desc { (m.val) " " (m.units) @if let Some(d) = m.extra("DESC") { " — " (d) } }
                                @if graphed.contains(m.name.as_str()) {
                                    (graph(G { c: Some(&c.name), h: Some(&h.name), g: None, m: Some(&m.name) }, ctx, "small", &m.name))
                                } @else {
                                    p.nodata { "no data yet" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !history.is_empty() {
            section.group {
                h2 { "History (files without current values)" }
                div.graphs {
                    @for m in history {
                        div.metric {
                            h3 { (m) }
                            (graph(G { c: Some(&c.name), h: Some(&h.name), g: None, m: Some(m) }, ctx, "small", m))
                        }
                    }
                }
            }
        }
    };
    page(
        &format!("{} Host", h.name),
        &[
            (c.name.to_string(), cluster_url(&c.name)),
            (h.name.to_string(), base.clone()),
        ],
        &base,
        "",
        ctx,
        body,
    )
}
