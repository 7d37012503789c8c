//! Serving the grid: the xml_port (whole tree) and the interactive port (query grammar, /status).

pub mod prometheus;
pub mod query;
pub mod render;
pub mod status;
