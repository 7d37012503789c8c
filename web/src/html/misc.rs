//! The relay/media view (hosts with relay metrics: throughput, loss, jitter) and search.

use super::{Ctx, G, cluster_url, graph, host_url, metric_url, page};
use crate::model;
use ganglia_proto::xml::{Cluster, Host};
use maud::{Markup, html};

/// Relay metrics whose cluster totals (summary sums) mean something.
pub const RELAY_TOTALS: &[&str] = &[
    "relay_rx_bits",
    "relay_tx_bits",
    "relay_streams",
    "relay_participants",
];

/// The relay page: `relays` are (cluster, host) pairs that have relay metrics; `totals` the
/// clusters' summary metrics of [`RELAY_TOTALS`] that have files.
pub fn relay(relays: &[(&Cluster, &Host)], totals: &[(String, Vec<&str>)], ctx: &Ctx) -> Markup {
    let val = |h: &Host, n: &str| {
        model::metric(h, n).map_or(String::from("-"), |m| format!("{} {}", m.val, m.units))
    };
    let body = html! {
        @if relays.is_empty() {
            p.empty { "No host reports relay metrics (group \"relay\")." }
        } @else {
            table.list {
                thead { tr {
                    th { "Host" } th { "Cluster" } th { "Streams" } th { "Participants" }
                    th { "Rx" } th { "Tx" } th { "Loss" } th { "Jitter" }
                } }
                tbody {
                    @for (c, h) in relays {
                        tr class=(if model::host_down(c, h) { "down" } else { "" }) {
                            td { a href=(format!("{}?{}", host_url(&c.name, &h.name), ctx.q())) { (h.name) } }
                            td { a href=(format!("{}?{}", cluster_url(&c.name), ctx.q())) { (c.name) } }
                            td { (val(h, "relay_streams")) }
                            td { (val(h, "relay_participants")) }
                            td { (val(h, "relay_rx_bits")) }
                            td { (val(h, "relay_tx_bits")) }
                            td { (val(h, "relay_loss_pct")) }
                            td { (val(h, "relay_jitter_ms")) }
                        }
                    }
                }
            }
            @for (c, ms) in totals {
                section.relay {
                    h2 { "Cluster " (c) ": totals" }
                    div.graphs {
                        @for m in ms {
                            (graph(G { c: Some(c), h: None, g: None, m: Some(m) }, ctx, "small", m))
                        }
                    }
                }
            }
            @for (c, h) in relays {
                section.relay {
                    h2 { (h.name) " (" (c.name) ")" }
                    div.graphs {
                        @for m in model::RELAY_GRAPHS.iter().filter(|m| model::metric(h, m).is_some()) {
                            (graph(G { c: Some(&c.name), h: Some(&h.name), g: None, m: Some(m) }, ctx, "small", m))
                        }
                    }
                }
            }
        }
    };
    page(
        "Relays",
        &[("Relays".into(), "/relay".into())],
        "/relay",
        "",
        ctx,
        body,
    )
}

/// What a search found.
#[derive(Debug, Default)]
pub struct Found<'a> {
    /// Matching clusters.
    pub clusters: Vec<&'a Cluster>,
    /// Matching hosts.
    pub hosts: Vec<(&'a Cluster, &'a Host)>,
    /// Matching (cluster, metric name) pairs.
    pub metrics: Vec<(&'a Cluster, String)>,
}

/// Case-insensitive substring search over cluster, host and metric names (bounded results).
pub fn search<'a>(clusters: &[&'a Cluster], q: &str, limit: usize) -> Found<'a> {
    let q = q.to_lowercase();
    let mut f = Found::default();
    if q.is_empty() {
        return f;
    }
    for c in clusters {
        if c.name.to_lowercase().contains(&q) {
            f.clusters.push(c);
        }
        let mut seen = std::collections::BTreeSet::new();
        for h in &c.hosts {
            if h.name.to_lowercase().contains(&q) && f.hosts.len() < limit {
                f.hosts.push((c, h));
            }
            for m in &h.metrics {
                if m.name.to_lowercase().contains(&q)
                    && seen.insert(m.name.as_str())
                    && f.metrics.len() < limit
                {
                    f.metrics.push((c, m.name.to_string()));
                }
            }
        }
    }
    f
}

/// The search page.
pub fn search_page(q: &str, found: &Found<'_>, ctx: &Ctx) -> Markup {
    let body = html! {
        form.search method="get" action="/search" {
            input type="search" name="q" value=(q);
            button type="submit" { "Search" }
        }
        @if !q.is_empty() {
            h2 { "Clusters (" (found.clusters.len()) ")" }
            ul { @for c in &found.clusters { li { a href=(format!("{}?{}", cluster_url(&c.name), ctx.q())) { (c.name) } } } }
            h2 { "Hosts (" (found.hosts.len()) ")" }
            ul { @for (c, h) in &found.hosts { li { a href=(format!("{}?{}", host_url(&c.name, &h.name), ctx.q())) { (h.name) } " in " (c.name) } } }
            h2 { "Metrics (" (found.metrics.len()) ")" }
            ul { @for (c, m) in &found.metrics { li { a href=(format!("{}?{}", metric_url(&c.name, m), ctx.q())) { (m) } " in " (c.name) } } }
        }
    };
    page("Search", &[], "/search", "", ctx, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ganglia_proto::xml::Metric;

    #[test]
    fn search_matches_names_case_insensitively() {
        let c = Cluster {
            name: "Lab".into(),
            hosts: vec![Host {
                name: "web1".into(),
                metrics: vec![Metric {
                    name: "load_one".into(),
                    ..Metric::default()
                }],
                ..Host::default()
            }],
            ..Cluster::default()
        };
        let f = search(&[&c], "LOAD", 10);
        assert_eq!(f.metrics.len(), 1);
        assert!(f.hosts.is_empty());
        assert_eq!(search(&[&c], "WEB", 10).hosts.len(), 1);
        assert_eq!(search(&[&c], "lab", 10).clusters.len(), 1);
        assert!(search(&[&c], "", 10).metrics.is_empty());
    }
}
