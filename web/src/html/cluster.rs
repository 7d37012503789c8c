//! The cluster view (summary graphs, host tiles coloured by load, sortable, per-host graphs of a
//! chosen metric with down hosts and their history) and the one-metric-across-hosts view.

use super::{Ctx, G, ago, cluster_url, enc, graph, host_url, metric_url, page};
use crate::graph::Report;
use crate::model::{self, SortBy};
use ganglia_proto::xml::Cluster;
use maud::{Markup, html};
use std::collections::HashSet;

/// What of a cluster has RRD files: its report graphs, and the hosts that have a file for the
/// metric shown per host.
#[derive(Debug, Default)]
pub struct Files {
    /// Cluster report graphs with files.
    pub reports: Vec<Report>,
    /// Hosts with a file for the metric.
    pub hosts: HashSet<String>,
}

/// The cluster page. `metric` is the per-host graph metric (validated by the caller).
pub fn render(
    c: &Cluster,
    sort: SortBy,
    metric: &str,
    metrics: &[String],
    files: &Files,
    ctx: &Ctx,
) -> Markup {
    let hosts = model::sorted_hosts(c, sort);
    let down = hosts.iter().filter(|h| model::host_down(c, h)).count();
    let base = cluster_url(&c.name);
    let extra = format!("sort={}&m={}&", sort.as_str(), enc(metric));
    let body = html! {
        section.summary {
            p {
                span.up { (hosts.len() - down) " hosts up" } ", "
                span.down { (down) " hosts down" }
                ", localtime " (c.localtime)
                @if c.owner != "unspecified" && !c.owner.is_empty() { ", owner " (c.owner) }
            }
            div.graphs {
                @for r in &files.reports {
                    (graph(G { c: Some(&c.name), h: None, g: Some(r.name()), m: None }, ctx, "medium", r.name()))
                }
            }
        }
        section.tiles {
            h2 { "Hosts" }
            p.sort {
                "Sort by: "
                @for s in [SortBy::Name, SortBy::Load, SortBy::Down] {
                    @if s == sort { strong { (s.as_str()) } " " } @else {
                        a href=(format!("{base}?sort={}&m={}&{}", s.as_str(), enc(metric), ctx.q())) { (s.as_str()) } " "
                    }
                }
            }
            div.tilegrid {
                @for h in &hosts {
                    @let is_down = model::host_down(c, h);
                    @let lc = if is_down { "down" } else { model::load_class(model::load_per_cpu(h)) };
                    a class=(format!("tile {lc}")) href=(format!("{}?{}", host_url(&c.name, &h.name), ctx.q())) {
                        span.name { (h.name) }
                        span.val {
                            @if is_down { "down " (ago(h.tn)) } @else {
                                @match model::value(h, "load_one") {
                                    Some(l) => { "load " (format!("{l:.2}")) },
                                    None => { "no load" },
                                }
                            }
                        }
                    }
                }
            }
        }
        section.hostgraphs {
            h2 { "Per host: " (metric) }
            form.metric method="get" action=(base) {
                input type="hidden" name="sort" value=(sort.as_str());
                input type="hidden" name="r" value=(ctx.range.name());
                select name="m" {
                    @for m in metrics {
                        option value=(m) selected[m == metric] { (m) }
                    }
                }
                button type="submit" { "show" }
                " " a href=(format!("{}?{}", metric_url(&c.name, metric), ctx.q())) { "this metric on one page" }
            }
            div.graphs {
                @for h in &hosts {
                    div class=(if model::host_down(c, h) { "hostgraph down" } else { "hostgraph" }) {
                        a href=(format!("{}?{}", host_url(&c.name, &h.name), ctx.q())) { (h.name) }
                        @if model::host_down(c, h) { " (down)" }
                        @if files.hosts.contains(h.name.as_str()) {
                            (graph(G { c: Some(&c.name), h: Some(&h.name), g: None, m: Some(metric) }, ctx, "small", metric))
                        } @else {
                            p.nodata { "no data for " (metric) }
                        }
                    }
                }
            }
        }
    };
    page(
        &format!("{} Cluster", c.name),
        &[(c.name.to_string(), base.clone())],
        &base,
        &extra,
        ctx,
        body,
    )
}

/// One metric across all hosts of a cluster, with the cluster's summary graph of it.
pub fn metric_page(c: &Cluster, metric: &str, files: &Files, ctx: &Ctx) -> Markup {
    let hosts = model::sorted_hosts(c, SortBy::Name);
    let base = metric_url(&c.name, metric);
    let body = html! {
        section.summary {
            h2 { "Cluster total" }
            @if !files.reports.is_empty() {
                (graph(G { c: Some(&c.name), h: None, g: None, m: Some(metric) }, ctx, "medium", metric))
            }
        }
        section {
            h2 { "Hosts" }
            table.list {
                thead { tr { th { "Host" } th { "Value" } th { "Graph" } } }
                tbody {
                    @for h in &hosts {
                        tr class=(if model::host_down(c, h) { "down" } else { "" }) {
                            td { a href=(format!("{}?{}", host_url(&c.name, &h.name), ctx.q())) { (h.name) }
                                 @if model::host_down(c, h) { " (down)" } }
                            td { @if let Some(m) = model::metric(h, metric) { (m.val) " " (m.units) } }
                            td { @if files.hosts.contains(h.name.as_str()) { (graph(G { c: Some(&c.name), h: Some(&h.name), g: None, m: Some(metric) }, ctx, "small", metric)) } }
                        }
                    }
                }
            }
        }
    };
    page(
        &format!("{metric} in {}", c.name),
        &[
            (c.name.to_string(), cluster_url(&c.name)),
            (metric.to_owned(), base.clone()),
        ],
        &base,
        "",
        ctx,
        body,
    )
}
