//! gmetad-rs: a drop-in Ganglia 3.7 collector as a library.
//!
//! # Layout
//! - [`config`] — the resolved runtime configuration (from gmetad.conf or built in).
//! - [`source`] — fetching XML from data sources (failover, timeouts, size cap).
//! - [`tree`] — polled documents → cluster and grid nodes, summaries, RRD updates (pure).
//! - [`rrd`] — RRD layout, librrd and rrdcached writers, the service thread.
//! - [`serve`] — request grammar, rendering of the xml_port and interactive-port answers, /status.
//! - [`export`] — Graphite/carbon, Riemann, memcached.
//! - [`daemon`] — the running collector that ties them together ([`daemon::Gmetad`]).

pub mod config;
pub mod daemon;
pub mod export;
pub mod rrd;
pub mod serve;
pub mod source;
pub mod tree;
