//! gmetad-rs: a drop-in Ganglia 3.7 collector as a library.
//!
//! # Layout
//! - [`rrd`]: RRD layout (paths, data sources, RRAs) and writers (librrd, rrdcached).

pub mod rrd;
pub mod serve;
pub mod source;
pub mod tree;
pub mod export;
pub mod config;
