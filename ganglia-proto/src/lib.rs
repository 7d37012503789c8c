//! Sans-IO implementation of the Ganglia 3.7 wire and file formats.
//!
//! No sockets, no clocks, no runtime: bytes and times come in as arguments, bytes and typed
//! values go out. gmond-rs, gmetad-rs, the web UI, the relay and the fuzz targets all share it.
//!
//! # Layout
//! - [`types`]: the small shared vocabulary: [`Slope`], [`MetricType`], [`Value`].
//! - [`xdr`]: the UDP protocol (message ids 128–136): [`xdr::Message`], `decode`, `encode`.
//! - [`format`]: safe rendering of a sender's printf-style `fmt` (never a real printf).
//! - [`xml`]: the Ganglia XML model, a streaming writer (gmond and gmetad layouts) and a
//!   streaming, per-host-tolerant reader.
//! - [`conf`]: gmond.conf (libconfuse syntax) and gmetad.conf (dotconf syntax) parsers.
//!
//! ```
//! use ganglia_proto::xdr::{self, Message};
//! let bytes = [0, 0, 0, 136, 0, 0, 0, 1, b'h', 0, 0, 0, 0, 0, 0, 1, b'm', 0, 0, 0, 0, 0, 0, 0];
//! let msg = xdr::decode(&bytes).unwrap();
//! assert!(matches!(msg, Message::MetadataRequest { .. }));
//! let mut out = Vec::new();
//! xdr::encode(&msg, &mut out);
//! assert_eq!(out, bytes);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod conf;
pub mod format;
pub mod types;
pub mod xdr;
pub mod xml;

pub use types::{MetricType, Slope, Value};

/// The Ganglia version this crate is wire-compatible with, reported in `VERSION` attributes.
pub const GANGLIA_VERSION: &str = "3.7.2";
