//! gmond-rs: a drop-in Ganglia 3.7 agent as a library.
//!
//! # Layout
//! - [`core`]: the sans-IO agent: [`core::hosts`] (cluster state), [`core::schedule`]
//!   (collection groups), [`core::packets`] (what a sender sends), [`core::stats`] (counters).
//! - [`collect`]: host metrics (built-in definitions, default groups, Linux collectors).
//! - [`net`]: sockets (UDP channels with recvmmsg, multicast), reverse DNS.
//! - [`agent`]: the running agent (threads and tasks around the core) and its handle.
//! - [`embed`]: the embedding API: gauges, counters, collectors for application metrics.
//! - [`config`]: the resolved runtime configuration (from gmond.conf or built in);
//!   [`default_conf`] is the text `gmond-rs -t` prints.
//! - [`gmetric`], [`gstat`]: the logic of the two client tools.
#![deny(missing_docs)]

pub mod agent;
pub mod collect;
pub mod config;
pub mod core;
pub mod default_conf;
pub mod embed;
pub mod gmetric;
pub mod gstat;
pub mod net;
