//! gmond-rs: a drop-in Ganglia 3.7 agent as a library.
//!
//! # Layout
//! - [`collect`]: host metrics (the 35 default Linux metrics and the optional ones).
//! - [`core`]: the sans-IO agent: [`core::hosts`] (cluster state), [`core::stats`] (counters).
#![deny(missing_docs)]

pub mod collect;
pub mod core;
pub mod embed;
pub mod gmetric;
pub mod gstat;
pub mod net;
