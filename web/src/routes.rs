//! The HTTP routes: every view and graph has a stable URL; every name in a URL is looked up in
//! the tree gmetad returned (or among the RRD files of a scope found that way) before it is used.

use crate::Shared;
use crate::gmetad::{all_clusters, find_cluster};
use crate::graph::{self, Format, GraphError, ImageSize, Report, Request, What};
use crate::html::{self, Ctx, cluster, grid, host, misc};
use crate::model;
use crate::range::Range;
use crate::rrdpath::{self, Scope};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use ganglia_proto::xml::{Cluster, Document, Grid};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The Content-Security-Policy of every response: nothing but same-origin images and styles.
pub const CSP: &str = "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const CSS: &str = include_str!("../static/gweb.css");

/// Query parameters shared by the routes (all optional).
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    r: Option<String>,
    cs: Option<String>,
    ce: Option<String>,
    refresh: Option<String>,
    sort: Option<String>,
    m: Option<String>,
    g: Option<String>,
    c: Option<String>,
    h: Option<String>,
    z: Option<String>,
    q: Option<String>,
}

/// An error answer: status and message (rendered as an escaped page or plain text).
#[derive(Debug)]
pub struct WebError(StatusCode, String);

impl WebError {
    fn not_found(what: &str, name: &str) -> Self {
        WebError(
            StatusCode::NOT_FOUND,
            format!("no {what} named {name:?} in the grid"),
        )
    }
    fn bad(msg: impl Into<String>) -> Self {
        WebError(StatusCode::BAD_REQUEST, msg.into())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        (
            self.0,
            Html(html::error_page(self.0.as_u16(), &self.1).into_string()),
        )
            .into_response()
    }
}

impl From<crate::gmetad::QueryError> for WebError {
    fn from(e: crate::gmetad::QueryError) -> Self {
        tracing::warn!(error = %e, "gmetad query failed");
        WebError(StatusCode::BAD_GATEWAY, e.to_string())
    }
}

type R<T> = Result<T, WebError>;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn ctx(p: &Params) -> R<Ctx> {
    let range = Range::parse(p.r.as_deref(), p.cs.as_deref(), p.ce.as_deref())
        .map_err(|e| WebError::bad(e.to_string()))?;
    let refresh = match p.refresh.as_deref() {
        None | Some("") => 300,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|r| *r == 0 || (10..=86400).contains(r))
            .ok_or_else(|| WebError::bad("refresh must be 0 or 10..86400 seconds"))?,
    };
    Ok(Ctx {
        range,
        refresh,
        now: now(),
    })
}

fn page(m: maud::Markup) -> Response {
    Html(m.into_string()).into_response()
}

async fn index(State(st): State<Shared>, Query(p): Query<Params>) -> R<Response> {
    let ctx = ctx(&p)?;
    let doc = st.client.summary().await?;
    let reports = graph::reports_with_files(&st.rrds, &Scope::Meta);
    let loaded = doc
        .grids
        .first()
        .map(|g| {
            g.clusters
                .iter()
                .map(|c| c.name.as_str())
                .chain(g.grids.iter().map(|g| g.name.as_str()))
                .filter(|n| {
                    rrdpath::file(&st.rrds, &Scope::Cluster((*n).to_owned()), "load_one").is_some()
                })
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Ok(page(grid::render(&doc, &reports, &loaded, &ctx)))
}

fn cluster_in<'a>(doc: &'a Document, name: &str) -> R<&'a Cluster> {
    find_cluster(doc, name).ok_or_else(|| WebError::not_found("cluster", name))
}

fn numeric_metrics(c: &Cluster) -> Vec<String> {
    let mut s = BTreeSet::new();
    for h in &c.hosts {
        for m in &h.metrics {
            if model::is_numeric(m) && !s.contains(m.name.as_str()) {
                s.insert(m.name.as_str());
            }
        }
    }
    s.into_iter().map(str::to_owned).collect()
}

async fn cluster_view(
    State(st): State<Shared>,
    Path(name): Path<String>,
    Query(p): Query<Params>,
) -> R<Response> {
    let ctx = ctx(&p)?;
    let doc = st.client.cluster(&name).await?;
    let c = cluster_in(&doc, &name)?;
    let metrics = numeric_metrics(c);
    let metric = match p.m.as_deref() {
        None | Some("") => metrics
            .iter()
            .find(|m| *m == "load_one")
            .or(metrics.first())
            .cloned()
            .unwrap_or_else(|| "load_one".into()),
        Some(m) if metrics.iter().any(|x| x == m) => m.to_owned(),
        Some(m) => return Err(WebError::not_found("metric", m)),
    };
    let sort = model::SortBy::parse(p.sort.as_deref());
    let files = cluster_files(&st, c, &metric, true);
    let out = page(cluster::render(c, sort, &metric, &metrics, &files, &ctx));
    drop_off_path(doc);
    Ok(out)
}

/// Free a (possibly large) tree on the blocking pool when this was its last user, so the
/// answer does not wait for thousands of deallocations.
fn drop_off_path(doc: Arc<Document>) {
    if Arc::strong_count(&doc) == 1 {
        tokio::task::spawn_blocking(move || drop(doc));
    }
}

/// Which of a cluster's report graphs (or, with `reports` false, its summary graph of `metric`)
/// and which hosts' graphs of `metric` have files.
fn cluster_files(st: &Shared, c: &Cluster, metric: &str, reports: bool) -> cluster::Files {
    let scope = Scope::Cluster(c.name.to_string());
    cluster::Files {
        reports: if reports {
            graph::reports_with_files(&st.rrds, &scope)
        } else if rrdpath::file(&st.rrds, &scope, metric).is_some() {
            vec![Report::Load]
        } else {
            Vec::new()
        },
        hosts: c
            .hosts
            .iter()
            .filter(|h| {
                rrdpath::file(
                    &st.rrds,
                    &Scope::Host(c.name.to_string(), h.name.to_string()),
                    metric,
                )
                .is_some()
            })
            .map(|h| h.name.to_string())
            .collect(),
    }
}

/// Metric names with files in a scope that are not among `known` (on-disk names).
fn history(root: &std::path::Path, scope: &Scope, known: &[&str]) -> Vec<String> {
    let known: BTreeSet<String> = known.iter().filter_map(|m| rrdpath::component(m)).collect();
    rrdpath::metrics_on_disk(root, scope)
        .into_iter()
        .filter(|m| !known.contains(m))
        .collect()
}

async fn host_view(
    State(st): State<Shared>,
    Path((cname, hname)): Path<(String, String)>,
    Query(p): Query<Params>,
) -> R<Response> {
    let ctx = ctx(&p)?;
    let doc = st.client.host(&cname, &hname).await?;
    let c = cluster_in(&doc, &cname)?;
    let h = c
        .hosts
        .iter()
        .find(|h| h.name == hname)
        .ok_or_else(|| WebError::not_found("host", &hname))?;
    let known: Vec<&str> = h.metrics.iter().map(|m| m.name.as_str()).collect();
    let scope = Scope::Host(c.name.to_string(), h.name.to_string());
    let hist = history(&st.rrds, &scope, &known);
    let on_disk: BTreeSet<String> = rrdpath::metrics_on_disk(&st.rrds, &scope)
        .into_iter()
        .collect();
    let graphed = known
        .iter()
        .filter(|m| rrdpath::component(m).is_some_and(|f| on_disk.contains(&f)))
        .map(|m| (*m).to_owned())
        .collect();
    let reports = graph::reports_with_files(&st.rrds, &scope);
    Ok(page(host::render(c, h, &reports, &graphed, &hist, &ctx)))
}

async fn metric_view(
    State(st): State<Shared>,
    Path((cname, metric)): Path<(String, String)>,
    Query(p): Query<Params>,
) -> R<Response> {
    let ctx = ctx(&p)?;
    let doc = st.client.cluster(&cname).await?;
    let c = cluster_in(&doc, &cname)?;
    let in_xml = c.hosts.iter().any(|h| model::metric(h, &metric).is_some());
    let on_disk =
        rrdpath::metrics_on_disk(&st.rrds, &Scope::Cluster(c.name.to_string())).contains(&metric);
    if !in_xml && !on_disk {
        return Err(WebError::not_found("metric", &metric));
    }
    let files = cluster_files(&st, c, &metric, false);
    Ok(page(cluster::metric_page(c, &metric, &files, &ctx)))
}

async fn relay_view(State(st): State<Shared>, Query(p): Query<Params>) -> R<Response> {
    let ctx = ctx(&p)?;
    let doc = st.client.full().await?;
    let clusters = all_clusters(&doc);
    let relays: Vec<_> = clusters
        .iter()
        .flat_map(|c| c.hosts.iter().map(move |h| (*c, h)))
        .filter(|(_, h)| h.metrics.iter().any(model::is_relay_metric))
        .collect();
    let mut names: Vec<&str> = relays.iter().map(|(c, _)| c.name.as_str()).collect();
    names.dedup();
    let totals: Vec<(String, Vec<&str>)> = names
        .into_iter()
        .map(|c| {
            let scope = Scope::Cluster(c.to_owned());
            let ms = misc::RELAY_TOTALS
                .iter()
                .copied()
                .filter(|m| rrdpath::file(&st.rrds, &scope, m).is_some())
                .collect();
            (c.to_owned(), ms)
        })
        .filter(|(_, ms): &(String, Vec<&str>)| !ms.is_empty())
        .collect();
    Ok(page(misc::relay(&relays, &totals, &ctx)))
}

async fn search_view(State(st): State<Shared>, Query(p): Query<Params>) -> R<Response> {
    let ctx = ctx(&p)?;
    let q = p.q.as_deref().unwrap_or("").trim();
    if q.len() > 200 {
        return Err(WebError::bad("search text longer than 200 bytes"));
    }
    let doc = st.client.full().await?;
    let clusters = all_clusters(&doc);
    let found = misc::search(&clusters, q, 200);
    Ok(page(misc::search_page(q, &found, &ctx)))
}

fn child<'a>(g: &'a Grid, name: &str) -> Option<(Option<&'a ganglia_proto::xml::Summary>, bool)> {
    g.clusters
        .iter()
        .find(|c| c.name == name)
        .map(|c| (c.summary.as_ref(), true))
        .or_else(|| {
            g.grids
                .iter()
                .find(|x| x.name == name)
                .map(|x| (x.summary.as_ref(), false))
        })
}

/// Validate a graph request's names against the tree and build it.
async fn graph_request(st: &Shared, p: &Params) -> R<(Request, Option<String>, Option<String>)> {
    let ctx = ctx(p)?;
    let (start, end) = ctx.range.bounds(ctx.now);
    let size = ImageSize::parse(p.z.as_deref())
        .ok_or_else(|| WebError::bad("z: small, medium or large"))?;
    let (scope, known, units): (Scope, Vec<String>, Option<String>) = match (&p.c, &p.h) {
        (None, None) => {
            let doc = st.client.summary().await?;
            let known = doc
                .grids
                .first()
                .and_then(|g| g.summary.as_ref())
                .map(|s| s.metrics.iter().map(|m| m.name.to_string()).collect())
                .unwrap_or_default();
            (Scope::Meta, known, None)
        }
        (Some(c), None) => {
            let doc = st.client.summary().await?;
            let root = doc
                .grids
                .first()
                .ok_or_else(|| WebError::not_found("cluster", c))?;
            let (summary, _) = child(root, c).ok_or_else(|| WebError::not_found("cluster", c))?;
            let known = summary
                .map(|s| s.metrics.iter().map(|m| m.name.to_string()).collect())
                .unwrap_or_default();
            (Scope::Cluster(c.clone()), known, None)
        }
        (Some(c), Some(h)) => {
            let doc = st.client.host(c, h).await?;
            let cl = cluster_in(&doc, c)?;
            let host = cl
                .hosts
                .iter()
                .find(|x| x.name == h)
                .ok_or_else(|| WebError::not_found("host", h))?;
            let units =
                p.m.as_deref()
                    .and_then(|m| model::metric(host, m))
                    .map(|m| m.units.clone());
            let known = host.metrics.iter().map(|m| m.name.to_string()).collect();
            (
                Scope::Host(cl.name.to_string(), host.name.to_string()),
                known,
                units.map(String::from),
            )
        }
        (None, Some(_)) => return Err(WebError::bad("h needs c")),
    };
    let what = match (&p.g, &p.m) {
        (Some(g), None) => {
            What::Report(Report::parse(g).ok_or_else(|| WebError::not_found("report", g))?)
        }
        (None, Some(m)) => {
            if !known.iter().any(|k| k == m)
                && !rrdpath::metrics_on_disk(&st.rrds, &scope)
                    .iter()
                    .any(|k| k == m)
            {
                return Err(WebError::not_found("metric", m));
            }
            What::Metric(m.clone())
        }
        _ => return Err(WebError::bad("give one of g (report) or m (metric)")),
    };
    let place = match &scope {
        Scope::Meta => "grid".to_owned(),
        Scope::Cluster(c) => c.clone(),
        Scope::Host(_, h) => h.clone(),
    };
    let when = match ctx.range {
        Range::Named(n, _) => format!("last {n}"),
        Range::Custom(..) => "custom range".to_owned(),
    };
    let title = match &what {
        What::Report(r) => format!("{place} {} {when}", r.name()),
        What::Metric(m) => format!("{place} {m} {when}"),
    };
    let req = Request {
        scope,
        what,
        start,
        end,
        size,
        title,
        vlabel: units.unwrap_or_default(),
    };
    Ok((req, p.c.clone(), p.h.clone()))
}

fn graph_err(e: GraphError) -> WebError {
    match e {
        GraphError::NoData(_) => WebError(StatusCode::NOT_FOUND, e.to_string()),
        GraphError::Rrd(_) => {
            tracing::warn!(error = %e, "graph failed");
            WebError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
        }
    }
}

async fn image(st: Shared, p: Params, fmt: Format) -> R<Response> {
    let (req, _, _) = graph_request(&st, &p).await?;
    let (rrd, root) = (st.rrd.clone(), st.rrds.clone());
    let img = tokio::task::spawn_blocking(move || rrd.render(&root, &req, fmt))
        .await
        .map_err(|e| WebError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(graph_err)?;
    let ct = match fmt {
        Format::Png => "image/png",
        Format::Svg => "image/svg+xml",
    };
    Ok((
        [
            (header::CONTENT_TYPE, ct),
            (header::CACHE_CONTROL, "max-age=15"),
        ],
        img,
    )
        .into_response())
}

async fn data(st: Shared, p: Params, json: bool) -> R<Response> {
    let (req, c, h) = graph_request(&st, &p).await?;
    let (rrd, root) = (st.rrd.clone(), st.rrds.clone());
    let rows = tokio::task::spawn_blocking(move || rrd.fetch(&root, &req))
        .await
        .map_err(|e| WebError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(graph_err)?;
    Ok(if json {
        (
            [(header::CONTENT_TYPE, "application/json")],
            crate::data::json(&rows, c.as_deref(), h.as_deref()),
        )
            .into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            crate::data::csv(&rows),
        )
            .into_response()
    })
}

async fn png(State(st): State<Shared>, Query(p): Query<Params>) -> R<Response> {
    image(st, p, Format::Png).await
}
async fn svg(State(st): State<Shared>, Query(p): Query<Params>) -> R<Response> {
    image(st, p, Format::Svg).await
}
async fn csv(State(st): State<Shared>, Query(p): Query<Params>) -> R<Response> {
    data(st, p, false).await
}
async fn json(State(st): State<Shared>, Query(p): Query<Params>) -> R<Response> {
    data(st, p, true).await
}

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}

async fn favicon() -> StatusCode {
    StatusCode::NO_CONTENT
}

async fn not_found() -> WebError {
    WebError(StatusCode::NOT_FOUND, "no such page".into())
}

async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    r
}

/// The router with every route.
pub fn router(state: Arc<crate::State>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/c/{cluster}", get(cluster_view))
        .route("/c/{cluster}/h/{host}", get(host_view))
        .route("/c/{cluster}/m/{metric}", get(metric_view))
        .route("/relay", get(relay_view))
        .route("/search", get(search_view))
        .route("/graph.png", get(png))
        .route("/graph.svg", get(svg))
        .route("/graph.csv", get(csv))
        .route("/graph.json", get(json))
        .route("/static/gweb.css", get(css))
        .route("/favicon.ico", get(favicon))
        .fallback(not_found)
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}
