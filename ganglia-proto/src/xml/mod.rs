//! Ganglia XML: the document model, the 3.7.2 DTD, a streaming writer for the gmond and gmetad
//! layouts, and a tolerant streaming reader.
//!
//! ```
//! use ganglia_proto::xml::{read, write};
//! let mut out = Vec::new();
//! write::header(&mut out, write::Source::Gmond, "3.7.2");
//! write::gmond_cluster_start(&mut out, &write::ClusterAttrs {
//!     name: "lab", localtime: 1700000000, owner: "unspecified", latlong: "unspecified", url: "unspecified",
//! });
//! write::cluster_end(&mut out);
//! write::footer(&mut out);
//! let back = read::read(&out, &read::ReadLimits::default()).unwrap();
//! assert_eq!(back.doc.clusters[0].name, "lab");
//! ```

mod build;
pub mod dtd;
pub mod escape;
mod fast;
mod intern;
pub mod model;
pub mod read;
pub mod write;

pub use model::{
    Cluster, Document, Extra, Grid, Host, Metric, SmolStr, Source, Summary, SummaryMetric, no_extra,
};
